"""The ``ued`` command: ``ued train``, ``ued eval``, ``ued report``, ``ued ship``, ``ued bench``,
``ued meta-train``, ``ued meta-eval``.

``ued train`` takes the run-level options below; any field of the run's config can then be
overridden with tyro flags, e.g. ``--ppo.lr 3e-4 --env-config.n-walls 60
--curriculum.replay-prob 0.5`` (``ued train --algo plr --preset cpu --help-config`` lists every
field with its preset value). This module is part of the composition root: it builds everything
through ``ued.app.build``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import io
import re
import sys
from pathlib import Path
from typing import Annotated, ClassVar, Literal

import tyro

from ..config import INT_RANGE, SEED_RANGE
from ..errors import USER_ERRORS, ConfigError
from ..loggers import parse as parse_loggers
from ..outputs import check_output_file
from ..parallel import initialize_distributed


def parse(*args, **kwargs):
    """``tyro.cli`` whose parse errors are one line, as the rest of the CLI's: an unknown option
    raises ``ConfigError`` naming it and the nearest valid one (``--ppo.lrr``: did you mean
    ``--ppo.lr``?) instead of tyro's boxed message. ``--help`` prints as tyro writes it."""
    captured = io.StringIO()
    try:
        with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
            result = tyro.cli(*args, **kwargs)
    except SystemExit as exit:
        if exit.code in (0, None):  # --help
            sys.stdout.write(captured.getvalue())
            raise
        raise ConfigError(parse_error_line(captured.getvalue())) from None
    sys.stderr.write(captured.getvalue())  # warnings of a successful parse
    return result


def parse_error_line(text: str) -> str:
    """The one useful line of a tyro error box: its first message line, with the first
    suggested option (``Perhaps you meant: --ppo.lr FLOAT`` -> ``did you mean --ppo.lr?``)."""
    lines = [re.sub(r"^[\s│╭╰─┌└]+|[\s│╮╯─┐┘]+$", "", raw) for raw in text.splitlines()]
    lines = [line for line in lines if line and not set(line) <= set("─━")]
    if not lines:
        return "could not parse the command line"
    messages = [line for line in lines if ":" in line and not line.startswith("For ")]
    message = (messages or lines)[0]
    message = message[0].lower() + message[1:]
    message = message.removeprefix("error ")  # "error parsing --ppo.lr: ..."
    for i, line in enumerate(lines):
        if line.startswith("Perhaps you meant") and i + 1 < len(lines):
            suggestion = lines[i + 1].split()[0]
            return f"{message} (did you mean {suggestion}?)"
    return message


def _parse_seeds(text: str | None) -> tuple[int, ...]:
    if not text:
        return ()
    try:
        return tuple(int(s) for s in text.replace(" ", "").split(",") if s)
    except ValueError:
        raise ConfigError(
            f"seeds: expected comma-separated integers like 0,1,2, got {text!r}"
        ) from None


@dataclasses.dataclass
class RunArgs:
    """What ``ued train`` and ``ued meta-train`` share (``KIND``: the command, whose
    ``ued.app.build.RunKind`` they run)."""

    KIND: ClassVar[str] = "train"
    seed: int = 0
    """Random seed."""
    seeds: str | None = None
    """Several seeds in one vmapped program, e.g. 0,1,2 (overrides --seed)."""
    out: Path | None = None
    """Run directory (default checkpoints/<algo>-<env>-<preset>-s<seed>, meta-training's with
    the prefix meta-)."""
    updates: int | None = None
    """Total updates (meta-training: meta-steps; default: the preset's)."""
    resume: Path | None = None
    """Continue the run in this directory from its last checkpoint (bit-exact)."""
    progress: bool = True
    """Show a progress bar."""
    log: str = "csv"
    """Loggers, comma-separated: csv (always written), tensorboard, wandb (offline unless
    WANDB_MODE says otherwise); the last two are optional extras."""
    help_config: bool = False
    """List every config field (with this algo/preset's values, and where a reference preset's
    settings come from) and exit."""


@dataclasses.dataclass
class TrainArgs(RunArgs):
    """Train a student with a curriculum. Other config fields: see --help-config."""

    algo: str = "dr"
    """Curriculum: dr, plr, robust-plr, accel, sfl, ncc-theory, ncc-reg, ncc-learn, paired,
    flexible-paired, minimax-adversary, repaired, plr-generator (or any registered one)."""
    env: str = "maze"
    """Environment family (maze, or any registered one)."""
    preset: Literal["test", "cpu", "paper", "minimax", "dcd"] = "cpu"
    """Settings preset: paper (the literature's), cpu (minutes on a laptop), test (tiny);
    minimax / dcd: that author implementation's maze settings (DR and the generator agents)."""


def count(value: int, name: str, most: int = INT_RANGE[1]) -> None:
    """Refuse a count option outside [1, most] (they size int32 arrays), naming it."""
    if not 1 <= value <= most:
        raise ConfigError(f"{name}: must be in [1, {most}], got {value}")


def _given(argv: list[str], name: str) -> bool:
    """Whether the option ``--name`` appears on the command line (not just its default)."""
    flag = "--" + name.replace("_", "-")
    return any(a == flag or a.startswith(flag + "=") for a in argv)


def _field(config, dotted: str):
    for name in dotted.split("."):
        config = getattr(config, name, None)
    return config


def check_resume_changes(run: Path, saved, changed, args, argv: list[str], rebuild) -> None:
    """Refuse a resume whose command line changes a setting the checkpoint was trained with,
    naming each one; only ``ued.config.RESUMABLE`` fields may change (``--updates``,
    ``--keep-checkpoints``, ``--devices``)."""
    from ..config import RESUMABLE, differences, to_dict

    problems = [
        f"{name} (the run's {getattr(saved, name)!r}, given {getattr(args, name)!r})"
        for name in ("algo", "env", "preset", "seed")
        if _given(argv, name) and getattr(args, name) != getattr(saved, name)
    ]
    if _given(argv, "seeds") and _parse_seeds(args.seeds) != tuple(saved.seeds):
        problems.append(f"seeds (the run's {list(saved.seeds)}, given {args.seeds!r})")
    if args.out is not None and Path(args.out).absolute() != Path(run).absolute():
        problems.append(f"--out (a resumed run stays in {run})")
    for name in differences(to_dict(saved), changed, ignore=RESUMABLE, rebuild=rebuild):
        problems.append(
            f"{name} (the run's {_field(saved, name)!r}, given {_field(changed, name)!r})"
        )
    if problems:
        raise ConfigError(
            f"--resume {run}: settings that cannot change on resume (the checkpoint was trained "
            f"with the run's): {'; '.join(problems)}. Only --updates, --keep-checkpoints and "
            "--devices may change"
        )


def run_config(args: RunArgs, overrides: list[str], argv: list[str] = ()):
    """The validated config of ``ued train`` or ``ued meta-train`` arguments: the preset (or a
    resumed run's own config) with the overrides applied strictly (an unknown field fails); a
    resume refuses any change but ``ued.config.RESUMABLE``'s. ``--help-config`` prints every
    field with its value and exits."""
    from .build import KINDS, resume_config

    kind = KINDS[args.KIND]
    resume = args.resume is not None
    if resume:
        config = saved = resume_config(args.resume, kind=kind)
    else:
        config = dataclasses.replace(
            kind.preset(args.algo, args.env, args.preset),
            seed=args.seed,
            seeds=_parse_seeds(args.seeds),
        )
    if args.updates is not None:
        config = dataclasses.replace(config, updates=args.updates)
    if overrides or args.help_config:
        config = parse(
            kind.config_type(config),
            default=config,
            args=["--help"] if args.help_config else overrides,
            prog=f"ued {kind.command} --algo {config.algo} --env {config.env} "
            f"--preset {config.preset}",
            description=kind.sources(config.preset, config.algo) or None,
        )
    if resume:
        check_resume_changes(args.resume, saved, config, args, list(argv), kind.from_dict)
    return kind.validate(config)


def run_main(args_type: type[RunArgs], argv: list[str]) -> int:
    """``ued train`` and ``ued meta-train``: parse, check everything, then train."""
    from .build import KINDS, run

    kind = KINDS[args_type.KIND]
    args, overrides = parse(
        args_type, args=argv, return_unknown_args=True, prog=f"ued {kind.command}"
    )
    config = run_config(args, overrides, argv)
    seeds = "-".join(map(str, config.seed_list))
    name = f"{kind.prefix}{config.algo}-{config.env}-{config.preset}-s{seeds}"
    out = args.resume or args.out or Path("checkpoints") / name
    loggers = parse_loggers(args.log)
    resume = args.resume is not None
    result = run(kind, config, out, resume=resume, progress=args.progress, loggers=loggers)
    if result.train_s == 0:
        print(f"{result.out} has already completed its {result.updates} {kind.noun}s")
    else:
        print(
            f"{kind.command.replace('train', 'trained')} up to {kind.noun} {result.updates} in "
            f"{result.train_s:.1f}s ({result.steps_per_s:,.0f} {kind.steps}/s, compile "
            f"{result.compile_s:.1f}s); outputs in {result.out}"
        )
    return 0


@dataclasses.dataclass
class EvalArgs:
    """Zero-shot evaluation of trained runs on holdout suites."""

    runs: Annotated[tuple[Path, ...], tyro.conf.Positional]
    """Run directories written by `ued train`, or shipped agents as shipped:NAME."""
    suite: tuple[str, ...] = ()
    """Suites: the env's (the maze: classic, small-corridor, large-corridor, four-rooms,
    crossing, perfect-medium, perfect-large), random, cvar, or paths to level files (default:
    the suites each run evaluated during training, its config's eval_suites)."""
    attempts: int = 10
    """Stochastic episodes per level."""
    levels: int | None = None
    """Levels for procedural / random / cvar suites (defaults: per suite; cvar 10,000)."""
    seed: int = 0
    """Seed for drawing levels and for the evaluation episodes."""
    out: Path = Path("eval.csv")
    """Tidy CSV of results (a Markdown summary goes next to it, plots into <out>_plots/)."""
    step: int | None = None
    """Checkpoint step to evaluate (default: the latest)."""
    iterate: Literal["last", "best"] = "last"
    """Evaluate the last parameters, or the best iterate (smallest policy-gradient norm; runs
    with ppo.track_best_iterate such as ncc-theory)."""


def eval_main(argv: list[str]) -> int:
    """``ued eval``."""
    from .build import evaluate_runs

    args = parse(EvalArgs, args=argv, prog="ued eval")
    if not args.runs:
        raise ConfigError("runs: give at least one run directory written by `ued train`")
    count(args.attempts, "attempts")
    if args.levels is not None:
        count(args.levels, "levels")
    if not SEED_RANGE[0] <= args.seed <= SEED_RANGE[1]:
        raise ConfigError(f"seed: must be in [{SEED_RANGE[0]}, {SEED_RANGE[1]}], got {args.seed}")
    out = args.out
    check_output_file(
        out, files=[out.with_suffix(".md")], folders=[out.parent / f"{out.stem}_plots"]
    )
    table = evaluate_runs(
        list(args.runs),
        list(args.suite),
        attempts=args.attempts,
        num_levels=args.levels,
        seed=args.seed,
        out=args.out,
        step=args.step,
        iterate=args.iterate,
    )
    print(table)
    return 0


@dataclasses.dataclass
class BenchArgs:
    """Speed benchmark: compile time and steady-state env steps/s, JSON lines on stdout."""

    preset: Literal["paper", "cpu", "test", "minimax", "dcd", "reference"] | None = None
    """Preset to time (default: paper and cpu; --program meta-train: reference and cpu)."""
    env: str | None = None
    """Environment family (default: maze; --program meta-train: gridworld)."""
    algo: str | None = None
    """Curriculum to time in the full training update (default: every registered one)."""
    only: tuple[Literal["env_only", "rollout", "train", "parts"], ...] = (
        "env_only",
        "rollout",
        "train",
    )
    """Which measurements to run (parts: where one training update's time goes, each part
    timed alone: rollout, GAE, PPO epochs, optimiser, the rest)."""
    chunks: int = 3
    """Timed chunks after warm-up (the median is reported)."""
    updates_per_chunk: int = 5
    """Updates per timed training chunk."""
    program: Literal["train", "meta-train"] = "train"
    """What to time: UED training, or meta-training a learned rule (both backends)."""
    devices: tuple[int, ...] = ()
    """Scaling table: time DR training (or --algo) on each of these device counts (per
    process) at a fixed per-device and a fixed global batch, and env-only stepping at
    --env-batch envs (--preset defaults to cpu here)."""
    env_batch: int = 4096
    """Envs of the scaling table's env-only measurement."""
    compare_learners: tuple[str, ...] = ()
    """Also time the training update with each of these learners (e.g. dpo lpo; lpo with a
    random drift network) and with PPO again, in alternation in the same process, with the
    median of the per-round speed ratios to PPO."""
    compare_algos: tuple[str, ...] = ()
    """Also time the training update of each of these curricula (e.g. plr-parallel beside
    --algo robust-plr), in alternation with --algo's in the same process, with the medians of
    the per-round ratios to --algo's env steps/s and gradient updates/s."""
    compare_lstm: bool = False
    """Also time the training update with flax's OptimizedLSTMCell (the JaxUED network) and the
    plain autodiff LSTM, in the same process, for a side-by-side ratio."""


def bench_main(argv: list[str]) -> int:
    """``ued bench``."""
    from .bench import run_bench

    args = parse(BenchArgs, args=argv, prog="ued bench")
    if args.env is None:
        meta = args.program == "meta-train"
        args.env = ("cartpole" if args.algo == "lpo" else "gridworld") if meta else "maze"
    check_bench_args(args)
    run_bench(args)
    return 0


def check_bench_args(args: BenchArgs) -> None:
    """Refuse benchmark options that cannot be timed, naming the option."""
    from .. import registry
    from . import builtins  # noqa: F401  (declares the built-in envs and curricula)

    count(args.chunks, "chunks")
    # The timed config runs 10,000 chunks' worth of updates (an int32 count).
    count(args.updates_per_chunk, "updates_per_chunk", INT_RANGE[1] // 10_000)
    if not args.only:
        raise ConfigError("only: choose at least one of env_only, rollout, train")
    registry.ENVS.get(args.env)
    if args.program == "train":
        if args.algo is not None:
            registry.ALGORITHMS.get(args.algo)
        for learner in args.compare_learners:
            registry.LEARNERS.get(learner)
        if args.compare_algos and args.algo is None:
            raise ConfigError("compare_algos: name the curriculum to compare with (--algo)")
        for algo in args.compare_algos:
            registry.ALGORITHMS.get(algo)
    elif args.algo is not None:
        registry.META_ALGORITHMS.get(args.algo)
    from ..meta.config import PRESETS as META_PRESETS

    if args.program == "meta-train" and args.preset not in (None, *META_PRESETS):
        raise ConfigError(f"preset: meta-training's presets are {', '.join(META_PRESETS)}")
    if args.program == "train" and args.preset == "reference":
        raise ConfigError("preset: reference is meta-training's preset (--program meta-train)")
    if args.devices:
        import jax

        if args.program != "train":
            raise ConfigError("devices: the scaling table times training (--program train)")
        count(args.env_batch, "env_batch")
        for devices in args.devices:
            count(devices, "devices", jax.local_device_count())


@dataclasses.dataclass
class MetaTrainArgs(RunArgs):
    """Meta-train a learned update rule (LPG) or PPO's drift (LPO) on an env's levels. Other
    config fields (agents, rule, population, unroll, ...) are overridden like ued train's."""

    KIND: ClassVar[str] = "meta-train"
    algo: str = "lpg"
    """Meta-algorithm (registered in ued.registry.META_ALGORITHMS): lpg (LPG on fresh random
    levels) or groove (LPG on a level buffer scored by algorithmic regret; --curriculum.score
    picks another score), or lpo (PPO's drift evolved over full PPO runs; TA-LPO with
    --rule.lifetime-conditioned)."""
    env: str = "gridworld"
    """Environment family (LPG's: gridworld, gridworld-rand, or any whose levels carry a
    lifetime; LPO's: any, e.g. cartpole)."""
    preset: Literal["test", "cpu", "reference"] = "cpu"
    """Settings preset: reference (GROOVE's settings, --help-config names each one's source),
    cpu (the same at smaller sizes) or test."""


@dataclasses.dataclass
class MetaEvalArgs:
    """Meta-evaluate learned rules: train fresh agents with each run's rule and with its
    baselines (LPG: A2C; LPO: PPO and DPO) for the same lifetime on held-out levels."""

    runs: Annotated[tuple[Path, ...], tyro.conf.Positional]
    """Run directories written by `ued meta-train`."""
    suite: tuple[str, ...] = ("lpg-grids",)
    """Suites: lpg-grids (LPG's five gridworlds), mazes (the classic mazes), random, or files."""
    levels: int = 16
    """Levels of the random suite."""
    lifetime: int | None = None
    """Inner updates of every agent, the lifetime the rule sees it trained for (default: the
    run's eval_lifetime; 0: each level's own, e.g. 2,500 on LPG's grids)."""
    steps: tuple[int, ...] = ()
    """Checkpoints to evaluate (default: the latest; 0 is the initial rule)."""
    all_steps: bool = False
    """Evaluate the initial rule and every checkpoint (learning over meta-training)."""
    env: str | None = None
    """Evaluate on this env family instead of the run's: a held-out env (LPO's drift, whose
    inputs do not depend on the env; its inner PPO takes that env's preset)."""
    out: Path = Path("meta_eval.csv")
    """Tidy CSV of results (a Markdown summary goes next to it)."""


def meta_eval_main(argv: list[str]) -> int:
    """``ued meta-eval``."""
    from .build import meta_evaluate

    args = parse(MetaEvalArgs, args=argv, prog="ued meta-eval")
    if not args.runs:
        raise ConfigError("runs: give at least one run directory written by `ued meta-train`")
    out = args.out
    curves = out.with_name(out.stem + "_curves.csv")
    progress = out.with_name(out.stem + "_progress.png")
    files = [out.with_suffix(".md"), curves, curves.with_suffix(".png"), progress]
    check_output_file(out, files=files)
    count(args.levels, "levels")
    if args.lifetime:
        count(args.lifetime, "lifetime")
    table = meta_evaluate(
        list(args.runs),
        list(args.suite),
        num_levels=args.levels,
        lifetime=args.lifetime,
        out=args.out,
        steps="all" if args.all_steps else args.steps,
        env=args.env,
    )
    print(table)
    return 0


@dataclasses.dataclass
class ReportArgs:
    """Compare runs on zero-shot transfer: evaluate every seed on every suite of the env (reusing
    cached evaluations) and write a Markdown report with tables and figures."""

    runs: Annotated[tuple[str, ...], tyro.conf.Positional]
    """Run directories written by `ued train`, shipped agents as shipped:NAME, or shipped:all."""
    out: Path = Path("results/report")
    """Folder for report.md, figures/, evaluations.csv (and report.html with --html)."""
    suite: tuple[str, ...] = ()
    """Suites (default: every suite of the env, then random and cvar)."""
    attempts: int = 10
    """Stochastic episodes per level."""
    random_levels: int = 100
    """Levels drawn for the random suite."""
    cvar_levels: int = 1000
    """Levels drawn for the cvar suite (α-CVaR over random solvable levels)."""
    seed: int = 0
    """Seed for drawing levels and for the evaluation episodes."""
    html: bool = False
    """Also write report.html, a self-contained page with the figures embedded."""
    bench: Path | None = None
    """JSON lines of `ued bench --only train` (one line per curriculum and preset) that time the
    training curves' wall-clock axis; default: each run's recorded training time."""


def report_main(argv: list[str]) -> int:
    """``ued report``."""
    from .report import Protocol, write_report

    args = parse(ReportArgs, args=argv, prog="ued report")
    if not args.runs:
        raise ConfigError("runs: give at least one run directory, shipped:NAME or shipped:all")
    count(args.attempts, "attempts")
    count(args.random_levels, "random-levels")
    count(args.cvar_levels, "cvar-levels")
    if not SEED_RANGE[0] <= args.seed <= SEED_RANGE[1]:
        raise ConfigError(f"seed: must be in [{SEED_RANGE[0]}, {SEED_RANGE[1]}], got {args.seed}")
    check_output_file(args.out / "report.md", files=[args.out / "report.html"])
    protocol = Protocol(
        suites=args.suite,
        attempts=args.attempts,
        random_levels=args.random_levels,
        cvar_levels=args.cvar_levels,
        seed=args.seed,
    )
    bench = None
    if args.bench is not None:
        from .report import bench_seconds

        if not args.bench.is_file():
            raise ConfigError(f"bench: no such file {args.bench}")
        bench = bench_seconds(args.bench)
    path = write_report(list(args.runs), args.out, protocol, html_page=args.html, bench=bench)
    print(path.read_text().split("\n## ", 2)[1].split("\n", 1)[1].strip())  # the main table
    print(f"\nwrote {path}" + (f" and {args.out / 'report.html'}" if args.html else ""))
    return 0


@dataclasses.dataclass
class ShipArgs:
    """Package a finished run as a shipped agent: parameters only, config, training logs,
    curriculum snapshots and the report's evaluations."""

    run: Annotated[Path, tyro.conf.Positional]
    """A finished run directory written by `ued train`."""
    name: str
    """The shipped agent's name (ued eval shipped:NAME)."""
    out: Path = Path("checkpoints")
    """Folder the agent goes into (as out/NAME)."""


def ship_main(argv: list[str]) -> int:
    """``ued ship``."""
    from .packaging import ship

    args = parse(ShipArgs, args=argv, prog="ued ship")
    path = ship(args.run, args.name, args.out)
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    print(f"shipped {args.run} as {path} ({size / 1e3:.0f} kB)")
    return 0


COMMANDS = {
    "train": functools.partial(run_main, TrainArgs),
    "eval": eval_main,
    "bench": bench_main,
    "meta-train": functools.partial(run_main, MetaTrainArgs),
    "meta-eval": meta_eval_main,
    "report": report_main,
    "ship": ship_main,
}
USAGE = """usage: ued [--plugins MODULE[,MODULE...]] COMMAND [options]

commands: train, eval, report, ship, bench, meta-train, meta-eval

  ued train --algo dr --env maze --preset cpu --out checkpoints/my-run
  ued eval checkpoints/my-run --suite classic --out results/eval.csv
  ued eval shipped:ncc-reg --suite classic          # an agent shipped with the library
  ued report shipped:all checkpoints/my-run --out results/report --html
  ued bench --preset paper --algo dr
  ued meta-train --algo lpg --env gridworld --preset cpu --out checkpoints/lpg
  ued meta-eval checkpoints/lpg --suite lpg-grids mazes --out results/lpg_eval.csv
  ued --plugins my_envs train --env my-env --algo robust-plr   # an env registered by my_envs

Run `ued <command> --help` for the options of each command."""


def load_plugins(argv: list[str]) -> list[str]:
    """Import the modules named by a leading ``--plugins a.b,c`` (each registers its envs or
    curricula in ``ued.registry`` on import); returns the remaining arguments."""
    import importlib

    if not argv or argv[0] != "--plugins":
        return argv
    if len(argv) < 2:
        raise ConfigError("plugins: expected comma-separated module names after --plugins")
    for name in filter(None, argv[1].split(",")):
        try:
            importlib.import_module(name)
        except ImportError as error:
            raise ConfigError(f"plugins: cannot import {name!r}: {error}") from None
    return argv[2:]


def enable_compilation_cache() -> str | None:
    """Turn on JAX's persistent compilation cache, so a program compiled once (a training
    chunk, an evaluation) loads in seconds the next time: ``$UED_JAX_CACHE`` (default
    ``~/.cache/ued/jax``; ``off`` disables it). A cache already configured (e.g. by
    ``JAX_COMPILATION_CACHE_DIR``) is left alone. Returns the directory in use, or None."""
    import os

    import jax

    configured = jax.config.jax_compilation_cache_dir
    if configured:
        return configured
    choice = os.environ.get("UED_JAX_CACHE", "~/.cache/ued/jax")
    if choice.lower() == "off":
        return None
    directory = os.path.expanduser(choice)
    jax.config.update("jax_compilation_cache_dir", directory)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 1.0)
    return directory


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``ued`` console script."""
    import matplotlib

    matplotlib.use("Agg")  # files only: never open windows from the command line
    enable_compilation_cache()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        initialize_distributed()  # a multi-process run, if UED_COORDINATOR says so
        argv = load_plugins(argv)
    except ConfigError as error:
        print(f"ued: error: {error}", file=sys.stderr)
        return 2
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        print(USAGE, file=sys.stderr if argv and argv[0] not in ("-h", "--help") else sys.stdout)
        if argv and argv[0] not in ("-h", "--help"):
            print(f"\nued: unknown command {argv[0]!r}", file=sys.stderr)
            return 2
        return 0
    try:
        return COMMANDS[argv[0]](argv[1:])
    except USER_ERRORS as error:
        print(f"ued {argv[0]}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
