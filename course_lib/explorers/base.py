"""What the explorers built on measured runs share: a readout, choice sliders, a status line.

The landscape explorers (lr, momentum, Adam) return an
:class:`~course_lib.explorers.results.ExplorerResult`; the explorers of lessons 02 and 06-11
return their own small dataclasses, each mixing in :class:`Readout` (``lines`` in, a
``readout`` text out) and reporting odd settings through :func:`invalid_line` rather than an
exception. :func:`choice_slider` is the control for a setting that indexes into a grid computed
when the lesson's cell runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as widgets

__all__ = ["Readout", "invalid_line", "choice_slider", "toggle", "nearest_index", "as_float"]


class Readout:
    """Mixin for a result dataclass with a ``lines`` field (the readout, one string per line)."""

    lines: tuple[str, ...]

    @property
    def readout(self) -> str:
        """The readout lines joined by newlines."""
        return "\n".join(self.lines)


def invalid_line(error: str) -> str:
    """The readout line for settings that cannot be run."""
    return f"invalid setting: {error}"


def as_float(value: Any) -> float | None:
    """``float(value)`` for a real number (NaN and inf included), else ``None`` (bools too)."""
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def nearest_index(values: Sequence[float], value: float, *, log: bool = True) -> int | None:
    """Index of the grid value equal to ``value`` (to 1e-9 relative), or ``None``.

    Grid explorers accept only values of their grid: a value between two grid points is an
    "invalid setting", never silently rounded.
    """
    v = as_float(value)
    if v is None or not math.isfinite(v):
        return None
    for i, g in enumerate(values):
        if g == v or (log and g > 0 and v > 0 and abs(math.log(v / g)) < 1e-9) or \
                abs(g - v) <= 1e-9 * max(abs(g), abs(v)):
            return i
    return None


def choice_slider(description: str, options: Sequence[Any], value: Any, *,
                  fmt: Callable[[Any], str] = str, width: str = "340px") -> widgets.SelectionSlider:
    """A slider over fixed values (a grid's axis), labelled with ``fmt``; redraws on release.

    Raises:
        ValueError: if ``value`` is not one of ``options``.
    """
    opts = list(options)
    if value not in opts:
        raise ValueError(f"{description} must be one of {[fmt(o) for o in opts]}, got {value!r}")
    return widgets.SelectionSlider(
        options=[(fmt(o), o) for o in opts], value=value, description=description,
        continuous_update=False, style={"description_width": "initial"},
        layout=widgets.Layout(width=width))


def toggle(description: str, options: Sequence[Any], value: Any) -> widgets.ToggleButtons:
    """Buttons for a choice among a few values.

    Raises:
        ValueError: if ``value`` is not one of ``options``.
    """
    opts = list(options)
    if value not in opts:
        raise ValueError(f"{description} must be one of {opts}, got {value!r}")
    return widgets.ToggleButtons(options=opts, value=value, description=description,
                                 style={"button_width": "90px", "description_width": "initial"})
