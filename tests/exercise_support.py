"""Shared helpers for the exercise-spec tests (tests/test_exercise_specs*.py).

Loads the solution cell of any exercise from solutions/ and runs it through the same
protocol the inline checks and the grader use.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import nbformat

from course_lib.exercises.core import get, run_case

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
ALL_NOTEBOOKS = sorted(SOLUTIONS.glob("[0-9][0-9]_*.ipynb"))
SEEDS = (0, 1, 2024)
GRADE_ID = re.compile(r"^[a-zA-Z0-9_-]+$")
NBGRADER_KEYS = {"schema_version", "grade", "solution", "locked", "grade_id", "points"}


def nbg(cell) -> dict:
    """A cell's nbgrader metadata ({} when it has none)."""
    return cell.get("metadata", {}).get("nbgrader", {})


@functools.cache
def read_notebook(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


@functools.cache
def solution_sources() -> dict[str, tuple[str, str, str]]:
    """grade_id -> (notebook name, setup source, solution source), over every solutions notebook.

    The setup is every ordinary code cell (neither solution nor grade cell) above the
    solution cell, as a learner would have run it.
    """
    found = {}
    for path in ALL_NOTEBOOKS:
        setup = []
        for cell in read_notebook(path).cells:
            if cell.cell_type != "code":
                continue
            meta = nbg(cell)
            if meta.get("solution"):
                found[meta["grade_id"]] = (path.name, "\n\n".join(setup), cell.source)
            elif not meta.get("grade"):
                setup.append(cell.source)
    return found


def solution(grade_id: str):
    """The learner function defined by the solution cell, exec'd in a fresh namespace."""
    name, setup, source = solution_sources()[grade_id]
    ns: dict = {"__name__": f"solution_{grade_id}"}
    exec(compile(setup, f"{name}:setup", "exec"), ns)
    exec(compile(source, f"{name}:{grade_id}", "exec"), ns)
    return ns[get(grade_id).function]


def case_outcomes(grade_id: str, fn, seed: int = 0, hidden: bool = True):
    """Run ``fn`` on every case of the exercise (hidden ones too unless ``hidden=False``)."""
    ex = get(grade_id)
    return [run_case(ex, fn, c) for c in ex.cases(seed) if hidden or not c.hidden]


def nbgrader_cells(path: Path) -> tuple[list[str], dict[str, str], dict[str, tuple[str, float]]]:
    """Check a solutions notebook cell by cell as an nbgrader source and collect its parts.

    Asserts: valid nbformat, python3 kernel, no stored outputs, nbgrader schema-3 keys only,
    well-formed grade_ids, solution cells unlocked code cells, grade cells locked code cells
    with points, no duplicate grade_ids.

    Returns:
        (grade_ids, solutions: grade_id -> source, checks: grade_id -> (source, points)).
    """
    nb = read_notebook(path)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    grade_ids, solutions, checks = [], {}, {}
    for cell in nb.cells:
        assert cell.cell_type != "code" or (cell.outputs == [] and cell.execution_count is None), \
            "solutions are stored without outputs"
        meta = nbg(cell)
        if not meta:
            continue
        assert set(meta) <= NBGRADER_KEYS and meta["schema_version"] == 3
        assert GRADE_ID.match(meta["grade_id"])
        grade_ids.append(meta["grade_id"])
        if meta["solution"]:
            assert cell.cell_type == "code" and not meta["grade"] and not meta["locked"]
            solutions[meta["grade_id"]] = cell.source
        if meta["grade"]:
            assert cell.cell_type == "code" and meta["locked"] and "points" in meta
            checks[meta["grade_id"]] = (cell.source, meta["points"])
    assert len(grade_ids) == len(set(grade_ids)), "duplicate grade_ids"
    return grade_ids, solutions, checks
