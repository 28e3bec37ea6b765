"""Update rules as plug-ins: how an inner agent learns from its own rollout.

A rule is ``init(key) -> rule parameters`` (None for a hand-designed rule) and
``loss(rule_params, agent_params, network, transitions, progress) -> (loss, metrics)``, the
objective the agent descends; ``ued.meta.rules.inner_update`` takes one optimiser step on it.
``progress`` carries the agent's lifetime position (the fraction elapsed and the lifetime) for
lifetime-conditioned rules. Because the loss is a function of the rule's parameters,
``jax.grad`` through ``inner_update`` gives the meta-gradient.

* ``A2C``: the hand-designed baseline (GROOVE's antagonist): GAE advantages bootstrapped from
  the value head and normalised over the rollout, policy gradient, value regression and an
  entropy bonus.
* ``LPG`` (Oh et al. 2020): a GRU run *backwards* in time over the rollout (carry reset where an
  episode ends) maps per-step inputs ``[r_t, done_t, gamma, pi(a_t|s_t), phi(y(s_t)),
  phi(y(s_{t+1}))]`` (plus, lifetime-conditioned, ``[fraction elapsed, log lifetime]``) to a
  policy target ``pi_hat_t`` (scalar) and a prediction target ``y_hat_t`` (a categorical over
  m bins), through a ReLU and linear heads; ``phi(y(s_{t+1}))`` is zeroed where the episode
  ended, as in the reference. The agent descends ``E[-pi_hat_t log pi(a_t|s_t)] + alpha_y
  E[KL(y(s_t) || y_hat_t)]``; LPG's inputs are computed from the agent under stop-gradient.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from flax import struct

from ..networks import orthogonal
from .agents import InnerAgent, Transitions


@struct.dataclass
class Progress:
    """Where an agent is in its lifetime: ``fraction`` (``f32[]``, updates done / lifetime) and
    ``lifetime`` (``f32[]``, in updates)."""

    fraction: jax.Array
    lifetime: jax.Array


def _outputs(network: InnerAgent, params, transitions: Transitions):
    """Agent outputs on the rollout: ``(log_pi of the taken actions [T, B], log-probs [T, B, A],
    y log-probs [T, B, m], next y log-probs [T, B, m], values [T, B], next values [T, B])``."""
    logits, y_logits, values = network.apply(params, transitions.obs)
    _, next_y_logits, next_values = network.apply(params, transitions.next_obs)
    log_probs = jax.nn.log_softmax(logits)
    taken = jnp.take_along_axis(log_probs, transitions.actions[..., None], axis=-1)[..., 0]
    return (
        taken,
        log_probs,
        jax.nn.log_softmax(y_logits),
        jax.nn.log_softmax(next_y_logits),
        values,
        next_values,
    )


def _entropy(log_probs):
    return -jnp.sum(jnp.exp(log_probs) * log_probs, axis=-1)


@dataclasses.dataclass(frozen=True)
class A2C:
    """Advantage actor-critic over the rollout, as GROOVE's reference trains its antagonists:
    GAE(lambda) advantages bootstrapped from the value head, normalised over the rollout, a
    policy gradient with an entropy bonus, and the value regressed on the GAE targets.

    Attributes:
        gamma: discount. gae_lambda: GAE's lambda (1: n-step returns).
        normalise_advantages: standardise advantages over the rollout (the reference does).
        value_coef: weight of the squared value error. entropy_coef: the entropy bonus.
    """

    gamma: float = 0.99
    gae_lambda: float = 0.95
    normalise_advantages: bool = True
    value_coef: float = 1.0
    entropy_coef: float = 0.01

    def init(self, key) -> None:
        """A hand-designed rule has no parameters."""
        return None

    def advantages(self, transitions: Transitions, values, next_values) -> tuple:
        """GAE ``(advantages, value targets)``, each ``f32[T, B]`` under stop-gradient: after a
        step that ended an episode comes 0 (terminated) or the value of the observation it
        reached (truncated: the reference treats it as terminal); after the rollout's last step,
        the value of the observation reached. Advantages are normalised if configured; the
        targets are the unnormalised advantages plus ``values``."""
        terminated = transitions.dones & ~transitions.truncated
        following = jnp.where(terminated, 0.0, next_values)
        deltas = transitions.rewards + self.gamma * following - values
        decay = self.gamma * self.gae_lambda * (1.0 - transitions.dones.astype(jnp.float32))

        def step(gae, inputs):
            delta, decay = inputs
            gae = delta + decay * gae
            return gae, gae

        _, gaes = jax.lax.scan(step, jnp.zeros_like(deltas[0]), (deltas, decay), reverse=True)
        targets = gaes + values
        if self.normalise_advantages:
            gaes = (gaes - gaes.mean()) / (gaes.std() + 1e-8)
        return jax.lax.stop_gradient(gaes), jax.lax.stop_gradient(targets)

    def loss(self, rule_params, agent_params, network, transitions, progress):
        """The A2C objective and its parts."""
        taken, log_probs, _, _, values, next_values = _outputs(network, agent_params, transitions)
        advantages, targets = self.advantages(transitions, values, next_values)
        policy = -jnp.mean(taken * advantages)
        value = jnp.mean(jnp.square(targets - values))
        entropy = jnp.mean(_entropy(log_probs))
        loss = policy + self.value_coef * value - self.entropy_coef * entropy
        return loss, {"policy_loss": policy, "value_loss": value, "entropy": entropy}


class LPGNetwork(nn.Module):
    """LPG's update-rule network over a rollout ``[T, B]``.

    Attributes:
        hidden: GRU width (256 in LPG). embedding: width of phi's hidden layer.
        prediction_size: m. lifetime_conditioned: add the lifetime inputs.
    """

    hidden: int = 256
    embedding: int = 16
    prediction_size: int = 8
    lifetime_conditioned: bool = False

    @nn.compact
    def __call__(self, inputs: dict[str, jax.Array], dones: jax.Array):
        phi = nn.Sequential([nn.Dense(self.embedding), nn.relu, nn.Dense(1)])
        y = phi(jnp.exp(inputs["y"]))[..., 0]
        # The next state's embedding is 0 where the episode ended (the reference's LPG).
        next_y = jnp.where(dones, 0.0, phi(jnp.exp(inputs["next_y"]))[..., 0])
        features = [inputs["reward"], dones.astype(jnp.float32), inputs["gamma"], inputs["pi"]]
        features += [y, next_y]
        if self.lifetime_conditioned:
            features += [inputs["fraction"], inputs["log_lifetime"]]
        xs = jnp.stack(features, axis=-1)
        hs = nn.relu(backward_gru(self.hidden, xs, dones))
        pi_hat = nn.Dense(1)(hs)[..., 0]
        y_hat = jax.nn.log_softmax(nn.Dense(self.prediction_size)(hs))
        return pi_hat, y_hat


class _Cell(nn.Module):
    hidden: int

    @nn.compact
    def __call__(self, h, inputs):
        x, boundary = inputs
        h = jnp.where(boundary[:, None], 0.0, h)
        h, _ = nn.GRUCell(self.hidden, recurrent_kernel_init=orthogonal())(h, x)
        return h, h


def backward_gru(hidden: int, xs: jax.Array, dones: jax.Array) -> jax.Array:
    """A GRU run from the last step to the first over ``xs f32[T, B, F]``; the carry is zeroed
    before a step whose transition ended an episode (``dones[t]``), so step t only sees the
    steps after it in its own episode. Returns ``f32[T, B, hidden]``. Call inside a module."""
    scan = nn.scan(_Cell, variable_broadcast="params", split_rngs={"params": False}, reverse=True)
    h0 = jnp.zeros((xs.shape[1], hidden), xs.dtype)
    _, hs = scan(hidden, name="gru")(h0, (xs, dones))
    return hs


@dataclasses.dataclass(frozen=True)
class LPG:
    """The learned policy gradient update rule.

    Attributes:
        network: the ``LPGNetwork``. gamma: the discount fed to it.
        alpha_y: weight of the prediction's KL term (0.5 in LPG).
    """

    network: LPGNetwork = dataclasses.field(default_factory=LPGNetwork)
    gamma: float = 0.99
    alpha_y: float = 0.5

    def inputs(self, agent_params, agent: InnerAgent, transitions: Transitions, progress):
        """LPG's per-step inputs from the agent (under stop-gradient), and the agent's own
        ``(log pi of the taken actions, y log-probs)`` to differentiate."""
        taken, log_probs, y, next_y, _, _ = _outputs(agent, agent_params, transitions)
        shape = taken.shape
        stop = jax.lax.stop_gradient
        inputs = {
            "reward": transitions.rewards,
            "gamma": jnp.full(shape, self.gamma, jnp.float32),
            "pi": stop(jnp.exp(taken)),
            "y": stop(y),
            "next_y": stop(next_y),
            "fraction": jnp.broadcast_to(progress.fraction, shape),
            "log_lifetime": jnp.broadcast_to(jnp.log(progress.lifetime), shape),
        }
        return inputs, taken, log_probs, y

    def init(self, key, agent: InnerAgent, agent_params, transitions, progress):
        """Fresh rule parameters, shaped by one agent rollout."""
        inputs, *_ = self.inputs(agent_params, agent, transitions, progress)
        return self.network.init(key, inputs, transitions.dones)

    def targets(self, rule_params, agent_params, agent, transitions, progress):
        """``(pi_hat f32[T, B], y_hat log-probs f32[T, B, m])`` for this rollout."""
        inputs, *_ = self.inputs(agent_params, agent, transitions, progress)
        return self.network.apply(rule_params, inputs, transitions.dones)

    def loss(self, rule_params, agent_params, agent, transitions, progress):
        """The agent's objective under LPG: ``-pi_hat log pi + alpha_y KL(y || y_hat)``. Its
        metrics include the targets' L2 terms (``pi_hat_l2``, ``y_hat_l2``), which the
        meta-objective regularises (they depend on the rule's parameters)."""
        inputs, taken, log_probs, y = self.inputs(agent_params, agent, transitions, progress)
        pi_hat, y_hat = self.network.apply(rule_params, inputs, transitions.dones)
        policy = -jnp.mean(pi_hat * taken)
        kl = jnp.mean(jnp.sum(jnp.exp(y) * (y - y_hat), axis=-1))
        loss = policy + self.alpha_y * kl
        metrics = {
            "policy_loss": policy,
            "kl_y": kl,
            "entropy": jnp.mean(_entropy(log_probs)),
            "pi_hat": jnp.mean(pi_hat),
            "pi_hat_l2": jnp.mean(jnp.square(pi_hat)),
            "y_hat_l2": jnp.mean(jnp.sum(jnp.square(jnp.exp(y_hat)), axis=-1)),
        }
        return loss, metrics


@struct.dataclass
class AgentState:
    """An inner agent: its parameters and its optimiser's state."""

    params: Any
    opt_state: Any


def inner_update(rule, rule_params, agent: InnerAgent, optimizer: optax.GradientTransformation,
                 state: AgentState, transitions: Transitions, progress: Progress):  # fmt: skip
    """One optimiser step of the agent on ``rule``'s loss. Differentiable in ``rule_params``
    (the meta-gradient flows through it). Returns ``(state, metrics)``."""

    def objective(params):
        return rule.loss(rule_params, params, agent, transitions, progress)

    (_, metrics), grads = jax.value_and_grad(objective, has_aux=True)(state.params)
    updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
    return AgentState(optax.apply_updates(state.params, updates), opt_state), metrics
