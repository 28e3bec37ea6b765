"""The divergence guard: a run whose losses, parameters or level scores go non-finite stops with
a message naming the update, the value and the last intact checkpoint, instead of training on
NaN for hours and checkpointing it over a good state.

The state is checked inside the jitted chunk (``guarded_chunk``: one ``all(isfinite)`` reduction
per guarded leaf, returned as a ``bool[L]`` with the chunk's outputs), the losses on the host
from the metrics the loop reads back anyway. Guarded state leaves are the learners'
parameters and optimiser states (any path component ending in ``params`` or ``opt_state``, and
the ES mean) and level scores (``scores``: -inf marks an empty buffer slot, so only NaN and
+inf count there). Other leaves may hold NaN or inf by design (an unset best iterate's gradient
norm, a maximum over no returns yet)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .checkpoint import path_name


def _kind(path: str) -> str | None:
    """How a float state leaf at ``path`` is guarded: ``finite``, ``score`` or None."""
    parts = path.split("/")
    if "scores" in parts:
        return "score"
    if any(p.endswith(("params", "opt_state")) for p in parts) or parts[-1] == "mean":
        return "finite"
    return None


def _guarded(state) -> list[tuple[str, Any, str]]:
    leaves = []
    for path, leaf in jax.tree_util.tree_flatten_with_path(state)[0]:
        name = path_name(path)
        kind = _kind(name)
        if kind and jnp.issubdtype(leaf.dtype, jnp.floating):
            leaves.append((name, leaf, kind))
    return leaves


def guarded_names(state) -> list[str]:
    """The names of the leaves ``state_health`` checks, in its order (works on abstract
    states from ``jax.eval_shape``)."""
    return [name for name, _, _ in _guarded(state)]


def state_health(state) -> jax.Array:
    """``bool[L]``: whether each guarded leaf of ``state`` is intact (all seeds together)."""
    checks = [
        jnp.all(jnp.isfinite(leaf))
        if kind == "finite"
        else ~jnp.any(jnp.isnan(leaf) | (jnp.isinf(leaf) & (leaf > 0)))
        for _, leaf, kind in _guarded(state)
    ]
    return jnp.stack(checks) if checks else jnp.ones((0,), bool)


def guarded_chunk(chunk):
    """``chunk(state, start) -> (state, metrics, aux)`` that also returns ``state_health`` of
    the chunk's final state."""

    def guarded(state, start):
        state, metrics, aux = chunk(state, start)
        return state, metrics, aux, state_health(state)

    return guarded


def first_bad_state_leaf(names: list[str], health) -> str | None:
    """The first guarded leaf ``health`` flags, or None."""
    bad = np.flatnonzero(~np.asarray(health))
    return names[bad[0]] if bad.size else None


def nonfinite_state(state) -> str | None:
    """The first guarded leaf of a (host-side or restored) state that is not intact, or None."""
    return first_bad_state_leaf(guarded_names(state), state_health(state))


def first_nonfinite(tree) -> str | None:
    """The first float leaf of ``tree`` (host or device arrays) holding NaN or inf, or None."""
    for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
        if jnp.issubdtype(leaf.dtype, jnp.floating) and not np.isfinite(np.asarray(leaf)).all():
            return path_name(path)
    return None


def is_loss(name: str) -> bool:
    """Whether a metric is a loss the guard requires to be finite."""
    return "loss" in name.rsplit("/", 1)[-1]


def first_bad_loss(metrics: dict[str, np.ndarray], start: int, seeds) -> str | None:
    """``"update U: name is nan (seed S)"`` for the earliest non-finite loss in a chunk's metrics
    (``[U]`` or ``[U, S]`` arrays for updates ``start, start + 1, ...``), or None."""
    found = None
    for name in sorted(n for n in metrics if is_loss(n)):
        values = np.asarray(metrics[name], np.float64)
        bad = ~np.isfinite(values.reshape(values.shape[0], -1))
        if not bad.any():
            continue
        index, column = np.argwhere(bad)[0]
        if found is None or index < found[0]:
            value = values.reshape(values.shape[0], -1)[index, column]
            seed = f" (seed {seeds[column]})" if len(seeds) > 1 else ""
            found = (index, f"update {start + index}: {name} is {value}{seed}")
    return None if found is None else found[1]
