"""The UED environment protocol, the registry entry that declares an env's capabilities, and the
reset wrappers the rollouts use.

An env is a hashable object of pure functions over pytrees (gymnax style, but levels are explicit
data): a curriculum chooses *levels*, the env plays them. Everything in ``ued/`` is written against
``Environment`` and ``EnvSpec`` alone; ``envs/`` and user code provide implementations.

Optional abilities (a success signal, an oracle, a mutator, a renderer, suites, ...) are
*declared* on the ``EnvSpec`` an env family registers, never probed with ``hasattr``; an
algorithm states what it needs (``ued.curriculum.AlgorithmSpec.requires``) and config validation
refuses a pair that lacks it before anything is compiled.
"""

from __future__ import annotations

import abc
import dataclasses
import functools
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Protocol

import jax
import jax.numpy as jnp
from flax import struct

from .errors import ConfigError

Level = Any  # a pytree of fixed-shape arrays (e.g. envs.maze.Level)
EnvState = Any
Obs = Any


class Environment(abc.ABC):
    """Base class of a UED environment (subclassing it is optional; the methods are the protocol).

    Class or instance attributes:
        num_actions: size of the discrete action space.
        action_dim: continuous actions: their dimension D (0, the default: discrete actions).
            ``step`` then takes ``f32[D]`` actions and clips them to its bounds; students get a
            Gaussian policy head.
        max_steps: the episode time limit (the longest one, where levels set their own:
            ``time_limit``).
        truncates: whether ``step`` can report ``truncated`` (a time-out that is not terminal).
            Rollouts then compute the value of the pre-reset observation so that GAE bootstraps
            from it; envs that never truncate skip that work.
        outcome_names: names of per-episode outcomes beyond the return (Craftax's achievements).
            With K names, every step's info holds ``info["outcomes"]`` (``f32[K]``, the
            episode's outcomes so far); evaluation reports their mean at each episode's end.
        num_states: tabular observations: how many states there are (each observation is an
            ``int32[]`` state index below it); 0, the default: observations are arrays. Tabular
            learners (the meta-trained inner agents' tables) need it.

    ``step`` never resets by itself (``AutoReplay`` / ``AutoReset`` add that). An env with a
    success signal (declared as ``EnvSpec.success``) puts ``info["solved"]`` (``bool[]``, true on
    the step that completes the task) in every step's info. That step ends the episode: a
    termination (reaching a goal), or the time limit for a survival task (CartPole).
    """

    num_actions: ClassVar[int]
    max_steps: int
    truncates: bool = True
    action_dim: int = 0
    outcome_names: tuple[str, ...] = ()
    num_states: int = 0

    @abc.abstractmethod
    def sample_level(self, key: jax.Array) -> Level:
        """One level from the env's default random generator (``vmap`` over keys for a batch)."""

    @abc.abstractmethod
    def reset_to_level(self, key: jax.Array, level: Level) -> tuple[Obs, EnvState]:
        """Start an episode on ``level``; returns ``(obs, state)``."""

    @abc.abstractmethod
    def step(
        self, key: jax.Array, state: EnvState, action: jax.Array
    ) -> tuple[Obs, EnvState, jax.Array, jax.Array, jax.Array, dict[str, jax.Array]]:
        """One transition. Takes an ``int32[]`` action (a Python int works too), or ``f32[D]``
        with continuous actions; returns ``(obs, state, reward f32[], terminated bool[],
        truncated bool[], info)``."""

    @abc.abstractmethod
    def dummy_observation(self) -> Obs:
        """A zero observation with the right shapes and dtypes (for network init)."""

    def time_limit(self, level: Level) -> jax.Array:
        """The episode length on ``level`` (``int32[]``, at most ``max_steps``): ``max_steps``
        unless levels carry their own (the gridworld's)."""
        return jnp.asarray(self.max_steps, jnp.int32)


def random_actions(env, key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    """Random actions for ``env`` (benchmarks, tests): ``int32[*shape]`` uniform over its
    ``num_actions``, or with continuous actions ``f32[*shape, D]`` standard normal (the env
    clips them)."""
    dim = env.action_dim
    if dim:
        return jax.random.normal(key, (*shape, dim), jnp.float32)
    return jax.random.randint(key, shape, 0, env.num_actions).astype(jnp.int32)


class Suite(Protocol):
    """A named set of evaluation levels of one env family."""

    def levels(self, num_levels: int | None = None, seed: int = 0) -> tuple[list[str], Level]:
        """``(names, batched levels)``; procedural suites draw ``num_levels`` from ``seed``."""

    def env(self, train_env: Any) -> Any:
        """The env instance to play the suite in (its own size or time limit if needed)."""


CAPABILITIES = (
    "success",
    "oracle",
    "mutator",
    "editor",
    "renderer",
    "text_format",
    "suites",
    "descriptors",
    "encoder",
    "tuned_a2c",
    "lifetimes",
)
"""The optional abilities an ``EnvSpec`` can declare (see its attributes)."""


@dataclasses.dataclass(frozen=True)
class Descriptors:
    """Cheap per-level statistics an env family declares for curriculum diagnostics, reports
    and plots (``EnvSpec.descriptors``).

    Attributes:
        compute: ``(env, levels [N]) -> {name: f32[N]}``, NaN where a statistic is undefined
            for a level (the maze's shortest path of an unsolvable level).
        fractions: the names among them that are 0/1 properties of a level (the maze's
            ``solvable``): reports show the fraction of levels that have them, and plots leave
            them out of the histograms.
    """

    compute: Callable[[Any, Level], dict[str, jax.Array]]
    fractions: tuple[str, ...] = ()

    def __call__(self, env, levels: Level) -> dict[str, jax.Array]:
        """The statistics of ``levels`` [N] in ``env``: ``{name: f32[N]}``."""
        return self.compute(env, levels)


def ordered_descriptors(names: Iterable[str], fractions: Iterable[str] = ()) -> list[str]:
    """Descriptor names in the order reports and plots show them: the others sorted, then the
    fractions (sorted)."""
    names, fractions = set(names), set(fractions)
    return sorted(names - fractions) + sorted(names & fractions)


@dataclasses.dataclass(frozen=True)
class EnvSpec:
    """A registered environment family: how to build it, and what it can do.

    Required:
        name: the ``--env`` value.
        Config: the frozen dataclass of the env's settings (``TrainConfig.env_config``).
        make: ``settings -> env`` (an ``Environment``).
        preset: ``(preset, algo) -> TrainConfig``: env settings, student and loop for a preset
            name (``test``, ``cpu``, ``paper``); ``algo`` lets a family follow a paper's choice
            for that algorithm (SFL's and NCC's 60-wall mazes). Curricula fill in their part.
        validate: ``(settings, prefix) -> None``, raising ``ConfigError`` whose message starts
            with ``prefix + field``.

    Capabilities (optional; ``capabilities`` lists the declared ones):
        success: steps report ``info["solved"]`` (success-based scores, solve rates).
        oracle: ``(env, level, gamma) -> f32[]``, the optimal discounted return V*(level).
        mutator: ``(settings, num_edits) -> ((key, level) -> level)``, ACCEL's edits.
        editor: ``(settings, generator_config) -> ued.editor.LevelEditor``, the level editor a
            generator agent builds levels in (PAIRED, REPAIRED); ``generator_config`` is a
            ``ued.editor.GeneratorConfig`` (editor steps, noise size).
        render_level: ``level -> uint8[h, w, 3]``.
        load_level_file: ``(path, train_env) -> (names, levels, eval_env)``; raises
            ``ued.errors.LevelFormatError`` naming ``file:line``.
        suites: named holdout suites (``Suite``).
        descriptors: ``Descriptors``, cheap per-level statistics for curriculum diagnostics.
        encoder: ``settings -> flax module`` mapping observations ``[T, B, ...]`` to features
            ``f32[T, B, F]`` (default: ``ued.networks.FlattenEncoder``).
        random_levels: ``(train_env, n, seed) -> levels [n]`` for the ``random`` and ``cvar``
            evaluation suites (default: ``sample_levels``; the maze keeps solvable ones).
        tuned_a2c: ``(settings, suite) -> {"lr": .., "entropy_coef": ..} | None``, the
            hand-designed A2C baseline's settings tuned for the level family of an evaluation
            suite (meta-evaluation normalises learned rules by it).
        lifetimes: levels carry an inner agent's lifetime in updates (``level.lifetime``,
            at most ``env.max_lifetime``), which meta-training needs (``ued meta-train``).

    Construction hint (not a capability):
        slow_generation: drawing a level costs far more than a step (Craftax's world
            generation), so curricula must not draw one inside the step at every episode end:
            DR's ``paper`` preset then resamples once per update, and ``--curriculum.resample
            episode`` is refused.
    """

    name: str
    Config: type
    make: Callable[[Any], Any]
    preset: Callable[[str, str], Any]
    validate: Callable[[Any, str], None]
    success: bool = False
    oracle: Callable[[Any, Level, float], jax.Array] | None = None
    mutator: Callable[[Any, int], Callable] | None = None
    editor: Callable[[Any, Any], Any] | None = None
    render_level: Callable[[Level], jax.Array] | None = None
    load_level_file: Callable[[Path, Any], tuple[list[str], Level, Any]] | None = None
    suites: Mapping[str, Suite] = dataclasses.field(default_factory=dict)
    descriptors: Descriptors | None = None
    encoder: Callable[[Any], Any] | None = None
    random_levels: Callable[[Any, int, int], Level] | None = None
    tuned_a2c: Callable[[Any, str], Mapping[str, float] | None] | None = None
    lifetimes: bool = False
    slow_generation: bool = False

    @property
    def capabilities(self) -> frozenset[str]:
        """The names (from ``CAPABILITIES``) of what this env family declares."""
        declared = {
            "success": self.success,
            "oracle": self.oracle is not None,
            "mutator": self.mutator is not None,
            "editor": self.editor is not None,
            "renderer": self.render_level is not None,
            "text_format": self.load_level_file is not None,
            "suites": bool(self.suites),
            "descriptors": self.descriptors is not None,
            "encoder": self.encoder is not None,
            "tuned_a2c": self.tuned_a2c is not None,
            "lifetimes": self.lifetimes,
        }
        return frozenset(name for name, present in declared.items() if present)

    def build(self, settings) -> Environment:
        """The env for ``settings`` (``make``), which must be a ``ued.env.Environment``: the core
        reads what it declares (``num_actions``, ``action_dim``, ``outcome_names``) instead of
        probing for it. Raises ``ConfigError`` naming the env otherwise."""
        env = self.make(settings)
        if not isinstance(env, Environment):
            raise ConfigError(
                f"env: {self.name!r} built a {type(env).__name__}, which does not subclass "
                "ued.env.Environment"
            )
        return env

    def make_encoder(self, settings) -> Any:
        """The student's observation encoder for env settings ``settings`` (the declared
        ``encoder``, else ``ued.networks.FlattenEncoder``)."""
        if self.encoder is not None:
            return self.encoder(settings)
        from .networks import FlattenEncoder

        return FlattenEncoder()

    def draw_random_levels(self, train_env, num_levels: int, seed: int = 0) -> Level:
        """``num_levels`` levels of the training distribution for evaluation, deterministic in
        ``seed`` (``random_levels`` if declared, else ``sample_levels``)."""
        if self.random_levels is not None:
            return self.random_levels(train_env, num_levels, seed)
        return sample_levels(train_env, num_levels, seed)


@functools.lru_cache(maxsize=16)
def _batched_sampler(env):
    return jax.jit(jax.vmap(env.sample_level))


def sample_levels(env, num_levels: int, seed: int = 0) -> Level:
    """``num_levels`` levels from ``env.sample_level``, deterministic in ``seed``; batched."""
    return _batched_sampler(env)(jax.random.split(jax.random.key(seed), num_levels))


# ---- reset wrappers ------------------------------------------------------------------------------
def tree_select(pred: jax.Array, on_true, on_false):
    """``jnp.where(pred, a, b)`` over matching pytrees (``pred`` a scalar ``bool[]``)."""
    return jax.tree_util.tree_map(lambda a, b: jnp.where(pred, a, b), on_true, on_false)


@struct.dataclass
class ReplayState:
    """State of an auto-resetting episode: the env's state and the level it is playing."""

    env_state: EnvState
    level: Level


def _step_then_reset(env, key, state: ReplayState, action, next_level):
    """Step ``env``; where the episode ended, reset it to ``next_level(key)``. Returns the
    wrapper's 6-tuple with ``info["final_obs"]``, the observation before any reset."""
    k_step, k_level, k_reset = jax.random.split(key, 3)
    obs, env_state, reward, terminated, truncated, info = env.step(k_step, state.env_state, action)
    done = terminated | truncated
    level = next_level(k_level, state.level)
    reset_obs, reset_state = env.reset_to_level(k_reset, level)
    info = {**info, "final_obs": obs}
    return (
        tree_select(done, reset_obs, obs),
        ReplayState(
            env_state=tree_select(done, reset_state, env_state),
            level=tree_select(done, level, state.level),
        ),
        reward,
        terminated,
        truncated,
        info,
    )


@dataclasses.dataclass(frozen=True)
class AutoReplay:
    """On an episode's end, restart the *same* level (PLR's replay semantics: a replayed level is
    played for the whole rollout, never swapped for a random one). The observation returned with
    ``terminated | truncated`` is the first observation of the next episode; the one before the
    reset is ``info["final_obs"]``."""

    env: Any

    def __getattr__(self, name):
        if name == "env":  # not yet set (copy / unpickling): avoid infinite recursion
            raise AttributeError(name)
        return getattr(self.env, name)

    def reset_to_level(self, key: jax.Array, level: Level) -> tuple[Obs, ReplayState]:
        """Start an episode on ``level``."""
        obs, state = self.env.reset_to_level(key, level)
        return obs, ReplayState(env_state=state, level=level)

    def step(self, key: jax.Array, state: ReplayState, action: jax.Array):
        """Step, restarting the same level where the episode ended."""
        return _step_then_reset(self.env, key, state, action, lambda _, level: level)


@dataclasses.dataclass(frozen=True)
class AutoReset(AutoReplay):
    """On an episode's end, start a fresh level from ``sample_level`` (``env.sample_level`` by
    default): the classic domain-randomisation reset of JaxUED and minimax."""

    sample_level: Any = None

    def step(self, key: jax.Array, state: ReplayState, action: jax.Array):
        """Step, starting a freshly sampled level where the episode ended."""
        sample = self.sample_level or self.env.sample_level
        return _step_then_reset(self.env, key, state, action, lambda k, _: sample(k))
