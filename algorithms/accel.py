"""ACCEL (Parker-Holder et al. 2022): robust PLR whose buffer also grows by editing.

After every replay update, the next update plays *mutations* of the levels just replayed
(``num_edits`` small edits each, the env family's mutator) and offers them to the buffer by
score, without a gradient. At ``replay_prob = 0.8`` the long-run mix is about 44% replay, 44%
mutate and 11% new levels. ``accel-parallel`` is minimax's ACCEL‖: new, replayed and mutated
levels in one rollout (``plr.Config.parallel``). The curriculum is ``plr.ReplayCurriculum`` with
the mutator plugged in.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import ClassVar

from ued import registry
from ued.config import ConfigError, TrainConfig
from ued.curriculum import AlgorithmSpec

from . import plr


@dataclasses.dataclass(frozen=True)
class Config(plr.Config):
    """ACCEL settings: robust PLR's plus the edits (what an edit does is the env's: for the
    maze see ``env_config.edits_move_agent``)."""

    PARALLEL_PARTS: ClassVar[int] = 3  # a parallel update's parts: new, replayed, mutated
    num_edits: int = 5
    """Edits per mutation (5 on mazes)."""


def preset(base: TrainConfig, name: str, parallel: bool = False) -> TrainConfig:
    """ACCEL on the env family's preset ``name`` (the buffer sized as PLR's); ``parallel``
    (``accel-parallel``): minimax's ACCEL‖, with three times the preset's envs, so it trains on
    as many as ACCEL."""
    replay = plr.preset(base, name).curriculum
    edits = {"num_edits": 20} if name == "minimax" else {}  # paccel.json: plr_n_mutations
    curriculum = Config(
        buffer=replay.buffer, generator=replay.generator, parallel=parallel, **edits
    )
    return plr.widen_for_parallel(dataclasses.replace(base, curriculum=curriculum))


def make(env, spec, config: TrainConfig) -> plr.ReplayCurriculum:
    """Build the curriculum for a validated config, with the env family's mutator."""
    mutator = spec.mutator(config.env_config, config.curriculum.num_edits)
    return plr.make(env, spec, config, mutator=mutator)


def requires(config: TrainConfig) -> frozenset[str]:
    """A mutator, plus what the score needs."""
    return plr.requires(config) | {"mutator"}


def validate(config: TrainConfig) -> None:
    """PLR's checks plus the edits."""
    plr.validate(config)
    if config.curriculum.num_edits < 1:
        raise ConfigError(f"curriculum.num_edits: must be >= 1, got {config.curriculum.num_edits}")


SPEC = registry.ALGORITHMS.register(
    "accel",
    AlgorithmSpec(
        "accel",
        Config,
        preset,
        make,
        validate,
        requires,
        "ACCEL: robust PLR whose buffer also grows by editing replayed levels",
    ),
)
PARALLEL_SPEC = registry.ALGORITHMS.register(
    "accel-parallel",
    AlgorithmSpec(
        "accel-parallel",
        Config,
        functools.partial(preset, parallel=True),
        make,
        validate,
        requires,
        "minimax's ACCEL‖: each update scores new levels and mutations of the replayed ones and "
        "trains on the replayed ones, in one rollout",
        **plr.PARALLEL_PRESETS,
    ),
)
