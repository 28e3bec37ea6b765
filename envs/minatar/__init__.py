"""gymnax's MinAtar games as UED environments whose levels are the games' integer timers
(``envs.minatar.levels``), played by ``envs.control.ControlEnv`` (the gymnax adapter).

Quick use::

    from envs.control import ControlEnv
    from envs.minatar import SPACES
    env = ControlEnv(SPACES["space-invaders"])
    level = env.sample_level(jax.random.key(0))  # enemy move and shot intervals

Importing the package registers ``--env breakout``, ``--env space-invaders``, ``--env asterix``
and ``--env freeway``.
"""

from .levels import SPACES
from .registration import MINATAR

__all__ = ["MINATAR", "SPACES"]
