"""A synthetic env whose levels are coins with known success probabilities, so success-based
scores (learnability p(1 - p)) are known exactly."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import jax
import jax.numpy as jnp

from ued.config import PPOConfig
from ued.curriculum import Student
from ued.env import Environment
from ued.networks import ActorCritic
from ued.ppo import PPOLearner
from ued.rollout import Player


@dataclasses.dataclass(frozen=True)
class CoinEnv(Environment):
    """A level is a success probability p. The first step of an episode succeeds (reward 1, the
    episode ends) with probability p; otherwise the episode runs, unrewarded, until the time
    limit ``max_steps`` ends it (terminal)."""

    max_steps: int = 1
    num_actions: ClassVar[int] = 3
    truncates: ClassVar[bool] = False

    def sample_level(self, key):
        return {"p": jax.random.uniform(key)}

    def dummy_observation(self):
        return jnp.zeros((2,), jnp.float32)

    def reset_to_level(self, key, level):
        return self.dummy_observation(), {"p": level["p"], "t": jnp.zeros((), jnp.int32)}

    def step(self, key, state, action):
        solved = (state["t"] == 0) & jax.random.bernoulli(key, state["p"])
        t = state["t"] + 1
        terminated = solved | (t >= self.max_steps)
        return (
            self.dummy_observation(),
            {"p": state["p"], "t": t},
            solved.astype(jnp.float32),
            terminated,
            jnp.zeros((), jnp.bool_),
            {"solved": solved},
        )


def coin_student(env: CoinEnv, num_steps: int = 8) -> Student:
    """An untrained feed-forward student (its actions do not matter on coins)."""
    network = ActorCritic(num_actions=3, cell="none", hidden_size=4, head_hidden=4)
    learner = PPOLearner(network, PPOConfig())
    params = learner.init(jax.random.key(0), env.dummy_observation()).params
    return Student(Player(env, learner), params, 0.99, num_steps)
