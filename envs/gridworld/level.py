"""The LPG gridworld level: the env's parameters and the inner agent's lifetime, all arrays.

A level lives on a static ``size x size`` grid; a smaller level is padded with walls. Coordinates
are (x, y) with y the row (top row y = 0). Up to ``K`` objects, each of one of ``T`` types; a type
has a reward, a termination probability (on collection) and a respawn probability (per step,
while the object is missing).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct


@struct.dataclass
class Level:
    """One gridworld level (add a leading axis for a batch).

    Attributes:
        wall_map: ``bool[S, S]``; True where the agent cannot go (walls and padding).
        start: ``int32[2]``, the agent's start cell (x, y).
        object_pos: ``int32[K, 2]``, each object's cell (x, y) (where it respawns in tabular
            levels); unused slots hold (0, 0).
        object_type: ``int32[K]``, each object's type, -1 for an unused slot.
        reward: ``f32[T]``, the reward of collecting an object of each type.
        p_term: ``f32[T]``, the probability that collecting one ends the episode.
        p_respawn: ``f32[T]``, the per-step probability that a missing one reappears.
        max_steps: ``int32[]``, the episode length (a truncation).
        lifetime: ``int32[]``, the inner agent's lifetime in agent updates (meta-training).
    """

    wall_map: jax.Array
    start: jax.Array
    object_pos: jax.Array
    object_type: jax.Array
    reward: jax.Array
    p_term: jax.Array
    p_respawn: jax.Array
    max_steps: jax.Array
    lifetime: jax.Array


def make_level(
    wall_map, start, object_pos, object_type, reward, p_term, p_respawn, max_steps, lifetime
) -> Level:
    """A level with the canonical dtypes from array-likes (NumPy, JAX or lists)."""
    return Level(
        wall_map=jnp.asarray(wall_map, jnp.bool_),
        start=jnp.asarray(start, jnp.int32),
        object_pos=jnp.asarray(object_pos, jnp.int32),
        object_type=jnp.asarray(object_type, jnp.int32),
        reward=jnp.asarray(reward, jnp.float32),
        p_term=jnp.asarray(p_term, jnp.float32),
        p_respawn=jnp.asarray(p_respawn, jnp.float32),
        max_steps=jnp.asarray(max_steps, jnp.int32),
        lifetime=jnp.asarray(lifetime, jnp.int32),
    )


def cell_of(pos: jax.Array, size: int) -> jax.Array:
    """Flat cell index ``y * size + x`` of positions ``int32[..., 2]``."""
    return pos[..., 1] * size + pos[..., 0]


def is_valid(level: Level) -> jax.Array:
    """Whether a single level is well formed: the start and every used object on free cells
    inside the grid, objects on distinct cells other than the start, types in range, and
    probabilities in [0, 1]. Returns ``bool[]``; ``vmap`` for a batch."""
    size = level.wall_map.shape[-1]
    used = level.object_type >= 0

    def free(pos):
        inside = jnp.all((pos >= 0) & (pos < size), axis=-1)
        clipped = jnp.clip(pos, 0, size - 1)
        return inside & ~level.wall_map[clipped[..., 1], clipped[..., 0]]

    cells = jnp.where(used, cell_of(level.object_pos, size), -1 - jnp.arange(used.shape[0]))
    distinct = jnp.sum(cells[:, None] == cells[None, :]) == cells.shape[0]
    off_start = ~jnp.any(used & (cells == cell_of(level.start, size)))
    types_ok = jnp.all(level.object_type < level.reward.shape[0])
    probs_ok = jnp.all((level.p_term >= 0) & (level.p_term <= 1)) & jnp.all(
        (level.p_respawn >= 0) & (level.p_respawn <= 1)
    )
    return (
        free(level.start)
        & jnp.all(free(level.object_pos) | ~used)
        & distinct
        & off_start
        & types_ok
        & probs_ok
        & (level.max_steps > 0)
        & (level.lifetime > 0)
    )


def stack_levels(levels: list[Level]) -> Level:
    """Stack unbatched levels of one static size into a batch."""
    return jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *levels)


def object_count(level: Level) -> jax.Array:
    """Objects in use, ``int32[...]`` (works batched)."""
    return jnp.sum(level.object_type >= 0, axis=-1, dtype=jnp.int32)
