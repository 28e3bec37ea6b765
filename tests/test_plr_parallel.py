"""minimax's parallel PLR and ACCEL (``plr-parallel``, ``accel-parallel``): each update rolls
the student out once on ``[new | replayed | mutations of the replayed]`` levels; the gradient
comes from the replayed part only (none until the buffer is ready), and every part is scored
into the buffer. One compile and the registry-wide checks: ``test_conformance.py``; bit-exact
resume: ``test_algorithms.py``."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from envs.maze import is_valid
from ued.app.build import build, preset
from ued.buffer import BufferConfig
from ued.config import override, validate
from ued.curriculum import NEW, REPLAY, Student
from ued.errors import ConfigError
from ued.hashing import pytree_hash
from ued.train import Trainer, env_slice


def _leaves_equal(a, b) -> bool:
    return all(
        np.array_equal(x, y)
        for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b), strict=True)
    )


def _part(levels, i, n):
    return jax.tree_util.tree_map(lambda x: x[i * n : (i + 1) * n], levels)


@pytest.fixture(scope="module")
def accel_parallel():
    """Two updates of ``accel-parallel`` at the test preset (12 envs: 4 new, 4 replayed, 4
    mutated), with a buffer that is ready after the first and never full."""
    config = preset("accel-parallel", "maze", "test")
    curriculum = dataclasses.replace(
        config.curriculum, buffer=BufferConfig(capacity=64, min_fill=0.1)
    )
    config = override(config, curriculum=curriculum)
    program = build(config)
    trainer = Trainer(program.env, program.curriculum, program.learner, config)
    update = jax.jit(trainer.update)
    state0 = trainer.init(jax.random.key(0))
    state1, metrics1, _ = update(state0, jnp.int32(0))
    state2, metrics2, levels2 = update(state1, jnp.int32(1))
    return config, trainer, (state0, state1, state2), (metrics1, metrics2), levels2


def test_parallel_presets_train_on_as_many_envs_as_the_sequential_ones():
    for algo, sequential, parts in (
        ("plr-parallel", "robust-plr", 2),
        ("accel-parallel", "accel", 3),
    ):
        for name in ("test", "cpu", "paper"):
            config, base = preset(algo, "maze", name), preset(sequential, "maze", name)
            assert config.curriculum.parallel and config.curriculum.robust
            assert config.ppo.num_envs == parts * base.ppo.num_envs
            assert (
                build(config, validate=False).curriculum.trained_envs(config.ppo.num_envs)
                == base.ppo.num_envs
            )


def test_no_gradient_until_the_buffer_is_ready_and_every_new_level_is_offered(accel_parallel):
    _, _, (state0, state1, _), (metrics1, _), _ = accel_parallel
    assert int(metrics1["curriculum/branch"]) == NEW
    assert not bool(metrics1["curriculum/apply_gradient"])
    assert _leaves_equal(state0.student.params, state1.student.params)
    assert int(state1.curriculum.buffer.size) == 12  # all three parts were new levels


def test_the_gradient_comes_from_the_replayed_part_of_the_same_rollout(accel_parallel):
    config, trainer, (_, state1, state2), (_, metrics2), levels = accel_parallel
    n, ppo = 4, config.ppo
    assert int(metrics2["curriculum/branch"]) == REPLAY
    assert bool(metrics2["curriculum/apply_gradient"])
    # Replay the update by hand: the same keys, one rollout of all 12 envs with the
    # pre-update parameters, then PPO on envs 4..7 only.
    _, k_levels, k_rollout, _, k_learn = jax.random.split(state1.rng, 5)
    student = Student(trainer.player, state1.student.params, ppo.gamma, ppo.num_steps)
    chosen, plan, _ = trainer.curriculum.levels_for_update(
        k_levels, state1.curriculum, student, jnp.int32(1)
    )
    assert plan.trained == (n, 2 * n) and _leaves_equal(chosen, levels)
    trajectory, last_value = trainer.player.rollout(
        k_rollout, state1.student.params, levels, ppo.num_steps
    )
    carry = trainer.learner.initial_carry(3 * n)

    def trained_on(start, stop):
        batch = trainer.learner.prepare(*env_slice((trajectory, last_value, carry), start, stop))
        state, _ = trainer.learner.update(
            k_learn, state1.student, batch, jnp.int32(1), jnp.int32(config.updates)
        )
        return state.params

    expected, other = trained_on(n, 2 * n), trained_on(0, n)
    got = state2.student.params
    gap = jax.tree_util.tree_map(lambda a, b: float(jnp.max(jnp.abs(a - b))), got, expected)
    off = jax.tree_util.tree_map(lambda a, b: float(jnp.max(jnp.abs(a - b))), got, other)
    assert max(jax.tree_util.tree_leaves(gap)) < 1e-6
    assert max(jax.tree_util.tree_leaves(off)) > 1e-4


def test_every_part_is_scored_into_the_buffer(accel_parallel):
    _, _, (_, state1, state2), (_, metrics2), levels = accel_parallel
    n, before, after = 4, state1.curriculum.buffer, state2.curriculum.buffer
    slots = np.asarray(state2.curriculum.slots)
    assert (
        (slots[:n] == -1).all() and (slots[2 * n :] == -1).all() and (slots[n : 2 * n] >= 0).all()
    )
    replayed, mutated = _part(levels, 1, n), _part(levels, 2, n)
    # The replayed part came from the buffer, and its scores were refreshed.
    assert _leaves_equal(
        jax.tree_util.tree_map(lambda x: x[slots[n : 2 * n]], before.levels), replayed
    )
    assert not np.array_equal(before.scores[slots[n : 2 * n]], after.scores[slots[n : 2 * n]])
    # The new and mutated parts were offered and stored (the buffer is far from full).
    assert int(metrics2["buffer/inserted"]) == 2 * n
    stored = {bytes(np.asarray(h)) for h in np.asarray(after.hashes)[np.asarray(after.filled)]}
    for part in (_part(levels, 0, n), mutated):
        assert {bytes(np.asarray(h)) for h in jax.vmap(pytree_hash)(part)} <= stored
    # Mutations are edits of this update's replayed levels: valid, and not all the same.
    assert bool(jnp.all(jax.vmap(is_valid)(mutated)))
    assert not _leaves_equal(mutated, replayed)


@pytest.mark.parametrize(
    ("algo", "envs", "message"),
    [
        ("accel-parallel", 8, "ppo.num_envs: 8 envs do not split into 3 equal parts"),
        ("plr-parallel", 6, "replayed part divides into 2 minibatches"),
    ],
)
def test_a_batch_that_does_not_split_into_equal_parts_is_refused(algo, envs, message):
    config = override(preset(algo, "maze", "test"), ppo__num_envs=envs)
    with pytest.raises(ConfigError, match=message):
        validate(config)


# minimax's maze PLR‖ and ACCEL‖, field by field: src/minimax/config/configs/maze/pplr.json and
# paccel.json (facebookresearch/minimax). n_parallel is per part: 2 (3) parts of 32 envs.
MINIMAX_COMMON = {
    "updates": 30_000,  # n_total_updates
    "env_config.height": 13,
    "env_config.width": 13,
    "env_config.max_steps": 250,  # maze_max_episode_steps
    "env_config.noop_actions": 4,  # Maze.action_set: MiniGrid's 7 actions
    "env_config.observation": "minigrid",  # maze_normalize_obs: MiniGrid cells / 10
    "ppo.num_steps": 256,  # n_rollout_steps
    "ppo.anneal_lr": False,  # lr_anneal_steps 0
    "ppo.max_grad_norm": 0.5,
    "ppo.adam_eps": 1e-5,
    "ppo.gamma": 0.999,  # discount
    "ppo.vf_coef": 0.5,
    "ppo.epochs": 5,
    "ppo.minibatches": 1,
    "ppo.clip_eps": 0.2,
    "network.hidden_size": 256,  # student_recurrent_hidden_dim
    "network.head_hidden": 32,  # student_hidden_dim
    "env_config.encoder.conv_filters": 16,
    "env_config.encoder.direction_features": 5,  # student_scalar_embed_dim
    "curriculum.parallel": True,  # plr_use_parallel_eval
    "curriculum.robust": True,  # plr_use_robust_plr
    "curriculum.score": "maxmc",  # ued_score max_mc
    "curriculum.buffer.capacity": 4000,  # plr_buffer_size
    "curriculum.buffer.staleness_coeff": 0.5,  # plr_staleness_coef
    "curriculum.buffer.temperature": 0.3,  # plr_temp
    "curriculum.buffer.prioritization": "rank",  # plr_use_score_ranks
    "curriculum.buffer.min_fill": 0.5,  # plr_min_fill_ratio
    "curriculum.buffer.deduplicate": True,  # plr_force_unique
}
MINIMAX = {
    "plr-parallel": {
        "ppo.num_envs": 64,
        "ppo.lr": 3e-4,
        "ppo.gae_lambda": 0.95,
        "ppo.ent_coef": 0.0,
        "env_config.n_walls": 60,
    },
    "accel-parallel": {
        "ppo.num_envs": 96,
        "ppo.lr": 1e-4,
        "ppo.gae_lambda": 0.98,
        "ppo.ent_coef": 1e-3,
        "env_config.n_walls": 0,
        "env_config.edits_move_agent": False,  # move_goal_flip_walls: walls and goal only
        "env_config.edits_noop": True,  # and a no-op (Mutations.NO_OP)
        "curriculum.num_edits": 20,  # plr_n_mutations
    },
}


def _field(config, path: str):
    for name in path.split("."):
        config = getattr(config, name)
    return config


@pytest.mark.parametrize("algo", sorted(MINIMAX))
def test_the_minimax_preset_reproduces_minimaxs_parallel_configs_field_by_field(algo):
    config = preset(algo, "maze", "minimax")
    validate(config)
    for path, expected in {**MINIMAX_COMMON, **MINIMAX[algo]}.items():
        assert _field(config, path) == expected, path
    assert build(config, validate=False).curriculum.trained_envs(config.ppo.num_envs) == 32
