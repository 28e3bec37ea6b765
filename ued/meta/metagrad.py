"""Meta-training a learned update rule by meta-gradient (LPG, Oh et al. 2020), as a pure step.

A population of inner agents, each on its own level with its own lifetime, is trained by the rule.
One meta-step, for every agent (``vmap``):
  1. ``unroll`` inner updates by the rule, each on a fresh rollout of the agent (updates past the
     agent's lifetime are skipped, as in the reference);
  2. a rollout of the updated agent, scored by an A2C objective whose normalised GAE advantages
     come from the agent's *value baseline* (a separate network that regresses on each rollout's
     GAE targets: the reference meant to, but its baseline never trained);
  3. the meta-objective: that A2C objective minus entropy bonuses on the updated policy and y,
     plus L2 penalties on the rule's targets (LPG's regularisers, averaged over the inner
     updates), differentiated with respect to the rule's parameters through the updates;
then the population's mean meta-gradient takes an Adam step on the rule, each agent keeps its
updated parameters and env state, and agents past their lifetime are handed to the
``curriculum`` (``ued.meta.curriculum``): it may score them first (GROOVE), and those it releases
restart as fresh agents on levels it draws. Agents waiting to be scored are frozen and left out
of the meta-gradient. Every agent starts at age 0 and counts its own updates, so an agent is
finished (and scored) only after its whole lifetime; with lifetimes drawn per level
(``all_vrandlife``) agents finish at different meta-steps.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import struct

from ..env import tree_select
from .agents import EnvCarry, InnerAgent, InnerRollout
from .curriculum import Outcome, where_lanes
from .rules import A2C, LPG, AgentState, Progress, inner_update


@dataclasses.dataclass(frozen=True)
class Regularisers:
    """LPG's meta-regularisers (weights)."""

    policy_entropy: float = 5e-2
    y_entropy: float = 1e-3
    pi_hat_l2: float = 5e-3
    y_hat_l2: float = 1e-3


@struct.dataclass
class Population:
    """The inner agents (leaves ``[N, ...]``).

    Attributes:
        agents: parameters and optimiser states trained by the rule.
        baselines: the value baselines' parameters and optimiser states.
        carry: each agent's env states on its level.
        levels: each agent's level.
        age: ``int32[N]`` inner updates done (it keeps counting while a finished agent waits to
            be scored).
        pvl: ``f32[N]`` positive value loss of its last meta-rollout under its value baseline.
        maxmc: ``f32[N]`` MaxMC score of its last meta-rollout under its value baseline.
        max_return: ``f32[N]`` the highest n-step return it has seen (MaxMC's reference).
    """

    agents: AgentState
    baselines: AgentState
    carry: EnvCarry
    levels: Any
    age: jax.Array
    pvl: jax.Array
    maxmc: jax.Array
    max_return: jax.Array


@struct.dataclass
class MetaState:
    """Everything meta-training carries: the rule's parameters and optimiser state, the
    population, the curriculum's state and a typed key."""

    rule_params: Any
    rule_opt_state: Any
    population: Population
    curriculum: Any
    rng: jax.Array


def _entropy(logits):
    log_p = jax.nn.log_softmax(logits)
    return -jnp.sum(jnp.exp(log_p) * log_p, axis=-1)


@dataclasses.dataclass(frozen=True)
class MetaGradient:
    """LPG meta-training by meta-gradient.

    Attributes:
        rule: the ``LPG`` rule. agent: the ``InnerAgent``. rollout: its ``InnerRollout``.
        inner_optimizer: the agents' optimiser. baseline_optimizer: the value baselines'.
        meta_optimizer: the rule's optimiser (LPG: Adam 1e-4).
        population: N agents. unroll: K inner updates per meta-step.
        critic: the A2C whose returns and objective score the updated agents.
        regularisers: LPG's regularisers.
        curriculum: where agents' levels come from (``ued.meta.curriculum``).
        lifetime_of: ``level -> int32[]`` the agent's lifetime in inner updates.
    """

    rule: LPG
    agent: InnerAgent
    rollout: InnerRollout
    inner_optimizer: optax.GradientTransformation
    baseline_optimizer: optax.GradientTransformation
    meta_optimizer: optax.GradientTransformation
    population: int
    unroll: int
    critic: A2C
    regularisers: Regularisers
    curriculum: Any
    lifetime_of: Callable[[Any], jax.Array]

    # ---- agents ---------------------------------------------------------------------------------
    def _fresh(self, key, level, age) -> Population:
        """One fresh agent (unbatched) on ``level``, at ``age``."""
        k_agent, k_baseline, k_start = jax.random.split(key, 3)
        example = self.rollout.env.dummy_observation()[None]
        params = self.agent.init(k_agent, example)
        baseline = self.agent.init(k_baseline, example)
        return Population(
            agents=AgentState(params, self.inner_optimizer.init(params)),
            baselines=AgentState(baseline, self.baseline_optimizer.init(baseline)),
            carry=self.rollout.start(k_start, level),
            levels=level,
            age=jnp.asarray(age, jnp.int32),
            pvl=jnp.zeros((), jnp.float32),
            maxmc=jnp.zeros((), jnp.float32),
            max_return=jnp.full((), -jnp.inf, jnp.float32),
        )

    def init(self, key) -> MetaState:
        """Fresh rule parameters, the curriculum's state and a population of fresh agents (age
        0, as in the reference) on levels the curriculum draws."""
        k_pop, k_rule, k_shape, k_run, k_curriculum, k_draw = jax.random.split(key, 6)
        curriculum = self.curriculum.init(k_curriculum)
        everyone = jnp.ones(self.population, bool)
        curriculum, levels = self.curriculum.draw(curriculum, k_draw, everyone)
        keys = jax.random.split(k_pop, self.population)
        population = jax.vmap(self._fresh)(keys, levels, jnp.zeros(self.population, jnp.int32))
        first = jax.tree_util.tree_map(lambda x: x[0], population)
        transitions, _ = self.rollout.play(k_shape, first.agents.params, first.carry)
        progress = Progress(jnp.float32(0.0), jnp.float32(1.0))
        rule_params = self.rule.init(k_rule, self.agent, first.agents.params, transitions, progress)
        return MetaState(
            rule_params, self.meta_optimizer.init(rule_params), population, curriculum, k_run
        )

    def current_rule(self, state: MetaState):
        """The rule's current parameters."""
        return state.rule_params

    # ---- one agent's meta-objective -------------------------------------------------------------
    def _objective(self, rule_params, member: Population, key):
        """The meta-objective of one agent after ``unroll`` rule updates (updates past its
        lifetime are skipped), and what the step keeps: ``(loss, (agent state, env carry,
        baseline, scores, metrics))``.

        As the reference's: the value baseline regresses on each inner rollout's GAE targets in
        turn, then scores the updated agent's rollout (normalised GAE advantages) for the A2C
        objective and takes one more step on it; the regularisers are the updated agent's policy
        and y entropies and the L2 of the rule's targets, averaged over the inner updates."""
        lifetime = self.lifetime_of(member.levels).astype(jnp.float32)
        keys = jax.random.split(key, self.unroll + 1)

        def update(carry, inputs):
            state, env_carry = carry
            key, k = inputs
            transitions, env_carry = self.rollout.play(
                key, jax.lax.stop_gradient(state.params), env_carry
            )
            age = member.age + k
            progress = Progress(age.astype(jnp.float32) / lifetime, lifetime)
            updated, inner = inner_update(
                self.rule, rule_params, self.agent, self.inner_optimizer, state, transitions,
                progress,
            )  # fmt: skip
            state = tree_select(age < lifetime, updated, state)
            logits, y_logits, _ = self.agent.apply(state.params, transitions.obs)
            terms = {
                "entropy": jnp.mean(_entropy(logits)),
                "y_entropy": jnp.mean(_entropy(y_logits)),
                "pi_hat_l2": inner.get("pi_hat_l2", jnp.zeros(())),
                "y_hat_l2": inner.get("y_hat_l2", jnp.zeros(())),
                "pi_hat": inner.get("pi_hat", jnp.zeros(())),
                "inner_reward": transitions.rewards.mean(),
            }
            return (state, env_carry), (jax.lax.stop_gradient(transitions), terms)

        (state, env_carry), (inner_rollouts, terms) = jax.lax.scan(
            update, (member.agents, member.carry), (keys[:-1], jnp.arange(self.unroll))
        )
        baselines, _ = jax.lax.scan(
            lambda b, t: (self._train_baseline(b, t)[0], None), member.baselines, inner_rollouts
        )
        transitions, env_carry = self.rollout.play(
            keys[-1], jax.lax.stop_gradient(state.params), env_carry
        )
        logits, _, _ = self.agent.apply(state.params, transitions.obs)
        baselines, (values, raw_advantages, targets) = self._train_baseline(baselines, transitions)
        advantages = raw_advantages
        if self.critic.normalise_advantages:
            advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
        max_return = jnp.maximum(member.max_return, targets.max())
        scores = {
            "pvl": jnp.mean(jnp.maximum(raw_advantages, 0.0)),
            "maxmc": jnp.mean(max_return - values),
            "max_return": max_return,
        }
        log_pi = jnp.take_along_axis(
            jax.nn.log_softmax(logits), transitions.actions[..., None], axis=-1
        )[..., 0]
        policy = -jnp.mean(log_pi * advantages)
        terms = {k: v.mean() for k, v in terms.items()}
        r = self.regularisers
        loss = (
            policy
            - r.policy_entropy * terms["entropy"]
            - r.y_entropy * terms["y_entropy"]
            + r.pi_hat_l2 * terms["pi_hat_l2"]
            + r.y_hat_l2 * terms["y_hat_l2"]
        )
        metrics = {
            "meta_loss": loss,
            "policy_objective": policy,
            **terms,
            "reward": transitions.rewards.mean(),
        }
        return loss, (state, env_carry, baselines, scores, metrics)

    def _train_baseline(self, baselines: AgentState, transitions):
        """One regression step of a value baseline towards its own GAE targets on a rollout.
        Returns ``(baseline, (values, GAE advantages, targets))`` from before the step, all
        ``f32[T, B]`` and without gradient."""
        critic = dataclasses.replace(self.critic, normalise_advantages=False)
        _, _, values = self.agent.apply(baselines.params, transitions.obs)
        _, _, next_values = self.agent.apply(baselines.params, transitions.next_obs)
        advantages, targets = critic.advantages(transitions, values, next_values)

        def loss(params):
            _, _, values = self.agent.apply(params, transitions.obs)
            return jnp.mean(jnp.square(targets - values))

        grads = jax.grad(loss)(baselines.params)
        updates, opt_state = self.baseline_optimizer.update(
            grads, baselines.opt_state, baselines.params
        )
        baselines = AgentState(optax.apply_updates(baselines.params, updates), opt_state)
        return baselines, jax.lax.stop_gradient((values, advantages, targets))

    # ---- the meta-step --------------------------------------------------------------------------
    def step(self, state: MetaState) -> tuple[MetaState, dict[str, jax.Array]]:
        """One meta-step (pure; ``jax.jit`` it). Returns ``(state, scalar metrics)``; the
        curriculum's metrics are prefixed ``curriculum/``."""
        rng, k_agents, k_fresh, k_score, k_draw = jax.random.split(state.rng, 5)
        pop = state.population
        grad_fn = jax.grad(self._objective, has_aux=True)

        def member_step(member, key):
            grads, (agent, carry, baselines, scores, metrics) = grad_fn(
                state.rule_params, member, key
            )
            member = member.replace(agents=agent, carry=carry, baselines=baselines, **scores)
            return grads, member, metrics

        lifetimes = jax.vmap(self.lifetime_of)(pop.levels)
        training = pop.age < lifetimes  # the others wait, frozen, for the curriculum
        keys = jax.random.split(k_agents, self.population)
        grads, stepped, metrics = jax.vmap(member_step)(pop, keys)
        weights = training / jnp.maximum(training.sum(), 1)
        grads = jax.tree_util.tree_map(lambda g: jnp.tensordot(weights, g, axes=1), grads)
        updates, rule_opt_state = self.meta_optimizer.update(
            grads, state.rule_opt_state, state.rule_params
        )
        rule_params = optax.apply_updates(state.rule_params, updates)

        pop = where_lanes(training, stepped, pop).replace(age=pop.age + self.unroll)
        waiting = pop.age >= lifetimes
        outcome = Outcome(pop.levels, pop.agents.params, pop.pvl, pop.maxmc)
        curriculum, released, curriculum_metrics = self.curriculum.score(
            state.curriculum, k_score, waiting, outcome, pop.age - lifetimes
        )
        curriculum, levels = self.curriculum.draw(curriculum, k_draw, released)
        fresh = jax.vmap(self._fresh)(
            jax.random.split(k_fresh, self.population),
            levels,
            jnp.zeros(self.population, jnp.int32),
        )
        pop = where_lanes(released, fresh, pop)
        metrics = {k: jnp.tensordot(weights, v, axes=1) for k, v in metrics.items()}
        metrics["rule_grad_norm"] = optax.tree.norm(grads)
        metrics["finished"] = released.sum(dtype=jnp.int32)
        metrics.update({f"curriculum/{k}": v for k, v in curriculum_metrics.items()})
        return MetaState(rule_params, rule_opt_state, pop, curriculum, rng), metrics
