"""The maze's registry entry: how to build it and what it can do (every capability the toolkit
knows)."""

from __future__ import annotations

import dataclasses

from ued import registry
from ued.env import Descriptors, EnvSpec

from .ascii import load_levels
from .config import MazeConfig, validate
from .editor import MazeEditor
from .encoder import MazeEncoder
from .env import MINIGRID_SCALE, Maze
from .level import pad_level
from .mutators import MazeMutator
from .presets import preset
from .render import render_level
from .suites import SUITES, random_solvable_levels


def make_maze(config: MazeConfig) -> Maze:
    """The training maze for the given settings."""
    return Maze(
        height=config.height,
        width=config.width,
        view_size=config.view_size,
        max_steps=config.max_steps,
        n_walls=config.n_walls,
        wall_sampling=config.wall_sampling,
        solvable_only=config.solvable_only,
        timeout=config.timeout,
        noop_actions=config.noop_actions,
        observation=config.observation,
    )


def load_level_file(path, train_env: Maze):
    """``(names, levels, eval env)`` of a maze text file. Mazes smaller than the training size
    are padded with walls to it (same behaviour, one compiled evaluation)."""
    names, levels = load_levels(path)
    height, width = levels.wall_map.shape[-2:]
    if height < train_env.height or width < train_env.width:
        levels = pad_level(levels, max(height, train_env.height), max(width, train_env.width))
    height, width = levels.wall_map.shape[-2:]
    env = dataclasses.replace(train_env, height=height, width=width, n_walls=0, solvable_only=False)
    return names, levels, env


def make_editor(config: MazeConfig, generator) -> MazeEditor:
    """The level editor for a generator agent (``ued.editor.GeneratorConfig``) on mazes of
    ``config``'s size; ``editor_steps = 0`` gives it the random generator's budget
    (``n_walls`` wall placements, the goal, the agent)."""
    editor = MazeEditor(
        height=config.height,
        width=config.width,
        noise_dim=generator.noise_dim,
        noise=generator.noise,
        noise_per_step=generator.noise_per_step,
        random_walls=config.n_walls,
    )
    return dataclasses.replace(editor, num_steps=generator.editor_steps or editor.matched_steps)


MAZE = registry.ENVS.register(
    "maze",
    EnvSpec(
        name="maze",
        Config=MazeConfig,
        make=make_maze,
        preset=preset,
        validate=validate,
        success=True,
        oracle=lambda env, level, gamma: env.optimal_return(level, gamma),
        mutator=lambda config, num_edits: MazeMutator(
            num_edits=num_edits, move_agent=config.edits_move_agent, noop=config.edits_noop
        ),
        editor=make_editor,
        render_level=render_level,
        load_level_file=load_level_file,
        suites=SUITES,
        descriptors=Descriptors(
            lambda env, levels: env.level_descriptors(levels), fractions=("solvable",)
        ),
        encoder=lambda config: MazeEncoder(
            conv_filters=config.encoder.conv_filters,
            direction_features=config.encoder.direction_features,
            input_scale=MINIGRID_SCALE if config.observation == "minigrid" else 1.0,
        ),
        random_levels=lambda env, n, seed: random_solvable_levels(env.generator, n, seed),
    ),
)
"""The maze's ``EnvSpec`` (registered as ``--env maze``)."""
