"""GROOVE (Jackson et al. 2023): LPG meta-trained on a level buffer scored when agents finish.

``ued meta-train --algo groove``: a starting agent replays a buffer level with probability
``replay_prob`` (once the buffer is ready), else draws a new one; when agents finish their
lifetimes, at most ``score_batch`` of them per meta-step (the longest-waiting first: a
fixed-size queue inside jit, the population itself holding the queued agents) are scored and
their levels offered to a ``ued.buffer.LevelBuffer``. Scores (``--curriculum.score``):

* ``ar``, algorithmic regret (GROOVE's): A2C's return after training a fresh agent on the level
  for the same lifetime, minus the finished LPG agent's return. A2C's return does not depend on
  the learned rule, so it is kept per level in the buffer (extra ``a2c_return``) and computed
  only for levels the buffer does not hold; the reference trained an A2C agent for every agent
  at every meta-step;
* ``pvl`` / ``maxmc``: positive value loss / MaxMC from the agent's value baseline on its last
  rollout (``ued.meta.curriculum.Outcome``);
* ``regret``: the env's exact optimal return minus the LPG agent's (needs an ``oracle``).

Every scoring lane that has nothing to do is inactive, and the loops that train and evaluate
agents stop when no lane is active, so a meta-step where nobody finishes pays nothing.
Reference: EmptyJackson/groove ``environments/level_sampler.py``, ``meta/train.py``.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any, Literal

import jax
import jax.numpy as jnp
from flax import struct

from ued import registry
from ued.buffer import BufferConfig, BufferState, LevelBuffer, validate_buffer
from ued.config import positive, probability, require
from ued.hashing import pytree_hash
from ued.meta.curriculum import (
    LIFETIMES,
    MetaAlgorithmSpec,
    MetaCurriculum,
    Outcome,
    masked_mean,
    where_lanes,
)
from ued.meta.lifetime import LifetimeTrainer
from ued.meta.rules import A2C


@dataclasses.dataclass(frozen=True)
class Config:
    """GROOVE's level buffer and how finished agents are scored (defaults: the reference's)."""

    score: Literal["ar", "pvl", "maxmc", "regret"] = "ar"
    """ar (GROOVE's algorithmic regret: A2C's return minus the LPG agent's, after the same
    lifetime), pvl, maxmc (from the agents' value baselines) or regret (the exact optimum minus
    the LPG agent's return; envs with an oracle)."""
    replay_prob: float = 0.5
    """Probability that a starting agent replays a buffer level (once the buffer is ready; 0:
    never)."""
    buffer: BufferConfig = dataclasses.field(default_factory=BufferConfig)
    """The level buffer (GROOVE: 4,000 levels, rank prioritisation)."""
    score_batch: int = 512
    """Finished agents scored per meta-step at most (the others wait, frozen, in the queue;
    capped by the population)."""
    score_episodes: int = 64
    """Fresh episodes that score a finished agent (and an A2C antagonist; the reference: one
    per env worker)."""


@struct.dataclass
class BufferedState:
    """GROOVE's curriculum state: the level buffer (extras ``a2c_return``, ``lpg_return``)."""

    buffer: BufferState


@dataclasses.dataclass(frozen=True)
class GrooveLevels(MetaCurriculum):
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
            metrics["a2c_return"] = masked_mean(a2c_return, valid)
            metrics["cache_hits"] = jnp.sum(valid & hit, dtype=jnp.int32)
        elif self.score_kind == "regret":
            scores = jax.vmap(self.oracle)(levels) - learned
        else:
            scores = getattr(outcome, self.score_kind)[picked]
        buffer, _ = self.buffer.insert(buffer, levels, scores, extras, mask=valid)
        released = jnp.zeros_like(waiting).at[picked].max(valid)
        metrics.update(
            score=masked_mean(scores, valid),
            lpg_return=masked_mean(learned, valid),
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


def make(program) -> GrooveLevels:
    """GROOVE's curriculum for a ``ued.meta.program.MetaProgram``: the LPG agents are scored by
    fresh episodes, the A2C antagonists train at the baseline's settings on the training
    distribution for their level's whole lifetime."""
    config = program.config
    c, agent = config.curriculum, config.agent
    evaluator = LifetimeTrainer(
        program.agent, program.rollout, program.inner_optimizer, 1, eval_episodes=c.score_episodes
    )
    settings = program.a2c_settings("random")  # tuned for the training distribution
    antagonist = LifetimeTrainer(
        program.agent,
        program.rollout,
        program.optimizer(settings["lr"], settings["critic_lr"]),
        program.max_lifetime,  # every level's whole lifetime
        eval_episodes=c.score_episodes,
    )
    oracle = None
    if c.score == "regret":
        oracle = functools.partial(program.spec.oracle, program.env, gamma=1.0)
    return GrooveLevels(
        level_source=program.env.sample_level,
        buffer=LevelBuffer(c.buffer, extras=("a2c_return", "lpg_return")),
        replay_prob=c.replay_prob,
        score_kind=c.score,
        score_batch=min(c.score_batch, config.population),
        evaluator=evaluator,
        antagonist=antagonist,
        a2c=program.a2c(settings["entropy_coef"]),
        oracle=oracle,
        rollout_steps=agent.num_envs * agent.num_steps,
        lifetime_of=program.lifetime_of,
    )


def preset(config, name: str) -> Config:
    """GROOVE's curriculum (algorithmic regret, a 4,000-level buffer replaying its top levels),
    scaled to the levels a preset's run finishes (a cpu run of 500 meta-steps finishes about 80
    agents)."""
    n = config.population
    capacity = {"reference": 4000, "cpu": 64, "test": 4}[name]
    buffer = BufferConfig(
        capacity=capacity, prioritization="topk", topk=n, staleness_coeff=0.0,
        min_fill=n / capacity, sample_with_replacement=False,
    )  # fmt: skip
    episodes = {"reference": 64, "cpu": 16, "test": 4}[name]
    return Config(score="ar", buffer=buffer, score_batch=n, score_episodes=episodes)


def validate(config) -> None:
    """Scores need the meta-gradient backend (ES members draw fresh random levels)."""
    c = config.curriculum
    require(
        config.backend == "gradient",
        "backend",
        "groove scores finished agents, which needs the meta-gradient backend (ES draws fresh "
        "random levels)",
    )
    probability(c, "curriculum.", "replay_prob")
    positive(c, "curriculum.", "score_batch", "score_episodes")
    validate_buffer(c.buffer, config.population, "curriculum.buffer.")


SOURCES = {
    "curriculum.buffer.capacity": "experiments/parse_args.py --buffer_size",
    "curriculum.replay_prob": "experiments/parse_args.py --p_replay",
    "curriculum.buffer.prioritization": "environments/level_sampler.py _replay_from_buffer "
    "(rank: the highest-scoring levels, each to one agent)",
    "curriculum.buffer.staleness_coeff": "environments/level_sampler.py (no staleness)",
    "curriculum.buffer.min_fill": "environments/level_sampler.py sample (replay once "
    "num_agents levels are evaluated)",
    "curriculum.score_batch": "environments/level_sampler.py sample (every finished agent)",
    "curriculum.score_episodes": "agents/agents.py eval_agent (one episode per env worker)",
}
"""Where the ``reference`` preset's curriculum settings come from in GROOVE's code."""

SPEC = registry.META_ALGORITHMS.register(
    "groove",
    MetaAlgorithmSpec(
        name="groove",
        Config=Config,
        preset=preset,
        make=make,
        validate=validate,
        requires=lambda config: (
            LIFETIMES | frozenset({"oracle"} if config.curriculum.score == "regret" else ())
        ),
        summary="GROOVE: LPG on a level buffer scored by algorithmic regret",
        sources=SOURCES,
    ),
)
