"""Output locations, checked before any work: a folder that cannot be created or written (a
file in the way, a path under a file, a name too long for the filesystem, no permission) is
answered with an error naming the path instead of an ``OSError`` after minutes of compiling."""

from __future__ import annotations

import errno
import os
from collections.abc import Sequence
from pathlib import Path

from .errors import ConfigError, RunError

RUN_FILES = frozenset(
    {"config.json", "config.json.tmp", "metrics.csv", "eval.csv", "curriculum.csv", "run.json",
     "plots", "checkpoints", "damaged-checkpoints"}
)  # fmt: skip
"""What ``ued.loop.run`` writes into a run directory."""


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:  # e.g. a name too long to look up
        return False


def _blocking_file(path: Path) -> Path | None:
    """The first ancestor of ``path`` (or ``path`` itself) that exists and is not a folder."""
    for part in [*reversed(path.parents), path]:
        if part.exists() and not part.is_dir():
            return part
    return None


def _too_long(path: Path) -> str | None:
    """Why a component of ``path`` is longer than its filesystem allows, or None."""
    existing = next((p for p in [path, *path.parents] if _is_dir(p)), Path("."))
    try:
        limit = os.pathconf(existing, "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    for name in path.parts:
        if len(os.fsencode(name)) > limit:
            return f"the name {name[:40]}... is {len(os.fsencode(name))} bytes, longer than {limit}"
    return None


def make_folder(path: Path, what: str, error=RunError) -> None:
    """Create the folder ``path`` (and its parents) or raise ``error`` saying why it cannot be
    (``what`` names it in the message, e.g. ``--out checkpoints/run``)."""
    reason = _too_long(path)
    if reason:
        raise error(f"{what}: cannot create {path}: {reason}")
    blocking = _blocking_file(path)
    if blocking == path:
        raise error(f"{what}: {path} is a file, not a folder")
    if blocking is not None:
        raise error(f"{what}: cannot create {path}: {blocking} is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as failure:
        raise error(f"{what}: cannot create {path}: {failure.strerror}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise error(f"{what}: cannot write into {path}: {os.strerror(errno.EACCES)}")


def check_new_run_directory(out: Path) -> None:
    """Create the folder of a new run, refusing one that holds a run with a checkpoint (a
    finished run is never overwritten) or files the run would not write. A folder holding only
    what a run writes, without any checkpoint, is a run stopped before its first checkpoint: it
    starts again from scratch."""
    reason = _too_long(out)
    if reason:
        raise RunError(f"--out: cannot create {out}: {reason}")
    checkpoints = out / "checkpoints"
    if checkpoints.is_dir() and any(checkpoints.iterdir()):
        raise RunError(
            f"{out} already holds a run; pass --resume {out} to continue it or choose another --out"
        )
    if out.is_dir():
        others = sorted(p.name for p in out.iterdir() if p.name not in RUN_FILES)
        if others:
            raise RunError(
                f"--out {out}: the folder exists and holds files that are not a run's "
                f"({', '.join(others[:3])}{', ...' if len(others) > 3 else ''}); choose a new or "
                "empty folder"
            )
    make_folder(out, "--out")


def check_output_file(
    out: Path, files: Sequence[Path] = (), folders: Sequence[Path] = (), flag: str = "--out"
) -> None:
    """Make sure the file ``out``, the ``files`` and the ``folders`` written next to it (a
    Markdown summary, a plots folder) can be written; raises ``ConfigError`` naming ``flag``."""
    out = Path(out)
    for path in (out, *files, *folders):
        reason = _too_long(path)
        if reason:
            raise ConfigError(f"{flag}: cannot write {path}: {reason}")
    if out.is_dir():
        raise ConfigError(f"{flag}: {out} is a folder; give a file name such as {out / 'eval.csv'}")
    blocking = _blocking_file(out.parent)
    if blocking is not None:
        raise ConfigError(f"{flag}: cannot write {out}: {blocking} is a file, not a folder")
    make_folder(out.parent, flag, ConfigError)
    for path in (out, *files, *folders):
        if path in files and path.is_dir():
            raise ConfigError(f"{flag}: cannot write {path}: a folder is in the way")
        if path in folders and path.exists() and not path.is_dir():
            raise ConfigError(f"{flag}: cannot create the folder {path}: a file is in the way")
        if path.exists() and not os.access(path, os.W_OK):
            raise ConfigError(f"{flag}: cannot write {path}: {os.strerror(errno.EACCES)}")
