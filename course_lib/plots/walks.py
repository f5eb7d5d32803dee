"""Optimizer walks drawn twice: the whole walk, and its end zoomed in on the minimum.

Noisy walks (mini-batch and stochastic gradient descent) look alike from afar and differ near
the minimum, where the noise keeps them jittering. :func:`plot_walks_near_minimum` shows both
views side by side on the same landscape, with the minimum as a star and equal scales on both
axes (a round bowl looks round).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import torch
from matplotlib.axes import Axes

from course_lib.plots.contours import _path_array, plot_trajectory_2d
from course_lib.validation import check_int, check_real

__all__ = ["plot_walks_near_minimum"]


def plot_walks_near_minimum(
    f: Callable[[torch.Tensor], torch.Tensor],
    paths: Mapping[str, Any],
    minimum: Sequence[float],
    *,
    xlim: Sequence[float],
    ylim: Sequence[float],
    zoom: float,
    last: int = 60,
    axes: Sequence[Axes] | None = None,
    levels: int = 15,
    xlabel: str = "x",
    ylabel: str = "y",
) -> tuple[Axes, Axes]:
    """Each path over the contours of ``f``: whole on the left, its last steps zoomed on the right.

    Args:
        f: the loss of a point ``p`` (``p[..., 0], p[..., 1]``), as for
            :func:`~course_lib.plots.plot_landscape_contour`.
        paths: name -> path (``(k, 2)`` array, tensor or list, or a ``run_optimizer`` dict).
        minimum: ``(x, y)`` of the minimum, drawn as a star on both panels and the centre of
            the zoomed one.
        xlim, ylim: the window of the left panel.
        zoom: half the width of the right panel's window around the minimum, > 0.
        last: how many final points of each path the right panel draws, >= 1.
        axes: two Axes to draw on (default: a new 12 x 5 figure with two panels).
        levels: number of contour levels.
        xlabel, ylabel: axis labels of both panels.

    Returns:
        The two Axes, ``(left, right)``. The legend is on the left panel only.

    Example::

        left, right = plot_walks_near_minimum(loss, {"SGD": path}, (1.0, 2.0),
                                              xlim=(-5, 5), ylim=(-5, 5), zoom=0.5)
    """
    zoom = check_real(zoom, "zoom", low=0, low_open=True, owner="plot_walks_near_minimum")
    last = check_int(last, "last", low=1, owner="plot_walks_near_minimum")
    if len(paths) == 0:
        raise ValueError("plot_walks_near_minimum: paths is empty; give at least one path")
    mx, my = (float(v) for v in minimum)
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(12, 5))
    left, right = axes
    for name, path in paths.items():
        pts, _ = _path_array(path)
        plot_trajectory_2d(f, path, ax=left, label=name, xlim=xlim, ylim=ylim,
                           show_points=False, levels=levels)
        plot_trajectory_2d(f, pts[-last:], ax=right, label=name, xlim=(mx - zoom, mx + zoom),
                           ylim=(my - zoom, my + zoom), show_points=False, levels=levels)
    titles = ("the whole walk", f"the last {last} steps, zoomed in")
    for ax, title in zip((left, right), titles):
        ax.plot([mx], [my], "*", color="white", markeredgecolor="black", markersize=16, zorder=6)
        ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
        ax.set_aspect("equal")
    right.get_legend().remove()
    left.legend(loc="lower right")
    return left, right
