"""Registry entries of the gymnax classic-control tasks: ``--env cartpole``, ``--env acrobot``,
``--env mountain-car`` and ``--env pendulum``, each with its level space, presets, holdout
suites (gymnax's defaults and a log-spaced grid over two parameters), ACCEL mutator and
descriptors (the parameters)."""

from __future__ import annotations

import dataclasses
import functools

import jax

from ued import registry
from ued.config import NetworkConfig, PPOConfig, TrainConfig, positive, require, tiny_test_config
from ued.env import Descriptors, EnvSpec
from ued.errors import ConfigError

from .env import ControlEnv
from .levels import SPACES, ControlLevel, LevelSpace


@dataclasses.dataclass(frozen=True)
class ControlConfig:
    """A classic-control task's settings."""

    max_steps: int = 0
    """Episode time limit (0: gymnax's, e.g. 500 for CartPole)."""
    mutation_scale: float = 0.1
    """ACCEL: standard deviation of the log-normal factor of one edit."""


def validate(config: ControlConfig, prefix: str = "env_config.") -> None:
    """Check the settings; raises ``ConfigError`` naming ``prefix + field``."""
    require(config.max_steps >= 0, f"{prefix}max_steps", f"must be >= 0, got {config.max_steps}")
    positive(config, prefix, "mutation_scale")


@dataclasses.dataclass(frozen=True)
class DefaultSuite:
    """gymnax's default parameters: one level."""

    space: LevelSpace

    def levels(self, num_levels=None, seed: int = 0):
        """``(["default"], the default level [1])``."""
        level = self.space.default_level()
        return ["default"], jax.tree_util.tree_map(lambda x: x[None], level)

    def env(self, train_env: ControlEnv) -> ControlEnv:
        """The training env."""
        return train_env


@dataclasses.dataclass(frozen=True)
class GridSuite:
    """A log-spaced grid over the space's grid parameters (the others at their defaults):
    ``num_levels`` levels rounded to a square for two (default 10 x 10, JaxUED's), a line of
    ``num_levels`` for one (default 10)."""

    space: LevelSpace

    def levels(self, num_levels=None, seed: int = 0):
        """``(names, levels [n * n])``, x varying fastest."""
        root = 1 / len(self.space.grid)
        per_axis = 10 if num_levels is None else max(2, round(num_levels**root))
        return self.space.grid_levels(per_axis)

    def env(self, train_env: ControlEnv) -> ControlEnv:
        """The training env."""
        return train_env


def descriptors(space: LevelSpace, env: ControlEnv, levels: ControlLevel) -> dict:
    """Each parameter of batched levels (``f32[N]`` per name)."""
    return {name: levels.values[..., i] for i, name in enumerate(space.names)}


def mutator(space: LevelSpace, config: ControlConfig, num_edits: int):
    """ACCEL's edit function ``(key, level) -> level``."""
    return functools.partial(space.mutate, num_edits=num_edits, scale=config.mutation_scale)


def preset(env_name: str, name: str, algo: str) -> TrainConfig:
    """Presets: ``test`` (tiny, 32-step episodes), ``cpu`` (an MLP student, 32 envs x 128 steps,
    1,000 updates = 4.1M env steps, under a minute of training on 2 CPU cores; DR reaches
    CartPole's maximum return of 500 on the default parameters, 3 seeds) and ``paper``
    (64 x 256, 2,000 updates = 33M env steps). Adam at lr 1e-3, annealed."""
    if name == "test":
        return tiny_test_config(env_name, ControlConfig(max_steps=32), ("default", "random"))
    if name not in ("cpu", "paper"):
        raise ConfigError(f"preset: unknown preset {name!r}; choose one of test, cpu, paper")
    cpu = name == "cpu"
    ppo = PPOConfig(  # lr 1e-3: 3e-4 left DR's CartPole at return 312 ± 42 (default params)
        num_envs=32 if cpu else 64, num_steps=128 if cpu else 256, lr=1e-3, epochs=4,
        minibatches=4, gamma=0.99, gae_lambda=0.95, ent_coef=0.01,
    )  # fmt: skip
    return TrainConfig(
        env=env_name, preset=name, updates=1000 if cpu else 2000,
        updates_per_chunk=25 if cpu else 50, eval_every=100 if cpu else 250,
        checkpoint_every=100 if cpu else 250, eval_suites=("default", "grid", "random"),
        eval_attempts=4 if cpu else 10, eval_levels=100, env_config=ControlConfig(),
        network=NetworkConfig(cell="none", hidden_size=64, head_hidden=64), ppo=ppo,
    )  # fmt: skip


def gymnax_spec(env_name: str, space: LevelSpace, preset) -> EnvSpec:
    """The registry entry of a gymnax task whose levels are ``space``'s parameters, with
    ``preset(env_name, preset, algo) -> TrainConfig``: a success signal where the space has one;
    a mutator, a grid suite and the parameters as descriptors where it has parameters (a grid
    where it names grid parameters); gymnax's defaults as a suite always."""
    suites = {"default": DefaultSuite(space)}
    if space.grid:
        suites["grid"] = GridSuite(space)
    varied = bool(space.parameters)
    return EnvSpec(
        name=env_name,
        Config=ControlConfig,
        make=lambda config: ControlEnv(space, config.max_steps),
        preset=functools.partial(preset, env_name),
        validate=validate,
        success=space.success is not None,
        mutator=functools.partial(mutator, space) if varied else None,
        suites=suites,
        descriptors=Descriptors(functools.partial(descriptors, space)) if varied else None,
    )


CONTROL = {
    name: registry.ENVS.register(name, gymnax_spec(name, space, preset))
    for name, space in SPACES.items()
}
"""``--env cartpole``, ``--env acrobot``, ``--env mountain-car``, ``--env pendulum``: gymnax tasks
whose levels are their physical parameters."""

__all__ = ["CONTROL", "ControlConfig", "DefaultSuite", "GridSuite", "gymnax_spec"]
