"""``scripts/equivalence_report.py`` (the equivalence study's table and figure): per algorithm,
suite and shared update, each side's mean ± s.e. over seeds of the suite-mean solve rate and a
bootstrap interval of the difference that flags a gap beyond the seeds' spread."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import numpy as np
import pytest

HEADER = ["run", "seed", "update", "suite", "level", "statistic", "alpha", "value"]


@pytest.fixture(scope="module")
def report():
    path = Path(__file__).parent.parent / "scripts" / "equivalence_report.py"
    spec = importlib.util.spec_from_file_location("equivalence_report", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write(path: Path, run: str, rates: dict[tuple[int, int], list[float]]) -> None:
    """An ``eval.csv`` of ``run``: ``{(seed, update): per-level solve rates}`` on ``random``
    (plus each level's return, which the report ignores)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.parent / "run.json").write_text("{}")  # a finished run
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(HEADER)
        for (seed, update), values in rates.items():
            for i, value in enumerate(values):
                out.writerow([run, seed, update, "random", f"l{i}", "solve_rate", "", value])
                out.writerow([run, seed, update, "random", f"l{i}", "return", "", 9.0])


def test_curves_table_and_beyond_the_spread(report, tmp_path):
    ours = {(s, u): [0.5 + 0.01 * s, 0.7 + 0.01 * s] for s in range(3) for u in (0, 100, 200)}
    write(tmp_path / "ours" / "dr" / "eval.csv", "dr", ours)
    for seed in range(3):  # JaxUED: one file per run; the same at 100, far below at 200
        rates = {(seed, 100): [0.5 + 0.01 * seed, 0.7 + 0.01 * seed], (seed, 200): [0.1, 0.1]}
        write(tmp_path / "jaxued" / f"eval-dr-{seed}.csv", "dr", rates)
    variant = {(s, u): [0.08 + 0.04 * s] * 2 for s in range(2) for u in (100, 200)}  # 2 seeds
    write(tmp_path / "ours" / "dr+7actions" / "eval.csv", "dr+7actions", variant)
    rows, curves = report.compare(tmp_path, algos=("dr",), suites=("random",))
    assert [(r[1], r[3]) for r in rows] == [  # only the updates both sides evaluated
        ("ued", 100),
        ("ued", 200),
        ("ued, 7actions", 100),
        ("ued, 7actions", 200),
    ]
    (_, _, _, _, (mean_ours, se_ours), (mean_ref, _), interval, beyond) = rows[0]
    assert mean_ours == pytest.approx(0.61) and mean_ref == pytest.approx(0.61)
    assert se_ours == pytest.approx(np.std([0.6, 0.61, 0.62], ddof=1) / np.sqrt(3))
    assert interval[0] <= 0 <= interval[1] and not beyond
    assert rows[1][-1] and rows[1][-2][0] > 0.4  # ours 0.61 against 0.1: beyond the spread
    assert not rows[3][-1] and rows[2][-1]  # the variant: level with JaxUED at 200, not at 100
    assert [u for u, *_ in curves["dr", "random"]["ued"]] == [0, 100, 200]
    assert [u for u, *_ in curves["dr", "random"]["JaxUED"]] == [100, 200]
    report.write(tmp_path, rows, curves)
    table = (tmp_path / "report.md").read_text()
    assert "| dr | ued | random | 200 | 0.610 ± 0.006 | 0.100 ± 0.000 |" in table
    assert (tmp_path / "curves.png").stat().st_size > 10_000
    summary = (tmp_path / "summary.md").read_text().splitlines()
    assert [line.split(" | ")[:3] for line in summary[2:]] == [
        ["| dr", "ued", "200"],
        ["| dr", "ued, 7actions", "200"],
    ]  # each run's last shared update, once
    assert summary[2].startswith("| dr | ued | 200 | 0.610 ± 0.006 | 0.100 ± 0.000 | +0.510 [")


def test_readme_shows_the_studys_summary():
    """The README's equivalence table is the study's ``summary.md``, row for row."""
    root = Path(__file__).parent.parent
    readme = (root / "README.md").read_text().splitlines()
    summary = (root / "docs" / "equivalence" / "summary.md").read_text().splitlines()
    assert all(line in readme for line in summary), "rerun scripts/equivalence_report.py"
    assert "docs/equivalence/curves.png" in "\n".join(readme)


def test_ordering_compares_each_pipelines_curricula_with_its_own_dr(report, tmp_path):
    """Each pipeline's robust PLR (and ACCEL) against the same pipeline's DR, at the last update
    both evaluated; a curriculum without a DR run on that side is left out."""
    dr = {(s, u): [0.4, 0.4] for s in range(3) for u in (100, 200)}
    plr = {(s, u): [0.6 + 0.01 * s] * 2 for s in range(3) for u in (100, 200)}
    write(tmp_path / "ours" / "dr" / "eval.csv", "dr", dr)
    write(tmp_path / "ours" / "robust-plr" / "eval.csv", "robust-plr", plr)
    for seed in range(2):
        write(tmp_path / "jaxued" / f"eval-dr-{seed}.csv", "dr", {(seed, 100): [0.5, 0.5]})
        write(tmp_path / "jaxued" / f"eval-accel-{seed}.csv", "accel", {(seed, 100): [0.3, 0.3]})
    write(tmp_path / "ours" / "accel" / "eval.csv", "accel", plr)
    (tmp_path / "ours" / "accel" / "run.json").unlink()  # still training: left out
    rows = report.ordering(tmp_path, suites=("random",))
    assert [(r[0], r[1], r[3]) for r in rows] == [
        ("ued", "robust-plr", 200),
        ("JaxUED", "accel", 100),
    ]
    (_, _, _, _, (plr_mean, _), (dr_mean, _), (low, _)) = rows[0]
    assert plr_mean == pytest.approx(0.61) and dr_mean == pytest.approx(0.4) and low > 0
    assert rows[1][-1][1] < 0  # JaxUED's ACCEL below its DR
    table = report.ordering_table(rows)
    assert table[2].startswith("| ued | robust-plr | random | 200 | 0.610 ± 0.006 | 0.400 ± 0.000")
