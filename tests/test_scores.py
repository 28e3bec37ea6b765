"""Level scores on hand-built trajectories, including levels with no completed episode."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from ued import scores

# Three envs, five steps. Env 0: episodes of lengths 2 and 3. Env 1: one episode of length 3,
# then an unfinished one. Env 2: no episode finishes.
DONES = np.array([[0, 0, 0], [1, 0, 0], [0, 0, 0], [0, 1, 0], [1, 0, 0]], bool)
ADV = np.array(
    [[1.0, -1.0, 0.5], [-2.0, 2.0, 0.5], [3.0, 0.0, -1.0], [0.0, 4.0, 1.0], [3.0, 9.0, 0.0]],
    np.float32,
)


def test_positive_value_loss_by_hand():
    pvl = np.asarray(scores.positive_value_loss(jnp.asarray(ADV), jnp.asarray(DONES)))
    env0 = np.mean([np.mean([1.0, 0.0]), np.mean([3.0, 0.0, 3.0])])
    env1 = np.mean([0.0, 2.0, 0.0, 4.0])  # one episode of 4 steps; the unfinished tail ignored
    env2 = np.mean([0.5, 0.5, 0.0, 1.0, 0.0])  # no completed episode: the whole column
    np.testing.assert_allclose(pvl, [env0, env1, env2], rtol=1e-6)


def test_l1_value_loss_by_hand():
    l1 = np.asarray(scores.l1_value_loss(jnp.asarray(ADV), jnp.asarray(DONES)))
    np.testing.assert_allclose(l1[0], np.mean([np.mean([1, 2]), np.mean([3, 0, 3])]), rtol=1e-6)
    np.testing.assert_allclose(l1[1], np.mean([1, 2, 0, 4]), rtol=1e-6)


def test_max_mc_and_max_returns():
    rewards = np.zeros((5, 3), np.float32)
    rewards[1, 0], rewards[4, 0], rewards[3, 1] = 0.7, 0.9, 0.4
    values = np.full((5, 3), 0.5, np.float32)
    best = np.asarray(scores.episode_returns_max(jnp.asarray(rewards), jnp.asarray(DONES)))
    np.testing.assert_allclose(best, [0.9, 0.4, 0.0])
    mc = np.asarray(scores.max_mc(jnp.asarray(values), jnp.asarray(DONES), jnp.asarray(best)))
    np.testing.assert_allclose(mc, [0.4, -0.1, -0.5], rtol=1e-6)


def test_learnability_success_counts_and_the_episode_cap():
    solved = np.array([[0, 0, 0], [1, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0]], bool)
    episodes, successes = scores.success_counts(jnp.asarray(solved), jnp.asarray(DONES))
    assert np.asarray(episodes).tolist() == [2, 1, 0]
    assert np.asarray(successes).tolist() == [1, 0, 0]
    learn = np.asarray(scores.learnability(jnp.asarray(solved), jnp.asarray(DONES)))
    np.testing.assert_allclose(learn, [0.25, 0.0, 0.0])  # env 2: no episode -> 0, not NaN
    capped = scores.success_counts(jnp.asarray(solved), jnp.asarray(DONES), max_episodes=1)
    assert np.asarray(capped[0]).tolist() == [1, 1, 0]
    np.testing.assert_allclose(
        scores.success_rate(jnp.asarray(solved), jnp.asarray(DONES)), [0.5, 0.0, 0.0]
    )


def test_oracle_regret_uses_the_first_episode():
    rewards = np.zeros((5, 3), np.float32)
    rewards[1, 0], rewards[4, 0] = 0.8, 0.9  # the second episode's reward is ignored
    regret = np.asarray(
        scores.oracle_regret(
            jnp.array([0.85, 0.5, 0.3]), jnp.asarray(rewards), jnp.asarray(DONES), gamma=0.9
        )
    )
    np.testing.assert_allclose(regret, [0.85 - 0.9 * 0.8, 0.5, 0.3], rtol=1e-6)


@given(seed=st.integers(0, 1000), t=st.integers(1, 12))
def test_scores_are_finite_even_without_completed_episodes(seed, t):
    rng = np.random.default_rng(seed)
    adv = jnp.asarray(rng.normal(size=(t, 4)).astype(np.float32))
    dones = jnp.asarray(rng.random((t, 4)) < 0.2).at[:, 0].set(False)  # env 0 never finishes
    solved = dones & jnp.asarray(rng.random((t, 4)) < 0.5)
    values = jnp.asarray(rng.normal(size=(t, 4)).astype(np.float32))
    out = [
        scores.positive_value_loss(adv, dones),
        scores.l1_value_loss(adv, dones),
        scores.max_mc(values, dones, scores.episode_returns_max(adv, dones)),
        scores.learnability(solved, dones),
    ]
    for value in out:
        assert np.all(np.isfinite(np.asarray(value)))
    assert float(scores.learnability(solved, dones)[0]) == 0.0


def test_learnability_peaks_at_one_half():
    dones = jnp.ones((10, 3), bool)
    solved = jnp.asarray(np.stack([np.arange(10) < k for k in (0, 5, 10)], axis=1))
    np.testing.assert_allclose(scores.learnability(solved, dones), [0.0, 0.25, 0.0])
    assert "learnability" in scores.SCORES
