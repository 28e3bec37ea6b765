"""The program interface: what the host loop (``ued.loop.run``) runs.

A program is a pure jitted core plus host-side hooks. ``init`` and ``chunk`` are pure functions
of pytrees (``chunk`` runs ``updates_per_chunk`` updates in one ``lax.scan``, compiled once);
``evaluate``, ``inspect`` and ``plots`` run on the host between chunks. UED training
(``ued.train.UEDProgram``) is the first program; meta-training a learned optimiser is another.
The loop owns everything else: the run directory, ``metrics.csv``, progress, periodic evaluation,
orbax checkpoints, bit-exact resume and ``run.json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from .config import LoopConfig
from .parallel import DataParallel


class Program(Protocol):
    """What ``ued.loop.run`` needs, and all it uses.

    Attributes:
        config: the run's config, a ``ued.config.LoopConfig`` (saved as ``config.json``).
        steps_per_update: env steps of one update of one seed (the ``env_steps`` column).
        parallel: the devices the program's batch is split over (``ued.parallel.DataParallel``),
            or None on one device.
    """

    config: LoopConfig
    steps_per_update: int
    parallel: DataParallel | None

    def state_axes(self, state: Any) -> Any:
        """Where each state leaf has its batch axis (``ued.parallel.REPLICATED``: none), for
        laying the state out over ``parallel``'s devices."""

    def init(self, keys: Any) -> Any:
        """The initial state from ``seed_keys()`` (batched over seeds if several)."""

    def seed_keys(self) -> Any:
        """One typed PRNG key per seed (stacked if several)."""

    def chunk(self, state: Any, start: Any) -> tuple[Any, dict[str, Any], Any]:
        """Updates ``start .. start + updates_per_chunk - 1`` (``start`` an ``int32[]``).
        Returns ``(state, metrics, aux)``: metrics ``[U]`` (``[U, S]`` with seeds) arrays and
        whatever the host-side hooks need from the chunk (e.g. the last update's levels)."""

    def evaluate(self, state: Any, update: int, run: str) -> list[dict[str, Any]]:
        """Tidy evaluation rows (``run, seed, update, suite, level, statistic, alpha, value``)."""

    def inspect(
        self, state: Any, update: int, aux: Any, evaluated: bool, plots_dir: Path
    ) -> list[dict[str, Any]]:
        """Diagnostics rows (``update, seed, statistic, value``) for ``curriculum.csv`` after a
        chunk (``aux`` is None at update 0); may write images into ``plots_dir``. ``evaluated``
        says whether this is an evaluation point (where costlier diagnostics belong)."""

    def plots(self, out: Path, aux: Any) -> None:
        """The figures of a finished run, under ``out / "plots"``."""

    def progress(self, last: dict[str, float]) -> dict[str, str]:
        """A few of the latest metrics for the progress bar."""

    def config_differences(self, saved: dict[str, Any]) -> list[str]:
        """Dotted config fields where a saved ``config.json`` dict differs from ``config``
        (``updates`` excepted: a run may be extended)."""

    def config_dict(self) -> dict[str, Any]:
        """The JSON-ready config."""
