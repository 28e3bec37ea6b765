"""RGB rendering of levels and states."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from envs.maze import DIRECTIONS, Maze, make_level, render_level, render_state, stack_levels
from envs.maze.render import AGENT_RGB, FREE_RGB, GOAL_RGB, VIEW_TINT, WALL_RGB

H, W, TILE = 5, 6, 16
ENV = Maze(height=H, width=W, view_size=3, max_steps=50)

RENDER = jax.jit(jax.vmap(render_level, in_axes=(0, None)), static_argnums=1)
RENDER_ONE = jax.jit(render_level, static_argnames="tile")
RENDER_STATE = jax.jit(jax.vmap(lambda s: render_state(ENV, s, TILE)))
RESET = jax.jit(jax.vmap(lambda lvl: ENV.reset_to_level(jax.random.key(0), lvl)[1]))


def level(direction, agent=(1, 1), goal=(4, 3), walls=((0, 0), (5, 4), (3, 2))):
    wall_map = np.zeros((H, W), dtype=bool)
    for x, y in walls:
        wall_map[y, x] = True
    return make_level(wall_map, agent, direction, goal)


LEVELS = stack_levels([level(d) for d in range(4)])


def tile(image, x, y, size=TILE):
    """The interior of tile (x, y): the first row/column of each tile is a darker grid line."""
    return image[y * size + 1 : (y + 1) * size, x * size + 1 : (x + 1) * size]


def is_colour(pixels, rgb):
    return np.all(pixels == np.array(rgb, dtype=np.uint8), axis=-1)


@pytest.fixture(scope="module")
def images():
    return np.asarray(RENDER(LEVELS, TILE))


def test_shape_dtype(images):
    assert images.shape == (4, H * TILE, W * TILE, 3)
    assert images.dtype == np.uint8
    single = np.asarray(RENDER_ONE(level(0), tile=4))
    assert single.shape == (H * 4, W * 4, 3) and single.dtype == np.uint8


def test_tile_colours(images):
    for image in images:
        for x, y in ((0, 0), (5, 4), (3, 2)):
            assert is_colour(tile(image, x, y), WALL_RGB).all()
        assert is_colour(tile(image, 4, 3), GOAL_RGB).all()
        for x, y in ((2, 0), (5, 0), (0, 4), (2, 3)):
            assert is_colour(tile(image, x, y), FREE_RGB).all()
        # The agent's tile: a red triangle on the free colour.
        agent = tile(image, 1, 1)
        red = is_colour(agent, AGENT_RGB)
        assert 0.15 < red.mean() < 0.6
        assert (red | is_colour(agent, FREE_RGB)).all()
        # No red anywhere else.
        mask = np.ones(image.shape[:2], dtype=bool)
        mask[TILE : 2 * TILE, TILE : 2 * TILE] = False
        assert not is_colour(image[mask], AGENT_RGB).any()
        # Grid lines are darker than the tile they belong to.
        assert (image[2 * TILE, 2 * TILE + 3].astype(int) < np.array(FREE_RGB)).all()


def test_agent_triangle_points_its_direction(images):
    # A triangle is wide at its base and thin at its tip: more red pixels on the side it comes
    # from than on the side it points to.
    half = TILE // 2
    for direction, image in enumerate(images):
        red = is_colour(image[TILE : 2 * TILE, TILE : 2 * TILE], AGENT_RGB)
        left, right = red[:, :half].sum(), red[:, half:].sum()
        top, bottom = red[:half].sum(), red[half:].sum()
        dx, dy = DIRECTIONS[direction]
        if dx:
            assert (right < left) if dx > 0 else (left < right), direction
            assert abs(top - bottom) <= 2
        else:
            assert (bottom < top) if dy > 0 else (top < bottom), direction
            assert abs(left - right) <= 2
    # The four directions give four different pictures.
    patches = {images[d, TILE : 2 * TILE, TILE : 2 * TILE].tobytes() for d in range(4)}
    assert len(patches) == 4


def test_render_level_single_matches_vmapped(images):
    single = np.asarray(RENDER_ONE(level(2), tile=TILE))
    np.testing.assert_array_equal(single, images[2])


def test_render_state_tints_the_view():
    # View 3x3: facing right from (1, 1) the agent sees x in 1..3, y in 0..2.
    states = RESET(LEVELS)
    images = np.asarray(RENDER_STATE(states))
    assert images.shape == (4, H * TILE, W * TILE, 3) and images.dtype == np.uint8
    base = np.asarray(RENDER(LEVELS, TILE))
    tint = lambda rgb: (0.6 * np.array(rgb, np.float32) + 0.4 * np.array(VIEW_TINT)).astype(
        np.uint8
    )
    for direction in range(4):
        fx, fy = (int(c) for c in DIRECTIONS[direction])
        rx, ry = -fy, fx
        seen = {(1 + a * fx + r * rx, 1 + a * fy + r * ry) for a in range(3) for r in (-1, 0, 1)}
        seen = {(x, y) for x, y in seen if 0 <= x < W and 0 <= y < H}
        for y in range(H):
            for x in range(W):
                if (x, y) == (1, 1):
                    continue
                got = tile(images[direction], x, y)
                plain = tile(base[direction], x, y)[0, 0]
                if (x, y) in seen:
                    assert is_colour(got, tint(plain)).all(), (direction, x, y)
                else:
                    np.testing.assert_array_equal(got, tile(base[direction], x, y))
        # The agent is drawn on top.
        assert is_colour(tile(images[direction], 1, 1), AGENT_RGB).any()


def test_render_state_follows_the_agent():
    states = RESET(LEVELS)
    # Move the agent of the right-facing level one step: the red triangle moves with it.
    moved = jax.tree_util.tree_map(lambda x: x, states)
    moved = moved.replace(agent_pos=moved.agent_pos.at[0].set(jnp.array([2, 1], jnp.int32)))
    images = np.asarray(RENDER_STATE(moved))
    assert is_colour(tile(images[0], 2, 1), AGENT_RGB).any()
    assert not is_colour(tile(images[0], 1, 1), AGENT_RGB).any()
