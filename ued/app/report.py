"""``ued report``: compare trained runs (or shipped agents) on zero-shot transfer in one
Markdown report, optionally also a self-contained HTML page.

Every seed of every run is evaluated on every suite of its env (the maze: the seven holdout
suites, ``random`` and ``cvar``) under one ``Protocol``. Evaluations are cached per suite next to
the run (``<run>/evaluations/``; for shipped agents, whose folders belong to the repository,
under ``<out>/evaluations/<name>/`` unless the agent already carries them), so a second report,
or a report on the shipped agents, reuses them. The report has:

* the main table (solve rate per suite, mean ± s.e. over seeds) and a table per suite (mean ±
  s.e. and IQM with a 95% stratified-bootstrap interval over seeds, return, oracle regret);
* α-CVaR of the solve rate over random solvable levels (debiased, two passes) as a table and as
  curves on a log α axis;
* per-level bar charts of every suite;
* the curricula side by side: evaluation during training and the env's level descriptors (the
  maze: shortest path, walls, solvable fraction) of the levels rolled out and kept over training,
  early → late means, the buffer's distributions at the first and last checkpoint and its replay
  distribution (from ``ued.snapshots``), and the generated levels of generator agents.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import json
import re
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import config as config_lib
from .. import shipped
from .. import snapshots as snapshots_lib
from ..errors import ConfigError, RunError
from ..evaluate import iqm_cell, mean_se, per_seed_matrix
from ..logging import CsvLog, log_file, read_csv

CVAR_ALPHAS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
"""α's of the CVaR table (the curve shows every α with at least one level)."""


@dataclasses.dataclass(frozen=True)
class Protocol:
    """How runs are evaluated for a report (part of every cached evaluation's name).

    Attributes:
        suites: suite names (default: every suite of the run's env, then ``random`` and
            ``cvar``); attempts: stochastic episodes per level; random_levels, cvar_levels:
            levels drawn for ``random`` and ``cvar`` (other procedural suites draw their own
            count); seed: draws the levels and the episodes.
    """

    suites: tuple[str, ...] = ()
    attempts: int = 10
    random_levels: int = 100
    cvar_levels: int = 1000
    seed: int = 0

    def suites_of(self, env: str) -> tuple[str, ...]:
        """The suites a run on ``env`` is evaluated on."""
        return self.suites or config_lib.suite_names(env)

    def levels(self, suite: str) -> int | None:
        """Levels to draw for ``suite`` (None: the suite's own count)."""
        return {"random": self.random_levels, "cvar": self.cvar_levels}.get(suite)

    def cache_name(self, suite: str, update: int) -> str:
        """The file an evaluation of ``suite`` at checkpoint ``update`` is cached in."""
        stem = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(suite).stem if "/" in suite else suite)
        count = self.levels(suite)
        return f"{stem}_a{self.attempts}_n{count or 'all'}_s{self.seed}_u{update}.csv"


@dataclasses.dataclass
class Run:
    """A run (or shipped agent) in a report: its display ``name``, folder, config and the
    checkpoint evaluated (``update``)."""

    name: str
    path: Path
    config: Any
    update: int
    is_shipped: bool

    @property
    def cache_dirs(self) -> list[Path]:
        """Where this run's cached evaluations are looked for, the first one written to."""
        return [self.path / "evaluations"]


def bench_seconds(path: Path) -> dict[tuple[str, str], float]:
    """``{(algo, preset): seconds per training update}`` from the JSON lines ``ued bench --only
    train`` printed (one seed; other lines are skipped)."""
    timing = {}
    for line in Path(path).read_text().splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("name") == "train" and "s_per_update" in record:
                timing[(record["algo"], record["preset"])] = float(record["s_per_update"])
    return timing


def seconds_per_update(run: Run, bench: dict[tuple[str, str], float] | None = None):
    """A run's training seconds per update: from ``bench`` (``bench_seconds``; one seed's
    update, times the run's seeds) when it times the run's algorithm and preset, else the run's
    recorded ``train_s_total`` (``run.json`` or a shipped agent's manifest, all seeds together)
    over its updates; None if neither."""
    key = (run.config.algo, run.config.preset)
    if bench is not None:
        return bench[key] * len(run.config.seed_list) if key in bench else None
    if run.is_shipped:
        record = shipped.manifest(run.path)
    elif (run.path / "run.json").is_file():
        record = json.loads((run.path / "run.json").read_text())
    else:
        return None
    total = record.get("train_s_total")
    return None if not total else float(total) / run.update


def _latest_update(path: Path) -> int:
    if shipped.is_shipped(path):
        return int(shipped.manifest(path)["updates"])
    steps = [int(p.name) for p in (path / "checkpoints").glob("*") if p.name.isdigit()]
    if not steps:
        raise RunError(f"{path}: no checkpoint under {path / 'checkpoints'}")
    return max(steps)


def open_runs(paths: Sequence[str | Path]) -> list[Run]:
    """The runs named on the command line (run directories, ``shipped:NAME`` or
    ``shipped:all``), with unique display names (the folder's name, or ``parent/name`` where
    two folders share one). Raises ``RunError``/``ConfigError`` naming a bad one."""
    from . import builtins  # noqa: F401  (declares the env families and curricula a config names)

    folders: list[Path] = []
    for text in paths:
        if str(text) == f"{shipped.PREFIX}all":
            folders += [shipped.root() / name for name in shipped.names()]
        else:
            folders.append(shipped.resolve(text))
    runs = []
    for folder in folders:
        if not (folder / "config.json").is_file():
            raise RunError(f"{folder}: not a run directory (no config.json)")
        config = config_lib.load(folder / "config.json")
        runs.append(
            Run(folder.name, folder, config, _latest_update(folder), shipped.is_shipped(folder))
        )
    counts = defaultdict(int)
    for run in runs:
        counts[run.name] += 1
    for run in runs:
        if counts[run.name] > 1:
            run.name = f"{run.path.parent.name}/{run.path.name}"
    if len({run.name for run in runs}) < len(runs):
        raise RunError("runs: the same run is named twice")
    return runs


def evaluations(run: Run, protocol: Protocol, cache: Path, log=print) -> list[dict[str, Any]]:
    """Every seed of ``run`` on every suite of ``protocol``, reusing cached evaluations (in the
    run's ``evaluations/`` folder, else ``cache``); new ones are written to the run's folder,
    or to ``cache`` for shipped agents. Rows carry the run's display name."""
    from ..evaluate import evaluate_seed, resolve_suite
    from .build import load_run

    write_dir = cache if run.is_shipped else run.path / "evaluations"
    rows: list[dict[str, Any]] = []
    loaded = None
    for suite in protocol.suites_of(run.config.env):
        name = protocol.cache_name(suite, run.update)
        found = [
            d / file
            for d in (run.path / "evaluations", cache)
            for file in (name, name + ".gz")  # shipped agents carry them compressed
            if (d / file).is_file()
        ]
        if not found:
            if loaded is None:
                log(f"evaluating {run.name} (checkpoint {run.update})")
                loaded = load_run(run.path)
                if loaded.step != run.update:  # a damaged newest checkpoint was skipped
                    run.update = loaded.step
                    return evaluations(run, protocol, cache, log)
            levels = resolve_suite(
                loaded.spec,
                loaded.env,
                suite,
                num_levels=protocol.levels(suite),
                seed=protocol.seed,
            )
            new = []
            for i in range(len(loaded.config.seed_list)):
                new += evaluate_seed(
                    loaded, i, levels, attempts=protocol.attempts, seed=protocol.seed
                )
            if suite == "cvar":  # thousands of levels: keep what the report reads
                new = [r for r in new if r["level"] == "*" or r["statistic"] == "solve_rate"]
            write_dir.mkdir(parents=True, exist_ok=True)
            tmp = write_dir / (name + ".tmp")
            CsvLog(tmp).write(new)
            tmp.replace(write_dir / name)
            found = [write_dir / name]
        rows += read_csv(found[0])
    for row in rows:
        row["run"] = run.name
        row["value"] = float(row["value"])
    return rows


def run_snapshots(run: Run, log=print):
    """The run's ``ued.snapshots.Snapshots`` (its ``snapshots.npz``, made from its kept
    checkpoints if missing or older than them), or None for curricula without a buffer."""
    from ..checkpoint import Checkpointer, skip_damaged
    from ..loop import abstract_state, read_intact
    from .build import build

    path = run.path / snapshots_lib.FILE
    config = dataclasses.replace(run.config, devices=1)
    program = build(config)
    ckpt = run.path / "checkpoints"
    if not run.is_shipped and ckpt.is_dir():
        checkpointer = Checkpointer(ckpt)
        try:
            steps = checkpointer.all_steps()
            have = np.load(path)["steps"].tolist() if path.is_file() else None
            if have != steps and snapshots_lib.has_buffer(program):
                log(f"reading {run.name}'s curriculum at checkpoints {steps}")
                abstract = abstract_state(program)
                read = lambda s: read_intact(program, checkpointer, s, run.path, abstract)
                states = [state for s in steps for state in skip_damaged(s, read, log)]
                arrays = snapshots_lib.collect(program, states)
                if arrays is not None:
                    snapshots_lib.save(path, arrays)
        finally:
            checkpointer.close()
    return snapshots_lib.load(path, program.env) if path.is_file() else None


# ---- tables ----------------------------------------------------------------------------------
def _statistic(rows, suite) -> str:
    solved = any(r["statistic"] == "solve_rate" for r in rows if r["suite"] == suite)
    return "solve_rate" if solved else "return"


def main_table(rows: list[dict[str, Any]], runs: list[str], suites: list[str]) -> str:
    """Runs (rows) × suites (columns): the solve rate (the return for envs without one),
    per seed the mean over the suite's levels, then mean ± s.e. over seeds."""
    lines = ["| run | " + " | ".join(suites) + " |", "|---" * (len(suites) + 1) + "|"]
    for run in runs:
        cells = [mean_se(per_seed_matrix(rows, run, s, _statistic(rows, s))) for s in suites]
        lines.append(f"| {run} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def suite_table(rows: list[dict[str, Any]], runs: list[str], suite: str) -> str:
    """One suite: per run the seeds, solve rate (mean ± s.e.), its IQM with a 95% bootstrap
    interval over seeds, return and oracle regret."""
    lines = [
        "| run | seeds | solve rate | IQM [95% CI] | return | oracle regret |",
        "|---|---|---|---|---|---|",
    ]
    for run in runs:
        headline = per_seed_matrix(rows, run, suite, _statistic(rows, suite))
        if not headline.size:
            continue
        lines.append(
            f"| {run} | {headline.shape[0]} "
            f"| {mean_se(per_seed_matrix(rows, run, suite, 'solve_rate'))} "
            f"| {iqm_cell(headline)} "
            f"| {mean_se(per_seed_matrix(rows, run, suite, 'return'))} "
            f"| {mean_se(per_seed_matrix(rows, run, suite, 'oracle_regret'))} |"
        )
    return "\n".join(lines)


def cvar_table(rows: list[dict[str, Any]], runs: list[str], alphas=CVAR_ALPHAS) -> str:
    """Debiased α-CVaR of the solve rate, runs × α, mean ± s.e. over seeds."""
    values: dict[tuple[str, float], list[float]] = defaultdict(list)
    for r in rows:
        if r["statistic"] == "cvar":
            values[(r["run"], round(float(r["alpha"]), 6))].append(float(r["value"]))
    alphas = [a for a in alphas if any((run, a) in values for run in runs)]
    lines = [
        "| run | " + " | ".join(f"α = {a * 100:g}%" for a in alphas) + " |",
        "|---" * (len(alphas) + 1) + "|",
    ]
    for run in runs:
        if any((run, a) in values for a in alphas):
            cells = [mean_se(values[(run, a)]) for a in alphas]
            lines.append(f"| {run} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def env_fractions(runs: Sequence[Run]) -> frozenset[str]:
    """The 0/1 level descriptors (``ued.env.Descriptors.fractions``) of the runs' env families,
    e.g. the maze's ``solvable``."""
    from .. import registry
    from . import builtins  # noqa: F401  (declares the built-in env families)

    spec_of = registry.ENVS.get
    return frozenset(
        name
        for env in {r.config.env for r in runs}
        if (descriptors := spec_of(env).descriptors) is not None
        for name in descriptors.fractions
    )


def distribution_statistics(runs: dict[str, Path], fractions=()) -> list[tuple[str, str, int]]:
    """``(statistic, label, digits)`` of the distribution table: the level descriptors the runs
    logged in ``curriculum.csv`` (``trained/<name>``, then ``buffer/weighted_<name>``), in
    ``ued.env.ordered_descriptors`` order; ``fractions`` get two digits."""
    from ..plots import curriculum_statistics, descriptor_metrics

    logged = curriculum_statistics(runs.values())
    names = [m.split("/", 1)[1] for m in descriptor_metrics(logged, "trained/", fractions)]
    rows = []
    for prefix, label in (("trained/", ""), ("buffer/weighted_", "buffer ")):
        rows += [
            (prefix + n, label + n.replace("_", " "), 2 if n in fractions else 1)
            for n in names
            if prefix + n in logged
        ]
    return rows


def _early_late(points: list[tuple[int, float]], window: float) -> tuple[float, float]:
    """NaN-means of ``(update, value)`` points over the first and the last ``window`` of the
    updates they cover."""
    updates = sorted({u for u, _ in points})
    cut = max(1, round(window * len(updates)))
    early, late = set(updates[:cut]), set(updates[-cut:])
    return (
        float(np.nanmean([v for u, v in points if u in early] or [np.nan])),
        float(np.nanmean([v for u, v in points if u in late] or [np.nan])),
    )


def distribution_table(runs: dict[str, Path], window: float = 0.1, fractions=()) -> str:
    """What each curriculum rolled out (each chunk's last update) and kept (replay-weighted
    buffer), means over seeds over the first and the last ``window`` of training, from
    ``curriculum.csv``: the env's level descriptors (``distribution_statistics``)."""
    statistics = distribution_statistics(runs, fractions)
    head = " | ".join(f"{label} early → late" for _, label, _ in statistics)
    lines = [f"| run | {head} |", "|---" * (len(statistics) + 1) + "|"]
    for name, path in runs.items():
        file = log_file(path, "curriculum.csv")
        table = read_csv(file) if file.exists() else []
        cells = []
        for key, _, digits in statistics:
            points = [(int(r["update"]), float(r["value"])) for r in table if r["statistic"] == key]
            if not points:
                cells.append("-")
                continue
            a, b = _early_late(points, window)
            cells.append(f"{a:.{digits}f} → {b:.{digits}f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def generator_table(runs: dict[str, Path], window: float = 0.1, fractions=()) -> str | None:
    """Generator agents' levels (``paired/regret``, ``generated/...`` of ``metrics.csv``: the
    generator's reward and entropy, the env's level descriptors), means over seeds over the
    first and last ``window`` of training; None if no run generates."""
    from ..plots import generator_metrics, metric_value

    keys = generator_metrics(runs.values(), fractions)
    lines = [
        "| run | " + " | ".join(f"{k} early → late" for k in keys) + " |",
        "|---" * (len(keys) + 1) + "|",
    ]
    for name, path in runs.items():
        rows = read_csv(log_file(path, "metrics.csv"))
        if not rows or not any(k in rows[0] for k in keys):
            continue
        cells = []
        for key in keys:
            points = [(int(r["update"]), metric_value(r, key)) for r in rows]
            a, b = _early_late(points, window)
            cells.append(f"{a:.2f} → {b:.2f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) if len(lines) > 2 else None


def overview_table(runs: list[Run]) -> str:
    """Runs: algorithm, env, preset, seeds, checkpoint and env steps per seed."""
    lines = [
        "| run | algorithm | env | preset | seeds | checkpoint (update) | env steps per seed |",
        "|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        c = run.config
        steps = run.update * c.steps_per_update
        seeds = ", ".join(str(s) for s in c.seed_list)
        lines.append(
            f"| {run.name}{' (shipped)' if run.is_shipped else ''} | {c.algo} | {c.env} | "
            f"{c.preset} | {seeds} | {run.update} | {steps / 1e6:.2f}M |"
        )
    return "\n".join(lines)


# ---- the document ----------------------------------------------------------------------------
@dataclasses.dataclass
class Document:
    """A report as blocks (``("h1"|"h2"|"h3"|"p", text)``, ``("table", markdown)``,
    ``("figure", path, caption)``) written as Markdown and as self-contained HTML."""

    blocks: list[tuple] = dataclasses.field(default_factory=list)

    def add(self, *block) -> None:
        """Append a block."""
        self.blocks.append(block)

    def markdown(self, base: Path) -> str:
        """The report in Markdown, figures linked relative to ``base``."""
        out = []
        for kind, *rest in self.blocks:
            if kind in ("h1", "h2", "h3"):
                out.append("#" * int(kind[1]) + " " + rest[0])
            elif kind in ("p", "table"):
                out.append(rest[0])
            elif kind == "figure":
                out.append(f"![{rest[1]}]({Path(rest[0]).relative_to(base).as_posix()})")
        return "\n\n".join(out) + "\n"

    def html(self, title: str) -> str:
        """The report as one HTML page with its figures embedded (base64 PNG)."""
        body = []
        for kind, *rest in self.blocks:
            if kind in ("h1", "h2", "h3"):
                body.append(f"<{kind}>{html.escape(rest[0])}</{kind}>")
            elif kind == "p":
                body.append(f"<p>{_inline(rest[0])}</p>")
            elif kind == "table":
                body.append(_html_table(rest[0]))
            elif kind == "figure":
                data = base64.b64encode(Path(rest[0]).read_bytes()).decode()
                body.append(
                    f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(rest[1])}">'
                    f"<figcaption>{html.escape(rest[1])}</figcaption></figure>"
                )
        style = (
            "body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}"
            "table{border-collapse:collapse;margin:1em 0;font-size:0.9em}"
            "td,th{border:1px solid #ccc;padding:0.25em 0.6em;text-align:left}"
            "img{max-width:100%}figcaption{color:#555;font-size:0.9em}"
        )
        head = f"<meta charset='utf-8'><title>{html.escape(title)}</title><style>{style}</style>"
        return (
            f"<!DOCTYPE html>\n<html><head>{head}</head><body>\n"
            + "\n".join(body)
            + ("\n</body></html>\n")
        )


def _inline(text: str) -> str:
    """Markdown's inline code spans as HTML (the only inline markup the report uses)."""
    parts = html.escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def _html_table(markdown: str) -> str:
    rows = [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in markdown.splitlines()
        if line.strip() and not set(line.replace("|", "").strip()) <= {"-"}
    ]
    head = "".join(f"<th>{_inline(c)}</th>" for c in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>" for row in rows[1:]
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def write_report(
    paths: Sequence[str | Path],
    out: Path,
    protocol: Protocol | None = None,
    *,
    html_page: bool = False,
    bench: dict[tuple[str, str], float] | None = None,
    log=print,
) -> Path:
    """Evaluate (or reuse evaluations of) ``paths`` and write ``out/report.md``, its figures in
    ``out/figures/``, every evaluation row in ``out/evaluations.csv`` and, with ``html_page``,
    ``out/report.html``. ``bench`` (``bench_seconds``) times the wall-clock axis of the training
    curves; without it each run's recorded training time does. Returns the Markdown file's
    path."""
    from .. import plots

    protocol = protocol or Protocol()
    runs = open_runs(paths)
    if not runs:
        raise ConfigError("runs: give at least one run directory or shipped:NAME")
    envs = {run.config.env for run in runs}
    if len(envs) > 1:
        raise ConfigError(f"runs: a report compares runs on one env, got {sorted(envs)}")
    for suite in protocol.suites:
        config_lib.check_suite_name(runs[0].config.env, suite, "suite")
    out = Path(out)
    figures = out / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    for run in runs:
        rows += evaluations(run, protocol, out / "evaluations" / run.name, log)
    CsvLog(out / "evaluations.csv").write(rows)
    names = [run.name for run in runs]
    suites = [s for s in protocol.suites_of(runs[0].config.env) if s != "cvar"]

    doc = Document()
    doc.add("h1", "Zero-shot transfer report")
    doc.add(
        "p",
        f"{len(runs)} runs on `{runs[0].config.env}`, evaluated with {protocol.attempts} "
        f"stochastic attempts per level (evaluation seed {protocol.seed}; `random`: "
        f"{protocol.random_levels} levels, `cvar`: {protocol.cvar_levels}). Every number is the "
        "mean ± standard error over a run's seeds of the per-seed mean over levels; IQM is the "
        "interquartile mean of the seeds × levels scores with a 95% stratified-bootstrap interval.",
    )
    doc.add("table", overview_table(runs))
    doc.add("h2", "Holdout solve rate")
    doc.add("table", main_table(rows, names, suites))
    if any(r["statistic"] == "cvar" for r in rows):
        doc.add("h2", "α-CVaR over random solvable levels")
        doc.add(
            "p",
            "The mean solve rate on the α-fraction of levels with the lowest solve rate: levels "
            "ranked on one pass of attempts and scored on a second, independent one (SFL's "
            "protocol, without the selection bias).",
        )
        doc.add("table", cvar_table(rows, names))
        plots.cvar_curve(rows, figures / "cvar.png")
        doc.add("figure", figures / "cvar.png", "α-CVaR of the solve rate (log α)")
    doc.add("h2", "Per suite")
    for suite in suites:
        doc.add("h3", suite)
        doc.add("table", suite_table(rows, names, suite))
        sel = [r for r in rows if r["suite"] == suite]
        path = figures / f"levels_{re.sub(r'[^A-Za-z0-9_-]', '_', suite)}.png"
        plots.eval_bars(sel, path)
        if path.exists():
            doc.add("figure", path, f"{suite}: per-level solve rate, mean over seeds")
    _curriculum_section(doc, runs, figures, log, bench)
    (out / "report.md").write_text(doc.markdown(out))
    if html_page:
        (out / "report.html").write_text(doc.html("ued report"))
    (out / "report.json").write_text(
        json.dumps({"runs": {r.name: str(r.path) for r in runs},
                    "protocol": dataclasses.asdict(protocol)}, indent=2) + "\n"
    )  # fmt: skip
    return out / "report.md"


def _curriculum_section(
    doc: Document, runs: list[Run], figures: Path, log, bench: dict | None = None
) -> None:
    """Curriculum diagnostics side by side (training logs and snapshots)."""
    from .. import plots

    logged = {r.name: r.path for r in runs if log_file(r.path, "metrics.csv").exists()}
    if not logged:
        return
    doc.add("h2", "What each curriculum trained on")
    doc.add(
        "p",
        "Rolled out: the levels of each chunk's last update; buffer: the levels most likely to "
        "be replayed, weighted by replay probability (NCC: the adversary's y). Means over seeds "
        "over the first and the last 10% of training.",
    )
    fractions = env_fractions([r for r in runs if r.name in logged])
    doc.add("table", distribution_table(logged, fractions=fractions))
    plots.compare_runs(logged, figures / "training.png", fractions=fractions)
    doc.add(
        "figure",
        figures / "training.png",
        "evaluation during training and the levels rolled out and replayed (mean ± s.e. over "
        "seeds)",
    )
    seconds = {r.name: s for r in runs if (s := seconds_per_update(r, bench)) is not None}
    if len(seconds) > 1:
        plots.compare_runs(
            logged,
            figures / "training_wallclock.png",
            seconds_per_update=seconds,
            fractions=fractions,
        )
        timed = (
            "a training update timed by `ued bench` for each curriculum, one after another in one "
            "process, times the run's seeds"
            if bench is not None
            else "each run's recorded training time spread evenly over its updates; runs timed "
            "on a shared machine are rough"
        )
        doc.add("figure", figures / "training_wallclock.png", f"the same against training "
                f"seconds ({timed})")  # fmt: skip
    snaps = {r.name: s for r in runs if (s := run_snapshots(r, log)) is not None}
    if snaps:
        plots.snapshot_distributions(snaps, figures / "buffers.png", fractions=fractions)
        doc.add(
            "figure",
            figures / "buffers.png",
            "buffer levels at the first and the last checkpoint: the env's level descriptors "
            "(replay-weighted histograms), and replay probability against rank",
        )
    generated = generator_table(logged, fractions=fractions)
    if generated is not None:
        doc.add("h3", "Generated levels")
        doc.add("table", generated)
        plots.generator_curves(logged, figures / "generator.png", fractions=fractions)
        doc.add("figure", figures / "generator.png", "what the generator agents built")
