"""Typed, frozen configuration of a training run: the loop, the student, and (as generic
fields) the env's and the curriculum's own settings; presets; validation; JSON round trips.

Every config is a frozen dataclass with a docstring per field (tyro turns them into ``--help``).
``validate`` checks a whole ``TrainConfig`` before anything is compiled and raises ``ConfigError``
naming the offending field, or the capability an algorithm needs and the env lacks. Env and
algorithm settings are looked up in ``ued.registry``; this module imports neither ``envs`` nor
``algorithms``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

from . import registry
from .errors import ConfigError

PRESETS = ("test", "cpu", "paper", "minimax", "dcd")
SAMPLED_SUITES = ("random", "cvar")
"""Evaluation suites every env has: levels drawn from the training distribution."""


@dataclasses.dataclass(frozen=True)
class NetworkConfig:
    """The recurrent actor-critic student (the observation encoder in front of it is the env's)."""

    cell: Literal["lstm", "gru", "none"] = "lstm"
    """Recurrent cell (none = feed-forward)."""
    hidden_size: int = 256
    """Recurrent width."""
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
    """Decay the learning rate linearly: lr_k = lr * (1 - k / updates), k counted as
    ``anneal_lr_by`` says."""
    anneal_lr_by: Literal["update", "gradient"] = "update"
    """What k counts: every training update, whether or not it applied a gradient, so the rate
    reaches 0 at the end under every curriculum; or, as JaxUED does (its optax schedule reads
    Adam's step count), only the updates that applied one, so robust PLR and ACCEL, which train
    on a fraction of their updates, end at that fraction's complement (the ``paper`` maze
    preset). Needs Adam (its step count)."""
    adam_eps: float = 1e-5
    """Adam epsilon."""
    max_grad_norm: float = 0.5
    """Global gradient-norm clip (0 = no clipping)."""
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
    """Entropy bonus coefficient (0: no entropy bonus)."""
    vf_coef: float = 0.5
    """Value loss coefficient."""
    normalize_advantages: bool = True
    """Normalise advantages per minibatch."""
    objective: Literal["ppo", "reinforce"] = "ppo"
    """ppo: the clipped surrogate; reinforce: the plain policy gradient -log pi(a|s) * A (with
    gae_lambda = 1, A is the Monte-Carlo return minus the value baseline), the estimator NCC's
    convergence theory assumes."""
    rule: str = ""
    """A learned learner's meta-trained rule file (``--learner lpo``: its drift network, written
    by ``ued meta-train --algo lpo``); other learners read none."""
    optimizer: Literal["adam", "sgd"] = "adam"
    """Adam (with adam_eps) or plain SGD."""
    param_bound: float = 0.0
    """Clip every parameter to [-param_bound, param_bound] after each step (0 = off): the
    theory's compact parameter set."""
    track_best_iterate: bool = False
    """Keep the parameters with the smallest gradient norm of the policy objective seen (the
    theory's output iterate; `ued eval --iterate best` evaluates them). Needs 1 epoch x 1
    minibatch, so that the measured gradient is the one at the parameters kept."""


E = TypeVar("E")
C = TypeVar("C")


@dataclasses.dataclass(frozen=True)
class LoopConfig:
    """What the host loop (``ued.loop.run``) reads, shared by training and meta-training."""

    preset: str = "cpu"
    """The preset this config started from (informational)."""
    seed: int = 0
    """Random seed of a single-seed run."""
    seeds: tuple[int, ...] = ()
    """Several seeds trained in one vmapped program (overrides seed when non-empty)."""
    updates: int = 1000
    """Total updates (meta-training: meta-steps)."""
    updates_per_chunk: int = 10
    """Updates per jitted lax.scan chunk; the host logs between chunks."""
    eval_every: int = 100
    """Evaluate on the holdout suites every this many updates (0 = only at the end)."""
    checkpoint_every: int = 100
    """Save a checkpoint every this many updates (and always at the end)."""
    keep_checkpoints: int = 3
    """Checkpoints kept on disk, the newest ones (0: every one, e.g. to evaluate a run's whole
    history with `--all-steps` or at equal wall-clock)."""
    devices: int = 0
    """Devices per process that the batch (the env batch; meta-training: the population) is
    split over (0: every local device). Results agree with one device's to float tolerance; may
    change on resume."""
    eval_suites: tuple[str, ...] = ("random",)
    """Suites evaluated during training."""
    eval_levels: int = 20
    """Levels drawn per procedural or random suite in evaluation during training."""

    @property
    def seed_list(self) -> tuple[int, ...]:
        """The seeds this run trains."""
        return tuple(self.seeds) if self.seeds else (self.seed,)


@dataclasses.dataclass(frozen=True)
class TrainConfig(LoopConfig, Generic[E, C]):
    """A training run: which curriculum on which env, the student, and the host loop."""

    algo: str = "dr"
    """Curriculum (a name registered in ued.registry.ALGORITHMS)."""
    env: str = "maze"
    """Environment family (a name registered in ued.registry.ENVS)."""
    eval_attempts: int = 2
    """Stochastic episodes per level in evaluation during training."""
    env_config: E = None  # type: ignore[assignment]
    """The env's own settings (the env family's Config)."""
    network: NetworkConfig = NetworkConfig()
    """The student network."""
    learner: str = "ppo"
    """The student's learner (a name registered in ued.registry.LEARNERS: ppo, or a variant
    with another policy objective), trained with the ppo settings."""
    ppo: PPOConfig = PPOConfig()
    """The student's learner's settings: rollout size, optimiser, GAE, losses."""
    curriculum: C = None  # type: ignore[assignment]
    """The curriculum's own settings (algorithm-specific)."""

    @property
    def steps_per_update(self) -> int:
        """Student env steps per update (num_envs x num_steps)."""
        return self.ppo.num_envs * self.ppo.num_steps


# ---- validation helpers (also used by envs and algorithms) -------------------------------------
def require(cond: bool, field: str, message: str) -> None:
    """Raise ``ConfigError("field: message")`` unless ``cond``."""
    if not cond:
        raise ConfigError(f"{field}: {message}")


def number(value, field: str) -> None:
    """Require ``value`` to be a finite real number (not a bool, a string or NaN/inf)."""
    require(
        isinstance(value, (int, float)) and not isinstance(value, bool),
        field,
        f"expected a number, got {value!r}",
    )
    require(math.isfinite(value), field, f"must be finite, got {value}")


def positive(obj, prefix: str, *names: str) -> None:
    """Require each named attribute of ``obj`` to be finite and > 0 (fields named
    ``prefix + name``)."""
    for name in names:
        value = getattr(obj, name)
        number(value, f"{prefix}{name}")
        require(value > 0, f"{prefix}{name}", f"must be positive, got {value}")


def probability(obj, prefix: str, *names: str) -> None:
    """Require each named attribute of ``obj`` to be in [0, 1]."""
    for name in names:
        value = getattr(obj, name)
        number(value, f"{prefix}{name}")
        require(0.0 <= value <= 1.0, f"{prefix}{name}", f"must be in [0, 1], got {value}")


INT_RANGE = (-(2**31), 2**31 - 1)
"""Integer settings end up in int32 arrays (update counters, shapes)."""
SEED_RANGE = (0, 2**32 - 1)
"""``jax.random.key`` keeps only a seed's low 32 bits (2**32 + 5 gives the key of 5), and larger
ints than int64 overflow, so seeds are unsigned 32-bit integers."""
FLOAT32_MAX = 3.4028234663852886e38
"""Float settings are used as float32 inside jit, where a larger magnitude becomes inf."""


def check_fields(obj, prefix: str = "") -> None:
    """Check every field of a config dataclass tree against its annotation, before any
    range check of the config's own: types (``int``, ``float``, ``bool``, ``str``, ``Literal``
    choices, tuples, nested configs), finite floats within float32, ints within int32 and seeds
    (fields ``seed``/``seeds``) within ``SEED_RANGE``. Raises ``ConfigError`` naming the field."""
    try:
        hints = typing.get_type_hints(type(obj))
    except Exception:  # an annotation that cannot be resolved: check values by their types
        hints = {}
    for field in dataclasses.fields(obj):
        bounds = SEED_RANGE if field.name in ("seed", "seeds") else INT_RANGE
        _check_value(getattr(obj, field.name), hints.get(field.name), prefix + field.name, bounds)


def _check_value(value, annotation, field: str, bounds: tuple[int, int]) -> None:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Literal:
        require(value in args, field, f"must be one of {list(args)}, got {value!r}")
    elif origin in (typing.Union, types.UnionType):
        arms = [a for a in args if a is not type(None)]
        if value is not None and len(arms) == 1:
            _check_value(value, arms[0], field, bounds)
    elif origin is tuple or annotation is tuple:
        require(isinstance(value, tuple), field, f"expected a list, got {value!r}")
        fixed = bool(args) and args[-1] is not Ellipsis
        if fixed:
            require(len(value) == len(args), field, f"expected {len(args)} items, got {value!r}")
        for i, item in enumerate(value):
            item_type = args[i] if fixed else (args[0] if args else None)
            _check_value(item, item_type, f"{field}[{i}]", bounds)
    elif annotation is bool or isinstance(value, bool):
        require(isinstance(value, bool), field, f"expected true or false, got {value!r}")
    elif annotation is int or (annotation is None and isinstance(value, int)):
        _check_int(value, field, bounds)
    elif annotation is float or (annotation is None and isinstance(value, float)):
        number(value, field)
        require(abs(value) <= FLOAT32_MAX, field, f"must be finite in float32, got {value}")
    elif annotation is str:
        require(isinstance(value, str), field, f"expected a string, got {value!r}")
    elif isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
        require(
            isinstance(value, annotation),
            field,
            f"expected the settings {annotation.__name__}, got {value!r}",
        )
        check_fields(value, field + ".")
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        check_fields(value, field + ".")  # generic settings (env_config, curriculum)


def _check_int(value, field: str, bounds: tuple[int, int]) -> None:
    require(
        isinstance(value, int) and not isinstance(value, bool),
        field,
        f"expected an integer, got {value!r}",
    )
    low, high = bounds
    require(low <= value <= high, field, f"must be in [{low}, {high}], got {value}")


def check_compatible(config: TrainConfig) -> None:
    """Refuse an algorithm × env pair when the env lacks a capability the algorithm needs (with
    these settings: e.g. ``--curriculum.score oracle_regret`` needs an oracle)."""
    spec = registry.ENVS.get(config.env)
    algo = registry.ALGORITHMS.get(config.algo)
    missing = sorted(set(algo.requires(config)) - spec.capabilities)
    if missing:
        declared = sorted(spec.capabilities) or "none"
        raise ConfigError(
            f"algo: {config.algo!r} needs the env capabilit{'y' if len(missing) == 1 else 'ies'} "
            f"{', '.join(repr(m) for m in missing)}, which env {config.env!r} does not declare "
            f"(it declares: {declared})"
        )


def suite_names(env: str) -> tuple[str, ...]:
    """Every suite name ``ued eval --suite`` accepts for an env (besides level-file paths)."""
    return (*registry.ENVS.get(env).suites, *SAMPLED_SUITES)


def check_suite_name(env: str, suite: str, field: str) -> None:
    """Raise ``ConfigError`` (naming ``field``) unless ``suite`` is a known suite of ``env`` or,
    for envs with a text format, an existing level file."""
    names = suite_names(env)
    files = registry.ENVS.get(env).load_level_file is not None
    require(
        suite in names or (files and Path(suite).is_file()),
        field,
        f"unknown suite {suite!r}: choose one of {sorted(names)}"
        + (" or a level file path" if files else ""),
    )


def validate_loop(config: LoopConfig) -> None:
    """Check the fields the host loop reads (and the evaluation suites against ``config.env``);
    raises ``ConfigError`` naming the field."""
    positive(config, "", "updates", "updates_per_chunk", "checkpoint_every", "eval_levels")
    for name in ("eval_every", "keep_checkpoints", "devices"):
        require(getattr(config, name) >= 0, name, f"must be >= 0 (0: {_ZERO[name]}), got "
                f"{getattr(config, name)}")  # fmt: skip
    require(len(set(config.seeds)) == len(config.seeds), "seeds", f"repeated seeds {config.seeds}")
    for name in ("updates", "eval_every", "checkpoint_every"):
        value = getattr(config, name)
        require(
            value % config.updates_per_chunk == 0,
            name,
            f"{value} is not a multiple of updates_per_chunk ({config.updates_per_chunk}); "
            "the host can only act between chunks",
        )
    for suite in config.eval_suites:
        check_suite_name(config.env, suite, "eval_suites")


_ZERO = {"eval_every": "only at the end", "keep_checkpoints": "keep all",
         "devices": "every local device"}  # fmt: skip


def validate_common(config: TrainConfig) -> None:
    """Check everything except the curriculum's own settings. Raises ``ConfigError``."""
    algo = registry.ALGORITHMS.get(config.algo)
    spec = registry.ENVS.get(config.env)
    validate_loop(config)
    positive(config, "", "eval_attempts")
    require(
        isinstance(config.env_config, spec.Config),
        "env_config",
        f"expected the settings of env {config.env!r} ({spec.Config.__name__}), got "
        f"{type(config.env_config).__name__}",
    )
    spec.validate(config.env_config, "env_config.")
    require(
        isinstance(config.curriculum, algo.Config),
        "curriculum",
        f"expected the settings of algorithm {config.algo!r} ({algo.Config.__name__}), got "
        f"{type(config.curriculum).__name__}",
    )

    validate_network(config.network, "network.")
    validate_ppo(config.ppo, "ppo.")
    registry.LEARNERS.get(config.learner).validate(config.ppo, "ppo.")


def validate_network(n: NetworkConfig, prefix: str) -> None:
    """Check a ``NetworkConfig``; raises ``ConfigError`` naming ``prefix + field``."""
    positive(n, prefix, "hidden_size", "head_hidden")


def validate_ppo(p: PPOConfig, prefix: str) -> None:
    """Check a ``PPOConfig``; raises ``ConfigError`` naming ``prefix + field``."""
    positive(p, prefix, "num_envs", "num_steps", "lr", "adam_eps", "epochs", "minibatches")
    probability(p, prefix, "gamma", "gae_lambda")
    require(p.max_grad_norm >= 0, f"{prefix}max_grad_norm", f"must be >= 0, got {p.max_grad_norm}")
    require(p.clip_eps > 0, f"{prefix}clip_eps", f"must be positive, got {p.clip_eps}")
    require(p.ent_coef >= 0 and p.vf_coef >= 0, f"{prefix}ent_coef/vf_coef", "must be >= 0")
    require(p.param_bound >= 0, f"{prefix}param_bound", f"must be >= 0, got {p.param_bound}")
    require(
        p.anneal_lr_by == "update" or not p.anneal_lr or p.optimizer == "adam",
        f"{prefix}anneal_lr_by",
        "'gradient' counts Adam's steps: it needs optimizer 'adam'",
    )
    require(
        p.num_envs % p.minibatches == 0,
        f"{prefix}minibatches",
        f"{prefix}num_envs ({p.num_envs}) must be divisible by {prefix}minibatches "
        f"({p.minibatches}): minibatches split whole sequences across envs",
    )
    require(
        not p.track_best_iterate or (p.epochs, p.minibatches) == (1, 1),
        f"{prefix}track_best_iterate",
        f"needs {prefix}epochs = {prefix}minibatches = 1 (the gradient is measured at the "
        "parameters the update starts from)",
    )


def validate(config: TrainConfig) -> TrainConfig:
    """Check a whole config (types and finite numbers first, then the common part, the
    curriculum's, and that the env has what the curriculum needs). Returns it unchanged."""
    check_fields(config)
    validate_common(config)
    registry.ALGORITHMS.get(config.algo).validate(config)
    check_compatible(config)
    return config


# ---- presets ---------------------------------------------------------------------------------
def preset_config(algo: str, env: str, preset: str) -> TrainConfig:
    """The config of ``algo`` on ``env`` at preset ``preset`` (``test``, ``cpu``, ``paper``, or
    a reference implementation's, ``minimax`` / ``dcd``, where the curriculum has one): the env
    family's settings, student and loop for that preset, then the curriculum's."""
    require(preset in PRESETS, "preset", f"unknown preset {preset!r}; choose one of {PRESETS}")
    spec = registry.ENVS.get(env)
    algorithm = registry.ALGORITHMS.get(algo)
    require(
        preset in algorithm.presets,
        "preset",
        f"--algo {algo} has no {preset!r} preset; it has {', '.join(algorithm.presets)}",
    )
    base = dataclasses.replace(spec.preset(preset, algo), algo=algo, env=env, preset=preset)
    return algorithm.preset(base, preset)


def tiny_test_config(env: str, env_config, eval_suites: tuple[str, ...]) -> TrainConfig:
    """The ``test`` preset of an env family whose student is an MLP: width 8, 4 envs x 8 steps,
    4 updates in chunks of 2 with an evaluation (1 attempt, 2 levels) and a checkpoint every 2.
    It compiles in seconds and is for tests, not for learning."""
    return TrainConfig(
        env=env, preset="test", updates=4, updates_per_chunk=2, eval_every=2,
        checkpoint_every=2, eval_suites=eval_suites, eval_attempts=1, eval_levels=2,
        env_config=env_config, network=NetworkConfig(cell="none", hidden_size=8, head_hidden=8),
        ppo=PPOConfig(num_envs=4, num_steps=8, lr=1e-3, epochs=2, minibatches=2),
    )  # fmt: skip


def override(config, **fields):
    """``dataclasses.replace`` that also reaches nested fields with ``__``:
    ``override(config, updates=10, ppo__lr=3e-4, env_config__n_walls=60)``."""
    nested: dict[str, dict[str, Any]] = {}
    for key in [k for k in fields if "__" in k]:
        outer, inner = key.split("__", 1)
        nested.setdefault(outer, {})[inner] = fields.pop(key)
    for outer, inner in nested.items():
        fields[outer] = override(getattr(config, outer), **inner)
    return dataclasses.replace(config, **fields)


# ---- (de)serialisation -----------------------------------------------------------------------
def to_dict(config) -> dict[str, Any]:
    """A JSON-ready dict of a whole config dataclass (env and curriculum settings included)."""
    return dataclasses.asdict(config)


def _from_dict(cls, data: dict[str, Any], where: str):
    if not isinstance(data, dict):
        raise ConfigError(f"{where.rstrip('.') or 'config'}: expected an object, got {data!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(data) - set(fields)
    if unknown:
        raise ConfigError(f"{where.rstrip('.') or 'config'}: unknown fields {sorted(unknown)}")
    kwargs = {}
    defaults = cls()
    for name, value in data.items():
        default = getattr(defaults, name)
        if dataclasses.is_dataclass(default) and isinstance(value, dict):
            value = _from_dict(type(default), value, f"{where}{name}.")
        elif isinstance(default, tuple) and isinstance(value, list):
            value = tuple(value)
        kwargs[name] = value
    return cls(**kwargs)


def from_dict(data: dict[str, Any]) -> TrainConfig:
    """Rebuild a ``TrainConfig`` (with its env's and algorithm's settings) from ``to_dict``."""
    if not isinstance(data, dict):
        raise ConfigError(f"config: expected a JSON object, got {type(data).__name__}")
    if "maze" in data:
        raise ConfigError(
            "config: written by an older version of ued (env settings under 'maze', before "
            "env_config); neither it nor its checkpoints can be read by this version"
        )
    data = dict(data)
    algorithm = registry.ALGORITHMS.get(data.get("algo"))
    spec = registry.ENVS.get(data.get("env", "maze"))
    curriculum = _from_dict(algorithm.Config, data.pop("curriculum", None) or {}, "curriculum.")
    env_config = _from_dict(spec.Config, data.pop("env_config", None) or {}, "env_config.")
    config = _from_dict(TrainConfig, data, "")
    return dataclasses.replace(config, env_config=env_config, curriculum=curriculum)


RESUMABLE = ("updates", "keep_checkpoints", "devices")
"""Fields a resumed run may change: its length, what stays on disk, and the devices it runs on
(none of them changes what a checkpoint holds)."""


def differences(saved: dict[str, Any], config, ignore=(), rebuild=None) -> list[str]:
    """Dotted names of the fields where a saved ``to_dict`` differs from ``config``. A field
    missing from ``saved`` (added to the config after it was written) counts as its default.
    ``rebuild`` reads a saved dict back (``from_dict``, the ``TrainConfig`` one, by default)."""
    current = json.loads(json.dumps(to_dict(config)))
    try:
        saved = json.loads(json.dumps(to_dict((rebuild or from_dict)(saved))))
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


def read_config(path: Path, rebuild, check, writer: str):
    """``check(rebuild(data))`` for the JSON object in ``path``, a run's ``config.json``
    written by the command ``writer``. Every problem, a missing, truncated or non-JSON file
    included, is a ``ConfigError`` that names the file (and the field)."""
    if not path.is_file():
        raise ConfigError(f"no config.json at {path}: is this a run directory written by {writer}?")
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ConfigError(f"{path}: damaged, not a JSON config ({error})") from None
    try:
        return check(rebuild(data))
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None


def load(path: Path) -> TrainConfig:
    """Read and validate a run's ``config.json``."""
    return read_config(path, from_dict, validate, "`ued train`")
