"""Re-execute notebooks in a fresh kernel and store their outputs (``make notebooks``).

Usage: python tools/execute_notebooks.py notebooks/*.ipynb [--timeout 600]

Each notebook runs top to bottom in a new kernel with the same environment the
tests use (``course_lib.notebook_env``), so the stored outputs are exactly what
nbval will compare against. A notebook that raises is reported and left unchanged.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from course_lib.notebook_env import apply_notebook_env  # noqa: E402


def take_in_text_edits(path: Path) -> None:
    """Sync the notebook from its paired text file (``src/NN.md``) before running it.

    Without this, running a notebook right after editing its text file would make the
    notebook the newer file of the pair, and the next ``jupytext --sync`` (``make sync``)
    would then overwrite the text edit with the notebook's older cells.
    """
    text = path.parent / "src" / f"{path.stem}.md"
    if text.exists() and (path.parent / "jupytext.toml").exists():
        from jupytext.cli import jupytext as jupytext_cli

        jupytext_cli(["--sync", "--quiet", str(path)])


def execute(path: Path, timeout: int) -> float:
    take_in_text_edits(path)
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    elapsed = time.perf_counter() - start
    # Strip volatile metadata so diffs show only real changes.
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    nb.metadata.pop("widgets", None)
    tmp = path.with_suffix(".ipynb.tmp")
    nbformat.write(nb, tmp)
    os.replace(tmp, path)
    return elapsed


def execute_all(paths: list[Path], timeout: int = 600) -> list[Path]:
    """Execute each notebook in place; returns those that failed (left unchanged)."""
    apply_notebook_env(os.environ)
    failed = []
    for path in paths:
        try:
            secs = execute(path, timeout)
            print(f"{path}: ok ({secs:.1f} s)")
        except CellExecutionError as exc:
            failed.append(path)
            print(f"{path}: FAILED\n{str(exc)[-3000:]}", file=sys.stderr)
    return failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    args = parser.parse_args(argv)
    return 1 if execute_all(args.notebooks, args.timeout) else 0


if __name__ == "__main__":
    raise SystemExit(main())
