"""One way to check a number, an integer or a flag argument, with one kind of error message.

Every public function of ``course_lib`` that takes a number checks it with one of these, so a
bad value always fails the same way: a ``ValueError`` whose message names the argument, states
the rule and shows the value, e.g. ``lr must be a finite number >= 0, got nan``.

Each check returns the value converted (``float``, ``int`` or ``bool``), so a call site reads::

    from course_lib.validation import check_bool, check_int, check_real

    lr = check_real(lr, "lr", low=0)                                 # lr >= 0
    eps = check_real(eps, "eps", low=0, low_open=True)               # eps > 0
    beta = check_real(beta, "beta", low=0, high=1, high_open=True)   # 0 <= beta < 1
    floor = check_real(floor, "floor", low=0, high=1)                # 0 <= floor <= 1
    clip = check_real(clip, "clip_norm", low=0, low_open=True, allow_none=True)  # None or > 0
    steps = check_int(steps, "steps", low=1)                         # an int >= 1
    cycle = check_bool(cycle, "cycle")                               # True or False

    check_real(-1.0, "lr", low=0, owner="Adam")
    # ValueError: Adam: lr must be a finite number >= 0, got -1.0

What counts as what:

* A *real number* is any ``numbers.Real`` (``int``, ``float``, NumPy's float and int scalars)
  except ``bool``: ``True`` where a learning rate belongs is a mistake, not 1.0. ``nan`` is
  always refused, ``inf`` unless ``allow_inf=True``. A one-element tensor is accepted only with
  ``allow_tensor=True`` (and read with ``.item()``); strings never are.
* An *integer* is any ``numbers.Integral`` (``int``, NumPy's int scalars) except ``bool``.
  Floats are refused even when whole (``10.0``): they are not rounded.
* A *flag* is ``True`` or ``False`` (a NumPy ``bool_`` too); ``1`` and ``"yes"`` are refused.

Bounds are closed by default (``low <= x <= high``); ``low_open=True`` / ``high_open=True``
make them strict. The message spells the interval the usual way: ``>= 0``, ``> 0``, ``< 1``,
``in [0, 1)``.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import torch

__all__ = ["check_real", "check_int", "check_bool", "describe"]


def describe(value: Any) -> str:
    """``value`` as an error message shows it: its repr and, for clarity, its type.

    Example:
        >>> describe("0.1")
        "'0.1' (str)"
    """
    return f"{value!r} ({type(value).__name__})"


def _rule(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    """The interval as words: ``""``, ``" >= 0"``, ``" < 1"``, ``" in [0, 1)"``."""
    if low is None and high is None:
        return ""
    if high is None:
        return f" {'>' if low_open else '>='} {low:g}"
    if low is None:
        return f" {'<' if high_open else '<='} {high:g}"
    return f" in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"


def _inside(x: float, low: float | None, high: float | None, low_open: bool, high_open: bool) -> bool:
    if low is not None and not (x > low if low_open else x >= low):
        return False
    return high is None or (x < high if high_open else x <= high)


def check_real(
    value: Any,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    allow_none: bool = False,
    allow_inf: bool = False,
    allow_tensor: bool = False,
    owner: str | None = None,
) -> float | None:
    """``value`` as a ``float``, after checking it is a real number within the bounds.

    Args:
        value: the argument to check.
        name: the argument's name, for the message (``"lr"``, ``"betas[0]"``).
        low: the lower bound, or ``None`` for none.
        high: the upper bound, or ``None`` for none.
        low_open: ``True`` excludes ``low`` itself (``x > low``); default ``x >= low``.
        high_open: ``True`` excludes ``high`` itself (``x < high``); default ``x <= high``.
        allow_none: accept ``None`` (and return it), for an optional setting.
        allow_inf: accept ``inf`` / ``-inf`` (when the bounds do; the message then says
            ``(inf allowed)``); ``nan`` is never accepted.
        allow_tensor: accept a one-element tensor, read with ``.item()``.
        owner: who is asking, put in front of the message (``"Adam"`` gives
            ``"Adam: lr must be ..."``), or ``None``.

    Returns:
        ``float(value)``, or ``None`` when ``value`` is ``None`` and ``allow_none`` is set.

    Raises:
        ValueError: if ``value`` is not a real number (a bool, a string, a tensor unless
            allowed), is ``nan`` or ``inf`` (unless allowed), or lies outside the bounds.

    Example:
        >>> check_real(3e-4, "lr", low=0)
        0.0003
        >>> check_real(float("nan"), "lr", low=0)
        Traceback (most recent call last):
        ...
        ValueError: lr must be a finite number >= 0, got nan
    """
    if value is None and allow_none:
        return None
    kind = "a number" if allow_inf else "a finite number"
    rule = _rule(low, high, low_open, high_open) + (" (inf allowed)" if allow_inf else "")
    prefix = f"{owner}: " if owner else ""
    wanted = f"{prefix}{name} must be {'None or ' if allow_none else ''}{kind}{rule}"
    number = value
    if allow_tensor and isinstance(value, torch.Tensor) and value.numel() == 1:
        if value.dtype == torch.bool or value.is_complex():
            raise ValueError(f"{wanted}, got {value!r}")
        number = value.item()
    if isinstance(number, bool | np.bool_) or not isinstance(number, numbers.Real):
        raise ValueError(f"{wanted}, got {describe(value)}")
    x = float(number)
    if math.isnan(x) or (math.isinf(x) and not allow_inf) or not _inside(
        x, low, high, low_open, high_open
    ):
        shown = number if type(number) in (int, float) else x  # NumPy scalars print as floats
        raise ValueError(f"{wanted}, got {shown!r}")
    return x


def check_int(
    value: Any,
    name: str,
    *,
    low: int | None = None,
    high: int | None = None,
    allow_none: bool = False,
    owner: str | None = None,
) -> int | None:
    """``value`` as an ``int``, after checking it is an integer in ``[low, high]``.

    Args:
        value: the argument to check.
        name: the argument's name, for the message (``"steps"``).
        low: the smallest value allowed, or ``None`` for none.
        high: the largest value allowed, or ``None`` for none.
        allow_none: accept ``None`` (and return it), for an optional setting.
        owner: who is asking, put in front of the message, or ``None``.

    Returns:
        ``int(value)``, or ``None`` when ``value`` is ``None`` and ``allow_none`` is set.

    Raises:
        ValueError: if ``value`` is not an integer (a bool, a float, even ``10.0``, a string)
            or lies outside ``[low, high]``.

    Example:
        >>> check_int(100, "total_steps", low=1)
        100
        >>> check_int(10.0, "total_steps", low=1)
        Traceback (most recent call last):
        ...
        ValueError: total_steps must be an integer >= 1, got 10.0 (float)
    """
    if value is None and allow_none:
        return None
    rule = _rule(low, high, False, False)
    prefix = f"{owner}: " if owner else ""
    wanted = f"{prefix}{name} must be {'None or ' if allow_none else ''}an integer{rule}"
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{wanted}, got {describe(value)}")
    n = int(value)
    if not _inside(n, low, high, False, False):
        raise ValueError(f"{wanted}, got {n}")
    return n


def check_bool(value: Any, name: str, *, owner: str | None = None) -> bool:
    """``value`` as a ``bool``, after checking it is ``True`` or ``False``.

    Args:
        value: the argument to check; ``True``, ``False`` or a NumPy ``bool_``.
        name: the argument's name, for the message (``"nesterov"``).
        owner: who is asking, put in front of the message, or ``None``.

    Returns:
        ``bool(value)``.

    Raises:
        ValueError: for anything else, ``0``, ``1`` and ``None`` included.

    Example:
        >>> check_bool(1, "nesterov", owner="SGD")
        Traceback (most recent call last):
        ...
        ValueError: SGD: nesterov must be True or False, got 1 (int)
    """
    if not isinstance(value, bool | np.bool_):
        prefix = f"{owner}: " if owner else ""
        raise ValueError(f"{prefix}{name} must be True or False, got {describe(value)}")
    return bool(value)
