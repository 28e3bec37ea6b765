"""Domain randomisation, both ways: fresh levels per update from a reset (``resample=update``),
and JaxUED's / minimax's DR (``resample=episode``): a fresh level at every episode end, with env
and LSTM state carried across updates and PPO training from the carried LSTM state."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ued import distributions
from ued.app.build import build, preset
from ued.config import override
from ued.ppo import ppo_loss
from ued.train import Trainer


def _trainer(resample: str) -> Trainer:
    config = override(
        preset("dr", "maze", "test"),
        curriculum__resample=resample,
        env_config__max_steps=10,
        ppo__num_envs=8,
        ppo__num_steps=6,
    )
    program = build(config)
    return Trainer(program.env, program.curriculum, program.learner, config)


@pytest.fixture(scope="module")
def episode_updates():
    """Three updates of per-episode DR: the state before each and the batch each trained on."""
    trainer = _trainer("episode")
    assert trainer.curriculum.continuing
    state = jax.jit(trainer.init)(jax.random.key(0))

    @jax.jit
    def update(state, index):
        new, metrics, levels = trainer.update(state, index)
        return new, metrics, levels

    states, outputs = [state], []
    for i in range(3):
        state, metrics, levels = update(state, jnp.int32(i))
        states.append(state)
        outputs.append((metrics, levels))
    return trainer, states, outputs


def test_presets_say_which_dr_they_use():
    assert preset("dr", "maze", "paper").curriculum.resample == "episode"
    assert preset("dr", "maze", "cpu").curriculum.resample == "update"


def test_per_update_dr_restarts_every_rollout_from_a_reset():
    trainer = _trainer("update")
    assert not trainer.curriculum.continuing
    state = trainer.init(jax.random.key(0))
    assert state.rollout is None
    levels = trainer.curriculum.levels_for_update(jax.random.key(1), state.curriculum, None, 0)[0]
    trajectory, _ = trainer.player.rollout(jax.random.key(2), state.student.params, levels, 6)
    assert np.asarray(trajectory.resets[0]).all()


def test_per_episode_dr_carries_episodes_across_updates(episode_updates):
    """An env whose episode did not end during an update continues it in the next one (its step
    counter keeps running, no reset at the boundary); one whose episode ended plays a freshly
    drawn level. Episodes last at most 10 steps, rollouts 6."""
    _, states, _ = episode_updates
    # Update 0 (steps 0-5): only a success ends an episode, so most carry over.
    before, after = states[0].rollout, states[1].rollout
    continued = (
        np.asarray(after.state.env_state.time) == np.asarray(before.state.env_state.time) + 6
    )
    assert continued.sum() >= 4
    np.testing.assert_array_equal(np.asarray(after.resets)[continued], False)
    walls = np.asarray(before.state.level.wall_map), np.asarray(after.state.level.wall_map)
    for env in np.flatnonzero(continued):
        np.testing.assert_array_equal(walls[1][env], walls[0][env])
    # The recurrent state is carried too (a rollout from reset would start from zeros).
    assert any(float(jnp.abs(h).max()) > 0 for h in jax.tree_util.tree_leaves(after.rnn))
    # Update 1 (steps 6-11): every episode that was still running timed out at step 10 and
    # started a fresh random level.
    before, after = states[1].rollout, states[2].rollout
    restarted = np.asarray(after.state.env_state.time) < 6
    assert restarted[continued].all()
    walls = np.asarray(before.state.level.wall_map), np.asarray(after.state.level.wall_map)
    assert all(not np.array_equal(walls[1][e], walls[0][e]) for e in np.flatnonzero(continued))


def test_per_episode_dr_sees_more_levels_than_envs():
    trainer = _trainer("episode")
    state = trainer.init(jax.random.key(3))
    env = trainer.env
    from ued.env import AutoReset

    wrapper = AutoReset(env, trainer.curriculum.next_level)
    start = state.rollout
    levels_seen = {np.asarray(start.state.level.wall_map[i]).tobytes() for i in range(8)}

    def step(carry, key):
        _, carry_state, _, _, _, _ = jax.vmap(wrapper.step)(
            jax.random.split(key, 8), carry, jnp.full((8,), 2, jnp.int32)
        )
        return carry_state, carry_state.level.wall_map

    _, walls = jax.lax.scan(step, start.state, jax.random.split(jax.random.key(4), 60))
    for t in range(60):
        levels_seen |= {np.asarray(walls[t, i]).tobytes() for i in range(8)}
    assert len(levels_seen) > 8  # each env moved on to fresh levels as its episodes ended


def test_ppo_trains_from_the_carried_lstm_state(episode_updates):
    """Recomputing the rollout's log-probabilities from the carry it started with gives back
    the acting policy's (ratio 1, KL 0); from a zero carry, as after a reset, it does not."""
    trainer, states, _ = episode_updates
    state = states[2]
    params = state.student.params
    start = state.rollout
    trajectory, last_value, _ = trainer.player.continue_rollout(
        jax.random.key(9), params, start, 6, trainer._continuing_env
    )
    batch = trainer.learner.prepare(trajectory, last_value, start.rnn)
    config = trainer.config.ppo
    _, carried = ppo_loss(params, trainer.learner.network, batch, config)
    assert abs(float(carried["approx_kl"])) < 1e-7

    def replayed_log_probs(carry):
        _, logits, _ = trainer.learner.network.apply(
            params, carry, trajectory.obs, trajectory.resets
        )
        return np.asarray(distributions.log_prob(logits, trajectory.actions))

    acting = np.asarray(trajectory.log_probs)
    np.testing.assert_allclose(replayed_log_probs(start.rnn), acting, atol=1e-5)
    from_zero = replayed_log_probs(trainer.learner.initial_carry(8))
    assert np.abs(from_zero - acting).max() > 1e-4
