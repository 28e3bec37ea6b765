"""The one host loop: ``run(program, out)`` runs any ``ued.program.Program`` to completion.

It owns the run directory: ``config.json``, ``metrics.csv`` (one row per update and seed),
``eval.csv`` (tidy evaluation rows), ``curriculum.csv`` (diagnostics), orbax checkpoints under
``checkpoints/<update>/``, ``plots/`` and ``run.json``. The jitted chunk is compiled once, ahead of
time; between chunks the host writes rows, updates the progress bar, evaluates, inspects and
checkpoints. A killed run resumes from its last checkpoint and ends byte-identical to an
uninterrupted one: the CSVs first drop the rows written after that checkpoint.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from . import guard, parallel
from .checkpoint import Checkpointer, newest_intact
from .errors import CheckpointError, DamagedCheckpointError, DivergenceError, RunError
from .loggers import Loggers
from .logging import CsvLog
from .outputs import check_new_run_directory
from .program import Program


@dataclasses.dataclass
class RunResult:
    """What ``run`` reports back."""

    out: Path
    updates: int
    compile_s: float
    train_s: float
    steps_per_s: float
    final_metrics: dict[str, float]


@dataclasses.dataclass
class _Logs:
    metrics: CsvLog
    evaluations: CsvLog
    diagnostics: CsvLog
    others: Loggers


def check_run_directory(out: Path, resume: bool) -> None:
    """Before anything is compiled: a resumed run must exist and hold a complete checkpoint; a
    new run gets a folder it can write (created here) and never overwrites a run. With several
    processes, every one checks a resumed run (orbax synchronises them) and process 0 alone
    checks and creates a new one."""
    if not resume and not parallel.is_writer():
        return
    ckpt_dir = out / "checkpoints"
    if resume:
        check_run_folder(out)
        steps = Checkpointer(ckpt_dir).all_steps() if ckpt_dir.is_dir() else []
        if not steps:
            raise CheckpointError(f"--resume {out}: no complete checkpoint under {ckpt_dir}")
    else:
        check_new_run_directory(out)


def check_run_folder(out: Path) -> None:
    """Raise ``RunError`` (``--resume out: ...``) unless ``out`` is a folder."""
    if not out.is_dir():
        problem = "not a folder" if out.exists() else "no such run directory"
        raise RunError(f"--resume {out}: {problem}")


def check_checkpoint_config(program, checkpointer: Checkpointer, step: int, out: Path) -> None:
    """Refuse a checkpoint written under another config, naming the differing fields."""
    saved = checkpointer.metadata(step).get("config", {})
    changed = program.config_differences(saved)
    if changed:
        raise CheckpointError(
            f"checkpoint {step} under {out / 'checkpoints'} was written by a different config than "
            f"{out / 'config.json'}: fields {changed} differ"
        )


def _save_config(program, out: Path) -> None:
    tmp = out / "config.json.tmp"
    tmp.write_text(json.dumps(program.config_dict(), indent=2, sort_keys=True) + "\n")
    tmp.replace(out / "config.json")


def read_intact(program, checkpointer: Checkpointer, step: int, out: Path, abstract) -> Any:
    """Checkpoint ``step``'s state, checked against the run's config; raises
    ``DamagedCheckpointError`` if it cannot be read back intact or holds non-finite values."""
    check_checkpoint_config(program, checkpointer, step, out)
    state, _ = checkpointer.restore(step, abstract)
    leaf = guard.nonfinite_state(state)
    if leaf is not None:
        raise DamagedCheckpointError(
            f"checkpoint {checkpointer.directory / str(step)} holds NaN or inf in {leaf}"
        )
    return state


def state_layout(program) -> Any:
    """The ``NamedSharding`` of every state leaf when ``program`` runs on several devices (its
    ``parallel`` mesh and ``state_axes``), else None."""
    mesh = program.parallel
    if mesh is None:
        return None
    return mesh.layout(program.state_axes(jax.eval_shape(program.init, program.seed_keys())))


def abstract_state(program, layout=None) -> Any:
    """The shapes and dtypes of ``program``'s state, laid out as ``layout`` if given (what a
    checkpoint is restored into)."""
    abstract = jax.eval_shape(program.init, program.seed_keys())
    if layout is None:
        return abstract
    return jax.tree_util.tree_map(
        lambda leaf, sharding: jax.ShapeDtypeStruct(leaf.shape, leaf.dtype, sharding=sharding),
        abstract,
        layout,
    )


def restore_newest_intact(
    program, checkpointer: Checkpointer, out: Path, log, layout=None
) -> tuple[Any, int]:
    """The newest checkpoint that reads back intact, and its step. Each damaged newer one is
    named with its problem and moved into ``damaged-checkpoints/`` (kept, and out of the way of
    the resumed run's own saves); if none is intact, raise ``CheckpointError`` naming the run
    and every problem. A checkpoint of another config is not damage: that error stops. The
    state is read in ``layout`` (see ``state_layout``) if given."""
    abstract = abstract_state(program, layout)
    step, state = newest_intact(
        checkpointer.all_steps(),
        lambda s: read_intact(program, checkpointer, s, out, abstract),
        log,
        f"--resume {out}",
    )
    if parallel.is_writer():
        for damaged in [s for s in checkpointer.all_steps() if s > step]:
            moved = checkpointer.set_aside(damaged, out / "damaged-checkpoints")
            log(f"moved damaged checkpoint {damaged} to {moved}")
    parallel.sync("ued-set-aside")
    checkpointer.reload()
    return state, step


def _start(program, checkpointer: Checkpointer, out: Path, resume: bool, log, layout):
    """The state to start from and its update: a fresh one, or the newest intact checkpoint's,
    laid out over the program's devices (``layout``) if it has several."""
    if not resume:
        if parallel.is_writer():
            _save_config(program, out)
        init = jax.jit(program.init, **({} if layout is None else {"out_shardings": layout}))
        return init(program.seed_keys()), 0
    state, start = restore_newest_intact(program, checkpointer, out, log, layout)
    saved = json.loads((out / "config.json").read_text())
    if saved.get("updates") != program.config.updates:
        log(
            f"extending {out} to {program.config.updates} updates: the learning-rate schedule of "
            "the remaining updates follows the new total"
        )
    if parallel.is_writer() and saved != program.config_dict():
        _save_config(program, out)  # a longer run, other devices or other checkpoints kept
    log(f"resuming {out} from update {start} of {program.config.updates}")
    return state, start


def _open_logs(program, out: Path, start: int, loggers: Sequence[str]) -> _Logs:
    """The run's CSVs, keeping only the rows an uninterrupted run would have at ``start``, and
    the other ``loggers`` chosen (``ued.loggers``)."""
    return _Logs(
        metrics=CsvLog(out / "metrics.csv", keep=lambda r: int(r["update"]) < start),
        evaluations=CsvLog(out / "eval.csv", keep=lambda r: int(r["update"]) <= start),
        diagnostics=CsvLog(out / "curriculum.csv", keep=lambda r: int(r["update"]) <= start),
        others=Loggers(loggers, out, program.config.seed_list, program.config_dict(), start),
    )


def laid_out_chunk(chunk, mesh, layout):
    """``chunk`` whose new state keeps ``layout`` (so the next call reuses the compiled chunk)
    and whose other outputs are whole on every device (so every process can read them)."""

    def run(state, start):
        state, *rest = chunk(state, start)
        state = jax.tree_util.tree_map(jax.lax.with_sharding_constraint, state, layout)
        return state, *mesh.replicate(tuple(rest))

    return run


def _compile(program, state, start: int, log, layout=None):
    """The chunk with the divergence guard's state check, compiled once ahead of time (laid
    out over the program's devices if it has several)."""
    t0 = time.perf_counter()
    chunk = guard.guarded_chunk(program.chunk)
    if layout is not None:
        chunk = laid_out_chunk(chunk, program.parallel, layout)
    compiled = jax.jit(chunk, donate_argnums=0).lower(state, jnp.int32(start)).compile()
    compile_s = time.perf_counter() - t0
    log(f"compiled the chunk ({program.config.updates_per_chunk} updates) in {compile_s:.1f}s")
    return compiled, compile_s


def metric_rows(program, metrics: dict[str, np.ndarray], start: int) -> list[dict[str, Any]]:
    """One row per update and seed: ``update, env_steps, seed`` and every metric."""
    config = program.config
    seeds = config.seed_list
    rows = []
    for i in range(config.updates_per_chunk):
        update = start + i
        for j, seed in enumerate(seeds):
            row = {
                "update": update,
                "env_steps": (update + 1) * program.steps_per_update,
                "seed": seed,
            }
            for name in sorted(metrics):
                value = metrics[name][i]
                row[name] = value[j] if len(seeds) > 1 else value
            rows.append(row)
    return rows


def check_divergence(program, metrics, health, names, start: int, checkpointer, out) -> None:
    """Stop a run whose chunk from update ``start`` produced a non-finite loss or left a
    non-finite parameter or score in its state (``health``, ``bool[L]`` over the guarded leaves
    ``names``), before that state is evaluated or checkpointed."""
    loss = guard.first_bad_loss(metrics, start, program.config.seed_list)
    problem = None if loss is None else f"at {loss}"
    if problem is None:
        leaf = guard.first_bad_state_leaf(names, health)
        if leaf is None:
            return
        done = start + program.config.updates_per_chunk
        problem = f"by update {done - 1}: {leaf} holds NaN or inf"
    last = checkpointer.latest_step()
    intact = (
        f"the last intact checkpoint is {checkpointer.directory / str(last)} (update {last})"
        if last is not None
        else "no checkpoint was saved before it"
    )
    raise DivergenceError(
        f"{out}: the run diverged {problem}; it stopped without checkpointing that state, "
        f"and {intact}"
    )


def _progress_bar(program, start: int, enabled: bool):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=program.config.updates, initial=start, unit="upd", dynamic_ncols=True)


def _observe(program, logs: _Logs | None, state, update: int, aux, evaluated: bool, out: Path):
    """Evaluation (at evaluation points) and diagnostics after a chunk (or at update 0), by the
    process that writes (``logs``; None elsewhere) on its own copy of the state."""
    state, aux = parallel.to_host((state, aux))  # a collective when the state spans processes
    if logs is None:
        return
    evaluations = program.evaluate(state, update, out.name) if evaluated else []
    logs.evaluations.write(evaluations)
    diagnostics = program.inspect(state, update, aux, evaluated, out / "plots")
    logs.diagnostics.write(diagnostics)
    if logs.others:
        logs.others.observed(update, evaluations, diagnostics)


def _write_run_json(out: Path, program, result: RunResult, train_s_total: float | None) -> None:
    mesh = program.parallel
    record = {
        "compile_s": result.compile_s,
        "train_s": result.train_s,
        "train_s_total": train_s_total,
        "steps_per_s": result.steps_per_s,
        "device": str(jax.devices()[0]),
        "devices": 1 if mesh is None else mesh.size,
        "updates": program.config.updates,
    }
    (out / "run.json").write_text(json.dumps(record, indent=2) + "\n")


def _chunks(program, compiled, state, start, out, checkpointer, logs, bar, on_chunk, earlier_s):
    """The chunks from update ``start`` to the end: metrics written, divergence checked,
    progress shown, evaluations and checkpoints at their updates. Returns ``(train_s, env
    steps, the last update's mean metrics, the last chunk's aux)``."""
    config = program.config
    steps_per_chunk = config.updates_per_chunk * program.steps_per_update * len(config.seed_list)
    train_s, steps, last, aux = 0.0, 0, {}, None
    guarded = guard.guarded_names(state)
    for chunk_start in range(start, config.updates, config.updates_per_chunk):
        t = time.perf_counter()
        state, metrics, aux, health = compiled(state, jnp.int32(chunk_start))
        metrics, health = parallel.to_host(jax.block_until_ready((metrics, health)))
        metrics = jax.tree_util.tree_map(np.asarray, metrics)
        elapsed = time.perf_counter() - t
        train_s, steps = train_s + elapsed, steps + steps_per_chunk
        rows = metric_rows(program, metrics, chunk_start)
        if logs is not None:
            logs.metrics.write(rows)
            if logs.others:
                logs.others.metrics(rows)
        check_divergence(program, metrics, health, guarded, chunk_start, checkpointer, out)
        done = chunk_start + config.updates_per_chunk
        if on_chunk is not None and logs is not None:
            on_chunk(done, rows)
        last = {k: float(np.mean(v[-1])) for k, v in metrics.items()}
        if bar is not None:
            bar.update(config.updates_per_chunk)
            bar.set_postfix(
                steps=done * program.steps_per_update,
                sps=f"{steps_per_chunk / elapsed:,.0f}",
                **program.progress(last),
            )
        is_last = done == config.updates
        evaluated = bool(config.eval_every and done % config.eval_every == 0) or is_last
        _observe(program, logs, state, done, aux, evaluated, out)
        if done % config.checkpoint_every == 0 or is_last:
            total_s = None if earlier_s is None else earlier_s + train_s
            checkpointer.save(
                done,
                state,
                {"update": done, "config": program.config_dict(), "train_s_total": total_s},
            )
    return train_s, steps, last, aux


def run(
    program: Program,
    out: Path,
    *,
    resume: bool = False,
    progress: bool = True,
    log=print,
    on_chunk=None,
    loggers: Sequence[str] = ("csv",),
) -> RunResult:
    """Run ``program`` (or continue it from its last checkpoint) and write everything under
    ``out``. Returns a ``RunResult``. ``loggers`` (``ued.loggers.LOGGERS``) mirror the CSVs
    to TensorBoard or wandb.

    ``on_chunk(updates_done, rows)``, if given, is called on the host after every chunk's rows
    are written (and before any evaluation or checkpoint of that chunk): live plots in a
    notebook, or an exception to stop the run.
    """
    out = Path(out)
    config = program.config
    writer = parallel.is_writer()  # with several processes, only process 0 writes files
    check_run_directory(out, resume)
    if writer:
        (out / "plots").mkdir(parents=True, exist_ok=True)
    parallel.sync("ued-run-directory")
    checkpointer = Checkpointer(out / "checkpoints", max_to_keep=config.keep_checkpoints or None)
    logs, bar = None, None
    try:  # the checkpointer, loggers and progress bar are released however the run ends
        layout = state_layout(program)
        state, start = _start(program, checkpointer, out, resume, log, layout)
        # Training seconds before this process, across resumes (None: a checkpoint predating it).
        earlier_s = checkpointer.metadata(start).get("train_s_total") if start else 0.0
        logs = _open_logs(program, out, start, loggers) if writer else None
        compiled, compile_s = _compile(program, state, start, log, layout)
        if start == 0 and config.eval_every:
            _observe(program, logs, state, 0, None, True, out)
        bar = _progress_bar(program, start, progress and writer)
        train_s, steps, last, aux = _chunks(
            program, compiled, state, start, out, checkpointer, logs, bar, on_chunk, earlier_s
        )
    finally:
        if bar is not None:
            bar.close()
        checkpointer.close()
        if logs is not None:
            logs.others.close()
    if writer:
        program.plots(out, aux)
    result = RunResult(
        out=out,
        updates=config.updates,
        compile_s=compile_s,
        train_s=train_s,
        steps_per_s=steps / train_s if train_s else float("nan"),
        final_metrics=last,
    )
    if writer:
        _write_run_json(out, program, result, None if earlier_s is None else earlier_s + train_s)
    return result
