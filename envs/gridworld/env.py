"""The LPG gridworld (Oh et al. 2020; GROOVE's meta-training family) as a UED environment.

Five actions (up, down, left, right, stay); walls and the grid's edge block. Entering a cell with
an object collects it: the reward of its type, and the episode ends with its type's termination
probability. Each step every object that was already missing before the step reappears with its
type's respawn probability (one collected now cannot reappear in the same step: the reference's
order): in its own cell in a *tabular* gridworld (so the state is the agent's cell and which
objects are present), in a random free cell otherwise, where objects are also placed at random
at every reset (the reference's ``rand_*`` modes). The episode is truncated after the level's
``max_steps`` steps.

Observations: tabular, the state's index ``cell * 2**K + present-objects bitmask`` (``int32[]``;
the encoder one-hot embeds it, which is the one-hot of the spec); non-tabular, ``f32[S, S, 1+T]``:
the agent's position and one occupancy map per object type.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from ued.env import Environment

from .distributions import DISTRIBUTIONS, LevelDistribution
from .level import Level, cell_of

# (dx, dy) of each action: up, down, left, right, stay.
MOVES = np.array([[0, -1], [0, 1], [-1, 0], [1, 0], [0, 0]], dtype=np.int32)
UP, DOWN, LEFT, RIGHT, STAY = range(5)


@struct.dataclass
class GridState:
    """The state of an episode.

    Attributes:
        pos: ``int32[2]`` the agent's cell; present: ``bool[K]`` which objects are on the grid;
        object_pos: ``int32[K, 2]`` where they are; t: ``int32[]`` steps taken; level: the level.
    """

    pos: jax.Array
    present: jax.Array
    object_pos: jax.Array
    t: jax.Array
    level: Level


def sample_free_cell(key, free: jax.Array) -> jax.Array:
    """A uniformly random True cell of ``free bool[S, S]`` as (x, y) ``int32[2]`` (one random
    integer and a cumulative sum; (0, 0) if there is none)."""
    flat = free.reshape(-1)
    count = jnp.sum(flat, dtype=jnp.int32)
    pick = jax.random.randint(key, (), 0, jnp.maximum(count, 1))
    index = jnp.argmax(jnp.cumsum(flat, dtype=jnp.int32) > pick)
    size = free.shape[-1]
    return jnp.stack([index % size, index // size]).astype(jnp.int32)


@dataclasses.dataclass(frozen=True)
class Gridworld(Environment):
    """The gridworld on a static ``size x size`` grid with up to ``max_objects`` objects of
    ``num_types`` types.

    Attributes:
        size: the static grid side (levels are padded with walls to it).
        max_objects: K, object slots per level.
        num_types: T, object types.
        tabular: observations are state indices and objects respawn in place (else grids and
            random respawn cells).
        max_steps: the longest episode any level may have (a static bound for evaluation loops).
        distribution: the random level distribution ``sample_level`` draws from.
    """

    size: int = 13
    max_objects: int = 5
    num_types: int = 5
    tabular: bool = True
    max_steps: int = 2000
    distribution: LevelDistribution = DISTRIBUTIONS["all"]
    num_actions: ClassVar[int] = 5
    truncates: ClassVar[bool] = True

    @property
    def max_lifetime(self) -> int:
        """The longest inner-agent lifetime the env's levels draw (a static bound for loops that
        train an agent for its whole lifetime)."""
        return self.distribution.max_lifetime

    @property
    def num_states(self) -> int:
        """Tabular observations: ``size**2 * 2**max_objects`` state indices; 0 for occupancy
        grids."""
        return self.size * self.size * 2**self.max_objects if self.tabular else 0

    def sample_level(self, key) -> Level:
        """A level from the env's random distribution."""
        return self.distribution.sample(key, self.size, self.max_objects, self.num_types)

    def reset_to_level(self, key, level: Level):
        """Start an episode: the agent at the start, every object present: in its own cell in
        a tabular gridworld, in random free cells otherwise (the reference's ``rand_*`` modes
        place them anew at every reset)."""
        present = level.object_type >= 0
        object_pos = level.object_pos
        if not self.tabular:
            nobody = jnp.zeros_like(present)
            object_pos = self._place(key, level, level.start, nobody, object_pos, present)
        state = GridState(
            pos=level.start,
            present=present,
            object_pos=object_pos,
            t=jnp.zeros((), jnp.int32),
            level=level,
        )
        return self.observe(state), state

    def step(self, key, state: GridState, action):
        """Move, collect, maybe terminate, respawn. Returns ``(obs, state, reward, terminated,
        truncated, info)``."""
        level = state.level
        k_term, k_respawn, k_cells = jax.random.split(key, 3)
        target = state.pos + jnp.asarray(MOVES)[jnp.asarray(action, jnp.int32)]
        inside = jnp.all((target >= 0) & (target < self.size))
        clipped = jnp.clip(target, 0, self.size - 1)
        pos = jnp.where(inside & ~level.wall_map[clipped[1], clipped[0]], target, state.pos)

        types = jnp.maximum(level.object_type, 0)
        here = state.present & jnp.all(state.object_pos == pos, axis=-1)
        reward = jnp.sum(jnp.where(here, level.reward[types], 0.0))
        ends = jax.random.uniform(k_term, here.shape) < level.p_term[types]
        terminated = jnp.any(here & ends)
        present = state.present & ~here

        # Only objects missing before this step may reappear (the reference's order): one
        # collected now stays away at least until the next step.
        missing = (level.object_type >= 0) & ~state.present
        respawn = missing & (jax.random.uniform(k_respawn, missing.shape) < level.p_respawn[types])
        object_pos = state.object_pos
        if not self.tabular:
            object_pos = self._place(k_cells, level, pos, present, object_pos, respawn)
        present = present | respawn

        t = state.t + 1
        truncated = (t >= level.max_steps) & ~terminated
        state = GridState(pos=pos, present=present, object_pos=object_pos, t=t, level=level)
        return self.observe(state), state, reward.astype(jnp.float32), terminated, truncated, {}

    def _place(self, key, level, pos, present, object_pos, moving):
        """New cells for the ``moving`` objects: random free cells that hold neither the agent
        (at ``pos``) nor a ``present`` or already placed object (one object at a time, so two
        never share a cell). The others keep ``object_pos``."""
        cells = jnp.arange(self.size * self.size)

        def place(occupied, inputs):
            key, k_pos, again = inputs
            free = ~level.wall_map.reshape(-1) & ~occupied & (cells != cell_of(pos, self.size))
            new = jnp.where(again, sample_free_cell(key, free.reshape(self.size, -1)), k_pos)
            occupied = occupied | ((cells == cell_of(new, self.size)) & again)
            return occupied, new

        occupied = jnp.any(
            present[:, None] & (cell_of(object_pos, self.size)[:, None] == cells[None, :]), axis=0
        )
        keys = jax.random.split(key, moving.shape[0])
        _, new = jax.lax.scan(place, occupied, (keys, object_pos, moving))
        return new

    def observe(self, state: GridState) -> Any:
        """The state's observation (tabular index or occupancy grids)."""
        if self.tabular:
            bits = jnp.sum(state.present.astype(jnp.int32) << jnp.arange(self.max_objects))
            return cell_of(state.pos, self.size) * 2**self.max_objects + bits
        cells = jnp.arange(self.size * self.size)
        agent = cells == cell_of(state.pos, self.size)
        object_cells = cell_of(state.object_pos, self.size)
        types = state.level.object_type
        maps = [agent] + [
            jnp.any(
                (state.present & (types == k))[:, None] & (object_cells[:, None] == cells), axis=0
            )
            for k in range(self.num_types)
        ]
        return jnp.stack(maps, axis=-1).reshape(self.size, self.size, -1).astype(jnp.float32)

    def time_limit(self, level: Level) -> jax.Array:
        """The level's own episode length."""
        return level.max_steps

    def dummy_observation(self) -> Any:
        """One observation of the right shape and dtype."""
        if self.tabular:
            return jnp.zeros((), jnp.int32)
        return jnp.zeros((self.size, self.size, 1 + self.num_types), jnp.float32)
