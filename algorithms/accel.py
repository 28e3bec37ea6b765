"""ACCEL (Parker-Holder et al. 2022): robust PLR whose buffer also grows by editing.

After every replay update, the next update plays *mutations* of the levels just replayed
(``num_edits`` small edits each) and offers them to the buffer by score, without a gradient. At
``replay_prob = 0.8`` the long-run mix is about 44% replay, 44% mutate and 11% new levels. The
curriculum is ``plr.ReplayCurriculum`` with the env's mutator plugged in.
"""

from __future__ import annotations

import dataclasses

from ued.buffer import BufferConfig
from ued.config import ConfigError, TrainConfig, base_preset

from . import plr


@dataclasses.dataclass(frozen=True)
class Config(plr.Config):
    """ACCEL settings: robust PLR's plus the edits."""

    num_edits: int = 5
    """Edits per mutation (5 on mazes)."""
    move_agent: bool = True
    """Edits may move the agent (False: the minimax/JaxUED variant that only flips walls and
    moves the goal)."""


def preset(name: str) -> TrainConfig:
    """ACCEL with the shared env / student settings of preset ``name``."""
    buffer = {
        "paper": BufferConfig(),
        "cpu": BufferConfig(capacity=1000),
        "test": BufferConfig(capacity=8, min_fill=0.5),
    }[name]
    return dataclasses.replace(base_preset(name), algo="accel", curriculum=Config(buffer=buffer))


def make(env, config: TrainConfig) -> plr.ReplayCurriculum:
    """Build the curriculum for a validated config."""
    from envs import ENVS

    c = config.curriculum
    mutator = ENVS[config.env].make_mutator(c.num_edits, c.move_agent)
    return plr.ReplayCurriculum(
        env=env, config=c, num_envs=config.ppo.num_envs, gamma=config.ppo.gamma, mutator=mutator
    )


def validate(config: TrainConfig) -> None:
    """PLR's checks plus the edits."""
    plr.validate(config)
    if config.curriculum.num_edits < 1:
        raise ConfigError(f"curriculum.num_edits: must be >= 1, got {config.curriculum.num_edits}")
