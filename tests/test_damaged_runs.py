"""A damaged run directory, damaged on disk byte by byte: a truncated, non-JSON or ill-typed
``config.json`` is named with its field; a damaged checkpoint (truncated or flipped data bytes,
garbage metadata, a missing folder) is skipped by ``--resume``, ``ued eval`` and
``ued meta-eval`` for the newest intact one, saying which and why; with none intact the command
stops naming the run and every problem. One trained run (``dr_run``) is copied per test."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jax
import numpy as np
import pytest
from conftest import quiet

from ued.app.build import load_run
from ued.app.cli import main
from ued.checkpoint import Checkpointer
from ued.errors import CheckpointError, DamagedCheckpointError
from ued.logging import read_csv


def _copy(dr_run, tmp_path) -> Path:
    run = tmp_path / dr_run.out.name  # the run's name is part of its eval rows
    shutil.copytree(dr_run.out, run)
    return run


def _cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def _data_files(step_dir: Path) -> list[Path]:
    """The array data files of a checkpoint (OCDBT's ``d/`` folders), largest first. Not every
    byte of them is read back: OCDBT leaves superseded data in them (often a file's second
    half), so damage to one file or one byte may be harmless; damage to every file is not."""
    files = [p for p in (step_dir / "state").rglob("*") if p.is_file() and p.parent.name == "d"]
    return sorted(files, key=lambda p: -p.stat().st_size)


def _flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset % len(data)] ^= 0xFF
    path.write_bytes(bytes(data))


def _truncate(path: Path, fraction: float) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])


# ---- config.json -----------------------------------------------------------------------------
def _config_damage():
    def edit(change):
        def damage(path):
            config = json.loads(path.read_text())
            change(config)
            path.write_text(json.dumps(config))

        return damage

    return {
        "truncated": (lambda p: _truncate(p, 0.5), "damaged, not a JSON config"),
        "empty": (lambda p: p.write_bytes(b""), "damaged, not a JSON config"),
        "binary": (lambda p: p.write_bytes(bytes(range(256))), "damaged, not a JSON config"),
        "a list": (lambda p: p.write_text("[1, 2]"), "expected a JSON object"),
        "lr a string": (edit(lambda c: c["ppo"].update(lr="fast")), "ppo.lr: expected a number"),
        "lr infinite": (edit(lambda c: c["ppo"].update(lr=float("inf"))), "ppo.lr: must be finite"),
        "ppo a list": (edit(lambda c: c.update(ppo=[1, 2])), "ppo: expected the settings"),
        "seeds a number": (edit(lambda c: c.update(seeds=5)), "seeds: expected a list"),
        "suites a string": (edit(lambda c: c.update(eval_suites="random")), "eval_suites"),
        "walls a float": (edit(lambda c: c["env_config"].update(n_walls=2.5)), "n_walls"),
        "algo a list": (edit(lambda c: c.update(algo=["dr"])), "algo: unknown algorithm"),
        "unknown field": (edit(lambda c: c["ppo"].update(lr2=1)), "unknown fields ['lr2']"),
        "missing": (lambda p: p.unlink(), "no config.json at"),
    }


@pytest.mark.parametrize("case", sorted(_config_damage()))
def test_a_damaged_config_json_is_named_with_its_field(case, dr_run, tmp_path, capsys):
    run = _copy(dr_run, tmp_path)
    damage, message = _config_damage()[case]
    damage(run / "config.json")
    for argv in (
        ["eval", run, "--out", tmp_path / "e.csv"],
        ["train", "--resume", run, "--no-progress"],
    ):
        code, _, err = _cli(capsys, *argv)
        assert code == 2 and f"{run / 'config.json'}" in err and message in err, err


def test_a_damaged_meta_config_json_is_named(tmp_path, capsys):
    run = tmp_path / "meta"
    run.mkdir()
    (run / "config.json").write_text('{"algo": "lpg", "meta_lr": "fast"')
    code, _, err = _cli(capsys, "meta-eval", run, "--out", tmp_path / "m.csv")
    assert code == 2 and "config.json: damaged, not a JSON config" in err
    (run / "config.json").write_text('{"algo": "lpg", "meta_lr": "fast"}')
    code, _, err = _cli(capsys, "meta-train", "--resume", run)
    assert code == 2 and "config.json: meta_lr: expected a number, got 'fast'" in err


# ---- checkpoints, damaged byte by byte -------------------------------------------------------
def _empty_every_data_file(step_dir: Path) -> None:
    for path in _data_files(step_dir):
        path.write_bytes(b"")


@pytest.fixture(scope="module")
def undamaged(dr_run):
    """``(abstract state, the state saved at update 4)`` of ``dr_run``, read back undamaged."""
    from ued.app.build import build

    program = build(load_run(dr_run.out).config)
    abstract = jax.eval_shape(program.init, program.seed_keys())
    checkpointer = Checkpointer(dr_run.out / "checkpoints")
    state, _ = checkpointer.restore(4, abstract)
    checkpointer.close()
    return abstract, state


def _bits(tree) -> list[np.ndarray]:
    """The leaves of ``tree`` as NumPy arrays (typed PRNG keys as their key data)."""

    def raw(x):
        return jax.random.key_data(x) if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key) else x

    return [np.asarray(raw(x)) for x in jax.tree_util.tree_leaves(tree)]


def _assert_identical(tree, reference) -> None:
    for a, b in zip(_bits(tree), _bits(reference), strict=True):
        np.testing.assert_array_equal(a, b)


# Damage that reaches data read back whatever OCDBT's layout; the single-file cases may land
# on superseded bytes, and then must read back exactly the undamaged state.
MAY_BE_HARMLESS = ("data truncated", "a data byte flipped")
CHECKPOINT_DAMAGE = {
    "data truncated": (lambda s: _truncate(_data_files(s)[0], 0.5), "is damaged"),
    "every data file truncated": (
        lambda s: [_truncate(p, 0.3) for p in _data_files(s)],
        "is damaged",
    ),
    "data emptied": (_empty_every_data_file, "is damaged"),
    "a data byte flipped": (
        lambda s: _flip(_data_files(s)[0], len(_data_files(s)[0].read_bytes()) // 2),
        "is damaged",
    ),
    "a byte flipped in every data file": (
        lambda s: [_flip(p, 17) for p in _data_files(s)],
        "is damaged",
    ),
    "manifest truncated": (lambda s: _truncate(s / "state" / "manifest.ocdbt", 0.5), "is damaged"),
    "array metadata garbage": (
        lambda s: (s / "state" / "_METADATA").write_bytes(b"\x00garbage{"),
        "is damaged",
    ),
    "checkpoint metadata garbage": (
        lambda s: (s / "meta" / "metadata").write_bytes(b"\xff\xfe not json"),
        "is damaged",
    ),
    "checkpoint metadata truncated": (lambda s: _truncate(s / "meta" / "metadata", 0.5), "damaged"),
    "state folder missing": (lambda s: shutil.rmtree(s / "state"), "its state/ folder is missing"),
    "meta folder missing": (lambda s: shutil.rmtree(s / "meta"), "its meta/ folder is missing"),
}


@pytest.mark.parametrize("case", list(CHECKPOINT_DAMAGE))
def test_resume_falls_back_to_the_newest_intact_checkpoint(case, dr_run, undamaged, tmp_path):
    """What ``--resume`` reads (the whole train state) for each kind of damage to the newest
    checkpoint: the one before it, with a message naming the damaged one and its problem (or,
    for damage confined to superseded bytes, exactly the undamaged state)."""
    from ued.app.build import build
    from ued.loop import restore_newest_intact

    run = _copy(dr_run, tmp_path)
    damage, message = CHECKPOINT_DAMAGE[case]
    damage(run / "checkpoints" / "4")
    checkpointer = Checkpointer(run / "checkpoints")
    logged = []
    state, step = restore_newest_intact(build(dr_run_config(run)), checkpointer, run, logged.append)
    checkpointer.close()
    if step == 4 and case in MAY_BE_HARMLESS:
        assert not logged
        _assert_identical(state, undamaged[1])
        return
    assert step == 2
    assert logged[0].startswith(f"skipping checkpoint 4: checkpoint {run / 'checkpoints' / '4'}")
    assert message in logged[0], logged[0]
    assert "tensorstore_spec" not in logged[0] and len(logged[0]) < 600
    assert logged[1] == f"moved damaged checkpoint 4 to {run / 'damaged-checkpoints' / '4'}"
    assert Checkpointer(run / "checkpoints").all_steps() == [2]


def dr_run_config(run: Path):
    from ued import config as config_lib

    return config_lib.load(run / "config.json")


@pytest.mark.parametrize(
    "case", ["every data file truncated", "data emptied", "a byte flipped in every data file",
             "manifest truncated", "checkpoint metadata garbage", "state folder missing"],
)  # fmt: skip
def test_evaluation_falls_back_to_the_newest_intact_checkpoint(case, dr_run, tmp_path):
    """Evaluation reads only the parameters: damage that reaches them (or the checkpoint's
    structure) makes it use the checkpoint before, saying which it skipped and why."""
    run = _copy(dr_run, tmp_path)
    damage, message = CHECKPOINT_DAMAGE[case]
    damage(run / "checkpoints" / "4")
    logged = []
    loaded = load_run(run, log=logged.append)
    assert loaded.step == 2
    assert len(logged) == 1 and logged[0].startswith("skipping checkpoint 4: checkpoint ")
    assert message in logged[0] and str(run / "checkpoints" / "4") in logged[0]
    with pytest.raises(DamagedCheckpointError, match=message):
        load_run(run, step=4)  # a checkpoint asked for by step is not replaced by another


def test_a_flipped_byte_is_caught_or_never_read(dr_run, undamaged, tmp_path):
    """Orbax reads raw array bytes back without complaint; the digests saved with a checkpoint
    catch every leaf's change. Bytes flipped across every data file: each restore either
    raises (a checksum mismatch, or a read error) or returns the undamaged state bit for bit
    (the byte was superseded data), and the checksum catches some."""
    abstract, reference = undamaged
    outcomes = []
    for index, path in enumerate(_data_files(dr_run.out / "checkpoints" / "4")):
        size = path.stat().st_size
        for offset in sorted({1, size // 8, size // 4, size // 3}):
            copy = tmp_path / f"flip-{index}-{offset}"  # a fresh path: no reader cache applies
            shutil.copytree(dr_run.out, copy)
            _flip(copy / path.relative_to(dr_run.out), offset)
            checkpointer = Checkpointer(copy / "checkpoints")
            try:
                state, _ = checkpointer.restore(4, abstract)
            except DamagedCheckpointError as error:
                assert "is damaged" in str(error)
                outcomes.append("checksum" if "checksum" in str(error) else "read error")
            else:
                _assert_identical(state, reference)
                outcomes.append("never read")
            finally:
                checkpointer.close()
            shutil.rmtree(copy)
    assert "checksum" in outcomes, outcomes


def test_ued_eval_says_which_checkpoint_it_skipped(dr_run, tmp_path, capsys):
    run = _copy(dr_run, tmp_path)
    for path in _data_files(run / "checkpoints" / "4"):
        _truncate(path, 0.5)
    code, out, err = _cli(capsys, "eval", run, "--attempts", "1", "--out", tmp_path / "e.csv")
    assert code == 0 and "| run | suite |" in out
    assert f"skipping checkpoint 4: checkpoint {run / 'checkpoints' / '4'} is damaged" in err
    assert {r["update"] for r in read_csv(tmp_path / "e.csv")} == {"2"}


def test_no_intact_checkpoint_stops_naming_the_run_and_each_problem(dr_run, tmp_path, capsys):
    run = _copy(dr_run, tmp_path)
    shutil.rmtree(run / "checkpoints" / "4" / "state")
    _empty_every_data_file(run / "checkpoints" / "2")
    with pytest.raises(CheckpointError, match="no intact checkpoint") as error:
        load_run(run, log=lambda _: None)
    assert str(run) in str(error.value) and "state/ folder is missing" in str(error.value)
    for argv in (["eval", run, "--out", tmp_path / "e.csv"], ["train", "--resume", run]):
        code, _, err = _cli(capsys, *argv)
        lines = [line for line in err.splitlines() if line.startswith("ued ")]
        assert code == 2 and len(lines) == 1 and "no intact checkpoint" in lines[0], err
        assert "checkpoints/4 is damaged" in lines[0] and "checkpoints/2 is damaged" in lines[0]


def test_resume_falls_back_and_ends_identical_to_an_undamaged_run(dr_run, tmp_path, capsys):
    """Checkpoint 4 damaged: the resumed run restarts from 2, sets 4 aside (never deleted), and
    its metrics, evaluations and diagnostics end byte-identical to the undamaged run's."""
    run = _copy(dr_run, tmp_path)
    _empty_every_data_file(run / "checkpoints" / "4")
    code, out, err = _cli(capsys, "train", "--resume", run, "--no-progress")
    assert code == 0, err[-2000:]
    assert f"skipping checkpoint 4: checkpoint {run / 'checkpoints' / '4'} is damaged" in out
    assert f"moved damaged checkpoint 4 to {run / 'damaged-checkpoints' / '4'}" in out
    assert "resuming" in out and "from update 2 of 4" in out
    assert (run / "damaged-checkpoints" / "4" / "state").is_dir()
    for name in ("metrics.csv", "eval.csv", "curriculum.csv"):
        assert (run / name).read_bytes() == (dr_run.out / name).read_bytes(), name
    assert Checkpointer(run / "checkpoints").all_steps() == [2, 4]


def test_a_checkpoint_holding_nan_is_not_intact(dr_run, tmp_path):
    """A checkpoint written by an older version, before the divergence guard, may hold NaN
    parameters with a matching digest: evaluation and resume skip it too."""
    from ued.app.build import build, train

    run = _copy(dr_run, tmp_path)
    program = build(load_run(run).config)
    abstract = jax.eval_shape(program.init, program.seed_keys())
    checkpointer = Checkpointer(run / "checkpoints")
    state, meta = checkpointer.restore(4, abstract)
    params = jax.tree_util.tree_map(lambda x: x * np.nan, state.student.params)
    poisoned = state.replace(student=state.student.replace(params=params))
    shutil.rmtree(run / "checkpoints" / "4")
    checkpointer._manager.reload()
    checkpointer.save(4, poisoned, {k: v for k, v in meta.items() if k != "digests"})
    checkpointer.close()
    logged = []
    assert load_run(run, log=logged.append).step == 2
    assert "holds NaN or inf in student/params/" in logged[0]
    train(None, run, resume=True, **quiet(log=logged.append))
    assert any("skipping checkpoint 4" in m and "holds NaN or inf" in m for m in logged)


def test_meta_eval_falls_back_to_the_newest_intact_checkpoint(tmp_path):
    """Meta-evaluation's choice of checkpoints, on a meta-training state saved at steps 2 and 4
    (no meta-training needed): the default skips a damaged newest one, --all-steps skips it
    among the others, and a step asked for by number is not replaced."""
    from ued.app.build import _meta_states, build_meta
    from ued.meta.config import preset

    program = build_meta(preset("lpg", "gridworld", "test"))
    state = jax.jit(program.init)(program.seed_keys())
    run = tmp_path / "meta"
    checkpointer = Checkpointer(run / "checkpoints")
    checkpointer.save(2, state, {"update": 2})
    checkpointer.save(4, state, {"update": 4})
    checkpointer.close()
    _empty_every_data_file(run / "checkpoints" / "4")
    logged = []
    assert [s for s, _ in _meta_states(program, run, (), logged.append)] == [2]
    assert [s for s, _ in _meta_states(program, run, "all", logged.append)] == [0, 2]
    assert len(logged) == 2 and all(m.startswith("skipping checkpoint 4: ") for m in logged)
    with pytest.raises(DamagedCheckpointError, match="is damaged"):
        _meta_states(program, run, (4,), logged.append)
    shutil.rmtree(run / "checkpoints" / "2" / "meta")
    with pytest.raises(CheckpointError, match=f"{run}: no intact checkpoint"):
        _meta_states(program, run, (), logged.append)


# ---- a successful fallback is quiet: one line, no traceback, on the real stderr -------------
def _flip_every_data_file(step_dir: Path) -> None:
    """Bytes flipped all through every data file: the read fails inside tensorstore while other
    reads are in flight (which then called back into orbax's closed event loop, each printing a
    ``RuntimeError: Event loop is closed`` traceback)."""
    for path in _data_files(step_dir):
        data = bytearray(path.read_bytes())
        for i in range(17, len(data), 97):
            data[i] ^= 0xFF
        path.write_bytes(bytes(data))


def _ued(*argv) -> tuple[int, str, str]:
    """Run ``ued`` in a subprocess (its stderr is the process's, not pytest's capture)."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "ued.app.cli", *map(str, argv)],
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    return done.returncode, done.stdout, done.stderr


def _only_the_notice(err: str, step: int = 4) -> None:
    assert "Traceback" not in err and "Event loop is closed" not in err, err[-3000:]
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"skipping checkpoint {step}: "), err[-3000:]
    assert "is damaged" in lines[0]


def test_resume_and_eval_fall_back_quietly(dr_run, tmp_path):
    run = _copy(dr_run, tmp_path)
    evaluated = _copy(dr_run, tmp_path / "e")
    for target in (run, evaluated):
        _flip_every_data_file(target / "checkpoints" / "4")
    code, out, err = _ued("train", "--resume", run, "--updates", "6", "--no-progress")
    assert code == 0 and "resuming" in out
    assert "Traceback" not in err and "Event loop is closed" not in err, err[-3000:]
    assert "skipping checkpoint 4" in out  # training's notices go to stdout
    code, out, err = _ued("eval", evaluated, "--attempts", "1", "--out", tmp_path / "e.csv")
    assert code == 0
    _only_the_notice(err)


def test_meta_train_resume_and_meta_eval_fall_back_quietly(tmp_path):
    from ued.app.build import meta_train
    from ued.meta.config import preset

    run = meta_train(preset("lpg", "gridworld", "test"), tmp_path / "meta", **quiet()).out
    _flip_every_data_file(run / "checkpoints" / "4")
    code, out, err = _ued("meta-eval", run, "--suite", "random", "--levels", "1", "--lifetime",
                          "1", "--out", tmp_path / "m.csv")  # fmt: skip
    assert code == 0
    _only_the_notice(err)
    code, out, err = _ued("meta-train", "--resume", run, "--updates", "6", "--no-progress")
    assert code == 0 and "resuming" in out
    assert "Traceback" not in err and "Event loop is closed" not in err, err[-3000:]


def test_unretrieved_errors_of_a_damaged_reads_other_tasks_are_dropped(caplog):
    """asyncio reports the other in-flight reads of a damaged checkpoint as "Task exception was
    never retrieved" (a multi-line traceback on stderr); those are dropped, other tasks' are not."""
    import asyncio
    import gc

    from ued.checkpoint import _quiet_late_read_callbacks

    _quiet_late_read_callbacks()

    async def fail(message):
        raise ValueError(message)

    async def main():
        for message in ("reading ... in OCDBT database [tensorstore_spec=...]", "my own bug"):
            task = asyncio.get_running_loop().create_task(fail(message))
            await asyncio.sleep(0.01)
            del task
            gc.collect()

    with caplog.at_level("ERROR", logger="asyncio"):
        asyncio.run(main())
    logged = " ".join(f"{r.getMessage()} {r.exc_info}" for r in caplog.records)
    assert "my own bug" in logged and "OCDBT" not in logged
