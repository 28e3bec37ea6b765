"""The errors the toolkit raises for bad input. Each message names what is wrong (a config field,
a file with its line, a checkpoint), and the ``ued`` command prints it without a traceback."""

from __future__ import annotations


class ConfigError(ValueError):
    """An invalid configuration, or an algorithm × env pair that cannot work; the message names
    the field or the missing capability."""


class CheckpointError(RuntimeError):
    """A missing, unreadable or mismatched checkpoint; the message names the problem."""


class DamagedCheckpointError(CheckpointError):
    """A checkpoint whose files cannot be read back intact (truncated or corrupted data, garbage
    metadata, a missing folder); the message names the checkpoint and the problem."""


class RunError(RuntimeError):
    """A run directory that cannot be used as asked (exists already, nothing to resume, ...)."""


class LevelFormatError(ValueError):
    """A malformed level file; the message starts with ``file:line[:column]``."""


class DivergenceError(RunError):
    """A run whose losses, parameters or scores went non-finite; the message names the update,
    the value and the last intact checkpoint."""


USER_ERRORS = (ConfigError, CheckpointError, RunError, LevelFormatError, FileNotFoundError)
"""What the command line reports as a one-line error instead of a traceback."""
