"""Orbax checkpoints of the whole training state (student, optimiser, curriculum, RNG).

Orbax writes each step into a temporary directory and renames it when complete, so a crash during
a save never corrupts the last good checkpoint; ``latest_step`` only sees finished ones. Files
damaged afterwards (truncated, bytes flipped, a folder deleted) raise
``DamagedCheckpointError``: orbax reads raw array bytes without a checksum, so every save also
stores a digest of each leaf in the metadata, and every read compares them.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import shutil
import sys
import traceback
from pathlib import Path
from typing import Any

import jax
import numpy as np
import orbax.checkpoint as ocp

from .errors import CheckpointError, DamagedCheckpointError
from .parallel import to_host

__all__ = ["CheckpointError", "Checkpointer", "DamagedCheckpointError"]


def path_name(path) -> str:
    """A pytree key path as ``a/b/0`` (the names checkpoints and their errors use)."""
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
        shapes[path_name(path)] = (shape, str(np.dtype(dtype)))
    return shapes


def check_leaves(stored_tree, abstract, where: Path, prefix: str) -> None:
    """Raise ``CheckpointError`` naming the first leaf of a stored tree (arrays or orbax
    metadata) whose presence, shape or dtype differs from ``abstract``."""
    stored = {
        path_name(path): (tuple(leaf.shape), str(np.dtype(leaf.dtype)))
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


def _placed(abstract):
    """``abstract`` with every leaf that has no sharding put on this process's first device, so
    a checkpoint written on another set of devices (a 2-device run read by one) reads back."""
    device = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])

    def place(leaf):
        if getattr(leaf, "sharding", None) is not None:
            return leaf
        return jax.ShapeDtypeStruct(leaf.shape, leaf.dtype, sharding=device)

    return jax.tree_util.tree_map(place, abstract)


def _raw(leaf) -> np.ndarray:
    if jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
        leaf = jax.random.key_data(leaf)
    return np.ascontiguousarray(np.asarray(to_host(leaf)))


def digests(tree, prefix: str = "") -> dict[str, str]:
    """A short content digest of every leaf of ``tree``, by ``prefix + path_name``."""
    return {
        prefix + path_name(path): hashlib.blake2b(_raw(leaf).tobytes(), digest_size=8).hexdigest()
        for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]
    }


def _is_late_read_callback(error: BaseException) -> bool:
    """Whether ``error`` is tensorstore finishing a read for an asyncio loop that orbax has
    already closed: ``RuntimeError("Event loop is closed")`` raised in ``call_soon_threadsafe``."""
    if not (isinstance(error, RuntimeError) and str(error) == "Event loop is closed"):
        return False
    frames = traceback.extract_tb(error.__traceback__)
    return any(frame.name == "call_soon_threadsafe" for frame in frames)


def _quiet_late_read_callbacks() -> None:
    """After a failed read, the reads tensorstore still had in flight finish on its own threads
    and call back into orbax's closed event loop; each raises a harmless ``RuntimeError: Event
    loop is closed`` that Python reports as unraisable, a bare traceback on stderr. The read
    already failed and was reported in one line, so drop exactly those (everything else reaches
    the previous ``sys.unraisablehook``). Installed once, before the first read (the callbacks
    can fire while the read's exception is still on its way out of orbax)."""
    previous = sys.unraisablehook
    if getattr(previous, "_ued_quiet", False):
        return

    def hook(unraisable):
        if unraisable.exc_value is not None and _is_late_read_callback(unraisable.exc_value):
            return
        previous(unraisable)

    hook._ued_quiet = True  # type: ignore[attr-defined]
    sys.unraisablehook = hook
    logging.getLogger("asyncio").addFilter(_drop_unretrieved_read_errors)


def _drop_unretrieved_read_errors(record: logging.LogRecord) -> bool:
    """asyncio's "Task exception was never retrieved" for another in-flight read of the same
    damaged checkpoint (a tensorstore error naming its spec): the read already failed and was
    reported in one line. Every other record passes."""
    if not record.getMessage().startswith("Task exception was never retrieved"):
        return True
    error = record.exc_info[1] if record.exc_info else None
    text = f"{record.getMessage()} {error}"
    return "tensorstore_spec" not in text and "OCDBT" not in text


def _summary(error: Exception) -> str:
    """The first line of an orbax / tensorstore error, without its long tensorstore spec."""
    text = str(error).split("[tensorstore_spec")[0].strip()
    text = text.splitlines()[0] if text else ""
    return f"{type(error).__name__}: {text[:300]}" if text else type(error).__name__


class Checkpointer:
    """Saves and restores ``(state, metadata)`` pairs under ``directory/<step>/``."""

    def __init__(self, directory: Path, max_to_keep: int | None = 3):
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
        """Write a checkpoint (with a digest of every leaf in its metadata) and wait until it
        is durable. With several processes, every one must call this (each writes its shards;
        the digests gather split arrays)."""
        metadata = {**metadata, "digests": digests(state)}
        self._manager.save(
            step,
            args=ocp.args.Composite(
                state=ocp.args.StandardSave(state), meta=ocp.args.JsonSave(metadata)
            ),
        )
        self._manager.wait_until_finished()

    @contextlib.contextmanager
    def _reading(self, step: int):
        """Turn any failure to read checkpoint ``step``'s files into ``DamagedCheckpointError``
        (orbax and tensorstore raise ValueError, KeyError, JSONDecodeError or bare Exception)."""
        where = self.directory / str(step)
        for part in ("state", "meta"):
            if not (where / part).is_dir():
                raise DamagedCheckpointError(
                    f"checkpoint {where} is damaged: its {part}/ folder is missing"
                )
        _quiet_late_read_callbacks()  # before the read: they can race its exception out
        try:
            yield where
        except CheckpointError:
            raise
        except Exception as error:
            raise DamagedCheckpointError(
                f"checkpoint {where} is damaged: {_summary(error)}"
            ) from error

    def metadata(self, step: int) -> dict[str, Any]:
        """The JSON metadata saved with ``step``."""
        with self._reading(step) as where:
            restored = self._manager.restore(
                step, args=ocp.args.Composite(meta=ocp.args.JsonRestore())
            )
            if not isinstance(restored.meta, dict):
                raise DamagedCheckpointError(f"checkpoint {where} is damaged: metadata not a dict")
        return restored.meta

    def check_compatible(self, step: int, abstract_state: Any) -> None:
        """Compare the stored tree with ``abstract_state`` (from ``jax.eval_shape``) without
        reading arrays; raise ``CheckpointError`` naming the first mismatching leaf."""
        with self._reading(step):
            stored_tree = self._manager.item_metadata(step)["state"]
            stored_tree = getattr(stored_tree, "tree", stored_tree)
        check_leaves(stored_tree, abstract_state, self.directory / str(step), prefix="")

    def _verify(self, step: int, tree: Any, metadata: dict[str, Any], prefix: str = "") -> None:
        """Compare the leaves read back with the digests saved with them (checkpoints written
        before digests existed are not checked)."""
        saved = metadata.get("digests")
        if not isinstance(saved, dict):
            return
        for name, digest in digests(tree, prefix).items():
            if saved.get(name) != digest:
                raise DamagedCheckpointError(
                    f"checkpoint {self.directory / str(step)} is damaged: the data of {name} "
                    "does not match the checksum saved with it"
                )

    def restore(self, step: int, abstract_state: Any) -> tuple[Any, dict[str, Any]]:
        """Read ``step`` into the structure of ``abstract_state``; returns ``(state, metadata)``.
        Raises ``DamagedCheckpointError`` if its files cannot be read back intact."""
        self.check_compatible(step, abstract_state)
        metadata = self.metadata(step)
        with self._reading(step) as where:
            try:
                restored = self._manager.restore(
                    step,
                    args=ocp.args.Composite(
                        state=ocp.args.StandardRestore(_placed(abstract_state))
                    ),
                )
            except ValueError as error:  # e.g. a train-state field this checkpoint predates
                if "tree structures do not match" not in str(error):
                    raise
                raise CheckpointError(
                    f"checkpoint {where} has another train-state structure than this version of "
                    f"the code: {str(error).splitlines()[0]} (evaluation still works: it reads "
                    "only the parameters)"
                ) from error
        self._verify(step, restored.state, metadata)
        return restored.state, metadata

    def reload(self) -> None:
        """See checkpoints that another process moved or wrote."""
        self._manager.reload()

    def set_aside(self, step: int, folder: Path) -> Path:
        """Move checkpoint ``step`` out of the way into ``folder`` (kept for inspection, never
        deleted); returns where it went."""
        folder.mkdir(parents=True, exist_ok=True)
        target, n = folder / str(step), 1
        while target.exists():
            target, n = folder / f"{step}-{n}", n + 1
        shutil.move(str(self.directory / str(step)), str(target))
        self._manager.reload()
        return target

    def restore_subtree(self, step: int, path: tuple[str, ...], abstract: Any) -> Any:
        """Read one part of the stored state, e.g. ``("params",)`` for evaluation, without
        needing the rest to match this version's train state (so runs written before a field
        was added to it stay readable). ``abstract`` is that part's expected tree of nested
        dicts; raise ``CheckpointError`` if it is absent or has other leaves or shapes."""
        metadata = self.metadata(step)
        with self._reading(step) as where:
            stored = self._manager.item_metadata(step)["state"]
            target = _placed(jax.tree_util.tree_map(
                lambda m: jax.ShapeDtypeStruct(m.shape, m.dtype), getattr(stored, "tree", stored)
            ))  # fmt: skip
            restored = self._manager.restore(
                step, args=ocp.args.Composite(state=ocp.args.StandardRestore(target))
            ).state
        for key in path:
            if not isinstance(restored, dict) or key not in restored:
                raise CheckpointError(f"checkpoint {where} has no {'/'.join(path)}")
            restored = restored[key]
        prefix = "/".join(path) + "/"
        check_leaves(restored, abstract, where, prefix=prefix)
        self._verify(step, restored, metadata, prefix)
        return restored

    def close(self) -> None:
        """Release orbax's background resources."""
        self._manager.close()


def skip_damaged(step: int, read, log) -> list[tuple[int, Any]]:
    """``[(step, read(step))]``, or ``[]`` if ``read`` raises ``DamagedCheckpointError`` (the
    problem named through ``log``): for readers of every checkpoint of a run."""
    try:
        return [(step, read(step))]
    except DamagedCheckpointError as error:
        log(f"skipping checkpoint {step}: {error}")
        return []


def newest_intact(steps, read, log, where: str) -> tuple[int, Any]:
    """``(step, read(step))`` for the newest of ``steps`` that ``read`` finds intact (it raises
    ``DamagedCheckpointError`` otherwise); each damaged newer one is named with its problem
    through ``log``. Raises ``CheckpointError`` (``"{where}: no intact checkpoint: ..."``,
    every problem named) if none is."""
    problems = []
    for step in sorted(steps, reverse=True):
        try:
            return step, read(step)
        except DamagedCheckpointError as error:
            log(f"skipping checkpoint {step}: {error}")
            problems.append(str(error))
    raise CheckpointError(f"{where}: no intact checkpoint: {'; '.join(problems)}")
