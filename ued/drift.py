"""Mirror-learning drift objectives: PPO as a drift, DPO, and LPO's learned drift network.

Mirror learning (Kuba et al. 2022) writes a policy update as ascending ``E[ρ A − drift(ρ, A)]``
with ρ the probability ratio of the new to the behaviour policy and A the (normalised) advantage;
any drift that is ≥ 0 and is 0 with zero gradient at ρ = 1 keeps the update's guarantees. PPO's
clipped surrogate is the drift ``ReLU((ρ − clip(ρ, 1 − ε, 1 + ε)) A)``. LPO (Lu et al. 2022,
"Discovered Policy Optimisation") meta-learns the drift as a small network by evolution;
analysing it gave the closed-form DPO; temporally-aware LPO (Jackson et al. 2024) also feeds the
agent's training progress n / N.

Learners (``--learner``): ``dpo`` and ``lpo`` (a meta-trained drift from ``--ppo.rule FILE``,
written by ``ued meta-train --algo lpo`` or ``save_rule``). Both train with every curriculum: they
are PPO learners with another ``ued.ppo.PolicyObjective``. The critic keeps PPO's clipped value
loss (PureJaxRL's, which the LPO re-implementations and DPO's reference use).
"""

from __future__ import annotations

import abc
import dataclasses
import functools
import json
from pathlib import Path
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from flax import serialization

from . import registry
from .config import PPOConfig, require
from .errors import ConfigError
from .learner import LearnerSpec
from .ppo import ClippedSurrogate, PPOHypers, make_ppo_learner

DRIFT_OFFSET = 1e-4
"""LPO's drift is ``ReLU(net − 1e-4)``: the network's small outputs near ρ = 1 give exactly 0
(the reference's offset), so the drift vanishes with zero gradient there."""

FEATURE_CLIP = 2.0
"""LPO's drift inputs are clipped to [−2, 2] (learned_optimization's LPO)."""


class DriftObjective(ClippedSurrogate):
    """A policy objective ``−E[ρ A − drift(ρ, A)]`` with PPO's clipped value loss. Subclasses
    define ``drift``."""

    @abc.abstractmethod
    def drift(self, log_ratio, advantages, hypers: PPOHypers, progress) -> jax.Array:
        """The drift (≥ 0, 0 with zero gradient at ρ = 1) per sample, from the log-ratios
        ``log ρ`` and the advantages (``f32[...]`` alike); ``progress`` (``f32[]``) is the
        fraction of training done."""

    def policy_loss(self, log_probs, old_log_probs, advantages, hypers, progress):
        """``−E[ρ A − drift]``."""
        log_ratio = log_probs - old_log_probs
        ratio = jnp.exp(log_ratio)
        drift = self.drift(log_ratio, advantages, hypers, progress)
        return -jnp.mean(ratio * advantages - drift)


@dataclasses.dataclass(frozen=True)
class PPODrift(DriftObjective):
    """PPO's clipped surrogate as a drift: ``ReLU((ρ − clip(ρ, 1 − ε, 1 + ε)) A)``."""

    def drift(self, log_ratio, advantages, hypers, progress):
        """PPO's drift."""
        return ppo_drift(jnp.exp(log_ratio), advantages, hypers.clip_eps)


def ppo_drift(ratio, advantages, clip_eps) -> jax.Array:
    """``ReLU((ρ − clip(ρ, 1 − ε, 1 + ε)) A)`` per sample."""
    clipped = jnp.clip(ratio, 1.0 - clip_eps, 1.0 + clip_eps)
    return jax.nn.relu((ratio - clipped) * advantages)


@dataclasses.dataclass(frozen=True)
class DPODrift(DriftObjective):
    """DPO (Lu et al. 2022): ``ReLU((ρ − 1) A − α tanh((ρ − 1) A / α))`` for A ≥ 0 and
    ``ReLU(log ρ A − β tanh(log ρ A / β))`` for A < 0, with the paper's α = 2, β = 0.6."""

    alpha: float = 2.0
    beta: float = 0.6

    def drift(self, log_ratio, advantages, hypers, progress):
        """DPO's drift."""
        positive = (jnp.exp(log_ratio) - 1.0) * advantages
        negative = log_ratio * advantages
        return jnp.where(
            advantages >= 0,
            jax.nn.relu(positive - self.alpha * jnp.tanh(positive / self.alpha)),
            jax.nn.relu(negative - self.beta * jnp.tanh(negative / self.beta)),
        )


class DriftNetwork(nn.Module):
    """LPO's drift network: a bias-free ``hidden``-unit tanh layer and a bias-free linear output
    (so it is 0 where every input is), features ``f32[..., F]`` -> ``f32[...]``."""

    hidden: int = 128

    @nn.compact
    def __call__(self, features):
        h = jnp.tanh(nn.Dense(self.hidden, use_bias=False)(features))
        return nn.Dense(1, use_bias=False)(h)[..., 0]


def drift_features(log_ratio, advantages, progress, temporal: bool) -> jax.Array:
    """LPO's drift inputs ``f32[..., 8]``: with ``d = log ρ``, ``[d, d², 1 − e^d, (1 − e^d)²]``
    and the same four times A; temporally aware (``f32[..., 16]``): also those eight times the
    training progress n / N. Clipped to [−2, 2]. Every input is 0 at ρ = 1, so the drift is
    too (the progress multiplies the features rather than entering alone, which would move the
    drift off 0 at ρ = 1)."""
    d = log_ratio
    u = 1.0 - jnp.exp(d)
    base = jnp.stack([d, d * d, u, u * u], axis=-1)
    features = jnp.concatenate([base, base * advantages[..., None]], axis=-1)
    if temporal:
        features = jnp.concatenate([features, features * progress], axis=-1)
    return jnp.clip(features, -FEATURE_CLIP, FEATURE_CLIP)


@dataclasses.dataclass(frozen=True)
class LearnedDrift(DriftObjective):
    """LPO's learned drift: ``ReLU(ppo_drift + net(features) − 1e-4)`` (``ppo_init``, the
    reference's ``--ppo-init``) or ``ReLU(net(features) − 1e-4)``. The network's parameters
    are the learner state's ``hypers.rule``: meta-training evolves them per member; a trained
    rule comes from ``rule_file`` (else zeros, the evolution's initial mean).

    Attributes:
        hidden: the network's width (128 in LPO); temporal: feed the training progress
        (TA-LPO); ppo_init: add PPO's drift; rule_file: a file written by ``save_rule``.
    """

    hidden: int = 128
    temporal: bool = False
    ppo_init: bool = True
    rule_file: str = ""

    @property
    def network(self) -> DriftNetwork:
        """The drift network."""
        return DriftNetwork(self.hidden)

    @property
    def num_features(self) -> int:
        """The network's input width (8, or 16 temporally aware)."""
        return 16 if self.temporal else 8

    def zero_rule(self) -> Any:
        """All-zero network parameters (the evolution's initial mean: the drift is PPO's)."""
        shapes = jax.eval_shape(
            self.network.init, jax.random.key(0), jnp.zeros((1, self.num_features))
        )["params"]
        return jax.tree_util.tree_map(lambda s: jnp.zeros(s.shape, jnp.float32), shapes)

    def random_rule(self, key: jax.Array, scale: float = 1.0) -> Any:
        """Network parameters drawn from ``scale`` x a standard normal (tests, benchmarks: some
        drift other than the zeros ES starts from)."""
        zeros = jax.tree_util.tree_leaves(self.zero_rule())
        leaves = [scale * jax.random.normal(k, z.shape)
                  for k, z in zip(jax.random.split(key, len(zeros)), zeros)]  # fmt: skip
        return jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(self.zero_rule()), leaves)

    def init_rule(self) -> Any:
        """The rule in ``rule_file``, else ``zero_rule``."""
        if not self.rule_file:
            return self.zero_rule()
        return jax.tree_util.tree_map(jnp.asarray, _read_rule(self.rule_file)[1])

    def drift(self, log_ratio, advantages, hypers, progress):
        """The learned drift."""
        features = drift_features(log_ratio, advantages, progress, self.temporal)
        out = self.network.apply({"params": hypers.rule}, features)
        if self.ppo_init:
            out = out + ppo_drift(jnp.exp(log_ratio), advantages, hypers.clip_eps)
        return jax.nn.relu(out - DRIFT_OFFSET)


# ---- rule files ----------------------------------------------------------------------------
RULE_FORMAT = "ued-drift-rule"


def save_rule(path: Path, objective: LearnedDrift, params: Any) -> Path:
    """Write a learned drift (its settings and network parameters) to ``path`` atomically;
    returns the path. ``--learner lpo --ppo.rule PATH`` trains with it."""
    path = Path(path)
    settings = {"hidden": objective.hidden, "temporal": objective.temporal,
                "ppo_init": objective.ppo_init}  # fmt: skip
    payload = {
        "format": RULE_FORMAT,
        "version": 1,
        "settings": json.dumps(settings),
        "params": jax.tree_util.tree_map(np.asarray, params),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(serialization.msgpack_serialize(payload))
    tmp.replace(path)
    return path


@functools.lru_cache(maxsize=8)
def _read_rule(path: str) -> tuple[dict[str, Any], Any]:
    """``(settings, params)`` of a rule file; raises ``ConfigError`` naming ``ppo.rule``."""
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"ppo.rule: no rule file at {path}")
    try:
        payload = serialization.msgpack_restore(file.read_bytes())
    except Exception as error:  # any decoding failure: a damaged or foreign file
        raise ConfigError(f"ppo.rule: {path} is not a drift rule file ({error})") from None
    if not isinstance(payload, dict) or payload.get("format") != RULE_FORMAT:
        raise ConfigError(f"ppo.rule: {path} is not a drift rule file (ued.drift.save_rule)")
    settings = json.loads(payload["settings"])
    expected = LearnedDrift(**settings).zero_rule()
    params = payload["params"]
    same = jax.tree_util.tree_structure(params) == jax.tree_util.tree_structure(expected) and all(
        np.shape(a) == b.shape
        for a, b in zip(jax.tree_util.tree_leaves(params), jax.tree_util.tree_leaves(expected))
    )
    require(same, "ppo.rule", f"{path}: the parameters do not match the drift network {settings}")
    if not all(np.all(np.isfinite(a)) for a in jax.tree_util.tree_leaves(params)):
        raise ConfigError(f"ppo.rule: {path} holds non-finite parameters")
    return settings, params


def load_rule(path: str | Path) -> LearnedDrift:
    """The learned drift in a rule file (its parameters are read again by ``init_rule``)."""
    settings, _ = _read_rule(str(path))
    return LearnedDrift(**settings, rule_file=str(path))


# ---- learners ------------------------------------------------------------------------------
def _drift_learner(objective_of):
    def make(num_actions, encoder, network, ppo: PPOConfig, action_dim=0):
        return make_ppo_learner(
            num_actions, encoder, network, ppo, action_dim, objective=objective_of(ppo)
        )

    return make


def _validate_drift(name: str, needs_rule: bool):
    def validate(ppo: PPOConfig, prefix: str) -> None:
        require(
            ppo.objective == "ppo",
            f"{prefix}objective",
            f"learner {name!r} replaces the policy objective with its drift; leave it at ppo",
        )
        if needs_rule:
            require(
                bool(ppo.rule),
                f"{prefix}rule",
                f"learner {name!r} needs a meta-trained drift rule file (ued meta-train --algo "
                "lpo writes rules/seed<seed>.msgpack)",
            )
            load_rule(ppo.rule)
        else:
            require(not ppo.rule, f"{prefix}rule", f"learner {name!r} reads no rule file")

    return validate


DPO = registry.LEARNERS.register(
    "dpo",
    LearnerSpec(
        "dpo",
        make=_drift_learner(lambda ppo: DPODrift()),
        summary="recurrent PPO with DPO's drift (Lu et al. 2022, α = 2, β = 0.6)",
        validate=_validate_drift("dpo", needs_rule=False),
    ),
)
LPO = registry.LEARNERS.register(
    "lpo",
    LearnerSpec(
        "lpo",
        make=_drift_learner(lambda ppo: load_rule(ppo.rule)),
        summary="recurrent PPO with a meta-trained LPO drift (--ppo.rule FILE)",
        validate=_validate_drift("lpo", needs_rule=True),
    ),
)
