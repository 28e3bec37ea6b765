"""RGB rendering of maze levels and states (jittable; ``vmap`` for batches)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .env import Maze, MazeState
from .level import DIRECTIONS, Level

FREE_RGB = (236, 236, 236)
WALL_RGB = (70, 70, 80)
GOAL_RGB = (60, 180, 75)
AGENT_RGB = (220, 40, 40)
VIEW_TINT = (255, 220, 120)


def _triangle_masks(tile: int) -> np.ndarray:
    """``bool[4, tile, tile]``: a triangle pointing in each agent direction."""
    c = (np.arange(tile) + 0.5) / tile  # cell-centre coordinates in [0, 1]
    yy, xx = np.meshgrid(c, c, indexing="ij")
    right = (xx >= 0.15) & (np.abs(yy - 0.5) <= 0.42 * (0.9 - xx) / 0.75)
    return np.stack([right, right.T, right[:, ::-1], right.T[::-1, :]])


def _tiles(colours: jax.Array, tile: int) -> jax.Array:
    return jnp.repeat(jnp.repeat(colours, tile, axis=0), tile, axis=1)


def _base_colours(level: Level) -> jax.Array:
    h, w = level.wall_map.shape
    colours = jnp.where(level.wall_map[..., None], jnp.array(WALL_RGB), jnp.array(FREE_RGB))
    goal = jnp.zeros((h, w), bool).at[level.goal_pos[1], level.goal_pos[0]].set(True)
    return jnp.where(goal[..., None], jnp.array(GOAL_RGB), colours)


def _draw_agent(image: jax.Array, pos: jax.Array, direction: jax.Array, tile: int) -> jax.Array:
    masks = jnp.asarray(_triangle_masks(tile))
    y0, x0 = pos[1] * tile, pos[0] * tile
    patch = jax.lax.dynamic_slice(image, (y0, x0, 0), (tile, tile, 3))
    patch = jnp.where(masks[direction][..., None], jnp.array(AGENT_RGB, image.dtype), patch)
    return jax.lax.dynamic_update_slice(image, patch, (y0, x0, 0))


def _grid_lines(image: jax.Array, tile: int) -> jax.Array:
    idx = jnp.arange(image.shape[0]) % tile == 0
    jdx = jnp.arange(image.shape[1]) % tile == 0
    line = idx[:, None] | jdx[None, :]
    return jnp.where(line[..., None], (image * 0.8).astype(image.dtype), image)


def render_level(level: Level, tile: int = 8) -> jax.Array:
    """One level as ``uint8[H*tile, W*tile, 3]``: walls dark, goal green, agent a red triangle
    pointing its start direction."""
    image = _tiles(_base_colours(level), tile).astype(jnp.uint8)
    image = _grid_lines(image, tile)
    return _draw_agent(image, level.agent_pos, level.agent_dir, tile)


def render_state(env: Maze, state: MazeState, tile: int = 8) -> jax.Array:
    """A state as ``uint8[H*tile, W*tile, 3]``, with the agent's egocentric view tinted."""
    level = state.level
    h, w = level.wall_map.shape
    v = env.view_size
    forward = (v - 1 - jnp.arange(v))[:, None]
    lateral = (jnp.arange(v) - v // 2)[None, :]
    fx, fy = jnp.asarray(DIRECTIONS)[state.agent_dir]
    xs = (state.agent_pos[0] + forward * fx - lateral * fy).ravel()
    ys = (state.agent_pos[1] + forward * fy + lateral * fx).ravel()
    inside = (xs >= 0) & (xs < w) & (ys >= 0) & (ys < h)
    seen = jnp.zeros((h, w), bool).at[jnp.clip(ys, 0, h - 1), jnp.clip(xs, 0, w - 1)].max(inside)
    colours = _base_colours(level).astype(jnp.float32)
    tinted = 0.6 * colours + 0.4 * jnp.array(VIEW_TINT, jnp.float32)
    colours = jnp.where(seen[..., None], tinted, colours)
    image = _grid_lines(_tiles(colours, tile).astype(jnp.uint8), tile)
    return _draw_agent(image, state.agent_pos, state.agent_dir, tile)
