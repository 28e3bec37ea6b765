"""``ued ship``: package a finished run as a shipped agent (``ued.shipped``): the students'
parameters, the config, the training logs, curriculum snapshots and the report's evaluations,
a few hundred KB instead of the run's full checkpoints."""

from __future__ import annotations

import csv
import dataclasses
import gzip
import json
import platform
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jax
import numpy as np

from .. import shipped
from .. import snapshots as snapshots_lib
from ..errors import RunError
from .report import Protocol, Run, evaluations, run_snapshots


def cpu_model() -> str:
    """The processor's name (shipped agents record it: XLA's CPU kernels differ across them)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _commit() -> str | None:
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def _thin_metrics(source: Path, target: Path, every: int) -> None:
    """Copy ``metrics.csv`` keeping every ``every``-th update (and the last one)."""
    with source.open(newline="") as f:
        rows = list(csv.DictReader(f))
    last = max(int(r["update"]) for r in rows)
    with target.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(r for r in rows if int(r["update"]) in (last, *range(0, last, every)))


def _gzip(source: Path, target: Path) -> None:
    """Write ``source`` compressed to ``target`` + ``.gz`` (``ued.logging.read_csv`` reads it)."""
    with source.open("rb") as f, gzip.open(target.with_name(target.name + ".gz"), "wb", 9) as g:
        shutil.copyfileobj(f, g)


def holdout_summary(rows: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, float]]]:
    """``{statistic: {suite: {seed: mean over levels}}}`` of evaluation rows (``ued.evaluate``
    per-level rows; α-CVaR rows are left out): the solve rate for an env with a success signal,
    else the return."""
    per_level = [r for r in rows if not str(r.get("alpha") or "")]
    solved = any(r["statistic"] == "solve_rate" for r in per_level)
    statistic = "solve_rate" if solved else "return"
    values: dict[str, dict[int, list[float]]] = {}
    for r in per_level:
        if r["statistic"] == statistic:
            per_seed = values.setdefault(r["suite"], {})
            per_seed.setdefault(int(r["seed"]), []).append(float(r["value"]))
    return {
        statistic: {
            suite: {str(seed): float(np.mean(per_seed[seed])) for seed in sorted(per_seed)}
            for suite, per_seed in values.items()
        }
    }


def ship(run_dir: Path, name: str, root: Path, protocol: Protocol | None = None, log=print) -> Path:
    """Package the finished run ``run_dir`` as ``root/name`` (replacing an older package of that
    name) and evaluate it under ``protocol``; returns the new folder."""
    from .build import load_run

    protocol = protocol or Protocol()
    run_dir = Path(run_dir)
    if not (run_dir / "run.json").is_file():
        raise RunError(f"{run_dir}: not a finished run (no run.json); finish or resume it first")
    loaded = load_run(run_dir)
    target = Path(root) / name
    staging = Path(root) / f".{name}.staging"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    several = len(loaded.config.seed_list) > 1
    stacked = (
        jax.tree_util.tree_map(lambda *xs: np.stack(xs), *loaded.seed_params)
        if several
        else loaded.seed_params[0]
    )
    sha = shipped.write_params(staging, stacked)
    shutil.copy2(run_dir / "config.json", staging / "config.json")
    _thin_metrics(run_dir / "metrics.csv", staging / "metrics.csv", shipped.METRICS_EVERY)
    for file in ("metrics.csv", "curriculum.csv", "eval.csv"):  # a fifth of the size
        _gzip(staging / file if file == "metrics.csv" else run_dir / file, staging / file)
    (staging / "metrics.csv").unlink()
    if shipped.is_shipped(target) and shipped.manifest(target).get("params_sha256") == sha:
        # The same parameters packaged before: keep their evaluations (same protocol names).
        shutil.copytree(target / "evaluations", staging / "evaluations", dirs_exist_ok=True)
    snaps = run_snapshots(Run(name, run_dir, loaded.config, loaded.step, False), log)
    if snaps is not None:
        shutil.copy2(run_dir / snapshots_lib.FILE, staging / snapshots_lib.FILE)
    record = json.loads((run_dir / "run.json").read_text())
    manifest = {
        "name": name,
        "algo": loaded.config.algo,
        "env": loaded.config.env,
        "preset": loaded.config.preset,
        "seeds": list(loaded.config.seed_list),
        "updates": loaded.step,
        "env_steps_per_seed": loaded.step * loaded.config.steps_per_update,
        "train_s_total": record.get("train_s_total"),
        "commit": _commit(),
        "cpu": cpu_model(),
        "jax": jax.__version__,
        "params_sha256": sha,
        "protocol": dataclasses.asdict(protocol),
    }
    (staging / shipped.MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    # The report's evaluations, made from the packaged parameters (what users will load).
    rows = evaluations(
        Run(name, staging, loaded.config, loaded.step, True), protocol, staging / "evaluations", log
    )
    for file in (staging / "evaluations").glob("*.csv"):
        _gzip(file, file)
        file.unlink()
    manifest["holdout"] = holdout_summary(rows)
    (staging / shipped.MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    shutil.rmtree(target, ignore_errors=True)
    staging.replace(target)
    return target
