"""Evaluation maths (α-CVaR, IQM) and the evaluation of a policy on suites."""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ued.evaluate import (
    DEFAULT_ALPHAS,
    alpha_cvar,
    evaluate_suite,
    iqm,
    iqm_with_ci,
    resolve_suite,
    summary_table,
)


def test_alpha_cvar_hand_example():
    select = np.array([0.9, 0.1, 0.5, 0.0, 1.0])
    report = np.array([1.0, 0.4, 0.6, 0.2, 0.8])
    # worst 20% by pass A = level 3; worst 40% = levels 3, 1; worst 60% = 3, 1, 2
    np.testing.assert_allclose(alpha_cvar(select, report, [0.2, 0.4, 0.6]), [0.2, 0.3, 0.4])
    # ceil(alpha * N): 0.01 of 5 levels still takes one level
    np.testing.assert_allclose(alpha_cvar(select, report, [0.01]), [0.2])


@given(rates=st.lists(st.floats(0, 1), min_size=1, max_size=50))
def test_alpha_one_is_the_mean_and_cvar_is_monotone(rates):
    rates = np.array(rates)
    values = alpha_cvar(rates, rates, DEFAULT_ALPHAS)
    assert values[-1] == pytest.approx(rates.mean())
    assert np.all(np.diff(values) >= -1e-12)  # biased CVaR grows with alpha
    assert values[0] == pytest.approx(rates.min())


@given(n=st.integers(1, 300), alpha=st.floats(0.001, 1.0))
def test_cvar_uses_ceil_alpha_n_levels(n, alpha):
    select = np.arange(n, dtype=float)  # level i has rank i
    report = np.zeros(n)
    k = max(1, math.ceil(alpha * n - 1e-9))
    report[:k] = 1.0
    assert alpha_cvar(select, report, [alpha])[0] == pytest.approx(1.0)
    if k < n:
        report[k] = 1.0
        report[:k] = 0.0
        assert alpha_cvar(select, report, [alpha])[0] == 0.0


def test_two_pass_debiasing_removes_selection_bias():
    """With noisy per-level estimates, scoring the worst levels on the same pass that selected
    them is optimistic (too low); an independent pass is close to the true tail mean."""
    rng = np.random.default_rng(0)
    true = rng.beta(8, 1, size=20_000)
    pass_a = rng.binomial(10, true) / 10
    pass_b = rng.binomial(10, true) / 10
    alpha = 0.05
    k = math.ceil(alpha * true.size)
    true_selected = true[np.argsort(pass_a, kind="stable")[:k]].mean()
    debiased = alpha_cvar(pass_a, pass_b, [alpha])[0]
    biased = alpha_cvar(pass_a, pass_a, [alpha])[0]
    assert abs(debiased - true_selected) < 0.01
    assert biased < true_selected - 0.05


def test_alpha_cvar_rejects_bad_input():
    with pytest.raises(ValueError):
        alpha_cvar([0.1, 0.2], [0.1], [0.5])
    with pytest.raises(ValueError):
        alpha_cvar([0.1], [0.1], [0.0])


def test_iqm_and_bootstrap_interval():
    assert iqm([1, 2, 3, 4, 5, 6, 7, 100]) == pytest.approx(np.mean([3, 4, 5, 6]))
    scores = np.random.default_rng(0).uniform(size=(5, 8))
    point, low, high = iqm_with_ci(scores)
    assert low <= point <= high
    single = iqm_with_ci(scores[:1])
    assert np.isnan(single[1])


@pytest.fixture(scope="module")
def trained_params(test_learner, test_env):
    return test_learner.init(jax.random.key(0), test_env.dummy_observation()).params


def test_evaluate_suite_rows_and_cvar(trained_params, test_learner, test_env):
    suite = resolve_suite("maze", test_env, "cvar", num_levels=30, seed=1)
    assert len(suite.names) == 30
    rows = evaluate_suite(
        test_learner,
        trained_params,
        suite,
        attempts=3,
        gamma=0.99,
        key=jax.random.key(0),
        run="r",
        seed=0,
        update=5,
    )
    stats = {r["statistic"] for r in rows}
    assert {
        "solve_rate",
        "return",
        "length",
        "optimal_return",
        "oracle_regret",
        "cvar",
        "cvar_biased",
    } <= stats
    cvar = {r["alpha"]: r["value"] for r in rows if r["statistic"] == "cvar"}
    mean_b = cvar[1.0]
    assert 0.0 <= min(cvar.values()) <= mean_b <= 1.0
    solve = [r["value"] for r in rows if r["statistic"] == "solve_rate"]
    assert set(np.round(np.array(solve) * 3).astype(int)) <= {0, 1, 2, 3}
    # Oracle regret is V* minus the achieved discounted return, never above V*.
    regret = {r["level"]: r["value"] for r in rows if r["statistic"] == "oracle_regret"}
    vstar = {r["level"]: r["value"] for r in rows if r["statistic"] == "optimal_return"}
    assert all(regret[k] <= vstar[k] + 1e-6 for k in regret)
    table = summary_table(rows)
    assert "| r | cvar |" in table and "α-CVaR" in table


def test_resolve_suite_errors_and_files(test_env, tmp_path):
    from ued.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown suite 'nope'"):
        resolve_suite("maze", test_env, "nope")
    path = tmp_path / "mine.txt"
    path.write_text("= tiny\n>.G\n")
    suite = resolve_suite("maze", test_env, str(path))
    assert suite.names == ["tiny"] and suite.suite == "mine"
    # Small file levels are padded to the training size so one compiled evaluation serves all.
    assert suite.levels.wall_map.shape[-2:] == (test_env.height, test_env.width)


def _outcome_rows():
    """Rows of an env without a success signal that reports outcomes: 2 seeds x 3 levels."""
    rows = []
    for seed in (0, 1):
        for level in range(3):
            for statistic, value in (
                ("return", 1.0 + seed + level),
                ("length", 10.0),
                ("achievement/collect_wood", float(level > 0)),
                ("achievement/place_table", 0.0),
            ):
                rows.append({"run": "r", "seed": str(seed), "update": "4", "suite": "seeds",
                             "level": f"world-{level}", "statistic": statistic, "alpha": "",
                             "value": value})  # fmt: skip
    return rows


def test_summary_without_success_uses_the_return_and_lists_outcomes():
    table = summary_table(_outcome_rows())
    # Per seed the mean return over levels is 2 and 3: mean 2.5 ± 0.5.
    assert "| r | seeds | 2 | - | " in table and "(return) | 2.500 ± 0.500 |" in table
    assert "| r | seeds | achievement/collect_wood | 0.667 ± 0.000 |" in table
    assert "| r | seeds | achievement/place_table | 0.000 ± 0.000 |" in table


def test_outcome_bars_draw_only_where_outcomes_exist(tmp_path):
    from ued.plots import outcome_bars

    assert outcome_bars(_outcome_rows(), tmp_path / "outcomes.png")
    assert (tmp_path / "outcomes.png").stat().st_size > 0
    rows = [r for r in _outcome_rows() if "/" not in r["statistic"]]
    assert not outcome_bars(rows, tmp_path / "none.png") and not (tmp_path / "none.png").exists()
