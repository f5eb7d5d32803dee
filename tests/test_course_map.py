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
