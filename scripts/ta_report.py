"""The temporally-aware study's table and figure (``scripts/ta_study.sh`` writes the inputs).

Reads ``<study>/eval_<lifetime>.csv`` (and ``initial_<lifetime>.csv``, the initial rules) for
each evaluation lifetime, and reports per run (meta-gradient or ES, with or without the lifetime
inputs) the mean over LPG's grids of a statistic (default ``oracle_gain``, defined on every
level), then mean ± s.e. over seeds, against the lifetime the agents were trained for; A2C's
oracle gain on the same levels gives the hand-designed reference line.

    .venv/bin/python scripts/ta_report.py results/ta-study --figure docs/ta_study.png
"""

from __future__ import annotations

import argparse
import csv
import re
from collections import defaultdict
from pathlib import Path

import numpy as np


def per_seed(path: Path, score) -> dict[str, dict[int, float]]:
    """``{run: {seed: mean over levels of score(level's statistics)}}`` at each run's latest
    step; ``score`` maps ``{statistic: value}`` of one level to a number."""
    levels: dict[tuple[str, int, int, str], dict[str, float]] = defaultdict(dict)
    with path.open() as f:
        for row in csv.DictReader(f):
            key = (row["run"], int(row["seed"]), int(row["update"]), row["level"])
            levels[key][row["statistic"]] = float(row["value"])
    latest: dict[str, int] = {}
    for run, _, step, _ in levels:
        latest[run] = max(step, latest.get(run, step))
    scores: dict[tuple[str, int], list[float]] = defaultdict(list)
    for (run, seed, step, _), stats in levels.items():
        if step == latest[run]:
            scores[(run, seed)].append(score(stats))
    out: dict[str, dict[int, float]] = defaultdict(dict)
    for (run, seed), values in scores.items():
        out[run][seed] = float(np.nanmean(values))
    return out


def a2c_oracle_gain(stats: dict[str, float]) -> float:
    """A2C's ``oracle_gain`` on a level: (A2C - untrained) / max(optimum - untrained, 0.05)."""
    gap = max(stats["optimal_return"] - stats["untrained_return"], 0.05)
    return (stats["a2c_return"] - stats["untrained_return"]) / gap


def mean_se(values) -> tuple[float, float]:
    """Mean and standard error over seeds."""
    v = np.asarray(list(values), np.float64)
    return float(v.mean()), float(v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("study", type=Path)
    parser.add_argument("--statistic", default="oracle_gain")
    parser.add_argument("--figure", type=Path)
    args = parser.parse_args()

    lifetimes = sorted(int(m.group(1)) for p in args.study.glob("eval_*.csv")
                       if (m := re.fullmatch(r"eval_(\d+)\.csv", p.name)))  # fmt: skip
    table: dict[str, dict[int, tuple[float, float]]] = defaultdict(dict)
    for lifetime in lifetimes:
        for prefix, suffix in (("eval", ""), ("initial", " (initial rule)")):
            path = args.study / f"{prefix}_{lifetime}.csv"
            if not path.exists():
                continue
            for run, seeds in per_seed(path, lambda stats: stats[args.statistic]).items():
                table[run + suffix][lifetime] = mean_se(seeds.values())
            if prefix == "eval" and args.statistic == "oracle_gain":  # the same seeds' A2C
                first = next(iter(per_seed(path, a2c_oracle_gain).values()))  # A2C: rule-free
                table["A2C"][lifetime] = mean_se(first.values())
    print(f"| run ({args.statistic}) | " + " | ".join(f"lifetime {n}" for n in lifetimes) + " |")
    print("|---" * (len(lifetimes) + 1) + "|")
    for run in sorted(table):
        cells = [f"{m:.3f} ± {s:.3f}" if n in table[run] and np.isfinite(s) else
                 (f"{m:.3f}" if n in table[run] else "-")
                 for n in lifetimes for m, s in [table[run].get(n, (np.nan, np.nan))]]  # fmt: skip
        print(f"| {run} | " + " | ".join(cells) + " |")
    if args.figure:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4))
        for run in sorted(table):
            if "initial" in run:
                continue
            xs = [n for n in lifetimes if n in table[run]]
            means = np.array([table[run][n][0] for n in xs])
            errors = np.nan_to_num(np.array([table[run][n][1] for n in xs]))
            ax.errorbar(xs, means, yerr=errors, marker="o", capsize=3, label=run)
        ax.set_xscale("log")
        ax.set_xlabel("agent lifetime (inner updates)")
        ax.set_ylabel(f"{args.statistic}, LPG's grids (± s.e.)")
        ax.legend(fontsize=8)
        fig.tight_layout()
        args.figure.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.figure, dpi=120)


if __name__ == "__main__":
    main()
