"""A meta-training generation's task batch: ``K`` levels every ES member trains a whole lifetime
on, one inner run per (member, task), each scored on its own level.

Where the tasks come from (``TaskBatch.buffer``):

* random: ``K`` fresh levels of the env's distribution every generation (DR over tasks);
* a level buffer scored by **algorithmic regret against a fixed optimiser** (GROOVE's twist,
  there against A2C for LPG; here against PPO for a learned drift): each task is replayed from
  the buffer with probability ``replay_prob`` (once it is ready), else new; after the
  generation each task's score is the baseline's final return on it minus the population's
  mean, and the buffer keeps the tasks where the learned optimiser lags furthest behind.

The fitness ES ranks is the members' returns normalised per task (``normalise``): centred
ranks within each task (scale-free: a task with returns in the hundreds does not drown one in
the tens), the return divided by the baseline's on that task, or the plain mean.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Literal

import jax
import jax.numpy as jnp
from flax import struct

from ..buffer import BufferState, LevelBuffer
from ..curriculum import NEW, Curriculum, UpdatePlan
from .curriculum import where_lanes

NORMALISATIONS = ("rank", "ppo", "none")
"""How members' per-task returns become one fitness (``TaskBatch.normalise``)."""


@struct.dataclass
class PinnedState:
    """The one level a pinned run trains on."""

    level: Any


@dataclasses.dataclass(frozen=True)
class PinnedLevel(Curriculum):
    """An inner curriculum that trains every env on the level in its state for the whole run
    (a meta-training task; set it with ``pin``)."""

    env: Any
    num_envs: int

    def init(self, key: jax.Array) -> PinnedState:
        """A random level until ``pin`` replaces it."""
        return PinnedState(self.env.sample_level(key))

    @staticmethod
    def pin(state, level):
        """A ``ued.train.TrainState`` whose run trains on ``level``."""
        return state.replace(curriculum=PinnedState(level))

    def levels_for_update(self, key, state: PinnedState, student, update):
        """The pinned level on every env."""
        levels = jax.tree_util.tree_map(
            lambda x: jnp.broadcast_to(x, (self.num_envs, *x.shape)), state.level
        )
        return levels, UpdatePlan.train_on(NEW), state

    def after_rollout(self, key, state: PinnedState, result, plan, student, update):
        return state, {}


def centred_ranks(x: jax.Array) -> jax.Array:
    """Centred ranks of ``f32[P]`` in [-0.5, 0.5] (ties broken by position, as ES's shaping)."""
    ranks = jnp.argsort(jnp.argsort(x)).astype(jnp.float32)
    return ranks / jnp.maximum(x.shape[0] - 1, 1) - 0.5


@struct.dataclass
class TaskState:
    """The task buffer (extras ``ppo_return``, ``learned_return``); an empty pytree without one."""

    buffer: BufferState | None = None


@dataclasses.dataclass(frozen=True)
class TaskBatch:
    """Draws a generation's tasks and turns the members' per-task returns into fitness.

    Attributes:
        level_source: ``key -> level``, new tasks. num_tasks: K.
        normalise: ``rank``, ``ppo`` or ``none`` (see the module docstring).
        buffer: the AR-scored ``LevelBuffer`` (extras ``ppo_return``, ``learned_return``), or
            None for random tasks. replay_prob: probability that a task is replayed (once the
            buffer is ready).
        baseline_return: ``(key, level) -> f32[]``, the fixed optimiser's final return after a
            lifetime on the level (needed by the buffer and by ``ppo`` normalisation).
    """

    level_source: Callable[[jax.Array], Any]
    num_tasks: int
    normalise: Literal["rank", "ppo", "none"] = "rank"
    buffer: LevelBuffer | None = None
    replay_prob: float = 0.5
    baseline_return: Callable[[jax.Array, Any], jax.Array] | None = None

    @property
    def needs_baseline(self) -> bool:
        """Whether each generation trains the baseline on every task (one run per task)."""
        return self.buffer is not None or self.normalise == "ppo"

    def init(self, key) -> TaskState:
        """An empty buffer (or nothing, for random tasks)."""
        if self.buffer is None:
            return TaskState()
        return TaskState(self.buffer.init(self.level_source(key)))

    def draw(self, key, state: TaskState):
        """``(state, tasks [K], replayed bool[K])``: each task new, or replayed from the buffer
        with probability ``replay_prob`` once it is ready."""
        k_new, k_replay, k_sample = jax.random.split(key, 3)
        new = jax.vmap(self.level_source)(jax.random.split(k_new, self.num_tasks))
        if self.buffer is None:
            return state, new, jnp.zeros(self.num_tasks, bool)
        replay = jax.random.bernoulli(k_replay, self.replay_prob, (self.num_tasks,))
        replay = replay & self.buffer.is_ready(state.buffer)
        buffer, _, replayed = self.buffer.sample(k_sample, state.buffer, self.num_tasks, replay)
        return TaskState(buffer), where_lanes(replay, replayed, new), replay

    def fitness(self, key, state: TaskState, tasks, replayed, returns: jax.Array):
        """Per-task normalised fitness ``f32[P]`` of the members' returns ``f32[P, K]``, the
        buffer updated with each task's algorithmic regret, and metrics: ``tasks_replayed``,
        ``task_ppo_return`` (with a baseline) and ``task_regret`` (with the buffer)."""
        metrics = {"tasks_replayed": jnp.sum(replayed, dtype=jnp.int32)}
        baseline = None
        if self.needs_baseline:
            keys = jax.random.split(key, self.num_tasks)
            baseline = jax.vmap(self.baseline_return)(keys, tasks)
            metrics["task_ppo_return"] = baseline.mean()
        if self.buffer is not None:
            learned = returns.mean(axis=0)
            regret = baseline - learned
            extras = {"ppo_return": baseline, "learned_return": learned}
            buffer, _ = self.buffer.insert(state.buffer, tasks, regret, extras)
            state = TaskState(buffer)
            metrics["task_regret"] = regret.mean()
        if self.normalise == "rank":
            shaped = jax.vmap(centred_ranks, in_axes=1, out_axes=1)(returns)
        elif self.normalise == "ppo":
            shaped = returns / jnp.maximum(jnp.abs(baseline), 1e-6)[None]
        else:
            shaped = returns
        return state, shaped.mean(axis=1), metrics
