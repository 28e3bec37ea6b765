"""The shortest-path oracle: exact optimal behaviour on any maze level, jittable.

States are (direction, cell); turning costs one action and moving forward one action. Distances
are computed by synchronous Bellman backups (a vectorised BFS) until nothing changes.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .level import DIRECTIONS, Level

# Distance of a state from which the goal cannot be reached.
UNREACHABLE = 1_000_000


def _ahead(dist: jax.Array, direction: int) -> jax.Array:
    """``dist[y, x]`` of the cell one step ahead in ``direction``; UNREACHABLE off the grid."""
    dx, dy = DIRECTIONS[direction]
    padded = jnp.pad(dist, 1, constant_values=UNREACHABLE)
    h, w = dist.shape
    return padded[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w]


def distance_to_goal(level: Level) -> jax.Array:
    """Fewest actions to reach the goal from every state of one level.

    Returns ``int32[4, H, W]``: entry ``[d, y, x]`` is the distance from cell (x, y) facing ``d``
    (0 on the goal cell, UNREACHABLE on walls and where the goal cannot be reached).
    """
    h, w = level.wall_map.shape
    free = ~level.wall_map
    goal = jnp.zeros((h, w), jnp.bool_).at[level.goal_pos[1], level.goal_pos[0]].set(True)
    start = jnp.where(goal[None], 0, UNREACHABLE).astype(jnp.int32)
    start = jnp.broadcast_to(start, (4, h, w))

    def backup(dist):
        forward = jnp.stack([_ahead(dist[d], d) for d in range(4)])
        turned = jnp.minimum(jnp.roll(dist, 1, axis=0), jnp.roll(dist, -1, axis=0))
        best = jnp.minimum(dist, jnp.minimum(forward, turned) + 1)
        best = jnp.where(free[None], best, UNREACHABLE)
        return jnp.where(goal[None], 0, jnp.minimum(best, UNREACHABLE))

    def cond(carry):
        return carry[1]

    def body(carry):
        dist, _ = carry
        new = backup(dist)
        return new, jnp.any(new != dist)

    dist, _ = jax.lax.while_loop(cond, body, (start, jnp.array(True)))
    return dist


def shortest_path_length(level: Level) -> jax.Array:
    """Number of actions of the shortest path from the agent's start to the goal, ``int32[]``;
    ``UNREACHABLE`` when the goal cannot be reached. ``vmap`` for a batch."""
    dist = distance_to_goal(level)
    return dist[level.agent_dir, level.agent_pos[1], level.agent_pos[0]]


def is_solvable(level: Level) -> jax.Array:
    """Whether the goal is reachable from the agent's start, ``bool[]``."""
    return shortest_path_length(level) < UNREACHABLE


def optimal_return(level: Level, gamma: float, max_steps: int = 250) -> jax.Array:
    """Discounted return of an optimal episode on one level (V* of the start state), ``f32[]``.

    An optimal episode takes L = ``shortest_path_length`` actions; its only reward arrives on the
    last one, at step index n = L - 1, so V* = ``(1 - 0.9 * (n + 1) / max_steps) * gamma**n``.
    That is 0 when the goal is unreachable or cannot be reached before the time limit
    (L > max_steps). Replaying ``optimal_actions`` in the env earns exactly this return.
    """
    length = shortest_path_length(level)
    n = (length - 1).astype(jnp.float32)
    value = (1.0 - 0.9 * (n + 1.0) / max_steps) * jnp.asarray(gamma, jnp.float32) ** n
    return jnp.where(length <= max_steps, value, 0.0).astype(jnp.float32)


def oracle_action(dist: jax.Array, level: Level, pos: jax.Array, direction: jax.Array) -> jax.Array:
    """An optimal action from state (pos, direction) given ``dist = distance_to_goal(level)``.

    Prefers forward, then left, then right among the actions that lower the distance by one.
    Returns ``int32[]`` (0 = left, 1 = right, 2 = forward).
    """
    h, w = level.wall_map.shape
    target = pos + jnp.asarray(DIRECTIONS)[direction]
    inside = (target[0] >= 0) & (target[0] < w) & (target[1] >= 0) & (target[1] < h)
    ty, tx = jnp.clip(target[1], 0, h - 1), jnp.clip(target[0], 0, w - 1)
    forward = jnp.where(inside & ~level.wall_map[ty, tx], dist[direction, ty, tx], UNREACHABLE)
    left = dist[(direction - 1) % 4, pos[1], pos[0]]
    right = dist[(direction + 1) % 4, pos[1], pos[0]]
    costs = jnp.stack([left, right, forward])
    # argmin picks the first minimum; order the preference forward > left > right.
    preference = jnp.array([1, 2, 0])
    return preference[jnp.argmin(costs[preference])].astype(jnp.int32)


def optimal_actions(level: Level, max_len: int) -> tuple[jax.Array, jax.Array]:
    """The oracle's action sequence on one level, padded to ``max_len``.

    Returns ``(actions int32[max_len], length int32[])``; actions past ``length`` are 0 and
    should be ignored.
    """
    dist = distance_to_goal(level)

    def step(carry, _):
        pos, direction = carry
        action = oracle_action(dist, level, pos, direction)
        target = pos + jnp.asarray(DIRECTIONS)[direction]
        pos = jnp.where(action == 2, target, pos)
        direction = (direction + jnp.where(action == 1, 1, jnp.where(action == 0, -1, 0))) % 4
        return (pos, direction), action

    _, actions = jax.lax.scan(step, (level.agent_pos, level.agent_dir), None, length=max_len)
    length = jnp.minimum(shortest_path_length(level), max_len)
    return jnp.where(jnp.arange(max_len) < length, actions, 0), length
