"""The notebooks: their sources (jupytext percent-format scripts) execute top to bottom at small
budgets, and the committed ``.ipynb`` files, with their outputs, come from the current sources
(``make notebooks`` re-executes them)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import jupytext
import nbformat
import pytest

HERE = Path(__file__).parents[1] / "notebooks"
spec = importlib.util.spec_from_file_location("execute_notebooks", HERE / "execute.py")
execute_notebooks = importlib.util.module_from_spec(spec)
spec.loader.exec_module(execute_notebooks)
NOTEBOOKS = execute_notebooks.NOTEBOOKS


def _outputs(notebook):
    return [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]


def test_every_notebook_has_a_source_and_nothing_else_is_committed():
    assert sorted(p.stem for p in HERE.glob("*.ipynb")) == sorted(NOTEBOOKS)
    assert sorted(p.stem for p in HERE.glob("*.py")) == sorted([*NOTEBOOKS, "execute"])


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_notebook_comes_from_its_current_source(name):
    committed = nbformat.read(HERE / f"{name}.ipynb", as_version=4)
    assert committed.metadata.get("ued", {}).get("source_sha256") == (
        execute_notebooks.source_sha256(name)
    ), f"notebooks/{name}.py changed since notebooks/{name}.ipynb was executed: make notebooks"
    source = jupytext.read(HERE / f"{name}.py")
    assert [(c.cell_type, c.source) for c in committed.cells] == [
        (c.cell_type, c.source) for c in source.cells
    ]
    outputs = _outputs(committed)
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "expected figures"
    code = [c for c in committed.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), "every code cell executed"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_executes(name, monkeypatch):
    monkeypatch.setenv("UED_NOTEBOOK_LEVELS", "24")
    monkeypatch.setenv("UED_NOTEBOOK_UPDATES", "8")
    notebook = execute_notebooks.execute(name, timeout=600)
    outputs = _outputs(notebook)
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "expected figures"
