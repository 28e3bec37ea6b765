"""The maze level: a pytree of fixed-shape, strongly typed arrays.

Coordinates are (x, y) with x the column and y the row (top row y = 0). Directions:
0 = +x (right), 1 = +y (down), 2 = -x (left), 3 = -y (up).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from ued.hashing import pytree_hash

# (dx, dy) of each agent direction.
DIRECTIONS = np.array([[1, 0], [0, 1], [-1, 0], [0, -1]], dtype=np.int32)


@struct.dataclass
class Level:
    """One maze level (add a leading axis for a batch).

    Attributes:
        wall_map: ``bool[H, W]``; True where there is a wall. Levels smaller than the env's static
            size are padded with walls.
        agent_pos: ``int32[2]``, the agent's start cell as (x, y).
        agent_dir: ``int32[]``, the agent's start direction in 0..3.
        goal_pos: ``int32[2]``, the goal cell as (x, y).
    """

    wall_map: jax.Array
    agent_pos: jax.Array
    agent_dir: jax.Array
    goal_pos: jax.Array

    @property
    def height(self) -> int:
        return self.wall_map.shape[-2]

    @property
    def width(self) -> int:
        return self.wall_map.shape[-1]


def make_level(wall_map, agent_pos, agent_dir, goal_pos) -> Level:
    """Build a level with the canonical dtypes (bool walls, int32 positions and direction).

    Takes array-likes (NumPy, JAX or nested lists; batched or not); returns a ``Level``.
    """
    return Level(
        wall_map=jnp.asarray(wall_map, dtype=jnp.bool_),
        agent_pos=jnp.asarray(agent_pos, dtype=jnp.int32),
        agent_dir=jnp.asarray(agent_dir, dtype=jnp.int32),
        goal_pos=jnp.asarray(goal_pos, dtype=jnp.int32),
    )


def _cell(wall_map: jax.Array, pos: jax.Array) -> jax.Array:
    h, w = wall_map.shape
    return wall_map[jnp.clip(pos[1], 0, h - 1), jnp.clip(pos[0], 0, w - 1)]


def _inside(pos: jax.Array, height: int, width: int) -> jax.Array:
    return (pos[0] >= 0) & (pos[0] < width) & (pos[1] >= 0) & (pos[1] < height)


def is_valid(level: Level) -> jax.Array:
    """Whether a single level is well formed: agent and goal inside the grid, on free cells,
    distinct, and the direction in 0..3. Returns ``bool[]``; ``vmap`` for a batch."""
    h, w = level.wall_map.shape
    agent_ok = _inside(level.agent_pos, h, w) & ~_cell(level.wall_map, level.agent_pos)
    goal_ok = _inside(level.goal_pos, h, w) & ~_cell(level.wall_map, level.goal_pos)
    distinct = jnp.any(level.agent_pos != level.goal_pos)
    dir_ok = (level.agent_dir >= 0) & (level.agent_dir < 4)
    return agent_ok & goal_ok & distinct & dir_ok


def wall_count(level: Level) -> jax.Array:
    """Number of wall cells, ``int32[...]`` (works batched)."""
    return jnp.sum(level.wall_map, axis=(-2, -1), dtype=jnp.int32)


def level_hash(level: Level) -> jax.Array:
    """Fingerprint of one level, ``uint32[2]``; ``vmap`` for a batch."""
    return pytree_hash(level)


def pad_level(level: Level, height: int, width: int) -> Level:
    """Pad a level (batched or not) with walls on the bottom and right up to ``height x width``.

    Positions are unchanged, so the level plays identically in a larger env.
    """
    h, w = level.wall_map.shape[-2:]
    if h > height or w > width:
        raise ValueError(f"cannot pad a {h}x{w} level into {height}x{width}")
    pad = [(0, 0)] * (level.wall_map.ndim - 2) + [(0, height - h), (0, width - w)]
    return level.replace(wall_map=jnp.pad(level.wall_map, pad, constant_values=True))


def stack_levels(levels: list[Level]) -> Level:
    """Stack unbatched levels of equal size into one batched level."""
    return jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *levels)


def index_levels(levels: Level, index) -> Level:
    """Select ``levels[index]`` from a batched level (index: int or int array)."""
    return jax.tree_util.tree_map(lambda x: x[index], levels)
