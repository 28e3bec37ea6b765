"""Recurrent PPO: GAE, the clipped losses, and the epoch x minibatch update (all jittable)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
from flax import struct

from . import distributions
from .config import PPOConfig
from .networks import ActorCritic
from .rollout import Trajectory


def gae(rewards, values, dones, last_value, gamma: float, lam: float):
    """Generalised advantage estimation over a time-major batch.

    Args:
        rewards, values: ``f32[T, B]``; dones: ``bool[T, B]`` (the episode ended with transition
            t, so its successor's value is not bootstrapped; time-outs count as ends, as in the
            references); last_value: ``f32[B]``, the value after the last step.
    Returns:
        ``(advantages f32[T, B], targets f32[T, B])`` with ``targets = advantages + values``.
    """

    def step(carry, inputs):
        advantage, next_value = carry
        reward, value, done = inputs
        not_done = 1.0 - done.astype(jnp.float32)
        delta = reward + gamma * next_value * not_done - value
        advantage = delta + gamma * lam * not_done * advantage
        return (advantage, value), advantage

    init = (jnp.zeros_like(last_value), last_value)
    _, advantages = jax.lax.scan(step, init, (rewards, values, dones), reverse=True)
    return advantages, advantages + values


@struct.dataclass
class Batch:
    """What one PPO minibatch trains on: a trajectory plus its GAE outputs, ``[T, B, ...]``."""

    trajectory: Trajectory
    advantages: jax.Array
    targets: jax.Array


def ppo_loss(params, network: ActorCritic, batch: Batch, config: PPOConfig):
    """The PPO objective on whole sequences from a zero carry.

    Returns ``(loss, metrics)`` with the clipped policy loss, the clipped value loss (0.5 x max of
    the unclipped and clipped squared errors), the entropy bonus, the approximate KL and the
    clipped fraction.
    """
    traj = batch.trajectory
    carry = network.initialize_carry(traj.actions.shape[1])
    _, logits, values = network.apply(params, carry, traj.obs, traj.resets)
    log_probs = distributions.log_prob(logits, traj.actions)
    log_ratio = log_probs - traj.log_probs
    ratio = jnp.exp(log_ratio)

    advantages = batch.advantages
    if config.normalize_advantages:
        advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    if config.objective == "reinforce":
        policy_loss = -jnp.mean(log_probs * jax.lax.stop_gradient(advantages))
        value_loss = 0.5 * jnp.mean(jnp.square(values - batch.targets))
    else:
        clipped_ratio = jnp.clip(ratio, 1.0 - config.clip_eps, 1.0 + config.clip_eps)
        policy_loss = -jnp.mean(jnp.minimum(ratio * advantages, clipped_ratio * advantages))
        clipped_values = traj.values + jnp.clip(
            values - traj.values, -config.clip_eps, config.clip_eps
        )
        value_loss = 0.5 * jnp.mean(
            jnp.maximum(
                jnp.square(values - batch.targets), jnp.square(clipped_values - batch.targets)
            )
        )
    entropy = jnp.mean(distributions.entropy(logits))
    loss = policy_loss + config.vf_coef * value_loss - config.ent_coef * entropy
    metrics = {
        "loss": loss,
        "policy_loss": policy_loss,
        "value_loss": value_loss,
        "entropy": entropy,
        "approx_kl": jnp.mean((ratio - 1.0) - log_ratio),
        "clip_frac": jnp.mean((jnp.abs(ratio - 1.0) > config.clip_eps).astype(jnp.float32)),
    }
    return loss, metrics


def make_optimizer(config: PPOConfig) -> optax.GradientTransformation:
    """Gradient clipping then Adam's scaling (nothing more for SGD); the (scheduled) step size is
    applied by ``ppo_update`` so that the schedule is a function of the training update, not of
    how many gradient steps happened to be applied."""
    scaling = (
        optax.scale_by_adam(eps=config.adam_eps) if config.optimizer == "adam" else optax.identity()
    )
    return optax.chain(optax.clip_by_global_norm(config.max_grad_norm), scaling)


def learning_rate(config: PPOConfig, update: jax.Array, total_updates: int) -> jax.Array:
    """The step size of training update ``update`` (0-based): linear decay to 0 over the run."""
    if not config.anneal_lr:
        return jnp.asarray(config.lr, jnp.float32)
    return config.lr * (1.0 - update.astype(jnp.float32) / total_updates)


def ppo_update(
    key,
    params,
    opt_state,
    batch: Batch,
    lr,
    network: ActorCritic,
    optimizer: optax.GradientTransformation,
    config: PPOConfig,
):
    """``epochs`` passes over the batch in ``minibatches`` env-wise splits.

    Returns ``(params, opt_state, metrics)`` where metrics are means over all gradient steps,
    plus the mean pre-clip gradient norm.
    """
    num_envs = batch.advantages.shape[1]
    per_minibatch = num_envs // config.minibatches
    grad_fn = jax.value_and_grad(ppo_loss, has_aux=True)

    def minibatch_step(carry, minibatch):
        params, opt_state = carry
        (_, metrics), grads = grad_fn(params, network, minibatch, config)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        params = optax.apply_updates(params, jax.tree_util.tree_map(lambda u: -lr * u, updates))
        if config.param_bound:
            params = jax.tree_util.tree_map(
                lambda p: jnp.clip(p, -config.param_bound, config.param_bound), params
            )
        return (params, opt_state), {**metrics, "grad_norm": optax.tree.norm(grads)}

    def epoch(carry, key):
        if config.minibatches == 1:
            minibatches = jax.tree_util.tree_map(lambda x: x[None], batch)
        else:
            order = jax.random.permutation(key, num_envs)

            def split(x):
                x = jnp.take(x, order, axis=1)
                x = x.reshape(x.shape[0], config.minibatches, per_minibatch, *x.shape[2:])
                return jnp.swapaxes(x, 0, 1)

            minibatches = jax.tree_util.tree_map(split, batch)
        return jax.lax.scan(minibatch_step, carry, minibatches)

    (params, opt_state), metrics = jax.lax.scan(
        epoch, (params, opt_state), jax.random.split(key, config.epochs)
    )
    return params, opt_state, jax.tree_util.tree_map(jnp.mean, metrics)
