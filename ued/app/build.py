"""The composition root: builds env, learner, curriculum and program from a config.

Importing it declares the built-in env families and algorithms (``ued.app.builtins``: each is
imported when a config first names it); the CLI, ``ued bench``, the notebooks and the tests all
build through it. Everything else in ``ued`` works from ``ued.registry`` alone, so an env or a
curriculum registered by user code is built exactly like a built-in one.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import jax

from .. import config as config_lib
from .. import guard, registry, shipped
from ..checkpoint import Checkpointer, newest_intact, skip_damaged
from ..config import TrainConfig
from ..env import EnvSpec
from ..errors import CheckpointError, ConfigError, DamagedCheckpointError, RunError
from ..learner import Learner
from ..loggers import check_available as check_loggers
from ..loop import RunResult, check_run_directory, check_run_folder
from ..loop import run as run_program
from ..meta import config as meta_config
from ..meta.config import MetaTrainConfig
from ..meta.program import MetaProgram
from ..program import Program
from ..train import UEDProgram, seed_keys, seed_slice
from . import builtins  # noqa: F401  (declares the built-in envs and algorithms)

__all__ = [
    "META_TRAINING",
    "TRAINING",
    "LoadedRun",
    "RunKind",
    "build",
    "build_meta",
    "evaluate_runs",
    "load_run",
    "make_learner",
    "meta_evaluate",
    "meta_train",
    "preset",
    "resume_config",
    "run",
    "train",
]


def _stderr(message: str) -> None:
    """Warnings of evaluation commands, off the table they print on stdout."""
    print(message, file=sys.stderr)


def preset(algo: str = "dr", env: str = "maze", name: str = "cpu") -> TrainConfig:
    """The config of ``algo`` on ``env`` at preset ``name`` (``test``, ``cpu`` or ``paper``)."""
    return config_lib.preset_config(algo, env, name)


def make_learner(config: TrainConfig, spec: EnvSpec, env) -> Learner:
    """The student: the registered learner ``config.learner`` over the env's observation
    encoder."""
    return registry.LEARNERS.get(config.learner).make(
        env.num_actions,
        spec.make_encoder(config.env_config),
        config.network,
        config.ppo,
        env.action_dim,
    )


def build(config: TrainConfig, validate: bool = True) -> UEDProgram:
    """The UED training program for ``config`` (validated first, so a bad config fails before
    anything is compiled). The program holds the env, its spec, the curriculum and the learner."""
    if validate:
        config_lib.validate(config)
    spec = registry.ENVS.get(config.env)
    env = spec.build(config.env_config)
    curriculum = registry.ALGORITHMS.get(config.algo).make(env, spec, config)
    return UEDProgram(config, env, spec, curriculum, make_learner(config, spec, env))


def build_meta(config: MetaTrainConfig, validate: bool = True) -> Program:
    """The meta-training program for a ``MetaTrainConfig`` (validated first): the
    meta-algorithm's own (LPO's ``DriftMetaProgram``), else LPG's ``MetaProgram``."""
    if validate:
        meta_config.validate(config)
    spec = registry.ENVS.get(config.env)
    program = registry.META_ALGORITHMS.get(config.algo).program or MetaProgram
    return program(config, spec.build(config.env_config), spec)


@dataclasses.dataclass(frozen=True)
class RunKind:
    """What differs between the two kinds of run on the host loop, UED training (``TRAINING``)
    and meta-training (``META_TRAINING``): how a config is made, read, checked and built.

    Attributes:
        command: the ``ued`` command; prefix: of its default run directory's name.
        preset: ``(algo, env, preset name) -> config``; config_type: ``config ->`` the concrete
        config class that parses overrides; sources: ``(preset name, algo) ->`` where the
        preset's settings come from (``--help-config``); load: ``path -> config`` (validated);
        validate; from_dict; build: ``(config, validate) -> Program``; noun: what an update is
        called in messages; steps: what its env steps are called.
    """

    command: str
    prefix: str
    preset: Callable[[str, str, str], Any]
    config_type: Callable[[Any], type]
    sources: Callable[[str, str], str]
    load: Callable[[Path], Any]
    validate: Callable[[Any], Any]
    from_dict: Callable[[dict], Any]
    build: Callable[..., Any]
    noun: str
    steps: str


TRAINING = RunKind(
    command="train",
    prefix="",
    preset=preset,
    config_type=lambda c: TrainConfig[
        registry.ENVS.get(c.env).Config, registry.ALGORITHMS.get(c.algo).Config
    ],
    sources=lambda name, algo: registry.ALGORITHMS.get(algo).sources(name),
    load=config_lib.load,
    validate=config_lib.validate,
    from_dict=config_lib.from_dict,
    build=build,
    noun="update",
    steps="env steps",
)
"""``ued train``."""

META_TRAINING = RunKind(
    command="meta-train",
    prefix="meta-",
    preset=meta_config.preset,
    config_type=lambda c: MetaTrainConfig[
        registry.ENVS.get(c.env).Config, registry.META_ALGORITHMS.get(c.algo).Config
    ],
    sources=meta_config.preset_sources,
    load=meta_config.load,
    validate=meta_config.validate,
    from_dict=meta_config.from_dict,
    build=build_meta,
    noun="meta-step",
    steps="inner env steps",
)
"""``ued meta-train``."""

KINDS = {kind.command: kind for kind in (TRAINING, META_TRAINING)}
"""The run kinds by command."""


def resume_config(out: Path, changes=None, kind: RunKind = TRAINING):
    """A run's own config from ``out/config.json``; only the ``ued.config.RESUMABLE`` fields
    (updates, kept checkpoints, devices) may change on resume, taken from ``changes`` if
    given. ``RunError`` if ``out`` is not a folder."""
    check_run_folder(Path(out))
    config = kind.load(Path(out) / "config.json")
    if changes is not None:
        config = dataclasses.replace(
            config, **{name: getattr(changes, name) for name in config_lib.RESUMABLE}
        )
    return kind.validate(config)


def run(
    kind: RunKind,
    config,
    out: Path,
    *,
    resume: bool = False,
    progress: bool = True,
    log=print,
    on_chunk=None,
    loggers: Sequence[str] = ("csv",),
) -> RunResult:
    """Train (or continue) a run of ``kind`` and write everything under ``out`` (see
    ``ued.loop.run``; ``loggers``: ``ued.loggers.LOGGERS``). When resuming, the run's own
    ``config.json`` is used, with the fields a resume may change (``ued.config.RESUMABLE``)
    taken from ``config`` if one is given. Everything is checked before anything is written."""
    if resume:
        config = resume_config(out, config, kind)
    kind.validate(config)
    check_run_directory(Path(out), resume)  # before building or compiling anything
    check_loggers(loggers)
    program = kind.build(config, validate=False)
    return run_program(
        program, out, resume=resume, progress=progress, log=log, on_chunk=on_chunk, loggers=loggers
    )


def train(config: TrainConfig | None, out: Path, **options) -> RunResult:
    """UED training: ``run(TRAINING, config, out, **options)``."""
    return run(TRAINING, config, out, **options)


def meta_train(config: MetaTrainConfig | None, out: Path, **options) -> RunResult:
    """Meta-training: ``run(META_TRAINING, config, out, **options)``."""
    return run(META_TRAINING, config, out, **options)


def meta_evaluate(
    runs: Sequence[Path],
    suites: Sequence[str],
    *,
    num_levels: int,
    lifetime: int | None,
    out: Path,
    steps: Sequence[int] | str = (),
    env: str | None = None,
    log=_stderr,
) -> str:
    """``ued meta-eval``: for every seed of every meta-training run, at each checkpoint of
    ``steps`` (default the latest; ``"all"``: every checkpoint and the initial rule, step 0),
    train fresh agents with its rule and with the baselines (LPG: A2C; LPO: PPO and DPO) for
    the same lifetime on every level of ``suites``. Writes the tidy CSV ``out``, the agents'
    learning curves next to it (``<out>_curves.csv`` and ``.png``), with several steps the
    normalised returns over
    meta-training (``<out>_progress.png``), and a Markdown summary (``<out>.md``: mean over
    levels, then mean ± s.e. over seeds); returns the summary. ``env``: evaluate on that env
    family instead of the run's (a held-out env; the meta-algorithm's ``retarget``), the rows'
    run named ``<run>@<env>``."""
    from ..logging import CsvLog
    from ..plots import lifetime_curves, meta_eval_progress

    rows: list[dict[str, Any]] = []
    curve_rows: list[dict[str, Any]] = []
    for run in map(Path, runs):
        # Evaluation runs on this process's default device, whatever the run trained on.
        config = dataclasses.replace(meta_config.load(run / "config.json"), devices=1)
        config = dataclasses.replace(
            config,
            eval_suites=tuple(suites),
            eval_levels=num_levels,
            eval_lifetime=config.eval_lifetime if lifetime is None else lifetime,
        )
        program, evaluator, name = build_meta(config), None, run.name
        if env is not None and env != config.env:
            retarget = registry.META_ALGORITHMS.get(config.algo).retarget
            if retarget is None:
                raise ConfigError(
                    f"env: {config.algo}'s rule is tied to the env it was meta-trained on "
                    f"({config.env}); --env evaluates LPO's drift on another env"
                )
            registry.ENVS.get(env)
            evaluator, name = build_meta(retarget(config, env)), f"{run.name}@{env}"
        for step, state in _meta_states(program, run, steps, log):
            # The run's own program restores its state; another env's evaluates its rule.
            more, curves = (evaluator or program).evaluate_with_curves(state, step, name)
            rows += more
            curve_rows += curves
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    CsvLog(out).write(rows)
    curves_csv = out.with_name(out.stem + "_curves.csv")
    CsvLog(curves_csv).write(curve_rows)
    lifetime_curves(curve_rows, curves_csv.with_suffix(".png"))
    if len({int(r["update"]) for r in rows}) > 1:
        meta_eval_progress(rows, out.with_name(out.stem + "_progress.png"))
    table = meta_summary(rows)
    out.with_suffix(".md").write_text(table + "\n")
    return table


def _meta_states(program, run: Path, steps: Sequence[int] | str, log) -> list[tuple[int, Any]]:
    """``(step, state)`` of the checkpoints ``meta_evaluate`` asked for: the newest intact one
    by default, every intact one and the initial rule (step 0) for ``"all"`` (damaged ones
    skipped and named), and exactly the steps asked for otherwise."""
    checkpointer = Checkpointer(run / "checkpoints")
    saved = checkpointer.all_steps()
    if not saved:
        raise CheckpointError(f"{run}: no complete checkpoint under {run / 'checkpoints'}")
    abstract = jax.eval_shape(program.init, program.seed_keys())

    def read(step):
        state, _ = checkpointer.restore(step, abstract)
        leaf = guard.nonfinite_state(state)
        if leaf is not None:
            where = checkpointer.directory / str(step)
            raise DamagedCheckpointError(f"checkpoint {where} holds NaN or inf in {leaf}")
        return state

    try:
        if not steps:
            return [newest_intact(saved, read, log, str(run))]
        states = []
        for step in [0, *saved] if steps == "all" else steps:
            if step == 0 and 0 not in saved:
                states.append((0, jax.jit(program.init)(program.seed_keys())))  # the initial rule
            elif step not in saved:
                raise CheckpointError(f"{run}: no checkpoint {step} (have 0 and {saved})")
            elif steps == "all":
                states += skip_damaged(step, read, log)
            else:
                states.append((step, read(step)))
        return states
    finally:
        checkpointer.close()


META_STATISTICS = ("lifetime", "lpg_return", "a2c_return", "untrained_return", "lpo_return",
                   "ppo_return", "dpo_return", "normalised", "gain_normalised",
                   "oracle_normalised", "oracle_gain")  # fmt: skip
"""The columns of ``meta_summary``, in order (those the rows have: LPG's or LPO's)."""


def meta_summary(rows: list[dict[str, Any]]) -> str:
    """Markdown: per run, meta-step and suite, each statistic's mean over levels (NaN-aware),
    then mean ± s.e. over seeds. A statistic that is undefined on some levels (a normalised
    return whose denominator is not clearly positive) says how many level-seed pairs its mean
    covers, e.g. ``0.41 ± 0.03 (37/40)``."""
    import numpy as np

    names = [name for name in META_STATISTICS if any(r["statistic"] == name for r in rows)]
    head = "| run | step | suite | seeds | " + " | ".join(names) + " |"
    lines = [head, "|---" * (len(names) + 4) + "|"]
    groups = {(r["run"], int(r["update"]), r["suite"]) for r in rows}
    for run, step, suite in sorted(groups):
        mine = [r for r in rows if (r["run"], int(r["update"]), r["suite"]) == (run, step, suite)]
        seeds = sorted({r["seed"] for r in mine})
        cells = []
        for name in names:
            values = [[r["value"] for r in mine if r["seed"] == s and r["statistic"] == name]
                      for s in seeds]  # fmt: skip
            flat = np.array([v for per in values for v in per], np.float64)
            per_seed = np.array([np.nanmean(v) if np.isfinite(v).any() else np.nan
                                 for v in values], np.float64)  # fmt: skip
            per_seed = per_seed[~np.isnan(per_seed)]
            if per_seed.size == 0:
                cells.append("-" if flat.size == 0 else f"- (0/{flat.size})")
                continue
            se = per_seed.std(ddof=1) / np.sqrt(per_seed.size) if per_seed.size > 1 else np.nan
            cell = f"{per_seed.mean():.3f}" + ("" if np.isnan(se) else f" ± {se:.3f}")
            covered = int(np.isfinite(flat).sum())
            cells.append(cell if covered == flat.size else f"{cell} ({covered}/{flat.size})")
        lines.append(f"| {run} | {step} | {suite} | {len(seeds)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


@dataclasses.dataclass
class LoadedRun:
    """A trained run read back from disk (for evaluation).

    Attributes:
        name: the run directory's name; config: its config; env, spec: the training env and its
        registry entry; learner: the student's learner; step: the checkpoint read;
        seed_params: the student's parameters, one per seed.
    """

    name: str
    config: TrainConfig
    env: Any
    spec: EnvSpec
    learner: Learner
    step: int
    seed_params: list[Any]


def load_run(out: Path, step: int | None = None, iterate: str = "last", log=_stderr) -> LoadedRun:
    """Read a run directory's config and the student parameters of checkpoint ``step`` (by
    default the newest intact one: damaged newer ones are skipped and named through ``log``)
    for every seed: the ``last`` iterate, or the ``best`` one (smallest policy-gradient norm,
    for runs with ``ppo.track_best_iterate``). Fails with ``CheckpointError`` /
    ``ConfigError`` naming the problem before anything is compiled."""
    from ..loop import check_checkpoint_config

    out = shipped.resolve(out)
    if not out.is_dir():
        raise RunError(f"{out}: {'not a folder' if out.exists() else 'no such run directory'}")
    # Evaluation runs on this process's default device, whatever the run trained on.
    config = dataclasses.replace(config_lib.load(out / "config.json"), devices=1)
    if shipped.is_shipped(out):
        return _load_shipped(out, config, step, iterate)
    ckpt_dir = out / "checkpoints"
    checkpointer = Checkpointer(ckpt_dir) if ckpt_dir.is_dir() else None
    steps = checkpointer.all_steps() if checkpointer else []
    if not steps:
        raise CheckpointError(f"{out}: no complete checkpoint under {ckpt_dir}")
    if step is not None and step not in steps:
        raise CheckpointError(f"{out}: no checkpoint at step {step} (have {steps})")
    program = build(config)
    abstract = jax.eval_shape(program.init, seed_keys(config)).student
    if iterate == "best" and abstract.best is None:
        raise ConfigError(
            f"iterate: {out} did not track a best iterate (ppo.track_best_iterate is off)"
        )
    # Only the student's parameters are read, so evaluation does not depend on the rest of the
    # train state (curriculum, optimiser) matching this version of the code.
    path = ("student", "best", "params") if iterate == "best" else ("student", "params")

    def read(s: int):
        check_checkpoint_config(program, checkpointer, s, out)
        params = abstract.best.params if iterate == "best" else abstract.params
        stored = checkpointer.restore_subtree(s, path, params)
        leaf = guard.first_nonfinite(stored)
        if leaf is not None:
            where = ckpt_dir / str(s)
            leaf = "/".join(path) + "/" + leaf
            raise DamagedCheckpointError(f"checkpoint {where} holds NaN or inf in {leaf}")
        return stored

    try:
        step, stored = (
            newest_intact(steps, read, log, str(out)) if step is None else (step, read(step))
        )
    finally:
        checkpointer.close()
    return _loaded(out, config, program, step, stored)


def _loaded(out: Path, config: TrainConfig, program, step: int, stored) -> LoadedRun:
    """A ``LoadedRun`` from the students' parameters ``stored`` (seed axis first if several)."""
    several = len(config.seed_list) > 1
    params = [seed_slice(stored, i, several) for i in range(len(config.seed_list))]
    return LoadedRun(out.name, config, program.env, program.spec, program.learner, step, params)


def _load_shipped(out: Path, config: TrainConfig, step: int | None, iterate: str) -> LoadedRun:
    """A shipped agent (``ued.shipped``) read like a run: its last iterate only."""
    final = shipped.manifest(out)["updates"]
    if step not in (None, final):
        raise CheckpointError(f"{out}: a shipped agent holds only update {final}, not {step}")
    if iterate != "last":
        raise ConfigError(f"iterate: shipped agent {out.name} holds only the last iterate")
    program = build(config)
    abstract = jax.eval_shape(program.init, seed_keys(config)).student.params
    return _loaded(out, config, program, final, shipped.read_params(out, abstract))


def evaluate_runs(
    runs: Sequence[Path],
    suites: Sequence[str],
    *,
    attempts: int,
    num_levels: int | None,
    seed: int,
    out: Path,
    step: int | None = None,
    iterate: str = "last",
) -> str:
    """``ued eval``: evaluate every seed of every run on every suite; see
    ``ued.evaluate.evaluate_loaded`` for what is written. Returns the summary table."""
    from ..evaluate import evaluate_loaded

    loaded = [load_run(Path(r), step, iterate) for r in runs]
    return evaluate_loaded(
        loaded, suites, attempts=attempts, num_levels=num_levels, seed=seed, out=out
    )
