"""Plots of the course: they take finished data, draw on an ``ax``, and return it.

Every function takes an optional ``ax=`` (a new figure is made when it is missing) and returns
the Axes it drew on, so a lesson lays out its own grid::

    import matplotlib.pyplot as plt
    from course_lib.plots import plot_losses, plot_trajectory_2d

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    plot_trajectory_2d(rosen, run_sgd, ax=left, label="SGD")
    plot_trajectory_2d(rosen, run_adam, ax=left, label="Adam")
    plot_losses({"SGD": run_sgd["losses"], "Adam": run_adam["losses"]}, ax=right, log_y=True)

Nothing here calls ``plt.show()`` and nothing changes matplotlib's settings on import;
:func:`course_style` applies the course's look when a lesson asks for it. NaN and inf in the data
never raise: they leave gaps in lines, and diverged paths are clipped to the window.
Lessons render figures as PNG (SVG output embeds dates, which would break the stored outputs).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.contour import ContourSet

from course_lib.landscapes import Landscape, evaluate_on_grid

__all__ = [
    "COURSE_RC",
    "course_style",
    "plot_landscape_contour",
    "plot_trajectory_2d",
    "plot_surface_3d",
    "plot_losses",
    "plot_lr_schedule",
    "plot_grad_norms",
]

#: Colour-blind-safe palette (Okabe & Ito, 2008), used as the line colour cycle.
_PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]

#: The rcParams :func:`course_style` applies.
COURSE_RC: dict[str, Any] = {
    "figure.figsize": (6.4, 4.4),
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "savefig.format": "png",
    "figure.constrained_layout.use": True,
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.titleweight": "bold",
    "axes.labelsize": 11,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 10,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "lines.linewidth": 1.8,
    "lines.markersize": 6,
    "image.cmap": "viridis",
    "axes.prop_cycle": mpl.cycler(color=_PALETTE),
}


class course_style:  # noqa: N801 - used like a function
    """Apply the course's plot style; also usable as a context manager.

    Called on its own (``course_style()``, typically in a lesson's first cell), it sets
    ``COURSE_RC`` for the rest of the session. Used in a ``with`` block, it restores the previous
    settings on exit::

        with course_style():
            plot_losses(history)

    Args:
        **overrides: extra rcParams that win over ``COURSE_RC``, e.g. ``font.size=13``
            (dots replaced by ``__``: ``course_style(font__size=13)``).
    """

    def __init__(self, **overrides: Any):
        rc = dict(COURSE_RC)
        rc.update({k.replace("__", "."): v for k, v in overrides.items()})
        self._saved = {k: mpl.rcParams[k] for k in rc}
        mpl.rcParams.update(rc)

    def __enter__(self) -> course_style:
        return self

    def __exit__(self, *exc: object) -> None:
        mpl.rcParams.update(self._saved)


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def _new_ax(ax: Axes | None, figsize: tuple[float, float] | None = None) -> Axes:
    if ax is not None:
        return ax
    _, new = plt.subplots(figsize=figsize)
    return new


def _as_float_array(values: Any) -> np.ndarray:
    """A float64 NumPy copy of ``values`` (tensor on any device, array, list); inf -> NaN."""
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().double().numpy()
    arr = np.array(values, dtype=np.float64)
    arr[~np.isfinite(arr)] = np.nan
    return arr


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


# ---------------------------------------------------------------------------------------------
# landscapes and trajectories
# ---------------------------------------------------------------------------------------------


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


def plot_surface_3d(
    landscape_or_fn: Landscape | Callable[[torch.Tensor], torch.Tensor],
    xlim: Sequence[float] | None = None,
    ylim: Sequence[float] | None = None,
    *,
    ax: Axes | None = None,
    path: Any = None,
    resolution: int = 80,
    log_scale: bool = False,
    cmap: str = "viridis",
    elev: float = 35.0,
    azim: float = -60.0,
    title: str | None = None,
) -> Axes:
    """The loss surface as a 3-D plot, optionally with an optimizer's path on it.

    Args:
        landscape_or_fn: a Landscape or a function ``(..., 2) -> (...)``.
        xlim, ylim: the window (default: the landscape's).
        ax: a 3-D Axes (``fig.add_subplot(projection="3d")``); default: a new figure.
        path: ``(k, 2)`` points or a ``run_optimizer`` dict, drawn on the surface.
        resolution: grid points per axis (the surface is slow above ~150).
        log_scale: plot ``log10(1 + f - min f)``, which flattens steep walls (Rosenbrock, Beale).
        cmap: colour map.
        elev, azim: camera angles in degrees.
        title: axes title (default: the landscape's description).

    Returns:
        The 3-D Axes.
    """
    fn, xlim, ylim = _fn_and_window(landscape_or_fn, xlim, ylim)
    if ax is None:
        fig = plt.figure(figsize=(6.4, 5.0))
        ax = fig.add_subplot(projection="3d")
    elif getattr(ax, "name", "") != "3d":
        raise ValueError('plot_surface_3d needs a 3-D Axes: fig.add_subplot(projection="3d")')
    X, Y, Z = evaluate_on_grid(fn, xlim, ylim, resolution)
    Z = np.where(np.isfinite(Z), Z, np.nan)
    zmin = np.nanmin(Z) if np.isfinite(Z).any() else 0.0

    def height(z: np.ndarray) -> np.ndarray:
        return np.log10(1.0 + np.maximum(z - zmin, 0.0)) if log_scale else z

    ax.plot_surface(X, Y, height(Z), cmap=cmap, linewidth=0, antialiased=True, alpha=0.85)
    if path is not None:
        pts, _ = _path_array(path)
        inside = (
            np.isfinite(pts).all(axis=1)
            & (pts[:, 0] >= min(xlim))
            & (pts[:, 0] <= max(xlim))
            & (pts[:, 1] >= min(ylim))
            & (pts[:, 1] <= max(ylim))
        )
        pts = np.where(inside[:, None], pts, np.nan)
        with torch.no_grad():
            zs = fn(torch.as_tensor(np.nan_to_num(pts), dtype=torch.float64)).numpy()
        zs = np.where(inside, zs, np.nan)
        ax.plot(
            pts[:, 0], pts[:, 1], height(zs), color="#D55E00", marker=".", linewidth=2, zorder=10
        )
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_zlabel("log10(1 + f - min f)" if log_scale else "f(x, y)")
    ax.view_init(elev=elev, azim=azim)
    if title is None and isinstance(landscape_or_fn, Landscape):
        title = landscape_or_fn.description or landscape_or_fn.name
    if title:
        ax.set_title(title)
    return ax


# ---------------------------------------------------------------------------------------------
# curves over training steps
# ---------------------------------------------------------------------------------------------


def _as_series(data: Any, default_name: str) -> dict[str, np.ndarray]:
    if isinstance(data, Mapping):
        return {str(k): _as_float_array(v).reshape(-1) for k, v in data.items()}
    return {default_name: _as_float_array(data).reshape(-1)}


def _finish(ax: Axes, xlabel: str, ylabel: str, title: str | None, log_y: bool, legend: bool):
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if log_y:
        ax.set_yscale("log", nonpositive="mask")
    if legend:
        ax.legend(loc="best")


def plot_losses(
    histories: Mapping[str, Sequence[float]] | Sequence[float],
    *,
    ax: Axes | None = None,
    log_y: bool = False,
    xlabel: str = "step",
    ylabel: str = "loss",
    title: str | None = None,
) -> Axes:
    """Loss curves, one line per run: ``{"SGD": losses, "Adam": losses}``.

    Args:
        histories: a dict of name -> losses (lists, arrays or tensors), or one sequence.
        ax: Axes to draw on (default: a new figure).
        log_y: logarithmic loss axis (non-positive values are left out).
        xlabel, ylabel, title: labels.

    A NaN or inf loss (a diverged run) leaves a gap; the curve simply stops there.

    Returns:
        The Axes.
    """
    series = _as_series(histories, "loss")
    ax = _new_ax(ax, figsize=(6.4, 4.0))
    for name, ys in series.items():
        ax.plot(np.arange(len(ys)), ys, label=name)
    _finish(ax, xlabel, ylabel, title, log_y, legend=isinstance(histories, Mapping))
    return ax


def plot_lr_schedule(
    lrs: Mapping[str, Sequence[float]] | Sequence[float],
    *,
    ax: Axes | None = None,
    log_y: bool = False,
    xlabel: str = "step",
    ylabel: str = "learning rate",
    title: str | None = "Learning-rate schedule",
) -> Axes:
    """The learning rate at every step, one line per schedule.

    Plot the rates the optimizer actually used (read ``optimizer.param_groups[0]["lr"]`` each
    step), not a formula next to it, so the picture cannot drift from the training run.

    Args:
        lrs: a sequence of learning rates, or a dict name -> sequence.
        ax: Axes to draw on (default: a new figure).
        log_y: logarithmic lr axis.
        xlabel, ylabel, title: labels.

    Returns:
        The Axes.
    """
    series = _as_series(lrs, "lr")
    ax = _new_ax(ax, figsize=(6.4, 3.6))
    for name, ys in series.items():
        ax.plot(np.arange(len(ys)), ys, label=name)
    _finish(ax, xlabel, ylabel, title, log_y, legend=isinstance(lrs, Mapping))
    return ax


def plot_grad_norms(
    norms: Sequence[float],
    *,
    clip_threshold: float | None = None,
    clip_events: Sequence[int] | Sequence[bool] | None = None,
    ax: Axes | None = None,
    log_y: bool = False,
    xlabel: str = "step",
    ylabel: str = "gradient norm",
    title: str | None = None,
    label: str = "gradient norm",
) -> Axes:
    """Gradient norm per step, with the clipping threshold and the steps that were clipped.

    Args:
        norms: the total gradient norm at each step (before clipping).
        clip_threshold: draw this ``max_norm`` as a dashed horizontal line.
        clip_events: the steps where clipping happened, as step indices or as a boolean mask
            the length of ``norms``; marked with red dots on the curve.
        ax: Axes to draw on (default: a new figure).
        log_y: logarithmic norm axis (spikes span orders of magnitude).
        xlabel, ylabel, title, label: labels.

    Returns:
        The Axes.
    """
    ys = _as_float_array(norms).reshape(-1)
    ax = _new_ax(ax, figsize=(6.4, 3.6))
    steps = np.arange(len(ys))
    ax.plot(steps, ys, label=label)
    if clip_threshold is not None:
        ax.axhline(
            float(clip_threshold),
            color="black",
            linestyle="--",
            linewidth=1.2,
            label=f"clip threshold ({float(clip_threshold):g})",
        )
    if clip_events is not None:
        ev = np.asarray(clip_events)
        if ev.dtype == bool:
            if ev.shape != ys.shape:
                raise ValueError(
                    f"a boolean clip_events mask must have {len(ys)} entries, got {ev.shape}"
                )
            idx = np.flatnonzero(ev)
        else:
            idx = ev.astype(np.int64).reshape(-1)
            if idx.size and (idx.min() < 0 or idx.max() >= len(ys)):
                raise ValueError(f"clip_events indices must lie in [0, {len(ys) - 1}]")
        ax.plot(
            idx,
            ys[idx] if idx.size else [],
            linestyle="none",
            marker="o",
            markersize=4,
            color="#D55E00",
            label=f"clipped ({idx.size} steps)",
        )
    _finish(ax, xlabel, ylabel, title, log_y, legend=True)
    return ax
