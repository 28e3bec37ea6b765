"""gymnax's classic-control tasks as UED environments whose levels are physical parameters
(CartPole, Acrobot, MountainCar, and Pendulum with continuous actions): level spaces, the env
adapter and registry entries.

Quick use::

    from envs.control import SPACES, ControlEnv
    env = ControlEnv(SPACES["cartpole"])
    level = env.sample_level(jax.random.key(0))  # pole length, force, masses
    obs, state = env.reset_to_level(key, level)
    obs, state, reward, terminated, truncated, info = env.step(key, state, 1)

Importing the package registers ``--env cartpole``, ``--env acrobot``, ``--env mountain-car`` and
``--env pendulum``.
"""

from .env import ControlEnv, ControlState
from .levels import SPACES, ControlLevel, LevelSpace, Parameter
from .registration import CONTROL, ControlConfig

__all__ = ["CONTROL", "SPACES", "ControlConfig", "ControlEnv", "ControlLevel", "ControlState"]
__all__ += ["LevelSpace", "Parameter"]
