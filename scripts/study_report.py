"""Summarise a CPU study (``scripts/cpu_study.sh``, ``scripts/paired_study.sh``) into Markdown
tables and figures.

``python scripts/study_report.py results/study [--figure docs/study_comparison.png]`` reads each
run's ``curriculum.csv`` and the study's evaluation CSVs and prints:

* holdout solve rate per curriculum and suite (mean ± s.e. over seeds, 10 attempts per level);
* α-CVaR of the solve rate over random solvable levels (debiased, mean ± s.e. over seeds);
* what each curriculum trained on and kept, early vs late in training (means over seeds);
* for generator agents (PAIRED, minimax adversary, REPAIRED): regret, solvable fraction, walls
  and shortest path of the generated levels, early vs late, and their curves (``--figure``'s
  name with ``_generator``).
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np

from ued.logging import read_csv
from ued.plots import GENERATOR_PANELS, compare_runs, generator_curves

ORDER = (
    "dr",
    "plr",
    "robust-plr",
    "accel",
    "sfl",
    "ncc-reg",
    "ncc-learn",
    "ncc-theory",
    "paired",
    "minimax-adversary",
    "repaired",
)
ALPHAS = (0.01, 0.05, 0.1, 1.0)  # 1%, 5%, 10% as the NCC/SFL papers report, and the mean
SUITES = ("classic", "four-rooms", "small-corridor", "crossing", "perfect-medium", "random")


def _mean_se(values) -> str:
    v = np.asarray(values, np.float64)
    if v.size == 0:
        return "-"
    se = v.std(ddof=1) / np.sqrt(v.size) if v.size > 1 else float("nan")
    return f"{v.mean():.3f}" + ("" if np.isnan(se) else f" ± {se:.3f}")


def _eval_rows(study: Path, names: tuple[str, ...]) -> list[dict[str, str]]:
    rows = []
    for name in names:
        if (study / name).exists():
            rows += read_csv(study / name)
    return rows


def holdout_table(rows: list[dict[str, str]], runs: list[str]) -> str:
    """Solve rate per run (rows) and suite (columns): per seed the mean over the suite's levels,
    then mean ± s.e. over seeds."""
    per_seed: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        if r["statistic"] == "solve_rate" and r["level"] != "*":
            per_seed[(r["run"], r["suite"])][r["seed"]].append(float(r["value"]))
    suites = [s for s in SUITES if any(k[1] == s for k in per_seed)]
    lines = ["| curriculum | " + " | ".join(suites) + " |", "|---" * (len(suites) + 1) + "|"]
    for run in runs:
        cells = [
            _mean_se([np.mean(v) for v in per_seed[(run, s)].values()])
            if (run, s) in per_seed
            else "-"
            for s in suites
        ]
        lines.append(f"| {run} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def cvar_table(rows: list[dict[str, str]], runs: list[str]) -> str:
    """Debiased α-CVaR of the solve rate per run (rows) and α (columns), mean ± s.e. over seeds."""
    values: dict[tuple[str, str], list[float]] = defaultdict(list)
    for r in rows:
        if r["statistic"] == "cvar":
            values[(r["run"], r["alpha"])].append(float(r["value"]))
    alphas = sorted({a for _, a in values if float(a) in ALPHAS}, key=float)
    head = " | ".join(f"α = {float(a) * 100:g}%" for a in alphas)
    lines = [f"| curriculum | {head} |", "|---" * (len(alphas) + 1) + "|"]
    for run in runs:
        if any((run, a) in values for a in alphas):
            lines.append(
                f"| {run} | " + " | ".join(_mean_se(values[(run, a)]) for a in alphas) + " |"
            )
    return "\n".join(lines)


def distribution_table(study: Path, runs: list[str], window: float = 0.1) -> str:
    """Levels trained on (each chunk's last update) and the buffer's replay-weighted levels, as
    means over seeds and over the first and the last ``window`` of training."""
    stats = [
        ("trained/shortest_path", "path"),
        ("trained/walls", "walls"),
        ("trained/solvable", "solvable"),
        ("buffer/weighted_shortest_path", "buffer path"),
        ("buffer/weighted_walls", "buffer walls"),
        ("buffer/weighted_solvable", "buffer solvable"),
    ]
    head = " | ".join(f"{label} early → late" for _, label in stats)
    lines = [f"| curriculum | {head} |", "|---" * (len(stats) + 1) + "|"]
    for run in runs:
        table = read_csv(study / run / "curriculum.csv")
        cells = []
        for key, _ in stats:
            points = [(int(r["update"]), float(r["value"])) for r in table if r["statistic"] == key]
            if not points:
                cells.append("-")
                continue
            updates = sorted({u for u, _ in points})
            cut = max(1, round(window * len(updates)))
            early, late = set(updates[:cut]), set(updates[-cut:])
            a = np.mean([v for u, v in points if u in early])
            b = np.mean([v for u, v in points if u in late])
            digits = 2 if "solvable" in key else 1
            cells.append(f"{a:.{digits}f} → {b:.{digits}f}")
        lines.append(f"| {run} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def generator_table(study: Path, runs: list[str], window: float = 0.1) -> str:
    """Generated levels (``generated/...`` and the regret in ``metrics.csv``), means over seeds
    and over the first and the last ``window`` of training; only runs that generate levels."""
    keys = [key for key, _ in GENERATOR_PANELS] + ["generator/reward", "generated/reward"]
    lines = [
        "| curriculum | " + " | ".join(f"{k} early → late" for k in keys) + " |",
        "|---" * (len(keys) + 1) + "|",
    ]
    for run in runs:
        rows = read_csv(study / run / "metrics.csv")
        if not rows or not any(k in rows[0] for k in keys):
            continue
        updates = sorted({int(r["update"]) for r in rows})
        cut = max(1, round(window * len(updates)))
        early, late = set(updates[:cut]), set(updates[-cut:])
        cells = []
        for key in keys:
            if key not in rows[0]:
                cells.append("-")
                continue
            values = [(int(r["update"]), float(r[key] or "nan")) for r in rows]
            a = np.nanmean([v for u, v in values if u in early])
            b = np.nanmean([v for u, v in values if u in late])
            cells.append(f"{a:.2f} → {b:.2f}")
        lines.append(f"| {run} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("study", type=Path)
    parser.add_argument("--figure", type=Path, default=None)
    args = parser.parse_args()
    runs = [n for n in ORDER if (args.study / n / "run.json").exists()]
    holdout = _eval_rows(args.study, ("holdout.csv", "holdout_ncc.csv"))
    if holdout:
        print("## Holdout solve rate\n\n" + holdout_table(holdout, runs) + "\n")
    cvar = _eval_rows(args.study, ("cvar.csv",))
    if cvar:
        print("## α-CVaR solve rate\n\n" + cvar_table(cvar, runs) + "\n")
    print("## Training distributions\n\n" + distribution_table(args.study, runs))
    generated = generator_table(args.study, runs)
    if generated.count("\n") > 1:
        print("\n## Generated levels\n\n" + generated)
    if args.figure is not None:
        compare_runs({n: args.study / n for n in runs}, args.figure)
        print(f"\nwrote {args.figure}")
        if generated.count("\n") > 1:
            figure = args.figure.with_name(args.figure.stem + "_generator" + args.figure.suffix)
            generator_curves({n: args.study / n for n in runs}, figure)
            print(f"wrote {figure}")


if __name__ == "__main__":
    main()
