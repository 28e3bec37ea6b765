"""The generic training loop: one compile, determinism, exact resume, vmap over seeds, and
end-to-end smoke runs that complete real updates."""

from __future__ import annotations

import dataclasses
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from algorithms import ALGORITHMS
from envs import ENVS
from ued.config import override as replace
from ued.logging import read_csv
from ued.train import make_train, run, seed_keys


class Killed(Exception):
    pass


def _files(out):
    return {name: (out / name).read_bytes() for name in ("metrics.csv", "eval.csv")}


def test_full_run_writes_everything_and_completes_real_updates(dr_run, test_config):
    out = dr_run.out
    config = json.loads((out / "config.json").read_text())
    assert config["algo"] == "dr" and config["updates"] == 4
    rows = read_csv(out / "metrics.csv")
    assert [int(r["update"]) for r in rows] == [0, 1, 2, 3]
    assert [int(r["env_steps"]) for r in rows] == [32, 64, 96, 128]
    # Real gradient steps happened: non-zero gradients and a decaying learning rate.
    assert all(float(r["student/grad_norm"]) > 0 for r in rows)
    assert all(r["curriculum/apply_gradient"] == "1" for r in rows)
    lrs = [float(r["student/lr"]) for r in rows]
    np.testing.assert_allclose(lrs, 1e-3 * (1 - np.arange(4) / 4), rtol=1e-6)
    assert sorted(int(p.name) for p in (out / "checkpoints").iterdir() if p.name.isdigit()) == [
        2,
        4,
    ]
    evals = read_csv(out / "eval.csv")
    assert {int(r["update"]) for r in evals} == {0, 2, 4}
    assert {r["level"] for r in evals} >= {"SixteenRooms", "Labyrinth"}
    for name in ("curves.png", "eval.png", "levels.png"):
        assert (out / "plots" / name).stat().st_size > 1000
    assert dr_run.steps_per_s > 0 and dr_run.compile_s > 0


def test_parameters_change_between_checkpoints(dr_run, test_config, test_env):
    from ued.checkpoint import Checkpointer

    curriculum = ALGORITHMS["dr"].make(test_env, test_config)
    init, _ = make_train(test_env, curriculum, test_config)
    abstract = jax.eval_shape(init, seed_keys(test_config))
    ckpt = Checkpointer(dr_run.out / "checkpoints")
    a, _ = ckpt.restore(2, abstract)
    b, meta = ckpt.restore(4, abstract)
    assert meta["update"] == 4
    diffs = [
        float(jnp.abs(x - y).max())
        for x, y in zip(jax.tree_util.tree_leaves(a.params), jax.tree_util.tree_leaves(b.params))
    ]
    assert max(diffs) > 0


def test_evaluation_reads_only_the_parameters(dr_run, test_config, test_env, tmp_path):
    """``load_run`` gets exactly the checkpoint's parameters, and ``restore_subtree`` reads a
    checkpoint whose train state lacks fields this version has (written by an older version)."""
    from ued.checkpoint import Checkpointer, CheckpointError
    from ued.train import load_run

    init, _ = make_train(test_env, ALGORITHMS["dr"].make(test_env, test_config), test_config)
    abstract = jax.eval_shape(init, seed_keys(test_config))
    full, _ = Checkpointer(dr_run.out / "checkpoints").restore(4, abstract)
    loaded = load_run(dr_run.out)
    assert loaded.step == 4 and len(loaded.seed_params) == 1
    equal = jax.tree_util.tree_map(np.array_equal, loaded.seed_params[0], full.params)
    assert all(jax.tree_util.tree_leaves(equal))

    older = Checkpointer(tmp_path / "older")
    older.save(1, {"params": full.params, "rng": full.rng}, {"update": 1})
    predates_best = {f: getattr(full, f) for f in ("params", "opt_state", "curriculum", "rng")}
    older.save(2, predates_best, {"update": 2})
    with pytest.raises(CheckpointError, match="another train-state structure"):
        older.restore(2, abstract)  # resuming needs the whole state; evaluation does not
    params = older.restore_subtree(1, ("params",), abstract.params)
    assert all(
        jax.tree_util.tree_leaves(jax.tree_util.tree_map(np.array_equal, params, full.params))
    )
    with pytest.raises(CheckpointError, match="has no best/params"):
        older.restore_subtree(1, ("best", "params"), abstract.params)
    wrong = jax.tree_util.tree_map(
        lambda x: jax.ShapeDtypeStruct((*x.shape, 2), x.dtype), abstract.params
    )
    with pytest.raises(CheckpointError, match="does not match"):
        older.restore_subtree(1, ("params",), wrong)
    older.close()


def test_same_seed_gives_identical_files(dr_run, test_config, tmp_path):
    again = run(test_config, tmp_path / dr_run.out.name, progress=False, log=lambda *_: None)
    assert _files(again.out) == _files(dr_run.out)


def test_different_seed_differs(dr_run, test_config, tmp_path):
    other = run(
        replace(test_config, seed=7), tmp_path / "other", progress=False, log=lambda *_: None
    )
    assert _files(other.out)["metrics.csv"] != _files(dr_run.out)["metrics.csv"]


def _kill_at(update):
    def kill(done, rows):
        if done == update:
            raise Killed

    return kill


def test_killed_run_resumes_bit_exactly(dr_run, test_config, tmp_path):
    """Kill the run after update 4's rows are written but before its evaluation and checkpoint;
    resuming continues from checkpoint 2, drops the orphaned rows, and ends byte-identical to the
    uninterrupted run."""
    out = tmp_path / dr_run.out.name  # the run name is part of eval.csv's rows
    with pytest.raises(Killed):
        run(test_config, out, progress=False, log=lambda *_: None, on_chunk=_kill_at(4))
    assert len(read_csv(out / "metrics.csv")) == 4  # rows no checkpoint covers yet
    # A save interrupted mid-write leaves only orbax's temporary directory behind.
    (out / "checkpoints" / "4.orbax-checkpoint-tmp-1234567").mkdir()
    run(test_config, out, resume=True, progress=False, log=lambda *_: None)
    assert _files(out) == _files(dr_run.out)


def test_resume_without_a_checkpoint_fails_clearly(test_config, tmp_path):
    from ued.checkpoint import CheckpointError

    out = tmp_path / "early"
    with pytest.raises(Killed):
        run(test_config, out, progress=False, log=lambda *_: None, on_chunk=_kill_at(2))
    with pytest.raises(CheckpointError, match="no complete checkpoint"):
        run(test_config, out, resume=True, progress=False, log=lambda *_: None)


def test_vmapped_seeds_equal_separate_runs(test_config, test_env):
    """Several seeds in one vmapped program reproduce the single-seed runs: discrete outcomes
    exactly, float losses up to summation order (batched matmuls, ~1e-7)."""

    def go(config):
        curriculum = ALGORITHMS["dr"].make(test_env, config)
        init, chunk = make_train(test_env, curriculum, config)
        state, chunk = jax.jit(init)(seed_keys(config)), jax.jit(chunk)
        out = []
        for start in range(0, config.updates, config.updates_per_chunk):
            state, metrics, _ = chunk(state, jnp.int32(start))
            out.append(metrics)
        return jax.tree_util.tree_map(lambda *x: np.concatenate(x), *out)

    both = go(replace(test_config, seeds=(0, 3)))
    for column, seed in enumerate((0, 3)):
        single = go(replace(test_config, seed=seed))
        for name, values in single.items():
            np.testing.assert_allclose(
                both[name][:, column], values, rtol=1e-5, atol=1e-6, err_msg=name
            )
        for name in ("student/return", "student/episodes", "student/solve_rate"):
            np.testing.assert_array_equal(both[name][:, column], single[name])


def test_ppo_learns_a_trivial_maze(tmp_path):
    """A sign error anywhere in GAE / PPO / the loop would stop this from improving: on an
    open 5x5 maze the solve rate of completed episodes and the return must clearly rise."""
    config = ALGORITHMS["dr"].preset("test")
    config = replace(
        config,
        updates=60,
        updates_per_chunk=20,
        eval_every=0,
        checkpoint_every=60,
        maze__height=5,
        maze__width=5,
        maze__n_walls=0,
        maze__max_steps=20,
        ppo__num_envs=16,
        ppo__num_steps=20,
        ppo__lr=3e-3,
        ppo__epochs=4,
        ppo__minibatches=1,
        network__hidden_size=16,
    )
    result = run(config, tmp_path / "learn", progress=False, log=lambda *_: None)
    rows = read_csv(result.out / "metrics.csv")
    ret = np.array([float(r["student/return"]) for r in rows])
    length = np.array([float(r["student/episode_length"]) for r in rows])
    assert ret[-10:].mean() > ret[:10].mean() + 0.15, (ret[:10].mean(), ret[-10:].mean())
    assert length[-10:].mean() < length[:10].mean()


def test_training_env_factory_matches_config(test_config):
    env = ENVS["maze"].make(test_config)
    assert (env.height, env.width, env.max_steps, env.n_walls) == (7, 7, 24, 5)
    assert dataclasses.replace(test_config, seeds=(1, 2)).seed_list == (1, 2)


def test_multi_seed_init_does_not_deadlock(tmp_path):
    """jaxlib's batched CPU QR (a vmapped orthogonal initialiser) deadlocks XLA's thread pool on
    2-core machines; several seeds must therefore be initialised without batching the QR. Runs in
    a subprocess so a regression fails by timeout instead of hanging the suite."""
    import subprocess
    import sys

    script = tmp_path / "init.py"
    script.write_text(
        "import jax\n"
        "from algorithms import ALGORITHMS\n"
        "from envs import ENVS\n"
        "from ued.config import override\n"
        "from ued.train import make_train\n"
        "config = override(ALGORITHMS['dr'].preset('paper'), seeds=(0, 1, 2))\n"
        "env = ENVS['maze'].make(config)\n"
        "init = jax.jit(make_train(env, ALGORITHMS['dr'].make(env, config), config)[0])\n"
        "for i in range(100):\n"
        "    keys = jax.random.split(jax.random.key(i), 3)\n"
        "    jax.block_until_ready(init(keys))\n"
        "print('ok')\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-2000:]
