"""Shared test setup (the lesson environment is applied by the root conftest.py)."""

import matplotlib

matplotlib.use("Agg")
