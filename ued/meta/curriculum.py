"""The meta-curriculum interface: where meta-training's inner agents get their levels.

A meta-algorithm (``--algo`` of ``ued meta-train``) is a registered ``MetaAlgorithmSpec``
(``ued.registry.META_ALGORITHMS``) whose ``make`` builds a ``MetaCurriculum`` for a
``ued.meta.program.MetaProgram``; the built-in ones live in ``algorithms/`` (``lpg``: fresh
random levels or a fixed set; ``groove``: GROOVE's scored level buffer). A curriculum is pure
and carries its state in the meta-state (checkpointed, vmapped over seeds):

* ``init(key) -> state``;
* ``draw(state, key, mask bool[N]) -> (state, levels [N])``: levels for the agents that start
  now (``mask``; the other lanes are ignored);
* ``score(state, key, waiting bool[N], outcome, overdue int32[N]) -> (state, released
  bool[N], metrics)``: agents past their lifetime wait, frozen, until the curriculum has
  scored them; ``released`` are those it is done with, which then restart on fresh levels.
  Unscored curricula release every waiting agent at once.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

LIFETIMES = frozenset({"lifetimes"})
"""What LPG's meta-algorithms need from an env: levels that carry an inner agent's lifetime
(``level.lifetime``, bounded by the env's ``max_lifetime``)."""


@struct.dataclass
class Outcome:
    """What the population offers for scoring (leaves ``[N, ...]``).

    Attributes:
        levels: each agent's level.
        params: its parameters.
        pvl: the positive value loss of its last meta-rollout (from its value baseline).
        maxmc: the MaxMC score of its last meta-rollout.
    """

    levels: Any
    params: Any
    pvl: jax.Array
    maxmc: jax.Array


class MetaCurriculum(abc.ABC):
    """Chooses the inner agents' levels, and may score agents when their lifetimes end. Pure
    and jittable; subclass it (usually as a frozen dataclass)."""

    @abc.abstractmethod
    def init(self, key: jax.Array) -> Any:
        """The curriculum's initial state (a pytree)."""

    @abc.abstractmethod
    def draw(self, state: Any, key: jax.Array, mask: jax.Array) -> tuple[Any, Any]:
        """``(state, levels [N])``: levels for the agents starting now (``mask bool[N]``)."""

    def score(self, state, key, waiting, outcome: Outcome, overdue):
        """``(state, released bool[N], metrics)``. By default nothing is scored: every waiting
        agent is released at once."""
        return state, waiting, {}

    def inspect(self, state: Any) -> dict[str, Any] | None:
        """The levels the curriculum keeps, for diagnostics (``ued.diagnostics``): ``levels
        [M]``, ``scores``, ``weights``, ``filled`` and ``extras``; None if it keeps none."""
        return None


@dataclasses.dataclass(frozen=True)
class MetaAlgorithmSpec:
    """A registered meta-algorithm (``ued meta-train --algo``).

    Attributes:
        name: the ``--algo`` value.
        Config: its frozen config dataclass (``MetaTrainConfig.curriculum``).
        preset: ``(MetaTrainConfig, preset name) -> Config``: its settings at a preset
            (``test``, ``cpu``, ``reference``), sized by the config's population.
        make: ``MetaProgram -> MetaCurriculum`` (the program holds the env, its spec, the inner
            agent, its rollout and optimisers, and the A2C baseline); unused with ``program``.
        validate: ``MetaTrainConfig -> None``, raising ``ued.errors.ConfigError`` naming the
            field (``curriculum.`` fields).
        requires: ``MetaTrainConfig -> frozenset`` of the env capabilities it needs with these
            settings (LPG's: ``LIFETIMES``, and e.g. ``{"oracle"}`` for true regret).
        summary: one line for ``--help``.
        sources: the ``reference`` preset's origin of each curriculum setting (dotted field ->
            where in the reference code), shown by ``--help-config``.
        configure: ``(MetaTrainConfig, preset name) -> MetaTrainConfig``, the preset's settings
            outside the curriculum (LPO's ES and network sizes; default: unchanged).
        program: ``(MetaTrainConfig, env, spec) -> ued.program.Program``, a meta-algorithm's
            own program (LPO's: evolution over a drift, each member a PPO run); None: LPG's
            ``ued.meta.program.MetaProgram`` with ``make``'s curriculum.
        retarget: ``(MetaTrainConfig, env name) -> MetaTrainConfig``, the config that
            meta-evaluates a run's rule on another env family (``ued meta-eval --env``: LPO's
            drift sees only ρ and A, so it transfers); None: the rule is tied to its env.
    """

    name: str
    Config: type
    preset: Callable[[Any, str], Any]
    make: Callable[[Any], MetaCurriculum]
    validate: Callable[[Any], None]
    requires: Callable[[Any], frozenset[str]] = lambda config: LIFETIMES
    summary: str = ""
    sources: Mapping[str, str] = dataclasses.field(default_factory=dict)
    configure: Callable[[Any, str], Any] = lambda config, name: config
    program: Callable[[Any, Any, Any], Any] | None = None
    retarget: Callable[[Any, str], Any] | None = None


def where_lanes(mask: jax.Array, on_true, on_false):
    """Per-lane ``where`` over pytrees with a leading batch axis (``mask bool[N]``)."""

    def pick(a, b):
        return jnp.where(mask.reshape(mask.shape + (1,) * (a.ndim - 1)), a, b)

    return jax.tree_util.tree_map(pick, on_true, on_false)


def masked_mean(values: jax.Array, mask: jax.Array) -> jax.Array:
    """Mean of ``values`` where ``mask``, NaN if none."""
    count = mask.sum()
    return jnp.where(count > 0, jnp.sum(jnp.where(mask, values, 0.0)) / jnp.maximum(count, 1),
                     jnp.nan)  # fmt: skip
