"""Inner agents that an update rule trains: a policy, a prediction vector and a value, and their
rollouts on one level each.

An inner agent (LPG's) outputs policy logits ``[A]``, the logits of a categorical prediction
``y(s)`` over ``m`` bins (what LPG gives meaning to) and a state value (what A2C uses), from the
env's observation encoder followed by an MLP (no hidden layer: linear in the encoder's features,
which for a tabular gridworld is a table). Every rule trains the same agents, so a learned rule and
A2C can be compared on identical networks. The agents are feedforward; each plays its own level,
replaying it whenever an episode ends, and keeps its env state across updates for its lifetime.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
from flax import struct

from ..env import AutoReplay


class InnerAgent(nn.Module):
    """Observation ``[..., obs]`` -> ``(logits f32[..., A], y_logits f32[..., m], value f32[...])``.

    Attributes:
        num_actions: A. prediction_size: m (LPG uses 8).
        encoder: the env's observation encoder (applied to ``[T, B, ...]``-shaped leaves).
        hidden: widths of the MLP's hidden layers (``()``: linear heads).
    """

    num_actions: int
    encoder: nn.Module
    prediction_size: int = 8
    hidden: tuple[int, ...] = (32,)

    @nn.compact
    def __call__(self, obs):
        batch = jax.tree_util.tree_leaves(obs)[0].shape
        flat = jax.tree_util.tree_map(lambda x: x.reshape(1, -1, *x.shape[len(batch) :]), obs)
        features = self.encoder(flat)[0]
        for width in self.hidden:
            features = nn.relu(nn.Dense(width)(features))
        logits = nn.Dense(self.num_actions)(features)
        y_logits = nn.Dense(self.prediction_size)(features)
        value = nn.Dense(1)(features)[..., 0]
        shape = tuple(batch)
        return (
            logits.reshape(*shape, -1),
            y_logits.reshape(*shape, -1),
            value.reshape(shape),
        )


@struct.dataclass
class Transitions:
    """An inner rollout, time-major ``[T, B, ...]``.

    Attributes:
        obs: observations acted on; next_obs: the observations reached (before any reset, so
            ``y(s_{t+1})`` belongs to the same episode); actions: ``int32``; rewards: ``f32``;
        dones: ``bool``, the episode ended (terminated or truncated) with this transition;
        truncated: ``bool``, it ended by the time limit.
    """

    obs: Any
    next_obs: Any
    actions: jax.Array
    rewards: jax.Array
    dones: jax.Array
    truncated: jax.Array


@struct.dataclass
class EnvCarry:
    """Where an agent's episodes stand between its updates: env states ``[B]`` (auto-replaying
    its level) and the observations to act on."""

    state: Any
    obs: Any


@dataclasses.dataclass(frozen=True)
class InnerRollout:
    """Plays an inner agent on one level with ``num_envs`` parallel episodes.

    Attributes:
        env: the env (unwrapped); network: the ``InnerAgent``; num_envs, num_steps: B and T.
    """

    env: Any
    network: InnerAgent
    num_envs: int
    num_steps: int

    def start(self, key, level) -> EnvCarry:
        """``num_envs`` fresh episodes on ``level``."""
        env = AutoReplay(self.env)
        levels = jax.tree_util.tree_map(lambda x: jnp.repeat(x[None], self.num_envs, 0), level)
        obs, state = jax.vmap(env.reset_to_level)(jax.random.split(key, self.num_envs), levels)
        return EnvCarry(state, obs)

    def play(self, key, params, carry: EnvCarry) -> tuple[Transitions, EnvCarry]:
        """``num_steps`` steps of the agent's policy from ``carry``. Returns the transitions
        ``[T, B]`` and where the episodes stand after them."""
        env = AutoReplay(self.env)

        def step(carry: EnvCarry, key):
            k_act, k_env = jax.random.split(key)
            logits, _, _ = self.network.apply(params, carry.obs)
            actions = jax.random.categorical(k_act, logits).astype(jnp.int32)
            obs, state, rewards, terminated, truncated, info = jax.vmap(env.step)(
                jax.random.split(k_env, self.num_envs), carry.state, actions
            )
            transition = Transitions(
                obs=carry.obs,
                next_obs=info["final_obs"],
                actions=actions,
                rewards=rewards,
                dones=terminated | truncated,
                truncated=truncated & ~terminated,
            )
            return EnvCarry(state, obs), transition

        end, transitions = jax.lax.scan(step, carry, jax.random.split(key, self.num_steps))
        return transitions, end
