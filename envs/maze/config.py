"""The maze's settings (``TrainConfig.env_config`` when ``--env maze``) and their validation."""

from __future__ import annotations

import dataclasses
from typing import Literal

from ued.config import positive, require

NOOP_ACTION_NAMES = ("pickup", "drop", "toggle", "done")
"""MiniGrid's actions that do nothing on the maze (JaxUED keeps them: ``Discrete(7)``)."""


@dataclasses.dataclass(frozen=True)
class MazeEncoderConfig:
    """The student's observation encoder for the maze (the literature's network)."""

    conv_filters: int = 16
    """Filters of the 3x3 VALID convolution over the view (0 = no convolution)."""
    direction_features: int = 5
    """Width of the embedding of the agent's direction."""


@dataclasses.dataclass(frozen=True)
class MazeConfig:
    """The maze env, its random level generator and its observation encoder."""

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
    timeout: Literal["terminal", "truncation"] = "terminal"
    """What the time limit is: terminal (the references' convention, so numbers compare: no
    bootstrap at a time-out) or truncation (GAE bootstraps from the value where time ran out)."""
    observation: Literal["one-hot", "minigrid"] = "one-hot"
    """How a cell is encoded: one-hot {wall, free, goal} (this library's default) or MiniGrid's
    (object, colour, state) indices, which JaxUED feeds its network divided by 10
    (``normalize_obs=True``); the encoder applies that scale."""
    noop_actions: int = 0
    """Actions that do nothing but spend a step, after the 3 that act: MiniGrid's pickup, drop,
    toggle and done, which JaxUED's maze keeps (4: its 7 actions); 0: the 3 that act."""
    edits_move_agent: bool = True
    """ACCEL's edits may move the agent (False: the minimax/JaxUED variant that only flips walls
    and moves the goal)."""
    edits_noop: bool = False
    """Each of ACCEL's edits may be a no-op, as in JaxUED's and minimax's mutator (uniform over
    no-op, flip a wall, move the goal: 3.3 of 5 edits act on average)."""
    encoder: MazeEncoderConfig = MazeEncoderConfig()
    """The student's observation encoder."""


def validate(config: MazeConfig, prefix: str = "env_config.") -> None:
    """Check the maze's settings; raises ``ConfigError`` naming ``prefix + field``."""
    positive(config, prefix, "height", "width", "view_size", "max_steps")
    require(config.view_size % 2 == 1, f"{prefix}view_size", f"must be odd, got {config.view_size}")
    cells = config.height * config.width - 2
    require(
        0 <= config.n_walls <= cells,
        f"{prefix}n_walls",
        f"must be in [0, height*width-2] = [0, {cells}], got {config.n_walls}",
    )
    require(
        config.timeout in ("terminal", "truncation"),
        f"{prefix}timeout",
        f"must be terminal or truncation, got {config.timeout!r}",
    )
    require(
        config.observation in ("one-hot", "minigrid"),
        f"{prefix}observation",
        f"must be one-hot or minigrid, got {config.observation!r}",
    )
    require(
        0 <= config.noop_actions <= len(NOOP_ACTION_NAMES),
        f"{prefix}noop_actions",
        f"must be in [0, {len(NOOP_ACTION_NAMES)}], got {config.noop_actions}",
    )
    encoder = config.encoder
    positive(encoder, f"{prefix}encoder.", "direction_features")
    require(
        encoder.conv_filters >= 0,
        f"{prefix}encoder.conv_filters",
        f"must be >= 0, got {encoder.conv_filters}",
    )
