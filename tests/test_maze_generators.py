"""The random level generator, the ACCEL mutator and the level hash, over thousands of levels.

Every generator / mutator setting is sampled by one vmapped call inside a single jitted function
per fixture, so the module compiles only a handful of programs.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
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
N = 4000

GENERATORS = {
    "default": (RandomMazeGenerator(), N),
    "without": (RandomMazeGenerator(wall_sampling="without_replacement"), N),
    "sixty": (RandomMazeGenerator(n_walls=60), 1000),
    "solvable": (RandomMazeGenerator(solvable_only=True, max_tries=16), 512),
    # The densest legal setting: 7 walls on 3x3 leave exactly the agent's and the goal's cells.
    "full": (RandomMazeGenerator(3, 3, n_walls=7, wall_sampling="without_replacement"), 200),
}


def np_tree(tree):
    return jax.tree_util.tree_map(np.asarray, tree)


MUTATORS = {
    "edits1": MazeMutator(num_edits=1),
    "edits5": MazeMutator(num_edits=5),
    "edits20": MazeMutator(num_edits=20),
    "fixed_agent": MazeMutator(num_edits=20, move_agent=False),
    "none": MazeMutator(num_edits=0),
}


@jax.jit
def _sample_and_mutate(key):
    """Every generator setting, then every mutator on the default generator's levels (and the
    crowded 3x3 ones), in ONE compiled program: compiling them together is much cheaper."""
    out = {}
    k_gen, k_mut = jax.random.split(key)
    for (name, (gen, n)), k in zip(GENERATORS.items(), jax.random.split(k_gen, len(GENERATORS))):
        levels = jax.vmap(gen)(jax.random.split(k, n))
        out[name] = {
            "levels": levels,
            "valid": jax.vmap(is_valid)(levels),
            "solvable": jax.vmap(is_solvable)(levels),
        }
    parents, full = out["default"]["levels"], out["full"]["levels"]
    keys = jax.random.split(k_mut, len(MUTATORS) + 2)
    for (name, mutator), k in zip(MUTATORS.items(), keys):
        children = jax.vmap(mutator)(jax.random.split(k, N), parents)
        out[name] = {"levels": children, "valid": jax.vmap(is_valid)(children)}
    flipped = jax.vmap(flip_wall)(jax.random.split(keys[-2], N), parents)
    out["flip"] = {"levels": flipped, "valid": jax.vmap(is_valid)(flipped)}
    m = full.wall_map.shape[0]
    crowded = jax.vmap(MUTATORS["edits20"])(jax.random.split(keys[-1], m), full)
    out["crowded"] = {"levels": crowded, "valid": jax.vmap(is_valid)(crowded)}
    return out


@pytest.fixture(scope="module")
def samples():
    return np_tree(_sample_and_mutate(jax.random.key(0)))


@pytest.fixture(scope="module")
def mutations(samples):
    return samples


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


def test_with_replacement_wall_counts(samples):
    walls = samples["default"]["levels"].wall_map.sum((1, 2))
    assert walls.max() <= 25
    assert walls.min() >= 15
    # 25 draws on 169 cells give 169 * (1 - (168/169)**25) ~= 23.3 distinct walls on average.
    expected = SIZE * SIZE * (1 - (1 - 1 / (SIZE * SIZE)) ** 25)
    assert abs(walls.mean() - expected) < 0.15, walls.mean()
    assert np.mean(walls < 25) > 0.5
    sixty = samples["sixty"]["levels"].wall_map.sum((1, 2))
    assert sixty.max() <= 60 and sixty.mean() < 55


def test_without_replacement_gives_exact_count(samples):
    lv = samples["without"]["levels"]
    np.testing.assert_array_equal(lv.wall_map.sum((1, 2)), 25)
    np.testing.assert_array_equal(np.asarray(wall_count(make_level(*lv_fields(lv)))), 25)
    np.testing.assert_array_equal(samples["full"]["levels"].wall_map.sum((1, 2)), 7)


def lv_fields(lv):
    return lv.wall_map, lv.agent_pos, lv.agent_dir, lv.goal_pos


def test_solvable_only(samples):
    assert samples["solvable"]["solvable"].all()
    # The filter does something: unfiltered levels of the same setting are often unsolvable.
    rate = samples["default"]["solvable"].mean()
    assert 0.95 < rate < 1.0, rate
    assert 0.6 < samples["sixty"]["solvable"].mean() < 0.95


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


@pytest.mark.parametrize("name", [*MUTATORS, "flip", "crowded"])
def test_children_are_valid(mutations, name):
    assert mutations[name]["valid"].all()
    lv = mutations[name]["levels"]
    idx = np.arange(lv.wall_map.shape[0])
    assert not lv.wall_map[idx, lv.agent_pos[:, 1], lv.agent_pos[:, 0]].any()
    assert not lv.wall_map[idx, lv.goal_pos[:, 1], lv.goal_pos[:, 0]].any()
    assert np.all(np.any(lv.agent_pos != lv.goal_pos, axis=1))


@pytest.mark.parametrize(("name", "edits"), [("edits1", 1), ("edits5", 5), ("edits20", 20)])
def test_mutation_changes_at_most_num_edits_cells(samples, mutations, name, edits):
    parents, children = samples["default"]["levels"], mutations[name]["levels"]
    changed = changed_cells(parents, children)
    assert changed.max() <= edits
    assert changed.mean() > 0.1 * edits  # about a third of the edits flip a wall
    # The parent's start cell and goal cell never become walls, wherever the agent goes.
    idx = np.arange(N)
    agent_was = children.wall_map[idx, parents.agent_pos[:, 1], parents.agent_pos[:, 0]]
    agent_moved = np.any(parents.agent_pos != children.agent_pos, axis=1)
    assert not agent_was[~agent_moved].any()


def test_single_edit_is_exactly_one_kind(samples, mutations):
    parents, children = samples["default"]["levels"], mutations["edits1"]["levels"]
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


def test_fixed_agent_variant_never_moves_agent(samples, mutations):
    parents, children = samples["default"]["levels"], mutations["fixed_agent"]["levels"]
    np.testing.assert_array_equal(children.agent_pos, parents.agent_pos)
    np.testing.assert_array_equal(children.agent_dir, parents.agent_dir)
    # It still flips walls and moves goals.
    assert np.any(parents.goal_pos != children.goal_pos, axis=1).mean() > 0.9
    assert changed_cells(parents, children).mean() > 5
    # ... whereas the default variant moves the agent.
    moved = np.any(parents.agent_pos != mutations["edits20"]["levels"].agent_pos, axis=1)
    assert moved.mean() > 0.9


def test_flip_wall_touches_one_cell_never_agent_or_goal(samples, mutations):
    parents, children = samples["default"]["levels"], mutations["flip"]["levels"]
    diff = parents.wall_map != children.wall_map
    np.testing.assert_array_equal(diff.sum((1, 2)), 1)
    idx = np.arange(N)
    for p in (parents.agent_pos, parents.goal_pos):
        assert not diff[idx, p[:, 1], p[:, 0]].any()
    np.testing.assert_array_equal(children.agent_pos, parents.agent_pos)
    np.testing.assert_array_equal(children.agent_dir, parents.agent_dir)
    np.testing.assert_array_equal(children.goal_pos, parents.goal_pos)
    # Both directions happen: wall -> free and free -> wall (mostly the latter on sparse levels).
    added = (children.wall_map & diff).sum()
    removed = (parents.wall_map & diff).sum()
    assert added > 0 and removed > 0
    assert 0.05 < removed / N < 0.25  # ~23 walls among 167 candidate cells


def test_zero_edits_is_identity(samples, mutations):
    parents, children = samples["default"]["levels"], mutations["none"]["levels"]
    for a, b in zip(jax.tree_util.tree_leaves(parents), jax.tree_util.tree_leaves(children)):
        np.testing.assert_array_equal(a, b)


def test_crowded_level_mutations(samples, mutations):
    # On 3x3 with 7 walls there is no free cell to move to: only flips change anything, and a flip
    # opens a cell that later edits may use.
    children = mutations["crowded"]["levels"]
    assert children.wall_map.shape == (200, 3, 3)
    assert (children.wall_map.sum((1, 2)) < 7).any()


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
    h = level_hash(level)
    assert h.shape == (2,) and h.dtype == jnp.uint32
    # Equal levels built differently (NumPy vs JAX arrays, jit vs eager, batched vs single).
    copy = make_level(*(np.array(x[0]).tolist() for x in lv_fields(lv)))
    np.testing.assert_array_equal(np.asarray(level_hash(copy)), np.asarray(h))
    np.testing.assert_array_equal(np.asarray(jax.jit(level_hash)(level)), np.asarray(h))
    batch = np.asarray(HASH(make_level(*(x[:8] for x in lv_fields(lv)))))
    np.testing.assert_array_equal(batch[0], np.asarray(h))


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
