"""Level generation by a learned agent (PAIRED's adversary): the editor protocol and the generator.

An env family that can be generated step by step declares ``EnvSpec.editor``: a factory of a
``LevelEditor``, a fixed-length, deterministic "env" whose state is a level under construction.
Each step the generator picks one of ``num_actions`` actions (for the maze: a cell), restricted
by a per-phase ``action_mask``; after ``num_steps`` steps ``level(state)`` is the generated level.
The editor's observation carries a noise vector ``z`` (fresh each step in the references), so
one policy can generate many levels.

``LevelGenerator`` is the env-agnostic half: it plays a learner (recurrent PPO) in an editor to
build a batch of levels, keeps that rollout in its state (it is trained only after the students
have played the levels), and trains on it once the curriculum has scored the levels: the score
is the reward of the *last* editor step, every other step is rewarded 0. PAIRED, the minimax
adversary and REPAIRED's level source (``algorithms/``) all use it.
"""

from __future__ import annotations

import abc
import dataclasses
from typing import Any, ClassVar, Literal

import jax
import jax.numpy as jnp
from flax import struct

from .config import NetworkConfig, PPOConfig, require
from .learner import conditional_update
from .rollout import Trajectory


class LevelEditor(abc.ABC):
    """A level-building environment for a generator agent. Pure and jittable; unbatched
    (``vmap`` for a batch).

    Attributes:
        num_steps: editor steps per generated level (the episode length, fixed).
        num_actions: size of the discrete action space.
        min_steps: the fewest steps that build a valid level (the maze: goal and agent).
    """

    num_steps: int
    num_actions: ClassVar[int] | int
    min_steps: ClassVar[int] = 1
    matched_steps: ClassVar[int] | int = 0
    """The steps that give a generator the budget of the env's random generator (0: unknown).
    ``GeneratorConfig.editor_steps = 0`` means these."""

    @abc.abstractmethod
    def reset(self, key: jax.Array) -> tuple[Any, Any]:
        """Start building a level from scratch; draws the episode's noise ``z``. Returns
        ``(obs, state)``."""

    @abc.abstractmethod
    def step(self, state: Any, action: jax.Array) -> tuple[Any, Any]:
        """Apply ``action`` (``int32[]``) to the level under construction. Returns
        ``(obs, state)``."""

    @abc.abstractmethod
    def action_mask(self, state: Any) -> jax.Array:
        """``bool[num_actions]``: the actions allowed in ``state``'s phase."""

    @abc.abstractmethod
    def level(self, state: Any) -> Any:
        """The level built so far (after ``num_steps`` steps: the generated level)."""

    @abc.abstractmethod
    def encoder(self, width: int) -> Any:
        """The generator network's observation encoder (a flax module mapping observations
        ``[T, B, ...]`` to features ``f32[T, B, F]``); ``width`` sizes it (maze: conv filters)."""

    def dummy_observation(self) -> Any:
        """One unbatched observation (for initialising networks)."""
        return self.reset(jax.random.key(0))[0]


MINIMAX_TEACHER_PPO = PPOConfig(lr=1e-4, anneal_lr=False, ent_coef=0.05)
"""minimax's maze PAIRED teacher (``configs/maze/paired.json``): lr 1e-4 constant, 5 epochs x 1
minibatch, clip 0.2 (values too), gamma 0.995, lambda 0.98, entropy 0.05, value 0.5, grad norm
0.5, Adam eps 1e-5. ``num_envs``/``num_steps`` are set by the curriculum."""


@dataclasses.dataclass(frozen=True)
class GeneratorConfig:
    """A generator agent: its editor episode, network and PPO settings (defaults: minimax's maze
    PAIRED teacher, ``configs/maze/paired.json``)."""

    editor_steps: int = 0
    """Editor steps per level; 0: the env's random-generator budget (the maze: n_walls walls, the
    goal and the agent; minimax 60 + 2, dcd 25 + 2), so the generator and DR build levels of the
    same size."""
    noise_dim: int = 50
    """Size of the noise vector z in the editor's observation (minimax 50, dcd 50; 0 = none)."""
    noise: Literal["uniform", "normal"] = "uniform"
    """Distribution of z: uniform in [0, 1) (minimax, dcd) or N(0, I)."""
    noise_per_step: bool = True
    """A fresh z at every editor step (minimax, dcd) or one per level."""
    encoder_width: int = 128
    """Width of the editor's observation encoder (maze: filters of its 3x3 convolution, 128 in
    minimax; 0 = none, the grid is flattened)."""
    network: NetworkConfig = dataclasses.field(default_factory=NetworkConfig)
    """The generator's recurrent actor-critic (LSTM 256 in minimax and dcd)."""
    ppo: PPOConfig = dataclasses.field(default_factory=lambda: MINIMAX_TEACHER_PPO)
    """The generator's PPO (minimax: entropy 0.05 and a constant learning rate; dcd: entropy 0).
    ``num_envs`` must equal the students' (one level per student env); ``num_steps`` is set to
    the editor's steps."""


def validate_generator(config: GeneratorConfig, num_levels: int, prefix: str) -> None:
    """Check a ``GeneratorConfig`` that builds ``num_levels`` levels per update; raises
    ``ConfigError`` naming ``prefix + field``."""
    from .config import validate_network, validate_ppo

    for name in ("editor_steps", "noise_dim", "encoder_width"):
        value = getattr(config, name)
        require(value >= 0, f"{prefix}{name}", f"must be >= 0, got {value}")
    validate_network(config.network, f"{prefix}network.")
    validate_ppo(config.ppo, f"{prefix}ppo.")
    require(
        config.ppo.num_envs == num_levels,
        f"{prefix}ppo.num_envs",
        f"the generator builds one level per student env, so it must equal ppo.num_envs "
        f"({num_levels}), got {config.ppo.num_envs}",
    )


def generator_preset(base, name: str) -> GeneratorConfig:
    """The generator at preset ``name``, always with the random generator's wall budget
    (``editor_steps = 0``). ``paper`` and ``minimax``: minimax's maze PAIRED teacher (conv 128,
    LSTM 256, 50-dim uniform noise fresh each step, entropy 0.05, constant lr 1e-4); ``dcd``: the
    same with dcd's entropy 0 and GAE lambda 0.95; ``cpu``: LSTM 64 on the flattened grid (a
    16-filter convolution made the generator's update 5-6x slower on a 2-core CPU, see
    docs/curricula/paired.md) with the student's CPU-sized PPO but the teacher's entropy and a
    constant learning rate; tiny shapes for ``test``. One level per student env. ``base`` is
    the ``TrainConfig`` of the env family's preset (the student's network and PPO)."""
    num_envs = base.ppo.num_envs
    if name in ("paper", "minimax", "dcd"):
        ppo = dataclasses.replace(MINIMAX_TEACHER_PPO, num_envs=num_envs)
        if name == "dcd":  # dcd arguments.py: adv_entropy_coef 0, gae_lambda 0.95
            ppo = dataclasses.replace(ppo, ent_coef=0.0, gae_lambda=0.95)
        return GeneratorConfig(ppo=ppo)
    width, hidden, noise = {"cpu": (0, 64, 50), "test": (4, 8, 4)}[name]
    teacher = {"ent_coef": MINIMAX_TEACHER_PPO.ent_coef, "anneal_lr": False}
    return GeneratorConfig(
        noise_dim=noise,
        encoder_width=width,
        network=dataclasses.replace(base.network, hidden_size=hidden),
        ppo=dataclasses.replace(base.ppo, **teacher),
    )


REFERENCE_PRESETS = ("minimax", "dcd")
"""Presets that reproduce an author implementation's maze PAIRED settings."""


def validate_generator_for_env(config, generator: GeneratorConfig, prefix: str) -> None:
    """The generator's settings in training config ``config``, and that the env's editor can
    build a level in its steps; raises ``ConfigError`` naming ``prefix + field``."""
    from . import registry

    validate_generator(generator, config.ppo.num_envs, prefix)
    spec = registry.ENVS.get(config.env)
    if spec.editor is not None:
        editor = spec.editor(config.env_config, generator)
        require(
            editor.num_steps >= editor.min_steps,
            f"{prefix}editor_steps",
            f"env {config.env!r}'s editor needs at least {editor.min_steps} steps to build a "
            f"level, got {generator.editor_steps}",
        )


@struct.dataclass
class GeneratorState:
    """A generator's learner state and its last editor rollout.

    Attributes:
        learner: the generator's learner state (``ued.ppo.PPOState``).
        rollout: ``Trajectory [T, B]`` of the last ``generate`` (rewards still 0): what ``learn``
            trains on once the levels are scored.
    """

    learner: Any
    rollout: Trajectory


@dataclasses.dataclass(frozen=True)
class LevelGenerator:
    """Builds levels with a learner acting in a ``LevelEditor``, and trains it on their scores.

    Attributes:
        editor: the env family's ``LevelEditor``.
        learner: the generator's learner (``ued.ppo.PPOLearner`` over ``editor.encoder``).
        num_levels: levels per call (B).
    """

    editor: LevelEditor
    learner: Any
    num_levels: int

    def init(self, key: jax.Array) -> GeneratorState:
        """Fresh parameters, and an all-zero placeholder rollout of the right shape."""
        learner = self.learner.init(key, self.editor.dummy_observation())
        shapes = jax.eval_shape(lambda k: self._play(k, learner.params)[0], key)
        rollout = jax.tree_util.tree_map(lambda s: jnp.zeros(s.shape, s.dtype), shapes)
        return GeneratorState(learner=learner, rollout=rollout)

    def _play(self, key, params) -> tuple[Trajectory, Any]:
        editor, batch, steps = self.editor, self.num_levels, self.editor.num_steps
        k_reset, k_steps = jax.random.split(key)
        obs, state = jax.vmap(editor.reset)(jax.random.split(k_reset, batch))

        def step(carry, inputs):
            rnn, obs, state = carry
            key, t = inputs
            mask = jax.vmap(editor.action_mask)(state)
            resets = jnp.full((batch,), t == 0)
            rnn, actions, log_probs, values = self.learner.act(params, rnn, obs, resets, key, mask)
            next_obs, state = jax.vmap(editor.step)(state, actions)
            zeros = jnp.zeros((batch,), jnp.float32)
            transition = Trajectory(
                obs=obs,
                resets=resets,
                actions=actions,
                log_probs=log_probs,
                values=values,
                rewards=zeros,
                dones=jnp.full((batch,), t == steps - 1),
                truncated=jnp.zeros((batch,), jnp.bool_),
                final_values=zeros,
                solved=jnp.zeros((batch,), jnp.bool_),
                action_mask=mask,
            )
            return (rnn, next_obs, state), transition

        init = (self.learner.initial_carry(batch), obs, state)
        inputs = (jax.random.split(k_steps, steps), jnp.arange(steps))
        (_, _, state), trajectory = jax.lax.scan(step, init, inputs)
        return trajectory, jax.vmap(editor.level)(state)

    def generate(self, key: jax.Array, state: GeneratorState) -> tuple[Any, GeneratorState]:
        """Build ``num_levels`` levels with the current policy. Returns ``(levels [B], state)``
        with the editor rollout kept for ``learn``."""
        trajectory, levels = self._play(key, state.learner.params)
        return levels, state.replace(rollout=trajectory)

    def _batch(self, state: GeneratorState, scores: jax.Array):
        return self.learner.prepare(
            self.rewarded(state, scores),
            jnp.zeros_like(scores),
            self.learner.initial_carry(self.num_levels),
        )

    def learn(self, key, state: GeneratorState, scores: jax.Array, update, total, apply=None):
        """One learner update on the last ``generate``'s rollout, rewarded ``scores f32[B]`` at
        its last step (0 elsewhere); with ``apply`` (``bool[]``), only where it holds
        (``ued.learner.conditional_update``: else the state unchanged and zero metrics).
        Returns ``(state, metrics)``."""
        batch = self._batch(state, scores)
        if apply is None:
            learner, metrics = self.learner.update(key, state.learner, batch, update, total)
        else:
            learner, metrics = conditional_update(
                apply, self.learner, key, state.learner, batch, update, total
            )
        return state.replace(learner=learner), metrics

    @staticmethod
    def rewarded(state: GeneratorState, scores: jax.Array) -> Trajectory:
        """The last editor rollout with ``scores f32[B]`` as the reward of its last step and 0
        at every other step (what ``learn`` trains on)."""
        return state.rollout.replace(rewards=state.rollout.rewards.at[-1].set(scores))

    @property
    def steps_per_call(self) -> int:
        """Editor steps of one ``generate`` (``num_steps x num_levels``), for step accounting."""
        return self.editor.num_steps * self.num_levels


def generator_metrics(generator: LevelGenerator, learn: dict, reward, generated) -> dict:
    """The metrics of a generator that built this update's levels where ``generated``
    (``bool[]``): its learner's metrics (``generator/...``), its mean reward (``generated/reward``,
    NaN on updates that generated nothing) and its env steps."""
    return {
        **{f"generator/{k}": v for k, v in learn.items()},
        "generated/reward": jnp.where(generated, reward.mean(), jnp.nan),
        "env_steps/generator": jnp.where(generated, jnp.float32(generator.steps_per_call), 0.0),
    }


def make_generator(spec, env_settings, config: GeneratorConfig, num_levels: int) -> LevelGenerator:
    """The generator agent for env family ``spec`` (which must declare an editor) with env
    settings ``env_settings``: a recurrent PPO learner over the editor's encoder."""
    from .ppo import make_ppo_learner

    editor = spec.editor(env_settings, config)
    encoder = editor.encoder(config.encoder_width)
    ppo = dataclasses.replace(config.ppo, num_steps=editor.num_steps)
    learner = make_ppo_learner(editor.num_actions, encoder, config.network, ppo)
    return LevelGenerator(editor, learner, num_levels)
