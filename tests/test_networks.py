"""The student network: the fused LSTM's custom backward equals autodiff, carry resets, sizes."""

from __future__ import annotations

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from envs.maze import Maze, MazeEncoder
from ued.meta.rules import backward_gru
from ued.networks import (
    ActorCritic,
    FlattenEncoder,
    count_parameters,
    init_params,
    lstm_autodiff,
    lstm_fused,
    orthogonal,
)


def _inputs(seed, t, b, f, h, reset_p):
    k = jax.random.split(jax.random.key(seed), 7)
    return (
        jax.random.normal(k[0], (f, 4 * h)) * 0.5,
        jax.random.normal(k[1], (h, 4 * h)) * 0.5,
        jax.random.normal(k[2], (4 * h,)) * 0.5,
        jax.random.normal(k[3], (b, h)),
        jax.random.normal(k[4], (b, h)),
        jax.random.normal(k[5], (t, b, f)),
        jax.random.bernoulli(k[6], reset_p, (t, b)),
    )


def _loss(fn, w_x, w_h, b, h0, c0, xs, resets):
    h, c, hs = fn(w_x, w_h, b, h0, c0, xs, resets)
    weights = jnp.arange(1, hs.shape[0] + 1, dtype=jnp.float32)[:, None, None]
    return jnp.sum(jnp.sin(hs) * weights) + jnp.sum(h * 1.3) + jnp.sum(c**2)


_grads = {
    fn: jax.jit(jax.value_and_grad(functools.partial(_loss, fn), argnums=(0, 1, 2, 3, 4, 5)))
    for fn in (lstm_fused, lstm_autodiff)
}


@given(seed=st.integers(0, 10_000), reset_p=st.sampled_from([0.0, 0.2, 1.0]))
def test_fused_lstm_matches_autodiff(seed, reset_p):
    args = _inputs(seed, t=6, b=3, f=5, h=4, reset_p=reset_p)
    (v1, g1), (v2, g2) = (_grads[lstm_fused](*args), _grads[lstm_autodiff](*args))
    np.testing.assert_allclose(v1, v2, rtol=1e-5)
    for a, b in zip(g1, g2):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5)


def test_reset_zeroes_the_carry():
    w_x, w_h, b, h0, c0, xs, _ = _inputs(0, t=4, b=2, f=3, h=5, reset_p=0.0)
    resets = jnp.zeros((4, 2), bool).at[2].set(True)
    _, _, hs = lstm_fused(w_x, w_h, b, h0, c0, xs, resets)
    # From t=2 on, the output equals a fresh run from a zero carry on xs[2:].
    _, _, fresh = lstm_fused(
        w_x, w_h, b, jnp.zeros_like(h0), jnp.zeros_like(c0), xs[2:], jnp.zeros((2, 2), bool)
    )
    np.testing.assert_allclose(hs[2:], fresh, rtol=1e-6)
    _, _, no_reset = lstm_fused(w_x, w_h, b, h0, c0, xs, jnp.zeros((4, 2), bool))
    assert not np.allclose(hs[2:], no_reset[2:])


@pytest.mark.parametrize("cell", ["lstm", "gru", "none"])
def test_actor_critic_shapes_and_reset_semantics(cell):
    env = Maze(height=6, width=6)
    net = ActorCritic(
        num_actions=3, encoder=MazeEncoder(4, 3), cell=cell, hidden_size=8, head_hidden=8
    )
    params = init_params(net, jax.random.key(0), env.dummy_observation())
    t, b = 5, 3
    obs = jax.tree_util.tree_map(
        lambda x: jnp.broadcast_to(x, (t, b, *x.shape)), env.dummy_observation()
    )
    obs = obs.replace(
        image=jax.random.bernoulli(jax.random.key(1), 0.5, obs.image.shape).astype(jnp.uint8),
        agent_dir=jnp.arange(t * b).reshape(t, b) % 4,
    )
    resets = jnp.zeros((t, b), bool).at[0].set(True)
    _, logits, values = net.apply(params, net.initialize_carry(b), obs, resets)
    assert logits.shape == (t, b, 3) and values.shape == (t, b)
    # Step-by-step application with the carry threaded equals the sequence application.
    c = net.initialize_carry(b)
    step_logits = []
    for i in range(t):
        step_obs = jax.tree_util.tree_map(lambda x, i=i: x[i : i + 1], obs)
        c, lg, _ = net.apply(params, c, step_obs, resets[i : i + 1])
        step_logits.append(lg[0])
    np.testing.assert_allclose(np.stack(step_logits), logits, rtol=1e-5, atol=1e-6)


def _unlooped_primitives(jaxpr, inside_loop=False) -> set[str]:
    """Names of the primitives ``jaxpr`` runs outside any ``scan`` or ``while`` loop."""
    names = set()
    for eqn in jaxpr.eqns:
        loop = inside_loop or eqn.primitive.name in ("scan", "while")
        if not inside_loop:
            names.add(eqn.primitive.name)
        for param in eqn.params.values():
            for sub in param if isinstance(param, tuple | list) else (param,):
                sub = getattr(sub, "jaxpr", sub)
                if hasattr(sub, "eqns"):
                    names |= _unlooped_primitives(sub, loop)
    return names


class _RuleGRU(nn.Module):
    @nn.compact
    def __call__(self, xs, dones):
        return backward_gru(4, xs, dones)  # LPG's rule network's GRU


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_vmapped_network_init_runs_no_batched_qr(cell):
    """jaxlib's batched CPU QR deadlocked XLA's thread pool (LPO's members on MinAtar, several
    seeds on 2 cores): vmapped over keys, every orthogonal initialiser runs its QR one key at a
    time, inside a loop; unbatched it is flax's, value for value."""
    env = Maze(height=6, width=6)
    net = ActorCritic(num_actions=3, encoder=MazeEncoder(4, 3), cell=cell, hidden_size=8)
    keys = jax.random.split(jax.random.key(0), 3)
    init = jax.vmap(lambda k: init_params(net, k, env.dummy_observation()))
    rule = _RuleGRU()
    rule_init = jax.vmap(lambda k: rule.init(k, jnp.zeros((3, 2, 5)), jnp.zeros((3, 2), bool)))
    flax_init = jax.vmap(lambda k: jax.nn.initializers.orthogonal()(k, (4, 4)))
    assert "qr" in _unlooped_primitives(jax.make_jaxpr(flax_init)(keys).jaxpr)
    for fn in (init, rule_init):
        assert "qr" not in _unlooped_primitives(jax.make_jaxpr(fn)(keys).jaxpr)
    for shape, scale in (((5, 3), 2.0), ((3, 7), 0.01)):
        np.testing.assert_array_equal(
            orthogonal(scale)(keys[1], shape), jax.nn.initializers.orthogonal(scale)(keys[1], shape)
        )
        batched = jax.vmap(lambda k, shape=shape, scale=scale: orthogonal(scale)(k, shape))(keys)
        np.testing.assert_allclose(batched[1], orthogonal(scale)(keys[1], shape), atol=1e-6)


def test_paper_network_size_and_lstm_impls_agree():
    env = Maze()
    nets = {
        impl: ActorCritic(num_actions=3, encoder=MazeEncoder(), lstm_impl=impl)
        for impl in ("fused", "autodiff")
    }
    params = init_params(nets["fused"], jax.random.key(0), env.dummy_observation())
    assert count_parameters(params) == 432_797  # the literature's ~433k-parameter student
    obs = jax.tree_util.tree_map(
        lambda x: jnp.broadcast_to(x, (3, 2, *x.shape)), env.dummy_observation()
    )
    resets = jnp.ones((3, 2), bool)
    out = [n.apply(params, n.initialize_carry(2), obs, resets)[1] for n in nets.values()]
    np.testing.assert_allclose(out[0], out[1], rtol=1e-5, atol=1e-6)
    flax_net = ActorCritic(num_actions=3, encoder=MazeEncoder(), lstm_impl="flax")
    flax_params = init_params(flax_net, jax.random.key(0), env.dummy_observation())
    assert count_parameters(flax_params) == count_parameters(params)


def test_default_encoder_flattens_every_observation_leaf():
    """Envs without an encoder of their own get every observation leaf flattened to floats."""
    net = ActorCritic(num_actions=2, cell="gru", hidden_size=4, head_hidden=4)
    assert isinstance(net.encoder, FlattenEncoder)
    obs = {"position": jnp.zeros((), jnp.int32), "grid": jnp.zeros((3, 2), jnp.bool_)}
    params = init_params(net, jax.random.key(0), obs)
    batched = jax.tree_util.tree_map(lambda x: jnp.broadcast_to(x, (2, 3, *x.shape)), obs)
    features = FlattenEncoder().apply({}, batched)
    assert features.shape == (2, 3, 7) and features.dtype == jnp.float32
    _, logits, values = net.apply(params, net.initialize_carry(3), batched, jnp.ones((2, 3), bool))
    assert logits.shape == (2, 3, 2) and values.shape == (2, 3)


@pytest.mark.parametrize("padding", ["SAME", "VALID"])
@pytest.mark.parametrize("size", [2, 3])
def test_patch_conv_equals_flax_conv(padding, size):
    """Same parameters, same outputs (and gradients) as ``nn.Conv``."""
    import flax.linen as nn

    from ued.networks import PatchConv

    x = jax.random.normal(jax.random.key(0), (3, 7, 6, 2))
    conv = PatchConv(4, size, padding)
    params = conv.init(jax.random.key(1), x)
    reference = nn.Conv(4, (size, size), padding=padding)
    np.testing.assert_allclose(conv.apply(params, x), reference.apply(params, x), atol=1e-5)

    def loss(module):
        return jax.grad(lambda p: jnp.sum(jnp.sin(module.apply(p, x))))(params)

    for a, b in zip(
        jax.tree_util.tree_leaves(loss(conv)), jax.tree_util.tree_leaves(loss(reference))
    ):
        np.testing.assert_allclose(a, b, atol=1e-4)


def test_minigrid_maze_encoder_sees_jaxueds_normalised_cells():
    """``--env-config.observation minigrid`` builds the encoder with JaxUED's ``normalize_obs``
    scale: the convolution sees MiniGrid's indices divided by 10."""
    from envs.maze.config import MazeConfig
    from ued import registry

    spec = registry.ENVS.get("maze")
    scaled = spec.encoder(MazeConfig(observation="minigrid"))
    plain = spec.encoder(MazeConfig())
    assert (scaled.input_scale, plain.input_scale) == (0.1, 1.0)
    env = Maze(height=7, width=7, observation="minigrid")
    obs = jax.tree_util.tree_map(lambda x: x[None, None], env.dummy_observation())
    obs = obs.replace(image=jnp.full_like(obs.image, 8))
    params = scaled.init(jax.random.key(0), obs)
    divided = obs.replace(image=obs.image.astype(jnp.float32) / 10)
    np.testing.assert_allclose(
        scaled.apply(params, obs), plain.apply(params, divided), rtol=1e-6, atol=1e-6
    )
