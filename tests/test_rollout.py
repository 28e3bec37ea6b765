"""Rollouts and evaluation episodes: replayed levels stay put, statistics are consistent."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import maze_learner

from envs.maze import Maze, make_level, shortest_path_length
from ued.rollout import Player
from ued.train import episode_metrics

ENV = Maze(height=6, width=6, max_steps=12)
LEARNER = maze_learner()
PLAYER = Player(ENV, LEARNER)


def _levels():
    """Level 0: goal one step ahead (easy). Level 1: goal far away behind walls."""
    easy = np.zeros((6, 6), bool)
    far = np.zeros((6, 6), bool)
    far[1:, 2] = True  # a wall column the agent must walk around
    return make_level(np.stack([easy, far]), [[0, 0], [0, 5]], [0, 0], [[1, 0], [5, 5]])


@pytest.fixture(scope="module")
def params():
    return LEARNER.init(jax.random.key(0), ENV.dummy_observation()).params


@pytest.fixture(scope="module")
def rollout(params):
    fn = jax.jit(lambda key, p, levels: PLAYER.rollout(key, p, levels, 60))
    return fn(jax.random.key(1), params, _levels())


def test_rollout_shapes_and_reset_flags(rollout):
    traj, last_value = rollout
    assert traj.rewards.shape == (60, 2) and last_value.shape == (2,)
    resets = np.asarray(traj.resets)
    dones = np.asarray(traj.dones)
    assert resets[0].all()
    np.testing.assert_array_equal(resets[1:], dones[:-1])  # a new episode follows every end
    # Rewards only when solving, and every solving step ends the episode.
    assert (np.asarray(traj.rewards)[~np.asarray(traj.solved)] == 0).all()
    assert dones[np.asarray(traj.solved)].all()


def test_replayed_rollouts_stay_on_their_level(rollout):
    """Every episode of env b is played on level b: a solved episode never takes fewer steps
    than level b's shortest path, and its reward matches its own length (a rollout that reset
    to a random level would break both)."""
    traj, _ = rollout
    paths = np.asarray(jax.vmap(shortest_path_length)(_levels()))
    for b in range(2):
        length = 0
        for t in range(60):
            length = 1 if traj.resets[t, b] else length + 1
            if traj.solved[t, b]:
                assert length >= paths[b]
                np.testing.assert_allclose(
                    traj.rewards[t, b], 1 - 0.9 * length / ENV.max_steps, rtol=1e-6
                )
            if traj.dones[t, b] and not traj.solved[t, b]:
                assert length == ENV.max_steps


def test_episode_metrics_match_a_python_count(rollout):
    traj, _ = rollout
    metrics = {k: float(v) for k, v in episode_metrics(traj).items()}
    dones = np.asarray(traj.dones)
    n = dones.sum()
    assert metrics["episodes"] == pytest.approx(n / 2)
    assert metrics["solve_rate"] == pytest.approx(np.asarray(traj.solved).sum() / n)
    returns = []
    for b in range(2):
        acc = 0.0
        for t in range(60):
            acc = (0.0 if traj.resets[t, b] else acc) + float(traj.rewards[t, b])
            if dones[t, b]:
                returns.append(acc)
    assert metrics["return"] == pytest.approx(np.mean(returns), rel=1e-5)
    firsts = []
    for b in range(2):
        ends = np.flatnonzero(dones[:, b])
        firsts.append(
            (float(traj.rewards[ends[0], b]), bool(traj.solved[ends[0], b]))
            if ends.size
            else (0.0, False)
        )
    assert metrics["first_return"] == pytest.approx(np.mean([f[0] for f in firsts]), rel=1e-5)
    assert metrics["first_solve_rate"] == pytest.approx(np.mean([f[1] for f in firsts]))


def test_play_episodes_first_episode_statistics(params):
    fn = jax.jit(lambda key, p, levels: PLAYER.play_episodes(key, p, levels, gamma=0.9))
    levels = jax.tree_util.tree_map(lambda x: jnp.concatenate([x] * 8), _levels())
    stats = jax.tree_util.tree_map(np.asarray, fn(jax.random.key(3), params, levels))
    assert (stats.lengths >= 1).all() and (stats.lengths <= ENV.max_steps).all()
    solved = stats.solved
    np.testing.assert_allclose(
        stats.returns[solved], 1 - 0.9 * stats.lengths[solved] / 12, rtol=1e-6
    )
    np.testing.assert_allclose(
        stats.discounted_returns[solved],
        stats.returns[solved] * 0.9 ** (stats.lengths[solved] - 1),
        rtol=1e-5,
    )
    assert (stats.returns[~solved] == 0).all() and (stats.lengths[~solved] == 12).all()
    # The easy level (goal straight ahead) is solved far more often than the far one.
    assert solved[0::2].mean() > solved[1::2].mean()
