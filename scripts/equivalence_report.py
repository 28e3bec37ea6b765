"""The equivalence study's table and figure: this library's learning curves against JaxUED's
on the same held-out suites at the same updates, with a bootstrap interval of the difference.

Reads ``<study>/ours/<algo>/eval.csv`` (``ued train``'s evaluations) and
``<study>/jaxued/eval-<algo>-<seed>.csv`` (``scripts/equivalence/jaxued_eval.py``: JaxUED's
checkpoints played on the same levels). For each algorithm, suite and update both sides
evaluated: each seed's solve rate averaged over the suite's levels, the mean ± s.e. over seeds
on each side, and a 95% bootstrap interval of the difference of means (ours − JaxUED; seeds
resampled with replacement within each side, 10,000 times). A difference is *beyond the spread*
when its interval excludes 0. Writes ``<study>/report.md`` and ``<study>/curves.png``.

    .venv/bin/python scripts/equivalence_report.py docs/equivalence
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

ALGOS = ("dr", "robust-plr", "accel")
SUITES = ("classic", "random")
RESAMPLES = 10_000


def seed_means(paths, statistic: str = "solve_rate") -> dict:
    """``{(run, suite, update): {seed: mean over the suite's levels}}`` from ``eval.csv`` files."""
    values = defaultdict(lambda: defaultdict(list))
    for path in paths:
        with path.open() as f:
            for row in csv.DictReader(f):
                if row["statistic"] == statistic and not row["alpha"]:
                    key = (row["run"], row["suite"], int(row["update"]))
                    values[key][int(row["seed"])].append(float(row["value"]))
    return {k: {s: float(np.mean(v)) for s, v in seeds.items()} for k, seeds in values.items()}


def bootstrap_difference(a, b, rng: np.random.Generator) -> tuple[float, float]:
    """95% percentile interval of ``mean(a) - mean(b)``, each side's seeds resampled."""
    a, b = np.asarray(a), np.asarray(b)
    ia = rng.integers(0, len(a), (RESAMPLES, len(a)))
    ib = rng.integers(0, len(b), (RESAMPLES, len(b)))
    differences = a[ia].mean(axis=1) - b[ib].mean(axis=1)
    low, high = np.percentile(differences, [2.5, 97.5])
    return float(low), float(high)


def mean_se(values) -> tuple[float, float]:
    """Mean and standard error over seeds."""
    values = np.asarray(values)
    se = values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else 0.0
    return float(values.mean()), float(se)


def compare(study: Path, algos=ALGOS, suites=SUITES):
    """Rows ``(algo, suite, update, ours (mean, se), jaxued (mean, se), interval, beyond)``
    and the curves ``{(algo, suite): {side: [(update, mean, se)]}}``."""
    reference = seed_means(sorted((study / "jaxued").glob("eval-*.csv")))
    rng = np.random.default_rng(0)
    rows, curves = [], defaultdict(lambda: defaultdict(list))
    for algo in algos:
        path = study / "ours" / algo / "eval.csv"
        if not path.is_file():
            continue
        ours = seed_means([path])
        for suite in suites:
            for side, table in (("ours", ours), ("jaxued", reference)):
                for (run, s, update), seeds in sorted(table.items(), key=lambda kv: kv[0][2]):
                    if run == algo and s == suite:
                        curves[algo, suite][side].append((update, *mean_se(list(seeds.values()))))
            updates = sorted(
                {u for (r, s, u) in ours if (r, s) == (algo, suite)}
                & {u for (r, s, u) in reference if (r, s) == (algo, suite)}
            )
            for update in updates:
                a = list(ours[algo, suite, update].values())
                b = list(reference[algo, suite, update].values())
                low, high = bootstrap_difference(a, b, rng)
                rows.append((algo, suite, update, mean_se(a), mean_se(b), (low, high),
                             low > 0 or high < 0))  # fmt: skip
    return rows, curves


def write(study: Path, rows, curves) -> None:
    """``report.md`` (the table) and ``curves.png`` (one panel per algorithm and suite)."""
    lines = [
        "| algorithm | suite | update | ours | JaxUED | ours − JaxUED, 95% bootstrap | beyond |",
        "|---|---|---|---|---|---|---|",
    ]
    for algo, suite, update, (ma, sa), (mb, sb), (low, high), beyond in rows:
        lines.append(
            f"| {algo} | {suite} | {update} | {ma:.3f} ± {sa:.3f} | {mb:.3f} ± {sb:.3f} | "
            f"{ma - mb:+.3f} [{low:+.3f}, {high:+.3f}] | {'yes' if beyond else ''} |"
        )
    (study / "report.md").write_text("\n".join(lines) + "\n")
    keys = sorted(curves)
    if not keys:
        return
    algos = sorted({a for a, _ in keys}, key=ALGOS.index)
    fig, axes = plt.subplots(len(SUITES), len(algos), figsize=(4 * len(algos), 3.2 * len(SUITES)),
                             squeeze=False)  # fmt: skip
    for j, algo in enumerate(algos):
        for i, suite in enumerate(SUITES):
            ax = axes[i][j]
            for side, colour in (("ours", "C0"), ("jaxued", "C1")):
                points = curves.get((algo, suite), {}).get(side, [])
                if points:
                    u, m, s = map(np.asarray, zip(*points, strict=True))
                    ax.plot(u, m, color=colour, label="ued" if side == "ours" else "JaxUED")
                    ax.fill_between(u, m - s, m + s, color=colour, alpha=0.2)
            ax.set_title(f"{algo}: {suite}")
            ax.set_xlabel("update")
            ax.set_ylabel("solve rate")
            ax.grid(alpha=0.3)
    next(ax for ax in axes.flat if ax.get_legend_handles_labels()[0]).legend()
    fig.tight_layout()
    fig.savefig(study / "curves.png", dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("study", type=Path)
    args = parser.parse_args()
    rows, curves = compare(args.study)
    write(args.study, rows, curves)
    print((args.study / "report.md").read_text())


if __name__ == "__main__":
    main()
