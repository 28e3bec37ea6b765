"""Curricula with state resume bit-exactly (one compile per pair: see test_conformance.py)."""

from __future__ import annotations

import pytest
from conftest import quiet

from ued.app.build import preset, train
from ued.config import override
from ued.logging import read_csv


class Killed(Exception):
    pass


# robust PLR's buffer runs by default; the other curricula's own resume state (ACCEL's
# mutations, SFL's learnability set, REPAIRED's generator) under `make test-all`: CI's budget.
@pytest.mark.parametrize(
    "algo",
    [
        "robust-plr",
        "accel-parallel",
        *(
            pytest.param(a, marks=pytest.mark.slow)
            for a in ("accel", "sfl", "repaired", "plr-parallel")
        ),
    ],
)
def test_resume_with_curriculum_state_is_bit_exact(algo, tmp_path):
    config = override(preset(algo, "maze", "test"), updates=8, checkpoint_every=4, eval_every=4)
    full = train(config, tmp_path / "a" / "run", **quiet())

    def kill(done, rows):
        if done == 8:
            raise Killed

    with pytest.raises(Killed):
        train(config, tmp_path / "b" / "run", **quiet(on_chunk=kill))
    resumed = train(config, tmp_path / "b" / "run", resume=True, **quiet())
    for name in ("metrics.csv", "eval.csv", "curriculum.csv"):
        assert (resumed.out / name).read_bytes() == (full.out / name).read_bytes(), name
    rows = read_csv(full.out / "metrics.csv")
    if algo != "sfl":  # the checkpoint at update 4 held a non-empty buffer
        assert int(rows[3]["buffer/size"]) > 0
    else:
        assert int(rows[3]["buffer/refreshes"]) == 2
    assert (full.out / "plots" / "buffer_000008.png").is_file()
