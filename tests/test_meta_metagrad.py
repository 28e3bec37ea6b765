"""LPG meta-training by meta-gradient, as a pure jitted step: every trainable state changes
(the rule, the agents and their value baselines), agents count their own updates and are
replaced on fresh levels after their lifetime, and the step compiles once."""

from __future__ import annotations

import jax
import numpy as np
import optax
import pytest
from conftest import run_meta_steps
from tiny_gridworld import TINY, tiny_agent

from algorithms.lpg import RandomLevels
from ued.meta.agents import InnerRollout
from ued.meta.metagrad import MetaGradient, Regularisers
from ued.meta.rules import A2C, LPG, LPGNetwork

ENV = TINY
AGENT = tiny_agent(8)


@pytest.fixture(scope="module")
def meta():
    return MetaGradient(
        rule=LPG(network=LPGNetwork(hidden=16, lifetime_conditioned=True)),
        agent=AGENT,
        rollout=InnerRollout(ENV, AGENT, num_envs=8, num_steps=8),
        inner_optimizer=optax.sgd(0.5),
        baseline_optimizer=optax.adam(1e-2),
        meta_optimizer=optax.adam(1e-3),
        population=4,
        unroll=2,
        critic=A2C(gamma=0.9),
        regularisers=Regularisers(),
        curriculum=RandomLevels(ENV.sample_level),
        lifetime_of=lambda level: level.lifetime,
    )


@pytest.fixture(scope="module")
def steps(meta):
    return run_meta_steps(meta, 3)


def _changed(a, b) -> list[bool]:
    return [not np.array_equal(x, y) for x, y in zip(jax.tree_util.tree_leaves(a),
                                                     jax.tree_util.tree_leaves(b))]  # fmt: skip


def test_every_trainable_state_changes_after_one_meta_step(steps):
    (before, after, *_), _, _ = steps
    assert all(_changed(before.rule_params, after.rule_params)), "every rule parameter moves"
    for name in ("agents", "baselines"):
        old, new = getattr(before.population, name).params, getattr(after.population, name).params
        for i in range(4):
            pick = lambda tree, i=i: jax.tree_util.tree_map(lambda x: x[i], tree)
            assert any(_changed(pick(old), pick(new))), (name, i)


def test_agents_count_their_own_updates_and_restart_on_fresh_levels(steps):
    """Every agent starts fresh at age 0 (the reference's population; an agent that started
    mid-life would be scored on fewer updates than its lifetime) and finishes after its own
    lifetime of 4 updates (2 meta-steps of 2), then restarts on a fresh level."""
    states, metrics, _ = steps
    ages = [np.asarray(s.population.age).tolist() for s in states]
    assert ages == [[0] * 4, [2] * 4, [0] * 4, [2] * 4]
    assert [int(m["finished"]) for m in metrics] == [0, 4, 0]
    levels = [s.population.levels for s in states]
    for a, b, same in ((levels[0], levels[1], True), (levels[1], levels[2], False)):
        for i in range(4):
            kept = np.array_equal(a.wall_map[i], b.wall_map[i]) and np.array_equal(
                a.start[i], b.start[i]
            )
            assert kept == same, i


def test_one_compile_and_finite_metrics(steps):
    _, metrics, traces = steps
    assert traces == 1
    for m in metrics:
        for name, value in m.items():
            assert np.isfinite(np.asarray(value, np.float64)).all(), name
    assert float(metrics[0]["rule_grad_norm"]) > 0
