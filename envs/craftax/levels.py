"""Craftax-Classic levels as compact data: the world's block map and the player's start.

Two fresh Craftax-Classic worlds differ only in their block map and in the in-game PRNG key;
every other field of the state at t=0 is the same. A level is therefore ``map uint8[64, 64]``
(block types, 17 of them) plus ``player_position int32[2]``: 4.1 KB, against 21 KB for a full
``EnvState``, so a 4,000-level buffer takes 16 MiB. The env rebuilds the t=0 state by writing a
level into a template state (``envs.craftax.env``), never by generating a world.

Generation is Craftax's own world generator (slow on CPU, ~100 worlds/s: fine once per update,
never per step). The ACCEL mutators are JaxUED's tile swaps inside the central 16x16 region,
which keep every block count: ``full`` swaps two tiles of any types, ``restricted`` swaps
within a family (stone with an ore, grass with a tree or sand). The player's tile never moves.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from craftax.craftax_classic.constants import Achievement, BlockType
from craftax.craftax_classic.envs.craftax_state import EnvParams, StaticEnvParams
from craftax.craftax_classic.world_gen import generate_world
from flax import struct

MAP_SIZE = StaticEnvParams().map_size
BLOCK_NAMES = tuple(block.name.lower() for block in BlockType)
ACHIEVEMENTS = tuple(achievement.name.lower() for achievement in Achievement)
CENTRE = 16
"""Side of the central square the mutators edit (JaxUED's)."""

# Restricted swaps stay inside a family: a tile may become another member of its own family.
FAMILIES = (
    (BlockType.STONE, BlockType.COAL, BlockType.IRON, BlockType.DIAMOND),
    (BlockType.GRASS, BlockType.TREE, BlockType.SAND),
)


@struct.dataclass
class CraftaxLevel:
    """One Craftax-Classic world at t=0: ``map uint8[64, 64]`` (``BlockType`` values) and
    ``player_position int32[2]`` (row, column). A batch adds a leading ``[B]``."""

    map: jax.Array
    player_position: jax.Array


def from_state(state) -> CraftaxLevel:
    """The compact level of a Craftax-Classic ``EnvState`` (its map and player position)."""
    return CraftaxLevel(
        map=state.map.astype(jnp.uint8), player_position=state.player_position.astype(jnp.int32)
    )


def generate(key: jax.Array, params: EnvParams | None = None) -> CraftaxLevel:
    """A world from Craftax's generator (deterministic in ``key``), as a compact level."""
    params = EnvParams() if params is None else params
    return from_state(generate_world(key, params, StaticEnvParams()))


def _centre_indices(level: CraftaxLevel) -> jax.Array:
    """Flat indices ``int32[CENTRE * CENTRE]`` of the central square of the map."""
    start = jnp.array([(MAP_SIZE[0] - CENTRE) // 2, (MAP_SIZE[1] - CENTRE) // 2])
    rows, cols = jnp.meshgrid(jnp.arange(CENTRE), jnp.arange(CENTRE), indexing="ij")
    return ((rows + start[0]) * MAP_SIZE[1] + cols + start[1]).reshape(-1)


def _family(block: jax.Array) -> jax.Array:
    """The family index of each block (``int32``, -1 for blocks in no family)."""
    family = np.full(len(BlockType), -1, np.int32)
    for index, members in enumerate(FAMILIES):
        for member in members:
            family[member.value] = index
    return jnp.asarray(family)[block.astype(jnp.int32)]


def swap_tiles(key: jax.Array, level: CraftaxLevel, restricted: bool = False) -> CraftaxLevel:
    """One ACCEL edit: swap two tiles of the central square (never the player's). ``restricted``
    only swaps two different blocks of the same family (e.g. stone and iron); where the first
    tile drawn has no partner the level is returned unchanged. Block counts are always kept."""
    k_first, k_second = jax.random.split(key)
    flat = level.map.reshape(-1)
    centre = _centre_indices(level)
    player = level.player_position[0] * MAP_SIZE[1] + level.player_position[1]
    movable = centre != player
    first = jax.random.choice(k_first, centre, p=movable / movable.sum())
    allowed = movable & (centre != first)
    if restricted:
        family = _family(flat[centre])
        first_family = _family(flat[first])
        allowed &= (family == first_family) & (first_family >= 0) & (flat[centre] != flat[first])
    weights = allowed.astype(jnp.float32)
    any_partner = weights.sum() > 0
    second = jax.random.choice(k_second, centre, p=jnp.where(any_partner, weights, 1.0) /
                               jnp.where(any_partner, weights.sum(), weights.size))  # fmt: skip
    second = jnp.where(any_partner, second, first)
    swapped = flat.at[first].set(flat[second]).at[second].set(flat[first])
    return level.replace(map=swapped.reshape(level.map.shape))


def mutate(key: jax.Array, level: CraftaxLevel, num_edits: int, restricted: bool) -> CraftaxLevel:
    """``num_edits`` successive ``swap_tiles`` edits."""
    edit = functools.partial(swap_tiles, restricted=restricted)
    return jax.lax.fori_loop(
        0, num_edits, lambda i, lv: edit(jax.random.fold_in(key, i), lv), level
    )


def block_counts(level: CraftaxLevel) -> jax.Array:
    """How many tiles of each block type the map holds (``int32[17]``, ``BlockType`` order)."""
    return jnp.bincount(level.map.reshape(-1).astype(jnp.int32), length=len(BlockType))


DESCRIBED_BLOCKS = ("water", "stone", "tree", "coal", "iron", "diamond", "lava", "sand")


def descriptors(env, levels: CraftaxLevel) -> dict[str, jax.Array]:
    """Per-level statistics of batched levels (``f32[N]`` each): the count of each resource and
    hazard block, and the distance from the start to the nearest tree (Manhattan: the player
    moves in 4 directions; NaN on a map without trees)."""
    counts = jax.vmap(block_counts)(levels).astype(jnp.float32)
    stats = {f"{name}_tiles": counts[:, BLOCK_NAMES.index(name)] for name in DESCRIBED_BLOCKS}
    rows, cols = jnp.meshgrid(jnp.arange(MAP_SIZE[0]), jnp.arange(MAP_SIZE[1]), indexing="ij")

    def nearest_tree(level):
        distance = (jnp.abs(rows - level.player_position[0])
                    + jnp.abs(cols - level.player_position[1])).astype(jnp.float32)  # fmt: skip
        trees = level.map == BlockType.TREE.value
        nearest = jnp.min(jnp.where(trees, distance, jnp.inf))
        return jnp.where(trees.any(), nearest, jnp.nan)

    stats["nearest_tree"] = jax.vmap(nearest_tree)(levels)
    return stats


# One colour per BlockType, in its order.
PALETTE = np.array(
    [
        (0, 0, 0),  # invalid
        (0, 0, 0),  # out of bounds
        (96, 168, 64),  # grass
        (64, 112, 216),  # water
        (128, 128, 128),  # stone
        (32, 96, 32),  # tree
        (150, 104, 56),  # wood
        (192, 176, 144),  # path
        (40, 40, 40),  # coal
        (200, 140, 110),  # iron
        (120, 230, 230),  # diamond
        (170, 110, 40),  # crafting table
        (90, 60, 60),  # furnace
        (230, 214, 150),  # sand
        (240, 80, 20),  # lava
        (120, 200, 80),  # plant
        (200, 60, 100),  # ripe plant
    ],
    np.uint8,
)


def render_level(level: CraftaxLevel, cell: int = 2) -> jax.Array:
    """A top-down picture of the whole map, ``uint8[64 * cell, 64 * cell, 3]``: one colour per
    block type, the player's start in white."""
    image = jnp.asarray(PALETTE)[level.map.astype(jnp.int32)]
    image = image.at[level.player_position[0], level.player_position[1]].set(255)
    return jnp.repeat(jnp.repeat(image, cell, axis=0), cell, axis=1)


__all__ = ["ACHIEVEMENTS", "BLOCK_NAMES", "CraftaxLevel", "block_counts", "descriptors"]
__all__ += ["from_state", "generate", "mutate", "render_level", "swap_tiles"]
