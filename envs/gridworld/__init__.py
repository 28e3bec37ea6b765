"""The LPG gridworld family (Oh et al. 2020), the levels GROOVE meta-trains learned optimisers on:
level, env, random distributions, exact DP oracle, layouts (text, LPG's fixed grids, the classic
mazes), renderer.

Quick use::

    from envs.gridworld import Gridworld
    env = Gridworld(size=13, max_objects=5, num_types=5, tabular=True)
    level = env.sample_level(jax.random.key(0))
    obs, state = env.reset_to_level(key, level)
    obs, state, reward, terminated, truncated, info = env.step(key, state, 4)  # 4 = stay

Importing the package registers ``--env gridworld`` (tabular, with the oracle) and
``--env gridworld-rand`` (occupancy grids, random respawns).
"""

from .distributions import DISTRIBUTIONS, LevelDistribution
from .env import DOWN, LEFT, MOVES, RIGHT, STAY, UP, GridState, Gridworld, sample_free_cell
from .layouts import (
    LPG_CONFIGS,
    Layout,
    format_layout,
    layout_of,
    load_layouts,
    lpg_layouts,
    maze_layouts,
    parse_layouts,
)
from .level import Level, is_valid, make_level, object_count, stack_levels
from .oracle import optimal_return
from .registration import GRIDWORLD, GRIDWORLD_RAND, SUITES, GridworldConfig, TabularEncoder
from .render import render_level

__all__ = [
    "DISTRIBUTIONS",
    "DOWN",
    "GRIDWORLD",
    "GRIDWORLD_RAND",
    "LEFT",
    "LPG_CONFIGS",
    "MOVES",
    "RIGHT",
    "STAY",
    "SUITES",
    "UP",
    "GridState",
    "Gridworld",
    "GridworldConfig",
    "Layout",
    "Level",
    "LevelDistribution",
    "TabularEncoder",
    "format_layout",
    "is_valid",
    "layout_of",
    "load_layouts",
    "lpg_layouts",
    "make_level",
    "maze_layouts",
    "object_count",
    "optimal_return",
    "parse_layouts",
    "render_level",
    "sample_free_cell",
    "stack_levels",
]
