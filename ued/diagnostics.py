"""Curriculum diagnostics computed on the host between chunks (never inside the jitted scan).

Oracle statistics are expensive (minimax spent most of a PLR tick computing shortest paths every
update), so they are computed here on samples: the levels of each chunk's last update, and at
every evaluation the buffer's most-replayed levels. Rows go to ``curriculum.csv``
(``update, seed, statistic, value``); buffer level grids to ``plots/buffer_<update>.png``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .logging import CsvLog

BUFFER_SAMPLE = 512  # buffer levels examined per evaluation (highest replay weight first)
GRID = 16  # levels per row of the buffer image


def _seed_tree(tree, index: int, several: bool):
    return jax.tree_util.tree_map(lambda x: x[index], tree) if several else tree


class Diagnostics:
    """Writes level statistics of what a curriculum trains on and keeps.

    Args:
        out: the run directory.
        seeds: the run's seeds; several: whether state and levels carry a seed axis.
        spec: the env's registry entry (``level_stats``, ``render_level``); env: the training env.
        curriculum: the curriculum (its optional ``inspect(state)`` exposes a buffer).
        keep: row filter for a resumed run's existing ``curriculum.csv``.
    """

    def __init__(self, out: Path, seeds, several: bool, spec, env, curriculum, keep):
        self.out, self.seeds, self.several = Path(out), tuple(seeds), several
        self.spec = spec
        self.log = CsvLog(self.out / "curriculum.csv", keep=keep)
        self._stats = jax.jit(lambda levels: spec.level_stats(env, levels))
        self._inspect = jax.jit(curriculum.inspect) if hasattr(curriculum, "inspect") else None

    def _rows(self, update: int, seed: int, prefix: str, stats, weights=None):
        stats = {k: np.asarray(v) for k, v in stats.items()}
        solvable = stats["solvable"].astype(bool)
        w = np.ones(solvable.size) if weights is None else np.asarray(weights, np.float64)
        w = w / max(w.sum(), 1e-12)
        path = stats["shortest_path"].astype(np.float64)
        values = {
            f"{prefix}walls": float(np.sum(w * stats["walls"])),
            f"{prefix}solvable": float(np.sum(w * solvable)),
            f"{prefix}shortest_path": float(
                np.sum(w * solvable * path) / max(np.sum(w * solvable), 1e-12)
            ),
        }
        return [
            {"update": update, "seed": seed, "statistic": k, "value": v} for k, v in values.items()
        ]

    def trained_levels(self, update: int, levels) -> None:
        """Statistics of the levels of one update (``levels [B]``, or ``[S, B]``)."""
        rows = []
        for i, seed in enumerate(self.seeds):
            stats = self._stats(_seed_tree(levels, i, self.several))
            rows += self._rows(update, seed, "trained/", stats)
        self.log.write(rows)

    def buffer(self, update: int, curriculum_state) -> None:
        """Buffer statistics (unweighted and replay-weighted, over the ``BUFFER_SAMPLE``
        most-likely levels) and an image of the best-scoring and most-likely levels (seed 0)."""
        if self._inspect is None:
            return
        rows = []
        for i, seed in enumerate(self.seeds):
            view = self._inspect(_seed_tree(curriculum_state, i, self.several))
            weights = np.where(view["filled"], view["weights"], -1.0)
            top = np.argsort(-weights, kind="stable")[: min(BUFFER_SAMPLE, weights.size)]
            top = top[np.asarray(view["filled"])[top]]
            if top.size == 0:
                continue
            levels = jax.tree_util.tree_map(lambda x, top=top: jnp.asarray(x)[top], view["levels"])
            stats = self._stats(levels)
            rows += self._rows(update, seed, "buffer/", stats)
            rows += self._rows(
                update, seed, "buffer/weighted_", stats, np.asarray(view["weights"])[top]
            )
            if i == 0:
                self._image(update, view)
                self._mass(update, view)
        self.log.write(rows)

    def _mass(self, update: int, view: dict[str, Any]) -> None:
        """The replay distribution (PLR's P, NCC's y) over filled slots, sorted, log scale."""
        import matplotlib.pyplot as plt

        weights = np.sort(np.asarray(view["weights"])[np.asarray(view["filled"])])[::-1]
        fig, ax = plt.subplots(figsize=(4.5, 3))
        ax.plot(np.arange(1, weights.size + 1), weights, lw=1.2)
        ax.axhline(1.0 / weights.size, color="grey", ls="--", lw=0.8, label="uniform")
        ax.set_yscale("log")
        ax.set_xlabel("buffer level (sorted by mass)")
        ax.set_ylabel("replay probability")
        ax.set_title(f"update {update}", fontsize=9)
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(self.out / "plots" / f"mass_{update:06d}.png", dpi=90)
        plt.close(fig)

    def _image(self, update: int, view: dict[str, Any]) -> None:
        import matplotlib.pyplot as plt

        from .plots import level_grid

        filled = np.asarray(view["filled"])
        scores = np.where(filled, np.asarray(view["scores"]), -np.inf)
        weights = np.where(filled, np.asarray(view["weights"]), -np.inf)
        by_score = np.argsort(-scores, kind="stable")[: min(GRID, int(filled.sum()))]
        by_weight = np.argsort(-weights, kind="stable")[: min(GRID, int(filled.sum()))]
        picks = np.concatenate([by_score, by_weight])
        levels = jax.tree_util.tree_map(lambda x: jnp.asarray(x)[picks], view["levels"])
        images = np.asarray(jax.vmap(self.spec.render_level)(levels))
        titles = [f"score {scores[i]:.3g}" for i in by_score] + [
            f"P {weights[i]:.2g} (s {scores[i]:.2g})" for i in by_weight
        ]
        fig = level_grid(
            images,
            titles,
            ncols=GRID,
            suptitle=f"update {update}: top row highest score, bottom row most "
            "likely to be replayed",
        )
        fig.savefig(self.out / "plots" / f"buffer_{update:06d}.png", dpi=90)
        plt.close(fig)
