"""The meta-training config (``ued meta-train``): loop, env, inner agents, rule and meta-learner.

Like ``TrainConfig`` it is a frozen dataclass with a docstring per field, saved as the run's
``config.json``; its ``env_config`` is the env family's own settings (from the registry).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

from .. import registry
from ..config import (
    ConfigError,
    LoopConfig,
    _from_dict,
    check_fields,
    positive,
    probability,
    read_config,
    require,
    to_dict,
    validate_loop,
)

PRESETS = ("test", "cpu", "reference")
E = TypeVar("E")
C = TypeVar("C")


@dataclasses.dataclass(frozen=True)
class AgentConfig:
    """The inner agents the rule trains (defaults: GROOVE's tabular agents, ``configs.py``
    ``_TABULAR_HYPERS``, and its A2C, ``parse_args.py``)."""

    tabular: bool = True
    """On envs with tabular observations (``--env gridworld``), a table per head indexed by the
    state (the reference's linear layers on a one-hot); else the env's encoder and an MLP."""
    hidden: tuple[int, ...] = (32,)
    """Hidden widths of each network's MLP when not tabular (``()``: linear heads)."""
    prediction_size: int = 8
    """m, the size of LPG's prediction vector y."""
    optimizer: Literal["sgd", "adam"] = "sgd"
    """The inner optimiser (one per network: actor and critic)."""
    lr: float = 40.0
    """The actor's step size."""
    critic_lr: float = 4.0
    """The critic's (y and value) step size."""
    max_grad_norm: float = 0.5
    """Each network's gradient is clipped to this global norm before its step (0: no clipping;
    the reference applies it with SGD only)."""
    num_envs: int = 64
    """Parallel episodes per agent rollout."""
    num_steps: int = 20
    """Steps per agent rollout (one inner update each)."""
    gamma: float = 0.99
    """Discount (fed to LPG and used by A2C and the meta-objective)."""
    gae_lambda: float = 0.95
    """GAE's lambda for A2C and the meta-objective's advantages (1: n-step returns)."""
    normalise_advantages: bool = True
    """Standardise A2C's and the meta-objective's advantages over each rollout."""
    entropy_coef: float = 0.01
    """A2C's entropy bonus (the antagonists of ``ar`` and meta-evaluation's baseline; 0: none)."""


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
    """Weight of the prediction's KL term in the agent's loss (0: y is not trained)."""


@dataclasses.dataclass(frozen=True)
class MetaTrainConfig(LoopConfig, Generic[E, C]):
    """One meta-training run: ``updates`` meta-steps of ``updates_per_chunk`` per jitted chunk."""

    algo: str = "lpg"
    """The meta-algorithm (a name registered in ued.registry.META_ALGORITHMS): lpg (LPG on fresh
    random levels) or groove (LPG on GROOVE's level buffer)."""
    env: str = "gridworld"
    """Environment family (its levels carry the agents' lifetimes)."""
    updates: int = 30_000
    """Meta-steps (GROOVE's)."""
    eval_lifetime: int = 0
    """Inner updates of every meta-evaluation agent, the lifetime the rule sees it trained for
    (0: each level's own, e.g. 2,500 on LPG's grids)."""
    a2c_tuned: bool = False
    """Meta-evaluation's A2C baseline uses the env family's settings tuned per level family
    (``envs/gridworld/baselines.py``; else the inner agents' optimiser and ``agent.entropy_coef``,
    as the reference's A2C)."""
    env_config: E = None  # type: ignore[assignment]
    """The env family's settings."""
    agent: AgentConfig = dataclasses.field(default_factory=AgentConfig)
    """Inner agents."""
    rule: RuleConfig = dataclasses.field(default_factory=RuleConfig)
    """The learned rule."""
    curriculum: C = None  # type: ignore[assignment]
    """Where the agents' levels come from (the meta-algorithm's own settings)."""
    backend: Literal["gradient", "es"] = "gradient"
    """How the rule is meta-learned: meta-gradient through ``unroll`` inner updates, or
    evolution strategies (OpenES, antithetic pairs, full-lifetime unrolls)."""
    population: int = 512
    """Inner agents trained at once (meta-gradient) or ES members per generation (even; the
    reference evaluates 2 x 512)."""
    unroll: int = 5
    """Inner updates unrolled per meta-step (K)."""
    meta_lr: float = 1e-4
    """Adam step size of the rule."""
    policy_entropy: float = 5e-2
    """Meta-regulariser: policy entropy bonus (0: off, as for the three below)."""
    y_entropy: float = 1e-3
    """Meta-regulariser: y entropy bonus."""
    pi_hat_l2: float = 5e-3
    """Meta-regulariser: L2 of LPG's policy target."""
    y_hat_l2: float = 1e-3
    """Meta-regulariser: L2 of LPG's prediction target."""
    es_sigma: float = 0.1
    """ES: standard deviation of the rule's perturbations."""
    es_lr: float = 1e-4
    """ES: Adam step size of the mean rule (each member's agent trains for its level's whole
    lifetime)."""
    es_lr_decay: float = 0.999
    """ES: the step size is multiplied by this every generation (1: constant)..."""
    es_lr_limit: float = 1e-5
    """ES: ... down to this (0: no floor)."""


REFERENCE_SOURCES = {
    "env_config.distribution": "experiments/parse_args.py --env_mode (all_shortlife)",
    "agent.tabular": "environments/gridworld/configs.py _TABULAR_HYPERS (actor_net ())",
    "agent.optimizer": "environments/gridworld/configs.py _TABULAR_HYPERS (SGD)",
    "agent.lr": "environments/gridworld/configs.py _TABULAR_HYPERS (actor_learning_rate)",
    "agent.critic_lr": "environments/gridworld/configs.py _TABULAR_HYPERS (critic_learning_rate)",
    "agent.max_grad_norm": "environments/gridworld/configs.py _TABULAR_HYPERS (max_grad_norm)",
    "agent.num_envs": "experiments/parse_args.py --env_workers",
    "agent.num_steps": "experiments/parse_args.py --train_rollout_len",
    "agent.gamma": "experiments/parse_args.py --gamma",
    "agent.gae_lambda": "experiments/parse_args.py --gae_lambda",
    "agent.normalise_advantages": "agents/a2c.py and meta/train.py (adv - mean) / std",
    "agent.entropy_coef": "experiments/parse_args.py --entropy_coeff",
    "agent.prediction_size": "experiments/parse_args.py --lpg_target_width",
    "rule.hidden": "experiments/parse_args.py --lpg_gru_width",
    "rule.embedding": "experiments/parse_args.py --lpg_embedding_net_width",
    "rule.alpha_y": "experiments/parse_args.py --lpg_agent_target_coeff",
    "updates": "experiments/parse_args.py --train_steps",
    "population": "experiments/parse_args.py --num_agents",
    "unroll": "experiments/parse_args.py --num_agent_updates",
    "meta_lr": "experiments/parse_args.py --lpg_learning_rate",
    "policy_entropy": "experiments/parse_args.py --lpg_policy_entropy_coeff",
    "y_entropy": "experiments/parse_args.py --lpg_target_entropy_coeff",
    "pi_hat_l2": "experiments/parse_args.py --lpg_policy_l2_coeff",
    "y_hat_l2": "experiments/parse_args.py --lpg_target_l2_coeff",
    "es_sigma": "experiments/parse_args.py --es_sigma_init (= --es_sigma_limit, no decay)",
    "es_lr": "models/optim.py create_es_strategy (lrate_init = --lpg_learning_rate)",
    "es_lr_decay": "experiments/parse_args.py --es_lrate_decay",
    "es_lr_limit": "experiments/parse_args.py --es_lrate_limit",
    "eval_lifetime": "environments/gridworld/configs.py ENV_MODE_LIFETIME (each level's own)",
}
"""Where the ``reference`` preset's settings come from in GROOVE's code (EmptyJackson/groove).
The values are the dataclass defaults (``MetaTrainConfig`` and its parts), except the level
distribution, which ``preset`` sets, and the curriculum's, which the meta-algorithm's preset
sets (and its ``sources`` name)."""


def preset_sources(name: str, algo: str = "lpg") -> str:
    """What ``--help-config`` says about preset ``name``'s settings: for ``reference``, where
    in GROOVE's code each one comes from (the meta-algorithm ``algo``'s curriculum settings
    included); for ``cpu``, what it changes from the reference."""
    if name == "reference":
        sources = {**REFERENCE_SOURCES, **registry.META_ALGORITHMS.get(algo).sources}
        lines = ["The reference preset follows GROOVE's code (EmptyJackson/groove):"]
        lines += [f"{field}: {source}" for field, source in sources.items()]
        return "\n\n".join(lines)
    if name == "cpu":
        changed = ", ".join(sorted(_SIZES["cpu"])) + ", agent.num_envs, distribution small"
        return f"The cpu preset is the reference's with smaller sizes: {changed}."
    return ""


def preset(algo: str = "lpg", env: str = "gridworld", name: str = "cpu") -> MetaTrainConfig:
    """The meta-training config at preset ``name``: ``reference`` (GROOVE's settings: the
    dataclass defaults, see ``REFERENCE_SOURCES``), ``cpu`` (the same with smaller sizes: the
    ``small`` grids, 8 agents, 16 envs, a 32-wide GRU, 500 meta-steps; a few hundred meta-steps
    run in minutes) or ``test`` (tiny, seconds)."""
    require(name in PRESETS, "preset", f"unknown preset {name!r}; choose one of {PRESETS}")
    algorithm = registry.META_ALGORITHMS.get(algo)
    spec = registry.ENVS.get(env)
    # The env family's preset for the meta-algorithm chooses its levels (GROOVE's gridworld
    # distributions: all_shortlife at the reference's scale).
    env_config = spec.preset({"reference": "paper"}.get(name, name), algo).env_config
    config = MetaTrainConfig(algo=algo, env=env, preset=name, env_config=env_config)
    if not spec.build(env_config).num_states:  # array observations: the reference's rand_* agents
        config = dataclasses.replace(config, agent=dataclasses.replace(
            config.agent, tabular=False, hidden=(32,), optimizer="adam", lr=1e-3, critic_lr=1e-3,
            max_grad_norm=0.0))  # fmt: skip
    config = dataclasses.replace(config, **_SIZES[name])
    config = dataclasses.replace(config, agent=_sized_agent(name, config.agent))
    config = dataclasses.replace(config, curriculum=algorithm.preset(config, name))
    return algorithm.configure(config, name)


_SIZES = {
    "reference": dict(eval_suites=("lpg-grids", "random"), eval_levels=32, eval_every=1000,
                      checkpoint_every=1000, updates_per_chunk=10),
    "cpu": dict(updates=500, updates_per_chunk=10, eval_every=100, checkpoint_every=100,
                eval_levels=8, eval_lifetime=50, population=8, meta_lr=1e-3, es_lr=0.01,
                es_lr_decay=1.0, rule=RuleConfig(hidden=32)),
    "test": dict(updates=4, updates_per_chunk=2, eval_every=2, checkpoint_every=2, eval_levels=2,
                 eval_lifetime=3, population=2, unroll=2, meta_lr=1e-3, es_lr=0.01,
                 es_lr_decay=1.0, rule=RuleConfig(hidden=8, embedding=4)),
}  # fmt: skip
"""What each preset changes from the reference's settings (and ``_sized_agent``)."""


def _sized_agent(name: str, agent: AgentConfig) -> AgentConfig:
    if name == "cpu":
        return dataclasses.replace(agent, num_envs=16)
    if name == "test":
        return dataclasses.replace(agent, num_envs=4, num_steps=6, hidden=(8,))
    return agent


def validate(config: MetaTrainConfig) -> MetaTrainConfig:
    """Check every field before anything is compiled; raises ``ConfigError`` naming it."""
    check_fields(config)
    spec = registry.ENVS.get(config.env)
    validate_loop(config)
    positive(config, "", "population", "unroll", "meta_lr")
    require(config.eval_lifetime >= 0, "eval_lifetime",
            f"must be >= 0 (0: each level's own), got {config.eval_lifetime}")  # fmt: skip
    require(
        isinstance(config.env_config, spec.Config),
        "env_config",
        f"expected the settings of env {config.env!r} ({spec.Config.__name__})",
    )
    spec.validate(config.env_config, "env_config.")
    algorithm = registry.META_ALGORITHMS.get(config.algo)
    check_meta_compatible(config, spec, algorithm)
    a = config.agent
    positive(a, "agent.", "prediction_size", "lr", "critic_lr", "num_envs",
             "num_steps")  # fmt: skip
    require(all(w > 0 for w in a.hidden), "agent.hidden", f"widths must be positive: {a.hidden}")
    for name in ("max_grad_norm", "entropy_coef"):
        require(getattr(a, name) >= 0, f"agent.{name}", f"must be >= 0, got {getattr(a, name)}")
    probability(a, "agent.", "gamma", "gae_lambda")
    positive(config.rule, "rule.", "hidden", "embedding")
    require(config.rule.alpha_y >= 0, "rule.alpha_y", f"must be >= 0, got {config.rule.alpha_y}")
    for name in ("policy_entropy", "y_entropy", "pi_hat_l2", "y_hat_l2"):
        require(getattr(config, name) >= 0, name, f"must be >= 0, got {getattr(config, name)}")
    if config.backend == "es":
        positive(config, "", "es_sigma", "es_lr")
        require(0 < config.es_lr_decay <= 1, "es_lr_decay",
                f"must be in (0, 1], got {config.es_lr_decay}")  # fmt: skip
        require(config.es_lr_limit >= 0, "es_lr_limit", f"must be >= 0, got {config.es_lr_limit}")
        require(
            config.population % 2 == 0,
            "population",
            f"ES evaluates antithetic pairs, so it must be even, got {config.population}",
        )
    require(
        isinstance(config.curriculum, algorithm.Config),
        "curriculum",
        f"expected the settings of meta-algorithm {config.algo!r} ({algorithm.Config.__name__})",
    )
    algorithm.validate(config)
    return config


def check_meta_compatible(config: MetaTrainConfig, spec, algorithm) -> None:
    """Refuse an env that lacks a capability the meta-algorithm with these settings needs (LPG's:
    levels that carry a lifetime), naming it."""
    needed = algorithm.requires(config)
    missing = sorted(needed - spec.capabilities)
    if missing:
        declared = sorted(spec.capabilities) or "none"
        raise ConfigError(
            f"env: meta-training with {config.algo!r} needs the env capabilit"
            f"{'y' if len(missing) == 1 else 'ies'} {', '.join(repr(m) for m in missing)}, which "
            f"env {config.env!r} does not declare (it declares: {declared})"
        )


def from_dict(data: dict[str, Any]) -> MetaTrainConfig:
    """Rebuild a config from its ``config.json`` dict."""
    if not isinstance(data, dict):
        raise ConfigError(f"config: expected a JSON object, got {type(data).__name__}")
    data = dict(data)
    spec = registry.ENVS.get(data.get("env", "gridworld"))
    algorithm = registry.META_ALGORITHMS.get(data.get("algo", "lpg"))
    env_config = _legacy_embedding(spec.Config, data, data.pop("env_config", None) or {})
    env_config = _from_dict(spec.Config, env_config, "env_config.")
    curriculum = _legacy_curriculum(data.get("algo", "lpg"), data.pop("curriculum", None) or {})
    curriculum = _from_dict(algorithm.Config, curriculum, "curriculum.")
    config = _from_dict(MetaTrainConfig, data, "")
    return dataclasses.replace(config, env_config=env_config, curriculum=curriculum)


def _legacy_curriculum(algo: str, curriculum: dict) -> dict:
    """A curriculum saved before meta-algorithms had their own settings (one config with a
    ``score`` for both) in the meta-algorithm's own terms, so older runs still load."""
    if not isinstance(curriculum, dict) or "fixed_levels" not in curriculum:
        return curriculum
    if algo == "lpg":
        fixed = curriculum.get("score") == "fixed"
        return {"fixed_levels": curriculum["fixed_levels"] if fixed else 0}
    return {k: v for k, v in curriculum.items() if k != "fixed_levels"}


def _legacy_embedding(env_class: type, data: dict, env_config: dict) -> dict:
    """Runs saved when the inner agents' state-embedding width was ``agent.embedding``: it is
    the env's encoder setting ``env_config.embedding`` now (dropped for envs without one)."""
    agent = data.get("agent")
    if not isinstance(agent, dict) or "embedding" not in agent or not isinstance(env_config, dict):
        return env_config
    data["agent"] = {k: v for k, v in agent.items() if k != "embedding"}
    if "embedding" in {f.name for f in dataclasses.fields(env_class)}:
        env_config = {**env_config, "embedding": agent["embedding"]}
    return env_config


def load(path: Path) -> MetaTrainConfig:
    """Read and validate a meta-training run's ``config.json``."""
    return read_config(path, from_dict, validate, "`ued meta-train`")


__all__ = ["AgentConfig", "MetaTrainConfig", "RuleConfig", "check_meta_compatible", "from_dict"]
__all__ += ["REFERENCE_SOURCES", "load", "preset", "preset_sources"]
__all__ += ["to_dict", "validate"]
