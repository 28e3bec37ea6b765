"""The hand-designed A2C baseline's settings, tuned per level family.

Meta-evaluation normalises a learned rule's return by A2C's for the same lifetime, and GROOVE's
algorithmic regret trains A2C antagonists. By default both use the inner agents' own optimiser
and entropy 0.01, as GROOVE's reference does; ``--a2c-tuned True`` uses this table instead. It
was chosen by ``scripts/tune_a2c.py`` (Adam step size in {0.01, 0.03, 0.1, 0.3} x entropy bonus
in {0.003, 0.03}, 8 levels of each random family or every level of a fixed suite, 2 seeds) for
inner agents that are a 16-wide embedding with linear heads trained by Adam (``--agent.tabular
False --agent.optimizer adam --agent.embedding 16``, the ``cpu`` preset's agents before they
became the reference's tables), 16 envs x 20 steps per update, lifetimes capped at 50 updates,
on the level distributions before they became the reference's. The mean final return of the
best and runner-up settings:

============  ===========================  ==============================
family        chosen (lr, entropy): return  next best
============  ===========================  ==============================
small         0.03, 0.003: 1.70 ± 0.03      0.03, 0.03: 1.68
medium        0.03, 0.003: 1.72 ± 0.05      0.03, 0.03: 1.60
lpg-grids     0.03, 0.03: 15.0 ± 0.3        0.03, 0.003: 13.4
mazes         0.1, 0.03: 0.02 ± 0.01        0.01, 0.003: 0.006
============  ===========================  ==============================

On the mazes no setting learns much in 50 updates (their goals are far and sparse), so A2C-
normalised returns there are noise; the oracle-normalised return is the one to read. Families
not in the table (``large``, ``all``, level files) use the inner agents' own settings.
"""

from __future__ import annotations

TUNED_A2C: dict[str, dict[str, float]] = {
    "small": {"lr": 0.03, "entropy_coef": 0.003},
    "medium": {"lr": 0.03, "entropy_coef": 0.003},
    "lpg-grids": {"lr": 0.03, "entropy_coef": 0.03},
    "mazes": {"lr": 0.1, "entropy_coef": 0.03},
}
"""A2C's Adam step size and entropy bonus per level family (see the module docstring)."""

SAMPLED_SUITES = ("random", "cvar")


def tuned_a2c(settings, suite: str) -> dict[str, float] | None:
    """A2C's tuned settings for evaluation ``suite`` in an env with ``settings``: a fixed suite
    by its name, a sampled one (``random``) by the training distribution; None if untuned."""
    family = settings.distribution if suite in SAMPLED_SUITES else suite
    return TUNED_A2C.get(family)
