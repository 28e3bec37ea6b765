"""Random gridworld level distributions for meta-training, as GROOVE's reference defines them
(EmptyJackson/groove, ``environments/gridworld/configs.py``): ``all`` and its lifetime variants,
the ``small`` / ``medium`` / ``large`` bands and a tiny ``debug`` one.

A level draws a *square* grid, a fixed number of wall indices among the cells of a
``wall_grid x wall_grid`` index space read row-major with the level's own width (so a smaller grid
holds fewer of them, as in the reference), the start and object cells (distinct free cells), the
number of objects, per-type reward, termination and respawn probabilities, episode length and the
inner agent's lifetime. Object ``i`` has type ``i`` (so object 0, the only one every level has,
always rewards U[0, 1]; the others U[-1, 1]). Everything is jittable with fixed shapes, so a batch
of levels is one ``vmap``.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from .level import Level


def log_uniform(key, low: float, high: float, shape=()) -> jax.Array:
    """``exp(U[log low, log high])`` (the reference's ``log_uniform``)."""
    return jnp.exp(jax.random.uniform(key, shape, minval=jnp.log(low), maxval=jnp.log(high)))


def log_uniform_int(key, low: int, high: int) -> jax.Array:
    """``round(log_uniform(low, high))`` as ``int32[]`` (the reference's ``log_uniform_int``)."""
    return jnp.round(log_uniform(key, low, high)).astype(jnp.int32)


@dataclasses.dataclass(frozen=True)
class LevelDistribution:
    """A random level distribution (bounds are inclusive).

    Attributes:
        min_size, max_size: the square grid's side, uniform.
        min_steps, max_steps: episode length, log-uniform (rounded).
        min_objects, max_objects: objects per level, uniform; object i has type i, so a level
            has as many types as ``max_objects``.
        walls: wall indices drawn without replacement from ``[0, wall_grid**2)``; index ``j`` is
            the cell ``(j % side, j // side)`` of a level of side ``side`` (outside it if
            ``j >= side**2``).
        wall_grid: the side of that index space (the reference's ``max_grid_size``).
        p_term: ``(low, high)`` of the log-uniform termination probability per type.
        p_respawn: ``(low, high)`` of the log-uniform respawn probability per type.
        lifetime: ``(low, high)`` of the inner agent's lifetime in updates, log-uniform (rounded;
            ``low == high``: constant).
    """

    min_size: int = 4
    max_size: int = 10
    min_steps: int = 20
    max_steps: int = 750
    min_objects: int = 1
    max_objects: int = 5
    walls: int = 15
    wall_grid: int = 10
    p_term: tuple[float, float] = (0.01, 1.0)
    p_respawn: tuple[float, float] = (0.001, 0.1)
    lifetime: tuple[int, int] = (1000, 1000)

    @property
    def max_lifetime(self) -> int:
        """The longest lifetime a level can draw."""
        return int(self.lifetime[1])

    def with_lifetime(self, lifetime: int) -> LevelDistribution:
        """The same distribution with a constant lifetime."""
        return dataclasses.replace(self, lifetime=(lifetime, lifetime))

    def sample(self, key, size: int, slots: int, num_types: int) -> Level:
        """One level padded to a ``size x size`` grid with ``slots`` object slots and
        ``num_types`` types (at least ``max_size`` and ``max_objects``)."""
        keys = jax.random.split(key, 10)
        side = jax.random.randint(keys[0], (), self.min_size, self.max_size + 1)
        n_objects = jax.random.randint(keys[1], (), self.min_objects, self.max_objects + 1)
        ys, xs = jnp.divmod(jnp.arange(size * size), size)
        inside = (ys < side) & (xs < side)

        # Wall indices are row-major with the level's own width, as in the reference.
        index = jax.random.choice(keys[2], self.wall_grid**2, (self.walls,), replace=False)
        wall_cell = jnp.where(index < side * side, (index // side) * size + index % side, -1)
        # The start and every object slot take distinct free cells (the reference draws
        # max_n_objs + 1 of them); a grid too full for that, which the reference's sizes make
        # vanishingly rare, sheds its last-drawn walls.
        is_inside = wall_cell >= 0
        deficit = jnp.maximum(1 + self.max_objects - (side * side - is_inside.sum()), 0)
        from_end = jnp.cumsum(is_inside[::-1])[::-1]  # inside walls from this draw on
        kept = is_inside & (from_end > deficit)
        walls = (
            jnp.zeros(size * size, jnp.bool_)
            .at[jnp.where(kept, wall_cell, size * size)]
            .set(True, mode="drop")
        )
        blocked = walls | ~inside
        free_order = jnp.argsort(jnp.where(blocked, 2.0, jax.random.uniform(keys[3], inside.shape)))
        cells = free_order[: 1 + slots]
        positions = jnp.stack([cells % size, cells // size], axis=-1).astype(jnp.int32)

        used = jnp.arange(slots) < n_objects
        object_type = jnp.where(used, jnp.arange(slots), -1)
        kinds = self.max_objects
        reward = jax.random.uniform(keys[4], (kinds,), minval=-1.0, maxval=1.0)
        reward = reward.at[0].set(jax.random.uniform(keys[5], ()))
        p_term = log_uniform(keys[6], *self.p_term, (kinds,))
        p_respawn = log_uniform(keys[7], *self.p_respawn, (kinds,))
        pad = num_types - kinds
        return Level(
            wall_map=blocked.reshape(size, size),
            start=positions[0],
            object_pos=jnp.where(used[:, None], positions[1:], 0),
            object_type=object_type.astype(jnp.int32),
            reward=jnp.pad(reward, (0, pad)).astype(jnp.float32),
            p_term=jnp.pad(p_term, (0, pad)).astype(jnp.float32),
            p_respawn=jnp.pad(p_respawn, (0, pad)).astype(jnp.float32),
            max_steps=log_uniform_int(keys[8], self.min_steps, self.max_steps),
            lifetime=log_uniform_int(keys[9], *self.lifetime),
        )


_ALL = LevelDistribution()
DISTRIBUTIONS = {
    "all": _ALL,
    "all_shortlife": _ALL.with_lifetime(250),
    "all_randlife": dataclasses.replace(_ALL, lifetime=(50, 250)),
    "all_vrandlife": dataclasses.replace(_ALL, lifetime=(10, 250)),
    "small": LevelDistribution(
        min_size=4, max_size=6, min_steps=20, max_steps=100, min_objects=1, max_objects=3,
        walls=7, wall_grid=6, lifetime=(250, 250),
    ),
    "medium": LevelDistribution(
        min_size=6, max_size=8, min_steps=100, max_steps=250, min_objects=2, max_objects=4,
        walls=10, wall_grid=8, lifetime=(1000, 1000),
    ),
    "large": LevelDistribution(
        min_size=8, max_size=10, min_steps=250, max_steps=750, min_objects=2, max_objects=5,
        walls=15, wall_grid=10, lifetime=(2500, 2500),
    ),
    "debug": LevelDistribution(
        min_size=3, max_size=4, min_steps=5, max_steps=10, min_objects=1, max_objects=2,
        walls=4, wall_grid=4, lifetime=(4, 4),
    ),
}  # fmt: skip
"""The reference's named distributions (``env_config.distribution``): ``all`` (grid 4-10,
episodes 20-750 steps, 1-5 objects, 15 wall indices among 10x10, lifetime 1,000 updates),
``all_shortlife`` (lifetime 250, the reference's default), ``all_randlife`` (log-uniform 50-250),
``all_vrandlife`` (log-uniform 10-250: what lifetime-conditioned rules meta-train on), the bands
``small`` (4-6, 20-100 steps, 1-3 objects, 7 walls among 6x6, lifetime 250), ``medium`` (6-8,
100-250, 2-4, 10 among 8x8, 1,000) and ``large`` (8-10, 250-750, 2-5, 15 among 10x10, 2,500), and
``debug`` (3-4, 5-10 steps, 1-2 objects, 4 walls among 4x4, lifetime 4)."""
