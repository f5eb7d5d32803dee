"""``python -m course_lib.grading SUBMISSION... --out DIR``: see :mod:`course_lib.grading.cli`."""

import sys

if __name__ == "__main__":
    from course_lib.grading.cli import main

    sys.exit(main())
