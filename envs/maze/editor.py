"""The maze's level editor: the env PAIRED's adversary builds mazes in (``ued.editor``).

A level is built from an empty ``H x W`` grid in ``num_steps`` steps; each action is a cell index
``y * W + x``. Step 0 places the goal, step 1 the agent, every later step places a wall (the
references' semantics: a cell already walled stays a wall, so the adversary controls the wall
count by re-choosing walls). The per-phase mask forbids the agent on the goal and walls on the
agent or goal (``step`` still keeps every level valid if given one). The agent's direction is drawn
at reset. The observation is the grid being built (channels: wall, agent, goal), the time step
and a fresh noise vector ``z ~ N(0, I)`` per episode.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp
from flax import struct

from ued.editor import LevelEditor
from ued.networks import PatchConv

from .level import Level


@struct.dataclass
class EditorObs:
    """What the generator sees (add leading axes for time and batch).

    Attributes:
        grid: ``bool[H, W, 3]``: wall, agent and goal channels of the level so far.
        time: ``int32[]``, the editor step (0 = the goal is placed next).
        z: ``f32[noise_dim]``, the episode's noise.
    """

    grid: jax.Array
    time: jax.Array
    z: jax.Array


@struct.dataclass
class EditorState:
    """A maze under construction: the level so far, the step, and the episode's noise."""

    level: Level
    time: jax.Array
    z: jax.Array


class EditorEncoder(nn.Module):
    """``EditorObs`` leaves ``[T, B, ...]`` -> features ``f32[T, B, F]``: a 3x3 convolution over
    the grid (flattened; ``conv_filters = 0``: the grid itself), an embedding of the time step,
    and z (PAIRED's adversary network)."""

    conv_filters: int
    num_steps: int
    time_features: int = 10

    @nn.compact
    def __call__(self, obs: EditorObs):
        t, batch = obs.time.shape[:2]
        grid = obs.grid.astype(jnp.float32).reshape(t * batch, *obs.grid.shape[2:])
        if self.conv_filters:
            grid = nn.relu(PatchConv(self.conv_filters, 3, "SAME")(grid))
        time = nn.Embed(self.num_steps + 1, self.time_features)(obs.time)
        return jnp.concatenate([grid.reshape(t, batch, -1), time, obs.z], axis=-1)


@dataclasses.dataclass(frozen=True)
class MazeEditor(LevelEditor):
    """Builds ``height x width`` mazes in ``num_steps`` steps (``num_steps >= 2``).

    Attributes:
        height, width: the grid (the training maze's static size).
        num_steps: editor steps: goal, agent, then ``num_steps - 2`` wall placements.
        noise_dim: size of z.
    """

    height: int = 13
    width: int = 13
    num_steps: int = 50
    noise_dim: int = 16
    min_steps: ClassVar[int] = 2

    @property
    def num_actions(self) -> int:
        return self.height * self.width

    def _observe(self, state: EditorState) -> EditorObs:
        level, time = state.level, state.time
        cells = jnp.zeros((self.height, self.width), jnp.bool_)
        agent = cells.at[level.agent_pos[1], level.agent_pos[0]].set(time >= 2)
        goal = cells.at[level.goal_pos[1], level.goal_pos[0]].set(time >= 1)
        return EditorObs(
            grid=jnp.stack([level.wall_map, agent, goal], axis=-1), time=time, z=state.z
        )

    def reset(self, key):
        """An empty grid, a random agent direction and fresh noise. Returns ``(obs, state)``."""
        k_dir, k_z = jax.random.split(key)
        origin = jnp.zeros(2, jnp.int32)
        state = EditorState(
            level=Level(
                wall_map=jnp.zeros((self.height, self.width), jnp.bool_),
                agent_pos=origin,
                agent_dir=jax.random.randint(k_dir, (), 0, 4, jnp.int32),
                goal_pos=origin,
            ),
            time=jnp.zeros((), jnp.int32),
            z=jax.random.normal(k_z, (self.noise_dim,), jnp.float32),
        )
        return self._observe(state), state

    def _cell(self, action):
        return jnp.stack([action % self.width, action // self.width]).astype(jnp.int32)

    def step(self, state: EditorState, action):
        """Place the goal (step 0), the agent (step 1) or a wall (later) at cell ``action``."""
        level, time = state.level, state.time
        cell = self._cell(action)
        on_goal = jnp.all(cell == level.goal_pos)
        on_agent = jnp.all(cell == level.agent_pos)
        goal_pos = jnp.where(time == 0, cell, level.goal_pos)
        # A (masked) agent placement on the goal takes the next cell, so every level is valid.
        agent_cell = jnp.where(on_goal, self._cell((action + 1) % self.num_actions), cell)
        agent_pos = jnp.where(time == 1, agent_cell, level.agent_pos)
        wall = (time >= 2) & ~on_goal & ~on_agent
        wall_map = level.wall_map.at[cell[1], cell[0]].set(level.wall_map[cell[1], cell[0]] | wall)
        state = EditorState(
            level=level.replace(wall_map=wall_map, agent_pos=agent_pos, goal_pos=goal_pos),
            time=time + 1,
            z=state.z,
        )
        return self._observe(state), state

    def action_mask(self, state: EditorState):
        """Step 0: any cell; step 1: not the goal; later: neither the goal nor the agent."""
        cells = jnp.arange(self.num_actions)
        level, time = state.level, state.time
        goal = cells == level.goal_pos[1] * self.width + level.goal_pos[0]
        agent = cells == level.agent_pos[1] * self.width + level.agent_pos[0]
        return jnp.where(time == 0, True, ~goal & ((time == 1) | ~agent))

    def level(self, state: EditorState) -> Level:
        """The maze built so far."""
        return state.level

    def encoder(self, width: int) -> EditorEncoder:
        """PAIRED's adversary encoder with ``width`` convolution filters."""
        return EditorEncoder(conv_filters=width, num_steps=self.num_steps)
