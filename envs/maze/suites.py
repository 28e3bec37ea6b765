"""Zero-shot transfer suites: the classic hand-designed mazes and minimax's procedural OOD set.

Every suite is deterministic given a seed. Each has its own grid size and episode limit, so it is
played in its own ``Maze`` instance (``suite_env``); the 5x5 egocentric view keeps the policy
size-independent, so an agent trained on 13x13 is evaluated on 51x51 unchanged.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from importlib import resources

import jax
import numpy as np

from .ascii import parse_levels
from .env import Maze
from .generators import RandomMazeGenerator
from .level import Level, make_level
from .oracle import is_solvable

RawLevel = tuple[np.ndarray, tuple[int, int], int, tuple[int, int]]  # walls, agent, dir, goal


def classic_text() -> str:
    """The shipped file of the 8 classic 13x13 holdout mazes."""
    return resources.files("envs.maze").joinpath("data/holdout_mazes.txt").read_text()


def _free_cell(rng: np.random.Generator, walls: np.ndarray, exclude=()) -> tuple[int, int]:
    ys, xs = np.nonzero(~walls)
    cells = [(int(x), int(y)) for x, y in zip(xs, ys) if (int(x), int(y)) not in exclude]
    return cells[rng.integers(len(cells))]


def _corridor_walls(size: int) -> np.ndarray:
    """minimax's corridor comb: open border rows/columns, a horizontal wall through the middle,
    and vertical walls on every odd column above and below it."""
    walls = np.zeros((size, size), dtype=bool)
    mid = size // 2
    walls[1 : size - 1, 1 : size - 1 : 2] = True
    walls[mid, 1 : size - 1] = True
    return walls


def corridor(rng: np.random.Generator, size: int) -> RawLevel:
    """A comb of dead-end corridors; the goal at the inner end of one of them, the agent on the
    left border next to the spine, facing a random direction."""
    walls = _corridor_walls(size)
    mid = size // 2
    goals = [(x, y) for y in (mid - 1, mid + 1) for x in range(2, size - 1, 2)]
    goal = goals[rng.integers(len(goals))]
    return walls, (0, mid), int(rng.integers(4)), goal


def four_rooms(rng: np.random.Generator, size: int = 17) -> RawLevel:
    """Four rooms separated by a cross of walls with one random door in each of the four wall
    segments; random goal and agent."""
    walls = np.zeros((size, size), dtype=bool)
    mid = size // 2
    walls[mid, :] = True
    walls[:, mid] = True
    for lo, hi in ((0, mid), (mid + 1, size)):
        walls[mid, rng.integers(lo, hi)] = False  # doors in the horizontal wall
        walls[rng.integers(lo, hi), mid] = False  # doors in the vertical wall
    goal = _free_cell(rng, walls)
    agent = _free_cell(rng, walls, exclude=(goal,))
    return walls, agent, int(rng.integers(4)), goal


def crossing(rng: np.random.Generator, size: int = 9, n_crossings: int = 5) -> RawLevel:
    """MiniGrid SimpleCrossing-style: ``n_crossings`` full wall lines on odd rows/columns, opened
    along a random monotone path from the agent (top-left, facing right) to the goal
    (bottom-right), so the level is always solvable."""
    walls = np.zeros((size, size), dtype=bool)
    lines = [("row", i) for i in range(1, size - 1, 2)] + [
        ("col", i) for i in range(1, size - 1, 2)
    ]
    for kind, i in (lines[j] for j in rng.permutation(len(lines))[:n_crossings]):
        if kind == "row":
            walls[i, :] = True
        else:
            walls[:, i] = True
    moves = rng.permutation([0] * (size - 1) + [1] * (size - 1))  # 0 = right, 1 = down
    x = y = 0
    walls[0, 0] = False
    for move in moves:
        x, y = (x + 1, y) if move == 0 else (x, y + 1)
        walls[y, x] = False
    return walls, (0, 0), 0, (size - 1, size - 1)


def perfect_maze(rng: np.random.Generator, size: int) -> RawLevel:
    """A perfect maze (exactly one path between any two cells) carved by randomised depth-first
    search on the cells with even coordinates; random goal and agent."""
    if size % 2 == 0:
        raise ValueError(f"perfect mazes need an odd size, got {size}")
    walls = np.ones((size, size), dtype=bool)
    n = size // 2 + 1
    visited = np.zeros((n, n), dtype=bool)
    start = (int(rng.integers(n)), int(rng.integers(n)))
    stack = [start]
    visited[start[1], start[0]] = True
    walls[2 * start[1], 2 * start[0]] = False
    while stack:
        cx, cy = stack[-1]
        options = [
            (cx + dx, cy + dy)
            for dx, dy in ((1, 0), (0, 1), (-1, 0), (0, -1))
            if 0 <= cx + dx < n and 0 <= cy + dy < n and not visited[cy + dy, cx + dx]
        ]
        if not options:
            stack.pop()
            continue
        nx, ny = options[rng.integers(len(options))]
        visited[ny, nx] = True
        walls[2 * ny, 2 * nx] = False
        walls[cy + ny, cx + nx] = False  # the wall between (2cx, 2cy) and (2nx, 2ny)
        stack.append((nx, ny))
    goal = _free_cell(rng, walls)
    agent = _free_cell(rng, walls, exclude=(goal,))
    return walls, agent, int(rng.integers(4)), goal


@dataclasses.dataclass(frozen=True)
class Suite:
    """A named set of evaluation levels.

    Attributes:
        name: the CLI name (``ued eval --suite NAME``).
        title: the level-name prefix used in tables.
        height, width, max_steps: the env instance the suite is played in.
        default_levels: how many levels a procedural suite draws by default.
        generate: ``(rng, size) -> RawLevel`` for procedural suites; ``None`` for fixed ones.
    """

    name: str
    title: str
    height: int
    width: int
    max_steps: int
    default_levels: int = 0
    generate: Callable[[np.random.Generator, int], RawLevel] | None = None

    def env(self, base: Maze) -> Maze:
        """The env to play this suite in: ``base``'s view, this suite's size and time limit."""
        return dataclasses.replace(
            base,
            height=self.height,
            width=self.width,
            max_steps=self.max_steps,
            solvable_only=False,
            n_walls=0,
        )

    def levels(self, num_levels: int | None = None, seed: int = 0) -> tuple[list[str], Level]:
        """The suite's ``(names, batched levels)``; procedural suites draw ``num_levels``
        (default ``default_levels``) levels from ``seed``."""
        if self.generate is None:
            return parse_levels(
                classic_text(), height=self.height, width=self.width, source="holdout_mazes.txt"
            )
        n = self.default_levels if num_levels is None else num_levels
        if n <= 0:
            raise ValueError(f"suite {self.name!r}: the number of levels must be positive, got {n}")
        rng = np.random.default_rng(seed)
        raws = [self.generate(rng, self.height) for _ in range(n)]
        levels = make_level(
            np.stack([r[0] for r in raws]),
            np.array([r[1] for r in raws]),
            np.array([r[2] for r in raws]),
            np.array([r[3] for r in raws]),
        )
        return [f"{self.title}-{i:03d}" for i in range(n)], levels


def _episode_limit(size: int) -> int:
    return 2 * (size + 2) * (size + 2)  # minimax's limit for its OOD mazes


SUITES: dict[str, Suite] = {
    s.name: s
    for s in (
        Suite("classic", "Classic", 13, 13, 250),
        Suite("small-corridor", "SmallCorridor", 13, 13, _episode_limit(13), 40, corridor),
        Suite("large-corridor", "LargeCorridor", 19, 19, _episode_limit(19), 64, corridor),
        Suite("four-rooms", "FourRooms", 17, 17, 250, 100, four_rooms),
        Suite("crossing", "Crossing", 9, 9, 4 * (9 + 2) * (9 + 2), 100, crossing),
        Suite("perfect-medium", "PerfectMazeMedium", 19, 19, _episode_limit(19), 100, perfect_maze),
        Suite("perfect-large", "PerfectMazeLarge", 51, 51, _episode_limit(51), 20, perfect_maze),
    )
}


@functools.lru_cache(maxsize=8)
def _candidate_fns(generator: RandomMazeGenerator):
    return jax.jit(jax.vmap(generator)), jax.jit(jax.vmap(is_solvable))


def random_solvable_levels(
    generator: RandomMazeGenerator, num_levels: int, seed: int = 0, batch: int = 1024
) -> Level:
    """``num_levels`` solvable levels from ``generator``, deterministic in ``seed``.

    Draws batches of candidates and keeps the solvable ones in draw order (exact rejection
    sampling, so the result is the generator's distribution conditioned on solvability).
    Returns a batched ``Level``.
    """
    sample, solvable_of = _candidate_fns(dataclasses.replace(generator, solvable_only=False))
    key = jax.random.key(seed)
    kept: list[Level] = []
    have = 0
    for _ in range(1000):
        key, sub = jax.random.split(key)
        candidates = sample(jax.random.split(sub, batch))
        mask = np.asarray(solvable_of(candidates))
        kept.append(jax.tree_util.tree_map(lambda x: np.asarray(x)[mask], candidates))
        have += int(mask.sum())
        if have >= num_levels:
            break
    else:
        raise RuntimeError("the generator almost never produces solvable levels")
    stacked = jax.tree_util.tree_map(lambda *xs: np.concatenate(xs)[:num_levels], *kept)
    return make_level(stacked.wall_map, stacked.agent_pos, stacked.agent_dir, stacked.goal_pos)
