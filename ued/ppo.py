"""Recurrent PPO as a learner: GAE (bootstrapping at truncations), the clipped losses, the epoch x
minibatch update, and ``PPOLearner`` (all jittable)."""

from __future__ import annotations

import abc
import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import struct

from . import distributions, registry
from .config import NetworkConfig, PPOConfig
from .learner import LearnerSpec
from .networks import ActorCritic, init_params


def gae(
    rewards,
    values,
    dones,
    last_value,
    gamma: float,
    lam: float,
    truncated=None,
    final_values=None,
):
    """Generalised advantage estimation over a time-major batch.

    Args:
        rewards: ``f32[T, B]``.
        values: ``f32[T, B]``.
        dones: ``bool[T, B]``, the episode ended with transition t (terminated or truncated), so
            the advantage does not flow back across it.
        last_value: ``f32[B]``, the value of the observation after the last step.
        gamma: the discount.
        lam: GAE's λ.
        truncated: ``bool[T, B]`` (optional), the episode ended by a time-out that is not
            terminal: transition t then bootstraps from ``final_values f32[T, B]``, the value of
            the observation it reached (before the reset), instead of from 0.
    Returns:
        ``(advantages f32[T, B], targets f32[T, B])`` with ``targets = advantages + values``.
    """
    if truncated is None:
        truncated = jnp.zeros_like(dones)
        final_values = jnp.zeros_like(values)

    def step(carry, inputs):
        advantage, next_value = carry
        reward, value, done, trunc, final_value = inputs
        not_done = 1.0 - done.astype(jnp.float32)
        bootstrap = jnp.where(trunc, final_value, next_value * not_done)
        delta = reward + gamma * bootstrap - value
        advantage = delta + gamma * lam * not_done * advantage
        return (advantage, value), advantage

    init = (jnp.zeros_like(last_value), last_value)
    inputs = (rewards, values, dones, truncated, final_values)
    _, advantages = jax.lax.scan(step, init, inputs, reverse=True)
    return advantages, advantages + values


@struct.dataclass
class Batch:
    """What PPO trains on: a trajectory ``[T, B, ...]``, its GAE outputs ``f32[T, B]``, and the
    recurrent state the trajectory started from (leaves ``[B, ...]``; zeros after a reset)."""

    trajectory: Any
    advantages: jax.Array
    targets: jax.Array
    initial_carry: Any


@struct.dataclass
class PPOHypers:
    """PPO's tunable hyperparameters as ``f32[]`` array leaves of the learner's state, so the
    members of a population may differ in them under one trace (as rejax keeps them).

    Attributes:
        lr: the base learning rate; clip_eps: the clip range of the policy ratio and the value
        change; ent_coef: the entropy bonus; vf_coef: the value loss's weight.
        rule: the policy objective's own parameters (``PolicyObjective.init_rule``: LPO's drift
            network, which meta-training evolves per member); ``()`` for a fixed objective.
    """

    lr: jax.Array
    clip_eps: jax.Array
    ent_coef: jax.Array
    vf_coef: jax.Array
    rule: Any = ()

    @classmethod
    def of(cls, config: PPOConfig, rule: Any = ()) -> PPOHypers:
        """The config's values as ``f32[]`` leaves, and the objective's parameters ``rule``."""
        names = ("lr", "clip_eps", "ent_coef", "vf_coef")
        return cls(**{n: jnp.asarray(getattr(config, n), jnp.float32) for n in names}, rule=rule)


class PolicyObjective(abc.ABC):
    """The override point for PPO's losses: how the policy and the critic are fitted to a batch.
    Subclass it (a frozen dataclass, so learners stay hashable) and pass it to
    ``make_ppo_learner``; ``ued.registry.LEARNERS`` names learners built that way.
    ``ClippedSurrogate`` is PPO's (``ppo.objective = "ppo"``), ``PolicyGradient`` REINFORCE's;
    ``ued.drift`` has mirror-learning drifts (DPO, LPO)."""

    def init_rule(self) -> Any:
        """The objective's own parameters a fresh learner starts with (``PPOHypers.rule``, a
        pytree of arrays; LPO's drift network); ``()``: none."""
        return ()

    @abc.abstractmethod
    def policy_loss(
        self, log_probs, old_log_probs, advantages, hypers: PPOHypers, progress: jax.Array
    ) -> jax.Array:
        """The policy loss ``f32[]`` from the new and behaviour log-probabilities and the
        (normalised) advantages, all ``f32[T, B]``; ``progress`` (``f32[]``) is the fraction of
        training done, ``update / total`` (temporally-aware objectives read it)."""

    @abc.abstractmethod
    def value_loss(self, values, old_values, targets, hypers: PPOHypers) -> jax.Array:
        """The critic's loss ``f32[]`` from its new and behaviour values and the targets (all
        ``f32[T, B]``)."""


@dataclasses.dataclass(frozen=True)
class ClippedSurrogate(PolicyObjective):
    """PPO (Schulman et al. 2017): the clipped surrogate, and 0.5 x the max of the unclipped and
    clipped squared value errors."""

    def policy_loss(self, log_probs, old_log_probs, advantages, hypers, progress):
        """``-E[min(r A, clip(r, 1 - eps, 1 + eps) A)]``."""
        ratio = jnp.exp(log_probs - old_log_probs)
        clipped_ratio = jnp.clip(ratio, 1.0 - hypers.clip_eps, 1.0 + hypers.clip_eps)
        return -jnp.mean(jnp.minimum(ratio * advantages, clipped_ratio * advantages))

    def value_loss(self, values, old_values, targets, hypers):
        """The clipped value loss."""
        clipped = old_values + jnp.clip(values - old_values, -hypers.clip_eps, hypers.clip_eps)
        return 0.5 * jnp.mean(
            jnp.maximum(jnp.square(values - targets), jnp.square(clipped - targets))
        )


@dataclasses.dataclass(frozen=True)
class PolicyGradient(PolicyObjective):
    """The plain policy gradient ``-log pi(a|s) A`` and an unclipped value loss (the estimator
    NCC's convergence theory assumes)."""

    def policy_loss(self, log_probs, old_log_probs, advantages, hypers, progress):
        """``-E[log pi(a|s) A]``."""
        return -jnp.mean(log_probs * jax.lax.stop_gradient(advantages))

    def value_loss(self, values, old_values, targets, hypers):
        """``0.5 E[(V - target)^2]``."""
        return 0.5 * jnp.mean(jnp.square(values - targets))


OBJECTIVES = {"ppo": ClippedSurrogate(), "reinforce": PolicyGradient()}
"""The built-in objectives ``PPOConfig.objective`` names."""


def ppo_loss(
    params,
    network: ActorCritic,
    batch: Batch,
    config: PPOConfig,
    hypers: PPOHypers | None = None,
    objective: PolicyObjective | None = None,
    progress=0.0,
):
    """The PPO objective on whole sequences from the batch's initial carry.

    ``hypers`` (default: the config's) and ``objective`` (default: the one ``config.objective``
    names) are the learner's; ``progress`` (``f32[]``) the fraction of training done. Returns
    ``(loss, metrics)`` with the policy loss, the value loss, the entropy bonus, the approximate
    KL and the clipped fraction.
    """
    hypers = PPOHypers.of(config) if hypers is None else hypers
    objective = OBJECTIVES[config.objective] if objective is None else objective
    traj = batch.trajectory
    _, logits, values = network.apply(params, batch.initial_carry, traj.obs, traj.resets)
    policy = distributions.for_actions(network.action_dim)
    logits = policy.mask(logits, traj.action_mask)
    log_probs = policy.log_prob(logits, traj.actions)
    log_ratio = log_probs - traj.log_probs
    ratio = jnp.exp(log_ratio)

    advantages = batch.advantages
    if config.normalize_advantages:
        advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    progress = jnp.asarray(progress, jnp.float32)
    policy_loss = objective.policy_loss(log_probs, traj.log_probs, advantages, hypers, progress)
    value_loss = objective.value_loss(values, traj.values, batch.targets, hypers)
    entropy = jnp.mean(policy.entropy(logits))
    loss = policy_loss + hypers.vf_coef * value_loss - hypers.ent_coef * entropy
    metrics = {
        "loss": loss,
        "policy_loss": policy_loss,
        "value_loss": value_loss,
        "entropy": entropy,
        "approx_kl": jnp.mean((ratio - 1.0) - log_ratio),
        "clip_frac": jnp.mean((jnp.abs(ratio - 1.0) > hypers.clip_eps).astype(jnp.float32)),
    }
    return loss, metrics


def make_optimizer(config: PPOConfig) -> optax.GradientTransformation:
    """Gradient clipping (unless ``max_grad_norm`` is 0) then Adam's scaling (nothing more for
    SGD); the (scheduled) step size is applied by ``ppo_update``, so the schedule can count the
    training updates (the default) or, reading Adam's step count, the gradient updates
    (``anneal_lr_by``)."""
    clip = (
        optax.clip_by_global_norm(config.max_grad_norm)
        if config.max_grad_norm
        else optax.identity()
    )
    scaling = (
        optax.scale_by_adam(eps=config.adam_eps) if config.optimizer == "adam" else optax.identity()
    )
    return optax.chain(clip, scaling)


def learning_rate(config: PPOConfig, base_lr, update: jax.Array, total, opt_state=None):
    """The step size ``f32[]`` at training update ``update`` (0-based) of ``total``: ``base_lr``
    (``f32[]``, possibly per population member), linearly decayed over the run if ``anneal_lr``,
    counting every update or (``anneal_lr_by == "gradient"``, JaxUED's schedule) the updates
    that applied a gradient: Adam's step count in ``opt_state`` over its steps per update."""
    if not config.anneal_lr:
        return jnp.asarray(base_lr, jnp.float32)
    done = jnp.asarray(update)
    if config.anneal_lr_by == "gradient":
        done = optax.tree_utils.tree_get(opt_state, "count") // (config.epochs * config.minibatches)
    return base_lr * (1.0 - done.astype(jnp.float32) / total)


def _split_minibatches(batch: Batch, order: jax.Array, minibatches: int) -> Batch:
    """``[minibatches, ...]`` stacks of whole sequences: trajectories split along their env axis
    (1), initial carries along theirs (0)."""
    per = order.shape[0] // minibatches

    def time_major(x):
        x = jnp.take(x, order, axis=1)
        x = x.reshape(x.shape[0], minibatches, per, *x.shape[2:])
        return jnp.swapaxes(x, 0, 1)

    def batch_major(x):
        return jnp.take(x, order, axis=0).reshape(minibatches, per, *x.shape[1:])

    return Batch(
        trajectory=jax.tree_util.tree_map(time_major, batch.trajectory),
        advantages=time_major(batch.advantages),
        targets=time_major(batch.targets),
        initial_carry=jax.tree_util.tree_map(batch_major, batch.initial_carry),
    )


def ppo_update(
    key,
    params,
    opt_state,
    batch: Batch,
    lr,
    network: ActorCritic,
    optimizer: optax.GradientTransformation,
    config: PPOConfig,
    parallel=None,
    hypers: PPOHypers | None = None,
    objective: PolicyObjective | None = None,
    progress=0.0,
):
    """``epochs`` passes over the batch in ``minibatches`` env-wise splits (``hypers``,
    ``objective`` and ``progress`` as in ``ppo_loss``); with ``parallel``
    (a ``ued.parallel.DataParallel``) each minibatch's sequences are split over its devices,
    so each device computes the gradient of its share and XLA all-reduces them.

    Returns ``(params, opt_state, metrics)`` where metrics are means over all gradient steps,
    plus the mean pre-clip gradient norm (and, with ``track_best_iterate``, the norm of the
    policy objective's own gradient, ``policy_grad_norm``).
    """
    num_envs = batch.advantages.shape[1]
    grad_fn = jax.value_and_grad(ppo_loss, has_aux=True)

    def policy_objective(p, minibatch):
        loss = ppo_loss(p, network, minibatch, config, hypers, objective, progress)
        return loss[1]["policy_loss"]

    def minibatch_step(carry, minibatch):
        params, opt_state = carry
        (_, metrics), grads = grad_fn(
            params, network, minibatch, config, hypers, objective, progress
        )
        metrics = {**metrics, "grad_norm": optax.tree.norm(grads)}
        if config.track_best_iterate:
            policy_grads = jax.grad(policy_objective)(params, minibatch)
            metrics["policy_grad_norm"] = optax.tree.norm(policy_grads)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        params = optax.apply_updates(params, jax.tree_util.tree_map(lambda u: -lr * u, updates))
        if config.param_bound:
            params = jax.tree_util.tree_map(
                lambda p: jnp.clip(p, -config.param_bound, config.param_bound), params
            )
        return (params, opt_state), metrics

    def epoch(carry, key):
        if config.minibatches == 1:
            minibatches = jax.tree_util.tree_map(lambda x: x[None], batch)
        else:
            order = jax.random.permutation(key, num_envs)
            minibatches = _split_minibatches(batch, order, config.minibatches)
        if parallel is not None:  # [M, T, B/M, ...] sequences, [M, B/M, ...] carries
            minibatches = minibatches.replace(
                trajectory=parallel.shard(minibatches.trajectory, axis=2),
                advantages=parallel.shard(minibatches.advantages, axis=2),
                targets=parallel.shard(minibatches.targets, axis=2),
                initial_carry=parallel.shard(minibatches.initial_carry, axis=1),
            )
        return jax.lax.scan(minibatch_step, carry, minibatches)

    (params, opt_state), metrics = jax.lax.scan(
        epoch, (params, opt_state), jax.random.split(key, config.epochs)
    )
    return params, opt_state, jax.tree_util.tree_map(jnp.mean, metrics)


@struct.dataclass
class BestIterate:
    """The parameters with the smallest policy-gradient norm seen so far
    (``ppo.track_best_iterate``, the theory's output iterate).

    Attributes:
        params: those parameters; grad_norm: ``f32[]`` the norm of the policy objective's
            gradient at them; update: ``int32[]`` the update that measured it (-1 before any).
    """

    params: Any
    grad_norm: jax.Array
    update: jax.Array


@struct.dataclass
class PPOState:
    """A PPO learner's state.

    Attributes:
        params: the network parameters.
        opt_state: the optimiser state (gradient clipping + Adam moments).
        hypers: the tunable hyperparameters (``PPOHypers``: array leaves, so a population may
            differ in them).
        best: the best iterate, when tracked (else None).
    """

    params: Any
    opt_state: Any
    hypers: PPOHypers
    best: BestIterate | None = None


@dataclasses.dataclass(frozen=True)
class PPOLearner:
    """Recurrent PPO on an ``ActorCritic`` (hashable: jitted functions close over it).
    ``parallel``: the devices each minibatch is split over (``ued.parallel.DataParallel``), or
    None; ``objective``: the losses (``PolicyObjective``; None: the one ``config.objective``
    names)."""

    network: ActorCritic
    config: PPOConfig
    parallel: Any = None
    objective: PolicyObjective | None = None

    @property
    def losses(self) -> PolicyObjective:
        """The objective this learner descends."""
        return OBJECTIVES[self.config.objective] if self.objective is None else self.objective

    def with_parallel(self, parallel) -> PPOLearner:
        """This learner with each minibatch split over ``parallel``'s devices."""
        return dataclasses.replace(self, parallel=parallel)

    @property
    def optimizer(self) -> optax.GradientTransformation:
        """Clipping and Adam's (or SGD's) scaling; the step size is applied separately."""
        return make_optimizer(self.config)

    def init(self, key: jax.Array, example_obs) -> PPOState:
        """Fresh parameters and optimiser state; the base learning rate from the config."""
        params = init_params(self.network, key, example_obs)
        best = None
        if self.config.track_best_iterate:
            best = BestIterate(params, jnp.array(jnp.inf, jnp.float32), jnp.array(-1, jnp.int32))
        return PPOState(
            params=params,
            opt_state=self.optimizer.init(params),
            hypers=PPOHypers.of(self.config, self.losses.init_rule()),
            best=best,
        )

    def initial_carry(self, batch: int):
        """The zero recurrent state of ``batch`` sequences."""
        return self.network.initialize_carry(batch)

    def act(self, params, carry, obs, resets, key, mask=None):
        """Sample one action per env; see ``ued.learner.Learner.act``."""
        carry, logits, values = self.network.apply(params, carry, _add_time(obs), resets[None])
        policy = distributions.for_actions(self.network.action_dim)
        logits = policy.mask(logits[0], mask)
        actions = policy.sample(key, logits)
        return carry, actions, policy.log_prob(logits, actions), values[0]

    def value(self, params, carry, obs, resets) -> jax.Array:
        """The critic's values ``f32[B]`` of one batched observation."""
        _, _, values = self.network.apply(params, carry, _add_time(obs), resets[None])
        return values[0]

    def prepare(self, trajectory, last_value, initial_carry) -> Batch:
        """GAE advantages and targets for a rollout (bootstrapping at truncations)."""
        advantages, targets = gae(
            trajectory.rewards,
            trajectory.values,
            trajectory.dones,
            last_value,
            self.config.gamma,
            self.config.gae_lambda,
            trajectory.truncated,
            trajectory.final_values,
        )
        return Batch(trajectory, advantages, targets, initial_carry)

    def learning_rate(self, state: PPOState, update: jax.Array, total) -> jax.Array:
        """The scheduled step size of ``update`` (``f32[]``)."""
        return learning_rate(self.config, state.hypers.lr, update, total, state.opt_state)

    def update(self, key, state: PPOState, batch: Batch, update, total):
        """PPO epochs on ``batch``; tracks the best iterate if configured. Returns ``(state,
        metrics)``."""
        lr = self.learning_rate(state, update, total)
        progress = jnp.asarray(update, jnp.float32) / total
        params, opt_state, metrics = ppo_update(
            key, state.params, state.opt_state, batch, lr, self.network, self.optimizer,
            self.config, self.parallel, state.hypers, self.losses, progress,
        )  # fmt: skip
        best = state.best
        if best is not None:
            # One epoch, one minibatch (validated): the norm was measured at state.params.
            norm = metrics["policy_grad_norm"]
            best = jax.tree_util.tree_map(
                lambda new, old: jnp.where(norm < best.grad_norm, new, old),
                BestIterate(state.params, norm, jnp.asarray(update, jnp.int32)),
                best,
            )
            metrics["best_grad_norm"] = best.grad_norm
        return state.replace(params=params, opt_state=opt_state, best=best), metrics


def _add_time(tree):
    return jax.tree_util.tree_map(lambda x: x[None], tree)


def make_ppo_learner(
    num_actions: int,
    encoder,
    network: NetworkConfig,
    ppo: PPOConfig,
    action_dim: int = 0,
    objective: PolicyObjective | None = None,
):
    """A recurrent PPO learner: ``encoder`` (a flax module) in front of the actor-critic that
    ``network`` describes, with ``num_actions`` discrete actions (or, with ``action_dim`` > 0,
    a Gaussian policy over that many continuous dimensions), trained with ``ppo`` on
    ``objective`` (default: the one ``ppo.objective`` names)."""
    return PPOLearner(
        ActorCritic(
            num_actions=num_actions,
            encoder=encoder,
            cell=network.cell,
            hidden_size=network.hidden_size,
            head_hidden=network.head_hidden,
            lstm_impl=network.lstm_impl,
            action_dim=action_dim,
        ),
        ppo,
        objective=objective,
    )


PPO = registry.LEARNERS.register(
    "ppo",
    LearnerSpec(
        "ppo",
        make=make_ppo_learner,
        summary="recurrent PPO (ppo.objective: the clipped surrogate, or REINFORCE)",
    ),
)
"""``learner = "ppo"``: the student of every built-in curriculum."""
