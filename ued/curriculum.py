"""The curriculum interface: what an algorithm in ``algorithms/`` provides to UED training.

Each update the training program asks the curriculum which levels to train on, rolls the student
out on them, prepares the learner's batch (GAE), and hands the result back so the curriculum can
score levels and update its own state. The curriculum also decides whether the student's gradient
is applied (robust PLR skips it on exploratory levels). Everything a curriculum keeps is a pytree
(``flax.struct``), so it rides through ``lax.scan``, is saved by orbax and is batched by ``vmap``
over seeds. A curriculum that trains learners of its own (PAIRED's adversary) keeps their states
in its state.

``update`` (``int32[]``, the 0-based training update) is passed unbatched even when seeds are
vmapped, so periodic work gated on it (e.g. SFL's refresh) stays a real ``lax.cond`` rather than
becoming a select that runs every update.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Callable
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
from flax import struct

from .rollout import EpisodeStats, Player, Trajectory

# Branch tags for logging (a curriculum may define more).
NEW, REPLAY, MUTATE = 0, 1, 2


@struct.dataclass
class UpdatePlan:
    """What a curriculum decided for this update.

    Attributes:
        apply_gradient: ``bool[]``; False makes the program skip the student's update (robust
            PLR's exploratory steps). The LR schedule does not depend on it.
        branch: ``int32[]``; which kind of levels (NEW, REPLAY, MUTATE, ...), for logging.
        trained: ``(start, stop)``: the learner trains on envs ``start:stop`` of the rollout
            only (minimax's parallel PLR and ACCEL: the other envs' levels are only scored);
            None (default): on every env. Static.
    """

    apply_gradient: jax.Array
    branch: jax.Array
    trained: tuple[int, int] | None = struct.field(pytree_node=False, default=None)

    @classmethod
    def train_on(cls, branch: int = NEW) -> UpdatePlan:
        """A plan that applies the gradient on levels of kind ``branch``."""
        return cls(apply_gradient=jnp.array(True), branch=jnp.array(branch, jnp.int32))


@struct.dataclass
class RolloutResult:
    """The student's rollout on this update's levels, as the curriculum sees it.

    Attributes:
        levels: the batched levels (B) each env started the rollout on.
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

    def attempts(self, key, levels, attempts: int) -> tuple[EpisodeStats, jax.Array]:
        """``attempts`` independent first episodes on each of n levels (``levels [n]``), each
        from a fresh start, as SFL and NCC estimate success. Returns ``(stats, env_steps)``:
        ``EpisodeStats`` with ``[n, attempts]`` fields and the env steps spent (``f32[]``)."""
        n = jax.tree_util.tree_leaves(levels)[0].shape[0]
        repeated = jax.tree_util.tree_map(lambda x: jnp.repeat(x, attempts, axis=0), levels)
        stats = self.player.play_episodes(key, self.params, repeated, self.gamma)
        steps = jnp.sum(stats.lengths).astype(jnp.float32)
        return jax.tree_util.tree_map(lambda x: x.reshape(n, attempts, *x.shape[1:]), stats), steps


class Curriculum(abc.ABC):
    """Chooses training levels and learns from the student's rollouts. Pure and jittable.

    Subclass it (usually as a frozen dataclass) and implement ``init``, ``levels_for_update`` and
    ``after_rollout``; ``inspect`` and ``continuing`` have defaults.

    Attributes:
        continuing: False (default): every update's rollout starts from a reset on the levels
            ``levels_for_update`` returns, replaying each level until the rollout ends. True: the
            rollout continues the previous update's envs and recurrent state, and an env whose
            episode ends starts a fresh level from ``next_level`` (JaxUED's and minimax's DR);
            ``levels_for_update`` then returns None for the levels.
    """

    continuing: ClassVar[bool] = False
    caption_order: ClassVar[tuple[str, ...]] = ()

    @abc.abstractmethod
    def init(self, key: jax.Array) -> Any:
        """The curriculum's initial state (a pytree)."""

    @abc.abstractmethod
    def levels_for_update(
        self, key: jax.Array, state: Any, student: Student, update: jax.Array
    ) -> tuple[Any, UpdatePlan, Any]:
        """Return ``(levels [B], plan, state)`` for this update."""

    @abc.abstractmethod
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

    def trained_envs(self, num_envs: int) -> int:
        """How many of the rollout's ``num_envs`` envs the learner trains on (``UpdatePlan``'s
        ``trained``): all of them unless the curriculum says otherwise."""
        return num_envs

    def next_level(self, key: jax.Array) -> Any:
        """A continuing curriculum's level for an env whose episode just ended."""
        raise TypeError(f"{type(self).__name__} is continuing but defines no next_level")

    def inspect(self, state: Any) -> dict[str, jax.Array] | None:
        """The levels the curriculum keeps, for diagnostics: ``levels [N]``, ``scores f32[N]``,
        ``weights f32[N]`` (replay probability) and ``filled bool[N]``; None if it keeps none.
        A curriculum that generates levels instead of keeping a buffer (PAIRED) adds
        ``captions``: ``{label: f32[N]}`` shown under each level's image, in the order of
        ``caption_order`` (default: sorted)."""
        return None


@dataclasses.dataclass(frozen=True)
class AlgorithmSpec:
    """A registered curriculum.

    Attributes:
        name: the ``--algo`` value.
        Config: its frozen config dataclass (``TrainConfig.curriculum``).
        preset: ``(base TrainConfig, preset name) -> TrainConfig``: adds the curriculum's
            settings (the paper's, or CPU-sized) to the env family's preset, and may adjust the
            student where the method prescribes one (NCC's theory).
        make: ``(env, env_spec, config) -> Curriculum``.
        validate: ``config -> None``, raising ``ued.errors.ConfigError`` naming the field.
        requires: ``config -> set of env capabilities`` it needs with those settings (e.g.
            ``{"oracle"}`` for oracle regret); validation refuses an env that lacks one.
        summary: one line for ``--help``.
        presets: the preset names it has settings for (``minimax`` and ``dcd`` reproduce an
            author implementation's maze PAIRED and DR; only the curricula they define).
        sources: ``preset name -> text``: where that preset's settings come from (shown by
            ``ued train --help-config``); empty if not stated.
    """

    name: str
    Config: type
    preset: Callable[[Any, str], Any]
    make: Callable[[Any, Any, Any], Curriculum]
    validate: Callable[[Any], None]
    requires: Callable[[Any], frozenset[str]] = lambda config: frozenset()
    summary: str = ""
    presets: tuple[str, ...] = ("test", "cpu", "paper")
    sources: Callable[[str], str] = lambda preset: ""


UNDEFINED_PREFIX = "generated/"
"""Metrics named under this prefix may be NaN: statistics of generated levels on an update that
generated none (REPAIRED's replay updates), or that are undefined for every level (the mean
shortest path when none is solvable). Every other metric is finite."""


def level_statistics(describe: Callable | None, levels: Any, prefix: str, where=True):
    """Means of the env's level descriptors (``describe(levels [B]) -> {name: f32[B]}``, NaN
    where undefined) as metrics ``prefix + name``, each over the levels where it is defined;
    NaN when ``where`` (``bool[]``) is False, e.g. on updates that generated no levels. No
    metrics without descriptors."""
    if describe is None:
        return {}
    metrics = {}
    for name, values in describe(levels).items():
        defined = ~jnp.isnan(values)
        mean = jnp.sum(jnp.where(defined, values, 0.0)) / jnp.maximum(defined.sum(), 1)
        metrics[prefix + name] = jnp.where(where & defined.any(), mean, jnp.nan)
    return metrics
