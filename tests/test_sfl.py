"""SFL keeps the most learnable levels: checked on a synthetic env whose levels are coins with
known success probabilities, so learnability p(1 - p) is known exactly."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from algorithms import sfl
from envs.maze import MazeObs
from ued.curriculum import Student
from ued.networks import ActorCritic, init_params
from ued.rollout import Player


@dataclasses.dataclass(frozen=True)
class CoinEnv:
    """A level is a success probability p; every episode is one step, solved with prob. p."""

    num_actions: ClassVar[int] = 3
    max_steps: ClassVar[int] = 1

    def sample_level(self, key):
        return {"p": jax.random.uniform(key)}

    def dummy_observation(self):
        return MazeObs(image=jnp.zeros((3, 3, 3), jnp.uint8), agent_dir=jnp.zeros((), jnp.int32))

    def reset_to_level(self, key, level):
        return self.dummy_observation(), {"p": level["p"]}

    def step(self, key, state, action):
        solved = jax.random.bernoulli(key, state["p"])
        return (
            self.dummy_observation(),
            state,
            solved.astype(jnp.float32),
            jnp.array(True),
            {"solved": solved},
        )


def _student(env):
    network = ActorCritic(
        num_actions=3,
        conv_filters=2,
        direction_features=2,
        cell="none",
        hidden_size=4,
        head_hidden=4,
    )
    params = init_params(network, jax.random.key(0), env.dummy_observation())
    return Student(Player(env, network), params, 0.99, 8)


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
    student = _student(env)
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
        jax.random.key(1), state, _student(env), jnp.int32(3)
    )
    p = np.asarray(levels["p"])
    assert (p[:4] == 7.0).all() and (p[4:] < 1.0).all()  # 4 replayed, 4 fresh
    assert bool(plan.apply_gradient) and int(new_state.scoring_steps) == 0
