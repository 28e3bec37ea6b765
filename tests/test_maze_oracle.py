"""The shortest-path oracle against plain-Python BFS references, and the optimal return against a
replay of the oracle's actions in the env."""

from __future__ import annotations

from collections import deque

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from envs.maze import (
    DIRECTIONS,
    UNREACHABLE,
    Maze,
    RandomMazeGenerator,
    distance_to_goal,
    is_solvable,
    make_level,
    optimal_actions,
    optimal_return,
    shortest_path_length,
    stack_levels,
)
from envs.maze.ascii import parse_levels
from envs.maze.suites import classic_text

SIZE = 13
N_RANDOM = 640
KEY = jax.random.key(0)
DIRS = [tuple(int(c) for c in d) for d in DIRECTIONS]


# ---- references -----------------------------------------------------------------------------


def bfs_path_length(walls, agent, direction, goal) -> int:
    """Fewest actions from (agent, direction) to stepping onto the goal, by BFS over
    (x, y, dir) states; UNREACHABLE if the goal cannot be reached."""
    walls = np.asarray(walls).tolist()
    h, w = len(walls), len(walls[0])
    goal = (int(goal[0]), int(goal[1]))
    start = (int(agent[0]), int(agent[1]), int(direction))
    seen = {start}
    queue = deque([(start, 0)])
    while queue:
        (x, y, d), n = queue.popleft()
        dx, dy = DIRS[d]
        nx, ny = x + dx, y + dy
        successors = [(x, y, (d - 1) % 4), (x, y, (d + 1) % 4)]
        if 0 <= nx < w and 0 <= ny < h and not walls[ny][nx]:
            if (nx, ny) == goal:
                return n + 1
            successors.append((nx, ny, d))
        for s in successors:
            if s not in seen:
                seen.add(s)
                queue.append((s, n + 1))
    return UNREACHABLE


def bfs_distance_table(walls, goal) -> np.ndarray:
    """``int[4, H, W]`` distances to the goal by a backward BFS from the goal states."""
    walls = np.asarray(walls)
    h, w = walls.shape
    gx, gy = int(goal[0]), int(goal[1])
    dist = np.full((4, h, w), UNREACHABLE, dtype=np.int64)
    dist[:, gy, gx] = 0
    queue = deque((d, gx, gy) for d in range(4))
    while queue:
        d, x, y = queue.popleft()
        n = dist[d, y, x]
        dx, dy = DIRS[d]
        preds = [((d + 1) % 4, x, y), ((d - 1) % 4, x, y)]  # turned left / right into d
        px, py = x - dx, y - dy  # moved forward into (x, y)
        if 0 <= px < w and 0 <= py < h and not walls[py, px]:
            preds.append((d, px, py))
        for pd, qx, qy in preds:
            if dist[pd, qy, qx] == UNREACHABLE:
                dist[pd, qy, qx] = n + 1
                queue.append((pd, qx, qy))
    return dist


# ---- shared data and jitted functions --------------------------------------------------------


@jax.jit
def oracle_batch(levels):
    return (
        jax.vmap(shortest_path_length)(levels),
        jax.vmap(is_solvable)(levels),
        jax.vmap(distance_to_goal)(levels),
    )


def numpy_levels(levels):
    return jax.tree_util.tree_map(np.asarray, levels)


GENERATORS = [
    RandomMazeGenerator(SIZE, SIZE, n_walls=n_walls, wall_sampling=sampling)
    for n_walls, sampling in [
        (25, "with_replacement"),  # the default: almost always solvable
        (70, "without_replacement"),  # near the percolation threshold: about half unsolvable
    ]
]


@jax.jit
def sample_mixture(key):
    """320 levels from each generator (sparse and dense, many unsolvable), concatenated; one jit
    for all settings keeps the compile time down."""
    keys = jax.random.split(key, len(GENERATORS))
    parts = [jax.vmap(g)(jax.random.split(k, 320)) for g, k in zip(GENERATORS, keys)]
    return jax.tree_util.tree_map(lambda *xs: jnp.concatenate(xs), *parts)


@pytest.fixture(scope="module")
def random_levels():
    return sample_mixture(jax.random.key(100))


@pytest.fixture(scope="module")
def oracle_results(random_levels):
    return tuple(np.asarray(x) for x in oracle_batch(random_levels))


@pytest.fixture(scope="module")
def reference_lengths(random_levels):
    lv = numpy_levels(random_levels)
    return np.array(
        [
            bfs_path_length(lv.wall_map[i], lv.agent_pos[i], lv.agent_dir[i], lv.goal_pos[i])
            for i in range(lv.wall_map.shape[0])
        ]
    )


# ---- shortest paths -------------------------------------------------------------------------


def test_random_levels_cover_solvable_and_unsolvable(reference_lengths):
    unsolvable = np.sum(reference_lengths == UNREACHABLE)
    assert len(reference_lengths) >= 500
    assert unsolvable >= 100, unsolvable
    assert len(reference_lengths) - unsolvable >= 300


def test_shortest_path_matches_numpy_bfs(oracle_results, reference_lengths):
    lengths, solvable, _ = oracle_results
    assert lengths.dtype == np.int32
    np.testing.assert_array_equal(lengths, reference_lengths)
    np.testing.assert_array_equal(solvable, reference_lengths < UNREACHABLE)
    np.testing.assert_array_equal(lengths[~solvable], UNREACHABLE)
    # A valid level never has the agent on the goal, so every path takes at least one action.
    assert np.all(lengths >= 1)


def test_distance_table_matches_backward_bfs(random_levels, oracle_results):
    _, _, tables = oracle_results
    lv = numpy_levels(random_levels)
    assert tables.shape == (N_RANDOM, 4, SIZE, SIZE)
    for i in range(0, N_RANDOM, 6):  # ~107 levels over every density
        expected = bfs_distance_table(lv.wall_map[i], lv.goal_pos[i])
        np.testing.assert_array_equal(tables[i], expected, err_msg=f"level {i}")
        gx, gy = lv.goal_pos[i]
        assert np.all(tables[i][:, gy, gx] == 0)
        assert np.all(tables[i][:, lv.wall_map[i]] == UNREACHABLE)


HAND_BUILT = [  # (agent, direction, goal, walls, expected path length) on an open 13x13 grid
    ((0, 0), 0, (2, 0), [], 2),  # straight ahead
    ((0, 0), 2, (2, 0), [], 4),  # turn around, then two steps
    ((0, 0), 3, (1, 1), [], 4),  # right, forward, right, forward (or equivalent)
    ((0, 0), 1, (0, 4), [], 4),
    ((0, 0), 0, (2, 0), [(1, 0)], 7),  # detour: R F L F F L F
    ((0, 0), 0, (4, 4), [(0, 1), (1, 1), (1, 0)], UNREACHABLE),  # agent boxed in
    ((2, 2), 0, (4, 4), [(3, 3), (4, 3), (3, 4), (5, 4), (4, 5)], UNREACHABLE),  # goal boxed in
    ((12, 12), 3, (0, 0), [], 25),  # 12 forward, turn left, 12 forward
]


def hand_built_level(agent, direction, goal, walls):
    wall_map = np.zeros((SIZE, SIZE), dtype=bool)
    for x, y in walls:
        wall_map[y, x] = True
    return make_level(wall_map, agent, direction, goal)


@pytest.fixture(scope="module")
def fixed_results():
    """Oracle outputs for the 8 classic mazes followed by the hand-built cases, in one call."""
    names, classic = parse_levels(classic_text())
    hand = stack_levels([hand_built_level(a, d, g, w) for a, d, g, w, _ in HAND_BUILT])
    levels = jax.tree_util.tree_map(lambda *xs: jnp.concatenate(xs), classic, hand)
    lengths, solvable, _ = (np.asarray(x) for x in oracle_batch(levels))
    return names, numpy_levels(classic), lengths, solvable


@pytest.mark.parametrize("case", range(len(HAND_BUILT)))
def test_hand_built_paths(fixed_results, case):
    agent, direction, goal, walls, expected = HAND_BUILT[case]
    _, _, lengths, solvable = fixed_results
    assert lengths[8 + case] == expected
    assert solvable[8 + case] == (expected < UNREACHABLE)
    wall_map = np.asarray(hand_built_level(agent, direction, goal, walls).wall_map)
    assert bfs_path_length(wall_map, agent, direction, goal) == expected


def test_classic_holdout_paths_match_bfs(fixed_results):
    names, lv, lengths, solvable = fixed_results
    lengths, solvable = lengths[: len(names)], solvable[: len(names)]
    expected = [
        bfs_path_length(lv.wall_map[i], lv.agent_pos[i], lv.agent_dir[i], lv.goal_pos[i])
        for i in range(len(names))
    ]
    np.testing.assert_array_equal(lengths, expected)
    assert solvable.all()
    # Every classic maze needs a real walk: longer than the Manhattan distance, shorter than the
    # 250-step limit.
    manhattan = np.abs(lv.agent_pos - lv.goal_pos).sum(-1)
    assert np.all(lengths > manhattan) and np.all(lengths < 250)


# ---- optimal return vs. replaying the oracle's actions -----------------------------------------


BOUNDARY = [  # (agent, direction, goal) on an empty grid: paths of 12, 13 and 11 actions
    ((0, 0), 0, (12, 0)),  # 12 forward moves
    ((0, 0), 3, (12, 0)),  # a turn and 12 moves
    ((0, 0), 0, (11, 0)),  # 11 moves
]
SHORT_LIMIT = 12  # the second env's time limit


def replay(max_steps: int, max_len: int):
    """Replay ``optimal_actions`` in ``Maze(max_steps=...)`` on one level. Returns (discounted
    return, solved, step index of the end, optimal_return, actions, length)."""
    env = Maze(height=SIZE, width=SIZE, max_steps=max_steps)

    def one(level, gamma):
        actions, length = optimal_actions(level, max_len)
        _, state = env.reset_to_level(KEY, level)

        def body(carry, inputs):
            state, ret, finished, solved, end = carry
            t, action = inputs
            _, state, reward, done, _, info = env.step(KEY, state, action)
            live = ~finished
            ret = ret + jnp.where(live, gamma ** t.astype(jnp.float32) * reward, 0.0)
            solved = solved | (live & info["solved"])
            end = jnp.where(live & done, t, end)
            return (state, ret, finished | done, solved, end), None

        init = (state, jnp.float32(0), jnp.bool_(False), jnp.bool_(False), jnp.int32(-1))
        steps = (jnp.arange(max_len, dtype=jnp.int32), actions)
        (_, ret, _, solved, end), _ = jax.lax.scan(body, init, steps)
        return ret, solved, end, optimal_return(level, gamma, max_steps), actions, length

    return jax.vmap(one, in_axes=(0, None))


@jax.jit
def replay_both(levels, gamma):
    """Both time limits in one compiled program, plus optimal_return's default limit."""
    return {
        "long": replay(250, 250)(levels, gamma),
        "short": replay(SHORT_LIMIT, 64)(levels, gamma),
        "default": jax.vmap(optimal_return, in_axes=(0, None))(levels, gamma),
    }


@pytest.fixture(scope="module")
def replays(random_levels):
    """Replays on the random levels followed by the BOUNDARY levels, for gamma 0.99 and 0.9."""
    boundary = stack_levels(
        [make_level(np.zeros((SIZE, SIZE), bool), a, d, g) for a, d, g in BOUNDARY]
    )
    levels = jax.tree_util.tree_map(lambda *xs: jnp.concatenate(xs), random_levels, boundary)
    out = {}
    for gamma in (0.99, 0.9):
        result = replay_both(levels, jnp.float32(gamma))
        out[gamma] = {
            k: (np.asarray(v) if k == "default" else tuple(np.asarray(x) for x in v))
            for k, v in result.items()
        }
    return out


def random_part(results):
    return tuple(x[:N_RANDOM] for x in results)


@pytest.mark.parametrize("gamma", [0.99, 0.9])
def test_replaying_optimal_actions_earns_optimal_return(replays, reference_lengths, gamma):
    ret, solved, end, v_star, actions, length = random_part(replays[gamma]["long"])
    ok = reference_lengths < UNREACHABLE
    assert ok.sum() >= 300
    # Solvable levels: the replay reaches the goal on the last oracle action and earns V*.
    assert solved[ok].all()
    np.testing.assert_array_equal(end[ok], reference_lengths[ok] - 1)
    np.testing.assert_array_equal(length[ok], reference_lengths[ok])
    np.testing.assert_allclose(ret[ok], v_star[ok], rtol=0, atol=1e-6)
    n = reference_lengths[ok] - 1
    expected = (1 - 0.9 * (n + 1) / 250) * gamma**n
    np.testing.assert_allclose(v_star[ok], expected, rtol=1e-5, atol=1e-6)
    assert np.all(v_star[ok] > 0)
    # optimal_return's default time limit is 250.
    np.testing.assert_array_equal(replays[gamma]["default"][:N_RANDOM], v_star)
    # Unsolvable levels: V* = 0 and no reward.
    np.testing.assert_array_equal(v_star[~ok], 0.0)
    np.testing.assert_array_equal(ret[~ok], 0.0)
    assert not solved[~ok].any()
    # Actions are valid and zero-padded after the path.
    assert np.isin(actions, [0, 1, 2]).all()
    mask = np.arange(250)[None, :] >= length[:, None]
    np.testing.assert_array_equal(actions[mask], 0)


def test_optimal_return_zero_when_path_exceeds_time_limit(replays, reference_lengths):
    ret, solved, end, v_star, _, _ = random_part(replays[0.99]["short"])
    short = reference_lengths <= SHORT_LIMIT
    long = ~short
    assert short.sum() >= 50 and (long & (reference_lengths < UNREACHABLE)).sum() >= 50
    np.testing.assert_array_equal(v_star[long], 0.0)
    np.testing.assert_array_equal(ret[long], 0.0)
    assert not solved[long].any()
    # Every episode on a long level times out at exactly t = max_steps - 1.
    np.testing.assert_array_equal(end[long], SHORT_LIMIT - 1)
    np.testing.assert_allclose(ret[short], v_star[short], rtol=0, atol=1e-6)
    assert solved[short].all()
    assert np.all(v_star[short] > 0)


def test_optimal_return_boundary_at_max_steps(replays):
    """A path of exactly max_steps actions still earns 0.1 * gamma**(max_steps - 1); one more
    action earns nothing."""
    gamma = 0.9
    ret, solved, end, v_star, _, length = (x[N_RANDOM:] for x in replays[gamma]["short"])
    np.testing.assert_array_equal(length, [12, 13, 11])
    np.testing.assert_array_equal(solved, [True, False, True])
    np.testing.assert_array_equal(end, [11, 11, 10])
    expected = [0.1 * gamma**11, 0.0, (1 - 0.9 * 11 / 12) * gamma**10]
    np.testing.assert_allclose(v_star, expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(ret, v_star, rtol=0, atol=1e-6)
    # With the default limit of 250 every one of them is worth its full discounted reward.
    np.testing.assert_allclose(
        replays[gamma]["default"][N_RANDOM:],
        [(1 - 0.9 * n / 250) * gamma ** (n - 1) for n in (12, 13, 11)],
        rtol=1e-5,
    )
