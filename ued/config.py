"""Typed, frozen configuration: env, network, PPO, the run, and the presets.

Every config is a frozen dataclass with a docstring per field (tyro turns them into ``--help``).
``validate`` checks a whole ``TrainConfig`` before anything is compiled and raises ``ConfigError``
naming the offending field.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

PRESETS = ("test", "cpu", "paper")


class ConfigError(ValueError):
    """An invalid configuration; the message names the field."""


@dataclasses.dataclass(frozen=True)
class MazeConfig:
    """The maze env and its random level generator."""

    height: int = 13
    """Grid height (static; levels are bool[height, width])."""
    width: int = 13
    """Grid width."""
    n_walls: int = 25
    """Wall draws per random level (25 in PAIRED/PLR/ACCEL, 60 in SFL/NCC)."""
    wall_sampling: Literal["with_replacement", "without_replacement"] = "with_replacement"
    """with_replacement (the references: 25 draws give 18-25 walls) or exactly n_walls."""
    solvable_only: bool = False
    """Reject unsolvable random levels (bounded: first solvable of 16 candidates)."""
    view_size: int = 5
    """Side of the egocentric view (odd)."""
    max_steps: int = 250
    """Episode time limit."""


@dataclasses.dataclass(frozen=True)
class NetworkConfig:
    """The recurrent actor-critic student."""

    cell: Literal["lstm", "gru", "none"] = "lstm"
    """Recurrent cell (none = feed-forward)."""
    hidden_size: int = 256
    """Recurrent width."""
    conv_filters: int = 16
    """Filters of the 3x3 convolution over the view."""
    direction_features: int = 5
    """Width of the direction embedding."""
    head_hidden: int = 32
    """Hidden width of the actor and critic heads."""
    lstm_impl: Literal["fused", "autodiff", "flax"] = "fused"
    """LSTM implementation: fused (hand-written backward, fastest), autodiff (plain scan) or flax
    (OptimizedLSTMCell, as in JaxUED)."""


@dataclasses.dataclass(frozen=True)
class PPOConfig:
    """Recurrent PPO (defaults: the PLR/ACCEL maze settings)."""

    num_envs: int = 32
    """Parallel training envs (the batch of levels per update)."""
    num_steps: int = 256
    """Rollout length per update."""
    lr: float = 1e-4
    """Adam learning rate."""
    anneal_lr: bool = True
    """Decay the learning rate linearly to 0: lr_k = lr * (1 - k / updates) at training update k,
    counting every update whether or not it applied a gradient, so it reaches 0 at the end under
    every curriculum (robust PLR included)."""
    adam_eps: float = 1e-5
    """Adam epsilon."""
    max_grad_norm: float = 0.5
    """Global gradient-norm clip."""
    epochs: int = 5
    """PPO epochs per update."""
    minibatches: int = 1
    """Minibatches per epoch, split across envs (whole sequences, recurrent-safe)."""
    gamma: float = 0.995
    """Discount."""
    gae_lambda: float = 0.98
    """GAE lambda."""
    clip_eps: float = 0.2
    """PPO clip range for the policy ratio and the value change."""
    ent_coef: float = 1e-3
    """Entropy bonus coefficient."""
    vf_coef: float = 0.5
    """Value loss coefficient."""
    normalize_advantages: bool = True
    """Normalise advantages per minibatch."""
    objective: Literal["ppo", "reinforce"] = "ppo"
    """ppo: the clipped surrogate; reinforce: the plain policy gradient -log pi(a|s) * A (with
    gae_lambda = 1, A is the Monte-Carlo return minus the value baseline), the estimator NCC's
    convergence theory assumes."""
    optimizer: Literal["adam", "sgd"] = "adam"
    """Adam (with adam_eps) or plain SGD."""
    param_bound: float = 0.0
    """Clip every parameter to [-param_bound, param_bound] after each step (0 = off): the
    theory's compact parameter set."""
    track_best_iterate: bool = False
    """Keep the parameters with the smallest gradient norm seen (the theory's output iterate;
    `ued eval --iterate best` evaluates them)."""


C = TypeVar("C")


@dataclasses.dataclass(frozen=True)
class TrainConfig(Generic[C]):
    """A training run: which curriculum on which env, the student, and the host loop."""

    algo: str = "dr"
    """Curriculum (see algorithms.ALGORITHMS)."""
    env: str = "maze"
    """Environment (see envs.ENVS)."""
    preset: str = "cpu"
    """The preset this config started from (informational)."""
    seed: int = 0
    """Random seed of a single-seed run."""
    seeds: tuple[int, ...] = ()
    """Several seeds trained in one vmapped program (overrides seed when non-empty)."""
    updates: int = 1000
    """Total training updates."""
    updates_per_chunk: int = 10
    """Updates per jitted lax.scan chunk; the host logs between chunks."""
    eval_every: int = 100
    """Evaluate on the holdout suites every this many updates (0 = only at the end)."""
    checkpoint_every: int = 100
    """Save a checkpoint every this many updates (and always at the end)."""
    eval_suites: tuple[str, ...] = ("classic",)
    """Suites evaluated during training."""
    eval_attempts: int = 2
    """Stochastic episodes per level in evaluation during training."""
    eval_levels: int = 20
    """Levels drawn per procedural or random suite in evaluation during training."""
    maze: MazeConfig = MazeConfig()
    """The maze env."""
    network: NetworkConfig = NetworkConfig()
    """The student network."""
    ppo: PPOConfig = PPOConfig()
    """The student's learner."""
    curriculum: C = None  # type: ignore[assignment]
    """The curriculum's own settings (algorithm-specific)."""

    @property
    def seed_list(self) -> tuple[int, ...]:
        """The seeds this run trains."""
        return self.seeds if self.seeds else (self.seed,)

    @property
    def steps_per_update(self) -> int:
        """Student env steps per update (num_envs x num_steps)."""
        return self.ppo.num_envs * self.ppo.num_steps


# ---- validation ------------------------------------------------------------------------------
def _require(cond: bool, field: str, message: str) -> None:
    if not cond:
        raise ConfigError(f"{field}: {message}")


def _positive(obj, prefix: str, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        _require(value > 0, f"{prefix}{name}", f"must be positive, got {value}")


def _probability(obj, prefix: str, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        _require(0.0 <= value <= 1.0, f"{prefix}{name}", f"must be in [0, 1], got {value}")


def validate_common(config: TrainConfig) -> None:
    """Check everything except the curriculum's own settings. Raises ``ConfigError``."""
    from algorithms import ALGORITHMS  # the registries live with their implementations
    from envs import ENVS

    _require(
        config.algo in ALGORITHMS,
        "algo",
        f"unknown algorithm {config.algo!r}; choose one of {sorted(ALGORITHMS)}",
    )
    _require(config.env in ENVS, "env", f"unknown env {config.env!r}; choose one of {sorted(ENVS)}")
    _positive(config, "", "updates", "updates_per_chunk", "eval_attempts", "eval_levels")
    _require(config.eval_every >= 0, "eval_every", f"must be >= 0, got {config.eval_every}")
    _require(
        config.checkpoint_every > 0,
        "checkpoint_every",
        f"must be positive, got {config.checkpoint_every}",
    )
    _require(len(set(config.seeds)) == len(config.seeds), "seeds", f"repeated seeds {config.seeds}")
    for name in ("updates", "eval_every", "checkpoint_every"):
        value = getattr(config, name)
        _require(
            value % config.updates_per_chunk == 0,
            name,
            f"{value} is not a multiple of updates_per_chunk ({config.updates_per_chunk}); "
            "the host can only act between chunks",
        )

    m = config.maze
    _positive(m, "maze.", "height", "width", "view_size", "max_steps")
    _require(m.view_size % 2 == 1, "maze.view_size", f"must be odd, got {m.view_size}")
    _require(
        0 <= m.n_walls <= m.height * m.width - 2,
        "maze.n_walls",
        f"must be in [0, height*width-2] = [0, {m.height * m.width - 2}], got {m.n_walls}",
    )

    n = config.network
    _positive(n, "network.", "hidden_size", "head_hidden", "direction_features")
    _require(n.conv_filters >= 0, "network.conv_filters", f"must be >= 0, got {n.conv_filters}")

    p = config.ppo
    _positive(
        p,
        "ppo.",
        "num_envs",
        "num_steps",
        "lr",
        "adam_eps",
        "max_grad_norm",
        "epochs",
        "minibatches",
    )
    _probability(p, "ppo.", "gamma", "gae_lambda")
    _require(p.clip_eps > 0, "ppo.clip_eps", f"must be positive, got {p.clip_eps}")
    _require(p.ent_coef >= 0 and p.vf_coef >= 0, "ppo.ent_coef/vf_coef", "must be >= 0")
    _require(p.param_bound >= 0, "ppo.param_bound", f"must be >= 0, got {p.param_bound}")
    _require(
        p.num_envs % p.minibatches == 0,
        "ppo.minibatches",
        f"ppo.num_envs ({p.num_envs}) must be divisible by ppo.minibatches "
        f"({p.minibatches}): minibatches split whole sequences across envs",
    )
    for suite in config.eval_suites:
        check_suite_name(config.env, suite, "eval_suites")


def check_suite_name(env: str, suite: str, field: str) -> None:
    """Raise ``ConfigError`` (naming ``field``) unless ``suite`` is a known suite of ``env`` or an
    existing level file."""
    from ued.evaluate import suite_names

    names = suite_names(env)
    _require(
        suite in names or Path(suite).is_file(),
        field,
        f"unknown suite {suite!r}: choose one of {sorted(names)} or a level file path",
    )


def validate(config: TrainConfig) -> TrainConfig:
    """Check a whole config (the common part and the curriculum's). Returns it unchanged."""
    from algorithms import ALGORITHMS

    validate_common(config)
    ALGORITHMS[config.algo].validate(config)
    return config


# ---- presets ---------------------------------------------------------------------------------
def base_preset(preset: str) -> TrainConfig:
    """The env / student / loop settings of a preset, without a curriculum.

    * ``paper``: the PLR/ACCEL/JaxUED maze setting (13x13, 25 walls, LSTM 256, 32 envs x 256
      steps, 5 epochs, 30k updates).
    * ``cpu``: learns on a 2-core CPU in minutes: the same 13x13 maze, LSTM 64, 32 envs x 128
      steps, 3 epochs x 2 minibatches, 3,000 updates (12.3M steps; about 7 minutes).
    * ``test``: tiny shapes for the test-suite; compiles in seconds.
    """
    if preset == "paper":
        return TrainConfig(
            preset="paper",
            updates=30_000,
            updates_per_chunk=50,
            eval_every=500,
            checkpoint_every=1000,
            eval_attempts=10,
        )
    if preset == "cpu":
        return TrainConfig(
            preset="cpu",
            updates=3000,
            updates_per_chunk=25,
            eval_every=250,
            checkpoint_every=250,
            eval_attempts=4,
            eval_suites=("classic", "random"),
            eval_levels=100,
            network=NetworkConfig(hidden_size=64),
            ppo=PPOConfig(
                num_envs=32, num_steps=128, lr=5e-4, epochs=3, minibatches=2, ent_coef=1e-2
            ),
        )
    if preset == "test":
        return TrainConfig(
            preset="test",
            updates=4,
            updates_per_chunk=2,
            eval_every=2,
            checkpoint_every=2,
            eval_attempts=1,
            eval_levels=2,
            maze=MazeConfig(height=7, width=7, n_walls=5, max_steps=24),
            network=NetworkConfig(
                hidden_size=8, conv_filters=4, direction_features=3, head_hidden=8
            ),
            ppo=PPOConfig(num_envs=4, num_steps=8, lr=1e-3, epochs=2, minibatches=2),
        )
    raise ConfigError(f"preset: unknown preset {preset!r}; choose one of {PRESETS}")


def override(config, **fields):
    """``dataclasses.replace`` that also reaches nested fields with ``__``:
    ``override(config, updates=10, ppo__lr=3e-4, maze__n_walls=60)``."""
    nested: dict[str, dict[str, Any]] = {}
    for key in [k for k in fields if "__" in k]:
        outer, inner = key.split("__", 1)
        nested.setdefault(outer, {})[inner] = fields.pop(key)
    for outer, inner in nested.items():
        fields[outer] = override(getattr(config, outer), **inner)
    return dataclasses.replace(config, **fields)


# ---- (de)serialisation -----------------------------------------------------------------------
def to_dict(config: TrainConfig) -> dict[str, Any]:
    """A JSON-ready dict of the whole config (curriculum included)."""
    return dataclasses.asdict(config)


def differences(saved: dict[str, Any], config: TrainConfig, ignore=()) -> list[str]:
    """Dotted names of the fields where a saved ``to_dict`` differs from ``config``. A field
    missing from ``saved`` (added to the config after it was written) counts as its default."""
    current = json.loads(json.dumps(to_dict(config)))
    try:
        saved = json.loads(json.dumps(to_dict(from_dict(saved))))
    except ConfigError:
        pass  # unknown or removed fields: compare as written, so they show up as differences

    def walk(a, b, prefix):
        if isinstance(a, dict) and isinstance(b, dict):
            out = []
            for key in sorted(set(a) | set(b)):
                out += walk(a.get(key), b.get(key), f"{prefix}{key}.")
            return out
        return [] if a == b else [prefix.rstrip(".")]

    return [d for d in walk(saved, current, "") if d not in ignore]


def save(config: TrainConfig, path: Path) -> None:
    """Write ``config.json`` (atomically: a crash never leaves a half-written file)."""
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(to_dict(config), indent=2, sort_keys=True) + "\n")
    tmp.replace(path)


def _from_dict(cls, data: dict[str, Any], where: str):
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(data) - set(fields)
    if unknown:
        raise ConfigError(f"{where}: unknown fields {sorted(unknown)}")
    kwargs = {}
    for name, value in data.items():
        default = getattr(cls(), name) if name != "curriculum" else None
        if dataclasses.is_dataclass(default) and isinstance(value, dict):
            value = _from_dict(type(default), value, f"{where}{name}.")
        elif isinstance(default, tuple) and isinstance(value, list):
            value = tuple(value)
        kwargs[name] = value
    return cls(**kwargs)


def from_dict(data: dict[str, Any]) -> TrainConfig:
    """Rebuild a ``TrainConfig`` (with its algorithm's curriculum config) from ``to_dict``."""
    from algorithms import ALGORITHMS

    algo = data.get("algo")
    if algo not in ALGORITHMS:
        raise ConfigError(f"algo: unknown algorithm {algo!r}; choose one of {sorted(ALGORITHMS)}")
    data = dict(data)
    curriculum = _from_dict(ALGORITHMS[algo].Config, data.pop("curriculum") or {}, "curriculum.")
    return dataclasses.replace(_from_dict(TrainConfig, data, ""), curriculum=curriculum)


def load(path: Path) -> TrainConfig:
    """Read a run's ``config.json``."""
    if not path.is_file():
        raise ConfigError(
            f"no config.json at {path}: is this a run directory written by `ued train`?"
        )
    return from_dict(json.loads(path.read_text()))
