"""The equivalence study's table and figure: this library's learning curves against JaxUED's
on the same held-out suites at the same updates, with a bootstrap interval of the difference.

Reads ``<study>/ours/<algo>/eval.csv`` (``ued train``'s evaluations; ``ours/<algo>+<variant>``
are diagnostic runs with settings moved away from JaxUED's) and
``<study>/jaxued/eval-<algo>-<seed>.csv`` (``scripts/equivalence/jaxued_eval.py``: JaxUED's
checkpoints played on the same levels). For each algorithm, suite and update both sides
evaluated: each seed's solve rate averaged over the suite's levels, the mean ± s.e. over seeds
on each side, and a 95% bootstrap interval of the difference of means (ours − JaxUED; seeds
resampled with replacement within each side, 10,000 times). A difference is *beyond the spread*
when its interval excludes 0. Writes ``<study>/report.md`` (every row), ``<study>/summary.md``
(each run's last shared update on the random levels: the README's table), ``<study>/ordering.md``
(each pipeline's robust PLR and ACCEL against its own DR: does the ordering of curricula at this
budget belong to the methods or to one pipeline?) and ``<study>/curves.png``.

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


def variants(study: Path, algo: str) -> list[tuple[str, Path]]:
    """``(label, eval.csv)`` of this library's runs of ``algo``: the study's own (``ued``,
    ``ours/<algo>``) and its diagnostic variants (``ued, <variant>``, ``ours/<algo>+<variant>``:
    the same run with settings moved away from JaxUED's)."""
    runs = [("ued", study / "ours" / algo / "eval.csv")]
    for path in sorted((study / "ours").glob(f"{algo}+*/eval.csv")):
        runs.append((f"ued, {path.parent.name.split('+', 1)[1]}", path))
    return [(label, path) for label, path in runs if finished(path)]


def finished(path: Path) -> bool:
    """Whether ``path`` (an ``eval.csv`` of ours) belongs to a run that ended (``run.json``):
    a run still training is left out of the report."""
    return path.is_file() and (path.parent / "run.json").is_file()


def compare(study: Path, algos=ALGOS, suites=SUITES):
    """Rows ``(algo, label, suite, update, ours (mean, se), jaxued (mean, se), interval,
    beyond)`` for each of this library's runs (``variants``) against JaxUED's, and the curves
    ``{(algo, suite): {label or "JaxUED": [(update, mean, se)]}}``."""
    reference = seed_means(sorted((study / "jaxued").glob("eval-*.csv")))
    rng = np.random.default_rng(0)
    rows, curves = [], defaultdict(lambda: defaultdict(list))
    for algo in algos:
        runs = variants(study, algo)
        if not runs:
            continue
        for suite in suites:
            jaxued = {u: seeds for (r, s, u), seeds in reference.items() if (r, s) == (algo, suite)}
            for update in sorted(jaxued):
                curves[algo, suite]["JaxUED"].append(
                    (update, *mean_se(list(jaxued[update].values())))
                )
            for label, path in runs:
                ours = {u: seeds for (_, s, u), seeds in seed_means([path]).items() if s == suite}
                for update in sorted(ours):
                    curves[algo, suite][label].append(
                        (update, *mean_se(list(ours[update].values())))
                    )
                for update in sorted(set(ours) & set(jaxued)):
                    a, b = list(ours[update].values()), list(jaxued[update].values())
                    low, high = bootstrap_difference(a, b, rng)
                    rows.append((algo, label, suite, update, mean_se(a), mean_se(b), (low, high),
                                 low > 0 or high < 0))  # fmt: skip
    return rows, curves


def ordering(study: Path, suites=SUITES) -> list[tuple]:
    """Rows ``(pipeline, algo, suite, update, algo (mean, se), dr (mean, se), interval)``: each
    pipeline's (``ued``: ``ours/<algo>``; ``JaxUED``) curriculum against its own DR at the last
    update both evaluated, with a 95% bootstrap interval of the difference."""
    sides = {
        "ued": {a: seed_means([study / "ours" / a / "eval.csv"]) for a in ALGOS
                if finished(study / "ours" / a / "eval.csv")},
        "JaxUED": {a: seed_means(sorted((study / "jaxued").glob(f"eval-{a}-*.csv")))
                   for a in ALGOS},
    }  # fmt: skip
    rng = np.random.default_rng(1)
    rows = []
    for side, runs in sides.items():
        by_algo = {
            a: {(s, u): seeds for (_, s, u), seeds in means.items()} for a, means in runs.items()
        }
        for algo in ALGOS[1:]:
            for suite in suites:
                shared = set(by_algo.get(algo, {})) & set(by_algo.get("dr", {}))
                updates = sorted(u for s, u in shared if s == suite and u > 0)
                if not updates:
                    continue
                key = (suite, updates[-1])
                a, b = list(by_algo[algo][key].values()), list(by_algo["dr"][key].values())
                interval = bootstrap_difference(a, b, rng)
                rows.append((side, algo, suite, updates[-1], mean_se(a), mean_se(b), interval))
    return rows


def _compared(ma, sa, mb, sb, low, high) -> str:
    """Table cells: both sides' mean ± s.e. and the difference with its interval."""
    return f"{ma:.3f} ± {sa:.3f} | {mb:.3f} ± {sb:.3f} | {ma - mb:+.3f} [{low:+.3f}, {high:+.3f}]"


def ordering_table(rows) -> list[str]:
    """``ordering``'s rows as a markdown table."""
    lines = [
        "| pipeline | curriculum | suite | updates | curriculum | DR "
        "| curriculum − DR, 95% bootstrap |",
        "|---|---|---|---|---|---|---|",
    ]
    for side, algo, suite, update, (ma, sa), (mb, sb), (low, high) in rows:
        lines.append(
            f"| {side} | {algo} | {suite} | {update} | {_compared(ma, sa, mb, sb, low, high)} |"
        )
    return lines


def summary(rows, suite: str = "random") -> list[str]:
    """The README's table: for each algorithm and run, its last update shared with JaxUED on
    ``suite`` (mean ± s.e. over seeds each side, the difference with its 95% interval)."""
    last = {}
    for row in rows:
        if row[2] == suite:
            last[row[0], row[1]] = row  # rows are in update order within a run
    lines = [
        "| curriculum | ued run | updates | ued | JaxUED | ued − JaxUED, 95% bootstrap |",
        "|---|---|---|---|---|---|",
    ]
    for algo, label, _, update, (ma, sa), (mb, sb), (low, high), _ in last.values():
        lines.append(f"| {algo} | {label} | {update} | {_compared(ma, sa, mb, sb, low, high)} |")
    return lines


def write(study: Path, rows, curves) -> None:
    """``report.md`` (the table), ``summary.md`` (``summary``) and ``curves.png`` (one panel
    per algorithm and suite)."""
    (study / "summary.md").write_text("\n".join(summary(rows)) + "\n")
    lines = [
        "| algorithm | run | suite | update | ued | JaxUED | ued − JaxUED, 95% bootstrap "
        "| beyond the spread |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for algo, label, suite, update, (ma, sa), (mb, sb), (low, high), beyond in rows:
        cells = _compared(ma, sa, mb, sb, low, high)
        lines.append(
            f"| {algo} | {label} | {suite} | {update} | {cells} | {'yes' if beyond else ''} |"
        )
    (study / "report.md").write_text("\n".join(lines) + "\n")
    keys = sorted(curves)
    if not keys:
        return
    algos = sorted({a for a, _ in keys}, key=ALGOS.index)
    fig, axes = plt.subplots(len(SUITES), len(algos), figsize=(4.5 * len(algos), 3.4 * len(SUITES)),
                             squeeze=False)  # fmt: skip
    for j, algo in enumerate(algos):
        for i, suite in enumerate(SUITES):
            ax = axes[i][j]
            sides = curves.get((algo, suite), {})
            colours = {"JaxUED": "C1", "ued": "C0"}
            for k, (label, points) in enumerate(sorted(sides.items())):
                u, m, s = map(np.asarray, zip(*points, strict=True))
                colour = colours.get(label, f"C{k + 2}")
                ax.plot(u, m, color=colour, label=label, marker="o", markersize=3)
                ax.fill_between(u, m - s, m + s, color=colour, alpha=0.2)
            ax.set_title(f"{algo}: {suite}")
            ax.set_xlabel("update")
            ax.set_ylabel("solve rate")
            ax.grid(alpha=0.3)
    next(ax for ax in axes.flat if ax.get_legend_handles_labels()[0]).legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(study / "curves.png", dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("study", type=Path)
    args = parser.parse_args()
    rows, curves = compare(args.study)
    write(args.study, rows, curves)
    (args.study / "ordering.md").write_text("\n".join(ordering_table(ordering(args.study))) + "\n")
    print((args.study / "report.md").read_text())


if __name__ == "__main__":
    main()
