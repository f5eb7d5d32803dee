"""The solution notebooks work under nbgrader as they are: generate_assignment, then autograde.

In a temporary course directory, nbgrader's own command line releases the fixture
assignment (and one real lesson's, when there is one with registered exercises),
a learner "submits" the released notebook with the solutions filled in, and
``nbgrader autograde`` must give full marks. This is the path for large classes on
JupyterHub; our own grader (tests/test_grading.py) is the one that resists cheats.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "grading_fixtures"
BIN = Path(sys.executable).parent

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def _nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"  # nbgrader shells out to alembic
    env["COURSE_GRADING_SPECS"] = str(FIXTURES / "specs.py")  # check() must find the fixture exercises
    env["JUPYTER_CONFIG_DIR"] = str(course / ".jupyter")
    proc = subprocess.run([str(BIN / "nbgrader"), *args], cwd=course, env=env, capture_output=True,
                          text=True, timeout=800)
    assert proc.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def _real_solution() -> Path | None:
    from course_lib.exercises import core
    from course_lib.grading import notebooks

    solutions = ROOT / "solutions"
    if not solutions.is_dir():
        return None
    registry = core.all_exercises()
    for stem, a in notebooks.load_assignments(solutions).items():
        if a.grade_ids and all(g in registry for g in a.grade_ids):
            return solutions / f"{stem}.ipynb"
    return None


def _fill_in(released: Path, source: Path, target: Path) -> None:
    """What a learner hands in: the released notebook with the solution cells written."""
    nb = nbformat.read(released, as_version=4)
    solved = {c.metadata["nbgrader"]["grade_id"]: c.source for c in nbformat.read(source, as_version=4).cells
              if c.metadata.get("nbgrader", {}).get("solution")}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            cell.source = solved[meta["grade_id"]]
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)


def test_nbgrader_generate_and_autograde_give_full_marks(tmp_path):
    course = tmp_path / "course"
    (course / "source" / "ps1").mkdir(parents=True)
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(course)!r}\n"
        "c.CourseDirectory.course_id = 'course-test'\n"
        "c.ExecutePreprocessor.timeout = 600\n")
    sources = [FIXTURES / "solutions" / "01_fixture.ipynb"]
    real = _real_solution()
    if real is not None:
        sources.append(real)
    for src in sources:
        shutil.copy(src, course / "source" / "ps1" / src.name)

    _nbgrader(course, "generate_assignment", "ps1", "--force")
    for src in sources:
        released = course / "release" / "ps1" / src.name
        text = released.read_text(encoding="utf-8")
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
        _fill_in(released, src, course / "submitted" / "alice" / "ps1" / src.name)
    _nbgrader(course, "db", "student", "add", "alice")
    _nbgrader(course, "autograde", "ps1", "--force")

    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="course-test") as gb:
        submission = gb.find_submission("ps1", "alice")
        for nb in submission.notebooks:
            assert nb.max_score > 0
            assert nb.score == nb.max_score, (nb.name, [(g.name, g.score, g.max_score) for g in nb.grades])
