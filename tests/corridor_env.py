"""A new environment added from outside the packages: a 1-D corridor with a goal. Nothing in
``ued/``, ``envs/`` or ``algorithms/`` knows it; registering it is all it takes to train it with
any curriculum whose needs it meets, and to evaluate it with ``ued eval``."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import jax
import jax.numpy as jnp
from flax import struct

from ued import registry
from ued.config import NetworkConfig, PPOConfig, TrainConfig, positive
from ued.env import Environment, EnvSpec


@struct.dataclass
class Level:
    start: jax.Array  # int32[]: the agent's first cell
    goal: jax.Array  # int32[]: the goal cell


@dataclasses.dataclass(frozen=True)
class Corridor(Environment):
    """Walk left (0) or right (1) along ``size`` cells to the goal: reward 1, terminal. Running
    out of time after ``max_steps`` is a truncation."""

    size: int = 8
    max_steps: int = 12
    num_actions: ClassVar[int] = 2
    truncates: ClassVar[bool] = True

    def sample_level(self, key):
        k_start, k_offset = jax.random.split(key)
        start = jax.random.randint(k_start, (), 0, self.size)
        goal = (start + jax.random.randint(k_offset, (), 1, self.size)) % self.size
        return Level(start=start.astype(jnp.int32), goal=goal.astype(jnp.int32))

    def reset_to_level(self, key, level):
        state = {"pos": level.start, "goal": level.goal, "t": jnp.zeros((), jnp.int32)}
        return self._observe(state), state

    def step(self, key, state, action):
        move = jnp.where(jnp.asarray(action) == 1, 1, -1)
        pos = jnp.clip(state["pos"] + move, 0, self.size - 1)
        t = state["t"] + 1
        solved = pos == state["goal"]
        state = {"pos": pos, "goal": state["goal"], "t": t}
        truncated = (t >= self.max_steps) & ~solved
        reward = solved.astype(jnp.float32)
        return self._observe(state), state, reward, solved, truncated, {"solved": solved}

    def dummy_observation(self):
        return self._observe({"pos": jnp.int32(0), "goal": jnp.int32(0)})

    def _observe(self, state):
        return jnp.stack([jax.nn.one_hot(state[k], self.size) for k in ("pos", "goal")])


@dataclasses.dataclass(frozen=True)
class CorridorConfig:
    size: int = 8
    """Cells in the corridor."""
    max_steps: int = 12
    """Time limit (a truncation)."""


def corridor_preset(name: str, algo: str) -> TrainConfig:
    """One small setting for every preset name: a CPU learns it in seconds."""
    return TrainConfig(
        updates=4, updates_per_chunk=2, eval_every=2, checkpoint_every=2,
        eval_suites=("random",), eval_levels=4, env_config=CorridorConfig(),
        network=NetworkConfig(hidden_size=8, head_hidden=8),
        ppo=PPOConfig(num_envs=4, num_steps=8, lr=1e-3, epochs=2, minibatches=2),
    )  # fmt: skip


CORRIDOR = EnvSpec(
    name="corridor",
    Config=CorridorConfig,
    make=lambda config: Corridor(size=config.size, max_steps=config.max_steps),
    preset=corridor_preset,
    validate=lambda config, prefix: positive(config, prefix, "size", "max_steps"),
    success=True,
)


def register() -> None:
    """Add ``--env corridor`` to the registry (once per process)."""
    if "corridor" not in registry.ENVS:
        registry.ENVS.register("corridor", CORRIDOR)


register()  # on import, so `ued --plugins corridor_env train --env corridor` finds it
