"""The ``ued`` command end to end: train, eval, bench, and every bad input's clear error."""

from __future__ import annotations

import json
import shutil

import pytest

from ued.app.cli import enable_compilation_cache, main
from ued.logging import read_csv


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    code = main(
        [
            "train",
            "--algo",
            "dr",
            "--env",
            "maze",
            "--preset",
            "test",
            "--seed",
            "3",
            "--out",
            str(out),
            "--no-progress",
            "--ppo.lr",
            "5e-4",
        ]
    )
    assert code == 0
    return out


def test_train_writes_the_contract_files(cli_run):
    config = json.loads((cli_run / "config.json").read_text())
    assert config["seed"] == 3 and config["ppo"]["lr"] == 5e-4 and config["preset"] == "test"
    assert len(read_csv(cli_run / "metrics.csv")) == 4
    assert (cli_run / "checkpoints" / "4").is_dir()
    assert list((cli_run / "plots").glob("*.png"))


def test_eval_prints_the_holdout_table_and_writes_tidy_csv(cli_run, tmp_path, capsys):
    csv = tmp_path / "eval.csv"
    code, out, _ = _run(
        capsys, "eval", str(cli_run), "--suite", "classic", "--attempts", "2", "--out", str(csv)
    )
    assert code == 0
    assert "| run | suite | seeds | solve rate |" in out and "| run | classic | 1 |" in out
    rows = read_csv(csv)
    assert {r["level"] for r in rows if r["statistic"] == "solve_rate"} == {
        "SixteenRooms",
        "SixteenRooms2",
        "Labyrinth",
        "LabyrinthFlipped",
        "Labyrinth2",
        "StandardMaze",
        "StandardMaze2",
        "StandardMaze3",
    }
    assert {r["seed"] for r in rows} == {"3"} and {r["update"] for r in rows} == {"4"}
    assert csv.with_suffix(".md").read_text().startswith("| run |")
    assert (tmp_path / "eval_plots" / "levels.png").is_file()


def test_eval_on_a_user_level_file_and_random_suite(cli_run, tmp_path, capsys):
    level_file = tmp_path / "mine.txt"
    level_file.write_text("= corridor\n>...G\n#####\n\n= turn\n^#G\n...\n")
    csv = tmp_path / "mine.csv"
    code, out, _ = _run(
        capsys,
        "eval",
        str(cli_run),
        "--suite",
        str(level_file),
        "random",
        "--levels",
        "5",
        "--attempts",
        "1",
        "--out",
        str(csv),
    )
    assert code == 0 and "| run | mine |" in out and "| run | random |" in out
    assert {r["level"] for r in read_csv(csv) if r["suite"] == "mine"} == {"corridor", "turn"}


def test_bench_prints_json_lines(capsys):
    code, out, _ = _run(capsys, "bench", "--preset", "test", "--algo", "dr", "--chunks", "1")
    assert code == 0
    records = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert [r["name"] for r in records] == ["env_only", "rollout", "train"]
    for r in records:
        assert r["steps_per_s"] > 0 and r["compile_s"] > 0 and r["traces"] == 1
        assert "cpu" in r["device"] and r["peak_memory_mb"] > 0


@pytest.mark.slow  # CI's 20 minutes; make test-all runs it
def test_bench_devices_prints_a_scaling_table(capsys):
    """One row per device count and batch mode (two devices are tested in test_parallel's
    processes; this process has one), with each row's speed-up over the first count."""
    code, out, _ = _run(
        capsys, "bench", "--devices", "1", "--preset", "test", "--chunks", "1",
        "--env-batch", "64", "--only", "env_only", "train",
    )  # fmt: skip
    assert code == 0
    records = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert [(r["name"], r.get("batch")) for r in records] == [
        ("env_only", None), ("train", "per_device"), ("train", "global")
    ]  # fmt: skip
    assert records[0]["num_envs"] == 64
    for r in records:
        assert r["devices"] == 1 and r["speedup"] == 1.0 and r["traces"] == 1
    assert _run(capsys, "bench", "--devices", "3")[0] == 2  # more than this process has


@pytest.mark.slow  # CI's 20 minutes; make test-all runs it
def test_meta_bench_reports_both_backends_and_groove(capsys):
    code, out, _ = _run(
        capsys, "bench", "--program", "meta-train", "--preset", "test", "--chunks", "1",
        "--updates-per-chunk", "1",
    )  # fmt: skip
    assert code == 0
    records = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert [(r["algo"], r["backend"]) for r in records] == [
        ("lpg", "gradient"), ("lpg", "es"), ("groove", "gradient")
    ]  # fmt: skip
    for r in records:
        assert r["meta_steps_per_s"] > 0 and r["steps_per_s"] > 0 and r["traces"] == 1
    groove = records[-1]
    assert groove["reference_antagonist_env_steps_per_meta_step"] > 0
    assert 0 <= groove["antagonist_env_steps_per_meta_step"]


@pytest.mark.slow  # CI's 20 minutes; make test-all runs it
def test_bench_times_lpo_meta_training_and_drift_learners_against_ppo(capsys):
    code, out, _ = _run(capsys, "bench", "--program", "meta-train", "--algo", "lpo", "--preset",
                        "test", "--chunks", "1", "--updates-per-chunk", "1")  # fmt: skip
    assert code == 0
    (record,) = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert (record["algo"], record["backend"], record["env"]) == ("lpo", "es", "cartpole")
    assert record["steps_per_s"] > 0 and record["traces"] == 1
    assert (record["lifetime"], record["tasks"]) == (2, 0) and "unroll" not in record  # PPO's
    code, out, _ = _run(capsys, "bench", "--preset", "test", "--algo", "dr", "--only", "train",
                        "--chunks", "1", "--compare-learners", "dpo", "lpo")  # fmt: skip
    assert code == 0
    records = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert [r.get("learner") for r in records] == [None, "dpo", "lpo"]
    assert all(r["ppo_ratio"] > 0 and r["ppo_steps_per_s"] > 0 for r in records[1:])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--algo", "nope", "--preset", "test"], "algo: unknown algorithm 'nope'"),
        (["train", "--env", "nope", "--preset", "test"], "env: unknown env 'nope'"),
        (["train", "--preset", "test", "--ppo.minibatches", "3"], "ppo.minibatches"),
        (
            ["train", "--preset", "test", "--env-config.height", "-1"],
            "env_config.height: must be positive",
        ),
        (["train", "--preset", "test", "--ppo.gamma", "2"], "ppo.gamma: must be in [0, 1]"),
        (["train", "--preset", "test", "--seeds", "0,x"], "seeds: expected comma-separated"),
        (["train", "--resume", "/nonexistent/run"], "--resume /nonexistent/run: no such run"),
        (["eval", "/nonexistent/run"], "/nonexistent/run: no such run directory"),
    ],
)
def test_bad_input_fails_with_a_named_message(capsys, argv, message):
    code, _, err = _run(capsys, *argv)
    assert code == 2 and message in err


def test_eval_bad_suite_and_malformed_level_file(cli_run, tmp_path, capsys):
    code, _, err = _run(capsys, "eval", str(cli_run), "--suite", "nope")
    assert code == 2 and "unknown suite 'nope'" in err
    bad = tmp_path / "bad.txt"
    bad.write_text("= a\n>..\n.X.\n..G\n")
    code, _, err = _run(capsys, "eval", str(cli_run), "--suite", str(bad))
    assert code == 2 and f"{bad}:3:2: unknown character 'X'" in err


def test_existing_run_is_not_overwritten(cli_run, capsys):
    code, _, err = _run(capsys, "train", "--preset", "test", "--out", str(cli_run), "--no-progress")
    assert code == 2 and "already holds a run" in err


def test_mismatched_checkpoint_is_named(cli_run, tmp_path, capsys):
    run = tmp_path / "edited"
    shutil.copytree(cli_run, run)
    config = json.loads((run / "config.json").read_text())
    config["network"]["hidden_size"] = 16
    (run / "config.json").write_text(json.dumps(config))
    for argv in (["eval", str(run)], ["train", "--resume", str(run), "--no-progress"]):
        code, _, err = _run(capsys, *argv)
        assert code == 2 and "different config" in err and "network.hidden_size" in err
    # Config and checkpoint metadata agree, but the arrays do not: the leaf is named.
    checkpoint_meta = run / "checkpoints" / "4" / "meta" / "metadata"
    meta = json.loads(checkpoint_meta.read_text())
    meta["config"]["network"]["hidden_size"] = 16
    checkpoint_meta.write_text(json.dumps(meta))
    code, _, err = _run(capsys, "eval", str(run))
    assert code == 2 and "does not match this config: leaf student/params/" in err
    assert "float32[8, 8] there but float32[16, 8] here" in err


def test_missing_checkpoints_are_named(cli_run, tmp_path, capsys):
    run = tmp_path / "empty"
    run.mkdir()
    shutil.copy(cli_run / "config.json", run / "config.json")
    code, _, err = _run(capsys, "eval", str(run))
    assert code == 2 and "no complete checkpoint" in err
    code, _, err = _run(capsys, "eval", str(cli_run), "--step", "3")
    assert code == 2 and "no checkpoint at step 3" in err


def test_usage(capsys):
    code, out, _ = _run(capsys, "--help")
    assert code == 0 and "ued train" in out
    code, _, err = _run(capsys, "frobnicate")
    assert code == 2 and "unknown command" in err


def test_the_cli_turns_on_the_persistent_compilation_cache(monkeypatch, tmp_path):
    import jax

    before = jax.config.jax_compilation_cache_dir  # the test session's own cache
    try:
        assert enable_compilation_cache() == before  # a configured cache is left alone
        jax.config.update("jax_compilation_cache_dir", None)
        monkeypatch.setenv("UED_JAX_CACHE", "off")
        assert enable_compilation_cache() is None
        monkeypatch.setenv("UED_JAX_CACHE", str(tmp_path / "cache"))
        assert enable_compilation_cache() == str(tmp_path / "cache")
        assert jax.config.jax_compilation_cache_dir == str(tmp_path / "cache")
    finally:
        jax.config.update("jax_compilation_cache_dir", before)
