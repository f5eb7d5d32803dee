"""A 2-D loss landscape as contours, and optimizers' paths drawn over them.

:func:`plot_landscape_contour` draws the contours; :func:`plot_trajectory_2d` draws one
optimizer's path (call it once per optimizer on the same ``ax`` to race them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import matplotlib as mpl
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.contour import ContourSet

from course_lib.landscapes import Landscape, evaluate_on_grid
from course_lib.plots._inputs import _as_float_array, _new_ax

__all__ = ["plot_landscape_contour", "plot_trajectory_2d"]


def _fn_and_window(
    landscape_or_fn: Landscape | Callable[[torch.Tensor], torch.Tensor],
    xlim: Sequence[float] | None,
    ylim: Sequence[float] | None,
) -> tuple[Callable[[torch.Tensor], torch.Tensor], tuple[float, float], tuple[float, float]]:
    if isinstance(landscape_or_fn, Landscape):
        xlim = landscape_or_fn.xlim if xlim is None else xlim
        ylim = landscape_or_fn.ylim if ylim is None else ylim
    if xlim is None or ylim is None:
        raise ValueError("xlim and ylim are required when plotting a plain function")
    if not callable(landscape_or_fn):
        raise ValueError(
            f"expected a Landscape or a function, got {type(landscape_or_fn).__name__}"
        )
    return landscape_or_fn, (float(xlim[0]), float(xlim[1])), (float(ylim[0]), float(ylim[1]))


def _log_levels(Z: np.ndarray, n: int) -> np.ndarray:
    """``n`` contour levels spaced geometrically above the grid's minimum.

    Works for any sign of ``Z`` (levels are geometric in ``Z - min(Z)``), so the narrow valley
    of Rosenbrock and the flat middle of a bowl both get lines.
    """
    finite = Z[np.isfinite(Z)]
    if finite.size == 0:
        return np.linspace(0.0, 1.0, n)
    zmin, zmax = float(finite.min()), float(finite.max())
    span = zmax - zmin
    if span <= 0:
        return np.array([zmin])
    lo = max(float(np.percentile(finite - zmin, 1.0)), span * 1e-6)
    return zmin + np.geomspace(lo, span, n)


def _has_contour(ax: Axes) -> bool:
    return any(isinstance(c, ContourSet) for c in ax.collections)


def plot_landscape_contour(
    landscape_or_fn: Landscape | Callable[[torch.Tensor], torch.Tensor],
    xlim: Sequence[float] | None = None,
    ylim: Sequence[float] | None = None,
    *,
    ax: Axes | None = None,
    levels: int | Sequence[float] = 25,
    log_scale: bool = True,
    resolution: int = 200,
    filled: bool = True,
    cmap: str = "bone",
    mark_minima: bool = True,
    title: str | None = None,
) -> Axes:
    """Contour plot of a 2-D loss surface.

    Args:
        landscape_or_fn: a :class:`~course_lib.landscapes.Landscape` (its window, minima and
            description are used) or a function ``(..., 2) -> (...)``.
        xlim, ylim: the window (default: the landscape's; required for a plain function).
        ax: Axes to draw on (default: a new figure).
        levels: number of contour levels, or the level values themselves.
        log_scale: space the levels geometrically above the minimum, so that both the floor of a
            valley and its steep walls get lines (ignored when ``levels`` is a sequence).
        resolution: grid points per axis.
        filled: shade between levels (light) under the contour lines.
        cmap: colour map of the levels (a quiet one, so optimizer paths stand out: dark is low).
        mark_minima: draw the landscape's known minima as white stars and its known saddle
            points as white plus signs.
        title: axes title (default: the landscape's description).

    Returns:
        The Axes.
    """
    fn, xlim, ylim = _fn_and_window(landscape_or_fn, xlim, ylim)
    ax = _new_ax(ax)
    X, Y, Z = evaluate_on_grid(fn, xlim, ylim, resolution)
    Z = np.where(np.isfinite(Z), Z, np.nan)
    if isinstance(levels, int):
        if levels < 2:
            raise ValueError(f"levels must be >= 2, got {levels}")
        finite = Z[np.isfinite(Z)]
        if log_scale:
            level_values = _log_levels(Z, levels)
        elif finite.size:
            level_values = np.linspace(finite.min(), finite.max(), levels)
        else:
            level_values = np.linspace(0.0, 1.0, levels)
    else:
        level_values = np.asarray(levels, dtype=np.float64)
    level_values = np.unique(level_values)
    if np.isfinite(Z).any() and level_values.size >= 2:
        # Colours follow the level's rank, so geometric levels get evenly spread colours.
        norm = mpl.colors.BoundaryNorm(level_values, ncolors=256, extend="both")
        if filled:
            ax.contourf(
                X, Y, Z, levels=level_values, cmap=cmap, norm=norm, alpha=0.35, extend="both"
            )
        ax.contour(X, Y, Z, levels=level_values, cmap=cmap, norm=norm, linewidths=0.7, alpha=0.6)
    if mark_minima and isinstance(landscape_or_fn, Landscape):
        for mx, my in landscape_or_fn.minima:
            ax.plot(
                [mx],
                [my],
                linestyle="none",
                marker="*",
                markersize=14,
                color="white",
                markeredgecolor="black",
                zorder=5,
                label="_nolegend_",
            )
        for sx, sy in landscape_or_fn.saddles:
            ax.plot(
                [sx],
                [sy],
                linestyle="none",
                marker="P",
                markersize=9,
                color="white",
                markeredgecolor="black",
                zorder=5,
                label="_nolegend_",
            )
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.grid(False)
    if title is None and isinstance(landscape_or_fn, Landscape):
        title = landscape_or_fn.description or landscape_or_fn.name
    if title:
        ax.set_title(title)
    return ax


def _path_array(path: Any) -> tuple[np.ndarray, bool]:
    """Points ``(k, 2)`` from an array, tensor, list or ``run_optimizer`` dict; and 'diverged'."""
    diverged = False
    if isinstance(path, Mapping):
        diverged = bool(path.get("diverged", False))
        path = path["path"]
    arr = _as_float_array(path)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"a path must have shape (k, 2), got {arr.shape}")
    return arr, diverged


def plot_trajectory_2d(
    f_or_landscape: Landscape | Callable[[torch.Tensor], torch.Tensor] | None,
    path: Any,
    *,
    ax: Axes | None = None,
    label: str | None = None,
    color: str | None = None,
    xlim: Sequence[float] | None = None,
    ylim: Sequence[float] | None = None,
    draw_contour: bool | None = None,
    show_points: bool = True,
    **contour_kwargs: Any,
) -> Axes:
    """An optimizer's path drawn over the contours of its landscape.

    Call it once per optimizer on the same ``ax`` to race them: the contours are drawn only
    by the first call, each path gets its own colour and legend entry. The start is a hollow
    circle, the end a filled square, or a cross when the run diverged.

    A diverged path (huge, inf or NaN coordinates) is drawn up to where it leaves the window;
    the window stays the landscape's, so the other paths remain readable.

    Args:
        f_or_landscape: the landscape (or function) of the contours; ``None`` for no contours.
        path: ``(k, 2)`` points (array, tensor, list), or the dict returned by
            :func:`~course_lib.landscapes.run_optimizer` (its ``diverged`` flag is used).
        ax: Axes to draw on (default: a new figure).
        label: legend entry (``" (diverged)"`` is appended when the run diverged).
        color: line colour (default: the next colour of the cycle).
        xlim, ylim: window (default: the landscape's; else the path's extent).
        draw_contour: draw the contours (default: only when ``ax`` has none yet).
        show_points: mark every iterate with a small dot (only when there are <= 100 of them).
        **contour_kwargs: passed to :func:`plot_landscape_contour` (``levels``, ``cmap``, ...).

    Returns:
        The Axes.
    """
    pts, diverged = _path_array(path)
    ax = _new_ax(ax)
    if draw_contour is None:
        draw_contour = f_or_landscape is not None and not _has_contour(ax)
    if isinstance(f_or_landscape, Landscape):
        xlim = f_or_landscape.xlim if xlim is None else xlim
        ylim = f_or_landscape.ylim if ylim is None else ylim
    if draw_contour:
        if f_or_landscape is None:
            raise ValueError("draw_contour=True needs a landscape or a function")
        if xlim is None or ylim is None:
            xlim, ylim = _extent(pts)
        plot_landscape_contour(f_or_landscape, xlim, ylim, ax=ax, **contour_kwargs)

    # Keep far-away points (a diverging run) from wrecking the view: clip them to a box ten
    # windows wide, which preserves the direction in which the path leaves.
    if xlim is not None and ylim is not None:
        (x0, x1), (y0, y1) = xlim, ylim
        wx, wy = abs(x1 - x0), abs(y1 - y0)
        pts = pts.copy()
        pts[:, 0] = np.clip(pts[:, 0], min(x0, x1) - 10 * wx, max(x0, x1) + 10 * wx)
        pts[:, 1] = np.clip(pts[:, 1], min(y0, y1) - 10 * wy, max(y0, y1) + 10 * wy)
    finite = np.isfinite(pts).all(axis=1)
    good = pts[finite]

    text = label
    if label is not None and diverged:
        text = f"{label} (diverged)"
    marker = "." if show_points and len(pts) <= 100 else None
    (line,) = ax.plot(
        pts[:, 0],
        pts[:, 1],
        color=color,
        marker=marker,
        markersize=4,
        linewidth=1.6,
        label=text if text is not None else "_nolegend_",
        zorder=3,
    )
    c = line.get_color()
    if len(good):
        ax.plot(
            good[:1, 0],
            good[:1, 1],
            linestyle="none",
            marker="o",
            markersize=8,
            color=c,
            markerfacecolor="white",
            markeredgecolor=c,
            markeredgewidth=1.8,
            zorder=4,
            label="_nolegend_",
        )
        ax.plot(
            good[-1:, 0],
            good[-1:, 1],
            linestyle="none",
            marker="X" if diverged else "s",
            markersize=8,
            color=c,
            markeredgecolor="black",
            markeredgewidth=0.6,
            zorder=4,
            label="_nolegend_",
        )
    if xlim is not None and ylim is not None:
        ax.set_xlim(*xlim)
        ax.set_ylim(*ylim)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    if any(not h.get_label().startswith("_") for h in ax.get_lines()):
        ax.legend(loc="best")
    return ax


def _extent(pts: np.ndarray) -> tuple[tuple[float, float], tuple[float, float]]:
    good = pts[np.isfinite(pts).all(axis=1)]
    if len(good) == 0:
        return (-1.0, 1.0), (-1.0, 1.0)
    lo, hi = good.min(axis=0), good.max(axis=0)
    pad = np.maximum((hi - lo) * 0.15, 0.5)
    return (lo[0] - pad[0], hi[0] + pad[0]), (lo[1] - pad[1], hi[1] + pad[1])
