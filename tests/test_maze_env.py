"""Dynamics and observations of ``envs.maze.Maze`` on hand-built levels, and the reset wrappers.

The contract is docs/spec ``maze.md``: actions 0 = turn left, 1 = turn right, 2 = forward;
directions 0 = +x, 1 = +y (down), 2 = -x, 3 = -y; positions (x, y) with y the row index.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envs.maze import (
    DIRECTIONS,
    FORWARD,
    TURN_LEFT,
    TURN_RIGHT,
    Maze,
    MazeObs,
    make_level,
    stack_levels,
)
from ued.env import AutoReplay, AutoReset

H = W = 7
MAX_STEPS = 20
ENV = Maze(height=H, width=W, view_size=5, max_steps=MAX_STEPS, n_walls=10)
KEY = jax.random.key(0)

# One jitted function per env, shared by every test of this module.
RESET = jax.jit(ENV.reset_to_level)


def five(step):
    """A 6-value ``step`` as ``(obs, state, reward, done, info)``, ``done = terminated |
    truncated`` (most tests here only care whether the episode ended)."""

    def wrapped(*args):
        obs, state, reward, terminated, truncated, info = step(*args)
        return obs, state, reward, terminated | truncated, info

    return wrapped


STEP = five(jax.jit(ENV.step))

WALL, FREE, GOAL = 0, 1, 2


def level(walls=(), agent=(3, 3), direction=0, goal=(6, 6), h=H, w=W):
    """A level from a list of wall cells given as (x, y)."""
    wall_map = np.zeros((h, w), dtype=bool)
    for x, y in walls:
        wall_map[y, x] = True
    return make_level(wall_map, agent, direction, goal)


def run(lvl, actions):
    """Reset on ``lvl`` and take ``actions``; returns the list of (obs, state, reward, done, info)
    after each step and the reset (obs, state)."""
    obs, state = RESET(KEY, lvl)
    out = []
    for a in actions:
        obs, state, reward, done, info = STEP(KEY, state, jnp.int32(a))
        out.append((obs, state, float(reward), bool(done), {k: bool(v) for k, v in info.items()}))
    return out


def pos(state):
    return tuple(int(v) for v in state.agent_pos)


# ---- construction ---------------------------------------------------------------------------


def test_default_construction():
    env = Maze(height=13, width=13, view_size=5, max_steps=250)
    assert (env.height, env.width, env.view_size, env.max_steps) == (13, 13, 5, 250)
    assert env.num_actions == 3
    assert env.observation_shape() == (5, 5, 3)
    dummy = env.dummy_observation()
    assert dummy.image.shape == (5, 5, 3) and dummy.image.dtype == jnp.uint8
    assert dummy.agent_dir.shape == () and dummy.agent_dir.dtype == jnp.int32
    assert (TURN_LEFT, TURN_RIGHT, FORWARD) == (0, 1, 2)
    # The env is hashable (it is closed over by jit).
    assert hash(env) == hash(Maze(height=13, width=13, view_size=5, max_steps=250))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"height": 0},
        {"height": -3},
        {"width": 0},
        {"width": -1},
        {"view_size": 0},
        {"view_size": -5},
        {"view_size": 4},
        {"view_size": 6},
        {"max_steps": 0},
        {"max_steps": -250},
    ],
)
def test_invalid_sizes_raise(kwargs):
    with pytest.raises(ValueError):
        Maze(**kwargs)


# ---- turning --------------------------------------------------------------------------------


@pytest.mark.parametrize("start", range(4))
def test_turns_wrap(start):
    lvl = level(direction=start)
    ((_, s_left, r_left, d_left, _),) = run(lvl, [TURN_LEFT])
    ((_, s_right, r_right, d_right, _),) = run(lvl, [TURN_RIGHT])
    assert int(s_left.agent_dir) == (start - 1) % 4
    assert int(s_right.agent_dir) == (start + 1) % 4
    # Turning never moves, rewards or ends the episode.
    assert pos(s_left) == pos(s_right) == (3, 3)
    assert r_left == r_right == 0.0
    assert not d_left and not d_right


def test_four_turns_each_way_return_to_start():
    lvl = level(direction=2)
    steps = run(lvl, [TURN_RIGHT] * 4 + [TURN_LEFT] * 4)
    dirs = [int(s.agent_dir) for _, s, *_ in steps]
    assert dirs == [3, 0, 1, 2, 1, 0, 3, 2]
    assert [int(s.time) for _, s, *_ in steps] == list(range(1, 9))


# ---- moving ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("direction", "expected"), [(0, (4, 3)), (1, (3, 4)), (2, (2, 3)), (3, (3, 2))]
)
def test_forward_moves_one_cell(direction, expected):
    steps = run(level(direction=direction), [FORWARD])
    _, state, reward, done, info = steps[0]
    assert pos(state) == expected
    assert int(state.agent_dir) == direction
    assert reward == 0.0 and not done and not info["solved"]
    np.testing.assert_array_equal(DIRECTIONS[direction], np.subtract(expected, (3, 3)))


def test_forward_twice_then_blocked_by_edge():
    # Facing right from (4, 3): two moves reach x = 6 = W - 1, the third is blocked by the edge.
    steps = run(level(agent=(4, 3), direction=0, goal=(0, 0)), [FORWARD] * 3)
    assert [pos(s) for _, s, *_ in steps] == [(5, 3), (6, 3), (6, 3)]


@pytest.mark.parametrize("direction", range(4))
def test_forward_blocked_by_wall(direction):
    dx, dy = DIRECTIONS[direction]
    wall = (3 + int(dx), 3 + int(dy))
    steps = run(level(walls=[wall], direction=direction), [FORWARD, FORWARD])
    for _, state, reward, done, _ in steps:
        assert pos(state) == (3, 3)
        assert int(state.agent_dir) == direction
        assert reward == 0.0 and not done
    # The time still advances when blocked.
    assert int(steps[-1][1].time) == 2


@pytest.mark.parametrize(
    ("agent", "direction"),
    [((6, 2), 0), ((2, 6), 1), ((0, 4), 2), ((5, 0), 3), ((0, 0), 2), ((0, 0), 3), ((6, 6), 0)],
)
def test_forward_blocked_at_grid_edge(agent, direction):
    goal = (3, 3)
    steps = run(level(agent=agent, direction=direction, goal=goal), [FORWARD])
    _, state, reward, done, _ = steps[0]
    assert pos(state) == agent
    assert reward == 0.0 and not done


def test_walls_elsewhere_do_not_block():
    # Walls beside and behind the agent do not stop a forward move.
    walls = [(3, 2), (3, 4), (2, 3)]
    steps = run(level(walls=walls, direction=0), [FORWARD])
    assert pos(steps[0][1]) == (4, 3)


# ---- reward and termination -----------------------------------------------------------------


@pytest.mark.parametrize("direction", range(4))
def test_reaching_goal_rewards_and_ends(direction):
    dx, dy = DIRECTIONS[direction]
    goal = (3 + 2 * int(dx), 3 + 2 * int(dy))
    steps = run(level(direction=direction, goal=goal), [FORWARD, FORWARD])
    (_, _, r0, d0, i0), (_, s1, r1, d1, i1) = steps
    assert r0 == 0.0 and not d0 and not i0["solved"]
    assert pos(s1) == goal
    assert d1 and i1["solved"] and bool(s1.done)
    # Reached at step index t = 1.
    np.testing.assert_allclose(r1, 1.0 - 0.9 * 2 / MAX_STEPS, rtol=0, atol=1e-6)


@pytest.mark.parametrize("n_turns", [0, 1, 5, 17])
def test_goal_reward_depends_on_step_index(n_turns):
    # Turn in place n_turns times (a multiple of 4 plus extra), then face right and step.
    actions = [TURN_LEFT] * n_turns + [TURN_RIGHT] * (n_turns % 4) + [FORWARD]
    steps = run(level(direction=0, goal=(4, 3)), actions)
    t = len(actions) - 1
    for _, _, reward, done, info in steps[:-1]:
        assert reward == 0.0 and not done and not info["solved"]
    _, state, reward, done, info = steps[-1]
    assert done and info["solved"]
    assert int(state.time) == t + 1
    np.testing.assert_allclose(reward, 1.0 - 0.9 * (t + 1) / MAX_STEPS, rtol=0, atol=1e-6)
    assert reward > 0.0


def test_time_out_exactly_at_max_steps():
    steps = run(level(), [TURN_LEFT] * MAX_STEPS)
    dones = [d for _, _, _, d, _ in steps]
    assert dones == [False] * (MAX_STEPS - 1) + [True]
    assert all(r == 0.0 for _, _, r, _, _ in steps)
    assert not any(i["solved"] for *_, i in steps)
    assert int(steps[-1][1].time) == MAX_STEPS


def test_goal_on_last_step_still_rewarded():
    # 19 actions that end facing right at the start (a blocked forward into a wall makes the count
    # odd), then forward onto the goal at t = MAX_STEPS - 1: time limit and goal at once.
    prefix = [TURN_LEFT, FORWARD, TURN_RIGHT] + [TURN_LEFT, TURN_RIGHT] * ((MAX_STEPS - 4) // 2)
    assert len(prefix) == MAX_STEPS - 1
    steps = run(level(walls=[(3, 2)], direction=0, goal=(4, 3)), [*prefix, FORWARD])
    assert all(not d and r == 0.0 for _, _, r, d, _ in steps[:-1])
    assert int(steps[-2][1].agent_dir) == 0 and pos(steps[-2][1]) == (3, 3)
    _, state, reward, done, info = steps[-1]
    assert done and info["solved"] and pos(state) == (4, 3)
    np.testing.assert_allclose(reward, 0.1, rtol=0, atol=1e-6)


def test_no_reward_for_moving_next_to_goal():
    steps = run(level(direction=1, goal=(4, 5)), [FORWARD, FORWARD])
    assert [pos(s) for _, s, *_ in steps] == [(3, 4), (3, 5)]
    assert all(r == 0.0 and not d for _, _, r, d, _ in steps)


# ---- egocentric observation -----------------------------------------------------------------


def view_cell(offset_ahead: int, offset_right: int, v: int = 5) -> tuple[int, int]:
    """(row, col) of the view cell ``offset_ahead`` cells in front and ``offset_right`` to the
    right of the agent."""
    return v - 1 - offset_ahead, v // 2 + offset_right


def right_of(direction: int) -> tuple[int, int]:
    # In y-down coordinates the agent's right is its heading turned clockwise.
    return tuple(int(c) for c in DIRECTIONS[(direction + 1) % 4])


@pytest.mark.parametrize("direction", range(4))
def test_view_places_wall_and_goal_relative_to_agent(direction):
    fx, fy = (int(c) for c in DIRECTIONS[direction])
    rx, ry = right_of(direction)
    ax, ay = 3, 3
    wall = (ax + 2 * fx + 1 * rx, ay + 2 * fy + 1 * ry)  # 2 ahead, 1 right
    goal = (ax + 1 * fx - 2 * rx, ay + 1 * fy - 2 * ry)  # 1 ahead, 2 left
    wall_right = (ax + rx, ay + ry)  # directly to the right
    lvl = level(walls=[wall, wall_right], agent=(ax, ay), direction=direction, goal=goal)
    obs, _ = RESET(KEY, lvl)
    image = np.asarray(obs.image)
    assert image.shape == (5, 5, 3) and image.dtype == np.uint8
    assert int(obs.agent_dir) == direction
    # One-hot channels everywhere.
    np.testing.assert_array_equal(image.sum(-1), 1)
    expected = np.zeros((5, 5), dtype=int) + FREE
    expected[view_cell(2, 1)] = WALL
    expected[view_cell(0, 1)] = WALL
    expected[view_cell(1, -2)] = GOAL
    # Cells further than 3 ahead are outside the 7x7 grid from the centre.
    expected[0, :] = WALL
    np.testing.assert_array_equal(image.argmax(-1), expected)
    # The agent's own cell is the bottom centre and is free.
    assert image[4, 2, FREE] == 1


@pytest.mark.parametrize("direction", range(4))
def test_view_outside_grid_reads_as_wall(direction):
    # Agent in the top-left corner of an empty grid.
    lvl = level(agent=(0, 0), direction=direction, goal=(6, 6))
    obs, _ = RESET(KEY, lvl)
    kind = np.asarray(obs.image).argmax(-1)
    fx, fy = (int(c) for c in DIRECTIONS[direction])
    rx, ry = right_of(direction)
    for row in range(5):
        for col in range(5):
            ahead, right = 4 - row, col - 2
            x, y = ahead * fx + right * rx, ahead * fy + right * ry
            inside = 0 <= x < W and 0 <= y < H
            assert kind[row, col] == (FREE if inside else WALL), (row, col, x, y)


def test_view_after_turn_and_move():
    # Wall at (5, 3). Facing up from (3, 3), the wall is 2 to the right and 0 ahead; after a right
    # turn it is 2 ahead; after one step forward it is 1 ahead.
    lvl = level(walls=[(5, 3)], direction=3, goal=(0, 6))
    obs0, _ = RESET(KEY, lvl)
    (obs1, *_), (obs2, *_) = run(lvl, [TURN_RIGHT, FORWARD])
    assert np.asarray(obs0.image)[(*view_cell(0, 2), WALL)] == 1
    assert np.asarray(obs1.image)[(*view_cell(2, 0), WALL)] == 1
    assert np.asarray(obs2.image)[(*view_cell(1, 0), WALL)] == 1
    assert int(obs0.agent_dir) == 3 and int(obs1.agent_dir) == 0 and int(obs2.agent_dir) == 0


def reference_view(wall_map, goal, agent, direction, v):
    """The egocentric crop by rotating the padded world image with ``np.rot90``."""
    kind = np.where(wall_map, WALL, FREE)
    kind[goal[1], goal[0]] = GOAL
    padded = np.pad(kind, v, constant_values=WALL)
    marker = np.zeros_like(padded)
    marker[agent[1] + v, agent[0] + v] = 1
    # Rotate counter-clockwise so that the agent's heading points up: right (0) needs one quarter
    # turn, down (1) two, left (2) three, up (3) none.
    k = (direction + 1) % 4
    padded, marker = np.rot90(padded, k), np.rot90(marker, k)
    ay, ax = np.argwhere(marker)[0]
    crop = padded[ay - v + 1 : ay + 1, ax - v // 2 : ax + v // 2 + 1]
    return np.eye(3, dtype=np.uint8)[crop]


@pytest.mark.parametrize("view_size", [3, 5, 7])
def test_view_matches_rotation_reference(view_size):
    env = Maze(height=H, width=W, view_size=view_size, max_steps=MAX_STEPS)
    rng = np.random.default_rng(view_size)
    n = 300
    walls = rng.random((n, H, W)) < 0.35
    agents = rng.integers(0, [W, H], size=(n, 2))
    goals = rng.integers(0, [W, H], size=(n, 2))
    dirs = rng.integers(0, 4, size=n)
    walls[np.arange(n), goals[:, 1], goals[:, 0]] = False  # the goal is always on a free cell
    levels = make_level(walls, agents, dirs, goals)
    obs = jax.jit(jax.vmap(lambda lvl: env.reset_to_level(KEY, lvl)[0]))(levels)
    images = np.asarray(obs.image)
    np.testing.assert_array_equal(np.asarray(obs.agent_dir), dirs)
    for i in range(n):
        expected = reference_view(walls[i], goals[i], agents[i], dirs[i], view_size)
        np.testing.assert_array_equal(images[i], expected, err_msg=f"level {i}")


def test_fully_observed_variant():
    env = Maze(height=H, width=W, view_size=5, max_steps=MAX_STEPS, fully_observed=True)
    assert env.observation_shape() == (H, W, 4)
    lvl = level(walls=[(1, 2), (5, 5)], agent=(2, 4), direction=1, goal=(6, 0))
    reset, step = jax.jit(env.reset_to_level), jax.jit(env.step)
    obs, state = reset(KEY, lvl)
    image = np.asarray(obs.image)
    assert image.shape == (H, W, 4) and image.dtype == np.uint8
    assert isinstance(obs, MazeObs) and int(obs.agent_dir) == 1
    np.testing.assert_array_equal(image[..., :3].sum(-1), 1)
    walls = np.asarray(lvl.wall_map)
    np.testing.assert_array_equal(image[..., WALL], walls)
    goal = np.zeros((H, W), dtype=np.uint8)
    goal[0, 6] = 1
    np.testing.assert_array_equal(image[..., GOAL], goal)
    agent = np.zeros((H, W), dtype=np.uint8)
    agent[4, 2] = 1
    np.testing.assert_array_equal(image[..., 3], agent)
    # The agent channel follows the agent (facing down: (2, 4) -> (2, 5)).
    obs, state, *_ = step(KEY, state, jnp.int32(FORWARD))
    agent = np.zeros((H, W), dtype=np.uint8)
    agent[5, 2] = 1
    np.testing.assert_array_equal(np.asarray(obs.image)[..., 3], agent)
    assert env.dummy_observation().image.shape == (H, W, 4)


def test_reset_state_and_dtypes():
    lvl = level(agent=(1, 2), direction=3, goal=(5, 4))
    _, state = RESET(KEY, lvl)
    assert pos(state) == (1, 2)
    assert int(state.agent_dir) == 3 and int(state.time) == 0 and not bool(state.done)
    assert state.agent_pos.dtype == jnp.int32 and state.time.dtype == jnp.int32
    assert state.done.dtype == jnp.bool_
    _, _, reward, done, info = STEP(KEY, state, jnp.int32(TURN_LEFT))
    assert reward.dtype == jnp.float32 and reward.shape == ()
    assert done.dtype == jnp.bool_ and info["solved"].dtype == jnp.bool_


@settings(max_examples=25, deadline=None)
@given(
    agent=st.tuples(st.integers(0, W - 1), st.integers(0, H - 1)),
    direction=st.integers(0, 3),
    actions=st.lists(st.integers(0, 2), min_size=1, max_size=12),
)
def test_random_walk_matches_python_model(agent, direction, actions):
    """A tiny pure-Python model of the dynamics on an open grid with a fixed wall."""
    wall = (3, 3)
    goal = (6, 0) if agent != (6, 0) else (0, 6)
    if agent == wall:
        agent = (0, 0) if goal != (0, 0) else (1, 0)
    lvl = level(walls=[wall], agent=agent, direction=direction, goal=goal)
    (x, y), d = agent, direction
    steps = run(lvl, actions)
    for t, (a, (_, state, reward, done, info)) in enumerate(zip(actions, steps)):
        solved = False
        if a == TURN_LEFT:
            d = (d - 1) % 4
        elif a == TURN_RIGHT:
            d = (d + 1) % 4
        else:
            nx, ny = x + int(DIRECTIONS[d][0]), y + int(DIRECTIONS[d][1])
            if 0 <= nx < W and 0 <= ny < H and (nx, ny) != wall:
                x, y = nx, ny
                solved = (x, y) == goal
        assert pos(state) == (x, y) and int(state.agent_dir) == d
        assert info["solved"] == solved
        assert done == solved
        expected = 1.0 - 0.9 * (t + 1) / MAX_STEPS if solved else 0.0
        np.testing.assert_allclose(reward, expected, rtol=0, atol=1e-6)
        if solved:
            break


# ---- level-protocol hooks ---------------------------------------------------------------------


def test_level_descriptors_and_optimal_return():
    levels = stack_levels(
        [
            level(direction=0, goal=(4, 3)),  # one step
            level(direction=2, goal=(4, 3)),  # two turns and a step
            level(walls=[(2, 3), (4, 3), (3, 2), (3, 4)], direction=0, goal=(6, 6)),  # boxed in
            level(walls=[(0, 0), (1, 1)], direction=1, goal=(3, 6)),  # three steps down
        ]
    )
    stats = jax.jit(ENV.level_descriptors)(levels)
    np.testing.assert_array_equal(np.asarray(stats["walls"]), [0, 0, 4, 2])
    np.testing.assert_array_equal(np.asarray(stats["shortest_path"]), [1, 3, np.nan, 3])
    np.testing.assert_array_equal(np.asarray(stats["solvable"]), [1, 1, 0, 1])
    v_star = jax.jit(jax.vmap(ENV.optimal_return, in_axes=(0, None)))(levels, 0.9)
    expected = [1 - 0.9 / MAX_STEPS, (1 - 0.9 * 3 / MAX_STEPS) * 0.81, 0.0]
    np.testing.assert_allclose(np.asarray(v_star)[:3], expected, rtol=1e-6, atol=1e-6)


# ---- reset wrappers -------------------------------------------------------------------------


def tree_equal(a, b):
    leaves_a, leaves_b = jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)
    assert len(leaves_a) == len(leaves_b)
    return all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(leaves_a, leaves_b))


REPLAY = AutoReplay(ENV)
REPLAY_RESET = jax.jit(REPLAY.reset_to_level)
REPLAY_STEP = five(jax.jit(REPLAY.step))


def test_auto_replay_restarts_same_level_on_goal():
    lvl = level(direction=1, goal=(3, 5))
    reset_obs, state = REPLAY_RESET(KEY, lvl)
    keys = jax.random.split(KEY, 2)
    obs, state, reward, done, info = REPLAY_STEP(keys[0], state, jnp.int32(FORWARD))
    assert not bool(done) and pos(state.env_state) == (3, 4)
    assert not tree_equal(obs, reset_obs)
    obs, state, reward, done, info = REPLAY_STEP(keys[1], state, jnp.int32(FORWARD))
    assert bool(done) and bool(info["solved"])
    np.testing.assert_allclose(float(reward), 1.0 - 0.9 * 2 / MAX_STEPS, atol=1e-6)
    # Back at the start of the same level, with the reset observation.
    assert pos(state.env_state) == (3, 3)
    assert int(state.env_state.agent_dir) == 1
    assert int(state.env_state.time) == 0 and not bool(state.env_state.done)
    assert tree_equal(state.level, lvl) and tree_equal(state.env_state.level, lvl)
    assert tree_equal(obs, reset_obs)
    # The wrapper forwards attributes to the env.
    assert REPLAY.max_steps == MAX_STEPS and REPLAY.num_actions == 3


def test_auto_replay_restarts_on_time_out():
    lvl = level(direction=0, goal=(0, 0))
    reset_obs, state = REPLAY_RESET(KEY, lvl)
    for t in range(MAX_STEPS):
        obs, state, reward, done, _ = REPLAY_STEP(KEY, state, jnp.int32(TURN_RIGHT))
        assert bool(done) == (t == MAX_STEPS - 1)
        assert float(reward) == 0.0
    assert int(state.env_state.time) == 0 and int(state.env_state.agent_dir) == 0
    assert tree_equal(obs, reset_obs)


def test_auto_reset_samples_new_level_after_done():
    env = AutoReset(ENV)
    reset, step = jax.jit(env.reset_to_level), five(jax.jit(env.step))
    lvl = level(direction=0, goal=(4, 3))
    _, state = reset(KEY, lvl)
    # A non-terminal step keeps the level.
    _, state, _, done, _ = step(jax.random.key(1), state, jnp.int32(TURN_LEFT))
    assert not bool(done) and tree_equal(state.level, lvl)
    _, state, _, done, _ = step(jax.random.key(2), state, jnp.int32(TURN_RIGHT))
    obs, state, reward, done, info = step(jax.random.key(3), state, jnp.int32(FORWARD))
    assert bool(done) and bool(info["solved"]) and float(reward) > 0
    new = state.level
    assert not tree_equal(new, lvl)
    assert tree_equal(state.env_state.level, new)
    np.testing.assert_array_equal(np.asarray(state.env_state.agent_pos), np.asarray(new.agent_pos))
    assert int(state.env_state.agent_dir) == int(new.agent_dir)
    assert int(state.env_state.time) == 0 and not bool(state.env_state.done)
    assert tree_equal(obs, ENV.observe(state.env_state))
    # The new level comes from the env's generator (10 walls drawn with replacement here).
    assert int(np.asarray(new.wall_map).sum()) <= 10


def test_auto_reset_custom_sampler():
    fixed = level(walls=[(0, 1)], agent=(2, 2), direction=2, goal=(5, 1))
    env = AutoReset(ENV, sample_level=lambda key: fixed)
    step = five(jax.jit(env.step))
    _, state = env.reset_to_level(KEY, level(direction=3, goal=(3, 2)))
    obs, state, _, done, _ = step(KEY, state, jnp.int32(FORWARD))
    assert bool(done)
    assert tree_equal(state.level, fixed)
    assert pos(state.env_state) == (2, 2) and int(state.env_state.agent_dir) == 2
    assert tree_equal(obs, RESET(KEY, fixed)[0])


def test_wrappers_vmap_over_a_batch():
    levels = stack_levels(
        [level(direction=d, goal=(3 + 2 * int(DIRECTIONS[d][0]), 3)) for d in (0, 2)]
    )
    _, state = jax.jit(jax.vmap(REPLAY.reset_to_level, in_axes=(None, 0)))(KEY, levels)
    step = five(jax.jit(jax.vmap(REPLAY.step, in_axes=(None, 0, None))))
    _, state, _, done, _ = step(KEY, state, jnp.int32(FORWARD))
    _, state, reward, done, _ = step(KEY, state, jnp.int32(FORWARD))
    np.testing.assert_array_equal(np.asarray(done), [True, True])
    np.testing.assert_allclose(np.asarray(reward), 1.0 - 0.9 * 2 / MAX_STEPS, atol=1e-6)
    np.testing.assert_array_equal(np.asarray(state.env_state.agent_pos), [[3, 3], [3, 3]])


# ---- time limits, Python scalars, the pre-reset observation -----------------------------------


def test_time_out_is_terminal_by_default_and_a_truncation_when_asked():
    """The references' convention (default): reaching max_steps ends the episode as terminal.
    With ``timeout="truncation"`` it is a truncation instead, so GAE bootstraps there; reaching
    the goal on the last step is still terminal."""
    lvl = level(direction=0, goal=(0, 0))
    for timeout in ("terminal", "truncation"):
        env = dataclasses.replace(ENV, timeout=timeout)
        assert env.truncates == (timeout == "truncation")
        step = jax.jit(env.step)
        _, state = env.reset_to_level(KEY, lvl)
        for t in range(MAX_STEPS):
            _, state, _, terminated, truncated, _ = step(KEY, state, jnp.int32(TURN_LEFT))
            last = t == MAX_STEPS - 1
            assert bool(terminated) == (last and timeout == "terminal")
            assert bool(truncated) == (last and timeout == "truncation")
    env = dataclasses.replace(ENV, timeout="truncation", max_steps=1)
    _, state = env.reset_to_level(KEY, level(direction=0, goal=(4, 3)))
    _, _, reward, terminated, truncated, info = env.step(KEY, state, FORWARD)
    assert bool(terminated) and not bool(truncated) and bool(info["solved"]) and reward > 0


def test_step_accepts_python_scalars():
    """As the docs show it: ``env.step(key, state, 2)`` with a plain int, unjitted."""
    _, state = ENV.reset_to_level(KEY, level(direction=0, goal=(4, 3)))
    _, state, reward, terminated, truncated, info = ENV.step(KEY, state, 2)
    assert pos(state) == (4, 3) and bool(terminated) and bool(info["solved"])
    assert not bool(truncated) and float(reward) > 0


def test_wrappers_report_the_observation_before_the_reset():
    lvl = level(direction=0, goal=(4, 3))
    _, state = REPLAY_RESET(KEY, lvl)
    obs, state, _, terminated, _, info = jax.jit(REPLAY.step)(KEY, state, jnp.int32(FORWARD))
    assert bool(terminated)
    assert tree_equal(obs, RESET(KEY, lvl)[0])  # the next episode's first observation
    assert not tree_equal(info["final_obs"], obs)  # the goal cell reached, before the reset


def test_noop_actions_spend_a_step_and_change_nothing_else():
    """JaxUED's maze keeps MiniGrid's 7 actions (``noop_actions=4``): pickup, drop, toggle and
    done only advance time, as in JaxUED's ``step_agent``; the default has the 3 that act."""
    assert Maze().num_actions == 3
    env = Maze(height=5, width=5, max_steps=10, noop_actions=4)
    assert env.num_actions == 7 and env.action_names[3:] == ("pickup", "drop", "toggle", "done")
    lvl = make_level(jnp.zeros((5, 5), bool), (1, 1), 0, (3, 3))
    obs, state = env.reset_to_level(KEY, lvl)
    for action in range(3, 7):
        new_obs, new, reward, terminated, truncated, _ = env.step(KEY, state, action)
        assert int(new.time) == int(state.time) + 1
        assert pos(new) == pos(state) and int(new.agent_dir) == int(state.agent_dir)
        np.testing.assert_array_equal(np.asarray(new_obs.image), np.asarray(obs.image))
        assert float(reward) == 0.0 and not bool(terminated) and not bool(truncated)
        state = new
    with pytest.raises(ValueError, match="noop_actions"):
        Maze(noop_actions=5)


# ---- MiniGrid's cell encoding (JaxUED's observation) -------------------------------------------

JAXUED_EMPTY, JAXUED_WALL, JAXUED_GOAL = (1, 0, 0), (2, 5, 0), (8, 1, 0)
JAXUED_DIR_TO_VEC = np.array([(1, 0), (0, 1), (-1, 0), (0, -1)])


def jaxued_partial_view(wall_map, goal, agent, direction, v):
    """NumPy model of JaxUED's ``Maze._get_partial_obs`` (``see_agent=False``) before its
    ``normalize_obs`` division: the MiniGrid map padded with ``v - 1`` walls, the slice from the
    forward and side bounds, rotated by the agent's direction, then transposed."""
    h, w = wall_map.shape
    maze_map = np.where(wall_map[..., None], JAXUED_WALL, JAXUED_EMPTY).astype(np.uint8)
    maze_map[goal[1], goal[0]] = JAXUED_GOAL
    pad = v - 1
    padded = np.tile(np.array(JAXUED_WALL, np.uint8), (h + 2 * pad, w + 2 * pad, 1))
    padded[pad:-pad, pad:-pad] = maze_map
    dir_vec = JAXUED_DIR_TO_VEC[direction]
    side = (dir_vec == 0) * (v // 2)
    bounds = np.stack([agent, agent + dir_vec * (v - 1), agent + side, agent - side])
    xmin, ymin = bounds.min(0) + pad
    view = padded[ymin : ymin + v, xmin : xmin + v]
    view = np.rot90(view, direction + 1)
    return view.transpose(1, 0, 2)


def test_minigrid_view_matches_jaxued_model():
    """``observation="minigrid"`` gives JaxUED's (object, colour, state) cells; JaxUED's view is
    the transpose of ours (the agent at the right-hand centre instead of the bottom centre),
    which a convolution initialised i.i.d. learns from identically."""
    v = 5
    env = Maze(height=H, width=W, view_size=v, max_steps=MAX_STEPS, observation="minigrid")
    rng = np.random.default_rng(7)
    n = 200
    walls = rng.random((n, H, W)) < 0.35
    agents = rng.integers(0, [W, H], size=(n, 2))
    goals = rng.integers(0, [W, H], size=(n, 2))
    dirs = rng.integers(0, 4, size=n)
    walls[np.arange(n), goals[:, 1], goals[:, 0]] = False
    walls[np.arange(n), agents[:, 1], agents[:, 0]] = False
    levels = make_level(walls, agents, dirs, goals)
    observe = jax.jit(jax.vmap(lambda lvl: env.reset_to_level(KEY, lvl)[0].image))
    images = np.asarray(observe(levels))
    assert images.dtype == np.uint8 and images.shape == (n, v, v, 3)
    for i in range(n):
        expected = jaxued_partial_view(walls[i], goals[i], agents[i], dirs[i], v)
        np.testing.assert_array_equal(images[i].transpose(1, 0, 2), expected, err_msg=f"level {i}")


def test_minigrid_and_one_hot_views_carry_the_same_cells():
    one_hot = dataclasses.replace(ENV, fully_observed=True)
    minigrid = dataclasses.replace(one_hot, observation="minigrid")
    assert minigrid.observation_shape() == (H, W, 3) == minigrid.dummy_observation().image.shape
    lvl = level(walls=[(1, 2), (5, 5)], agent=(2, 4), direction=1, goal=(6, 0))
    a = np.asarray(one_hot.reset_to_level(KEY, lvl)[0].image)
    b = np.asarray(minigrid.reset_to_level(KEY, lvl)[0].image)
    table = np.array([JAXUED_WALL, JAXUED_EMPTY, JAXUED_GOAL], np.uint8)
    expected = table[a[..., :3].argmax(-1)]
    expected[4, 2] = (10, 0, 1)  # JaxUED's fully observed view marks the agent (object 10)
    np.testing.assert_array_equal(b, expected)
    with pytest.raises(ValueError, match="observation"):
        Maze(observation="rgb")
