"""The layers of DESIGN.md: the ``ued`` core imports neither ``envs`` nor ``algorithms`` nor the
application layer (``ued.app``), which reaches env families and curricula only through the
registry's entry points, importing each when a config first names it. Checked two ways: in a
fresh interpreter, by importing every core module and every module any of its functions imports,
and by import-linter's contracts (``setup.cfg``, no ignored imports), which also keep curricula
env-agnostic and forbid import cycles."""

from __future__ import annotations

import ast
import importlib.util
import pkgutil
import subprocess
import sys
from pathlib import Path

import ued

ROOT = Path(__file__).parents[1]
OUTSIDE_THE_CORE = ("envs", "algorithms", "ued.app")
CORE = sorted(
    m.name
    for m in pkgutil.walk_packages(ued.__path__, "ued.")
    if not (m.name == "ued.app" or m.name.startswith("ued.app."))
)


def _imported_names(module: str) -> set[str]:
    """Every module an ``import`` statement anywhere in ``module`` names (function bodies
    included), resolved to absolute names."""
    spec = importlib.util.find_spec(module)
    tree = ast.parse(Path(spec.origin).read_text())
    package = module if spec.origin.endswith("__init__.py") else module.rpartition(".")[0]
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = importlib.util.resolve_name("." * node.level + (node.module or ""), package)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)  # submodules, if any
    return names


def _loaded_outside_the_core(statements: str) -> list[str]:
    """The modules of ``OUTSIDE_THE_CORE`` loaded after running ``statements`` in a fresh
    interpreter."""
    script = (
        "import importlib, sys\n"
        f"{statements}\n"
        f"print(sorted(m for m in sys.modules if m.startswith({OUTSIDE_THE_CORE!r})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return ast.literal_eval(done.stdout.strip().splitlines()[-1])


def test_the_core_and_everything_its_functions_import_load_no_env_algorithm_or_app():
    assert {"ued.train", "ued.loop", "ued.env", "ued.learner", "ued.meta.program"} <= set(CORE)
    names = sorted(set(CORE).union(*(_imported_names(m) for m in CORE)))
    statements = (
        f"for name in {names!r}:\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except ModuleNotFoundError:\n"
        "        pass  # a name imported from a module, not a module\n"
    )
    assert _loaded_outside_the_core(statements) == []


def test_building_imports_only_the_env_family_a_config_names():
    """``ued.app.build`` declares the built-in families and imports none; a maze config imports
    the maze family and its curriculum only (no gymnax, no Craftax)."""
    assert _loaded_outside_the_core("import ued.app.build") == ["ued.app", "ued.app.build",
                                                               "ued.app.builtins"]  # fmt: skip
    loaded = _loaded_outside_the_core(
        "from ued.app.build import build, preset\n"
        "build(preset('dr', 'maze', 'test'))\n"
        "assert not any(m.startswith(('gymnax', 'craftax')) for m in sys.modules)"
    )
    families = {m.split(".")[1] for m in loaded if m.startswith("envs.")}
    assert families == {"maze"} and "algorithms.dr" in loaded and "algorithms.plr" not in loaded


def test_every_declared_builtin_registers_under_its_name():
    from ued import registry
    from ued.app import builtins

    for table, names in ((registry.ENVS, builtins.ENVS), (registry.ALGORITHMS,
                         builtins.ALGORITHMS), (registry.META_ALGORITHMS,
                         builtins.META_ALGORITHMS)):  # fmt: skip
        assert set(names) <= set(table)
        for name in names:
            assert table.get(name).name == name


def test_import_linter_contracts_are_kept():
    text = (ROOT / "setup.cfg").read_text()
    assert "ignore_imports" not in text  # the contracts hold without exceptions
    lint = Path(sys.executable).parent / "lint-imports"
    done = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "5 kept, 0 broken" in done.stdout
