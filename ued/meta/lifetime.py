"""Training a fresh inner agent for its whole lifetime with an update rule, and scoring it.

This is what meta-evaluation does on held-out levels (the learned rule against A2C for the same
lifetime) and what GROOVE's algorithmic regret compares on buffer levels. Everything is pure and
jittable; levels may have different lifetimes under one ``vmap`` (the loops run as long as the
longest, up to a static bound), and lanes marked inactive cost nothing when none is active.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import optax

from ..env import tree_select
from .agents import InnerAgent, InnerRollout
from .rules import AgentState, Progress, inner_update


@dataclasses.dataclass(frozen=True)
class LifetimeTrainer:
    """Trains fresh agents with a rule and measures their return.

    Attributes:
        agent: the ``InnerAgent``; rollout: its ``InnerRollout``; optimizer: the inner optimiser.
        max_updates: static bound on a lifetime (updates past ``level.lifetime`` are skipped).
        eval_episodes: fresh episodes that score a trained agent.
    """

    agent: InnerAgent
    rollout: InnerRollout
    optimizer: optax.GradientTransformation
    max_updates: int
    eval_episodes: int = 32

    def train(self, key, rule, rule_params, level, lifetime) -> tuple[AgentState, jax.Array]:
        """A fresh agent trained on ``level`` for ``lifetime`` (``int32[]``, at most
        ``max_updates``) updates; the rule sees the progress ``updates done / lifetime`` against
        the lifetime the agent is actually trained for. Returns ``(agent state, mean reward per
        step of each update's rollout f32[max_updates])`` (NaN past the lifetime).

        A ``while_loop`` of ``lifetime`` iterations: under ``vmap`` it runs as long as the longest
        lifetime in the batch, so a lane with lifetime 0 (an agent nobody needs trained) costs
        nothing when no lane needs one."""
        k_init, k_start, k_run = jax.random.split(key, 3)
        params = self._initial_params(k_init)
        state = AgentState(params, self.optimizer.init(params))
        carry = self.rollout.start(k_start, level)
        updates = jnp.minimum(jnp.asarray(lifetime, jnp.int32), self.max_updates)
        total = updates.astype(jnp.float32)

        def update(loop):
            k, state, carry, curve = loop
            key = jax.random.fold_in(k_run, k)  # the same keys whatever max_updates is
            transitions, carry = self.rollout.play(key, state.params, carry)
            progress = Progress(k.astype(jnp.float32) / total, total)
            state, _ = inner_update(
                rule, rule_params, self.agent, self.optimizer, state, transitions, progress
            )
            return k + 1, state, carry, curve.at[k].set(transitions.rewards.mean())

        curve = jnp.full(self.max_updates, jnp.nan, jnp.float32)
        loop = (jnp.zeros((), jnp.int32), state, carry, curve)
        _, state, _, curve = jax.lax.while_loop(lambda loop: loop[0] < updates, update, loop)
        return state, curve

    def _initial_params(self, key):
        return self.agent.init(key, self.rollout.env.dummy_observation()[None])

    def episode_return(self, key, params, level, active=True) -> jax.Array:
        """Mean undiscounted return of ``eval_episodes`` fresh episodes of the agent's policy on
        ``level`` (``f32[]``), each played to its end (at most ``env.max_steps`` steps). With
        ``active`` (``bool[]``) False no step is played (0 is returned): under ``vmap`` the
        loop runs only while some lane is playing."""
        env = self.rollout.env
        k_reset, key = jax.random.split(key)
        levels = jax.tree_util.tree_map(lambda x: jnp.repeat(x[None], self.eval_episodes, 0), level)
        obs, state = jax.vmap(env.reset_to_level)(
            jax.random.split(k_reset, self.eval_episodes), levels
        )
        zeros = jnp.zeros(self.eval_episodes, jnp.float32)
        done = jnp.full(self.eval_episodes, ~jnp.asarray(active, jnp.bool_))

        def cond(loop):
            t, *_, done, _ = loop
            return (t < env.max_steps) & ~jnp.all(done)

        def body(loop):
            t, key, obs, state, done, total = loop
            key, k_act, k_env = jax.random.split(key, 3)
            logits, _, _ = self.agent.apply(params, obs)
            actions = jax.random.categorical(k_act, logits).astype(jnp.int32)
            obs, next_state, reward, terminated, truncated, _ = jax.vmap(env.step)(
                jax.random.split(k_env, self.eval_episodes), state, actions
            )
            total = total + jnp.where(done, 0.0, reward)
            state = jax.vmap(tree_select)(done, state, next_state)
            return t + 1, key, obs, state, done | terminated | truncated, total

        loop = (jnp.zeros((), jnp.int32), key, obs, state, done, zeros)
        return jax.lax.while_loop(cond, body, loop)[-1].mean()

    def score(self, key, rule, rule_params, level, lifetime, active=True):
        """Train a fresh agent for its lifetime, then score it. Returns ``(episode return f32[],
        reward curve f32[max_updates])``. With ``active`` False nothing is played (return 0,
        curve NaN): a lane of a ``vmap`` whose result is not needed."""
        k_train, k_eval = jax.random.split(key)
        lifetime = jnp.where(active, lifetime, 0)
        state, curve = self.train(k_train, rule, rule_params, level, lifetime)
        return self.episode_return(k_eval, state.params, level, active), curve

    def untrained_return(self, key, level) -> jax.Array:
        """The return (``f32[]``) of the agent that ``score(key, ...)`` starts from, before any
        update: the same initial parameters and evaluation episodes. A floor for normalising."""
        k_train, k_eval = jax.random.split(key)
        params = self._initial_params(jax.random.split(k_train, 3)[0])
        return self.episode_return(k_eval, params, level)


MARGIN = 0.05
"""The smallest denominator a normalised return divides by: a baseline whose return (or gain)
is below it is not "clearly positive", and the ratio is left undefined there (NaN, counted)."""


def normalised(returns: jax.Array, baseline: jax.Array, floor: jax.Array | None = None,
               margin: float = MARGIN) -> Any:  # fmt: skip
    """Returns normalised by a baseline's (``returns / baseline``, the GROOVE paper's
    A2C-normalised return), or, with ``floor`` (e.g. the untrained agent's return), by the
    baseline's gain over it: ``(r - floor) / (baseline - floor)``. Defined only where the
    denominator is at least ``margin`` (NaN elsewhere: it would flip sign or explode), so a mean
    over levels must say how many it covers."""
    low = 0.0 if floor is None else floor
    gap = baseline - low
    return jnp.where(gap >= margin, (returns - low) / jnp.where(gap >= margin, gap, 1.0), jnp.nan)


def bounded_gain(returns: jax.Array, floor: jax.Array, top: jax.Array,
                 margin: float = MARGIN) -> jax.Array:  # fmt: skip
    """``(r - floor) / max(top - floor, margin)``: the share of the attainable gain over
    ``floor`` (e.g. the untrained agent) that ``returns`` reach, with ``top`` an upper bound on
    any agent's expected return (the exact optimum). Always defined, never flips sign (the
    denominator is positive) and bounded on levels with nothing to gain."""
    return (returns - floor) / jnp.maximum(top - floor, margin)
