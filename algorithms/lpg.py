"""LPG's own level curriculum (Oh et al. 2020): domain randomisation over the env's levels.

``ued meta-train --algo lpg`` meta-trains the rule on agents that each start on a fresh level
of the env's distribution (GROOVE's ``--env_mode`` without a buffer). A fixed finite level set,
drawn once and sampled uniformly (``--curriculum.fixed-levels N``), is the baseline of a
curriculum over a set the size of a buffer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax

from ued import registry
from ued.config import require
from ued.meta.curriculum import MetaAlgorithmSpec, MetaCurriculum


@dataclasses.dataclass(frozen=True)
class Config:
    """Where LPG's agents get their levels."""

    fixed_levels: int = 0
    """0: a fresh level of the distribution for every agent (LPG); N > 0: a set of N levels
    drawn once, then sampled uniformly (a baseline; meta-gradient backend only)."""


@dataclasses.dataclass(frozen=True)
class RandomLevels(MetaCurriculum):
    """Domain randomisation: every agent starts on a fresh level of the distribution."""

    level_source: Callable[[jax.Array], Any]

    def init(self, key) -> dict:
        """No state."""
        return {}

    def draw(self, state, key, mask):
        """Fresh levels ``[N]``."""
        return state, jax.vmap(self.level_source)(jax.random.split(key, mask.shape[0]))


@dataclasses.dataclass(frozen=True)
class FixedLevels(MetaCurriculum):
    """A finite level set, drawn once from the distribution (``num_levels``), then sampled
    uniformly."""

    level_source: Callable[[jax.Array], Any]
    num_levels: int

    def init(self, key) -> dict:
        """``{"levels": levels [num_levels]}``."""
        return {"levels": jax.vmap(self.level_source)(jax.random.split(key, self.num_levels))}

    def draw(self, state, key, mask):
        """Levels ``[N]`` drawn uniformly from the set."""
        index = jax.random.randint(key, mask.shape, 0, self.num_levels)
        return state, jax.tree_util.tree_map(lambda x: x[index], state["levels"])


def make(program) -> MetaCurriculum:
    """The curriculum of ``program.config.curriculum``."""
    n = program.config.curriculum.fixed_levels
    if n:
        return FixedLevels(program.env.sample_level, n)
    return RandomLevels(program.env.sample_level)


def validate(config) -> None:
    """A fixed set needs the meta-gradient backend (ES members draw fresh levels)."""
    n = config.curriculum.fixed_levels
    require(n >= 0, "curriculum.fixed_levels", f"must be >= 0 (0: fresh levels), got {n}")
    require(
        n == 0 or config.backend == "gradient",
        "curriculum.fixed_levels",
        "a fixed level set needs the meta-gradient backend (ES draws fresh random levels)",
    )


SPEC = registry.META_ALGORITHMS.register(
    "lpg",
    MetaAlgorithmSpec(
        name="lpg",
        Config=Config,
        preset=lambda config, name: Config(),
        make=make,
        validate=validate,
        summary="LPG on fresh random levels (or a fixed level set)",
    ),
)
