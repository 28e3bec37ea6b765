"""Sampling For Learnability (SFL; Rutherford et al. 2024, "No Regrets").

Every ``refresh_every`` updates, score ``num_candidates`` fresh random levels by *learnability*
p(1 - p), p the student's success rate over up to ``max_episodes`` episodes of a rollout of at
most ``score_steps`` steps, and keep the top ``buffer_size`` as the buffer. Each update trains on
a fraction ``replay_fraction`` of levels drawn uniformly from that buffer and fresh random levels
for the rest, always with a gradient. Levels with no completed episode score 0.

The refresh is gated by the (unbatched) update index, so it is a real ``lax.cond`` even with
vmapped seeds: its cost is paid once per ``refresh_every`` updates, and logged as
``curriculum/scoring_env_steps``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from ued import registry
from ued.config import ConfigError, TrainConfig
from ued.curriculum import REPLAY, AlgorithmSpec, Curriculum, RolloutResult, Student, UpdatePlan


@dataclasses.dataclass(frozen=True)
class Config:
    """SFL settings (defaults: the paper's maze settings)."""

    refresh_every: int = 100
    """Updates between buffer refreshes."""
    num_candidates: int = 25_000
    """Random levels scored per refresh."""
    score_batch: int = 5_000
    """Candidates scored in parallel (num_candidates must be a multiple)."""
    score_steps: int = 2_000
    """Longest scoring rollout per candidate."""
    max_episodes: int = 10
    """Completed episodes counted per candidate."""
    buffer_size: int = 1_000
    """Top levels kept (K)."""
    replay_fraction: float = 0.5
    """Fraction rho of each update's levels drawn from the buffer."""


@struct.dataclass
class State:
    """The buffer of the most learnable levels and its bookkeeping.

    Attributes:
        levels: ``[K]`` levels; scores: ``f32[K]`` their learnability when scored.
        refreshes: ``int32[]`` refreshes so far.
        scoring_steps: ``int32[]`` env steps spent scoring in the latest update (0 if none).
    """

    levels: Any
    scores: jax.Array
    refreshes: jax.Array
    scoring_steps: jax.Array


@dataclasses.dataclass(frozen=True)
class SamplingForLearnability(Curriculum):
    """The SFL curriculum."""

    env: Any
    config: Config
    num_envs: int

    @property
    def num_replay(self) -> int:
        return round(self.config.replay_fraction * self.num_envs)

    def init(self, key) -> State:
        k = self.config.buffer_size
        return State(
            levels=jax.vmap(self.env.sample_level)(jax.random.split(key, k)),
            scores=jnp.zeros((k,), jnp.float32),
            refreshes=jnp.zeros((), jnp.int32),
            scoring_steps=jnp.zeros((), jnp.int32),
        )

    def refresh(self, key, state: State, student: Student) -> State:
        """Score ``num_candidates`` random levels with the current student; keep the top K."""
        c = self.config

        def score(key):
            k_levels, k_play = jax.random.split(key)
            levels = jax.vmap(self.env.sample_level)(jax.random.split(k_levels, c.score_batch))
            episodes, successes, steps = student.player.count_successes(
                k_play, student.params, levels, c.score_steps, c.max_episodes
            )
            p = successes / jnp.maximum(episodes, 1)
            learnability = jnp.where(episodes > 0, p * (1.0 - p), 0.0)
            return levels, learnability, steps

        batches = c.num_candidates // c.score_batch
        levels, learnability, steps = jax.lax.map(score, jax.random.split(key, batches))
        flat = jax.tree_util.tree_map(lambda x: x.reshape(-1, *x.shape[2:]), levels)
        top, index = jax.lax.top_k(learnability.reshape(-1), c.buffer_size)
        return State(
            levels=jax.tree_util.tree_map(lambda x: x[index], flat),
            scores=top,
            refreshes=state.refreshes + 1,
            scoring_steps=(jnp.sum(steps) * c.score_batch).astype(jnp.int32),
        )

    def levels_for_update(self, key, state: State, student: Student, update):
        k_refresh, k_pick, k_new = jax.random.split(key, 3)
        state = jax.lax.cond(
            update % self.config.refresh_every == 0,
            lambda s: self.refresh(k_refresh, s, student),
            lambda s: s.replace(scoring_steps=jnp.zeros((), jnp.int32)),
            state,
        )
        pick = jax.random.randint(k_pick, (self.num_replay,), 0, self.config.buffer_size)
        replayed = jax.tree_util.tree_map(lambda x: x[pick], state.levels)
        fresh = jax.vmap(self.env.sample_level)(
            jax.random.split(k_new, self.num_envs - self.num_replay)
        )
        levels = jax.tree_util.tree_map(lambda a, b: jnp.concatenate([a, b]), replayed, fresh)
        return levels, UpdatePlan.train_on(REPLAY), state

    def after_rollout(self, key, state: State, result: RolloutResult, plan, student, update):
        return state, {
            "buffer/score_mean": state.scores.mean(),
            "buffer/score_max": state.scores.max(),
            "buffer/score_min": state.scores.min(),
            "buffer/refreshes": state.refreshes,
            "curriculum/scoring_env_steps": state.scoring_steps,
        }

    def inspect(self, state: State) -> dict[str, jax.Array]:
        """The buffer for diagnostics (sampled uniformly, so equal weights)."""
        k = self.config.buffer_size
        return {
            "levels": state.levels,
            "scores": state.scores,
            "weights": jnp.full((k,), 1.0 / k),
            "filled": jnp.ones((k,), bool),
        }


PRESETS = {
    "paper": Config(),
    "cpu": Config(
        refresh_every=50, num_candidates=2_000, score_batch=1_000, score_steps=500, buffer_size=200
    ),
    "test": Config(
        refresh_every=2,
        num_candidates=16,
        score_batch=8,
        score_steps=16,
        max_episodes=3,
        buffer_size=4,
    ),
}


def preset(base: TrainConfig, name: str) -> TrainConfig:
    """SFL on the env family's preset ``name`` (the maze's ``paper`` preset gives SFL the
    paper's 60-wall mazes)."""
    return dataclasses.replace(base, curriculum=PRESETS[name])


def make(env, spec, config: TrainConfig) -> SamplingForLearnability:
    """Build the curriculum for a validated config."""
    return SamplingForLearnability(env=env, config=config.curriculum, num_envs=config.ppo.num_envs)


def validate(config: TrainConfig) -> None:
    """Check the curriculum's settings; raises ``ConfigError`` naming the field."""
    c = config.curriculum
    for name in (
        "refresh_every",
        "num_candidates",
        "score_batch",
        "score_steps",
        "max_episodes",
        "buffer_size",
    ):
        if getattr(c, name) <= 0:
            raise ConfigError(f"curriculum.{name}: must be positive, got {getattr(c, name)}")
    if c.num_candidates % c.score_batch:
        raise ConfigError(
            f"curriculum.score_batch: num_candidates ({c.num_candidates}) must be a "
            f"multiple of score_batch ({c.score_batch})"
        )
    if c.buffer_size > c.num_candidates:
        raise ConfigError(
            f"curriculum.buffer_size: cannot keep {c.buffer_size} of {c.num_candidates} candidates"
        )
    if not 0.0 <= c.replay_fraction <= 1.0:
        raise ConfigError(f"curriculum.replay_fraction: must be in [0, 1], got {c.replay_fraction}")


SPEC = registry.ALGORITHMS.register(
    "sfl",
    AlgorithmSpec(
        "sfl",
        Config,
        preset,
        make,
        validate,
        lambda config: frozenset({"success"}),
        "SFL: train on the most learnable of many freshly scored random levels",
    ),
)
