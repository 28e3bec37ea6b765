"""Environments and everything about their levels, behind one registry.

``ENVS[name]`` says how to build the training env from a config, which holdout suites exist, how
to draw random solvable levels, read level files, mutate and render levels.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from . import maze as _maze


@dataclasses.dataclass(frozen=True)
class EnvSpec:
    """A registered environment family.

    Attributes:
        name: the ``--env`` value.
        make: ``TrainConfig -> env`` (the training env).
        suites: named holdout suites (``Suite.levels(n, seed)``, ``Suite.env(train_env)``).
        random_solvable_levels: ``(train_env, n, seed) -> levels`` from the training distribution.
        load_level_file: ``(path, train_env) -> (names, levels, eval_env)``.
        make_mutator: ``(num_edits, move_agent) -> (key, level) -> level`` (ACCEL's edits).
        render_level: ``level -> uint8[h, w, 3]``.
        level_stats: ``(env, levels) -> dict[str, [N] array]`` descriptors (walls, path, solvable).
    """

    name: str
    make: Callable[[Any], Any]
    suites: dict[str, Any]
    random_solvable_levels: Callable[[Any, int, int], Any]
    load_level_file: Callable[[Any, Any], tuple[list[str], Any, Any]]
    make_mutator: Callable[[int, bool], Callable]
    render_level: Callable[[Any], Any]
    level_stats: Callable[[Any, Any], dict[str, Any]]


def _make_maze(config) -> _maze.Maze:
    m = config.maze
    return _maze.Maze(
        height=m.height,
        width=m.width,
        view_size=m.view_size,
        max_steps=m.max_steps,
        n_walls=m.n_walls,
        wall_sampling=m.wall_sampling,
        solvable_only=m.solvable_only,
    )


def _maze_level_file(path, train_env: _maze.Maze):
    names, levels = _maze.load_levels(path)
    height, width = levels.wall_map.shape[-2:]
    if height < train_env.height or width < train_env.width:
        # Pad small mazes to at least the training size: same behaviour, one compiled eval.
        levels = _maze.pad_level(levels, max(height, train_env.height), max(width, train_env.width))
    height, width = levels.wall_map.shape[-2:]
    return (
        names,
        levels,
        dataclasses.replace(train_env, height=height, width=width, n_walls=0, solvable_only=False),
    )


ENVS: dict[str, EnvSpec] = {
    "maze": EnvSpec(
        name="maze",
        make=_make_maze,
        suites=_maze.SUITES,
        random_solvable_levels=lambda env, n, seed: _maze.random_solvable_levels(
            env.generator, n, seed
        ),
        load_level_file=_maze_level_file,
        make_mutator=lambda num_edits, move_agent=True: _maze.MazeMutator(
            num_edits=num_edits, move_agent=move_agent
        ),
        render_level=_maze.render_level,
        level_stats=lambda env, levels: env.level_stats(levels),
    ),
}
