"""Slow end-to-end checks (``make test-all``): every practical curriculum, at the ``cpu`` preset
shortened to about 300 gradient updates (a few minutes each on 2 cores), must turn an untrained
student into one that solves most held-out random mazes. A broken curriculum (levels the student
cannot learn from, a gradient never applied, a score with the wrong sign) fails here even when
every unit test passes."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import quiet

from ued.app.build import preset, train
from ued.config import override
from ued.logging import read_csv

# ACCEL applies PPO on replayed levels only (about 45% of updates once its buffer fills), so it
# gets more updates to see about as many gradient steps as the others.
UPDATES = {"accel": 700}


@pytest.mark.slow
@pytest.mark.parametrize(
    "algo", ["dr", "plr", "robust-plr", "accel", "sfl", "ncc-reg", "ncc-learn"]
)
def test_curriculum_learns_at_the_cpu_preset(algo, tmp_path):
    updates = UPDATES.get(algo, 300)
    config = override(
        preset(algo, "maze", "cpu"),
        updates=updates,
        eval_every=updates,
        checkpoint_every=updates,
        eval_suites=("random",),
    )
    result = train(config, tmp_path / algo, **quiet())
    per_level: dict[int, list[float]] = {}
    for r in read_csv(result.out / "eval.csv"):
        if r["statistic"] == "solve_rate":
            per_level.setdefault(int(r["update"]), []).append(float(r["value"]))
    solve = {update: float(np.mean(values)) for update, values in per_level.items()}
    assert set(solve) == {0, updates}, solve
    assert solve[0] < 0.4, solve  # the untrained policy stumbles on the goal now and then
    assert solve[updates] > 0.6, solve
    rows = read_csv(result.out / "metrics.csv")
    applied = np.array([float(r["curriculum/apply_gradient"]) for r in rows])
    assert applied.sum() >= 0.3 * updates, "too few gradient updates were applied"
