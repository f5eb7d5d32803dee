"""Seconds to execute each lesson in a fresh kernel, and the total (printed table).

Runs each notebook in notebooks/ with nbclient in a new kernel, in the same
environment as `make notebooks`, WITHOUT writing the outputs back.
Usage: python bench/course_runtime.py [NOTEBOOK...]
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from course_lib.notebook_env import apply_notebook_env  # noqa: E402


def run(path: Path) -> tuple[float, float]:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    t0 = time.perf_counter()
    with client.setup_kernel():
        t1 = time.perf_counter()
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1


def main() -> int:
    apply_notebook_env(os.environ)
    paths = [Path(p) for p in sys.argv[1:]] or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    print(f"{'lesson':<34} {'kernel start s':>14} {'cells s':>9} {'total s':>9}")
    total = 0.0
    for path in paths:
        start, cells = run(path)
        total += start + cells
        print(f"{path.name:<34} {start:>14.1f} {cells:>9.1f} {start + cells:>9.1f}")
    print(f"{'ALL (' + str(len(paths)) + ' lessons)':<34} {'':>14} {'':>9} {total:>9.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
