"""Curricula, one small module each, all on the shared training loop in ``ued.train``.

| paper                                   | ``--algo``  | module         |
|-----------------------------------------|-------------|----------------|
| Domain randomisation                    | ``dr``      | ``dr.py``      |
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from . import dr


@dataclasses.dataclass(frozen=True)
class Algorithm:
    """A registered curriculum.

    Attributes:
        name: the ``--algo`` value.
        Config: its frozen config dataclass (``TrainConfig.curriculum``).
        preset: ``preset_name -> TrainConfig`` with the paper's (or a CPU-sized) settings.
        make: ``(env, config) -> Curriculum``.
        validate: ``config -> None``, raising ``ued.config.ConfigError`` naming the field.
        summary: one line for ``--help``.
    """

    name: str
    Config: type
    preset: Callable[[str], Any]
    make: Callable[[Any, Any], Any]
    validate: Callable[[Any], None]
    summary: str


ALGORITHMS: dict[str, Algorithm] = {
    a.name: a
    for a in (
        Algorithm(
            "dr",
            dr.Config,
            dr.preset,
            dr.make,
            dr.validate,
            "domain randomisation: fresh random levels every update",
        ),
    )
}
