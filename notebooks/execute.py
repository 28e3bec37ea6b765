"""Execute the notebooks and save them with their outputs: ``make notebooks``.

The source of each notebook is the jupytext percent-format script next to it (``quickstart.py``
...; edit those, not the ``.ipynb``). This writes ``<name>.ipynb`` executed top to bottom at
full budget, with the sha256 of its source in ``metadata.ued.source_sha256``; the test-suite
checks that every committed ``.ipynb`` comes from the current source and executes every source
at small budgets. ``python notebooks/execute.py [NAME ...]`` (default: all of them).
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
NOTEBOOKS = ("quickstart", "level_distributions", "zero_shot_transfer")


def source(name: str) -> Path:
    """The percent-format script of notebook ``name``."""
    return HERE / f"{name}.py"


def source_sha256(name: str) -> str:
    """The sha256 of notebook ``name``'s source script."""
    return hashlib.sha256(source(name).read_bytes()).hexdigest()


def execute(name: str, timeout: int = 1200) -> nbformat.NotebookNode:
    """Notebook ``name`` read from its script and executed from the repository root (the
    environment's ``UED_NOTEBOOK_*`` variables set its budget)."""
    notebook = jupytext.read(source(name))
    NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(HERE.parent)}},
    ).execute()
    return notebook


def main(names: list[str]) -> None:
    for name in names or NOTEBOOKS:
        notebook = execute(name)
        notebook.metadata["ued"] = {"source_sha256": source_sha256(name)}
        nbformat.write(notebook, HERE / f"{name}.ipynb")
        print(f"wrote notebooks/{name}.ipynb")


if __name__ == "__main__":
    main(sys.argv[1:])
