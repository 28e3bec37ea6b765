"""UED training as a program: a curriculum chooses levels, a learner trains on them.

``make_train(env, curriculum, learner, config) -> (init, chunk)`` are the pure functions
(PureJaxRL's contract): ``chunk(state, start)`` runs ``updates_per_chunk`` updates in one
``lax.scan`` under ``jax.jit``; each update asks the curriculum for levels, rolls the student
out, prepares the learner's batch (GAE), lets the curriculum score what happened, and updates the
learner (unless the curriculum's plan says not to). With several seeds the update is ``vmap``-ed
and every seed runs in the same program. ``UEDProgram`` adds the host-side hooks (evaluation,
curriculum diagnostics, plots) that ``ued.loop.run`` calls between chunks.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from . import config as config_lib
from .config import TrainConfig
from .curriculum import RolloutResult, Student
from .diagnostics import Diagnostics
from .env import AutoReset, EnvSpec
from .errors import ConfigError
from .learner import conditional_update
from .parallel import REPLICATED, DataParallel
from .rollout import Player, RolloutCarry, Trajectory


@struct.dataclass
class TrainState:
    """Everything one seed's training carries from update to update.

    Attributes:
        student: the student learner's state (``ued.ppo.PPOState``: parameters, optimiser).
        curriculum: the curriculum's state (buffer, scores, adversary, ...).
        rng: a typed PRNG key.
        rollout: where the next rollout continues, for continuing curricula (else None).
    """

    student: Any
    curriculum: Any
    rng: jax.Array
    rollout: RolloutCarry | None = None


def episode_metrics(traj: Trajectory, success: bool = True) -> dict[str, jax.Array]:
    """Statistics of the episodes that *completed* inside a rollout ``[T, B]``.

    Returns scalars: ``return`` and ``episode_length`` (means over completed episodes, 0 if none
    completed), ``episodes`` (completed episodes per env), and with a success signal
    ``solve_rate``. With rollouts shorter than the episode limit, long unsolved episodes do not
    complete, so these are biased towards success. ``first_return`` (and ``first_solve_rate``)
    are not: they score each env's first episode that starts inside the rollout (at t = 0 after a
    reset), counting one still running at the end of the rollout as unsolved with its return so
    far, i.e. "solved within the rollout".
    """

    def step(carry, x):
        ret, length = carry
        reward, reset = x
        ret = jnp.where(reset, 0.0, ret) + reward
        length = jnp.where(reset, 0, length) + 1
        return (ret, length), (ret, length)

    batch = traj.rewards.shape[1]
    init = (jnp.zeros(batch, jnp.float32), jnp.zeros(batch, jnp.int32))
    _, (returns, lengths) = jax.lax.scan(step, init, (traj.rewards, traj.resets))
    done = traj.dones.astype(jnp.float32)
    count = done.sum()
    safe = jnp.maximum(count, 1.0)
    first = jnp.cumsum(traj.resets, axis=0) == 1  # inside each env's first episode started here
    first_end = first & traj.dones
    metrics = {
        "return": jnp.sum(returns * done) / safe,
        "episode_length": jnp.sum(lengths * done) / safe,
        "episodes": count / batch,
        "first_return": jnp.sum(returns * first_end) / batch,
    }
    if success:
        metrics["solve_rate"] = jnp.sum(traj.solved.astype(jnp.float32)) / safe
        metrics["first_solve_rate"] = jnp.sum(traj.solved & first_end) / batch
    return metrics


@dataclasses.dataclass(frozen=True)
class Trainer:
    """The pure pieces of training for one seed (hashable: jitted functions close over it).

    Attributes:
        env: the training env.
        curriculum: a ``ued.curriculum.Curriculum``.
        learner: the student's ``ued.learner.Learner``.
        config: the run's ``TrainConfig``.
        success: whether the env reports ``info["solved"]``.
        parallel: the device mesh the env batch is split over (``ued.parallel.DataParallel``),
            or None on one device.
    """

    env: Any
    curriculum: Any
    learner: Any
    config: TrainConfig
    success: bool = True
    parallel: DataParallel | None = None

    @functools.cached_property
    def player(self) -> Player:
        return Player(self.env, self.learner)

    def init(self, key: jax.Array) -> TrainState:
        """A fresh training state from a typed PRNG key."""
        k_params, k_curriculum, k_run, k_rollout = jax.random.split(key, 4)
        rollout = None
        if self.curriculum.continuing:
            batch = self.config.ppo.num_envs
            k_levels, k_reset = jax.random.split(k_rollout)
            levels = jax.vmap(self.curriculum.next_level)(jax.random.split(k_levels, batch))
            rollout = self.player.start(k_reset, levels, self._continuing_env)
        return TrainState(
            student=self.learner.init(k_params, self.env.dummy_observation()),
            curriculum=self.curriculum.init(k_curriculum),
            rng=k_run,
            rollout=rollout,
        )

    @property
    def _continuing_env(self) -> AutoReset:
        return AutoReset(self.env, self.curriculum.next_level)

    def _rollout(self, key, state: TrainState, levels):
        """The student's rollout: from a reset on ``levels``, or continuing ``state.rollout``.
        Returns ``(levels each env started on, trajectory, last value, initial carry, end)``."""
        params, num_steps = state.student.params, self.config.ppo.num_steps
        if not self.curriculum.continuing:
            trajectory, last_value = self.player.rollout(key, params, levels, num_steps)
            batch = jax.tree_util.tree_leaves(levels)[0].shape[0]
            return levels, trajectory, last_value, self.learner.initial_carry(batch), None
        start = state.rollout
        trajectory, last_value, end = self.player.continue_rollout(
            key, params, start, num_steps, self._continuing_env
        )
        return start.state.level, trajectory, last_value, start.rnn, end

    def update(self, state: TrainState, update: jax.Array, total=None):
        """One training update. ``update`` is the 0-based update index (``int32[]``, unbatched);
        ``total`` the horizon of the learning-rate schedule and of the training progress
        (default: ``config.updates``; an ``int32[]`` for a lifetime drawn at run time).

        Returns ``(state, metrics, levels)``: scalar metrics and the levels trained on.
        """
        total = self.config.updates if total is None else total
        ppo = self.config.ppo
        rng, k_levels, k_rollout, k_after, k_learn = jax.random.split(state.rng, 5)
        student = Student(self.player, state.student.params, ppo.gamma, ppo.num_steps)
        levels, plan, curriculum = self.curriculum.levels_for_update(
            k_levels, state.curriculum, student, update
        )
        if self.parallel is not None:  # each device plays its part of the env batch
            levels = self.parallel.shard(levels)
        levels, trajectory, last_value, initial_carry, end = self._rollout(k_rollout, state, levels)
        if self.parallel is not None and end is not None:
            end = self.parallel.shard(end)
        batch = self.learner.prepare(trajectory, last_value, initial_carry)
        curriculum, curriculum_metrics = self.curriculum.after_rollout(
            k_after,
            curriculum,
            RolloutResult(levels, trajectory, batch.advantages, last_value),
            plan,
            student,
            update,
        )
        if plan.trained is not None:  # the learner trains on part of the rollout only
            batch = self.learner.prepare(
                *env_slice((trajectory, last_value, initial_carry), *plan.trained)
            )
        learner_state, learn_metrics = conditional_update(
            plan.apply_gradient,
            self.learner,
            k_learn,
            state.student,
            batch,
            update,
            total,
        )
        metrics = {
            **{f"student/{k}": v for k, v in episode_metrics(trajectory, self.success).items()},
            **{f"student/{k}": v for k, v in learn_metrics.items()},
            "student/lr": self.learner.learning_rate(state.student, update, total),
            "student/value_mean": trajectory.values.mean(),
            "curriculum/branch": plan.branch,
            "curriculum/apply_gradient": plan.apply_gradient.astype(jnp.int32),
            **curriculum_metrics,
        }
        state = TrainState(student=learner_state, curriculum=curriculum, rng=rng, rollout=end)
        return state, metrics, levels


def env_slice(rollout, start: int, stop: int):
    """Envs ``start:stop`` of ``(trajectory [T, B], last_value [B], initial carry [B])``."""
    trajectory, last_value, carry = rollout

    def part(axis):
        return lambda x: jax.lax.slice_in_dim(x, start, stop, axis=axis)

    return (
        jax.tree_util.tree_map(part(1), trajectory),
        last_value[start:stop],
        jax.tree_util.tree_map(part(0), carry),
    )


def make_train(env, curriculum, learner, config: TrainConfig, success: bool = True,
               parallel: DataParallel | None = None):  # fmt: skip
    """Build the pure training functions (the env batch split over ``parallel``'s devices if
    given).

    Returns ``(init, chunk)``:
      * ``init(key) -> state`` (for several seeds: ``init(keys[S]) -> state`` batched over S);
      * ``chunk(state, start int32[]) -> (state, metrics, levels)`` running updates
        ``start .. start + updates_per_chunk - 1``; ``metrics`` are ``[U]`` (``[U, S]``) arrays and
        ``levels`` those of the chunk's last update.
    Neither is jitted here; ``jax.jit`` them (``ued.loop.run`` compiles the chunk exactly once).
    """
    trainer = Trainer(env, curriculum, learner, config, success, parallel)
    several = len(config.seed_list) > 1
    # Seeds are initialised one after another (lax.map), not vmapped: a vmapped orthogonal
    # initialiser is a batched QR, and jaxlib's batched CPU QR parallelises over the same thread
    # pool the executor runs on, which deadlocks on small (2-core) machines (the networks'
    # initialisers avoid it too: ued.networks.orthogonal).
    init = (lambda keys: jax.lax.map(trainer.init, keys)) if several else trainer.init
    update = jax.vmap(trainer.update, in_axes=(0, None)) if several else trainer.update

    def chunk(state, start):
        def body(carry, index):
            state, _ = carry
            state, metrics, levels = update(state, index)
            return (state, levels), metrics

        levels_shape = jax.eval_shape(update, state, start)[2]
        no_levels = jax.tree_util.tree_map(lambda s: jnp.zeros(s.shape, s.dtype), levels_shape)
        indices = start + jnp.arange(config.updates_per_chunk, dtype=jnp.int32)
        (state, levels), metrics = jax.lax.scan(body, (state, no_levels), indices)
        return state, metrics, levels

    return init, chunk


def seed_keys(config) -> jax.Array:
    """The run's root key(s): one typed key per seed (stacked if several)."""
    keys = [jax.random.key(s) for s in config.seed_list]
    return jnp.stack(keys) if len(keys) > 1 else keys[0]


def seed_slice(tree, index: int, several: bool):
    """Seed ``index``'s part of a pytree batched over seeds (the tree itself for one seed)."""
    return jax.tree_util.tree_map(lambda x: x[index], tree) if several else tree


@dataclasses.dataclass
class UEDProgram:
    """UED training as a ``ued.program.Program`` (built by ``ued.app.build.build``).

    Attributes:
        config: the validated ``TrainConfig``; env: the training env; spec: its registry entry;
        curriculum: the curriculum; learner: the student's learner.
    """

    config: TrainConfig
    env: Any
    spec: EnvSpec
    curriculum: Any
    learner: Any

    def __post_init__(self):
        self.parallel = DataParallel.over(self.config.devices)
        if self.parallel is not None:
            ppo, devices = self.config.ppo, self.parallel.size
            trained = self.curriculum.trained_envs(ppo.num_envs)
            if (trained // ppo.minibatches) % devices or ppo.num_envs % devices:
                share = "" if trained == ppo.num_envs else f" (the {trained} trained on)"
                raise ConfigError(
                    f"ppo.num_envs: {ppo.num_envs} envs{share} in {ppo.minibatches} minibatches "
                    f"do not split evenly over {devices} devices (use a multiple of "
                    f"{ppo.minibatches * devices * ppo.num_envs // trained}, or --devices)"
                )
            self.learner = self.learner.with_parallel(self.parallel)  # minibatches split too
        self.init, self.chunk = make_train(
            self.env, self.curriculum, self.learner, self.config, self.spec.success, self.parallel
        )
        self.several = len(self.config.seed_list) > 1
        self._eval_suites = None
        self._diagnostics = Diagnostics(
            self.config.seed_list, self.several, self.spec, self.env, self.curriculum
        )

    @property
    def steps_per_update(self) -> int:
        """Student env steps per update (num_envs x num_steps)."""
        return self.config.steps_per_update

    @property
    def player(self) -> Player:
        """The student playing the training env."""
        return Player(self.env, self.learner)

    def seed_keys(self) -> jax.Array:
        """One typed key per seed."""
        return seed_keys(self.config)

    def state_axes(self, state: TrainState) -> TrainState:
        """Where each state leaf has its env-batch axis (``ued.parallel.REPLICATED``: none):
        only a continuing curriculum's rollout carry has one; the student, the curriculum (the
        level buffer) and the key are whole on every device."""
        axes = jax.tree_util.tree_map(lambda _: REPLICATED, state)
        batch_axis = 1 if self.several else 0
        return axes.replace(rollout=jax.tree_util.tree_map(lambda _: batch_axis, state.rollout))

    def evaluate(self, state: TrainState, update: int, run: str) -> list[dict[str, Any]]:
        """Evaluate every seed's student on the configured suites (``eval_attempts`` episodes
        per level, ``eval_levels`` per drawn suite)."""
        from .evaluate import evaluate_suite, resolve_suite

        config = self.config
        if self._eval_suites is None:
            self._eval_suites = [
                resolve_suite(self.spec, self.env, s, num_levels=config.eval_levels, seed=0)
                for s in config.eval_suites
            ]
        rows = []
        for i, seed in enumerate(config.seed_list):
            params = seed_slice(state.student.params, i, self.several)
            for suite in self._eval_suites:
                key = jax.random.fold_in(jax.random.key(seed), update)
                rows += evaluate_suite(
                    self.learner,
                    params,
                    suite,
                    attempts=config.eval_attempts,
                    gamma=config.ppo.gamma,
                    key=key,
                    run=run,
                    seed=seed,
                    update=update,
                )
        return rows

    def inspect(self, state, update: int, levels, evaluated: bool, plots_dir: Path):
        """Descriptors of the last update's levels after every chunk; the curriculum's buffer
        (statistics and images) at evaluation points."""
        rows = [] if levels is None else self._diagnostics.trained_levels(update, levels)
        if evaluated:
            rows += self._diagnostics.buffer(update, state.curriculum, plots_dir)
        return rows

    def plots(self, out: Path, levels) -> None:
        """Training curves, evaluation curves and the last update's levels."""
        from . import plots

        plots.training_plots(out, self.config, self.spec, levels)

    def progress(self, last: dict[str, float]) -> dict[str, str]:
        """The first-episode solve rate (or return) for the progress bar."""
        if "student/first_solve_rate" in last:
            return {"solved": f"{last['student/first_solve_rate']:.2f}"}
        return {"return": f"{last['student/first_return']:.3g}"}

    def config_differences(self, saved: dict[str, Any]) -> list[str]:
        """Fields where a saved config differs (``updates`` may be extended; how many
        checkpoints are kept does not change the run)."""
        return config_lib.differences(saved, self.config, ignore=config_lib.RESUMABLE)

    def config_dict(self) -> dict[str, Any]:
        """The JSON-ready config."""
        return config_lib.to_dict(self.config)
