"""Craftax-Classic (symbolic observations) as a UED environment whose levels are compact worlds.

``reset_to_level`` writes a ``CraftaxLevel`` into a template t=0 state (one generated world, made
once per env), so resetting costs a few array copies instead of world generation. Steps are
Craftax's own ``craftax_step``; Craftax's ``done`` is split into ``terminated`` (death, lava) and
``truncated`` (the time limit). There is no success signal: ``info["outcomes"]`` holds the
episode's 22 achievements so far (``f32[22]``, 0/1), which evaluation reports as success rates.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
from craftax.craftax_classic.constants import BlockType
from craftax.craftax_classic.envs.craftax_state import EnvParams, EnvState, StaticEnvParams
from craftax.craftax_classic.envs.craftax_symbolic_env import (
    get_flat_map_obs_shape,
    get_inventory_obs_shape,
)
from craftax.craftax_classic.game_logic import craftax_step
from craftax.craftax_classic.renderer import render_craftax_symbolic
from craftax.craftax_classic.world_gen import generate_world

from ued.env import Environment

from .levels import ACHIEVEMENTS, CraftaxLevel, generate


def _strong(tree):
    """``tree`` with every leaf a strongly typed array (Craftax's dataclass defaults are Python
    ints and floats, which would make weak types and recompiles)."""
    return jax.tree_util.tree_map(
        lambda x: jax.lax.convert_element_type(x, jnp.asarray(x).dtype), tree
    )


@dataclasses.dataclass(frozen=True, eq=False)
class CraftaxEnv(Environment):
    """Craftax-Classic with symbolic observations (``f32[1345]``) and 17 actions.

    Attributes:
        max_steps: the episode time limit (Craftax's is 10,000).
    """

    max_steps: int = 10_000
    num_actions = 17
    truncates = True
    outcome_names = tuple(f"achievement/{name}" for name in ACHIEVEMENTS)

    def __post_init__(self):
        params = EnvParams(max_timesteps=self.max_steps)
        object.__setattr__(self, "_params", params)
        object.__setattr__(self, "_static", StaticEnvParams())

    @property
    def template(self) -> EnvState:
        """The t=0 state every level is written into (generated once, eagerly even under a
        trace, and cached)."""
        cached = self.__dict__.get("_template")
        if cached is None:
            with jax.ensure_compile_time_eval():  # concrete even when first asked in a trace
                world = jax.jit(lambda key: generate_world(key, self._params, self._static))
                cached = _strong(world(jax.random.key(0)))
            object.__setattr__(self, "_template", cached)
        return cached

    def sample_level(self, key: jax.Array) -> CraftaxLevel:
        """A world from Craftax's generator (slow: call it once per level, not per step)."""
        return generate(key, self._params)

    def state_of(self, key: jax.Array, level: CraftaxLevel) -> EnvState:
        """The full t=0 ``EnvState`` of ``level``, with in-game randomness from ``key``."""
        return self.template.replace(
            map=level.map.astype(jnp.int32),
            player_position=level.player_position.astype(jnp.int32),
            state_rng=key,
        )

    def reset_to_level(self, key: jax.Array, level: CraftaxLevel):
        """Start an episode in ``level``'s world."""
        state = self.state_of(key, level)
        return render_craftax_symbolic(state), state

    def step(self, key: jax.Array, state: EnvState, action):
        """One Craftax transition: ``terminated`` on death or lava, ``truncated`` at the time
        limit; ``info["outcomes"]`` the achievements unlocked so far in the episode."""
        state, reward = craftax_step(key, state, jnp.asarray(action, jnp.int32), self._params,
                                     self._static)  # fmt: skip
        state = _strong(state)
        position = state.player_position
        in_lava = state.map[position[0], position[1]] == BlockType.LAVA.value
        terminated = (state.player_health <= 0) | in_lava
        truncated = (state.timestep >= self.max_steps) & ~terminated
        info = {"outcomes": state.achievements.astype(jnp.float32)}
        obs = render_craftax_symbolic(state)
        return obs, state, jnp.asarray(reward, jnp.float32), terminated, truncated, info

    def dummy_observation(self) -> jax.Array:
        """A zero observation (``f32[1345]``)."""
        return jnp.zeros((get_flat_map_obs_shape() + get_inventory_obs_shape(),), jnp.float32)


__all__ = ["CraftaxEnv", "CraftaxLevel"]
