"""Exercises: the shared protocol (core), plain-data codec, specs per lesson, and the
generator that turns solutions/ into exercises/.

In a notebook::

    from course_lib.exercises import check
    check(mse, "l01_mse")
"""

from course_lib.exercises.core import (
    Case,
    CheckFailed,
    Exercise,
    Outcome,
    all_exercises,
    check,
    get,
    register,
)

__all__ = ["Case", "CheckFailed", "Exercise", "Outcome", "all_exercises", "check", "get", "register"]
