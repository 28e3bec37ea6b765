"""What a curriculum trained on over training, read from a run's checkpoints: at every kept
checkpoint and for every seed, its buffer (or its last generated levels, for generator agents)
through ``Curriculum.inspect``: each slot's score, replay weight and the env's level descriptors,
and the ``TOP_LEVELS`` most likely to be replayed as levels. The report's distributions and the
``level_distributions`` notebook read these; shipped agents carry them in ``snapshots.npz``.

Curricula without a buffer (DR) have no snapshots: what they train on is the env's generator.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

FILE = "snapshots.npz"
TOP_LEVELS = 32
"""Levels kept per snapshot and seed, highest replay weight first."""


@dataclasses.dataclass
class Snapshots:
    """A run's curriculum snapshots (``K`` checkpoints, ``S`` seeds, ``N`` buffer slots).

    Attributes:
        steps: ``int[K]`` the updates of the checkpoints.
        seeds: ``int[S]``.
        filled: ``bool[K, S, N]`` slots that hold a level.
        scores: ``f32[K, S, N]`` each slot's curriculum score.
        weights: ``f32[K, S, N]`` each slot's replay probability (NCC: the adversary's y).
        descriptors: ``{name: f32[K, S, N]}`` the env's level descriptors (NaN where undefined
            or empty).
        captions: ``{name: f32[K, S, N]}`` a generator agent's per-level values (PAIRED: P, A,
            R), empty for buffers.
        top_index: ``int[K, S, T]`` the slots of ``top_levels``.
        top_levels: a level pytree with leaves ``[K, S, T, ...]``.
    """

    steps: np.ndarray
    seeds: np.ndarray
    filled: np.ndarray
    scores: np.ndarray
    weights: np.ndarray
    descriptors: dict[str, np.ndarray]
    captions: dict[str, np.ndarray]
    top_index: np.ndarray
    top_levels: Any

    @property
    def generated(self) -> bool:
        """Whether these are a generator agent's levels rather than a replay buffer."""
        return bool(self.captions)

    def levels(self, k: int, seed_index: int = 0) -> Any:
        """The ``TOP_LEVELS`` levels of snapshot ``k`` for one seed (leaves ``[T, ...]``)."""
        return jax.tree_util.tree_map(lambda x: x[k, seed_index], self.top_levels)


def has_buffer(program) -> bool:
    """Whether ``program``'s curriculum exposes levels to snapshot (``inspect`` is not None)."""
    from .train import seed_slice

    abstract = jax.eval_shape(program.init, program.seed_keys()).curriculum
    several = len(program.config.seed_list) > 1
    view = jax.eval_shape(lambda c: program.curriculum.inspect(seed_slice(c, 0, several)), abstract)
    return view is not None


def collect(program, states: list[tuple[int, Any]]) -> dict[str, np.ndarray] | None:
    """Snapshot arrays (the ``snapshots.npz`` contents) of ``(update, train state)`` pairs of
    ``program`` (a ``ued.train.UEDProgram``), or None for a curriculum without a buffer."""
    from .train import seed_slice

    seeds = program.config.seed_list
    several = len(seeds) > 1
    inspect = jax.jit(program.curriculum.inspect)
    spec, env = program.spec, program.env
    describe = jax.jit(lambda lv: spec.descriptors(env, lv)) if spec.descriptors else None
    out: dict[str, list] = {}

    def add(name, value):
        out.setdefault(name, []).append(np.asarray(value))

    for _, state in states:
        per_seed: dict[str, list] = {}
        for i in range(len(seeds)):
            view = inspect(seed_slice(state.curriculum, i, several))
            if view is None:
                return None
            filled = np.asarray(view["filled"], bool)
            fields = {
                "filled": filled,
                "scores": np.asarray(view["scores"], np.float32),
                "weights": np.asarray(view["weights"], np.float32),
            }
            if describe is not None:
                for name, values in describe(view["levels"]).items():
                    values = np.asarray(values, np.float32)
                    fields[f"descriptor/{name}"] = np.where(filled, values, np.nan)
            for name, values in view.get("captions", {}).items():
                fields[f"caption/{name}"] = np.asarray(values, np.float32)
            order = np.argsort(-np.where(filled, fields["weights"], -np.inf), kind="stable")
            top = order[: min(TOP_LEVELS, order.size)]
            fields["top_index"] = top
            leaves = jax.tree_util.tree_leaves(view["levels"])
            for j, leaf in enumerate(leaves):
                fields[f"level/{j}"] = np.asarray(jnp.asarray(leaf)[top])
            for name, value in fields.items():
                per_seed.setdefault(name, []).append(value)
        for name, values in per_seed.items():
            add(name, np.stack(values))
    arrays = {name: np.stack(values) for name, values in out.items()}
    arrays["steps"] = np.array([step for step, _ in states], np.int64)
    arrays["seeds"] = np.array(seeds, np.int64)
    return arrays


def save(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write snapshot arrays to ``path`` (compressed npz) atomically."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    tmp.replace(path)


def load(path: Path, env) -> Snapshots:
    """Read ``snapshots.npz``; ``env`` (the run's training env) gives the level structure."""
    with np.load(Path(path)) as data:
        arrays = {name: data[name] for name in data.files}
    template = jax.eval_shape(env.sample_level, jax.random.key(0))
    treedef = jax.tree_util.tree_structure(template)
    count = treedef.num_leaves
    levels = jax.tree_util.tree_unflatten(treedef, [arrays[f"level/{j}"] for j in range(count)])
    return Snapshots(
        steps=arrays["steps"],
        seeds=arrays["seeds"],
        filled=arrays["filled"],
        scores=arrays["scores"],
        weights=arrays["weights"],
        descriptors={k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith("descr")},
        captions={k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith("caption/")},
        top_index=arrays["top_index"],
        top_levels=levels,
    )
