"""The range test's picture: loss against learning rate, with every suggestion marked."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes

from course_lib.lr_finder.sweep import LRFinderResult

__all__ = ["plot_lr_finder"]

_MARKERS = {"steepest": ("o", "C1"), "valley": ("s", "C2"), "minimum_div_10": ("^", "C3")}


def plot_lr_finder(
    result: LRFinderResult,
    ax: Axes | None = None,
    *,
    show_raw: bool = True,
    show_suggestions: bool = True,
) -> Axes:
    """Loss against learning rate (log axis), with each suggestion marked on the smoothed curve.

    Args:
        result: what :func:`lr_range_test` returned.
        ax: the axes to draw on (``None``: a new figure).
        show_raw: also draw the raw mini-batch losses, faintly.
        show_suggestions: mark every suggestion with a dot on the curve and a dotted line
            (the published rules, and the course's ``suggested_lr`` as a black star).

    Returns:
        The axes.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    lrs = np.asarray(result.lrs, dtype=float)
    sm = np.asarray(result.smoothed_losses, dtype=float)
    if show_raw:
        ax.plot(lrs, result.losses, color="0.75", lw=1, label="raw loss")
    ax.plot(lrs, sm, color="C0", lw=2, label="smoothed loss")
    if show_suggestions and len(lrs):
        for name, lr in result.suggestions.items():
            marker, color = _MARKERS.get(name, ("x", "k"))
            y = float(np.interp(np.log(lr), np.log(lrs), sm))
            ax.axvline(lr, color=color, ls=":", lw=1)
            ax.plot([lr], [y], marker=marker, color=color, ms=8, ls="none",
                    label=f"{name}: {lr:.2g}")
        if result.suggested_lr is not None:
            lr = result.suggested_lr
            y = float(np.interp(np.log(lr), np.log(lrs), sm))
            ax.axvline(lr, color="black", ls="--", lw=1)
            ax.plot([lr], [y], marker="*", color="black", ms=13, ls="none",
                    label=f"suggested_lr: {lr:.2g}")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("loss")
    if len(sm):
        # show the descent in detail: the explosion at the end may leave the top of the axes
        shown = np.concatenate([sm, np.asarray(result.losses, dtype=float)]) if show_raw else sm
        lo = float(np.min(shown[np.isfinite(shown)]))
        first = float(np.max(sm[: max(1, len(sm) // 2)]))
        span = max(first - lo, 1e-12 + 1e-3 * abs(first))
        ax.set_ylim(lo - 0.1 * span, first + 0.6 * span)
    ax.legend(loc="best")
    return ax
