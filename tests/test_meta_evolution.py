"""LPG meta-training by evolution strategies: antithetic pairs share their level and keys, the
rule moves, and the step compiles once."""

from __future__ import annotations

import jax
import numpy as np
import optax
import pytest
from conftest import run_meta_steps
from tiny_gridworld import TINY, tiny_agent

from ued.meta.agents import InnerRollout
from ued.meta.evolution import EvolutionStrategy, lpg_evolution
from ued.meta.lifetime import LifetimeTrainer
from ued.meta.rules import LPG, LPGNetwork

ENV = TINY
AGENT = tiny_agent(4)


def _es(sigma: float) -> EvolutionStrategy:
    rollout = InnerRollout(ENV, AGENT, num_envs=4, num_steps=6)
    return lpg_evolution(
        LPG(network=LPGNetwork(hidden=8, embedding=4, lifetime_conditioned=True)),
        LifetimeTrainer(AGENT, rollout, optax.sgd(0.5), max_updates=4, eval_episodes=8),
        population=6,
        sigma=sigma,
        lr=0.05,
        level_source=ENV.sample_level,
        lifetime_of=lambda level: level.lifetime,
    )


def test_antithetic_pairs_share_level_and_keys():
    levels, keys = _es(0.1).pair_levels_and_keys(jax.random.key(0))
    for leaf in jax.tree_util.tree_leaves(levels):
        np.testing.assert_array_equal(leaf[:3], leaf[3:])
    np.testing.assert_array_equal(jax.random.key_data(keys[:3]), jax.random.key_data(keys[3:]))
    assert not np.array_equal(np.asarray(levels.wall_map[0]), np.asarray(levels.wall_map[1])) or (
        not np.array_equal(np.asarray(levels.start[0]), np.asarray(levels.start[1]))
    )


@pytest.fixture(scope="module")
def evolved():
    es = _es(0.1)
    (state0, _, state2), (metrics1, metrics2), traces = run_meta_steps(es, 2, seed=1)
    return es, state0, state2, (metrics1, metrics2), traces


def test_the_rule_moves_and_the_step_compiles_once(evolved):
    es, before, after, metrics, traces = evolved
    assert traces == 1
    moved = [
        not np.array_equal(a, b)
        for a, b in zip(
            jax.tree_util.tree_leaves(es.current_rule(before)),
            jax.tree_util.tree_leaves(es.current_rule(after)),
        )
    ]
    assert all(moved)
    for m in metrics:
        assert all(np.isfinite(float(v)) for v in m.values())


def test_without_perturbation_the_pairs_score_identically():
    """Same level and keys: with sigma = 0 both members of a pair are the same experiment."""
    es = _es(0.0)
    _, metrics = jax.jit(es.step)(jax.jit(es.init)(jax.random.key(2)))
    assert float(metrics["pair_difference"]) == 0.0
