"""Time the jitted training chunk with and without the divergence guard's state check.

Both chunks are compiled in this process and called in turn (in alternating order), each call
waited on with ``jax.block_until_ready``, so that machine load hits both alike; the median of
each, their ratio and the median of the per-round ratios are printed as one JSON line. The
losses are checked on the host from metrics the loop reads back anyway, so the state check is
the guard's whole cost inside jit.

    .venv/bin/python scripts/guard_overhead.py --algo dr --preset cpu --repeats 10
    .venv/bin/python scripts/guard_overhead.py --program meta-train --algo groove --preset test
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time

import jax
import jax.numpy as jnp

from ued import guard
from ued.app.bench import device_name
from ued.app.build import build, build_meta, preset


def build_program(args):
    """The program whose chunk is timed, with ``updates_per_chunk`` updates per chunk."""
    if args.program == "meta-train":
        from ued.meta.config import preset as meta_preset

        base = meta_preset(args.algo, args.env or "gridworld", args.preset)
        make = build_meta
    else:
        base = preset(args.algo, args.env or "maze", args.preset)
        make = build
    per_chunk = args.updates_per_chunk
    total = 1000 * per_chunk  # keeps the learning-rate schedule away from 0
    config = dataclasses.replace(
        base, updates_per_chunk=per_chunk, updates=total, eval_every=0, checkpoint_every=total
    )
    return make(config)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--program", choices=["train", "meta-train"], default="train")
    parser.add_argument("--algo", default="dr")
    parser.add_argument("--env", default=None)
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--updates-per-chunk", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=10, help="timed calls of each chunk")
    args = parser.parse_args()

    program = build_program(args)
    init = jax.jit(program.init)(program.seed_keys())
    chunks = {
        "plain": jax.jit(program.chunk).lower(init, jnp.int32(0)).compile(),
        "guarded": jax.jit(guard.guarded_chunk(program.chunk)).lower(init, jnp.int32(0)).compile(),
    }
    states = {name: init for name in chunks}
    times = {name: [] for name in chunks}
    for repeat in range(args.repeats + 1):  # the first round warms up
        order = list(chunks) if repeat % 2 else list(reversed(chunks))  # no order effect
        for name in order:
            chunk = chunks[name]
            start = jnp.int32(repeat * args.updates_per_chunk)
            t = time.perf_counter()
            out = jax.block_until_ready(chunk(states[name], start))
            elapsed = time.perf_counter() - t
            states[name] = out[0]
            if repeat:
                times[name].append(elapsed)
    plain, guarded = (statistics.median(times[n]) for n in ("plain", "guarded"))
    paired = [g / p for g, p in zip(times["guarded"], times["plain"], strict=True)]
    record = {
        "program": args.program,
        "algo": args.algo,
        "preset": args.preset,
        "updates_per_chunk": args.updates_per_chunk,
        "repeats": args.repeats,
        "guarded_leaves": len(guard.guarded_names(init)),
        "plain_s": plain,
        "guarded_s": guarded,
        "ratio": guarded / plain,
        "paired_ratio_median": statistics.median(paired),  # robust to load drifting over time
        "plain_s_all": [round(t, 4) for t in times["plain"]],
        "guarded_s_all": [round(t, 4) for t in times["guarded"]],
        "device": device_name(),
    }
    print(json.dumps(record))


if __name__ == "__main__":
    main()
