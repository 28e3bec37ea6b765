"""Meta-training as GROOVE's reference defines it: the progress inputs a rule receives in every
path (meta-gradient, ES, meta-evaluation) are the agent's true progress against the lifetime it
is trained for; ES trains each member for its level's whole lifetime; the ``reference`` preset
matches GROOVE's settings field by field; normalised scores cannot flip sign or vanish."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from algorithms import groove
from ued.app.build import build_meta, meta_summary
from ued.meta.config import REFERENCE_SOURCES, preset
from ued.meta.lifetime import MARGIN, bounded_gain, normalised
from ued.meta.rules import LPG

SEEN: list[tuple[float, float]] = []


@dataclasses.dataclass(frozen=True)
class RecordingLPG(LPG):
    """LPG that records every ``(fraction, lifetime)`` it is fed (host callback)."""

    def loss(self, rule_params, agent_params, agent, transitions, progress):
        def record(fraction, lifetime):
            SEEN.extend(zip(np.ravel(fraction).tolist(), np.ravel(lifetime).tolist()))

        jax.debug.callback(record, progress.fraction, progress.lifetime)
        return super().loss(rule_params, agent_params, agent, transitions, progress)


def _recording(program):
    rule = RecordingLPG(**{f.name: getattr(program.rule, f.name)
                           for f in dataclasses.fields(LPG)})  # fmt: skip
    program.rule = rule
    program.meta = program._evolution() if program.config.backend == "es" else (
        program._meta_gradient())  # fmt: skip
    return program


def _seen():
    """The distinct (fraction, lifetime) pairs recorded so far, in float32 (then cleared)."""
    out = sorted({(float(np.float32(f)), float(n)) for f, n in SEEN})
    SEEN.clear()
    return out


def _expected(lifetime):
    return [(float(np.float32(k) / np.float32(lifetime)), float(lifetime)) for k in range(lifetime)]


@pytest.fixture(scope="module")
def programs():
    """The test preset (debug levels: lifetime 4; meta-evaluation lifetime 3), conditioned on
    the lifetime, by meta-gradient and by ES."""
    base = preset("lpg", "gridworld", "test")
    base = dataclasses.replace(base, rule=dataclasses.replace(base.rule, lifetime_conditioned=True))
    return {backend: _recording(build_meta(dataclasses.replace(base, backend=backend)))
            for backend in ("gradient", "es")}  # fmt: skip


def test_the_meta_gradient_feeds_each_agents_own_progress(programs):
    """Fresh agents at age 0 (lifetime 4, 2 updates per meta-step): the first meta-step feeds
    progress 0 and 1/4 against lifetime 4 (an agent started mid-life would be fed more)."""
    program = programs["gradient"]
    state = jax.jit(program.meta.init)(jax.random.key(0))
    SEEN.clear()
    jax.block_until_ready(jax.jit(program.meta.step)(state))
    assert _seen() == [(0.0, 4.0), (0.25, 4.0)]


def test_es_trains_every_member_for_its_whole_lifetime(programs):
    """Each member's agent sees progress 0, 1/4, 2/4, 3/4 of lifetime 4: its whole life, and
    its fitness is the return at the end of it (the rule never sees a truncated lifetime)."""
    program = programs["es"]
    assert program.max_lifetime == program.env.max_lifetime == 4  # the ES trainer's bound
    state = jax.jit(program.meta.init)(jax.random.key(0))
    SEEN.clear()
    jax.block_until_ready(jax.jit(program.meta.step)(state))
    assert _seen() == _expected(4)


def test_meta_evaluation_feeds_progress_against_the_evaluation_lifetime(programs):
    program = programs["gradient"]
    state = jax.jit(program.init)(program.seed_keys())
    SEEN.clear()
    rows = program.evaluate(state, 0, "run")
    assert _seen() == _expected(3)  # eval_lifetime 3
    assert {r["value"] for r in rows if r["statistic"] == "lifetime"} == {3.0}
    own = _recording(build_meta(dataclasses.replace(program.config, eval_lifetime=0)))
    own.evaluate(jax.jit(own.init)(own.seed_keys()), 0, "run")
    assert _seen() == _expected(4)  # each level's own lifetime


# ---- the reference preset ---------------------------------------------------------------------
# GROOVE's settings (EmptyJackson/groove): experiments/parse_args.py's defaults, the tabular
# agents of environments/gridworld/configs.py (_TABULAR_HYPERS) and the level sampler's rules.
GROOVE = {
    "env_config.distribution": "all_shortlife", "agent.tabular": True, "agent.optimizer": "sgd",
    "agent.lr": 40.0, "agent.critic_lr": 4.0, "agent.max_grad_norm": 0.5, "agent.num_envs": 64,
    "agent.num_steps": 20, "agent.gamma": 0.99, "agent.gae_lambda": 0.95,
    "agent.normalise_advantages": True, "agent.entropy_coef": 0.01, "agent.prediction_size": 8,
    "rule.hidden": 256, "rule.embedding": 16, "rule.alpha_y": 0.5, "updates": 30_000,
    "population": 512, "unroll": 5, "meta_lr": 1e-4, "policy_entropy": 5e-2, "y_entropy": 1e-3,
    "pi_hat_l2": 5e-3, "y_hat_l2": 1e-3, "es_sigma": 0.1, "es_lr": 1e-4, "es_lr_decay": 0.999,
    "es_lr_limit": 1e-5, "eval_lifetime": 0, "curriculum.buffer.capacity": 4000,
    "curriculum.replay_prob": 0.5, "curriculum.buffer.prioritization": "topk",
    "curriculum.buffer.staleness_coeff": 0.0, "curriculum.buffer.min_fill": 512 / 4000,
    "curriculum.score_batch": 512, "curriculum.score_episodes": 64,
}  # fmt: skip


def _field(config, path: str):
    for name in path.split("."):
        config = getattr(config, name)
    return config


def test_the_reference_preset_matches_groove_field_by_field():
    config = preset("groove", "gridworld", "reference")
    sources = {**REFERENCE_SOURCES, **groove.SOURCES}  # the curriculum's are GROOVE's own
    assert set(GROOVE) == set(sources)  # every setting names its source file
    for path, value in GROOVE.items():
        assert _field(config, path) == value, path
        assert sources[path].split()[0].endswith(".py"), path
    assert config.curriculum.score == "ar" and config.curriculum.buffer.topk == 512
    assert not config.rule.lifetime_conditioned and config.backend == "gradient"


def test_the_cpu_preset_changes_only_sizes_from_the_reference():
    reference, cpu = (preset("groove", "gridworld", name) for name in ("reference", "cpu"))
    sizes = {"env_config.distribution", "updates", "population", "rule.hidden",
             "agent.num_envs", "eval_lifetime", "curriculum.buffer.capacity",
             "curriculum.buffer.topk", "curriculum.buffer.min_fill", "curriculum.score_batch",
             "curriculum.score_episodes", "meta_lr", "es_lr", "es_lr_decay"}  # fmt: skip
    for path in GROOVE:
        if path not in sizes:
            assert _field(cpu, path) == _field(reference, path), path
    assert cpu.env_config.distribution == "small"  # GROOVE's small band: lifetime 250 as well


# ---- normalised scores ------------------------------------------------------------------------
def test_normalised_scores_never_flip_explode_or_vanish():
    lpg = jnp.array([1.0, 0.5, 2.0, -0.5, 0.3])
    a2c = jnp.array([2.0, 0.5, 0.0, -1.0, 0.01])  # zero, negative and tiny A2C returns
    ratio = np.asarray(normalised(lpg, a2c))
    np.testing.assert_allclose(ratio[:2], [0.5, 1.0])
    assert np.isnan(ratio[2:]).all()  # undefined, not a flipped sign or a 30x blow-up
    floor = jnp.full(5, -1.0)
    np.testing.assert_allclose(np.asarray(normalised(lpg, a2c, floor=floor))[:2], [2 / 3, 1.0])
    # The last level has nothing to gain (no reachable reward: optimum = untrained = 0) and the
    # rule's return is 0.01 of noise there: a bounded 0.2, not a blow-up or a dropped level.
    lpg, floor = lpg.at[4].set(0.01), floor.at[4].set(0.0)
    optimal = jnp.array([3.0, 1.0, 2.0, 0.0, 0.0])
    gain = np.asarray(bounded_gain(lpg, floor, optimal))
    assert np.isfinite(gain).all()  # defined on every level
    np.testing.assert_allclose(gain, [0.5, 0.75, 1.0, 0.5, 0.01 / MARGIN], rtol=1e-5)


def test_the_summary_says_how_many_levels_each_mean_covers():
    rows = [
        {"run": "r", "update": 1, "suite": "s", "seed": 0, "level": f"l{i}",
         "statistic": "normalised", "value": v}
        for i, v in enumerate([0.5, float("nan"), 1.5])
    ]  # fmt: skip
    line = meta_summary(rows).splitlines()[-1]
    assert "1.000 (2/3)" in line


def test_runs_saved_with_the_shared_curriculum_settings_still_load():
    """Before meta-algorithms had their own settings, lpg and groove shared one curriculum config
    (``score``, ``fixed_levels``, the buffer); such ``config.json`` files still load."""
    from ued.config import to_dict
    from ued.meta.config import from_dict

    shared = {"score": "fixed", "replay_prob": 0.5, "score_batch": 2, "score_episodes": 4,
              "fixed_levels": 16}  # fmt: skip
    data = {**to_dict(preset("lpg", "gridworld", "test")), "curriculum": shared}
    assert from_dict(data).curriculum.fixed_levels == 16
    data["curriculum"] = {**shared, "score": "dr"}
    assert from_dict(data).curriculum.fixed_levels == 0
    groove = to_dict(preset("groove", "gridworld", "test"))
    groove["curriculum"] = {**groove["curriculum"], "fixed_levels": 64}
    assert from_dict(groove).curriculum == preset("groove", "gridworld", "test").curriculum


def test_runs_saved_with_the_agents_embedding_width_still_load():
    """The inner agents' state-embedding width was ``agent.embedding``; it is the env's encoder
    setting ``env_config.embedding`` now (dropped for an env without one)."""
    from ued.config import to_dict
    from ued.meta.config import from_dict

    data = to_dict(preset("lpg", "gridworld", "test"))
    data["agent"] = {**data["agent"], "embedding": 4}
    assert from_dict(data).env_config.embedding == 4
    assert preset("lpg", "gridworld", "test").env_config.distribution == "debug"
    assert preset("lpg", "gridworld", "reference").env_config.distribution == "all_shortlife"
    assert preset("lpg", "gridworld", "cpu").env_config.distribution == "small"
    assert not preset("lpg", "gridworld-rand", "test").agent.tabular  # array observations
