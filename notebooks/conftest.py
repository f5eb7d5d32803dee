"""nbval on the lessons: kernels inherit the same environment as `make notebooks`."""

import os

from course_lib.notebook_env import apply_notebook_env

apply_notebook_env(os.environ)
