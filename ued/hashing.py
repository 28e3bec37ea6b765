"""Cheap deterministic fingerprints of level pytrees (for duplicate detection in buffers)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

HASH_WORDS = 2  # two independent 32-bit hashes: collisions need ~2**32 levels per buffer pair


def _as_uint32(x: jax.Array) -> jax.Array:
    """Flatten a leaf to 32-bit words (bools and small ints widened, floats as their bits)."""
    x = jnp.ravel(x)
    if jnp.issubdtype(x.dtype, jnp.floating):
        return jax.lax.bitcast_convert_type(x.astype(jnp.float32), jnp.uint32)
    if x.dtype.itemsize != 4:
        x = x.astype(jnp.int32)
    return jax.lax.bitcast_convert_type(x, jnp.uint32)


def _mix(h: jax.Array) -> jax.Array:
    """The 32-bit MurmurHash3 finaliser: avalanches every input bit over the output."""
    h = h ^ (h >> 16)
    h = h * jnp.uint32(0x85EBCA6B)
    h = h ^ (h >> 13)
    h = h * jnp.uint32(0xC2B2AE35)
    return h ^ (h >> 16)


def pytree_hash(tree) -> jax.Array:
    """Fingerprint every leaf of a (single, unbatched) pytree.

    Takes any pytree of arrays (a level); returns ``uint32[2]``. The hash is a random-coefficient
    linear combination of all words (a universal hash) followed by a mixing step, so two different
    levels collide with probability about 2**-64. Deterministic across runs and devices. Use
    ``jax.vmap`` for a batch.
    """
    words = jnp.concatenate([_as_uint32(leaf) for leaf in jax.tree_util.tree_leaves(tree)])
    n = words.shape[0]
    # Fixed odd coefficients, generated at trace time from a fixed seed: part of the hash's
    # definition, so a saved buffer's hashes stay valid across runs.
    coeffs = np.random.default_rng(0x5EED).integers(1, 2**32, size=(HASH_WORDS, n), dtype=np.uint64)
    coeffs = jnp.asarray((coeffs | 1).astype(np.uint32))
    mixed = _mix(words + jnp.arange(n, dtype=jnp.uint32) * jnp.uint32(0x9E3779B9))
    return _mix(jnp.sum(coeffs * mixed[None, :], axis=1, dtype=jnp.uint32))
