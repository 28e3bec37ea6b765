"""Name -> entry registries for environments and algorithms.

The core never imports ``envs`` or ``algorithms``: each env family and each curriculum registers
itself here when its module is imported. A name may also be declared with the module that
registers it (``register_lazy``, an entry point): the module is imported when the name is first
looked up, so a program imports only the families it uses. The application layer
(``ued.app.builtins``) declares the built-in ones that way; a user's own env or curriculum
registers either way from any module.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Generic, TypeVar

from .errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """A mapping from names to entries that refuses to overwrite a name.

    Args:
        kind: what the entries are, for messages (``"env"``, ``"algorithm"``).
        field: the config field that selects an entry (``"env"``, ``"algo"``).
    """

    def __init__(self, kind: str, field: str):
        self.kind, self.field = kind, field
        self._entries: dict[str, T] = {}
        self._lazy: dict[str, str] = {}

    def register(self, name: str, entry: T) -> T:
        """Add ``entry`` under ``name`` (which may have been declared by ``register_lazy``);
        raises ``ValueError`` if the name is taken. Returns the entry (so it can be used as an
        expression)."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"a {self.kind} name must be a non-empty string, got {name!r}")
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._lazy.pop(name, None)
        self._entries[name] = entry
        return entry

    def register_lazy(self, name: str, module: str) -> None:
        """Declare that importing ``module`` (a dotted name) registers ``name``; the module is
        imported when ``name`` is first looked up. A name already registered is left alone."""
        if name not in self._entries:
            self._lazy[name] = module

    def unregister(self, name: str) -> None:
        """Remove ``name`` (for tests that register a temporary entry)."""
        self._entries.pop(name, None)
        self._lazy.pop(name, None)

    def get(self, name: str) -> T:
        """The entry called ``name`` (importing its module first if it was declared lazily);
        raises ``ConfigError`` naming the config field and the registered names if there is
        none."""
        if isinstance(name, str) and name in self._lazy:
            module = self._lazy[name]
            importlib.import_module(module)
            if name in self._lazy:
                raise RuntimeError(f"importing {module} did not register {self.kind} {name!r}")
        if not isinstance(name, str) or name not in self._entries:
            raise ConfigError(
                f"{self.field}: unknown {self.kind} {name!r}; choose one of {sorted(self)}"
            )
        return self._entries[name]

    def __getitem__(self, name: str) -> T:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._entries or name in self._lazy

    def __iter__(self) -> Iterator[str]:
        """Every name, registered or declared (declared ones are not imported)."""
        return iter(sorted({*self._entries, *self._lazy}))

    def __len__(self) -> int:
        return len({*self._entries, *self._lazy})

    def items(self):
        """``(name, entry)`` pairs, sorted by name (importing every declared module)."""
        return [(name, self.get(name)) for name in self]


ENVS: Registry = Registry("env", "env")
"""Registered environment families (``ued.env.EnvSpec``), filled by ``envs`` and user code."""

ALGORITHMS: Registry = Registry("algorithm", "algo")
"""Registered curricula (``ued.curriculum.AlgorithmSpec``), filled by ``algorithms``."""

LEARNERS: Registry = Registry("learner", "learner")
"""Registered student learners (``ued.learner.LearnerSpec``): ``ppo`` (``ued.ppo``) and user
code's."""

META_ALGORITHMS: Registry = Registry("meta-algorithm", "algo")
"""Registered meta-algorithms (``ued.meta.curriculum.MetaAlgorithmSpec``): where meta-training's
inner agents get their levels, filled by ``algorithms``."""
