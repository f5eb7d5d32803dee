"""A 2-D loss landscape as a 3-D surface, optionally with an optimizer's path on it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes

from course_lib.landscapes import Landscape, evaluate_on_grid
from course_lib.plots.contours import _fn_and_window, _path_array

__all__ = ["plot_surface_3d"]


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
