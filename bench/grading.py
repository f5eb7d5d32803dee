"""Benchmark the autograder: 20 submissions with --jobs 2, time per submission.

Copies of the fixture solution (or of ``--notebook``'s solutions notebook), some
left blank or partly wrong, are graded through the real command line. The table
splits each submission's wall time into starting the kernel, running the
notebook's cells, calling the functions (harness), and the rest; the grader's
overhead is everything beyond running the cells (target: <= 3 s a submission).

    python bench/grading.py [--n 20] [--jobs 2] [--notebook solutions/01_x.ipynb]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "grading_fixtures"


def _variants(solution: Path, exercise: Path | None) -> dict[str, bytes]:
    correct = solution.read_bytes()
    out = {"correct": correct}
    if exercise is not None and exercise.exists():
        out["blank"] = exercise.read_bytes()
    nb = nbformat.read(solution, as_version=4)
    for cell in nb.cells:  # "wrong": every solution returns None
        meta = cell.metadata.get("nbgrader", {})
        lines = cell.source.splitlines()
        marker = next((i for i, line in enumerate(lines) if line.strip() == "### BEGIN SOLUTION"), None)
        if meta.get("solution") and cell.cell_type == "code" and marker is not None:
            indent = lines[marker][: len(lines[marker]) - len(lines[marker].lstrip())]
            cell.source = "\n".join([*lines[:marker], f"{indent}return None"])
    out["wrong"] = nbformat.writes(nb).encode()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--notebook", type=Path, help="a solutions/NN_x.ipynb (default: the grader's fixture)")
    args = parser.parse_args(argv)

    if args.notebook:
        solution = args.notebook.resolve()
        solutions_dir, exercise, specs = solution.parent, ROOT / "exercises" / solution.name, []
    else:
        solution = FIXTURES / "solutions" / "01_fixture.ipynb"
        solutions_dir, exercise = solution.parent, FIXTURES / "exercises" / solution.name
        specs = ["--specs", str(FIXTURES / "specs.py")]
    variants = _variants(solution, exercise)
    kinds = ["correct"] * args.n
    for i, kind in enumerate(k for k in ("blank", "wrong") if k in variants):
        for j in range(i, args.n, 5):  # about 2 in 5 are not correct
            kinds[j] = kind

    tmp = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    try:
        for i, kind in enumerate(kinds):
            path = tmp / "class" / f"learner{i:02d}_{kind}" / solution.name
            path.parent.mkdir(parents=True)
            path.write_bytes(variants[kind])
        cmd = [sys.executable, "-m", "course_lib.grading", str(tmp / "class"), "--out", str(tmp / "out"),
               "--jobs", str(args.jobs), "--solutions", str(solutions_dir), "--no-progress", *specs]
        t0 = time.monotonic()
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        wall = time.monotonic() - t0
        if proc.returncode != 0:
            print(proc.stdout, proc.stderr, file=sys.stderr)
            return 1
        data = json.loads((tmp / "out" / "grades.json").read_text())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    rows = []
    print(f"grading {args.n} copies of {solution.relative_to(ROOT)} with --jobs {args.jobs}")
    print(f"{'submission':<44} {'score':>7} {'wall s':>7} {'kernel':>7} {'cells':>7} {'harness':>8} "
          f"{'overhead':>9}")
    for rec in data["submissions"]:
        t = rec.get("timings", {})
        overhead = t.get("wall", 0) - t.get("cells", 0)
        rows.append((t.get("wall", 0), t.get("cells", 0), overhead, t.get("kernel_start", 0), t.get("harness", 0)))
        print(f"{rec['submission']:<44} {rec['total']:>3g}/{rec['max_total']:<3g} {t.get('wall', 0):>7.2f} "
              f"{t.get('kernel_start', 0):>7.2f} {t.get('cells', 0):>7.2f} {t.get('harness', 0):>8.3f} "
              f"{overhead:>9.2f}")
    walls, cells, overheads = ([r[i] for r in rows] for i in range(3))
    print(f"{'median':<44} {'':>7} {statistics.median(walls):>7.2f} "
          f"{statistics.median(r[3] for r in rows):>7.2f} {statistics.median(cells):>7.2f} "
          f"{statistics.median(r[4] for r in rows):>8.3f} {statistics.median(overheads):>9.2f}")
    print(f"batch: {wall:.1f} s wall for {args.n} submissions = {wall / args.n:.2f} s each with --jobs {args.jobs}; "
          f"grader start-up and reports {wall - data['run']['seconds']:.1f} s + "
          f"{data['run']['seconds'] - sum(walls) / args.jobs:.1f} s beyond the workers")
    print(f"overhead beyond running the cells: median {statistics.median(overheads):.2f} s, "
          f"max {max(overheads):.2f} s per submission (target <= 3 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
