"""Shipped agents: small trained students under ``checkpoints/<name>/``, usable right after
install (``ued eval shipped:dr``, ``ued report``, the notebooks).

A shipped agent is a folder that reads like a run directory without orbax checkpoints:

* ``config.json``: the run's ``TrainConfig``;
* ``params.msgpack``: the students' parameters of every seed (flax msgpack, leading seed axis
  when the run has several seeds) and nothing else of the train state;
* ``shipped.json``: what it is (algorithm, seeds, updates, env steps, training time, the commit
  and machine it was made on, the sha256 of ``params.msgpack``) and its recorded classic-suite
  solve rate per seed;
* ``metrics.csv`` (every ``METRICS_EVERY``-th update), ``curriculum.csv`` and ``eval.csv``: the
  training logs; ``snapshots.npz``: what the curriculum trained on over training
  (``ued.snapshots``); ``evaluations/``: the report's evaluations (``ued.app.report``).

This module knows the files; ``ued.app.build`` reads a shipped agent like a run and
``ued.app.packaging`` makes one from a run.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import jax
import numpy as np
from flax import serialization

from .checkpoint import check_leaves
from .errors import CheckpointError, DamagedCheckpointError, RunError

PREFIX = "shipped:"
PARAMS = "params.msgpack"
MANIFEST = "shipped.json"
METRICS_EVERY = 10
"""Shipped ``metrics.csv`` keep every 10th update (the full log is ~2 MB per agent)."""


def root() -> Path:
    """The folder holding the shipped agents: the repository's ``checkpoints/``."""
    return Path(__file__).resolve().parents[1] / "checkpoints"


def names() -> list[str]:
    """The shipped agents' names (folders of ``root()`` with a manifest), sorted."""
    return sorted(p.parent.name for p in root().glob(f"*/{MANIFEST}"))


def resolve(run: str | Path) -> Path:
    """A run directory, or ``shipped:NAME`` -> the shipped agent's folder (``RunError`` naming
    the shipped agents when there is no such name)."""
    text = str(run)
    if not text.startswith(PREFIX):
        return Path(run)
    name = text[len(PREFIX) :]
    path = root() / name
    if not (path / MANIFEST).is_file():
        raise RunError(
            f"{text}: no shipped agent {name!r}; shipped agents: {', '.join(names()) or 'none'}"
        )
    return path


def is_shipped(path: Path) -> bool:
    """Whether ``path`` is a shipped agent's folder."""
    return (Path(path) / MANIFEST).is_file()


def manifest(path: Path) -> dict[str, Any]:
    """A shipped agent's ``shipped.json``."""
    return json.loads((Path(path) / MANIFEST).read_text())


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_params(path: Path, params: Any) -> str:
    """Write ``params`` (a tree of arrays) to ``path/params.msgpack`` atomically; returns its
    sha256."""
    data = serialization.msgpack_serialize(
        jax.tree_util.tree_map(np.asarray, serialization.to_state_dict(params))
    )
    tmp = Path(path) / (PARAMS + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(Path(path) / PARAMS)
    return _sha256(data)


def read_params(path: Path, abstract: Any) -> Any:
    """The parameters in ``path/params.msgpack``, checked against the manifest's sha256 and
    against ``abstract`` (the expected tree of ``ShapeDtypeStruct``): raises
    ``DamagedCheckpointError`` / ``CheckpointError`` naming the file and the first mismatch."""
    file = Path(path) / PARAMS
    if not file.is_file():
        raise CheckpointError(f"{path}: shipped agent without {PARAMS}")
    data = file.read_bytes()
    expected = manifest(path).get("params_sha256")
    if expected is not None and _sha256(data) != expected:
        raise DamagedCheckpointError(
            f"{file}: sha256 {_sha256(data)[:12]}... differs from the manifest's "
            f"{expected[:12]}... (a damaged or edited file)"
        )
    try:
        stored = serialization.msgpack_restore(data)
    except Exception as error:  # msgpack raises its own exception types
        raise DamagedCheckpointError(f"{file}: cannot be read: {error}") from error
    check_leaves(stored, abstract, file, prefix="params/")
    return jax.tree_util.tree_map(jax.numpy.asarray, stored)
