"""Per-level scores from one rollout batch ``[T, B]`` (one level per env column).

Every rollout starts episodes at t = 0 and replays the same level after each episode ends, so a
column holds zero or more *completed* episodes followed by at most one unfinished one.

Policy for a level with no completed episode (so no score is ever NaN or -inf):
  * value-based scores (PVL, MaxMC, L1 value loss) use the unfinished episode's time-average,
    which is the same estimator over the only evidence there is;
  * outcome-based scores (learnability, success rate) are 0: nothing was learnt about success,
    and SFL's convention is to score such levels 0;
  * oracle regret treats an unfinished first episode as unsolved (return so far, usually 0).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

SCORES = ("pvl", "maxmc", "l1_value_loss", "learnability", "oracle_regret")
REQUIRES = {"learnability": ("success",), "oracle_regret": ("oracle",)}
"""The env capability each score needs (``ued.env.EnvSpec``); the others need none."""


def episode_average(values: jax.Array, dones: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Mean over completed episodes of each episode's time-average of ``values``.

    Args: ``values f32[T, B]``; ``dones bool[T, B]`` (episode ended with step t).
    Returns: ``(average f32[B], completed int32[B])``; where no episode completed, the average of
    the unfinished episode (the whole column).
    """

    def step(carry, x):
        ep_sum, ep_len, total, count = carry
        value, done = x
        ep_sum, ep_len = ep_sum + value, ep_len + 1
        total = total + jnp.where(done, ep_sum / ep_len, 0.0)
        count = count + done
        ep_sum, ep_len = jnp.where(done, 0.0, ep_sum), jnp.where(done, 0, ep_len)
        return (ep_sum, ep_len, total, count), None

    batch = values.shape[1]
    zeros_f, zeros_i = jnp.zeros(batch, jnp.float32), jnp.zeros(batch, jnp.int32)
    (ep_sum, ep_len, total, count), _ = jax.lax.scan(
        step, (zeros_f, zeros_i, zeros_f, zeros_i), (values.astype(jnp.float32), dones)
    )
    partial = ep_sum / jnp.maximum(ep_len, 1)
    return jnp.where(count > 0, total / jnp.maximum(count, 1), partial), count


def positive_value_loss(advantages: jax.Array, dones: jax.Array) -> jax.Array:
    """PVL (Jiang et al. 2021): mean over episodes of the time-average of max(GAE advantage, 0).
    ``f32[T, B] -> f32[B]``."""
    return episode_average(jnp.maximum(advantages, 0.0), dones)[0]


def l1_value_loss(advantages: jax.Array, dones: jax.Array) -> jax.Array:
    """Mean over episodes of the time-average of |GAE advantage|. ``f32[T, B] -> f32[B]``."""
    return episode_average(jnp.abs(advantages), dones)[0]


def episode_returns_max(rewards: jax.Array, dones: jax.Array) -> jax.Array:
    """Highest undiscounted return among the completed episodes of each column; where none
    completed, the unfinished episode's return so far. ``f32[T, B] -> f32[B]``."""

    def step(carry, x):
        ret, best, any_done = carry
        reward, done = x
        ret = ret + reward
        best = jnp.where(done, jnp.maximum(best, ret), best)
        return (jnp.where(done, 0.0, ret), best, any_done | done), None

    batch = rewards.shape[1]
    init = (jnp.zeros(batch), jnp.full(batch, -jnp.inf), jnp.zeros(batch, bool))
    (ret, best, any_done), _ = jax.lax.scan(step, init, (rewards, dones))
    return jnp.where(any_done, best, ret)


def episode_returns(rewards: jax.Array, dones: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Mean and highest undiscounted return over the completed episodes of each column (the
    flexible PAIRED regret's protagonist mean and antagonist max); where none completed, both
    are the unfinished episode's return so far. ``f32[T, B] -> (f32[B], f32[B])``."""

    def step(carry, x):
        ret, total, count = carry
        reward, done = x
        ret = ret + reward
        total, count = total + jnp.where(done, ret, 0.0), count + done
        return (jnp.where(done, 0.0, ret), total, count), None

    batch = rewards.shape[1]
    init = (jnp.zeros(batch), jnp.zeros(batch), jnp.zeros(batch, jnp.int32))
    (ret, total, count), _ = jax.lax.scan(step, init, (rewards, dones))
    mean = jnp.where(count > 0, total / jnp.maximum(count, 1), ret)
    return mean, episode_returns_max(rewards, dones)


def max_mc(values: jax.Array, dones: jax.Array, max_returns: jax.Array) -> jax.Array:
    """MaxMC (Jiang et al. 2021b): mean over episodes of the time-average of
    ``R_max - V(s_t)``, with ``max_returns f32[B]`` the highest return ever seen on each level
    (the caller keeps it, e.g. in buffer extras, as ``max(stored, episode_returns_max(...))``).
    ``f32[T, B] -> f32[B]``."""
    return episode_average(max_returns[None, :] - values, dones)[0]


def success_counts(solved: jax.Array, dones: jax.Array, max_episodes: int | None = None):
    """Completed episodes and successes per column, counting at most the first
    ``max_episodes`` completed episodes (SFL counts 10). Returns ``(episodes, successes)``,
    both ``int32[B]``."""
    counted = dones
    if max_episodes is not None:
        counted = dones & (jnp.cumsum(dones, axis=0) <= max_episodes)
    return counted.sum(0, dtype=jnp.int32), (solved & counted).sum(0, dtype=jnp.int32)


def success_rate(solved: jax.Array, dones: jax.Array, max_episodes: int | None = None):
    """Fraction of completed episodes that succeeded, 0 where none completed. ``-> f32[B]``."""
    episodes, successes = success_counts(solved, dones, max_episodes)
    return jnp.where(episodes > 0, successes / jnp.maximum(episodes, 1), 0.0)


def learnability(solved: jax.Array, dones: jax.Array, max_episodes: int | None = None):
    """Learnability p(1 - p) (Rutherford et al. 2024), p the success rate over completed
    episodes; 0 where none completed. ``bool[T, B] -> f32[B]``."""
    episodes, _ = success_counts(solved, dones, max_episodes)
    p = success_rate(solved, dones, max_episodes)
    return jnp.where(episodes > 0, p * (1.0 - p), 0.0)


def first_episode_discounted_return(rewards: jax.Array, dones: jax.Array, gamma: float):
    """Discounted return of each column's first episode (up to the rollout's end if it did not
    finish). ``f32[T, B] -> f32[B]``."""
    in_first = (jnp.cumsum(dones, axis=0) - dones) == 0
    discount = jnp.float32(gamma) ** jnp.arange(rewards.shape[0], dtype=jnp.float32)
    return jnp.sum(rewards * in_first * discount[:, None], axis=0)


def oracle_regret(
    optimal_values: jax.Array, rewards: jax.Array, dones: jax.Array, gamma: float
) -> jax.Array:
    """True regret estimate ``V*(level) - first-episode discounted return`` (needs the env's
    oracle: ``optimal_values f32[B]``). ``-> f32[B]``."""
    return optimal_values - first_episode_discounted_return(rewards, dones, gamma)
