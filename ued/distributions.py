"""A categorical distribution over logits: the few lines PPO needs (distrax no longer imports)."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def log_prob(logits: jax.Array, actions: jax.Array) -> jax.Array:
    """Log-probability of integer ``actions`` (``int[...]``) under ``logits`` (``f32[..., A]``)."""
    log_p = jax.nn.log_softmax(logits, axis=-1)
    return jnp.take_along_axis(log_p, actions[..., None].astype(jnp.int32), axis=-1)[..., 0]


def entropy(logits: jax.Array) -> jax.Array:
    """Entropy of each categorical in ``logits`` (``f32[..., A]`` -> ``f32[...]``)."""
    log_p = jax.nn.log_softmax(logits, axis=-1)
    return -jnp.sum(jnp.exp(log_p) * log_p, axis=-1)


def sample(key: jax.Array, logits: jax.Array) -> jax.Array:
    """Draw one action per distribution (``f32[..., A]`` -> ``int32[...]``)."""
    return jax.random.categorical(key, logits, axis=-1).astype(jnp.int32)
