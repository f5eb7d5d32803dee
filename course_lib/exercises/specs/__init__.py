"""Exercise specs, one module per lesson; importing this package registers them all."""

from course_lib.exercises.specs import lesson01, lesson02, lesson03, lesson04, lesson05  # noqa: F401
