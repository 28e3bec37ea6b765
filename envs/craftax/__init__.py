"""Craftax-Classic (symbolic observations) as a UED environment: a level is a compact world (the
block map and the player's start), reset by writing it into a template state.

Quick use::

    from envs.craftax import CraftaxEnv
    env = CraftaxEnv(max_steps=1000)
    level = env.sample_level(jax.random.key(0))  # Craftax's world generation (slow: per level)
    obs, state = env.reset_to_level(key, level)  # a few array copies
    obs, state, reward, terminated, truncated, info = env.step(key, state, 5)
    info["outcomes"]  # the 22 achievements unlocked so far, f32[22]

Importing the package registers ``--env craftax-classic``.
"""

from .env import CraftaxEnv
from .levels import ACHIEVEMENTS, CraftaxLevel, block_counts, generate, mutate, render_level
from .registration import CRAFTAX_CLASSIC, CraftaxConfig, WorldSeedSuite

__all__ = ["ACHIEVEMENTS", "CRAFTAX_CLASSIC", "CraftaxConfig", "CraftaxEnv", "CraftaxLevel"]
__all__ += ["WorldSeedSuite", "block_counts", "generate", "mutate", "render_level"]
