"""The built-in env families, curricula, meta-algorithms and learners, declared by name with
the module that registers each (their entry points in ``ued.registry``). A module is imported
when one of its names is first used, so ``ued eval`` of a maze run never imports gymnax or
Craftax. Importing this module declares them; it is idempotent."""

from __future__ import annotations

from .. import registry

ENVS = {
    "maze": "envs.maze",
    "gridworld": "envs.gridworld",
    "gridworld-rand": "envs.gridworld",
    "cartpole": "envs.control",
    "acrobot": "envs.control",
    "mountain-car": "envs.control",
    "pendulum": "envs.control",
    "breakout": "envs.minatar",
    "space-invaders": "envs.minatar",
    "asterix": "envs.minatar",
    "freeway": "envs.minatar",
    "craftax-classic": "envs.craftax",
}
"""``--env`` -> the module that registers it."""

ALGORITHMS = {
    "dr": "algorithms.dr",
    "plr": "algorithms.plr",
    "robust-plr": "algorithms.plr",
    "plr-generator": "algorithms.plr",
    "plr-parallel": "algorithms.plr",
    "accel": "algorithms.accel",
    "accel-parallel": "algorithms.accel",
    "sfl": "algorithms.sfl",
    "ncc-theory": "algorithms.ncc",
    "ncc-reg": "algorithms.ncc",
    "ncc-learn": "algorithms.ncc",
    "paired": "algorithms.paired",
    "flexible-paired": "algorithms.paired",
    "minimax-adversary": "algorithms.paired",
    "repaired": "algorithms.paired",
}
"""``ued train --algo`` -> the module that registers it."""

META_ALGORITHMS = {"lpg": "algorithms.lpg", "groove": "algorithms.groove", "lpo": "algorithms.lpo"}
"""``ued meta-train --algo`` -> the module that registers it."""

LEARNERS = {"ppo": "ued.ppo", "dpo": "ued.drift", "lpo": "ued.drift"}
"""``ued train --learner`` -> the module that registers it."""


def declare() -> None:
    """Declare every built-in name in its registry (names already registered are kept)."""
    for table, names in ((registry.ENVS, ENVS), (registry.ALGORITHMS, ALGORITHMS),
                         (registry.META_ALGORITHMS, META_ALGORITHMS),
                         (registry.LEARNERS, LEARNERS)):  # fmt: skip
        for name, module in names.items():
            table.register_lazy(name, module)


declare()
