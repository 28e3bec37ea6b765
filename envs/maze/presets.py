"""The maze's presets: env settings, student and loop for ``test``, ``cpu`` and ``paper``.

* ``paper``: the PLR/ACCEL/JaxUED maze setting (13x13, 25 walls, LSTM 256, 32 envs x 256 steps,
  5 epochs, 30k updates, the learning rate annealed per gradient update as JaxUED does), on the
  references' maze: MiniGrid's 7 actions (4 of them no-ops) and cells (``REFERENCE_MAZE``). SFL's
  and NCC's papers use 60-wall mazes: so does ``paper`` for them.
* ``cpu``: learns on a 2-core CPU in minutes: the same 13x13 maze with 25 walls for every
  curriculum (so curricula compare on one distribution), LSTM 64, 32 envs x 128 steps, 3 epochs
  x 2 minibatches, 3,000 updates (12.3M steps; about 8 minutes).
* ``test``: tiny shapes for the test-suite; compiles in seconds.
* ``minimax``: minimax's maze DR and PAIRED (``src/minimax/config/configs/maze/{dr,paired}.json``):
  13x13, 60 walls, 250 steps, LSTM 256, 32 envs x 256 steps, lr 1e-4 constant, 5 epochs x 1
  minibatch, entropy 1e-3, 30k updates; PLR‖ and ACCEL‖ with their own students and mazes
  (``pplr.json``, ``paccel.json``: ``MINIMAX_PARALLEL_STUDENTS``).
* ``dcd``: dcd's maze DR, PAIRED and REPAIRED (``train_scripts/grid_configs/minigrid/25_blocks/
  mg_25b_{dr,paired,repaired}.json``): 25 walls, lr 1e-4 constant, GAE lambda 0.95, entropy 0.01
  for DR and 0 for the generator-agent curricula, 250M env steps (30,500 updates).
"""

from __future__ import annotations

import dataclasses

from ued.config import ConfigError, NetworkConfig, PPOConfig, TrainConfig

from .config import MazeConfig, MazeEncoderConfig

SIXTY_WALL_PAPERS = ("sfl", "ncc-theory", "ncc-reg", "ncc-learn")
"""Algorithms whose papers evaluate on 13x13 mazes with 60 walls."""

REFERENCE_MAZE = {"noop_actions": 4, "observation": "minigrid"}
"""The maze as JaxUED, minimax, SFL and NCC build it: MiniGrid's 7 actions (pickup, drop, toggle
and done do nothing) and its (object, colour, state) cells divided by 10 (``normalize_obs``).
This library's default maze has the 3 actions that act and one-hot cells: at equal budget it
learns faster (docs: the equivalence study), so ``cpu`` and ``test`` keep it."""

JAXUED_EDITS = ("accel", "accel-parallel")
"""Algorithms whose ``paper`` preset edits levels as JaxUED's ACCEL does."""

REFERENCE_STUDENT = PPOConfig(lr=1e-4, anneal_lr=False)
"""minimax's maze student (``configs/maze/paired.json``, ``dr.json``): lr 1e-4 constant
(``lr_anneal_steps`` 0), 32 envs x 256 steps, 5 epochs x 1 minibatch, clip 0.2, gamma 0.995,
lambda 0.98, entropy 1e-3, value 0.5, grad norm 0.5, Adam eps 1e-5."""


MINIMAX_PARALLEL_STUDENTS = {
    "plr-parallel": (PPOConfig(lr=3e-4, anneal_lr=False, gamma=0.999, gae_lambda=0.95,
                               ent_coef=0.0), MazeConfig(n_walls=60, **REFERENCE_MAZE)),
    "accel-parallel": (PPOConfig(lr=1e-4, anneal_lr=False, gamma=0.999, gae_lambda=0.98,
                                 ent_coef=1e-3), MazeConfig(n_walls=0, edits_move_agent=False,
                                                            edits_noop=True, **REFERENCE_MAZE)),
}  # fmt: skip
"""minimax's PLR‖ and ACCEL‖ (``configs/maze/pplr.json``, ``paccel.json``): their students
(discount 0.999; PLR‖ lr 3e-4, lambda 0.95, no entropy bonus; ACCEL‖ lr 1e-4, lambda 0.98,
entropy 1e-3) and mazes (60 walls; ACCEL‖ starts from empty mazes and each of its edits is a
no-op, a wall flip or a goal move, never an agent move). The rest is ``REFERENCE_STUDENT``'s."""


def reference_preset(name: str, algo: str) -> TrainConfig:
    """``minimax`` or ``dcd``: that author implementation's maze settings (see the module)."""
    ppo, env_config = REFERENCE_STUDENT, MazeConfig(n_walls=60, **REFERENCE_MAZE)
    if name == "dcd":  # dcd arguments.py defaults and mg_25b_*.json
        env_config = MazeConfig(n_walls=25)  # dcd's MiniGrid cells are not divided by 10
        ppo = dataclasses.replace(ppo, gae_lambda=0.95, ent_coef=0.01 if algo == "dr" else 0.0)
    elif algo in MINIMAX_PARALLEL_STUDENTS:
        ppo, env_config = MINIMAX_PARALLEL_STUDENTS[algo]
    return dataclasses.replace(
        preset("paper", algo),  # its loop: chunks of 50, classic suite, 10 attempts
        preset=name,
        updates=30_000 if name == "minimax" else 30_500,  # dcd: 250M env steps / 8,192
        env_config=env_config,
        ppo=ppo,
    )


def preset(name: str, algo: str) -> TrainConfig:
    """The maze's ``TrainConfig`` for preset ``name`` (the curriculum's settings are added by
    the algorithm's own preset)."""
    if name == "paper":
        walls = 60 if algo in SIXTY_WALL_PAPERS else 25
        # ACCEL's edits as JaxUED makes them (make_level_mutator_minimax): no-op, wall, goal.
        edits = {"edits_move_agent": False, "edits_noop": True} if algo in JAXUED_EDITS else {}
        return TrainConfig(
            ppo=PPOConfig(anneal_lr_by="gradient"),  # JaxUED's schedule (docs: equivalence)
            env="maze",
            preset="paper",
            updates=30_000,
            updates_per_chunk=50,
            eval_every=500,
            checkpoint_every=1000,
            eval_suites=("classic",),
            eval_attempts=10,
            env_config=MazeConfig(n_walls=walls, **edits, **REFERENCE_MAZE),
        )
    if name == "cpu":
        return TrainConfig(
            env="maze",
            preset="cpu",
            updates=3000,
            updates_per_chunk=25,
            eval_every=250,
            checkpoint_every=250,
            eval_attempts=4,
            eval_suites=("classic", "random"),
            eval_levels=100,
            env_config=MazeConfig(),
            network=NetworkConfig(hidden_size=64),
            ppo=PPOConfig(
                num_envs=32, num_steps=128, lr=5e-4, epochs=3, minibatches=2, ent_coef=1e-2
            ),
        )
    if name == "test":
        return TrainConfig(
            env="maze",
            preset="test",
            updates=4,
            updates_per_chunk=2,
            eval_every=2,
            checkpoint_every=2,
            eval_suites=("classic",),
            eval_attempts=1,
            eval_levels=2,
            env_config=MazeConfig(
                height=7,
                width=7,
                n_walls=5,
                max_steps=24,
                encoder=MazeEncoderConfig(conv_filters=4, direction_features=3),
            ),
            network=NetworkConfig(hidden_size=8, head_hidden=8),
            ppo=PPOConfig(num_envs=4, num_steps=8, lr=1e-3, epochs=2, minibatches=2),
        )
    if name in ("minimax", "dcd"):
        return reference_preset(name, algo)
    raise ConfigError(
        f"preset: unknown preset {name!r}; choose one of test, cpu, paper, minimax, dcd"
    )
