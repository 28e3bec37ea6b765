"""The one generic training loop: ``make_train(env, curriculum, config) -> (init, chunk)``.

``chunk(state, start)`` runs ``updates_per_chunk`` updates in one ``lax.scan`` under ``jax.jit``;
each update asks the curriculum for levels, rolls the student out, computes GAE, lets the
curriculum score what happened, and applies PPO (unless the curriculum's plan says not to). With
several seeds the update is ``vmap``-ed and every seed runs in the same program. ``run`` is the
host loop around it: metrics CSV, progress bar, periodic evaluation, checkpoints and plots.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import time
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from . import config as config_lib
from .checkpoint import Checkpointer, CheckpointError
from .config import TrainConfig
from .curriculum import RolloutResult, Student
from .diagnostics import Diagnostics
from .logging import CsvLog
from .networks import ActorCritic, init_params
from .ppo import Batch, gae, learning_rate, make_optimizer, ppo_update
from .rollout import Player, Trajectory


@struct.dataclass
class BestIterate:
    """The parameters with the smallest gradient norm seen so far (``ppo.track_best_iterate``).

    Attributes:
        params: those parameters; grad_norm: ``f32[]`` their gradient norm; update: ``int32[]``
            the update whose gradient was measured at them (-1 before any).
    """

    params: Any
    grad_norm: jax.Array
    update: jax.Array


@struct.dataclass
class TrainState:
    """Everything one seed's training carries from update to update.

    Attributes:
        params: the student's network parameters.
        opt_state: the optimiser state (gradient clipping + Adam moments).
        curriculum: the curriculum's state (buffer, scores, adversary, ...).
        rng: a typed PRNG key.
        best: the best iterate, when tracked (else None).
    """

    params: Any
    opt_state: Any
    curriculum: Any
    rng: jax.Array
    best: BestIterate | None = None


def episode_metrics(traj: Trajectory) -> dict[str, jax.Array]:
    """Statistics of the episodes that *completed* inside a rollout ``[T, B]``.

    Returns scalars: ``return``, ``solve_rate`` and ``episode_length`` (means over completed
    episodes, 0 if none completed) and ``episodes`` (completed episodes per env). With rollouts
    shorter than the episode limit, long unsolved episodes do not complete, so these are biased
    towards success. ``first_return`` and ``first_solve_rate`` are not: they score each env's
    first episode (which starts at t = 0), counting one still running at the end of the rollout
    as unsolved with return 0, i.e. "solved within the rollout".
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
    first = jnp.cumsum(traj.dones, axis=0) - traj.dones == 0  # inside each env's first episode
    first_end = first & traj.dones
    return {
        "return": jnp.sum(returns * done) / safe,
        "solve_rate": jnp.sum(traj.solved.astype(jnp.float32)) / safe,
        "episode_length": jnp.sum(lengths * done) / safe,
        "episodes": count / batch,
        "first_return": jnp.sum(returns * first_end) / batch,
        "first_solve_rate": jnp.sum(traj.solved & first_end) / batch,
    }


@dataclasses.dataclass(frozen=True)
class Trainer:
    """The pure pieces of training for one seed (hashable: jitted functions close over it)."""

    env: Any
    curriculum: Any
    config: TrainConfig

    @functools.cached_property
    def network(self) -> ActorCritic:
        n = self.config.network
        return ActorCritic(
            num_actions=self.env.num_actions,
            conv_filters=n.conv_filters,
            direction_features=n.direction_features,
            cell=n.cell,
            hidden_size=n.hidden_size,
            head_hidden=n.head_hidden,
            lstm_impl=n.lstm_impl,
        )

    @functools.cached_property
    def player(self) -> Player:
        return Player(self.env, self.network)

    @functools.cached_property
    def optimizer(self):
        return make_optimizer(self.config.ppo)

    def init(self, key: jax.Array) -> TrainState:
        """A fresh training state from a typed PRNG key."""
        k_params, k_curriculum, k_run = jax.random.split(key, 3)
        params = init_params(self.network, k_params, self.env.dummy_observation())
        best = None
        if self.config.ppo.track_best_iterate:
            best = BestIterate(params, jnp.array(jnp.inf, jnp.float32), jnp.array(-1, jnp.int32))
        return TrainState(
            params=params,
            opt_state=self.optimizer.init(params),
            curriculum=self.curriculum.init(k_curriculum),
            rng=k_run,
            best=best,
        )

    def update(self, state: TrainState, update: jax.Array):
        """One training update. ``update`` is the 0-based update index (``int32[]``, unbatched).

        Returns ``(state, metrics, levels)``: scalar metrics and the levels trained on.
        """
        ppo = self.config.ppo
        rng, k_levels, k_rollout, k_after, k_ppo = jax.random.split(state.rng, 5)
        student = Student(self.player, state.params, ppo.gamma, ppo.num_steps)
        levels, plan, curriculum = self.curriculum.levels_for_update(
            k_levels, state.curriculum, student, update
        )
        trajectory, last_value = self.player.rollout(k_rollout, state.params, levels, ppo.num_steps)
        advantages, targets = gae(
            trajectory.rewards,
            trajectory.values,
            trajectory.dones,
            last_value,
            ppo.gamma,
            ppo.gae_lambda,
        )
        curriculum, curriculum_metrics = self.curriculum.after_rollout(
            k_after,
            curriculum,
            RolloutResult(levels, trajectory, advantages, last_value),
            plan,
            student,
            update,
        )
        lr = learning_rate(ppo, update, self.config.updates)
        batch = Batch(trajectory, advantages, targets)

        def learn(_):
            return ppo_update(
                k_ppo, state.params, state.opt_state, batch, lr, self.network, self.optimizer, ppo
            )

        def skip(_):
            shapes = jax.eval_shape(learn, None)[2]
            zeros = jax.tree_util.tree_map(lambda s: jnp.zeros(s.shape, s.dtype), shapes)
            return state.params, state.opt_state, zeros

        params, opt_state, learn_metrics = jax.lax.cond(plan.apply_gradient, learn, skip, None)
        metrics = {
            **{f"student/{k}": v for k, v in episode_metrics(trajectory).items()},
            **{f"student/{k}": v for k, v in learn_metrics.items()},
            "student/lr": lr,
            "student/value_mean": trajectory.values.mean(),
            "curriculum/branch": plan.branch,
            "curriculum/apply_gradient": plan.apply_gradient.astype(jnp.int32),
            **curriculum_metrics,
        }
        best = state.best
        if best is not None:
            # With one epoch and one minibatch the logged norm is the gradient at state.params.
            norm = learn_metrics["grad_norm"]
            better = plan.apply_gradient & (norm < best.grad_norm)
            best = jax.tree_util.tree_map(
                lambda new, old: jnp.where(better, new, old),
                BestIterate(state.params, norm, update.astype(jnp.int32)),
                best,
            )
            metrics["student/best_grad_norm"] = best.grad_norm
        state = TrainState(
            params=params, opt_state=opt_state, curriculum=curriculum, rng=rng, best=best
        )
        return state, metrics, levels


def make_train(env, curriculum, config: TrainConfig):
    """Build the pure training functions.

    Returns ``(init, chunk)``:
      * ``init(key) -> state`` (for several seeds: ``init(keys[S]) -> state`` batched over S);
      * ``chunk(state, start int32[]) -> (state, metrics, levels)`` running updates
        ``start .. start + updates_per_chunk - 1``; ``metrics`` are ``[U]`` (``[U, S]``) arrays
        and ``levels`` those of the chunk's last update.
    Neither is jitted here; ``jax.jit`` them (``run`` does, compiling the chunk exactly once).
    """
    trainer = Trainer(env, curriculum, config)
    several = len(config.seed_list) > 1
    # Seeds are initialised one after another (lax.map), not vmapped: a vmapped orthogonal
    # initialiser is a batched QR, and jaxlib's batched CPU QR parallelises over the same thread
    # pool the executor runs on, which deadlocks on small (2-core) machines.
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


def seed_keys(config: TrainConfig) -> jax.Array:
    """The run's root key(s): one typed key per seed (stacked if several)."""
    keys = [jax.random.key(s) for s in config.seed_list]
    return jnp.stack(keys) if len(keys) > 1 else keys[0]


# ---- the host loop ---------------------------------------------------------------------------
class RunError(RuntimeError):
    """A run directory that cannot be used as asked (exists already, nothing to resume, ...)."""


@dataclasses.dataclass
class RunResult:
    """What ``run`` reports back."""

    out: Path
    updates: int
    compile_s: float
    train_s: float
    steps_per_s: float
    final_metrics: dict[str, float]


def _host_rows(metrics: dict[str, np.ndarray], start: int, config: TrainConfig):
    seeds = config.seed_list
    rows = []
    for i in range(config.updates_per_chunk):
        update = start + i
        for j, seed in enumerate(seeds):
            row = {
                "update": update,
                "env_steps": (update + 1) * config.steps_per_update,
                "seed": seed,
            }
            for name in sorted(metrics):
                value = metrics[name][i]
                row[name] = value[j] if len(seeds) > 1 else value
            rows.append(row)
    return rows


def _seed_params(params, index: int, several: bool):
    return jax.tree_util.tree_map(lambda x: x[index], params) if several else params


def _check_checkpoint_config(
    checkpointer: Checkpointer, step: int, config: TrainConfig, out: Path
) -> None:
    saved = checkpointer.metadata(step).get("config", {})
    changed = config_lib.differences(saved, config, ignore=("updates",))
    if changed:
        raise CheckpointError(
            f"checkpoint {step} under {out / 'checkpoints'} was written by a different config than "
            f"{out / 'config.json'}: fields {changed} differ"
        )


def prepare_run(config: TrainConfig, out: Path, resume: bool) -> TrainConfig:
    """Check the run directory and config before anything is compiled; returns the config to
    run (a resumed run's own config, with ``updates`` possibly extended)."""
    config_lib.validate(config)
    out = Path(out)
    ckpt_dir = out / "checkpoints"
    if resume:
        if not out.is_dir():
            raise RunError(f"--resume {out}: no such run directory")
        # The run's own config; only the total number of updates may be changed on resume.
        config = dataclasses.replace(config_lib.load(out / "config.json"), updates=config.updates)
        config_lib.validate(config)
        steps = Checkpointer(ckpt_dir).all_steps() if ckpt_dir.is_dir() else []
        if not steps:
            raise CheckpointError(f"--resume {out}: no complete checkpoint under {ckpt_dir}")
        return config
    if ckpt_dir.is_dir() and any(ckpt_dir.iterdir()):
        raise RunError(
            f"{out} already holds a run; pass --resume {out} to continue it or choose another --out"
        )
    return config


def run(
    config: TrainConfig,
    out: Path,
    *,
    resume: bool = False,
    progress: bool = True,
    log=print,
    on_chunk=None,
) -> RunResult:
    """Train (or continue training) and write everything under ``out``:
    ``config.json``, ``metrics.csv`` (one row per update and seed), ``eval.csv`` (tidy evaluation
    rows), ``checkpoints/<update>/`` and ``plots/*.png``.

    ``on_chunk(updates_done, rows)``, if given, is called on the host after every chunk's rows
    are written (and before any evaluation or checkpoint of that chunk): live plots in a
    notebook, or an exception to stop the run.
    """
    from algorithms import ALGORITHMS
    from envs import ENVS

    from . import plots
    from .evaluate import evaluate_suite, resolve_suite

    out = Path(out)
    config = prepare_run(config, out, resume)
    out.mkdir(parents=True, exist_ok=True)
    (out / "plots").mkdir(exist_ok=True)
    spec = ENVS[config.env]
    env = spec.make(config)
    curriculum = ALGORITHMS[config.algo].make(env, config)
    network = Trainer(env, curriculum, config).network
    init, chunk = make_train(env, curriculum, config)
    several = len(config.seed_list) > 1
    checkpointer = Checkpointer(out / "checkpoints")
    keys = seed_keys(config)

    if resume:
        start = checkpointer.latest_step()
        abstract = jax.eval_shape(init, keys)
        _check_checkpoint_config(checkpointer, start, config, out)
        state, _ = checkpointer.restore(start, abstract)
        if config_lib.load(out / "config.json").updates != config.updates:
            log(
                f"extending {out} to {config.updates} updates: the learning-rate schedule of the "
                "remaining updates follows the new total"
            )
            config_lib.save(config, out / "config.json")
        log(f"resuming {out} from update {start} of {config.updates}")
    else:
        config_lib.save(config, out / "config.json")
        start = 0
        state = jax.jit(init)(keys)

    metrics_log = CsvLog(out / "metrics.csv", keep=lambda r: int(r["update"]) < start)
    eval_log = CsvLog(out / "eval.csv", keep=lambda r: int(r["update"]) <= start)
    diagnostics = Diagnostics(
        out,
        config.seed_list,
        several,
        spec,
        env,
        curriculum,
        keep=lambda r: int(r["update"]) <= start,
    )

    t0 = time.perf_counter()
    compiled = jax.jit(chunk, donate_argnums=0).lower(state, jnp.int32(start)).compile()
    compile_s = time.perf_counter() - t0
    log(f"compiled the training chunk ({config.updates_per_chunk} updates) in {compile_s:.1f}s")

    eval_suites = [
        resolve_suite(config.env, env, s, num_levels=config.eval_levels, seed=0)
        for s in config.eval_suites
    ]

    def evaluate(update: int):
        rows = []
        for i, seed in enumerate(config.seed_list):
            params = _seed_params(state.params, i, several)
            for suite in eval_suites:
                key = jax.random.fold_in(jax.random.key(seed), update)
                rows += evaluate_suite(
                    network,
                    params,
                    suite,
                    attempts=config.eval_attempts,
                    gamma=config.ppo.gamma,
                    key=key,
                    run=out.name,
                    seed=seed,
                    update=update,
                )
        eval_log.write(rows)
        return rows

    if start == 0 and config.eval_every:
        evaluate(0)
        diagnostics.buffer(0, state.curriculum)

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=config.updates, initial=start, unit="upd", dynamic_ncols=True)
    train_s, steps, last = 0.0, 0, {}
    levels = None
    for chunk_start in range(start, config.updates, config.updates_per_chunk):
        t = time.perf_counter()
        state, metrics, levels = compiled(state, jnp.int32(chunk_start))
        metrics = jax.tree_util.tree_map(np.asarray, jax.block_until_ready(metrics))
        dt = time.perf_counter() - t
        train_s += dt
        steps += config.updates_per_chunk * config.steps_per_update * len(config.seed_list)
        rows = _host_rows(metrics, chunk_start, config)
        metrics_log.write(rows)
        done = chunk_start + config.updates_per_chunk
        if on_chunk is not None:
            on_chunk(done, rows)
        last = {k: float(np.mean(v[-1])) for k, v in metrics.items()}
        if bar is not None:
            sps = config.updates_per_chunk * config.steps_per_update * len(config.seed_list) / dt
            bar.update(config.updates_per_chunk)
            bar.set_postfix(
                steps=done * config.steps_per_update,
                sps=f"{sps:,.0f}",
                solved=f"{last['student/first_solve_rate']:.2f}",
            )
        diagnostics.trained_levels(done, levels)
        is_last = done == config.updates
        if (config.eval_every and done % config.eval_every == 0) or is_last:
            evaluate(done)
            diagnostics.buffer(done, state.curriculum)
        if done % config.checkpoint_every == 0 or is_last:
            checkpointer.save(done, state, {"update": done, "config": config_lib.to_dict(config)})
    if bar is not None:
        bar.close()
    checkpointer.close()

    plots.training_plots(out, config, spec, levels)
    result = RunResult(
        out=out,
        updates=config.updates,
        compile_s=compile_s,
        train_s=train_s,
        steps_per_s=steps / train_s if train_s else float("nan"),
        final_metrics=last,
    )
    (out / "run.json").write_text(
        json.dumps(
            {
                "compile_s": compile_s,
                "train_s": train_s,
                "steps_per_s": result.steps_per_s,
                "device": str(jax.devices()[0]),
                "updates": config.updates,
            },
            indent=2,
        )
        + "\n"
    )
    return result


@dataclasses.dataclass
class LoadedRun:
    """A trained run read back from disk (for evaluation)."""

    name: str
    config: TrainConfig
    env: Any
    network: ActorCritic
    step: int
    seed_params: list[Any]


def load_run(out: Path, step: int | None = None, iterate: str = "last") -> LoadedRun:
    """Read a run directory's config and the student parameters of checkpoint ``step`` (the
    latest by default) for every seed: the ``last`` iterate, or the ``best`` one (smallest
    gradient norm, for runs with ``ppo.track_best_iterate``). Fails with ``CheckpointError`` /
    ``ConfigError`` naming the problem before anything is compiled."""
    from algorithms import ALGORITHMS
    from envs import ENVS

    out = Path(out)
    if not out.is_dir():
        raise RunError(f"{out}: no such run directory")
    config = config_lib.load(out / "config.json")
    ckpt_dir = out / "checkpoints"
    checkpointer = Checkpointer(ckpt_dir) if ckpt_dir.is_dir() else None
    steps = checkpointer.all_steps() if checkpointer else []
    if not steps:
        raise CheckpointError(f"{out}: no complete checkpoint under {ckpt_dir}")
    if step is None:
        step = steps[-1]
    elif step not in steps:
        raise CheckpointError(f"{out}: no checkpoint at step {step} (have {steps})")
    env = ENVS[config.env].make(config)
    curriculum = ALGORITHMS[config.algo].make(env, config)
    init, _ = make_train(env, curriculum, config)
    _check_checkpoint_config(checkpointer, step, config, out)
    abstract = jax.eval_shape(init, seed_keys(config))
    if iterate == "best" and abstract.best is None:
        raise config_lib.ConfigError(
            f"iterate: {out} did not track a best iterate (ppo.track_best_iterate is off)"
        )
    # Only the student's parameters are read, so evaluation does not depend on the rest of the
    # train state (curriculum, optimiser) matching this version of the code.
    path = ("best", "params") if iterate == "best" else ("params",)
    stored = checkpointer.restore_subtree(
        step, path, abstract.best.params if iterate == "best" else abstract.params
    )
    checkpointer.close()
    several = len(config.seed_list) > 1
    params = [_seed_params(stored, i, several) for i in range(len(config.seed_list))]
    network = Trainer(env, curriculum, config).network
    return LoadedRun(out.name, config, env, network, step, params)
