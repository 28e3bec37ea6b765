"""Gridworld layouts as text, LPG's fixed configurations and the classic mazes as gridworlds.

A layout file holds one or more levels::

    = dense                       (a name starts a level)
    % steps 500                   (episode length)
    % lifetime 250                (inner agent updates)
    % type a 1 0 0.05             (object symbol: reward, termination and respawn probability)
    % type b -1 0.5 0.1
    #...........
    ..a...b..S..                  (# wall, . free, S start, a-e objects of types 0-4)

Rows may be shorter than the env's grid: the rest is padded with walls. Malformed input fails
with ``ued.errors.LevelFormatError`` naming ``file:line:column``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ued.errors import LevelFormatError
from ued.levelfile import read_level_text

from .level import Level, make_level, stack_levels

SYMBOLS = "abcde"
"""Object symbols, one per type (type 0 is ``a``)."""


@dataclasses.dataclass
class Layout:
    """A level as plain data (host-side).

    Attributes:
        name: its name; walls: ``bool[h, w]``; start: (x, y); objects: ``[(x, y, type)]``;
        types: ``[(reward, p_term, p_respawn)]`` per type; steps: episode length;
        lifetime: inner agent updates.
    """

    name: str
    walls: np.ndarray
    start: tuple[int, int]
    objects: list[tuple[int, int, int]]
    types: list[tuple[float, float, float]]
    steps: int
    lifetime: int = 250

    def level(self, size: int, slots: int, num_types: int) -> Level:
        """The level on a ``size x size`` grid with ``slots`` object slots and ``num_types``
        types; raises ``ValueError`` if it does not fit."""
        h, w = self.walls.shape
        if h > size or w > size or len(self.objects) > slots or len(self.types) > num_types:
            raise ValueError(
                f"layout {self.name!r} ({h}x{w}, {len(self.objects)} objects, {len(self.types)} "
                f"types) does not fit a {size}x{size} gridworld with {slots} object slots and "
                f"{num_types} types"
            )
        walls = np.ones((size, size), bool)
        walls[:h, :w] = self.walls
        positions = np.zeros((slots, 2), np.int32)
        kinds = np.full(slots, -1, np.int32)
        for i, (x, y, kind) in enumerate(self.objects):
            positions[i], kinds[i] = (x, y), kind
        table = np.zeros((num_types, 3), np.float32)
        table[: len(self.types)] = self.types
        return make_level(walls, self.start, positions, kinds, *table.T, self.steps, self.lifetime)


def _read_setting(words: list[str]):
    """``("steps" | "lifetime", int)`` or ``("type", (reward, p_term, p_respawn))`` from a
    setting line's words, or None if it is not one."""
    try:
        if words[0] in ("steps", "lifetime") and len(words) == 2 and int(words[1]) > 0:
            return words[0], int(words[1])
        if words[0] == "type" and len(words) == 5:
            reward, p_term, p_respawn = map(float, words[2:])
            if np.isfinite(reward) and 0 <= p_term <= 1 and 0 <= p_respawn <= 1:
                return "type", (reward, p_term, p_respawn)
    except (ValueError, IndexError):
        pass
    return None


MAX_SIDE = 64
"""The largest layout side a file may have when the env's own is not known (the env's grid
size otherwise): a bigger layout is refused at its first row or column beyond it."""


def parse_layouts(text: str, source: str = "<string>", max_side: int = MAX_SIDE) -> list[Layout]:
    """Parse layout text; errors name ``source:line:column``. A layout wider or taller than
    ``max_side`` is refused at the first line that exceeds it, before the rest is read."""
    layouts: list[Layout] = []
    current: dict | None = None

    def fail(line: int, column: int, problem: str):
        raise LevelFormatError(f"{source}:{line}:{column}: {problem}")

    def finish():
        if current is None:
            return
        rows, first = current["rows"], current["line"]
        if not rows:
            fail(first, 1, f"level {current['name']!r} has no rows")
        width = max(len(r) for _, r in rows)
        walls = np.ones((len(rows), width), bool)
        start, objects = None, []
        for y, (number, row) in enumerate(rows):
            for x, char in enumerate(row):
                if char == "#":
                    continue
                walls[y, x] = False
                if char == "S":
                    if start is not None:
                        fail(number, x + 1, "a second start cell 'S'")
                    start = (x, y)
                elif char in SYMBOLS:
                    kind = SYMBOLS.index(char)
                    if kind >= len(current["types"]):
                        fail(number, x + 1, f"object {char!r} has no '% type {char} ...' line")
                    objects.append((x, y, kind))
                elif char != ".":
                    fail(number, x + 1, f"unknown character {char!r} (use # . S {SYMBOLS})")
        if start is None:
            fail(first, 1, f"level {current['name']!r} has no start cell 'S'")
        layouts.append(
            Layout(
                current["name"],
                walls,
                start,
                objects,
                current["types"],
                current["steps"],
                current["lifetime"],
            )
        )

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if not line:
            continue
        if line.startswith("= "):
            finish()
            current = {"name": line[2:].strip(), "line": number, "rows": [], "types": []}
            current |= {"steps": 100, "lifetime": 250}
            continue
        if current is None:
            fail(number, 1, "expected '= name' before a level's lines")
        if line.startswith("% "):
            if current["rows"]:
                fail(number, 1, "'%' settings must come before the level's rows")
            words = line[2:].split()
            setting = _read_setting(words)
            if setting is None:
                fail(number, 3, f"cannot read setting {line[2:]!r} (steps N, lifetime N, or "
                     "type SYMBOL REWARD P_TERM P_RESPAWN)")  # fmt: skip
            if setting[0] != "type":
                current[setting[0]] = setting[1]
                continue
            expected = SYMBOLS[len(current["types"])] if len(current["types"]) < 5 else None
            if words[1] != expected:
                fail(number, 8, f"types must be declared in order a-e: expected {expected!r}")
            current["types"].append(setting[1])
            continue
        if len(line) > max_side or len(current["rows"]) == max_side:
            what = f"a row of {len(line)} cells" if len(line) > max_side else "a row too many"
            fail(number, min(len(line), max_side + 1),
                 f"{what}: a layout here is at most {max_side}x{max_side} cells")  # fmt: skip
        current["rows"].append((number, line))
    finish()
    if not layouts:
        raise LevelFormatError(f"{source}:1:1: no levels (a level starts with '= name')")
    return layouts


def format_layout(layout: Layout) -> str:
    """The text of one layout (``parse_layouts`` reads it back unchanged; numbers are written
    in full so the level round-trips exactly)."""
    lines = [f"= {layout.name}", f"% steps {layout.steps}", f"% lifetime {layout.lifetime}"]
    lines += [f"% type {SYMBOLS[i]} {r!r} {t!r} {p!r}" for i, (r, t, p) in enumerate(layout.types)]
    grid = np.where(layout.walls, "#", ".").astype(object)
    grid[layout.start[1], layout.start[0]] = "S"
    for x, y, kind in layout.objects:
        grid[y, x] = SYMBOLS[kind]
    return "\n".join(lines + ["".join(row) for row in grid]) + "\n"


def layout_of(level: Level, name: str = "level") -> Layout:
    """The ``Layout`` of one (unbatched) level, cropped to its free cells' extent."""
    walls = np.asarray(level.wall_map)
    free = np.nonzero(~walls)
    h, w = (int(free[0].max()) + 1, int(free[1].max()) + 1) if free[0].size else (1, 1)
    types = np.asarray(level.object_type)
    used = int(types.max()) + 1 if (types >= 0).any() else 0
    table = np.stack([np.asarray(x) for x in (level.reward, level.p_term, level.p_respawn)])
    return Layout(
        name=name,
        walls=walls[:h, :w],
        start=tuple(int(v) for v in np.asarray(level.start)),
        objects=sorted(  # row-major, the order the text format reads them in
            [
                (int(x), int(y), int(k))
                for (x, y), k in zip(np.asarray(level.object_pos), types)
                if k >= 0
            ],
            key=lambda o: (o[1], o[0]),
        ),
        types=[tuple(float(v) for v in table[:, k]) for k in range(used)],
        steps=int(level.max_steps),
        lifetime=int(level.lifetime),
    )


def load_layouts(path, max_side: int = MAX_SIDE) -> list[Layout]:
    """Read a layout file (UTF-8); errors name the file, line and column (also for a layout
    larger than ``max_side``)."""
    return parse_layouts(read_level_text(path), str(path), max_side)


# ---- LPG's fixed configurations, as GROOVE's reference defines them ---------------------------
OPEN_11 = ["." * 11] * 11
LPG_CONFIGS = {
    # name: (layout rows, [(count, reward, p_term, p_respawn)], episode length)
    "dense": (OPEN_11, [(2, 1.0, 0.0, 0.05), (1, -1.0, 0.5, 0.1), (1, -1.0, 0.0, 0.5)], 500),
    "sparse": (["." * 13] * 13, [(1, 1.0, 1.0, 0.0), (1, -1.0, 1.0, 0.0)], 50),
    "long": (OPEN_11, [(2, 1.0, 0.0, 0.01), (2, -1.0, 0.5, 1.0)], 1000),
    "longer": (  # a vertical wall down the centre with two corridors; 2 + 3 objects (LPG: 2 + 5)
        ["....#....", ".........", *["....#...."] * 5, ".........", "....#...."],
        [(2, 1.0, 0.1, 0.01), (3, -1.0, 0.8, 1.0)],
        2000,
    ),
    "long_dense": (  # a vertical and a horizontal wall, each with two corridors
        [
            "...........",
            *[".....#....."] * 3,
            "##.#####.##",
            *[".....#....."] * 2,
            "...........",
            *[".....#....."] * 3,
        ],
        [(4, 1.0, 0.0, 0.005)],
        2000,
    ),
}
"""The five tabular gridworlds of LPG's evaluation as GROOVE's ``configs.py`` builds them (layouts
without border walls; ``longer`` has 2 + 3 objects there, where LPG's paper has 2 + 5)."""

LPG_LIFETIME = 2500
"""The inner agents' lifetime on LPG's gridworlds in GROOVE's reference (5 x 500 updates)."""


def lpg_layouts(seed: int = 0, lifetime: int = LPG_LIFETIME) -> list[Layout]:
    """LPG's fixed gridworlds with the start and objects on distinct random free cells drawn
    from ``seed`` (the reference draws them anew per sampled level; a suite fixes them)."""
    rng = np.random.default_rng(seed)
    layouts = []
    for name, (rows, kinds, steps) in LPG_CONFIGS.items():
        walls = np.array([[c == "#" for c in row] for row in rows])
        ys, xs = np.nonzero(~walls)
        count = 1 + sum(n for n, *_ in kinds)
        picks = rng.choice(len(xs), size=count, replace=False)
        cells = [(int(xs[i]), int(ys[i])) for i in picks]
        objects = []
        for kind, (n, *_) in enumerate(kinds):
            for _ in range(n):
                objects.append((*cells[1 + len(objects)], kind))
        types = [tuple(spec) for _, *spec in kinds]
        layouts.append(Layout(name, walls, cells[0], objects, types, steps, lifetime))
    return layouts


def maze_layouts(text: str, steps: int = 250, lifetime: int = 250) -> list[Layout]:
    """Mazes in the maze's text format as gridworlds: the same walls, the agent's cell as the
    start, and the goal as one object of type 0 (reward 1, terminal, no respawn)."""
    layouts = []
    name, rows = None, []
    for line in [*text.splitlines(), "= end"]:
        if line.startswith("= "):
            if name is not None and rows:
                walls = np.array([[c == "#" for c in row] for row in rows])
                start = goal = None
                for y, row in enumerate(rows):
                    for x, c in enumerate(row):
                        if c in "><v^":
                            start = (x, y)
                        elif c == "G":
                            goal = (x, y)
                layouts.append(
                    Layout(name, walls, start, [(*goal, 0)], [(1.0, 1.0, 0.0)], steps, lifetime)
                )
            name, rows = line[2:].strip(), []
        elif line and not line.startswith("# "):
            rows.append(line)
    return layouts


def batch(layouts: list[Layout], size: int, slots: int, num_types: int) -> Level:
    """The layouts as one batched level."""
    return stack_levels([layout.level(size, slots, num_types) for layout in layouts])
