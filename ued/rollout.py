"""Playing a recurrent policy on batches of levels: training rollouts and evaluation episodes."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from . import distributions
from .env import AutoReplay, tree_select
from .networks import ActorCritic


@struct.dataclass
class Trajectory:
    """A time-major rollout; every field is ``[T, B, ...]``.

    Attributes:
        obs: observations (pytree) seen before acting.
        resets: ``bool``; ``obs[t]`` is the first observation of an episode (carry was zeroed).
        actions: ``int32``. log_probs, values: ``f32`` from the acting policy.
        rewards: ``f32``. dones: ``bool``, the episode ended with this transition.
        solved: ``bool``, this transition completed the task (reached the goal).
    """

    obs: Any
    resets: jax.Array
    actions: jax.Array
    log_probs: jax.Array
    values: jax.Array
    rewards: jax.Array
    dones: jax.Array
    solved: jax.Array


@struct.dataclass
class EpisodeStats:
    """First-episode statistics of one stochastic episode per env, each ``[B]``.

    Attributes:
        solved: ``bool``, reached the goal. returns: ``f32``, undiscounted return.
        discounted_returns: ``f32``, ``sum_t gamma^t r_t``. lengths: ``int32``, steps taken.
    """

    solved: jax.Array
    returns: jax.Array
    discounted_returns: jax.Array
    lengths: jax.Array


def _reset_batch(env, key, levels):
    """Reset one env per level; returns ``(next key, batch size, obs, states)``."""
    batch = jax.tree_util.tree_leaves(levels)[0].shape[0]
    k_reset, key = jax.random.split(key)
    obs, state = jax.vmap(env.reset_to_level)(jax.random.split(k_reset, batch), levels)
    return key, batch, obs, state


def _add_time(tree):
    return jax.tree_util.tree_map(lambda x: x[None], tree)


@dataclasses.dataclass(frozen=True)
class Player:
    """Plays an actor-critic on an env: the static half of the student (hashable, so jitted
    functions can close over it).

    Attributes:
        env: an unwrapped ``ued.env.UEDEnv``.
        network: the ``ActorCritic`` module.
    """

    env: Any
    network: ActorCritic

    def act(self, key, params, carry, obs, resets):
        """One policy step for a batch. Takes ``obs`` leaves ``[B, ...]`` and ``resets bool[B]``;
        returns ``(carry, actions int32[B], log_probs f32[B], values f32[B])``."""
        carry, logits, values = self.network.apply(params, carry, _add_time(obs), resets[None])
        actions = distributions.sample(key, logits[0])
        return carry, actions, distributions.log_prob(logits[0], actions), values[0]

    def rollout(self, key, params, levels, num_steps: int) -> tuple[Trajectory, jax.Array]:
        """Play ``num_steps`` steps on each level of the batch, replaying a level whenever its
        episode ends, from a zero recurrent state.

        Takes batched ``levels`` (B of them). Returns ``(trajectory [T, B], last_value f32[B])``,
        the value of the observation after the last step (for bootstrapping).
        """
        env = AutoReplay(self.env)
        batch = jax.tree_util.tree_leaves(levels)[0].shape[0]
        k_reset, k_steps = jax.random.split(key)
        obs, state = jax.vmap(env.reset_to_level)(jax.random.split(k_reset, batch), levels)
        resets = jnp.ones((batch,), jnp.bool_)

        def step(carry, key):
            rnn, obs, state, resets = carry
            k_act, k_env = jax.random.split(key)
            rnn, actions, log_probs, values = self.act(k_act, params, rnn, obs, resets)
            next_obs, state, rewards, dones, info = jax.vmap(env.step)(
                jax.random.split(k_env, batch), state, actions
            )
            transition = Trajectory(
                obs=obs,
                resets=resets,
                actions=actions,
                log_probs=log_probs,
                values=values,
                rewards=rewards,
                dones=dones,
                solved=info["solved"],
            )
            return (rnn, next_obs, state, dones), transition

        init = (self.network.initialize_carry(batch), obs, state, resets)
        (rnn, obs, _, resets), trajectory = jax.lax.scan(
            step, init, jax.random.split(k_steps, num_steps)
        )
        _, _, last_values = self.network.apply(params, rnn, _add_time(obs), resets[None])
        return trajectory, last_values[0]

    def count_successes(self, key, params, levels, num_steps: int, max_episodes: int):
        """Play each level (replaying it) for up to ``num_steps`` steps, counting its first
        ``max_episodes`` completed episodes and their successes; stops as soon as every level
        has ``max_episodes`` of them. Keeps no trajectory, so it scales to many levels.

        Returns ``(episodes int32[B], successes int32[B], steps int32[])`` where ``steps`` is the
        number of batched env steps taken (for env-step accounting).
        """
        env = AutoReplay(self.env)
        key, batch, obs, state = _reset_batch(env, key, levels)
        zeros = jnp.zeros((batch,), jnp.int32)
        init = (
            key,
            jnp.zeros((), jnp.int32),
            self.network.initialize_carry(batch),
            obs,
            state,
            jnp.ones((batch,), jnp.bool_),
            zeros,
            zeros,
        )

        def cond(carry):
            _, t, _, _, _, _, episodes, _ = carry
            return (t < num_steps) & jnp.any(episodes < max_episodes)

        def body(carry):
            key, t, rnn, obs, state, resets, episodes, successes = carry
            key, k_act, k_env = jax.random.split(key, 3)
            rnn, actions, _, _ = self.act(k_act, params, rnn, obs, resets)
            obs, state, _, dones, info = jax.vmap(env.step)(
                jax.random.split(k_env, batch), state, actions
            )
            counted = dones & (episodes < max_episodes)
            return (
                key,
                t + 1,
                rnn,
                obs,
                state,
                dones,
                episodes + counted,
                successes + (counted & info["solved"]),
            )

        _, steps, _, _, _, _, episodes, successes = jax.lax.while_loop(cond, body, init)
        return episodes, successes, steps

    def play_episodes(self, key, params, levels, gamma: float) -> EpisodeStats:
        """One stochastic episode on each level of the batch, stopping as soon as every episode
        has ended (at most ``env.max_steps`` steps). Returns per-level ``EpisodeStats``."""
        env = self.env
        key, batch, obs, state = _reset_batch(env, key, levels)
        zeros_f = jnp.zeros((batch,), jnp.float32)
        stats = EpisodeStats(
            solved=jnp.zeros((batch,), jnp.bool_),
            returns=zeros_f,
            discounted_returns=zeros_f,
            lengths=jnp.zeros((batch,), jnp.int32),
        )
        init = (
            key,
            jnp.zeros((), jnp.int32),
            self.network.initialize_carry(batch),
            obs,
            state,
            jnp.zeros((batch,), jnp.bool_),
            stats,
        )

        def cond(carry):
            _, t, _, _, _, done, _ = carry
            return (t < env.max_steps) & ~jnp.all(done)

        def body(carry):
            key, t, rnn, obs, state, done, stats = carry
            key, k_act, k_env = jax.random.split(key, 3)
            first = jnp.full((batch,), t == 0)
            rnn, actions, _, _ = self.act(k_act, params, rnn, obs, first)
            next_obs, next_state, rewards, dones, info = jax.vmap(env.step)(
                jax.random.split(k_env, batch), state, actions
            )
            live = ~done
            rewards = jnp.where(live, rewards, 0.0)
            stats = EpisodeStats(
                solved=stats.solved | (live & info["solved"]),
                returns=stats.returns + rewards,
                discounted_returns=stats.discounted_returns
                + rewards * jnp.float32(gamma) ** t.astype(jnp.float32),
                lengths=stats.lengths + live.astype(jnp.int32),
            )
            state = jax.vmap(tree_select)(done, state, next_state)
            return key, t + 1, rnn, next_obs, state, done | dones, stats

        return jax.lax.while_loop(cond, body, init)[-1]
