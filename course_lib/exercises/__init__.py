"""Exercises: the protocol (protocol: the data; core: the checks and the registry), the
plain-data codec, the specs per lesson (specs, each listing its exercises), and the release
that turns solutions/ into exercises/.

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
from course_lib.exercises.hints import hint

__all__ = ["Case", "CheckFailed", "Exercise", "Outcome", "all_exercises", "check", "get", "hint",
           "register"]
