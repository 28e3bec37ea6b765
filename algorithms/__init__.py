"""Curricula, one small module each, all on the shared training loop in ``ued.train``.

| paper                                              | ``--algo``     | module      |
|----------------------------------------------------|----------------|-------------|
| Domain randomisation                               | ``dr``         | dr.py       |
| Prioritized Level Replay (Jiang et al. 2021a)      | ``plr``        | plr.py      |
| Robust PLR / PLR⊥ (Jiang et al. 2021b)             | ``robust-plr`` | plr.py      |
| ACCEL (Parker-Holder et al. 2022)                  | ``accel``      | accel.py    |
| Sampling For Learnability (Rutherford et al. 2024) | ``sfl``        | sfl.py      |
| Optimisation-framework UED, provable (NCC, 2025)   | ``ncc-theory`` | ncc.py      |
| NCC, practical, oracle regret                      | ``ncc-reg``    | ncc.py      |
| NCC, practical, learnability                       | ``ncc-learn``  | ncc.py      |
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

from . import accel, dr, ncc, plr, sfl


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
        Algorithm(
            "plr",
            plr.Config,
            functools.partial(plr.preset, robust=False),
            plr.make,
            plr.validate,
            "PLR: replay high-regret levels; learn on new levels too",
        ),
        Algorithm(
            "robust-plr",
            plr.Config,
            plr.preset,
            plr.make,
            plr.validate,
            "robust PLR (PLR⊥): learn only on replayed levels",
        ),
        Algorithm(
            "accel",
            accel.Config,
            accel.preset,
            accel.make,
            accel.validate,
            "ACCEL: robust PLR whose buffer also grows by editing replayed levels",
        ),
        *(
            Algorithm(
                name,
                ncc.Config,
                functools.partial(ncc.preset, name),
                ncc.make,
                ncc.validate,
                summary,
            )
            for name, summary in (
                ("ncc-theory", "NCC with the theory's choices: REINFORCE+SGD, static buffer"),
                ("ncc-reg", "NCC: learned distribution over a dynamic buffer, oracle regret"),
                ("ncc-learn", "NCC: learned distribution over a dynamic buffer, learnability"),
            )
        ),
        Algorithm(
            "sfl",
            sfl.Config,
            sfl.preset,
            sfl.make,
            sfl.validate,
            "SFL: train on the most learnable of many freshly scored random levels",
        ),
    )
}
