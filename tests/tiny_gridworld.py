"""A tiny tabular gridworld (4x4, 2 object slots, GROOVE's ``debug`` levels) and an inner agent
for it, shared by the gridworld and meta-learning tests."""

from __future__ import annotations

from envs.gridworld import DISTRIBUTIONS, Gridworld, TabularEncoder
from ued.meta.agents import InnerAgent

TINY = Gridworld(
    size=4, max_objects=2, num_types=2, max_steps=16, distribution=DISTRIBUTIONS["debug"]
)


def tiny_agent(features: int = 8) -> InnerAgent:
    """A linear inner agent on an embedding of the tiny gridworld's states."""
    return InnerAgent(TINY.num_actions, TabularEncoder(TINY.num_states, features), hidden=())
