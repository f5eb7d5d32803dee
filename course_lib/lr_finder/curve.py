"""Reading a range test's curve: the lr schedule, the smoothing, and the published rules.

:func:`exponential_lrs` and :func:`smooth_losses` are the sweep's two formulas;
:func:`suggest_steepest`, :func:`suggest_valley` and :func:`suggest_minimum_div_10` are the
three rules in common use (Smith's paper and torch-lr-finder, fastai's default, fastai's
``minimum/10``), each reading one learning rate off a curve. Lesson 09 measures how far each
lands from the best constant learning rate; the course's own suggestion, which validates
candidates with short runs, is in :mod:`course_lib.lr_finder.probes`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from course_lib.validation import check_int, check_real

__all__ = [
    "exponential_lrs",
    "smooth_losses",
    "suggest_steepest",
    "suggest_valley",
    "suggest_minimum_div_10",
    "suggest_all",
    "check_sweep",
]


def check_sweep(start_lr: Any, end_lr: Any, num_iters: Any) -> None:
    """Check a sweep's range and length.

    Raises:
        ValueError: unless ``0 < start_lr < end_lr`` (finite) and ``num_iters >= 2`` is an int.
    """
    check_real(start_lr, "start_lr", low=0, low_open=True)
    check_real(end_lr, "end_lr", low=0, low_open=True)
    if not end_lr > start_lr:
        raise ValueError(f"end_lr must be larger than start_lr, got {start_lr!r} -> {end_lr!r}")
    check_int(num_iters, "num_iters", low=2)


def exponential_lrs(start_lr: float, end_lr: float, num_iters: int) -> np.ndarray:
    r"""``num_iters`` learning rates spaced evenly in log scale, from ``start_lr`` to ``end_lr``.

    .. math:: \eta_i = \eta_{start}\,(\eta_{end}/\eta_{start})^{i/(N-1)},\quad i = 0..N-1

    Each step multiplies the lr by the same factor, so every decade gets the same number of
    steps: 1e-7..1e-6 is swept as carefully as 1..10.
    """
    check_sweep(start_lr, end_lr, num_iters)
    i = np.arange(num_iters)
    return start_lr * (end_lr / start_lr) ** (i / (num_iters - 1))


def smooth_losses(losses: Iterable[float], beta: float = 0.98) -> np.ndarray:
    r"""Exponential moving average with bias correction (as Adam corrects its moments).

    .. math:: a_i = \beta a_{i-1} + (1-\beta)\,\ell_i, \quad a_0 = 0, \qquad
              \hat a_i = a_i / (1 - \beta^{i})

    Without the correction the first values are pulled towards 0 (torch-lr-finder instead
    starts the average at the first loss). ``beta = 0`` returns the losses unchanged.
    """
    if not 0.0 <= beta < 1.0:
        raise ValueError(f"smooth must be in [0, 1), got {beta!r}")
    out, avg = [], 0.0
    for i, loss in enumerate(losses, start=1):
        avg = beta * avg + (1 - beta) * float(loss)
        out.append(avg / (1 - beta**i))
    return np.asarray(out, dtype=float)


def _trimmed(lrs: Any, losses: Any) -> tuple[np.ndarray, np.ndarray]:
    """Drop the first tenth and the last 5 points (the start is flat, the end is the blow-up)."""
    lrs, losses = np.asarray(lrs, dtype=float), np.asarray(losses, dtype=float)
    if lrs.shape != losses.shape or lrs.ndim != 1:
        raise ValueError(f"lrs and losses must be 1-D of equal length, got {lrs.shape}, {losses.shape}")
    n = len(lrs)
    lo, hi = n // 10, n - 5
    if hi - lo < 3:  # too short to trim: use everything
        lo, hi = 0, n
    return lrs[lo:hi], losses[lo:hi]


def suggest_steepest(lrs: Any, smoothed_losses: Any) -> float | None:
    r"""The lr where the smoothed loss falls fastest per decade of lr.

    The slope :math:`d\ell/d\log\eta` is taken with ``np.gradient`` (central differences) over
    the log lr, and the most negative one wins. It is the rule Smith's paper and
    torch-lr-finder use (fastai calls it ``steep``): the loss is falling fastest there, so the
    lr is large enough to make progress and, being left of the minimum, not yet unstable.
    The first tenth of the points and the last five are ignored. ``None`` with fewer than 3
    points.
    """
    x, y = _trimmed(lrs, smoothed_losses)
    if len(x) < 3:
        return None
    slope = np.gradient(y, np.log(x))
    return float(x[int(np.argmin(slope))])


def suggest_valley(lrs: Any, smoothed_losses: Any) -> float | None:
    """fastai's default rule: a point partway down the longest descending stretch of the curve.

    1. Find the longest strictly decreasing subsequence of the (trimmed) smoothed losses
       (points need not be adjacent, so small bumps do not break it), O(n^2) dynamic
       programming: ``run[i]`` = length of the longest decreasing run ending at point ``i``.
    2. Split the lrs it spans into thirds and return the point half-way through the middle third,
       i.e. a bit less than half-way down the valley.

    It aims at "well inside the descent, away from both the plateau and the cliff"; on our
    measurements it lands low (several times below the best lr). ``None`` with fewer than 3
    points.
    """
    x, y = _trimmed(lrs, smoothed_losses)
    n = len(y)
    if n < 3:
        return None
    run = [1] * n
    best_end = 0
    for i in range(1, n):
        for j in range(i):
            if y[i] < y[j] and run[j] + 1 > run[i]:
                run[i] = run[j] + 1
        if run[i] > run[best_end]:
            best_end = i
    start = best_end - run[best_end] + 1       # first index of the span that run covers
    third = (best_end - start) / 3
    idx = start + int(third) + int(third / 2)  # middle of the middle third
    return float(x[min(idx, n - 1)])


def suggest_minimum_div_10(lrs: Any, smoothed_losses: Any) -> float | None:
    """The lr at the lowest smoothed loss, divided by 10.

    At the minimum the lr is already about as large as training tolerates *for a loss that is
    rising with every step of the sweep*; a tenth of it is the safe side of that edge. (The
    minimum over all points, not the trimmed ones.) ``None`` for an empty curve.
    """
    x, y = np.asarray(lrs, dtype=float), np.asarray(smoothed_losses, dtype=float)
    if len(x) == 0:
        return None
    return float(x[int(np.nanargmin(y))] / 10)


def suggest_all(lrs: Any, smoothed_losses: Any) -> dict[str, float]:
    """All three suggestions, as ``{name: lr}`` (a rule that cannot be applied is left out)."""
    rules = {
        "steepest": suggest_steepest,
        "valley": suggest_valley,
        "minimum_div_10": suggest_minimum_div_10,
    }
    out = {}
    for name, rule in rules.items():
        lr = rule(lrs, smoothed_losses)
        if lr is not None:
            out[name] = lr
    return out
