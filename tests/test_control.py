"""gymnax's classic-control tasks as UED envs: a level's step is gymnax's own step with that
level's parameters (six-value semantics, differentially over random levels and actions),
derived parameters stay consistent under generation and mutation, the grid suite spans the
space, and success follows each task's definition. The MinAtar games (integer levels) share the
adapter and the differential test."""

from __future__ import annotations

import gymnax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from envs.control import SPACES as CONTROL
from envs.control import ControlEnv
from envs.minatar import SPACES as MINATAR
from ued.env import random_actions

SPACES = {**CONTROL, **MINATAR}

BATCH, STEPS = 8, 60


@pytest.mark.parametrize("name", sorted(SPACES))
def test_levels_step_exactly_like_gymnax_with_their_parameters(name):
    env = ControlEnv(SPACES[name], max_steps=40)
    reference, _ = gymnax.make(SPACES[name].env_id)
    levels = jax.vmap(env.sample_level)(jax.random.split(jax.random.key(0), BATCH))

    @jax.jit
    def compare(key):
        k_reset, k_act, k_steps = jax.random.split(key, 3)
        _, state = jax.vmap(env.reset_to_level)(jax.random.split(k_reset, BATCH), levels)
        params = jax.vmap(env.params)(levels)

        def step(carry, inputs):
            state, alive = carry
            key, actions = inputs
            keys = jax.random.split(key, BATCH)
            ours = jax.vmap(env.step)(jax.vmap(lambda k: jax.random.split(k)[0])(keys), state,
                                      actions)  # fmt: skip
            theirs = jax.vmap(reference.step)(keys, state.env_state, actions, params)
            ended = ours[3] | ours[4]
            return (ours[1], alive & ~ended), (ours, theirs, alive)

        actions = random_actions(env, k_act, (STEPS, BATCH))
        keys = jax.random.split(k_steps, STEPS)
        _, outputs = jax.lax.scan(step, (state, jnp.ones(BATCH, bool)), (keys, actions))
        return outputs

    (obs, _, reward, terminated, truncated, info), theirs, alive = compare(jax.random.key(1))
    _, _, t_reward, t_terminated, t_truncated, t_info = theirs
    alive = np.asarray(alive)
    assert alive[0].all() and (~alive).any(), "some episodes end within the horizon"
    for ours_x, theirs_x in ((obs, t_info["final_observation"]), (reward, t_reward)):
        np.testing.assert_allclose(np.asarray(ours_x)[alive], np.asarray(theirs_x)[alive],
                                   rtol=1e-5, atol=1e-6)  # fmt: skip
    np.testing.assert_array_equal(np.asarray(terminated)[alive], np.asarray(t_terminated)[alive])
    # A time-out that is also the task's end is a termination, not a truncation.
    expected_truncated = np.asarray(t_truncated) & ~np.asarray(t_terminated)
    np.testing.assert_array_equal(np.asarray(truncated)[alive], expected_truncated[alive])
    success = SPACES[name].success
    if success is None:  # Pendulum: no success signal
        assert "solved" not in info
    else:
        solved = np.asarray(info["solved"])[alive]
        by_definition = truncated if success == "survive" else terminated
        np.testing.assert_array_equal(solved, np.asarray(by_definition)[alive])
    assert reward.dtype == jnp.float32 and obs.dtype == jnp.float32


def test_cartpole_derived_masses_follow_generated_and_mutated_levels():
    space = SPACES["cartpole"]
    env = ControlEnv(space)
    levels = jax.vmap(env.sample_level)(jax.random.split(jax.random.key(0), 64))
    mutate = jax.vmap(lambda k, level: space.mutate(k, level, num_edits=5, scale=0.5))
    mutated = mutate(jax.random.split(jax.random.key(1), 64), levels)
    low, high = (np.asarray(b) for b in space.bounds())
    for batch in (levels, mutated):
        values = np.asarray(batch.values)
        assert ((values >= low * (1 - 1e-6)) & (values <= high * (1 + 1e-6))).all()
        params = jax.vmap(env.params)(batch)
        named = dict(zip(space.names, values.T))
        np.testing.assert_allclose(params.total_mass, named["masscart"] + named["masspole"],
                                   rtol=1e-6)  # fmt: skip
        np.testing.assert_allclose(params.polemass_length, named["masspole"] * named["length"],
                                   rtol=1e-6)  # fmt: skip
    assert not np.allclose(np.asarray(mutated.values), np.asarray(levels.values))


def test_the_grid_suite_spans_its_two_parameters_log_evenly():
    space = SPACES["mountain-car"]
    names, levels = space.grid_levels(4)
    values = np.asarray(levels.values)
    assert len(names) == 16 and values.shape == (16, 2)
    force, gravity = values[:, 0], values[:, 1]
    assert np.allclose(np.unique(force), np.geomspace(0.0005, 0.002, 4), rtol=1e-6)
    assert np.allclose(np.unique(gravity), np.geomspace(0.00125, 0.005, 4), rtol=1e-6)
    assert names[1].startswith("force=") and "gravity=" in names[1]


def test_the_default_level_is_gymnax_default():
    for space in SPACES.values():
        env = ControlEnv(space)
        _, defaults = gymnax.make(space.env_id)
        params = env.params(space.default_level())
        for name in space.names:
            assert float(getattr(params, name)) == pytest.approx(float(getattr(defaults, name)))


def test_grid_suites_get_a_heat_map_of_return(tmp_path):
    from ued.plots import parameter_heatmaps

    names, _ = SPACES["cartpole"].grid_levels(3)
    rows = [
        {"run": run, "seed": seed, "suite": "grid", "level": name, "statistic": "return",
         "value": float(i + seed)}
        for run in ("dr", "accel") for seed in (0, 1) for i, name in enumerate(names)
    ]  # fmt: skip
    rows.append({"run": "dr", "seed": 0, "suite": "default", "level": "default",
                 "statistic": "return", "value": 1.0})  # fmt: skip
    assert parameter_heatmaps(rows, tmp_path / "grid.png")
    assert (tmp_path / "grid.png").stat().st_size > 1000
    assert not parameter_heatmaps(rows[-1:], tmp_path / "none.png")
    assert not (tmp_path / "none.png").exists()


def test_minatar_levels_are_whole_timers_that_gymnax_receives_as_integers():
    space = MINATAR["asterix"]
    keys = jax.random.split(jax.random.key(0), 64)
    levels = jax.vmap(space.sample)(keys)
    values = np.asarray(levels.values)
    low, high = (np.asarray(b) for b in space.bounds())
    assert np.all(values == np.round(values)) and np.all((values >= low) & (values <= high))
    mutate = jax.vmap(lambda key, level: space.mutate(key, level, num_edits=1))
    mutated = np.asarray(mutate(keys, levels).values)
    steps = np.abs(mutated - values).sum(axis=1)
    assert set(np.unique(steps)) <= {0.0, 1.0} and steps.sum() > 0  # one +-1 edit (0 at a bound)
    env = ControlEnv(space)
    params = env.params(jax.tree_util.tree_map(lambda x: x[0], levels))
    assert params.init_spawn_speed.dtype == jnp.int32 and int(params.ramp_interval) == values[0, 0]
    names, line = MINATAR["freeway"].grid_levels(10)  # one grid parameter: a line, no repeats
    assert names == [f"player_speed={v}" for v in range(1, 7)] and line.values.shape == (6, 1)
    breakout = MINATAR["breakout"]  # no parameters: one fixed task
    assert breakout.sample(keys[0]).values.shape == (0,)
    assert breakout.mutate(keys[0], breakout.sample(keys[0]), 3).values.shape == (0,)
