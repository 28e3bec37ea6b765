"""The holdout suites: the classic mazes and the procedural OOD families."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from envs.maze import (
    SUITES,
    Maze,
    RandomMazeGenerator,
    Suite,
    is_solvable,
    is_valid,
    pad_level,
    random_solvable_levels,
)

PROCEDURAL = [name for name, s in SUITES.items() if s.generate is not None]
EXPECTED = {  # name: (size, max_steps)
    "classic": (13, 250),
    "small-corridor": (13, 2 * 15 * 15),
    "large-corridor": (19, 2 * 21 * 21),
    "four-rooms": (17, 250),
    "crossing": (9, 4 * 11 * 11),
    "perfect-medium": (19, 2 * 21 * 21),
    "perfect-large": (51, 2 * 53 * 53),
}
# Levels per procedural suite in these tests (the large perfect mazes are the costly ones).
NUM_LEVELS = {"perfect-large": 6}
DEFAULT_NUM = 24

CHECK = jax.jit(jax.vmap(lambda lvl: (is_valid(lvl), is_solvable(lvl))))


def np_levels(levels):
    return jax.tree_util.tree_map(np.asarray, levels)


@pytest.fixture(scope="module")
def suite_levels():
    """``{name: (names, numpy levels)}`` for every suite, from seed 0."""
    return {
        name: (lambda r: (r[0], np_levels(r[1])))(
            suite.levels(NUM_LEVELS.get(name, DEFAULT_NUM), seed=0)
            if suite.generate is not None
            else suite.levels()
        )
        for name, suite in SUITES.items()
    }


@pytest.fixture(scope="module")
def suite_checks(suite_levels):
    """``{name: (valid, solvable)}``: every suite up to 19x19 padded with walls to 19x19 and
    checked in one call, the 51x51 suite in another."""
    small = [n for n in SUITES if SUITES[n].height <= 19]
    padded = [
        pad_level(jax.tree_util.tree_map(jnp.asarray, suite_levels[n][1]), 19, 19) for n in small
    ]
    sizes = [p.wall_map.shape[0] for p in padded]
    valid, solvable = (
        np.asarray(x)
        for x in CHECK(jax.tree_util.tree_map(lambda *xs: jnp.concatenate(xs), *padded))
    )
    out, start = {}, 0
    for name, n in zip(small, sizes):
        out[name] = (valid[start : start + n], solvable[start : start + n])
        start += n
    large = suite_levels["perfect-large"][1]
    out["perfect-large"] = tuple(np.asarray(x) for x in CHECK(large))
    return out


def test_suite_registry():
    assert list(SUITES) == list(EXPECTED)
    assert PROCEDURAL == list(EXPECTED)[1:]
    for name, suite in SUITES.items():
        assert isinstance(suite, Suite) and suite.name == name
        size, max_steps = EXPECTED[name]
        assert (suite.height, suite.width, suite.max_steps) == (size, size, max_steps)
        if suite.generate is not None:
            assert suite.default_levels > 0


@pytest.mark.parametrize("name", list(EXPECTED))
def test_levels_are_valid_and_solvable(suite_levels, suite_checks, name):
    names, levels = suite_levels[name]
    size, _ = EXPECTED[name]
    n = 8 if name == "classic" else NUM_LEVELS.get(name, DEFAULT_NUM)
    assert len(names) == n
    assert levels.wall_map.shape == (n, size, size) and levels.wall_map.dtype == bool
    assert levels.agent_pos.dtype == np.int32 and levels.agent_pos.shape == (n, 2)
    assert levels.goal_pos.dtype == np.int32 and levels.agent_dir.dtype == np.int32
    valid, solvable = suite_checks[name]
    assert valid.all(), np.flatnonzero(~valid)
    assert solvable.all(), np.flatnonzero(~solvable)
    if name != "classic":
        assert names == [f"{SUITES[name].title}-{i:03d}" for i in range(n)]


@pytest.mark.parametrize("name", PROCEDURAL)
def test_procedural_suites_are_seeded(suite_levels, name):
    suite = SUITES[name]
    n = NUM_LEVELS.get(name, DEFAULT_NUM)
    _, levels = suite_levels[name]
    _, again = suite.levels(n, seed=0)
    _, other = suite.levels(n, seed=1)
    for field in ("wall_map", "agent_pos", "agent_dir", "goal_pos"):
        np.testing.assert_array_equal(np.asarray(getattr(again, field)), getattr(levels, field))
    differs = (np.asarray(other.wall_map) != levels.wall_map).any((1, 2))
    differs |= (np.asarray(other.goal_pos) != levels.goal_pos).any(1)
    differs |= (np.asarray(other.agent_pos) != levels.agent_pos).any(1)
    differs |= np.asarray(other.agent_dir) != levels.agent_dir
    assert differs.mean() > 0.5
    # Within one draw the levels vary too.
    distinct = {
        (w.tobytes(), tuple(a), int(d), tuple(g))
        for w, a, d, g in zip(levels.wall_map, levels.agent_pos, levels.agent_dir, levels.goal_pos)
    }
    assert len(distinct) > n // 2


def test_default_level_counts():
    for name in ("small-corridor", "crossing"):
        names, levels = SUITES[name].levels()
        assert len(names) == SUITES[name].default_levels
        assert np.asarray(levels.wall_map).shape[0] == SUITES[name].default_levels
    with pytest.raises(ValueError):
        SUITES["crossing"].levels(0)


def free_neighbours(walls, x, y):
    h, w = walls.shape
    return sum(
        0 <= x + dx < w and 0 <= y + dy < h and not walls[y + dy, x + dx]
        for dx, dy in ((1, 0), (0, 1), (-1, 0), (0, -1))
    )


@pytest.mark.parametrize("name", ["small-corridor", "large-corridor"])
def test_corridor_goal_at_a_dead_end(suite_levels, name):
    _, lv = suite_levels[name]
    size = EXPECTED[name][0]
    mid = size // 2
    walls0 = lv.wall_map[0]
    # Every level has the same comb; only the goal (and direction) vary.
    assert (lv.wall_map == walls0).all()
    # The spine: a wall row through the middle, open at both ends.
    assert walls0[mid, 1 : size - 1].all() and not walls0[mid, 0] and not walls0[mid, size - 1]
    goals = set()
    for i in range(lv.wall_map.shape[0]):
        gx, gy = lv.goal_pos[i]
        assert free_neighbours(lv.wall_map[i], gx, gy) == 1, (i, gx, gy)
        assert gy in (mid - 1, mid + 1)  # the inner end, next to the spine
        np.testing.assert_array_equal(lv.agent_pos[i], [0, mid])  # left of the spine
        goals.add((int(gx), int(gy)))
    assert len(goals) > 5


def is_tree(walls):
    """Whether the free cells form a tree: connected, and #edges == #cells - 1."""
    free = ~walls
    cells = int(free.sum())
    edges = int((free[:, 1:] & free[:, :-1]).sum() + (free[1:, :] & free[:-1, :]).sum())
    return edges == cells - 1


@pytest.mark.parametrize(("name", "size"), [("perfect-medium", 19), ("perfect-large", 51)])
def test_perfect_mazes_are_perfect(suite_levels, suite_checks, name, size):
    _, lv = suite_levels[name]
    for walls in lv.wall_map:
        assert is_tree(walls)
        # The carve visits every even-coordinate cell and never opens an odd-odd cell.
        assert not walls[::2, ::2].any()
        assert walls[1::2, 1::2].all()
        assert int((~walls).sum()) == 2 * (size // 2 + 1) ** 2 - 1
    # Connected as well (is_tree counts edges; solvability of every level confirms reachability).
    assert suite_checks[name][1].all()


def test_is_tree_helper_rejects_cycles():
    walls = np.ones((3, 3), dtype=bool)
    walls[0, :] = walls[1, 0] = walls[1, 1] = False  # an L plus one extra cell: a 2x2 block
    assert not is_tree(walls)
    walls[1, 1] = True
    assert is_tree(walls)


def test_four_rooms_doors(suite_levels):
    _, lv = suite_levels["four-rooms"]
    mid = 17 // 2
    for walls in lv.wall_map:
        cross = np.zeros_like(walls)
        cross[mid, :] = cross[:, mid] = True
        assert not walls[~cross].any()  # rooms are empty
        doors = [(x, mid) for x in range(17) if not walls[mid, x]]
        doors += [(mid, y) for y in range(17) if not walls[y, mid]]
        assert len(doors) == 4
        assert walls[mid, mid]
        # One door per wall segment: left/right of the centre and above/below it.
        xs = [x for x, y in doors if y == mid]
        ys = [y for x, y in doors if x == mid]
        assert sum(x < mid for x in xs) == 1 and sum(x > mid for x in xs) == 1
        assert sum(y < mid for y in ys) == 1 and sum(y > mid for y in ys) == 1
    # Agent and goal are random.
    assert len({tuple(g) for g in lv.goal_pos}) > 10
    assert len({tuple(a) for a in lv.agent_pos}) > 10


def test_crossing_layout(suite_levels):
    _, lv = suite_levels["crossing"]
    np.testing.assert_array_equal(lv.agent_pos, np.tile([0, 0], (len(lv.agent_pos), 1)))
    np.testing.assert_array_equal(lv.agent_dir, 0)
    np.testing.assert_array_equal(lv.goal_pos, np.tile([8, 8], (len(lv.goal_pos), 1)))
    for walls in lv.wall_map:
        # Walls only on odd rows / columns, and some are there.
        even = np.zeros_like(walls)
        even[::2, ::2] = True
        assert not walls[even].any()
        assert walls.sum() > 0
    assert len({w.tobytes() for w in lv.wall_map}) > 10


def test_classic_suite_is_the_shipped_file(suite_levels):
    names, lv = suite_levels["classic"]
    assert names == [
        "SixteenRooms",
        "SixteenRooms2",
        "Labyrinth",
        "LabyrinthFlipped",
        "Labyrinth2",
        "StandardMaze",
        "StandardMaze2",
        "StandardMaze3",
    ]
    assert lv.wall_map.shape == (8, 13, 13)


def test_suite_env_keeps_base_view():
    base = Maze(height=13, width=13, view_size=3, max_steps=250, n_walls=25, solvable_only=True)
    for name, suite in SUITES.items():
        env = suite.env(base)
        size, max_steps = EXPECTED[name]
        assert (env.height, env.width, env.max_steps) == (size, size, max_steps)
        assert env.view_size == 3
        assert env.observation_shape() == (3, 3, 3)
        assert env.fully_observed == base.fully_observed
    big = SUITES["perfect-large"].env(dataclasses.replace(base, fully_observed=True))
    assert big.observation_shape() == (51, 51, 4)


def test_suite_levels_play_in_suite_env(suite_levels):
    # One short rollout on the large corridor in its own env: shapes line up and the level's
    # start is respected.
    suite = SUITES["large-corridor"]
    env = suite.env(Maze())
    _, lv = suite_levels["large-corridor"]
    level = jax.tree_util.tree_map(lambda x: jnp.asarray(x[0]), lv)
    obs, state = jax.jit(env.reset_to_level)(jax.random.key(0), level)
    assert obs.image.shape == (5, 5, 3)
    np.testing.assert_array_equal(np.asarray(state.agent_pos), lv.agent_pos[0])


# ---- random solvable levels ------------------------------------------------------------------


GEN = RandomMazeGenerator(7, 7, n_walls=20)


@pytest.fixture(scope="module")
def random_sets():
    return {
        "a": random_solvable_levels(GEN, 40, seed=3, batch=32),
        "b": random_solvable_levels(GEN, 25, seed=3, batch=32),
        "c": random_solvable_levels(GEN, 40, seed=4, batch=32),
    }


def test_random_solvable_levels(random_sets):
    a, b, c = (np_levels(random_sets[k]) for k in "abc")
    assert a.wall_map.shape == (40, 7, 7) and b.wall_map.shape == (25, 7, 7)
    assert a.agent_pos.dtype == np.int32 and a.wall_map.dtype == bool
    valid, solvable = (np.asarray(x) for x in CHECK(pad_level(random_sets["a"], 19, 19)))
    assert valid.all() and solvable.all()
    # Deterministic in the seed: the same seed gives the same draw order, so a shorter request is
    # a prefix of a longer one; another seed gives other levels.
    for field in ("wall_map", "agent_pos", "agent_dir", "goal_pos"):
        np.testing.assert_array_equal(getattr(b, field), getattr(a, field)[:25])
    assert (a.wall_map != c.wall_map).any((1, 2)).mean() > 0.8
    # The dense setting makes many unsolvable candidates, so the filter is doing work.
    assert 10 < a.wall_map.sum((1, 2)).mean() <= 20
