"""Level spaces of gymnax tasks: a level is the parameters a curriculum may vary (classic control's
physics, MinAtar's timers), as strongly typed ``f32[]`` arrays (a batch is ``f32[B]`` per field).

A ``LevelSpace`` says which gymnax env it drives, the range and default of each parameter, how a
level becomes gymnax ``EnvParams`` (fields a parameter determines are recomputed: CartPole's
``total_mass`` and ``polemass_length``, Acrobot's centres of mass), the two parameters of the
evaluation grid, and what counts as solving an episode. Parameters are drawn log-uniformly over
their range; the ACCEL mutator multiplies parameters by log-normal factors, clipped to the range.
Integer parameters (MinAtar's intervals) are rounded after a draw and step by ±1 in an edit (a
small log-normal factor would round back to the same integer); gymnax receives them as int32.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct


@struct.dataclass
class ControlLevel:
    """One level: ``values f32[P]``, the space's parameters in its order (``LevelSpace.names``).
    A batch is ``f32[B, P]``."""

    values: jax.Array


@dataclasses.dataclass(frozen=True)
class Parameter:
    """One varied parameter: gymnax field ``name``, default and range ``[low, high]``; an
    ``integer`` one takes whole values."""

    name: str
    default: float
    low: float
    high: float
    integer: bool = False


@dataclasses.dataclass(frozen=True)
class LevelSpace:
    """The levels of one gymnax env.

    Attributes:
        env_id: the ``gymnax.make`` id. parameters: the varied parameters.
        grid: the parameters of the evaluation grid: (x, y), (x,) for a line, () for none.
        success: what solves an episode: ``survive`` (reach the time limit without
            terminating: CartPole), ``terminate`` (reach the goal: Acrobot, MountainCar) or
            None (no success signal: Pendulum, which never ends before its time limit, and
            the MinAtar games, which are scored by their return).
        derive: ``(params, values by name) -> params`` recomputing dependent fields.
    """

    env_id: str
    parameters: tuple[Parameter, ...]
    grid: tuple[str, ...]
    success: Literal["survive", "terminate"] | None
    derive: Callable[[Any, dict[str, jax.Array]], Any] = lambda params, values: params

    @property
    def names(self) -> tuple[str, ...]:
        """The parameters' names, in the level's order."""
        return tuple(p.name for p in self.parameters)

    def bounds(self) -> tuple[jax.Array, jax.Array]:
        """``(low f32[P], high f32[P])``."""
        low = jnp.array([p.low for p in self.parameters], jnp.float32)
        high = jnp.array([p.high for p in self.parameters], jnp.float32)
        return low, high

    def integers(self) -> jax.Array:
        """``bool[P]``: which parameters take whole values."""
        return jnp.array([p.integer for p in self.parameters], jnp.bool_).reshape(-1)

    def _round(self, values: jax.Array) -> jax.Array:
        return jnp.where(self.integers(), jnp.round(values), values)

    def default_level(self) -> ControlLevel:
        """The gymnax defaults."""
        return ControlLevel(jnp.array([p.default for p in self.parameters], jnp.float32))

    def sample(self, key: jax.Array) -> ControlLevel:
        """A level drawn log-uniformly over each parameter's range (integers rounded)."""
        low, high = self.bounds()
        u = jax.random.uniform(key, low.shape)
        return ControlLevel(self._round(jnp.exp(jnp.log(low) + u * (jnp.log(high) - jnp.log(low)))))

    def mutate(self, key: jax.Array, level: ControlLevel, num_edits: int, scale: float = 0.1):
        """ACCEL's edit: ``num_edits`` times, one random parameter multiplied by
        ``exp(N(0, scale))`` (an integer one moved by ±1), clipped to its range. A space
        without parameters has nothing to edit."""
        if not self.parameters:
            return level
        low, high = self.bounds()
        integers = self.integers()

        def edit(values, key):
            k_which, k_size, k_sign = jax.random.split(key, 3)
            which = jax.random.randint(k_which, (), 0, values.shape[0])
            factor = jnp.exp(scale * jax.random.normal(k_size))
            step = jnp.where(jax.random.bernoulli(k_sign), 1.0, -1.0)
            moved = jnp.where(integers[which], values[which] + step, values[which] * factor)
            return jnp.clip(values.at[which].set(moved), low, high), None

        values, _ = jax.lax.scan(edit, level.values, jax.random.split(key, num_edits))
        return ControlLevel(values)

    def to_params(self, default_params, level: ControlLevel):
        """gymnax ``EnvParams`` for ``level``: the defaults with the level's parameters, and the
        fields they determine recomputed."""
        values = {
            p.name: level.values[i].astype(jnp.int32) if p.integer else level.values[i]
            for i, p in enumerate(self.parameters)
        }
        return self.derive(default_params.replace(**values), values)

    def grid_levels(self, per_axis: int) -> tuple[list[str], ControlLevel]:
        """Levels log-spaced over the grid's parameters (the others at their defaults; integers
        rounded, repeats dropped), the first varying fastest: ``(names, levels [<= per_axis **
        len(grid)])``."""
        by_name = {p.name: p for p in self.parameters}
        axes = [np.geomspace(by_name[name].low, by_name[name].high, per_axis) for name in self.grid]
        default = np.asarray(self.default_level().values)
        names, rows = [], []
        for point in itertools.product(*reversed(axes)):
            values = default.copy()
            for name, value in zip(self.grid, reversed(point)):
                values[self.names.index(name)] = value
            values = np.asarray(self._round(jnp.asarray(values)))
            name = ",".join(f"{n}={float(values[self.names.index(n)]):.4g}" for n in self.grid)
            if name not in names:
                names.append(name)
                rows.append(values)
        return names, ControlLevel(jnp.asarray(np.stack(rows), jnp.float32))


def _cartpole_derived(params, values):
    masspole = values["masspole"]
    return params.replace(
        total_mass=values["masscart"] + masspole, polemass_length=masspole * values["length"]
    )


def _acrobot_derived(params, values):
    return params.replace(
        link_com_pos_1=values["link_length_1"] / 2, link_com_pos_2=values["link_length_2"] / 2
    )


SPACES = {
    "cartpole": LevelSpace(
        env_id="CartPole-v1",
        parameters=(
            Parameter("length", 0.5, 0.125, 2.0),
            Parameter("force_mag", 10.0, 2.5, 40.0),
            Parameter("masspole", 0.1, 0.025, 0.4),
            Parameter("masscart", 1.0, 0.25, 4.0),
        ),
        grid=("length", "force_mag"),
        success="survive",
        derive=_cartpole_derived,
    ),
    "acrobot": LevelSpace(
        env_id="Acrobot-v1",
        parameters=(
            Parameter("link_length_1", 1.0, 0.5, 2.0),
            Parameter("link_length_2", 1.0, 0.5, 2.0),
            Parameter("link_mass_1", 1.0, 0.5, 2.0),
            Parameter("link_mass_2", 1.0, 0.5, 2.0),
        ),
        grid=("link_length_1", "link_mass_2"),
        success="terminate",
        derive=_acrobot_derived,
    ),
    "pendulum": LevelSpace(
        env_id="Pendulum-v1",
        parameters=(
            Parameter("m", 1.0, 0.5, 2.0),
            Parameter("l", 1.0, 0.5, 2.0),
            Parameter("g", 10.0, 5.0, 20.0),
        ),
        grid=("m", "l"),
        success=None,
    ),
    "mountain-car": LevelSpace(
        env_id="MountainCar-v0",
        parameters=(
            Parameter("force", 0.001, 0.0005, 0.002),
            Parameter("gravity", 0.0025, 0.00125, 0.005),
        ),
        grid=("force", "gravity"),
        success="terminate",
    ),
}
"""The level spaces by ``--env`` name. Ranges span 4-16x around gymnax's defaults (JaxUED varied
CartPole's pole length, masses and force, and Acrobot's links)."""
