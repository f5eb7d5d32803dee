"""The environment lessons are executed in, for stored outputs and for nbval alike.

Stored outputs are produced on the CPU with a fixed number of threads so that
``make notebooks`` and the nbval run in ``make test`` see the same numbers on
any machine. A learner's own JupyterLab is not affected.
"""

from __future__ import annotations

from collections.abc import MutableMapping

__all__ = ["NOTEBOOK_ENV", "apply_notebook_env"]

NOTEBOOK_ENV = {
    "COURSE_DEVICE": "cpu",      # stored outputs are CPU outputs, even on a GPU machine
    "OMP_NUM_THREADS": "1",      # same float summation order everywhere
    "MKL_NUM_THREADS": "1",
    "PYTHONHASHSEED": "0",
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",  # debugpy would warn on stderr otherwise
}


def apply_notebook_env(env: MutableMapping[str, str]) -> None:
    """Set the lesson execution variables in ``env`` (e.g. ``os.environ``)."""
    env.update(NOTEBOOK_ENV)
