"""The README's code runs as pasted: its Python blocks execute top to bottom in a fresh
interpreter, its ``ued`` command lines parse and validate (without training for minutes), its
``make`` targets exist, and its corridor example is the one the tests train."""

from __future__ import annotations

import dataclasses
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text()


def blocks(language: str) -> list[str]:
    """The README's fenced code blocks of ``language``."""
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def test_python_blocks_run_top_to_bottom(tmp_path):
    script = "\n\n".join(blocks("python"))
    assert "env.step(jax.random.key(2), state, 2)" in script  # the example a new user tries
    (tmp_path / "readme.py").write_text(script)
    done = subprocess.run(
        [sys.executable, "readme.py"], cwd=tmp_path, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert (tmp_path / "runs" / "corridor-eval.csv").is_file()
    assert (tmp_path / "runs" / "fixed-set" / "metrics.csv").is_file()
    assert (tmp_path / "runs" / "dual-clip" / "metrics.csv").is_file()


def test_the_corridor_and_dual_clip_examples_are_the_tested_ones():
    corridor = (ROOT / "tests" / "corridor_env.py").read_text()
    example = next(b for b in blocks("python") if "class Corridor(Environment)" in b)
    assert example in corridor
    learner = (ROOT / "tests" / "dualclip_learner.py").read_text()
    example = next(b for b in blocks("python") if "class DualClip(ClippedSurrogate)" in b)
    assert example in learner


def _commands() -> list[list[str]]:
    lines = []
    for block in blocks("bash"):
        for line in block.replace("\\\n", " ").splitlines():  # join continued lines
            line = line.split("  #")[0].strip()
            if line.startswith((".venv/bin/ued ", "make ")):
                lines.append(shlex.split(line))
    return lines


@pytest.mark.parametrize("argv", _commands(), ids=lambda argv: " ".join(argv)[:60])
def test_command_lines_parse_and_validate(argv, tmp_path, monkeypatch):
    """``make`` targets exist; ``ued train`` and ``ued meta-train`` lines build and validate
    their config strictly (an unknown option fails; a resume's options are checked against the
    preset's config; a ``--ppo.rule`` file, which meta-training writes, is made for the line
    in a scratch folder); the other commands' lines parse."""
    import tyro

    from ued.app import cli
    from ued.drift import LearnedDrift, save_rule

    if "--ppo.rule" in argv:
        monkeypatch.chdir(tmp_path)
        drift = LearnedDrift()
        save_rule(Path(argv[argv.index("--ppo.rule") + 1]), drift, drift.zero_rule())

    if argv[0] == "make":
        assert re.search(rf"^{argv[1]}:", (ROOT / "Makefile").read_text(), flags=re.M)
        return
    command, args = argv[1], argv[2:]
    if command == "train":
        parsed, overrides = tyro.cli(cli.TrainArgs, args=args, return_unknown_args=True)
        if parsed.help_config:  # prints every field with its preset value, then exits
            with pytest.raises(SystemExit) as exit_info:
                cli.run_config(parsed, overrides)
            assert exit_info.value.code == 0
        else:  # a resume's options must be config fields too (the run itself is not read)
            cli.run_config(dataclasses.replace(parsed, resume=None), overrides)
    elif command == "eval":
        tyro.cli(cli.EvalArgs, args=args)
    elif command == "meta-train":
        parsed, overrides = tyro.cli(cli.MetaTrainArgs, args=args, return_unknown_args=True)
        if parsed.help_config:
            with pytest.raises(SystemExit) as exit_info:
                cli.run_config(parsed, overrides)
            assert exit_info.value.code == 0
        else:
            cli.run_config(dataclasses.replace(parsed, resume=None), overrides)
    elif command == "meta-eval":
        tyro.cli(cli.MetaEvalArgs, args=args)
    elif command == "report":
        tyro.cli(cli.ReportArgs, args=args)
    elif command == "ship":
        tyro.cli(cli.ShipArgs, args=args)
    else:
        assert command == "bench"
        tyro.cli(cli.BenchArgs, args=args)
