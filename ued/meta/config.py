"""The meta-training config (``ued meta-train``): loop, env, inner agents, rule and meta-learner.

Like ``TrainConfig`` it is a frozen dataclass with a docstring per field, saved as the run's
``config.json``; its ``env_config`` is the env family's own settings (from the registry).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

from .. import registry
from ..buffer import BufferConfig, validate_buffer
from ..config import (
    ConfigError,
    _from_dict,
    check_fields,
    check_suite_name,
    positive,
    probability,
    read_config,
    require,
    to_dict,
)

PRESETS = ("test", "cpu", "paper")
E = TypeVar("E")


@dataclasses.dataclass(frozen=True)
class AgentConfig:
    """The inner agents the rule trains."""

    hidden: tuple[int, ...] = (32,)
    """Hidden widths of the agent's MLP (``()``: linear heads, a table for tabular levels)."""
    prediction_size: int = 8
    """m, the size of LPG's prediction vector y."""
    embedding: int = 32
    """Tabular levels: width of the state embedding."""
    optimizer: Literal["sgd", "adam"] = "adam"
    """The inner optimiser."""
    lr: float = 1e-2
    """Its step size."""
    num_envs: int = 64
    """Parallel episodes per agent rollout."""
    num_steps: int = 20
    """Steps per agent rollout (one inner update each)."""
    gamma: float = 0.99
    """Discount (fed to LPG and used by the A2C baseline and meta-objective)."""


@dataclasses.dataclass(frozen=True)
class RuleConfig:
    """The learned rule (LPG)."""

    hidden: int = 256
    """Width of LPG's backward GRU."""
    embedding: int = 16
    """Width of phi, the embedding of y."""
    lifetime_conditioned: bool = False
    """Feed the fraction of the lifetime elapsed and log lifetime (TA-LPG)."""
    alpha_y: float = 0.5
    """Weight of the prediction's KL term in the agent's loss."""


@dataclasses.dataclass(frozen=True)
class MetaCurriculumConfig:
    """Where the inner agents' levels come from (``ued.meta.curricula``)."""

    score: Literal["dr", "fixed", "ar", "pvl", "maxmc", "regret"] = "dr"
    """dr: fresh random levels (plain LPG); fixed: a finite level set; ar (GROOVE's algorithmic
    regret: A2C's return minus the LPG agent's, after the same lifetime), pvl, maxmc (from the
    agents' value baselines) or regret (the exact optimum minus the LPG agent's return; tabular
    levels): a level buffer scored when agents finish."""
    replay_prob: float = 0.5
    """Probability that a starting agent replays a buffer level (once the buffer is ready)."""
    buffer: BufferConfig = dataclasses.field(default_factory=BufferConfig)
    """The level buffer (GROOVE: 4,000 levels, rank prioritisation)."""
    score_batch: int = 2
    """Finished agents scored per meta-step at most (the others wait, frozen, in the queue)."""
    score_episodes: int = 16
    """Fresh episodes that score a finished agent (and an A2C antagonist)."""
    max_lifetime: int = 1000
    """Static bound on a level's lifetime for the A2C antagonists of ``ar``."""
    fixed_levels: int = 64
    """Levels of the ``fixed`` set."""


@dataclasses.dataclass(frozen=True)
class MetaTrainConfig(Generic[E]):
    """One meta-training run: ``updates`` meta-steps of ``updates_per_chunk`` per jitted chunk."""

    algo: Literal["lpg", "groove"] = "lpg"
    """The meta-learner: lpg (LPG on fresh random levels) or groove (LPG on a curriculum,
    ``curriculum.score``; GROOVE's is ``ar``)."""
    env: str = "gridworld"
    """Environment family (its levels carry the agents' lifetimes)."""
    preset: str = "cpu"
    """The preset this config started from."""
    seed: int = 0
    """Random seed (ignored when ``seeds`` is set)."""
    seeds: tuple[int, ...] = ()
    """Several seeds trained together in one vmapped program."""
    updates: int = 500
    """Meta-steps."""
    updates_per_chunk: int = 10
    """Meta-steps per jitted chunk (the host acts between chunks)."""
    eval_every: int = 100
    """Meta-evaluate every this many meta-steps (0: only at the end)."""
    checkpoint_every: int = 100
    """Checkpoint every this many meta-steps."""
    keep_checkpoints: int = 3
    """Checkpoints kept on disk, the newest ones (0: every one, e.g. to evaluate a run's whole
    history with `--all-steps` or at equal wall-clock)."""
    devices: int = 0
    """Devices per process that the population is split over (0: every local device); may
    change on resume."""
    eval_suites: tuple[str, ...] = ("random",)
    """Suites meta-evaluated on (fresh agents trained by the rule and by A2C)."""
    eval_levels: int = 8
    """Levels of drawn suites (random)."""
    eval_lifetime: int = 100
    """Inner updates of a meta-evaluation agent (at most; levels may have shorter lifetimes)."""
    a2c_tuned: bool = True
    """Meta-evaluation's A2C baseline uses the env family's settings tuned per level family
    (else the inner agents' step size and entropy 0.01)."""
    env_config: E = None  # type: ignore[assignment]
    """The env family's settings."""
    agent: AgentConfig = dataclasses.field(default_factory=AgentConfig)
    """Inner agents."""
    rule: RuleConfig = dataclasses.field(default_factory=RuleConfig)
    """The learned rule."""
    curriculum: MetaCurriculumConfig = dataclasses.field(default_factory=MetaCurriculumConfig)
    """Where the agents' levels come from (``groove``)."""
    backend: Literal["gradient", "es"] = "gradient"
    """How the rule is meta-learned: meta-gradient through ``unroll`` inner updates, or
    evolution strategies (OpenES, antithetic pairs, full-lifetime unrolls)."""
    population: int = 8
    """Inner agents trained at once (meta-gradient) or ES members per generation (even)."""
    unroll: int = 5
    """Inner updates unrolled per meta-step (K)."""
    meta_lr: float = 1e-4
    """Adam step size of the rule."""
    baseline_lr: float = 1e-2
    """Adam step size of the agents' value baselines."""
    policy_entropy: float = 5e-2
    """Meta-regulariser: policy entropy bonus."""
    y_entropy: float = 1e-3
    """Meta-regulariser: y entropy bonus."""
    pi_hat_l2: float = 5e-3
    """Meta-regulariser: L2 of LPG's policy target."""
    y_hat_l2: float = 1e-3
    """Meta-regulariser: L2 of LPG's prediction target."""
    es_sigma: float = 0.02
    """ES: standard deviation of the rule's perturbations."""
    es_lr: float = 0.01
    """ES: Adam step size of the mean rule."""
    es_lifetime: int = 50
    """ES: the most inner updates of one member's agent (levels may have shorter lifetimes)."""

    @property
    def seed_list(self) -> tuple[int, ...]:
        """The seeds of this run."""
        return tuple(self.seeds) if self.seeds else (self.seed,)


def preset(algo: str = "lpg", env: str = "gridworld", name: str = "cpu") -> MetaTrainConfig:
    """The meta-training config at preset ``name``: ``test`` (tiny, seconds), ``cpu`` (small
    grids, 8 agents, short lifetimes: a few hundred meta-steps in minutes) or ``paper`` (GROOVE's
    ``all`` levels, LPG's sizes)."""
    require(name in PRESETS, "preset", f"unknown preset {name!r}; choose one of {PRESETS}")
    spec = registry.ENVS.get(env)
    env_config = spec.preset("test" if name == "test" else "cpu", algo).env_config
    curriculum = _curriculum_preset(algo, name)
    config = _preset(algo, env, name, env_config)
    return dataclasses.replace(config, curriculum=curriculum)


def _curriculum_preset(algo: str, name: str) -> MetaCurriculumConfig:
    """GROOVE's buffer (4,000 levels) for ``groove``, scaled to the levels a preset's run
    finishes (a cpu run of 500 meta-steps finishes about 80 agents)."""
    if algo != "groove":
        return MetaCurriculumConfig()
    if name == "test":
        return MetaCurriculumConfig(
            score="ar", buffer=BufferConfig(capacity=4, min_fill=0.25), score_batch=2,
            score_episodes=4, max_lifetime=8, fixed_levels=4,
        )  # fmt: skip
    if name == "cpu":
        buffer = BufferConfig(capacity=64, min_fill=0.125)
        return MetaCurriculumConfig(score="ar", buffer=buffer, max_lifetime=250)
    return MetaCurriculumConfig(score="ar", max_lifetime=250)


def _preset(algo: str, env: str, name: str, env_config) -> MetaTrainConfig:
    if name == "test":
        return MetaTrainConfig(
            algo=algo, env=env, preset=name, updates=4, updates_per_chunk=2, eval_every=2,
            checkpoint_every=2, eval_levels=2, eval_lifetime=3, env_config=env_config,
            agent=AgentConfig(hidden=(), embedding=4, num_envs=4, num_steps=6, lr=0.1),
            rule=RuleConfig(hidden=8, embedding=4), population=2, unroll=2, meta_lr=1e-3,
        )  # fmt: skip
    if name == "cpu":
        env_config = dataclasses.replace(env_config, distribution="small", max_steps=750)
        return MetaTrainConfig(
            algo=algo, env=env, preset=name, updates=500, updates_per_chunk=10, eval_every=100,
            checkpoint_every=100, eval_levels=8, eval_lifetime=50, env_config=env_config,
            agent=AgentConfig(hidden=(), embedding=16, num_envs=16, num_steps=20, lr=0.05),
            rule=RuleConfig(hidden=32), population=8, unroll=5, meta_lr=1e-3,
        )  # fmt: skip
    return MetaTrainConfig(
        algo=algo, env=env, preset=name, updates=5000, updates_per_chunk=10, eval_every=500,
        checkpoint_every=500, eval_suites=("lpg-grids", "random"), eval_levels=32,
        eval_lifetime=250, env_config=env_config, population=64, unroll=5,
    )  # fmt: skip


def validate(config: MetaTrainConfig) -> MetaTrainConfig:
    """Check every field before anything is compiled; raises ``ConfigError`` naming it."""
    check_fields(config)
    require(
        config.algo in ("lpg", "groove"),
        "algo",
        f"unknown meta-learner {config.algo!r}; choose lpg or groove",
    )
    spec = registry.ENVS.get(config.env)
    positive(config, "", "updates", "updates_per_chunk", "checkpoint_every", "eval_levels")
    positive(config, "", "eval_lifetime", "population", "unroll", "meta_lr", "baseline_lr")
    require(config.eval_every >= 0, "eval_every", f"must be >= 0, got {config.eval_every}")
    require(config.keep_checkpoints >= 0, "keep_checkpoints",
            f"must be >= 0 (0: keep all), got {config.keep_checkpoints}")  # fmt: skip
    require(config.devices >= 0, "devices",
            f"must be >= 0 (0: every local device), got {config.devices}")  # fmt: skip
    for name in ("updates", "eval_every", "checkpoint_every"):
        value = getattr(config, name)
        require(
            value % config.updates_per_chunk == 0,
            name,
            f"{value} is not a multiple of updates_per_chunk ({config.updates_per_chunk})",
        )
    require(len(set(config.seeds)) == len(config.seeds), "seeds", f"repeated {config.seeds}")
    require(
        isinstance(config.env_config, spec.Config),
        "env_config",
        f"expected the settings of env {config.env!r} ({spec.Config.__name__})",
    )
    spec.validate(config.env_config, "env_config.")
    a = config.agent
    positive(a, "agent.", "prediction_size", "embedding", "lr", "num_envs", "num_steps")
    require(all(w > 0 for w in a.hidden), "agent.hidden", f"widths must be positive: {a.hidden}")
    require(a.optimizer in ("sgd", "adam"), "agent.optimizer", f"unknown {a.optimizer!r}")
    probability(a, "agent.", "gamma")
    positive(config.rule, "rule.", "hidden", "embedding")
    require(config.rule.alpha_y >= 0, "rule.alpha_y", f"must be >= 0, got {config.rule.alpha_y}")
    for name in ("policy_entropy", "y_entropy", "pi_hat_l2", "y_hat_l2"):
        require(getattr(config, name) >= 0, name, f"must be >= 0, got {getattr(config, name)}")
    require(config.backend in ("gradient", "es"), "backend", f"unknown {config.backend!r}")
    if config.backend == "es":
        positive(config, "", "es_sigma", "es_lr", "es_lifetime")
        require(
            config.population % 2 == 0,
            "population",
            f"ES evaluates antithetic pairs, so it must be even, got {config.population}",
        )
    for suite in config.eval_suites:
        check_suite_name(config.env, suite, "eval_suites")
    _validate_curriculum(config, spec)
    return config


def _validate_curriculum(config: MetaTrainConfig, spec) -> None:
    c = config.curriculum
    from .curricula import SCORES

    require(c.score in SCORES, "curriculum.score", f"unknown {c.score!r}; choose one of {SCORES}")
    if config.algo == "lpg":
        require(
            c.score == "dr",
            "curriculum.score",
            f"lpg meta-trains on fresh random levels; use --algo groove for {c.score!r}",
        )
    if c.score != "dr":
        require(
            config.backend == "gradient",
            "curriculum.score",
            f"{c.score!r} needs the meta-gradient backend (ES draws fresh random levels)",
        )
    if c.score == "regret":
        require(
            spec.oracle is not None,
            "curriculum.score",
            f"regret needs an exact optimum, and env {config.env!r} declares no oracle",
        )
    probability(c, "curriculum.", "replay_prob")
    positive(c, "curriculum.", "score_batch", "score_episodes", "max_lifetime", "fixed_levels")
    validate_buffer(c.buffer, config.population, "curriculum.buffer.")
    require(
        c.score_batch <= config.population,
        "curriculum.score_batch",
        f"{c.score_batch} is more than the population ({config.population})",
    )


def from_dict(data: dict[str, Any]) -> MetaTrainConfig:
    """Rebuild a config from its ``config.json`` dict."""
    if not isinstance(data, dict):
        raise ConfigError(f"config: expected a JSON object, got {type(data).__name__}")
    data = dict(data)
    spec = registry.ENVS.get(data.get("env", "gridworld"))
    env_config = _from_dict(spec.Config, data.pop("env_config", None) or {}, "env_config.")
    return dataclasses.replace(_from_dict(MetaTrainConfig, data, ""), env_config=env_config)


def load(path: Path) -> MetaTrainConfig:
    """Read and validate a meta-training run's ``config.json``."""
    return read_config(path, from_dict, validate, "`ued meta-train`")


__all__ = ["AgentConfig", "MetaCurriculumConfig", "MetaTrainConfig", "RuleConfig", "from_dict"]
__all__ += ["load", "preset"]
__all__ += ["to_dict", "validate"]
