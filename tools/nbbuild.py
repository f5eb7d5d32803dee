"""Write a notebook from a list of cells (for authoring lessons as reviewable Python).

    from tools.nbbuild import md, code, write_notebook
    write_notebook("notebooks/01_loss_functions.ipynb", [md("# Title"), code("x = 1")])

Outputs are filled in afterwards by ``make notebooks`` (tools/execute_notebooks.py).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import nbformat

__all__ = ["md", "code", "write_notebook"]

KERNEL = {
    "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}


def md(text: str, **metadata) -> nbformat.NotebookNode:
    return nbformat.v4.new_markdown_cell(textwrap.dedent(text).strip("\n"), metadata=metadata)


def code(text: str, *, tags: list[str] | None = None, **metadata) -> nbformat.NotebookNode:
    if tags:
        metadata["tags"] = list(tags)
    return nbformat.v4.new_code_cell(textwrap.dedent(text).strip("\n"), metadata=metadata)


def write_notebook(path: str | Path, cells: list, metadata: dict | None = None) -> Path:
    nb = nbformat.v4.new_notebook(cells=cells, metadata={**KERNEL, **(metadata or {})})
    for i, cell in enumerate(nb.cells):  # stable ids: diffs stay readable
        cell["id"] = f"c{i:03d}"
    nbformat.validate(nb)
    path = Path(path)
    nbformat.write(nb, path)
    return path
