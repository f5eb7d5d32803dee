"""Line searches: how far to go along a search direction.

The strong-Wolfe search (bracketing, then zoom with cubic interpolation, N&W Alg. 3.5 / 3.6),
backtracking (Armijo, N&W Alg. 3.1), and the cubic interpolation step they use (eq. 3.59).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

__all__ = [
    "Evaluate",
    "cubic_minimizer",
    "strong_wolfe_line_search",
    "backtracking_line_search",
]

# A line search gets phi(t) = (f(x + t d), grad f(x + t d)) and the derivative along d is
# grad . d. Everything below passes these values around as plain floats and flat tensors.
Evaluate = Callable[[float], tuple[float, torch.Tensor]]


def cubic_minimizer(
    t1: float, f1: float, d1: float, t2: float, f2: float, d2: float,
    bounds: tuple[float, float] | None = None,
) -> float:
    r"""Minimizer of the cubic that matches ``f`` and its slope at ``t1`` and ``t2`` (eq. 3.59).

    .. math::

        a = d_1 + d_2 - 3\,\frac{f_1 - f_2}{t_1 - t_2}, \quad
        b = \operatorname{sign}(t_2 - t_1)\sqrt{a^2 - d_1 d_2}, \quad
        t = t_2 - (t_2 - t_1)\,\frac{d_2 + b - a}{d_2 - d_1 + 2b}

    clipped to ``bounds`` (default: the interval between the two points). When the cubic has
    no minimizer (:math:`a^2 < d_1 d_2`) the middle of the bounds is returned: bisection.
    """
    lo, hi = bounds if bounds is not None else (min(t1, t2), max(t1, t2))
    if t1 == t2:
        return min(max(t1, lo), hi)
    a = d1 + d2 - 3 * (f1 - f2) / (t1 - t2)
    disc = a * a - d1 * d2
    if disc < 0 or not math.isfinite(disc):
        return (lo + hi) / 2
    b = math.copysign(math.sqrt(disc), t2 - t1)
    denom = d2 - d1 + 2 * b
    if denom == 0:
        return (lo + hi) / 2
    t = t2 - (t2 - t1) * (d2 + b - a) / denom
    return min(max(t, lo), hi)


def strong_wolfe_line_search(
    evaluate: Evaluate,
    f0: float,
    g0: torch.Tensor,
    d: torch.Tensor,
    t: float,
    *,
    c1: float = 1e-4,
    c2: float = 0.9,
    tolerance_change: float = 1e-9,
    max_evals: int = 25,
) -> tuple[float, torch.Tensor, float, int]:
    r"""Find a step ``t`` along ``d`` that meets the strong Wolfe conditions (N&W Alg. 3.5/3.6).

    With :math:`\phi(t) = f(x + t d)` and :math:`\phi'(t) = \nabla f(x + t d)^\top d`:

    .. math::

        \phi(t) &\le \phi(0) + c_1\, t\, \phi'(0)   && \text{sufficient decrease (Armijo)} \\
        |\phi'(t)| &\le c_2\, |\phi'(0)|            && \text{curvature: the slope has flattened}

    **Phase 1 (bracketing, Alg. 3.5).** Try ``t``. If it breaks sufficient decrease, or is no
    better than the previous trial, a good step lies between the previous trial and ``t``:
    zoom. If it meets both conditions: done. If the slope there is already uphill
    (:math:`\phi'(t) \ge 0`) the minimum was passed: zoom between ``t`` and the previous
    trial. Otherwise the step was too short: extrapolate (cubic through the last two trials,
    kept within [t + 0.01 (t - t_prev), 10 t]) and try again.

    **Phase 2 (zoom, Alg. 3.6).** Keep an interval [lo, hi] where ``lo`` is the best point
    that meets sufficient decrease and the slope at ``lo`` points towards ``hi``. Try the
    cubic interpolant's minimizer (moved to at least 10% of the interval from either end, so
    the interval keeps shrinking), then replace ``hi`` or ``lo`` by it according to the same
    tests, until the strong Wolfe conditions hold.

    Args:
        evaluate: ``t -> (f(x + t d), grad f(x + t d))``; each call counts as one evaluation.
        f0: :math:`f(x)`.
        g0: :math:`\nabla f(x)`, flat.
        d: the search direction (must be a descent direction, :math:`g_0^\top d < 0`).
        t: the first trial step.
        c1: sufficient-decrease constant, in (0, c2).
        c2: curvature constant, in (c1, 1); 0.9 is standard for quasi-Newton methods.
        tolerance_change: stop zooming when the interval is shorter than this (in x units).
        max_evals: the most evaluations the search may use.

    Returns:
        ``(f, g, t, evals)``: value and gradient at the accepted step, the step, and the
        number of evaluations used. If the budget runs out, the best point found so far is
        returned (possibly ``t = 0``, i.e. no move).
    """
    d_norm = float(d.abs().max())
    gtd0 = float(g0.dot(d))
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f0, g0, gtd0
    evals = 0
    bracket = None  # ((t, f, g, gtd) of lo, (t, f, g, gtd) of hi)
    while evals < max_evals:
        f_t, g_t = evaluate(t)
        evals += 1
        gtd_t = float(g_t.dot(d))
        if f_t > f0 + c1 * t * gtd0 or (evals > 1 and f_t >= f_prev):
            bracket = ((t_prev, f_prev, g_prev, gtd_prev), (t, f_t, g_t, gtd_t))
            break
        if abs(gtd_t) <= -c2 * gtd0:
            return f_t, g_t, t, evals                        # strong Wolfe holds
        if gtd_t >= 0:
            bracket = ((t, f_t, g_t, gtd_t), (t_prev, f_prev, g_prev, gtd_prev))
            break
        # still going downhill with a steep slope: try a longer step
        t_next = cubic_minimizer(t_prev, f_prev, gtd_prev, t, f_t, gtd_t,
                                 bounds=(t + 0.01 * (t - t_prev), 10 * t))
        t_prev, f_prev, g_prev, gtd_prev = t, f_t, g_t, gtd_t
        t = t_next
    if bracket is None:  # out of budget while extrapolating: keep the last (good) point
        return f_prev, g_prev, t_prev, evals

    lo, hi = bracket
    while evals < max_evals:
        width = abs(hi[0] - lo[0])
        if width * d_norm < tolerance_change or width == 0:
            break
        left, right = min(lo[0], hi[0]), max(lo[0], hi[0])
        t = cubic_minimizer(lo[0], lo[1], lo[3], hi[0], hi[1], hi[3])
        # safeguard: a trial too close to an end barely shrinks the interval
        t = min(max(t, left + 0.1 * width), right - 0.1 * width)
        f_t, g_t = evaluate(t)
        evals += 1
        gtd_t = float(g_t.dot(d))
        if f_t > f0 + c1 * t * gtd0 or f_t >= lo[1]:
            hi = (t, f_t, g_t, gtd_t)                        # too far: shrink from hi's side
        else:
            if abs(gtd_t) <= -c2 * gtd0:
                return f_t, g_t, t, evals                    # strong Wolfe holds
            if gtd_t * (hi[0] - lo[0]) >= 0:
                hi = lo                                      # the minimum lies behind t
            lo = (t, f_t, g_t, gtd_t)
    return lo[1], lo[2], lo[0], evals


def backtracking_line_search(
    evaluate: Evaluate,
    f0: float,
    g0: torch.Tensor,
    d: torch.Tensor,
    t: float,
    *,
    c1: float = 1e-4,
    shrink: float = 0.5,
    max_evals: int = 25,
) -> tuple[float, torch.Tensor, float, int]:
    r"""Backtracking: halve ``t`` until sufficient decrease (Armijo) holds (N&W Alg. 3.1).

    .. math:: \text{while } f(x + t d) > f(x) + c_1\, t\, \nabla f(x)^\top d:\quad
              t \leftarrow \text{shrink}\cdot t

    Cheaper per iteration than the strong-Wolfe search but it never lengthens a step, and
    it does not guarantee :math:`y^\top s > 0` (L-BFGS then skips that pair).

    Returns:
        ``(f, g, t, evals)``, like :func:`strong_wolfe_line_search`. If no trial passes within
        ``max_evals``, the last (shortest) trial is returned.
    """
    gtd0 = float(g0.dot(d))
    evals = 0
    while True:
        f_t, g_t = evaluate(t)
        evals += 1
        if f_t <= f0 + c1 * t * gtd0 or evals >= max_evals:
            return f_t, g_t, t, evals
        t *= shrink
