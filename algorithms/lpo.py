"""LPO (Lu et al. 2022) and temporally-aware LPO (Jackson et al. 2024): a drift network for PPO
meta-trained by evolution, each member a full PPO run (``ued.meta.drift_program``).

``ued meta-train --algo lpo --env cartpole`` evolves ``ued.drift.LearnedDrift`` (``--rule.hidden``
units; ``--rule.lifetime-conditioned`` feeds the training progress, TA-LPO, and draws each
pair's lifetime log-uniformly from ``[curriculum.min-lifetime, curriculum.lifetime]``). Each
member's PPO agent trains on the levels its inner curriculum chooses, ``curriculum.inner-algo``:
any registered curriculum the env can run (``dr`` over the env's parameter levels by default;
``robust-plr`` or ``accel`` replay levels by regret within each member's lifetime). The
evolved mean of each seed is written to ``<run>/rules/seed<seed>.msgpack`` after every chunk,
ready for ``ued train --learner lpo --ppo.rule FILE``.

With ``--curriculum.tasks K`` each generation instead has K tasks (levels) and every member
trains a whole lifetime on each, its level pinned (the LPO reference's setting: an agent trains
on one env); ES ranks the returns normalised per task (``--curriculum.task-norm``). The tasks
are fresh random levels, or (``--curriculum.task-source buffer``) replayed from a level buffer
scored by algorithmic regret against PPO (``ued.meta.tasks``): PPO's return on the task after a
lifetime minus the population's, GROOVE's score with PPO in A2C's place.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from ued import config as config_lib
from ued import registry
from ued.buffer import BufferConfig, LevelBuffer, validate_buffer
from ued.config import NetworkConfig, PPOConfig, TrainConfig, positive, probability, require
from ued.drift import DPODrift, LearnedDrift
from ued.errors import ConfigError
from ued.meta.curriculum import MetaAlgorithmSpec
from ued.meta.drift_program import DriftMetaProgram
from ued.meta.tasks import TaskBatch
from ued.ppo import ClippedSurrogate, make_ppo_learner
from ued.train import Trainer

TASK_BUFFER = BufferConfig(
    capacity=64, prioritization="topk", topk=8, staleness_coeff=0.0, min_fill=0.125,
    sample_with_replacement=False,
)  # fmt: skip
"""The task buffer's default: GROOVE's scheme (replay the top-scoring levels, no staleness, once
enough are stored), sized for up to 8 tasks per generation."""


@dataclasses.dataclass(frozen=True)
class Config:
    """LPO's inner PPO runs: where their levels come from, how long they train, how they are
    scored."""

    inner_algo: str = "dr"
    """The curriculum over each member's levels (a registered curriculum, at its preset)."""
    lifetime: int = 64
    """Inner PPO updates of a member (N; the longest with min_lifetime)."""
    min_lifetime: int = 0
    """Each antithetic pair draws its lifetime log-uniformly from [min_lifetime, lifetime]
    (TA-LPO's horizons); 0: ``lifetime // 10`` for a lifetime-conditioned rule (TA-LPO), else
    every member trains for ``lifetime`` updates."""
    ppo_init: bool = True
    """Add PPO's drift to the network's (the LPO reference's --ppo-init)."""
    eval_envs: int = 16
    """Fresh levels a trained member is scored on (one episode each): its fitness (with tasks:
    episodes on its task's level)."""
    tasks: int = 0
    """Tasks per generation: levels every member trains a whole lifetime on, one run each, its
    level pinned (0: no task batch; each member's inner curriculum picks its levels)."""
    task_source: Literal["random", "buffer"] = "random"
    """Where tasks come from: fresh random levels, or a buffer scored by algorithmic regret
    against PPO (PPO's return on the task minus the population's)."""
    task_norm: Literal["rank", "ppo", "none"] = "rank"
    """Per-task fitness normalisation: centred ranks within each task, the return divided by
    PPO's on that task, or none (the plain mean over tasks)."""
    replay_prob: float = 0.5
    """Probability that a task is replayed from the buffer (once it is ready)."""
    buffer: BufferConfig = dataclasses.field(default_factory=lambda: TASK_BUFFER)
    """The task buffer (GROOVE's: rank its levels by score and replay the top ones)."""
    ppo: PPOConfig = dataclasses.field(default_factory=PPOConfig)
    """The inner PPO's settings (the env family's preset)."""
    network: NetworkConfig = dataclasses.field(default_factory=NetworkConfig)
    """The inner agents' network (the env family's preset)."""


SIZES = {
    "test": dict(lifetime=2, eval_envs=2),
    "cpu": dict(lifetime=50, eval_envs=16),
    "reference": dict(lifetime=250, eval_envs=64),
}
"""Inner lifetimes and scoring levels per preset (CartPole-sized tasks on a CPU: 50 updates of
32 envs x 64 steps per member, 102k env steps, where PPO reaches a return of about 120)."""


def _env_preset(config) -> TrainConfig:
    """The env family's training preset at the meta preset's scale, for the inner algorithm."""
    name = {"reference": "paper"}.get(config.preset, config.preset)
    return registry.ENVS.get(config.env).preset(name, config.curriculum.inner_algo)


def preset(config, name: str) -> Config:
    """The inner runs at a preset: the env family's PPO and network (``cpu``: 32 envs x 64
    steps, so a generation of 16 members takes about 3 s on 2 CPU cores)."""
    base = registry.ENVS.get(config.env).preset({"reference": "paper"}.get(name, name), "dr")
    ppo, network = base.ppo, base.network
    if name == "cpu":
        ppo = dataclasses.replace(ppo, num_envs=32, num_steps=64)
    return Config(ppo=ppo, network=network, **SIZES[name])


def configure(config, name: str):
    """ES and the drift network at a preset: the LPO re-implementation's OpenES (Adam 0.03,
    sigma 0.03, both decayed 0.99 per generation for the step size here), a 128-unit drift
    (``test``: 8); 64 members (``cpu``: 16, ``test``: 4); evaluation on random levels."""
    population = {"test": 4, "cpu": 16, "reference": 64}[name]
    rule = dataclasses.replace(config.rule, hidden=8 if name == "test" else 128)
    return dataclasses.replace(
        config, backend="es", population=population, rule=rule, es_sigma=0.03, es_lr=0.03,
        es_lr_decay=0.99, es_lr_limit=0.001, eval_suites=("random",), eval_lifetime=0,
        eval_levels={"test": 2, "cpu": 8, "reference": 16}[name],
    )  # fmt: skip


def inner_config(config) -> TrainConfig:
    """The ``TrainConfig`` of one member's PPO run (its ``updates`` is the longest lifetime)."""
    c = config.curriculum
    base = _env_preset(config)
    base = dataclasses.replace(
        base,
        env_config=config.env_config,
        network=c.network,
        ppo=c.ppo,
        updates=c.lifetime,
        updates_per_chunk=c.lifetime,
        eval_every=0,
        checkpoint_every=c.lifetime,
        seeds=(),
        seed=0,
    )
    algorithm = registry.ALGORITHMS.get(c.inner_algo)
    return algorithm.preset(dataclasses.replace(base, algo=c.inner_algo), base.preset)


def validate(config) -> None:
    """Check the inner runs (as a training config, its messages under ``curriculum.``) and that
    ES meta-trains it."""
    c = config.curriculum
    require(config.backend == "es", "backend", "lpo is meta-trained by evolution (es)")
    positive(c, "curriculum.", "lifetime", "eval_envs")
    require(
        0 <= c.min_lifetime <= c.lifetime,
        "curriculum.min_lifetime",
        f"must be in [0, lifetime = {c.lifetime}], got {c.min_lifetime}",
    )
    registry.ALGORITHMS.get(c.inner_algo)
    require(c.tasks >= 0, "curriculum.tasks", f"must be >= 0, got {c.tasks}")
    require(
        c.task_source in ("random", "buffer"),
        "curriculum.task_source",
        f"must be random or buffer, got {c.task_source!r}",
    )
    require(
        c.task_norm in ("rank", "ppo", "none"),
        "curriculum.task_norm",
        f"must be rank, ppo or none, got {c.task_norm!r}",
    )
    if c.tasks:
        require(
            c.inner_algo == "dr",
            "curriculum.inner_algo",
            f"tasks pin each member's level for its whole run, so the inner curriculum is not "
            f"used: leave it at dr (got {c.inner_algo!r})",
        )
        probability(c, "curriculum.", "replay_prob")
        if c.task_source == "buffer":
            validate_buffer(c.buffer, c.tasks, "curriculum.buffer.")
    else:
        require(
            c.task_source == "random" and c.task_norm == "rank",
            "curriculum.tasks",
            "task_source and task_norm act on a task batch: set --curriculum.tasks K",
        )
    try:
        config_lib.validate(inner_config(config))
    except ConfigError as error:  # the inner run's field, as the meta config names it
        message = str(error)
        if message.startswith("algo:"):
            message = "inner_algo:" + message[len("algo:") :]
        raise ConfigError(f"curriculum.{message}") from None


def retarget(config, env: str):
    """The config that meta-evaluates a run's drift on env family ``env``: that env's settings,
    inner PPO and network at the run's preset, inner DR levels and no task batch; the drift
    network, lifetimes, scoring and evaluation settings stay the run's."""
    from ued.meta.config import preset as meta_preset

    fresh = meta_preset("lpo", env, config.preset)
    curriculum = dataclasses.replace(
        config.curriculum,
        inner_algo="dr",
        tasks=0,
        task_source="random",
        task_norm="rank",
        ppo=dataclasses.replace(fresh.curriculum.ppo, rule=config.curriculum.ppo.rule),
        network=fresh.curriculum.network,
    )
    return dataclasses.replace(config, env=env, env_config=fresh.env_config, curriculum=curriculum)


def program(config, env, spec) -> DriftMetaProgram:
    """LPO's meta-training program for a validated config."""
    c = config.curriculum
    inner = inner_config(config)
    curriculum = registry.ALGORITHMS.get(c.inner_algo).make(env, spec, inner)
    encoder = spec.make_encoder(config.env_config)

    def trainer_for(objective) -> Trainer:
        learner = make_ppo_learner(
            env.num_actions, encoder, c.network, c.ppo, env.action_dim, objective=objective
        )
        return Trainer(env, curriculum, learner, inner, spec.success)

    objective = LearnedDrift(
        hidden=config.rule.hidden, temporal=config.rule.lifetime_conditioned, ppo_init=c.ppo_init
    )
    shortest = c.min_lifetime or (
        max(1, c.lifetime // 10) if config.rule.lifetime_conditioned else c.lifetime
    )
    task_batch = None
    if c.tasks:
        buffer = None
        if c.task_source == "buffer":
            buffer = LevelBuffer(c.buffer, extras=("ppo_return", "learned_return"))

        def task_batch(baseline_return) -> TaskBatch:
            return TaskBatch(
                env.sample_level, c.tasks, c.task_norm, buffer, c.replay_prob, baseline_return
            )

    return DriftMetaProgram(
        config, env, spec, objective, trainer_for,
        baselines={"ppo": ClippedSurrogate(), "dpo": DPODrift()},
        lifetimes=(shortest, c.lifetime), eval_envs=c.eval_envs, task_batch=task_batch,
    )  # fmt: skip


SPEC = registry.META_ALGORITHMS.register(
    "lpo",
    MetaAlgorithmSpec(
        name="lpo",
        Config=Config,
        preset=preset,
        make=lambda program: None,
        validate=validate,
        requires=lambda config: frozenset(),
        summary="LPO: a drift network for PPO evolved over full PPO runs (TA-LPO with "
        "--rule.lifetime-conditioned)",
        configure=configure,
        program=program,
        retarget=retarget,
    ),
)
