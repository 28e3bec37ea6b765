"""Every registered env and every algorithm × env pair, so a new entry is tested the day it is
registered (gymnax-style). Envs: jit, vmap, reset to a level, step, episodes that end by the time
limit (a truncation where the env says it truncates), and each declared capability. Pairs: two
chunks of updates with one compile, or, where the env lacks what the algorithm needs, a refusal
that names the missing capability before anything is compiled."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import assert_student_trained, program_chunks, run_chunks

from ued import registry
from ued.app.build import build, build_meta, preset
from ued.app.cli import main
from ued.curriculum import UNDEFINED_PREFIX
from ued.env import CAPABILITIES, Environment, random_actions
from ued.errors import ConfigError
from ued.meta.config import preset as meta_preset
from ued.meta.config import validate as meta_validate

ENVS = list(registry.ENVS)
BATCH = 6


HEAVY_ENVS = {"craftax-classic"}
"""Envs whose every program takes the better part of a minute to compile on 2 CPU cores: only
the refusals run by default; their compiling pairs and env-level checks here run under ``make
test-all`` (their own test module steps them, evaluates a policy, checks termination and
truncation, the mutator and the suites by default)."""
ENV_PARAMS = [
    pytest.param(name, marks=[pytest.mark.slow] if name in HEAVY_ENVS else []) for name in ENVS
]


HOME_ENV = "maze"
"""Every curriculum compiles on its home env by default; elsewhere DR and robust PLR (a buffer
curriculum) do, and the other compiling pairs run under ``make test-all`` (CI's budget)."""


def _pairs():
    """Every algorithm x env pair. Curricula act on levels, so where an env's level type is
    already covered by an earlier env (gridworld-rand plays gridworld's levels), only ``dr``
    runs by default and the other pairs are marked slow (``make test-all`` runs them); so do
    the compiling pairs of a heavy env, and off ``HOME_ENV`` the pairs other than DR and robust
    PLR (a refusal costs nothing and always runs)."""
    covered, pairs = set(), []
    for env in ENVS:
        spec = registry.ENVS.get(env)
        level_type = type(spec.make(preset("dr", env, "test").env_config).sample_level(
            jax.random.key(0)))  # fmt: skip
        for algo in registry.ALGORITHMS:
            refused = registry.ALGORITHMS.get(algo).requires(preset(algo, env, "test")) - set(
                spec.capabilities
            )
            heavy = env in HEAVY_ENVS and not refused
            away = env != HOME_ENV and algo not in ("dr", "robust-plr") and not refused
            slow = away or heavy or (algo != "dr" and level_type in covered)
            pairs.append(pytest.param(algo, env, marks=[pytest.mark.slow] if slow else []))
        covered.add(level_type)
    return pairs


PAIRS = _pairs()


def _env(name):
    spec = registry.ENVS.get(name)
    return spec, spec.make(preset("dr", name, "test").env_config)


def _same_structure(a, b, batch=None):
    shapes_a = [(x.shape, x.dtype) for x in jax.tree_util.tree_leaves(a)]
    shapes_b = [
        ((*([batch] if batch else []), *x.shape), x.dtype) for x in jax.tree_util.tree_leaves(b)
    ]
    return jax.tree_util.tree_structure(a) == jax.tree_util.tree_structure(b) and (
        shapes_a == shapes_b
    )


@pytest.mark.parametrize("name", ENV_PARAMS)
def test_env_jits_vmaps_and_ends_every_episode_by_its_time_limit(name):
    spec, env = _env(name)
    keys = jax.random.split(jax.random.key(0), BATCH)
    levels = jax.jit(jax.vmap(env.sample_level))(keys)
    one = jax.tree_util.tree_map(lambda x: x[0], levels)
    assert all(x.dtype != jnp.float64 for x in jax.tree_util.tree_leaves(levels))
    assert not any(getattr(x, "weak_type", False) for x in jax.tree_util.tree_leaves(one))
    obs, state = jax.jit(jax.vmap(env.reset_to_level))(keys, levels)
    assert _same_structure(obs, env.dummy_observation(), batch=BATCH)

    step = jax.jit(jax.vmap(env.step))
    ended = np.zeros(BATCH, bool)
    for t in range(env.max_steps):
        actions = random_actions(env, jax.random.key(t), (BATCH,))
        obs, state, reward, terminated, truncated, info = step(keys, state, actions)
        assert reward.dtype == jnp.float32 and reward.shape == (BATCH,)
        assert terminated.dtype == truncated.dtype == jnp.bool_
        live = ~ended
        if spec.success:
            solved = np.asarray(info["solved"])
            ends = np.asarray(terminated | truncated)  # survival tasks succeed at the time limit
            assert ends[solved & live].all()  # success ends the episode
        if not env.truncates:
            assert not np.asarray(truncated).any()
        # A truncation is the time limit, nothing else.
        at_limit = t == np.asarray(jax.vmap(env.time_limit)(levels)) - 1
        assert not (np.asarray(truncated) & live & ~at_limit).any()
        ended |= np.asarray(terminated | truncated)
    assert ended.all(), "every episode must end by max_steps"
    assert _same_structure(obs, env.dummy_observation(), batch=BATCH)

    # Unbatched and unjitted, with a Python int action (as the docs show it); a heavy env's
    # op-by-op step takes ~15 s on CPU, so it runs jitted there.
    reset, step_one = (env.reset_to_level, env.step)
    if name in HEAVY_ENVS:
        reset, step_one = jax.jit(reset), jax.jit(step_one, static_argnums=2)
    _, single = reset(jax.random.key(1), one)
    out = step_one(jax.random.key(2), single, 0)
    assert len(out) == 6


@pytest.mark.parametrize("name", ENV_PARAMS)
def test_declared_capabilities_work(name):
    spec, env = _env(name)
    levels = jax.vmap(env.sample_level)(jax.random.split(jax.random.key(3), BATCH))
    one = jax.tree_util.tree_map(lambda x: x[0], levels)
    assert spec.capabilities <= set(CAPABILITIES)
    if spec.render_level is not None:
        image = np.asarray(jax.jit(spec.render_level)(one))
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[-1] == 3
    if spec.descriptors is not None:
        stats = jax.jit(lambda lv: spec.descriptors(env, lv))(levels)
        assert stats and all(np.asarray(v).shape == (BATCH,) for v in stats.values())
        # A declared fraction is a 0/1 property of each level.
        assert set(spec.descriptors.fractions) <= set(stats)
        for fraction in spec.descriptors.fractions:
            assert set(np.unique(np.asarray(stats[fraction]))) <= {0.0, 1.0}
    assert env.num_states >= 0
    if spec.oracle is not None:
        v_star = jax.jit(jax.vmap(lambda lv: spec.oracle(env, lv, 0.99)))(levels)
        assert np.all(np.isfinite(np.asarray(v_star)))
    if spec.tuned_a2c is not None:
        for suite_name in ("random", *spec.suites):
            settings = spec.tuned_a2c(preset("dr", name, "test").env_config, suite_name)
            assert settings is None or (settings["lr"] > 0 and settings["entropy_coef"] >= 0)
    if spec.mutator is not None:
        config = preset("dr", name, "test").env_config
        child = jax.jit(spec.mutator(config, 3))(jax.random.key(4), one)
        assert _same_structure(child, one)
    for suite_name, suite in spec.suites.items():
        names, suite_levels = suite.levels(2, 0)
        suite_env = suite.env(env)
        assert len(names) == jax.tree_util.tree_leaves(suite_levels)[0].shape[0], suite_name
        first = jax.tree_util.tree_map(lambda x: x[0], suite_levels)
        play = lambda k, lv: suite_env.step(k, suite_env.reset_to_level(k, lv)[1], 0)
        (jax.jit(play) if name in HEAVY_ENVS else play)(jax.random.key(0), first)
    drawn = spec.draw_random_levels(env, 3, seed=0)
    assert _same_structure(drawn, one, batch=3)


@pytest.mark.parametrize(("algo", "name"), PAIRS)
def test_algorithm_env_pair_compiles_once_and_updates_or_is_refused(algo, name):
    config = preset(algo, name, "test")
    spec = registry.ENVS.get(name)
    missing = registry.ALGORITHMS.get(algo).requires(config) - spec.capabilities
    if missing:
        with pytest.raises(ConfigError, match=f"needs the env capabilit.*'{sorted(missing)[0]}'"):
            build(config)
        return
    _, _, metrics, traces, levels = run_chunks(config, 2)
    assert traces == 1
    assert metrics["student/lr"].shape == (2 * config.updates_per_chunk,)  # one row per update
    for metric, value in metrics.items():
        if not metric.startswith(UNDEFINED_PREFIX):
            assert np.all(np.isfinite(np.asarray(value, np.float64))), metric
    assert jax.tree_util.tree_leaves(levels)[0].shape[0] == config.ppo.num_envs


# ---- the learner axis: every built-in learner x curriculum ---------------------------------
LEARNER_DEFAULT_ALGOS = ("dr", "robust-plr", "paired")
"""Curricula every learner trains with by default (DR, a buffer, a generator agent whose
antagonist is the student's learner); the other pairs run under ``make test-all``."""


SLOW = pytest.mark.slow


def _learner_pairs():
    from ued.app.builtins import LEARNERS

    return [
        pytest.param(learner, algo, marks=[] if algo in LEARNER_DEFAULT_ALGOS else [SLOW])
        for learner in sorted(set(LEARNERS) - {"ppo"})
        for algo in registry.ALGORITHMS
    ]


@pytest.fixture(scope="session")
def lpo_rule_file(tmp_path_factory):
    """A temporally-aware LPO rule with random (non-zero) parameters."""
    from ued.drift import LearnedDrift, save_rule

    objective = LearnedDrift(hidden=8, temporal=True)
    zeros = objective.zero_rule()
    rule = jax.tree_util.tree_map(lambda z: 0.5 * jnp.ones_like(z), zeros)
    return str(save_rule(tmp_path_factory.mktemp("lpo") / "rule.msgpack", objective, rule))


def _with_learner(config, learner: str, rule: str):
    """``config`` trained by ``learner`` (an lpo student, and its antagonist, read ``rule``)."""
    import dataclasses

    rule = rule if learner == "lpo" else ""
    config = dataclasses.replace(
        config, learner=learner, ppo=dataclasses.replace(config.ppo, rule=rule)
    )
    curriculum = config.curriculum
    if "antagonist_ppo" in {f.name for f in dataclasses.fields(curriculum)}:
        antagonist = dataclasses.replace(curriculum.antagonist_ppo, rule=rule)
        curriculum = dataclasses.replace(curriculum, antagonist_ppo=antagonist)
    return dataclasses.replace(config, curriculum=curriculum)


@pytest.mark.parametrize(("learner", "algo"), _learner_pairs())
def test_learner_curriculum_pair_compiles_once_and_trains(learner, algo, lpo_rule_file):
    config = _with_learner(preset(algo, HOME_ENV, "test"), learner, lpo_rule_file)
    program, state, metrics, traces, _ = run_chunks(config, 2)
    assert traces == 1
    objective = {"dpo": "DPODrift", "lpo": "LearnedDrift"}.get(learner)
    assert objective is None or type(program.learner.losses).__name__ == objective
    assert_student_trained(program, state, metrics)


# ---- meta-training: every meta-algorithm x env pair ----------------------------------------
def _meta_pairs():
    """Every meta-algorithm x env pair: refusals always run; of the compiling pairs, those on
    gridworld-rand (gridworld's levels with another observation) and LPO's off CartPole run
    under ``make test-all``."""
    pairs = []
    for env in ENVS:
        for algo in registry.META_ALGORITHMS:
            # LPO's drift runs on any env; its compiling pairs other than CartPole run under
            # ``make test-all`` (each member is a full PPO run: a large program to compile).
            compiles = not _meta_missing(algo, env)
            slow = compiles and (env == "gridworld-rand" or (algo == "lpo" and env != "cartpole"))
            pairs.append(pytest.param(algo, env, marks=[pytest.mark.slow] if slow else []))
    return pairs


def _meta_missing(algo: str, env: str) -> set[str]:
    config = meta_preset(algo, env, "test")
    needed = registry.META_ALGORITHMS.get(algo).requires(config)
    return set(needed - registry.ENVS.get(env).capabilities)


@pytest.mark.parametrize(("algo", "name"), _meta_pairs())
def test_meta_algorithm_env_pair_compiles_once_or_is_refused(algo, name, tmp_path, capsys):
    missing = _meta_missing(algo, name)
    if missing:
        out = tmp_path / "run"
        argv = ["meta-train", "--algo", algo, "--env", name, "--preset", "test", "--out", str(out)]
        assert main(argv) == 2
        error = capsys.readouterr().err.strip()
        assert len(error.splitlines()) == 1 and f"'{sorted(missing)[0]}'" in error, error
        assert not out.exists()  # refused before anything is written
        return
    program = build_meta(meta_validate(meta_preset(algo, name, "test")))
    _, _, metrics, traces, _ = program_chunks(program, 2)
    assert traces == 1
    objective = "meta_loss" if "meta_loss" in metrics else "return"  # meta-gradient, or ES
    assert np.all(np.isfinite(np.asarray(metrics[objective])))


def test_an_env_family_must_build_an_environment():
    """The core reads what ``ued.env.Environment`` declares (actions, outcomes) instead of
    probing, so a family whose ``make`` returns anything else is refused when it is built."""
    import dataclasses

    spec = registry.ENVS.get("maze")
    for name in ENVS:
        other = registry.ENVS.get(name)
        assert isinstance(other.build(preset("dr", name, "test").env_config), Environment)
    stray = dataclasses.replace(spec, name="stray", make=lambda settings: object())
    with pytest.raises(ConfigError, match="env: 'stray' built a object, which does not subclass"):
        stray.build(spec.Config())
