"""Matplotlib figures: training curves, evaluation results, and grids of rendered levels."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np

from .env import ordered_descriptors
from .logging import log_file, read_csv

CURVES = (
    ("student/first_return", "return of each env's first episode"),
    ("student/first_solve_rate", "first episode solved within the rollout"),
    ("student/entropy", "policy entropy"),
    ("student/value_loss", "value loss"),
    ("paired/regret", "regret estimate (antagonist max - protagonist mean)"),
    ("protagonist/mean_return", "protagonist mean return"),
    ("antagonist/max_return", "antagonist max return"),
    ("generator/reward", "generator's reward"),
    ("generated/reward", "generator's reward"),
    ("generator/entropy", "generator's policy entropy"),
)
"""The metrics ``training_curves`` draws, where a run logged them (solve rates need an env with
a success signal), before the level descriptors of generated levels (``generated/<name>``)."""

GENERATED = "generated/"
"""Prefix of the metrics of generated levels: the env's level descriptors and ``reward``."""


def descriptor_metrics(columns, prefix: str, fractions: Collection[str] = ()) -> list[str]:
    """The level descriptors logged under ``prefix`` among metric names ``columns`` (e.g.
    ``generated/walls``), in ``ued.env.ordered_descriptors`` order, as full metric names;
    ``generated/reward`` is not a descriptor."""
    names = {c[len(prefix) :] for c in columns if c.startswith(prefix)} - {"reward"}
    return [prefix + name for name in ordered_descriptors(names, fractions)]


def descriptor_label(metric: str, fractions: Collection[str] = ()) -> str:
    """A plot title for a descriptor metric, e.g. ``generated/shortest_path`` -> ``shortest
    path of generated levels``; fractions: ``solvable fraction of ...``."""
    prefix, name = metric.split("/", 1)
    whose = {"generated": "generated levels", "trained": "rolled-out levels"}.get(prefix, prefix)
    kind = " fraction" if name in fractions else ""
    return f"{name.replace('_', ' ')}{kind} of {whose}"


def level_grid(
    images: Sequence[np.ndarray],
    titles: Sequence[str] | None = None,
    ncols: int = 8,
    scale: float = 1.6,
    suptitle: str | None = None,
):
    """Lay out rendered levels (``uint8[h, w, 3]`` each) in a grid; returns the figure."""
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = max(1, -(-n // ncols))
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(scale * ncols, scale * nrows + 0.3), squeeze=False
    )
    for ax in axes.ravel():
        ax.axis("off")
    for i, image in enumerate(images):
        ax = axes.ravel()[i]
        ax.imshow(np.asarray(image), interpolation="nearest")
        if titles is not None:
            ax.set_title(titles[i], fontsize=7)
    if suptitle:
        fig.suptitle(suptitle, fontsize=9)
    fig.tight_layout()
    return fig


def _series(rows: list[dict[str, str]], name: str):
    by_seed: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for r in rows:
        if name in r and r[name] != "" and not np.isnan(float(r[name])):
            by_seed[r["seed"]].append((float(r["env_steps"]), float(r[name])))
    return by_seed


def _smooth(y: np.ndarray, window: int) -> np.ndarray:
    if window <= 1 or y.size < window:
        return y
    kernel = np.ones(window) / window
    return np.convolve(np.pad(y, (window - 1, 0), mode="edge"), kernel, mode="valid")


def training_curves(
    metrics_csv: Path, path: Path, smooth: int = 20, curves=None, fractions: Collection[str] = ()
) -> None:
    """Plot the per-update metrics of a run (one line per seed, smoothed) to ``path``: ``curves``
    (``(metric, title)`` pairs; default: ``CURVES`` and the generated levels' descriptors, with
    the env's ``fractions`` named so); metrics the run did not log are left out."""
    rows = read_csv(metrics_csv)
    if curves is None:
        generated = descriptor_metrics(rows[0] if rows else (), GENERATED, fractions)
        curves = [*CURVES, *((m, descriptor_label(m, fractions)) for m in generated)]
    curves = [(name, label) for name, label in curves if rows and name in rows[0]]
    ncols = min(4, len(curves))
    nrows = -(-len(curves) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4 * ncols, 3.2 * nrows), squeeze=False)
    for ax in axes.ravel()[len(curves) :]:
        ax.axis("off")
    for ax, (name, label) in zip(axes.ravel(), curves):
        for seed, points in sorted(_series(rows, name).items()):
            x, y = np.array(points).T
            ax.plot(x, _smooth(y, smooth), lw=1.2, label=f"seed {seed}")
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("env steps")
        ax.grid(alpha=0.3)
    axes.ravel()[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def eval_curves(eval_csv: Path, path: Path, statistic: str = "solve_rate") -> None:
    """Plot each evaluated suite's mean ``statistic`` against the training update."""
    rows = [r for r in read_csv(eval_csv) if r["statistic"] == statistic and r["level"] != "*"]
    if not rows:
        return
    table: dict[tuple[str, str], dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        table[(r["suite"], r["seed"])][int(r["update"])].append(float(r["value"]))
    fig, ax = plt.subplots(figsize=(5, 3.2))
    for (suite, seed), points in sorted(table.items()):
        updates = sorted(points)
        ax.plot(
            updates,
            [np.mean(points[u]) for u in updates],
            marker="o",
            ms=3,
            label=f"{suite} (seed {seed})",
        )
    ax.set_xlabel("update")
    ax.set_ylabel(f"mean {statistic}")
    if statistic == "solve_rate":
        ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def training_plots(out: Path, config, spec, levels: Any) -> None:
    """The standard plots of a finished run: curves, evaluation, and the last training levels."""
    import jax

    plots_dir = out / "plots"
    plots_dir.mkdir(exist_ok=True)
    training_curves(out / "metrics.csv", plots_dir / "curves.png")
    if (out / "eval.csv").exists():
        statistic = "solve_rate" if spec.success else "return"
        eval_curves(out / "eval.csv", plots_dir / "eval.png", statistic)
        outcome_bars(read_csv(out / "eval.csv"), plots_dir / "outcomes.png")
    if levels is not None and spec.render_level is not None:
        if len(config.seed_list) > 1:
            levels = jax.tree_util.tree_map(lambda x: x[0], levels)
        images = np.asarray(jax.vmap(spec.render_level)(levels))[:32]
        fig = level_grid(images, suptitle="levels of the last update (seed 0)")
        fig.savefig(plots_dir / "levels.png", dpi=110)
        plt.close(fig)


def eval_bars(rows: list[dict[str, Any]], path: Path, statistic: str | None = None) -> None:
    """Grouped bars of per-level ``statistic`` (mean over seeds; default the solve rate, or the
    return where no solve rate was measured) for each run, one panel per suite with at most 40
    levels (larger suites show a histogram instead)."""
    if statistic is None:
        solved = any(r["statistic"] == "solve_rate" for r in rows)
        statistic = "solve_rate" if solved else "return"
    suites = sorted({r["suite"] for r in rows if r["statistic"] == statistic})
    if not suites:
        return
    fig, axes = plt.subplots(len(suites), 1, figsize=(10, 3 * len(suites)), squeeze=False)
    for ax, suite in zip(axes[:, 0], suites):
        sel = [r for r in rows if r["suite"] == suite and r["statistic"] == statistic]
        runs = sorted({r["run"] for r in sel})
        levels = list(dict.fromkeys(r["level"] for r in sel))
        if len(levels) > 40:
            for run in runs:
                per_level = defaultdict(list)
                for r in sel:
                    if r["run"] == run:
                        per_level[r["level"]].append(r["value"])
                ax.hist(
                    [np.mean(v) for v in per_level.values()],
                    bins=20,
                    range=(0, 1) if statistic == "solve_rate" else None,
                    alpha=0.6,
                    label=run,
                )
            ax.set_xlabel(statistic)
        else:
            width = 0.8 / max(1, len(runs))
            for k, run in enumerate(runs):
                means = [
                    np.mean(
                        [r["value"] for r in sel if r["run"] == run and r["level"] == lv]
                        or [np.nan]
                    )
                    for lv in levels
                ]
                ax.bar(np.arange(len(levels)) + k * width, means, width, label=run)
            ax.set_xticks(np.arange(len(levels)) + 0.4 - width / 2)
            ax.set_xticklabels(levels, rotation=45, ha="right", fontsize=7)
            ax.set_ylabel(statistic)
        ax.set_title(suite, fontsize=9)
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def cvar_curve(rows: list[dict[str, Any]], path: Path, min_levels: int = 5) -> None:
    """α-CVaR (debiased, mean ± s.e. over seeds) against α on a log axis, one line per run; α's
    whose tail holds fewer than ``min_levels`` levels (one noisy level at α = 0.01% of 1,000)
    are left out where the rows say how many levels were evaluated."""
    sel = [r for r in rows if r["statistic"] == "cvar"]
    if not sel:
        return
    levels = {r["level"] for r in rows if r["suite"] == "cvar" and r["level"] != "*"}
    if levels:
        sel = [r for r in sel if float(r["alpha"]) * len(levels) >= min_levels - 1e-9]
    fig, ax = plt.subplots(figsize=(5, 3.4))
    for run in sorted({r["run"] for r in sel}):
        alphas = sorted({float(r["alpha"]) for r in sel if r["run"] == run})
        vals = [
            np.array([r["value"] for r in sel if r["run"] == run and float(r["alpha"]) == a])
            for a in alphas
        ]
        mean = np.array([v.mean() for v in vals])
        se = np.array([v.std(ddof=1) / np.sqrt(len(v)) if len(v) > 1 else 0.0 for v in vals])
        x = np.array(alphas) * 100
        ax.plot(x, mean, marker="o", ms=3, label=run)
        ax.fill_between(x, mean - se, mean + se, alpha=0.2)
    ax.set_xscale("log")
    ax.set_xlabel("α (% of levels, worst first)")
    ax.set_ylabel("solve rate")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _mean_over_seeds(points: dict[str, dict[int, float]]):
    """``{seed: {x: y}}`` -> ``(x, mean, standard error)`` over the x's every seed has."""
    xs = sorted(set.intersection(*(set(p) for p in points.values())))
    values = np.array([[points[s][x] for x in xs] for s in points])
    se = values.std(axis=0, ddof=1) / np.sqrt(len(values)) if len(values) > 1 else 0 * values[0]
    return np.array(xs), values.mean(axis=0), se


def curriculum_statistics(runs: Iterable[Path]) -> set[str]:
    """Every statistic named in the runs' ``curriculum.csv`` (e.g. ``trained/walls``)."""
    names: set[str] = set()
    for run in runs:
        if log_file(run, "curriculum.csv").exists():
            names |= {r["statistic"] for r in read_csv(log_file(run, "curriculum.csv"))}
    return names


def _descriptor_panels(
    runs: dict[str, Path], fractions: Collection[str]
) -> list[tuple[str, str, str]]:
    """Panels for the level descriptors the runs logged (``trained/<name>`` and
    ``buffer/weighted_<name>`` in ``curriculum.csv``), the env's fractions left out."""
    names = curriculum_statistics(runs.values())
    descriptors = [
        m.split("/", 1)[1]
        for m in descriptor_metrics(names, "trained/")
        if m.split("/", 1)[1] not in fractions
    ]
    panels = [("curriculum", f"trained/{d}", f"rolled-out levels: {d}") for d in descriptors]
    panels += [
        ("curriculum", f"buffer/weighted_{d}", f"buffer (replay-weighted): {d}")
        for d in descriptors
        if f"buffer/weighted_{d}" in names
    ]
    return panels


def _top_outcomes(runs: dict[str, Path], suite: str, count: int) -> list[str]:
    """The ``count`` per-episode outcomes (``group/name`` statistics of ``eval.csv``, e.g.
    Craftax's achievements) with the highest mean rate on ``suite`` over every run, those never
    reached left out."""
    totals: dict[str, list[float]] = defaultdict(list)
    for run in runs.values():
        if log_file(run, "eval.csv").exists():
            for r in read_csv(log_file(run, "eval.csv")):
                if r["suite"] == suite and "/" in r["statistic"]:
                    totals[r["statistic"]].append(float(r["value"]))
    ranked = sorted(totals, key=lambda name: -np.mean(totals[name]))
    return [name for name in ranked if np.mean(totals[name]) > 0][:count]


def compare_runs(
    runs: dict[str, Path],
    path: Path,
    smooth: int = 5,
    max_outcomes: int = 6,
    seconds_per_update: dict[str, float] | None = None,
    fractions: Collection[str] = (),
) -> None:
    """Compare several runs (name -> run directory) on one figure: evaluation solve rates (or
    returns) during training for each suite, the rates of the ``max_outcomes`` most reached
    per-episode outcomes (Craftax's achievements), what each curriculum rolled out (the env's level
    descriptors, e.g. shortest path and walls, of the levels of each chunk's last update) and what
    its buffer would replay (replay-weighted, from ``curriculum.csv``; runs without a buffer have
    no line there). Means over seeds with standard-error bands, against env steps; or, given
    ``seconds_per_update`` (name -> training seconds per update), against training seconds (runs
    without one are left out). ``fractions``: the env's 0/1 descriptors (``ued.env.Descriptors``),
    left out of the descriptor panels."""
    if seconds_per_update is not None:
        runs = {name: run for name, run in runs.items() if name in seconds_per_update}
        if not runs:
            return
    first = next(iter(runs.values()))
    evaluated = (
        read_csv(log_file(first, "eval.csv")) if log_file(first, "eval.csv").exists() else []
    )
    statistic = "solve_rate" if any(r["statistic"] == "solve_rate" for r in evaluated) else "return"
    suites = sorted({r["suite"] for r in evaluated if r["statistic"] == statistic})
    panels = [
        ("eval", (s, statistic), f"{s}: {statistic.replace('_', ' ')} during training")
        for s in suites
    ]
    panels += [
        ("eval", (s, outcome), f"{s}: {outcome.split('/', 1)[1].replace('_', ' ')} rate")
        for s in suites
        for outcome in _top_outcomes(runs, s, max_outcomes)
    ]
    panels += _descriptor_panels(runs, fractions)
    ncols = min(3, len(panels))
    nrows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.6 * ncols, 3.2 * nrows), squeeze=False)
    for ax in axes.flat[len(panels) :]:
        ax.set_visible(False)
    for index, (name, run) in enumerate(runs.items()):
        color = f"C{index % 10}"  # fixed per run: not every run has a line in every panel
        steps_per_update = int(read_csv(log_file(run, "metrics.csv"))[0]["env_steps"])
        xlabel = "env steps"
        if seconds_per_update is not None:
            steps_per_update, xlabel = seconds_per_update[name], "training seconds"
        for ax, (kind, key, title) in zip(axes.flat, panels):
            points: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
            if kind == "eval":
                for r in read_csv(log_file(run, "eval.csv")):
                    if (r["suite"], r["statistic"]) == key:
                        points[r["seed"]][int(r["update"])].append(float(r["value"]))
            else:
                for r in read_csv(log_file(run, "curriculum.csv")):
                    if r["statistic"] == key:
                        points[r["seed"]][int(r["update"])].append(float(r["value"]))
            if not points:
                continue
            means = {s: {u: float(np.mean(v)) for u, v in p.items()} for s, p in points.items()}
            x, mean, se = _mean_over_seeds(means)
            if kind == "curriculum" and key.startswith("trained/"):  # every chunk: noisy
                mean, se = _smooth(mean, smooth), _smooth(se, smooth)
            ax.plot(x * steps_per_update, mean, lw=1.3, label=name, color=color)
            ax.fill_between(x * steps_per_update, mean - se, mean + se, alpha=0.2, color=color)
            ax.set_title(title, fontsize=9)
            ax.set_xlabel(xlabel)
            ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


GENERATOR_PANELS = (
    ("paired/regret", "regret the generator receives (clipped)"),
    ("generated/reward", "generator's reward (REPAIRED: new-level updates)"),
    ("generator/entropy", "generator's policy entropy"),
)
"""What ``generator_curves`` draws (metrics of ``metrics.csv``) before the generated levels'
descriptors."""


def generator_metrics(runs: Iterable[Path], fractions: Collection[str] = ()) -> list[str]:
    """The metrics that describe generator agents in the runs' ``metrics.csv``: those of
    ``GENERATOR_PANELS``, then the generated levels' descriptors (``generated/<name>``)."""
    columns: set[str] = set()
    for run in runs:
        rows = read_csv(log_file(run, "metrics.csv"))
        columns |= set(rows[0]) if rows else set()
    return [key for key, _ in GENERATOR_PANELS] + descriptor_metrics(columns, GENERATED, fractions)


def metric_value(row: dict[str, str], name: str) -> float:
    """A metric of one ``metrics.csv`` row, NaN where absent or undefined. A generator's learner
    metrics (``generator/...``) count only on updates that generated levels (branch new): on
    REPAIRED's and ``plr-generator``'s replay updates the generator does not learn and logs 0."""
    if name.startswith("generator/") and row.get("curriculum/branch", "0") != "0":
        return float("nan")
    return float(row.get(name) or "nan")


def _binned_metric(run: Path, name: str, width: int):
    """``{seed: {bin start update: nan-mean of the metric over the bin}}`` from ``metrics.csv``."""
    sums: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in read_csv(log_file(run, "metrics.csv")):
        value = metric_value(r, name)
        if not np.isnan(value):
            sums[r["seed"]][int(r["update"]) // width * width].append(value)
    return {s: {u: float(np.mean(v)) for u, v in p.items()} for s, p in sums.items()}


def generator_curves(
    runs: dict[str, Path], path: Path, width: int = 50, fractions: Collection[str] = ()
) -> None:
    """Compare what generator agents build and whether they learn (PAIRED, flexible PAIRED,
    minimax adversary, REPAIRED): regret, the generator's reward and policy entropy, and the
    generated levels' descriptors (the maze: shortest path, walls, solvable fraction) against
    protagonist env steps,
    averaged over bins of ``width`` updates, mean over seeds with s.e. bands. A run that
    generates nothing (DR, PLR) is drawn dashed from the levels it trained on (``trained/...``
    of ``curriculum.csv``), for reference. The descriptor panels are the env's (``fractions``:
    its 0/1 ones)."""
    titles = dict(GENERATOR_PANELS)
    panels = [
        (key, titles.get(key) or descriptor_label(key, fractions))
        for key in generator_metrics(runs.values(), fractions)
    ]
    columns = (len(panels) + 1) // 2
    fig, axes = plt.subplots(2, columns, figsize=(4.4 * columns, 6.4))
    axes = axes.ravel()
    for index, (name, run) in enumerate(runs.items()):
        color = f"C{index % 10}"
        steps_per_update = int(read_csv(log_file(run, "metrics.csv"))[0]["env_steps"])
        for ax, (key, title) in zip(axes, panels):
            points, style = _binned_metric(run, key, width), "-"
            if not points and key.startswith(GENERATED):
                trained = "trained/" + key.split("/", 1)[1]
                points = defaultdict(dict)
                for r in read_csv(log_file(run, "curriculum.csv")):
                    if r["statistic"] == trained and not np.isnan(float(r["value"])):
                        points[r["seed"]][int(r["update"]) // width * width] = float(r["value"])
                style = "--"
            if not points:
                continue
            x, mean, se = _mean_over_seeds(points)
            ax.plot(x * steps_per_update, mean, style, lw=1.3, label=name, color=color)
            ax.fill_between(x * steps_per_update, mean - se, mean + se, alpha=0.2, color=color)
            ax.set_title(title, fontsize=9)
            ax.set_xlabel("protagonist env steps")
            ax.grid(alpha=0.3)
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


LEARNED_RULES = ("lpg", "lpo")
"""Curve rows of these rules are the meta-learned ones (the others are fixed baselines)."""


def lifetime_curves(rows: list[dict[str, Any]], path: Path) -> None:
    """Learning curves of fresh inner agents in meta-evaluation: per suite, each inner update's
    mean reward per step (LPG's agents) or mean episode return (LPO's), mean over levels, then
    over seeds, with the seeds' s.e. shaded, for the learned rule of every run and meta-step
    (darker: later) and for each baseline (A2C; PPO and DPO) at the last step (dashed, dotted).

    ``rows`` are ``evaluate_with_curves`` curve rows (``run``, ``seed``, ``update``, ``suite``,
    ``level``, ``rule``, ``inner_update``, and ``reward`` or ``return``)."""
    if not rows:
        return
    value = "reward" if "reward" in rows[0] else "return"
    baselines = sorted({r["rule"] for r in rows} - set(LEARNED_RULES))
    styles = dict(zip(baselines, ("--", ":", "-.")))
    suites = sorted({r["suite"] for r in rows})
    runs = sorted({r["run"] for r in rows})
    steps = sorted({int(r["update"]) for r in rows})
    fig, axes = plt.subplots(1, len(suites), figsize=(5 * len(suites), 3.6), squeeze=False)
    colours = plt.get_cmap("tab10")
    for ax, suite in zip(axes[0], suites):
        for i, run in enumerate(runs):
            mine = [r for r in rows if r["suite"] == suite and r["run"] == run]
            lines = [(rule, s) for rule in LEARNED_RULES for s in steps]
            lines += [(rule, steps[-1]) for rule in baselines]
            for rule, step in lines:
                chosen = [r for r in mine if r["rule"] == rule and int(r["update"]) == step]
                if not chosen:
                    continue
                x, mean, se = _curve_over_seeds(chosen, value)
                shade = 0.35 + 0.65 * (steps.index(step) + 1) / len(steps)
                learned = rule in LEARNED_RULES
                style = {"color": colours(i), "alpha": shade} if learned else {
                    "color": colours(i), "linestyle": styles[rule]}  # fmt: skip
                label = f"{run} step {step}" if learned else f"{run} {rule.upper()}"
                ax.plot(x, mean, label=label, lw=1.2, **style)
                ax.fill_between(x, mean - se, mean + se, color=colours(i), alpha=0.1)
        ax.set_title(suite, fontsize=9)
        ax.set_xlabel("inner update")
        ax.set_ylabel("reward per step" if value == "reward" else "episode return")
    axes[0][-1].legend(fontsize=6, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _curve_over_seeds(rows: list[dict[str, Any]], value: str = "reward"):
    """``(inner updates, mean over seeds of the mean over levels, s.e. over seeds)`` of the
    rows' ``value``."""
    by_seed: dict[Any, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        by_seed[r["seed"]][int(r["inner_update"])].append(float(r[value]))
    x = sorted({k for curve in by_seed.values() for k in curve})
    table = np.array([[np.mean(c[k]) if k in c else np.nan for k in x] for c in by_seed.values()])
    mean = np.nanmean(table, axis=0)
    count = np.sum(~np.isnan(table), axis=0)
    spread = np.nanstd(table, axis=0, ddof=1) if len(table) > 1 else np.zeros(len(x))
    se = np.where(count > 1, np.nan_to_num(spread) / np.sqrt(np.maximum(count, 1)), 0.0)
    return np.array(x), mean, se


def meta_eval_progress(
    rows: list[dict[str, Any]],
    path: Path,
    statistics: Sequence[str] = ("normalised", "gain_normalised", "oracle_gain"),
) -> None:
    """How meta-evaluation changes over meta-training: per suite (rows) and statistic
    (columns), the mean over levels (NaN-aware) at each evaluated meta-step, mean ± s.e. over
    seeds, one line per run. ``rows`` are ``ued meta-eval``'s tidy rows."""
    suites = sorted({r["suite"] for r in rows})
    present = [s for s in statistics if any(r["statistic"] == s for r in rows)]
    if not suites or not present:
        return
    runs = sorted({r["run"] for r in rows})
    fig, axes = plt.subplots(
        len(suites), len(present), figsize=(4.2 * len(present), 3.2 * len(suites)), squeeze=False
    )
    for (i, suite), (j, statistic) in itertools.product(enumerate(suites), enumerate(present)):
        ax = axes[i][j]
        for run in runs:
            per = defaultdict(lambda: defaultdict(list))  # step -> seed -> values
            for r in rows:
                if (r["run"], r["suite"], r["statistic"]) == (run, suite, statistic):
                    per[int(r["update"])][r["seed"]].append(float(r["value"]))
            steps = sorted(per)
            means, errors = [], []
            for step in steps:
                seeds = np.array([np.nanmean(v) if np.isfinite(v).any() else np.nan
                                  for v in per[step].values()])  # fmt: skip
                seeds = seeds[np.isfinite(seeds)]
                means.append(seeds.mean() if seeds.size else np.nan)
                errors.append(seeds.std(ddof=1) / np.sqrt(seeds.size) if seeds.size > 1 else 0.0)
            ax.errorbar(steps, means, yerr=errors, marker="o", ms=3, capsize=2, label=run)
        ax.axhline(1.0, color="grey", lw=0.6, ls="--")
        ax.set_title(f"{suite}: {statistic}", fontsize=9)
        ax.set_xlabel("meta-step")
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _grid_point(name: str) -> tuple[str, float, str, float] | None:
    """``("x", 1.0, "y", 2.0)`` for a level named ``x=1.0,y=2.0`` (a parameter-grid suite's
    naming), else None."""
    parts = name.split(",")
    if len(parts) != 2 or not all(p.count("=") == 1 for p in parts):
        return None
    (x_name, x), (y_name, y) = (p.split("=") for p in parts)
    try:
        return x_name, float(x), y_name, float(y)
    except ValueError:
        return None


def parameter_heatmaps(rows: list[dict[str, Any]], path: Path, statistic: str = "return") -> bool:
    """Heat maps of ``statistic`` (mean over seeds and attempts) over each parameter-grid suite
    (levels named ``x=..,y=..``, e.g. the classic-control ``grid`` suite), one panel per run and
    suite, log-scaled axes. Returns whether any grid suite was found (no file otherwise)."""
    cells: dict[tuple[str, str], dict[tuple[float, float], list[float]]] = defaultdict(
        lambda: defaultdict(list)
    )
    axes_names: dict[str, tuple[str, str]] = {}
    for r in rows:
        point = _grid_point(r["level"]) if r["statistic"] == statistic else None
        if point is None:
            continue
        x_name, x, y_name, y = point
        axes_names[r["suite"]] = (x_name, y_name)
        cells[(r["suite"], r["run"])][(x, y)].append(float(r["value"]))
    if not cells:
        return False
    panels = sorted(cells)
    # One colour scale per suite, shared by its runs' panels, so colours compare across runs.
    limits: dict[str, list[float]] = defaultdict(list)
    for (suite, _), points in cells.items():
        limits[suite] += [float(np.mean(v)) for v in points.values()]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.4 * len(panels), 3.8), squeeze=False)
    for ax, (suite, run) in zip(axes[0], panels):
        points = cells[(suite, run)]
        xs, ys = sorted({p[0] for p in points}), sorted({p[1] for p in points})
        grid = np.full((len(ys), len(xs)), np.nan)
        for (x, y), values in points.items():
            grid[ys.index(y), xs.index(x)] = np.mean(values)
        mesh = ax.pcolormesh(_edges(xs), _edges(ys), grid, shading="flat", cmap="viridis",
                             vmin=min(limits[suite]), vmax=max(limits[suite]))  # fmt: skip
        ax.set_xscale("log")
        ax.set_yscale("log")
        for axis in (ax.xaxis, ax.yaxis):  # log axes label minor ticks too: they overlap
            axis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        x_name, y_name = axes_names[suite]
        ax.set_xlabel(x_name)
        ax.set_ylabel(y_name)
        ax.set_title(f"{run}: {suite} {statistic}", fontsize=9)
        fig.colorbar(mesh, ax=ax)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def outcome_bars(rows: list[dict[str, Any]], path: Path, update: int | None = None) -> bool:
    """Bars of each per-episode outcome (rows whose statistic has a ``group/name`` form, e.g.
    Craftax's ``achievement/collect_wood``): the rate over a suite's levels and attempts, mean ±
    s.e. over seeds, one colour per run and one panel per suite and group. ``update`` picks one
    evaluation (default: each run's last). Returns whether any outcome was found (no file
    otherwise)."""
    sel = [r for r in rows if "/" in r["statistic"] and r["level"] != "*"]
    if not sel:
        return False
    last = defaultdict(int)
    for r in sel:
        last[r["run"]] = max(last[r["run"]], int(r["update"]))
    # (suite, run, statistic) -> seed -> per-level rates
    rates: dict[tuple[str, str, str], dict[str, list[float]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for r in sel:
        if int(r["update"]) == (last[r["run"]] if update is None else update):
            rates[(r["suite"], r["run"], r["statistic"])][r["seed"]].append(float(r["value"]))
    panels = sorted({(suite, name.split("/")[0]) for suite, _, name in rates})
    runs = sorted({run for _, run, _ in rates})
    fig, axes = plt.subplots(len(panels), 1, figsize=(10, 3.4 * len(panels)), squeeze=False)
    for ax, (suite, group) in zip(axes[:, 0], panels):
        names = sorted({n for s, _, n in rates if s == suite and n.startswith(group + "/")})
        width = 0.8 / len(runs)
        for k, run in enumerate(runs):
            seeds = [[np.mean(v) for v in rates[(suite, run, n)].values()] for n in names]
            means = [np.mean(m) if m else np.nan for m in seeds]
            errors = [np.std(m, ddof=1) / np.sqrt(len(m)) if len(m) > 1 else 0.0 for m in seeds]
            ax.bar(np.arange(len(names)) + k * width, means, width, yerr=errors, label=run,
                   capsize=2)  # fmt: skip
        ax.set_xticks(np.arange(len(names)) + 0.4 - width / 2)
        labels = [n.split("/", 1)[1].replace("_", " ") for n in names]
        ax.set_xticklabels(labels, rotation=50, ha="right", fontsize=7)
        ax.set_ylabel(f"{group} rate")
        ax.set_title(suite, fontsize=9)
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3, axis="y")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _edges(centres: list[float]) -> np.ndarray:
    """Cell edges around log-spaced centres (geometric midpoints; one cell: a factor 2)."""
    c = np.asarray(centres, np.float64)
    if c.size == 1:
        return np.array([c[0] / np.sqrt(2), c[0] * np.sqrt(2)])
    mid = np.sqrt(c[1:] * c[:-1])
    return np.concatenate([[c[0] ** 2 / mid[0]], mid, [c[-1] ** 2 / mid[-1]]])


def snapshot_distributions(
    snaps: dict[str, Any], path: Path, bins: int = 20, fractions: Collection[str] = ()
) -> None:
    """What each run's buffer holds (``ued.snapshots.Snapshots`` by run name), one row per run:
    histograms of each level descriptor (e.g. the maze's shortest path and walls, over the
    levels where it is defined) weighted by replay probability at the first and the last
    checkpoint (seeds pooled), the curriculum score against the first descriptor at the last
    checkpoint (titled with the buffer's share of each of the env's ``fractions``, e.g.
    solvable), and the replay probability against rank (mean over seeds, log-log)."""
    every = {d for s in snaps.values() for d in s.descriptors}
    names = [d for d in ordered_descriptors(every) if d not in fractions]
    ncols = len(names) + 2
    fig, axes = plt.subplots(
        len(snaps), ncols, figsize=(3.6 * ncols, 2.8 * len(snaps)), squeeze=False
    )
    for row, (run, snap) in zip(axes, snaps.items()):
        k_last = len(snap.steps) - 1
        for ax, name in zip(row, names):
            values = snap.descriptors.get(name)
            if values is None:
                ax.set_visible(False)
                continue
            finite = values[np.isfinite(values)]
            edges = np.histogram_bin_edges(finite, bins=bins) if finite.size else bins
            for k, style in ((0, "--"), (k_last, "-")):
                keep = snap.filled[k] & np.isfinite(values[k])
                weights = snap.weights[k] * keep
                ax.hist(
                    values[k][keep], bins=edges, weights=weights[keep] / max(weights.sum(), 1e-12),
                    histtype="step", ls=style, lw=1.3, label=f"update {snap.steps[k]}",
                )  # fmt: skip
            ax.set_xlabel(name.replace("_", " "))
            ax.set_title(f"{run}: {name.replace('_', ' ')}", fontsize=9)
            ax.legend(fontsize=7)
        ax = row[len(names)]
        if names:
            x = snap.descriptors[names[0]][k_last]
            keep = snap.filled[k_last] & np.isfinite(x)
            ax.scatter(x[keep], snap.scores[k_last][keep], s=3, alpha=0.3)
            ax.set_xlabel(names[0].replace("_", " "))
        ax.set_ylabel("score")
        title = f"{run}: score, update {snap.steps[k_last]}"
        for name in ordered_descriptors(set(snap.descriptors) & set(fractions)):
            values = snap.descriptors[name][k_last]
            share = np.nanmean(np.where(snap.filled[k_last], values, np.nan))
            title += f" ({share:.0%} {name.replace('_', ' ')})"
        ax.set_title(title, fontsize=9)
        ax = row[len(names) + 1]
        for k, style in ((0, "--"), (k_last, "-")):
            mass = np.sort(np.where(snap.filled[k], snap.weights[k], 0.0), axis=-1)[:, ::-1]
            count = int(snap.filled[k].sum(axis=-1).min())
            ax.plot(np.arange(1, count + 1), mass.mean(axis=0)[:count], style,
                    label=f"update {snap.steps[k]}")  # fmt: skip
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("rank")
        ax.set_ylabel("replay probability")
        ax.set_title(f"{run}: replay distribution", fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def drift_surface(drift, path: Path, progress: Sequence[float] = (0.0,), title: str = "") -> None:
    """The drift over the ratio ρ (x, 0.2 to 2.5) and the advantage A (y, −2 to 2)
    as the LPO paper draws it, one panel per training fraction in ``progress`` (TA-LPO's drift
    changes with it). ``drift(log_ratio f32[N], advantages f32[N], progress f32[]) -> f32[N]``
    (e.g. ``ued.drift.DriftObjective.drift`` with the learner's hyperparameters bound)."""
    drift_grid([[(f"{title} n/N = {f:g}".strip(), drift, f) for f in progress]], path)


def drift_grid(rows: Sequence[Sequence[tuple[str, Any, float]]], path: Path) -> None:
    """Drifts over (ρ, A) in a grid of panels, each ``(title, drift, training fraction)`` with
    ``drift`` as in ``drift_surface``; a shorter row leaves its last panels empty. A title
    containing "−" (a difference of drifts) is drawn on a diverging scale centred on 0."""
    ratio = np.linspace(0.2, 2.5, 116)
    advantage = np.linspace(-2.0, 2.0, 101)
    r, a = np.meshgrid(ratio, advantage)
    columns = max(len(row) for row in rows)
    fig, axes = plt.subplots(
        len(rows), columns, figsize=(4.2 * columns, 3.4 * len(rows)), squeeze=False
    )
    for panels, row in zip(axes, rows):
        for ax in panels[len(row) :]:
            ax.axis("off")
        for ax, (title, drift, fraction) in zip(panels, row):
            values = np.asarray(drift(np.log(r).ravel(), a.ravel(), fraction)).reshape(r.shape)
            if "−" in title:
                bound = max(float(np.abs(values).max()), 1e-12)
                mesh = ax.pcolormesh(r, a, values, shading="auto", cmap="RdBu_r",
                                     vmin=-bound, vmax=bound)  # fmt: skip
            else:
                mesh = ax.pcolormesh(r, a, values, shading="auto", cmap="viridis")
            ax.axvline(1.0, color="white", lw=0.6, ls="--")
            ax.set_xlabel("probability ratio ρ")
            ax.set_ylabel("advantage A")
            ax.set_title(title, fontsize=9)
            fig.colorbar(mesh, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
