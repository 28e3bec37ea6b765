"""Random maze generation (the domain-randomisation distribution of the UED literature)."""

from __future__ import annotations

import dataclasses
from typing import Literal

import jax
import jax.numpy as jnp

from .level import Level
from .oracle import is_solvable

WALL_SAMPLING = ("with_replacement", "without_replacement")


def sample_cell(key: jax.Array, allowed: jax.Array) -> jax.Array:
    """A uniformly random index among the True entries of ``allowed`` (``bool[N]``), ``int32[]``.

    Draws one integer r below the number of allowed entries and returns the r-th of them (a
    cumulative sum): one random number instead of N Gumbel draws, which made per-episode level
    generation (JaxUED's DR) cost 5% of a paper-config update. If nothing is allowed it returns
    0: callers guarantee a free cell exists (``RandomMazeGenerator`` validates ``n_walls``).
    """
    count = jnp.sum(allowed, dtype=jnp.int32)
    rank = jax.random.randint(key, (), 0, jnp.maximum(count, 1))
    position = jnp.cumsum(allowed, dtype=jnp.int32) - 1
    return jnp.argmax(allowed & (position == rank)).astype(jnp.int32)


def index_to_pos(index: jax.Array, width: int) -> jax.Array:
    """Flat cell index -> (x, y) as ``int32[2]``."""
    return jnp.stack([index % width, index // width]).astype(jnp.int32)


@dataclasses.dataclass(frozen=True)
class RandomMazeGenerator:
    """Uniformly random walls, then the goal and the agent (random direction) on distinct free
    cells.

    Args:
        height: grid height.
        width: grid width.
        n_walls: number of wall draws (25 on 13x13 in PAIRED/PLR/ACCEL; 60 in SFL/NCC).
        wall_sampling: ``with_replacement`` draws ``n_walls`` cells independently, as the reference
            implementations do, so some draws coincide (25 draws give 18-25 walls, ~23 on average);
            ``without_replacement`` places exactly ``n_walls`` walls.
        solvable_only: if set, draw ``max_tries`` candidates and return the first solvable one
            (bounded and jittable; if none is solvable, the last candidate is returned).
        max_tries: candidates per level when ``solvable_only``.
    """

    height: int = 13
    width: int = 13
    n_walls: int = 25
    wall_sampling: Literal["with_replacement", "without_replacement"] = "with_replacement"
    solvable_only: bool = False
    max_tries: int = 16

    def __post_init__(self):
        if self.wall_sampling not in WALL_SAMPLING:
            raise ValueError(
                f"wall_sampling must be one of {WALL_SAMPLING}, got {self.wall_sampling!r}"
            )
        if not 0 <= self.n_walls <= self.height * self.width - 2:
            raise ValueError(
                f"n_walls must be in [0, height*width - 2] = [0, {self.height * self.width - 2}] "
                f"so that the agent and the goal fit, got {self.n_walls}"
            )
        if self.max_tries < 1:
            raise ValueError(f"max_tries must be >= 1, got {self.max_tries}")

    def sample_unfiltered(self, key: jax.Array) -> Level:
        """One random level, solvable or not."""
        n_cells = self.height * self.width
        k_walls, k_goal, k_agent, k_dir = jax.random.split(key, 4)
        if self.wall_sampling == "with_replacement":
            cells = jax.random.randint(k_walls, (self.n_walls,), 0, n_cells)
        else:
            cells = jax.random.permutation(k_walls, n_cells)[: self.n_walls]
        walls = jnp.zeros(n_cells, jnp.bool_).at[cells].set(True)
        goal = sample_cell(k_goal, ~walls)
        agent = sample_cell(k_agent, ~walls & (jnp.arange(n_cells) != goal))
        return Level(
            wall_map=walls.reshape(self.height, self.width),
            agent_pos=index_to_pos(agent, self.width),
            agent_dir=jax.random.randint(k_dir, (), 0, 4, dtype=jnp.int32),
            goal_pos=index_to_pos(goal, self.width),
        )

    def __call__(self, key: jax.Array) -> Level:
        """One level (``vmap`` over keys for a batch)."""
        if not self.solvable_only:
            return self.sample_unfiltered(key)
        candidates = jax.vmap(self.sample_unfiltered)(jax.random.split(key, self.max_tries))
        solvable = jax.vmap(is_solvable)(candidates)
        # First solvable candidate; the last one if none is.
        pick = jnp.where(jnp.any(solvable), jnp.argmax(solvable), self.max_tries - 1)
        return jax.tree_util.tree_map(lambda x: x[pick], candidates)
