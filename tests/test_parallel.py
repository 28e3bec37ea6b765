"""Data parallelism: the env batch split over two CPU devices (one process) and over two
processes (``jax.distributed`` on 127.0.0.1 with gloo collectives) trains as one device does.

Both need JAX to start with their own device setup, so the runs happen in subprocesses
(tests/parallel_worker.py) that share the suite's compilation cache through the environment.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

TESTS = Path(__file__).parent
TWO_DEVICES = {"XLA_FLAGS": "--xla_force_host_platform_device_count=2"}


def _env(**extra: str) -> dict[str, str]:
    env = {**os.environ, **extra}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TESTS), env.get("PYTHONPATH")]))
    return env


def _worker(root: Path, *mode: str) -> Path:
    """Run tests/parallel_worker.py with two CPU devices, writing its runs under ``root``."""
    done = subprocess.run(
        [sys.executable, str(TESTS / "parallel_worker.py"), str(root), *mode],
        env=_env(**TWO_DEVICES),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return root


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    """All the worker's training runs, made once for this module (``make test-all``)."""
    return _worker(tmp_path_factory.mktemp("parallel"))


@pytest.fixture(scope="module")
def dr_runs(tmp_path_factory) -> Path:
    """Per-episode DR on one and on two devices only: ``make test``'s share (CI's budget)."""
    return _worker(tmp_path_factory.mktemp("parallel-dr"), "dr")


def _metrics(run: Path) -> pd.DataFrame:
    return pd.read_csv(run / "metrics.csv")


def _evaluations(run: Path) -> pd.DataFrame:
    return pd.read_csv(run / "eval.csv").drop(columns="run")


@pytest.mark.parametrize(
    "algo",
    ["dr", *(pytest.param(a, marks=pytest.mark.slow) for a in ("robust-plr", "accel-parallel"))],
)
def test_two_devices_match_one_on_the_same_global_batch(request, algo):
    """Per-episode DR (split rollout carry), robust PLR with two vmapped seeds (replicated
    buffer fed by split rollouts) and parallel ACCEL (its three parts split over the devices,
    the replayed part trained on) agree with one device: discrete outcomes exactly, floats to
    summation order. DR runs by default; the others and the other two-device tests under
    ``make test-all`` (CI's budget)."""
    runs = request.getfixturevalue("dr_runs" if algo == "dr" else "runs")
    one, two = _metrics(runs / f"{algo}-1"), _metrics(runs / f"{algo}-2")
    assert list(one.columns) == list(two.columns) and len(one) == len(two) > 0
    np.testing.assert_allclose(two.to_numpy(float), one.to_numpy(float), rtol=1e-4, atol=1e-6)
    for exact in ("curriculum/branch", "student/episodes", "buffer/size"):
        if exact in one:
            assert (one[exact] == two[exact]).all(), exact
    if algo != "dr":  # the buffer decided the same replays on both layouts
        assert one["curriculum/branch"].nunique() > 1 or one["buffer/size"].max() > 0
    e1, e2 = _evaluations(runs / f"{algo}-1"), _evaluations(runs / f"{algo}-2")
    np.testing.assert_allclose(e2["value"], e1["value"], rtol=1e-4, atol=1e-6)


@pytest.mark.slow
def test_meta_training_on_two_devices_matches_one(tmp_path):
    """The meta-gradient's population (LPG on DR, and GROOVE with its replicated buffer) and
    ES's members split over two devices: the same meta-training as on one."""
    root = _worker(tmp_path, "meta")
    for name in ("lpg", "groove", "es"):
        one, two = _metrics(root / f"{name}-1"), _metrics(root / f"{name}-2")
        assert len(one) == len(two) == 4
        np.testing.assert_allclose(two.to_numpy(float), one.to_numpy(float), rtol=1e-4, atol=1e-5)
        e1, e2 = _evaluations(root / f"{name}-1"), _evaluations(root / f"{name}-2")
        np.testing.assert_allclose(e2["value"], e1["value"], rtol=1e-4, atol=1e-5)


@pytest.mark.slow  # CI's 20 minutes; make test-all runs it
def test_each_device_count_is_deterministic(runs):
    first, again = runs / "dr-2", runs / "dr-2-again"
    assert (first / "metrics.csv").read_bytes() == (again / "metrics.csv").read_bytes()
    assert _evaluations(first).equals(_evaluations(again))


@pytest.mark.slow  # CI's 20 minutes; make test-all runs it
def test_a_two_device_run_resumes_bit_exactly_and_on_one_device(runs):
    """Killed after update 4 (checkpoint 2 is the last), resumed on 2 devices: byte-identical to
    the uninterrupted run; resumed on 1 device from the same checkpoint: equal to float
    tolerance, and the run records the devices it now ran on."""
    whole = runs / "dr-2"
    resumed = runs / "dr-2-killed"
    assert (resumed / "metrics.csv").read_bytes() == (whole / "metrics.csv").read_bytes()
    assert _evaluations(resumed).equals(_evaluations(whole))
    on_one = runs / "dr-2-killed-on-1"
    np.testing.assert_allclose(
        _metrics(on_one).to_numpy(float), _metrics(whole).to_numpy(float), rtol=1e-4, atol=1e-6
    )
    assert '"devices": 1' in (on_one / "run.json").read_text()
    assert '"devices": 2' in (whole / "run.json").read_text()


@pytest.mark.slow  # CI's 20 minutes; make test-all runs it
def test_a_one_device_process_evaluates_and_resumes_a_two_device_run(runs, tmp_path):
    """Checkpoints hold their devices' layout; a process with one device still reads them:
    ``ued eval`` on this process's device, and a resume that says ``--devices 1``."""
    import shutil

    from ued.app.cli import main

    assert main(["eval", str(runs / "dr-2"), "--suite", "classic", "--attempts", "1",
                 "--out", str(tmp_path / "eval.csv")]) == 0  # fmt: skip
    assert len(pd.read_csv(tmp_path / "eval.csv")) > 0
    run = shutil.copytree(runs / "dr-2", tmp_path / "dr-2")
    assert main(["train", "--resume", str(run), "--updates", "8", "--no-progress"]) == 2
    assert main(["train", "--resume", str(run), "--updates", "8", "--devices", "1",
                 "--no-progress"]) == 0  # fmt: skip
    assert _metrics(run)["update"].tolist() == list(range(8))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _two_processes(*args: str) -> None:
    """Run ``ued ARGS`` as processes 0 and 1 of one ``jax.distributed`` run on 127.0.0.1."""
    coordinator = f"127.0.0.1:{_free_port()}"
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "ued.app.cli", *args],
            env=_env(UED_COORDINATOR=coordinator, UED_NUM_PROCESSES="2", UED_PROCESS_ID=str(i)),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for i in range(2)
    ]
    logs = [p.communicate(timeout=600)[0] for p in processes]
    assert [p.returncode for p in processes] == [0, 0], "\n".join(log[-3000:] for log in logs)


@pytest.mark.slow  # CI's 20 minutes; make test-all runs it
def test_two_processes_train_together_and_write_one_set_of_outputs(runs, tmp_path):
    """Two processes of one CPU device each (``UED_COORDINATOR`` etc.) train the same program as
    one process with two devices; process 0 alone writes the run's files, and both restore its
    checkpoint to extend the run."""
    out = tmp_path / "two-processes"
    _two_processes(
        "train", "--algo", "dr", "--preset", "test", "--updates", "6", "--updates-per-chunk",
        "2", "--checkpoint-every", "2", "--eval-every", "0", "--ppo.num-envs", "8",
        "--curriculum.resample", "episode", "--no-progress", "--out", str(out),
    )  # fmt: skip
    assert (out / "metrics.csv").read_bytes() == (runs / "dr-2" / "metrics.csv").read_bytes()
    assert _evaluations(out).equals(_evaluations(runs / "dr-2"))
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["2", "4", "6"]
    assert '"devices": 2' in (out / "run.json").read_text()
    assert [p for p in tmp_path.iterdir() if p != out] == []  # nothing written elsewhere

    first = (out / "metrics.csv").read_text()
    _two_processes("train", "--resume", str(out), "--updates", "8", "--no-progress")
    extended = (out / "metrics.csv").read_text()
    assert extended.startswith(first)
    assert [int(r.split(",")[0]) for r in extended.splitlines()[1:]] == list(range(8))
    assert "8" in [p.name for p in (out / "checkpoints").iterdir()]
