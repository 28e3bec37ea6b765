"""Every registered curriculum: one compile, finite metrics, bit-exact resume with its state."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from algorithms import ALGORITHMS
from envs import ENVS
from ued.config import override
from ued.logging import read_csv
from ued.train import make_train, run, seed_keys


@pytest.mark.parametrize("algo", sorted(ALGORITHMS))
def test_every_algorithm_compiles_once_and_steps(algo):
    config = ALGORITHMS[algo].preset("test")
    env = ENVS[config.env].make(config)
    init, chunk = make_train(env, ALGORITHMS[algo].make(env, config), config)
    traces = 0

    def counted(state, start):
        nonlocal traces
        traces += 1
        return chunk(state, start)

    jitted = jax.jit(counted)
    state = jax.jit(init)(seed_keys(config))
    for start in (0, 2, 4):
        state, metrics, levels = jitted(state, jnp.int32(start))
    assert traces == 1
    assert set(metrics["student/lr"].shape) == {config.updates_per_chunk}  # one row per update
    for name, value in metrics.items():
        assert np.all(np.isfinite(np.asarray(value, np.float64))), name
    assert jax.tree_util.tree_leaves(levels)[0].shape[0] == config.ppo.num_envs


class Killed(Exception):
    pass


@pytest.mark.parametrize("algo", ["robust-plr", "accel", "sfl"])
def test_resume_with_curriculum_state_is_bit_exact(algo, tmp_path):
    config = override(ALGORITHMS[algo].preset("test"), updates=8, checkpoint_every=4, eval_every=4)
    quiet = {"progress": False, "log": lambda *_: None}
    full = run(config, tmp_path / "a" / "run", **quiet)

    def kill(done, rows):
        if done == 8:
            raise Killed

    with pytest.raises(Killed):
        run(config, tmp_path / "b" / "run", on_chunk=kill, **quiet)
    resumed = run(config, tmp_path / "b" / "run", resume=True, **quiet)
    for name in ("metrics.csv", "eval.csv", "curriculum.csv"):
        assert (resumed.out / name).read_bytes() == (full.out / name).read_bytes(), name
    rows = read_csv(full.out / "metrics.csv")
    if algo != "sfl":  # the checkpoint at update 4 held a non-empty buffer
        assert int(rows[3]["buffer/size"]) > 0
    else:
        assert int(rows[3]["buffer/refreshes"]) == 2
    assert (full.out / "plots" / "buffer_000008.png").is_file()
