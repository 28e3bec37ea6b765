"""Curricula, one small module each, all on the shared UED training program (``ued.train``).
Importing a module registers its curricula in ``ued.registry.ALGORITHMS``;
``ued.app.builtins`` declares each name with its module, imported when first used.

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

Meta-algorithms (``ued meta-train --algo``), registered in ``ued.registry.META_ALGORITHMS``:

| paper                               | ``--algo`` | module    | env needs                       |
|-------------------------------------|------------|-----------|---------------------------------|
| LPG (Oh et al. 2020), random levels | ``lpg``    | lpg.py    | lifetimes                       |
| GROOVE (Jackson et al. 2023)        | ``groove`` | groove.py | lifetimes (oracle for regret)   |

Replay scores: ``oracle_regret`` needs an oracle, ``learnability`` a success signal.
"""
