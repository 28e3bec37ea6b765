"""The recurrent actor-critic student (the UED literature's network, configurable).

    observation -> the env's encoder (the maze: Conv 16 3x3 over the view + Dense 5 of the
                   direction; default: flatten) -> features
    features -> LSTM 256 (carry reset where an episode starts)
             -> actor: Dense 32 -> ReLU -> Dense(num_actions)   (orthogonal init, scale 0.01)
             -> critic: Dense 32 -> ReLU -> Dense 1

Inputs are time-major sequences ``[T, B, ...]``; a rollout step is ``T = 1``.

The LSTM is ~95% of the learner's FLOPs. Its default implementation (``lstm_impl="fused"``)
computes the input projection of the whole sequence as one matrix product and has a hand-written
backward pass that keeps only the recurrent product inside the reverse scan and forms the weight
gradients as two large products afterwards, instead of accumulating a [F+H, 4H] gradient at every
time step as autodiff of a scan does. ``lstm_impl="autodiff"`` is the plain scan, kept as the
reference for tests and benchmarks; ``lstm_impl="flax"`` is flax's ``OptimizedLSTMCell`` under
``nn.scan``, the network JaxUED uses, kept so ``ued bench --compare-lstm`` can time both in one
process.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np


def orthogonal(scale: float = 1.0, column_axis: int = -1):
    """flax's orthogonal initialiser (``(key, shape, dtype) -> array``) that runs one key at a
    time under ``vmap``. flax's own, vmapped (a population's or several seeds' networks), is
    jaxlib's batched CPU QR, which parallelises over the thread pool XLA's executor runs on and
    deadlocked it intermittently (LPO's members on MinAtar: 4 runs in 8 of one generation;
    several seeds' init on 2 cores); run one key at a time it never did (15 of 15). Unbatched it is
    flax's, value for value."""
    base = nn.initializers.orthogonal(scale, column_axis)

    def init(key, shape, dtype=jnp.float32):
        return jax.custom_batching.sequential_vmap(lambda k: base(k, shape, dtype))(key)

    return init


# --------------------------------------------------------------------------------------------
# LSTM over a sequence, as pure functions of (w_x, w_h, b).
# Gate order along the 4H axis: input, forget, cell candidate, output.
# --------------------------------------------------------------------------------------------
def _gates(z: jax.Array):
    i, f, g, o = jnp.split(z, 4, axis=-1)
    return jax.nn.sigmoid(i), jax.nn.sigmoid(f), jnp.tanh(g), jax.nn.sigmoid(o)


def _reset(reset: jax.Array, x: jax.Array) -> jax.Array:
    return jnp.where(reset[:, None], 0.0, x)


def lstm_autodiff(w_x, w_h, b, h0, c0, xs, resets):
    """Reference LSTM: ``lax.scan`` of the cell, differentiated by JAX.

    Args: weights ``w_x f32[F, 4H]``, ``w_h f32[H, 4H]``, ``b f32[4H]``; initial carry
    ``h0, c0 f32[B, H]``; inputs ``xs f32[T, B, F]``; ``resets bool[T, B]`` (zero the carry before
    step t). Returns ``(h_T, c_T, hs f32[T, B, H])``.
    """

    def step(carry, inp):
        h, c = carry
        x, reset = inp
        h, c = _reset(reset, h), _reset(reset, c)
        i, f, g, o = _gates(x @ w_x + h @ w_h + b)
        c = f * c + i * g
        h = o * jnp.tanh(c)
        return (h, c), h

    (h, c), hs = jax.lax.scan(step, (h0, c0), (xs, resets))
    return h, c, hs


def _lstm_forward(w_x, w_h, b, h0, c0, xs, resets):
    # Contractions over [T, B] as einsums (no reshape that merges T and B), so that a batch split
    # over devices stays split: weight gradients become local partial sums plus one all-reduce.
    x_proj = jnp.einsum("tbf,fg->tbg", xs, w_x) + b

    def step(carry, inp):
        h, c = carry
        xp, reset = inp
        h, c = _reset(reset, h), _reset(reset, c)
        i, f, g, o = _gates(xp + h @ w_h)
        c_new = f * c + i * g
        tanh_c = jnp.tanh(c_new)
        h_new = o * tanh_c
        return (h_new, c_new), (h_new, (h, c, i, f, g, o, tanh_c))

    (h, c), (hs, residuals) = jax.lax.scan(step, (h0, c0), (x_proj, resets))
    return (h, c, hs), residuals


@jax.custom_vjp
def lstm_fused(w_x, w_h, b, h0, c0, xs, resets):
    """Same maths and signature as ``lstm_autodiff``, with a hand-written backward pass (see the
    module docstring)."""
    return _lstm_forward(w_x, w_h, b, h0, c0, xs, resets)[0]


def _lstm_fused_fwd(w_x, w_h, b, h0, c0, xs, resets):
    out, residuals = _lstm_forward(w_x, w_h, b, h0, c0, xs, resets)
    return out, (w_x, w_h, xs, resets, residuals)


def _lstm_fused_bwd(saved, cotangents):
    w_x, w_h, xs, resets, (h_prev, c_prev, i, f, g, o, tanh_c) = saved
    d_h_last, d_c_last, d_hs = cotangents

    def step(carry, inp):
        dh_next, dc_next = carry
        dh_out, cp, i, f, g, o, tc, reset = inp
        dh = dh_out + dh_next
        dc = dc_next + dh * o * (1.0 - tc * tc)
        dz = jnp.concatenate(
            [
                dc * g * i * (1.0 - i),
                dc * cp * f * (1.0 - f),
                dc * i * (1.0 - g * g),
                dh * tc * o * (1.0 - o),
            ],
            axis=-1,
        )
        dh_prev = _reset(reset, dz @ w_h.T)
        dc_prev = _reset(reset, dc * f)
        return (dh_prev, dc_prev), dz

    (d_h0, d_c0), dz = jax.lax.scan(
        step,
        (d_h_last, d_c_last),
        (d_hs, c_prev, i, f, g, o, tanh_c, resets),
        reverse=True,
    )
    d_w_x = jnp.einsum("tbf,tbg->fg", xs, dz)
    d_w_h = jnp.einsum("tbh,tbg->hg", h_prev, dz)
    d_b = jnp.sum(dz, axis=(0, 1))
    d_xs = jnp.einsum("tbg,fg->tbf", dz, w_x)
    return d_w_x, d_w_h, d_b, d_h0, d_c0, d_xs, None


lstm_fused.defvjp(_lstm_fused_fwd, _lstm_fused_bwd)


def _block_orthogonal(key, shape, dtype=jnp.float32):
    """Orthogonal init for each of the 4 gate blocks of ``w_h`` (as flax's LSTM cells do)."""
    rows, cols = shape
    keys = jax.random.split(key, 4)
    init = orthogonal()
    return jnp.concatenate([init(k, (rows, cols // 4), dtype) for k in keys], axis=1)


class _FlaxLSTMStep(nn.Module):
    hidden_size: int

    @nn.compact
    def __call__(self, carry, inp):
        x, reset = inp
        carry = (_reset(reset, carry[0]), _reset(reset, carry[1]))
        (c, h), out = nn.OptimizedLSTMCell(self.hidden_size, recurrent_kernel_init=orthogonal())(
            (carry[1], carry[0]), x
        )
        return (h, c), out


class LSTM(nn.Module):
    """An LSTM layer over time-major sequences with per-step carry resets."""

    hidden_size: int
    impl: Literal["fused", "autodiff", "flax"] = "fused"

    @nn.compact
    def __call__(self, carry, xs, resets):
        if self.impl == "flax":
            scan = nn.scan(_FlaxLSTMStep, variable_broadcast="params", split_rngs={"params": False})
            return scan(self.hidden_size)(carry, (xs, resets))
        h0, c0 = carry
        features = xs.shape[-1]
        w_x = self.param("w_x", nn.initializers.lecun_normal(), (features, 4 * self.hidden_size))
        w_h = self.param("w_h", _block_orthogonal, (self.hidden_size, 4 * self.hidden_size))
        b = self.param("b", nn.initializers.zeros_init(), (4 * self.hidden_size,))
        fn = lstm_fused if self.impl == "fused" else lstm_autodiff
        h, c, hs = fn(w_x, w_h, b, h0, c0, xs, resets)
        return (h, c), hs


class _GRUStep(nn.Module):
    hidden_size: int

    @nn.compact
    def __call__(self, h, inp):
        x, reset = inp
        h, _ = nn.GRUCell(self.hidden_size, recurrent_kernel_init=orthogonal())(_reset(reset, h), x)
        return h, h


class GRU(nn.Module):
    """A GRU layer over time-major sequences with per-step carry resets."""

    hidden_size: int

    @nn.compact
    def __call__(self, carry, xs, resets):
        scan = nn.scan(_GRUStep, variable_broadcast="params", split_rngs={"params": False})
        h, hs = scan(self.hidden_size)(carry[0], (xs, resets))
        return (h,), hs


class PatchConv(nn.Module):
    """A 2-D convolution (cross-correlation, stride 1, as ``flax.linen.Conv``) computed as one
    matrix product over extracted patches. Same parameters (``kernel [k, k, C, F]``, ``bias
    [F]``) and outputs as ``nn.Conv``; on CPU its gradient inside a scan is several times faster
    than XLA's convolution gradient (6 PPO steps of a 3x3x16 conv over 800 13x13 grids: 0.21 s
    against 1.34 s), which made the level generator's update 13x slower.

    Takes ``f32[..., H, W, C]`` with any leading axes; returns ``f32[..., H', W', F]`` (``H' =
    H`` with ``"SAME"`` padding, ``H - k + 1`` with ``"VALID"``). Leading axes are never merged,
    so a batch split over devices stays split.
    """

    features: int
    kernel_size: int = 3
    padding: Literal["SAME", "VALID"] = "SAME"

    @nn.compact
    def __call__(self, x):
        k, channels = self.kernel_size, x.shape[-1]
        kernel = self.param(
            "kernel", nn.initializers.lecun_normal(), (k, k, channels, self.features)
        )
        bias = self.param("bias", nn.initializers.zeros_init(), (self.features,))
        if self.padding == "SAME":
            lo, hi = (k - 1) // 2, k // 2  # XLA's SAME: the extra row/column goes last
            x = jnp.pad(x, [(0, 0)] * (x.ndim - 3) + [(lo, hi), (lo, hi), (0, 0)])
        height, width = x.shape[-3] - k + 1, x.shape[-2] - k + 1
        patches = jnp.concatenate(
            [x[..., i : i + height, j : j + width, :] for i in range(k) for j in range(k)],
            axis=-1,
        )
        return patches @ kernel.reshape(k * k * channels, self.features) + bias


def orthogonal_dense(features: int, scale: float) -> nn.Dense:
    """A dense layer with orthogonal kernel init of ``scale`` and zero bias."""
    return nn.Dense(
        features,
        kernel_init=orthogonal(scale),
        bias_init=nn.initializers.zeros_init(),
    )


class FlattenEncoder(nn.Module):
    """The default observation encoder: every observation leaf ``[T, B, ...]`` flattened to
    float32 and concatenated, ``f32[T, B, F]`` (enough for small vector observations; an env with
    images declares its own encoder)."""

    @nn.compact
    def __call__(self, obs):
        leaves = jax.tree_util.tree_leaves(obs)
        t, b = leaves[0].shape[:2]
        return jnp.concatenate([x.astype(jnp.float32).reshape(t, b, -1) for x in leaves], axis=-1)


class ActorCritic(nn.Module):
    """The student network. ``__call__(carry, obs, resets) -> (carry, logits, values)``.

    Args (module fields):
        num_actions: size of the discrete action space.
        encoder: the env's observation encoder, ``obs [T, B, ...] -> f32[T, B, F]``.
        cell: ``lstm``, ``gru`` or ``none`` (feed-forward; the carry is then empty).
        hidden_size: recurrent width.
        head_hidden: width of the actor's and critic's hidden layer.
        lstm_impl: ``fused`` (fast custom backward), ``autodiff`` or ``flax``.
        action_dim: continuous actions: their dimension D (0: ``num_actions`` discrete ones).

    Call inputs: ``obs`` with leaves ``[T, B, ...]``; ``resets bool[T, B]``, true where
    ``obs[t]`` starts an episode. Outputs: the policy's ``logits f32[T, B, A]`` (continuous
    actions: the mean and a learned, state-independent log standard deviation, ``f32[T, B, 2D]``;
    see ``ued.distributions``) and ``values f32[T, B]``.
    """

    num_actions: int
    encoder: nn.Module = dataclasses.field(default_factory=FlattenEncoder)
    cell: Literal["lstm", "gru", "none"] = "lstm"
    hidden_size: int = 256
    head_hidden: int = 32
    lstm_impl: Literal["fused", "autodiff", "flax"] = "fused"
    action_dim: int = 0

    def initialize_carry(self, batch: int) -> tuple[jax.Array, ...]:
        """The zero carry for ``batch`` sequences (a tuple of ``f32[B, hidden]``)."""
        zeros = jnp.zeros((batch, self.hidden_size), jnp.float32)
        return {"lstm": (zeros, zeros), "gru": (zeros,), "none": ()}[self.cell]

    @nn.compact
    def __call__(self, carry, obs, resets):
        x = self.encoder(obs)
        if self.cell == "lstm":
            carry, x = LSTM(self.hidden_size, self.lstm_impl)(carry, x, resets)
        elif self.cell == "gru":
            carry, x = GRU(self.hidden_size)(carry, x, resets)

        actor = nn.relu(orthogonal_dense(self.head_hidden, 2.0)(x))
        if self.action_dim:
            mean = orthogonal_dense(self.action_dim, 0.01)(actor)
            log_std = self.param("log_std", nn.initializers.zeros, (self.action_dim,))
            logits = jnp.concatenate([mean, jnp.broadcast_to(log_std, mean.shape)], axis=-1)
        else:
            logits = orthogonal_dense(self.num_actions, 0.01)(actor)
        critic = nn.relu(orthogonal_dense(self.head_hidden, 2.0)(x))
        values = orthogonal_dense(1, 1.0)(critic)[..., 0]
        return carry, logits, values


def count_parameters(params) -> int:
    """Total number of scalars in a parameter pytree."""
    return int(sum(np.prod(p.shape) for p in jax.tree_util.tree_leaves(params)))


def init_params(network: ActorCritic, key: jax.Array, dummy_obs, batch: int = 1):
    """Initialise ``network`` from an unbatched dummy observation; returns the params pytree."""
    obs = jax.tree_util.tree_map(lambda x: jnp.broadcast_to(x, (1, batch, *x.shape)), dummy_obs)
    resets = jnp.ones((1, batch), jnp.bool_)
    return network.init(key, network.initialize_carry(batch), obs, resets)
