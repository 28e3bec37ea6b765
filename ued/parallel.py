"""Data parallelism over devices and hosts: one ``data`` mesh axis for the env batch (or a
meta-learner's population).

A program stays one jitted function. ``DataParallel`` places its state once (the batch-axis
leaves split over the ``data`` axis, everything else replicated: parameters, optimiser states,
the level buffer and the PRNG key), and the program marks its env batch with ``shard``. XLA's
partitioner then runs each device's part of the rollout locally, all-reduces gradients and
all-gathers the scores that the replicated buffer update reads, so every device makes the same
curriculum decisions from the same key. Random bits do not depend on the sharding
(``jax_threefry_partitionable``), so 1 and N devices run the same computation and agree to float
tolerance (reductions are summed in another order).

Several processes (``jax.distributed``) form one mesh over all their devices. Every level is
generated inside the program, so each process computes its own shard: nothing is fed from the
host. Only process 0 writes files (``is_writer``); every process takes part in checkpoints.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import jax
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import AxisType, Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from .errors import ConfigError

AXIS = "data"
REPLICATED = -1
"""The batch axis of a leaf that every device holds whole (``DataParallel.layout``)."""


def initialize_distributed() -> None:
    """Join a multi-process run if ``UED_COORDINATOR`` is set (with ``UED_NUM_PROCESSES`` and
    ``UED_PROCESS_ID``): ``jax.distributed.initialize`` over those, with gloo collectives on CPU.
    Does nothing otherwise, or if this process has already joined."""
    address = os.environ.get("UED_COORDINATOR")
    if not address or jax.distributed.is_initialized():
        return
    try:
        processes = int(os.environ["UED_NUM_PROCESSES"])
        process_id = int(os.environ["UED_PROCESS_ID"])
    except (KeyError, ValueError) as error:
        raise ConfigError(
            "UED_COORDINATOR is set, so UED_NUM_PROCESSES and UED_PROCESS_ID must be integers "
            f"too ({error})"
        ) from error
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(address, num_processes=processes, process_id=process_id)


def is_writer() -> bool:
    """Whether this process writes the run's files (process 0)."""
    return jax.process_index() == 0


def sync(name: str) -> None:
    """Wait until every process reaches this point (nothing to wait for with one process)."""
    if jax.process_count() > 1:
        multihost_utils.sync_global_devices(name)


def mesh_devices(devices: int) -> list:
    """The first ``devices`` local devices of every process (0: all of them), process by
    process. Raises ``ConfigError`` naming ``devices`` if a process has fewer."""
    local = jax.local_device_count()
    if devices < 0 or devices > local:
        raise ConfigError(
            f"devices: this process has {local} device(s), got {devices} (a resumed run may "
            f"change it: --devices {local})"
        )
    per_process = devices or local
    chosen = []
    for process in range(jax.process_count()):
        mine = sorted((d for d in jax.devices() if d.process_index == process), key=lambda d: d.id)
        chosen += mine[:per_process]
    return chosen


@dataclasses.dataclass(frozen=True)
class DataParallel:
    """A one-axis device mesh and how a program's arrays are laid out on it (hashable, so
    jitted functions may close over it).

    Attributes:
        mesh: a ``Mesh`` with one axis, ``data``.
    """

    mesh: Mesh

    @classmethod
    def over(cls, devices: int) -> DataParallel | None:
        """The mesh over ``devices`` devices per process (0: all local ones), or None when that
        is a single device (programs then run exactly as without a mesh)."""
        chosen = mesh_devices(devices)
        if len(chosen) == 1:
            return None
        mesh = jax.make_mesh((len(chosen),), (AXIS,), (AxisType.Auto,), devices=chosen)
        return cls(mesh)

    @property
    def size(self) -> int:
        """Devices in the mesh (over every process)."""
        return self.mesh.size

    def check_divides(self, count: int, field: str) -> None:
        """Raise ``ConfigError`` naming ``field`` unless ``count`` splits evenly over the mesh."""
        if count % self.size:
            raise ConfigError(
                f"{field}: {count} does not split evenly over {self.size} devices "
                "(use a multiple, or --devices)"
            )

    def spec(self, batch_axis: int) -> NamedSharding:
        """Arrays split along ``batch_axis`` over ``data`` (``REPLICATED``: whole everywhere)."""
        if batch_axis == REPLICATED:
            return NamedSharding(self.mesh, P())
        return NamedSharding(self.mesh, P(*([None] * batch_axis), AXIS))

    def shard(self, tree: Any, axis: int = 0) -> Any:
        """Inside a jitted program: split every leaf of ``tree`` along ``axis`` over devices."""
        sharding = self.spec(axis)
        return jax.tree_util.tree_map(lambda x: jax.lax.with_sharding_constraint(x, sharding), tree)

    def replicate(self, tree: Any) -> Any:
        """Inside a jitted program: keep every leaf of ``tree`` whole on every device."""
        sharding = self.spec(REPLICATED)
        return jax.tree_util.tree_map(lambda x: jax.lax.with_sharding_constraint(x, sharding), tree)

    def layout(self, axes: Any) -> Any:
        """``NamedSharding``s from a pytree of batch axes (ints, ``REPLICATED`` for whole)."""
        return jax.tree_util.tree_map(self.spec, axes)


def to_host(tree: Any) -> Any:
    """Every leaf of ``tree`` as an array this process holds whole (the leaf itself when it
    already does): a replicated array's local copy; a split array spanning processes is
    gathered (a collective: every process must call this)."""

    def one(leaf):
        if not isinstance(leaf, jax.Array) or leaf.is_fully_addressable:
            return leaf
        if leaf.is_fully_replicated:
            return leaf.addressable_data(0)
        if jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
            data = multihost_utils.process_allgather(jax.random.key_data(leaf), tiled=True)
            return jax.random.wrap_key_data(data, impl=jax.random.key_impl(leaf))
        return np.asarray(multihost_utils.process_allgather(leaf, tiled=True))

    return jax.tree_util.tree_map(one, tree)
