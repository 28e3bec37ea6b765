"""A gymnax classic-control task as a UED environment whose levels are its physical parameters.

The env wraps gymnax's ``reset_env`` / ``step_env`` (no auto-reset: ``ued.env.AutoReplay`` replays
the level) and keeps the level in its state, so each lane of a batch plays its own parameters.
Pendulum's actions are continuous (``action_dim`` 1: a torque, clipped by gymnax).
Steps return gymnax 1.0's six values: ``terminated`` is the task's own end (the pole fell, the
goal was reached) and ``truncated`` the time limit, which GAE bootstraps through. With a success
signal, ``info["solved"]`` marks the step that solves an episode: reaching the time limit
without terminating (CartPole) or terminating (reaching the goal); Pendulum has none.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import gymnax
import jax
import jax.numpy as jnp
from flax import struct

from ued.env import Environment

from .levels import ControlLevel, LevelSpace


@struct.dataclass
class ControlState:
    """The gymnax env state and the level being played."""

    env_state: Any
    level: ControlLevel


def _strong(tree):
    """``tree`` without weak types (gymnax starts its step counter as a Python int)."""
    return jax.tree_util.tree_map(lambda x: jax.lax.convert_element_type(x, jnp.asarray(x).dtype),
                                  tree)  # fmt: skip


@dataclasses.dataclass(frozen=True, eq=False)
class ControlEnv(Environment):
    """A gymnax task whose levels are ``ControlLevel`` parameter vectors of ``space``.

    Attributes:
        space: the ``LevelSpace``. max_steps: the time limit (gymnax's default if 0).
    """

    space: LevelSpace
    max_steps: int = 0

    def __post_init__(self):
        env, params = gymnax.make(self.space.env_id)
        limit = self.max_steps or int(params.max_steps_in_episode)
        object.__setattr__(self, "max_steps", limit)
        object.__setattr__(self, "_env", env)
        object.__setattr__(self, "_params", params.replace(max_steps_in_episode=limit))
        box = env.action_space(params)
        continuous = not hasattr(box, "n")  # a Box (Pendulum's torque), not Discrete
        object.__setattr__(self, "action_dim", int(box.shape[0]) if continuous else 0)
        object.__setattr__(self, "num_actions", 0 if continuous else int(env.num_actions))

    truncates = True

    def sample_level(self, key: jax.Array) -> ControlLevel:
        """A level with log-uniform parameters over the space's ranges."""
        return self.space.sample(key)

    def params(self, level: ControlLevel):
        """gymnax ``EnvParams`` of ``level`` (derived fields recomputed)."""
        return self.space.to_params(self._params, level)

    def reset_to_level(self, key: jax.Array, level: ControlLevel):
        """Start an episode with ``level``'s parameters."""
        obs, env_state = self._env.reset_env(key, self.params(level))
        return obs.astype(jnp.float32), ControlState(_strong(env_state), level)

    def step(self, key: jax.Array, state: ControlState, action):
        """One gymnax transition with the state's level."""
        params = self.params(state.level)
        action = jnp.asarray(action, jnp.float32 if self.action_dim else jnp.int32)
        obs, env_state, reward, terminated, _ = self._env.step_env(
            key, state.env_state, action, params
        )
        terminated = jnp.asarray(terminated, jnp.bool_)
        truncated = jnp.asarray(self._env.is_truncated(env_state, params), jnp.bool_) & ~terminated
        info = {}
        if self.space.success is not None:
            info["solved"] = truncated if self.space.success == "survive" else terminated
        return (
            obs.astype(jnp.float32),
            ControlState(_strong(env_state), state.level),
            jnp.asarray(reward, jnp.float32),
            terminated,
            truncated,
            info,
        )

    def dummy_observation(self) -> jax.Array:
        """A zero observation."""
        shape = self._env.observation_space(self._params).shape
        return jnp.zeros(shape, jnp.float32)
