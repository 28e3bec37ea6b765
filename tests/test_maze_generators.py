"""The random level generator, the ACCEL mutator and the level hash, over thousands of levels.

Each group of settings is sampled by vmapped calls inside one jitted function (three compiled
programs for the whole module: generators, the solvable-only generator, mutators).
"""

from __future__ import annotations

import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envs.maze import (
    MazeMutator,
    RandomMazeGenerator,
    is_solvable,
    is_valid,
    level_hash,
    make_level,
    wall_count,
)
from envs.maze.mutators import flip_wall

SIZE = 13
N = 4000  # levels per generator setting
N_MUT = 2000  # random parents per mutator setting
N_CROWDED = 100  # extra parents with no free cell besides the agent's and the goal's

GENERATORS = {
    "default": (RandomMazeGenerator(), N),
    "without": (RandomMazeGenerator(wall_sampling="without_replacement"), N),
}
SOLVABLE = RandomMazeGenerator(solvable_only=True, max_tries=16)
N_SOLVABLE = 256

MUTATORS = {
    "edits1": MazeMutator(num_edits=1),
    "edits5": MazeMutator(num_edits=5),
    "edits20": MazeMutator(num_edits=20),
    "fixed_agent": MazeMutator(num_edits=20, move_agent=False),
    "jaxued1": MazeMutator(num_edits=1, move_agent=False, noop=True),
    "none": MazeMutator(num_edits=0),
}


def np_tree(tree):
    return jax.tree_util.tree_map(np.asarray, tree)


def lv_fields(lv):
    return lv.wall_map, lv.agent_pos, lv.agent_dir, lv.goal_pos


def checked(levels, solvable=False):
    out = {"levels": levels, "valid": jax.vmap(is_valid)(levels)}
    if solvable:
        out["solvable"] = jax.vmap(is_solvable)(levels)
    return out


@jax.jit
def _sample(key):
    keys = jax.random.split(key, len(GENERATORS))
    return {
        name: checked(jax.vmap(gen)(jax.random.split(k, n)), solvable=name == "default")
        for (name, (gen, n)), k in zip(GENERATORS.items(), keys)
    }


@jax.jit
def _sample_solvable(key):
    return checked(jax.vmap(SOLVABLE)(jax.random.split(key, N_SOLVABLE)), solvable=True)


@jax.jit
def _mutate(key, parents):
    n = parents.wall_map.shape[0]
    keys = jax.random.split(key, len(MUTATORS) + 1)
    out = {
        name: checked(jax.vmap(mutator)(jax.random.split(k, n), parents))
        for (name, mutator), k in zip(MUTATORS.items(), keys)
    }
    out["flip"] = checked(jax.vmap(flip_wall)(jax.random.split(keys[-1], n), parents))
    return out


def crowded_levels(n, seed=0):
    """13x13 levels that are all wall except the agent's and the goal's cells."""
    rng = np.random.default_rng(seed)
    cells = np.stack([rng.choice(SIZE * SIZE, 2, replace=False) for _ in range(n)])
    walls = np.ones((n, SIZE * SIZE), dtype=bool)
    walls[np.arange(n)[:, None], cells] = False
    pos = np.stack([cells % SIZE, cells // SIZE], axis=-1).astype(np.int32)
    return make_level(walls.reshape(n, SIZE, SIZE), pos[:, 0], rng.integers(0, 4, n), pos[:, 1])


@pytest.fixture(scope="module")
def samples():
    out = np_tree(_sample(jax.random.key(0)))
    out["solvable"] = np_tree(_sample_solvable(jax.random.key(1)))
    return out


@pytest.fixture(scope="module")
def parents(samples):
    """The first N_MUT default levels followed by N_CROWDED crowded ones."""
    crowded = np_tree(crowded_levels(N_CROWDED))
    return jax.tree_util.tree_map(
        lambda a, b: np.concatenate([a[:N_MUT], b]), samples["default"]["levels"], crowded
    )


@pytest.fixture(scope="module")
def mutations(parents):
    return np_tree(_mutate(jax.random.key(2), make_level(*lv_fields(parents))))


# ---- generator ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(GENERATORS))
def test_generated_levels_are_valid(samples, name):
    gen, n = GENERATORS[name]
    s = samples[name]
    lv = s["levels"]
    assert lv.wall_map.shape == (n, gen.height, gen.width) and lv.wall_map.dtype == bool
    assert lv.agent_pos.shape == (n, 2) and lv.agent_pos.dtype == np.int32
    assert lv.goal_pos.shape == (n, 2) and lv.goal_pos.dtype == np.int32
    assert lv.agent_dir.shape == (n,) and lv.agent_dir.dtype == np.int32
    assert s["valid"].all()
    # The same checks by hand, independently of is_valid.
    idx = np.arange(n)
    for p in (lv.agent_pos, lv.goal_pos):
        assert np.all((p[:, 0] >= 0) & (p[:, 0] < gen.width))
        assert np.all((p[:, 1] >= 0) & (p[:, 1] < gen.height))
    assert not lv.wall_map[idx, lv.agent_pos[:, 1], lv.agent_pos[:, 0]].any()
    assert not lv.wall_map[idx, lv.goal_pos[:, 1], lv.goal_pos[:, 0]].any()
    assert np.all(np.any(lv.agent_pos != lv.goal_pos, axis=1))
    assert np.all((lv.agent_dir >= 0) & (lv.agent_dir < 4))


def test_is_valid_rejects_each_defect():
    walls = np.zeros((4, 5), dtype=bool)
    walls[1, 2] = True
    cases = [  # (agent, direction, goal, valid)
        ((0, 0), 0, (4, 3), True),
        ((2, 1), 0, (4, 3), False),  # agent on a wall
        ((0, 0), 0, (2, 1), False),  # goal on a wall
        ((3, 3), 2, (3, 3), False),  # agent on the goal
        ((5, 0), 0, (4, 3), False),  # agent right of the grid
        ((0, 4), 0, (4, 3), False),  # agent below the grid
        ((0, 0), 0, (-1, 3), False),  # goal left of the grid
        ((0, 0), 0, (4, -1), False),  # goal above the grid
        ((0, 0), 4, (4, 3), False),  # bad direction
        ((0, 0), -1, (4, 3), False),
        ((4, 3), 3, (0, 0), True),
    ]
    levels = make_level(
        np.broadcast_to(walls, (len(cases), 4, 5)),
        [c[0] for c in cases],
        [c[1] for c in cases],
        [c[2] for c in cases],
    )
    np.testing.assert_array_equal(
        np.asarray(jax.jit(jax.vmap(is_valid))(levels)), [c[3] for c in cases]
    )


def test_with_replacement_wall_counts(samples):
    walls = samples["default"]["levels"].wall_map.sum((1, 2))
    assert walls.max() <= 25
    assert walls.min() >= 15
    # 25 draws on 169 cells give 169 * (1 - (168/169)**25) ~= 23.3 distinct walls on average.
    expected = SIZE * SIZE * (1 - (1 - 1 / (SIZE * SIZE)) ** 25)
    assert abs(walls.mean() - expected) < 0.15, walls.mean()
    assert np.mean(walls < 25) > 0.5


def test_without_replacement_gives_exact_count(samples):
    lv = samples["without"]["levels"]
    np.testing.assert_array_equal(lv.wall_map.sum((1, 2)), 25)
    np.testing.assert_array_equal(np.asarray(wall_count(make_level(*lv_fields(lv)))), 25)


def test_solvable_only(samples):
    assert samples["solvable"]["solvable"].all()
    # The filter does something: unfiltered levels of the same setting are often unsolvable.
    # (With 25 walls on 13x13 only ~0.5% of unfiltered levels are unsolvable, so 16 tries make an
    # unsolvable result astronomically unlikely.)
    rate = samples["default"]["solvable"].mean()
    assert 0.95 < rate < 1.0, rate
    assert samples["solvable"]["valid"].all()
    lv = samples["solvable"]["levels"]
    assert lv.wall_map.shape == (N_SOLVABLE, SIZE, SIZE)
    assert lv.wall_map.sum((1, 2)).max() <= 25


@pytest.mark.parametrize("name", ["default", "without"])
def test_positions_and_directions_cover_everything(samples, name):
    lv = samples[name]["levels"]
    counts = np.bincount(lv.agent_dir, minlength=4)
    assert counts.shape == (4,)
    np.testing.assert_allclose(counts / N, 0.25, atol=0.03)
    # Every cell hosts the agent and the goal at least once (~24 expected per cell).
    for p in (lv.agent_pos, lv.goal_pos):
        cells = np.bincount(p[:, 1] * SIZE + p[:, 0], minlength=SIZE * SIZE)
        assert np.all(cells > 0)
        assert cells.max() < 60
    # Walls are spread over every cell too.
    assert np.all(lv.wall_map.sum(0) > 0)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"wall_sampling": "sometimes"},
        {"wall_sampling": "with-replacement"},
        {"n_walls": -1},
        {"n_walls": 13 * 13 - 1},
        {"height": 3, "width": 3, "n_walls": 8},
        {"max_tries": 0},
        {"max_tries": -2, "solvable_only": True},
    ],
)
def test_invalid_generator_settings_raise(kwargs):
    with pytest.raises(ValueError):
        RandomMazeGenerator(**kwargs)


@settings(max_examples=40, deadline=None)
@given(h=st.integers(1, 20), w=st.integers(1, 20), n_walls=st.integers(-5, 450))
def test_n_walls_bounds(h, w, n_walls):
    ok = 0 <= n_walls <= h * w - 2
    if ok:
        gen = RandomMazeGenerator(h, w, n_walls=n_walls)
        assert gen.n_walls == n_walls
    else:
        with pytest.raises(ValueError, match="n_walls"):
            RandomMazeGenerator(h, w, n_walls=n_walls)


# ---- mutator --------------------------------------------------------------------------------


def changed_cells(parents, children):
    return (parents.wall_map != children.wall_map).sum((1, 2))


def random_part(tree):
    return jax.tree_util.tree_map(lambda x: x[:N_MUT], tree)


@pytest.mark.parametrize("name", [*MUTATORS, "flip"])
def test_children_are_valid(parents, mutations, name):
    assert mutations[name]["valid"].all()
    lv = mutations[name]["levels"]
    assert lv.wall_map.shape == parents.wall_map.shape
    idx = np.arange(lv.wall_map.shape[0])
    assert not lv.wall_map[idx, lv.agent_pos[:, 1], lv.agent_pos[:, 0]].any()
    assert not lv.wall_map[idx, lv.goal_pos[:, 1], lv.goal_pos[:, 0]].any()
    assert np.all(np.any(lv.agent_pos != lv.goal_pos, axis=1))
    for p in (lv.agent_pos, lv.goal_pos):
        assert np.all((p >= 0) & (p < SIZE))
    assert np.all((lv.agent_dir >= 0) & (lv.agent_dir < 4))


@pytest.mark.parametrize(
    ("name", "edits"), [("edits1", 1), ("edits5", 5), ("edits20", 20), ("fixed_agent", 20)]
)
def test_mutation_changes_at_most_num_edits_cells(parents, mutations, name, edits):
    children = mutations[name]["levels"]
    changed = changed_cells(parents, children)
    assert changed.max() <= edits
    # About a third (half without agent moves) of the edits flip a wall; flips can cancel.
    assert changed[:N_MUT].mean() > 0.2 * edits


def test_single_edit_is_exactly_one_kind(parents, mutations):
    parents, children = random_part(parents), random_part(mutations["edits1"]["levels"])
    flipped = changed_cells(parents, children)
    goal_moved = np.any(parents.goal_pos != children.goal_pos, axis=1)
    agent_moved = np.any(parents.agent_pos != children.agent_pos, axis=1)
    np.testing.assert_array_equal(flipped + goal_moved + agent_moved, 1)
    for kind in (flipped, goal_moved, agent_moved):
        assert 0.27 < kind.mean() < 0.40
    # An agent move draws a fresh direction; the direction only changes with the position.
    dir_changed = parents.agent_dir != children.agent_dir
    assert not dir_changed[~agent_moved].any()
    assert 0.6 < dir_changed[agent_moved].mean() < 0.9


def test_jaxued_edit_is_a_noop_a_flip_or_a_goal_move(parents, mutations):
    """minimax's and JaxUED's ``move_goal_flip_walls``: each edit uniformly one of no-op, flip
    a wall, move the goal; the agent never moves."""
    parents, children = random_part(parents), random_part(mutations["jaxued1"]["levels"])
    flipped = changed_cells(parents, children)
    goal_moved = np.any(parents.goal_pos != children.goal_pos, axis=1)
    np.testing.assert_array_equal(children.agent_pos, parents.agent_pos)
    np.testing.assert_array_equal(children.agent_dir, parents.agent_dir)
    assert (flipped + goal_moved).max() == 1
    for kind in (flipped == 1, goal_moved, (flipped + goal_moved) == 0):
        assert 0.27 < kind.mean() < 0.40


def test_fixed_agent_variant_never_moves_agent(parents, mutations):
    children = mutations["fixed_agent"]["levels"]
    np.testing.assert_array_equal(children.agent_pos, parents.agent_pos)
    np.testing.assert_array_equal(children.agent_dir, parents.agent_dir)
    # It still flips walls and moves goals.
    goal_moved = np.any(parents.goal_pos != children.goal_pos, axis=1)
    assert goal_moved[:N_MUT].mean() > 0.9
    # ... whereas the default variant moves the agent.
    moved = np.any(parents.agent_pos != mutations["edits20"]["levels"].agent_pos, axis=1)
    assert moved[:N_MUT].mean() > 0.9


def test_flip_wall_touches_one_cell_never_agent_or_goal(parents, mutations):
    children = mutations["flip"]["levels"]
    diff = parents.wall_map != children.wall_map
    np.testing.assert_array_equal(diff.sum((1, 2)), 1)
    idx = np.arange(diff.shape[0])
    for p in (parents.agent_pos, parents.goal_pos):
        assert not diff[idx, p[:, 1], p[:, 0]].any()
    np.testing.assert_array_equal(children.agent_pos, parents.agent_pos)
    np.testing.assert_array_equal(children.agent_dir, parents.agent_dir)
    np.testing.assert_array_equal(children.goal_pos, parents.goal_pos)
    # Both directions happen: wall -> free and free -> wall (mostly the latter on sparse levels).
    removed = (parents.wall_map & diff)[:N_MUT].sum()
    assert 0.05 < removed / N_MUT < 0.25  # ~23 walls among 167 candidate cells
    # On crowded levels every candidate cell is a wall, so the flip always opens one.
    np.testing.assert_array_equal((parents.wall_map & diff)[N_MUT:].sum((1, 2)), 1)


def test_zero_edits_is_identity(parents, mutations):
    children = mutations["none"]["levels"]
    for a, b in zip(jax.tree_util.tree_leaves(parents), jax.tree_util.tree_leaves(children)):
        np.testing.assert_array_equal(a, b)


def test_crowded_levels_stay_valid(parents, mutations):
    # With no free cell to move to, goal and agent moves are no-ops until a flip opens a cell.
    for name in ("edits1", "edits5", "edits20", "fixed_agent"):
        children = mutations[name]["levels"]
        assert mutations[name]["valid"][N_MUT:].all()
        opened = (parents.wall_map & ~children.wall_map)[N_MUT:].sum((1, 2))
        if name == "edits1":
            moved = np.any(parents.goal_pos != children.goal_pos, axis=1)[N_MUT:]
            moved |= np.any(parents.agent_pos != children.agent_pos, axis=1)[N_MUT:]
            assert not moved.any()
            assert (opened <= 1).all() and opened.any()


def test_invalid_mutator_raises():
    with pytest.raises(ValueError):
        MazeMutator(num_edits=-1)


# ---- level hash -----------------------------------------------------------------------------

HASH = jax.jit(jax.vmap(level_hash))


def variants(lv, i):
    """Level i of a batch and all its single-field variants: each wall cell flipped, each other
    direction, the goal and the agent moved to another free cell."""
    walls, agent, direction, goal = (np.asarray(x[i]) for x in lv_fields(lv))
    out = [(walls, agent, direction, goal)]
    for y in range(walls.shape[0]):
        for x in range(walls.shape[1]):
            w = walls.copy()
            w[y, x] = ~w[y, x]
            out.append((w, agent, direction, goal))
    for d in range(4):
        if d != direction:
            out.append((walls, agent, np.int32(d), goal))
    free = [(x, y) for y, x in np.argwhere(~walls)]
    for x, y in free:
        if (x, y) not in (tuple(agent), tuple(goal)):
            out.append((walls, agent, direction, np.array([x, y], np.int32)))
            out.append((walls, np.array([x, y], np.int32), direction, goal))
    return make_level(*(np.stack([o[k] for o in out]) for k in range(4)))


def test_hash_shape_and_determinism(samples):
    lv = samples["default"]["levels"]
    level = make_level(*(x[0] for x in lv_fields(lv)))
    h = np.asarray(jax.jit(level_hash)(level))
    assert h.shape == (2,) and h.dtype == np.uint32
    # Equal levels built differently (from lists / NumPy, single or batched) hash equally.
    copy = make_level(*(np.array(x[0]).tolist() for x in lv_fields(lv)))
    np.testing.assert_array_equal(np.asarray(jax.jit(level_hash)(copy)), h)
    batch = np.asarray(HASH(make_level(*(x[:8] for x in lv_fields(lv)))))
    np.testing.assert_array_equal(batch[0], h)
    assert len({tuple(b) for b in batch}) == 8


def test_single_field_changes_change_the_hash(samples):
    lv = samples["default"]["levels"]
    for i in (0, 1):
        v = variants(lv, i)
        hashes = np.asarray(HASH(v))
        n = hashes.shape[0]
        assert n > 300
        assert len({tuple(h) for h in hashes}) == n
        # Each 32-bit word alone separates single-field changes too.
        assert len(set(hashes[:, 0].tolist())) == n
        assert len(set(hashes[:, 1].tolist())) == n


def test_no_collisions_among_distinct_random_levels(samples):
    lv = jax.tree_util.tree_map(
        lambda a, b: np.concatenate([a, b]),
        samples["default"]["levels"],
        samples["without"]["levels"],
    )
    hashes = np.asarray(HASH(make_level(*lv_fields(lv))))
    keys = np.concatenate(
        [
            lv.wall_map.reshape(len(hashes), -1).astype(np.int32),
            lv.agent_pos,
            lv.agent_dir[:, None],
            lv.goal_pos,
        ],
        axis=1,
    )
    distinct_levels = np.unique(keys, axis=0).shape[0]
    assert distinct_levels > 7900
    assert np.unique(hashes, axis=0).shape[0] == distinct_levels
    # Duplicates hash equally.
    dup = np.asarray(HASH(make_level(*(np.concatenate([x[:5], x[:5]]) for x in lv_fields(lv)))))
    np.testing.assert_array_equal(dup[:5], dup[5:])
