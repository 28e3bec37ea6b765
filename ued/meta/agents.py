"""Inner agents that an update rule trains: a policy, a prediction vector and a value, and their
rollouts on one level each.

An inner agent is two networks, as in GROOVE's reference (``agents/agents.py``): an *actor* that
outputs policy logits ``[A]`` and a *critic* that outputs the logits of a categorical prediction
``y(s)`` over ``m`` bins (what LPG gives meaning to) and a state value (what A2C uses). Each is
the env's observation encoder followed by an MLP and linear heads, or, for tabular levels with
``tabular_states``, a table per head indexed by the state (a linear layer without bias on its
one-hot: the reference's tabular agents). The two networks have separate parameter trees
(``actor`` and ``critic``) so that each can have its own optimiser (``inner_optimizer``). Every
rule trains the same agents, so a learned rule and A2C are compared on identical networks. The
agents are feedforward; each plays its own level, replaying it whenever an episode ends, and keeps
its env state across updates for its lifetime.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from flax import struct

from ..env import AutoReplay


class _Network(nn.Module):
    """One of the agent's two networks: ``[N, ...]`` observations -> one ``f32[N, width]`` per
    head (a table per head on tabular state indices, else encoder, MLP and linear heads)."""

    heads: tuple[int, ...]
    encoder: nn.Module | None
    hidden: tuple[int, ...]
    tabular_states: int

    @nn.compact
    def __call__(self, flat):
        if self.tabular_states:
            return [nn.Embed(self.tabular_states, width, embedding_init=nn.initializers.zeros,
                             name=f"table_{i}")(flat[0])
                    for i, width in enumerate(self.heads)]  # fmt: skip
        features = self.encoder(flat)[0]
        for width in self.hidden:
            features = nn.relu(nn.Dense(width)(features))
        return [nn.Dense(width)(features) for width in self.heads]


class InnerAgent(nn.Module):
    """Observation ``[..., obs]`` -> ``(logits f32[..., A], y_logits f32[..., m], value f32[...])``.

    Attributes:
        num_actions: A. prediction_size: m (LPG uses 8).
        encoder: the env's observation encoder (applied to ``[T, B, ...]``-shaped leaves); each
            network gets its own copy.
        hidden: widths of each network's MLP hidden layers (``()``: linear heads).
        tabular_states: > 0 for tables indexed by tabular state observations (``int32``), which
            replace the encoder and MLP; initialised to zero (a uniform policy), as the
            reference's linear layers on a one-hot start near it.
    """

    num_actions: int
    encoder: nn.Module | None = None
    prediction_size: int = 8
    hidden: tuple[int, ...] = (32,)
    tabular_states: int = 0

    @nn.compact
    def __call__(self, obs):
        batch = jax.tree_util.tree_leaves(obs)[0].shape
        flat = jax.tree_util.tree_map(lambda x: x.reshape(1, -1, *x.shape[len(batch) :]), obs)

        def network(heads, name):
            encoder = None if self.tabular_states else self.encoder.clone(name=None, parent=None)
            return _Network(heads, encoder, tuple(self.hidden), self.tabular_states, name=name)

        (logits,) = network((self.num_actions,), "actor")(flat)
        y_logits, value = network((self.prediction_size, 1), "critic")(flat)
        shape = tuple(batch)
        return (
            logits.reshape(*shape, -1),
            y_logits.reshape(*shape, -1),
            value.reshape(shape),
        )


def inner_optimizer(
    name: str, lr, critic_lr, max_grad_norm: float = 0.0
) -> optax.GradientTransformation:
    """The inner agents' optimiser: ``name`` (``"sgd"`` or ``"adam"``) with step size ``lr`` on
    the actor and ``critic_lr`` on the critic, each network's gradient first clipped to global
    norm ``max_grad_norm`` (0: no clipping), as the reference's per-network train states do.
    Step sizes may be traced (a sweep compiles once)."""

    def one(rate):
        step = optax.sgd(rate) if name == "sgd" else optax.adam(rate)
        if not max_grad_norm:
            return step
        return optax.chain(optax.clip_by_global_norm(max_grad_norm), step)

    def labels(params):  # {"params": {"actor": ..., "critic": ...}}: each leaf by its network
        return {
            scope: {net: jax.tree_util.tree_map(lambda _, n=net: n, tree)
                    for net, tree in nets.items()}
            for scope, nets in params.items()
        }  # fmt: skip

    return optax.multi_transform({"actor": one(lr), "critic": one(critic_lr)}, labels)


@struct.dataclass
class Transitions:
    """An inner rollout, time-major ``[T, B, ...]``.

    Attributes:
        obs: observations acted on; next_obs: the observations reached (before any reset, so
            ``y(s_{t+1})`` belongs to the same episode); actions: ``int32``; rewards: ``f32``;
        dones: ``bool``, the episode ended (terminated or truncated) with this transition;
        truncated: ``bool``, it ended by the time limit.
    """

    obs: Any
    next_obs: Any
    actions: jax.Array
    rewards: jax.Array
    dones: jax.Array
    truncated: jax.Array


@struct.dataclass
class EnvCarry:
    """Where an agent's episodes stand between its updates: env states ``[B]`` (auto-replaying
    its level) and the observations to act on."""

    state: Any
    obs: Any


@dataclasses.dataclass(frozen=True)
class InnerRollout:
    """Plays an inner agent on one level with ``num_envs`` parallel episodes.

    Attributes:
        env: the env (unwrapped); network: the ``InnerAgent``; num_envs, num_steps: B and T.
    """

    env: Any
    network: InnerAgent
    num_envs: int
    num_steps: int

    def start(self, key, level) -> EnvCarry:
        """``num_envs`` fresh episodes on ``level``."""
        env = AutoReplay(self.env)
        levels = jax.tree_util.tree_map(lambda x: jnp.repeat(x[None], self.num_envs, 0), level)
        obs, state = jax.vmap(env.reset_to_level)(jax.random.split(key, self.num_envs), levels)
        return EnvCarry(state, obs)

    def play(self, key, params, carry: EnvCarry) -> tuple[Transitions, EnvCarry]:
        """``num_steps`` steps of the agent's policy from ``carry``. Returns the transitions
        ``[T, B]`` and where the episodes stand after them."""
        env = AutoReplay(self.env)

        def step(carry: EnvCarry, key):
            k_act, k_env = jax.random.split(key)
            logits, _, _ = self.network.apply(params, carry.obs)
            actions = jax.random.categorical(k_act, logits).astype(jnp.int32)
            obs, state, rewards, terminated, truncated, info = jax.vmap(env.step)(
                jax.random.split(k_env, self.num_envs), carry.state, actions
            )
            transition = Transitions(
                obs=carry.obs,
                next_obs=info["final_obs"],
                actions=actions,
                rewards=rewards,
                dones=terminated | truncated,
                truncated=truncated & ~terminated,
            )
            return EnvCarry(state, obs), transition

        end, transitions = jax.lax.scan(step, carry, jax.random.split(key, self.num_steps))
        return transitions, end
