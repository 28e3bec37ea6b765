"""``ued report``, ``ued ship`` and shipped agents: tables on synthetic evaluation rows, the
robust aggregates against rliable and a hand-computed example, a report and a package made from
a real (tiny) run, and the agents shipped in ``checkpoints/``."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from conftest import quiet

from ued import shipped
from ued.app import report
from ued.app.packaging import cpu_model as _cpu_model
from ued.app.report import Protocol, Run, cvar_table, main_table, suite_table
from ued.errors import CheckpointError, DamagedCheckpointError, RunError
from ued.evaluate import bootstrap_ci, iqm, iqm_with_ci

SMALL = Protocol(suites=("classic", "cvar"), attempts=2, cvar_levels=16)


# ---- tables on synthetic evaluation rows -----------------------------------------------------
def _rows(run, suite, per_seed_levels, statistic="solve_rate"):
    return [
        {"run": run, "seed": str(seed), "update": "10", "suite": suite, "level": f"l{i}",
         "statistic": statistic, "alpha": "", "value": float(v)}
        for seed, levels in enumerate(per_seed_levels)
        for i, v in enumerate(levels)
    ]  # fmt: skip


def test_main_and_suite_tables_on_synthetic_evaluation_csvs(tmp_path):
    from ued.logging import CsvLog, read_csv

    a = [[1.0, 0.0, 1.0, 1.0], [0.5, 0.5, 0.5, 0.5], [0.0, 0.0, 1.0, 1.0]]  # seed means .75 .5 .5
    b = [[0.2, 0.2, 0.2, 0.2], [0.4, 0.4, 0.4, 0.4]]  # seed means .2 .4
    rows = _rows("a", "classic", a) + _rows("b", "classic", b) + _rows("a", "random", a)
    rows += _rows("a", "classic", [[0.5] * 4] * 3, "return")
    CsvLog(tmp_path / "eval.csv").write(rows)  # as `ued eval` and the report's cache write them
    rows = read_csv(tmp_path / "eval.csv")
    table = main_table(rows, ["a", "b"], ["classic", "random"])
    means = np.array([0.75, 0.5, 0.5])
    se = means.std(ddof=1) / np.sqrt(3)
    assert f"| a | {means.mean():.3f} ± {se:.3f} | {means.mean():.3f} ± {se:.3f} |" in table
    assert "| b | 0.300 ± 0.100 | - |" in table
    per_suite = suite_table(rows, ["a", "b"], "classic")
    point, low, high = iqm_with_ci(np.array(a))
    assert f"| a | 3 | {means.mean():.3f} ± {se:.3f} | {point:.3f} [{low:.3f}, {high:.3f}] " in (
        per_suite
    )
    assert "| 0.500 ± 0.000 |" in per_suite  # the return column
    assert per_suite.count("\n") == 3  # header, rule, two runs


def test_cvar_table_averages_over_seeds_per_alpha():
    rows = [
        {"run": "a", "seed": str(s), "suite": "cvar", "level": "*", "statistic": "cvar",
         "alpha": str(alpha), "value": value}
        for s, values in enumerate([(0.1, 0.9), (0.3, 0.7)])
        for alpha, value in zip((0.01, 1.0), values)
    ]  # fmt: skip
    table = cvar_table(rows, ["a"])
    assert "| run | α = 1% | α = 100% |" in table
    assert "| a | 0.200 ± 0.100 | 0.800 ± 0.100 |" in table


def test_iqm_agrees_with_rliable():
    from rliable import metrics

    rng = np.random.default_rng(0)
    for shape in ((3, 8), (5, 100), (10, 7)):
        scores = rng.random(shape)
        assert iqm(scores) == pytest.approx(metrics.aggregate_iqm(scores), abs=1e-12)
        # The bootstrap resamples every IQM at once; the same as one resample at a time.
        batched = bootstrap_ci(scores, iqm)
        one_by_one = bootstrap_ci(scores, lambda s: iqm(s))
        assert batched == pytest.approx(one_by_one, abs=1e-12)


def test_bootstrap_interval_on_a_hand_computed_example():
    # Two seeds x one level, scores 0 and 1: a resampled mean is 0, 0.5 or 1 with probability
    # 1/4, 1/2, 1/4, so the 95% interval is [0, 1] around the point estimate 0.5.
    point, low, high = bootstrap_ci(np.array([[0.0], [1.0]]), reps=4000)
    assert (point, low, high) == (0.5, 0.0, 1.0)
    # Identical seeds leave nothing to resample; one seed gives no interval.
    assert bootstrap_ci(np.full((3, 4), 0.25)) == (0.25, 0.25, 0.25)
    assert np.isnan(bootstrap_ci(np.ones((1, 4)))[1])
    # Stratified: seeds are resampled within each level, so the per-level means stay put.
    scores = np.array([[0.0, 1.0], [0.0, 1.0], [0.0, 1.0]])
    assert bootstrap_ci(scores)[1:] == (0.5, 0.5)


# ---- a report and a package from a real run --------------------------------------------------
@pytest.fixture(scope="module")
def plr_run(tmp_path_factory):
    """Robust PLR at the test preset, two seeds, every checkpoint kept (2 and 4)."""
    from ued.app.build import preset, train
    from ued.config import override

    config = override(preset("robust-plr", "maze", "test"), seeds=(0, 1), keep_checkpoints=0)
    out = tmp_path_factory.mktemp("report") / "rplr"
    train(config, out, **quiet())
    return out


@pytest.fixture(scope="module")
def packaged(plr_run, tmp_path_factory):
    from ued.app.packaging import ship

    root = tmp_path_factory.mktemp("shipped")
    return ship(plr_run, "rplr", root, SMALL, log=lambda *_: None)


def test_a_shipped_package_holds_the_runs_parameters_and_evaluations(plr_run, packaged):
    import jax

    from ued.app.build import load_run
    from ued.app.report import Run, evaluations

    run, agent = load_run(plr_run), load_run(packaged)
    assert agent.step == run.step == 4
    for a, b in zip(run.seed_params, agent.seed_params):
        jax.tree_util.tree_map(np.testing.assert_array_equal, a, b)
    manifest = shipped.manifest(packaged)
    assert manifest["seeds"] == [0, 1] and manifest["updates"] == 4
    holdout = manifest["holdout"]["solve_rate"]
    assert set(holdout) == {"classic", "cvar"} and set(holdout["classic"]) == {"0", "1"}
    files = {p.name for p in packaged.iterdir()}
    assert {"config.json", "params.msgpack", "snapshots.npz", "metrics.csv.gz"} <= files
    assert not (packaged / "checkpoints").exists()
    assert sorted(p.name for p in (packaged / "evaluations").iterdir()) == [
        "classic_a2_nall_s0_u4.csv.gz", "cvar_a2_n16_s0_u4.csv.gz"
    ]  # fmt: skip
    # The run's own evaluation (made now, from its orbax checkpoint) equals the package's.
    config = json.loads((plr_run / "config.json").read_text())
    assert config["algo"] == "robust-plr"
    fresh = evaluations(Run("x", plr_run, run.config, 4, False), SMALL, plr_run / "cache")
    stored = evaluations(Run("x", packaged, run.config, 4, True), SMALL, packaged / "none")
    key = lambda r: (r["seed"], r["suite"], r["level"], r["statistic"], r["alpha"])
    assert sorted((key(r), r["value"]) for r in fresh) == sorted(
        (key(r), r["value"]) for r in stored
    )
    classic = [r for r in stored if r["suite"] == "classic" and r["statistic"] == "solve_rate"]
    seed0 = [float(r["value"]) for r in classic if int(r["seed"]) == 0]
    assert holdout["classic"]["0"] == pytest.approx(np.mean(seed0))


def test_a_damaged_or_mismatched_package_is_refused(packaged, tmp_path):
    from ued.app.build import load_run

    copy = tmp_path / "rplr"
    shutil.copytree(packaged, copy)
    data = bytearray((copy / "params.msgpack").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / "params.msgpack").write_bytes(bytes(data))
    with pytest.raises(DamagedCheckpointError, match=r"params\.msgpack: sha256"):
        load_run(copy)
    with pytest.raises(CheckpointError, match="only update 4"):
        load_run(packaged, step=2)
    with pytest.raises(RunError, match="no shipped agent 'nope'"):
        load_run("shipped:nope")


def test_report_on_a_run_and_its_package(plr_run, packaged, tmp_path):
    from ued.app.report import write_report

    messages = []
    path = write_report(
        [plr_run, packaged], tmp_path / "report", SMALL, html_page=True, log=messages.append
    )
    text = path.read_text()
    assert "| run | classic |" in text  # the main table
    assert "report/rplr" in text or "rplr" in text
    assert text.count("| 2 |") >= 2  # per-suite rows with two seeds each
    assert "α = 1%" in text and "![α-CVaR" in text
    for figure in ("cvar.png", "levels_classic.png", "training.png", "buffers.png"):
        assert (tmp_path / "report" / "figures" / figure).stat().st_size > 1000
        assert f"figures/{figure}" in text
    page = (tmp_path / "report" / "report.html").read_text()
    assert page.count("data:image/png;base64,") == text.count("![")
    assert "<table>" in page and "figures/" not in page  # self-contained
    # The run's evaluations were cached next to it (the package carries its own): a second
    # report evaluates nothing.
    assert (plr_run / "evaluations").is_dir()
    messages.clear()
    write_report([plr_run, packaged], tmp_path / "again", SMALL, log=messages.append)
    assert not [m for m in messages if m.startswith("evaluating")]
    assert (tmp_path / "again" / "report.md").read_text() == text


def test_snapshots_hold_the_buffer_at_every_checkpoint(plr_run, packaged):
    from ued.app.report import open_runs, run_snapshots

    snap = run_snapshots(open_runs([packaged])[0])
    assert snap.steps.tolist() == [2, 4] and snap.seeds.tolist() == [0, 1]
    assert snap.filled.shape == snap.scores.shape == snap.weights.shape
    k, s = 1, 0
    filled = int(snap.filled[k, s].sum())
    top = snap.top_index[k, s][:filled]  # then empty slots, if the buffer is not full
    assert np.all(np.diff(snap.weights[k, s][top]) <= 0)  # most likely to be replayed first
    assert snap.filled[k, s][top].all()
    assert np.isclose(snap.weights[k, s][snap.filled[k, s]].sum(), 1.0, atol=1e-5)
    assert set(snap.descriptors) >= {"walls", "shortest_path", "solvable"}
    walls = snap.descriptors["walls"][k, s][top]
    level_walls = np.asarray(snap.levels(k, s).wall_map).sum(axis=(1, 2))
    np.testing.assert_array_equal(walls, level_walls[: walls.size])


def test_report_cli_refuses_bad_input_before_evaluating(tmp_path, capsys):
    from ued.app.cli import main

    assert main(["report", "shipped:nope", "--out", str(tmp_path / "r")]) == 2
    assert "no shipped agent 'nope'" in capsys.readouterr().err
    assert main(["report", str(tmp_path), "--out", str(tmp_path / "r")]) == 2
    assert "not a run directory" in capsys.readouterr().err
    assert main(["report", "shipped:all", "--attempts", "0", "--out", str(tmp_path / "r")]) == 2
    assert "attempts" in capsys.readouterr().err


# ---- the agents shipped in checkpoints/ ------------------------------------------------------
SHIPPED = shipped.names()


def test_the_shipped_agents_are_small_and_complete():
    assert set(SHIPPED) >= {"dr", "robust-plr", "accel", "sfl", "ncc-reg", "paired"}
    total = sum(f.stat().st_size for f in shipped.root().rglob("*") if f.is_file())
    assert total < 10e6, f"checkpoints/ holds {total / 1e6:.1f} MB"
    for name in SHIPPED:
        manifest = shipped.manifest(shipped.root() / name)
        assert manifest["preset"] == "cpu" and len(manifest["seeds"]) == 3
        assert len(manifest["holdout"]["solve_rate"]["classic"]) == 3


@pytest.mark.parametrize("name", SHIPPED)
def test_a_shipped_agent_reproduces_its_recorded_classic_solve_rate(name):
    """Exactly on the kind of CPU it was recorded on (XLA's kernels differ across processors,
    so elsewhere the check is that it is the same policy: within two attempts per level)."""
    from ued.app.build import load_run
    from ued.evaluate import evaluate_seed, resolve_suite

    run = load_run(f"shipped:{name}")
    manifest = shipped.manifest(shipped.root() / name)
    protocol = Protocol(**manifest["protocol"])
    suite = resolve_suite(run.spec, run.env, "classic", num_levels=None, seed=protocol.seed)
    exact = manifest["cpu"] == _cpu_model()
    for i, seed in enumerate(run.config.seed_list):
        rows = evaluate_seed(run, i, suite, attempts=protocol.attempts, seed=protocol.seed)
        rate = float(np.mean([r["value"] for r in rows if r["statistic"] == "solve_rate"]))
        recorded = manifest["holdout"]["solve_rate"]["classic"][str(seed)]
        if exact:
            assert rate == recorded, (name, seed)
        else:
            assert abs(rate - recorded) <= 2 / protocol.attempts, (name, seed)


def test_ued_report_on_the_shipped_agents_reuses_their_evaluations(tmp_path, capsys):
    from ued.app.cli import main

    assert main(["report", "shipped:all", "--out", str(tmp_path / "r"), "--html"]) == 0
    out = capsys.readouterr().out
    assert "evaluating" not in out  # every evaluation ships with the agents
    for name in SHIPPED:
        assert f"| {name} |" in out
    assert (tmp_path / "r" / "report.html").stat().st_size > 100_000  # figures embedded
    # Every shipped agent records its training seconds: the curves against wall-clock too.
    assert (tmp_path / "r" / "figures" / "training_wallclock.png").stat().st_size > 10_000
    seconds = report.seconds_per_update(report.open_runs(["shipped:dr"])[0])
    manifest = shipped.manifest(shipped.root() / "dr")
    assert seconds == pytest.approx(manifest["train_s_total"] / manifest["updates"])


def test_ued_eval_by_shipped_name(tmp_path, capsys):
    from ued.app.cli import main

    out = tmp_path / "e.csv"
    assert main(["eval", "shipped:dr", "--suite", "classic", "--out", str(out)]) == 0
    table = capsys.readouterr().out
    assert "| dr | classic | 3 |" in table
    manifest = shipped.manifest(shipped.root() / "dr")
    if manifest["cpu"] == _cpu_model():  # exact only on the kind of CPU it was recorded on
        recorded = np.mean(list(manifest["holdout"]["solve_rate"]["classic"].values()))
        assert f"| dr | classic | 3 | {recorded:.3f}" in table


def test_a_generators_learner_metrics_count_only_on_updates_that_generated():
    """REPAIRED's generator neither builds nor learns on replay updates (branch 1), where its
    learner logs zeros: the report and plots read its metrics on new-level updates only."""
    from ued.plots import metric_value

    new = {"curriculum/branch": "0", "generator/entropy": "5.1", "paired/regret": "0.2"}
    replay = {"curriculum/branch": "1", "generator/entropy": "0.0", "paired/regret": "0.1"}
    assert metric_value(new, "generator/entropy") == 5.1
    assert np.isnan(metric_value(replay, "generator/entropy"))
    assert metric_value(replay, "paired/regret") == 0.1  # other metrics are read as logged
    assert np.isnan(metric_value(new, "generated/walls"))  # absent


def test_bench_lines_time_the_wall_clock_axis(tmp_path):
    lines = [
        json.dumps({"name": "train", "algo": "dr", "preset": "cpu", "s_per_update": 0.2}),
        json.dumps({"name": "env_only", "algo": None, "preset": "cpu", "steps_per_s": 1.0}),
        "a line that is not JSON",
    ]
    path = tmp_path / "bench.jsonl"
    path.write_text("\n".join(lines) + "\n")
    bench = report.bench_seconds(path)
    assert bench == {("dr", "cpu"): 0.2}
    dr, sfl = report.open_runs(["shipped:dr", "shipped:sfl"])
    assert report.seconds_per_update(dr, bench) == pytest.approx(0.6)  # one seed's x 3 seeds
    assert report.seconds_per_update(sfl, bench) is None  # not timed: left off that axis


def _write_csv(path, rows):
    import csv

    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_the_report_tables_columns_are_the_envs_descriptors(tmp_path):
    """No maze field names: the distribution and generator tables show whatever descriptors
    the runs logged, the env's fractions (0/1 properties) last and with two digits."""
    from ued.plots import descriptor_label

    run = tmp_path / "run"
    run.mkdir()
    stats = {"trained/height": 3.0, "trained/ok": 0.5, "buffer/weighted_height": 4.0}
    _write_csv(run / "curriculum.csv", [
        {"update": u, "seed": 0, "statistic": k, "value": v + u}
        for u in (0, 10) for k, v in stats.items()
    ])  # fmt: skip
    table = report.distribution_table({"a": run}, fractions={"ok"})
    head, _, row = table.splitlines()
    assert head == "| run | height early → late | ok early → late | buffer height early → late |"
    assert row == "| a | 3.0 → 13.0 | 0.50 → 10.50 | 4.0 → 14.0 |"
    _write_csv(run / "metrics.csv", [
        {"update": u, "seed": 0, "env_steps": 8, "paired/regret": 0.1, "generated/reward": 0.2,
         "generator/entropy": 1.0, "generated/ok": 1.0, "generated/height": 2.0 + u}
        for u in (0, 10)
    ])  # fmt: skip
    table = report.generator_table({"a": run}, fractions={"ok"})
    head = table.splitlines()[0]
    assert head.endswith("generated/height early → late | generated/ok early → late |")
    assert table.splitlines()[2].endswith("| 2.00 → 12.00 | 1.00 → 1.00 |")
    assert descriptor_label("generated/ok", {"ok"}) == "ok fraction of generated levels"
    plots_dir = tmp_path / "figures"
    plots_dir.mkdir()
    from ued import plots

    plots.generator_curves({"a": run}, plots_dir / "g.png", width=5, fractions={"ok"})
    plots.compare_runs({"a": run}, plots_dir / "c.png", fractions={"ok"})
    assert (plots_dir / "g.png").stat().st_size > 0 and (plots_dir / "c.png").stat().st_size > 0


def test_a_maze_report_knows_solvability_is_a_fraction(plr_run):
    from ued.app.build import load_run

    assert report.env_fractions([Run("x", plr_run, load_run(plr_run).config, 4, False)]) == {
        "solvable"
    }
