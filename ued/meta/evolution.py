"""Meta-training a learned rule by evolution strategies (evosax's OpenES), as a pure step.

Each meta-step asks OpenES for a population of rule parameters in antithetic pairs (``theta +
sigma eps`` and ``theta - sigma eps``, members ``i`` and ``i + P/2``), trains one fresh agent per
member for its *whole* lifetime with that rule (``fitness``), and tells OpenES the negated final
returns (it minimises; its fitness shaping is centred ranks). The two members of a pair play the
same level (task) with the same keys (agent initialisation and every rollout), so their
difference measures the perturbation, not the level or the luck. Full-lifetime unrolls need no
gradient through training, which is what lifetime-conditioned rules need. ``lpg_evolution``
builds it for LPG (each member's agent trains for its level's lifetime, and the rule sees its
true progress against it, as in the reference); ``ued.meta.drift_program`` for LPO's drift.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax
from evosax.algorithms import Open_ES
from flax import struct

from ..parallel import DataParallel
from .lifetime import LifetimeTrainer
from .rules import LPG, Progress


def _strong(tree):
    """The tree with every weakly typed leaf made strong: evosax produces weak scalars (its
    initial best fitness, the schedule's std), which would retrace a jitted step."""
    return jax.tree_util.tree_map(lambda x: jax.lax.convert_element_type(x, x.dtype), tree)


@struct.dataclass
class ESState:
    """OpenES's state (its mean is the current rule) and a typed key."""

    es_state: Any
    rng: jax.Array


@struct.dataclass
class TaskedESState(ESState):
    """``ESState`` with a task batch's state (``ued.meta.tasks.TaskState``); a separate class so
    that checkpoints of runs without tasks keep their structure."""

    tasks: Any = None


@dataclasses.dataclass(frozen=True)
class EvolutionStrategy:
    """Meta-training a rule by OpenES with antithetic pairs.

    Attributes:
        fitness: ``(key, rule params, level, lifetime int32[]) -> f32[]``: the final return of a
            fresh agent trained by the rule for its lifetime. example_rule: ``key -> rule
            params``, the initial mean (and the parameters' shapes). population: P members (even:
            P/2 antithetic pairs). sigma: the perturbation's standard deviation. lr: Adam step
            size on the mean, multiplied by ``lr_decay`` every generation down to ``lr_limit``
            (GROOVE's LPG: 1e-4, 0.999, 1e-5). level_source: ``key -> level``. lifetime_of:
            ``level -> int32[]``. parallel: the devices the members are split over
            (``ued.parallel.DataParallel``), or None. tasks: a ``ued.meta.tasks.TaskBatch``:
            every member then trains once per task (``fitness`` takes the task as a fifth
            argument) and ES ranks the per-task normalised returns; None: ``fitness`` alone.
    """

    fitness: Callable[[jax.Array, Any, Any, jax.Array], jax.Array]
    example_rule: Callable[[jax.Array], Any]
    population: int
    sigma: float
    lr: float
    level_source: Callable[[jax.Array], Any]
    lifetime_of: Callable[[Any], jax.Array]
    parallel: DataParallel | None = None
    lr_decay: float = 1.0
    lr_limit: float = 0.0
    tasks: Any = None

    @functools.cached_property
    def strategy(self) -> Open_ES:
        """OpenES over the rule's parameters (built from their shapes)."""
        shapes = jax.eval_shape(self.example_rule, jax.random.key(0))
        example = jax.tree_util.tree_map(lambda s: jnp.zeros(s.shape, s.dtype), shapes)
        return Open_ES(
            population_size=self.population,
            solution=example,
            use_antithetic_sampling=True,
            optimizer=optax.adam(self.learning_rate),
            std_schedule=optax.constant_schedule(self.sigma),
        )

    @property
    def learning_rate(self):
        """Adam's step size: constant, or decaying per generation to ``lr_limit``."""
        if self.lr_decay == 1.0:
            return self.lr
        return optax.exponential_decay(self.lr, 1, self.lr_decay, end_value=self.lr_limit)

    def init(self, key) -> ESState:
        """OpenES centred on a freshly initialised rule."""
        k_rule, k_es, k_run = jax.random.split(key, 3)
        strategy = self.strategy
        es_state = strategy.init(k_es, self.example_rule(k_rule), strategy.default_params)
        if self.tasks is None:
            return ESState(_strong(es_state), k_run)
        k_run, k_tasks = jax.random.split(k_run)
        return TaskedESState(_strong(es_state), k_run, self.tasks.init(k_tasks))

    def current_rule(self, state: ESState):
        """The rule ES currently proposes (its mean)."""
        return self.strategy.get_mean(state.es_state)

    def pair_levels_and_keys(self, key):
        """Levels and keys for the population: member ``i`` and ``i + P/2`` share both."""
        half = self.population // 2
        k_levels, k_runs = jax.random.split(key)
        levels = jax.vmap(self.level_source)(jax.random.split(k_levels, half))
        keys = jax.random.split(k_runs, half)
        twice = jax.tree_util.tree_map(lambda x: jnp.concatenate([x, x]), (levels, keys))
        return twice

    def step(self, state: ESState) -> tuple[ESState, dict[str, jax.Array]]:
        """One generation (pure; ``jax.jit`` it). Returns ``(state, scalar metrics)``."""
        rng, k_ask, k_pairs, k_tell = jax.random.split(state.rng, 4)
        strategy = self.strategy
        params = strategy.default_params
        candidates, es_state = strategy.ask(k_ask, state.es_state, params)
        levels, keys = self.pair_levels_and_keys(k_pairs)
        lifetimes = jax.vmap(self.lifetime_of)(levels)

        members = (keys, candidates, levels, lifetimes)
        if self.parallel is not None:  # each device trains its share of the members
            members = self.parallel.shard(members)
        metrics = {}
        if self.tasks is None:
            returns = fitness = jax.vmap(self.fitness)(*members)
        else:
            rng, k_draw, k_score = jax.random.split(rng, 3)
            task_state, tasks, replayed = self.tasks.draw(k_draw, state.tasks)
            per_task = jax.vmap(self.fitness, in_axes=(None, None, None, None, 0))
            returns = jax.vmap(per_task, in_axes=(0, 0, 0, 0, None))(*members, tasks)
            task_state, fitness, metrics = self.tasks.fitness(
                k_score, task_state, tasks, replayed, returns
            )
            returns = returns.mean(axis=1)
        es_state, _ = strategy.tell(k_tell, candidates, -fitness, es_state, params)
        es_state = _strong(es_state)
        half = self.population // 2
        metrics = {
            "return": returns.mean(),
            "best_return": returns.max(),
            "pair_difference": jnp.abs(returns[:half] - returns[half:]).mean(),
            **metrics,
        }
        if self.tasks is None:
            return ESState(es_state, rng), metrics
        return TaskedESState(es_state, rng, task_state), metrics


def lpg_evolution(rule: LPG, trainer: LifetimeTrainer, **settings) -> EvolutionStrategy:
    """OpenES over an ``LPG`` rule: each member's fresh agent trains for its level's lifetime
    (``trainer.max_updates`` bounds every lifetime the env draws) and scores its final return;
    the initial rule is the rule's own initialisation, shaped by one rollout of a fresh agent.
    ``settings``: ``EvolutionStrategy``'s other fields (``level_source`` included)."""

    def fitness(key, rule_params, level, lifetime):
        return trainer.score(key, rule, rule_params, level, lifetime)[0]

    def example_rule(key):
        k_level, k_agent, k_start, k_play, k_rule = jax.random.split(key, 5)
        level = settings["level_source"](k_level)
        params = trainer.agent.init(k_agent, trainer.rollout.env.dummy_observation()[None])
        transitions, _ = trainer.rollout.play(k_play, params, trainer.rollout.start(k_start, level))
        progress = Progress(jnp.float32(0.0), jnp.float32(1.0))
        return rule.init(k_rule, trainer.agent, params, transitions, progress)

    return EvolutionStrategy(fitness=fitness, example_rule=example_rule, **settings)
