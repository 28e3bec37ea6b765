"""Domain randomisation: every update trains on a fresh batch of random levels.

The baseline of the UED literature (PAIRED, PLR, ACCEL, SFL, NCC all compare against it). Levels
come from the env's random generator; each is replayed until the rollout ends.
"""

from __future__ import annotations

import dataclasses

import jax
from flax import struct

from ued.config import TrainConfig, base_preset
from ued.curriculum import NEW, RolloutResult, Student, UpdatePlan


@dataclasses.dataclass(frozen=True)
class Config:
    """Domain randomisation has no settings of its own: the level distribution is the env's
    generator (``maze.n_walls``, ``maze.wall_sampling``, ``maze.solvable_only``)."""


@struct.dataclass
class State:
    """DR keeps no state; the empty pytree keeps the loop uniform."""


@dataclasses.dataclass(frozen=True)
class DomainRandomisation:
    """The DR curriculum over ``env.sample_level``."""

    env: object
    num_envs: int

    def init(self, key: jax.Array) -> State:
        return State()

    def levels_for_update(self, key, state: State, student: Student, update):
        levels = jax.vmap(self.env.sample_level)(jax.random.split(key, self.num_envs))
        return levels, UpdatePlan.train_on(NEW), state

    def after_rollout(self, key, state: State, result: RolloutResult, plan, student, update):
        return state, {}


def preset(name: str) -> TrainConfig:
    """DR with the shared env / student settings of preset ``name``."""
    return dataclasses.replace(base_preset(name), algo="dr", curriculum=Config())


def make(env, config: TrainConfig) -> DomainRandomisation:
    """Build the curriculum for a validated config."""
    return DomainRandomisation(env=env, num_envs=config.ppo.num_envs)


def validate(config: TrainConfig) -> None:
    """DR has nothing of its own to check."""
