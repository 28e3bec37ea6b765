"""Learners plug in like envs: a learner registered from the test directory (dual-clip PPO,
``dualclip_learner.py``) trains a student with DR and robust PLR without any package file knowing
it. (PPO's tunable hyperparameters are array leaves: ``test_ppo.py``.)"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np
import pytest
from conftest import assert_student_trained, run_chunks
from dualclip_learner import DualClip

from ued import registry
from ued.app.build import build, preset
from ued.errors import ConfigError
from ued.ppo import ClippedSurrogate, PPOHypers


@pytest.mark.parametrize("algo", ["dr", "robust-plr"])
def test_a_learner_registered_outside_the_packages_trains(algo):
    config = dataclasses.replace(preset(algo, "maze", "test"), learner="ppo-dualclip")
    program, state, metrics, traces, _ = run_chunks(config, 2)
    assert isinstance(program.learner.losses, DualClip)
    assert traces == 1
    assert_student_trained(program, state, metrics)


def test_an_unknown_learner_is_refused_naming_the_field():
    with pytest.raises(ConfigError, match="learner: unknown learner 'ppo-dualclp'"):
        build(dataclasses.replace(preset("dr", "maze", "test"), learner="ppo-dualclp"))
    assert "ppo" in registry.LEARNERS and "ppo-dualclip" in registry.LEARNERS


def test_dual_clip_bounds_the_loss_of_negative_advantages():
    hypers = PPOHypers.of(preset("dr", "maze", "test").ppo)
    old = jnp.zeros(4)
    new = jnp.log(jnp.array([10.0, 10.0, 0.5, 1.0]))  # ratios 10, 10, 0.5, 1
    advantages = jnp.array([-1.0, 1.0, -1.0, 2.0])
    ppo = ClippedSurrogate().policy_loss(new, old, advantages, hypers, 0.0)
    dual = DualClip(c=3.0).policy_loss(new, old, advantages, hypers, 0.0)
    # per sample, PPO: min(r A, clip(r) A) = -10, 1.2, -0.8, 2; dual clip: max(-10, -3) = -3
    np.testing.assert_allclose(ppo, -np.mean([-10.0, 1.2, -0.8, 2.0]), rtol=1e-6)
    np.testing.assert_allclose(dual, -np.mean([-3.0, 1.2, -0.8, 2.0]), rtol=1e-6)
