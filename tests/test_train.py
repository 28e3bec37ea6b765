"""The generic training loop: one compile, determinism, exact resume, vmap over seeds, and
end-to-end smoke runs that complete real updates."""

from __future__ import annotations

import dataclasses
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import quiet

from ued.app.build import build, preset, train
from ued.config import override as replace
from ued.logging import read_csv
from ued.train import seed_keys


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


def test_parameters_change_between_checkpoints(dr_run, test_program):
    from ued.checkpoint import Checkpointer

    abstract = jax.eval_shape(test_program.init, test_program.seed_keys())
    ckpt = Checkpointer(dr_run.out / "checkpoints")
    a, _ = ckpt.restore(2, abstract)
    b, meta = ckpt.restore(4, abstract)
    assert meta["update"] == 4
    leaves = zip(
        jax.tree_util.tree_leaves(a.student.params), jax.tree_util.tree_leaves(b.student.params)
    )
    assert max(float(jnp.abs(x - y).max()) for x, y in leaves) > 0


def test_evaluation_reads_only_the_parameters(dr_run, test_program, tmp_path):
    """``load_run`` gets exactly the checkpoint's parameters, and ``restore_subtree`` reads a
    checkpoint whose train state lacks fields this version has (written by an older version)."""
    from ued.app.build import load_run
    from ued.checkpoint import Checkpointer, CheckpointError

    abstract = jax.eval_shape(test_program.init, test_program.seed_keys())
    full, _ = Checkpointer(dr_run.out / "checkpoints").restore(4, abstract)
    loaded = load_run(dr_run.out)
    assert loaded.step == 4 and len(loaded.seed_params) == 1
    equal = jax.tree_util.tree_map(np.array_equal, loaded.seed_params[0], full.student.params)
    assert all(jax.tree_util.tree_leaves(equal))

    params_only = {"student": {"params": full.student.params}, "rng": full.rng}
    older = Checkpointer(tmp_path / "older")
    older.save(1, params_only, {"update": 1})
    older.save(2, {"student": full.student, "rng": full.rng}, {"update": 2})
    with pytest.raises(CheckpointError, match="another train-state structure"):
        older.restore(2, abstract)  # resuming needs the whole state; evaluation does not
    path = ("student", "params")
    params = older.restore_subtree(1, path, abstract.student.params)
    same = jax.tree_util.tree_map(np.array_equal, params, full.student.params)
    assert all(jax.tree_util.tree_leaves(same))
    with pytest.raises(CheckpointError, match="has no student/best/params"):
        older.restore_subtree(1, ("student", "best", "params"), abstract.student.params)
    wrong = jax.tree_util.tree_map(
        lambda x: jax.ShapeDtypeStruct((*x.shape, 2), x.dtype), abstract.student.params
    )
    with pytest.raises(CheckpointError, match="does not match"):
        older.restore_subtree(1, path, wrong)
    older.close()


def test_same_seed_gives_identical_files(dr_run, test_config, tmp_path):
    again = train(test_config, tmp_path / dr_run.out.name, **quiet())
    assert _files(again.out) == _files(dr_run.out)


def test_different_seed_differs(dr_run, test_config, tmp_path):
    other = train(replace(test_config, seed=7), tmp_path / "other", **quiet())
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
        train(test_config, out, **quiet(on_chunk=_kill_at(4)))
    assert len(read_csv(out / "metrics.csv")) == 4  # rows no checkpoint covers yet
    # A save interrupted mid-write leaves only orbax's temporary directory behind.
    (out / "checkpoints" / "4.orbax-checkpoint-tmp-1234567").mkdir()
    resumed = train(test_config, out, resume=True, **quiet())
    assert _files(out) == _files(dr_run.out)
    # run.json's total training time adds the seconds spent before the kill (updates 0-1).
    record = json.loads((out / "run.json").read_text())
    assert record["train_s"] == resumed.train_s < record["train_s_total"]


def test_resume_without_a_checkpoint_fails_clearly(test_config, tmp_path):
    from ued.checkpoint import CheckpointError

    out = tmp_path / "early"
    with pytest.raises(Killed):
        train(test_config, out, **quiet(on_chunk=_kill_at(2)))
    with pytest.raises(CheckpointError, match="no complete checkpoint"):
        train(test_config, out, resume=True, **quiet())


def test_vmapped_seeds_equal_separate_runs(test_config):
    """Several seeds in one vmapped program reproduce the single-seed runs: discrete outcomes
    exactly, float losses up to summation order (batched matmuls, ~1e-7)."""

    def go(config):
        program = build(config)
        state, chunk = jax.jit(program.init)(seed_keys(config)), jax.jit(program.chunk)
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
    config = replace(
        preset("dr", "maze", "test"),
        updates=60,
        updates_per_chunk=20,
        eval_every=0,
        checkpoint_every=60,
        env_config__height=5,
        env_config__width=5,
        env_config__n_walls=0,
        env_config__max_steps=20,
        ppo__num_envs=16,
        ppo__num_steps=20,
        ppo__lr=3e-3,
        ppo__epochs=4,
        ppo__minibatches=1,
        network__hidden_size=16,
    )
    result = train(config, tmp_path / "learn", **quiet())
    rows = read_csv(result.out / "metrics.csv")
    ret = np.array([float(r["student/return"]) for r in rows])
    length = np.array([float(r["student/episode_length"]) for r in rows])
    assert ret[-10:].mean() > ret[:10].mean() + 0.15, (ret[:10].mean(), ret[-10:].mean())
    assert length[-10:].mean() < length[:10].mean()


def test_training_env_factory_matches_config(test_config, test_env):
    env = test_env
    assert (env.height, env.width, env.max_steps, env.n_walls) == (7, 7, 24, 5)
    assert dataclasses.replace(test_config, seeds=(1, 2)).seed_list == (1, 2)


@pytest.mark.slow  # every multi-seed test initialises seeds the same way; CI's budget
def test_multi_seed_init_does_not_deadlock(tmp_path):
    """jaxlib's batched CPU QR (a vmapped orthogonal initialiser) deadlocks XLA's thread pool on
    2-core machines; several seeds must therefore be initialised without batching the QR. Runs in
    a subprocess so a regression fails by timeout instead of hanging the suite."""
    import subprocess
    import sys

    script = tmp_path / "init.py"
    script.write_text(
        "import jax\n"
        "from ued.app.build import build, preset\n"
        "from ued.config import override\n"
        "config = override(preset('dr', 'maze', 'paper'), seeds=(0, 1, 2))\n"
        "init = jax.jit(build(config).init)\n"
        "for i in range(100):\n"
        "    keys = jax.random.split(jax.random.key(i), 3)\n"
        "    jax.block_until_ready(init(keys))\n"
        "print('ok')\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-2000:]


@pytest.mark.slow  # CI's 20 minutes; make test-all runs it
def test_keep_checkpoints_bounds_what_stays_on_disk(test_config, tmp_path):
    """The newest ``keep_checkpoints`` checkpoints stay (0: all of them), and the setting is not
    a config difference on resume: it changes what is on disk, not the run."""
    from ued.checkpoint import Checkpointer
    from ued.errors import ConfigError

    config = replace(test_config, updates=6, eval_every=0)
    for keep, steps in ((2, [4, 6]), (0, [2, 4, 6])):
        out = tmp_path / f"keep{keep}"
        train(replace(config, keep_checkpoints=keep), out, **quiet())
        assert Checkpointer(out / "checkpoints").all_steps() == steps
    assert (
        build(replace(config, keep_checkpoints=5)).config_differences(
            json.loads((out / "config.json").read_text())
        )
        == []
    )
    with pytest.raises(ConfigError, match="keep_checkpoints: must be >= 0"):
        build(replace(config, keep_checkpoints=-1))
