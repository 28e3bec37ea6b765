"""Orbax checkpoints of the whole training state (student, optimiser, curriculum, RNG).

Orbax writes each step into a temporary directory and renames it when complete, so a crash during
a save never corrupts the last good checkpoint; ``latest_step`` only sees finished ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import numpy as np
import orbax.checkpoint as ocp

from .errors import CheckpointError

__all__ = ["CheckpointError", "Checkpointer"]


def _path_str(path) -> str:
    parts = []
    for key in path:
        for attr in ("name", "key", "idx"):
            if hasattr(key, attr):
                parts.append(str(getattr(key, attr)))
                break
        else:
            parts.append(str(key))
    return "/".join(parts)


def _expected_shapes(abstract_state) -> dict[str, tuple[tuple[int, ...], str]]:
    shapes = {}
    for path, leaf in jax.tree_util.tree_flatten_with_path(abstract_state)[0]:
        shape, dtype = tuple(leaf.shape), leaf.dtype
        if jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
            # Typed PRNG keys are stored as their raw uint32 data.
            shape = shape + tuple(jax.random.key_data(jax.random.key(0)).shape)
            dtype = np.dtype("uint32")
        shapes[_path_str(path)] = (shape, str(np.dtype(dtype)))
    return shapes


def _check_leaves(stored_tree, abstract, where: Path, prefix: str) -> None:
    """Raise ``CheckpointError`` naming the first leaf of a stored tree (arrays or orbax
    metadata) whose presence, shape or dtype differs from ``abstract``."""
    stored = {
        _path_str(path): (tuple(leaf.shape), str(np.dtype(leaf.dtype)))
        for path, leaf in jax.tree_util.tree_flatten_with_path(stored_tree)[0]
    }
    expected = _expected_shapes(abstract)
    missing = sorted(prefix + k for k in set(expected) - set(stored))
    extra = sorted(prefix + k for k in set(stored) - set(expected))
    if missing or extra:
        raise CheckpointError(
            f"checkpoint {where} does not match this config: "
            f"missing leaves {missing[:5]}, unexpected leaves {extra[:5]}"
        )
    for name, (shape, dtype) in expected.items():
        if stored[name] != (shape, dtype):
            raise CheckpointError(
                f"checkpoint {where} does not match this config: leaf {prefix}{name} is "
                f"{stored[name][1]}{list(stored[name][0])} there but {dtype}{list(shape)} here"
            )


class Checkpointer:
    """Saves and restores ``(state, metadata)`` pairs under ``directory/<step>/``."""

    def __init__(self, directory: Path, max_to_keep: int = 3):
        self.directory = Path(directory).absolute()
        self._manager = ocp.CheckpointManager(
            self.directory,
            options=ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True),
            item_handlers={
                "state": ocp.StandardCheckpointHandler(),
                "meta": ocp.JsonCheckpointHandler(),
            },
        )

    def latest_step(self) -> int | None:
        """The newest complete checkpoint's step, or None."""
        return self._manager.latest_step()

    def all_steps(self) -> list[int]:
        """Steps of all complete checkpoints, ascending."""
        return sorted(self._manager.all_steps())

    def save(self, step: int, state: Any, metadata: dict[str, Any]) -> None:
        """Write a checkpoint and wait until it is durable."""
        self._manager.save(
            step,
            args=ocp.args.Composite(
                state=ocp.args.StandardSave(state), meta=ocp.args.JsonSave(metadata)
            ),
        )
        self._manager.wait_until_finished()

    def metadata(self, step: int) -> dict[str, Any]:
        """The JSON metadata saved with ``step``."""
        restored = self._manager.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))
        return restored.meta

    def check_compatible(self, step: int, abstract_state: Any) -> None:
        """Compare the stored tree with ``abstract_state`` (from ``jax.eval_shape``) without
        reading arrays; raise ``CheckpointError`` naming the first mismatching leaf."""
        stored_tree = self._manager.item_metadata(step)["state"]
        stored_tree = getattr(stored_tree, "tree", stored_tree)
        _check_leaves(stored_tree, abstract_state, self.directory / str(step), prefix="")

    def restore(self, step: int, abstract_state: Any) -> tuple[Any, dict[str, Any]]:
        """Read ``step`` into the structure of ``abstract_state``; returns ``(state, metadata)``."""
        self.check_compatible(step, abstract_state)
        try:
            restored = self._manager.restore(
                step,
                args=ocp.args.Composite(
                    state=ocp.args.StandardRestore(abstract_state), meta=ocp.args.JsonRestore()
                ),
            )
        except ValueError as error:  # e.g. a train-state field this checkpoint predates
            raise CheckpointError(
                f"checkpoint {self.directory / str(step)} has another train-state structure than "
                f"this version of the code: {str(error).splitlines()[0]} (evaluation still works: "
                "it reads only the parameters)"
            ) from error
        return restored.state, restored.meta

    def restore_subtree(self, step: int, path: tuple[str, ...], abstract: Any) -> Any:
        """Read one part of the stored state, e.g. ``("params",)`` for evaluation, without
        needing the rest to match this version's train state (so runs written before a field
        was added to it stay readable). ``abstract`` is that part's expected tree of nested
        dicts; raise ``CheckpointError`` if it is absent or has other leaves or shapes."""
        restored = self._manager.restore(
            step, args=ocp.args.Composite(state=ocp.args.StandardRestore())
        ).state
        where = self.directory / str(step)
        for key in path:
            if not isinstance(restored, dict) or key not in restored:
                raise CheckpointError(f"checkpoint {where} has no {'/'.join(path)}")
            restored = restored[key]
        _check_leaves(restored, abstract, where, prefix="/".join(path) + "/")
        return restored

    def close(self) -> None:
        """Release orbax's background resources."""
        self._manager.close()
