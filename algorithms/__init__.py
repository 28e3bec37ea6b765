"""Curricula, one small module each, all on the shared UED training program (``ued.train``).
Importing this package registers every one in ``ued.registry.ALGORITHMS``.

| paper                                              | ``--algo``     | module      | env needs |
|----------------------------------------------------|----------------|-------------|-----------|
| Domain randomisation                               | ``dr``         | dr.py       | -         |
| Prioritized Level Replay (Jiang et al. 2021a)      | ``plr``        | plr.py      | (score's) |
| Robust PLR / PLR⊥ (Jiang et al. 2021b)             | ``robust-plr`` | plr.py      | (score's) |
| ACCEL (Parker-Holder et al. 2022)                  | ``accel``      | accel.py    | mutator   |
| Sampling For Learnability (Rutherford et al. 2024) | ``sfl``        | sfl.py      | success   |
| Optimisation-framework UED, provable (NCC, 2025)   | ``ncc-theory`` | ncc.py      | oracle    |
| NCC, practical, oracle regret                      | ``ncc-reg``    | ncc.py      | oracle    |
| NCC, practical, learnability                       | ``ncc-learn``  | ncc.py      | success   |
| PAIRED (Dennis et al. 2020)                        | ``paired``     | paired.py   | editor    |
| Flexible PAIRED (dcd's ``flexible_paired``)        | ``flexible-paired`` | paired.py | editor  |
| Minimax adversary (Dennis et al. 2020's baseline)  | ``minimax-adversary`` | paired.py | editor |
| REPAIRED (Jiang et al. 2021b)                      | ``repaired``   | paired.py   | editor    |
| Robust PLR with a generator agent (not a paper)    | ``plr-generator`` | plr.py   | editor    |

Replay scores: ``oracle_regret`` needs an oracle, ``learnability`` a success signal.
"""

from __future__ import annotations

from . import accel, dr, ncc, paired, plr, sfl

__all__ = ["accel", "dr", "ncc", "paired", "plr", "sfl"]
