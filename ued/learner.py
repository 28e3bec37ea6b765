"""The learner interface: how an agent acts and how it learns from its own rollouts.

A learner is a hashable object of pure functions (its hyperparameters and network are static);
its *state* is a pytree (parameters, optimiser state, and any hyperparameter that may differ
between members of a population, such as the learning rate, as array leaves), so a population
``vmap``s over states without recompiling. ``ued.ppo.PPOLearner`` (recurrent PPO) is the first
implementation; PAIRED's adversary and antagonist are PPO learners with their own settings, and
GROOVE's A2C- and LPG-trained agents implement the same interface with other update rules.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Protocol

import jax

from .errors import ConfigError

LearnerState = Any  # a pytree with at least ``params``
Carry = Any  # the recurrent state of a batch of sequences (leaves ``[B, ...]``)


class Learner(Protocol):
    """What the rollouts, curricula and programs need from an agent."""

    def init(self, key: jax.Array, example_obs: Any) -> LearnerState:
        """A fresh state from a typed key and one unbatched observation."""

    def initial_carry(self, batch: int) -> Carry:
        """The recurrent state of ``batch`` sequences before their first step."""

    def act(
        self,
        params: Any,
        carry: Carry,
        obs: Any,
        resets: jax.Array,
        key: jax.Array,
        mask: jax.Array | None = None,
    ) -> tuple[Carry, jax.Array, jax.Array, jax.Array]:
        """One step for a batch: ``obs`` leaves ``[B, ...]``, ``resets bool[B]`` (an episode
        starts here: the carry is zeroed), optional ``mask bool[B, A]`` (False = the action is
        impossible and gets probability 0). Returns ``(carry, actions int32[B],
        log_probs f32[B], values f32[B])``."""

    def value(self, params: Any, carry: Carry, obs: Any, resets: jax.Array) -> jax.Array:
        """State values ``f32[B]`` of one batched observation (for bootstrapping)."""

    def prepare(self, trajectory: Any, last_value: jax.Array, initial_carry: Carry) -> Any:
        """Turn a rollout ``[T, B]`` into what ``update`` trains on (for PPO: GAE advantages and
        value targets)."""

    def learning_rate(self, state: LearnerState, update: jax.Array, total: Any) -> jax.Array:
        """The step size ``update`` would use (``f32[]``), for logging."""

    def update(
        self, key: jax.Array, state: LearnerState, batch: Any, update: jax.Array, total: Any
    ) -> tuple[LearnerState, dict[str, jax.Array]]:
        """Learn from ``batch`` at update ``update`` of ``total`` (the schedule's horizon; an
        array for a population with per-member lifetimes). Returns scalar metrics."""

    def with_parallel(self, parallel: Any) -> Learner:
        """This learner with its batch split over ``parallel``'s devices
        (``ued.parallel.DataParallel``); a learner that does not split returns itself."""


def reads_no_rule(ppo, prefix: str) -> None:
    """A learner's default check: it reads no rule file (``ppo.rule`` is empty)."""
    if ppo.rule:
        raise ConfigError(f"{prefix}rule: this learner reads no rule file (--learner lpo does)")


@dataclasses.dataclass(frozen=True)
class LearnerSpec:
    """A registered student learner (``TrainConfig.learner``; ``ued.registry.LEARNERS``).

    Attributes:
        name: the ``--learner`` value.
        make: ``(num_actions, encoder, network: NetworkConfig, ppo: PPOConfig, action_dim) ->
            Learner``: the learner over the env's observation ``encoder`` (a flax module), with
            ``num_actions`` discrete actions or, with ``action_dim`` > 0, that many continuous
            dimensions, trained with the run's ``ppo`` settings (rollout size, optimiser, GAE).
            PPO variants pass their own ``ued.ppo.PolicyObjective`` to ``make_ppo_learner``.
        summary: one line for ``--help``.
        validate: ``(ppo, prefix) -> None``: the learner's checks of the ``ppo`` settings it
            reads, raising ``ued.errors.ConfigError`` naming ``prefix + field`` (default: it
            reads no rule file, ``ppo.rule``).
    """

    name: str
    make: Callable[..., Learner]
    summary: str = ""
    validate: Callable[[Any, str], None] = reads_no_rule


def conditional_update(apply: jax.Array, learner, key, state, batch, update, total):
    """``learner.update`` where ``apply`` (``bool[]``) holds, else the state unchanged with zero
    metrics (one ``lax.cond``: the update's cost is only paid when it is applied, except under
    ``vmap`` where both branches run). Returns ``(state, metrics)``."""

    def learn(_):
        return learner.update(key, state, batch, update, total)

    def skip(_):
        shapes = jax.eval_shape(learn, None)[1]
        zeros = jax.tree_util.tree_map(lambda s: jax.numpy.zeros(s.shape, s.dtype), shapes)
        return state, zeros

    return jax.lax.cond(apply, learn, skip, None)
