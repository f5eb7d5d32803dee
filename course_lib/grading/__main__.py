"""``python -m course_lib.grading SUBMISSION... --out DIR``: see :mod:`course_lib.grading.cli`.

The grader re-executes itself isolated (no ``site``, no ``.pth`` files, a private bytecode
cache: :mod:`course_lib.grading.isolation`) before importing anything else.
"""

import sys

if __name__ == "__main__":
    from course_lib.grading import isolation

    if not isolation.is_isolated():
        isolation.reexec(sys.argv[1:])
    from course_lib.grading.cli import main

    sys.exit(main())
