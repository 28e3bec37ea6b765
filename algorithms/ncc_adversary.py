"""The optimisation-framework UED's adversary (Monette, Letcher, Beukman et al., RLC 2025), as
pure functions of arrays: the truncated-simplex projection and the entropy-regularised ascent.

The adversary maximises ``f(y) = <y, s> + alpha * H(y)`` over ``Δ_ε = {y : Σy = 1, y_i >= ε}``;
for fixed scores its maximiser is ``softmax(s / alpha)`` (when that lies in Δ_ε).
"""

from __future__ import annotations

from typing import Literal

import jax
import jax.numpy as jnp
from flax import struct

STEP_RULES = ("adagrad_norm", "exponentiated", "sgd", "adagrad_coordinate")


def project_to_truncated_simplex(v: jax.Array, eps: float) -> jax.Array:
    """Euclidean projection of ``v f32[N]`` onto ``{y : Σ y = 1, ε <= y_i <= 1}``.

    ``y = max(v + λ, ε)`` with λ such that Σ y = 1, found exactly by sorting (the projection of
    ``v - ε`` onto the simplex of total ``1 - Nε``; the upper bound 1 is never active when
    ``N ≥ 2``). Requires ``N·ε < 1``. Works on a 1-D array and under ``vmap``.
    """
    n = v.shape[-1]
    total = 1.0 - n * eps
    w = v - eps
    u = jnp.sort(w)[::-1]
    cumulative = jnp.cumsum(u) - total
    index = jnp.arange(1, n + 1, dtype=v.dtype)
    support = u - cumulative / index > 0
    rho = jnp.max(jnp.where(support, jnp.arange(n), 0))
    theta = cumulative[rho] / (rho + 1).astype(v.dtype)
    return jnp.maximum(w - theta, 0.0) + eps


def entropy(y: jax.Array) -> jax.Array:
    """Shannon entropy ``-Σ y log y`` (nats) of a distribution ``f32[N]``."""
    return -jnp.sum(y * jnp.log(jnp.maximum(y, 1e-30)))


def entropy_weight(
    alpha: float, step: jax.Array, schedule: Literal["constant", "cube_root"]
) -> jax.Array:
    """α_t: constant, or ``α / (t + 1)^(1/3)`` (the cube-root decay of the theory)."""
    if schedule == "constant":
        return jnp.asarray(alpha, jnp.float32)
    return alpha / (step.astype(jnp.float32) + 1.0) ** (1.0 / 3.0)


@struct.dataclass
class AdversaryState:
    """The adversary's distribution and its step-size accumulators.

    Attributes:
        y: ``f32[N]`` the distribution over buffer levels (on Δ_ε).
        grad_sq: ``f32[N]`` accumulated squared (centred) gradients: their sum for the scalar
            AdaGrad-norm rule, per coordinate for the per-coordinate rule.
        step: ``int32[]`` adversary steps taken.
    """

    y: jax.Array
    grad_sq: jax.Array
    step: jax.Array

    @classmethod
    def uniform(cls, n: int) -> AdversaryState:
        """The uniform distribution over ``n`` levels, before any step."""
        return cls(
            y=jnp.full((n,), 1.0 / n, jnp.float32),
            grad_sq=jnp.zeros((n,), jnp.float32),
            step=jnp.zeros((), jnp.int32),
        )


def adversary_gradient(y: jax.Array, scores: jax.Array, alpha) -> jax.Array:
    """``∇_y f = s - α (log y + 1)``, ``f32[N]``."""
    return scores - alpha * (jnp.log(y) + 1.0)


def adversary_step(
    state: AdversaryState,
    scores: jax.Array,
    alpha,
    *,
    step_size: float,
    eps: float,
    rule: Literal["adagrad_norm", "exponentiated", "sgd", "adagrad_coordinate"] = "adagrad_norm",
    g0: float = 0.1,
) -> tuple[AdversaryState, jax.Array]:
    """One projected ascent step on ``f(y) = <y, s> + α H(y)``.

    Rules (``η`` = ``step_size``; ``ĝ = g - mean(g)``, the part of the gradient that moves y
    within the simplex):
      * ``adagrad_norm`` (default): one scalar step ``η / (G_0 + Σ_k ||ĝ_k||²)^0.4``;
      * ``sgd``: constant ``η`` (the theory's rule);
      * ``exponentiated``: ``y ∝ y · exp(η g)`` (mirror ascent), then projected to Δ_ε;
      * ``adagrad_coordinate``: ``η / (G_0 + Σ_k g_{k,i}²)^0.4`` per coordinate on the raw gradient,
        as in the released code; it rescales coordinates differently, so it no longer follows f's
        gradient and settles at a biased point.
    Returns ``(state, effective scalar step size)`` (the mean over coordinates for the last).
    """
    g = adversary_gradient(state.y, scores, alpha)
    centred = g - g.mean()
    if rule == "exponentiated":
        logits = jnp.log(state.y) + step_size * g
        y = project_to_truncated_simplex(jax.nn.softmax(logits), eps)
        return state.replace(y=y, step=state.step + 1), jnp.asarray(step_size, jnp.float32)
    if rule == "sgd":
        eta = jnp.asarray(step_size, jnp.float32)
        grad_sq = state.grad_sq
    elif rule == "adagrad_norm":
        grad_sq = state.grad_sq + jnp.sum(centred**2)
        eta = step_size / (g0 + grad_sq[0]) ** 0.4
    elif rule == "adagrad_coordinate":
        grad_sq = state.grad_sq + g**2  # uncentred, as released
        eta = step_size / (g0 + grad_sq) ** 0.4
    else:
        raise ValueError(f"unknown step rule {rule!r}; choose one of {STEP_RULES}")
    y = project_to_truncated_simplex(state.y + eta * g, eps)
    return AdversaryState(y=y, grad_sq=grad_sq, step=state.step + 1), jnp.mean(eta)
