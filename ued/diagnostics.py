"""Curriculum diagnostics computed on the host between chunks (never inside the jitted scan).

Oracle statistics are expensive (minimax spent most of a PLR tick computing shortest paths every
update), so they are computed here on samples: the levels of each chunk's last update, and at
every evaluation the buffer's most-replayed levels. Rows (``update, seed, statistic, value``) go
to ``curriculum.csv`` through the host loop; buffer level grids to ``plots/buffer_<update>.png``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

BUFFER_SAMPLE = 512  # buffer levels examined per evaluation (highest replay weight first)
GRID = 16  # levels per row of the buffer image


def _seed_tree(tree, index: int, several: bool):
    return jax.tree_util.tree_map(lambda x: x[index], tree) if several else tree


class Diagnostics:
    """Level statistics of what a curriculum trains on and keeps, as rows for ``curriculum.csv``.

    Statistics are the env family's declared ``descriptors`` (the maze: walls, shortest path,
    solvable); each is averaged over the levels where it is defined (not NaN), unweighted or
    weighted by replay probability. Without descriptors only the buffer images are made, and
    those need the ``renderer`` capability.

    Args:
        seeds: the run's seeds.
        several: whether states and levels carry a seed axis.
        spec: the env's registry entry.
        env: the training env.
        curriculum: the curriculum (its ``inspect(state)`` exposes a buffer, or returns None).
    """

    def __init__(self, seeds, several: bool, spec, env, curriculum):
        self.seeds, self.several = tuple(seeds), several
        self.spec = spec
        self._stats = (
            jax.jit(lambda levels: spec.descriptors(env, levels)) if spec.descriptors else None
        )
        self.curriculum = curriculum
        self._inspect = jax.jit(curriculum.inspect)

    @staticmethod
    def _rows(update: int, seed: int, prefix: str, stats, weights=None):
        rows = []
        for name, values in stats.items():
            values = np.asarray(values, np.float64)
            w = np.ones(values.size) if weights is None else np.asarray(weights, np.float64)
            defined = ~np.isnan(values)
            total = np.sum(w * defined)
            mean = np.sum(np.where(defined, w * values, 0.0)) / max(total, 1e-12)
            rows.append(
                {"update": update, "seed": seed, "statistic": f"{prefix}{name}", "value": mean}
            )
        return rows

    def trained_levels(self, update: int, levels) -> list[dict]:
        """Rows for the levels of one update (``levels [B]``, or ``[S, B]``)."""
        if self._stats is None:
            return []
        rows = []
        for i, seed in enumerate(self.seeds):
            stats = self._stats(_seed_tree(levels, i, self.several))
            rows += self._rows(update, seed, "trained/", stats)
        return rows

    def buffer(self, update: int, curriculum_state, plots_dir: Path) -> list[dict]:
        """Buffer statistics (unweighted and replay-weighted, over the ``BUFFER_SAMPLE``
        most-likely levels), and images of seed 0's best-scoring and most-likely levels and of
        its replay distribution in ``plots_dir``. No rows for curricula without a buffer. A
        curriculum whose ``inspect`` returns ``captions`` keeps generated levels instead (PAIRED):
        their statistics and a captioned grid (``generated_<update>.png``)."""
        if jax.eval_shape(self._inspect, _seed_tree(curriculum_state, 0, self.several)) is None:
            return []
        rows = []
        for i, seed in enumerate(self.seeds):
            view = self._inspect(_seed_tree(curriculum_state, i, self.several))
            if "captions" in view:  # generated levels (PAIRED), not a buffer
                rows += self._generated(update, seed, view, plots_dir if i == 0 else None)
                continue
            weights = np.where(view["filled"], view["weights"], -1.0)
            top = np.argsort(-weights, kind="stable")[: min(BUFFER_SAMPLE, weights.size)]
            top = top[np.asarray(view["filled"])[top]]
            if top.size == 0:
                continue
            stats = {}
            if self._stats is not None:
                levels = jax.tree_util.tree_map(
                    lambda x, top=top: jnp.asarray(x)[top], view["levels"]
                )
                stats = dict(self._stats(levels))
            # Per-level side data a curriculum keeps (GROOVE: A2C's and LPG's returns).
            stats.update({k: np.asarray(v)[top] for k, v in view.get("extras", {}).items()})
            if stats:
                rows += self._rows(update, seed, "buffer/", stats)
                rows += self._rows(
                    update, seed, "buffer/weighted_", stats, np.asarray(view["weights"])[top]
                )
            rows += self._quantiles(update, seed, np.asarray(view["scores"])[top])
            if i == 0:
                if self.spec.render_level is not None:
                    self._image(update, view, plots_dir)
                self._mass(update, view, plots_dir)
        return rows

    @staticmethod
    def _quantiles(update: int, seed: int, scores: np.ndarray) -> list[dict]:
        """The distribution of buffer scores: rows ``buffer/score_q{10,25,50,75,90}``."""
        return [
            {"update": update, "seed": seed, "statistic": f"buffer/score_q{q}",
             "value": float(np.quantile(scores, q / 100))}
            for q in (10, 25, 50, 75, 90)
        ]  # fmt: skip

    def _generated(self, update: int, seed: int, view: dict[str, Any], plots_dir) -> list[dict]:
        """Rows for one seed's last generated levels (``generated_eval/...``) and, with
        ``plots_dir``, their images captioned with ``view["captions"]`` (e.g. P/A/R)."""
        rows = []
        if self._stats is not None:
            rows = self._rows(update, seed, "generated_eval/", self._stats(view["levels"]))
        if plots_dir is None or self.spec.render_level is None:
            return rows
        import matplotlib.pyplot as plt

        from .plots import level_grid

        count = min(2 * GRID, int(np.asarray(view["filled"]).sum()))
        levels = jax.tree_util.tree_map(lambda x: jnp.asarray(x)[:count], view["levels"])
        images = np.asarray(jax.vmap(self.spec.render_level)(levels))
        # jit returns dicts with sorted keys: restore the curriculum's caption order.
        order = self.curriculum.caption_order or sorted(view["captions"])
        captions = {k: np.asarray(view["captions"][k]) for k in order if k in view["captions"]}
        titles = [" ".join(f"{k} {v[i]:.2f}" for k, v in captions.items()) for i in range(count)]
        fig = level_grid(
            images, titles, ncols=GRID, suptitle=f"update {update}: generated levels (seed {seed})"
        )
        fig.savefig(plots_dir / f"generated_{update:06d}.png", dpi=90)
        plt.close(fig)
        return rows

    def _mass(self, update: int, view: dict[str, Any], plots_dir: Path) -> None:
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
        fig.savefig(plots_dir / f"mass_{update:06d}.png", dpi=90)
        plt.close(fig)

    def _image(self, update: int, view: dict[str, Any], plots_dir: Path) -> None:
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
        fig.savefig(plots_dir / f"buffer_{update:06d}.png", dpi=90)
        plt.close(fig)
