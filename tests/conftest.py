"""Shared test setup: notebook kernels started by nbval inherit this environment."""

import os

import matplotlib

from course_lib.notebook_env import apply_notebook_env

matplotlib.use("Agg")
apply_notebook_env(os.environ)
