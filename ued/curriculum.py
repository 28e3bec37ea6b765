"""The curriculum interface: what an algorithm in ``algorithms/`` provides to the training loop.

Each update the loop asks the curriculum which levels to train on, rolls the student out on them,
computes GAE, and hands the result back so the curriculum can score levels and update its own
state. The curriculum also decides whether the student's gradient is applied (robust PLR skips it
on exploratory levels). Everything a curriculum keeps is a pytree (``flax.struct``), so it rides
through ``lax.scan``, is saved by orbax and is batched by ``vmap`` over seeds.

``update`` (``int32[]``, the 0-based training update) is passed unbatched even when seeds are
vmapped, so periodic work gated on it (e.g. SFL's refresh) stays a real ``lax.cond`` rather than
becoming a select that runs every update.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

import jax
import jax.numpy as jnp
from flax import struct

from .rollout import Player, Trajectory

# Branch tags for logging (a curriculum may define more).
NEW, REPLAY, MUTATE = 0, 1, 2


@struct.dataclass
class UpdatePlan:
    """What a curriculum decided for this update.

    Attributes:
        apply_gradient: ``bool[]``; False makes the loop skip the PPO update (robust PLR's
            exploratory steps). The LR schedule does not depend on it.
        branch: ``int32[]``; which kind of levels (NEW, REPLAY, MUTATE, ...), for logging.
    """

    apply_gradient: jax.Array
    branch: jax.Array

    @classmethod
    def train_on(cls, branch: int = NEW) -> UpdatePlan:
        """A plan that applies the gradient on levels of kind ``branch``."""
        return cls(apply_gradient=jnp.array(True), branch=jnp.array(branch, jnp.int32))


@struct.dataclass
class RolloutResult:
    """The student's rollout on this update's levels, as the curriculum sees it.

    Attributes:
        levels: the batched levels (B).
        trajectory: ``Trajectory [T, B]``.
        advantages: ``f32[T, B]`` GAE advantages; last_value: ``f32[B]``.
    """

    levels: Any
    trajectory: Trajectory
    advantages: jax.Array
    last_value: jax.Array


@dataclasses.dataclass(frozen=True)
class Student:
    """The student as a curriculum sees it inside an update: current parameters plus a way to
    play levels (for curricula that score levels with extra rollouts, such as SFL and NCC)."""

    player: Player
    params: Any
    gamma: float
    num_steps: int


class Curriculum(Protocol):
    """Chooses training levels and learns from the student's rollouts. Pure and jittable."""

    def init(self, key: jax.Array) -> Any:
        """The curriculum's initial state (a pytree)."""

    def levels_for_update(
        self, key: jax.Array, state: Any, student: Student, update: jax.Array
    ) -> tuple[Any, UpdatePlan, Any]:
        """Return ``(levels [B], plan, state)`` for this update."""

    def after_rollout(
        self,
        key: jax.Array,
        state: Any,
        result: RolloutResult,
        plan: UpdatePlan,
        student: Student,
        update: jax.Array,
    ) -> tuple[Any, dict[str, jax.Array]]:
        """Score the rollout, update the state; return ``(state, metrics)`` where metrics are
        scalars named like ``buffer/mean_score``."""
