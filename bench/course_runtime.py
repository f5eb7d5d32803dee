"""Seconds to execute each lesson in a fresh kernel, and the total (printed table).

Runs each notebook in notebooks/ with nbclient in a new kernel, in the same
environment as `make notebooks` (one thread per kernel), WITHOUT writing the
outputs back. ``--jobs N`` runs N lessons at a time (default 2, one per core of
the course's reference machine); the table gives each lesson's own time, the
serial sum, and the wall time of the whole course.
Usage: python bench/course_runtime.py [--jobs N] [NOTEBOOK...]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
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


def _timed(path: Path) -> tuple[Path, float, float]:
    start, cells = run(path)
    return path, start, cells


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args()
    apply_notebook_env(os.environ)
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = list(pool.map(_timed, paths))
    wall = time.perf_counter() - t0
    print(f"{'lesson':<34} {'kernel start s':>14} {'cells s':>9} {'total s':>9}")
    total = 0.0
    for path, start, cells in results:
        total += start + cells
        print(f"{path.name:<34} {start:>14.1f} {cells:>9.1f} {start + cells:>9.1f}")
    print(f"{'serial sum (' + str(len(paths)) + ' lessons)':<34} {'':>14} {'':>9} {total:>9.1f}")
    print(f"{'wall, ' + str(args.jobs) + ' at a time':<34} {'':>14} {'':>9} {wall:>9.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
