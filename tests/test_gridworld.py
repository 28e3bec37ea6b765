"""The LPG gridworld: valid levels (also after random respawns), the DP oracle against a plain
NumPy value iteration and against playing its own policy in the env, observations, layouts and
their text format, and the fixed suites."""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tiny_gridworld import TINY

from envs.gridworld import (
    DISTRIBUTIONS,
    MOVES,
    SUITES,
    Gridworld,
    format_layout,
    is_valid,
    layout_of,
    load_layouts,
    optimal_return,
    parse_layouts,
    render_level,
)
from envs.gridworld.level import cell_of
from ued.errors import LevelFormatError

GAMMA = 0.9


def _one(tree, i=0):
    return jax.tree_util.tree_map(lambda x: x[i], tree)


@pytest.mark.parametrize("name", sorted(DISTRIBUTIONS))
def test_every_distribution_draws_valid_levels(name):
    env = Gridworld(distribution=DISTRIBUTIONS[name])
    levels = jax.jit(jax.vmap(env.sample_level))(jax.random.split(jax.random.key(0), 512))
    assert np.asarray(jax.vmap(is_valid)(levels)).all()
    d = DISTRIBUTIONS[name]
    steps = np.asarray(levels.max_steps)
    assert steps.min() >= d.min_steps and steps.max() <= d.max_steps
    counts = np.asarray((levels.object_type >= 0).sum(-1))
    assert counts.min() >= d.min_objects and counts.max() <= d.max_objects
    rewards = np.asarray(levels.reward)
    assert (rewards[:, 0] >= 0).all() and (np.abs(rewards) <= 1).all()


@pytest.mark.parametrize("tabular", [True, False])
def test_objects_never_land_on_walls_the_agent_or_each_other(tabular):
    """Random play with frequent respawns (the reference respawned objects onto walls)."""
    env = Gridworld(size=6, max_objects=4, num_types=3, tabular=tabular, max_steps=200,
                    distribution=DISTRIBUTIONS["small"])  # fmt: skip
    levels = jax.vmap(env.sample_level)(jax.random.split(jax.random.key(1), 64))
    levels = levels.replace(
        p_respawn=jnp.full_like(levels.p_respawn, 0.5), p_term=jnp.zeros_like(levels.p_term)
    )
    _, state = jax.vmap(env.reset_to_level)(jax.random.split(jax.random.key(2), 64), levels)
    step = jax.jit(jax.vmap(env.step))
    for t in range(60):
        actions = jax.random.randint(jax.random.key(t), (64,), 0, 5)
        _, state, *_ = step(jax.random.split(jax.random.key(100 + t), 64), state, actions)
        walls = np.asarray(levels.wall_map)
        pos = np.asarray(state.object_pos)
        present = np.asarray(state.present)
        for b in range(64):
            cells = [tuple(p) for p, on in zip(pos[b], present[b]) if on]
            assert all(not walls[b, y, x] for x, y in cells)
            assert len(set(cells)) == len(cells)
            agent = tuple(np.asarray(state.pos[b]))
            assert not walls[b, agent[1], agent[0]]
        if tabular:  # objects respawn where they were
            np.testing.assert_array_equal(pos, np.asarray(levels.object_pos))


def test_observations():
    level = _one(jax.vmap(TINY.sample_level)(jax.random.split(jax.random.key(3), 1)))
    obs, state = TINY.reset_to_level(jax.random.key(0), level)
    present = np.asarray(state.present)
    bits = int(sum(int(p) << k for k, p in enumerate(present)))
    assert int(obs) == int(cell_of(level.start, 4)) * 4 + bits < TINY.num_states
    grid_env = Gridworld(size=4, max_objects=2, num_types=2, tabular=False, max_steps=16)
    grid, _ = grid_env.reset_to_level(jax.random.key(0), level)
    grid = np.asarray(grid)
    assert grid.shape == (4, 4, 3) and grid[..., 0].sum() == 1
    assert grid[int(level.start[1]), int(level.start[0]), 0] == 1
    assert grid[..., 1:].sum() == present.sum()


def test_stay_collects_and_edges_block():
    layout = parse_layouts("= t\n% steps 5\n% type a 1 0 1\nSa\n..\n")[0]
    level = layout.level(4, 2, 2)
    _, state = TINY.reset_to_level(jax.random.key(0), level)
    _, state, reward, terminated, truncated, _ = TINY.step(jax.random.key(1), state, 0)  # up
    assert float(reward) == 0 and np.asarray(state.pos).tolist() == [0, 0]
    _, state, reward, *_ = TINY.step(jax.random.key(1), state, 3)  # right onto the object
    assert float(reward) == 1 and np.asarray(state.pos).tolist() == [1, 0]
    # Respawn probability 1, but an object collected this step cannot reappear in it (the
    # reference's order): standing on it collects it every other step.
    assert not bool(state.present[0])
    _, state, reward, *_ = TINY.step(jax.random.key(2), state, 4)  # stay: it reappears
    assert float(reward) == 0 and bool(state.present[0])
    _, state, reward, *_ = TINY.step(jax.random.key(2), state, 3)  # the padding is a wall
    assert float(reward) == 1 and np.asarray(state.pos).tolist() == [1, 0]  # collected again
    _, state, reward, terminated, truncated, _ = TINY.step(jax.random.key(3), state, 1)
    assert bool(truncated) and not bool(terminated)  # 5 steps: the time limit, a truncation


# ---- the oracle ---------------------------------------------------------------------------------
def _numpy_q(level, size: int, gamma: float) -> np.ndarray:
    """Time-indexed Q[t, cell, mask, action] by plain loops over every state, action and respawn
    outcome (no factorisation), for checking the jitted DP."""
    walls = np.asarray(level.wall_map)
    types = np.asarray(level.object_type)
    objects = [k for k in range(types.size) if types[k] >= 0]
    cells_of = {k: int(cell_of(np.asarray(level.object_pos[k]), size)) for k in objects}
    reward, p_term, p_respawn = (
        np.asarray(x) for x in (level.reward, level.p_term, level.p_respawn)
    )
    steps, slots = int(level.max_steps), types.size
    cells, masks = size * size, 2**slots

    def move(c, a):
        x, y = c % size + MOVES[a][0], c // size + MOVES[a][1]
        inside = 0 <= x < size and 0 <= y < size
        return y * size + x if inside and not walls[y, x] else c

    q = np.zeros((steps, cells, masks, 5))
    value = np.zeros((cells, masks))
    for t in reversed(range(steps)):
        for c, m, a in itertools.product(range(cells), range(masks), range(5)):
            c2 = move(c, a)
            here = [k for k in objects if m >> k & 1 and cells_of[k] == c2]
            r = sum(reward[types[k]] for k in here)
            survive = np.prod([1 - p_term[types[k]] for k in here])
            m1 = m & ~sum(1 << k for k in here)
            missing = [k for k in objects if not m >> k & 1]  # missing before the step
            expected = 0.0
            for outcome in itertools.product((0, 1), repeat=len(missing)):
                prob = np.prod([p_respawn[types[k]] if o else 1 - p_respawn[types[k]]
                                for k, o in zip(missing, outcome)])  # fmt: skip
                m2 = m1 | sum(1 << k for k, o in zip(missing, outcome) if o)
                expected += prob * value[c2, m2]
            q[t, c, m, a] = r + gamma * survive * expected
        value = q[t].max(axis=-1)
    return q


@pytest.fixture(scope="module")
def tiny_levels():
    levels = jax.vmap(TINY.sample_level)(jax.random.split(jax.random.key(5), 6))
    return levels.replace(max_steps=jnp.minimum(levels.max_steps, 10))


def test_oracle_matches_numpy_value_iteration(tiny_levels):
    v_star = np.asarray(jax.jit(jax.vmap(lambda lv: optimal_return(TINY, lv, GAMMA)))(tiny_levels))
    for i in range(6):
        level = _one(tiny_levels, i)
        q = _numpy_q(level, 4, GAMMA)
        start_mask = int(
            sum(1 << k for k, ty in enumerate(np.asarray(level.object_type)) if ty >= 0)
        )
        expected = q[0, int(cell_of(np.asarray(level.start), 4)), start_mask].max()
        np.testing.assert_allclose(v_star[i], expected, rtol=1e-5, atol=1e-6)


def _play(level, policy, episodes: int, key) -> np.ndarray:
    """Discounted returns of ``policy(key, t, cell, mask) -> action`` over many episodes."""
    levels = jax.tree_util.tree_map(lambda x: jnp.repeat(x[None], episodes, 0), level)
    _, state = jax.vmap(TINY.reset_to_level)(jax.random.split(key, episodes), levels)
    total = np.zeros(episodes)
    alive = np.ones(episodes, bool)
    step = jax.jit(jax.vmap(TINY.step))
    for t in range(int(level.max_steps)):
        masks = np.asarray((state.present * (1 << jnp.arange(2))).sum(-1))
        cells = np.asarray(cell_of(state.pos, 4))
        actions = policy(jax.random.fold_in(key, t), t, cells, masks)
        keys = jax.random.split(jax.random.fold_in(key, 1000 + t), episodes)
        _, state, reward, terminated, truncated, _ = step(keys, state, jnp.asarray(actions))
        total += alive * GAMMA**t * np.asarray(reward)
        alive &= ~np.asarray(terminated | truncated)
    return total


def test_oracle_policy_earns_v_star_in_the_env_and_bounds_other_policies(tiny_levels):
    """Playing the DP's own greedy policy in the env earns V* (so the env and the DP agree on
    the dynamics), and random or idle play never beats it."""
    for i in (0, 1, 2):
        level = _one(tiny_levels, i)
        q = _numpy_q(level, 4, GAMMA)
        v_star = float(optimal_return(TINY, level, GAMMA))
        greedy = _play(level, lambda k, t, c, m: q[t, c, m].argmax(-1), 4000, jax.random.key(i))
        se = greedy.std() / np.sqrt(greedy.size)
        assert abs(greedy.mean() - v_star) <= 4 * se + 1e-4, (i, greedy.mean(), v_star)
        for other in (
            lambda k, t, c, m: np.asarray(jax.random.randint(k, c.shape, 0, 5)),
            lambda k, t, c, m: np.full(c.shape, 4),
        ):
            returns = _play(level, other, 2000, jax.random.key(10 + i))
            assert returns.mean() <= v_star + 4 * returns.std() / np.sqrt(returns.size) + 1e-6


# ---- layouts, text format and suites ---------------------------------------------------------
@given(st.integers(0, 10_000))
def test_layout_text_round_trip(seed):
    env = Gridworld(size=8, max_objects=5, num_types=5, distribution=DISTRIBUTIONS["small"])
    level = env.sample_level(jax.random.key(seed))
    layout = layout_of(level, "x")
    again = parse_layouts(format_layout(layout))[0]
    assert format_layout(again) == format_layout(layout)
    rebuilt, canonical = again.level(8, 5, 5), layout.level(8, 5, 5)
    for a, b in zip(jax.tree_util.tree_leaves(rebuilt), jax.tree_util.tree_leaves(canonical)):
        np.testing.assert_array_equal(a, b)
    # The canonical level is the sampled one up to the order of its object slots.
    for name in ("wall_map", "start", "max_steps", "lifetime"):
        np.testing.assert_array_equal(getattr(rebuilt, name), getattr(level, name), err_msg=name)

    def objects(lv):
        pos, kinds = np.asarray(lv.object_pos), np.asarray(lv.object_type)
        return sorted((tuple(p), int(k)) for p, k in zip(pos, kinds) if k >= 0)

    assert objects(rebuilt) == objects(level)
    used = int(np.asarray(level.object_type).max()) + 1
    for name in ("reward", "p_term", "p_respawn"):
        np.testing.assert_allclose(
            np.asarray(getattr(rebuilt, name))[:used],
            np.asarray(getattr(level, name))[:used],
            rtol=1e-5,
        )


@pytest.mark.parametrize(
    ("text", "where", "problem"),
    [
        ("= a\nS.x\n", ":2:3:", "unknown character 'x'"),
        ("= a\n...\n", ":1:1:", "no start cell"),
        ("= a\nSa.\n", ":2:2:", "no '% type a"),
        ("= a\n% type b 1 0 0\nS\n", ":2:8:", "in order"),
        ("= a\n% steps -3\nS\n", ":2:3:", "cannot read setting"),
        ("= a\n% type a 1 2 0\nS\n", ":2:3:", "cannot read setting"),
        ("S..\n", ":1:1:", "expected '= name'"),
        ("= a\nS.\n% steps 4\n", ":3:1:", "before the level's rows"),
        ("= a\nSS\n", ":2:2:", "second start"),
    ],
)
def test_malformed_layouts_name_file_line_and_column(tmp_path, text, where, problem):
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(LevelFormatError, match=problem) as error:
        load_layouts(path)
    assert f"bad.txt{where}" in str(error.value)


def test_non_utf8_layout_file_names_the_line(tmp_path):
    path = tmp_path / "latin.txt"
    path.write_bytes(b"= a\n% steps 5\nS.\xff\n")
    with pytest.raises(LevelFormatError, match=r"latin.txt:3:3: not UTF-8"):
        load_layouts(path)


def test_fixed_suites_are_valid_and_need_their_shape():
    env = Gridworld()
    names, levels = SUITES["lpg-grids"].levels()
    assert [n.split(":")[1] for n in names] == ["dense", "sparse", "long", "longer", "long_dense"]
    assert np.asarray(jax.vmap(is_valid)(levels)).all()
    assert np.asarray((levels.object_type >= 0).sum(-1)).tolist() == [4, 2, 4, 5, 4]
    assert np.asarray(levels.max_steps).tolist() == [500, 50, 1000, 2000, 2000]
    names, mazes = SUITES["mazes"].levels()
    assert len(names) == 8 and np.asarray(jax.vmap(is_valid)(mazes)).all()
    assert SUITES["mazes"].env(env) == env
    from ued.errors import ConfigError
    from ued.evaluate import resolve_suite

    assert len(resolve_suite("gridworld", env, "mazes").names) == 8
    with pytest.raises(ConfigError, match="needs a tabular gridworld with size 13"):
        resolve_suite("gridworld", TINY, "lpg-grids")  # a tiny tabular agent cannot play 13x13
    small_grids = Gridworld(size=6, tabular=False, distribution=DISTRIBUTIONS["small"])
    with pytest.raises(ConfigError, match="observations"):
        resolve_suite("gridworld-rand", small_grids, "mazes")
    image = np.asarray(jax.jit(render_level)(_one(levels)))
    assert image.shape == (13 * 8, 13 * 8, 3) and image.dtype == np.uint8


def test_the_agents_lifetime_can_be_set_per_run():
    from envs.gridworld.registration import GridworldConfig, make

    default = make(GridworldConfig(distribution="small"), tabular=True)
    short = make(GridworldConfig(distribution="small", lifetime=50), tabular=True)
    key = jax.random.key(0)
    assert int(default.sample_level(key).lifetime) == 250
    assert int(short.sample_level(key).lifetime) == 50
