# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # What each curriculum trains on
#
# Every curriculum on the 13x13 maze draws from the same generator (25 walls); what differs is
# which levels it keeps and replays. This notebook reads the agents shipped with the library
# (`checkpoints/`, cpu preset, 1,000 updates x 3 seeds each) and their curriculum snapshots:
# at every 250 updates, each seed's buffer (scores, replay probabilities, level descriptors and
# the 32 levels most likely to be replayed), NCC's adversary distribution, and PAIRED's
# generated levels. Nothing is trained or downloaded here; `ued ship` makes these files from any
# run, and `ued report` draws the same distributions for your own runs.

# %%
# %matplotlib inline
import os
import tempfile
from pathlib import Path

import jax
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Image, Markdown, display

from envs.maze import UNREACHABLE, MazeConfig, make_maze, render_level
from envs.maze.level import wall_count
from envs.maze.oracle import shortest_path_length
from ued import shipped
from ued.app.report import open_runs, run_snapshots
from ued.plots import compare_runs, level_grid

N = int(os.environ.get("UED_NOTEBOOK_LEVELS", 4000))  # DR samples (the test-suite draws fewer)
runs = {run.name: run for run in open_runs([f"shipped:{n}" for n in shipped.names()])}
snaps = {name: s for name, run in runs.items() if (s := run_snapshots(run)) is not None}
lines = [
    "| agent | algorithm | seeds | updates | classic solve rate (per seed) |",
    "|---|---|---|---|---|",
]
for name, run in runs.items():
    m = shipped.manifest(run.path)
    rates = " / ".join(f"{v:.2f}" for v in m["holdout"]["solve_rate"]["classic"].values())
    lines.append(f"| {name} | {m['algo']} | {len(m['seeds'])} | {m['updates']} | {rates} |")
display(Markdown("\n".join(lines)))
print("with curriculum snapshots:", ", ".join(snaps))

# %% [markdown]
# ## The DR distribution
# Domain randomisation trains on fresh draws of the generator: 25 wall cells drawn with
# replacement (so 18-25 distinct walls), agent and goal on free cells; a few levels are
# unsolvable (the walls cut the agent off from the goal).

# %%
env = make_maze(MazeConfig())
keys = jax.random.split(jax.random.key(0), N)
dr_levels = jax.jit(jax.vmap(env.sample_level))(keys)
dr_path = np.asarray(jax.jit(jax.vmap(shortest_path_length))(dr_levels)).astype(float)
dr_walls = np.asarray(wall_count(dr_levels)).astype(float)
dr_solvable = dr_path < UNREACHABLE
dr_path[~dr_solvable] = np.nan
print(f"DR: {dr_solvable.mean():.1%} solvable, walls {dr_walls.mean():.1f}, "
      f"shortest path {np.nanmean(dr_path):.1f} (solvable levels)")  # fmt: skip
first = jax.tree_util.tree_map(lambda x: x[:16], dr_levels)
titles = [f"path {p:.0f}" if np.isfinite(p) else "unsolvable" for p in dr_path[:16]]
level_grid(np.asarray(jax.vmap(render_level)(first)), titles, ncols=8, suptitle="DR levels");

# %% [markdown]
# ## Buffer levels over training
# Each row: one checkpoint of seed 0; the 8 levels the curriculum was most likely to replay
# next, titled with their score (PLR/ACCEL: positive value loss; SFL: learnability; NCC: oracle
# regret) and replay probability.

# %%
for name, snap in snaps.items():
    if snap.generated:
        continue
    images, titles = [], []
    for k, step in enumerate(snap.steps):
        levels = jax.tree_util.tree_map(lambda x: x[:8], snap.levels(k, 0))
        images.append(np.asarray(jax.vmap(render_level)(levels)))
        slots = snap.top_index[k, 0, :8]
        titles += [f"u{step} s {snap.scores[k, 0, i]:.2f} P {snap.weights[k, 0, i]:.3f}"
                   for i in slots]  # fmt: skip
    level_grid(np.concatenate(images), titles, ncols=8, suptitle=f"{name}: most replayed levels");

# %% [markdown]
# ## Score against shortest path
# At the last checkpoint, every buffer slot of every seed: what the score rewards.

# %%
buffers = {n: s for n, s in snaps.items() if not s.generated}
fig, axes = plt.subplots(1, len(buffers), figsize=(3.4 * len(buffers), 3), squeeze=False)
for ax, (name, snap) in zip(axes[0], buffers.items()):
    k = -1
    path = snap.descriptors["shortest_path"][k]
    keep = snap.filled[k] & np.isfinite(path)
    ax.scatter(path[keep], snap.scores[k][keep], s=3, alpha=0.3)
    corr = np.corrcoef(path[keep], snap.scores[k][keep])[0, 1]
    ax.set_title(f"{name} (r = {corr:.2f})", fontsize=9)
    ax.set_xlabel("shortest path")
axes[0, 0].set_ylabel("score")
plt.tight_layout()

# %% [markdown]
# ## Walls and path lengths: buffers against DR
# Replay-weighted histograms at the last checkpoint (seeds pooled), DR's draws in grey.

# %%
fig, axes = plt.subplots(1, 3, figsize=(13, 3.2))
axes[0].hist(dr_walls, bins=np.arange(10, 40) - 0.5, density=True, color="grey", alpha=0.4,
             label="DR")  # fmt: skip
axes[1].hist(dr_path[dr_solvable], bins=np.arange(0, 60, 2), density=True, color="grey", alpha=0.4,
             label="DR")  # fmt: skip
for name, snap in buffers.items():
    k = -1
    weights = np.where(snap.filled[k], snap.weights[k], 0.0).ravel()
    walls = snap.descriptors["walls"][k].ravel()
    path = snap.descriptors["shortest_path"][k].ravel()
    ok = np.isfinite(path)
    axes[0].hist(walls, bins=np.arange(10, 40) - 0.5, weights=weights / weights.sum(),
                 histtype="step", lw=1.4, label=name)  # fmt: skip
    axes[1].hist(path[ok], bins=np.arange(0, 60, 2), weights=weights[ok] / weights[ok].sum(),
                 histtype="step", lw=1.4, label=name)  # fmt: skip
    solvable = np.nanmean(np.where(snap.filled, snap.descriptors["solvable"], np.nan), axis=(1, 2))
    axes[2].plot(snap.steps * runs[name].config.steps_per_update, solvable, marker="o", label=name)
axes[0].set_xlabel("walls")
axes[1].set_xlabel("shortest path (solvable levels)")
axes[2].set_xlabel("env steps")
axes[2].set_ylabel("solvable fraction of the buffer")
axes[2].set_ylim(0, 1.05)
for ax in axes:
    ax.legend(fontsize=7)
plt.tight_layout()

# %% [markdown]
# ## Replay probability against rank
# How concentrated each curriculum's replay distribution is (mean over seeds, last checkpoint).
# Rank-based prioritisation (PLR, ACCEL, temperature 0.3) puts a power law on the buffer; SFL
# samples its buffer uniformly; NCC's adversary y concentrates where regret is highest.

# %%
fig, ax = plt.subplots(figsize=(5.5, 3.6))
for name, snap in buffers.items():
    mass = np.sort(np.where(snap.filled[-1], snap.weights[-1], 0.0), axis=-1)[:, ::-1].mean(0)
    count = int(snap.filled[-1].sum(-1).min())
    top = mass[: max(1, count // 10)].sum()
    ax.plot(np.arange(1, count + 1), mass[:count], label=f"{name} (top 10%: {top:.0%} of mass)")
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel("rank")
ax.set_ylabel("replay probability")
ax.legend(fontsize=7);

# %% [markdown]
# ## NCC's adversary distribution
# NCC-reg keeps a fixed-size buffer and an adversary distribution y over it, updated by
# mirror ascent on the student's regret. Its effective support exp(H(y)) shrinks as y
# concentrates on the levels with the highest oracle regret.

# %%
ncc = next((n for n in buffers if n.startswith("ncc")), None)
if ncc is None:
    print("no NCC agent shipped")
else:
    snap = buffers[ncc]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.2))
    y = np.where(snap.filled, snap.weights, 0.0)
    entropy = -(y * np.log(np.clip(y, 1e-30, None))).sum(-1)  # [K, S]
    for s, seed in enumerate(snap.seeds):
        axes[0].plot(snap.steps, np.exp(entropy[:, s]), marker="o", label=f"seed {seed}")
    axes[0].axhline(snap.filled.shape[-1], color="grey", ls="--", lw=0.8, label="uniform")
    axes[0].set_xlabel("update")
    axes[0].set_ylabel("effective support exp(H(y))")
    axes[0].legend(fontsize=7)
    for k in range(len(snap.steps)):
        axes[1].plot(np.sort(y[k, 0])[::-1], label=f"update {snap.steps[k]}")
    axes[1].set_yscale("log")
    axes[1].set_xlabel("buffer level (sorted by y), seed 0")
    axes[1].set_ylabel("y")
    axes[1].legend(fontsize=7)
    axes[2].scatter(snap.scores[-1].ravel(), y[-1].ravel(), s=3, alpha=0.4)
    axes[2].set_xlabel("oracle regret (score)")
    axes[2].set_ylabel("y")
    axes[2].set_yscale("log")
    plt.tight_layout()

# %% [markdown]
# ## PAIRED's generated levels
# The adversary builds each level cell by cell (25 walls, then the goal and the agent: DR's
# budget); its reward is the regret clipped at 0 (antagonist's best return minus the
# protagonist's mean). The last update's levels at each checkpoint, captioned with P
# (protagonist), A (antagonist) and R (the adversary's reward).

# %%
generated = {n: s for n, s in snaps.items() if s.generated}
for name, snap in generated.items():
    for k in (0, len(snap.steps) - 1):
        levels = jax.tree_util.tree_map(lambda x: x[:16], snap.levels(k, 0))
        slots = snap.top_index[k, 0, :16]
        titles = [" ".join(f"{c} {snap.captions[c][k, 0, i]:.2f}" for c in ("P", "A", "R")
                           if c in snap.captions) for i in slots]  # fmt: skip
        level_grid(np.asarray(jax.vmap(render_level)(levels)), titles, ncols=8,
                   suptitle=f"{name}, update {snap.steps[k]} (seed 0)")  # fmt: skip
    walls = np.nanmean(snap.descriptors["walls"], axis=-1)
    solvable = np.nanmean(snap.descriptors["solvable"], axis=-1)
    print(name, "walls per checkpoint (mean over seeds):", np.round(walls.mean(1), 1),
          "solvable:", np.round(solvable.mean(1), 2))  # fmt: skip
if not generated:
    print("no generator agent shipped")

# %% [markdown]
# ## Over the whole of training
# From the agents' `curriculum.csv`: the descriptors of the levels rolled out at every chunk and
# of the replay-weighted buffer at every evaluation, mean ± s.e. over seeds (the same figure as
# `ued report`'s).

# %%
figure = Path(tempfile.mkdtemp()) / "training.png"
compare_runs({name: run.path for name, run in runs.items()}, figure)
display(Image(str(figure)))
