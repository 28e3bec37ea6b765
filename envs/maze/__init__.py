"""The MiniGrid-style maze: level, env, generator, oracle, mutators, text format, suites, renderer.

Quick use::

    from envs.maze import Maze
    env = Maze(height=13, width=13, view_size=5, max_steps=250)
    level = env.sample_level(jax.random.key(0))
    obs, state = env.reset_to_level(key, level)
    obs, state, reward, terminated, truncated, info = env.step(key, state, 2)  # 2 = forward

Importing the package registers the maze as ``--env maze`` (``registration.MAZE``).
"""

from .ascii import LevelFormatError, format_level, format_levels, load_levels, parse_levels
from .config import MazeConfig, MazeEncoderConfig
from .encoder import MazeEncoder
from .env import FORWARD, TURN_LEFT, TURN_RIGHT, Maze, MazeObs, MazeState
from .generators import RandomMazeGenerator
from .level import (
    DIRECTIONS,
    Level,
    index_levels,
    is_valid,
    level_hash,
    make_level,
    pad_level,
    stack_levels,
    wall_count,
)
from .mutators import MazeMutator
from .oracle import (
    UNREACHABLE,
    distance_to_goal,
    is_solvable,
    optimal_actions,
    optimal_return,
    shortest_path_length,
)
from .registration import MAZE, load_level_file, make_maze
from .render import render_level, render_state
from .suites import SUITES, Suite, random_solvable_levels

__all__ = [
    "DIRECTIONS",
    "FORWARD",
    "MAZE",
    "SUITES",
    "TURN_LEFT",
    "TURN_RIGHT",
    "UNREACHABLE",
    "Level",
    "LevelFormatError",
    "Maze",
    "MazeConfig",
    "MazeEncoder",
    "MazeEncoderConfig",
    "MazeMutator",
    "MazeObs",
    "MazeState",
    "RandomMazeGenerator",
    "Suite",
    "distance_to_goal",
    "format_level",
    "format_levels",
    "index_levels",
    "is_solvable",
    "is_valid",
    "level_hash",
    "load_level_file",
    "load_levels",
    "make_level",
    "make_maze",
    "optimal_actions",
    "optimal_return",
    "pad_level",
    "parse_levels",
    "random_solvable_levels",
    "render_level",
    "render_state",
    "shortest_path_length",
    "stack_levels",
    "wall_count",
]
