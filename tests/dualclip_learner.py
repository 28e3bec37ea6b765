"""A new learner added from outside the packages: PPO with dual clipping (Ye et al. 2020), which
also bounds the policy loss of a negative advantage by ``c`` x the advantage, so a very unlikely
action cannot take an unbounded step. Nothing in ``ued/``, ``envs/`` or ``algorithms/`` knows it;
registering it is all it takes to train a student with any curriculum (``--learner``)."""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp

from ued import registry
from ued.learner import LearnerSpec
from ued.ppo import ClippedSurrogate, make_ppo_learner


@dataclasses.dataclass(frozen=True)
class DualClip(ClippedSurrogate):
    """PPO's clipped surrogate, and for negative advantages at most ``c`` x their size."""

    c: float = 3.0

    def policy_loss(self, log_probs, old_log_probs, advantages, hypers, progress):
        ratio = jnp.exp(log_probs - old_log_probs)
        clipped = jnp.clip(ratio, 1.0 - hypers.clip_eps, 1.0 + hypers.clip_eps)
        surrogate = jnp.minimum(ratio * advantages, clipped * advantages)
        dual = jnp.maximum(surrogate, self.c * advantages)
        return -jnp.mean(jnp.where(advantages < 0, dual, surrogate))


def make(num_actions, encoder, network, ppo, action_dim):
    return make_ppo_learner(num_actions, encoder, network, ppo, action_dim, objective=DualClip())


DUAL_CLIP = LearnerSpec("ppo-dualclip", make, summary="PPO with dual clipping (Ye et al. 2020)")

if "ppo-dualclip" not in registry.LEARNERS:  # once per process
    registry.LEARNERS.register("ppo-dualclip", DUAL_CLIP)
