"""Prioritized Level Replay (Jiang et al. 2021a) and robust PLR / PLR⊥ (Jiang et al. 2021b).

Each update either *replays* B levels drawn from the regret-prioritised buffer (gradient applied,
their scores refreshed) or *explores* B fresh random levels (scored and offered to the buffer).
Robust PLR applies no gradient on exploratory levels, so the student only learns from levels the
curriculum chose. ``algorithms/accel.py`` adds a third branch, mutation, to this same curriculum.

The branches are a ``lax.switch`` that only chooses levels; the rollout, GAE and PPO run once per
update in the shared loop, whatever the branch.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any, ClassVar, Literal

import jax
import jax.numpy as jnp
from flax import struct

from ued import registry
from ued import scores as score_fns
from ued.buffer import BufferConfig, BufferState, LevelBuffer, validate_buffer
from ued.config import ConfigError, TrainConfig, positive, probability
from ued.curriculum import (
    MUTATE,
    NEW,
    REPLAY,
    AlgorithmSpec,
    Curriculum,
    RolloutResult,
    Student,
    UpdatePlan,
    level_statistics,
)
from ued.editor import (
    GeneratorConfig,
    GeneratorState,
    LevelGenerator,
    generator_metrics,
    generator_preset,
    make_generator,
    validate_generator_for_env,
)


@dataclasses.dataclass(frozen=True)
class Config:
    """PLR / robust PLR settings (defaults: the JaxUED maze settings)."""

    score: Literal["pvl", "maxmc", "l1_value_loss", "learnability", "oracle_regret"] = "maxmc"
    """Level score: positive value loss, MaxMC, L1 value loss, learnability (needs an env with a
    success signal), or oracle regret (needs an oracle)."""
    score_attempts: int = 5
    """Learnability only: p is estimated from this many independent first-episode attempts per
    level (as SFL and NCC do). The training rollout cannot estimate it: when it is no longer than
    the time limit, a failed episode never completes after a success, so p is 0 or 1."""
    robust: bool = True
    """PLR⊥: no gradient on exploratory (new) levels."""
    replay_prob: float = 0.8
    """Probability of a replay update once the buffer is min_fill full (0: never replay)."""
    buffer: BufferConfig = dataclasses.field(default_factory=BufferConfig)
    """The level buffer."""
    level_source: Literal["random", "generator"] = "random"
    """Where new levels come from: the env's random generator, or a generator agent (needs an
    env with a level editor) rewarded with the buffer score of the levels it builds
    (``plr-generator``, not from a paper; REPAIRED is ``algorithms/paired.py``)."""
    generator: GeneratorConfig = dataclasses.field(default_factory=GeneratorConfig)
    """The generator agent (used only with ``level_source = "generator"``)."""
    PARALLEL_PARTS: ClassVar[int] = 2  # a parallel update's parts: new, replayed
    parallel: bool = False
    """PLR‖ / ACCEL‖ (minimax; ``plr-parallel``, ``accel-parallel``): every update rolls the
    student out at once on ``ppo.num_envs / k`` new levels, as many replayed ones (new ones
    until the buffer is ``min_fill`` full) and, for ACCEL (k = 3; else k = 2), as many mutations
    of the replayed ones; all are scored into the buffer, and the gradient comes from the
    replayed part only (robust: only once the buffer is ready). ``replay_prob`` is unused."""


def parallel_parts(config: Config) -> int:
    """Sub-batches of one parallel update (``Config.PARALLEL_PARTS``: new and replayed levels,
    plus ACCEL's mutations); 1 for the sequential variants."""
    return config.PARALLEL_PARTS if config.parallel else 1


@struct.dataclass
class State:
    """The curriculum's state.

    Attributes:
        buffer: the level buffer.
        slots: ``int32[B]`` buffer slots of the last update's levels (-1 if not from the buffer).
        branch: ``int32[]`` the last update's branch (NEW, REPLAY, MUTATE).
        generator: the generator agent's state (``level_source = "generator"``), else None.
    """

    buffer: BufferState
    slots: jax.Array
    branch: jax.Array
    generator: GeneratorState | None = None


@dataclasses.dataclass(frozen=True)
class ReplayCurriculum(Curriculum):
    """PLR, robust PLR and (with a ``mutator``) ACCEL.

    Attributes:
        env: the training env (levels).
        config: a ``Config`` (or ``accel.Config``).
        num_envs: levels per update (B).
        gamma: discount (for oracle regret).
        oracle: the env family's ``(env, level, gamma) -> V*`` (for oracle regret), or None.
        mutator: ``(key, level) -> level``; when given, every replay update is followed by an
            update on mutations of the replayed levels (ACCEL), which get no gradient.
        generator: a ``LevelGenerator`` that builds the new levels, or None for the env's random
            generator (``plr-generator`` trains it on their scores; REPAIRED on PAIRED's regret).
        total_updates: the run's updates (the generator's learning-rate schedule).
        describe: the env's level descriptors (``levels -> {name: f32[B]}``), logged for
            generated levels; or None.
    """

    env: Any
    config: Config
    num_envs: int
    gamma: float
    oracle: Callable | None = None
    mutator: Callable | None = None
    generator: LevelGenerator | None = None
    total_updates: int = 0
    describe: Callable | None = None

    @property
    def parts(self) -> int:
        """Sub-batches of a parallel update's rollout (new, replayed, mutated): 1 if sequential."""
        return parallel_parts(self.config)

    def trained_envs(self, num_envs: int) -> int:
        """The replayed part of a parallel update (every env of a sequential one)."""
        return num_envs // self.parts

    @property
    def buffer(self) -> LevelBuffer:
        extras = ("max_return",) if self.config.score == "maxmc" else ()
        return LevelBuffer(self.config.buffer, extras=extras)

    def init(self, key) -> State:
        k_level, k_generator = jax.random.split(key)
        example = self.env.sample_level(k_level)
        return State(
            buffer=self.buffer.init(example),
            slots=jnp.full((self.num_envs,), -1, jnp.int32),
            branch=jnp.array(NEW, jnp.int32),
            generator=None if self.generator is None else self.generator.init(k_generator),
        )

    # ---- choosing levels ----------------------------------------------------------------------
    def levels_for_update(self, key, state: State, student: Student, update):
        if self.config.parallel:
            return self._parallel_levels(key, state)
        k_choice, k_branch = jax.random.split(key)
        replay = self.buffer.is_ready(state.buffer) & (
            jax.random.uniform(k_choice) < self.config.replay_prob
        )
        branch = jnp.where(replay, REPLAY, NEW)
        if self.mutator is not None:
            branch = jnp.where(state.branch == REPLAY, MUTATE, branch)

        no_slots = jnp.full((self.num_envs,), -1, jnp.int32)

        def new(key, buffer, generator):
            if self.generator is not None:
                levels, generator = self.generator.generate(key, generator)
            else:
                levels = jax.vmap(self.env.sample_level)(jax.random.split(key, self.num_envs))
            return levels, no_slots, buffer, generator

        def replayed(key, buffer, generator):
            buffer, slots, levels = self.buffer.sample(key, buffer, self.num_envs)
            return levels, slots, buffer, generator

        def mutated(key, buffer, generator):
            parents = LevelBuffer.get(buffer, jnp.maximum(state.slots, 0))
            children = jax.vmap(self.mutator)(jax.random.split(key, self.num_envs), parents)
            return children, no_slots, buffer, generator

        branches = [new, replayed] + ([mutated] if self.mutator is not None else [])
        levels, slots, buffer, generator = jax.lax.switch(
            branch, branches, k_branch, state.buffer, state.generator
        )
        # Robust variants learn only from replayed levels; plain PLR also from new (and, for
        # non-robust ACCEL, mutated) ones.
        apply = (branch == REPLAY) | jnp.asarray(not self.config.robust)
        plan = UpdatePlan(apply_gradient=apply, branch=branch.astype(jnp.int32))
        state = State(buffer, slots, branch.astype(jnp.int32), generator)
        return levels, plan, state

    def _parallel_levels(self, key, state: State):
        """minimax's parallel cycle: ``[new | replayed | mutations of the replayed]``, n each
        (new levels in place of the replayed and mutated parts until the buffer is ready);
        the learner trains on the replayed part."""
        n, k_new, k_replay, k_mutate = self.num_envs // self.parts, *jax.random.split(key, 3)
        fresh = jax.vmap(self.env.sample_level)(jax.random.split(k_new, self.num_envs))
        part = [
            jax.tree_util.tree_map(lambda x, i=i: x[i * n : (i + 1) * n], fresh)
            for i in range(self.parts)
        ]
        ready = self.buffer.is_ready(state.buffer)

        def replayed(key, buffer):
            buffer, slots, levels = self.buffer.sample(key, buffer, n)
            return buffer, slots, levels

        def new(key, buffer):
            return buffer, jnp.full((n,), -1, jnp.int32), part[1]

        buffer, slots, levels = jax.lax.cond(ready, replayed, new, k_replay, state.buffer)
        parts, part_slots = [part[0], levels], [jnp.full((n,), -1, jnp.int32), slots]
        if self.mutator is not None:
            children = jax.vmap(self.mutator)(jax.random.split(k_mutate, n), levels)
            parts.append(
                jax.tree_util.tree_map(functools.partial(jnp.where, ready), children, part[2])
            )
            part_slots.append(jnp.full((n,), -1, jnp.int32))
        levels = jax.tree_util.tree_map(lambda *xs: jnp.concatenate(xs), *parts)
        branch = jnp.where(ready, REPLAY, NEW).astype(jnp.int32)
        plan = UpdatePlan(
            apply_gradient=ready | jnp.asarray(not self.config.robust),
            branch=branch,
            trained=(n, 2 * n),
        )
        return levels, plan, State(buffer, jnp.concatenate(part_slots), branch, state.generator)

    # ---- learning from the rollout ------------------------------------------------------------
    def level_scores(self, key, state: State, result: RolloutResult, student: Student):
        """Scores ``f32[B]`` of this update's levels, the buffer extras to store with them, and
        the env steps spent on extra scoring episodes (``f32[]``)."""
        traj = result.trajectory
        name = self.config.score
        extras, steps = {}, jnp.zeros((), jnp.float32)
        if name == "pvl":
            scores = score_fns.positive_value_loss(result.advantages, traj.dones)
        elif name == "l1_value_loss":
            scores = score_fns.l1_value_loss(result.advantages, traj.dones)
        elif name == "learnability":
            stats, steps = student.attempts(key, result.levels, self.config.score_attempts)
            p = stats.solved.mean(axis=1)
            scores = p * (1.0 - p)
        elif name == "oracle_regret":
            optimal = jax.vmap(lambda lv: self.oracle(self.env, lv, self.gamma))(result.levels)
            scores = score_fns.oracle_regret(optimal, traj.rewards, traj.dones, self.gamma)
        else:  # maxmc: the highest return ever seen on a level, kept in the buffer's extras
            seen = score_fns.episode_returns_max(traj.rewards, traj.dones)
            stored = state.buffer.extras["max_return"][jnp.maximum(state.slots, 0)]
            max_return = jnp.where(state.slots >= 0, jnp.maximum(stored, seen), seen)
            scores = score_fns.max_mc(traj.values, traj.dones, max_return)
            extras["max_return"] = max_return
        return scores, extras, steps

    def update_buffer(self, key, state: State, result: RolloutResult, student: Student):
        """Score this update's levels and refresh their slots (replay) or offer them to the
        buffer (new, mutated). Returns ``(state, scores f32[B], metrics)``."""
        scores, extras, steps = self.level_scores(key, state, result, student)

        def refresh(buffer):
            return self.buffer.update(buffer, state.slots, scores, extras), jnp.int32(0)

        def offer(buffer):
            buffer, slots = self.buffer.insert(buffer, result.levels, scores, extras)
            return buffer, jnp.sum(slots >= 0, dtype=jnp.int32)

        def refresh_and_offer(buffer):  # parallel: replayed levels refreshed, the rest offered
            buffer = self.buffer.update(buffer, state.slots, scores, extras)
            buffer, slots = self.buffer.insert(
                buffer, result.levels, scores, extras, mask=state.slots < 0
            )
            return buffer, jnp.sum(slots >= 0, dtype=jnp.int32)

        if self.config.parallel:
            buffer, inserted = refresh_and_offer(state.buffer)
        else:
            buffer, inserted = jax.lax.cond(state.branch == REPLAY, refresh, offer, state.buffer)
        metrics = {f"buffer/{k}": v for k, v in self.buffer.stats(buffer).items()}
        metrics["buffer/inserted"] = inserted
        metrics["curriculum/level_score"] = scores.mean()
        if self.config.score == "learnability":
            metrics["curriculum/scoring_env_steps"] = steps
        return state.replace(buffer=buffer), scores, metrics

    def after_rollout(self, key, state: State, result: RolloutResult, plan, student, update):
        state, scores, metrics = self.update_buffer(key, state, result, student)
        if self.generator is None:
            return state, metrics
        # plr-generator: the generator learns from the buffer scores of the levels it built.
        generated = state.branch == NEW
        generator, learn = self.generator.learn(
            jax.random.fold_in(key, 1), state.generator, scores, update, self.total_updates,
            apply=generated,
        )  # fmt: skip
        metrics |= generator_metrics(self.generator, learn, scores, generated)
        metrics |= level_statistics(self.describe, result.levels, "generated/", generated)
        return state.replace(generator=generator), metrics

    def inspect(self, state: State) -> dict[str, jax.Array]:
        """The buffer for diagnostics: levels, scores, replay weights and the filled mask."""
        return {
            "levels": state.buffer.levels,
            "scores": state.buffer.scores,
            "weights": self.buffer.replay_weights(state.buffer),
            "filled": state.buffer.filled,
        }


# ---- presets and registry hooks -----------------------------------------------------------------
BUFFERS = {
    "paper": BufferConfig(),
    "cpu": BufferConfig(capacity=1000),
    "test": BufferConfig(capacity=8, min_fill=0.5),
    "minimax": BufferConfig(staleness_coeff=0.5),
}
"""The level buffer at each preset: the papers' 4,000 slots, 1,000 on a CPU, 8 in tests;
minimax's PLR‖ and ACCEL‖ (``pplr.json``, ``paccel.json``): 4,000 unique levels, rank
prioritisation at temperature 0.3, staleness 0.5, replay from half full."""


def preset(
    base: TrainConfig,
    name: str,
    robust: bool = True,
    level_source: str = "random",
    parallel: bool = False,
) -> TrainConfig:
    """PLR (``robust=False``) or robust PLR on the env family's preset ``name``; the ``cpu`` and
    ``test`` presets shrink the buffer. With ``level_source="generator"`` (``plr-generator``) new
    levels come from PAIRED's generator agent at that preset. ``parallel`` (``plr-parallel``):
    minimax's PLR‖, with twice the preset's envs, so it trains on as many as robust PLR."""
    config = dataclasses.replace(
        base,
        curriculum=Config(
            robust=robust,
            buffer=BUFFERS[name],
            level_source=level_source,
            generator=generator_preset(base, name),
            parallel=parallel,
        ),
    )
    return widen_for_parallel(config)


PARALLEL_PRESETS = {
    "presets": ("test", "cpu", "paper", "minimax"),
    "sources": lambda name: {
        "minimax": "Settings: minimax's maze PLR‖ / ACCEL‖, src/minimax/config/configs/maze/"
        "pplr.json and paccel.json (facebookresearch/minimax): 32 envs per part (n_parallel), "
        "256 steps, 5 epochs x 1 minibatch, constant lr, discount 0.999, max_mc scores, 4,000 "
        "unique levels, staleness 0.5, temperature 0.3, robust, 30,000 updates; PLR‖ 60 walls, "
        "lr 3e-4, lambda 0.95, no entropy; ACCEL‖ empty mazes, 20 edits of walls and goal, lr "
        "1e-4, lambda 0.98, entropy 1e-3.",
    }.get(name, ""),
}
"""The parallel variants' presets (``minimax``: the reference's own) and where they come from."""


def widen_for_parallel(config: TrainConfig) -> TrainConfig:
    """``config`` with ``ppo.num_envs`` multiplied by its parallel sub-batches (minimax's
    ``n_parallel`` per sub-batch), so a parallel variant's gradient batch is its preset's."""
    parts = parallel_parts(config.curriculum)
    ppo = dataclasses.replace(config.ppo, num_envs=config.ppo.num_envs * parts)
    return dataclasses.replace(config, ppo=ppo)


def make(env, spec, config: TrainConfig, mutator: Callable | None = None) -> ReplayCurriculum:
    """Build the curriculum for a validated config (with ACCEL's ``mutator`` if given), with
    its generator agent when ``level_source = "generator"``."""
    c = config.curriculum
    generator, describe = None, None
    if c.level_source == "generator":
        generator = make_generator(spec, config.env_config, c.generator, config.ppo.num_envs)
        if spec.descriptors is not None:
            describe = functools.partial(spec.descriptors, env)
    return ReplayCurriculum(
        env=env,
        config=c,
        num_envs=config.ppo.num_envs,
        gamma=config.ppo.gamma,
        oracle=spec.oracle,
        mutator=mutator,
        generator=generator,
        total_updates=config.updates,
        describe=describe,
    )


def requires(config: TrainConfig) -> frozenset[str]:
    """The env capabilities the chosen score and level source need."""
    c = config.curriculum
    editor = {"editor"} if c.level_source == "generator" else set()
    return frozenset(score_fns.REQUIRES.get(c.score, ())) | editor


def validate(config: TrainConfig) -> None:
    """Check the curriculum's settings; raises ``ConfigError`` naming the field."""
    c = config.curriculum
    validate_buffer(c.buffer, config.ppo.num_envs)
    probability(c, "curriculum.", "replay_prob")  # score, level_source: check_fields (Literal)
    positive(c, "curriculum.", "score_attempts")
    if c.level_source == "generator":
        validate_generator_for_env(config, c.generator, "curriculum.generator.")
    parts = parallel_parts(c)
    if parts > 1:
        ppo = config.ppo
        if c.level_source != "random":
            raise ConfigError("curriculum.level_source: the parallel variants draw random levels")
        if ppo.num_envs % parts or (ppo.num_envs // parts) % ppo.minibatches:
            raise ConfigError(
                f"ppo.num_envs: {ppo.num_envs} envs do not split into {parts} equal parts (new, "
                f"replayed{', mutated' if parts == 3 else ''}) whose replayed part divides into "
                f"{ppo.minibatches} minibatches (use a multiple of {parts * ppo.minibatches})"
            )


for _name, _robust, _source, _parallel, _summary in (
    ("plr", False, "random", False, "PLR: replay high-regret levels; learn on new levels too"),
    ("robust-plr", True, "random", False, "robust PLR (PLR⊥): learn only on replayed levels"),
    (
        "plr-generator",
        True,
        "generator",
        False,
        "robust PLR whose new levels come from a generator agent rewarded with their buffer "
        "score (not from a paper; REPAIRED is --algo repaired)",
    ),
    (
        "plr-parallel",
        True,
        "random",
        True,
        "minimax's PLR‖: each update scores new levels and trains on replayed ones, in one rollout",
    ),
):
    registry.ALGORITHMS.register(
        _name,
        AlgorithmSpec(
            _name,
            Config,
            functools.partial(preset, robust=_robust, level_source=_source, parallel=_parallel),
            make,
            validate,
            requires,
            _summary,
            **(PARALLEL_PRESETS if _parallel else {}),
        ),
    )
