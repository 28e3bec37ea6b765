"""Training fresh inner agents for a lifetime with a rule, and scoring them (meta-evaluation and
GROOVE's algorithmic regret build on it)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from tiny_gridworld import TINY, tiny_agent

from envs.gridworld import parse_layouts
from ued.meta.agents import InnerRollout
from ued.meta.lifetime import LifetimeTrainer, normalised
from ued.meta.rules import A2C

ENV = TINY
AGENT = tiny_agent(8)
LEVEL = parse_layouts("= t\n% steps 12\n% type a 1 1 0\nS...\n....\n...a\n")[0].level(4, 2, 2)


def _trainer(max_updates):
    rollout = InnerRollout(ENV, AGENT, num_envs=16, num_steps=12)
    return LifetimeTrainer(AGENT, rollout, optax.adam(0.1), max_updates, eval_episodes=256)


@pytest.fixture(scope="module")
def scored():
    trainer = _trainer(40)
    score = jax.jit(lambda k, life: trainer.score(k, A2C(gamma=0.9), None, LEVEL, life))
    return {life: score(jax.random.key(0), jnp.int32(life)) for life in (0, 40)}


def test_a2c_trained_agents_beat_untrained_ones(scored):
    untrained, _ = scored[0]
    trained, curve = scored[40]
    assert float(trained) > float(untrained) + 0.3, (float(trained), float(untrained))
    assert np.isfinite(np.asarray(curve)).all()
    assert np.isnan(np.asarray(scored[0][1])).all()  # no update happened


def test_updates_past_the_lifetime_are_skipped_exactly():
    short = jax.jit(lambda k: _trainer(5).train(k, A2C(), None, LEVEL, jnp.int32(5)))
    long = jax.jit(lambda k: _trainer(8).train(k, A2C(), None, LEVEL, jnp.int32(5)))
    (a, curve_a), (b, curve_b) = short(jax.random.key(1)), long(jax.random.key(1))
    for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(curve_b[:5], curve_a)
    assert np.isnan(np.asarray(curve_b[5:])).all()


def test_normalised_returns():
    out = normalised(jnp.array([1.0, 0.5, 2.0]), jnp.array([2.0, 0.5, 0.0]))
    np.testing.assert_allclose(np.asarray(out), [0.5, 1.0, np.nan])
    out = normalised(jnp.array([1.0]), jnp.array([3.0]), floor=jnp.array([-1.0]))
    np.testing.assert_allclose(np.asarray(out), [0.5])
