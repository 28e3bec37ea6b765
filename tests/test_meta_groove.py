"""GROOVE's curriculum for the meta-learned optimiser: algorithmic regret is scored only for
agents that finish, through a fixed-size queue (the population itself), A2C's return is cached
per level (used on replays, computed on inserts), AR is ~0 when the "learned" rule is A2C, the
buffer's replay bookkeeping counts only the draws that are used, and the meta-step compiles
once."""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from conftest import run_meta_steps
from tiny_gridworld import TINY, tiny_agent

from algorithms.groove import GrooveLevels
from ued.buffer import BufferConfig, LevelBuffer
from ued.meta.agents import InnerRollout
from ued.meta.curriculum import Outcome
from ued.meta.lifetime import LifetimeTrainer
from ued.meta.metagrad import MetaGradient, Regularisers
from ued.meta.rules import A2C, LPG, LPGNetwork

ENV = TINY
AGENT = tiny_agent(8)
ROLLOUT = InnerRollout(ENV, AGENT, num_envs=8, num_steps=8)
OPTIMIZER = optax.adam(0.1)
LIFETIME = 4  # the debug distribution's


def curriculum(score_batch=1, capacity=8, score_episodes=16, replay_prob=0.5, min_fill=0.25):
    return GrooveLevels(
        level_source=ENV.sample_level,
        buffer=LevelBuffer(
            BufferConfig(capacity=capacity, min_fill=min_fill),
            extras=("a2c_return", "lpg_return"),
        ),
        replay_prob=replay_prob,
        score_kind="ar",
        score_batch=score_batch,
        evaluator=LifetimeTrainer(AGENT, ROLLOUT, OPTIMIZER, 1, eval_episodes=score_episodes),
        antagonist=LifetimeTrainer(AGENT, ROLLOUT, OPTIMIZER, 8, eval_episodes=score_episodes),
        a2c=A2C(gamma=0.9),
        rollout_steps=8 * 8,
    )


def outcome(levels, params):
    n = levels.lifetime.shape[0]
    return Outcome(levels, params, jnp.zeros(n), jnp.zeros(n))


def fresh_params(n, seed=0):
    example = ENV.dummy_observation()[None]
    return jax.vmap(lambda k: AGENT.init(k, example))(jax.random.split(jax.random.key(seed), n))


def sample_levels(n, seed=0):
    return jax.vmap(ENV.sample_level)(jax.random.split(jax.random.key(seed), n))


# ---- the meta-training run --------------------------------------------------------------------
@pytest.fixture(scope="module")
def run():
    groove = curriculum(score_batch=1)
    meta = MetaGradient(
        rule=LPG(network=LPGNetwork(hidden=8)),
        agent=AGENT,
        rollout=ROLLOUT,
        inner_optimizer=optax.sgd(0.5),
        baseline_optimizer=optax.adam(1e-2),
        meta_optimizer=optax.adam(1e-3),
        population=4,
        unroll=2,
        critic=A2C(gamma=0.9),
        regularisers=Regularisers(),
        curriculum=groove,
        lifetime_of=lambda level: level.lifetime,
    )
    return run_meta_steps(meta, 8)


def test_one_compile(run):
    assert run[2] == 1


def test_finished_agents_queue_and_are_scored_one_per_step_longest_waiting_first(run):
    states, metrics, _ = run
    # Every agent starts at age 0 with lifetime 4 and 2 updates per step: all four finish after
    # the second step and queue; one is scored per step from then on.
    assert [int(m["curriculum/scored"]) for m in metrics] == [0] + [1] * 7
    assert max(int(m["curriculum/waiting"]) for m in metrics) >= 1
    for before, after in itertools.pairwise(states):
        lifetimes = np.asarray(before.population.levels.lifetime)
        waited = np.asarray(before.population.age) >= lifetimes
        for i in np.flatnonzero(waited):  # a waiting agent is frozen until it is released
            old = jax.tree_util.tree_map(lambda x, i=i: np.asarray(x)[i], before.population.agents)
            new = jax.tree_util.tree_map(lambda x, i=i: np.asarray(x)[i], after.population.agents)
            released = int(np.asarray(after.population.age)[i]) == 0
            if not released:
                for a, b in zip(jax.tree_util.tree_leaves(old), jax.tree_util.tree_leaves(new)):
                    np.testing.assert_array_equal(a, b)
    # Every scored agent left its level in the buffer, which fills from empty.
    sizes = [int(s.curriculum.buffer.size) for s in states]
    assert sizes[0] == 0 and sizes[-1] >= 3
    np.testing.assert_array_less(np.diff(sizes), 2)  # at most one insert per step


def test_antagonist_steps_are_paid_only_for_levels_the_buffer_does_not_hold(run):
    _, metrics, _ = run
    for m in metrics:
        misses = int(m["curriculum/scored"]) - int(m["curriculum/cache_hits"])
        assert int(m["curriculum/antagonist_env_steps"]) == misses * LIFETIME * 64


# ---- scoring, one compiled function for every test below ------------------------------------
LANES = 4
SCORING = curriculum(score_batch=LANES, capacity=16, score_episodes=32, replay_prob=1.0)
score = jax.jit(SCORING.score)
draw = jax.jit(SCORING.draw)


def score_all(state, key, levels, params, waiting=None):
    """Score ``LANES`` agents (all waiting unless ``waiting`` says otherwise)."""
    waiting = jnp.ones(LANES, bool) if waiting is None else waiting
    return score(state, key, waiting, outcome(levels, params), jnp.zeros(LANES, jnp.int32))


@pytest.mark.slow  # CI's 20 minutes; make test-all runs it
def test_no_scoring_work_when_nobody_finishes():
    state = SCORING.init(jax.random.key(0))
    levels = sample_levels(LANES)
    after, released, metrics = score_all(state, jax.random.key(1), levels, fresh_params(LANES),
                                         jnp.zeros(LANES, bool))  # fmt: skip
    assert not np.asarray(released).any()
    assert int(metrics["scored"]) == 0 and int(metrics["antagonist_env_steps"]) == 0
    for a, b in zip(jax.tree_util.tree_leaves(after), jax.tree_util.tree_leaves(state)):
        np.testing.assert_array_equal(a, b)


def test_the_a2c_cache_is_used_on_replays_and_filled_on_inserts():
    levels = sample_levels(LANES, seed=3)
    params = fresh_params(LANES)
    one = jnp.arange(LANES) == 0
    # A new level: A2C is trained (its steps paid) and its return stored with the level.
    state, _, m = score_all(SCORING.init(jax.random.key(0)), jax.random.key(1), levels, params, one)
    assert int(m["antagonist_env_steps"]) == LIFETIME * 64 and int(m["cache_hits"]) == 0
    slot = 0
    stored = float(state.buffer.extras["a2c_return"][slot])
    assert stored == pytest.approx(float(m["a2c_return"]))
    # The same level again (a replay): the stored return is used, nothing is trained.
    extras = state.buffer.extras
    marked = state.replace(
        buffer=state.buffer.replace(
            extras={**extras, "a2c_return": extras["a2c_return"].at[slot].set(123.0)}
        )
    )
    again, _, m = score_all(marked, jax.random.key(2), levels, params, one)
    assert int(m["antagonist_env_steps"]) == 0 and int(m["cache_hits"]) == 1
    assert float(m["a2c_return"]) == 123.0
    assert float(m["score"]) == pytest.approx(123.0 - float(m["lpg_return"]))
    assert int(again.buffer.size) == 1  # refreshed in place, not a copy
    assert float(again.buffer.scores[slot]) == pytest.approx(float(m["score"]))


def test_algorithmic_regret_is_about_zero_when_the_learned_rule_is_a2c():
    num = 4 * LANES
    levels = sample_levels(num, seed=7)
    a2c = A2C(gamma=0.9)
    trainer = SCORING.antagonist

    @jax.jit
    def trained_by_a2c(keys):  # the "learned" rule is A2C itself, trained for the same lifetime
        return jax.vmap(lambda k, level: trainer.train(k, a2c, None, level, level.lifetime)[0])(
            keys, levels
        ).params

    params = trained_by_a2c(jax.random.split(jax.random.key(11), num))
    state = SCORING.init(jax.random.key(0))
    for i in range(0, num, LANES):
        part = jax.tree_util.tree_map(lambda x, i=i: x[i : i + LANES], (levels, params))
        state, _, m = score_all(state, jax.random.key(i), *part)
        assert int(m["scored"]) == LANES
    a2c_return = np.asarray(state.buffer.extras["a2c_return"])[:num]
    regret = a2c_return - np.asarray(state.buffer.extras["lpg_return"])[:num]
    assert int(state.buffer.size) == num and a2c_return.std() > 0
    # Same algorithm, independent keys: the mean difference is noise.
    assert abs(regret.mean()) <= 3 * regret.std(ddof=1) / np.sqrt(num) + 0.05 * a2c_return.std()


def test_draws_replay_buffer_levels_and_mark_only_the_agents_that_start():
    from ued.hashing import pytree_hash

    levels = sample_levels(LANES, seed=5)
    empty = SCORING.init(jax.random.key(0))
    assert not bool(SCORING.buffer.is_ready(empty.buffer))
    state, _, _ = score_all(empty, jax.random.key(1), levels, fresh_params(LANES))
    assert int(state.buffer.size) == LANES and bool(SCORING.buffer.is_ready(state.buffer))
    mask = jnp.array([True, False, True, False])
    after, drawn = draw(state, jax.random.key(2), mask)
    held = np.asarray(state.buffer.hashes[:LANES])
    hashes = np.asarray(jax.vmap(pytree_hash)(drawn))
    for i in range(LANES):  # replay_prob 1 and a ready buffer: every lane is a buffer level
        assert any((hashes[i] == h).all() for h in held)
    assert int(np.asarray(after.buffer.replays).sum()) == 2  # only the two agents that start
    assert int(after.buffer.counter) == int(state.buffer.counter) + 2  # one per level drawn
