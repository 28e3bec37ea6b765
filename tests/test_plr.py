"""PLR, robust PLR and ACCEL: branch logic, gradients, scoring, mutation."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from algorithms import ALGORITHMS, plr
from envs import ENVS
from envs.maze import is_valid
from ued.buffer import BufferConfig
from ued.config import override
from ued.curriculum import MUTATE, NEW, REPLAY, RolloutResult, Student, UpdatePlan
from ued.networks import init_params
from ued.ppo import gae
from ued.rollout import Player
from ued.train import make_train, seed_keys


def _trainer(algo, **fields):
    config = override(
        ALGORITHMS[algo].preset("test"),
        updates_per_chunk=1,
        updates=12,
        eval_every=1,
        checkpoint_every=1,
        **fields,
    )
    env = ENVS[config.env].make(config)
    curriculum = ALGORITHMS[algo].make(env, config)
    init, chunk = make_train(env, curriculum, config)
    return config, env, curriculum, jax.jit(init)(seed_keys(config)), jax.jit(chunk)


@pytest.mark.parametrize("algo", ["robust-plr", "plr", "accel"])
def test_gradients_only_where_the_variant_allows(algo):
    config, _, _, state, chunk = _trainer(algo)
    seen = set()
    for update in range(12):
        before = state.params
        count_before = int(state.opt_state[1].count)
        state, metrics, _ = chunk(state, jnp.int32(update))
        branch = int(metrics["curriculum/branch"][0])
        applied = bool(metrics["curriculum/apply_gradient"][0])
        changed = any(
            bool(jnp.any(a != b))
            for a, b in zip(
                jax.tree_util.tree_leaves(before), jax.tree_util.tree_leaves(state.params)
            )
        )
        seen.add(branch)
        robust = config.curriculum.robust
        assert applied == (branch == REPLAY or not robust), (update, branch)
        assert changed == applied and (int(state.opt_state[1].count) > count_before) == applied
    assert NEW in seen and REPLAY in seen
    if algo == "accel":
        assert MUTATE in seen


def test_replayed_levels_come_from_the_buffer_and_scores_update():
    _, _, _, state, chunk = _trainer("robust-plr")
    for update in range(12):
        previous = state.curriculum.buffer
        state, metrics, levels = chunk(state, jnp.int32(update))
        if int(metrics["curriculum/branch"][0]) == REPLAY:
            slots = np.asarray(state.curriculum.slots)
            assert (slots >= 0).all()
            stored = jax.tree_util.tree_map(lambda x: x[slots], previous.levels)
            for a, b in zip(jax.tree_util.tree_leaves(stored), jax.tree_util.tree_leaves(levels)):
                np.testing.assert_array_equal(a, b)
            assert not np.array_equal(previous.scores[slots], state.curriculum.buffer.scores[slots])
            return
    pytest.fail("no replay update happened")


@pytest.fixture(scope="module")
def accel_setup():
    config = ALGORITHMS["accel"].preset("test")
    config = override(
        config,
        curriculum=dataclasses.replace(
            config.curriculum, buffer=BufferConfig(capacity=16, min_fill=0.5)
        ),
    )
    env = ENVS[config.env].make(config)
    curriculum = ALGORITHMS["accel"].make(env, config)
    state = curriculum.init(jax.random.key(0))
    fill = jax.vmap(env.sample_level)(jax.random.split(jax.random.key(1), 16))
    buffer, _ = curriculum.buffer.insert(
        state.buffer, fill, jnp.linspace(0, 1, 16), {"max_return": jnp.zeros(16)}
    )
    return config, env, curriculum, state.replace(buffer=buffer)


def test_accel_branch_mix_and_children_are_valid(accel_setup):
    """Long-run mix at replay_prob 0.8: 4/9 replay, 4/9 mutate, 1/9 new; every level valid."""
    _, _, curriculum, state = accel_setup

    def step(state, key):
        levels, plan, state = curriculum.levels_for_update(key, state, None, jnp.int32(0))
        return state, (plan.branch, jnp.all(jax.vmap(is_valid)(levels)))

    _, (branches, valid) = jax.jit(lambda s, k: jax.lax.scan(step, s, k))(
        state, jax.random.split(jax.random.key(2), 3000)
    )
    branches = np.asarray(branches)
    assert np.asarray(valid).all()
    freq = np.bincount(branches, minlength=3) / branches.size
    np.testing.assert_allclose(freq[[REPLAY, MUTATE, NEW]], [4 / 9, 4 / 9, 1 / 9], atol=0.03)
    after_replay = branches[1:][branches[:-1] == REPLAY]
    assert (after_replay == MUTATE).all()


def test_accel_mutates_the_levels_just_replayed(accel_setup):
    _, _, curriculum, state = accel_setup
    key = jax.random.key(5)
    while True:  # find a replay step
        key, sub = jax.random.split(key)
        levels, plan, new_state = curriculum.levels_for_update(sub, state, None, jnp.int32(0))
        if int(plan.branch) == REPLAY:
            break
    children, plan, _ = curriculum.levels_for_update(key, new_state, None, jnp.int32(0))
    assert int(plan.branch) == MUTATE and not bool(plan.apply_gradient)
    # Each child differs from its parent by at most num_edits wall flips (plus moves).
    flips = np.asarray(jnp.sum(children.wall_map != levels.wall_map, axis=(1, 2)))
    assert (flips <= 5).all() and flips.sum() > 0


@pytest.mark.parametrize(
    "score", ["pvl", "maxmc", "l1_value_loss", "learnability", "oracle_regret"]
)
def test_every_score_fills_the_buffer_with_finite_values(
    score, test_config, test_env, test_network
):
    config = test_config
    cfg = plr.Config(score=score, buffer=BufferConfig(capacity=8))
    curriculum = plr.ReplayCurriculum(test_env, cfg, num_envs=4, gamma=0.99)
    player = Player(test_env, test_network)
    params = init_params(test_network, jax.random.key(0), test_env.dummy_observation())
    levels = jax.vmap(test_env.sample_level)(jax.random.split(jax.random.key(3), 4))
    traj, last = player.rollout(jax.random.key(4), params, levels, 8)
    advantages, _ = gae(traj.rewards, traj.values, traj.dones, last, 0.99, 0.95)
    state, _ = curriculum.after_rollout(
        jax.random.key(0),
        curriculum.init(jax.random.key(1)),
        RolloutResult(levels, traj, advantages, last),
        UpdatePlan.train_on(),
        Student(player, params, config.ppo.gamma, 8),
        0,
    )
    assert int(state.buffer.size) == 4
    assert np.all(np.isfinite(np.asarray(state.buffer.scores[:4])))
