"""PLR, robust PLR and ACCEL: branch logic, gradients, scoring (learnability from independent
attempts), mutation."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from coin_env import CoinEnv, coin_student

from algorithms import plr
from envs.maze import MAZE, is_valid
from ued import scores
from ued.app.build import build, preset
from ued.buffer import BufferConfig
from ued.config import override
from ued.curriculum import MUTATE, NEW, REPLAY, RolloutResult, Student, UpdatePlan
from ued.rollout import Player


def _trainer(algo, **fields):
    config = override(
        preset(algo, "maze", "test"),
        updates_per_chunk=1,
        updates=12,
        eval_every=1,
        checkpoint_every=1,
        **fields,
    )
    program = build(config)
    state = jax.jit(program.init)(program.seed_keys())
    return config, program.env, program.curriculum, state, jax.jit(program.chunk)


@pytest.mark.parametrize(  # robust PLR's rule by default; the others under make test-all
    "algo", ["robust-plr", *(pytest.param(a, marks=pytest.mark.slow) for a in ("plr", "accel"))]
)
def test_gradients_only_where_the_variant_allows(algo):
    """Which branches take a gradient; and, with JaxUED's schedule (``anneal_lr_by gradient``,
    the paper preset's), the learning rate counts only the updates that took one."""
    config, _, _, state, chunk = _trainer(algo, ppo__anneal_lr_by="gradient")
    seen, gradient_updates = set(), 0
    for update in range(12):
        before = state.student.params
        count_before = int(state.student.opt_state[1].count)
        state, metrics, _ = chunk(state, jnp.int32(update))
        branch = int(metrics["curriculum/branch"][0])
        applied = bool(metrics["curriculum/apply_gradient"][0])
        changed = any(
            bool(jnp.any(a != b))
            for a, b in zip(
                jax.tree_util.tree_leaves(before), jax.tree_util.tree_leaves(state.student.params)
            )
        )
        seen.add(branch)
        robust = config.curriculum.robust
        assert applied == (branch == REPLAY or not robust), (update, branch)
        count = int(state.student.opt_state[1].count)
        assert changed == applied and (count > count_before) == applied
        expected_lr = config.ppo.lr * (1 - gradient_updates / config.updates)
        assert float(metrics["student/lr"][0]) == pytest.approx(expected_lr, rel=1e-6)
        gradient_updates += applied
    assert NEW in seen and REPLAY in seen
    assert gradient_updates < 12  # so the two schedules differ
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
    config = preset("accel", "maze", "test")
    config = override(
        config,
        curriculum=dataclasses.replace(
            config.curriculum, buffer=BufferConfig(capacity=16, min_fill=0.5)
        ),
    )
    program = build(config)
    env, curriculum = program.env, program.curriculum
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
    score, test_config, test_env, test_learner
):
    config = test_config
    cfg = plr.Config(score=score, buffer=BufferConfig(capacity=8))
    curriculum = plr.ReplayCurriculum(test_env, cfg, num_envs=4, gamma=0.99, oracle=MAZE.oracle)
    player = Player(test_env, test_learner)
    params = test_learner.init(jax.random.key(0), test_env.dummy_observation()).params
    levels = jax.vmap(test_env.sample_level)(jax.random.split(jax.random.key(3), 4))
    traj, last = player.rollout(jax.random.key(4), params, levels, 8)
    batch = test_learner.prepare(traj, last, test_learner.initial_carry(4))
    state, metrics = curriculum.after_rollout(
        jax.random.key(0),
        curriculum.init(jax.random.key(1)),
        RolloutResult(levels, traj, batch.advantages, last),
        UpdatePlan.train_on(),
        Student(player, params, config.ppo.gamma, 8),
        0,
    )
    assert int(state.buffer.size) == 4
    assert np.all(np.isfinite(np.asarray(state.buffer.scores[:4])))
    if score == "learnability":  # K attempts of up to max_steps (24) steps on each of 4 levels
        assert 4 * 5 <= float(metrics["curriculum/scoring_env_steps"]) <= 4 * 5 * 24


def test_learnability_comes_from_independent_attempts_not_the_training_rollout():
    """Coins with p ≈ 1/2 whose failed episodes last the whole rollout (8 steps): the training
    rollout only ever completes a failure if it comes first, so its success rate is 0 or 1 and
    p(1 - p) = 0 on every level. Five independent first-episode attempts estimate p properly,
    so the buffer sees learnable levels (the true learnability is 1/4)."""
    env = CoinEnv(max_steps=8)
    student = coin_student(env, num_steps=8)
    levels = {"p": jnp.linspace(0.45, 0.55, 64, dtype=jnp.float32)}  # distinct levels
    traj, last = student.player.rollout(jax.random.key(0), student.params, levels, 8)
    from_rollout = scores.learnability(traj.solved, traj.dones)
    assert float(jnp.max(from_rollout)) == 0.0  # the degenerate estimate

    cfg = plr.Config(score="learnability", score_attempts=5, buffer=BufferConfig(capacity=64))
    curriculum = plr.ReplayCurriculum(env, cfg, num_envs=64, gamma=0.99)
    after = jax.jit(
        lambda key, state: curriculum.after_rollout(
            key,
            state,
            RolloutResult(levels, traj, jnp.zeros_like(traj.values), last),
            UpdatePlan.train_on(),
            student,
            0,
        )
    )
    state, metrics = after(jax.random.key(1), curriculum.init(jax.random.key(2)))
    assert int(state.buffer.size) == 64
    estimated = np.asarray(state.buffer.scores)
    assert 0.15 < estimated.mean() < 0.25  # E[p̂(1 - p̂)] = (1 - 1/5) / 4 = 0.2
    assert (estimated > 0).mean() > 0.8
    assert float(metrics["curriculum/scoring_env_steps"]) > 64 * 5  # paid for, and logged
