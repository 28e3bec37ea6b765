"""The LPO study's figure (``scripts/lpo_study.sh`` writes the inputs): the members' return over
generations for each meta-training run (mean ± s.e. over seeds), and fresh agents' learning
curves with the evolved drift, PPO and DPO at an evaluation lifetime (random levels).

    .venv/bin/python scripts/lpo_report.py results/lpo-study --figure docs/lpo_study.png
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

RUNS = {
    "lpo-dr": "LPO, DR levels",
    "ta-lpo-dr": "TA-LPO, DR levels",
    "lpo-robust-plr": "LPO, robust-PLR levels",
    "lpo-tasks-dr": "LPO, 2 random tasks",
    "lpo-tasks-ar": "LPO, 2 tasks from the AR buffer",
}
"""The study's runs and their labels."""


def _mean_se(by_seed: dict[int, dict[int, float]]):
    """``(x, mean, s.e.)`` over seeds of ``{seed: {x: value}}`` on the x every seed has."""
    xs = sorted(set.intersection(*(set(v) for v in by_seed.values())))
    values = np.array([[by_seed[s][x] for x in xs] for s in by_seed])
    se = values.std(axis=0, ddof=1) / np.sqrt(len(values)) if len(values) > 1 else 0 * values[0]
    return np.array(xs), values.mean(axis=0), se


def generations(run: Path) -> dict[int, dict[int, float]]:
    """``{seed: {generation: members' mean return}}`` from a run's ``metrics.csv``."""
    out: dict[int, dict[int, float]] = defaultdict(dict)
    with (run / "metrics.csv").open() as f:
        for row in csv.DictReader(f):
            out[int(row["seed"])][int(row["update"])] = float(row["return"])
    return out


def curves(path: Path, run: str) -> dict[str, dict[int, dict[int, float]]]:
    """``{rule: {seed: {inner update: return}}}`` of one run's evaluation curves."""
    out: dict[str, dict[int, dict[int, float]]] = defaultdict(lambda: defaultdict(dict))
    with path.open() as f:
        for row in csv.DictReader(f):
            if row["run"] == run:
                out[row["rule"]][int(row["seed"])][int(row["inner_update"])] = float(row["return"])
    return out


def figure(study: Path, out: Path, lifetime: int) -> None:
    """Writes the study's figure to ``out``."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for name, label in RUNS.items():
        if not (study / name / "metrics.csv").exists():
            continue
        ax = axes[1] if "tasks" in name else axes[0]
        x, mean, se = _mean_se(generations(study / name))
        ax.plot(x, mean, label=label)
        ax.fill_between(x, mean - se, mean + se, alpha=0.2)
    for ax, title in zip(axes[:2], ("members' levels from an inner curriculum",
                                    "members on pinned tasks")):  # fmt: skip
        ax.set_xlabel("generation")
        ax.set_ylabel("members' mean final return")
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=8)
    styles = {"lpo": "-", "ppo": "--", "dpo": ":"}
    evaluated = curves(study / f"meta_eval_{lifetime}_curves.csv", "lpo-dr")
    for rule, by_seed in evaluated.items():
        x, mean, se = _mean_se(by_seed)
        axes[2].plot(x, mean, styles.get(rule, "-"), label=rule.upper())
        axes[2].fill_between(x, mean - se, mean + se, alpha=0.2)
    axes[2].set_xlabel("inner update")
    axes[2].set_ylabel("return on fresh levels (16 episodes)")
    axes[2].set_title(f"fresh CartPole agents, lifetime {lifetime} (LPO: lpo-dr)", fontsize=10)
    axes[2].legend(fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study", type=Path)
    parser.add_argument("--figure", type=Path, default=Path("docs/lpo_study.png"))
    parser.add_argument("--lifetime", type=int, default=100)
    args = parser.parse_args()
    figure(args.study, args.figure, args.lifetime)


if __name__ == "__main__":
    main()
