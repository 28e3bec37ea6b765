"""The drift figure of docs/studies/lpo.md: PPO's and DPO's drifts over (ρ, A), and what LPO
and TA-LPO (at training fractions 0, 0.5, 1) evolved on top of PPO's, from the rule files of a
study.

    .venv/bin/python scripts/drift_figure.py results/lpo-study docs/lpo_drift.png
"""

from __future__ import annotations

import sys
from pathlib import Path

import jax

from ued.config import PPOConfig
from ued.drift import DPODrift, PPODrift, load_rule
from ued.plots import drift_grid
from ued.ppo import PPOHypers


def bound(objective, rule=(), minus=None):
    """``(log ρ, A, n/N) -> drift`` of ``objective`` (minus ``minus``'s) at PPO's clip 0.2."""
    hypers = PPOHypers.of(PPOConfig(), rule)
    plain = PPOHypers.of(PPOConfig())

    @jax.jit
    def drift(log_ratio, advantages, progress):
        value = objective.drift(log_ratio, advantages, hypers, progress)
        if minus is not None:
            value = value - minus.drift(log_ratio, advantages, plain, progress)
        return value

    return drift


def main(study: Path, out: Path) -> None:
    """Writes the figure ``out`` from ``study``'s ``lpo-dr`` and ``ta-lpo-dr`` seed-0 rules."""
    lpo, ta_lpo = (load_rule(study / run / "rules" / "seed0.msgpack")
                   for run in ("lpo-dr", "ta-lpo-dr"))  # fmt: skip
    learned = bound(lpo, lpo.init_rule(), minus=PPODrift())
    temporal = bound(ta_lpo, ta_lpo.init_rule(), minus=PPODrift())
    rows = [
        [("PPO", bound(PPODrift()), 0.0), ("DPO", bound(DPODrift()), 0.0),
         ("LPO (seed 0) − PPO", learned, 0.0)],
        [(f"TA-LPO (seed 0) − PPO, n/N = {f:g}", temporal, f) for f in (0.0, 0.5, 1.0)],
    ]  # fmt: skip
    out.parent.mkdir(parents=True, exist_ok=True)
    drift_grid(rows, out)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
