"""Tune the hand-designed A2C baseline per level family (meta-evaluation normalises by it).

For each level family (a random distribution of the gridworld, or a fixed suite) and each
(step size, entropy bonus) on a grid, fresh inner agents of the meta-training preset's shape are
trained with A2C for the evaluation lifetime on the family's levels, with several seeds; the
mean final return is written to a tidy CSV, and the best setting per family is printed as the
table ``envs/gridworld/baselines.py`` holds. The sweep compiles once per family.

    .venv/bin/python scripts/tune_a2c.py --out results/a2c_tuning.csv
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import itertools
import time
from pathlib import Path

import jax.numpy as jnp
import numpy as np

from ued.app.build import build_meta
from ued.evaluate import resolve_suite
from ued.meta.config import preset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="gridworld")
    parser.add_argument("--preset", default="cpu", help="the inner agents' shape and lifetime")
    parser.add_argument(
        "--families", nargs="+", default=["small", "medium", "large", "all", "lpg-grids", "mazes"]
    )
    parser.add_argument("--lrs", nargs="+", type=float, default=[0.01, 0.03, 0.1, 0.3])
    parser.add_argument("--entropies", nargs="+", type=float, default=[0.003, 0.01, 0.03, 0.1])
    parser.add_argument("--levels", type=int, default=8, help="levels of a random family")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--out", type=Path, default=Path("results/a2c_tuning.csv"))
    args = parser.parse_args()  # fmt: skip

    rows, best = [], {}
    for family in args.families:
        config = preset("lpg", args.env, args.preset)
        suite_name = family
        if family not in build_meta(config).spec.suites:  # a random distribution
            env_config = dataclasses.replace(config.env_config, distribution=family)
            config = dataclasses.replace(config, env_config=env_config)
            suite_name = "random"
        program = build_meta(dataclasses.replace(config, a2c_tuned=False))
        suite = resolve_suite(program.spec, program.env, suite_name, num_levels=args.levels)
        lifetimes, longest = program.eval_lifetimes(suite.levels)
        scorer = program.baseline_scorer(suite.env, longest)
        start = time.perf_counter()
        scores = {}
        for lr, entropy in itertools.product(args.lrs, args.entropies):
            per_seed = []
            for seed in args.seeds:
                keys = program.level_keys(seed, len(suite.names))
                returns, _, _ = scorer(keys, suite.levels, lifetimes, jnp.float32(lr),
                                       jnp.float32(lr), jnp.float32(entropy))  # fmt: skip
                per_seed.append(float(np.mean(returns)))
                rows.append({"family": family, "lr": lr, "entropy_coef": entropy, "seed": seed,
                             "mean_return": per_seed[-1]})  # fmt: skip
            scores[(lr, entropy)] = (np.mean(per_seed), np.std(per_seed) / np.sqrt(len(per_seed)))
        (lr, entropy), (mean, se) = max(scores.items(), key=lambda item: item[1][0])
        best[family] = (lr, entropy, mean, se)
        seconds = time.perf_counter() - start
        print(f"{family}: lr {lr}, entropy {entropy}: return {mean:.3f} ± {se:.3f} "
              f"({len(scores)} settings, {seconds:.0f}s)", flush=True)  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print("\nTUNED_A2C = {")
    for family, (lr, entropy, mean, se) in best.items():
        print(f'    "{family}": {{"lr": {lr}, "entropy_coef": {entropy}}},  '
              f"# return {mean:.3f} ± {se:.3f}")  # fmt: skip
    print("}")


if __name__ == "__main__":
    main()
