"""Mirror-learning drifts (``ued.drift``): every drift is ≥ 0 and is 0 with zero gradient at
ρ = 1; PPO written as a drift is PPO's clipped surrogate; DPO's formula by hand; LPO's network,
its temporally-aware inputs and its rule files; and what the drift learners refuse. (That
``dpo`` and ``lpo`` train with every curriculum: ``test_conformance.py``'s learner axis.)"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ued.app.build import build, preset
from ued.drift import (
    DPODrift,
    LearnedDrift,
    PPODrift,
    drift_features,
    load_rule,
    save_rule,
)
from ued.errors import ConfigError
from ued.ppo import ClippedSurrogate, PPOHypers

HYPERS = PPOHypers.of(preset("dr", "maze", "test").ppo)


def _random_rule(objective: LearnedDrift, seed: int = 0, scale: float = 1.0):
    """Network parameters drawn at ``scale`` (not the zeros ES starts from)."""
    return objective.random_rule(jax.random.key(seed), scale)


LEARNED = [
    LearnedDrift(hidden=16),
    LearnedDrift(hidden=16, ppo_init=False),
    LearnedDrift(hidden=16, temporal=True),
]
DRIFTS = [PPODrift(), DPODrift(), *LEARNED]


def _hypers(objective, seed=0):
    rule = _random_rule(objective, seed) if isinstance(objective, LearnedDrift) else ()
    return HYPERS.replace(rule=rule)


@pytest.mark.parametrize("objective", DRIFTS, ids=lambda o: type(o).__name__ + str(hash(o))[-3:])
def test_every_drift_is_non_negative_and_zero_with_zero_gradient_at_ratio_one(objective):
    hypers = _hypers(objective)
    log_ratio = jnp.log(jnp.linspace(0.05, 4.0, 80))[:, None] * jnp.ones((1, 21))
    advantages = jnp.linspace(-3.0, 3.0, 21)[None, :] * jnp.ones((80, 1))
    for progress in (0.0, 0.4, 1.0):
        drift = objective.drift(log_ratio, advantages, hypers, jnp.float32(progress))
        assert np.all(np.asarray(drift) >= 0)
        at_one = lambda d, a, p=progress: objective.drift(d, a, hypers, jnp.float32(p))
        a = jnp.linspace(-3.0, 3.0, 13)
        zero = jnp.zeros_like(a)
        np.testing.assert_array_equal(np.asarray(at_one(zero, a)), 0.0)
        grads = jax.vmap(jax.grad(at_one), in_axes=(0, 0))(zero, a)
        np.testing.assert_array_equal(np.asarray(grads), 0.0)


def test_ppo_as_a_drift_is_ppos_clipped_surrogate_with_its_gradients():
    keys = jax.random.split(jax.random.key(1), 3)
    old = jax.random.normal(keys[0], (16, 8))
    new = old + 0.5 * jax.random.normal(keys[1], (16, 8))  # ratios well outside the clip range
    advantages = jax.random.normal(keys[2], (16, 8))
    progress = jnp.float32(0.3)

    def loss(objective, log_probs):
        return objective.policy_loss(log_probs, old, advantages, HYPERS, progress)

    clipped, drift = ClippedSurrogate(), PPODrift()
    np.testing.assert_allclose(loss(drift, new), loss(clipped, new), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(
        jax.grad(lambda lp: loss(drift, lp))(new),
        jax.grad(lambda lp: loss(clipped, lp))(new),
        rtol=1e-5,
        atol=1e-8,
    )
    # The same critic: a drift objective keeps PPO's clipped value loss.
    values, targets = jax.random.normal(keys[0], (4,)), jax.random.normal(keys[1], (4,))
    assert drift.value_loss(values, 0 * values, targets, HYPERS) == clipped.value_loss(
        values, 0 * values, targets, HYPERS
    )


def test_dpo_drift_by_hand():
    # rho = 1.5, A = 1: (rho-1)A = 0.5 -> 0.5 - 2 tanh(0.25); rho = 0.5, A = -1: log(0.5)(-1) =
    # 0.693 -> 0.693 - 0.6 tanh(0.693 / 0.6); rho = 0.5, A = 1: -0.5 - 2 tanh(-0.25) < 0 -> 0.
    log_ratio = jnp.log(jnp.array([1.5, 0.5, 0.5]))
    advantages = jnp.array([1.0, -1.0, 1.0])
    drift = DPODrift().drift(log_ratio, advantages, HYPERS, jnp.float32(0))
    expected = [0.5 - 2 * np.tanh(0.25), np.log(2) - 0.6 * np.tanh(np.log(2) / 0.6), 0.0]
    np.testing.assert_allclose(drift, expected, rtol=1e-5)


def test_lpo_features_and_the_zero_rule_that_evolution_starts_from():
    d, a = jnp.array([np.log(1.5)]), jnp.array([-0.5])
    features = np.asarray(drift_features(d, a, jnp.float32(0.25), temporal=True))[0]
    u = 1 - 1.5
    base = [np.log(1.5), np.log(1.5) ** 2, u, u * u]
    lpo = base + [-0.5 * f for f in base]
    np.testing.assert_allclose(features, lpo + [0.25 * f for f in lpo], rtol=1e-6)
    big = np.asarray(drift_features(jnp.array([3.0]), jnp.array([5.0]), 0.0, temporal=False))
    assert big.max() == 2.0 and big.min() == -2.0  # clipped to [-2, 2]
    # Zero parameters: the drift is PPO's, less LPO's offset.
    objective = LearnedDrift(hidden=16)
    hypers = HYPERS.replace(rule=objective.zero_rule())
    log_ratio, advantages = jnp.log(jnp.array([2.0, 0.5, 1.1])), jnp.array([1.0, -1.0, 1.0])
    ppo = PPODrift().drift(log_ratio, advantages, hypers, 0.0)
    np.testing.assert_allclose(
        objective.drift(log_ratio, advantages, hypers, 0.0), np.maximum(ppo - 1e-4, 0.0)
    )


def test_the_temporally_aware_drift_reads_the_training_progress():
    objective = LearnedDrift(hidden=16, temporal=True, ppo_init=False)
    hypers = HYPERS.replace(rule=_random_rule(objective, seed=3, scale=3.0))
    log_ratio = jnp.log(jnp.linspace(0.3, 3.0, 50))
    advantages = jnp.linspace(-2.0, 2.0, 50)
    early = objective.drift(log_ratio, advantages, hypers, jnp.float32(0.0))
    late = objective.drift(log_ratio, advantages, hypers, jnp.float32(1.0))
    assert not np.allclose(early, late)
    plain = LearnedDrift(hidden=16, ppo_init=False)
    same = HYPERS.replace(rule=_random_rule(plain, seed=3))
    np.testing.assert_array_equal(
        plain.drift(log_ratio, advantages, same, 0.0), plain.drift(log_ratio, advantages, same, 1.0)
    )


def test_a_rule_file_round_trips_and_a_bad_one_is_refused(tmp_path):
    objective = LearnedDrift(hidden=16, temporal=True)
    rule = _random_rule(objective, seed=5)
    path = save_rule(tmp_path / "rule.msgpack", objective, rule)
    loaded = load_rule(path)
    assert dataclasses.replace(loaded, rule_file="") == objective
    jax.tree_util.tree_map(np.testing.assert_array_equal, loaded.init_rule(), rule)
    (tmp_path / "junk.msgpack").write_bytes(b"\x00\x01 not msgpack")
    with pytest.raises(ConfigError, match=r"ppo\.rule: .*junk.msgpack is not a drift rule file"):
        load_rule(tmp_path / "junk.msgpack")
    with pytest.raises(ConfigError, match=r"ppo\.rule: no rule file at"):
        load_rule(tmp_path / "missing.msgpack")
    wrong = save_rule(tmp_path / "wrong.msgpack", LearnedDrift(hidden=8), _random_rule(objective))
    with pytest.raises(ConfigError, match="do not match the drift network"):
        load_rule(wrong)


def test_drift_learners_refuse_what_they_cannot_use(tmp_path):
    base = preset("robust-plr", "maze", "test")

    def with_ppo(learner, **ppo):
        return dataclasses.replace(base, learner=learner, ppo=dataclasses.replace(base.ppo, **ppo))

    with pytest.raises(ConfigError, match=r"ppo\.rule: learner 'lpo' needs a meta-trained drift"):
        build(with_ppo("lpo"))
    path = save_rule(tmp_path / "r.msgpack", LearnedDrift(hidden=8), LearnedDrift(8).zero_rule())
    with pytest.raises(ConfigError, match=r"ppo\.rule: this learner reads no rule file"):
        build(with_ppo("ppo", rule=str(path)))
    with pytest.raises(ConfigError, match=r"ppo\.rule: learner 'dpo' reads no rule file"):
        build(with_ppo("dpo", rule=str(path)))
    with pytest.raises(ConfigError, match=r"ppo\.objective: learner 'dpo' replaces"):
        build(with_ppo("dpo", objective="reinforce"))
    program = build(with_ppo("lpo", rule=str(path)))
    assert program.learner.losses == LearnedDrift(hidden=8, rule_file=str(path))


def test_the_drift_figure_script_draws_ppo_dpo_and_what_a_study_evolved(tmp_path):
    """``scripts/drift_figure.py`` (the LPO study's figure) reads a study's rule files."""
    import importlib.util

    for run, temporal in (("lpo-dr", False), ("ta-lpo-dr", True)):
        objective = LearnedDrift(hidden=8, temporal=temporal)
        rule = objective.random_rule(jax.random.key(0), 0.3)
        save_rule(tmp_path / run / "rules" / "seed0.msgpack", objective, rule)
    path = Path(__file__).parent.parent / "scripts" / "drift_figure.py"
    spec = importlib.util.spec_from_file_location("drift_figure", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    script.main(tmp_path, tmp_path / "drift.png")
    assert (tmp_path / "drift.png").stat().st_size > 10_000
