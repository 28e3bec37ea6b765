"""The MiniGrid-style navigation maze of the UED literature, as pure jittable functions.

Dynamics match PAIRED / PLR / ACCEL / JaxUED / minimax so that results compare with published
numbers: three actions (turn left, turn right, forward), a time-penalised goal reward
``1 - 0.9 * (t + 1) / max_steps`` and an egocentric 5x5 view that sees through walls. The
references' own maze (MiniGrid's 7 actions, cells as MiniGrid indices) is ``noop_actions=4,
observation="minigrid"``.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import jax
import jax.numpy as jnp
from flax import struct

from ued.env import Environment

from .config import NOOP_ACTION_NAMES
from .generators import RandomMazeGenerator
from .level import DIRECTIONS, Level, wall_count
from .oracle import UNREACHABLE, optimal_return, shortest_path_length

TURN_LEFT, TURN_RIGHT, FORWARD = 0, 1, 2

# Observation channels (one-hot per cell).
WALL, FREE, GOAL = 0, 1, 2
NUM_CHANNELS = 3
# The fully observed view adds one channel for the agent's cell.
AGENT = 3

# MiniGrid's (object, colour, state) cell encoding, as JaxUED's maze observes it.
MINIGRID_AGENT = 10  # object index; colour red (0), state = the agent's direction
MINIGRID_SCALE = 0.1
"""JaxUED's ``normalize_obs``: the network sees MiniGrid indices divided by 10."""


@struct.dataclass
class MazeState:
    """Dynamic state of one episode.

    Attributes:
        agent_pos: ``int32[2]`` (x, y).
        agent_dir: ``int32[]`` in 0..3.
        time: ``int32[]``, steps taken in this episode.
        done: ``bool[]``, whether the episode has ended.
        level: the level being played (walls and goal are read from it).
    """

    agent_pos: jax.Array
    agent_dir: jax.Array
    time: jax.Array
    done: jax.Array
    level: Level


@struct.dataclass
class MazeObs:
    """What the student sees.

    Attributes:
        image: ``uint8[V, V, 3]`` one-hot {wall, free, goal} egocentric view: the agent sits at the
            bottom centre (row V-1, column V//2) facing up (towards row 0); cells outside the grid
            read as walls. In the fully observed variant ``uint8[H, W, 4]`` in world coordinates
            with an extra agent channel. With ``observation="minigrid"`` each cell holds
            MiniGrid's (object, colour, state) indices instead (``uint8[..., 3]``; the fully
            observed view marks the agent's cell (10, 0, direction), as JaxUED does).
        agent_dir: ``int32[]``, the agent's direction.
    """

    image: jax.Array
    agent_dir: jax.Array


@dataclasses.dataclass(frozen=True)
class Maze(Environment):
    """A maze env with a static maximum size; hashable, so it can be closed over by ``jit``.

    Args:
        height: the static grid height (levels are ``bool[height, width]``).
        width: the static grid width.
        view_size: side of the egocentric view (odd).
        max_steps: episode time limit.
        n_walls: walls drawn by the default random generator (``sample_level``).
        wall_sampling: whether those walls are drawn ``with_replacement`` (the references' choice,
            so "25 walls" means 18-25 distinct walls) or ``without_replacement`` (exactly n_walls).
        solvable_only: make ``sample_level`` return only solvable levels (bounded rejection).
        fully_observed: observe the whole grid instead of the egocentric view.
        noop_actions: actions after the 3 that act which only spend a step (MiniGrid's pickup,
            drop, toggle, done: 4 gives JaxUED's 7 actions).
        observation: ``one-hot`` (default) or ``minigrid`` cells (see ``MazeObs``).
        timeout: ``terminal`` (default, the references' convention: reaching ``max_steps``
            ends the episode as terminal, so GAE does not bootstrap there and numbers compare
            with published ones) or ``truncation`` (``step`` reports ``truncated`` at the time
            limit and GAE bootstraps from the value there).
    """

    height: int = 13
    width: int = 13
    view_size: int = 5
    max_steps: int = 250
    n_walls: int = 25
    wall_sampling: Literal["with_replacement", "without_replacement"] = "with_replacement"
    solvable_only: bool = False
    fully_observed: bool = False
    timeout: Literal["terminal", "truncation"] = "terminal"
    noop_actions: int = 0
    observation: Literal["one-hot", "minigrid"] = "one-hot"

    @property
    def num_actions(self) -> int:
        """Turn left, turn right, forward, then the no-ops."""
        return 3 + self.noop_actions

    @property
    def action_names(self) -> tuple[str, ...]:
        """The actions' names, in order."""
        return ("left", "right", "forward", *NOOP_ACTION_NAMES[: self.noop_actions])

    def __post_init__(self):
        for name in ("height", "width", "view_size", "max_steps"):
            if getattr(self, name) <= 0:
                raise ValueError(f"Maze.{name} must be positive, got {getattr(self, name)}")
        if self.view_size % 2 == 0:
            raise ValueError(f"Maze.view_size must be odd, got {self.view_size}")
        if not 0 <= self.noop_actions <= len(NOOP_ACTION_NAMES):
            raise ValueError(f"Maze.noop_actions must be in [0, 4], got {self.noop_actions}")
        if self.observation not in ("one-hot", "minigrid"):
            raise ValueError(
                f"Maze.observation must be one-hot or minigrid, got {self.observation!r}"
            )
        if self.timeout not in ("terminal", "truncation"):
            raise ValueError(f"Maze.timeout must be terminal or truncation, got {self.timeout!r}")

    @property
    def truncates(self) -> bool:
        """Whether ``step`` can report a truncation (only with ``timeout="truncation"``)."""
        return self.timeout == "truncation"

    # ---- levels -------------------------------------------------------------------------------
    @property
    def generator(self) -> RandomMazeGenerator:
        """The random level generator this env samples from."""
        return RandomMazeGenerator(
            height=self.height,
            width=self.width,
            n_walls=self.n_walls,
            wall_sampling=self.wall_sampling,
            solvable_only=self.solvable_only,
        )

    def sample_level(self, key: jax.Array) -> Level:
        """One random level from the env's generator (``vmap`` for a batch)."""
        return self.generator(key)

    # ---- dynamics -----------------------------------------------------------------------------
    def reset_to_level(self, key: jax.Array, level: Level) -> tuple[MazeObs, MazeState]:
        """Start an episode on ``level``. Deterministic (``key`` is unused but kept for the
        protocol). Returns ``(obs, state)``."""
        del key
        state = MazeState(
            agent_pos=level.agent_pos.astype(jnp.int32),
            agent_dir=level.agent_dir.astype(jnp.int32),
            time=jnp.zeros((), jnp.int32),
            done=jnp.zeros((), jnp.bool_),
            level=level,
        )
        return self.observe(state), state

    def step(
        self, key: jax.Array, state: MazeState, action: jax.Array
    ) -> tuple[MazeObs, MazeState, jax.Array, jax.Array, jax.Array, dict[str, jax.Array]]:
        """Take one action (0 = left, 1 = right, 2 = forward; an array or a Python int) in one
        env.

        Returns ``(obs, state, reward f32[], terminated bool[], truncated bool[], info)`` with
        ``info["solved"]`` true on the step that reaches the goal. Reaching ``max_steps`` is
        terminal or a truncation as ``timeout`` says. There is no automatic reset: wrap the env
        (``ued.env.AutoReplay`` / ``AutoReset``) for that.
        """
        del key
        action = jnp.asarray(action, jnp.int32)
        level = state.level
        target = state.agent_pos + jnp.asarray(DIRECTIONS)[state.agent_dir]
        inside = (target[0] >= 0) & (target[0] < self.width) & (target[1] >= 0)
        inside &= target[1] < self.height
        target_is_wall = level.wall_map[
            jnp.clip(target[1], 0, self.height - 1), jnp.clip(target[0], 0, self.width - 1)
        ]
        moves = (action == FORWARD) & inside & ~target_is_wall
        agent_pos = jnp.where(moves, target, state.agent_pos)
        turn = (action == TURN_RIGHT).astype(jnp.int32) - (action == TURN_LEFT).astype(jnp.int32)
        agent_dir = (state.agent_dir + turn) % 4

        solved = moves & jnp.all(agent_pos == level.goal_pos)
        reward = jnp.where(
            solved, 1.0 - 0.9 * (state.time + 1).astype(jnp.float32) / self.max_steps, 0.0
        ).astype(jnp.float32)
        time = state.time + 1
        out_of_time = time >= self.max_steps
        if self.timeout == "terminal":
            terminated, truncated = solved | out_of_time, jnp.zeros((), jnp.bool_)
        else:
            terminated, truncated = solved, out_of_time & ~solved
        done = terminated | truncated
        state = state.replace(agent_pos=agent_pos, agent_dir=agent_dir, time=time, done=done)
        return self.observe(state), state, reward, terminated, truncated, {"solved": solved}

    # ---- observations -------------------------------------------------------------------------
    def observe(self, state: MazeState) -> MazeObs:
        """The observation of a state (egocentric or full, per ``fully_observed``)."""
        if self.fully_observed:
            return MazeObs(image=self._full_view(state), agent_dir=state.agent_dir)
        return MazeObs(image=self._egocentric_view(state), agent_dir=state.agent_dir)

    def _egocentric_view(self, state: MazeState) -> jax.Array:
        v = self.view_size
        forward = (v - 1 - jnp.arange(v))[:, None]  # row i looks v-1-i cells ahead
        lateral = (jnp.arange(v) - v // 2)[None, :]  # column j looks j-v//2 cells to the right
        fx, fy = jnp.asarray(DIRECTIONS)[state.agent_dir]
        rx, ry = -fy, fx  # the agent's right, in world coordinates (y points down)
        x = state.agent_pos[0] + forward * fx + lateral * rx
        y = state.agent_pos[1] + forward * fy + lateral * ry
        return self._cells(state.level, x, y)

    def _cells(self, level: Level, x: jax.Array, y: jax.Array) -> jax.Array:
        inside = (x >= 0) & (x < self.width) & (y >= 0) & (y < self.height)
        wall = level.wall_map[jnp.clip(y, 0, self.height - 1), jnp.clip(x, 0, self.width - 1)]
        wall = wall | ~inside
        goal = inside & (x == level.goal_pos[0]) & (y == level.goal_pos[1])
        if self.observation == "minigrid":  # empty (1, 0, 0), wall (2, 5, 0), goal (8, 1, 0)
            wall, goal = (wall & ~goal).astype(jnp.uint8), goal.astype(jnp.uint8)  # goal wins
            return jnp.stack([1 + wall + 7 * goal, 5 * wall + goal, jnp.zeros_like(wall)], axis=-1)
        return jnp.stack([wall, ~wall & ~goal, goal], axis=-1).astype(jnp.uint8)

    def _full_view(self, state: MazeState) -> jax.Array:
        y, x = jnp.mgrid[: self.height, : self.width]
        cells = self._cells(state.level, x, y)
        agent = (x == state.agent_pos[0]) & (y == state.agent_pos[1])
        if self.observation == "minigrid":
            marker = jnp.stack([MINIGRID_AGENT, 0, state.agent_dir]).astype(jnp.uint8)
            return jnp.where(agent[..., None], marker, cells)
        return jnp.concatenate([cells, agent[..., None].astype(jnp.uint8)], axis=-1)

    def observation_shape(self) -> tuple[int, int, int]:
        """Shape of ``MazeObs.image``."""
        if self.fully_observed:
            extra = 0 if self.observation == "minigrid" else 1
            return (self.height, self.width, NUM_CHANNELS + extra)
        return (self.view_size, self.view_size, NUM_CHANNELS)

    def dummy_observation(self) -> MazeObs:
        """A zero observation with the right shapes and dtypes (for network init)."""
        return MazeObs(
            image=jnp.zeros(self.observation_shape(), jnp.uint8),
            agent_dir=jnp.zeros((), jnp.int32),
        )

    # ---- the level protocol's remaining hooks -------------------------------------------------
    def optimal_return(self, level: Level, gamma: float) -> jax.Array:
        """Discounted return of the shortest path on one level (the oracle's V*), ``f32[]``."""
        return optimal_return(level, gamma, self.max_steps)

    def level_descriptors(self, levels: Level) -> dict[str, jax.Array]:
        """Cheap per-level descriptors for curriculum diagnostics (batched levels in, ``f32[N]``
        arrays out): wall count, shortest-path length (NaN where unsolvable) and solvability."""
        path = jax.vmap(shortest_path_length)(levels)
        solvable = path < UNREACHABLE
        return {
            "walls": wall_count(levels).astype(jnp.float32),
            "shortest_path": jnp.where(solvable, path.astype(jnp.float32), jnp.nan),
            "solvable": solvable.astype(jnp.float32),
        }
