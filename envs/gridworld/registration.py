"""The gridworld's settings, presets, suites and registry entries: ``--env gridworld`` (tabular,
with the exact DP oracle) and ``--env gridworld-rand`` (occupancy-grid observations, objects
respawn in random cells; no oracle)."""

from __future__ import annotations

import dataclasses
import functools

import flax.linen as nn
import jax.numpy as jnp

from ued import registry
from ued.config import ConfigError, NetworkConfig, PPOConfig, TrainConfig, positive, require
from ued.env import Descriptors, EnvSpec
from ued.networks import FlattenEncoder

from .baselines import tuned_a2c
from .distributions import DISTRIBUTIONS
from .env import Gridworld
from .layouts import batch, load_layouts, lpg_layouts, maze_layouts
from .level import object_count
from .oracle import optimal_return
from .render import render_level

SUITE_SHAPE = (13, 5, 5)
"""Static size, object slots and types the fixed suites need (LPG's grids as GROOVE builds them
are up to 13x13 with up to 5 objects, as are GROOVE's ``all`` levels): 2**5 object masks keep
tabular states and the exact oracle 8x smaller than 8 slots would."""


@dataclasses.dataclass(frozen=True)
class GridworldConfig:
    """The gridworld env and its random level distribution."""

    size: int = 13
    """Static grid side; smaller levels are padded with walls (13 fits every fixed suite)."""
    max_objects: int = 5
    """Object slots per level (K; tabular observations have size**2 * 2**K states, and the
    oracle's work grows as 2**K)."""
    num_types: int = 5
    """Object types (T)."""
    distribution: str = "all"
    """Random level distribution (GROOVE's names): all, all_shortlife, all_randlife,
    all_vrandlife, small, medium, large or debug."""
    max_steps: int = 2000
    """The longest episode a level may have (LPG's longest is 2,000 steps)."""
    embedding: int = 32
    """Tabular observations: width of the state embedding (a linear layer on the one-hot)."""
    lifetime: int = 0
    """The inner agents' lifetime in updates, the same for every level (0: the distribution's:
    1,000 for all, 250 for all_shortlife and small, log-uniform 10-250 for all_vrandlife)."""


def validate(config: GridworldConfig, prefix: str = "env_config.") -> None:
    """Check the settings; raises ``ConfigError`` naming ``prefix + field``."""
    positive(config, prefix, "size", "max_objects", "num_types", "max_steps", "embedding")
    require(config.lifetime >= 0, f"{prefix}lifetime", f"must be >= 0, got {config.lifetime}")
    require(
        config.distribution in DISTRIBUTIONS,
        f"{prefix}distribution",
        f"unknown {config.distribution!r}; choose one of {sorted(DISTRIBUTIONS)}",
    )
    require(
        config.max_objects <= 12,
        f"{prefix}max_objects",
        f"at most 12 (tabular states grow as 2**max_objects), got {config.max_objects}",
    )
    distribution = DISTRIBUTIONS[config.distribution]
    require(
        distribution.max_size <= config.size,
        f"{prefix}size",
        f"distribution {config.distribution!r} draws grids up to {distribution.max_size}, "
        f"larger than size {config.size}",
    )
    for field in ("max_objects", "num_types"):
        require(
            distribution.max_objects <= getattr(config, field),
            f"{prefix}{field}",
            f"distribution {config.distribution!r} has up to {distribution.max_objects} objects "
            f"(object i of type i), more than {field} {getattr(config, field)}",
        )
    require(
        distribution.max_steps <= config.max_steps,
        f"{prefix}max_steps",
        f"distribution {config.distribution!r} draws episodes up to {distribution.max_steps} "
        f"steps, longer than max_steps {config.max_steps}",
    )


def make(config: GridworldConfig, tabular: bool) -> Gridworld:
    """The training gridworld for the given settings."""
    return Gridworld(
        size=config.size,
        max_objects=config.max_objects,
        num_types=config.num_types,
        tabular=tabular,
        max_steps=config.max_steps,
        distribution=distribution(config),
    )


def distribution(config: GridworldConfig):
    """The random level distribution of the settings (with their lifetime, if set)."""
    chosen = DISTRIBUTIONS[config.distribution]
    return chosen.with_lifetime(config.lifetime) if config.lifetime else chosen


class TabularEncoder(nn.Module):
    """A tabular state index ``int32[T, B]`` -> ``f32[T, B, features]``: a linear layer on its
    one-hot, computed as an embedding lookup."""

    num_states: int
    features: int

    @nn.compact
    def __call__(self, obs):
        return nn.Embed(self.num_states, self.features)(obs)


def encoder(config: GridworldConfig, tabular: bool):
    """The student's observation encoder: an embedding of tabular states, else flatten."""
    if not tabular:
        return FlattenEncoder()
    return TabularEncoder(make(config, tabular=True).num_states, config.embedding)


def descriptors(env: Gridworld, levels) -> dict:
    """Per-level statistics for curriculum diagnostics (batched levels -> ``f32[N]``): the
    grid's area (its bounding box of free cells), free cells, objects, episode length, the best
    object reward and the agent's lifetime."""
    free = ~levels.wall_map
    height = jnp.sum(jnp.any(free, axis=-1), axis=-1)
    width = jnp.sum(jnp.any(free, axis=-2), axis=-1)
    return {
        "grid_area": (height * width).astype(jnp.float32),
        "free_cells": jnp.sum(free, axis=(-2, -1)).astype(jnp.float32),
        "objects": object_count(levels).astype(jnp.float32),
        "episode_length": levels.max_steps.astype(jnp.float32),
        "best_reward": jnp.max(
            jnp.where(levels.object_type >= 0, jnp.take_along_axis(
                levels.reward, jnp.maximum(levels.object_type, 0), axis=-1), -jnp.inf),
            axis=-1,
        ),
        "lifetime": levels.lifetime.astype(jnp.float32),
    }  # fmt: skip


@dataclasses.dataclass(frozen=True)
class FixedSuite:
    """A fixed set of layouts played in a gridworld of ``SUITE_SHAPE``."""

    name: str
    layouts: object  # () -> list[Layout]

    def levels(self, num_levels=None, seed: int = 0):
        """``(names, batched levels)`` (``num_levels`` is ignored: the set is fixed)."""
        layouts = self.layouts()
        return [f"{self.name}:{layout.name}" for layout in layouts], batch(layouts, *SUITE_SHAPE)

    def env(self, train_env: Gridworld) -> Gridworld:
        """The training env at the suite's static shape (an agent's observations depend on it:
        evaluation refuses a suite whose observations differ from the training env's). Tabular
        observations are state indices whose meaning depends on the shape: refused here."""
        size, slots, types = SUITE_SHAPE
        if train_env.tabular and (train_env.size, train_env.max_objects) != (size, slots):
            raise ConfigError(
                f"suite: {self.name!r} needs a tabular gridworld with size {size} and "
                f"max_objects {slots} (tabular states are indices into that grid); the training "
                f"env has size {train_env.size} and max_objects {train_env.max_objects}"
            )
        return dataclasses.replace(
            train_env,
            size=size,
            max_objects=slots,
            num_types=types,
            max_steps=max(train_env.max_steps, 2000),
        )


def _classic_mazes():
    from envs.maze.suites import classic_text

    return maze_layouts(classic_text())


SUITES = {
    "lpg-grids": FixedSuite("lpg-grids", lpg_layouts),
    "mazes": FixedSuite("mazes", _classic_mazes),
}
"""LPG's five fixed gridworlds and the eight classic holdout mazes as gridworlds."""


def load_level_file(path, train_env: Gridworld):
    """``(names, levels, eval env)`` of a layout file, padded to the training env's shape."""
    from ued.errors import LevelFormatError

    layouts = load_layouts(path, max_side=train_env.size)
    shape = (train_env.size, train_env.max_objects, train_env.num_types)
    try:
        levels = batch(layouts, *shape)
    except ValueError as error:
        raise LevelFormatError(f"{path}: {error}") from None
    return [layout.name for layout in layouts], levels, train_env


META_DISTRIBUTIONS = {"paper": "all_shortlife", "cpu": "small", "test": "debug"}
"""The level distribution meta-training (``lpg``, ``groove``) draws at each preset: GROOVE's
``all_shortlife`` at the reference's scale, the small grids on a CPU."""


def preset(name: str, algo: str) -> TrainConfig:
    """The gridworld's UED-training presets (``paper`` and ``cpu``: GROOVE's ``all``
    distribution on 13x13; ``test``: tiny debug levels, on the same static shape so that the
    fixed suites can be played); for a meta-algorithm, its distribution (``META_DISTRIBUTIONS``)."""
    config = _training_preset(name)
    if algo in registry.META_ALGORITHMS:
        env_config = dataclasses.replace(config.env_config, distribution=META_DISTRIBUTIONS[name])
        config = dataclasses.replace(config, env_config=env_config)
    return config


def _training_preset(name: str) -> TrainConfig:
    if name == "test":
        return TrainConfig(
            env="gridworld",
            preset="test",
            updates=4,
            updates_per_chunk=2,
            eval_every=2,
            checkpoint_every=2,
            eval_suites=("random",),
            eval_attempts=1,
            eval_levels=2,
            env_config=GridworldConfig(distribution="debug", max_steps=16, embedding=8),
            network=NetworkConfig(hidden_size=8, head_hidden=8),
            ppo=PPOConfig(num_envs=4, num_steps=8, lr=1e-3, epochs=2, minibatches=2),
        )
    if name not in ("cpu", "paper"):
        raise ConfigError(f"preset: unknown preset {name!r}; choose one of test, cpu, paper")
    cpu = name == "cpu"
    return TrainConfig(
        env="gridworld",
        preset=name,
        updates=3000 if cpu else 30_000,
        updates_per_chunk=25 if cpu else 50,
        eval_every=250 if cpu else 500,
        checkpoint_every=250 if cpu else 1000,
        eval_suites=("lpg-grids", "random"),
        eval_attempts=4 if cpu else 10,
        eval_levels=100,
        env_config=GridworldConfig(),
        network=NetworkConfig(hidden_size=64) if cpu else NetworkConfig(),
        ppo=PPOConfig(num_envs=32, num_steps=128, lr=5e-4, epochs=3, minibatches=2, ent_coef=1e-2)
        if cpu
        else PPOConfig(),
    )


def _spec(name: str, tabular: bool) -> EnvSpec:
    def family_preset(preset_name, algo):
        return dataclasses.replace(preset(preset_name, algo), env=name)

    return EnvSpec(
        name=name,
        Config=GridworldConfig,
        make=functools.partial(make, tabular=tabular),
        preset=family_preset,
        validate=validate,
        oracle=optimal_return if tabular else None,
        render_level=render_level,
        load_level_file=load_level_file,
        suites=SUITES,
        descriptors=Descriptors(descriptors),
        encoder=functools.partial(encoder, tabular=tabular),
        tuned_a2c=tuned_a2c,
        lifetimes=True,
    )


GRIDWORLD = registry.ENVS.register("gridworld", _spec("gridworld", tabular=True))
"""``--env gridworld``: tabular observations, objects respawn in place, exact oracle."""
GRIDWORLD_RAND = registry.ENVS.register("gridworld-rand", _spec("gridworld-rand", tabular=False))
"""``--env gridworld-rand``: occupancy-grid observations, objects respawn in random cells (LPG's
``rand_*`` twins)."""
