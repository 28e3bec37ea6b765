"""A stand-in for distrax.Categorical (distrax does not import on current JAX)."""

import jax
import jax.numpy as jnp


class Categorical:
    def __init__(self, logits):
        self.logits = jax.nn.log_softmax(logits)

    def sample(self, seed):
        return jax.random.categorical(seed, self.logits)

    def log_prob(self, value):
        return jnp.take_along_axis(self.logits, value[..., None].astype(jnp.int32), -1)[..., 0]

    def entropy(self):
        return -jnp.sum(jnp.exp(self.logits) * self.logits, axis=-1)

    def mode(self):
        return jnp.argmax(self.logits, axis=-1)
