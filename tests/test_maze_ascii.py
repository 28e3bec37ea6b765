"""The plain-text maze format: round trips, the shipped holdout file and line-precise errors."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envs.maze import LevelFormatError, format_level, format_levels, load_levels, parse_levels
from envs.maze.ascii import AGENT_CHARS
from envs.maze.level import index_levels, make_level
from envs.maze.suites import classic_text

CLASSIC_NAMES = [
    "SixteenRooms",
    "SixteenRooms2",
    "Labyrinth",
    "LabyrinthFlipped",
    "Labyrinth2",
    "StandardMaze",
    "StandardMaze2",
    "StandardMaze3",
]


def random_levels(n, h, w, seed):
    """Valid random levels built in NumPy (agent and goal on distinct free cells)."""
    rng = np.random.default_rng(seed)
    walls = rng.random((n, h, w)) < 0.3
    agents, goals = [], []
    for i in range(n):
        a, g = rng.choice(h * w, 2, replace=False)
        walls[i].flat[[a, g]] = False
        agents.append((a % w, a // w))
        goals.append((g % w, g // w))
    return make_level(walls, np.array(agents), rng.integers(0, 4, n), np.array(goals))


def assert_levels_equal(a, b):
    for field in ("wall_map", "agent_pos", "agent_dir", "goal_pos"):
        x, y = np.asarray(getattr(a, field)), np.asarray(getattr(b, field))
        assert x.dtype == y.dtype, field
        np.testing.assert_array_equal(x, y, err_msg=field)


# ---- round trips ----------------------------------------------------------------------------


@settings(max_examples=15, deadline=None)
@given(
    n=st.integers(1, 6),
    h=st.integers(2, 15),
    w=st.integers(2, 15),
    seed=st.integers(0, 2**31 - 1),
)
def test_round_trip_random_levels(n, h, w, seed):
    levels = random_levels(n, h, w, seed)
    names = [f"maze-{i}_{seed}" for i in range(n)]
    text = format_levels(names, levels)
    parsed_names, parsed = parse_levels(text)
    assert parsed_names == names
    assert_levels_equal(parsed, levels)
    # Formatting again gives the same text.
    assert format_levels(parsed_names, parsed) == text


def test_round_trip_classic_file():
    names, levels = parse_levels(classic_text())
    text = format_levels(names, levels)
    names2, levels2 = parse_levels(text)
    assert names2 == names == CLASSIC_NAMES
    assert_levels_equal(levels2, levels)


def test_format_level_characters():
    walls = np.zeros((2, 4), dtype=bool)
    walls[0, 3] = walls[1, 0] = True
    for direction, char in enumerate(">v<^"):
        level = make_level(walls, (1, 0), direction, (2, 1))
        assert format_level(level) == f".{char}.#\n#.G.\n"
        assert format_level(level, "X") == f"= X\n.{char}.#\n#.G.\n"
    assert AGENT_CHARS == {">": 0, "v": 1, "<": 2, "^": 3}


# ---- the shipped holdout file -----------------------------------------------------------------


def test_classic_file_contents():
    names, levels = parse_levels(classic_text())
    assert names == CLASSIC_NAMES
    assert np.asarray(levels.wall_map).shape == (8, 13, 13)
    assert np.asarray(levels.wall_map).dtype == bool
    assert np.asarray(levels.agent_pos).dtype == np.int32
    # Agent characters in the file: '>' in all but LabyrinthFlipped ('<').
    np.testing.assert_array_equal(np.asarray(levels.agent_dir), [0, 0, 0, 2, 0, 0, 0, 0])
    # A few positions read straight off the file (x = column, y = row).
    lab = index_levels(levels, 2)
    np.testing.assert_array_equal(np.asarray(lab.agent_pos), [0, 12])
    np.testing.assert_array_equal(np.asarray(lab.goal_pos), [6, 6])
    flipped = index_levels(levels, 3)
    np.testing.assert_array_equal(np.asarray(flipped.agent_pos), [12, 12])
    sixteen = index_levels(levels, 0)
    np.testing.assert_array_equal(np.asarray(sixteen.agent_pos), [1, 1])
    np.testing.assert_array_equal(np.asarray(sixteen.goal_pos), [11, 11])
    assert bool(np.asarray(sixteen.wall_map)[0, 3]) and not bool(np.asarray(sixteen.wall_map)[0, 2])
    # Every maze's rows in the file match the parsed wall map.
    blocks = re.findall(r"^= (\w+)\n((?:[^\n]+\n?)+)", classic_text(), flags=re.M)
    assert [b[0] for b in blocks] == CLASSIC_NAMES
    for i, (_, rows) in enumerate(blocks):
        grid = np.array([list(r) for r in rows.strip().splitlines()])
        np.testing.assert_array_equal(np.asarray(levels.wall_map)[i], grid == "#")


def test_load_shipped_file_by_path():
    from importlib import resources

    path = resources.files("envs.maze").joinpath("data/holdout_mazes.txt")
    names, levels = load_levels(str(path))
    assert names == CLASSIC_NAMES
    assert_levels_equal(levels, parse_levels(classic_text())[1])


# ---- padding --------------------------------------------------------------------------------


def test_padding_to_larger_size_keeps_positions():
    text = "= small\n>.#\n.G.\n\n= wide\n.....\n^..G.\n"
    names, levels = parse_levels(text, height=6, width=7)
    assert names == ["small", "wide"]
    walls = np.asarray(levels.wall_map)
    assert walls.shape == (2, 6, 7)
    np.testing.assert_array_equal(walls[0, :2, :3], [[0, 0, 1], [0, 0, 0]])
    assert walls[0, 2:, :].all() and walls[0, :, 3:].all()
    assert not walls[1, :2, :5].any()
    assert walls[1, 2:, :].all() and walls[1, :, 5:].all()
    np.testing.assert_array_equal(np.asarray(levels.agent_pos), [[0, 0], [0, 1]])
    np.testing.assert_array_equal(np.asarray(levels.goal_pos), [[1, 1], [3, 1]])
    np.testing.assert_array_equal(np.asarray(levels.agent_dir), [0, 3])


def test_default_size_is_largest_maze_and_unnamed_blocks():
    names, levels = parse_levels(">G\n\n..\n.#\nvG\n")
    assert names == ["level0", "level1"]
    walls = np.asarray(levels.wall_map)
    assert walls.shape == (2, 3, 2)
    np.testing.assert_array_equal(walls[0], [[0, 0], [1, 1], [1, 1]])
    np.testing.assert_array_equal(walls[1], [[0, 0], [0, 1], [0, 0]])


def test_comments_blank_lines_and_trailing_space():
    text = "# header\n\n= A   \n# inside\n>.G  \n\n\n# tail\n"
    names, levels = parse_levels(text)
    assert names == ["A"]
    np.testing.assert_array_equal(np.asarray(levels.wall_map), [[[0, 0, 0]]])
    np.testing.assert_array_equal(np.asarray(levels.goal_pos), [[2, 0]])


# ---- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("= A\n>.G\n.x.\n", "3", "unknown character 'x'"),
        ("= A\n>.G\n. .\n", "3", "unknown character ' '"),
        ("= A\n>.G\n....\n", "3", "ragged"),
        ("= A\n>.G\n..\n", "3", "ragged"),
        ("= A\n...\n..G\n", "2-3", "no agent"),
        ("= A\n>.v\n..G\n", "2", "second agent"),
        ("= A\n>..\n..G\n.^.\n", "4", "second agent"),
        ("= A\n>..\n...\n", "2-3", "no goal"),
        ("= A\n>G.\n..G\n", "3", "second goal"),
        ("= A\n\n= B\n>G\n", "1", "no rows"),
        ("= A\n>G\n\n= B\n", "4", "no rows"),
        ("= A\n>G\n\n=\n>G\n", "4", "maze name"),
        ("= A\n>G\n\n=   \n>G\n", "4", "maze name"),
        ("= A\n>G\n\n= A\n>G\n", "4", "duplicate maze name"),
        ("# ok\n= A\n>G\n\n= B\nG>\n\n= A\nG.>\n", "8", "duplicate maze name"),
    ],
)
def test_errors_name_source_and_line(text, line, problem):
    with pytest.raises(LevelFormatError) as info:
        parse_levels(text, source="mazes.txt")
    message = str(info.value)
    assert re.search(rf"^mazes\.txt:{line}\b(?!-)", message) or message.startswith(
        f"mazes.txt:{line}:"
    ), message
    assert problem in message, message
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "# a\n\n# b\n"])
def test_empty_file_raises(text):
    with pytest.raises(LevelFormatError, match=r"^my/file\.txt: no mazes found"):
        parse_levels(text, source="my/file.txt")


def test_default_source_name():
    with pytest.raises(LevelFormatError, match=r"^<string>:2:2: unknown character"):
        parse_levels("= A\n>?G\n")


def test_unknown_character_reports_column():
    with pytest.raises(LevelFormatError, match=r"^f:3:4: unknown character 'o' in maze 'Z'"):
        parse_levels("= Z\n>..G\n...o\n", source="f")


def test_line_numbers_count_only_real_line_breaks():
    # A form feed / vertical tab / NEL inside a row is a bad character on that line, not a line
    # break (str.splitlines() would split there and shift every later line number).
    for char in ("\x0b", "\x85", "\u2028"):
        with pytest.raises(LevelFormatError, match=r"^f:3:2: unknown character"):
            parse_levels(f"= A\n>.G\n.{char}.\n", source="f")
    with pytest.raises(LevelFormatError, match=r"^f:5:2: second agent"):
        parse_levels("# c\x0c\n= A\n>.G\n...\n.v.\n", source="f")
    # Windows and old-Mac line endings are fine.
    for eol in ("\r\n", "\r"):
        names, levels = parse_levels(eol.join(["= A", ">.G", "#..", ""]))
        assert names == ["A"]
        np.testing.assert_array_equal(np.asarray(levels.wall_map), [[[0, 0, 0], [1, 0, 0]]])
    with pytest.raises(LevelFormatError, match=r"^f:3:2: second goal"):
        parse_levels("= A\r\n>.G\r\n.G.\r\n", source="f")


def test_maze_larger_than_requested_size():
    text = "= A\n>.G\n\n= Big\n>...\n...G\n"
    with pytest.raises(LevelFormatError, match=r"^f:4: maze 'Big' is 2x4, larger than .*2x3"):
        parse_levels(text, height=2, width=3, source="f")
    with pytest.raises(LevelFormatError, match=r"^f:4: maze 'Big' is 2x4"):
        parse_levels(text, height=1, width=5, source="f")
    # Exactly fitting is fine.
    _, levels = parse_levels(text, height=2, width=4, source="f")
    assert np.asarray(levels.wall_map).shape == (2, 2, 4)


def test_load_levels_missing_path(tmp_path):
    missing = tmp_path / "nope" / "mazes.txt"
    with pytest.raises(FileNotFoundError, match=re.escape(str(missing))):
        load_levels(missing)
    with pytest.raises(FileNotFoundError):
        load_levels(tmp_path)  # a directory is not a level file


def test_load_levels_errors_name_the_file(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("# comment\n= Ok\n>.G\n\n= Bad\n>..\n.G.\n..G\n")
    with pytest.raises(LevelFormatError) as info:
        load_levels(path)
    assert str(info.value).startswith(f"{path}:8:3: second goal in maze 'Bad'")
    good = tmp_path / "good.txt"
    good.write_text("= Ok\n>.G\n")
    names, levels = load_levels(good, height=3, width=4)
    assert names == ["Ok"]
    assert np.asarray(levels.wall_map).shape == (1, 3, 4)
