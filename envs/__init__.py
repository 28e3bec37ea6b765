"""Environment families. Importing this package registers every built-in family in
``ued.registry.ENVS`` with its capabilities (see ``ued.env.EnvSpec``):

* ``--env maze`` (``envs.maze``): success, oracle, mutator, renderer, text format, suites,
  descriptors, encoder.
"""

from __future__ import annotations

from . import maze

__all__ = ["maze"]
