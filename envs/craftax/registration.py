"""The registry entry of ``--env craftax-classic``: settings, presets, holdout suites (fixed world
seeds; the ``random`` suite is the default-generated distribution), ACCEL's tile-swap mutator,
descriptors and the map renderer. There is no success signal, so curricula that need one (SFL,
NCC's learnability) are refused before anything compiles."""

from __future__ import annotations

import dataclasses
import functools
from typing import Literal

import jax

from ued import registry
from ued.config import NetworkConfig, PPOConfig, TrainConfig, require, tiny_test_config
from ued.env import Descriptors, EnvSpec
from ued.errors import ConfigError

from .env import CraftaxEnv
from .levels import descriptors, generate, mutate, render_level


@dataclasses.dataclass(frozen=True)
class CraftaxConfig:
    """Craftax-Classic's settings."""

    max_steps: int = 10_000
    """Episode time limit (Craftax's own is 10,000 steps)."""
    mutation: Literal["full", "restricted"] = "full"
    """ACCEL's tile swaps in the central 16x16: any two tiles (full), or only within a family
    (restricted: stone with ores, grass with trees and sand)."""


def validate(config: CraftaxConfig, prefix: str = "env_config.") -> None:
    """Check the settings; raises ``ConfigError`` naming ``prefix + field``."""
    require(config.max_steps >= 1, f"{prefix}max_steps", f"must be >= 1, got {config.max_steps}")
    require(config.mutation in ("full", "restricted"), f"{prefix}mutation",
            f"must be full or restricted, got {config.mutation!r}")  # fmt: skip


@functools.cache
def _generate_batch():
    return jax.jit(jax.vmap(generate))


@dataclasses.dataclass(frozen=True)
class WorldSeedSuite:
    """A fixed set of generated worlds, the same for every run: world ``i`` comes from
    ``key(2**20 + i)``, keys no training run draws by construction (they split a run key)."""

    default_size: int = 20

    def levels(self, num_levels=None, seed: int = 0):
        """``(["world-0", ...], levels [n])``; ``seed`` is ignored (the set is fixed)."""
        n = num_levels or self.default_size
        keys = jax.vmap(jax.random.key)(2**20 + jax.numpy.arange(n))
        return [f"world-{i}" for i in range(n)], _generate_batch()(keys)

    def env(self, train_env: CraftaxEnv) -> CraftaxEnv:
        """The training env."""
        return train_env


def preset(name: str, algo: str) -> TrainConfig:
    """Presets: ``test`` (tiny: 16-step episodes, 4 envs x 8 steps), ``cpu`` (an MLP student, 32
    envs x 128 steps, 500 updates = 2M env steps, episodes capped at 1,000 steps) and ``paper``
    (64 x 256, 2,000 updates = 33M env steps, Craftax's 10,000-step episodes, LSTM 256)."""
    if name == "test":
        return tiny_test_config("craftax-classic", CraftaxConfig(max_steps=16), ("seeds",))
    if name not in ("cpu", "paper"):
        raise ConfigError(f"preset: unknown preset {name!r}; choose one of test, cpu, paper")
    cpu = name == "cpu"
    ppo = PPOConfig(
        num_envs=32 if cpu else 64, num_steps=128 if cpu else 256, lr=2e-4, epochs=4,
        minibatches=4 if cpu else 8, gamma=0.99, gae_lambda=0.8, ent_coef=0.01,
    )  # fmt: skip
    return TrainConfig(
        env="craftax-classic", preset=name, updates=500 if cpu else 2000,
        updates_per_chunk=25 if cpu else 50, eval_every=100 if cpu else 250,
        checkpoint_every=100 if cpu else 250, eval_suites=("seeds",),
        eval_attempts=2 if cpu else 4, eval_levels=20,
        env_config=CraftaxConfig(max_steps=1000 if cpu else 10_000),
        network=NetworkConfig(cell="none" if cpu else "lstm", hidden_size=256, head_hidden=256),
        ppo=ppo,
    )  # fmt: skip


CRAFTAX_CLASSIC = registry.ENVS.register(
    "craftax-classic",
    EnvSpec(
        name="craftax-classic",
        Config=CraftaxConfig,
        make=lambda config: CraftaxEnv(max_steps=config.max_steps),
        preset=preset,
        validate=validate,
        mutator=lambda config, num_edits: functools.partial(
            mutate, num_edits=num_edits, restricted=config.mutation == "restricted"
        ),
        render_level=render_level,
        suites={"seeds": WorldSeedSuite()},
        descriptors=Descriptors(descriptors),
        slow_generation=True,
    ),
)
"""``--env craftax-classic``: Craftax-Classic with symbolic observations."""

__all__ = ["CRAFTAX_CLASSIC", "CraftaxConfig", "WorldSeedSuite"]
