"""The environment lessons are executed in, for stored outputs and for nbval alike.

Stored outputs are produced on the CPU with one thread and a pinned instruction set, so that
``make notebooks`` and the nbval run in ``make test`` print the same digits on any x86-64
machine with AVX2 (every Intel and AMD server CPU since 2013-2015). Without the pins, PyTorch's
vectorised kernels, MKL, oneDNN and numpy's OpenBLAS each pick a code path for the processor they find (AVX-512 on
one machine, AVX2 on another, a different MKL kernel on Intel than on AMD), the last bits of a
matrix product differ, and a chaotic run (a transformer's sampled text, a diverging learning
rate) prints different numbers: CI once failed 24 lesson cells that way. Measured on the
reference machine: the pins cost nothing (course serial sum 172 s without, 169 s with).

A learner's own JupyterLab is not affected.
"""

from __future__ import annotations

from collections.abc import MutableMapping

__all__ = ["NOTEBOOK_ENV", "apply_notebook_env"]

NOTEBOOK_ENV = {
    "COURSE_DEVICE": "cpu",      # stored outputs are CPU outputs, even on a GPU machine
    "OMP_NUM_THREADS": "1",      # same float summation order everywhere
    "MKL_NUM_THREADS": "1",
    "ATEN_CPU_CAPABILITY": "avx2",  # PyTorch's own kernels: the AVX2 build, even where AVX-512 exists
    "MKL_CBWR": "AVX2,STRICT",   # MKL's conditional numerical reproducibility: one code path on all CPUs
    "ONEDNN_MAX_CPU_ISA": "AVX2",  # oneDNN (bf16/linear kernels) capped at the same level
    "OPENBLAS_CORETYPE": "Haswell",  # numpy/scipy/scikit-learn's OpenBLAS: its AVX2 kernels
    "PYTHONHASHSEED": "0",
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",  # debugpy would warn on stderr otherwise
}


def apply_notebook_env(env: MutableMapping[str, str]) -> None:
    """Set the lesson execution variables in ``env`` (e.g. ``os.environ``)."""
    env.update(NOTEBOOK_ENV)
