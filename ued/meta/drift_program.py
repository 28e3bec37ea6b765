"""Meta-training LPO's drift (Lu et al. 2022; temporally aware: Jackson et al. 2024) by evolution.

One generation: OpenES (``ued.meta.evolution.EvolutionStrategy``, antithetic pairs, centred
ranks) proposes drift networks; each member trains a fresh PPO agent whose policy objective is
that drift (``ued.drift.LearnedDrift``, the parameters in its state's ``hypers.rule``) for a whole
lifetime inside the jitted step, on the levels its inner curriculum gives it (``ued.train.Trainer``
with any registered curriculum: DR over the env's levels, or a buffer), and its fitness is the
trained agent's return on fresh levels (one episode on each of ``eval_envs`` levels). Members are
vmapped, and so are their envs; the two members of a pair share every key, so they play the same
levels. With ``min_lifetime`` each pair draws its lifetime log-uniformly (TA-LPO: the progress
input n / N then means something across horizons); a ``lax.fori_loop`` runs it. With a task
batch (``ued.meta.tasks.TaskBatch``) every member instead trains once on each of the
generation's tasks, its level pinned for the whole run, and is scored on that level; the
tasks come fresh or from a buffer scored by algorithmic regret against PPO.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ..drift import LearnedDrift, save_rule
from ..env import EnvSpec
from ..parallel import DataParallel
from ..train import Trainer, episode_metrics, seed_slice
from .evolution import EvolutionStrategy
from .lifetime import normalised
from .program import MetaProgramBase
from .tasks import PinnedLevel, TaskBatch

CURVE_POINTS = 10
"""Points of meta-evaluation's learning curves after the untrained agent's."""

BASELINES = ("ppo", "dpo")
"""The fixed drifts meta-evaluation trains beside the learned one (normalised by PPO's)."""


def log_uniform_lifetime(key, low: int, high: int) -> jax.Array:
    """A lifetime ``int32[]`` drawn log-uniformly from ``[low, high]`` (``low == high``: fixed)."""
    if low == high:
        return jnp.int32(high)
    u = jax.random.uniform(key, minval=np.log(low), maxval=np.log(high + 1))
    return jnp.clip(jnp.floor(jnp.exp(u)), low, high).astype(jnp.int32)


def rule_path(run: Path, seed: int) -> Path:
    """Where an LPO meta-training run keeps seed ``seed``'s current drift."""
    return Path(run) / "rules" / f"seed{seed}.msgpack"


@dataclasses.dataclass(eq=False)
class DriftMetaProgram(MetaProgramBase):
    """LPO meta-training as a ``ued.program.Program`` (built by the ``lpo`` meta-algorithm).

    Attributes:
        config: the validated ``MetaTrainConfig``; env, spec: the env and its registry entry.
        objective: the learned drift (its network; ``temporal`` for TA-LPO).
        trainer_for: ``PolicyObjective -> ued.train.Trainer``: an inner PPO run with that
            objective (the inner curriculum, PPO settings and the lifetime bound).
        baselines: name -> ``PolicyObjective`` that meta-evaluation trains beside the drift.
        lifetimes: ``(shortest, longest)`` inner lifetime in updates.
        eval_envs: fresh levels each trained agent is scored on (episodes on its task with a
            task batch).
        task_batch: ``(baseline_return) -> TaskBatch`` building the generation's tasks around
            PPO's return on a task, or None (each member's inner curriculum picks its levels).
    """

    config: Any
    env: Any
    spec: EnvSpec
    objective: LearnedDrift
    trainer_for: Callable[[Any], Trainer]
    baselines: dict[str, Any]
    lifetimes: tuple[int, int]
    eval_envs: int
    task_batch: Callable[[Callable], TaskBatch] | None = None

    def __post_init__(self):
        c = self.config
        self.trainer = self.trainer_for(self.objective)  # meta-evaluation's (and members')
        members, tasks = self.trainer, None
        if self.task_batch is not None:
            pinned = PinnedLevel(self.env, self.trainer.config.ppo.num_envs)
            members = dataclasses.replace(self.trainer, curriculum=pinned)
            ppo = dataclasses.replace(self.trainer_for(self.baselines["ppo"]), curriculum=pinned)
            longest = jnp.int32(self.lifetimes[1])
            tasks = self.task_batch(functools.partial(self.task_return, ppo, (), longest))
        self.several = len(c.seed_list) > 1
        self.parallel = DataParallel.over(c.devices)
        if self.parallel is not None:
            self.parallel.check_divides(c.population, "population")
        self.meta = EvolutionStrategy(
            fitness=functools.partial(self.member_return, members),
            example_rule=lambda key: self.objective.zero_rule(),
            population=c.population,
            sigma=c.es_sigma,
            lr=c.es_lr,
            lr_decay=c.es_lr_decay,
            lr_limit=c.es_lr_limit,
            level_source=functools.partial(
                log_uniform_lifetime, low=self.lifetimes[0], high=self.lifetimes[1]
            ),
            lifetime_of=lambda lifetime: lifetime,
            parallel=self.parallel,
            tasks=tasks,
        )
        self._eval_cache: dict[Any, Any] = {}

    # ---- the pure core -----------------------------------------------------------------------
    @property
    def steps_per_update(self) -> int:
        """Inner env steps of one generation of one seed at the longest lifetime (training, then
        the scoring episodes)."""
        p = self.trainer.config.ppo
        run = self.lifetimes[1] * p.num_envs * p.num_steps + self.eval_envs * self.env.max_steps
        tasks = self.meta.tasks
        if tasks is None:
            return self.config.population * run
        return (self.config.population + tasks.needs_baseline) * tasks.num_tasks * run

    def inner_sizes(self) -> dict[str, int]:
        """The members' PPO runs: envs and steps per update, the longest lifetime, and tasks
        per generation (0: none)."""
        p = self.trainer.config.ppo
        tasks = 0 if self.meta.tasks is None else self.meta.tasks.num_tasks
        return {"num_envs": p.num_envs, "num_steps": p.num_steps,
                "lifetime": self.lifetimes[1], "tasks": tasks}  # fmt: skip

    def train_agent(self, trainer: Trainer, key, rule, lifetime, state=None):
        """A fresh inner agent (``trainer.init(key)``, or ``state``) trained by ``trainer`` for
        ``lifetime`` updates (``int32[]``) with the drift parameters ``rule`` (``()`` for a
        fixed objective). Returns its state."""
        state = trainer.init(key) if state is None else state
        student = state.student.replace(hypers=state.student.hypers.replace(rule=rule))
        state = state.replace(student=student)

        def body(update, state):
            return trainer.update(state, update, lifetime)[0]

        return jax.lax.fori_loop(jnp.int32(0), lifetime, body, state)

    def final_return(self, trainer: Trainer, key, params, levels=None) -> jax.Array:
        """The mean return ``f32[]`` of one episode of ``params`` on each of ``levels`` (default:
        ``eval_envs`` fresh levels of the env's distribution), cut at the env's time limit."""
        k_levels, k_play = jax.random.split(key)
        if levels is None:
            keys = jax.random.split(k_levels, self.eval_envs)
            levels = jax.vmap(self.env.sample_level)(keys)
        trajectory, _ = trainer.player.rollout(k_play, params, levels, self.env.max_steps)
        return episode_metrics(trajectory, success=False)["first_return"]

    def member_return(self, trainer: Trainer, key, rule, lifetime, _lifetime, task=None):
        """One ES member's fitness ``f32[]``: the final return of an agent trained with its
        drift (on ``task`` alone, when given: ``task_return``)."""
        if task is not None:
            return self.task_return(trainer, rule, lifetime, key, task)
        k_train, k_score = jax.random.split(key)
        state = self.train_agent(trainer, k_train, rule, lifetime)
        return self.final_return(trainer, k_score, state.student.params)

    def task_return(self, trainer: Trainer, rule, lifetime, key, task) -> jax.Array:
        """The return ``f32[]`` (one episode on each of ``eval_envs`` copies of ``task``) of an
        agent trained on ``task`` alone for ``lifetime`` updates by a pinned-level ``trainer``
        with drift parameters ``rule``."""
        k_train, k_score = jax.random.split(key)
        state = PinnedLevel.pin(trainer.init(k_train), task)
        state = self.train_agent(trainer, None, rule, lifetime, state)
        levels = jax.tree_util.tree_map(
            lambda x: jnp.broadcast_to(x, (self.eval_envs, *x.shape)), task
        )
        return self.final_return(trainer, k_score, state.student.params, levels)

    # ---- host-side hooks ---------------------------------------------------------------------
    @staticmethod
    def level_keys(seed: int, n: int):
        """One key per evaluation agent, the same for every drift and evaluation point."""
        return jax.random.split(jax.random.fold_in(jax.random.key(seed), 0x5EED), n)

    def eval_lifetime(self) -> int:
        """Inner updates of every meta-evaluation agent (``eval_lifetime``, else the longest
        training lifetime)."""
        return self.config.eval_lifetime or self.lifetimes[1]

    @staticmethod
    def curve_points(lifetime: int, points: int = CURVE_POINTS) -> np.ndarray:
        """The inner updates ``int32[<= points + 1]`` after which meta-evaluation scores its
        agents: 0 and ``points`` evenly spaced ones up to ``lifetime``."""
        return np.unique(np.linspace(0, lifetime, points + 1).round().astype(np.int32))

    def _scorer(self, name: str, lifetime: int):
        """``(keys [N], rule, suite levels [M]) -> (returns f32[N, M], curves f32[N, C])``:
        fresh agents trained for ``lifetime`` updates with drift ``name`` (``lpo`` or a
        baseline), each scored by one episode on every suite level, and their learning curves:
        the return of one episode on each of ``eval_envs`` fresh levels after each of
        ``curve_points(lifetime)`` updates (whole episodes, unlike the training rollouts'
        returns, which only count the episodes that end within a rollout)."""
        cache_key = (name, lifetime)
        if cache_key not in self._eval_cache:
            objective = self.objective if name == "lpo" else self.baselines[name]
            trainer = self.trainer if name == "lpo" else self.trainer_for(objective)
            points = self.curve_points(lifetime)

            def one(key, rule, levels):
                k_train, k_curve, k_score = jax.random.split(key, 3)
                state = trainer.init(k_train)
                hypers = state.student.hypers.replace(rule=rule)
                state = state.replace(student=state.student.replace(hypers=hypers))

                def segment(state, bounds):
                    start, end, k = bounds

                    def body(update, state):
                        return trainer.update(state, update, jnp.int32(lifetime))[0]

                    state = jax.lax.fori_loop(start, end, body, state)
                    return state, self.final_return(trainer, k, state.student.params)

                bounds = (points[:-1], points[1:], jax.random.split(k_curve, len(points) - 1))
                state, curve = jax.lax.scan(segment, state, bounds)
                first = self.final_return(trainer, k_curve, trainer.init(k_train).student.params)
                count = jax.tree_util.tree_leaves(levels)[0].shape[0]

                def on_level(k, level):
                    batch = jax.tree_util.tree_map(lambda x: x[None], level)
                    return self.final_return(trainer, k, state.student.params, batch)

                returns = jax.vmap(on_level)(jax.random.split(k_score, count), levels)
                return returns, jnp.concatenate([first[None], curve])

            score = jax.vmap(one, in_axes=(0, None, None))
            self._eval_cache[cache_key] = jax.jit(score)
        return self._eval_cache[cache_key]

    def _suites(self):
        if "suites" not in self._eval_cache:
            from ..evaluate import resolve_suite

            c = self.config
            self._eval_cache["suites"] = [
                resolve_suite(self.spec, self.env, s, num_levels=c.eval_levels, seed=0)
                for s in c.eval_suites
            ]
        return self._eval_cache["suites"]

    def evaluate(self, state, update: int, run: str) -> list[dict[str, Any]]:
        """Meta-evaluation rows (``evaluate_with_curves`` without the curves)."""
        return self.evaluate_with_curves(state, update, run)[0]

    def evaluate_with_curves(self, state, update: int, run: str):
        """Meta-evaluate each seed's current drift (ES's mean): ``eval_levels`` fresh agents
        trained for ``eval_lifetime`` updates with it, and as many with each baseline (PPO,
        DPO; the same keys: common random numbers), each trained once and scored by one episode
        on every level of every suite. Returns ``(rows, curve rows)``. Rows per suite level:
        ``lpo_return``, ``ppo_return``, ``dpo_return`` (means over the agents) and
        ``normalised`` = lpo / ppo; curve rows: the agents' mean return after each of
        ``curve_points`` inner updates per drift (``rule``, ``inner_update``, ``return`` on
        fresh levels of the training distribution; suite ``training``, level ``all``)."""
        rows, curve_rows = [], []
        lifetime = self.eval_lifetime()
        for i, seed in enumerate(self.config.seed_list):
            rule = self.meta.current_rule(seed_slice(state, i, self.several))
            keys = self.level_keys(seed, self.config.eval_levels)
            suites = self._suites()
            # Every suite's levels in one batch: each agent trains once and is scored on all.
            levels = jax.tree_util.tree_map(
                lambda *x: jnp.concatenate(x), *[suite.levels for suite in suites]
            )
            returns, curves = {}, {}
            for name in ("lpo", *self.baselines):
                scored, curve = self._scorer(name, lifetime)(
                    keys, rule if name == "lpo" else (), levels
                )
                returns[name] = np.asarray(scored).mean(axis=0)
                curves[name] = np.asarray(curve).mean(axis=0)
            start = 0
            for suite in suites:
                end = start + len(suite.names)
                columns = {f"{name}_return": r[start:end] for name, r in returns.items()}
                columns["normalised"] = normalised(columns["lpo_return"], columns["ppo_return"])
                common = {"run": run, "seed": seed, "update": update, "suite": suite.suite}
                for j, level in enumerate(suite.names):
                    rows += [
                        {**common, "level": level, "statistic": k, "alpha": "",
                         "value": float(v[j])}
                        for k, v in columns.items()
                    ]  # fmt: skip
                start = end
            common = {"run": run, "seed": seed, "update": update, "suite": "training"}
            curve_rows += [
                {**common, "level": "all", "rule": name, "inner_update": int(k),
                 "return": float(r)}
                for name, curve in curves.items()
                for k, r in zip(self.curve_points(lifetime), curve)
            ]  # fmt: skip
        return rows, curve_rows

    def drift_figure(self, state, path: Path) -> None:
        """The first seed's current drift over (ρ, A) (``ued.plots.drift_surface``; TA-LPO's at
        training fractions 0, 0.5 and 1) with PPO's and DPO's beside it for reference."""
        from ..plots import drift_surface
        from ..ppo import PPOHypers

        rule = self.meta.current_rule(seed_slice(state, 0, self.several))
        hypers = PPOHypers.of(self.trainer.config.ppo, rule)
        progress = (0.0, 0.5, 1.0) if self.objective.temporal else (0.0,)
        drift = jax.jit(lambda d, a, p: self.objective.drift(d, a, hypers, p))
        drift_surface(drift, path, progress, title="LPO")

    def inspect(self, state, update: int, aux, evaluated: bool, plots_dir: Path):
        """Writes each seed's current drift (ES's mean) to ``<run>/rules/seed<seed>.msgpack``
        (``ued train --learner lpo --ppo.rule FILE`` reads it) and, at evaluation points, its
        figure (``plots/drift_<update>.png``); no level diagnostics (the inner curricula's
        levels live inside each member's run)."""
        for i, seed in enumerate(self.config.seed_list):
            rule = self.meta.current_rule(seed_slice(state, i, self.several))
            save_rule(rule_path(plots_dir.parent, seed), self.objective, rule)
        if evaluated:
            self.drift_figure(state, plots_dir / f"drift_{update:06d}.png")
        return []

    def plots(self, out: Path, aux) -> None:
        """ES's curves: the members' final return, the best member's, and the spread inside
        antithetic pairs."""
        from ..plots import training_curves

        curves = (
            ("return", "members' final return"),
            ("best_return", "best member's final return"),
            ("pair_difference", "|return difference| within antithetic pairs"),
        )
        (out / "plots").mkdir(exist_ok=True)
        training_curves(out / "metrics.csv", out / "plots" / "curves.png", curves=curves)
