"""Craftax-Classic as a UED env: the compact level rebuilds Craftax's own t=0 state, steps are
Craftax's with ``done`` split into termination and truncation, the tile-swap mutators keep
block counts and the player's tile, achievements reach evaluation, and curricula that cannot
work here are refused. Compiles are Craftax's (a few seconds each from the persistent cache),
so every test shares the session's jitted functions; training runs live in the conformance
test (``dr``) and behind ``slow``."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from craftax.craftax_classic.constants import BlockType
from craftax.craftax_classic.envs.craftax_symbolic_env import (
    CraftaxClassicSymbolicEnvNoAutoReset,
)
from craftax.craftax_classic.world_gen import generate_world

from envs.craftax import CraftaxEnv, block_counts, generate, mutate
from envs.craftax.levels import CENTRE, FAMILIES, MAP_SIZE, swap_tiles
from ued import config as config_lib
from ued.app.build import preset
from ued.errors import ConfigError
from ued.rollout import Player

ENV = CraftaxEnv(max_steps=12)


def _raw(x):
    return jax.random.key_data(x) if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key) else x


def _assert_trees_equal(a, b):
    for (path, x), y in zip(
        jax.tree_util.tree_leaves_with_path(a), jax.tree_util.tree_leaves(b), strict=True
    ):
        np.testing.assert_array_equal(np.asarray(_raw(x)), np.asarray(_raw(y)), err_msg=str(path))


@pytest.fixture(scope="module")
def worlds():
    """Four generated worlds (compact) and Craftax's own t=0 states of them."""
    keys = jax.random.split(jax.random.key(11), 4)
    states = jax.jit(jax.vmap(lambda k: generate_world(k, ENV._params, ENV._static)))(keys)
    return keys, jax.jit(jax.vmap(generate))(keys), states


def test_the_compact_level_rebuilds_craftaxs_own_initial_state(worlds):
    _, levels, states = worlds
    assert levels.map.dtype == jnp.uint8 and levels.map.shape == (4, *MAP_SIZE)
    assert levels.player_position.dtype == jnp.int32
    rng = jax.random.split(jax.random.key(5), 4)
    obs, rebuilt = jax.jit(jax.vmap(ENV.reset_to_level))(rng, levels)
    _assert_trees_equal(rebuilt, states.replace(state_rng=rng))
    craftax = CraftaxClassicSymbolicEnvNoAutoReset()
    np.testing.assert_array_equal(obs, jax.vmap(craftax.get_obs)(states))
    assert not any(getattr(x, "weak_type", False) for x in jax.tree_util.tree_leaves(rebuilt))


def test_steps_are_craftaxs_with_done_split_into_termination_and_truncation(worlds):
    _, levels, _ = worlds
    craftax = CraftaxClassicSymbolicEnvNoAutoReset()
    params = ENV._params

    def both(key, state, action):
        ours = ENV.step(key, state, action)
        theirs = craftax.step_env(key, state, action, params)
        return ours, theirs

    step = jax.jit(jax.vmap(both))
    _, state = jax.jit(jax.vmap(ENV.reset_to_level))(jax.random.split(jax.random.key(0), 4), levels)
    for t in range(ENV.max_steps):
        actions = jax.random.randint(jax.random.key(t), (4,), 0, 17)
        keys = jax.random.split(jax.random.key(100 + t), 4)
        (obs, new, reward, terminated, truncated, info), (c_obs, c_state, c_reward, done, _) = step(
            keys, state, actions
        )
        np.testing.assert_array_equal(obs, c_obs)
        np.testing.assert_array_equal(reward, c_reward)
        _assert_trees_equal(new, c_state)
        np.testing.assert_array_equal(terminated | truncated, done)
        assert not (terminated & truncated).any()
        assert (np.asarray(truncated) == (t == ENV.max_steps - 1) & ~np.asarray(terminated)).all()
        np.testing.assert_array_equal(info["outcomes"], new.achievements.astype(np.float32))
        state = new


def test_lava_terminates_and_is_not_a_truncation(worlds):
    _, levels, _ = worlds
    level = jax.tree_util.tree_map(lambda x: x[0], levels)
    row, col = np.asarray(level.player_position)
    # The tile to the player's right becomes lava and the player walks right (action 2).
    lava = level.replace(map=level.map.at[row, col + 1].set(BlockType.LAVA.value))
    _, state = ENV.reset_to_level(jax.random.key(0), lava)
    _, _, _, terminated, truncated, _ = jax.jit(ENV.step)(jax.random.key(1), state, 2)
    assert bool(terminated) and not bool(truncated)


@pytest.mark.parametrize("restricted", [False, True])
def test_tile_swaps_keep_block_counts_the_player_and_the_outside(worlds, restricted):
    _, levels, _ = worlds
    children = jax.jit(jax.vmap(lambda k, lv: mutate(k, lv, 20, restricted)))(
        jax.random.split(jax.random.key(2), 4), levels
    )
    np.testing.assert_array_equal(jax.vmap(block_counts)(children), jax.vmap(block_counts)(levels))
    np.testing.assert_array_equal(children.player_position, levels.player_position)
    before, after = np.asarray(levels.map), np.asarray(children.map)
    changed = before != after
    assert changed.any()
    lo = (MAP_SIZE[0] - CENTRE) // 2
    inside = np.zeros(MAP_SIZE, bool)
    inside[lo : lo + CENTRE, lo : lo + CENTRE] = True
    assert not changed[:, ~inside].any()
    rows, cols = np.asarray(levels.player_position).T
    assert (before[np.arange(4), rows, cols] == after[np.arange(4), rows, cols]).all()
    if restricted:  # one swap at a time: each edit keeps a tile inside its family
        one = jax.tree_util.tree_map(lambda x: x[0], levels)
        child = jax.jit(lambda k: swap_tiles(k, one, restricted=True))(jax.random.key(9))
        moved = np.argwhere(np.asarray(one.map) != np.asarray(child.map))
        family = {b.value: i for i, members in enumerate(FAMILIES) for b in members}
        kinds = {family.get(int(one.map[r, c]), -1) for r, c in moved}
        assert len(moved) in (0, 2) and -1 not in kinds and len(kinds) <= 1


def test_evaluation_reports_achievement_rates(worlds):
    from ued.app.build import make_learner
    from ued.registry import ENVS

    _, levels, _ = worlds
    config = preset("dr", "craftax-classic", "test")
    spec = ENVS.get("craftax-classic")
    learner = make_learner(config, spec, ENV)
    params = learner.init(jax.random.key(0), ENV.dummy_observation()).params
    stats = jax.jit(lambda k, p, lv: Player(ENV, learner).play_episodes(k, p, lv, 0.99))(
        jax.random.key(3), params, levels
    )
    assert stats.outcomes.shape == (4, len(ENV.outcome_names))
    assert set(np.unique(stats.outcomes)) <= {0.0, 1.0}
    assert (np.asarray(stats.lengths) <= ENV.max_steps).all()


def test_curricula_that_cannot_work_on_craftax_are_refused_before_compiling():
    from algorithms import dr
    from ued.app.build import build

    per_episode = dataclasses.replace(
        preset("dr", "craftax-classic", "test"), curriculum=dr.Config(resample="episode")
    )
    with pytest.raises(ConfigError, match=r"curriculum.resample: episode .* too slow"):
        config_lib.validate(per_episode)
    assert preset("dr", "craftax-classic", "paper").curriculum.resample == "update"
    for algo in ("sfl", "paired"):  # no success signal, no level editor
        with pytest.raises(ConfigError, match="needs the env capabilit"):
            build(preset(algo, "craftax-classic", "test"))


def test_world_seed_suite_is_fixed():
    from ued.registry import ENVS

    suite = ENVS.get("craftax-classic").suites["seeds"]
    names, first = suite.levels(3, seed=0)
    _, again = suite.levels(3, seed=7)
    assert names == ["world-0", "world-1", "world-2"]
    np.testing.assert_array_equal(first.map, again.map)
    assert len({np.asarray(m).tobytes() for m in first.map}) == 3


def test_nearest_tree_counts_the_players_moves_and_is_undefined_without_trees():
    """The player moves in 4 directions, so the distance is Manhattan; with no tree it is NaN
    (not the map size)."""
    from envs.craftax.levels import CraftaxLevel, descriptors

    grass = jnp.full((64, 64), BlockType.GRASS.value, jnp.uint8)
    start = jnp.array([32, 32], jnp.int32)
    with_tree = grass.at[34, 35].set(BlockType.TREE.value).at[20, 20].set(BlockType.TREE.value)
    levels = CraftaxLevel(map=jnp.stack([with_tree, grass]), player_position=jnp.stack([start] * 2))
    nearest = np.asarray(descriptors(None, levels)["nearest_tree"])
    assert nearest[0] == 5.0 and np.isnan(nearest[1])
