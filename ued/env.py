"""The UED environment protocol and the reset wrappers the training loop uses.

An env is a hashable object of pure functions over pytrees (gymnax style, but levels are explicit
data): a curriculum chooses *levels*, the env plays them. Every env in ``envs/`` implements
``UEDEnv``; everything in ``ued/`` is written against it alone.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

import jax
import jax.numpy as jnp
from flax import struct

Level = Any  # a pytree of fixed-shape arrays (e.g. envs.maze.Level)
EnvState = Any
Obs = Any


class UEDEnv(Protocol):
    """What an environment provides to the toolkit.

    ``step`` never resets by itself; the wrappers below add that. ``info["solved"]`` (``bool[]``)
    marks the step that completes the task, for success-based scores and evaluation.
    """

    num_actions: int
    max_steps: int

    def sample_level(self, key: jax.Array) -> Level:
        """One level from the env's default random generator."""

    def reset_to_level(self, key: jax.Array, level: Level) -> tuple[Obs, EnvState]:
        """Start an episode on ``level``; returns ``(obs, state)``."""

    def step(
        self, key: jax.Array, state: EnvState, action: jax.Array
    ) -> tuple[Obs, EnvState, jax.Array, jax.Array, dict[str, jax.Array]]:
        """One transition; returns ``(obs, state, reward f32[], done bool[], info)``."""

    def dummy_observation(self) -> Obs:
        """A zero observation with the right shapes and dtypes."""

    def optimal_return(self, level: Level, gamma: float) -> jax.Array:
        """The oracle's discounted return on a level, where an oracle exists."""


def tree_select(pred: jax.Array, on_true, on_false):
    """``jnp.where(pred, a, b)`` over matching pytrees (``pred`` a scalar ``bool[]``)."""
    return jax.tree_util.tree_map(lambda a, b: jnp.where(pred, a, b), on_true, on_false)


@struct.dataclass
class ReplayState:
    """State of an auto-replayed episode: the env's state and the level it restarts from."""

    env_state: EnvState
    level: Level


@dataclasses.dataclass(frozen=True)
class AutoReplay:
    """On ``done``, restart the *same* level (PLR's replay semantics: a replayed level is played
    for the whole rollout, never swapped for a random one). The observation returned with
    ``done=True`` is the first observation of the next episode."""

    env: Any

    def __getattr__(self, name):
        if name == "env":  # not yet set (copy / unpickling): avoid infinite recursion
            raise AttributeError(name)
        return getattr(self.env, name)

    def reset_to_level(self, key: jax.Array, level: Level) -> tuple[Obs, ReplayState]:
        obs, state = self.env.reset_to_level(key, level)
        return obs, ReplayState(env_state=state, level=level)

    def step(self, key: jax.Array, state: ReplayState, action: jax.Array):
        k_step, k_reset = jax.random.split(key)
        obs, env_state, reward, done, info = self.env.step(k_step, state.env_state, action)
        reset_obs, reset_state = self.env.reset_to_level(k_reset, state.level)
        obs = tree_select(done, reset_obs, obs)
        env_state = tree_select(done, reset_state, env_state)
        return obs, state.replace(env_state=env_state), reward, done, info


@dataclasses.dataclass(frozen=True)
class AutoReset:
    """On ``done``, start a fresh level from ``sample_level`` (``env.sample_level`` by default):
    the classic domain-randomisation reset."""

    env: Any
    sample_level: Any = None

    def __getattr__(self, name):
        if name == "env":  # not yet set (copy / unpickling): avoid infinite recursion
            raise AttributeError(name)
        return getattr(self.env, name)

    def _sample(self, key):
        return (self.sample_level or self.env.sample_level)(key)

    def reset_to_level(self, key: jax.Array, level: Level) -> tuple[Obs, ReplayState]:
        obs, state = self.env.reset_to_level(key, level)
        return obs, ReplayState(env_state=state, level=level)

    def step(self, key: jax.Array, state: ReplayState, action: jax.Array):
        k_step, k_level, k_reset = jax.random.split(key, 3)
        obs, env_state, reward, done, info = self.env.step(k_step, state.env_state, action)
        level = self._sample(k_level)
        reset_obs, reset_state = self.env.reset_to_level(k_reset, level)
        obs = tree_select(done, reset_obs, obs)
        env_state = tree_select(done, reset_state, env_state)
        level = tree_select(done, level, state.level)
        return obs, ReplayState(env_state=env_state, level=level), reward, done, info
