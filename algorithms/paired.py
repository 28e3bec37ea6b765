"""PAIRED (Dennis et al. 2020), flexible PAIRED, the minimax adversary and REPAIRED (Jiang et al.
2021b): a learned generator builds the levels.

PAIRED, every update, inside the one jitted training update:
  1. the generator (adversary) builds B levels in the env family's level editor
     (``ued.editor.LevelGenerator``: recurrent PPO, per-phase action masks, noise z);
  2. the protagonist, the program's student, plays them (the shared loop's rollout);
  3. the antagonist plays the same levels for as many steps and takes a PPO update;
  4. the generator is rewarded at its last editor step only, with PAIRED's regret
     ``max(0, antagonist max return - protagonist mean return)`` over each level's completed
     episodes, clipped at 0 as in both author implementations (minimax
     ``util/rl/ued_scores.py`` RELATIVE_REGRET, dcd ``adversarial_runner.py``), and takes a PPO
     update;
  5. the protagonist takes its PPO update (the shared loop).
Flexible PAIRED (dcd ``flexible_paired``): per level, whichever student has the higher max return
plays the antagonist's role: ``max(0, better's max - other's mean)``. The minimax adversary:
``-protagonist mean return``, no antagonist. REPAIRED (dcd: ``paired`` with ``use_plr`` and
``no_exploratory_grad_updates``): PAIRED's triple plus robust PLR on the protagonist; see
``REPAIRED``.

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
from ued.buffer import BufferConfig, validate_buffer
from ued.config import (
    NetworkConfig,
    PPOConfig,
    TrainConfig,
    probability,
    require,
    validate_network,
    validate_ppo,
)
from ued.curriculum import REPLAY, AlgorithmSpec, Curriculum, UpdatePlan, level_statistics
from ued.editor import (
    REFERENCE_PRESETS,
    GeneratorConfig,
    GeneratorState,
    LevelGenerator,
    generator_metrics,
    generator_preset,
    make_generator,
    validate_generator_for_env,
)
from ued.learner import conditional_update
from ued.ppo import PPOState
from ued.rollout import Player
from ued.train import episode_metrics

from . import plr

ALGO_OBJECTIVE = {
    "paired": "regret",
    "flexible-paired": "flexible_regret",
    "minimax-adversary": "minimax",
    "repaired": "regret",
}
"""The objective each registered name stands for."""


@dataclasses.dataclass(frozen=True)
class Config:
    """PAIRED / flexible PAIRED / minimax-adversary settings."""

    objective: Literal["regret", "flexible_regret", "minimax"] = "regret"
    """The generator's reward: ``regret`` (PAIRED: antagonist max - protagonist mean return),
    ``flexible_regret`` (flexible PAIRED: the better student's max - the other's mean) or
    ``minimax`` (-protagonist mean return; no antagonist)."""
    clip_regret: bool = True
    """Clip the regret at 0, as minimax and dcd do. False (not from a paper, off in every
    preset): the unclipped estimate, whose mean is 0 on every level when the students are
    equally good."""
    generator: GeneratorConfig = dataclasses.field(default_factory=GeneratorConfig)
    """The generator (adversary): editor episode, network and PPO."""
    antagonist_network: NetworkConfig = dataclasses.field(default_factory=NetworkConfig)
    """The antagonist's network (presets copy the protagonist's, as both references do)."""
    antagonist_ppo: PPOConfig = dataclasses.field(default_factory=PPOConfig)
    """The antagonist's PPO (presets copy the protagonist's; it plays as many envs and steps)."""


@dataclasses.dataclass(frozen=True)
class RepairedConfig(Config):
    """REPAIRED: PAIRED's settings plus robust PLR's on the protagonist."""

    score: Literal["pvl", "maxmc", "l1_value_loss", "learnability", "oracle_regret"] = "maxmc"
    """The buffer's level score (dcd's REPAIRED: grounded signed value loss, i.e. MaxMC)."""
    replay_prob: float = 0.8
    """Probability of a replay update once the buffer is min_fill full (dcd's maze REPAIRED
    0.95, preset dcd; 0.8 elsewhere, as this library's robust PLR)."""
    buffer: BufferConfig = dataclasses.field(default_factory=BufferConfig)
    """The level buffer (dcd: 4,000 levels, rank temperature 0.1, staleness 0.3)."""


@struct.dataclass
class Generated:
    """The last update's levels and what the students made of them.

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
    """PAIRED's state: the generator, the antagonist (None for minimax) and the last generated
    levels (for diagnostics)."""

    generator: GeneratorState
    antagonist: PPOState | None
    last: Generated


@struct.dataclass
class RepairedState:
    """REPAIRED's state: robust PLR's (buffer, slots, branch, generator), the antagonist and
    the last update's levels."""

    replay: plr.State
    antagonist: PPOState
    last: Generated


def paired_regret(protagonist, antagonist, clip: bool = True) -> jax.Array:
    """PAIRED's regret per level from two rollouts on the same levels (``Trajectory [T, B]``
    each): the antagonist's highest return minus the protagonist's mean return over each level's
    completed episodes (``ued.scores.episode_returns``), clipped at 0 unless ``clip`` is False.
    Returns ``f32[B]``."""
    protagonist_mean, _ = score_fns.episode_returns(protagonist.rewards, protagonist.dones)
    _, antagonist_max = score_fns.episode_returns(antagonist.rewards, antagonist.dones)
    regret = antagonist_max - protagonist_mean
    return jnp.maximum(regret, 0.0) if clip else regret


def flexible_regret(protagonist, antagonist, clip: bool = True) -> jax.Array:
    """Flexible PAIRED's regret per level (dcd ``_compute_env_return``): the student with the
    higher max return plays the antagonist (ties: the protagonist), so the reward is that
    student's max return minus the other's mean return, clipped at 0 unless ``clip`` is False.
    Returns ``f32[B]``."""
    p_mean, p_max = score_fns.episode_returns(protagonist.rewards, protagonist.dones)
    a_mean, a_max = score_fns.episode_returns(antagonist.rewards, antagonist.dones)
    regret = jnp.where(a_max > p_max, a_max - p_mean, p_max - a_mean)
    return jnp.maximum(regret, 0.0) if clip else regret


REGRETS = {"regret": paired_regret, "flexible_regret": flexible_regret}


@dataclasses.dataclass(frozen=True)
class PAIRED(Curriculum):
    """The generator-agent curriculum (PAIRED, flexible PAIRED, or the minimax adversary).

    Attributes:
        env: the training env; generator: the ``LevelGenerator``.
        antagonist: the antagonist's learner, or None (minimax).
        objective: ``regret``, ``flexible_regret`` or ``minimax``; clip_regret: clip at 0.
        num_envs, num_steps: the students' rollout (B levels, T steps each).
        total_updates: the run's updates (the learning-rate schedules' horizon).
        describe: the env's level descriptors on a batch (``levels -> {name: f32[B]}``) or None.
        success: whether the env reports ``info["solved"]`` (the antagonist's solve rates).
    """

    env: Any
    generator: LevelGenerator
    antagonist: Any
    objective: str
    clip_regret: bool
    num_envs: int
    num_steps: int
    total_updates: int
    describe: Any = None
    success: bool = True
    caption_order: ClassVar[tuple[str, ...]] = ("P", "A", "R")

    def _empty(self, key) -> Generated:
        zeros = jnp.zeros((self.num_envs,), jnp.float32)
        editor = self.generator.editor
        levels = jax.vmap(editor.level)(
            jax.vmap(editor.reset)(jax.random.split(key, self.num_envs))[1]
        )
        return Generated(levels, zeros, zeros, zeros)

    def init(self, key) -> State:
        k_gen, k_ant = jax.random.split(key)
        antagonist = None
        if self.antagonist is not None:
            antagonist = self.antagonist.init(k_ant, self.env.dummy_observation())
        return State(self.generator.init(k_gen), antagonist, self._empty(k_gen))

    def levels_for_update(self, key, state: State, student, update):
        levels, generator = self.generator.generate(key, state.generator)
        return levels, UpdatePlan.train_on(), state.replace(generator=generator)

    def play_antagonist(self, key, antagonist, levels, update, learn=None):
        """The antagonist plays ``levels`` for the students' rollout length and takes a PPO
        update (only where ``learn``, ``bool[]``, holds, if given). Returns ``(antagonist state,
        rollout Trajectory [T, B], metrics)``."""
        k_play, k_learn = jax.random.split(key)
        rollout, last_value = Player(self.env, self.antagonist).rollout(
            k_play, antagonist.params, levels, self.num_steps
        )
        batch = self.antagonist.prepare(
            rollout, last_value, self.antagonist.initial_carry(self.num_envs)
        )
        if learn is None:
            antagonist, metrics = self.antagonist.update(
                k_learn, antagonist, batch, update, self.total_updates
            )
        else:
            antagonist, metrics = conditional_update(
                learn, self.antagonist, k_learn, antagonist, batch, update, self.total_updates
            )
        mean, best = score_fns.episode_returns(rollout.rewards, rollout.dones)
        metrics = {
            "antagonist/mean_return": mean.mean(),
            "antagonist/max_return": best.mean(),
            "env_steps/antagonist": jnp.float32(self.num_envs * self.num_steps),
            **{f"antagonist/{k}": v for k, v in episode_metrics(rollout, self.success).items()},
            **{f"antagonist/{k}": v for k, v in metrics.items()},
        }
        return antagonist, rollout, metrics

    def generator_reward(self, protagonist, antagonist):
        """The generator's reward ``f32[B]`` and its metrics, from the protagonist's rollout and
        the antagonist's (None for minimax). ``paired/regret`` is the reward the generator
        receives, ``paired/regret_unclipped`` the estimate before clipping."""
        if antagonist is None:
            mean, _ = score_fns.episode_returns(protagonist.rewards, protagonist.dones)
            return -mean, {}
        regret = REGRETS[self.objective]
        unclipped = regret(protagonist, antagonist, clip=False)
        reward = jnp.maximum(unclipped, 0.0) if self.clip_regret else unclipped
        return reward, {
            "paired/regret": reward.mean(),
            "paired/regret_unclipped": unclipped.mean(),
            "paired/negative_regret_frac": jnp.mean(unclipped < 0),
        }

    def protagonist_metrics(self, traj):
        """The protagonist's mean and max return per level (``f32[B]`` each) and their means."""
        mean, best = score_fns.episode_returns(traj.rewards, traj.dones)
        metrics = {
            "protagonist/mean_return": mean.mean(),
            "protagonist/max_return": best.mean(),
            "env_steps/protagonist": jnp.float32(self.num_envs * self.num_steps),
        }
        return mean, metrics

    def after_rollout(self, key, state: State, result, plan, student, update):
        k_ant, k_gen = jax.random.split(key)
        traj = result.trajectory
        protagonist_mean, metrics = self.protagonist_metrics(traj)
        antagonist, rollout = state.antagonist, None
        antagonist_max = jnp.zeros_like(protagonist_mean)
        if self.antagonist is not None:
            antagonist, rollout, learn = self.play_antagonist(
                k_ant, antagonist, result.levels, update
            )
            antagonist_max = score_fns.episode_returns_max(rollout.rewards, rollout.dones)
            metrics |= learn
        reward, reward_metrics = self.generator_reward(traj, rollout)
        generator, learn = self.generator.learn(
            k_gen, state.generator, reward, update, self.total_updates
        )
        students = 1 if self.antagonist is None else 2
        metrics |= {
            **reward_metrics,
            **generator_metrics(self.generator, learn, reward, jnp.bool_(True)),
            "env_steps/total": jnp.float32(
                students * self.num_envs * self.num_steps + self.generator.steps_per_call
            ),
            **level_statistics(self.describe, result.levels, "generated/"),
        }
        last = Generated(result.levels, protagonist_mean, antagonist_max, reward)
        return State(generator, antagonist, last), metrics

    def inspect(self, state) -> dict[str, Any]:
        """The last update's levels, scored by the generator's reward and captioned with P
        (protagonist mean return), A (antagonist max return) and R (reward)."""
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


@dataclasses.dataclass(frozen=True)
class REPAIRED(PAIRED):
    """REPAIRED (Jiang et al. 2021b; dcd ``paired`` + ``use_plr`` +
    ``no_exploratory_grad_updates``): PAIRED's protagonist, antagonist and generator, with robust
    PLR on the protagonist. Each update decides replay or new (``replay``'s rule):

    * new: the generator builds the levels, both students play them without a gradient, the
      generator learns from PAIRED's clipped regret, and the levels are scored with the buffer's
      score (from the protagonist's rollout) and offered to the buffer;
    * replay: both students play levels replayed from the buffer and learn from them; their
      scores are refreshed; the generator neither builds nor learns.

    ``replay`` is a ``plr.ReplayCurriculum`` whose level source is ``generator``.
    """

    replay: Any = None

    def init(self, key) -> RepairedState:
        k_replay, k_ant = jax.random.split(key)
        return RepairedState(
            replay=self.replay.init(k_replay),
            antagonist=self.antagonist.init(k_ant, self.env.dummy_observation()),
            last=self._empty(k_replay),
        )

    def levels_for_update(self, key, state: RepairedState, student, update):
        levels, plan, replay = self.replay.levels_for_update(key, state.replay, student, update)
        return levels, plan, state.replace(replay=replay)

    def after_rollout(self, key, state: RepairedState, result, plan, student, update):
        k_ant, k_gen, k_buffer = jax.random.split(key, 3)
        replayed = state.replay.branch == REPLAY
        generated = ~replayed
        traj = result.trajectory
        protagonist_mean, metrics = self.protagonist_metrics(traj)
        antagonist, rollout, learn = self.play_antagonist(
            k_ant, state.antagonist, result.levels, update, learn=replayed
        )
        metrics |= learn
        reward, reward_metrics = self.generator_reward(traj, rollout)
        replay, _, buffer_metrics = self.replay.update_buffer(
            k_buffer, state.replay, result, student
        )
        generator, learn = self.generator.learn(
            k_gen, replay.generator, reward, update, self.total_updates, apply=generated
        )
        editor_steps = jnp.where(generated, jnp.float32(self.generator.steps_per_call), 0.0)
        metrics |= {
            **reward_metrics,
            **buffer_metrics,
            **generator_metrics(self.generator, learn, reward, generated),
            "env_steps/total": 2 * jnp.float32(self.num_envs * self.num_steps) + editor_steps,
            **level_statistics(self.describe, result.levels, "generated/", generated),
        }
        antagonist_max = score_fns.episode_returns_max(rollout.rewards, rollout.dones)
        # The diagnostics show the generator's last levels: a replay update keeps them.
        last = jax.tree_util.tree_map(
            lambda new, old: jnp.where(generated, new, old),
            Generated(result.levels, protagonist_mean, antagonist_max, reward),
            state.last,
        )
        replay = replay.replace(generator=generator)
        return RepairedState(replay, antagonist, last), metrics


# ---- presets and registry hooks -----------------------------------------------------------------
def preset(base: TrainConfig, name: str, objective: str = "regret") -> TrainConfig:
    """PAIRED, flexible PAIRED or the minimax adversary on the env family's preset ``name``;
    the antagonist copies the protagonist's network and PPO (as in minimax and dcd)."""
    return dataclasses.replace(
        base,
        curriculum=Config(
            objective=objective,
            generator=generator_preset(base, name),
            antagonist_network=base.network,
            antagonist_ppo=base.ppo,
        ),
    )


def repaired_preset(base: TrainConfig, name: str) -> TrainConfig:
    """REPAIRED on the env family's preset ``name``: PAIRED's generator and antagonist, robust
    PLR's buffer at that preset; ``dcd``: dcd's maze REPAIRED (``mg_25b_repaired.json``: replay
    0.95, a feed-forward generator)."""
    paired = preset(base, name).curriculum
    buffer = plr.BUFFERS["paper" if name in REFERENCE_PRESETS else name]
    if name == "dcd":  # level_replay_temperature 0.1; size 4,000, rho 0.5, staleness 0.3, rank
        buffer = dataclasses.replace(buffer, temperature=0.1)
    generator = paired.generator
    if name == "dcd":  # recurrent_adversary_env false
        generator = dataclasses.replace(
            generator, network=dataclasses.replace(generator.network, cell="none")
        )
    fields = {f.name: getattr(paired, f.name) for f in dataclasses.fields(paired)}
    fields["generator"] = generator
    replay_prob = 0.95 if name == "dcd" else RepairedConfig.replay_prob
    return dataclasses.replace(
        base, curriculum=RepairedConfig(**fields, buffer=buffer, replay_prob=replay_prob)
    )


def _generator_and_antagonist(env, spec, config: TrainConfig):
    c = config.curriculum
    antagonist = None
    if c.objective != "minimax":
        encoder = spec.make_encoder(config.env_config)
        antagonist = registry.LEARNERS.get(config.learner).make(  # the student's twin
            env.num_actions, encoder, c.antagonist_network, c.antagonist_ppo, 0
        )
    describe = None
    if spec.descriptors is not None:
        describe = functools.partial(spec.descriptors, env)
    generator = make_generator(spec, config.env_config, c.generator, config.ppo.num_envs)
    return {
        "env": env,
        "generator": generator,
        "antagonist": antagonist,
        "objective": c.objective,
        "clip_regret": c.clip_regret,
        "num_envs": config.ppo.num_envs,
        "num_steps": config.ppo.num_steps,
        "total_updates": config.updates,
        "describe": describe,
        "success": spec.success,
    }


def make(env, spec, config: TrainConfig) -> PAIRED:
    """Build PAIRED / flexible PAIRED / the minimax adversary for a validated config."""
    return PAIRED(**_generator_and_antagonist(env, spec, config))


def make_repaired(env, spec, config: TrainConfig) -> REPAIRED:
    """Build REPAIRED for a validated config: robust PLR whose new levels come from the
    generator."""
    parts = _generator_and_antagonist(env, spec, config)
    c = config.curriculum
    replay = plr.ReplayCurriculum(
        env=env,
        config=plr.Config(score=c.score, robust=True, replay_prob=c.replay_prob, buffer=c.buffer),
        num_envs=config.ppo.num_envs,
        gamma=config.ppo.gamma,
        oracle=spec.oracle,
        generator=parts["generator"],
        total_updates=config.updates,
        describe=parts["describe"],
    )
    return REPAIRED(**parts, replay=replay)


def requires(config: TrainConfig) -> frozenset[str]:
    """A level editor (REPAIRED: and what its buffer's score needs)."""
    extra = score_fns.REQUIRES.get(getattr(config.curriculum, "score", ""), ())
    return frozenset({"editor", *extra})


def validate(config: TrainConfig) -> None:
    """Check the curriculum's settings; raises ``ConfigError`` naming the field."""
    c = config.curriculum
    expected = ALGO_OBJECTIVE.get(config.algo, c.objective)
    require(
        c.objective == expected,
        "curriculum.objective",
        f"--algo {config.algo} means objective {expected!r}, got {c.objective!r}",
    )
    validate_generator_for_env(config, c.generator, "curriculum.generator.")
    if c.objective != "minimax":
        validate_network(c.antagonist_network, "curriculum.antagonist_network.")
        validate_ppo(c.antagonist_ppo, "curriculum.antagonist_ppo.")
        # The antagonist is the student's learner too (an lpo antagonist reads its own rule).
        registry.LEARNERS.get(config.learner).validate(
            c.antagonist_ppo, "curriculum.antagonist_ppo."
        )
        for name in ("num_envs", "num_steps"):
            ours, theirs = getattr(c.antagonist_ppo, name), getattr(config.ppo, name)
            require(
                ours == theirs,
                f"curriculum.antagonist_ppo.{name}",
                f"the antagonist plays the protagonist's levels for as long (the regret compares "
                f"their returns), so it must equal ppo.{name} ({theirs}), got {ours}",
            )
    if isinstance(c, RepairedConfig):
        validate_buffer(c.buffer, config.ppo.num_envs)
        probability(c, "curriculum.", "replay_prob")  # score: check_fields (a Literal)


GENERATOR_AGENT_PRESETS = ("test", "cpu", "paper", *REFERENCE_PRESETS)
PRESET_SOURCES = {
    "minimax": "Settings: minimax's maze PAIRED, src/minimax/config/configs/maze/paired.json "
    "(facebookresearch/minimax). Maze 13x13, maze_n_walls = maze_ued_n_walls = 60, 250 steps. "
    "Protagonist and antagonist (student_*): LSTM 256, hidden 32, 16 conv filters, lr 1e-4 "
    "constant (lr_anneal_steps 0), 32 envs x 256 steps, 5 epochs x 1 minibatch, clip 0.2, "
    "gamma 0.995, lambda 0.98, entropy 1e-3, value 0.5, grad norm 0.5, Adam eps 1e-5. "
    "Generator (teacher_*): 62 editor steps (60 walls, goal, agent: maze_ued.py with "
    "fixed_n_wall_steps), 128 conv filters, time embedding 10, noise 50 uniform fresh each step "
    "(maze_ued_noise_dim), LSTM 256, hidden 32, entropy 0.05, lr 1e-4 constant, 5 x 1, gamma "
    "0.995, lambda 0.98. Regret: relative_regret, clipped at 0 (util/rl/ued_scores.py).",
    "dcd": "Settings: dcd's maze PAIRED / REPAIRED, train_scripts/grid_configs/minigrid/"
    "25_blocks/mg_25b_{paired,repaired}.json and arguments.py defaults (facebookresearch/dcd). "
    "25 blocks; students: LSTM 256, lr 1e-4 constant, 32 x 256, 5 epochs x 1 minibatch, gamma "
    "0.995, lambda 0.95, entropy 0; generator: 27 steps (walls, then goal and agent: "
    "choose_goal_last), noise 50 uniform fresh each step (random_z_dim), entropy 0 "
    "(adv_entropy_coef); REPAIRED: a feed-forward generator (recurrent_adversary_env false), "
    "replay 0.95, buffer 4,000, rank temperature 0.1, staleness 0.3, min fill 0.5 "
    "(level_replay_rho), MaxMC (grounded signed value loss).",
    "paper": "Settings: the maze student of the paper preset (JaxUED / PLR / ACCEL: LSTM 256, lr "
    "1e-4 annealed, 32 x 256, 5 x 1, entropy 1e-3, 25 walls); antagonist: the same; generator: "
    "minimax's maze teacher (configs/maze/paired.json: conv 128, LSTM 256, noise 50 uniform "
    "per step, entropy 0.05, constant lr 1e-4) with DR's budget, 25 walls + goal + agent.",
    "cpu": "Settings: the cpu preset's student (LSTM 64, 32 x 128, 3 x 2, lr 5e-4 annealed, "
    "entropy 1e-2, 25 walls); antagonist: the same; generator: LSTM 64 on the flattened grid "
    "(no convolution: docs/curricula/paired.md), the student's PPO sizes with minimax's teacher "
    "entropy 0.05 and a constant learning rate, noise 50 uniform per step, 27 editor steps "
    "(DR's 25 walls + goal + agent).",
}
"""Where each preset's settings come from (``ued train --help-config`` shows it)."""

for _name, _objective, _summary in (
    ("paired", "regret", "PAIRED: a generator agent maximises the clipped regret"),
    (
        "flexible-paired",
        "flexible_regret",
        "flexible PAIRED: the better student on each level plays the antagonist",
    ),
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
            presets=GENERATOR_AGENT_PRESETS,
            sources=lambda name: PRESET_SOURCES.get(name, ""),
        ),
    )
registry.ALGORITHMS.register(
    "repaired",
    AlgorithmSpec(
        "repaired",
        RepairedConfig,
        repaired_preset,
        make_repaired,
        validate,
        requires,
        "REPAIRED: PAIRED's generator, antagonist and regret, robust PLR on the protagonist",
        presets=GENERATOR_AGENT_PRESETS,
        sources=lambda name: PRESET_SOURCES.get(name, ""),
    ),
)
