"""Bad input answered before any work, each by one line ``ued <command>: error: ...`` (exit 2)
naming what is wrong: non-finite and out-of-range numbers in every config, level files that are
not UTF-8, unusable output paths, ``ued eval`` / ``ued bench`` arguments, and a resume that
changes settings. None of these compiles anything, except the resume that extends a run."""

from __future__ import annotations

import json
import math
import re
import shutil

import pytest

from envs.gridworld import load_layouts
from envs.maze import load_levels
from ued import registry
from ued.app.build import preset
from ued.app.cli import main
from ued.config import ConfigError, override, validate
from ued.errors import LevelFormatError
from ued.meta import config as meta_config

LONG = "x" * 300  # longer than any filesystem's name limit (255 bytes)


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _one_line_error(capsys, command, *argv):
    """Run ``ued command argv`` and return its one-line error (asserting exit code 2)."""
    code, _, err = _run(capsys, command, *argv)
    lines = [line for line in err.splitlines() if line.startswith(f"ued {command}: error: ")]
    assert code == 2 and len(lines) == 1, err[-2000:]
    assert "Traceback" not in err
    return lines[0]


# ---- numbers: finite and in range, in every config ------------------------------------------
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"ppo__lr": math.inf}, "ppo.lr: must be finite, got inf"),
        ({"ppo__lr": math.nan}, "ppo.lr: must be finite, got nan"),
        ({"ppo__lr": 1e39}, "ppo.lr: must be finite in float32"),
        ({"ppo__gamma": -math.inf}, "ppo.gamma: must be finite"),
        ({"ppo__max_grad_norm": math.nan}, "ppo.max_grad_norm: must be finite"),
        ({"ppo__ent_coef": math.inf}, "ppo.ent_coef: must be finite"),
        ({"ppo__param_bound": math.inf}, "ppo.param_bound: must be finite"),
        ({"seed": 2**63}, "seed: must be in [0, 4294967295]"),
        ({"seed": 2**32 + 5}, "seed: must be in [0, 4294967295]"),  # JAX keeps 32 bits: = seed 5
        ({"seed": -1}, "seed: must be in [0, 4294967295]"),
        ({"seeds": (0, 2**64)}, "seeds[1]: must be in [0, 4294967295]"),
        ({"updates": 2**40}, "updates: must be in [-2147483648, 2147483647]"),
        ({"ppo__num_envs": -4}, "ppo.num_envs: must be positive"),
        ({"network__hidden_size": 2**31}, "network.hidden_size: must be in"),
        ({"env_config__n_walls": 2.5}, "env_config.n_walls: expected an integer"),
        ({"env_config__height": math.inf}, "env_config.height: expected an integer"),
        ({"ppo__lr": "fast"}, "ppo.lr: expected a number, got 'fast'"),
        ({"ppo__anneal_lr": 1}, "ppo.anneal_lr: expected true or false"),
        ({"network__cell": "rnn"}, "network.cell: must be one of ['lstm', 'gru', 'none']"),
        ({"env_config__noop_actions": 5}, "env_config.noop_actions: must be in [0, 4], got 5"),
        ({"env_config__observation": "rgb"}, "env_config.observation: must be one of"),
        ({"ppo__optimizer": "sgd", "ppo__anneal_lr_by": "gradient"}, "ppo.anneal_lr_by: 'grad"),
    ],
)
def test_train_config_numbers_are_finite_and_in_range(fields, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        validate(override(preset("dr", "maze", "test"), **fields))


@pytest.mark.parametrize(
    ("algo", "fields", "message"),
    [
        ("plr", {"curriculum__buffer__temperature": math.inf}, "curriculum.buffer.temperature"),
        ("plr", {"curriculum__replay_prob": math.nan}, "curriculum.replay_prob: must be finite"),
        ("plr", {"curriculum__buffer__capacity": 2**40}, "curriculum.buffer.capacity: must be"),
        ("accel", {"curriculum__buffer__staleness_coeff": -math.inf}, "staleness_coeff"),
        ("sfl", {"curriculum__buffer_size": -3}, "curriculum.buffer_size"),
        ("ncc-reg", {"curriculum__step_size": math.inf}, "curriculum.step_size: must be finite"),
        ("paired", {"curriculum__generator__ppo__lr": math.nan}, "curriculum.generator.ppo.lr"),
    ],
)
def test_curriculum_numbers_are_finite_and_in_range(algo, fields, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        validate(override(preset(algo, "maze", "test"), **fields))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"meta_lr": math.inf}, "meta_lr: must be finite, got inf"),
        ({"agent__lr": math.nan}, "agent.lr: must be finite, got nan"),
        ({"rule__alpha_y": math.inf}, "rule.alpha_y: must be finite"),
        ({"es_sigma": math.nan}, "es_sigma: must be finite"),
        ({"curriculum__buffer__temperature": -math.inf}, "curriculum.buffer.temperature: must"),
        ({"agent__hidden": (4, 2**40)}, "agent.hidden[1]: must be in"),
        ({"seed": 2**64}, "seed: must be in [0, 4294967295]"),
        ({"env_config__size": 2**33}, "env_config.size: must be in"),
        ({"env_config__max_steps": math.inf}, "env_config.max_steps: expected an integer"),
    ],
)
def test_meta_config_numbers_are_finite_and_in_range(fields, message):
    config = meta_config.preset("groove", "gridworld", "test")
    with pytest.raises(ConfigError, match=re.escape(message)):
        meta_config.validate(override(config, **fields))


@pytest.mark.parametrize("env", sorted(registry.ENVS))
def test_every_env_config_number_is_checked(env):
    """A non-finite float or an out-of-range int in any env's settings is named."""
    import dataclasses

    config = preset("dr", env, "test")
    for field in dataclasses.fields(config.env_config):
        value = getattr(config.env_config, field.name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        bad = math.inf if isinstance(value, float) else 2**40
        with pytest.raises(ConfigError, match=rf"env_config\.{field.name}: "):
            validate(override(config, **{f"env_config__{field.name}": bad}))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--ppo.lr", "inf"], "ppo.lr: must be finite, got inf"),
        (["--ppo.lr", "nan"], "ppo.lr: must be finite, got nan"),
        (["--seed", str(2**64)], "seed: must be in [0, 4294967295]"),
        (["--seeds", f"0,{2**63}"], "seeds[1]: must be in [0, 4294967295]"),
        (["--updates", str(2**40)], "updates: must be in"),
        (["--env-config.max-steps", "-5"], "env_config.max_steps: must be positive"),
    ],
)
def test_train_refuses_bad_numbers_on_the_command_line(argv, message, tmp_path, capsys):
    line = _one_line_error(capsys, "train", "--preset", "test", "--out", tmp_path / "x", *argv)
    assert message in line
    assert not (tmp_path / "x").exists()


def test_meta_train_refuses_bad_numbers_on_the_command_line(tmp_path, capsys):
    for argv, message in (
        (["--meta-lr", "inf"], "meta_lr: must be finite, got inf"),
        (["--seed", "-3"], "seed: must be in [0, 4294967295]"),
    ):
        out = tmp_path / "x"
        line = _one_line_error(capsys, "meta-train", "--preset", "test", "--out", out, *argv)
        assert message in line and not out.exists()


# ---- level files that are not UTF-8 ----------------------------------------------------------
NOT_UTF8 = {
    "stray 0xff": (b"= a\n>.G\n#.\xff\n", "3:3"),
    "latin-1": ("= caf\u00e9\n>.G\n".encode("latin-1"), "1:6"),
    "utf-16": ("= a\n>.G\n".encode("utf-16"), "1:1"),
    "binary": (bytes(range(256)), "2:118"),  # 0x00-0x7f are ASCII, with a line break at 0x0a
    "after utf-8 text": ("= \u00e9t\u00e9\n>.G\n.\x80".encode() + b"\x80", "3:3"),
}


@pytest.mark.parametrize("case", sorted(NOT_UTF8))
@pytest.mark.parametrize("loader", [load_levels, load_layouts], ids=["maze", "gridworld"])
def test_level_files_that_are_not_utf8_name_file_line_and_column(tmp_path, loader, case):
    data, where = NOT_UTF8[case]
    path = tmp_path / "levels.txt"
    path.write_bytes(data)
    with pytest.raises(LevelFormatError) as error:
        loader(path)
    assert str(error.value).startswith(f"{path}:{where}: not UTF-8 text"), str(error.value)


def test_a_utf8_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbf= a\n>.G\n")
    names, _ = load_levels(path)
    assert names == ["a"]


def test_eval_on_a_level_file_that_is_not_utf8_is_one_line(dr_run, tmp_path, capsys):
    bad = tmp_path / "mine.txt"
    bad.write_bytes(b"= a\n>.G\xff\n")
    line = _one_line_error(capsys, "eval", dr_run.out, "--suite", bad, "--out", tmp_path / "e.csv")
    assert f"{bad}:2:4: not UTF-8 text (byte 0xff" in line


def test_a_level_file_far_larger_than_the_grid_is_refused_at_once(dr_run, tmp_path, capsys):
    """A 2000x2000 maze (beyond the 256x256 any maze may have) and a 100-wide gridworld layout
    (beyond the env's 13x13) are refused at their first oversized row, naming file:line and the
    limit, within a second of reading the file."""
    import time

    from envs.gridworld import GRIDWORLD, Gridworld
    from envs.maze.ascii import MAX_SIDE

    big = tmp_path / "big.txt"
    big.write_text("= big\n>" + "." * 1998 + "G\n" + ("." * 2000 + "\n") * 1999)
    start = time.perf_counter()
    with pytest.raises(LevelFormatError) as error:
        load_levels(big)
    assert time.perf_counter() - start < 1.0
    assert str(error.value) == f"{big}:2: a row of 2000 cells: a maze is at most 256x256 cells"
    assert MAX_SIDE == 256
    tall = tmp_path / "tall.txt"
    tall.write_text("= tall\n>G\n" + "..\n" * 300)
    with pytest.raises(LevelFormatError, match=rf"{tall}:258: a row too many: a maze is at most"):
        load_levels(tall)
    line = _one_line_error(capsys, "eval", dr_run.out, "--suite", big, "--out", tmp_path / "e.csv")
    assert f"{big}:2: a row of 2000 cells" in line
    wide = tmp_path / "wide.txt"
    wide.write_text("= wide\n% type a 1 0 0\nSa" + "." * 98 + "\n")
    start = time.perf_counter()
    with pytest.raises(LevelFormatError) as error:
        GRIDWORLD.load_level_file(wide, Gridworld())
    assert time.perf_counter() - start < 1.0
    assert str(error.value) == (
        f"{wide}:3:14: a row of 100 cells: a layout here is at most 13x13 cells"
    )


# ---- output paths ----------------------------------------------------------------------------
def _outputs(tmp_path):
    """Unusable output locations on disk: ``{case: (path, expected message)}``."""
    (tmp_path / "a-file").write_text("not a folder\n")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("mine\n")
    return {
        "existing file": (tmp_path / "a-file", "a-file is a file, not a folder"),
        "under a file": (tmp_path / "a-file" / "run", "a-file is a file, not a folder"),
        "deep under a file": (tmp_path / "a-file" / "x" / "y", "a-file is a file, not a folder"),
        "foreign folder": (tmp_path / "notes", "holds files that are not a run's (todo.txt)"),
        "name too long": (tmp_path / LONG, "is 300 bytes, longer than"),
        "too long below": (tmp_path / LONG / "run", "is 300 bytes, longer than"),
    }


@pytest.mark.parametrize("command", ["train", "meta-train"])
def test_unusable_run_directories_are_refused_before_compiling(command, tmp_path, capsys):
    for case, (path, message) in _outputs(tmp_path).items():
        line = _one_line_error(capsys, command, "--preset", "test", "--out", path)
        assert message in line and str(tmp_path) in line, case
    assert (tmp_path / "a-file").read_text() == "not a folder\n"
    assert sorted(p.name for p in (tmp_path / "notes").iterdir()) == ["todo.txt"]


def test_unusable_eval_outputs_are_refused_before_evaluating(dr_run, tmp_path, capsys):
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "folder").mkdir()
    (tmp_path / "e_plots").write_text("a file where the plots folder goes")
    cases = {
        tmp_path / "folder": "is a folder; give a file name",
        tmp_path / "a-file" / "e.csv": "a-file is a file, not a folder",
        tmp_path / f"{LONG}.csv": "longer than",
        tmp_path / LONG / "e.csv": "longer than",
        tmp_path / "e.csv": "cannot create the folder",
    }
    for out, message in cases.items():
        line = _one_line_error(capsys, "eval", dr_run.out, "--out", out)
        assert message in line, line
    for out, message in list(cases.items())[:4]:
        line = _one_line_error(capsys, "meta-eval", dr_run.out, "--out", out)
        assert message in line, line


def test_a_finished_run_is_never_overwritten(dr_run, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(dr_run.out, run)
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    line = _one_line_error(capsys, "train", "--preset", "test", "--out", run)
    assert "already holds a run; pass --resume" in line
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before


# ---- ued eval and ued bench arguments --------------------------------------------------------
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["eval"], "runs: give at least one run directory"),
        (["meta-eval"], "runs: give at least one run directory"),
        (["eval", "/nonexistent/run"], "/nonexistent/run: no such run directory"),
        (["bench", "--chunks", "0"], "chunks: must be in [1, 2147483647], got 0"),
        (["bench", "--chunks", "-2"], "chunks: must be in [1, "),
        (["bench", "--updates-per-chunk", "0"], "updates_per_chunk: must be in [1, 214748]"),
        (["bench", "--updates-per-chunk", "10000000"], "updates_per_chunk: must be in [1, "),
        (["meta-eval", "run", "--levels", "0"], "levels: must be in [1, "),
        (["meta-eval", "run", "--lifetime", str(2**40)], "lifetime: must be in [1, "),
        (["bench", "--algo", "nope"], "algo: unknown algorithm 'nope'"),
        (["bench", "--env", "nope"], "env: unknown env 'nope'"),
        (["bench", "--only"], "only: choose at least one"),
        (["bench", "--program", "meta-train", "--preset", "paper"],
         "preset: meta-training's presets are test, cpu, reference"),
        # tyro's own parse errors, reduced to one line with the nearest valid option
        (["train", "--algo", "dr", "--ppo.lrr", "1e-3"],
         "unrecognized options: --ppo.lrr, 1e-3 (did you mean --ppo.lr?)"),
        (["meta-train", "--preset", "test", "--agent.lrr", "1"], "(did you mean --agent.lr?)"),
        (["train", "--algo", "dr", "--ppo.lr", "abc"], "parsing --ppo.lr: could not convert"),
        (["eval", "--bogus"], "unrecognized options: --bogus"),
    ],
)  # fmt: skip
def test_eval_and_bench_arguments(argv, message, capsys):
    line = _one_line_error(capsys, argv[0], *argv[1:])
    assert message in line
    assert "╭" not in capsys.readouterr().err  # no boxed message either


@pytest.mark.parametrize(
    ("argv", "fields"),
    [
        (["train", "--algo", "plr"], ["ppo.max-grad-norm", "ppo.ent-coef", "eval-every",
                                      "keep-checkpoints", "devices", "curriculum.replay-prob",
                                      "curriculum.buffer.staleness-coeff",
                                      "curriculum.buffer.min-fill"]),
        (["meta-train"], ["eval-every", "keep-checkpoints", "devices", "eval-lifetime",
                          "agent.max-grad-norm", "agent.entropy-coef", "policy-entropy",
                          "curriculum.fixed-levels", "env-config.lifetime", "es-lr-limit"]),
        (["meta-train", "--algo", "groove"], ["curriculum.replay-prob"]),
    ],
)  # fmt: skip
def test_help_config_says_what_a_zero_means(argv, fields, capsys):
    """Wherever 0 switches something off, ``--help-config`` says so (``0: ...`` or ``0 =``)."""
    from ued.app.cli import main

    with pytest.raises(SystemExit):
        main([*argv, "--help-config"])
    text = capsys.readouterr().out
    blocks = re.split(r"\n\s*(?=--[a-z])", re.sub(r"[│╭╮╰╯]", " ", text))
    for field in fields:
        block = " ".join(b for b in blocks if b.startswith(f"--{field} "))
        assert block and re.search(r"\b0(:| =| \()|\(0", block), (field, block)


def test_eval_arguments_of_a_run(dr_run, tmp_path, capsys):
    out = tmp_path / "e.csv"
    for argv, message in (
        (["--attempts", "0"], "attempts: must be in [1, 2147483647], got 0"),
        (["--attempts", str(2**40)], "attempts: must be in [1, 2147483647]"),
        (["--levels", "0"], "levels: must be in [1, "),
        (["--seed", str(2**40)], "seed: must be in [0, 4294967295]"),
        (["--step", "3"], "no checkpoint at step 3"),
    ):
        assert message in _one_line_error(capsys, "eval", dr_run.out, "--out", out, *argv)
    assert not out.exists()


# ---- resuming with other settings ------------------------------------------------------------
def test_resume_refuses_each_setting_that_cannot_change(dr_run, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(dr_run.out, run)
    line = _one_line_error(
        capsys, "train", "--resume", run, "--ppo.lr", "0.5", "--seed", "4",
        "--network.hidden-size", "16", "--algo", "plr", "--out", tmp_path / "elsewhere",
    )  # fmt: skip
    named = [
        "ppo.lr (the run's 0.001, given 0.5)",
        "seed (the run's 0, given 4)",
        "network.hidden_size (the run's 8, given 16)",
        "algo (the run's 'dr', given 'plr')",
        "--out (a resumed run stays in",
        "Only --updates, --keep-checkpoints and --devices may change",
    ]
    for part in named:
        assert part in line, line
    line = _one_line_error(capsys, "train", "--resume", run, "--ppo.lr", "inf")
    assert "ppo.lr" in line
    assert json.loads((run / "config.json").read_text()) == json.loads(
        (dr_run.out / "config.json").read_text()
    )


def test_resume_applies_a_new_number_of_updates_and_says_so(dr_run, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(dr_run.out, run)
    # --seed 0 is the run's own seed: a setting equal to the run's is not a change.
    code, out, err = _run(capsys, "train", "--resume", run, "--updates", "6", "--no-progress",
                          "--seed", "0")  # fmt: skip
    assert code == 0, err[-2000:]
    assert f"extending {run} to 6 updates" in out and "resuming" in out
    assert json.loads((run / "config.json").read_text())["updates"] == 6
    assert (run / "checkpoints" / "6").is_dir()


def test_meta_resume_refuses_changed_settings(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    config = meta_config.preset("lpg", "gridworld", "test")
    (run / "config.json").write_text(json.dumps(meta_config.to_dict(config)))
    line = _one_line_error(capsys, "meta-train", "--resume", run, "--meta-lr", "0.5")
    assert "meta_lr (the run's 0.001, given 0.5)" in line
