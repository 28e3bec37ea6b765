"""SFL keeps the most learnable levels: checked on a synthetic env whose levels are coins with
known success probabilities, so learnability p(1 - p) is known exactly."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from coin_env import CoinEnv, coin_student

from algorithms import sfl


def test_refresh_keeps_the_top_k_by_learnability():
    env = CoinEnv()
    config = sfl.Config(
        refresh_every=1,
        num_candidates=2000,
        score_batch=500,
        score_steps=400,
        max_episodes=400,
        buffer_size=100,
    )
    curriculum = sfl.SamplingForLearnability(env, config, num_envs=8)
    student = coin_student(env)
    state = jax.jit(lambda k: curriculum.refresh(k, curriculum.init(k), student))(jax.random.key(1))
    p = np.asarray(state.levels["p"])
    scores = np.asarray(state.scores)
    # The kept levels are the most learnable: true p near 1/2, learnability near its max 1/4,
    # while uniform candidates average 1/6.
    assert np.all(np.abs(p - 0.5) < 0.2)
    assert np.mean(p * (1 - p)) > 0.24
    assert np.all(np.diff(scores) <= 0)  # kept in descending order of estimated learnability
    assert np.all(np.abs(scores - p * (1 - p)) < 0.05)
    assert int(state.refreshes) == 1
    # 2000 candidates x 400 episodes of one step each: the scoring cost is accounted for.
    assert int(state.scoring_steps) == 2000 * 400


def test_updates_mix_buffer_and_fresh_levels():
    env = CoinEnv()
    config = sfl.Config(
        refresh_every=10,
        num_candidates=20,
        score_batch=10,
        score_steps=4,
        max_episodes=4,
        buffer_size=5,
        replay_fraction=0.5,
    )
    curriculum = sfl.SamplingForLearnability(env, config, num_envs=8)
    state = curriculum.init(jax.random.key(0))
    state = state.replace(levels={"p": jnp.full((5,), 7.0)})  # marker values
    levels, plan, new_state = curriculum.levels_for_update(
        jax.random.key(1), state, coin_student(env), jnp.int32(3)
    )
    p = np.asarray(levels["p"])
    assert (p[:4] == 7.0).all() and (p[4:] < 1.0).all()  # 4 replayed, 4 fresh
    assert bool(plan.apply_gradient) and int(new_state.scoring_steps) == 0
