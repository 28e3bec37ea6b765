"""Evaluate JaxUED's maze agents on this library's held-out suites, with JaxUED's own network,
env and evaluation rollout (``evaluate_rnn`` of its ``examples/maze_plr.py``).

Every orbax checkpoint of a JaxUED run (``checkpoints/<run>/<seed>/models/<step>``, written
after each ``eval_freq`` updates) is played on the same levels ``ued train`` evaluates on
(``ued.evaluate.resolve_suite``: the classic mazes, and ``random`` drawn with seed 0), ``attempts``
stochastic episodes per level; a level is solved in an episode with a positive return, as in both
libraries. Rows go to a CSV shaped like a run's ``eval.csv`` (``run, seed, update, suite, level,
statistic, alpha, value``; statistics ``solve_rate`` and ``return``).

Run with JaxUED's sources and examples and the stand-ins on the path, e.g.::

    PYTHONPATH=scripts/equivalence/jaxued_shims:$JAXUED/src:$JAXUED/examples \\
      .venv/bin/python scripts/equivalence/jaxued_eval.py docs/equivalence/jaxued/checkpoints \\
      --run dr --seed 0 --out docs/equivalence/jaxued/eval-dr-0.csv
"""

from __future__ import annotations

import argparse
import csv
import json
import types
from pathlib import Path

import jax
import jax.numpy as jnp
import maze_plr  # JaxUED's example: its ActorCritic and evaluate_rnn
import numpy as np
import orbax.checkpoint as ocp
from jaxued.environments import Maze
from jaxued.environments.maze import Level

import ued.app.builtins  # noqa: F401  (registers the maze)
from ued.app.build import preset
from ued.evaluate import resolve_suite
from ued.registry import ENVS


def jaxued_levels(levels) -> Level:
    """This library's maze levels (batched) as JaxUED's ``Level`` (same cells, (x, y) positions
    and directions; JaxUED's dtypes)."""
    n, height, width = levels.wall_map.shape
    return Level(
        wall_map=jnp.asarray(levels.wall_map, jnp.bool_),
        goal_pos=jnp.asarray(levels.goal_pos, jnp.uint32),
        agent_pos=jnp.asarray(levels.agent_pos, jnp.uint32),
        agent_dir=jnp.asarray(levels.agent_dir, jnp.uint8),
        width=jnp.full((n,), width, jnp.int32),
        height=jnp.full((n,), height, jnp.int32),
    )


def suite_levels(suites, num_levels: int):
    """``{suite: (level names, JaxUED levels)}`` as ``ued train --preset paper`` evaluates."""
    config = preset("dr", "maze", "paper")
    spec = ENVS.get("maze")
    env = spec.build(config.env_config)
    out = {}
    for suite in suites:
        resolved = resolve_suite(spec, env, suite, num_levels=num_levels, seed=0)
        out[suite] = (list(resolved.names), jaxued_levels(resolved.levels))
    return out


def make_evaluator(attempts: int):
    """``(key, params, levels [N]) -> (solved f32[A, N], returns f32[A, N])``: ``attempts``
    episodes per level with JaxUED's evaluation rollout."""
    env = Maze(max_height=13, max_width=13, agent_view_size=5, normalize_obs=True)
    params = env.default_params
    network = maze_plr.ActorCritic(env.action_space(params).n)
    steps = params.max_steps_in_episode

    def once(key, weights, levels):
        n = levels.wall_map.shape[0]
        k_reset, k_run = jax.random.split(key)
        obs, state = jax.vmap(env.reset_to_level, (0, 0, None))(
            jax.random.split(k_reset, n), levels, params
        )
        agent = types.SimpleNamespace(apply_fn=network.apply, params=weights)
        carry = maze_plr.ActorCritic.initialize_carry((n,))
        _, rewards, lengths = maze_plr.evaluate_rnn(
            k_run, env, params, agent, carry, obs, state, steps
        )
        returns = (rewards * (jnp.arange(steps)[:, None] < lengths)).sum(axis=0)
        return (returns > 0).astype(jnp.float32), returns

    def evaluate(key, weights, levels):
        return jax.vmap(once, (0, None, None))(jax.random.split(key, attempts), weights, levels)

    return jax.jit(evaluate)


def checkpoints(root: Path, run: str = "*", seed: str = "*"):
    """``(run, seed, update, models dir, step)`` of every checkpoint under ``root`` (of one run
    name and seed when given)."""
    for models in sorted(root.glob(f"{run}/{seed}/models")):
        run, seed = models.parent.parent.name, int(models.parent.name)
        every = json.loads((models.parent / "config.json").read_text())["eval_freq"]
        manager = ocp.CheckpointManager(models.resolve())
        for step in manager.all_steps():
            yield run, seed, (step + 1) * every, models, step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", type=Path, help="JaxUED's checkpoints/ folder")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--suites", nargs="+", default=["classic", "random"])
    parser.add_argument("--levels", type=int, default=100, help="levels of the random suite")
    parser.add_argument("--attempts", type=int, default=10)
    parser.add_argument("--run", default="*", help="only this run name (default: every run)")
    parser.add_argument("--seed", default="*", help="only this seed (default: every seed)")
    args = parser.parse_args()
    suites = suite_levels(args.suites, args.levels)
    evaluate = make_evaluator(args.attempts)
    rows = []
    for run, seed, update, models, step in checkpoints(args.root, args.run, args.seed):
        manager = ocp.CheckpointManager(
            models.resolve(), item_handlers=ocp.StandardCheckpointHandler()
        )
        weights = manager.restore(step)["params"]
        for suite, (names, levels) in suites.items():
            solved, returns = evaluate(jax.random.key(0), weights, levels)
            for stat, values in (("solve_rate", solved), ("return", returns)):
                for name, value in zip(names, np.asarray(values).mean(axis=0), strict=True):
                    rows.append([run, seed, update, suite, name, stat, "", float(value)])
        print(f"{run} seed {seed} update {update}: evaluated", flush=True)
    if not rows:
        raise SystemExit(f"no checkpoints under {args.root} for run {args.run}, seed {args.seed}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    partial = args.out.with_suffix(".partial")
    with partial.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["run", "seed", "update", "suite", "level", "statistic", "alpha", "value"])
        writer.writerows(rows)
    partial.replace(args.out)  # a finished evaluation only: the study skips runs that have one


if __name__ == "__main__":
    main()
