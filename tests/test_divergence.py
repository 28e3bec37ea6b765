"""The divergence guard: a run whose loss, parameters or level scores go non-finite stops with a
message naming the update, the value and the last intact checkpoint, and never checkpoints the
non-finite state (``ued train`` and ``ued meta-train``)."""

from __future__ import annotations

import dataclasses
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ued import guard
from ued.app.build import build
from ued.app.cli import main
from ued.checkpoint import Checkpointer
from ued.errors import DivergenceError
from ued.logging import read_csv
from ued.loop import run

SCORES = "curriculum/buffer/scores"


def _state(**leaves):
    tree = {
        "student": {"params": {"w": jnp.ones((2, 3))}, "opt_state": {"mu": jnp.zeros(3)}},
        "curriculum": {"buffer": {"scores": jnp.array([0.5, -jnp.inf, -jnp.inf])}},
        "best": {"grad_norm": jnp.array(jnp.inf)},  # "none yet": not guarded
        "rng": jax.random.key(0),
    }
    for path, value in leaves.items():
        node = tree
        *parents, name = path.split("/")
        for parent in parents:
            node = node[parent]
        node[name] = value
    return tree


def test_guarded_leaves_are_parameters_optimiser_states_and_scores():
    assert guard.guarded_names(_state()) == [
        "curriculum/buffer/scores",
        "student/opt_state/mu",
        "student/params/w",
    ]
    assert guard.nonfinite_state(_state()) is None  # -inf marks an empty buffer slot


@pytest.mark.parametrize(
    ("leaves", "named"),
    [
        ({"student/params/w": jnp.full((2, 3), jnp.nan)}, "student/params/w"),
        ({"student/params/w": jnp.array([[1.0, jnp.inf, 0], [0, 0, 0]])}, "student/params/w"),
        ({"student/opt_state/mu": jnp.array([0.0, -jnp.inf, 0])}, "student/opt_state/mu"),
        ({"curriculum/buffer/scores": jnp.array([jnp.nan, -jnp.inf, 0])}, SCORES),
        ({"curriculum/buffer/scores": jnp.array([jnp.inf, 0, 0])}, SCORES),
        ({"best/grad_norm": jnp.array(jnp.nan)}, None),
    ],
)  # fmt: skip
def test_state_check_names_the_first_non_finite_leaf(leaves, named):
    state = _state(**leaves)
    assert guard.nonfinite_state(state) == named
    health = jax.jit(guard.state_health)(state)  # the in-jit check agrees with the host's
    assert guard.first_bad_state_leaf(guard.guarded_names(state), health) == named


def test_the_earliest_non_finite_loss_is_named_with_its_update_and_seed():
    metrics = {
        "student/loss": np.array([[0.1, 0.2], [0.1, np.nan], [np.nan, np.nan]]),
        "student/value_loss": np.array([[0.1, 0.2], [0.3, 0.4], [np.inf, 0.0]]),
        "student/return": np.array([[np.nan, 0.0]] * 3),  # not a loss: NaN may mean "none"
    }
    assert guard.first_bad_loss(metrics, 10, (0, 7)) == "update 11: student/loss is nan (seed 7)"
    single = {"meta_loss": np.array([0.5, np.inf])}
    assert guard.first_bad_loss(single, 4, (0,)) == "update 5: meta_loss is inf"
    assert guard.first_bad_loss({"student/loss": np.zeros(3)}, 0, (0,)) is None


def test_buffer_scores_of_a_real_curriculum_are_guarded():
    from ued.app.build import preset

    program = build(preset("robust-plr", "maze", "test"))
    state = jax.jit(program.init)(program.seed_keys())
    names = guard.guarded_names(state)
    assert "curriculum/buffer/scores" in names
    assert any(n.startswith("student/params/") for n in names)
    assert any(n.startswith("student/opt_state/") for n in names)
    assert guard.nonfinite_state(state) is None  # an empty buffer: -inf everywhere
    scores = state.curriculum.buffer.scores.at[1].set(jnp.nan)
    bad = state.replace(curriculum=state.curriculum.replace(buffer=state.curriculum.buffer.replace(
        scores=scores)))  # fmt: skip
    assert guard.nonfinite_state(bad) == "curriculum/buffer/scores"


def test_a_run_that_diverges_stops_before_its_first_checkpoint(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "--preset", "test", "--ppo.lr", "1e30", "--out", str(out),
                 "--no-progress"])  # fmt: skip
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("ued train: error: ")]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err[-2000:]
    assert f"{out}: the run diverged at update 0: student/loss is nan" in lines[0]
    assert "no checkpoint was saved before it" in lines[0]
    assert not any((out / "checkpoints").iterdir())


def test_divergence_after_a_checkpoint_keeps_it_and_names_it(test_config, tmp_path):
    """Parameters turned NaN by the chunk of updates 2-3 (losses still finite): the run stops
    there, names the leaf and checkpoint 2, and writes no checkpoint of the NaN state."""
    config = dataclasses.replace(test_config, updates=6, eval_every=0)
    program = build(config)
    chunk = program.chunk

    def poisoned(state, start):
        state, metrics, aux = chunk(state, start)
        params = jax.tree_util.tree_map(
            lambda x: jnp.where(start >= 2, jnp.nan, x), state.student.params
        )
        return state.replace(student=state.student.replace(params=params)), metrics, aux

    program.chunk = poisoned
    out = tmp_path / "run"
    with pytest.raises(DivergenceError) as error:
        run(program, out, progress=False, log=lambda *_: None)
    message = str(error.value)
    assert message.startswith(f"{out}: the run diverged by update 3: student/params/")
    assert "holds NaN or inf" in message
    assert f"the last intact checkpoint is {out / 'checkpoints' / '2'} (update 2)" in message
    checkpointer = Checkpointer(out / "checkpoints")
    assert checkpointer.all_steps() == [2]
    state, _ = checkpointer.restore(2, jax.eval_shape(program.init, program.seed_keys()))
    checkpointer.close()
    assert guard.nonfinite_state(state) is None
    assert [int(r["update"]) for r in read_csv(out / "metrics.csv")] == [0, 1, 2, 3]
    assert not (out / "run.json").exists()


@pytest.mark.slow  # CI's 20 minutes; make test-all runs it
def test_meta_training_that_diverges_stops_naming_the_meta_loss(tmp_path, capsys):
    out = tmp_path / "meta"
    code = main(["meta-train", "--preset", "test", "--meta-lr", "1e30", "--eval-every", "0",
                 "--out", str(out), "--no-progress"])  # fmt: skip
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("ued meta-train: error: ")]
    assert code == 2 and len(lines) == 1, err[-2000:]
    assert f"{out}: the run diverged at update " in lines[0]
    # A 1e30 step overflows the meta-loss to inf or nan depending on XLA's kernels.
    assert re.search(r"meta_loss is (nan|inf)", lines[0]), lines[0]
    assert not any((out / "checkpoints").iterdir())
