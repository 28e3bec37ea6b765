"""Where meta-training's inner agents get their levels: domain randomisation, a fixed level set,
or GROOVE's level buffer scored when agents finish their lifetimes.

A curriculum is pure and carries its state in the meta-state (checkpointed, vmapped over seeds):

* ``init(key) -> state``;
* ``draw(state, key, mask bool[N]) -> (state, levels [N])``: levels for the agents that start
  now (``mask``; the other lanes are ignored);
* ``score(state, key, waiting bool[N], outcome, overdue int32[N]) -> (state, released
  bool[N], metrics)``: agents past their lifetime wait, frozen, until the curriculum has
  scored them; ``released`` are those it is done with, which then restart on fresh levels.
  Unscored curricula release every waiting agent at once.

``BufferedLevels`` is GROOVE (Jackson et al. 2023) and its baselines: new levels, or with
probability ``replay_prob`` levels replayed from a ``ued.buffer.LevelBuffer``; when agents
finish, at most ``score_batch`` of them per meta-step (the longest-waiting first: a fixed-size
queue inside jit, the population itself holding the queued agents) are scored and offered to
the buffer. Scores:

* ``ar``, algorithmic regret: A2C's return after training a fresh agent on the level for the
  same lifetime, minus the finished LPG agent's return. A2C's return does not depend on the
  learned rule, so it is kept per level in the buffer (extra ``a2c_return``) and computed only
  for levels the buffer does not hold; the reference trained an A2C agent for every agent at
  every meta-step;
* ``pvl`` / ``maxmc``: positive value loss / MaxMC from the agent's value baseline on its last
  rollout (``Outcome``);
* ``regret``: the env's exact optimal return (tabular gridworlds) minus the LPG agent's return.

Every scoring lane that has nothing to do is inactive, and the loops that train and evaluate
agents stop when no lane is active, so a meta-step where nobody finishes pays nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Literal

import jax
import jax.numpy as jnp
from flax import struct

from ..buffer import BufferState, LevelBuffer
from ..hashing import pytree_hash
from .lifetime import LifetimeTrainer
from .rules import A2C

SCORES = ("dr", "fixed", "ar", "pvl", "maxmc", "regret")
"""``--curriculum.score`` values: ``dr`` (fresh random levels: plain LPG), ``fixed`` (a finite
level set), and the buffered scores ``ar``, ``pvl``, ``maxmc``, ``regret``."""


@struct.dataclass
class Outcome:
    """What the population offers for scoring (leaves ``[N, ...]``).

    Attributes:
        levels: each agent's level; params: its parameters; pvl: positive value loss and maxmc:
        MaxMC score of its last meta-rollout (from its value baseline).
    """

    levels: Any
    params: Any
    pvl: jax.Array
    maxmc: jax.Array


def where_lanes(mask: jax.Array, on_true, on_false):
    """Per-lane ``where`` over pytrees with a leading batch axis (``mask bool[N]``)."""

    def pick(a, b):
        return jnp.where(mask.reshape(mask.shape + (1,) * (a.ndim - 1)), a, b)

    return jax.tree_util.tree_map(pick, on_true, on_false)


@dataclasses.dataclass(frozen=True)
class RandomLevels:
    """Domain randomisation: every agent starts on a fresh level of the distribution."""

    level_source: Callable[[jax.Array], Any]

    def init(self, key) -> dict:
        """No state."""
        return {}

    def draw(self, state, key, mask):
        """Fresh levels ``[N]``."""
        return state, jax.vmap(self.level_source)(jax.random.split(key, mask.shape[0]))

    def score(self, state, key, waiting, outcome, overdue):
        """Nothing to score: every waiting agent is released."""
        return state, waiting, {}

    def inspect(self, state) -> None:
        """No buffer to show."""
        return None


@dataclasses.dataclass(frozen=True)
class FixedLevels:
    """A finite level set, drawn once from the distribution (``num_levels``), then sampled
    uniformly."""

    level_source: Callable[[jax.Array], Any]
    num_levels: int

    def init(self, key) -> dict:
        """``{"levels": levels [num_levels]}``."""
        return {"levels": jax.vmap(self.level_source)(jax.random.split(key, self.num_levels))}

    def draw(self, state, key, mask):
        """Levels ``[N]`` drawn uniformly from the set."""
        index = jax.random.randint(key, mask.shape, 0, self.num_levels)
        return state, jax.tree_util.tree_map(lambda x: x[index], state["levels"])

    def score(self, state, key, waiting, outcome, overdue):
        """Nothing to score: every waiting agent is released."""
        return state, waiting, {}

    def inspect(self, state) -> None:
        """No buffer to show."""
        return None


@struct.dataclass
class BufferedState:
    """GROOVE's curriculum state: the level buffer (extras ``a2c_return``, ``lpg_return``)."""

    buffer: BufferState


@dataclasses.dataclass(frozen=True)
class BufferedLevels:
    """GROOVE's level buffer, scored by ``score`` when agents finish.

    Attributes:
        level_source: ``key -> level``, new levels.
        buffer: the ``LevelBuffer`` (extras ``a2c_return``, NaN unless ``ar`` computes it, and
            ``lpg_return``).
        replay_prob: probability that a starting agent replays a buffer level (once the buffer
            is ready).
        score_kind: ``ar``, ``pvl``, ``maxmc`` or ``regret``.
        score_batch: agents scored per meta-step at most.
        evaluator: scores LPG agents' final returns (its ``eval_episodes``).
        antagonist: trains and scores the A2C agents of ``ar`` (its optimiser; ``max_updates``
            bounds a lifetime).
        a2c: the A2C rule. oracle: ``level -> f32[]``, the optimal undiscounted return
            (``regret``). rollout_steps: env steps of one inner update (step accounting).
        lifetime_of: ``level -> int32[]``, an agent's lifetime in inner updates.
    """

    level_source: Callable[[jax.Array], Any]
    buffer: LevelBuffer
    replay_prob: float
    score_kind: Literal["ar", "pvl", "maxmc", "regret"]
    score_batch: int
    evaluator: LifetimeTrainer
    antagonist: LifetimeTrainer | None = None
    a2c: A2C | None = None
    oracle: Callable[[Any], jax.Array] | None = None
    rollout_steps: int = 0
    lifetime_of: Callable[[Any], jax.Array] = lambda level: level.lifetime

    def init(self, key) -> BufferedState:
        """An empty buffer."""
        return BufferedState(self.buffer.init(self.level_source(key)))

    def draw(self, state: BufferedState, key, mask):
        """Per starting agent: a replayed buffer level with probability ``replay_prob`` (once
        the buffer is ready), else a new one. Only replays that are used count as seen."""
        k_replay, k_sample, k_new = jax.random.split(key, 3)
        num = mask.shape[0]
        replay = jax.random.bernoulli(k_replay, self.replay_prob, (num,))
        replay = replay & self.buffer.is_ready(state.buffer)
        buffer, _, replayed = self.buffer.sample(k_sample, state.buffer, num, mask & replay)
        new = jax.vmap(self.level_source)(jax.random.split(k_new, num))
        return BufferedState(buffer), where_lanes(replay, replayed, new)

    def score(self, state: BufferedState, key, waiting, outcome: Outcome, overdue):
        """Score up to ``score_batch`` waiting agents (the longest-waiting first, by ``overdue
        int32[N]``, age - lifetime), offer their levels to the buffer and release them.
        Metrics (NaN where nobody was scored): ``score``, ``lpg_return``, ``a2c_return`` and
        ``cache_hits`` (``ar``), ``scored``, ``waiting`` (after this step),
        ``antagonist_env_steps`` (A2C training steps paid this meta-step) and, for ``ar``,
        ``reference_antagonist_env_steps`` (what training one for every agent would cost)."""
        buffer = state.buffer
        order = jnp.where(waiting, overdue, jnp.iinfo(jnp.int32).min)
        _, picked = jax.lax.top_k(order, self.score_batch)
        valid = waiting[picked]
        levels = jax.tree_util.tree_map(lambda x: x[picked], outcome.levels)
        params = jax.tree_util.tree_map(lambda x: x[picked], outcome.params)
        k_eval, k_a2c = jax.random.split(key)
        eval_keys = jax.random.split(k_eval, self.score_batch)
        learned = jax.vmap(self.evaluator.episode_return)(eval_keys, params, levels, valid)
        metrics = {"antagonist_env_steps": jnp.zeros((), jnp.int32)}
        extras = {"lpg_return": learned, "a2c_return": jnp.full_like(learned, jnp.nan)}
        if self.score_kind == "ar":
            cached, hit = self._cached(buffer, levels)
            need = valid & ~hit
            lifetimes = jax.vmap(self.lifetime_of)(levels)
            a2c_keys = jax.random.split(k_a2c, self.score_batch)
            trained, _ = jax.vmap(
                lambda k, level, n, active: self.antagonist.score(
                    k, self.a2c, None, level, n, active
                )
            )(a2c_keys, levels, lifetimes, need)
            a2c_return = jnp.where(hit, cached, trained)
            extras["a2c_return"] = a2c_return
            scores = a2c_return - learned
            cap = self.antagonist.max_updates
            updates = jnp.where(need, jnp.minimum(lifetimes, cap), 0)
            metrics["antagonist_env_steps"] = updates.sum() * self.rollout_steps
            # The reference's scheme: an A2C agent trained for every agent at every meta-step.
            everyone = jnp.minimum(jax.vmap(self.lifetime_of)(outcome.levels), cap).sum()
            metrics["reference_antagonist_env_steps"] = everyone * self.rollout_steps
            metrics["a2c_return"] = _masked_mean(a2c_return, valid)
            metrics["cache_hits"] = jnp.sum(valid & hit, dtype=jnp.int32)
        elif self.score_kind == "regret":
            scores = jax.vmap(self.oracle)(levels) - learned
        else:
            scores = getattr(outcome, self.score_kind)[picked]
        buffer, _ = self.buffer.insert(buffer, levels, scores, extras, mask=valid)
        released = jnp.zeros_like(waiting).at[picked].max(valid)
        metrics.update(
            score=_masked_mean(scores, valid),
            lpg_return=_masked_mean(learned, valid),
            scored=jnp.sum(valid, dtype=jnp.int32),
            waiting=jnp.sum(waiting & ~released, dtype=jnp.int32),
        )
        return BufferedState(buffer), released, metrics

    def inspect(self, state: BufferedState) -> dict[str, Any]:
        """The buffer for diagnostics (``ued.diagnostics.Diagnostics.buffer``): levels, scores,
        replay weights, the filled mask and the per-level A2C and LPG returns."""
        buffer = state.buffer
        return {
            "levels": buffer.levels,
            "scores": buffer.scores,
            "weights": self.buffer.replay_weights(buffer),
            "filled": buffer.filled,
            "extras": buffer.extras,
        }

    def _cached(self, buffer: BufferState, levels):
        """A2C's stored return for levels the buffer holds: ``(f32[B], hit bool[B])``."""
        hashes = jax.vmap(pytree_hash)(levels)
        same = buffer.filled[None, :] & jnp.all(buffer.hashes[None] == hashes[:, None], axis=-1)
        slot = jnp.argmax(same, axis=1)
        return buffer.extras["a2c_return"][slot], jnp.any(same, axis=1)


def _masked_mean(values: jax.Array, mask: jax.Array) -> jax.Array:
    """Mean of ``values`` where ``mask``, NaN if none."""
    count = mask.sum()
    return jnp.where(count > 0, jnp.sum(jnp.where(mask, values, 0.0)) / jnp.maximum(count, 1),
                     jnp.nan)  # fmt: skip
