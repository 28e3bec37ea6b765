"""PPO pieces: GAE on hand-computed examples (with truncation), the categorical helper and its
action masks, loss signs, the update, the learner interface."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from envs.maze import Maze, MazeEncoder
from ued import distributions
from ued.config import PPOConfig
from ued.networks import ActorCritic, init_params
from ued.ppo import Batch, PPOLearner, gae, learning_rate, make_optimizer, ppo_loss, ppo_update
from ued.rollout import Trajectory


def test_gae_hand_computed():
    # gamma 0.9, lambda 0.8; the episode ends after t=1, so t=1 does not bootstrap from t=2.
    rewards = jnp.array([[1.0], [0.0], [2.0]])
    values = jnp.array([[0.5], [0.2], [0.1]])
    dones = jnp.array([[False], [True], [False]])
    adv, targets = gae(rewards, values, dones, jnp.array([0.3]), 0.9, 0.8)
    delta2 = 2.0 + 0.9 * 0.3 - 0.1
    delta1 = 0.0 - 0.2
    delta0 = 1.0 + 0.9 * 0.2 - 0.5
    expected = np.array([delta0 + 0.9 * 0.8 * delta1, delta1, delta2])
    np.testing.assert_allclose(adv[:, 0], expected, rtol=1e-6)
    np.testing.assert_allclose(targets[:, 0], expected + np.array([0.5, 0.2, 0.1]), rtol=1e-6)


def test_gae_bootstraps_from_the_value_at_a_truncation():
    """gamma 0.9, lambda 0.8. Env 0: the episode is *truncated* after t=1, where the state it
    reached is worth 0.7, so t=1 bootstraps from 0.7 (not 0, not the next episode's 0.1) and no
    advantage flows back across the boundary. Env 1: the same rewards, *terminated* after t=1."""
    rewards = jnp.array([[1.0, 1.0], [0.0, 0.0], [2.0, 2.0]])
    values = jnp.array([[0.5, 0.5], [0.2, 0.2], [0.1, 0.1]])
    dones = jnp.array([[False, False], [True, True], [False, False]])
    truncated = jnp.array([[False, False], [True, False], [False, False]])
    final_values = jnp.array([[0.0, 0.0], [0.7, 0.0], [0.0, 0.0]])
    adv, _ = gae(rewards, values, dones, jnp.array([0.3, 0.3]), 0.9, 0.8, truncated, final_values)
    delta2 = 2.0 + 0.9 * 0.3 - 0.1
    delta1_truncated = 0.0 + 0.9 * 0.7 - 0.2
    delta1_terminated = 0.0 - 0.2
    expected = np.array(
        [
            [
                1.0 + 0.9 * 0.2 - 0.5 + 0.72 * delta1_truncated,
                1.0 + 0.9 * 0.2 - 0.5 + 0.72 * delta1_terminated,
            ],
            [delta1_truncated, delta1_terminated],
            [delta2, delta2],
        ]
    )
    np.testing.assert_allclose(adv, expected, rtol=1e-6)
    # Without truncation flags every end is terminal: the references' convention.
    plain, _ = gae(rewards, values, dones, jnp.array([0.3, 0.3]), 0.9, 0.8)
    np.testing.assert_allclose(plain[:, 0], expected[:, 1], rtol=1e-6)


def test_gae_lambda_one_is_discounted_return_minus_value():
    rng = np.random.default_rng(0)
    rewards = rng.normal(size=(6, 2)).astype(np.float32)
    values = rng.normal(size=(6, 2)).astype(np.float32)
    dones = np.zeros((6, 2), bool)
    adv, _ = gae(rewards, values, dones, jnp.zeros(2), 0.9, 1.0)
    returns = np.zeros((6, 2))
    acc = np.zeros(2)
    for t in reversed(range(6)):
        acc = rewards[t] + 0.9 * acc
        returns[t] = acc
    np.testing.assert_allclose(adv, returns - values, rtol=1e-5, atol=1e-5)


def test_categorical_helper():
    logits = jnp.log(jnp.array([[0.2, 0.5, 0.3]]))
    np.testing.assert_allclose(
        distributions.log_prob(logits, jnp.array([1])), np.log([0.5]), rtol=1e-6
    )
    expected_entropy = -np.sum(np.array([0.2, 0.5, 0.3]) * np.log([0.2, 0.5, 0.3]))
    np.testing.assert_allclose(distributions.entropy(logits), [expected_entropy], rtol=1e-6)
    samples = distributions.sample(jax.random.key(0), jnp.broadcast_to(logits, (20000, 3)))
    np.testing.assert_allclose(
        np.bincount(np.asarray(samples), minlength=3) / 20000, [0.2, 0.5, 0.3], atol=0.015
    )


def test_action_masks_give_masked_actions_zero_probability():
    logits = jnp.array([[0.3, 2.0, -1.0], [0.0, 0.0, 0.0]])
    mask = jnp.array([[True, False, True], [False, False, True]])
    masked = distributions.apply_mask(logits, mask)
    samples = distributions.sample(jax.random.key(0), jnp.broadcast_to(masked, (5000, 2, 3)))
    assert not np.any(np.asarray(samples)[:, 0] == 1) and np.all(np.asarray(samples)[:, 1] == 2)
    probs = np.exp(np.asarray(jax.nn.log_softmax(masked)))
    np.testing.assert_allclose(
        probs[0], [np.exp(0.3), 0, np.exp(-1.0)] / (np.exp(0.3) + np.exp(-1.0)), rtol=1e-6
    )
    entropy = np.asarray(distributions.entropy(masked))
    assert np.all(np.isfinite(entropy)) and entropy[1] == pytest.approx(0.0, abs=1e-6)
    grads = jax.grad(lambda x: distributions.entropy(distributions.apply_mask(x, mask)).sum())(
        logits
    )
    assert np.all(np.isfinite(np.asarray(grads)))


def test_learning_rate_schedule_reaches_zero_by_update_count():
    config = PPOConfig(lr=1e-3)
    lrs = [float(learning_rate(config, jnp.float32(1e-3), jnp.int32(k), 10)) for k in range(10)]
    np.testing.assert_allclose(lrs, 1e-3 * (1 - np.arange(10) / 10), rtol=1e-6)
    flat = dataclasses.replace(config, anneal_lr=False)
    assert float(learning_rate(flat, jnp.float32(1e-3), jnp.int32(9), 10)) == pytest.approx(1e-3)


def test_learning_rate_by_gradient_updates_is_jaxueds_schedule():
    """JaxUED's ``linear_schedule(count) = lr * (1 - (count // (minibatches * epochs)) /
    num_updates)`` with optax's count of Adam steps (examples/maze_plr.py): after g updates that
    applied a gradient, at any training update, the rate is lr * (1 - g / updates)."""
    config = PPOConfig(lr=1e-3, epochs=3, minibatches=2, anneal_lr_by="gradient")
    optimizer = make_optimizer(config)
    params = {"w": jnp.ones(3)}
    opt_state = optimizer.init(params)
    for g in range(5):
        count = int(optax.tree_utils.tree_get(opt_state, "count"))
        jaxued = 1e-3 * (1 - (count // (config.minibatches * config.epochs)) / 10)
        for update in (g, 9):  # the training update does not matter, only the gradient steps
            ours = learning_rate(config, jnp.float32(1e-3), jnp.int32(update), 10, opt_state)
            assert float(ours) == pytest.approx(jaxued, rel=1e-6)
        for _ in range(config.epochs * config.minibatches):  # one update's Adam steps
            _, opt_state = optimizer.update({"w": jnp.ones(3)}, opt_state, params)


# ---- loss signs on a tiny feed-forward network ---------------------------------------------------
ENV = Maze(height=5, width=5, max_steps=10)
NET = ActorCritic(
    num_actions=3, encoder=MazeEncoder(2, 2), cell="none", hidden_size=4, head_hidden=4
)
T, B = 4, 2


def _batch(action: int, advantage: float, params, target: float = 0.0) -> Batch:
    obs = jax.tree_util.tree_map(
        lambda x: jnp.broadcast_to(x, (T, B, *x.shape)), ENV.dummy_observation()
    )
    obs = obs.replace(image=obs.image.at[..., 1].set(1))
    resets = jnp.zeros((T, B), bool).at[0].set(True)
    _, logits, values = NET.apply(params, NET.initialize_carry(B), obs, resets)
    actions = jnp.full((T, B), action, jnp.int32)
    traj = Trajectory(
        obs=obs,
        resets=resets,
        actions=actions,
        log_probs=distributions.log_prob(logits, actions),
        values=values,
        rewards=jnp.zeros((T, B)),
        dones=jnp.zeros((T, B), bool),
        truncated=jnp.zeros((T, B), bool),
        final_values=jnp.zeros((T, B)),
        solved=jnp.zeros((T, B), bool),
    )
    adv = jnp.full((T, B), advantage) + jnp.linspace(0, 0.01, T * B).reshape(T, B)
    return Batch(traj, adv, jnp.full((T, B), target), NET.initialize_carry(B))


@pytest.fixture(scope="module")
def params():
    return init_params(NET, jax.random.key(0), ENV.dummy_observation())


def _log_prob(params, batch):
    carry = NET.initialize_carry(B)
    _, logits, values = NET.apply(params, carry, batch.trajectory.obs, batch.trajectory.resets)
    return distributions.log_prob(logits, batch.trajectory.actions).mean(), values.mean()


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_policy_gradient_sign(params, sign):
    config = PPOConfig(
        num_envs=B,
        num_steps=T,
        epochs=3,
        minibatches=1,
        lr=1e-2,
        normalize_advantages=False,
        ent_coef=0.0,
        vf_coef=0.0,
    )
    batch = _batch(action=2, advantage=sign, params=params)
    optimizer = make_optimizer(config)
    new, _, metrics = ppo_update(
        jax.random.key(1),
        params,
        optimizer.init(params),
        batch,
        jnp.float32(config.lr),
        NET,
        optimizer,
        config,
    )
    before, _ = _log_prob(params, batch)
    after, _ = _log_prob(new, batch)
    assert (after - before) * sign > 1e-4, "positive advantages must raise the action's log-prob"
    assert float(metrics["grad_norm"]) > 0


def test_value_loss_moves_values_towards_targets(params):
    config = PPOConfig(
        num_envs=B, num_steps=T, epochs=5, minibatches=2, lr=1e-2, ent_coef=0.0, clip_eps=10.0
    )
    batch = _batch(action=0, advantage=0.0, params=params, target=3.0)
    optimizer = make_optimizer(config)
    new, _, _ = ppo_update(
        jax.random.key(2),
        params,
        optimizer.init(params),
        batch,
        jnp.float32(config.lr),
        NET,
        optimizer,
        config,
    )
    _, v_before = _log_prob(params, batch)
    _, v_after = _log_prob(new, batch)
    assert abs(3.0 - float(v_after)) < abs(3.0 - float(v_before))


def test_entropy_bonus_raises_entropy(params):
    # First make the (initially uniform) policy peaked, then train on the entropy bonus alone.
    peak = PPOConfig(
        num_envs=B,
        num_steps=T,
        epochs=3,
        lr=3e-2,
        ent_coef=0.0,
        vf_coef=0.0,
        normalize_advantages=False,
        clip_eps=100.0,
    )
    optimizer = make_optimizer(peak)
    params, _, _ = ppo_update(
        jax.random.key(4),
        params,
        optimizer.init(params),
        _batch(action=1, advantage=1.0, params=params),
        jnp.float32(peak.lr),
        NET,
        optimizer,
        peak,
    )
    config = PPOConfig(num_envs=B, num_steps=T, epochs=3, lr=1e-2, ent_coef=1.0, vf_coef=0.0)
    batch = _batch(action=1, advantage=0.0, params=params)
    optimizer = make_optimizer(config)
    _, before = ppo_loss(params, NET, batch, config)
    new, _, _ = ppo_update(
        jax.random.key(3),
        params,
        optimizer.init(params),
        batch,
        jnp.float32(config.lr),
        NET,
        optimizer,
        config,
    )
    _, after = ppo_loss(new, NET, batch, config)
    assert 0.05 < float(before["entropy"]) < 0.9 * np.log(3)  # peaked, not yet deterministic
    assert float(after["entropy"]) > float(before["entropy"])


def test_clipped_ratio_and_kl_metrics(params):
    config = PPOConfig(num_envs=B, num_steps=T, clip_eps=0.2)
    batch = _batch(action=1, advantage=1.0, params=params)
    _, metrics = ppo_loss(params, NET, batch, config)
    assert float(metrics["clip_frac"]) == 0.0 and abs(float(metrics["approx_kl"])) < 1e-6
    shifted = batch.replace(
        trajectory=batch.trajectory.replace(log_probs=batch.trajectory.log_probs - 1.0)
    )  # ratio = e > 1 + eps everywhere
    _, metrics = ppo_loss(params, NET, shifted, config)
    assert float(metrics["clip_frac"]) == 1.0 and float(metrics["approx_kl"]) > 0.5


def test_ppo_learner_acts_with_masks_and_keeps_a_per_member_learning_rate():
    """The learner interface: masked actions are never sampled, the learning rate is a state
    leaf (a population vmaps over different rates with one compile), and a zero rate leaves the
    parameters unchanged while a positive one moves them."""
    learner = PPOLearner(NET, PPOConfig(num_envs=B, num_steps=T, epochs=1, minibatches=1))
    state = learner.init(jax.random.key(0), ENV.dummy_observation())
    obs = jax.tree_util.tree_map(
        lambda x: jnp.broadcast_to(x, (B, *x.shape)), ENV.dummy_observation()
    )
    mask = jnp.array([[False, True, False]] * B)
    resets = jnp.ones((B,), bool)
    for seed in range(5):
        _, actions, log_probs, _ = learner.act(
            state.params, learner.initial_carry(B), obs, resets, jax.random.key(seed), mask
        )
        assert np.all(np.asarray(actions) == 1)
        np.testing.assert_allclose(log_probs, 0.0, atol=1e-6)

    batch = _batch(action=2, advantage=1.0, params=state.params)
    population = jax.tree_util.tree_map(lambda x: jnp.stack([x, x]), state)
    population = population.replace(
        hypers=population.hypers.replace(lr=jnp.array([0.0, 1e-2], jnp.float32))
    )
    new, _, traces = _update_population(learner, population, batch)
    assert traces == 1
    moved = [
        max(
            float(jnp.abs(a[i] - b[i]).max())
            for a, b in zip(
                jax.tree_util.tree_leaves(new.params), jax.tree_util.tree_leaves(population.params)
            )
        )
        for i in range(2)
    ]
    assert moved[0] == 0.0 and moved[1] > 0.0


def _update_population(learner, population, batch):
    """One vmapped, jitted update of every member: ``(states, metrics, traces)``."""
    traces = 0

    def update(member):
        nonlocal traces
        traces += 1
        return learner.update(jax.random.key(1), member, batch, jnp.int32(0), 10)

    states, metrics = jax.jit(jax.vmap(update))(population)
    return states, metrics, traces


def test_every_tunable_ppo_hyperparameter_is_a_state_leaf():
    """The clip range and the entropy and value coefficients are leaves like the learning rate
    (as rejax keeps them): members that differ only in one of them run under one trace and
    compute different losses (over three epochs, so that the values move and the clip range
    acts), and a member at the config's values matches the plain update."""
    config = PPOConfig(num_envs=B, num_steps=T, epochs=3, minibatches=1, lr=5e-2, anneal_lr=False)
    learner = PPOLearner(NET, config)
    state = learner.init(jax.random.key(0), ENV.dummy_observation())
    batch = _batch(action=2, advantage=1.0, params=state.params)
    rows = [(0.2, 1e-3, 0.5), (0.01, 1e-3, 0.5), (0.2, 1.0, 0.5), (0.2, 1e-3, 5.0)]
    columns = [jnp.array(c, jnp.float32) for c in zip(*rows)]
    population = jax.tree_util.tree_map(lambda x: jnp.stack([x] * len(rows)), state)
    population = population.replace(hypers=population.hypers.replace(
        clip_eps=columns[0], ent_coef=columns[1], vf_coef=columns[2]))  # fmt: skip
    _, metrics, traces = _update_population(learner, population, batch)
    assert traces == 1
    losses = np.asarray(metrics["loss"])
    assert len(set(losses.tolist())) == len(rows)
    _, plain = learner.update(jax.random.key(1), state, batch, jnp.int32(0), 10)
    np.testing.assert_allclose(losses[0], plain["loss"], rtol=1e-5)


def test_gaussian_policy_log_prob_entropy_and_ppo_loss_by_hand():
    from scipy.stats import norm

    from ued.networks import FlattenEncoder

    gaussian = distributions.DiagonalGaussian
    outputs = jnp.array([[0.5, -1.0, np.log(0.5), np.log(2.0)]])  # means 0.5, -1; stds 0.5, 2
    actions = jnp.array([[0.2, 1.0]])
    expected = norm.logpdf(0.2, 0.5, 0.5) + norm.logpdf(1.0, -1.0, 2.0)
    assert float(gaussian.log_prob(outputs, actions)[0]) == pytest.approx(expected, rel=1e-5)
    assert float(gaussian.entropy(outputs)[0]) == pytest.approx(
        norm.entropy(0.5, 0.5) + norm.entropy(-1.0, 2.0), rel=1e-5
    )
    draws = gaussian.sample(jax.random.key(0), jnp.broadcast_to(outputs, (20_000, 4)))
    np.testing.assert_allclose(draws.mean(0), [0.5, -1.0], atol=0.05)
    np.testing.assert_allclose(draws.std(0), [0.5, 2.0], rtol=0.05)
    assert distributions.for_actions(2) is gaussian
    assert distributions.for_actions(0) is distributions.Categorical

    # PPO's clipped objective on a hand-made batch, against NumPy.
    network = ActorCritic(num_actions=0, encoder=FlattenEncoder(), cell="none", head_hidden=4,
                          action_dim=2)  # fmt: skip
    obs = jax.random.normal(jax.random.key(1), (3, 2, 5))
    params = init_params(network, jax.random.key(2), jnp.zeros(5))
    params = jax.tree_util.tree_map(lambda x: x + 0.3, params)  # move the mean off zero
    _, out, values = network.apply(params, (), obs, jnp.zeros((3, 2), bool))
    acts = jax.random.normal(jax.random.key(3), (3, 2, 2))
    shift = jnp.array([[0.3, -0.3]] * 3)  # ratios e^-0.3 and e^0.3: both sides of the clip
    old_log_probs = gaussian.log_prob(out, acts) + shift
    advantages = jnp.arange(6.0).reshape(3, 2) - 2.5
    config = PPOConfig(clip_eps=0.2, normalize_advantages=False, ent_coef=0.01, vf_coef=0.5)
    trajectory = Trajectory(
        obs=obs, resets=jnp.zeros((3, 2), bool), actions=acts, log_probs=old_log_probs,
        values=values, rewards=jnp.zeros((3, 2)), dones=jnp.zeros((3, 2), bool),
        truncated=jnp.zeros((3, 2), bool), final_values=jnp.zeros((3, 2)),
        solved=jnp.zeros((3, 2), bool),
    )  # fmt: skip
    batch = Batch(trajectory, advantages, values, ())
    loss, metrics = ppo_loss(params, network, batch, config)
    out_np, acts_np = np.asarray(out, np.float64), np.asarray(acts, np.float64)
    mean, std = out_np[..., :2], np.exp(out_np[..., 2:])
    log_p = norm.logpdf(acts_np, mean, std).sum(-1)
    ratio = np.exp(log_p - np.asarray(old_log_probs, np.float64))
    adv = np.asarray(advantages, np.float64)
    policy = -np.mean(np.minimum(ratio * adv, np.clip(ratio, 0.8, 1.2) * adv))
    entropy = norm.entropy(mean, std).sum(-1).mean()
    assert float(metrics["policy_loss"]) == pytest.approx(policy, rel=1e-4)
    assert float(metrics["entropy"]) == pytest.approx(entropy, rel=1e-4)
    assert float(metrics["value_loss"]) == pytest.approx(0.0, abs=1e-7)  # targets = values
    assert float(loss) == pytest.approx(policy - 0.01 * entropy, rel=1e-4)
