"""The level-generator agent: the maze editor, masked generator policies, PAIRED's regret and
reward, env-step accounting, one compile, exact resume and seeds, for ``paired``,
``minimax-adversary`` and ``repaired``."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import quiet, run_chunks
from hypothesis import given
from hypothesis import strategies as st

from algorithms.paired import flexible_regret, paired_regret
from envs.maze.editor import MazeEditor
from envs.maze.level import is_valid
from ued.app.build import build, preset, train
from ued.config import ConfigError, validate
from ued.config import override as replace
from ued.editor import GeneratorConfig, LevelGenerator, make_generator
from ued.logging import read_csv
from ued.ppo import ppo_loss
from ued.rollout import Trajectory
from ued.train import Trainer


class Killed(Exception):
    pass


EDITOR = MazeEditor(height=5, width=6, num_steps=10, noise_dim=4, random_walls=8)


def _apply(editor, actions, key=0):
    obs, state = editor.reset(jax.random.key(key))
    masks, observations = [], [obs]
    for a in actions:
        masks.append(np.asarray(editor.action_mask(state)))
        obs, state = editor.step(state, jnp.int32(a))
        observations.append(obs)
    return observations, state, masks


# ---- the maze editor ----------------------------------------------------------------------------
def test_editor_places_walls_then_goal_then_agent_as_the_references():
    """minimax (fixed_n_wall_steps) and dcd (choose_goal_last): walls, then the goal, then the
    agent; the goal and the agent clear a wall under them."""
    w = EDITOR.width
    wall_a, wall_b, goal, agent = 2 * w + 0, 1 * w + 2, 1 * w + 2, 3 * w + 4
    walls = [wall_a, wall_a, wall_b, agent, 4 * w + 5, 4 * w + 5, 0, 0]  # 8 wall steps
    observations, state, masks = _apply(EDITOR, [*walls, goal, agent])
    level = EDITOR.level(state)
    assert level.goal_pos.tolist() == [2, 1] and level.agent_pos.tolist() == [4, 3]
    # Repeated walls count once; the goal and the agent removed the walls under them.
    assert sorted(np.argwhere(np.asarray(level.wall_map)).tolist()) == [[0, 0], [2, 0], [4, 5]]
    assert int(state.time) == 10
    # Masks: any cell for walls and the goal, not the goal for the agent.
    assert all(m.all() for m in masks[:9])
    assert not masks[9][goal] and masks[9].sum() == EDITOR.num_actions - 1
    # The observation shows the goal only once placed, the agent only at the end.
    grids = [np.asarray(o.grid) for o in observations]
    assert not grids[8][..., 1:].any()
    assert grids[9][1, 2, 2] and grids[9][..., 2].sum() == 1 and not grids[9][..., 1].any()
    assert grids[10][3, 4, 1] and grids[10][..., 1].sum() == 1
    assert grids[10][..., 0].sum() == 3


def test_matched_steps_give_the_random_generators_wall_budget():
    assert EDITOR.matched_steps == EDITOR.random_walls + 2
    config = preset("paired", "maze", "test")
    spec = build(config).spec
    editor = spec.editor(config.env_config, config.curriculum.generator)
    assert editor.num_steps == config.env_config.n_walls + 2


@given(st.lists(st.integers(0, EDITOR.num_actions - 1), min_size=10, max_size=10))
def test_any_action_sequence_builds_a_valid_level(actions):
    """Even actions the masks forbid (the agent on the goal) leave a valid level."""
    _, state, _ = _apply(EDITOR, actions)
    assert bool(is_valid(EDITOR.level(state)))


def test_noise_is_uniform_and_fresh_at_every_step_as_the_references():
    observations, _, _ = _apply(EDITOR, [0] * 10)
    zs = np.stack([np.asarray(o.z) for o in observations])
    assert zs.shape == (11, EDITOR.noise_dim) and np.all((zs >= 0) & (zs < 1))
    assert len({tuple(z) for z in zs}) == 11
    other = np.asarray(EDITOR.reset(jax.random.key(1))[0].z)
    assert not np.array_equal(other, zs[0])
    # One z per episode, N(0, I), on request.
    fixed = dataclasses.replace(EDITOR, noise="normal", noise_per_step=False)
    observations, _, _ = _apply(fixed, [0] * 10)
    zs = np.stack([np.asarray(o.z) for o in observations])
    assert (zs < 0).any() and np.all(zs == zs[0])


# ---- the generator agent ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def generator():
    config = GeneratorConfig(
        editor_steps=EDITOR.num_steps,
        noise_dim=EDITOR.noise_dim,
        encoder_width=2,
        network=dataclasses.replace(GeneratorConfig().network, hidden_size=8, head_hidden=8),
    )
    spec = build(preset("paired", "maze", "test")).spec
    env_config = dataclasses.replace(
        preset("paired", "maze", "test").env_config, height=EDITOR.height, width=EDITOR.width
    )
    return make_generator(spec, env_config, config, num_levels=64)


@pytest.fixture(scope="module")
def generated(generator):
    state = jax.jit(generator.init)(jax.random.key(0))
    levels, state = jax.jit(generator.generate)(jax.random.key(1), state)
    return levels, state


def test_masked_actions_are_never_sampled(generated):
    _, state = generated
    rollout: Trajectory = state.rollout
    mask = np.asarray(rollout.action_mask)
    actions = np.asarray(rollout.actions)
    t, b = actions.shape
    assert mask.shape == (t, b, EDITOR.num_actions) and not mask[1:].all()
    assert mask[np.arange(t)[:, None], np.arange(b)[None, :], actions].all()  # 640 samples


def test_sampling_under_a_mask_never_picks_a_masked_action(test_learner, test_env):
    obs = jax.tree_util.tree_map(lambda x: jnp.stack([x] * 4000), test_env.dummy_observation())
    mask = jnp.zeros((4000, test_env.num_actions), jnp.bool_).at[:, 1].set(True)
    params = test_learner.init(jax.random.key(0), test_env.dummy_observation()).params
    carry = test_learner.initial_carry(4000)
    _, actions, log_probs, _ = test_learner.act(
        params, carry, obs, jnp.ones(4000, jnp.bool_), jax.random.key(1), mask
    )
    assert np.all(np.asarray(actions) == 1)
    np.testing.assert_allclose(log_probs, 0.0, atol=1e-6)  # all mass on the one allowed action


def test_ppo_ratio_uses_the_masked_distribution(generator, generated):
    """At the parameters that acted, the masked policy reproduces the stored log-probabilities
    (ratio 1, KL 0); the unmasked one would not."""
    _, state = generated
    batch = generator.learner.prepare(
        LevelGenerator.rewarded(state, jnp.ones(64)),
        jnp.zeros(64),
        generator.learner.initial_carry(64),
    )
    network, config = generator.learner.network, generator.learner.config
    _, masked = ppo_loss(state.learner.params, network, batch, config)
    assert float(masked["approx_kl"]) < 1e-6 and float(masked["clip_frac"]) == 0.0
    unmasked = batch.replace(trajectory=batch.trajectory.replace(action_mask=None))
    _, plain = ppo_loss(state.learner.params, network, unmasked, config)
    # Only the agent's step is masked (one cell of 30, one step of 10): the approx-KL of the
    # unmasked ratio is about 0.5 * ln(30/29)^2 / 10 = 5.7e-5 there, 0 with the mask.
    assert float(plain["approx_kl"]) > 2e-5


def test_generated_levels_are_valid_and_z_differs_per_episode_and_step(generator, generated):
    levels, state = generated
    assert np.asarray(jax.vmap(is_valid)(levels)).all()
    z = np.asarray(state.rollout.obs.z)  # [T, B, noise]
    assert np.all(z != 0)
    assert len({tuple(row) for row in z[0]}) == z.shape[1]  # a different z in every episode
    assert not np.array_equal(z[0], z[-1])  # and at every step
    _, state2 = jax.jit(generator.generate)(jax.random.key(2), state)
    assert not np.array_equal(np.asarray(state2.rollout.obs.z), z)


def test_generator_is_rewarded_only_at_its_last_step(generated):
    _, state = generated
    scores = jnp.arange(64, dtype=jnp.float32)
    rewards = np.asarray(LevelGenerator.rewarded(state, scores).rewards)
    assert not rewards[:-1].any()
    np.testing.assert_array_equal(rewards[-1], np.arange(64))
    dones = np.asarray(state.rollout.dones)
    assert dones[-1].all() and not dones[:-1].any()


# ---- PAIRED's regret -------------------------------------------------------------------------
def _traj(rewards, dones):
    rewards, dones = jnp.asarray(rewards, jnp.float32), jnp.asarray(dones, jnp.bool_)
    return Trajectory(
        obs=None,
        resets=dones,
        actions=dones.astype(jnp.int32),
        log_probs=rewards,
        values=rewards,
        rewards=rewards,
        dones=dones,
        truncated=jnp.zeros_like(dones),
        final_values=rewards,
        solved=dones,
    )


# Level 0: protagonist episodes return 1 and 0 (mean 0.5, max 1); antagonist 0.2 and 0.9
# (mean 0.55, max 0.9). Level 1: protagonist completes nothing (return so far 0); antagonist one
# episode of 0.6. Level 2: protagonist 1 and 1; antagonist 0.
PROTAGONIST = _traj(
    rewards=[[0.0, 0.0, 1.0], [1.0, 0.0, 1.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]],
    dones=[[0, 0, 1], [1, 0, 1], [0, 0, 0], [1, 0, 0]],
)
ANTAGONIST = _traj(
    rewards=[[0.2, 0.0, 0.0], [0.0, 0.6, 0.0], [0.9, 0.0, 0.0], [0.0, 0.0, 0.0]],
    dones=[[1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 0, 1]],
)


def test_paired_regret_is_clipped_at_zero_as_both_references():
    """minimax RELATIVE_REGRET and dcd: max(antagonist max - protagonist mean, 0)."""
    np.testing.assert_allclose(
        paired_regret(PROTAGONIST, ANTAGONIST, clip=False), [0.4, 0.6, -1.0], atol=1e-6
    )
    np.testing.assert_allclose(paired_regret(PROTAGONIST, ANTAGONIST), [0.4, 0.6, 0.0], atol=1e-6)


def test_flexible_regret_lets_the_better_student_play_the_antagonist():
    """dcd flexible_paired: level 0 the protagonist's max (1) beats the antagonist's (0.9), so
    1 - 0.55; level 1 the antagonist's: 0.6 - 0; level 2 the protagonist's: 1 - 0."""
    np.testing.assert_allclose(
        flexible_regret(PROTAGONIST, ANTAGONIST), [0.45, 0.6, 1.0], atol=1e-6
    )
    assert np.all(np.asarray(flexible_regret(ANTAGONIST, PROTAGONIST)) >= 0)


@given(
    st.lists(st.floats(0, 1, width=32), min_size=16, max_size=16),
    st.lists(st.booleans(), min_size=16, max_size=16),
)
def test_the_generators_regret_is_never_negative(rewards, dones):
    p = np.array(rewards, np.float32).reshape(4, 4)
    d = np.array(dones).reshape(4, 4)
    for regret in (paired_regret, flexible_regret):
        assert np.all(np.asarray(regret(_traj(p, d), _traj(p[::-1], d[::-1]))) >= 0)


# ---- the curricula in the training program -------------------------------------------------
@pytest.fixture(scope="module")
def paired_chunks():
    return run_chunks(preset("paired", "maze", "test"))


def test_env_steps_cover_all_three_learners_and_one_compile(paired_chunks):
    program, _, metrics, traces, _ = paired_chunks
    assert traces == 1
    c = program.config
    student = c.ppo.num_envs * c.ppo.num_steps
    editor = c.ppo.num_envs * (c.env_config.n_walls + 2)  # the matched budget
    assert np.all(metrics["env_steps/protagonist"] == student)
    assert np.all(metrics["env_steps/antagonist"] == student)
    assert np.all(metrics["env_steps/generator"] == editor)
    assert np.all(metrics["env_steps/total"] == 2 * student + editor)


def test_paired_updates_all_three_learners(paired_chunks):
    program, state, metrics, _, _ = paired_chunks
    for learner in ("student", "antagonist", "generator"):
        assert np.all(metrics[f"{learner}/grad_norm"] > 0), learner
    # The generator's reward is the logged (clipped) regret, and the levels are described.
    np.testing.assert_allclose(metrics["generated/reward"], metrics["paired/regret"])
    assert np.all(metrics["paired/regret"] >= 0)
    assert np.all(metrics["paired/regret_unclipped"] <= metrics["paired/regret"])
    for name in ("generated/walls", "generated/solvable"):
        assert np.all(np.isfinite(metrics[name])), name
    # Three separate parameter sets that all moved away from their initialisation.
    fresh = jax.jit(program.init)(program.seed_keys())
    for old, new in (
        (fresh.student.params, state.student.params),
        (fresh.curriculum.antagonist.params, state.curriculum.antagonist.params),
        (fresh.curriculum.generator.learner.params, state.curriculum.generator.learner.params),
    ):
        leaves = zip(jax.tree_util.tree_leaves(old), jax.tree_util.tree_leaves(new))
        assert any(not np.array_equal(a, b) for a, b in leaves)


def test_minimax_adversary_has_no_antagonist_and_rewards_minus_the_return():
    program, state, metrics, traces, _ = run_chunks(preset("minimax-adversary", "maze", "test"))
    assert traces == 1 and state.curriculum.antagonist is None
    assert "paired/regret" not in metrics and "env_steps/antagonist" not in metrics
    np.testing.assert_allclose(metrics["generated/reward"], -metrics["protagonist/mean_return"])
    c = program.config
    assert np.all(
        metrics["env_steps/total"] == c.ppo.num_envs * (c.ppo.num_steps + c.env_config.n_walls + 2)
    )


def _moved(old, new) -> bool:
    leaves = zip(jax.tree_util.tree_leaves(old), jax.tree_util.tree_leaves(new))
    return any(not np.array_equal(a, b) for a, b in leaves)


def test_repaired_is_paireds_triple_with_robust_plr_on_the_protagonist():
    """dcd's REPAIRED, one update at a time: a new-level update trains only the generator (on
    the clipped regret) and inserts its levels into the buffer; a replay update trains both
    students on replayed levels and leaves the generator alone."""
    config = replace(preset("repaired", "maze", "test"), curriculum__replay_prob=1.0)
    program = build(config)
    trainer = Trainer(program.env, program.curriculum, program.learner, config)
    update = jax.jit(trainer.update)
    state = jax.jit(trainer.init)(program.seed_keys())
    assert state.curriculum.antagonist is not None
    capacity = config.curriculum.buffer.capacity
    seen = set()
    for i in range(8):
        new_state, metrics, levels = update(state, jnp.int32(i))
        m = {k: np.asarray(v) for k, v in metrics.items()}
        old, new = state.curriculum, new_state.curriculum
        if int(m["curriculum/branch"]) == 0:  # new levels from the generator
            seen.add("new")
            assert _moved(old.replay.generator.learner, new.replay.generator.learner)
            assert not _moved(state.student, new_state.student)
            assert not _moved(old.antagonist, new.antagonist)
            np.testing.assert_allclose(m["generated/reward"], m["paired/regret"], rtol=1e-6)
            assert m["paired/regret"] >= 0 and m["env_steps/generator"] > 0
            inserted = int(m["buffer/inserted"])
            assert inserted > 0
            assert int(new.replay.buffer.filled.sum()) == min(
                capacity, int(old.replay.buffer.filled.sum()) + inserted
            )
            # The generated levels (the rollout's) are what entered the buffer.
            stored = {tuple(np.asarray(w).ravel()) for w in new.replay.buffer.levels.wall_map}
            built = {tuple(np.asarray(w).ravel()) for w in levels.wall_map}
            assert built & stored
        else:  # replayed levels
            seen.add("replay")
            assert not _moved(old.replay.generator.learner, new.replay.generator.learner)
            assert _moved(state.student, new_state.student)
            assert _moved(old.antagonist, new.antagonist)
            assert np.isnan(m["generated/reward"]) and m["env_steps/generator"] == 0
            assert int(m["buffer/inserted"]) == 0
            assert np.all(np.asarray(new.replay.slots) >= 0)  # levels from the buffer
        state = new_state
    assert seen == {"new", "replay"}


def test_level_source_is_a_setting_of_the_replay_curricula():
    accel = replace(preset("accel", "maze", "test"), curriculum__level_source="generator")
    assert build(accel).curriculum.generator is not None
    assert build(preset("plr-generator", "maze", "test")).curriculum.generator is not None
    with pytest.raises(ConfigError, match=r"curriculum\.level_source"):
        validate(replace(preset("robust-plr", "maze", "test"), curriculum__level_source="agent"))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("curriculum__generator__editor_steps", 1, "curriculum.generator.editor_steps"),
        ("curriculum__generator__ppo__num_envs", 3, "curriculum.generator.ppo.num_envs"),
        ("curriculum__antagonist_ppo__num_steps", 3, "curriculum.antagonist_ppo.num_steps"),
        ("curriculum__antagonist_ppo__lr", -1.0, "curriculum.antagonist_ppo.lr"),
        ("curriculum__objective", "minimax", "curriculum.objective"),
    ],
)
def test_invalid_paired_settings_name_the_field(field, value, message):
    config = preset("paired", "maze", "test")
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        validate(replace(config, **{field: value}))


@pytest.mark.slow  # CI's 20 minutes; make test-all runs it
def test_killed_paired_run_resumes_bit_exactly_and_seeds_vmap(tmp_path):
    """Three learners' parameters and optimisers, the generator's pending rollout and the
    diagnostics survive a kill: the resumed run's files are byte-identical. Two vmapped seeds
    reproduce the single-seed run's discrete outcomes."""
    config = preset("paired", "maze", "test")
    full = train(config, tmp_path / "run", **quiet())
    out = tmp_path / "killed" / "run"

    def kill(done, rows):
        if done == 4:
            raise Killed

    with pytest.raises(Killed):
        train(config, out, **quiet(on_chunk=kill))
    train(config, out, resume=True, **quiet())
    for name in ("metrics.csv", "eval.csv", "curriculum.csv"):
        assert (out / name).read_bytes() == (full.out / name).read_bytes(), name
    assert (full.out / "plots" / "generated_000002.png").stat().st_size > 1000
    rows = read_csv(full.out / "curriculum.csv")
    assert {"generated_eval/walls", "generated_eval/solvable"} <= {r["statistic"] for r in rows}

    both = run_chunks(replace(config, seeds=(0, 1)))[2]
    single = run_chunks(replace(config, seed=1))[2]
    for name in ("student/episodes", "env_steps/total", "generated/walls"):
        np.testing.assert_array_equal(both[name][:, 1], single[name], err_msg=name)
    np.testing.assert_allclose(both["paired/regret"][:, 1], single["paired/regret"], atol=1e-5)


# ---- the generator can learn a known objective --------------------------------------------------
def _train_on_synthetic_objective(learn: bool, updates: int = 300):
    """A cpu-preset-shaped generator (flattened grid, LSTM, the teacher's entropy and constant
    lr) on 7x7 mazes with 5 wall steps, rewarded with the number of walls in the top row (a
    known function of the level: uniform placements give 5 x 7/49 = 0.7, the optimum 5).
    Returns the mean reward and policy entropy per update, ``f32[updates]`` each."""
    config = preset("paired", "maze", "cpu")
    env_config = dataclasses.replace(config.env_config, height=7, width=7, n_walls=5)
    generator_config = dataclasses.replace(
        config.curriculum.generator,
        noise_dim=8,
        network=dataclasses.replace(config.curriculum.generator.network, hidden_size=32),
    )
    spec = build(preset("paired", "maze", "test")).spec
    generator = make_generator(spec, env_config, generator_config, num_levels=32)

    def step(state, key):
        k_build, k_learn = jax.random.split(key)
        levels, state = generator.generate(k_build, state)
        reward = levels.wall_map[:, 0, :].sum(-1).astype(jnp.float32)
        trained, metrics = generator.learn(k_learn, state, reward, jnp.int32(0), 1)
        return (trained if learn else state), (reward.mean(), metrics["entropy"])

    run = jax.jit(
        lambda key: jax.lax.scan(step, generator.init(key), jax.random.split(key, updates))
    )
    _, (reward, entropy) = run(jax.random.key(0))
    return np.asarray(reward), np.asarray(entropy)


def test_the_generator_learns_a_known_objective_and_not_without_its_update():
    """The pipeline (editor, masks, final-step reward, GAE, PPO) can climb a reward that is a
    known function of the level; a generator that cannot could not climb regret either."""
    reward, entropy = _train_on_synthetic_objective(learn=True)
    frozen_reward, frozen_entropy = _train_on_synthetic_objective(learn=False)
    untrained = frozen_reward.mean()
    assert 0.4 < untrained < 1.0  # about 0.7, uniform placements
    assert reward[-50:].mean() > 3 * untrained  # well above the untrained generator
    assert entropy[-50:].mean() < entropy[:10].mean() - 0.5  # and it commits to cells
    assert abs(frozen_reward[-50:].mean() - untrained) < 0.2  # nothing moves without updates
    np.testing.assert_allclose(frozen_entropy[-50:].mean(), frozen_entropy[:10].mean(), rtol=0.02)


# ---- reference presets ----------------------------------------------------------------------
# minimax's maze PAIRED, field by field: src/minimax/config/configs/maze/paired.json
# (facebookresearch/minimax). Student and antagonist share the student_* settings.
MINIMAX_PAIRED = {
    "updates": 30_000,  # n_total_updates
    "env_config.height": 13,  # maze_height
    "env_config.width": 13,  # maze_width
    "env_config.n_walls": 60,  # maze_n_walls (DR's budget)
    "env_config.max_steps": 250,  # maze_max_episode_steps
    "env_config.noop_actions": 4,  # Maze.action_set: MiniGrid's 7 actions
    "env_config.observation": "minigrid",  # maze_normalize_obs: MiniGrid cells / 10
    "env_config.encoder.conv_filters": 16,  # student_n_conv_filters
    "env_config.encoder.direction_features": 5,  # student_scalar_embed_dim
    "ppo.num_envs": 32,  # n_parallel
    "ppo.num_steps": 256,  # n_rollout_steps
    "ppo.lr": 1e-4,  # lr
    "ppo.anneal_lr": False,  # lr_anneal_steps 0
    "ppo.max_grad_norm": 0.5,
    "ppo.adam_eps": 1e-5,
    "ppo.gamma": 0.995,  # discount
    "ppo.gae_lambda": 0.98,  # student_gae_lambda
    "ppo.ent_coef": 1e-3,  # student_entropy_coef
    "ppo.vf_coef": 0.5,  # student_value_loss_coef
    "ppo.epochs": 5,  # student_ppo_n_epochs
    "ppo.minibatches": 1,  # student_ppo_n_minibatches
    "ppo.clip_eps": 0.2,  # student_ppo_clip_eps
    "network.cell": "lstm",  # student_recurrent_arch
    "network.hidden_size": 256,  # student_recurrent_hidden_dim
    "network.head_hidden": 32,  # student_hidden_dim
    "curriculum.clip_regret": True,  # ued_score relative_regret: clip(max - mean, 0)
    "curriculum.antagonist_network.hidden_size": 256,
    "curriculum.antagonist_ppo.lr": 1e-4,
    "curriculum.antagonist_ppo.anneal_lr": False,
    "curriculum.antagonist_ppo.ent_coef": 1e-3,
    "curriculum.generator.noise_dim": 50,  # maze_ued_noise_dim
    "curriculum.generator.noise": "uniform",  # maze_ued.py: jax.random.uniform
    "curriculum.generator.noise_per_step": True,  # a fresh noise in every step's observation
    "curriculum.generator.encoder_width": 128,  # teacher_n_conv_filters
    "curriculum.generator.network.cell": "lstm",  # teacher_recurrent_arch
    "curriculum.generator.network.hidden_size": 256,  # teacher_recurrent_hidden_dim
    "curriculum.generator.network.head_hidden": 32,  # teacher_hidden_dim
    "curriculum.generator.ppo.lr": 1e-4,
    "curriculum.generator.ppo.anneal_lr": False,  # teacher_lr_anneal_steps 0
    "curriculum.generator.ppo.ent_coef": 0.05,  # teacher_entropy_coef
    "curriculum.generator.ppo.vf_coef": 0.5,  # teacher_value_loss_coef
    "curriculum.generator.ppo.gamma": 0.995,  # teacher_discount
    "curriculum.generator.ppo.gae_lambda": 0.98,  # teacher_gae_lambda
    "curriculum.generator.ppo.epochs": 5,  # teacher_ppo_n_epochs
    "curriculum.generator.ppo.minibatches": 1,  # teacher_ppo_n_minibatches
    "curriculum.generator.ppo.clip_eps": 0.2,  # teacher_ppo_clip_eps
    "curriculum.generator.ppo.max_grad_norm": 0.5,
}


def _field(config, path: str):
    for name in path.split("."):
        config = getattr(config, name)
    return config


def test_the_minimax_preset_reproduces_minimaxs_maze_paired_field_by_field():
    config = preset("paired", "maze", "minimax")
    validate(config)
    for path, expected in MINIMAX_PAIRED.items():
        assert _field(config, path) == expected, path
    # maze_ued_n_walls 60 + goal + agent = 62 editor steps; the time embedding's width is
    # teacher_scalar_embed_dim (10).
    generator = build(config).curriculum.generator
    assert generator.editor.num_steps == 62
    assert generator.editor.encoder(128).time_features == 10
    # minimax's DR at the same preset (configs/maze/dr.json): the same student, 60 walls.
    dr = preset("dr", "maze", "minimax")
    for path in [p for p in MINIMAX_PAIRED if not p.startswith(("curriculum", "updates"))]:
        assert _field(dr, path) == _field(config, path), path


@pytest.mark.parametrize("algo", ["paired", "flexible-paired", "minimax-adversary", "repaired"])
@pytest.mark.parametrize("name", ["test", "cpu", "paper", "minimax", "dcd"])
def test_at_every_preset_the_generator_has_drs_wall_budget(algo, name):
    config = preset(algo, "maze", name)
    spec = build(preset("dr", "maze", "test")).spec
    editor = spec.editor(config.env_config, config.curriculum.generator)
    assert editor.num_steps - 2 == preset("dr", "maze", name).env_config.n_walls
    assert config.curriculum.clip_regret  # the unclipped estimate is off in every preset


def test_reference_presets_are_refused_for_curricula_without_one():
    with pytest.raises(ConfigError, match=r"preset: --algo sfl has no 'minimax' preset"):
        preset("sfl", "maze", "minimax")


def test_help_config_says_where_a_reference_presets_settings_come_from(capsys):
    from ued.app.cli import main

    with pytest.raises(SystemExit):
        main(["train", "--algo", "paired", "--preset", "minimax", "--help-config"])
    out = capsys.readouterr().out
    assert "configs/maze/paired.json" in out and "teacher_" in out


# dcd's maze REPAIRED: train_scripts/grid_configs/minigrid/25_blocks/mg_25b_repaired.json and
# arguments.py defaults (facebookresearch/dcd); PAIRED's students the same (mg_25b_paired.json).
DCD_REPAIRED = {
    "env_config.n_walls": 25,  # GoalLastFewerBlocksAdversarial-v0: n_clutter 25
    "ppo.num_envs": 32,  # num_processes
    "ppo.num_steps": 256,  # num_steps
    "ppo.lr": 1e-4,  # lr
    "ppo.anneal_lr": False,  # use_linear_lr_decay default off
    "ppo.epochs": 5,  # ppo_epoch
    "ppo.minibatches": 1,  # num_mini_batch
    "ppo.gamma": 0.995,  # gamma
    "ppo.gae_lambda": 0.95,  # arguments.py gae_lambda
    "ppo.ent_coef": 0.0,  # entropy_coef
    "network.hidden_size": 256,  # recurrent_hidden_size
    "curriculum.generator.ppo.ent_coef": 0.0,  # adv_entropy_coef
    "curriculum.generator.network.cell": "none",  # recurrent_adversary_env false
    "curriculum.generator.noise_dim": 50,  # random_z_dim
    "curriculum.replay_prob": 0.95,  # level_replay_prob
    "curriculum.score": "maxmc",  # grounded_signed_value_loss
    "curriculum.buffer.capacity": 4000,  # level_replay_seed_buffer_size
    "curriculum.buffer.temperature": 0.1,  # level_replay_temperature
    "curriculum.buffer.prioritization": "rank",  # level_replay_score_transform
    "curriculum.buffer.staleness_coeff": 0.3,  # staleness_coef
    "curriculum.buffer.min_fill": 0.5,  # level_replay_rho
}


def test_the_dcd_preset_reproduces_dcds_maze_repaired_and_dr():
    config = preset("repaired", "maze", "dcd")
    validate(config)
    for path, expected in DCD_REPAIRED.items():
        assert _field(config, path) == expected, path
    # mg_25b_paired.json: a recurrent adversary; mg_25b_dr.json: entropy 0.01, and one level
    # per env and update (use_plr with replay 0: levels are replayed, not redrawn, on reset).
    assert preset("paired", "maze", "dcd").curriculum.generator.network.cell == "lstm"
    dr = preset("dr", "maze", "dcd")
    assert dr.ppo.ent_coef == 0.01 and dr.curriculum.resample == "update"
