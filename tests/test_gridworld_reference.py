"""The gridworld against GROOVE's reference (EmptyJackson/groove, ``environments/gridworld/``):
its level distributions field by field and, through a NumPy model of its sampler, statistically;
its dynamics step for step through a NumPy model of its ``step_env`` (move, collect, terminate,
respawn order), reset placement in the ``rand_*`` modes, and LPG's five grids."""

from __future__ import annotations

import collections

import jax
import numpy as np
import pytest

from envs.gridworld import DISTRIBUTIONS, LPG_CONFIGS, Gridworld, make_level
from envs.gridworld.layouts import LPG_LIFETIME, lpg_layouts

# The reference's configs.py: (grid sides, episode lengths, objects, walls, wall index grid,
# lifetime) per mode; p_term is log-uniform [0.01, 1] and p_respawn [0.001, 0.1] in all of them.
REFERENCE_MODES = {
    "all": ((4, 10), (20, 750), (1, 5), 15, 10, (1000, 1000)),
    "all_shortlife": ((4, 10), (20, 750), (1, 5), 15, 10, (250, 250)),
    "all_randlife": ((4, 10), (20, 750), (1, 5), 15, 10, (50, 250)),
    "all_vrandlife": ((4, 10), (20, 750), (1, 5), 15, 10, (10, 250)),
    "small": ((4, 6), (20, 100), (1, 3), 7, 6, (250, 250)),
    "medium": ((6, 8), (100, 250), (2, 4), 10, 8, (1000, 1000)),
    "large": ((8, 10), (250, 750), (2, 5), 15, 10, (2500, 2500)),
    "debug": ((3, 4), (5, 10), (1, 2), 4, 4, (4, 4)),
}


@pytest.mark.parametrize("name", sorted(REFERENCE_MODES))
def test_each_distribution_has_the_reference_parameters(name):
    sizes, steps, objects, walls, wall_grid, lifetime = REFERENCE_MODES[name]
    d = DISTRIBUTIONS[name]
    assert (d.min_size, d.max_size) == sizes and (d.min_steps, d.max_steps) == steps
    assert (d.min_objects, d.max_objects) == objects
    assert (d.walls, d.wall_grid, tuple(d.lifetime)) == (walls, wall_grid, lifetime)
    assert tuple(d.p_term) == (0.01, 1.0) and tuple(d.p_respawn) == (0.001, 0.1)
    assert set(DISTRIBUTIONS) == set(REFERENCE_MODES)


# ---- a NumPy model of the reference's sampler (configs.py: reset_env_params) -------------------
def _log_uniform_int(rng, low, high):
    return int(np.round(np.exp(rng.uniform(np.log(low), np.log(high)))))


def reference_level(rng, name):
    """One level as the reference draws it, in its own terms: side g, wall flat indices (row
    width g), start and object flat cells, n objects (object i of type i), rewards, steps and
    lifetime."""
    sizes, steps, objects, walls, wall_grid, lifetime = REFERENCE_MODES[name]
    n_types = objects[1]
    rewards = np.concatenate([rng.uniform(0, 1, 1), rng.uniform(-1, 1, n_types - 1)])
    g = int(rng.integers(sizes[0], sizes[1] + 1))
    n = int(rng.integers(objects[0], objects[1] + 1))
    wall_idx = rng.choice(wall_grid**2, walls, replace=False)
    valid = [p for p in range(wall_grid**2) if p < g * g and p not in set(wall_idx)]
    cells = rng.choice(valid, objects[1] + 1, replace=False)
    return {
        "side": g, "walls": {int(w) for w in wall_idx if w < g * g}, "start": int(cells[0]),
        "objects": [int(c) for c in cells[1 : n + 1]], "rewards": rewards[:n],
        "steps": _log_uniform_int(rng, *steps), "lifetime": _log_uniform_int(rng, *lifetime),
    }  # fmt: skip


def _reaches_positive(side, walls, start, objects, rewards) -> bool:
    """Whether a breadth-first search from ``start`` (flat, row width ``side``) reaches an object
    with a positive reward."""
    goals = {c for c, r in zip(objects, rewards) if r > 0}
    seen, queue = {start}, collections.deque([start])
    while queue:
        c = queue.popleft()
        if c in goals:
            return True
        y, x = divmod(c, side)
        for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
            ny, nx = y + dy, x + dx
            n = ny * side + nx
            if 0 <= ny < side and 0 <= nx < side and n not in walls and n not in seen:
                seen.add(n)
                queue.append(n)
    return False


def _statistics_of_reference(name, count, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(count):
        lv = reference_level(rng, name)
        g = lv["side"]
        rows.append((
            _reaches_positive(g, lv["walls"], lv["start"], lv["objects"], lv["rewards"]),
            g * g - len(lv["walls"]), len(lv["objects"]), np.log(lv["steps"]),
            np.log(lv["lifetime"]),
        ))  # fmt: skip
    return np.array(rows, np.float64)


def _statistics_of_ours(name, count, seed=0):
    env = Gridworld(distribution=DISTRIBUTIONS[name])
    levels = jax.jit(jax.vmap(env.sample_level))(jax.random.split(jax.random.key(seed), count))
    walls, start = np.asarray(levels.wall_map), np.asarray(levels.start)
    pos, kinds, reward = (np.asarray(x) for x in (levels.object_pos, levels.object_type,
                                                  levels.reward))  # fmt: skip
    size = walls.shape[-1]
    rows = []
    for i in range(count):
        blocked = {int(c) for c in np.flatnonzero(walls[i])}
        used = kinds[i] >= 0
        assert (kinds[i][used] == np.arange(used.sum())).all()  # object i has type i
        objects = [int(y * size + x) for (x, y) in pos[i][used]]
        reach = _reaches_positive(size, blocked, int(start[i, 1] * size + start[i, 0]), objects,
                                  reward[i][kinds[i][used]])  # fmt: skip
        steps, lifetime = int(levels.max_steps[i]), int(levels.lifetime[i])
        free = size * size - len(blocked)
        rows.append((reach, free, used.sum(), np.log(steps), np.log(lifetime)))
    return np.array(rows, np.float64)


@pytest.mark.parametrize("name", ["all", "small", "all_vrandlife", "debug"])
def test_sampled_levels_match_a_numpy_model_of_the_reference_sampler(name):
    """Share of levels with a reachable positive-reward object, free cells, objects, log
    episode length and log lifetime agree within sampling error (5 standard errors)."""
    count = 3000
    ours, reference = _statistics_of_ours(name, count), _statistics_of_reference(name, count)
    columns = ("reaches a positive object", "free cells", "objects", "log steps", "log lifetime")
    for j, column in enumerate(columns):
        a, b = ours[:, j], reference[:, j]
        se = np.sqrt(a.var() / count + b.var() / count)
        assert abs(a.mean() - b.mean()) <= 5 * se + 1e-9, (name, column, a.mean(), b.mean())
    if name == "all":  # the reference's distribution rarely strands the agent (about 1%)
        assert 1 - ours[:, 0].mean() < 0.03


# ---- a NumPy model of the reference's dynamics (gridworld.py: step_env) ------------------------
def reference_step(g, walls, state, action, level, u_term, u_respawn):
    """One step of the reference's tabular gridworld on flat cells (row width ``g``). ``state``:
    (pos, exists list, time). The reference draws each Bernoulli as a uniform below its
    probability; ``u_term[k]`` is the draw for collecting object k, ``u_respawn[k]`` object k's
    respawn draw."""
    pos, exists, time = state
    top, bottom = pos < g, pos >= g * (g - 1)
    left, right = pos % g == 0, pos % g == g - 1
    step = {0: 0 if top else -g, 1: 0 if bottom else g, 2: 0 if left else -1,
            3: 0 if right else 1, 4: 0}[action]  # fmt: skip
    nxt = pos + step
    pos = pos if nxt in walls else nxt
    kinds, cells = level["types"], level["cells"]
    collected = [e and cells[k] == pos for k, e in enumerate(exists)]
    respawn = [u_respawn[k] < level["p_respawn"][kinds[k]] for k in range(len(exists))]
    new_exists = [(e or r) and not c for e, r, c in zip(exists, respawn, collected)]
    reward = sum(level["reward"][kinds[k]] for k, c in enumerate(collected) if c)
    term = any(c and u_term[k] < level["p_term"][kinds[k]] for k, c in enumerate(collected))
    time += 1
    return (pos, new_exists, time), reward, term, time >= level["steps"] and not term


def _as_level(g, walls, start, cells, kinds, reward, p_term, p_respawn, steps, size=6, slots=3):
    wall_map = np.ones((size, size), bool)
    wall_map[:g, :g] = False
    for w in walls:
        wall_map[w // g, w % g] = True
    pos = np.zeros((slots, 2), np.int32)
    types = np.full(slots, -1, np.int32)
    for k, (c, kind) in enumerate(zip(cells, kinds)):
        pos[k], types[k] = (c % g, c // g), kind
    return make_level(wall_map, (start % g, start // g), pos, types, reward, p_term, p_respawn,
                      steps, 1)  # fmt: skip


def _play_both(env, g, walls, start, level_np, actions, seed):
    level = _as_level(g, walls, start, level_np["cells"], level_np["types"], level_np["reward"],
                      level_np["p_term"], level_np["p_respawn"], level_np["steps"])  # fmt: skip
    _, state = env.reset_to_level(jax.random.key(seed), level)
    ref = (start, [True] * len(level_np["cells"]), 0)
    step = jax.jit(env.step)
    slots = env.max_objects
    for t, action in enumerate(actions):
        key = jax.random.fold_in(jax.random.key(seed), t)
        k_term, k_respawn, _ = jax.random.split(key, 3)  # the env's own draws
        u_term = np.asarray(jax.random.uniform(k_term, (slots,)))
        u_respawn = np.asarray(jax.random.uniform(k_respawn, (slots,)))
        _, state, reward, terminated, truncated, _ = step(key, state, action)
        ref, ref_reward, ref_term, ref_trunc = reference_step(
            g, walls, ref, action, level_np, u_term, u_respawn
        )
        x, y = np.asarray(state.pos)
        assert y * g + x == ref[0], t
        assert np.asarray(state.present)[: len(ref[1])].tolist() == ref[1], t
        assert float(reward) == pytest.approx(ref_reward), t
        assert (bool(terminated), bool(truncated)) == (ref_term, ref_trunc), t
        if ref_term or ref_trunc:
            return t
    return len(actions)


ENV6 = Gridworld(size=6, max_objects=3, num_types=3, tabular=True, max_steps=40)


def test_an_object_collected_this_step_cannot_respawn_in_it():
    """Respawn probability 1 and an agent that stays on the object: the reference collects it
    every other step (a respawn only brings back objects missing before the step)."""
    level_np = {"cells": [1], "types": [0], "reward": [1.0, 0, 0], "p_term": [0.0, 0, 0],
                "p_respawn": [1.0, 0, 0], "steps": 12}  # fmt: skip
    actions = [3] + [4] * 10
    assert _play_both(ENV6, 3, set(), 0, level_np, actions, seed=0) == len(actions)
    level = _as_level(3, set(), 0, [1], [0], [1.0, 0, 0], [0.0, 0, 0], [1.0, 0, 0], 12)
    _, state = ENV6.reset_to_level(jax.random.key(0), level)
    rewards = []
    for t, action in enumerate(actions):
        _, state, reward, *_ = ENV6.step(jax.random.key(t), state, action)
        rewards.append(float(reward))
    assert rewards == [1.0, 0.0] * 5 + [1.0]


def test_random_levels_step_for_step_against_the_reference_model():
    rng = np.random.default_rng(7)
    played = 0
    for episode in range(12):
        g = int(rng.integers(3, 7))
        walls = {int(w) for w in rng.choice(g * g, int(rng.integers(0, g)), replace=False)}
        free = [c for c in range(g * g) if c not in walls]
        n = int(rng.integers(1, 4))
        picks = rng.choice(free, n + 1, replace=False)
        level_np = {
            "cells": [int(c) for c in picks[1:]], "types": [int(k) for k in rng.integers(0, 3, n)],
            "reward": rng.uniform(-1, 1, 3).tolist(), "p_term": rng.uniform(0, 0.3, 3).tolist(),
            "p_respawn": rng.choice([0.0, 0.3, 1.0], 3).tolist(), "steps": 30,
        }  # fmt: skip
        actions = rng.integers(0, 5, 30).tolist()
        played += _play_both(ENV6, g, walls, int(picks[0]), level_np, actions, seed=episode)
    assert played > 100  # most episodes run long enough to collect, respawn and end


def test_rand_mode_places_objects_at_random_at_every_reset():
    env = Gridworld(size=6, max_objects=3, num_types=3, tabular=False, max_steps=40)
    level = _as_level(5, {6, 7, 8}, 0, [12, 18, 24], [0, 1, 2], [1.0, -1, 0.5], [0.0] * 3,
                      [0.0] * 3, 40)  # fmt: skip
    _, states = jax.vmap(env.reset_to_level, in_axes=(0, None))(
        jax.random.split(jax.random.key(0), 400), level
    )
    pos = np.asarray(states.object_pos)
    walls = np.asarray(level.wall_map)
    seen = collections.Counter()
    for b in range(400):
        cells = [tuple(p) for p in pos[b]]
        assert len(set(cells)) == 3 and (0, 0) not in cells  # distinct, never the agent's cell
        assert not any(walls[y, x] for x, y in cells)
        seen.update(cells)
    # 25 - 3 walls - the start = 21 free cells, each about equally likely
    assert len(seen) == 21 and max(seen.values()) < 2.5 * min(seen.values())
    _, tabular = ENV6.reset_to_level(jax.random.key(0), level)  # tabular: objects stay put
    np.testing.assert_array_equal(np.asarray(tabular.object_pos), np.asarray(level.object_pos))


def _reference_walls(side, vertical_col, vertical_gaps, horizontal_row=None, horizontal_gaps=()):
    """The reference's wall indices for ``longer`` / ``long_dense`` (configs.py)."""
    cells = np.arange(side * side)
    walls = (cells % side == vertical_col) & ~np.isin(
        cells, [r * side + vertical_col for r in vertical_gaps]
    )
    if horizontal_row is not None:
        walls |= (cells // side == horizontal_row) & ~np.isin(
            cells, [horizontal_row * side + c for c in horizontal_gaps]
        )
    return walls.reshape(side, side)  # fmt: skip


def test_lpg_grids_are_the_references():
    expected = {
        "dense": (np.zeros((11, 11), bool), [2, 1, 1], 500),
        "sparse": (np.zeros((13, 13), bool), [1, 1], 50),
        "long": (np.zeros((11, 11), bool), [2, 2], 1000),
        "longer": (_reference_walls(9, 4, (1, 7)), [2, 3], 2000),
        "long_dense": (_reference_walls(11, 5, (0, 7), 4, (2, 8)), [4], 2000),
    }
    assert list(LPG_CONFIGS) == list(expected)
    for layout in lpg_layouts():
        walls, counts, steps = expected[layout.name]
        np.testing.assert_array_equal(layout.walls, walls, err_msg=layout.name)
        kinds = collections.Counter(kind for *_, kind in layout.objects)
        assert [kinds[k] for k in range(len(counts))] == counts and layout.steps == steps
        assert layout.lifetime == LPG_LIFETIME == 2500
        x, y = layout.start
        assert not walls[y, x] and all(not walls[oy, ox] for ox, oy, _ in layout.objects)


def test_the_oracle_follows_the_reference_respawn_order():
    """A 1x2 corridor, the object next to the start with respawn probability 1: the best an
    agent can do in 5 steps is collect on steps 1, 3 and 5 (3), not every step (5)."""
    from envs.gridworld import optimal_return

    level = _as_level(2, set(), 0, [1], [0], [1.0, 0, 0], [0.0, 0, 0], [1.0, 0, 0], 5)
    level = level.replace(wall_map=level.wall_map.at[1, :].set(True))
    assert float(optimal_return(ENV6, level, 1.0)) == pytest.approx(3.0)
