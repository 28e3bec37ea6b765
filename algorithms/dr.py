"""Domain randomisation: the student trains on fresh random levels from the env's generator.

The baseline of the UED literature (PAIRED, PLR, ACCEL, SFL, NCC all compare against it), in two
forms (``--curriculum.resample``):

* ``update``: each update draws a fresh batch of levels; every env replays its level until the
  rollout ends, and each rollout starts from a reset with a zero recurrent state.
* ``episode`` (JaxUED's and minimax's DR): an env whose episode ends starts a fresh random level
  at once, and env states and recurrent states carry over from one update to the next, so a
  rollout sees many more distinct levels. The ``paper`` preset uses it, so DR compares with
  published numbers; ``cpu`` and ``test`` use ``update`` (the CPU studies in docs/studies/).
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import jax
from flax import struct

from ued import registry
from ued.config import TrainConfig, require
from ued.curriculum import NEW, AlgorithmSpec, Curriculum, RolloutResult, Student, UpdatePlan


@dataclasses.dataclass(frozen=True)
class Config:
    """Domain randomisation: the level distribution is the env's generator (e.g.
    ``env_config.n_walls``); the only setting is when levels are drawn."""

    resample: Literal["update", "episode"] = "update"
    """update: fresh levels every update, replayed within the rollout, rollouts from a reset;
    episode: a fresh level at every episode end, env and recurrent state carried across
    updates (JaxUED / minimax)."""


@struct.dataclass
class State:
    """DR keeps no state; the empty pytree keeps the loop uniform."""


@dataclasses.dataclass(frozen=True)
class DomainRandomisation(Curriculum):
    """The DR curriculum over ``env.sample_level``."""

    env: object
    num_envs: int
    resample: str = "update"

    @property
    def continuing(self) -> bool:
        """Per-episode resampling continues rollouts across updates."""
        return self.resample == "episode"

    def init(self, key: jax.Array) -> State:
        return State()

    def next_level(self, key: jax.Array):
        """A fresh random level for an env whose episode ended."""
        return self.env.sample_level(key)

    def levels_for_update(self, key, state: State, student: Student, update):
        plan = UpdatePlan.train_on(NEW)
        if self.continuing:
            return None, plan, state
        levels = jax.vmap(self.env.sample_level)(jax.random.split(key, self.num_envs))
        return levels, plan, state

    def after_rollout(self, key, state: State, result: RolloutResult, plan, student, update):
        return state, {}


def preset(base: TrainConfig, name: str) -> TrainConfig:
    """DR on the env family's preset ``name``; per-episode levels at ``paper`` scale, unless the
    env's level generation is too slow for that (``EnvSpec.slow_generation``)."""
    slow = registry.ENVS.get(base.env).slow_generation
    # minimax's DR draws a new level at every episode end, as the paper preset does; dcd's maze
    # DR (use_plr with replay 0) one per env and update, replayed until the rollout ends.
    resample = "episode" if name in ("paper", "minimax") and not slow else "update"
    return dataclasses.replace(base, curriculum=Config(resample=resample))


def make(env, spec, config: TrainConfig) -> DomainRandomisation:
    """Build the curriculum for a validated config."""
    return DomainRandomisation(
        env=env, num_envs=config.ppo.num_envs, resample=config.curriculum.resample
    )


def validate(config: TrainConfig) -> None:
    """Check ``resample``."""
    resample = config.curriculum.resample
    require(
        resample in ("update", "episode"),
        "curriculum.resample",
        f"must be update or episode, got {resample!r}",
    )
    require(
        resample == "update" or not registry.ENVS.get(config.env).slow_generation,
        "curriculum.resample",
        f"episode draws a level whenever an episode ends, inside the step, and {config.env}'s "
        "level generation is too slow for that: use update",
    )


SPEC = registry.ALGORITHMS.register(
    "dr",
    AlgorithmSpec(
        "dr",
        Config,
        preset,
        make,
        validate,
        summary="domain randomisation: fresh random levels every update (or every episode)",
        presets=("test", "cpu", "paper", "minimax", "dcd"),
    ),
)
