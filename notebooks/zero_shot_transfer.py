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
# # Zero-shot transfer of the shipped agents
#
# Load the agents shipped with the library, compare them on the holdout suites (their
# evaluations ship with them: 10 attempts per level, every seed), look at the tail of random
# levels with α-CVaR, then evaluate them afresh on a distribution none of them trained on:
# 13x13 mazes with 60 walls instead of 25. Replace the `shipped:` names by your own run
# directories to compare your runs; `ued report` writes the same tables and figures.

# %%
# %matplotlib inline
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Image, Markdown, display

from envs.maze import RandomMazeGenerator, random_solvable_levels
from ued import shipped
from ued.app.build import load_run
from ued.app.report import Protocol, cvar_table, evaluations, main_table, open_runs, write_report
from ued.evaluate import SuiteLevels, evaluate_seed, iqm_with_ci, per_seed_matrix

LEVELS = int(os.environ.get("UED_NOTEBOOK_LEVELS", 200))  # fresh 60-wall levels (tests: fewer)
cache = Path(tempfile.mkdtemp())
runs = open_runs([f"shipped:{name}" for name in shipped.names()])
names = [run.name for run in runs]
rows = [row for run in runs for row in evaluations(run, Protocol(), cache / run.name)]
suites = [s for s in dict.fromkeys(r["suite"] for r in rows) if s != "cvar"]
display(Markdown(main_table(rows, names, suites)))

# %% [markdown]
# ## Robust aggregates
# The classic suite is 8 mazes a policy either solves or not: per-seed means move a lot, so
# look at the interquartile mean over seeds x levels with a stratified-bootstrap interval.

# %%
fig, ax = plt.subplots(figsize=(7, 3))
for i, name in enumerate(names):
    for j, suite in enumerate(("classic", "perfect-medium", "four-rooms")):
        point, low, high = iqm_with_ci(per_seed_matrix(rows, name, suite, "solve_rate"))
        x = j + (i - len(names) / 2) * 0.12
        ax.errorbar(x, point, yerr=[[point - low], [high - point]], fmt="o", color=f"C{i}",
                    label=name if j == 0 else None)  # fmt: skip
ax.set_xticks(range(3))
ax.set_xticklabels(["classic", "perfect-medium", "four-rooms"])
ax.set_ylabel("IQM solve rate [95% CI]")
ax.legend(fontsize=7, ncol=3);

# %% [markdown]
# ## Per level
# Mean solve rate over seeds on each classic maze.

# %%
classic = [r for r in rows if r["suite"] == "classic" and r["statistic"] == "solve_rate"]
levels = list(dict.fromkeys(r["level"] for r in classic))
fig, ax = plt.subplots(figsize=(10, 3))
width = 0.8 / len(names)
for i, name in enumerate(names):
    means = [np.mean([r["value"] for r in classic if (r["run"], r["level"]) == (name, lv)])
             for lv in levels]  # fmt: skip
    ax.bar(np.arange(len(levels)) + i * width, means, width, label=name)
ax.set_xticks(np.arange(len(levels)) + 0.4 - width / 2)
ax.set_xticklabels(levels, rotation=30, ha="right", fontsize=8)
ax.set_ylabel("solve rate")
ax.legend(fontsize=7, ncol=3);

# %% [markdown]
# ## The tail: α-CVaR over 1,000 random solvable levels
# The mean solve rate on the worst α of levels, ranked on one pass of 10 attempts and scored on
# a second one.

# %%
display(Markdown(cvar_table(rows, names)))
fig, ax = plt.subplots(figsize=(5.5, 3.5))
for i, name in enumerate(names):
    sel = [r for r in rows if r["run"] == name and r["statistic"] == "cvar"]
    alphas = sorted({float(r["alpha"]) for r in sel if float(r["alpha"]) >= 0.001})
    per_alpha = [np.array([r["value"] for r in sel if float(r["alpha"]) == a]) for a in alphas]
    mean = np.array([v.mean() for v in per_alpha])
    se = np.array([v.std(ddof=1) / np.sqrt(len(v)) for v in per_alpha])
    ax.plot(np.array(alphas) * 100, mean, marker="o", ms=3, label=name, color=f"C{i}")
    ax.fill_between(np.array(alphas) * 100, mean - se, mean + se, alpha=0.2, color=f"C{i}")
ax.set_xscale("log")
ax.set_xlabel("α (% of levels, worst first)")
ax.set_ylabel("solve rate")
ax.legend(fontsize=7);

# %% [markdown]
# ## A distribution none of them trained on: 60 walls
# Every agent trained on 25-wall mazes. Draw solvable 60-wall mazes (SFL's and NCC's
# evaluation setting) and evaluate each seed with the library's evaluation function.

# %%
generator = RandomMazeGenerator(height=13, width=13, n_walls=60)
levels60 = random_solvable_levels(generator, LEVELS, seed=1)
fresh = []
for name in names:
    run = load_run(f"shipped:{name}")
    suite = SuiteLevels("walls60", [f"w60-{i}" for i in range(LEVELS)], levels60, run.env)
    for i in range(len(run.config.seed_list)):
        fresh += evaluate_seed(run, i, suite, attempts=5, seed=0)
display(Markdown(main_table(fresh, names, ["walls60"])))
fig, ax = plt.subplots(figsize=(6, 3))
for name in names:
    per_level = per_seed_matrix(fresh, name, "walls60", "solve_rate").mean(0)
    ax.hist(per_level, bins=np.linspace(0, 1, 11), histtype="step", lw=1.5, label=name)
ax.set_xlabel("solve rate per level (mean over seeds)")
ax.set_ylabel("levels")
ax.legend(fontsize=7);

# %% [markdown]
# ## The report
# `ued report shipped:all --out results/report --html` writes all of the above, per-suite
# tables with IQMs and the curricula's diagnostics, as Markdown and as one HTML page. Here it
# reuses the evaluations loaded above.

# %%
report = write_report([f"shipped:{n}" for n in names], cache / "report", log=lambda *_: None)
display(Image(str(cache / "report" / "figures" / "cvar.png")))
print(report.read_text()[:1500])
