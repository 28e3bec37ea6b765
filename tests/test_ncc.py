"""NCC (the optimisation framework for UED): the tests its spec pins it down with."""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import quiet
from hypothesis import given
from hypothesis import strategies as st

from algorithms import ncc
from algorithms.ncc import project_to_truncated_simplex, replace_lowest
from algorithms.ncc_adversary import AdversaryState, adversary_step, entropy_weight
from envs.maze import MAZE, Maze, optimal_actions, optimal_return, random_solvable_levels
from ued import scores
from ued.app.build import build, preset, train
from ued.config import override
from ued.train import seed_keys


def _brute_projection(v, eps):
    lo, hi = -np.abs(v).max() - 2.0, np.abs(v).max() + 2.0
    for _ in range(200):  # bisection on the shift: sum(max(v + lam, eps)) is monotone
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if np.maximum(v + mid, eps).sum() > 1 else (mid, hi)
    return np.maximum(v + lo, eps)


@given(
    values=st.lists(st.floats(-50, 50), min_size=2, max_size=40),
    eps_fraction=st.sampled_from([0.0, 1e-3, 0.5, 0.99]),
)
def test_projection_properties_and_brute_force(values, eps_fraction):
    v = np.array(values, np.float64)
    eps = eps_fraction / v.size
    y = np.asarray(project_to_truncated_simplex(jnp.asarray(v, jnp.float32), eps), np.float64)
    assert y.sum() == pytest.approx(1.0, abs=1e-5)
    assert np.all(y >= eps - 1e-7) and np.all(y <= 1.0 + 1e-7)
    np.testing.assert_allclose(y, _brute_projection(v, eps), atol=2e-5)
    again = np.asarray(project_to_truncated_simplex(jnp.asarray(y, jnp.float32), eps))
    np.testing.assert_allclose(again, y, atol=1e-5)  # idempotent (float32: y sums to 1 ± 1e-5)


def test_projection_under_vmap():
    v = jax.random.normal(jax.random.key(0), (7, 30))
    y = jax.vmap(project_to_truncated_simplex, in_axes=(0, None))(v, 1e-3)
    np.testing.assert_allclose(y.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(y[3], project_to_truncated_simplex(v[3], 1e-3), atol=1e-7)


def _ascend(scores, alpha, steps=2000, rule="adagrad_norm", step_size=1.0):
    def body(_, state):
        return adversary_step(state, scores, alpha, step_size=step_size, eps=1e-5, rule=rule)[0]

    return jax.jit(lambda: jax.lax.fori_loop(0, steps, body, AdversaryState.uniform(scores.size)))()


def test_fixed_scores_converge_to_softmax_and_raise_the_expected_score():
    s = jax.random.normal(jax.random.key(1), (20,))
    alpha = 0.1
    state = _ascend(s, alpha)
    assert float(jnp.abs(state.y - jax.nn.softmax(s / alpha)).sum()) < 0.01
    # Sign test: ascent puts the mass on high scores. The released code once *descended*, which
    # sends the mass to the lowest score; that would fail both checks.
    assert float(state.y @ s) > float(s.mean()) + 0.5
    assert int(jnp.argmax(state.y)) == int(jnp.argmax(s))


C = jnp.array([-1.0, 0.0, 0.3, 2.0])


def _toy(rule="adagrad_norm", uniform=False, steps=20_000, order="simultaneous"):
    """Level i has regret (x - c_i)^2; the student descends the y-weighted regret."""

    def body(_, carry):
        x, state = carry
        regrets = (x - C) ** 2
        new, _ = adversary_step(state, regrets, 0.01, step_size=1.0, eps=1e-5, rule=rule)
        y = jnp.full(4, 0.25) if uniform else (new.y if order == "alternating" else state.y)
        return x - 0.01 * jnp.sum(y * 2.0 * (x - C)), new

    x, state = jax.jit(
        lambda: jax.lax.fori_loop(0, steps, body, (jnp.float32(0.0), AdversaryState.uniform(4)))
    )()
    return float(x), np.asarray(state.y)


@pytest.mark.parametrize("order", ["simultaneous", "alternating"])
def test_two_player_toy_reaches_minimax_regret(order):
    x, y = _toy(order=order)
    assert x == pytest.approx(0.5, abs=0.02)  # midpoint of the extreme levels
    assert y[0] + y[3] > 0.95 and abs(y[0] - y[3]) < 0.1


def test_two_player_toy_baselines_and_the_biased_per_coordinate_rule():
    x_uniform, _ = _toy(uniform=True)
    assert x_uniform == pytest.approx(0.325, abs=1e-3)  # mean(c): uniform y ignores regret
    x_coordinate, _ = _toy(rule="adagrad_coordinate")
    assert abs(x_coordinate - 0.5) > 0.03  # stops short (about 0.45): why it is not the default
    assert x_coordinate == pytest.approx(0.453, abs=0.02)


def test_entropy_weight_schedules():
    assert float(entropy_weight(0.25, jnp.int32(7), "constant")) == 0.25
    assert float(entropy_weight(0.25, jnp.int32(7), "cube_root")) == pytest.approx(0.25 / 2.0)


def test_oracle_regret_of_the_optimal_path_is_zero():
    env = Maze()
    levels = random_solvable_levels(env.generator, 16, seed=3)
    gamma, steps = 0.995, 80

    def replay(level):
        actions, _ = optimal_actions(level, steps)
        _, state = env.reset_to_level(jax.random.key(0), level)

        def step(state, action):
            _, new, reward, done, _, _ = env.step(jax.random.key(0), state, action)
            return jax.tree_util.tree_map(lambda a, b: jnp.where(state.done, a, b), state, new), (
                jnp.where(state.done, 0.0, reward),
                done & ~state.done,
            )

        return jax.lax.scan(step, state, actions)[1]

    rewards, dones = jax.jit(jax.vmap(replay))(levels)
    v_star = jax.vmap(lambda lv: optimal_return(lv, gamma, env.max_steps))(levels)
    regret = scores.oracle_regret(v_star, rewards.T, dones.T, gamma)
    np.testing.assert_allclose(regret, 0.0, atol=1e-6)


def test_dynamic_buffer_replaces_the_lowest_slots_only_when_better():
    levels = {"id": jnp.arange(4)}
    buffer = (levels, jnp.array([0.5, 0.1, 0.3, 0.2]), jnp.zeros(4))
    fresh = ({"id": jnp.array([10, 11, 12])}, jnp.array([0.15, 0.4, 0.05]), jnp.ones(3))
    (levels, s, optimal), accepted = replace_lowest(buffer, fresh)
    # Best first: 11 (0.4) replaces slot 1 (0.1); then 10 (0.15) and 12 (0.05) lose to slot 3 (0.2).
    assert np.asarray(levels["id"]).tolist() == [0, 11, 2, 3]
    np.testing.assert_allclose(s, [0.5, 0.4, 0.3, 0.2])
    assert np.asarray(accepted).tolist() == [True, False, False]
    np.testing.assert_allclose(optimal, [0, 1, 0, 0])


def _ncc_trainer(algo, **fields):
    config = override(preset(algo, "maze", "test"), **fields)
    program = build(config)
    return config, jax.jit(program.init), jax.jit(program.chunk)


def test_the_step_is_deterministic_and_the_adversary_moves():
    config, init, chunk = _ncc_trainer("ncc-reg")
    runs = []
    for _ in range(2):
        state = init(seed_keys(config))
        state, metrics, _ = chunk(state, jnp.int32(0))
        runs.append((state.curriculum.adversary.y, metrics))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    for name in runs[0][1]:
        np.testing.assert_array_equal(runs[0][1][name], runs[1][1][name], err_msg=name)
    y = np.asarray(runs[0][0])
    assert not np.allclose(y, 1.0 / y.size) and y.sum() == pytest.approx(1.0, abs=1e-5)


@pytest.mark.slow  # the same property for every curriculum: tests/test_train.py (DR)
def test_vmapped_seeds_equal_separate_runs():
    config, init, chunk = _ncc_trainer("ncc-learn", seeds=(0, 1))
    both, metrics_both, _ = chunk(init(seed_keys(config)), jnp.int32(0))
    for i, seed in enumerate((0, 1)):
        single_config, single_init, single_chunk = _ncc_trainer("ncc-learn", seed=seed)
        single, metrics, _ = single_chunk(single_init(seed_keys(single_config)), jnp.int32(0))
        np.testing.assert_allclose(
            both.curriculum.adversary.y[i], single.curriculum.adversary.y, rtol=1e-5, atol=1e-7
        )
        np.testing.assert_allclose(
            metrics_both["adversary/entropy"][:, i], metrics["adversary/entropy"], rtol=1e-5
        )


def test_theory_preset_uses_plain_reinforce_sgd_a_box_and_the_best_iterate():
    """The theory's student: REINFORCE with SGD, no advantage normalisation and no gradient
    clipping (the estimator the analysis assumes), parameters in a box, and the best iterate
    chosen by the norm of the *policy objective's* gradient (not of the whole loss, whose value
    term the theory does not have)."""
    config, init, chunk = _ncc_trainer("ncc-theory", ppo__param_bound=0.05)
    ppo = config.ppo
    assert ppo.objective == "reinforce" and ppo.optimizer == "sgd"
    assert not ppo.normalize_advantages and ppo.max_grad_norm == 0.0
    assert not config.curriculum.dynamic_buffer and config.curriculum.step_rule == "sgd"
    state = init(seed_keys(config))
    chain = str(jax.tree_util.tree_structure(state.student.opt_state))
    assert "mu" not in chain and "ClipByGlobalNorm" not in chain  # no Adam moments, no clip
    state, metrics, _ = chunk(state, jnp.int32(0))
    leaves = jax.tree_util.tree_leaves(state.student.params)
    assert max(float(jnp.abs(p).max()) for p in leaves) <= 0.05 + 1e-7
    best = state.student.best
    assert np.isfinite(float(best.grad_norm)) and int(best.update) >= 0
    policy_norms = np.asarray(metrics["student/policy_grad_norm"])
    assert float(best.grad_norm) == pytest.approx(float(policy_norms.min()), rel=1e-6)
    assert not np.allclose(policy_norms, np.asarray(metrics["student/grad_norm"]))


def test_scoring_budget_warning():
    config = preset("ncc-reg", "maze", "paper")
    env = MAZE.make(config.env_config)
    with pytest.warns(UserWarning, match="score-every"):
        ncc.make(env, MAZE, config)
    cpu = preset("ncc-reg", "maze", "cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ncc.make(MAZE.make(cpu.env_config), MAZE, override(cpu, curriculum__max_scoring_ratio=1e9))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"curriculum__epsilon": 0.2}, "curriculum.epsilon"),
        ({"curriculum__score_subset": 10_000}, "curriculum.score_subset"),
        ({"curriculum__attempts": 0}, "curriculum.attempts"),
        ({"curriculum__step_rule": "nope"}, "curriculum.step_rule"),
    ],
)
def test_invalid_ncc_settings_are_named(fields, message):
    from ued.config import ConfigError, validate

    with pytest.raises(ConfigError, match=message):
        validate(override(preset("ncc-reg", "maze", "test"), **fields))


@pytest.mark.slow  # a full train + eval round trip; CI's budget
def test_evaluation_can_read_the_best_iterate(tmp_path):
    """``ued eval --iterate best`` reads the tracked best iterate's parameters; a run that did
    not track one is refused by name."""
    from ued.app.build import load_run
    from ued.checkpoint import Checkpointer
    from ued.errors import ConfigError

    config = override(preset("ncc-theory", "maze", "test"), eval_every=0)
    result = train(config, tmp_path / "theory", **quiet())
    program = build(config)
    full, _ = Checkpointer(result.out / "checkpoints").restore(
        config.updates, jax.eval_shape(program.init, seed_keys(config))
    )
    best = load_run(result.out, iterate="best").seed_params[0]
    same = jax.tree_util.tree_map(np.array_equal, best, full.student.best.params)
    assert all(jax.tree_util.tree_leaves(same))
    dr = override(preset("dr", "maze", "test"), eval_every=0)
    dr_out = train(dr, tmp_path / "dr", **quiet()).out
    with pytest.raises(ConfigError, match="did not track a best iterate"):
        load_run(dr_out, iterate="best")
