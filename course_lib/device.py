"""Pick a device, seed everything, and make runs repeatable.

Every lesson starts with::

    from course_lib.device import default_device, seed_everything
    device = default_device()
    seed_everything(0)

and every helper in course_lib takes ``device=`` so the same notebook runs on a
CPU, an NVIDIA GPU (cuda) or Apple silicon (mps) unchanged.
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch

from course_lib.validation import check_int

__all__ = [
    "default_device",
    "seed_everything",
    "set_deterministic",
    "accelerator_summary",
    "resolve_device",
]


def default_device() -> torch.device:
    """The best device available: cuda, then mps, then cpu.

    Set the environment variable ``COURSE_DEVICE`` (e.g. ``cpu``) to override,
    which is handy to compare a GPU run with the CPU outputs stored in the lessons.
    """
    forced = os.environ.get("COURSE_DEVICE")
    if forced:
        return resolve_device(forced)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """Turn ``None`` / a string / a device into a ``torch.device`` (``None`` -> default)."""
    if device is None:
        return default_device()
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {str(dev)!r} was requested but CUDA is not available here")
    if dev.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ValueError("device 'mps' was requested but MPS is not available here")
    return dev


def seed_everything(seed: int = 0) -> torch.Generator:
    """Seed Python's ``random``, NumPy and torch (CPU and every GPU).

    Returns a fresh ``torch.Generator`` seeded with ``seed`` for code that wants
    its own stream. Assign it (``g = seed_everything(0)``) or end the line with
    ``;`` so the notebook does not print the generator's memory address.
    """
    seed = check_int(seed, "seed", low=0)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    gen = torch.Generator()
    gen.manual_seed(seed)
    return gen


def set_deterministic(enabled: bool = True) -> None:
    """Ask torch for deterministic kernels (slower on GPU, identical results run to run).

    ``warn_only=True`` keeps an op without a deterministic kernel usable (it warns
    instead of raising), so a lesson never crashes because of this setting.
    """
    if enabled:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(enabled, warn_only=True)
    if hasattr(torch.backends, "cudnn"):
        torch.backends.cudnn.benchmark = not enabled
        torch.backends.cudnn.deterministic = enabled


def accelerator_summary() -> str:
    """One line saying which kind of device the lessons will use.

    Names only the kind (GPU / Apple GPU / CPU), never a model name or a path, so it
    is safe to show in a notebook.
    """
    dev = default_device()
    if dev.type == "cuda":
        return "A CUDA GPU was found: lessons will run on it (outputs may differ in the last digits)."
    if dev.type == "mps":
        return "An Apple GPU (mps) was found: lessons will run on it (outputs may differ in the last digits)."
    return "No GPU found: lessons will run on the CPU, which is what they are sized for."
