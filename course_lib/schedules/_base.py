"""What every schedule shares: the ``Schedule`` type, argument checks and curve pieces.

The checks raise the ``ValueError`` every factory documents; the pieces are the linear ramp
and the half cosine the schedules are built from.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable

__all__ = ["Schedule"]

Schedule = Callable[[int], float]
"""Anything that maps a step (int >= 0) to a learning-rate multiplier (float)."""


# --------------------------------------------------------------------------- validation


def _as_int(name: str, value: object, *, minimum: int) -> int:
    """``value`` as an int >= ``minimum``; floats such as ``10.0`` are refused, not rounded."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return value


def _as_float(name: str, value: object) -> float:
    """``value`` as a finite float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def _as_fraction(name: str, value: object) -> float:
    """``value`` as a float in the closed interval [0, 1]."""
    value = _as_float(name, value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be in [0, 1] (a fraction of the peak lr), got {value}")
    return value


def _as_positive(name: str, value: object) -> float:
    value = _as_float(name, value)
    if value <= 0.0:
        raise ValueError(f"{name} must be > 0, got {value}")
    return value


def _check_step(step: object) -> int:
    """The argument of every schedule: a non-negative integer step."""
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        raise ValueError(f"a schedule takes an integer step, got {step!r}")
    step = int(step)
    if step < 0:
        raise ValueError(f"a schedule takes a non-negative step, got {step}")
    return step


def _resolve_start_factor(start_factor: float | None, warmup_steps: int) -> float:
    """``None`` -> 1 / (warmup_steps + 1), so the ramp is (t + 1) / (W + 1) and never 0."""
    if start_factor is None:
        return 1.0 / (warmup_steps + 1)
    return _as_fraction("start_factor", start_factor)


# --------------------------------------------------------------------------- shared pieces


def _warmup(step: int, warmup_steps: int, start_factor: float) -> float:
    """Linear ramp from ``start_factor`` at step 0 to 1.0 at ``warmup_steps``."""
    return start_factor + (1.0 - start_factor) * step / warmup_steps


def _cosine_anneal(progress: float) -> float:
    """Half a cosine from 1 (progress 0) down to 0 (progress 1)."""
    return (1.0 + math.cos(math.pi * progress)) / 2.0
