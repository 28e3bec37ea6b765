"""Append-only CSV logs that survive interruption: rows are flushed as written, and a resumed run
first drops the rows written after its checkpoint, so the file equals an uninterrupted run's."""

from __future__ import annotations

import csv
import gzip
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np


def format_value(value: Any) -> str:
    """Exact text for a number (shortest round-trip repr), so equal runs give equal files."""
    if isinstance(value, (bool, np.bool_)):
        return str(int(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    return str(value)


class CsvLog:
    """A CSV file with a fixed header, written row by row.

    Args:
        path: the file.
        keep: on opening an existing file, keep only rows for which ``keep(row)`` is true (rows
            as dicts of strings); ``None`` starts the file afresh.
    """

    def __init__(self, path: Path, keep: Callable[[dict[str, str]], bool] | None = None):
        self.path = Path(path)
        self._fields: list[str] | None = None
        kept: list[dict[str, str]] = []
        if keep is not None and self.path.exists():
            with self.path.open(newline="") as f:
                reader = csv.DictReader(f)
                self._fields = list(reader.fieldnames or []) or None
                kept = [row for row in reader if keep(row)]
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        with tmp.open("w", newline="") as f:
            if self._fields:
                writer = csv.DictWriter(f, fieldnames=self._fields, lineterminator="\n")
                writer.writeheader()
                writer.writerows(kept)
        tmp.replace(self.path)

    def write(self, rows: Iterable[dict[str, Any]]) -> None:
        """Append rows (dicts with identical keys; the first row fixes the column order)."""
        rows = list(rows)
        if not rows:
            return
        if self._fields is None:
            self._fields = list(rows[0])
            with self.path.open("a", newline="") as f:
                csv.DictWriter(f, fieldnames=self._fields, lineterminator="\n").writeheader()
        with self.path.open("a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=self._fields, lineterminator="\n")
            for row in rows:
                if set(row) != set(self._fields):
                    raise ValueError(
                        f"{self.path}: row columns {sorted(row)} differ from the header "
                        f"{sorted(self._fields)}"
                    )
                writer.writerow({k: format_value(v) for k, v in row.items()})


def log_file(run: Path, name: str) -> Path:
    """A run's log ``name`` (e.g. ``eval.csv``), or its gzip-compressed ``name.gz`` where only
    that exists (shipped agents compress their logs)."""
    plain = Path(run) / name
    packed = plain.with_name(name + ".gz")
    return packed if not plain.exists() and packed.exists() else plain


def read_csv(path: Path) -> list[dict[str, str]]:
    """All rows of a CSV file (``.csv.gz``: gzip-compressed) as dicts of strings."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="") as f:
        return list(csv.DictReader(f))
