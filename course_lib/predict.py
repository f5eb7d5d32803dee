"""Predict, then run: compare the learner's guess with what a cell measured.

The course's one convention for these cells (lesson 00 shows it):

1. a markdown cell that starts with **Predict.** and asks one question;
2. a small code cell that holds only the prediction, left as ``None`` in the committed lesson::

       my_prediction = None   # write your guess here, e.g. 0.5 (a number)

3. the cell that measures the answer ends with ``reveal(my_prediction, measured)``, which says
   how far off the guess was (or, with ``None``, just the measured value, so the committed
   outputs stay the same for every learner and nbval can compare them).

Numbers are compared on a log scale when both are positive (a guess of 0.01 for 0.02 is "2.0x
too low"), else by difference; choices are compared as strings, case and surrounding spaces
ignored. Why hand-written: the whole of it is the wording of one sentence.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

__all__ = ["reveal", "verdict"]


def _fmt(x: float) -> str:
    if x == 0 or not math.isfinite(x):
        return str(x)
    return f"{x:.3g}"


def _number(x: Any) -> float | None:
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        return None
    return float(x)


def verdict(prediction: Any, measured: Any, *, choices: Sequence[str] | None = None,
            close: float = 1.5) -> str:
    """One sentence comparing ``prediction`` with ``measured``.

    Args:
        prediction: the learner's guess: ``None`` (no guess), a number, or one of ``choices``.
        measured: the value the cell computed (a number, or one of ``choices``).
        choices: the allowed answers when the question is a choice; ``None`` for a number.
        close: a positive guess within this factor of a positive measurement counts as close
            (by default within 1.5x); for other numbers, within 10% of ``|measured|``.
    """
    if choices is not None:
        options = [str(c) for c in choices]
        shown = str(measured)
        if prediction is None:
            return f"Measured: {shown}. (Write your prediction above, one of {options}, and run again.)"
        guess = str(prediction).strip().lower()
        if guess not in [o.lower() for o in options]:
            return f"Your prediction {prediction!r} is not one of {options}. Measured: {shown}."
        if guess == shown.strip().lower():
            return f"Measured: {shown}. Your prediction was right."
        return f"Measured: {shown}. You predicted {prediction!r}: look at why before reading on."
    value = _number(measured)
    if value is None:
        raise TypeError(f"measured should be a real number, got {type(measured).__name__}")
    if prediction is None:
        return f"Measured: {_fmt(value)}. (Write your prediction above and run again.)"
    guess = _number(prediction)
    if guess is None or not math.isfinite(guess):
        return f"Your prediction should be a finite number, got {prediction!r}. Measured: {_fmt(value)}."
    if guess > 0 and value > 0 and math.isfinite(value):
        ratio = value / guess
        if max(ratio, 1 / ratio) <= close:
            return f"Measured: {_fmt(value)}. You predicted {_fmt(guess)}: close (within {close:g}x)."
        direction = "low" if ratio > 1 else "high"
        return (f"Measured: {_fmt(value)}. You predicted {_fmt(guess)}: "
                f"{max(ratio, 1 / ratio):.1f}x too {direction}.")
    diff = guess - value
    if math.isfinite(value) and abs(diff) <= 0.1 * abs(value):
        return f"Measured: {_fmt(value)}. You predicted {_fmt(guess)}: close (within 10%)."
    return f"Measured: {_fmt(value)}. You predicted {_fmt(guess)}: off by {_fmt(diff)}."


def reveal(prediction: Any, measured: Any, *, choices: Sequence[str] | None = None,
           close: float = 1.5) -> None:
    """Print :func:`verdict` (the last line of a predict-then-run reveal cell)."""
    print(verdict(prediction, measured, choices=choices, close=close))
