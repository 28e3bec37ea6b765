"""Random gridworld level distributions for meta-training (GROOVE's ``all`` and its size bands,
and a tiny ``debug`` one for tests).

A level draws its grid (height and width independently), walls, start and object cells (all
distinct free cells: never the start or an object on a wall), object types, per-type reward,
termination and respawn probabilities, episode length and lifetime. Everything is jittable with
fixed shapes, so a batch of levels is one ``vmap``.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from .level import Level


def _log_uniform(key, low: float, high: float, shape=()) -> jax.Array:
    return jnp.exp(jax.random.uniform(key, shape, minval=jnp.log(low), maxval=jnp.log(high)))


@dataclasses.dataclass(frozen=True)
class LevelDistribution:
    """A random level distribution (bounds are inclusive).

    Attributes:
        min_size, max_size: grid height and width, each drawn uniformly.
        min_steps, max_steps: episode length, log-uniform.
        min_objects, max_objects: objects per level, uniform (capped by the env's slots).
        max_types: object types per level, 1..max_types uniform (capped by the env's types).
        max_walls: walls, 0..max_walls uniform (fewer if the grid needs room for the objects).
        p_term: ``(low, high)`` of the log-uniform termination probability per type.
        p_respawn: ``(low, high)`` of the log-uniform respawn probability per type.
        lifetime: the inner agent's lifetime in agent updates.
    """

    min_size: int = 4
    max_size: int = 10
    min_steps: int = 20
    max_steps: int = 750
    min_objects: int = 1
    max_objects: int = 5
    max_types: int = 5
    max_walls: int = 15
    p_term: tuple[float, float] = (0.01, 1.0)
    p_respawn: tuple[float, float] = (0.001, 0.1)
    lifetime: int = 250

    def sample(self, key, size: int, slots: int, num_types: int) -> Level:
        """One level on a ``size x size`` grid with ``slots`` object slots and ``num_types``
        types. Type 0's reward is U[0, 1], the others' U[-1, 1]."""
        keys = jax.random.split(key, 12)
        height = jax.random.randint(keys[0], (), self.min_size, self.max_size + 1)
        width = jax.random.randint(keys[1], (), self.min_size, self.max_size + 1)
        ys, xs = jnp.divmod(jnp.arange(size * size), size)
        inside = (ys < height) & (xs < width)

        n_objects = jax.random.randint(
            keys[2], (), self.min_objects, min(self.max_objects, slots) + 1
        )
        n_types = jax.random.randint(keys[3], (), 1, min(self.max_types, num_types) + 1)
        room = height * width - 1 - n_objects  # the start and every object need a free cell
        n_walls = jnp.minimum(jax.random.randint(keys[4], (), 0, self.max_walls + 1), room)

        # Walls: the first n_walls inside cells of a random order; then the start and the objects
        # take the first free cells of another, so all are distinct and none is on a wall.
        wall_order = jnp.argsort(jnp.where(inside, jax.random.uniform(keys[5], inside.shape), 2.0))
        walls = (
            jnp.zeros(size * size, jnp.bool_).at[wall_order].set(jnp.arange(size * size) < n_walls)
        )
        blocked = walls | ~inside
        free_order = jnp.argsort(jnp.where(blocked, 2.0, jax.random.uniform(keys[6], inside.shape)))
        cells = free_order[: 1 + slots]
        positions = jnp.stack([cells % size, cells // size], axis=-1).astype(jnp.int32)

        used = jnp.arange(slots) < n_objects
        object_type = jnp.where(used, jax.random.randint(keys[7], (slots,), 0, n_types), -1)
        reward = jax.random.uniform(keys[8], (num_types,), minval=-1.0, maxval=1.0)
        reward = reward.at[0].set(jax.random.uniform(keys[9], ()))
        p_term = _log_uniform(keys[10], *self.p_term, (num_types,))
        p_respawn = _log_uniform(keys[11], *self.p_respawn, (num_types,))
        max_steps = jnp.round(_log_uniform(key, self.min_steps, self.max_steps)).astype(jnp.int32)
        return Level(
            wall_map=blocked.reshape(size, size),
            start=positions[0],
            object_pos=jnp.where(used[:, None], positions[1:], 0),
            object_type=object_type.astype(jnp.int32),
            reward=reward.astype(jnp.float32),
            p_term=p_term.astype(jnp.float32),
            p_respawn=p_respawn.astype(jnp.float32),
            max_steps=jnp.clip(max_steps, self.min_steps, self.max_steps),
            lifetime=jnp.asarray(self.lifetime, jnp.int32),
        )


DISTRIBUTIONS = {
    "all": LevelDistribution(),
    "small": LevelDistribution(min_size=4, max_size=6),
    "medium": LevelDistribution(min_size=6, max_size=8),
    "large": LevelDistribution(min_size=8, max_size=10),
    "debug": LevelDistribution(
        min_size=3,
        max_size=4,
        min_steps=8,
        max_steps=16,
        min_objects=1,
        max_objects=2,
        max_types=2,
        max_walls=2,
        lifetime=4,
    ),
}
"""The named distributions (``env_config.distribution``): GROOVE's ``all`` (grid 4-10, episodes
20-750 steps, 1-5 objects of up to 5 types, up to 15 walls, lifetime 250), its ``small`` (4-6),
``medium`` (6-8) and ``large`` (8-10) grid bands, and ``debug`` (3-4, tiny, for tests)."""
