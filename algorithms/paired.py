"""PAIRED (Dennis et al. 2020) and the minimax adversary: a learned generator builds the levels.

Every update, inside the one jitted training update:
  1. the generator (adversary) builds B levels in the env family's level editor
     (``ued.editor.LevelGenerator``: recurrent PPO, per-phase action masks, fresh noise z);
  2. the protagonist, the program's student, plays them (the shared loop's rollout);
  3. the antagonist plays the same levels for as many steps and takes a PPO update;
  4. the generator is rewarded at its last editor step only, with the flexible-PAIRED regret
     estimate ``max antagonist return - mean protagonist return`` over each level's completed
     episodes (the minimax adversary: ``-mean protagonist return``, and no antagonist), and
     takes a PPO update;
  5. the protagonist takes its PPO update (the shared loop).
Each learner has its own network and PPO settings (``curriculum.generator``,
``curriculum.antagonist_network`` / ``antagonist_ppo``; the protagonist's are ``network``/``ppo``).
Env steps are logged per learner (``env_steps/...``); the run's ``env_steps`` column counts the
protagonist's only, so curricula compare at equal student experience.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, ClassVar, Literal

import jax
import jax.numpy as jnp
from flax import struct

from ued import registry
from ued import scores as score_fns
from ued.config import (
    ConfigError,
    NetworkConfig,
    PPOConfig,
    TrainConfig,
    require,
    validate_network,
    validate_ppo,
)
from ued.curriculum import AlgorithmSpec, Curriculum, UpdatePlan, level_statistics
from ued.editor import (
    GeneratorConfig,
    GeneratorState,
    LevelGenerator,
    make_generator,
    validate_generator,
)
from ued.ppo import PPOState, make_ppo_learner
from ued.rollout import Player
from ued.train import episode_metrics

OBJECTIVES = ("regret", "minimax")
ALGO_OBJECTIVE = {"paired": "regret", "minimax-adversary": "minimax"}
"""The objective each registered name stands for."""


@dataclasses.dataclass(frozen=True)
class Config:
    """PAIRED / minimax-adversary settings."""

    objective: Literal["regret", "minimax"] = "regret"
    """The generator's reward: ``regret`` (PAIRED: antagonist max - protagonist mean return)
    or ``minimax`` (-protagonist mean return; no antagonist)."""
    generator: GeneratorConfig = dataclasses.field(default_factory=GeneratorConfig)
    """The generator (adversary): editor episode, network and PPO."""
    antagonist_network: NetworkConfig = dataclasses.field(default_factory=NetworkConfig)
    """The antagonist's network (presets copy the protagonist's)."""
    antagonist_ppo: PPOConfig = dataclasses.field(default_factory=PPOConfig)
    """The antagonist's PPO (presets copy the protagonist's; it plays as many envs and steps)."""


@struct.dataclass
class Generated:
    """The last update's generated levels and what the students made of them.

    Attributes:
        levels: ``[B]``; protagonist, antagonist: ``f32[B]`` mean and max return (0 without an
        antagonist); reward: ``f32[B]`` the generator's reward (regret or -protagonist return).
    """

    levels: Any
    protagonist: jax.Array
    antagonist: jax.Array
    reward: jax.Array


@struct.dataclass
class State:
    """The curriculum's state: the generator, the antagonist (None for minimax) and the last
    generated levels (for diagnostics)."""

    generator: GeneratorState
    antagonist: PPOState | None
    last: Generated


def flexible_regret(protagonist, antagonist) -> jax.Array:
    """PAIRED's regret estimate per level from two rollouts on the same levels (``Trajectory
    [T, B]`` each): the antagonist's highest return minus the protagonist's mean return over
    each level's completed episodes (``ued.scores.episode_returns``). Returns ``f32[B]``."""
    protagonist_mean, _ = score_fns.episode_returns(protagonist.rewards, protagonist.dones)
    _, antagonist_max = score_fns.episode_returns(antagonist.rewards, antagonist.dones)
    return antagonist_max - protagonist_mean


@dataclasses.dataclass(frozen=True)
class PAIRED(Curriculum):
    """The generator-agent curriculum (PAIRED, or the minimax adversary without antagonist).

    Attributes:
        env: the training env; generator: the ``LevelGenerator``.
        antagonist: the antagonist's learner, or None (minimax).
        num_envs, num_steps: the students' rollout (B levels, T steps each).
        total_updates: the run's updates (the learning-rate schedules' horizon).
        describe: the env's level descriptors on a batch (``levels -> {name: f32[B]}``) or None.
        success: whether the env reports ``info["solved"]`` (the antagonist's solve rates).
    """

    env: Any
    generator: LevelGenerator
    antagonist: Any
    num_envs: int
    num_steps: int
    total_updates: int
    describe: Any = None
    success: bool = True
    caption_order: ClassVar[tuple[str, ...]] = ("P", "A", "R")

    def init(self, key) -> State:
        k_gen, k_ant = jax.random.split(key)
        generator = self.generator.init(k_gen)
        antagonist = None
        if self.antagonist is not None:
            antagonist = self.antagonist.init(k_ant, self.env.dummy_observation())
        zeros = jnp.zeros((self.num_envs,), jnp.float32)
        levels = jax.vmap(self.generator.editor.level)(
            jax.vmap(self.generator.editor.reset)(jax.random.split(k_gen, self.num_envs))[1]
        )
        return State(generator, antagonist, Generated(levels, zeros, zeros, zeros))

    def levels_for_update(self, key, state: State, student, update):
        levels, generator = self.generator.generate(key, state.generator)
        return levels, UpdatePlan.train_on(), state.replace(generator=generator)

    def after_rollout(self, key, state: State, result, plan, student, update):
        k_play, k_learn, k_gen = jax.random.split(key, 3)
        traj = result.trajectory
        protagonist_mean, protagonist_max = score_fns.episode_returns(traj.rewards, traj.dones)
        steps = float(self.num_envs * self.num_steps)
        metrics = {
            "protagonist/mean_return": protagonist_mean.mean(),
            "protagonist/max_return": protagonist_max.mean(),
            "env_steps/protagonist": jnp.float32(steps),
            "env_steps/generator": jnp.float32(self.generator.steps_per_call),
        }
        antagonist, antagonist_max = state.antagonist, jnp.zeros_like(protagonist_mean)
        if self.antagonist is None:
            reward = -protagonist_mean
        else:
            player = Player(self.env, self.antagonist)
            rollout, last_value = player.rollout(
                k_play, antagonist.params, result.levels, self.num_steps
            )
            batch = self.antagonist.prepare(
                rollout, last_value, self.antagonist.initial_carry(self.num_envs)
            )
            antagonist, learn = self.antagonist.update(
                k_learn, antagonist, batch, update, self.total_updates
            )
            antagonist_mean, antagonist_max = score_fns.episode_returns(
                rollout.rewards, rollout.dones
            )
            reward = flexible_regret(traj, rollout)
            metrics |= {
                "paired/regret": reward.mean(),
                "antagonist/mean_return": antagonist_mean.mean(),
                "antagonist/max_return": antagonist_max.mean(),
                "env_steps/antagonist": jnp.float32(steps),
                **{f"antagonist/{k}": v for k, v in episode_metrics(rollout, self.success).items()},
                **{f"antagonist/{k}": v for k, v in learn.items()},
            }
            steps *= 2
        generator, learn = self.generator.learn(
            k_gen, state.generator, reward, update, self.total_updates
        )
        metrics |= {
            "generator/reward": reward.mean(),
            "env_steps/total": jnp.float32(steps + self.generator.steps_per_call),
            **{f"generator/{k}": v for k, v in learn.items()},
            **level_statistics(self.describe, result.levels, "generated/"),
        }
        last = Generated(result.levels, protagonist_mean, antagonist_max, reward)
        return State(generator, antagonist, last), metrics

    def inspect(self, state: State) -> dict[str, Any]:
        """The last update's generated levels, scored by the generator's reward and captioned
        with P (protagonist mean return), A (antagonist max return) and R (reward)."""
        last = state.last
        captions = {"P": last.protagonist, "R": last.reward}
        if self.antagonist is not None:
            captions = {"P": last.protagonist, "A": last.antagonist, "R": last.reward}
        return {
            "levels": last.levels,
            "scores": last.reward,
            "weights": jnp.full_like(last.reward, 1.0 / last.reward.shape[0]),
            "filled": jnp.ones(last.reward.shape, jnp.bool_),
            "captions": captions,
        }


# ---- presets and registry hooks -----------------------------------------------------------------
def generator_preset(base: TrainConfig, name: str) -> GeneratorConfig:
    """The generator at preset ``name``: PAIRED's adversary (conv 128, LSTM 256, 50 editor
    steps, the student's PPO) for ``paper``; for ``cpu`` LSTM 64 on the flattened grid (a
    16-filter convolution made the generator's update 5-6x slower on a 2-core CPU, see the
    README's design notes); tiny shapes for ``test``. One level per student env."""
    steps = {"paper": 50, "cpu": 50, "test": 8}[name]
    width, hidden, noise = {"paper": (128, 256, 16), "cpu": (0, 64, 16), "test": (4, 8, 4)}[name]
    return GeneratorConfig(
        editor_steps=steps,
        noise_dim=noise,
        encoder_width=width,
        network=dataclasses.replace(base.network, hidden_size=hidden),
        ppo=dataclasses.replace(base.ppo, num_steps=steps),
    )


def preset(base: TrainConfig, name: str, objective: str = "regret") -> TrainConfig:
    """PAIRED (``objective="regret"``) or the minimax adversary on the env family's preset
    ``name``; the antagonist copies the protagonist's network and PPO."""
    return dataclasses.replace(
        base,
        curriculum=Config(
            objective=objective,
            generator=generator_preset(base, name),
            antagonist_network=base.network,
            antagonist_ppo=base.ppo,
        ),
    )


def make(env, spec, config: TrainConfig) -> PAIRED:
    """Build the curriculum for a validated config."""
    c = config.curriculum
    antagonist = None
    if c.objective == "regret":
        encoder = spec.make_encoder(config.env_config)
        antagonist = make_ppo_learner(
            env.num_actions, encoder, c.antagonist_network, c.antagonist_ppo
        )
    describe = None
    if spec.descriptors is not None:
        describe = functools.partial(spec.descriptors, env)
    return PAIRED(
        env=env,
        generator=make_generator(spec, config.env_config, c.generator, config.ppo.num_envs),
        antagonist=antagonist,
        num_envs=config.ppo.num_envs,
        num_steps=config.ppo.num_steps,
        total_updates=config.updates,
        describe=describe,
        success=spec.success,
    )


def requires(config: TrainConfig) -> frozenset[str]:
    """A level editor."""
    return frozenset({"editor"})


def validate_generator_for_env(config: TrainConfig, generator: GeneratorConfig, prefix: str):
    """The generator's settings, and that the env's editor can build a level in its steps."""
    validate_generator(generator, config.ppo.num_envs, prefix)
    spec = registry.ENVS.get(config.env)
    if spec.editor is not None:
        editor = spec.editor(config.env_config, generator)
        require(
            generator.editor_steps >= editor.min_steps,
            f"{prefix}editor_steps",
            f"env {config.env!r}'s editor needs at least {editor.min_steps} steps to build a "
            f"level, got {generator.editor_steps}",
        )


def validate(config: TrainConfig) -> None:
    """Check the curriculum's settings; raises ``ConfigError`` naming the field."""
    c = config.curriculum
    if c.objective not in OBJECTIVES:
        raise ConfigError(
            f"curriculum.objective: unknown {c.objective!r}; choose one of {OBJECTIVES}"
        )
    expected = ALGO_OBJECTIVE.get(config.algo, c.objective)
    require(
        c.objective == expected,
        "curriculum.objective",
        f"--algo {config.algo} means objective {expected!r}, got {c.objective!r}",
    )
    validate_generator_for_env(config, c.generator, "curriculum.generator.")
    if c.objective == "regret":
        validate_network(c.antagonist_network, "curriculum.antagonist_network.")
        validate_ppo(c.antagonist_ppo, "curriculum.antagonist_ppo.")
        for name in ("num_envs", "num_steps"):
            ours, theirs = getattr(c.antagonist_ppo, name), getattr(config.ppo, name)
            require(
                ours == theirs,
                f"curriculum.antagonist_ppo.{name}",
                f"the antagonist plays the protagonist's levels for as long (the regret compares "
                f"their returns), so it must equal ppo.{name} ({theirs}), got {ours}",
            )


for _name, _objective, _summary in (
    ("paired", "regret", "PAIRED: a generator agent maximises antagonist-protagonist regret"),
    ("minimax-adversary", "minimax", "a generator agent minimises the student's return"),
):
    registry.ALGORITHMS.register(
        _name,
        AlgorithmSpec(
            _name,
            Config,
            functools.partial(preset, objective=_objective),
            make,
            validate,
            requires,
            _summary,
        ),
    )
