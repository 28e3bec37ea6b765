"""The exact optimal return of a tabular gridworld level: finite-horizon dynamic programming over
(cell x present-objects bitmask), jitted and batched.

With objects respawning in place the state is (agent cell, which objects are present) plus the
time step; ``V_t(c, m) = max_a E[r + gamma * (1 - end) * V_{t+1}(c', m')]`` from ``V_T = 0``, with
the level's episode length T. An object collected on entering c' is gone in m'; one missing in m
reappears independently with its probability, so the expectation over m' factorises into one
step per object bit. The DP's policy may depend on
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
    respawn = jnp.where(used, level.p_respawn[types], 0.0)
    next_cells = _next_cells(level, size)
    clear = [np.flatnonzero((np.arange(masks) & (1 << k)) == 0) for k in range(slots)]
    # here[k, c]: object k is in use and sits in cell c (entering c with it present collects it)
    here = (cell_of(level.object_pos, size)[:, None] == jnp.arange(cells)[None, :]) & used[:, None]

    def backup(_, value):  # value: V_{t+1}[C, X] over next masks X -> V_t[C, M]
        # Turn V_{t+1} over the next mask into its expectation given the current mask m, one
        # bit at a time: an object present in m is there next unless the agent collects it in
        # the cell it enters; one missing in m reappears with its probability (only objects
        # missing before the step respawn).
        expected = value
        for k in range(slots):
            absent, present = expected[:, clear[k]], expected[:, clear[k] | (1 << k)]
            mixed = (1 - respawn[k]) * absent + respawn[k] * present
            kept = jnp.where(here[k][:, None], absent, present)
            expected = expected.at[:, clear[k]].set(mixed).at[:, clear[k] | (1 << k)].set(kept)
        gain = reward + gamma * survive * expected  # [C entered, M]
        return jnp.max(gain[next_cells], axis=1)  # [C, A, M] -> [C, M]

    value = jax.lax.fori_loop(0, level.max_steps, backup, jnp.zeros((cells, masks), jnp.float32))
    start_mask = jnp.sum(jnp.where(used, jnp.asarray(bit, jnp.int32), 0))
    return value[cell_of(level.start, size), start_mask]
