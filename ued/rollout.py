"""Playing a learner's policy on batches of levels: training rollouts and evaluation episodes."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from .env import AutoReplay, tree_select


@struct.dataclass
class Trajectory:
    """A time-major rollout; every field is ``[T, B, ...]``.

    Attributes:
        obs: observations (pytree) seen before acting.
        resets: ``bool``; ``obs[t]`` is the first observation of an episode (carry was zeroed).
        actions: ``int32`` (continuous actions: ``f32[T, B, D]``). log_probs, values: ``f32``
            from the acting policy.
        rewards: ``f32``. dones: ``bool``, the episode ended with this transition (terminated or
            truncated). truncated: ``bool``, it ended by a time-out that is not terminal.
        final_values: ``f32``, the value of the observation reached where ``truncated`` (0
            elsewhere, and everywhere for envs that never truncate): GAE bootstraps from it.
        solved: ``bool``, this transition completed the task (False for envs without a success
            signal).
        action_mask: ``bool[T, B, A]`` the actions that were allowed, or None (all of them).
    """

    obs: Any
    resets: jax.Array
    actions: jax.Array
    log_probs: jax.Array
    values: jax.Array
    rewards: jax.Array
    dones: jax.Array
    truncated: jax.Array
    final_values: jax.Array
    solved: jax.Array
    action_mask: jax.Array | None = None


@struct.dataclass
class RolloutCarry:
    """Where a rollout starts: the env states, the observation to act on, whether it starts an
    episode, and the recurrent state. A rollout from reset builds a fresh one; a continuing
    rollout (JaxUED's DR) keeps the previous rollout's end across updates.

    Attributes:
        obs: observation leaves ``[B, ...]``; state: wrapped env states ``[B]``;
        resets: ``bool[B]``; rnn: the learner's carry (leaves ``[B, ...]``).
    """

    obs: Any
    state: Any
    resets: jax.Array
    rnn: Any


@struct.dataclass
class EpisodeStats:
    """First-episode statistics of one stochastic episode per env, each ``[B]``.

    Attributes:
        solved: ``bool``, reached the goal (False without a success signal).
        returns: ``f32``, undiscounted return. discounted_returns: ``f32``, ``sum_t gamma^t r_t``.
        lengths: ``int32``, steps taken.
        outcomes: ``f32[B, K]``, the env's ``outcome_names`` at the episode's last step
            (``K = 0`` for envs without any).
    """

    solved: jax.Array
    returns: jax.Array
    discounted_returns: jax.Array
    lengths: jax.Array
    outcomes: jax.Array


def batch_size(levels) -> int:
    """The leading (batch) dimension of batched levels."""
    return jax.tree_util.tree_leaves(levels)[0].shape[0]


def _solved(info, like):
    return info["solved"] if "solved" in info else jnp.zeros_like(like, jnp.bool_)


@dataclasses.dataclass(frozen=True)
class Player:
    """Plays a learner's policy on an env: the static half of the student (hashable, so jitted
    functions can close over it).

    Attributes:
        env: an unwrapped ``ued.env.Environment``.
        learner: a ``ued.learner.Learner`` (acts from its parameters).
    """

    env: Any
    learner: Any

    def act(self, key, params, carry, obs, resets):
        """One policy step for a batch. Takes ``obs`` leaves ``[B, ...]`` and ``resets bool[B]``;
        returns ``(carry, actions int32[B], log_probs f32[B], values f32[B])``."""
        return self.learner.act(params, carry, obs, resets, key)

    def start(self, key, levels, wrapper=None) -> RolloutCarry:
        """A ``RolloutCarry`` at the start of an episode on each level (``levels [B]``), played
        through ``wrapper`` (``AutoReplay(env)`` by default)."""
        env = wrapper or AutoReplay(self.env)
        batch = batch_size(levels)
        obs, state = jax.vmap(env.reset_to_level)(jax.random.split(key, batch), levels)
        return RolloutCarry(
            obs=obs,
            state=state,
            resets=jnp.ones((batch,), jnp.bool_),
            rnn=self.learner.initial_carry(batch),
        )

    def rollout(self, key, params, levels, num_steps: int) -> tuple[Trajectory, jax.Array]:
        """Play ``num_steps`` steps on each level of the batch from a reset and a zero recurrent
        state, replaying a level whenever its episode ends.

        Takes batched ``levels`` (B of them). Returns ``(trajectory [T, B], last_value f32[B])``,
        the value of the observation after the last step (for bootstrapping).
        """
        k_reset, k_steps = jax.random.split(key)
        start = self.start(k_reset, levels)
        trajectory, last_value, _ = self.continue_rollout(k_steps, params, start, num_steps)
        return trajectory, last_value

    def continue_rollout(
        self, key, params, start: RolloutCarry, num_steps: int, wrapper=None
    ) -> tuple[Trajectory, jax.Array, RolloutCarry]:
        """Play ``num_steps`` steps from ``start`` through ``wrapper`` (``AutoReplay(env)``: the
        same level after each episode; ``AutoReset``: fresh levels). Returns ``(trajectory
        [T, B], last_value f32[B], end)`` where ``end`` continues the rollout."""
        env = wrapper or AutoReplay(self.env)
        batch = start.resets.shape[0]
        truncates = self.env.truncates

        def step(carry: RolloutCarry, key):
            k_act, k_env = jax.random.split(key)
            rnn, actions, log_probs, values = self.act(
                k_act, params, carry.rnn, carry.obs, carry.resets
            )
            next_obs, state, rewards, terminated, truncated, info = jax.vmap(env.step)(
                jax.random.split(k_env, batch), carry.state, actions
            )
            dones = terminated | truncated
            if truncates:  # the value of the observation the time-out reached, for GAE
                final_values = self.learner.value(
                    params, rnn, info["final_obs"], jnp.zeros((batch,), jnp.bool_)
                )
                final_values = jnp.where(truncated & ~terminated, final_values, 0.0)
            else:
                final_values = jnp.zeros_like(values)
            transition = Trajectory(
                obs=carry.obs,
                resets=carry.resets,
                actions=actions,
                log_probs=log_probs,
                values=values,
                rewards=rewards,
                dones=dones,
                truncated=truncated & ~terminated,
                final_values=final_values,
                solved=_solved(info, dones),
            )
            return RolloutCarry(obs=next_obs, state=state, resets=dones, rnn=rnn), transition

        end, trajectory = jax.lax.scan(step, start, jax.random.split(key, num_steps))
        last_values = self.learner.value(params, end.rnn, end.obs, end.resets)
        return trajectory, last_values, end

    def episode(self, key, params, level, max_steps: int) -> tuple[Any, jax.Array, jax.Array]:
        """One stochastic episode on one (unbatched) ``level``, for watching an agent play.

        Returns ``(states, rewards, length)``: the env state at the reset and after each step
        (leaves ``[max_steps + 1, ...]``; states after the episode ended repeat its last one),
        ``rewards f32[max_steps]`` (0 after the end) and ``length int32[]``, the steps taken.
        """
        k_reset, k_steps = jax.random.split(key)
        one = jax.tree_util.tree_map(lambda x: x[None], level)
        start = self.start(k_reset, one, wrapper=self.env)

        def step(carry, key):
            c, done, length = carry
            k_act, k_env = jax.random.split(key)
            rnn, actions, _, _ = self.act(k_act, params, c.rnn, c.obs, c.resets)
            obs, state, rewards, terminated, truncated, _ = jax.vmap(self.env.step)(
                k_env[None], c.state, actions
            )
            keep = lambda new, old: jnp.where(done, old, new)
            state = jax.tree_util.tree_map(keep, state, c.state)
            nxt = RolloutCarry(obs=obs, state=state, resets=jnp.zeros_like(c.resets), rnn=rnn)
            ended = (terminated | truncated)[0]
            return (nxt, done | ended, length + ~done), (state, jnp.where(done, 0.0, rewards[0]))

        init = (start, jnp.zeros((), jnp.bool_), jnp.zeros((), jnp.int32))
        (_, _, length), (states, rewards) = jax.lax.scan(
            step, init, jax.random.split(k_steps, max_steps)
        )
        states = jax.tree_util.tree_map(
            lambda first, rest: jnp.concatenate([first, rest[:, 0]]), start.state, states
        )
        return states, rewards, length

    def count_successes(self, key, params, levels, num_steps: int, max_episodes: int):
        """Play each level (replaying it) for up to ``num_steps`` steps, counting its first
        ``max_episodes`` completed episodes and their successes; stops as soon as every level
        has ``max_episodes`` of them. Keeps no trajectory, so it scales to many levels.

        Returns ``(episodes int32[B], successes int32[B], steps int32[])`` where ``steps`` is the
        number of batched env steps taken (for env-step accounting).
        """
        env = AutoReplay(self.env)
        k_reset, key = jax.random.split(key)
        start = self.start(k_reset, levels, env)
        batch = start.resets.shape[0]
        zeros = jnp.zeros((batch,), jnp.int32)
        init = (key, jnp.zeros((), jnp.int32), start, zeros, zeros)

        def cond(carry):
            _, t, _, episodes, _ = carry
            return (t < num_steps) & jnp.any(episodes < max_episodes)

        def body(carry):
            key, t, c, episodes, successes = carry
            key, k_act, k_env = jax.random.split(key, 3)
            rnn, actions, _, _ = self.act(k_act, params, c.rnn, c.obs, c.resets)
            obs, state, _, terminated, truncated, info = jax.vmap(env.step)(
                jax.random.split(k_env, batch), c.state, actions
            )
            dones = terminated | truncated
            counted = dones & (episodes < max_episodes)
            return (
                key,
                t + 1,
                RolloutCarry(obs=obs, state=state, resets=dones, rnn=rnn),
                episodes + counted,
                successes + (counted & _solved(info, dones)),
            )

        _, steps, _, episodes, successes = jax.lax.while_loop(cond, body, init)
        return episodes, successes, steps

    def play_episodes(self, key, params, levels, gamma: float) -> EpisodeStats:
        """One stochastic episode on each level of the batch, stopping as soon as every episode
        has ended (at most ``env.max_steps`` steps). Returns per-level ``EpisodeStats``."""
        env = self.env
        k_reset, key = jax.random.split(key)
        batch = batch_size(levels)
        obs, state = jax.vmap(env.reset_to_level)(jax.random.split(k_reset, batch), levels)
        zeros_f = jnp.zeros((batch,), jnp.float32)
        stats = EpisodeStats(
            solved=jnp.zeros((batch,), jnp.bool_),
            returns=zeros_f,
            discounted_returns=zeros_f,
            lengths=jnp.zeros((batch,), jnp.int32),
            outcomes=jnp.zeros((batch, len(env.outcome_names)), jnp.float32),
        )
        init = (
            key,
            jnp.zeros((), jnp.int32),
            self.learner.initial_carry(batch),
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
            next_obs, next_state, rewards, terminated, truncated, info = jax.vmap(env.step)(
                jax.random.split(k_env, batch), state, actions
            )
            live = ~done
            rewards = jnp.where(live, rewards, 0.0)
            stats = EpisodeStats(
                solved=stats.solved | (live & _solved(info, terminated)),
                returns=stats.returns + rewards,
                discounted_returns=stats.discounted_returns
                + rewards * jnp.float32(gamma) ** t.astype(jnp.float32),
                lengths=stats.lengths + live.astype(jnp.int32),
                outcomes=jnp.where(live[:, None], info["outcomes"], stats.outcomes)
                if stats.outcomes.shape[1]
                else stats.outcomes,
            )
            state = jax.vmap(tree_select)(done, state, next_state)
            return key, t + 1, rnn, next_obs, state, done | terminated | truncated, stats

        return jax.lax.while_loop(cond, body, init)[-1]
