"""The time estimates a learner reads agree: the README's map, each lesson, course_lib/course_map.

* A lesson's intro says ``**Time:** about N minutes``: N is the map's ``minutes``.
* A lesson's last markdown cell may end with
  ``**Practise:** [the exercises for this lesson](../exercises/NN_name.ipynb), about M min.``:
  the link is the lesson's own exercise notebook, which exists, and M is the map's
  ``exercise_minutes``. Every lesson that has the line is checked; the line may appear nowhere
  else in the lesson.
* The README's course map (written by cog) gives the same two times for every lesson.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from course_lib.course_map import LESSONS, Lesson

ROOT = Path(__file__).resolve().parents[1]
READY = [lesson for lesson in LESSONS if lesson.status == "ready"]

TIME = re.compile(r"\*\*Time:\*\*\s+about\s+(\d+)\s+minutes")
PRACTISE = re.compile(
    r"^\*\*Practise:\*\*\s+\[the exercises for this lesson\]\((?P<link>[^)\s]+)\),\s+"
    r"about\s+(?P<minutes>\d+)\s+min\.\s*$", re.MULTILINE)
ANY_PRACTISE = re.compile(r"\*\*Practi[sc]e:?\*\*", re.IGNORECASE)


def _markdown_cells(lesson: Lesson) -> list[str]:
    nb = nbformat.read(ROOT / "notebooks" / lesson.notebook, as_version=4)
    return [cell.source for cell in nb.cells if cell.cell_type == "markdown"]


def practise_line(lesson: Lesson) -> re.Match | None:
    """The ``**Practise:**`` line of the lesson's last markdown cell, if it has one."""
    cells = _markdown_cells(lesson)
    return PRACTISE.search(cells[-1]) if cells else None


def lessons_without_practise_line() -> list[str]:
    """Lessons with exercises whose last cell does not (yet) link to them."""
    return [lesson.notebook for lesson in READY if lesson.exercises and not practise_line(lesson)]


@pytest.mark.parametrize("lesson", READY, ids=[lesson.notebook for lesson in READY])
def test_lesson_intro_time_is_the_maps(lesson):
    found = [int(m.group(1)) for text in _markdown_cells(lesson) for m in TIME.finditer(text)]
    assert found, f"{lesson.notebook}: no '**Time:** about N minutes' line in its intro"
    assert found[0] == lesson.minutes, (
        f"{lesson.notebook} says about {found[0]} minutes, course_lib/course_map.py says "
        f"{lesson.minutes}: change one of them (the README is written from the map)")


@pytest.mark.parametrize("lesson", READY, ids=[lesson.notebook for lesson in READY])
def test_practise_line_links_the_exercises_and_has_the_maps_time(lesson):
    cells = _markdown_cells(lesson)
    elsewhere = [i for i, text in enumerate(cells[:-1]) if ANY_PRACTISE.search(text)]
    assert not elsewhere, (f"{lesson.notebook}: a **Practise:** line belongs in the last "
                           f"markdown cell, found in markdown cell(s) {elsewhere}")
    match = practise_line(lesson)
    if match is None:
        assert not ANY_PRACTISE.search(cells[-1]), (
            f"{lesson.notebook}: its **Practise:** line is not in the course's form: "
            "'**Practise:** [the exercises for this lesson](../exercises/NN_name.ipynb), "
            "about M min.'")
        assert not lesson.exercises, (
            f"{lesson.notebook} has exercises but does not end with a **Practise:** line "
            "linking them")
        return  # a lesson without exercises (00) has nothing to practise
    assert lesson.exercises, f"{lesson.notebook} links exercises but the course has none for it"
    link = match.group("link")
    assert link == f"../exercises/{lesson.notebook}", (
        f"{lesson.notebook} links {link}, not its own exercises ../exercises/{lesson.notebook}")
    assert (ROOT / "notebooks" / link).resolve().is_file(), f"{link} does not exist"
    minutes = int(match.group("minutes"))
    assert minutes == lesson.exercise_minutes, (
        f"{lesson.notebook} says its exercises take about {minutes} min, "
        f"course_lib/course_map.py says {lesson.exercise_minutes}")


def test_every_lesson_with_exercises_has_a_practice_time_and_none_without():
    for lesson in LESSONS:
        if lesson.exercises:
            assert lesson.exercise_minutes > 0, f"{lesson.notebook}: exercise_minutes missing"
        else:
            assert lesson.exercise_minutes == 0, f"{lesson.notebook} has no exercises"


EXERCISE_TIME = re.compile(r"\*\*Time\*\*:\s+about\s+(\d+)\s+minutes")


@pytest.mark.parametrize("folder", ["solutions", "exercises"])
@pytest.mark.parametrize("lesson", [lesson for lesson in READY if lesson.exercises],
                         ids=lambda lesson: lesson.notebook)
def test_exercise_notebook_intro_time_is_the_maps(folder, lesson):
    nb = nbformat.read(ROOT / folder / lesson.notebook, as_version=4)
    found = [int(m.group(1)) for cell in nb.cells if cell.cell_type == "markdown"
             for m in EXERCISE_TIME.finditer(cell.source)]
    assert found, f"{folder}/{lesson.notebook}: no '**Time**: about N minutes' line in its intro"
    assert found[0] == lesson.exercise_minutes, (
        f"{folder}/{lesson.notebook} says about {found[0]} minutes, course_lib/course_map.py says "
        f"{lesson.exercise_minutes} (edit solutions/src/{lesson.notebook[:-6]}.md and `make sync`)")


def test_readme_map_gives_the_lessons_times():
    """Read off the README's table itself, not the function that writes it."""
    readme = (ROOT / "README.md").read_text()
    rows = {}
    for line in readme.splitlines():
        cols = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cols) >= 6 and re.fullmatch(r"\d\d", cols[0]):
            rows[int(cols[0])] = cols
    for lesson in READY:
        assert lesson.number in rows, f"README's map has no row for lesson {lesson.number:02d}"
        cols = rows[lesson.number]
        assert cols[2] == f"{lesson.minutes} min", (lesson.notebook, cols[2])
        practice = f"{lesson.exercise_minutes} min" if lesson.exercise_minutes else "—"
        assert cols[5] == practice, (lesson.notebook, cols[5])
        intro = [int(m.group(1)) for text in _markdown_cells(lesson)
                 for m in TIME.finditer(text)]
        assert intro and cols[2] == f"{intro[0]} min", (
            f"README says {cols[2]} for {lesson.notebook}, the lesson says {intro[:1]}")
        match = practise_line(lesson)
        if match is not None:
            assert cols[5] == f"{match.group('minutes')} min", (
                f"README says {cols[5]} of exercises for {lesson.notebook}, the lesson's "
                f"last cell says about {match.group('minutes')} min")
