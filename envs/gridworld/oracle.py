"""The exact optimal return of a tabular gridworld level: finite-horizon dynamic programming over
(cell x present-objects bitmask), jitted and batched.

With objects respawning in place the state is (agent cell, which objects are present) plus the
time step; ``V_t(c, m) = max_a E[r + gamma * (1 - end) * V_{t+1}(c', m')]`` from ``V_T = 0``, with
the level's episode length T. Respawns are independent per object, so the expectation over the
next bitmask factorises into one two-point average per object bit. The DP's policy may depend on
the time step, which an agent does not observe, so V* upper-bounds every agent's expected return.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .env import MOVES, Gridworld
from .level import Level, cell_of


def _next_cells(level: Level, size: int) -> jax.Array:
    """``int32[C, A]``: the cell each action leads to from each cell (blocked moves stay)."""
    ys, xs = jnp.divmod(jnp.arange(size * size), size)
    tx = xs[:, None] + jnp.asarray(MOVES)[None, :, 0]
    ty = ys[:, None] + jnp.asarray(MOVES)[None, :, 1]
    inside = (tx >= 0) & (tx < size) & (ty >= 0) & (ty < size)
    blocked = ~inside | level.wall_map[jnp.clip(ty, 0, size - 1), jnp.clip(tx, 0, size - 1)]
    return jnp.where(blocked, jnp.arange(size * size)[:, None], ty * size + tx).astype(jnp.int32)


def optimal_return(env: Gridworld, level: Level, gamma: float) -> jax.Array:
    """V* of one tabular level from its start with every object present: the best expected
    discounted return over ``level.max_steps`` steps (``f32[]``; ``vmap`` for a batch)."""
    size, slots = env.size, env.max_objects
    cells, masks = size * size, 2**slots
    used = level.object_type >= 0
    types = jnp.maximum(level.object_type, 0)
    bit = 1 << np.arange(slots)
    # Objects at each cell as a bitmask; what entering a cell with mask m collects.
    at_cell = (
        jnp.zeros(cells, jnp.int32)
        .at[cell_of(level.object_pos, size)]
        .add(jnp.where(used, jnp.asarray(bit, jnp.int32), 0))
    )
    m = jnp.arange(masks, dtype=jnp.int32)
    collected = m[None, :] & at_cell[:, None]  # [C, M]
    bits = ((collected[..., None] >> np.arange(slots)) & 1).astype(jnp.float32)  # [C, M, K]
    reward = bits @ jnp.where(used, level.reward[types], 0.0)
    survive = jnp.prod(1.0 - bits * jnp.where(used, level.p_term[types], 0.0), axis=-1)
    after = m[None, :] & ~at_cell[:, None]
    respawn = jnp.where(used, level.p_respawn[types], 0.0)
    next_cells = _next_cells(level, size)
    clear = [np.flatnonzero((np.arange(masks) & (1 << k)) == 0) for k in range(slots)]

    def backup(_, value):  # value: V_{t+1}[C, M] -> V_t
        expected = value
        for k in range(slots):  # each missing object reappears with its probability
            idx = clear[k]
            mixed = (1 - respawn[k]) * expected[:, idx] + respawn[k] * expected[:, idx | (1 << k)]
            expected = expected.at[:, idx].set(mixed)
        gain = reward + gamma * survive * jnp.take_along_axis(expected, after, axis=1)
        return jnp.max(gain[next_cells], axis=1)  # [C, A, M] -> [C, M]

    value = jax.lax.fori_loop(0, level.max_steps, backup, jnp.zeros((cells, masks), jnp.float32))
    start_mask = jnp.sum(jnp.where(used, jnp.asarray(bit, jnp.int32), 0))
    return value[cell_of(level.start, size), start_mask]
