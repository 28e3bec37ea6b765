"""RGB rendering of gridworld levels (jittable; ``vmap`` for batches): walls dark, free cells
light, the start blue, objects as squares coloured by their type's reward (green positive, red
negative, brighter for larger magnitudes)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .level import Level

FREE_RGB = np.array([236, 236, 236])
WALL_RGB = np.array([70, 70, 80])
START_RGB = np.array([40, 90, 220])


def _object_mask(tile: int) -> np.ndarray:
    inner = (np.arange(tile) >= tile // 5) & (np.arange(tile) < tile - tile // 5)
    return inner[:, None] & inner[None, :]


def render_level(level: Level, tile: int = 8) -> jax.Array:
    """``uint8[S * tile, S * tile, 3]`` image of one level."""
    colours = jnp.where(level.wall_map[..., None], WALL_RGB, FREE_RGB).astype(jnp.float32)
    colours = colours.at[level.start[1], level.start[0]].set(START_RGB)
    image = jnp.repeat(jnp.repeat(colours, tile, axis=0), tile, axis=1)
    used = level.object_type >= 0
    value = level.reward[jnp.maximum(level.object_type, 0)]
    strength = 0.35 + 0.65 * jnp.clip(jnp.abs(value), 0.0, 1.0)
    green = jnp.stack([40 + 0 * strength, 90 + 110 * strength, 40 + 0 * strength], axis=-1)
    red = jnp.stack([110 + 110 * strength, 40 + 0 * strength, 40 + 0 * strength], axis=-1)
    rgb = jnp.where((value >= 0)[:, None], green, red)
    mask = jnp.asarray(_object_mask(tile))
    for k in range(level.object_type.shape[0]):
        y0, x0 = level.object_pos[k, 1] * tile, level.object_pos[k, 0] * tile
        patch = jax.lax.dynamic_slice(image, (y0, x0, 0), (tile, tile, 3))
        patch = jnp.where(mask[..., None] & used[k], rgb[k], patch)
        image = jax.lax.dynamic_update_slice(image, patch, (y0, x0, 0))
    return image.astype(jnp.uint8)
