"""Curves over training steps: losses, learning rates and gradient norms.

A NaN or inf value (a diverged run) leaves a gap in its curve instead of raising.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes

from course_lib.plots._inputs import _as_float_array, _new_ax

__all__ = ["plot_losses", "plot_lr_schedule", "plot_grad_norms"]


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
