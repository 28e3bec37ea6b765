"""LPO meta-training (``ued meta-train --algo lpo``): OpenES over a drift network, each member a
full PPO run inside the jitted step. The evolution improves a toy fitness and its antithetic
members share keys; a run writes its metrics, evaluations against PPO and DPO, and the evolved
drift as a rule file that ``--learner lpo`` trains with; a killed run resumes bit-exactly."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import quiet, run_chunks, run_meta_steps

from ued.app import cli
from ued.app.build import build_meta, meta_train
from ued.app.build import preset as train_preset
from ued.buffer import BufferConfig, LevelBuffer
from ued.config import override
from ued.drift import LearnedDrift, load_rule
from ued.logging import read_csv
from ued.meta.config import preset
from ued.meta.drift_program import log_uniform_lifetime, rule_path
from ued.meta.evolution import ESState, EvolutionStrategy, TaskedESState
from ued.meta.tasks import PinnedLevel, TaskBatch


class Killed(Exception):
    pass


TARGET = {"w": jnp.array([1.0, -2.0, 0.5])}


def _toy_es() -> EvolutionStrategy:
    """OpenES on ``-|w - target|^2`` plus noise that depends only on the key (so antithetic
    members, sharing keys, share it)."""

    def fitness(key, rule, level, lifetime):
        noise = 0.1 * jax.random.normal(key)
        return -jnp.sum((rule["w"] - TARGET["w"]) ** 2) + noise + 0 * level

    return EvolutionStrategy(
        fitness=fitness,
        example_rule=lambda key: {"w": jnp.zeros(3)},
        population=16,
        sigma=0.1,
        lr=0.05,
        level_source=lambda key: jax.random.uniform(key),
        lifetime_of=lambda level: jnp.int32(1),
    )


def test_evolution_improves_a_toy_fitness_and_antithetic_members_share_keys():
    es = _toy_es()
    levels, keys = es.pair_levels_and_keys(jax.random.key(0))
    np.testing.assert_array_equal(levels[:8], levels[8:])
    np.testing.assert_array_equal(jax.random.key_data(keys[:8]), jax.random.key_data(keys[8:]))
    states, metrics, traces = run_meta_steps(es, 60)
    assert traces == 1
    distance = [float(jnp.sum((es.current_rule(s)["w"] - TARGET["w"]) ** 2)) for s in states]
    assert distance[-1] < 0.1 * distance[0]
    assert np.mean([m["return"] for m in metrics[-10:]]) > np.mean(
        [m["return"] for m in metrics[:10]]
    )


def test_lifetimes_are_drawn_log_uniformly_within_their_bounds():
    keys = jax.random.split(jax.random.key(0), 2000)
    drawn = np.asarray(jax.vmap(lambda k: log_uniform_lifetime(k, 4, 64))(keys))
    assert drawn.min() == 4 and drawn.max() == 64
    assert 0.35 < np.mean(drawn <= 16) < 0.65  # half the log-range: about half the draws
    assert int(log_uniform_lifetime(jax.random.key(1), 8, 8)) == 8


CONFIG = override(preset("lpo", "cartpole", "test"), updates=6, eval_every=6, checkpoint_every=2)


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    return meta_train(CONFIG, tmp_path_factory.mktemp("lpo") / "run", **quiet())


def test_an_lpo_run_writes_metrics_evaluations_and_its_drift(full_run):
    rows = read_csv(full_run.out / "metrics.csv")
    assert [int(r["update"]) for r in rows] == list(range(6))
    assert {"return", "best_return", "pair_difference"} <= set(rows[0])
    evaluated = read_csv(full_run.out / "eval.csv")
    assert {r["statistic"] for r in evaluated} == {
        "lpo_return", "ppo_return", "dpo_return", "normalised"
    }  # fmt: skip
    assert {int(r["update"]) for r in evaluated} == {0, 6}
    rule = load_rule(rule_path(full_run.out, 0))
    assert rule.hidden == CONFIG.rule.hidden and not rule.temporal and rule.ppo_init
    # The evolved drift trains a student with any curriculum (here robust PLR on CartPole).
    base = train_preset("robust-plr", "cartpole", "test")
    config = dataclasses.replace(
        base, learner="lpo", ppo=dataclasses.replace(base.ppo, rule=str(rule_path(full_run.out, 0)))
    )
    program, _, metrics, traces, _ = run_chunks(config, 2)
    assert isinstance(program.learner.losses, LearnedDrift) and traces == 1
    assert np.all(np.isfinite(np.asarray(metrics["student/loss"])))


def test_a_killed_lpo_run_resumes_bit_exactly(full_run, tmp_path):
    def kill(done, rows):
        if done == 4:  # after the checkpoint at update 2, before the one at 4
            raise Killed

    out = tmp_path / "run"
    with pytest.raises(Killed):
        meta_train(CONFIG, out, **quiet(on_chunk=kill))
    meta_train(None, out, resume=True, **quiet())
    for name in ("metrics.csv", "eval.csv"):
        assert (out / name).read_bytes() == (full_run.out / name).read_bytes(), name
    assert rule_path(out, 0).read_bytes() == rule_path(full_run.out, 0).read_bytes()


def test_ta_lpo_draws_lifetimes_and_feeds_the_progress():
    config = override(preset("lpo", "cartpole", "test"), rule__lifetime_conditioned=True,
                      curriculum__lifetime=4, curriculum__min_lifetime=2)  # fmt: skip
    program = build_meta(config)
    assert program.objective.temporal and program.lifetimes == (2, 4)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--backend", "gradient"], "backend: lpo is meta-trained by evolution"),
        (["--curriculum.min-lifetime", "9"], "curriculum.min_lifetime: must be in [0, lifetime"),
        (
            ["--curriculum.inner-algo", "sfl", "--env", "pendulum"],
            "curriculum.inner_algo: 'sfl' needs the env capability 'success'",
        ),
        (["--curriculum.ppo.num-envs", "3"], "curriculum.ppo.minibatches"),
        (["--curriculum.task-source", "buffer"], "curriculum.tasks: task_source and task_norm"),
        (
            ["--curriculum.tasks", "2", "--curriculum.inner-algo", "robust-plr"],
            "curriculum.inner_algo: tasks pin each member's level",
        ),
    ],
)
def test_lpo_refuses_bad_settings_before_compiling(argv, message, tmp_path, capsys):
    out = tmp_path / "run"
    base = ["meta-train", "--algo", "lpo", "--env", "cartpole", "--preset", "test"]
    assert cli.main([*base, *argv, "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_meta_eval_compares_an_lpo_run_with_ppo_and_dpo(full_run, tmp_path):
    out = tmp_path / "meta_eval.csv"
    argv = ["meta-eval", str(full_run.out), "--suite", "random", "--levels", "2", "--out", str(out)]
    assert cli.main(argv) == 0
    rows = read_csv(out)
    assert {"lpo_return", "ppo_return", "dpo_return", "normalised"} <= {
        r["statistic"] for r in rows
    }
    summary = out.with_suffix(".md").read_text()
    assert "lpo_return" in summary and "a2c_return" not in summary
    curves = read_csv(out.with_name("meta_eval_curves.csv"))
    assert {r["rule"] for r in curves} == {"lpo", "ppo", "dpo"}
    assert {int(r["inner_update"]) for r in curves} == {0, 1, 2}  # scored before and after each
    assert out.with_name("meta_eval_curves.png").stat().st_size > 0
    assert list((full_run.out / "plots").glob("drift_*.png"))  # the drift over (rho, A)


def test_meta_eval_trains_with_the_evolved_drift_on_a_held_out_env(full_run, tmp_path):
    out = tmp_path / "held_out.csv"
    argv = ["meta-eval", str(full_run.out), "--env", "acrobot", "--suite", "default", "--out",
            str(out)]  # fmt: skip
    assert cli.main(argv) == 0
    rows = read_csv(out)
    assert {r["run"] for r in rows} == {"run@acrobot"} and {r["level"] for r in rows} == {"default"}
    returns = [float(r["value"]) for r in rows if r["statistic"] == "lpo_return"]
    assert returns and all(-32 <= v <= 0 for v in returns)  # Acrobot's, 32-step test episodes


# ---- task batches: per-task normalisation and the AR-scored task buffer -----------------------
def _task_batch(**settings) -> TaskBatch:
    return TaskBatch(
        level_source=lambda key: {"x": jax.random.uniform(key, (2,))},
        num_tasks=3,
        baseline_return=lambda key, task: 10.0 * task["x"].sum(),
        **settings,
    )


def test_per_task_ranks_keep_a_large_scale_task_from_drowning_the_others():
    tasks = _task_batch(normalise="rank")
    # Member 0 is best on the two small-scale tasks, member 1 on the large-scale one.
    returns = jnp.array([[3.0, 3.0, 100.0], [1.0, 1.0, 900.0], [2.0, 2.0, 500.0]])
    _, fitness, _ = tasks.fitness(jax.random.key(0), tasks.init(jax.random.key(1)), None,
                                  jnp.zeros(3, bool), returns)  # fmt: skip
    assert int(jnp.argmax(fitness)) == 0  # the plain mean would pick member 1
    assert int(jnp.argmax(returns.mean(axis=1))) == 1
    task_levels = {"x": jnp.ones((3, 2))}
    by_ppo = _task_batch(normalise="ppo")
    _, fitness, metrics = by_ppo.fitness(jax.random.key(0), by_ppo.init(jax.random.key(1)),
                                         task_levels, jnp.zeros(3, bool), returns)  # fmt: skip
    np.testing.assert_allclose(fitness, (returns / 20.0).mean(axis=1), rtol=1e-6)
    assert float(metrics["task_ppo_return"]) == 20.0


def test_the_task_buffer_keeps_the_tasks_ppo_beats_the_learned_drift_on_and_replays_them():
    buffer = LevelBuffer(BufferConfig(capacity=4, prioritization="topk", topk=2,
                                      staleness_coeff=0.0, min_fill=0.5,
                                      sample_with_replacement=False),
                         extras=("ppo_return", "learned_return"))  # fmt: skip
    tasks = _task_batch(buffer=buffer, replay_prob=1.0)
    state = tasks.init(jax.random.key(0))
    state, drawn, replayed = tasks.draw(jax.random.key(1), state)
    assert not replayed.any()  # nothing to replay before the buffer is ready
    returns = jnp.zeros((4, 3)).at[:, 0].set(100.0)  # the learned drift is good on task 0 only
    state, _, _ = tasks.fitness(jax.random.key(2), state, drawn, replayed, returns)
    ppo = 10.0 * drawn["x"].sum(axis=1)
    np.testing.assert_allclose(state.buffer.scores[:3], ppo - returns.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(state.buffer.extras["ppo_return"][:3], ppo, rtol=1e-6)
    state, again, replayed = tasks.draw(jax.random.key(3), state)
    assert replayed.all()  # ready: every task replayed from the buffer
    stored = {tuple(np.round(x, 6)) for x in np.asarray(drawn["x"])}
    assert {tuple(np.round(x, 6)) for x in np.asarray(again["x"])} <= stored
    weights = np.asarray(buffer.replay_weights(state.buffer))
    assert weights[0] == 0 and weights[1] > 0 and weights[2] > 0  # the top 2 by regret


TASKS_CONFIG = override(CONFIG, curriculum__tasks=2, curriculum__task_source="buffer",
                        curriculum__buffer__capacity=4, curriculum__buffer__topk=2,
                        curriculum__buffer__min_fill=0.5)  # fmt: skip


@pytest.fixture(scope="module")
def task_run(tmp_path_factory):
    return meta_train(TASKS_CONFIG, tmp_path_factory.mktemp("lpo") / "tasks", **quiet())


def test_a_task_buffer_run_scores_its_tasks_against_ppo_and_resumes_bit_exactly(task_run, tmp_path):
    rows = read_csv(task_run.out / "metrics.csv")
    assert {"task_ppo_return", "task_regret", "tasks_replayed"} <= set(rows[0])
    replays = [int(r["tasks_replayed"]) for r in rows]
    assert replays[0] == 0 and sum(replays[1:]) > 0  # replay once 2 tasks are stored
    program = build_meta(TASKS_CONFIG)
    assert isinstance(program.meta.tasks.buffer, LevelBuffer)
    ppo, lifetime = program.trainer.config.ppo, TASKS_CONFIG.curriculum.lifetime
    run = lifetime * ppo.num_envs * ppo.num_steps + 2 * program.env.max_steps  # train, score
    assert program.steps_per_update == (4 + 1) * 2 * run  # 4 members and PPO, on 2 tasks

    def kill(done, rows):
        if done == 4:
            raise Killed

    out = tmp_path / "tasks"  # the run name, which eval.csv records
    with pytest.raises(Killed):
        meta_train(TASKS_CONFIG, out, **quiet(on_chunk=kill))
    meta_train(None, out, resume=True, **quiet())
    for name in ("metrics.csv", "eval.csv"):
        assert (out / name).read_bytes() == (task_run.out / name).read_bytes(), name


def test_only_a_run_with_tasks_carries_their_state_so_older_checkpoints_still_restore():
    for config, state_type in ((CONFIG, ESState), (TASKS_CONFIG, TaskedESState)):
        program = build_meta(config)
        assert type(jax.eval_shape(program.init, program.seed_keys())) is state_type


def test_a_pinned_task_trains_every_env_on_its_level():
    program = build_meta(TASKS_CONFIG)
    trainer = program.meta.fitness.args[0]
    assert isinstance(trainer.curriculum, PinnedLevel)
    level = program.env.sample_level(jax.random.key(5))
    state = PinnedLevel.pin(trainer.init(jax.random.key(0)), level)
    _, _, levels = jax.jit(trainer.update)(state, jnp.int32(0))
    np.testing.assert_array_equal(levels.values, np.broadcast_to(level.values, levels.values.shape))
