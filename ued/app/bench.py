"""``ued bench``: compile time and steady-state throughput, one JSON object per line.

Measurements (every timing waits with ``block_until_ready``; steady state is the median of
``chunks`` timed calls after a warm-up call):

* ``env_only``: the auto-replaying env with uniformly random actions, no network.
* ``rollout``: the student playing (policy forward + sampling + env), no learning.
* ``train``: full training updates of a curriculum (rollout, GAE, curriculum, PPO epochs).

Each line has ``name``, ``preset``, ``algo``, ``steps_per_s``, ``compile_s``, ``device``,
``peak_memory_mb`` and ``traces`` (how many times the timed function was traced: 1 means one
compile). Part of the composition root: configs and programs come from ``ued.app.build``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import platform
import resource
import statistics
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ..env import AutoReplay, random_actions
from ..loop import laid_out_chunk, state_layout
from ..parallel import DataParallel
from ..rollout import Player


def device_name() -> str:
    """The default device, e.g. ``cpu (2 cores)`` or ``NVIDIA H100 80GB HBM3``."""
    device = jax.devices()[0]
    if device.platform == "cpu":
        import os

        return f"cpu ({os.cpu_count()} cores, {platform.processor() or platform.machine()})"
    return getattr(device, "device_kind", str(device))


def peak_memory_mb() -> float:
    """Peak memory: device bytes in use where the backend reports them, else the process's
    resident set."""
    stats = jax.devices()[0].memory_stats() or {}
    if "peak_bytes_in_use" in stats:
        return stats["peak_bytes_in_use"] / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def compile_and_warm(fn, args_fn, warmup: int = 1):
    """Compile ``fn`` ahead of time (timed) and call it ``warmup`` times. ``args_fn(previous
    output)`` returns the next call's arguments (so state can be threaded). Returns
    ``(compile_s, traces, timed_call)``: ``timed_call()`` runs the next call and returns
    ``(seconds, output)``."""
    traces = 0

    def counted(*args):
        nonlocal traces
        traces += 1
        return fn(*args)

    args = args_fn(None)
    t = time.perf_counter()
    compiled = jax.jit(counted).lower(*args).compile()
    compile_s = time.perf_counter() - t
    out = None
    for _ in range(max(warmup, 1)):
        out = jax.block_until_ready(compiled(*args_fn(out)))

    def timed_call():
        nonlocal out
        args = args_fn(out)
        t = time.perf_counter()
        out = jax.block_until_ready(compiled(*args))
        return time.perf_counter() - t, out

    return compile_s, traces, timed_call


def time_function(fn, args_fn, chunks: int, warmup: int = 1):
    """Compile ``fn`` (ahead of time, timed), call it ``warmup`` times, then time ``chunks``
    calls (``compile_and_warm``). Returns ``(compile_s, median_s, traces, outputs of the timed
    calls)``."""
    compile_s, traces, timed_call = compile_and_warm(fn, args_fn, warmup)
    times, outputs = zip(*[timed_call() for _ in range(chunks)])
    return compile_s, statistics.median(times), traces, list(outputs)


def _emit(record: dict[str, Any]) -> None:
    print(json.dumps(record), flush=True)


def bench_env_only(env, num_envs: int, num_steps: int, chunks: int, devices: int = 1):
    """Random-action stepping of the auto-replaying env (no network), the batch split over
    ``devices`` devices."""
    wrapped = AutoReplay(env)

    def play(key, state):
        def step(state, key):
            k_act, k_env = jax.random.split(key)
            actions = random_actions(env, k_act, (num_envs,))
            _, state, reward, terminated, truncated, _ = jax.vmap(wrapped.step)(
                jax.random.split(k_env, num_envs), state, actions
            )
            return state, reward.sum() + terminated.sum() + truncated.sum()

        return jax.lax.scan(step, state, jax.random.split(key, num_steps))

    keys = jax.random.split(jax.random.key(0), num_envs)
    levels = jax.vmap(env.sample_level)(keys)
    _, state0 = jax.vmap(wrapped.reset_to_level)(keys, levels)
    mesh = DataParallel.over(devices)
    if mesh is not None:
        mesh.check_divides(num_envs, "env batch")
        state0 = jax.device_put(state0, mesh.spec(0))

    def args(out):
        return (jax.random.key(1), state0 if out is None else out[0])

    return {**_throughput(time_function(play, args, chunks), num_envs, num_steps),
            "devices": devices}  # fmt: skip


def _throughput(timing, num_envs: int, num_steps: int) -> dict[str, Any]:
    compile_s, median, traces, _ = timing
    return {
        "steps_per_s": num_envs * num_steps / median,
        "compile_s": compile_s,
        "traces": traces,
        "num_envs": num_envs,
        "num_steps": num_steps,
    }


def bench_rollout(env, learner, num_envs: int, num_steps: int, chunks: int) -> dict[str, Any]:
    """The student's rollout (policy forward + sampling + env) without learning."""
    player = Player(env, learner)
    params = learner.init(jax.random.key(0), env.dummy_observation()).params
    levels = jax.vmap(env.sample_level)(jax.random.split(jax.random.key(1), num_envs))

    def play(key, params, levels):
        traj, last = player.rollout(key, params, levels, num_steps)
        return traj.rewards.sum() + last.sum()

    timing = time_function(play, lambda out: (jax.random.key(2), params, levels), chunks)
    return _throughput(timing, num_envs, num_steps)


def warmup_updates(config) -> int:
    """Updates to run before timing so the curriculum is in its steady state: a level buffer
    must reach its min-fill before replay (and gradient) updates start."""
    buffer = getattr(config.curriculum, "buffer", None)
    if buffer is None:
        return 0
    return math.ceil(buffer.min_fill * buffer.capacity / config.ppo.num_envs) + 2


def bench_train(config, chunks: int) -> dict[str, Any]:
    """Full training updates of ``config``'s curriculum, ``config.updates_per_chunk`` per call,
    timed in the curriculum's steady state (after ``warmup_updates``). Reports the fraction of
    timed updates that applied a gradient (robust PLR and ACCEL skip it on exploratory levels)."""
    return bench_train_interleaved({"": config}, chunks)[""]


def bench_train_interleaved(configs: dict[str, Any], chunks: int) -> dict[str, dict[str, Any]]:
    """``bench_train`` of several configs (name -> config), each compiled and warmed up first,
    then timed in ``chunks`` rounds that call each once in turn, so a noisy machine's slow
    spells hit every variant alike. Returns name -> record; with several, each record after
    the first has ``ratio``: the median over rounds of the first's chunk time over its own
    (paired per round)."""
    prepared = {name: _prepare_train(config) for name, config in configs.items()}
    times = {name: [] for name in configs}
    outputs = {name: [] for name in configs}
    for _ in range(chunks):
        for name, (_, _, _, timed_call) in prepared.items():
            seconds, out = timed_call()
            times[name].append(seconds)
            outputs[name].append(out)
    records, first = {}, next(iter(configs))
    for name, config in configs.items():
        program, compile_s, traces, _ = prepared[name]
        records[name] = _train_record(
            config, program, compile_s, traces, statistics.median(times[name]), outputs[name]
        )
        if name != first:
            paired = [a / b for a, b in zip(times[first], times[name])]
            records[name]["ratio"] = round(statistics.median(paired), 3)
    return records


def _prepare_train(config):
    """``(program, compile_s, traces, timed_call)`` of ``config``'s training chunk, warmed up
    into the curriculum's steady state."""
    from .build import build

    program = build(config)
    chunk, layout = program.chunk, state_layout(program)
    if layout is not None:  # the env batch split over config.devices devices, as in training
        chunk = laid_out_chunk(chunk, program.parallel, layout)
    init = jax.jit(program.init, **({} if layout is None else {"out_shardings": layout}))
    state0 = init(program.seed_keys())
    per_chunk = config.updates_per_chunk
    warmup_chunks = 1 + math.ceil(warmup_updates(config) / per_chunk)
    calls = 0

    def args(out):
        # Start at update 1: steady-state updates, off the boundaries where periodic curriculum
        # work runs (SFL's refresh, whose cost it logs as curriculum/scoring_env_steps).
        nonlocal calls
        state = state0 if out is None else out[0]
        calls += 1
        return (state, jnp.int32(1 + (calls - 1) * per_chunk))

    return (program, *compile_and_warm(chunk, args, warmup_chunks))


def _train_record(config, program, compile_s, traces, median, outputs) -> dict[str, Any]:
    """One training measurement's JSON record."""
    per_chunk = config.updates_per_chunk
    warmup_chunks = 1 + math.ceil(warmup_updates(config) / per_chunk)
    applied = np.concatenate(
        [np.asarray(o[1]["curriculum/apply_gradient"]).ravel() for o in outputs]
    )
    steps = per_chunk * config.steps_per_update * len(config.seed_list)
    # Curricula that play other learners (PAIRED) log env_steps/<learner> per update.
    per_learner = {
        f"{name.split('/', 1)[1]}_steps_per_s": float(
            np.mean([np.asarray(o[1][name]).sum() for o in outputs]) / median
        )
        for name in sorted(outputs[0][1])
        if name.startswith("env_steps/")
    }
    return {
        "steps_per_s": steps / median,
        **per_learner,
        "compile_s": compile_s,
        "traces": traces,
        "s_per_update": median / per_chunk,
        "updates_per_s": per_chunk / median,
        "gradient_updates_per_s": per_chunk * float(applied.mean()) / median,
        "gradient_fraction": float(applied.mean()),
        "warmup_updates": warmup_chunks * per_chunk,
        "num_envs": config.ppo.num_envs,
        "trained_envs": program.curriculum.trained_envs(config.ppo.num_envs),
        "num_steps": config.ppo.num_steps,
        "devices": 1 if program.parallel is None else program.parallel.size,
        "epochs": config.ppo.epochs,
        "minibatches": config.ppo.minibatches,
        "hidden_size": config.network.hidden_size,
        "lstm_impl": config.network.lstm_impl,
    }


def bench_generator_parts(config, chunks: int) -> dict[str, Any]:
    """The parts of a generator-agent update timed alone, in this process: the generator's
    ``generate`` + ``learn`` on one batch, and one student's rollout + PPO update (domain
    randomisation with the same student settings). PAIRED's update does the generator's part
    once and the student's twice (protagonist, antagonist); the minimax adversary's once each.
    Returns seconds per update of each and ``overhead``: the measured update's cost over that
    sum (filled in by the caller)."""
    from .. import registry
    from .build import build

    program = build(config)
    generator = program.curriculum.generator
    total = config.updates

    def generator_chunk(state, key):
        def body(state, key):
            k_gen, k_learn, k_scores = jax.random.split(key, 3)
            _, state = generator.generate(k_gen, state)
            scores = jax.random.uniform(k_scores, (generator.num_levels,))
            return generator.learn(k_learn, state, scores, jnp.int32(1), total)[0], None

        keys = jax.random.split(key, config.updates_per_chunk)
        return jax.lax.scan(body, state, keys)[0]

    state0 = jax.jit(generator.init)(jax.random.key(0))

    def args(out):
        return (state0 if out is None else out, jax.random.key(1))

    _, median, _, _ = time_function(generator_chunk, args, chunks)
    student = dataclasses.replace(
        config, algo="dr", curriculum=registry.ALGORITHMS.get("dr").Config(resample="update")
    )
    return {
        "generator_s_per_update": median / config.updates_per_chunk,
        "student_s_per_update": bench_train(student, chunks)["s_per_update"],
    }


def bench_update_parts(config, chunks: int) -> dict[str, Any]:
    """Where a training update's time goes, each part timed alone on the same shapes (seconds
    per update, one call per timed call): the student's rollout; GAE; the PPO epochs (LSTM
    forward and backward over every minibatch, with the optimiser); the optimiser alone (clip +
    Adam on the parameters, as many steps as PPO takes); and the whole update (``bench_train``).
    ``other_s`` is the whole update minus the rollout, GAE and PPO epochs: the curriculum,
    level generation and metrics."""
    from .build import build

    program = build(config)
    learner, ppo = program.learner, config.ppo
    player = Player(program.env, learner)
    student = jax.jit(learner.init)(jax.random.key(0), program.env.dummy_observation())
    levels = jax.vmap(program.env.sample_level)(jax.random.split(jax.random.key(1), ppo.num_envs))
    carry = learner.initial_carry(ppo.num_envs)

    def play(key, params):
        return player.rollout(key, params, levels, ppo.num_steps)

    trajectory, last_value = jax.jit(play)(jax.random.key(3), student.params)
    batch = jax.jit(learner.prepare)(trajectory, last_value, carry)

    def learn(key, state, batch):
        return learner.update(key, state, batch, jnp.int32(1), config.updates)[0]

    def optimise(state):
        def step(opt_state, _):
            return learner.optimizer.update(state.params, opt_state, state.params)[::-1]

        return jax.lax.scan(step, state.opt_state, None, length=ppo.epochs * ppo.minibatches)

    def seconds(fn, args_fn):
        return time_function(fn, args_fn, chunks)[1]

    key = jax.random.key(2)
    parts = {
        "rollout_s": seconds(play, lambda out: (key, student.params)),
        "gae_s": seconds(learner.prepare, lambda out: (trajectory, last_value, carry)),
        "ppo_epochs_s": seconds(learn, lambda out: (key, out or student, batch)),
        "optimiser_s": seconds(optimise, lambda out: (student,)),
    }
    update_s = bench_train(config, chunks)["s_per_update"]
    other = update_s - parts["rollout_s"] - parts["gae_s"] - parts["ppo_epochs_s"]
    return {"update_s": update_s, **parts, "other_s": other,
            "num_envs": ppo.num_envs, "num_steps": ppo.num_steps, "epochs": ppo.epochs,
            "minibatches": ppo.minibatches}  # fmt: skip


def bench_meta(config, chunks: int) -> dict[str, Any]:
    """Meta-steps of a ``MetaTrainConfig``, ``updates_per_chunk`` per call: compile time,
    meta-steps/s and the inner agents' env steps/s."""
    from .build import build_meta

    program = build_meta(config)
    state0 = jax.jit(program.init)(program.seed_keys())

    def args(out):
        return (state0 if out is None else out[0], jnp.int32(0))

    compile_s, median, traces, outputs = time_function(program.chunk, args, chunks)
    per_chunk = config.updates_per_chunk * len(config.seed_list)
    antagonist = {}
    if "curriculum/reference_antagonist_env_steps" in outputs[0][1]:  # GROOVE's A2C steps paid,
        for name in ("antagonist_env_steps", "reference_antagonist_env_steps"):
            steps = [np.asarray(out[1][f"curriculum/{name}"]) for out in outputs]
            antagonist[f"{name}_per_meta_step"] = float(np.mean(steps))  # and the reference's
    return {
        "algo": config.algo,
        **antagonist,
        "backend": config.backend,
        "meta_steps_per_s": per_chunk / median,
        "steps_per_s": per_chunk * program.steps_per_update / median,
        "compile_s": compile_s,
        "traces": traces,
        "s_per_meta_step": median / config.updates_per_chunk,
        "population": config.population,
        **program.inner_sizes(),
    }


def run_meta_bench(args) -> list[dict[str, Any]]:
    """``ued bench --program meta-train``: LPG with both backends, and GROOVE (meta-gradient,
    algorithmic regret) with its A2C antagonists' env steps against the reference's scheme, at
    each preset asked for (default: reference and cpu); ``--algo`` times one meta-algorithm
    (``lpo``: OpenES over the drift, default preset cpu, where steps/s counts the members' PPO
    and scoring steps). GROOVE's chunks span a whole lifetime, so that every agent finishes and
    is scored once per timed chunk (agents start together, as in the reference)."""
    import dataclasses as dc

    from .. import registry
    from ..meta.config import preset, validate
    from . import builtins  # noqa: F401  (declares the built-in env families)

    records, env = [], args.env
    variants = (("lpg", "gradient"), ("lpg", "es"), ("groove", "gradient"))
    if args.algo is not None:
        variants = tuple(v for v in variants if v[0] == args.algo) or ((args.algo, "es"),)
    default = ["cpu"] if args.algo == "lpo" else ["reference", "cpu"]
    for name in [args.preset] if args.preset else default:
        for algo, backend in variants:
            config = dc.replace(preset(algo, env, name), backend=backend)
            per_chunk = args.updates_per_chunk
            if algo == "groove":  # a whole lifetime per chunk: each agent is scored once in it
                lifetime = registry.ENVS.get(env).build(config.env_config).max_lifetime
                per_chunk = max(per_chunk, -(-lifetime // config.unroll))
            config = dc.replace(
                config,
                updates_per_chunk=per_chunk,
                updates=10 * per_chunk,
                eval_every=0,
                checkpoint_every=10 * per_chunk,
            )
            record = {
                "name": "meta-train",
                "env": env,
                "preset": name,
                **bench_meta(validate(config), args.chunks),
                "device": device_name(),
                "jax": jax.__version__,
                "peak_memory_mb": round(peak_memory_mb(), 1),
            }
            records.append(record)
            _emit(record)
    return records


def run_bench(args) -> list[dict[str, Any]]:
    """Run the measurements that ``args`` (``ued.app.cli.BenchArgs``) ask for; print and return
    the records."""
    from .. import registry

    if getattr(args, "program", "train") == "meta-train":
        return run_meta_bench(args)
    from .build import make_learner, preset

    if getattr(args, "devices", ()):
        return run_scaling(args)
    presets = [args.preset] if args.preset else ["paper", "cpu"]
    algos = [args.algo] if args.algo else list(registry.ALGORITHMS)
    records = []
    emit = _emitter(args, records)
    for name in presets:
        base = preset(algos[0], args.env, name)
        spec = registry.ENVS.get(args.env)
        env = spec.build(base.env_config)
        learner = make_learner(base, spec, env)
        b, t = base.ppo.num_envs, base.ppo.num_steps
        if "env_only" in args.only:
            emit("env_only", name, None, bench_env_only(env, b, t, args.chunks))
        if "rollout" in args.only:
            emit("rollout", name, None, bench_rollout(env, learner, b, t, args.chunks))
        if "train" in args.only:
            for algo in algos:
                config = timed_config(algo, args.env, name, args.updates_per_chunk)
                impls = ("fused", "autodiff", "flax") if args.compare_lstm else ("fused",)
                baseline = None
                for impl in impls:
                    cfg = dataclasses.replace(
                        config, network=dataclasses.replace(config.network, lstm_impl=impl)
                    )
                    record = bench_train(cfg, args.chunks)
                    if impl == "fused":
                        baseline = record["steps_per_s"]
                    else:
                        record["fused_speedup"] = round(baseline / record["steps_per_s"], 3)
                    # A generator-agent curriculum (PAIRED): time its parts alone too.
                    if impl == "fused" and hasattr(cfg.curriculum, "objective"):
                        record |= generator_overhead(cfg, args.chunks, record)
                    emit("train", name, algo, record)
                if args.compare_learners:  # PPO and each learner, timed in alternation
                    variants = {"ppo": config}
                    variants |= {n: with_learner(config, n) for n in args.compare_learners}
                    timed = bench_train_interleaved(variants, args.chunks)
                    for learner in args.compare_learners:
                        record = timed[learner]
                        record["ppo_ratio"] = record.pop("ratio")
                        record["ppo_steps_per_s"] = timed["ppo"]["steps_per_s"]
                        emit("train", name, algo, {"learner": learner, **record})
                if args.compare_algos:  # --algo and each other curriculum, in alternation
                    for other, record in compare_algos(config, args, name).items():
                        emit("train", name, other, record)
        if "parts" in args.only:
            for algo in algos:
                config = timed_config(algo, args.env, name, args.updates_per_chunk)
                emit("parts", name, algo, bench_update_parts(config, args.chunks))
    return records


def compare_algos(config, args, preset_name: str) -> dict[str, dict[str, Any]]:
    """``config``'s curriculum (``args.algo``) and each of ``args.compare_algos`` timed in
    alternation (``bench_train_interleaved``). Returns other algo -> its record with
    ``vs_algo``, ``steps_ratio`` and ``gradient_updates_ratio``: the median per-round ratio of
    its env steps/s (gradient updates/s) to ``args.algo``'s."""
    variants = {args.algo: config}
    for other in args.compare_algos:
        variants[other] = timed_config(other, args.env, preset_name, args.updates_per_chunk)
    timed = bench_train_interleaved(variants, args.chunks)
    base, records = timed[args.algo], {}
    for other in args.compare_algos:
        record = timed[other]
        time_ratio = record.pop("ratio")  # median over rounds of base's chunk time / its own
        steps = record["steps_per_s"] * record["s_per_update"]  # env steps per update
        base_steps = base["steps_per_s"] * base["s_per_update"]
        gradients = record["gradient_fraction"] / max(base["gradient_fraction"], 1e-9)
        records[other] = {
            "vs_algo": args.algo,
            **record,
            "steps_ratio": round(time_ratio * steps / base_steps, 3),
            "gradient_updates_ratio": round(time_ratio * gradients, 3),
            "base_steps_per_s": base["steps_per_s"],
            "base_gradient_updates_per_s": base["gradient_updates_per_s"],
        }
    return records


def _emitter(args, records: list):
    """``emit(measurement, preset, algo, record)``: print one JSON line and keep it."""
    common = {"device": device_name(), "jax": jax.__version__}

    def emit(measurement, preset_name, algo, record):
        record = {
            "name": measurement,
            "env": args.env,
            "preset": preset_name,
            "algo": algo,
            **record,
            **common,
            "peak_memory_mb": round(peak_memory_mb(), 1),
        }
        records.append(record)
        _emit(record)

    return emit


def with_learner(config, learner: str):
    """``config`` trained by ``learner``; ``lpo`` gets a drift rule file of random parameters
    (written to a temporary folder: a timing needs some drift, not a trained one)."""
    import pathlib
    import tempfile

    from ..config import validate
    from ..drift import LearnedDrift, save_rule

    rule = ""
    if learner == "lpo":
        objective = LearnedDrift()
        params = objective.random_rule(jax.random.key(0), 0.1)
        path = pathlib.Path(tempfile.mkdtemp(prefix="ued-bench-")) / "rule.msgpack"
        rule = str(save_rule(path, objective, params))
    ppo = dataclasses.replace(config.ppo, rule=rule)
    return validate(dataclasses.replace(config, learner=learner, ppo=ppo))


def timed_config(algo: str, env: str, preset_name: str, updates_per_chunk: int, **fields):
    """``algo`` on ``env`` at a preset, ``updates_per_chunk`` updates per timed call, with
    ``fields`` replaced (e.g. ``devices``, ``ppo__num_envs``); validated."""
    from ..config import override, validate
    from .build import preset

    config = override(
        preset(algo, env, preset_name),
        updates_per_chunk=updates_per_chunk,
        updates=10_000 * updates_per_chunk,  # keeps the LR schedule positive
        eval_every=0,
        checkpoint_every=10_000 * updates_per_chunk,
        **fields,
    )
    return validate(config)


def run_scaling(args) -> list[dict[str, Any]]:
    """The scaling table of ``ued bench --devices N...``: for each device count, training
    steps/s at a fixed per-device batch (the preset's batch on each device) and at a fixed
    global batch (the preset's, split), and env-only steps/s at ``args.env_batch`` envs (fixed
    global batch); each with its compile time and its speed-up over the first device count."""
    from .. import registry
    from .build import preset

    records: list[dict[str, Any]] = []
    emit = _emitter(args, records)
    for name in [args.preset] if args.preset else ["cpu"]:
        base = preset(args.algo or "dr", args.env, name)
        env = registry.ENVS.get(args.env).build(base.env_config)
        first: dict[tuple, float] = {}

        def scaled(key, devices, record):
            first.setdefault(key, record["steps_per_s"])
            return {**record, "speedup": record["steps_per_s"] / first[key]}

        for devices in args.devices:
            if "env_only" in args.only:
                record = bench_env_only(env, args.env_batch, base.ppo.num_steps, args.chunks,
                                        devices)  # fmt: skip
                emit("env_only", name, None, scaled(("env",), devices, record))
            if "train" not in args.only:
                continue
            for algo in [args.algo] if args.algo else ["dr"]:
                envs = preset(algo, args.env, name).ppo.num_envs
                for batch, num_envs in (("per_device", envs * devices), ("global", envs)):
                    config = timed_config(algo, args.env, name, args.updates_per_chunk,
                                          devices=devices, ppo__num_envs=num_envs)  # fmt: skip
                    record = {**bench_train(config, args.chunks), "batch": batch}
                    emit("train", name, algo, scaled((algo, batch), devices, record))
    return records


def generator_overhead(config, chunks: int, record: dict[str, Any]) -> dict[str, Any]:
    """``bench_generator_parts`` and the update's overhead over the sum of its learners' parts
    (PAIRED: generator + 2 students; minimax adversary: generator + 1 student)."""
    parts = bench_generator_parts(config, chunks)
    students = 1 if config.curriculum.objective == "minimax" else 2
    expected = parts["generator_s_per_update"] + students * parts["student_s_per_update"]
    return {**parts, "overhead": record["s_per_update"] / expected - 1.0}
