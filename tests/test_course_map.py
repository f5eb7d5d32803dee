"""The course map matches what is on disk, and the README carries the same map."""

from pathlib import Path

from course_lib.course_map import LESSONS, course_map_markdown

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
    readme = (ROOT / "README.md").read_text()
    assert course_map_markdown() in readme, "README course map is stale: paste course_map_markdown()"


def test_map_lists_exactly_the_registered_exercises():
    from course_lib.exercises import all_exercises

    registered: dict[int, set[str]] = {}
    for grade_id, ex in all_exercises().items():
        if grade_id.startswith("l") and grade_id[1:3].isdigit():
            registered.setdefault(int(grade_id[1:3]), set()).add(ex.function)
    for lesson in LESSONS:
        assert set(lesson.exercises) == registered.get(lesson.number, set()), (
            f"lesson {lesson.number:02d}: course map lists {sorted(lesson.exercises)}, "
            f"registry has {sorted(registered.get(lesson.number, set()))}")


def test_every_lesson_with_exercises_has_solution_and_exercise_notebooks():
    for lesson in LESSONS:
        if lesson.exercises:
            assert (ROOT / "solutions" / lesson.notebook).exists(), lesson.notebook
            assert (ROOT / "exercises" / lesson.notebook).exists(), lesson.notebook
