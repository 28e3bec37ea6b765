"""Where a run's numbers go besides its CSV files: TensorBoard and Weights & Biases, chosen with
``--log csv,tensorboard,wandb``. The CSV files are always written (resuming and ``ued report``
read them); the other loggers mirror them with the same names:

* every ``metrics.csv`` column (``student/return``, ``curriculum/...``) at its update;
* every ``curriculum.csv`` statistic (``trained/walls``, ``buffer/weighted_shortest_path``);
* evaluations as ``eval/<suite>/<statistic>`` (the mean over the suite's levels), and the
  Markdown summary table of each evaluation as text (TensorBoard) or a table (wandb);
* the level images the run draws (``plots/buffer_<update>.png``, ``mass_...``, ``generated_...``)
  as images, tagged by their prefix.

Each seed is its own TensorBoard run (``<out>/tensorboard/seed_<s>``) and its own wandb run
(grouped by the run directory's name), so the names match the CSVs'. wandb runs offline unless
``WANDB_MODE`` says otherwise (its files go to ``<out>/wandb``; ``wandb sync`` uploads them).
The extras are optional: ``pip install 'ued-toolkit[tensorboard]'`` / ``'ued-toolkit[wandb]'``.
"""

from __future__ import annotations

import importlib
import os
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ConfigError

LOGGERS = ("csv", "tensorboard", "wandb")
EXTRAS = {"tensorboard": "tensorboardX", "wandb": "wandb"}
"""The optional extra of each logger and the package it installs."""


def parse(text: str | Sequence[str]) -> tuple[str, ...]:
    """``"csv,tensorboard"`` -> ``("csv", "tensorboard")``; ``ConfigError`` naming ``log`` for
    an unknown name. ``csv`` is always included."""
    names = text.split(",") if isinstance(text, str) else list(text)
    names = [n.strip() for n in names if n.strip()]
    unknown = [n for n in names if n not in LOGGERS]
    if unknown:
        raise ConfigError(f"log: unknown logger {unknown[0]!r}; choose from {', '.join(LOGGERS)}")
    return tuple(dict.fromkeys(["csv", *names]))


def _require(name: str):
    """Import the package behind logger ``name`` or raise ``ConfigError`` naming the extra."""
    package = EXTRAS[name]
    try:
        return importlib.import_module(package)
    except ImportError:
        raise ConfigError(
            f"log: the {name} logger needs the optional extra: "
            f"pip install 'ued-toolkit[{name}]' (the {package} package is not installed)"
        ) from None


def check_available(names: Sequence[str]) -> None:
    """Raise ``ConfigError`` before anything is compiled if a chosen logger's extra is missing."""
    for name in names:
        if name in EXTRAS:
            _require(name)


def _eval_scalars(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """``{seed: {"eval/<suite>/<statistic>": mean over levels}}`` (aggregate rows, e.g. α-CVaR,
    as ``eval/<suite>/<statistic>@<alpha>``)."""
    sums: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        name = f"eval/{r['suite']}/{r['statistic']}"
        if r["level"] == "*":
            name += f"@{r['alpha']}"
        sums[str(r["seed"])][name].append(float(r["value"]))
    return {seed: {k: float(np.mean(v)) for k, v in d.items()} for seed, d in sums.items()}


def _image(path: Path) -> np.ndarray:
    """A PNG as ``uint8[H, W, 3]``."""
    import matplotlib.image

    pixels = matplotlib.image.imread(path)[..., :3]
    return (pixels * 255).round().astype(np.uint8) if pixels.dtype != np.uint8 else pixels


class _TensorBoard:
    def __init__(self, out: Path, seeds: Sequence[int], start: int):
        tensorboardx = _require("tensorboard")
        # purge_step drops what an interrupted run logged after its last checkpoint.
        self.writers = {
            str(seed): tensorboardx.SummaryWriter(
                str(out / "tensorboard" / f"seed_{seed}"), purge_step=start or None
            )
            for seed in seeds
        }

    def scalars(self, seed: str, update: int, values: dict[str, float]) -> None:
        writer = self.writers[seed]
        for name, value in values.items():
            writer.add_scalar(name, value, global_step=update)

    def table(self, update: int, name: str, markdown: str) -> None:
        for writer in self.writers.values():
            writer.add_text(name, markdown, global_step=update)

    def image(self, update: int, name: str, pixels: np.ndarray) -> None:
        for writer in self.writers.values():
            writer.add_image(name, pixels, global_step=update, dataformats="HWC")

    def close(self) -> None:
        for writer in self.writers.values():
            writer.close()


class _Wandb:
    def __init__(self, out: Path, seeds: Sequence[int], config: dict[str, Any]):
        wandb = _require("wandb")
        self.wandb = wandb
        (out / "wandb").mkdir(parents=True, exist_ok=True)
        self.runs = {
            str(seed): wandb.init(
                project=os.environ.get("WANDB_PROJECT", "ued"),
                name=f"{out.name}-seed{seed}",
                group=out.name,
                dir=str(out),
                mode=os.environ.get("WANDB_MODE", "offline"),
                config={**config, "seed": seed},
                reinit="create_new",
                settings=wandb.Settings(silent=True, console="off"),
            )
            for seed in seeds
        }

    def scalars(self, seed: str, update: int, values: dict[str, float]) -> None:
        self.runs[seed].log(values, step=update)

    def table(self, update: int, name: str, markdown: str) -> None:
        lines = [line.strip().strip("|") for line in markdown.splitlines() if line.strip()]
        rows = [[c.strip() for c in line.split("|")] for line in lines if set(line) - set("-| ")]
        if len(rows) < 2:
            return
        for run in self.runs.values():
            run.log({name: self.wandb.Table(columns=rows[0], data=rows[1:])}, step=update)

    def image(self, update: int, name: str, pixels: np.ndarray) -> None:
        for run in self.runs.values():
            run.log({name: self.wandb.Image(pixels)}, step=update)

    def close(self) -> None:
        for run in self.runs.values():
            run.finish()


class Loggers:
    """The chosen loggers beyond the CSVs, fed by the host loop (only the writing process).

    Args:
        names: from ``parse`` (``csv`` is ignored here: the loop writes the CSVs itself).
        out: the run directory.
        seeds: the run's seeds.
        config: the run's config as a dict.
        start: the update the run starts or resumes from.
    """

    def __init__(self, names: Sequence[str], out: Path, seeds, config: dict[str, Any], start=0):
        self.sinks: list[Any] = []
        self.plots = Path(out) / "plots"
        if "tensorboard" in names:
            self.sinks.append(_TensorBoard(Path(out), seeds, start))
        if "wandb" in names:
            self.sinks.append(_Wandb(Path(out), seeds, config))

    def __bool__(self) -> bool:
        return bool(self.sinks)

    def metrics(self, rows: list[dict[str, Any]]) -> None:
        """``metrics.csv`` rows (one per update and seed)."""
        for row in rows:
            values = {k: float(v) for k, v in row.items() if k not in ("update", "seed")}
            for sink in self.sinks:
                sink.scalars(str(row["seed"]), int(row["update"]), values)

    def observed(self, update: int, evaluations: list[dict], diagnostics: list[dict]) -> None:
        """An evaluation point's or chunk's ``eval.csv`` and ``curriculum.csv`` rows, and the
        level images drawn for ``update``."""
        from .evaluate import summary_table

        per_seed: dict[str, dict[str, float]] = defaultdict(dict)
        for seed, values in _eval_scalars(evaluations).items():
            per_seed[seed].update(values)
        for r in diagnostics:
            per_seed[str(r["seed"])][r["statistic"]] = float(r["value"])
        images = sorted(self.plots.glob(f"*_{update:06d}.png")) if self.plots.is_dir() else []
        for sink in self.sinks:
            for seed, values in per_seed.items():
                sink.scalars(seed, update, values)
            if evaluations:
                sink.table(update, "eval/summary", summary_table(evaluations))
            for path in images:
                sink.image(update, "levels/" + path.stem.rsplit("_", 1)[0], _image(path))

    def close(self) -> None:
        """Flush and close every logger."""
        for sink in self.sinks:
            sink.close()
