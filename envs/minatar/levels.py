"""Level spaces of gymnax's MinAtar games (Young & Tian 2019): a level is the integer timers
gymnax exposes in each game's ``EnvParams`` (how fast enemies move, shoot and spawn, how fast
the player moves), drawn log-uniformly over 2-4x around gymnax's defaults and rounded.

Breakout exposes none (its only parameter is the time limit): it is one fixed task, which DR
and meta-training can use as a task but no curriculum can vary. Asterix's and SpaceInvaders'
``shot_cool_down`` are left at their defaults.
"""

from __future__ import annotations

from envs.control.levels import LevelSpace, Parameter

SPACES = {
    "breakout": LevelSpace(env_id="Breakout-MinAtar", parameters=(), grid=(), success=None),
    "space-invaders": LevelSpace(
        env_id="SpaceInvaders-MinAtar",
        parameters=(
            Parameter("enemy_move_interval", 12, 6, 24, integer=True),
            Parameter("enemy_shot_interval", 10, 5, 20, integer=True),
        ),
        grid=("enemy_move_interval", "enemy_shot_interval"),
        success=None,
    ),
    "asterix": LevelSpace(
        env_id="Asterix-MinAtar",
        parameters=(
            Parameter("ramp_interval", 100, 50, 200, integer=True),
            Parameter("init_spawn_speed", 10, 5, 20, integer=True),
            Parameter("init_move_interval", 5, 3, 10, integer=True),
        ),
        grid=("init_spawn_speed", "init_move_interval"),
        success=None,
    ),
    "freeway": LevelSpace(
        env_id="Freeway-MinAtar",
        parameters=(Parameter("player_speed", 3, 1, 6, integer=True),),
        grid=("player_speed",),
        success=None,
    ),
}
"""The MinAtar level spaces by ``--env`` name."""
