"""The GROOVE study's report (after scripts/groove_study.sh): returns on LPG's gridworlds
(A2C-normalised, gain-normalised and the oracle gain, defined on every level) with
stratified-bootstrap 95% intervals for every arm at every evaluated meta-step and at equal
wall-clock, and a figure of the meta-evaluation and of how each buffer's levels
change over meta-training.

    .venv/bin/python scripts/groove_report.py results/groove-study --figure docs/groove_study.png

Prints Markdown tables. Wall-clock comes from each checkpoint's ``train_s_total`` (training
seconds summed over every resume); a run whose early checkpoints predate that record has its
seconds per meta-step taken from the steps it did record.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import jax
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ued.app.build import build_meta
from ued.checkpoint import Checkpointer
from ued.evaluate import bootstrap_ci
from ued.meta.config import load

ARMS = {
    "dr": "LPG on DR",
    "ar": "GROOVE (AR)",
    "pvl": "buffer by PVL",
    "regret": "buffer by true regret",
}
COLOURS = {"dr": "tab:gray", "ar": "tab:red", "pvl": "tab:blue", "regret": "tab:green"}
DESCRIPTORS = ["objects", "free_cells", "episode_length", "best_reward"]


def evaluations(study: Path) -> pd.DataFrame:
    """Every meta-evaluation row of the study, with ``arm`` (the run's folder name)."""
    frames = [pd.read_csv(f) for f in sorted(study.glob("meta_eval_*.csv"))
              if not f.stem.endswith(("_curves", "_progress"))]  # fmt: skip
    rows = pd.concat(frames, ignore_index=True)
    rows["arm"] = rows["run"]
    return rows


def seconds_at(run: Path, per_step: float | None = None) -> dict[int, float]:
    """Training seconds up to each checkpoint: ``train_s_total`` where every checkpoint has it,
    else ``per_step`` seconds per meta-step (for runs that predate the record)."""
    checkpointer = Checkpointer(run / "checkpoints", max_to_keep=None)
    try:
        steps = checkpointer.all_steps()
        recorded = {s: checkpointer.metadata(s).get("train_s_total") for s in steps}
    finally:
        checkpointer.close()
    if None not in recorded.values():
        return recorded
    if per_step is None:
        raise SystemExit(f"{run}: checkpoints without train_s_total; give --seconds-per-step")
    return {s: per_step * s for s in steps}


def score_matrix(rows: pd.DataFrame, arm: str, step: int, statistic: str) -> np.ndarray:
    """``[seeds, levels]`` of ``statistic`` on LPG's gridworlds."""
    sub = rows[(rows.arm == arm) & (rows["update"] == step) & (rows.suite == "lpg-grids")
               & (rows.statistic == statistic)]  # fmt: skip
    return sub.pivot(index="seed", columns="level", values="value").to_numpy(float)


def table(rows: pd.DataFrame, seconds: dict[str, dict[int, float]]) -> str:
    lines = ["| arm | meta-step | training s | LPG return | A2C-normalised | gain-normalised "
             "| oracle gain |", "|---|---|---|---|---|---|---|"]  # fmt: skip
    for arm in [a for a in ARMS if a in set(rows.arm)]:
        for step in sorted(set(rows[rows.arm == arm]["update"])):
            cells = []
            for statistic in ("lpg_return", "normalised", "gain_normalised", "oracle_gain"):
                point, low, high = bootstrap_ci(score_matrix(rows, arm, step, statistic))
                cells.append(f"{point:.2f} [{low:.2f}, {high:.2f}]")
            t = seconds.get(arm, {}).get(step, 0.0 if step == 0 else float("nan"))
            lines.append(f"| {ARMS[arm]} | {step} | {t:,.0f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def training_distribution(study: Path, n: int = 1000) -> dict[str, float]:
    """Mean descriptors of the levels DR draws (the buffers' reference)."""
    from ued import registry

    program = build_meta(load(study / "dr" / "config.json"))
    levels = jax.vmap(program.env.sample_level)(jax.random.split(jax.random.key(0), n))
    values = registry.ENVS.get(program.config.env).descriptors(program.env, levels)
    return {k: float(np.mean(v)) for k, v in values.items()}


def figure(study: Path, rows: pd.DataFrame, seconds, out: Path) -> None:
    fig, axes = plt.subplots(2, 3, figsize=(15, 8))
    for arm in [a for a in ARMS if a in set(rows.arm)]:
        steps = sorted(set(rows[rows.arm == arm]["update"]))
        stats = [bootstrap_ci(score_matrix(rows, arm, s, "oracle_gain")) for s in steps]
        point, low, high = (np.array(x) for x in zip(*stats, strict=True))
        for ax, xs in (
            (axes[0, 0], steps),
            (axes[0, 1], [seconds[arm].get(s, 0.0) for s in steps]),
        ):
            ax.plot(xs, point, "o-", color=COLOURS[arm], label=ARMS[arm])
            ax.fill_between(xs, low, high, color=COLOURS[arm], alpha=0.15)
    axes[0, 0].set(xlabel="meta-step", ylabel="oracle gain (LPG's grids)",
                   title="meta-evaluation (mean, 95% bootstrap CI)")  # fmt: skip
    axes[0, 1].set(xlabel="training seconds", title="at equal wall-clock")
    axes[0, 0].legend(fontsize=8)
    reference = training_distribution(study)
    panels = [axes[0, 2], axes[1, 0], axes[1, 1], axes[1, 2]]
    for ax, name in zip(panels, DESCRIPTORS, strict=True):
        for arm in ("ar", "pvl", "regret"):
            path = study / arm / "curriculum.csv"
            if not path.exists() or path.stat().st_size == 0:  # an arm stopped before evaluating
                continue
            diag = pd.read_csv(path)
            sub = diag[diag.statistic == f"buffer/weighted_{name}"].groupby("update")["value"]
            mean, sem = sub.mean(), sub.sem()
            ax.errorbar(mean.index, mean, yerr=sem, marker="o", color=COLOURS[arm],
                        label=ARMS[arm], capsize=2)  # fmt: skip
        ax.axhline(reference[name], color=COLOURS["dr"], ls="--", label="DR's levels")
        ax.set(xlabel="meta-step", title=f"buffer (replay-weighted): {name.replace('_', ' ')}")
    axes[0, 2].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("study", type=Path)
    parser.add_argument("--figure", type=Path, default=None)
    parser.add_argument("--seconds-per-step", nargs="*", default=[], metavar="ARM=S",
                        help="seconds per meta-step of arms whose checkpoints predate "
                        "train_s_total")  # fmt: skip
    args = parser.parse_args()
    rows = evaluations(args.study)
    rates = dict(item.split("=") for item in args.seconds_per_step)
    seconds = {
        arm: seconds_at(args.study / arm, float(rates[arm]) if arm in rates else None)
        for arm in ARMS
        if (args.study / arm).is_dir()
    }
    print(table(rows, seconds))
    if args.figure is not None:
        figure(args.study, rows, seconds, args.figure)
        print(f"\nfigure: {args.figure}")


if __name__ == "__main__":
    main()
