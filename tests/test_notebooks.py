"""Every notebook executes top to bottom (with a small level budget)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path, tmp_path, monkeypatch):
    monkeypatch.setenv("UED_NOTEBOOK_LEVELS", "300")
    monkeypatch.setenv("UED_RUN", str(tmp_path / "no-run"))
    monkeypatch.setenv("UED_STUDY", str(tmp_path / "no-study"))
    monkeypatch.setenv("UED_NOTEBOOK_UPDATES", "24")
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parents[1])}},
    ).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any(o.output_type == "display_data" for o in outputs), "expected figures"


def test_notebooks_are_generated_from_the_script():
    """The .ipynb files match notebooks/make_notebooks.py (edit the script, not the JSON)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "make_notebooks", Path(__file__).parents[1] / "notebooks" / "make_notebooks.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert sorted(p.stem for p in NOTEBOOKS) == sorted(module.NOTEBOOKS)
    for path in NOTEBOOKS:
        cells = nbformat.read(path, as_version=4).cells
        assert [c.source for c in cells] == [c.source for c in module.NOTEBOOKS[path.stem]]
