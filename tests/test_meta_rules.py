"""Update rules as plug-ins: LPG's backward recurrence, A2C's returns, both rules training the
same inner agents, and the meta-gradient reaching the rule's parameters."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from tiny_gridworld import TINY, tiny_agent

from envs.gridworld import parse_layouts
from ued.meta.agents import InnerRollout, Transitions
from ued.meta.rules import (
    A2C,
    LPG,
    AgentState,
    LPGNetwork,
    Progress,
    backward_gru,
    inner_update,
)

ENV = TINY
AGENT = tiny_agent(8)
PROGRESS = Progress(jnp.float32(0.5), jnp.float32(20.0))


def test_lpg_recurrence_runs_backwards_and_resets_at_episode_ends():
    """Output t may depend on input s only if s >= t in the same episode."""
    import flax.linen as nn

    class Wrap(nn.Module):
        @nn.compact
        def __call__(self, xs, dones):
            return backward_gru(5, xs, dones)

    dones = jnp.array([[False], [True], [False], [False]])
    xs = jax.random.normal(jax.random.key(0), (4, 1, 3))
    module = Wrap()
    params = module.init(jax.random.key(1), xs, dones)
    jac = jax.jacobian(lambda x: module.apply(params, x, dones))(xs)  # [T, B, H, T, B, F]
    influence = np.abs(np.asarray(jac)).sum(axis=(1, 2, 4, 5)) > 0  # [t, s]
    episode = np.array([0, 0, 1, 1])
    expected = (np.arange(4)[None, :] >= np.arange(4)[:, None]) & (
        episode[:, None] == episode[None, :]
    )
    np.testing.assert_array_equal(influence, expected)


def _hand_built_rollout():
    """gamma 0.5: an episode terminating at t=1, one truncated at t=2 (bootstrap 4), then the
    rollout's end (bootstrap 8)."""
    return Transitions(
        obs=None,
        next_obs=None,
        actions=jnp.zeros((4, 1), jnp.int32),
        rewards=jnp.array([[1.0], [2.0], [0.0], [1.0]]),
        dones=jnp.array([[False], [True], [True], [False]]),
        truncated=jnp.array([[False], [False], [True], [False]]),
    )


def test_a2c_with_lambda_one_gives_n_step_returns_on_a_hand_built_rollout():
    transitions = _hand_built_rollout()
    values = jnp.array([[3.0], [1.0], [2.0], [5.0]])
    next_values = jnp.array([[1.0], [10.0], [4.0], [8.0]])  # values[t + 1] within an episode
    a2c = A2C(gamma=0.5, gae_lambda=1.0, normalise_advantages=False)
    advantages, targets = a2c.advantages(transitions, values, next_values)
    expected = [1 + 0.5 * 2, 2, 0 + 0.5 * 4, 1 + 0.5 * 8]
    np.testing.assert_allclose(np.asarray(targets)[:, 0], expected)
    np.testing.assert_allclose(np.asarray(advantages + values)[:, 0], expected)


def _reference_gae(values, rewards, dones, gamma, lam):
    """GROOVE's ``util/data.py: gae`` (values has T + 1 entries; a done step bootstraps 0)."""
    advantages, running = [], 0.0
    for t in reversed(range(len(rewards))):
        delta = rewards[t] + gamma * values[t + 1] * (1 - dones[t]) - values[t]
        running = delta + gamma * lam * (1 - dones[t]) * running
        advantages.append(running)
    return np.array(advantages[::-1])


def test_a2c_gae_and_normalisation_match_the_reference():
    """On episodes that end by termination (the reference bootstraps nothing after any done;
    ours bootstraps a truncation, checked above) GAE(0.95) and the advantage normalisation
    match GROOVE's A2C."""
    rng = np.random.default_rng(0)
    rewards = rng.normal(size=(12, 3)).astype(np.float32)
    dones = rng.random((12, 3)) < 0.2
    values = rng.normal(size=(13, 3)).astype(np.float32)
    transitions = Transitions(obs=None, next_obs=None, actions=jnp.zeros((12, 3), jnp.int32),
                              rewards=jnp.asarray(rewards), dones=jnp.asarray(dones),
                              truncated=jnp.zeros((12, 3), bool))  # fmt: skip
    # next_values: the value of the next observation (the reference: values[t + 1])
    a2c = A2C(gamma=0.9, gae_lambda=0.95, normalise_advantages=False)
    advantages, targets = a2c.advantages(transitions, jnp.asarray(values[:-1]),
                                         jnp.asarray(values[1:]))  # fmt: skip
    expected = np.stack([_reference_gae(values[:, b], rewards[:, b], dones[:, b], 0.9, 0.95)
                         for b in range(3)], axis=1)  # fmt: skip
    np.testing.assert_allclose(np.asarray(advantages), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(targets), expected + values[:-1], rtol=1e-5, atol=1e-5)
    normalised, _ = dataclasses.replace(a2c, normalise_advantages=True).advantages(
        transitions, jnp.asarray(values[:-1]), jnp.asarray(values[1:])
    )
    np.testing.assert_allclose(np.asarray(normalised),
                               (expected - expected.mean()) / (expected.std() + 1e-8),
                               rtol=1e-4, atol=1e-4)  # fmt: skip


def _train(rule, rule_params, updates, key):
    level = parse_layouts("= t\n% steps 12\n% type a 1 1 0\nS...\n....\n...a\n")[0].level(4, 2, 2)
    rollout = InnerRollout(ENV, AGENT, num_envs=16, num_steps=12)
    k_init, k_start, key = jax.random.split(key, 3)
    carry = rollout.start(k_start, level)
    params = AGENT.init(k_init, ENV.dummy_observation()[None])
    optimizer = optax.adam(0.1)
    state = AgentState(params, optimizer.init(params))

    def step(carry_state, key):
        carry, state = carry_state
        transitions, carry = rollout.play(key, state.params, carry)
        state, _ = inner_update(rule, rule_params, AGENT, optimizer, state, transitions, PROGRESS)
        return (carry, state), transitions.rewards.sum() / 16

    (_, state), rewards = jax.lax.scan(step, (carry, state), jax.random.split(key, updates))
    return state, rewards


def test_a2c_trains_an_inner_agent():
    _, rewards = jax.jit(lambda k: _train(A2C(gamma=0.9), None, 60, k))(jax.random.key(0))
    rewards = np.asarray(rewards)
    assert rewards[-10:].mean() > rewards[:10].mean() + 0.2, rewards


@pytest.mark.parametrize(  # the conditioned rule has every parameter of the plain one
    "conditioned", [pytest.param(False, marks=pytest.mark.slow), True]
)
def test_meta_gradient_reaches_every_lpg_parameter(conditioned):
    """LPG trains the same agents as A2C, and the return after an LPG update is differentiable
    in LPG's parameters (every leaf gets a gradient)."""
    rule = LPG(network=LPGNetwork(hidden=16, lifetime_conditioned=conditioned))
    level = parse_layouts("= t\n% steps 12\n% type a 1 1 0\nS...\n....\n...a\n")[0].level(4, 2, 2)
    rollout = InnerRollout(ENV, AGENT, num_envs=8, num_steps=12)
    params = AGENT.init(jax.random.key(0), ENV.dummy_observation()[None])
    transitions, _ = rollout.play(
        jax.random.key(1), params, rollout.start(jax.random.key(2), level)
    )
    eta = rule.init(jax.random.key(3), AGENT, params, transitions, PROGRESS)
    optimizer = optax.sgd(1.0)
    state = AgentState(params, optimizer.init(params))

    def after_update(eta):
        new, metrics = inner_update(rule, eta, AGENT, optimizer, state, transitions, PROGRESS)
        # A differentiable stand-in for the meta-objective: the updated policy's log-likelihood
        # of the rewarded actions, plus the regulariser on y_hat (LPG's inputs are under
        # stop-gradient, as in the reference, and y is the critic's, a network apart from the
        # policy's, so y_hat's head is reached through the regularisers).
        logits, _, _ = AGENT.apply(new.params, transitions.obs)
        log_pi = jnp.take_along_axis(jax.nn.log_softmax(logits), transitions.actions[..., None], -1)
        return jnp.sum(log_pi[..., 0] * transitions.rewards) - metrics["y_hat_l2"]

    grads = jax.grad(after_update)(eta)
    for path, leaf in jax.tree_util.tree_leaves_with_path(grads):
        assert np.abs(np.asarray(leaf)).sum() > 0, jax.tree_util.keystr(path)
    if conditioned:  # the lifetime inputs matter
        early = rule.targets(eta, params, AGENT, transitions, Progress(jnp.float32(0.0), 20.0))
        late = rule.targets(eta, params, AGENT, transitions, Progress(jnp.float32(1.0), 20.0))
        assert not np.allclose(early[0], late[0])
