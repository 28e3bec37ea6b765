"""Regenerate the notebooks from this script (kept as code so diffs stay reviewable):
``python notebooks/make_notebooks.py``. The test-suite executes every notebook."""

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).parent

LEVELS = [
    new_markdown_cell(
        "# Maze level distributions\n\n"
        "What does a curriculum actually train on? This notebook looks at the maze's random "
        "generator (the DR distribution) at the two wall densities of the literature, at the "
        "holdout suites used for zero-shot transfer, and, when a run directory is given, at "
        "what a trained run logged. Everything here is computed on the fly with the library's "
        "jitted, vmapped functions; no data is downloaded."
    ),
    new_code_cell(
        "%matplotlib inline\n"
        "import os\n"
        "import jax, numpy as np, matplotlib.pyplot as plt\n"
        "from envs.maze import Maze, SUITES, render_level, shortest_path_length, wall_count, "
        "UNREACHABLE\n"
        "from ued.plots import level_grid\n"
        "N = int(os.environ.get('UED_NOTEBOOK_LEVELS', 4000))  # the tests use fewer"
    ),
    new_markdown_cell(
        "## The DR distribution: 25 walls (PAIRED/PLR/ACCEL) vs 60 walls (SFL/NCC)\n"
        "The references draw wall cells *with replacement*, so '25 walls' means 18-25 distinct "
        "walls; `wall_sampling='without_replacement'` gives exactly `n_walls`."
    ),
    new_code_cell(
        "def describe(env, n=N, seed=0):\n"
        "    levels = jax.jit(jax.vmap(env.sample_level))(jax.random.split(jax.random.key(seed), n))\n"
        "    path = np.asarray(jax.jit(jax.vmap(shortest_path_length))(levels))\n"
        "    return levels, np.asarray(wall_count(levels)), path\n"
        "\n"
        "settings = {'25 walls, with replacement': Maze(n_walls=25),\n"
        "            '25 walls, without replacement': Maze(n_walls=25, wall_sampling='without_replacement'),\n"
        "            '60 walls, with replacement': Maze(n_walls=60)}\n"
        "stats = {name: describe(env) for name, env in settings.items()}\n"
        "fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))\n"
        "for name, (_, walls, path) in stats.items():\n"
        "    solvable = path < UNREACHABLE\n"
        "    print(f'{name:32s} walls {walls.mean():5.1f}  solvable {solvable.mean():6.1%}  '\n"
        "          f'shortest path {path[solvable].mean():5.1f} (median {np.median(path[solvable]):.0f})')\n"
        "    axes[0].hist(walls, bins=np.arange(walls.min(), walls.max() + 2) - 0.5, alpha=0.5, label=name)\n"
        "    axes[1].hist(path[solvable], bins=40, alpha=0.5, density=True, label=name)\n"
        "axes[0].set_xlabel('walls'); axes[1].set_xlabel('shortest path (actions), solvable levels')\n"
        "axes[0].legend(fontsize=7); plt.tight_layout()"
    ),
    new_code_cell(
        "levels, walls, path = stats['60 walls, with replacement']\n"
        "images = jax.vmap(render_level)(jax.tree_util.tree_map(lambda x: x[:16], levels))\n"
        "titles = [f'path {p}' if p < UNREACHABLE else 'unsolvable' for p in path[:16]]\n"
        "level_grid(np.asarray(images), titles, ncols=8, suptitle='random levels, 60 walls');"
    ),
    new_markdown_cell(
        "## Holdout suites\n"
        "The classic hand-designed mazes and minimax's procedural out-of-distribution suites. "
        "Each suite is played in an env of its own size; the 5x5 view makes the policy "
        "size-independent."
    ),
    new_code_cell(
        "for name, suite in SUITES.items():\n"
        "    names, suite_levels = suite.levels(8 if suite.generate else None, seed=0)\n"
        "    path = np.asarray(jax.vmap(shortest_path_length)(suite_levels))\n"
        "    print(f'{name:15s} {suite.height}x{suite.width}  max_steps {suite.max_steps:5d}  '\n"
        "          f'shortest path mean {path.mean():6.1f}  max {path.max()}')\n"
        "names, classic = SUITES['classic'].levels()\n"
        "level_grid(np.asarray(jax.vmap(render_level)(classic)), names, ncols=4,\n"
        "           suptitle='classic holdout mazes');"
    ),
    new_code_cell(
        "picks = ['four-rooms', 'crossing', 'small-corridor', 'perfect-medium']\n"
        "images, titles = [], []\n"
        "for name in picks:\n"
        "    names, suite_levels = SUITES[name].levels(2, seed=1)\n"
        "    images += list(np.asarray(jax.vmap(lambda l: render_level(l, tile=6))(suite_levels)))\n"
        "    titles += names\n"
        "level_grid(images, titles, ncols=4, suptitle='procedural suites (two levels each)');"
    ),
    new_markdown_cell(
        "## A trained run\n"
        "Set `UED_RUN` to a directory written by `ued train` (e.g. `checkpoints/dr-maze-cpu`) to "
        "plot its training curves and holdout evaluations."
    ),
    new_code_cell(
        "from pathlib import Path\n"
        "from ued.logging import read_csv\n"
        "run = Path(os.environ.get('UED_RUN', 'checkpoints/dr-maze-cpu'))\n"
        "if (run / 'metrics.csv').exists():\n"
        "    rows = read_csv(run / 'metrics.csv')\n"
        "    steps = np.array([float(r['env_steps']) for r in rows])\n"
        "    ret = np.array([float(r['student/return']) for r in rows])\n"
        "    plt.figure(figsize=(5, 3)); plt.plot(steps, ret, lw=0.6)\n"
        "    plt.xlabel('env steps'); plt.ylabel('return (completed episodes)')\n"
        "    evals = [r for r in read_csv(run / 'eval.csv') if r['statistic'] == 'solve_rate']\n"
        "    for update in sorted({int(r['update']) for r in evals}):\n"
        "        vals = [float(r['value']) for r in evals if int(r['update']) == update]\n"
        "        print(f'update {update:5d}: holdout solve rate {np.mean(vals):.2f}')\n"
        "else:\n"
        "    print(f'no run at {run}: train one with `make train`')"
    ),
]


CURRICULA = [
    new_markdown_cell(
        "# What a curriculum keeps\n\n"
        "Train a small ACCEL student for a few dozen updates with the Python API (the same "
        "`ued.build.build` the CLI uses), then look inside its level buffer: the levels with the "
        "highest scores, the replay distribution, and how the buffer's levels differ from the "
        "domain-randomisation distribution. Set `UED_STUDY` to a directory of runs (e.g. "
        "`results/study` from the README's study) to compare full training runs."
    ),
    new_code_cell(
        "%matplotlib inline\n"
        "import os\n"
        "import jax, jax.numpy as jnp, numpy as np, matplotlib.pyplot as plt\n"
        "from envs.maze import render_level, shortest_path_length, UNREACHABLE\n"
        "from ued.build import build, preset\n"
        "from ued.config import override\n"
        "from ued.plots import level_grid\n"
        "UPDATES = int(os.environ.get('UED_NOTEBOOK_UPDATES', 60))\n"
        "config = override(preset('accel', 'maze', 'test'), updates=UPDATES, updates_per_chunk=UPDATES,\n"
        "                  eval_every=UPDATES, checkpoint_every=UPDATES,\n"
        "                  env_config__height=9, env_config__width=9, env_config__n_walls=12,\n"
        "                  env_config__max_steps=60, ppo__num_envs=8, ppo__num_steps=32,\n"
        "                  ppo__minibatches=1, curriculum__buffer__capacity=64)\n"
        "program = build(config)  # env, ACCEL curriculum and PPO student, as `ued train` builds them\n"
        "env, curriculum = program.env, program.curriculum\n"
        "state, metrics, _ = jax.jit(program.chunk)(jax.jit(program.init)(program.seed_keys()), jnp.int32(0))\n"
        "branches = np.bincount(np.asarray(metrics['curriculum/branch']), minlength=3)\n"
        "print('updates: new / replay / mutate =', branches.tolist())\n"
        "print('buffer size', int(state.curriculum.buffer.size), 'of', config.curriculum.buffer.capacity)"
    ),
    new_code_cell(
        "view = curriculum.inspect(state.curriculum)\n"
        "filled = np.asarray(view['filled'])\n"
        "scores = np.where(filled, np.asarray(view['scores']), -np.inf)\n"
        "top = np.argsort(-scores)[:8]\n"
        "levels = jax.tree_util.tree_map(lambda x: x[top], view['levels'])\n"
        "level_grid(np.asarray(jax.vmap(render_level)(levels)), [f'score {scores[i]:.3f}' for i in top],\n"
        "           ncols=8, suptitle='highest-scoring buffer levels (MaxMC)');"
    ),
    new_code_cell(
        "weights = np.sort(np.asarray(view['weights'])[filled])[::-1]\n"
        "fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))\n"
        "axes[0].plot(weights); axes[0].set_yscale('log')\n"
        "axes[0].set_title('replay distribution (rank, staleness-mixed)'); axes[0].set_xlabel('level, sorted')\n"
        "buffer_path = np.asarray(jax.vmap(shortest_path_length)(\n"
        "    jax.tree_util.tree_map(lambda x: x[np.flatnonzero(filled)], view['levels'])))\n"
        "dr = jax.vmap(env.sample_level)(jax.random.split(jax.random.key(0), 512))\n"
        "dr_path = np.asarray(jax.vmap(shortest_path_length)(dr))\n"
        "for name, path in (('buffer', buffer_path), ('DR', dr_path)):\n"
        "    ok = path < UNREACHABLE\n"
        "    axes[1].hist(path[ok], bins=20, alpha=0.5, density=True,\n"
        "                 label=f'{name}: {ok.mean():.0%} solvable, mean path {path[ok].mean():.1f}')\n"
        "axes[1].set_xlabel('shortest path'); axes[1].legend(fontsize=7); plt.tight_layout()"
    ),
    new_markdown_cell("## Comparing full runs"),
    new_code_cell(
        "from pathlib import Path\n"
        "from ued.plots import compare_runs\n"
        "study = Path(os.environ.get('UED_STUDY', 'results/study'))\n"
        "runs = {p.name: p for p in sorted(study.glob('*')) if (p / 'run.json').exists()}\n"
        "if runs:\n"
        "    compare_runs(runs, study / 'comparison.png')\n"
        "    from IPython.display import Image, display\n"
        "    display(Image(filename=str(study / 'comparison.png')))\n"
        "else:\n"
        "    print(f'no finished runs under {study}')"
    ),
]

NOTEBOOKS = {"level_distributions": LEVELS, "curricula": CURRICULA}


def main() -> None:
    for name, cells in NOTEBOOKS.items():
        notebook = new_notebook(
            cells=cells,
            metadata={
                "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
            },
        )
        nbformat.write(notebook, HERE / f"{name}.ipynb")


if __name__ == "__main__":
    main()
