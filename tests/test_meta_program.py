"""Meta-training as a program on the shared host loop: a run writes metrics, meta-evaluations and
plots, resumes bit-exactly after a kill, vmaps over seeds, and ``ued meta-train`` validates its
fields before compiling."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import quiet

from ued.app import cli
from ued.app.build import build_meta, meta_train
from ued.config import override
from ued.logging import read_csv
from ued.meta.config import preset


class Killed(Exception):
    pass


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    """A GROOVE run (LPG on a buffer scored by algorithmic regret: the curriculum's state rides
    in the checkpoints too); plain LPG is the same program with a stateless curriculum."""
    out = tmp_path_factory.mktemp("meta") / "run"
    return meta_train(preset("groove", "gridworld", "test"), out, **quiet())


def test_a_meta_training_run_writes_metrics_evaluations_and_plots(full_run):
    rows = read_csv(full_run.out / "metrics.csv")
    assert [int(r["update"]) for r in rows] == [0, 1, 2, 3]
    assert all(float(r["rule_grad_norm"]) > 0 for r in rows)
    evals = read_csv(full_run.out / "eval.csv")
    assert {int(r["update"]) for r in evals} == {0, 2, 4}
    assert {r["statistic"] for r in evals} >= {"lpg_return", "a2c_return", "normalised"}
    assert (full_run.out / "plots" / "curves.png").stat().st_size > 1000
    # GROOVE's logs: scores of finished agents, the buffer's composition and rendered levels.
    assert {"curriculum/score", "curriculum/antagonist_env_steps"} <= set(rows[0])
    buffer = read_csv(full_run.out / "curriculum.csv")
    names = {r["statistic"] for r in buffer}
    assert {"buffer/grid_area", "buffer/episode_length", "buffer/objects", "buffer/lifetime",
            "buffer/a2c_return", "buffer/lpg_return", "buffer/score_q50"} <= names  # fmt: skip
    assert list((full_run.out / "plots").glob("buffer_*.png"))


@pytest.mark.slow  # CI's 20 minutes; make test-all runs it (and the ES resume)
def test_killed_meta_training_resumes_bit_exactly(full_run, tmp_path):
    out = tmp_path / "run"  # the run's name is part of eval.csv's rows
    config = preset("groove", "gridworld", "test")

    def kill(done, rows):
        if done == 4:
            raise Killed

    with pytest.raises(Killed):
        meta_train(config, out, **quiet(on_chunk=kill))
    meta_train(None, out, resume=True, **quiet())
    for name in ("metrics.csv", "eval.csv", "curriculum.csv"):
        assert (out / name).read_bytes() == (full_run.out / name).read_bytes(), name


@pytest.mark.slow  # CI's 20 minutes; make test-all runs it
def test_vmapped_seeds_reproduce_single_seed_runs():
    def go(config):
        program = build_meta(config)
        state = jax.jit(program.init)(program.seed_keys())
        _, metrics, _ = jax.jit(program.chunk)(state, jnp.int32(0))
        return jax.tree_util.tree_map(np.asarray, metrics)

    config = preset("lpg", "gridworld", "test")
    both = go(override(config, seeds=(0, 1)))
    single = go(override(config, seed=1))
    np.testing.assert_array_equal(both["finished"][:, 1], single["finished"])
    for name in ("meta_loss", "reward", "rule_grad_norm"):
        np.testing.assert_allclose(both[name][:, 1], single[name], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--population", "0"], "population: must be positive"),
        (["--agent.num-envs", "0"], "agent.num_envs: must be positive"),
        (["--eval-suites", "nope"], "eval_suites"),
        (["--env-config.distribution", "huge"], "env_config.distribution"),
    ],
)
def test_meta_train_refuses_bad_fields_before_compiling(argv, message, tmp_path, capsys):
    code = cli.main(["meta-train", "--preset", "test", "--out", str(tmp_path / "x"), *argv])
    assert code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


@pytest.mark.slow  # CI's 20 minutes; make test-all runs it
def test_the_es_backend_runs_and_resumes_bit_exactly(tmp_path):
    config = override(preset("lpg", "gridworld", "test"), backend="es")
    full = meta_train(config, tmp_path / "a" / "run", **quiet())
    rows = read_csv(full.out / "metrics.csv")
    assert {"return", "best_return", "pair_difference"} <= set(rows[0])

    def kill(done, rows):
        if done == 4:
            raise Killed

    out = tmp_path / "b" / "run"
    with pytest.raises(Killed):
        meta_train(config, out, **quiet(on_chunk=kill))
    meta_train(None, out, resume=True, **quiet())
    for name in ("metrics.csv", "eval.csv", "curriculum.csv"):
        assert (out / name).read_bytes() == (full.out / name).read_bytes(), name


def test_es_needs_antithetic_pairs(tmp_path, capsys):
    argv = ["meta-train", "--preset", "test", "--backend", "es", "--population", "3"]
    assert cli.main([*argv, "--out", str(tmp_path / "x")]) == 2
    assert "population: ES evaluates antithetic pairs" in capsys.readouterr().err


def test_meta_eval_scores_a_finished_run_against_a2c_and_the_oracle(full_run, tmp_path):
    out = tmp_path / "eval.csv"
    code = cli.main(
        ["meta-eval", str(full_run.out), "--suite", "random", "--levels", "2", "--lifetime", "2",
         "--out", str(out)]
    )  # fmt: skip
    assert code == 0
    rows = read_csv(out)
    statistics = {r["statistic"] for r in rows}
    assert statistics == {
        "lpg_return", "a2c_return", "untrained_return", "lifetime", "normalised",
        "gain_normalised", "optimal_return", "oracle_normalised", "oracle_gain",
    }  # fmt: skip
    assert {r["value"] for r in rows if r["statistic"] == "lifetime"} == {"2.0"}
    assert {int(r["update"]) for r in rows} == {4}  # the latest checkpoint
    for r in rows:
        if r["statistic"] == "optimal_return":  # V* bounds what the trained agents got
            mine = [float(x["value"]) for x in rows if x["level"] == r["level"]
                    and x["statistic"] in ("lpg_return", "a2c_return")]  # fmt: skip
            assert all(v <= float(r["value"]) + 0.5 for v in mine)
    assert "| run | step | suite |" in out.with_suffix(".md").read_text()
    curves = read_csv(tmp_path / "eval_curves.csv")
    assert {(r["rule"], r["inner_update"]) for r in curves} <= {
        (rule, str(k)) for rule in ("lpg", "a2c") for k in range(2)
    }  # fmt: skip
    assert {r["rule"] for r in curves} == {"lpg", "a2c"}
    assert (tmp_path / "eval_curves.png").stat().st_size > 1000


def test_meta_eval_refuses_another_env_for_a_rule_tied_to_its_own(full_run, tmp_path, capsys):
    out = tmp_path / "eval.csv"
    argv = ["meta-eval", str(full_run.out), "--env", "cartpole", "--out", str(out)]
    assert cli.main(argv) == 2
    assert "env: groove's rule is tied to the env it was meta-trained on" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.slow  # CI's 20 minutes; make test-all runs it
def test_meta_eval_over_meta_training_reuses_the_a2c_baseline(full_run, tmp_path):
    out = tmp_path / "eval.csv"
    argv = ["meta-eval", str(full_run.out), "--suite", "random", "--levels", "2", "--lifetime",
            "2", "--out", str(out)]  # fmt: skip
    assert cli.main([*argv, "--all-steps"]) == 0
    rows = read_csv(out)
    assert {int(r["update"]) for r in rows} == {0, 2, 4}  # the initial rule, then checkpoints
    assert (tmp_path / "eval_progress.png").stat().st_size > 1000
    for name in ("a2c_return", "untrained_return"):  # rule-independent: the same at every step
        by_step = {}
        for r in rows:
            if r["statistic"] == name:
                by_step.setdefault(r["update"], []).append(r["value"])
        assert len(set(map(tuple, by_step.values()))) == 1, name
    assert cli.main([*argv, "--steps", "3"]) == 2  # no checkpoint 3
    assert cli.main(["meta-eval", str(tmp_path / "missing"), "--out", str(out)]) == 2


def test_a2c_baseline_settings_are_the_agents_own_or_tuned_per_level_family():
    import dataclasses

    config = preset("lpg", "gridworld", "cpu")  # trains on the small distribution
    a = config.agent
    own = {"lr": a.lr, "critic_lr": a.critic_lr, "entropy_coef": a.entropy_coef}
    assert build_meta(config).a2c_settings("lpg-grids") == own  # the reference's A2C
    tuned = build_meta(dataclasses.replace(config, a2c_tuned=True))
    assert tuned.a2c_settings("random") == {"lr": 0.03, "critic_lr": 0.03, "entropy_coef": 0.003}
    assert tuned.a2c_settings("lpg-grids")["entropy_coef"] == 0.03
    assert tuned.a2c_settings("mazes")["lr"] == 0.1
