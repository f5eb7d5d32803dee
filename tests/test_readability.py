"""Lessons read like text with code in it, not like a program (issue 12).

A code cell a learner has to scroll through hides its point; bookkeeping (plot layout, tables,
training loops the lesson has already taught) belongs in course_lib, where it is tested once.
"""
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
MAX_LINES = 30


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_no_code_cell_is_longer_than_a_screen(path):
    nb = nbformat.read(path, as_version=4)
    long = [(i, len(c.source.splitlines())) for i, c in enumerate(nb.cells)
            if c.cell_type == "code" and len(c.source.splitlines()) > MAX_LINES]
    assert not long, f"{path.name}: code cells (index, lines) over {MAX_LINES} lines: {long}"


def test_the_lessons_are_found():
    assert len(LESSONS) >= 14
