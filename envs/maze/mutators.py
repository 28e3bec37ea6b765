"""ACCEL's level edits: small random changes that keep a level valid (Parker-Holder et al. 2022)."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from .generators import index_to_pos, sample_cell
from .level import Level

FLIP_WALL, MOVE_GOAL, MOVE_AGENT = 0, 1, 2


def _flat_index(pos: jax.Array, width: int) -> jax.Array:
    return pos[1] * width + pos[0]


def flip_wall(key: jax.Array, level: Level) -> Level:
    """Toggle one uniformly chosen cell that is neither the agent's nor the goal's."""
    h, w = level.wall_map.shape
    cells = jnp.arange(h * w)
    allowed = (cells != _flat_index(level.agent_pos, w)) & (cells != _flat_index(level.goal_pos, w))
    cell = sample_cell(key, allowed)
    walls = level.wall_map.reshape(-1)
    walls = walls.at[cell].set(jnp.where(jnp.any(allowed), ~walls[cell], walls[cell]))
    return level.replace(wall_map=walls.reshape(h, w))


def _free_cells(level: Level) -> jax.Array:
    h, w = level.wall_map.shape
    cells = jnp.arange(h * w)
    occupied = (cells == _flat_index(level.agent_pos, w)) | (
        cells == _flat_index(level.goal_pos, w)
    )
    return ~level.wall_map.reshape(-1) & ~occupied


def move_goal(key: jax.Array, level: Level) -> Level:
    """Move the goal to a uniformly chosen free cell (no-op if there is none)."""
    w = level.wall_map.shape[1]
    free = _free_cells(level)
    pos = index_to_pos(sample_cell(key, free), w)
    return level.replace(goal_pos=jnp.where(jnp.any(free), pos, level.goal_pos))


def move_agent(key: jax.Array, level: Level) -> Level:
    """Move the agent to a uniformly chosen free cell with a random direction (no-op if there is
    no free cell)."""
    w = level.wall_map.shape[1]
    k_cell, k_dir = jax.random.split(key)
    free = _free_cells(level)
    pos = index_to_pos(sample_cell(k_cell, free), w)
    direction = jax.random.randint(k_dir, (), 0, 4, dtype=jnp.int32)
    return level.replace(
        agent_pos=jnp.where(jnp.any(free), pos, level.agent_pos),
        agent_dir=jnp.where(jnp.any(free), direction, level.agent_dir),
    )


@dataclasses.dataclass(frozen=True)
class MazeMutator:
    """Apply ``num_edits`` random edits, each uniformly one of: flip a wall (never on the agent or
    the goal), move the goal to a free cell, move the agent to a free cell with a random direction.

    Args:
        num_edits: edits per mutation (ACCEL uses 5 on mazes).
        move_agent: allow agent moves; ``False`` gives the minimax/JaxUED variant whose edits only
            flip walls and move the goal.
        noop: a no-op among the kinds drawn, as in minimax's and JaxUED's mutator
            (``make_level_mutator_minimax``: each edit uniformly one of no-op, flip a wall, move
            the goal), so a child differs by fewer edits than ``num_edits`` on average.

    Every child of a valid level is valid (agent and goal on distinct free cells).
    """

    num_edits: int = 5
    move_agent: bool = True
    noop: bool = False

    def __post_init__(self):
        if self.num_edits < 0:
            raise ValueError(f"num_edits must be >= 0, got {self.num_edits}")

    def __call__(self, key: jax.Array, level: Level) -> Level:
        """Mutate one level (``vmap`` for a batch)."""
        edits = [flip_wall, move_goal, move_agent][: 3 if self.move_agent else 2]
        if self.noop:
            edits = [lambda key, level: level, *edits]
        n_kinds = len(edits)

        def edit(level, key):
            k_kind, k_edit = jax.random.split(key)
            kind = jax.random.randint(k_kind, (), 0, n_kinds)
            return jax.lax.switch(kind, edits, k_edit, level), None

        level, _ = jax.lax.scan(edit, level, jax.random.split(key, self.num_edits))
        return level
