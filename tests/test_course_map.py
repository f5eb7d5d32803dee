"""The course map matches what is on disk, and the README carries the same map."""

import subprocess
import sys
from pathlib import Path

from course_lib.course_map import LESSONS

ROOT = Path(__file__).resolve().parents[1]


def test_ready_lessons_exist_and_planned_ones_do_not():
    on_disk = {p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    for lesson in LESSONS:
        if lesson.status == "ready":
            assert lesson.notebook in on_disk, f"{lesson.notebook} is marked ready but missing"
        else:
            assert lesson.notebook not in on_disk, f"{lesson.notebook} exists: mark it ready"
    assert on_disk <= {lesson.notebook for lesson in LESSONS}, "a notebook is missing from the map"


def test_numbers_are_consecutive():
    assert [lesson.number for lesson in LESSONS] == list(range(len(LESSONS)))


def test_readme_has_the_current_map():
    """The README's table is cog output of course_map_markdown(): `make sync` rewrites it."""
    proc = subprocess.run([sys.executable, "-m", "cogapp", "--check", "--diff", "README.md"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, "README course map is stale: run `make sync`\n" + proc.stdout + proc.stderr


def test_every_lesson_with_exercises_has_solution_and_exercise_notebooks():
    for lesson in LESSONS:
        if lesson.exercises:
            assert (ROOT / "solutions" / lesson.notebook).exists(), lesson.notebook
            assert (ROOT / "exercises" / lesson.notebook).exists(), lesson.notebook


def test_every_solutions_notebook_belongs_to_a_lesson_with_exercises():
    with_exercises = {lesson.notebook for lesson in LESSONS if lesson.exercises}
    assert {p.name for p in (ROOT / "solutions").glob("*.ipynb")} == with_exercises
