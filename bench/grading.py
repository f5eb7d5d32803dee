"""Benchmark the autograder: 20 submissions with --jobs 2, time per submission.

Copies of the fixture solution (or of ``--notebook``'s solutions notebook), some
left blank or partly wrong, are graded through the real command line. The table
splits each submission's wall time into starting the kernel, running the
notebook's cells, calling the functions (harness), and the rest; the grader's
overhead is everything beyond running the cells (target: <= 3 s a submission). The kernel
imports the modules of the forbidden-shortcut tripwire (torch, for most exercises) before the
first cell; that time ("tripwire") is the notebook's own imports done early, so it is counted
with the cells, not as overhead.

The same class is then graded with ``--unsafe-no-sandbox``: the difference of the two
medians is what the bubblewrap sandbox costs a submission (target: <= 1 s).

    python bench/grading.py [--n 20] [--jobs 2] [--notebook solutions/01_x.ipynb] [--no-compare]
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
    parser.add_argument("--no-compare", dest="compare", action="store_false",
                        help="skip the second run without the sandbox")
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
        base = [sys.executable, "-m", "course_lib.grading", str(tmp / "class"), "--jobs", str(args.jobs),
                "--solutions", str(solutions_dir), "--no-progress", *specs]
        runs = {"sandboxed": _grade([*base, "--out", str(tmp / "out")])}
        if args.compare:
            runs["no sandbox"] = _grade([*base, "--out", str(tmp / "out-unsafe"), "--unsafe-no-sandbox"])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if any(r is None for r in runs.values()):
        return 1

    print(f"grading {args.n} copies of {solution.relative_to(ROOT)} with --jobs {args.jobs}")
    medians, walls = {}, {}
    for label, (data, wall) in runs.items():
        overheads = _table(data, label, show_rows=label == "sandboxed")
        walls[label] = [r.get("timings", {}).get("wall", 0) for r in data["submissions"]]
        medians[label] = statistics.median(overheads)
        print(f"{label}: batch {wall:.1f} s wall for {args.n} submissions = {wall / args.n:.2f} s each with "
              f"--jobs {args.jobs}; wall per submission median {statistics.median(walls[label]):.2f} s, "
              f"max {max(walls[label]):.2f} s; overhead beyond running the cells: median {medians[label]:.2f} s, "
              f"max {max(overheads):.2f} s per submission (target <= 3 s)")
    if "no sandbox" in medians:
        print(f"the sandbox's cost: {medians['sandboxed'] - medians['no sandbox']:+.2f} s per submission "
              "(median overhead, sandboxed minus not; target <= 1 s)")
    return 0


def _grade(cmd: list[str]):
    t0 = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.monotonic() - t0
    if proc.returncode != 0:
        print(proc.stdout, proc.stderr, file=sys.stderr)
        return None
    out = Path(cmd[cmd.index("--out") + 1])
    return json.loads((out / "grades.json").read_text()), wall


def _table(data: dict, label: str, show_rows: bool) -> list[float]:
    rows = []
    if show_rows:
        print(f"{'submission (' + label + ')':<44} {'score':>7} {'wall s':>7} {'kernel':>7} {'cells':>7} "
              f"{'harness':>8} {'overhead':>9}")
    for rec in data["submissions"]:
        t = rec.get("timings", {})
        cells = t.get("cells", 0) + t.get("tripwire", 0)
        overhead = t.get("wall", 0) - cells
        rows.append((t.get("wall", 0), cells, overhead, t.get("kernel_start", 0) - t.get("tripwire", 0),
                     t.get("harness", 0)))
        if show_rows:
            print(f"{rec['submission']:<44} {rec['total']:>3g}/{rec['max_total']:<3g} {t.get('wall', 0):>7.2f} "
                  f"{rows[-1][3]:>7.2f} {cells:>7.2f} {t.get('harness', 0):>8.3f} {overhead:>9.2f}")
    walls, cells, overheads = ([r[i] for r in rows] for i in range(3))
    if show_rows:
        print(f"{'median':<44} {'':>7} {statistics.median(walls):>7.2f} "
              f"{statistics.median(r[3] for r in rows):>7.2f} {statistics.median(cells):>7.2f} "
              f"{statistics.median(r[4] for r in rows):>8.3f} {statistics.median(overheads):>9.2f}")
    return overheads


if __name__ == "__main__":
    sys.exit(main())
