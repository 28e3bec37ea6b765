"""A new environment added from outside the packages trains and evaluates with no change to
``ued/``, ``envs/`` or ``algorithms/``: the corridor of ``corridor_env.py`` (registered by
``conftest.py``) is trained with ``dr`` and ``robust-plr`` at its test size and evaluated through
``ued eval``'s Python entry point. Algorithms whose needs it does not meet are refused by name."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import quiet
from corridor_env import CORRIDOR, Corridor, CorridorConfig

from ued import registry
from ued.app.build import build, evaluate_runs, preset, train
from ued.config import validate
from ued.errors import ConfigError
from ued.logging import read_csv


def test_the_corridor_is_registered_with_what_it_declares():
    assert registry.ENVS.get("corridor") is CORRIDOR
    assert CORRIDOR.capabilities == {"success"}
    with pytest.raises(ValueError, match="already registered"):
        registry.ENVS.register("corridor", CORRIDOR)
    env = CORRIDOR.make(CorridorConfig())
    assert isinstance(env, Corridor) and env.truncates


@pytest.mark.parametrize("algo", ["dr", "robust-plr"])
def test_trains_with_a_curriculum_and_evaluates(algo, tmp_path):
    config = validate(preset(algo, "corridor", "test"))
    assert config.env == "corridor" and config.algo == algo
    result = train(config, tmp_path / algo, **quiet())
    rows = read_csv(result.out / "metrics.csv")
    assert [int(r["update"]) for r in rows] == [0, 1, 2, 3]
    applied = [r for r in rows if r["curriculum/apply_gradient"] == "1"]
    assert applied and all(float(r["student/grad_norm"]) > 0 for r in applied)
    assert "student/first_solve_rate" in rows[0]  # it declared a success signal
    if algo == "robust-plr":
        assert int(rows[-1]["buffer/size"]) > 0

    csv = tmp_path / f"{algo}-eval.csv"
    table = evaluate_runs([result.out], ["random"], attempts=2, num_levels=6, seed=0, out=csv)
    assert f"| {algo} | random | 1 |" in table
    evaluated = read_csv(csv)
    assert {r["statistic"] for r in evaluated} == {"solve_rate", "return", "length"}
    assert len({r["level"] for r in evaluated}) == 6
    assert all(0.0 <= float(r["value"]) <= 12 for r in evaluated)


@pytest.mark.parametrize(
    ("algo", "missing"),
    [("accel", "'mutator'"), ("ncc-reg", "'oracle'"), ("ncc-theory", "'oracle'")],
)
def test_algorithms_it_cannot_serve_are_refused_before_compiling(algo, missing):
    with pytest.raises(ConfigError, match=f"needs the env capability {missing}.*'corridor'"):
        build(preset(algo, "corridor", "test"))


def test_truncation_bootstraps_in_training():
    """The corridor's time-outs are truncations: its rollouts carry the value of the state the
    time-out reached, and GAE uses it."""
    program = build(preset("dr", "corridor", "test"))
    import jax

    state = jax.jit(program.init)(program.seed_keys())
    levels = {"start": np.zeros(4, np.int32), "goal": np.full(4, 7, np.int32)}
    from corridor_env import Level

    levels = Level(**{k: jax.numpy.asarray(v) for k, v in levels.items()})
    traj, _ = program.player.rollout(jax.random.key(0), state.student.params, levels, 13)
    truncated = np.asarray(traj.truncated)
    assert truncated.any()  # a random walk rarely covers 7 cells in 12 steps
    final = np.asarray(traj.final_values)
    assert np.all(final[truncated] != 0) and np.all(final[~truncated] == 0)


def test_the_command_line_trains_it_through_a_plugin(tmp_path, capsys):
    """``ued --plugins MODULE`` imports a module that registers envs, so the command line works
    on them too; a module that cannot be imported is named."""
    from ued.app.cli import main

    out = tmp_path / "cli"
    argv = ["--plugins", "corridor_env", "train", "--env", "corridor", "--preset", "test"]
    assert main([*argv, "--algo", "dr", "--out", str(out), "--no-progress"]) == 0
    assert len(read_csv(out / "metrics.csv")) == 4
    assert main(["--plugins", "no_such_module", "train"]) == 2
    assert "plugins: cannot import 'no_such_module'" in capsys.readouterr().err
