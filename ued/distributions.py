"""A categorical distribution over logits: the few lines PPO needs (distrax no longer imports),
with optional action masks (masked actions get probability zero)."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def apply_mask(logits: jax.Array, mask: jax.Array | None) -> jax.Array:
    """Logits ``f32[..., A]`` with the actions where ``mask bool[..., A]`` is False made
    impossible (a very negative logit, so log-probabilities stay finite). ``None`` = no mask."""
    if mask is None:
        return logits
    return jnp.where(mask, logits, jnp.finfo(logits.dtype).min)


def log_prob(logits: jax.Array, actions: jax.Array) -> jax.Array:
    """Log-probability of integer ``actions`` (``int[...]``) under ``logits`` (``f32[..., A]``)."""
    log_p = jax.nn.log_softmax(logits, axis=-1)
    return jnp.take_along_axis(log_p, actions[..., None].astype(jnp.int32), axis=-1)[..., 0]


def entropy(logits: jax.Array) -> jax.Array:
    """Entropy of each categorical in ``logits`` (``f32[..., A]`` -> ``f32[...]``). Masked
    actions (``apply_mask``'s finite minimum logit) contribute exactly 0, with finite gradients."""
    log_p = jax.nn.log_softmax(logits, axis=-1)
    return -jnp.sum(jnp.exp(log_p) * log_p, axis=-1)


def sample(key: jax.Array, logits: jax.Array) -> jax.Array:
    """Draw one action per distribution (``f32[..., A]`` -> ``int32[...]``)."""
    return jax.random.categorical(key, logits, axis=-1).astype(jnp.int32)
