"""Exercise specs, one module per lesson; importing this package registers them all."""

from course_lib.exercises.specs import (  # noqa: F401
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
)
