"""Training runs for tests/test_parallel.py, in a process that sees two CPU devices
(``XLA_FLAGS=--xla_force_host_platform_device_count=2``, which must be set before JAX starts,
hence a separate process).

``python parallel_worker.py OUT``: under ``OUT``, per-episode DR (its rollout carry is split over
the devices) and robust PLR with two vmapped seeds (a replicated level buffer fed by split
rollouts), each on 1 and on 2 devices; the 2-device DR run again (determinism); a 2-device DR
run killed after update 4 and resumed; and that run's checkpoint resumed on one device.

``python parallel_worker.py OUT dr``: only the DR runs on 1 and 2 devices (``make test``'s).

``python parallel_worker.py OUT meta``: meta-training by meta-gradient (LPG on DR, and GROOVE)
and by ES, each on 1 and on 2 devices (the population, or ES's members, split over them).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import jax

from ued.app.build import preset, train
from ued.app.cli import main
from ued.config import override


class Killed(Exception):
    pass


def config(algo: str, devices: int, **fields):
    """The test preset, 6 updates in chunks of 2 with a checkpoint after each, 8 envs."""
    base = override(preset(algo, "maze", "test"), updates=6, updates_per_chunk=2,
                    checkpoint_every=2, eval_every=0, ppo__num_envs=8)  # fmt: skip
    return override(base, devices=devices, **fields)


def quiet(**kwargs):
    return {"progress": False, "log": lambda *_: None, **kwargs}


def kill_at(update: int):
    def kill(done, rows):
        if done == update:
            raise Killed

    return kill


def meta_runs(root: Path) -> None:
    common = ["--preset", "test", "--updates", "4", "--updates-per-chunk", "2", "--eval-every",
              "0", "--checkpoint-every", "2", "--no-progress"]  # fmt: skip
    variants = {"lpg": ["--algo", "lpg"], "groove": ["--algo", "groove"],
                "es": ["--algo", "lpg", "--backend", "es"]}  # fmt: skip
    for name, args in variants.items():
        for devices in ("1", "2"):
            out = str(root / f"{name}-{devices}")
            assert main(["meta-train", *args, *common, "--devices", devices, "--out", out]) == 0


if __name__ == "__main__":
    assert jax.device_count() == 2, jax.devices()
    root = Path(sys.argv[1])
    mode = sys.argv[2] if len(sys.argv) > 2 else "all"
    if mode == "meta":
        meta_runs(root)
        sys.exit(0)
    dr = {"algo": "dr", "curriculum__resample": "episode"}
    plr = {"algo": "robust-plr", "seeds": (0, 1)}
    for devices in (1, 2):
        train(config(**dr, devices=devices), root / f"dr-{devices}", **quiet())
    if mode == "dr":  # make test's share: per-episode DR on one and on two devices
        sys.exit(0)
    accel = {"algo": "accel-parallel", "ppo__num_envs": 12}  # 4 new, 4 replayed, 4 mutated
    for devices in (1, 2):
        train(config(**plr, devices=devices), root / f"robust-plr-{devices}", **quiet())
        train(config(**accel, devices=devices), root / f"accel-parallel-{devices}", **quiet())
    train(config(**dr, devices=2), root / "dr-2-again", **quiet())

    killed = root / "dr-2-killed"
    try:
        train(config(**dr, devices=2), killed, **quiet(on_chunk=kill_at(4)))
    except Killed:
        pass
    shutil.copytree(killed, root / "dr-2-killed-on-1")
    train(config(**dr, devices=2), killed, resume=True, **quiet())
