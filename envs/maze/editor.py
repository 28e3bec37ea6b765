"""The maze's level editor: the env PAIRED's adversary builds mazes in (``ued.editor``).

A level is built from an empty ``H x W`` grid in ``num_steps`` steps; each action is a cell index
``y * W + x``. As in both author implementations (minimax ``envs/maze/maze_ued.py`` with
``fixed_n_wall_steps``; dcd ``envs/multigrid/adversarial.py`` with ``choose_goal_last``, the
``GoalLast*`` envs of its maze configs), the first ``num_steps - 2`` steps place walls, the next
places the goal and the last one the agent: a wall placed on a wall changes nothing, and the goal
and the agent clear a wall under them. The agent may not be placed on the goal: the references
move such an agent to a random free cell; here the phase's action mask forbids that cell (and
``step`` still takes the next cell if given it, so every level is valid). With ``num_steps =
n_walls + 2`` the generator has the random generator's wall budget. The agent's direction is
drawn at reset.

The observation is the grid being built (channels: wall, agent, goal), the time step and a noise
vector ``z`` (``noise_dim`` values, uniform in [0, 1) and fresh at every step, as in both
references; or N(0, I), or drawn once per episode).
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Literal

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
        time: ``int32[]``, the editor step (0 = the first wall is placed next).
        z: ``f32[noise_dim]``, the noise of this step.
    """

    grid: jax.Array
    time: jax.Array
    z: jax.Array


@struct.dataclass
class EditorState:
    """A maze under construction: the level so far, the step, the noise shown with the current
    observation and the episode's noise key (fresh noise per step is drawn from it)."""

    level: Level
    time: jax.Array
    z: jax.Array
    noise_key: jax.Array


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
        num_steps: editor steps: ``num_steps - 2`` wall placements, the goal, the agent.
        noise_dim: size of z.
        noise: ``uniform`` in [0, 1) (the references) or ``normal``.
        noise_per_step: a fresh z at every step (the references) or one per episode.
        random_walls: the wall draws of the env's random generator (its ``n_walls``):
            ``matched_steps`` gives the generator the same budget.
    """

    height: int = 13
    width: int = 13
    num_steps: int = 27
    noise_dim: int = 50
    noise: Literal["uniform", "normal"] = "uniform"
    noise_per_step: bool = True
    random_walls: int = 25
    min_steps: ClassVar[int] = 2

    @property
    def num_actions(self) -> int:
        return self.height * self.width

    @property
    def matched_steps(self) -> int:
        """``random_walls`` wall placements, then the goal and the agent."""
        return self.random_walls + 2

    def _noise(self, key, time):
        key = jax.random.fold_in(key, jnp.where(self.noise_per_step, time, 0))
        if self.noise == "normal":
            return jax.random.normal(key, (self.noise_dim,), jnp.float32)
        return jax.random.uniform(key, (self.noise_dim,), jnp.float32)

    def _observe(self, state: EditorState) -> EditorObs:
        level, time = state.level, state.time
        goal_step = self.num_steps - 2
        cells = jnp.zeros((self.height, self.width), jnp.bool_)
        agent = cells.at[level.agent_pos[1], level.agent_pos[0]].set(time > goal_step + 1)
        goal = cells.at[level.goal_pos[1], level.goal_pos[0]].set(time > goal_step)
        return EditorObs(
            grid=jnp.stack([level.wall_map, agent, goal], axis=-1), time=time, z=state.z
        )

    def reset(self, key):
        """An empty grid, a random agent direction and the first noise. Returns ``(obs,
        state)``."""
        k_dir, k_noise = jax.random.split(key)
        origin = jnp.zeros(2, jnp.int32)
        time = jnp.zeros((), jnp.int32)
        state = EditorState(
            level=Level(
                wall_map=jnp.zeros((self.height, self.width), jnp.bool_),
                agent_pos=origin,
                agent_dir=jax.random.randint(k_dir, (), 0, 4, jnp.int32),
                goal_pos=origin,
            ),
            time=time,
            z=self._noise(k_noise, time),
            noise_key=k_noise,
        )
        return self._observe(state), state

    def _cell(self, action):
        return jnp.stack([action % self.width, action // self.width]).astype(jnp.int32)

    def step(self, state: EditorState, action):
        """Place a wall (steps ``< num_steps - 2``), the goal (``num_steps - 2``) or the agent
        (last) at cell ``action``; the goal and the agent clear a wall under them."""
        level, time = state.level, state.time
        goal_step = self.num_steps - 2
        cell = self._cell(action)
        is_goal, is_agent = time == goal_step, time == goal_step + 1
        goal_pos = jnp.where(is_goal, cell, level.goal_pos)
        # A (masked) agent placement on the goal takes the next cell, so every level is valid.
        on_goal = jnp.all(cell == level.goal_pos)
        agent_cell = jnp.where(on_goal, self._cell((action + 1) % self.num_actions), cell)
        agent_pos = jnp.where(is_agent, agent_cell, level.agent_pos)
        placed = jnp.where(is_agent, agent_cell, cell)
        wall_map = level.wall_map.at[placed[1], placed[0]].set(time < goal_step)
        time = time + 1
        state = EditorState(
            level=level.replace(wall_map=wall_map, agent_pos=agent_pos, goal_pos=goal_pos),
            time=time,
            z=self._noise(state.noise_key, time),
            noise_key=state.noise_key,
        )
        return self._observe(state), state

    def action_mask(self, state: EditorState):
        """Walls and the goal: any cell; the agent: not the goal."""
        cells = jnp.arange(self.num_actions)
        level = state.level
        goal = cells == level.goal_pos[1] * self.width + level.goal_pos[0]
        return jnp.where(state.time == self.num_steps - 1, ~goal, True)

    def level(self, state: EditorState) -> Level:
        """The maze built so far."""
        return state.level

    def encoder(self, width: int) -> EditorEncoder:
        """PAIRED's adversary encoder with ``width`` convolution filters."""
        return EditorEncoder(conv_filters=width, num_steps=self.num_steps)
