"""Zero-shot transfer evaluation, shared by ``ued eval`` and the evaluation during training.

* Holdout suites: per level, the solve rate over ``attempts`` stochastic episodes, mean return,
  mean length, and oracle regret ``V*(level) - discounted return`` (mean over attempts).
* α-CVaR over random solvable levels (the SFL protocol): two independent passes; the α-fraction
  of levels with the lowest pass-A solve rate is scored with pass B (selecting and scoring on the
  same noisy estimate is optimistically biased; that biased value is reported too).

Results are tidy rows: ``run, seed, update, suite, level, statistic, alpha, value``.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from . import registry
from .config import SAMPLED_SUITES, suite_names
from .env import EnvSpec
from .errors import ConfigError
from .rollout import EpisodeStats, Player

DEFAULT_ALPHAS = (0.0001, 0.001, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
DEFAULT_SAMPLED_LEVELS = {"random": 1000, "cvar": 10_000}


# ---- α-CVaR ----------------------------------------------------------------------------------
def alpha_cvar(
    select_rates: np.ndarray, report_rates: np.ndarray, alphas: Sequence[float]
) -> np.ndarray:
    """Debiased α-CVaR of per-level solve rates.

    Args:
        select_rates: ``f[N]`` per-level solve rates of pass A (used only to rank levels).
        report_rates: ``f[N]`` per-level solve rates of an independent pass B.
        alphas: fractions in (0, 1] (0.01 = the worst 1%).
    Returns:
        ``f64[len(alphas)]``: for each α, the mean of ``report_rates`` over the ⌈α·N⌉ levels with
        the lowest ``select_rates`` (ties broken by level index). Pass the same array twice for
        the biased estimate; α = 1 is the plain mean.
    """
    select = np.asarray(select_rates, dtype=np.float64)
    report = np.asarray(report_rates, dtype=np.float64)
    if select.shape != report.shape or select.ndim != 1 or select.size == 0:
        raise ValueError("select_rates and report_rates must be equal-length non-empty 1-D arrays")
    order = np.argsort(select, kind="stable")
    out = []
    for alpha in alphas:
        if not 0.0 < alpha <= 1.0:
            raise ValueError(f"alpha must be in (0, 1], got {alpha}")
        k = max(1, math.ceil(alpha * select.size - 1e-9))
        out.append(report[order[:k]].mean())
    return np.array(out)


# ---- robust aggregates -----------------------------------------------------------------------
def iqm(values) -> float:
    """Interquartile mean: the mean of the middle 50% (rliable's aggregate)."""
    from scipy.stats import trim_mean

    return float(trim_mean(np.ravel(values), 0.25))


def iqm_with_ci(scores: np.ndarray, reps: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """IQM of a ``[seeds, levels]`` score matrix with a 95% stratified-bootstrap interval
    (resampling seeds independently per level, as rliable does). Returns ``(iqm, low, high)``."""
    return bootstrap_ci(scores, iqm, reps, seed)


def bootstrap_ci(scores, statistic=np.mean, reps: int = 2000, seed: int = 0):
    """``statistic`` of a ``[seeds, levels]`` score matrix with a 95% stratified-bootstrap
    interval (seeds resampled independently per level). Returns ``(point, low, high)``; the
    interval is NaN with fewer than two seeds."""
    scores = np.asarray(scores, dtype=np.float64)
    point = float(statistic(scores))
    if scores.shape[0] < 2:
        return point, float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    n_seeds, n_levels = scores.shape
    idx = rng.integers(0, n_seeds, size=(reps, n_seeds, n_levels))
    samples = np.take_along_axis(scores[None].repeat(reps, 0), idx, axis=1)
    if statistic is iqm:  # all resamples at once (a report computes hundreds of these)
        flat = np.sort(samples.reshape(reps, -1), axis=1)
        cut = int(0.25 * flat.shape[1])  # scipy's trim_mean(x, 0.25)
        stats = flat[:, cut : flat.shape[1] - cut].mean(axis=1)
    elif statistic is np.mean:
        stats = samples.reshape(reps, -1).mean(axis=1)
    else:
        stats = np.array([statistic(s) for s in samples])
    low, high = np.percentile(stats, [2.5, 97.5])
    return point, float(low), float(high)


# ---- suites ----------------------------------------------------------------------------------
@dataclasses.dataclass
class SuiteLevels:
    """Levels to evaluate on and the env instance to play them in.

    Attributes:
        suite: the suite's name (a file's stem for level files); names: one per level;
        levels: batched levels; env: the env to play them in; success: whether the env reports
        ``info["solved"]``; oracle: ``(env, level, gamma) -> V*`` or None.
    """

    suite: str
    names: list[str]
    levels: Any
    env: Any
    success: bool = True
    oracle: Any = None


def check_observations_match(suite: str, env, train_env) -> None:
    """Refuse a suite whose env observes differently from the training env (an agent trained on
    one cannot act on the other's observations; the maze's fixed-size view always matches)."""
    shapes = [
        jax.tree_util.tree_map(lambda x: (x.shape, x.dtype), e.dummy_observation())
        for e in (env, train_env)
    ]
    if shapes[0] != shapes[1]:
        raise ConfigError(
            f"suite: {suite!r} is played in an env whose observations ({shapes[0]}) differ from "
            f"the training env's ({shapes[1]}); train with the suite's env settings to "
            "evaluate on it"
        )


def resolve_suite(
    spec: EnvSpec | str, train_env, suite: str, *, num_levels: int | None = None, seed: int = 0
) -> SuiteLevels:
    """Turn a suite name or level-file path into levels of env family ``spec`` (an ``EnvSpec``
    or its registered name).

    ``random`` / ``cvar`` draw ``num_levels`` levels of the training distribution (defaults
    1,000 / 10,000; the env's ``random_levels`` decides, e.g. the maze keeps solvable ones);
    procedural suites draw ``num_levels`` (their default if None); fixed suites and level files
    are what they are.
    """
    if isinstance(spec, str):
        spec = registry.ENVS.get(spec)

    def made(name, names, levels, env):
        return SuiteLevels(name, names, levels, env, spec.success, spec.oracle)

    if suite in spec.suites:
        entry = spec.suites[suite]
        names, levels = entry.levels(num_levels, seed)
        env = entry.env(train_env)
        check_observations_match(suite, env, train_env)
        return made(suite, names, levels, env)
    if suite in SAMPLED_SUITES:
        if suite == "cvar" and not spec.success:
            raise ConfigError(
                f"suite: cvar ranks levels by solve rate, and env {spec.name!r} declares no "
                "success signal"
            )
        n = DEFAULT_SAMPLED_LEVELS[suite] if num_levels is None else num_levels
        if n <= 0:
            raise ConfigError(f"levels: must be positive, got {n}")
        levels = spec.draw_random_levels(train_env, n, seed)
        return made(suite, [f"random-{i:05d}" for i in range(n)], levels, train_env)
    if spec.load_level_file is not None and Path(suite).is_file():
        names, levels, env = spec.load_level_file(Path(suite), train_env)
        return made(Path(suite).stem, names, levels, env)
    raise ConfigError(
        f"suite: unknown suite {suite!r}: choose one of {sorted(suite_names(spec.name))}"
        + (" or the path of a level file" if spec.load_level_file is not None else "")
    )


# ---- playing -----------------------------------------------------------------------------------
@functools.lru_cache(maxsize=32)
def _episodes_fn(player: Player, gamma: float):
    return jax.jit(functools.partial(player.play_episodes, gamma=gamma))


def run_attempts(
    player: Player,
    params,
    levels,
    attempts: int,
    key: jax.Array,
    gamma: float,
    batch_size: int = 2048,
) -> EpisodeStats:
    """``attempts`` independent stochastic episodes on each of N levels.

    Episodes are played in batches of at most ``batch_size`` (the last batch padded, so one
    compile serves every batch), each stopping once all its episodes ended. Returns
    ``EpisodeStats`` with ``[N, attempts]`` NumPy arrays.
    """
    n = jax.tree_util.tree_leaves(levels)[0].shape[0]
    total = n * attempts
    index = np.repeat(np.arange(n), attempts)
    batch = min(batch_size, total)
    fn = _episodes_fn(player, float(gamma))
    chunks = []
    for i, start in enumerate(range(0, total, batch)):
        idx = index[start : start + batch]
        pad = batch - idx.size
        idx = np.concatenate([idx, np.zeros(pad, dtype=idx.dtype)])
        chunk_levels = jax.tree_util.tree_map(lambda x: jnp.asarray(x)[idx], levels)
        stats = fn(jax.random.fold_in(key, i), params, chunk_levels)
        chunks.append(jax.tree_util.tree_map(lambda x: np.asarray(x)[: batch - pad], stats))
    return jax.tree_util.tree_map(
        lambda *xs: np.concatenate(xs).reshape(n, attempts, *xs[0].shape[1:]), *chunks
    )


def oracle_values(oracle, env, levels, gamma: float) -> np.ndarray | None:
    """V*(level) for each level (``f32[N]``) from an env family's ``oracle``, or None if it has
    none."""
    if oracle is None:
        return None
    fn = jax.jit(jax.vmap(lambda level: oracle(env, level, gamma)))
    return np.asarray(fn(levels))


# ---- rows --------------------------------------------------------------------------------------
def _row(run, seed, update, suite, level, statistic, value, alpha=""):
    return {
        "run": run,
        "seed": seed,
        "update": update,
        "suite": suite,
        "level": level,
        "statistic": statistic,
        "alpha": alpha,
        "value": float(value),
    }


def evaluate_suite(
    learner,
    params,
    suite: SuiteLevels,
    *,
    attempts: int,
    gamma: float,
    key: jax.Array,
    run: str = "",
    seed: int = 0,
    update: int = 0,
    alphas: Sequence[float] = DEFAULT_ALPHAS,
) -> list[dict[str, Any]]:
    """Evaluate one learner's parameters on one suite; returns tidy rows.

    Per level: ``return``, ``length``, with a success signal ``solve_rate``, each of the env's
    ``outcome_names`` (e.g. ``achievement/collect_wood``: the fraction of attempts that unlocked
    it), and where an oracle exists ``optimal_return`` and ``oracle_regret``. For the ``cvar``
    suite, a second independent pass is played and aggregate rows ``cvar`` (debiased) and
    ``cvar_biased`` are added per α (level ``*``).
    """
    player = Player(suite.env, learner)
    k_a, k_b = jax.random.split(key)
    stats = run_attempts(player, params, suite.levels, attempts, k_a, gamma)
    v_star = oracle_values(suite.oracle, suite.env, suite.levels, gamma)
    rows = []
    for i, name in enumerate(suite.names):
        values = {"solve_rate": stats.solved[i].mean()} if suite.success else {}
        values["return"] = stats.returns[i].mean()
        values["length"] = stats.lengths[i].mean()
        for k, outcome in enumerate(suite.env.outcome_names):
            values[outcome] = stats.outcomes[i, :, k].mean()
        if v_star is not None:
            values["optimal_return"] = v_star[i]
            values["oracle_regret"] = v_star[i] - stats.discounted_returns[i].mean()
        rows += [_row(run, seed, update, suite.suite, name, k, v) for k, v in values.items()]
    if suite.suite == "cvar":
        select = stats.solved.mean(axis=1)
        report = run_attempts(player, params, suite.levels, attempts, k_b, gamma).solved.mean(1)
        for statistic, values in (
            ("cvar", alpha_cvar(select, report, alphas)),
            ("cvar_biased", alpha_cvar(select, select, alphas)),
        ):
            for alpha, value in zip(alphas, values):
                rows.append(_row(run, seed, update, suite.suite, "*", statistic, value, alpha))
    return rows


# ---- summaries ---------------------------------------------------------------------------------
def per_seed_matrix(rows: list[dict[str, Any]], run: str, suite: str, statistic: str) -> np.ndarray:
    """``f64[seeds, levels]``: per-level ``statistic`` of one run on one suite, a row per seed
    (sorted), aggregate rows (level ``*``) left out; empty when the statistic was not measured."""
    sel = [
        r for r in rows
        if (r["run"], r["suite"], r["statistic"]) == (run, suite, statistic) and r["level"] != "*"
    ]  # fmt: skip
    seeds = sorted({r["seed"] for r in sel}, key=lambda s: int(s))
    return np.array(
        [[float(r["value"]) for r in sel if r["seed"] == s] for s in seeds], dtype=np.float64
    )


def mean_se(per_seed) -> str:
    """``"mean ± s.e."`` over seeds of per-seed values (``f[S]``) or of the per-seed means of a
    ``[S, levels]`` matrix; ``"-"`` when empty, no s.e. with one seed."""
    values = np.asarray(per_seed, np.float64)
    if values.size == 0:
        return "-"
    means = values.mean(axis=1) if values.ndim == 2 else values
    se = means.std(ddof=1) / np.sqrt(len(means)) if len(means) > 1 else float("nan")
    return f"{means.mean():.3f}" + ("" if np.isnan(se) else f" ± {se:.3f}")


def iqm_cell(matrix: np.ndarray) -> str:
    """``"IQM [low, high]"`` of a ``[seeds, levels]`` matrix (95% stratified bootstrap)."""
    if matrix.size == 0:
        return "-"
    point, low, high = iqm_with_ci(matrix)
    return f"{point:.3f}" + ("" if np.isnan(low) else f" [{low:.3f}, {high:.3f}]")


def summary_table(rows: list[dict[str, Any]]) -> str:
    """A Markdown table: per run and suite, the mean solve rate (mean ± s.e. over seeds), the
    IQM with a 95% bootstrap interval (of the solve rate, or of the return for envs without a
    success signal), mean return and oracle regret; α-CVaR rows for ``cvar``; and a table of
    per-episode outcome rates (Craftax's achievements) where an env reports them."""
    lines = [
        "| run | suite | seeds | solve rate | IQM [95% CI] | return | oracle regret |",
        "|---|---|---|---|---|---|---|",
    ]
    keys = sorted({(r["run"], r["suite"]) for r in rows})

    def per_seed(run, suite, statistic):
        return per_seed_matrix(rows, run, suite, statistic)

    cvar_lines = []
    outcome_lines = []
    for run, suite in keys:
        solve, returns = per_seed(run, suite, "solve_rate"), per_seed(run, suite, "return")
        headline = solve if solve.size else returns
        if headline.size:
            lines.append(
                f"| {run} | {suite} | {headline.shape[0]} | {mean_se(solve)} | "
                f"{iqm_cell(headline)}{'' if solve.size else ' (return)'} | {mean_se(returns)} | "
                f"{mean_se(per_seed(run, suite, 'oracle_regret'))} |"
            )
        outcomes = sorted({r["statistic"] for r in rows if (r["run"], r["suite"]) == (run, suite)
                           and "/" in r["statistic"]})  # fmt: skip
        for outcome in outcomes:
            outcome_lines.append(
                f"| {run} | {suite} | {outcome} | {mean_se(per_seed(run, suite, outcome))} |"
            )
        cvar = [
            r for r in rows if (r["run"], r["suite"]) == (run, suite) and r["statistic"] == "cvar"
        ]
        for alpha in sorted({r["alpha"] for r in cvar}):
            vals = np.array([r["value"] for r in cvar if r["alpha"] == alpha])
            biased = np.mean(
                [
                    r["value"]
                    for r in rows
                    if (r["run"], r["suite"]) == (run, suite)
                    and r["statistic"] == "cvar_biased"
                    and r["alpha"] == alpha
                ]
            )
            cvar_lines.append(
                f"| {run} | {float(alpha) * 100:g}% | {mean_se(vals)} | {biased:.3f} |"
            )
    if cvar_lines:
        lines += ["", "| run | α | α-CVaR solve rate (debiased) | biased |", "|---|---|---|---|"]
        lines += cvar_lines
    if outcome_lines:
        lines += ["", "| run | suite | outcome | rate |", "|---|---|---|---|", *outcome_lines]
    return "\n".join(lines)


def evaluate_seed(run, index: int, suite: SuiteLevels, *, attempts: int, seed: int) -> list:
    """Tidy rows of seed ``index`` of a loaded run (``ued.app.build.LoadedRun``) on one suite. The
    episodes' key depends only on ``seed`` and ``index``, so a suite's result does not depend on
    which other suites are evaluated with it (``ued eval`` and ``ued report`` agree)."""
    return evaluate_suite(
        run.learner,
        run.seed_params[index],
        suite,
        attempts=attempts,
        gamma=run.config.ppo.gamma,
        key=jax.random.fold_in(jax.random.key(seed), index),
        run=run.name,
        seed=run.config.seed_list[index],
        update=run.step,
    )


def evaluate_loaded(
    loaded: Sequence[Any],
    suites: Sequence[str],
    *,
    attempts: int,
    num_levels: int | None,
    seed: int,
    out: Path,
) -> str:
    """``ued eval`` on runs already read back (``ued.app.build.LoadedRun``): evaluate every seed of
    every run on every suite.

    Writes the tidy CSV ``out``, a Markdown summary ``out.with_suffix('.md')`` and plots into
    ``<out stem>_plots/``; returns the summary table. Suites are resolved (names checked, files
    parsed) before anything is played. With no ``suites``, each run is evaluated on the suites
    its own config names (``eval_suites``).
    """
    from . import plots
    from .logging import CsvLog

    def suites_of(run) -> Sequence[str]:
        return suites or run.config.eval_suites

    resolved = {}
    for run in loaded:
        for suite in suites_of(run):
            key = (run.config.env, run.env, suite)
            if key not in resolved:
                resolved[key] = resolve_suite(
                    run.spec, run.env, suite, num_levels=num_levels, seed=seed
                )
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    log = CsvLog(out)
    rows: list[dict[str, Any]] = []
    for run in loaded:
        for i in range(len(run.config.seed_list)):
            for suite in suites_of(run):
                levels = resolved[(run.config.env, run.env, suite)]
                new = evaluate_seed(run, i, levels, attempts=attempts, seed=seed)
                log.write(new)
                rows += new
    table = summary_table(rows)
    out.with_suffix(".md").write_text(table + "\n")
    plot_dir = out.parent / f"{out.stem}_plots"
    plot_dir.mkdir(exist_ok=True)
    plots.eval_bars(rows, plot_dir / "levels.png")
    plots.cvar_curve(rows, plot_dir / "cvar.png")
    plots.parameter_heatmaps(rows, plot_dir / "grid.png")  # parameter-grid suites only
    plots.outcome_bars(rows, plot_dir / "outcomes.png")  # envs with outcomes (achievements)
    return table
