"""The policy distributions PPO needs, in a few lines (distrax no longer imports): a categorical
over logits with optional action masks (masked actions get probability zero), and a diagonal
Gaussian for continuous actions. ``Categorical`` and ``DiagonalGaussian`` share one interface
(``mask``, ``log_prob``, ``entropy``, ``sample``); ``for_actions`` picks one."""

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


class Categorical:
    """The policy distribution of discrete actions: outputs are logits ``f32[..., A]``, actions
    ``int32[...]``; masks apply."""

    continuous = False

    @staticmethod
    def mask(outputs: jax.Array, action_mask: jax.Array | None) -> jax.Array:
        """``apply_mask``."""
        return apply_mask(outputs, action_mask)

    @staticmethod
    def log_prob(outputs: jax.Array, actions: jax.Array) -> jax.Array:
        """``log_prob``."""
        return log_prob(outputs, actions)

    @staticmethod
    def entropy(outputs: jax.Array) -> jax.Array:
        """``entropy``."""
        return entropy(outputs)

    @staticmethod
    def sample(key: jax.Array, outputs: jax.Array) -> jax.Array:
        """``sample``."""
        return sample(key, outputs)


class DiagonalGaussian:
    """The policy distribution of continuous actions: outputs ``f32[..., 2D]`` are the mean and
    the log standard deviation of independent normals, actions ``f32[..., D]``. There are no
    action masks (the env clips actions to its bounds)."""

    continuous = True

    @staticmethod
    def mask(outputs: jax.Array, action_mask: jax.Array | None) -> jax.Array:
        """Continuous actions take no mask."""
        if action_mask is not None:
            raise ValueError("continuous actions take no action mask")
        return outputs

    @staticmethod
    def _split(outputs: jax.Array) -> tuple[jax.Array, jax.Array]:
        dim = outputs.shape[-1] // 2
        return outputs[..., :dim], outputs[..., dim:]

    @classmethod
    def log_prob(cls, outputs: jax.Array, actions: jax.Array) -> jax.Array:
        """``f32[...]``: the sum over dimensions of the normal log-densities of ``actions``."""
        mean, log_std = cls._split(outputs)
        z = (actions - mean) * jnp.exp(-log_std)
        return jnp.sum(-0.5 * z**2 - log_std - 0.5 * jnp.log(2 * jnp.pi), axis=-1)

    @classmethod
    def entropy(cls, outputs: jax.Array) -> jax.Array:
        """``f32[...]``: the differential entropy, ``sum(log_std + 0.5 log(2 pi e))``."""
        _, log_std = cls._split(outputs)
        return jnp.sum(log_std + 0.5 * jnp.log(2 * jnp.pi * jnp.e), axis=-1)

    @classmethod
    def sample(cls, key: jax.Array, outputs: jax.Array) -> jax.Array:
        """One action ``f32[..., D]`` per distribution."""
        mean, log_std = cls._split(outputs)
        return mean + jnp.exp(log_std) * jax.random.normal(key, mean.shape, mean.dtype)


def for_actions(continuous_dim: int):
    """The policy distribution for an action space: ``DiagonalGaussian`` for ``continuous_dim``
    > 0 continuous dimensions, else ``Categorical``."""
    return DiagonalGaussian if continuous_dim > 0 else Categorical
