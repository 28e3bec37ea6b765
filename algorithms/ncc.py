"""The optimisation framework for UED (NCC; Monette, Letcher, Beukman et al., RLC 2025).

UED as ``min_x max_{y ∈ Δ_ε} Σ_i y_i s_i(x) + α H(y)``: an adversary distribution y over a buffer
of N levels ascends the entropy-regularised expected score while the student descends it. Each
update: score the buffer with the current student (K attempts, first-episode returns); optionally
let fresh random levels replace the lowest-scoring slots (the slot keeps its y mass); take one
projected ascent step on y (``ncc_adversary``); train the student on B levels drawn from y.

``score_every`` and ``score_subset`` are cheaper *deviations* from the method (stale or partial
scores), off by default and labelled as such in the logs; a warning fires when the scoring
budget dwarfs training.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import warnings
from typing import Any, Literal

import jax
import jax.numpy as jnp
from flax import struct

from ued import registry
from ued.config import ConfigError, TrainConfig, override, positive, require
from ued.curriculum import REPLAY, AlgorithmSpec, Curriculum, RolloutResult, Student, UpdatePlan

from .ncc_adversary import (
    AdversaryState,
    adversary_step,
    entropy,
    entropy_weight,
    project_to_truncated_simplex,
)

__all__ = ["NCC", "Config", "State", "project_to_truncated_simplex"]


@dataclasses.dataclass(frozen=True)
class Config:
    """NCC settings (defaults: ``ncc-reg``)."""

    score: Literal["oracle_regret", "learnability"] = "oracle_regret"
    """Level score: true regret V* - return (needs the env's oracle) or learnability p(1-p)."""
    buffer_size: int = 4000
    """N levels the adversary distributes its mass over."""
    epsilon: float = 1e-5
    """Truncated-simplex floor (N * epsilon < 1)."""
    entropy_coef: float = 0.032
    """α, the entropy weight that makes the objective strongly concave in y."""
    entropy_schedule: Literal["constant", "cube_root"] = "constant"
    """Constant α or α / (t+1)^(1/3)."""
    step_rule: Literal["adagrad_norm", "exponentiated", "sgd", "adagrad_coordinate"] = (
        "adagrad_norm"
    )
    """Adversary step: scalar AdaGrad-norm (default), exponentiated gradient, plain SGD, or the
    released code's per-coordinate AdaGrad (biased)."""
    step_size: float = 1.0
    """η of the adversary step."""
    adagrad_g0: float = 0.1
    """G_0 of the AdaGrad rules."""
    update_order: Literal["simultaneous", "alternating"] = "simultaneous"
    """Student trains on levels from y_t (simultaneous) or from y_{t+1} (alternating)."""
    dynamic_buffer: bool = True
    """Fresh random levels replace the lowest-scoring slots when they score higher."""
    fresh_levels: int = 32
    """Fresh levels scored per update for the dynamic buffer (M)."""
    attempts: int = 5
    """Episodes per level when scoring (K); first-episode returns."""
    score_every: int = 1
    """DEVIATION if > 1: re-score (and refresh) the buffer only every this many updates."""
    score_subset: int = 0
    """DEVIATION if > 0: re-score only this many random buffer levels per scoring update."""
    max_scoring_ratio: float = 50.0
    """Warn when scoring may take more than this many times the training env steps."""


LOG_KEYS = (
    "replacements",
    "scoring_env_steps",
    "entropy",
    "effective_support",
    "expected_score",
    "uniform_score",
    "step_size",
    "alpha",
    "y_change",
)


@struct.dataclass
class State:
    """The buffer, its scores and the adversary.

    Attributes:
        levels: ``[N]`` levels; scores: ``f32[N]``; optimal: ``f32[N]`` cached V* (oracle regret).
        adversary: y and its step-size accumulators.
        log: the last update's adversary statistics (for metrics).
    """

    levels: Any
    scores: jax.Array
    optimal: jax.Array
    adversary: AdversaryState
    log: dict[str, jax.Array]


def replace_lowest(buffer, fresh):
    """The dynamic buffer's update: fresh levels, best first, each replace the lowest-scoring
    slot if they score higher. The adversary's mass stays with the slot.

    Args: ``buffer = (levels [N], scores f32[N], optimal f32[N])`` and ``fresh`` likewise ``[M]``.
    Returns ``(buffer, accepted bool[M])`` (``accepted`` in descending fresh-score order).
    """
    fresh_levels, fresh_scores, fresh_optimal = fresh

    def offer(carry, i):
        levels, scores, optimal = carry
        slot = jnp.argmin(scores)
        better = fresh_scores[i] > scores[slot]

        def put(old, new):
            return old.at[slot].set(jnp.where(better, new, old[slot]))

        level = jax.tree_util.tree_map(lambda x: x[i], fresh_levels)
        levels = jax.tree_util.tree_map(put, levels, level)
        return (levels, put(scores, fresh_scores[i]), put(optimal, fresh_optimal[i])), better

    return jax.lax.scan(offer, buffer, jnp.argsort(-fresh_scores))


@dataclasses.dataclass(frozen=True)
class NCC(Curriculum):
    """The NCC curriculum.

    Attributes:
        env: the training env; config: NCC's settings; num_envs: levels per update (B);
        gamma: discount; oracle: the env family's ``(env, level, gamma) -> V*`` (oracle regret).
    """

    env: Any
    config: Config
    num_envs: int
    gamma: float
    oracle: Any = None

    def _optimal(self, levels) -> jax.Array:
        if self.config.score != "oracle_regret":
            return jnp.zeros(jax.tree_util.tree_leaves(levels)[0].shape[0], jnp.float32)
        return jax.vmap(lambda level: self.oracle(self.env, level, self.gamma))(levels)

    def init(self, key) -> State:
        n = self.config.buffer_size
        levels = jax.vmap(self.env.sample_level)(jax.random.split(key, n))
        zero = jnp.zeros((), jnp.float32)
        return State(
            levels=levels,
            scores=jnp.zeros((n,), jnp.float32),
            optimal=self._optimal(levels),
            adversary=AdversaryState.uniform(n),
            log={k: zero for k in LOG_KEYS},
        )

    # ---- scoring ------------------------------------------------------------------------------
    def score(self, key, student: Student, levels, optimal):
        """Scores ``f32[n]`` of n levels from K first-episode attempts each, and the env steps
        spent (``f32[]``)."""
        stats, steps = student.attempts(key, levels, self.config.attempts)
        if self.config.score == "oracle_regret":
            scores = optimal - stats.discounted_returns.mean(axis=1)
        else:
            p = stats.solved.mean(axis=1)
            scores = p * (1.0 - p)
        return scores, steps

    def _rescore(self, key, state: State, student: Student):
        c = self.config
        k_buffer, k_pick, k_fresh, k_fresh_score = jax.random.split(key, 4)
        if c.score_subset:
            pick = jax.random.choice(k_pick, c.buffer_size, (c.score_subset,), replace=False)
            subset = jax.tree_util.tree_map(lambda x: x[pick], state.levels)
            new, steps = self.score(k_buffer, student, subset, state.optimal[pick])
            scores = state.scores.at[pick].set(new)
        else:
            scores, steps = self.score(k_buffer, student, state.levels, state.optimal)
        levels, optimal, replaced = state.levels, state.optimal, jnp.zeros((), jnp.float32)
        if c.dynamic_buffer:
            fresh = jax.vmap(self.env.sample_level)(jax.random.split(k_fresh, c.fresh_levels))
            fresh_optimal = self._optimal(fresh)
            fresh_scores, fresh_steps = self.score(k_fresh_score, student, fresh, fresh_optimal)
            steps = steps + fresh_steps
            (levels, scores, optimal), accepted = replace_lowest(
                (levels, scores, optimal), (fresh, fresh_scores, fresh_optimal)
            )
            replaced = jnp.sum(accepted).astype(jnp.float32)
        return state.replace(
            levels=levels,
            scores=scores,
            optimal=optimal,
            log={**state.log, "replacements": replaced, "scoring_env_steps": steps},
        )

    # ---- the curriculum interface ---------------------------------------------------------------
    def levels_for_update(self, key, state: State, student: Student, update):
        c = self.config
        k_score, k_sample = jax.random.split(key)
        zero = jnp.zeros((), jnp.float32)
        state = jax.lax.cond(
            update % c.score_every == 0,
            lambda s: self._rescore(k_score, s, student),
            lambda s: s.replace(log={**s.log, "replacements": zero, "scoring_env_steps": zero}),
            state,
        )
        alpha = entropy_weight(c.entropy_coef, state.adversary.step, c.entropy_schedule)
        adversary, eta = adversary_step(
            state.adversary,
            state.scores,
            alpha,
            step_size=c.step_size,
            eps=c.epsilon,
            rule=c.step_rule,
            g0=c.adagrad_g0,
        )
        y_train = adversary.y if c.update_order == "alternating" else state.adversary.y
        pick = jax.random.choice(k_sample, c.buffer_size, (self.num_envs,), p=y_train)
        levels = jax.tree_util.tree_map(lambda x: x[pick], state.levels)
        h = entropy(adversary.y)
        log = {
            **state.log,
            "entropy": h,
            "effective_support": jnp.exp(h),
            "expected_score": adversary.y @ state.scores,
            "uniform_score": state.scores.mean(),
            "step_size": eta,
            "alpha": alpha,
            "y_change": jnp.sum(jnp.abs(adversary.y - state.adversary.y)),
        }
        return levels, UpdatePlan.train_on(REPLAY), state.replace(adversary=adversary, log=log)

    def after_rollout(self, key, state: State, result: RolloutResult, plan, student, update):
        metrics = {
            f"adversary/{k}": v
            for k, v in state.log.items()
            if k not in ("replacements", "scoring_env_steps")
        }
        metrics["buffer/replacements"] = state.log["replacements"]
        metrics["buffer/score_mean"] = state.scores.mean()
        metrics["buffer/score_max"] = state.scores.max()
        metrics["curriculum/scoring_env_steps"] = state.log["scoring_env_steps"]
        return state, metrics

    def inspect(self, state: State) -> dict[str, jax.Array]:
        """The buffer for diagnostics: levels, scores, the adversary's y as weights."""
        n = self.config.buffer_size
        return {
            "levels": state.levels,
            "scores": state.scores,
            "weights": state.adversary.y,
            "filled": jnp.ones((n,), bool),
        }


# ---- presets ----------------------------------------------------------------------------------
def _cpu(config: Config) -> Config:
    """CPU-sized: a 256-level buffer scored in subsets of 64 (a labelled deviation)."""
    return dataclasses.replace(config, buffer_size=256, fresh_levels=16, score_subset=64)


PAPER = {
    "ncc-theory": Config(
        score="oracle_regret",
        entropy_coef=0.25,
        step_rule="sgd",
        step_size=0.25,
        dynamic_buffer=False,
        attempts=1,
    ),
    "ncc-reg": Config(score="oracle_regret", entropy_coef=0.032, attempts=1),
    "ncc-learn": Config(score="learnability", entropy_coef=0.05, attempts=5),
}
TEST = {"buffer_size": 8, "fresh_levels": 4, "attempts": 2}


def preset(algo: str, base: TrainConfig, name: str) -> TrainConfig:
    """An NCC variant (``ncc-theory``, ``ncc-reg``, ``ncc-learn``) on the env family's preset
    ``name`` (the maze's ``paper`` preset gives NCC the paper's 60-wall mazes; ``cpu`` keeps the
    maze every curriculum's cpu preset shares, so curricula compare on one distribution)."""
    curriculum = PAPER[algo]
    if name == "cpu":
        curriculum = _cpu(curriculum)
    elif name == "test":
        curriculum = dataclasses.replace(curriculum, **TEST)
    config = dataclasses.replace(base, curriculum=curriculum)
    if algo == "ncc-theory":
        # The theory's student: plain REINFORCE with SGD on a compact parameter set (no
        # advantage normalisation, no gradient clipping: the estimator the analysis assumes),
        # returning the iterate with the smallest policy-gradient norm.
        config = override(
            config,
            ppo=dataclasses.replace(
                config.ppo,
                objective="reinforce",
                optimizer="sgd",
                lr=1e-2,
                epochs=1,
                minibatches=1,
                gae_lambda=1.0,
                ent_coef=0.0,
                normalize_advantages=False,
                max_grad_norm=0.0,
                param_bound=10.0,
                track_best_iterate=True,
                anneal_lr=False,
            ),
        )
    return config


def make(env, spec, config: TrainConfig) -> NCC:
    """Build the curriculum for a validated config, warning if scoring dwarfs training."""
    c = config.curriculum
    levels = (c.score_subset or c.buffer_size) + (c.fresh_levels if c.dynamic_buffer else 0)
    worst = levels * c.attempts * env.max_steps / c.score_every
    ratio = worst / config.steps_per_update
    if ratio > c.max_scoring_ratio:
        warnings.warn(
            f"NCC may spend up to {worst:,.0f} env steps per update scoring levels, {ratio:.0f}x "
            f"the {config.steps_per_update:,} training steps; consider --curriculum.score-every "
            "or --curriculum.score-subset (deviations from the method)",
            stacklevel=2,
        )
    return NCC(
        env=env,
        config=c,
        num_envs=config.ppo.num_envs,
        gamma=config.ppo.gamma,
        oracle=spec.oracle,
    )


def requires(config: TrainConfig) -> frozenset[str]:
    """Oracle regret needs an oracle; learnability a success signal."""
    return frozenset({"oracle"} if config.curriculum.score == "oracle_regret" else {"success"})


def validate(config: TrainConfig) -> None:
    """Check the curriculum's settings; raises ``ConfigError`` naming the field."""
    c = config.curriculum
    for name in ("buffer_size", "fresh_levels", "attempts", "score_every"):
        if getattr(c, name) <= 0:
            raise ConfigError(f"curriculum.{name}: must be positive, got {getattr(c, name)}")
    if not 0.0 <= c.epsilon or c.buffer_size * c.epsilon >= 1.0:
        raise ConfigError(
            f"curriculum.epsilon: need 0 <= epsilon and buffer_size * epsilon < 1, "
            f"got {c.epsilon} with {c.buffer_size} levels"
        )
    require(c.entropy_coef >= 0, "curriculum.entropy_coef", f"must be >= 0, got {c.entropy_coef}")
    positive(c, "curriculum.", "step_size")  # step_rule: check_fields (a Literal)
    if not 0 <= c.score_subset <= c.buffer_size:
        raise ConfigError(
            f"curriculum.score_subset: must be in [0, buffer_size], got {c.score_subset}"
        )
    if not math.isfinite(c.max_scoring_ratio):
        raise ConfigError("curriculum.max_scoring_ratio: must be finite")


for _name, _summary in (
    ("ncc-theory", "NCC with the theory's choices: REINFORCE+SGD, static buffer"),
    ("ncc-reg", "NCC: learned distribution over a dynamic buffer, oracle regret"),
    ("ncc-learn", "NCC: learned distribution over a dynamic buffer, learnability"),
):
    registry.ALGORITHMS.register(
        _name,
        AlgorithmSpec(
            _name,
            Config,
            functools.partial(preset, _name),
            make,
            validate,
            requires,
            _summary,
        ),
    )
