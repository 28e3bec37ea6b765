"""Registry entries of gymnax's MinAtar games: ``--env breakout``, ``--env space-invaders``,
``--env asterix`` and ``--env freeway`` (10x10 boolean image observations, flattened for the
MLP student; no success signal: they are scored by their return)."""

from __future__ import annotations

from envs.control.registration import ControlConfig, gymnax_spec
from ued import registry
from ued.config import NetworkConfig, PPOConfig, TrainConfig, tiny_test_config
from ued.errors import ConfigError

from .levels import SPACES


def preset(env_name: str, name: str, algo: str) -> TrainConfig:
    """Presets: ``test`` (tiny, 32-step episodes), ``cpu`` (32 envs x 128 steps, 1,000 updates
    = 4.1M env steps) and ``paper`` (64 x 128 steps, 1,200 updates = 9.8M env steps, the
    scale MinAtar PPO baselines train at). PPO at lr 5e-3 annealed, 4 epochs of 8 minibatches,
    a 64-unit MLP on the flattened image, gymnax's time limits."""
    if name == "test":
        return tiny_test_config(env_name, ControlConfig(max_steps=32), ("default",))
    if name not in ("cpu", "paper"):
        raise ConfigError(f"preset: unknown preset {name!r}; choose one of test, cpu, paper")
    cpu = name == "cpu"
    ppo = PPOConfig(
        num_envs=32 if cpu else 64, num_steps=128, lr=5e-3, epochs=4, minibatches=8,
        gamma=0.99, gae_lambda=0.95, ent_coef=0.01,
    )  # fmt: skip
    suites = ("default", "grid", "random") if SPACES[env_name].grid else ("default",)
    return TrainConfig(
        env=env_name, preset=name, updates=1000 if cpu else 1200,
        updates_per_chunk=25 if cpu else 50, eval_every=100 if cpu else 200,
        checkpoint_every=100 if cpu else 200, eval_suites=suites, eval_attempts=4 if cpu else 10,
        eval_levels=16 if cpu else 64, env_config=ControlConfig(),
        network=NetworkConfig(cell="none", hidden_size=64, head_hidden=64), ppo=ppo,
    )  # fmt: skip


MINATAR = {
    name: registry.ENVS.register(name, gymnax_spec(name, space, preset))
    for name, space in SPACES.items()
}
"""``--env breakout``, ``--env space-invaders``, ``--env asterix``, ``--env freeway``."""

__all__ = ["MINATAR", "preset"]
