"""The layers of DESIGN.md: the ``ued`` core imports neither ``envs`` nor ``algorithms``; only the
composition root (``ued.build``, and ``ued.cli`` / ``ued.bench`` through it) does. Checked two
ways: by importing every core module in a fresh interpreter, and by import-linter's contracts
(``setup.cfg``), which also keep curricula env-agnostic and forbid import cycles."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import ued

ROOT = Path(__file__).parents[1]
COMPOSITION_ROOT = {"ued.build", "ued.cli", "ued.bench"}
CORE = sorted(
    f"ued.{m.name}"
    for m in pkgutil.iter_modules(ued.__path__)
    if f"ued.{m.name}" not in COMPOSITION_ROOT
)


def test_importing_the_core_loads_no_env_or_algorithm():
    assert {"ued.train", "ued.loop", "ued.program", "ued.env", "ued.learner"} <= set(CORE)
    script = (
        "import importlib, sys\n"
        f"for name in {CORE!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('envs', 'algorithms'))\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]


def test_import_linter_contracts_are_kept():
    lint = Path(sys.executable).parent / "lint-imports"
    done = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "4 kept, 0 broken" in done.stdout
