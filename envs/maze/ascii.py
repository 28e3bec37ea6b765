"""Plain-text maze files: parse with line-precise errors, and format back.

Format (see ``data/holdout_mazes.txt``)::

    # a comment
    = SixteenRooms
    ...#..#..#...
    .>.......#...

* A line ``= Name`` names the maze whose rows follow; a block of rows without a name line is
  called ``level<i>``.
* Rows use ``#`` wall, ``.`` free, ``G`` goal, and the agent as ``>`` (facing +x), ``v`` (+y),
  ``<`` (-x) or ``^`` (-y). Row index is y (top row y = 0), column index is x.
* Blank lines separate mazes. Lines starting with ``# `` (a hash and a space) are comments; a grid
  row never contains a space.
"""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np

from ued.errors import LevelFormatError
from ued.levelfile import read_level_text

from .level import Level, make_level

AGENT_CHARS = {">": 0, "v": 1, "<": 2, "^": 3}
DIR_CHARS = {d: c for c, d in AGENT_CHARS.items()}
CELL_CHARS = {"#", ".", "G", *AGENT_CHARS}
MAX_SIDE = 256
"""The largest maze side a level file may have (the egocentric agent plays any size, but the
evaluation's oracle and episodes grow with the area: a bigger maze is refused at its first row
or column beyond the limit, before anything else is read)."""


def parse_levels(
    text: str, *, height: int | None = None, width: int | None = None, source: str = "<string>"
) -> tuple[list[str], Level]:
    """Parse every maze in ``text``.

    Args:
        text: the file's contents.
        height: pad every maze with walls at the bottom to this height; by default the
            largest maze in the file sets it.
        width: the same for the width (walls on the right).
        source: the name used in error messages (a file path).

    Returns:
        ``(names, levels)`` with ``levels`` batched: ``wall_map bool[N, H, W]`` etc.

    Raises:
        LevelFormatError: naming ``source:line`` for an unknown character, ragged rows, a missing or
            duplicate agent or goal, a name line without rows, a duplicate name, a maze larger than
            the requested size, or a file without mazes.
    """
    blocks: list[tuple[str, int, list[tuple[int, str]]]] = []  # (name, line, rows)
    pending_name: tuple[str, int] | None = None
    current: list[tuple[int, str]] | None = None

    def close_block():
        nonlocal current, pending_name
        if current:
            name, line = pending_name if pending_name else (f"level{len(blocks)}", current[0][0])
            blocks.append((name, line, current))
            pending_name = None
        current = None

    # Split on \n, \r\n and \r only: str.splitlines() also breaks on \f, \v, \x1c-\x1e, \x85 and
    # \u2028/9, which would make the reported line numbers disagree with the file's.
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for lineno, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n").rstrip()
        if raw.startswith("# ") or line == "":
            close_block()
            continue
        if line.startswith("="):
            close_block()
            if pending_name is not None:
                raise LevelFormatError(
                    f"{source}:{pending_name[1]}: maze {pending_name[0]!r} has no rows"
                )
            name = line[1:].strip()
            if not name:
                raise LevelFormatError(f"{source}:{lineno}: '=' must be followed by a maze name")
            pending_name = (name, lineno)
            continue
        if current is None:
            current = []
        if len(line) > MAX_SIDE or len(current) == MAX_SIDE:
            what = f"a row of {len(line)} cells" if len(line) > MAX_SIDE else "a row too many"
            raise LevelFormatError(
                f"{source}:{lineno}: {what}: a maze is at most {MAX_SIDE}x{MAX_SIDE} cells"
            )
        current.append((lineno, line))
    close_block()
    if pending_name is not None:
        raise LevelFormatError(f"{source}:{pending_name[1]}: maze {pending_name[0]!r} has no rows")
    if not blocks:
        raise LevelFormatError(f"{source}: no mazes found")

    seen: dict[str, int] = {}
    parsed = []
    for name, line, rows in blocks:
        if name in seen:
            raise LevelFormatError(
                f"{source}:{line}: duplicate maze name {name!r} (first on line {seen[name]})"
            )
        seen[name] = line
        parsed.append(_parse_block(name, rows, source))

    max_h = max(p[0].shape[0] for p in parsed)
    max_w = max(p[0].shape[1] for p in parsed)
    height = max_h if height is None else height
    width = max_w if width is None else width
    walls = np.ones((len(parsed), height, width), dtype=bool)
    for i, ((wall_map, _, _, _), (name, line, _)) in enumerate(zip(parsed, blocks)):
        h, w = wall_map.shape
        if h > height or w > width:
            raise LevelFormatError(
                f"{source}:{line}: maze {name!r} is {h}x{w}, larger than the requested "
                f"{height}x{width}"
            )
        walls[i, :h, :w] = wall_map
    levels = make_level(
        walls,
        np.stack([p[1] for p in parsed]),
        np.array([p[2] for p in parsed]),
        np.stack([p[3] for p in parsed]),
    )
    return [b[0] for b in blocks], levels


def _parse_block(name: str, rows: list[tuple[int, str]], source: str):
    width = len(rows[0][1])
    walls = np.zeros((len(rows), width), dtype=bool)
    agent = goal = None  # (x, y, line)
    agent_dir = 0
    for y, (lineno, row) in enumerate(rows):
        if len(row) != width:
            raise LevelFormatError(
                f"{source}:{lineno}: ragged rows in maze {name!r}: this row has {len(row)} "
                f"cells, the first row has {width}"
            )
        for x, char in enumerate(row):
            if char not in CELL_CHARS:
                raise LevelFormatError(
                    f"{source}:{lineno}:{x + 1}: unknown character {char!r} in maze {name!r} "
                    f"(expected one of # . G > v < ^)"
                )
            if char == "#":
                walls[y, x] = True
            elif char == "G":
                if goal is not None:
                    raise LevelFormatError(
                        f"{source}:{lineno}:{x + 1}: second goal in maze {name!r} (first on "
                        f"line {goal[2]})"
                    )
                goal = (x, y, lineno)
            elif char in AGENT_CHARS:
                if agent is not None:
                    raise LevelFormatError(
                        f"{source}:{lineno}:{x + 1}: second agent in maze {name!r} (first on "
                        f"line {agent[2]})"
                    )
                agent = (x, y, lineno)
                agent_dir = AGENT_CHARS[char]
    first, last = rows[0][0], rows[-1][0]
    if agent is None:
        raise LevelFormatError(
            f"{source}:{first}-{last}: maze {name!r} has no agent (one of > v < ^)"
        )
    if goal is None:
        raise LevelFormatError(f"{source}:{first}-{last}: maze {name!r} has no goal (G)")
    return walls, np.array(agent[:2]), agent_dir, np.array(goal[:2])


def load_levels(
    path: str | Path, *, height: int | None = None, width: int | None = None
) -> tuple[list[str], Level]:
    """Parse a maze file (see ``parse_levels``); errors name the file and line."""
    text = read_level_text(path)
    return parse_levels(text, height=height, width=width, source=str(path))


def format_level(level: Level, name: str | None = None) -> str:
    """One unbatched level as text (with a ``= name`` line if a name is given)."""
    walls = np.asarray(level.wall_map)
    grid = np.where(walls, "#", ".").astype("<U1")
    gx, gy = np.asarray(level.goal_pos)
    ax, ay = np.asarray(level.agent_pos)
    grid[gy, gx] = "G"
    grid[ay, ax] = DIR_CHARS[int(level.agent_dir)]
    rows = ["".join(r) for r in grid]
    return "\n".join(([f"= {name}"] if name is not None else []) + rows) + "\n"


def format_levels(names: list[str], levels: Level) -> str:
    """A batch of levels as one file's text; ``parse_levels`` reads it back unchanged."""
    blocks = []
    for i, name in enumerate(names):
        blocks.append(
            format_level(jax.tree_util.tree_map(lambda x: np.asarray(x)[i], levels), name)
        )
    return "\n".join(blocks)
