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
# # Quick start: a maze by hand, a minute of training, an agent at work
#
# A level is data: a pytree of fixed-shape arrays. Here we write one by hand, step the maze env
# on it, train a student with domain randomisation for about a minute through the Python API
# (the same `ued.app.build` the `ued train` command uses), and watch it play the level next to the
# DR agent shipped with the library (`checkpoints/dr`, 1,000 updates x 3 seeds).

# %%
# %matplotlib inline
import os
import tempfile
from pathlib import Path

import jax
import matplotlib.pyplot as plt
import numpy as np

from envs.maze import (
    FORWARD,
    TURN_LEFT,
    TURN_RIGHT,
    MazeConfig,
    make_maze,
    parse_levels,
    render_level,
    render_state,
)
from envs.maze.oracle import shortest_path_length
from ued.app.build import load_run, preset, train
from ued.config import override
from ued.rollout import Player

UPDATES = int(os.environ.get("UED_NOTEBOOK_UPDATES", 120))  # the test-suite trains fewer

# %% [markdown]
# ## A level by hand
# `#` wall, `.` free, `G` goal, the agent as `>` `v` `<` `^` (its facing). `parse_levels`
# returns batched levels; the maze pads them with walls to 13x13, the size the students train on.

# %%
text = """
= Handmade
..#..........
.>#...#......
..#...#..#...
......#..#...
..#####..#...
.........#...
.#.......#...
.#..######...
.#...........
.#....#......
......#...G..
......#......
.............
"""
names, levels = parse_levels(text, height=13, width=13)
level = jax.tree_util.tree_map(lambda x: x[0], levels)
print(names[0], "- shortest path:", int(shortest_path_length(level)), "actions")
plt.imshow(np.asarray(render_level(level)))
plt.axis("off");

# %% [markdown]
# ## Stepping the env
# `reset_to_level` and `step` are pure functions of a key, a state and an action (gymnax
# style), so they `jit` and `vmap`. The agent sees a 5x5 egocentric view (`obs.image`).

# %%
env = make_maze(MazeConfig())  # the env `ued train --env maze` builds from its settings
obs, state = env.reset_to_level(jax.random.key(0), level)
frames = [render_state(env, state)]
for action in (FORWARD, FORWARD, FORWARD, TURN_RIGHT, TURN_LEFT):
    obs, state, reward, terminated, truncated, info = env.step(jax.random.key(1), state, action)
    frames.append(render_state(env, state))
fig, axes = plt.subplots(1, len(frames), figsize=(2.2 * len(frames), 2.4))
for i, (ax, frame) in enumerate(zip(axes, frames)):
    ax.imshow(np.asarray(frame))
    ax.set_title(f"step {i}", fontsize=9)
    ax.axis("off")
print("observation:", {k: v.shape for k, v in obs.__dict__.items()})

# %% [markdown]
# ## Train for about a minute
# The `cpu` preset (LSTM 64, 32 envs x 128 steps per update) for a few hundred thousand env
# steps. `train` compiles a chunk of updates once and runs it in `lax.scan`; the host writes
# `metrics.csv`, `eval.csv`, checkpoints and plots between chunks.

# %%
out = Path(tempfile.mkdtemp()) / "dr-quick"
config = override(
    preset("dr", "maze", "cpu"),
    updates=UPDATES,
    updates_per_chunk=UPDATES // 4,
    eval_every=0,
    checkpoint_every=UPDATES,
    eval_suites=("classic",),
)
result = train(config, out, progress=False)
print(f"{result.updates} updates, {result.steps_per_s:,.0f} env steps/s, "
      f"compile {result.compile_s:.0f}s")  # fmt: skip

# %% [markdown]
# ## Watch the agents play
# Stochastic episodes on the hand-made level: the minute-old student and the shipped DR agent.
# Each agent gets 4 attempts with each of its seeds; the strip shows the first success (or the
# first failure), and the title says how many attempts succeeded.


# %%
def frame_strip(run, title, attempts=4, count=8):
    """One episode of `run`'s student on `level` as a strip of `count` frames."""
    episode = jax.jit(Player(run.env, run.learner).episode, static_argnums=3)
    shown, solved = None, 0
    for seed_index, params in enumerate(run.seed_params):
        for attempt in range(attempts):
            key = jax.random.fold_in(jax.random.key(seed_index), attempt)
            states, rewards, length = episode(key, params, level, run.env.max_steps)
            solved += int(rewards.sum() > 0)
            if shown is None or (rewards.sum() > 0 and shown[1] <= 0):
                shown = (states, float(rewards.sum()), int(length), seed_index)
    states, total, length, seed_index = shown
    picks = np.unique(np.linspace(0, length, count).round().astype(int))
    fig, axes = plt.subplots(1, len(picks), figsize=(2.0 * len(picks), 2.3))
    for ax, t in zip(np.atleast_1d(axes), picks):
        frame = render_state(run.env, jax.tree_util.tree_map(lambda x: x[t], states))
        ax.imshow(np.asarray(frame))
        ax.set_title(f"t = {t}", fontsize=9)
        ax.axis("off")
    tries = attempts * len(run.seed_params)
    outcome = f"solved in {length} steps" if total > 0 else f"not solved in {length} steps"
    fig.suptitle(f"{title}, seed {seed_index}: {outcome} ({solved}/{tries} attempts solved)",
                 fontsize=10)  # fmt: skip


frame_strip(load_run(out), f"after {UPDATES} updates")
frame_strip(load_run("shipped:dr"), "shipped DR agent (1,000 updates)")

# %% [markdown]
# ## Next
# * `ued train --algo robust-plr --preset cpu --seeds 0,1,2` trains a curriculum from the shell;
#   `ued eval shipped:dr --suite classic` and `ued report shipped:all` compare agents.
# * `level_distributions.ipynb`: what each curriculum trains on; `zero_shot_transfer.ipynb`:
#   the shipped agents on the holdout suites.
