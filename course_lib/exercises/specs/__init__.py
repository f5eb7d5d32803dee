"""Exercise specs, one module per lesson.

Each ``lessonNN`` module defines its exercises and lists them in ``EXERCISES``; nothing is
registered on import. :data:`EXERCISES` here is the course's list, lesson by lesson in the order
of :data:`LESSONS` (the course map and the reports rely on this order); the registry in
:mod:`course_lib.exercises.core` reads it.
"""

from course_lib.exercises.protocol import Exercise
from course_lib.exercises.specs import (
    lesson01,
    lesson02,
    lesson03,
    lesson04,
    lesson05,
    lesson06,
    lesson07,
    lesson08,
    lesson09,
    lesson10,
    lesson11,
    lesson12,
    lesson13,
)

__all__ = ["EXERCISES", "LESSONS"]

LESSONS = (lesson01, lesson02, lesson03, lesson04, lesson05, lesson06, lesson07, lesson08,
           lesson09, lesson10, lesson11, lesson12, lesson13)

EXERCISES: tuple[Exercise, ...] = tuple(ex for lesson in LESSONS for ex in lesson.EXERCISES)
