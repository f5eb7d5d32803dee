"""The three-panel picture the landscape explorers share: path, loss per step, and a third panel.

:class:`LandscapeFigure` draws the first two panels (where the optimizer goes, on the parabola
or the landscape's contours; the loss per step on a log axis, with the "converged" and
"diverged" levels). Each explorer subclasses it for its third panel and its path title.
"""

from __future__ import annotations

import math

import numpy as np

from course_lib.explorers.figures import (
    BLUE,
    DPI,
    FIGSIZE,
    RED,
    ExplorerFigure,
    clip_to_window,
    explorer_style,
    log_axis,
)
from course_lib.explorers.problems import Problem
from course_lib.explorers.results import BLOWUP, TOL, ExplorerResult
from course_lib.plots import plot_landscape_contour

__all__ = ["LandscapeFigure"]


class LandscapeFigure(ExplorerFigure):
    """Path and loss panels for one problem; subclasses add ``build_third`` / ``update_third``.

    Args:
        problem: the problem the results come from.
        steps: the number of steps of the results (the loss panel's x range).
        width_ratios: the three panels' widths.
        right: the right edge of the panels (room for a colour bar).
        label_landscape: write the problem's name in a corner of the path panel.
    """

    def __init__(self, problem: Problem, steps: int, *, width_ratios=(1.15, 1.0, 1.0),
                 right: float = 0.985, label_landscape: bool = True, **third_kwargs):
        super().__init__(figsize=FIGSIZE, dpi=DPI, layout="none")
        self.problem = problem
        self.steps = steps
        with explorer_style():
            self.subplots_adjust(left=0.07, right=right, bottom=0.16, top=0.88, wspace=0.36)
            self.ax_path, self.ax_loss, self.ax_third = self.subplots(
                1, 3, gridspec_kw={"width_ratios": list(width_ratios)})
            self._build_path(label_landscape)
            self._build_loss()
            self.build_third(**third_kwargs)
        self.moving += [self.ax_path.title, self.ax_loss.title]

    # --- for subclasses ---------------------------------------------------------------------
    def build_third(self, **kwargs) -> None:
        """Draw the static part of the third panel (``self.ax_third``)."""
        raise NotImplementedError

    def update_third(self, res: ExplorerResult) -> None:
        """Move the third panel's artists for ``res``."""
        raise NotImplementedError

    def path_title(self, res: ExplorerResult) -> str:
        """The path panel's title for ``res``."""
        raise NotImplementedError

    def update(self, result: ExplorerResult) -> LandscapeFigure:
        """Show ``result`` in all three panels; returns the figure."""
        self._update_path(result)
        self._update_loss(result)
        self.update_third(result)
        return self

    # --- helpers ----------------------------------------------------------------------------
    @property
    def initial_gap(self) -> float:
        """Loss minus minimum at the start (1 where that is not a positive number)."""
        f_min = self.problem.f_min if math.isfinite(self.problem.f_min) else 0.0
        gap = self.problem.f_start - f_min
        return gap if math.isfinite(gap) and gap > 0 else 1.0

    # --- panel 1: where the optimizer goes --------------------------------------------------
    def _build_path(self, label_landscape: bool) -> None:
        ax, prob = self.ax_path, self.problem
        if prob.dims == 1:
            w0 = abs(prob.start[0])
            self.xlim = (-1.6 * w0, 1.6 * w0)
            self.ylim = (-0.05 * (1.6 * w0) ** 2, 1.08 * (1.6 * w0) ** 2)
            ws = np.linspace(*self.xlim, 200)
            ax.plot(ws, ws * ws, color="0.45", linewidth=1.4, zorder=1)
            ax.set_xlim(*self.xlim)
            ax.set_ylim(*self.ylim)
            ax.set_xlabel("w")
            ax.set_ylabel("f(w)")
            start = (prob.start[0], prob.start[0] ** 2)
        else:
            lsc = prob.landscape
            self.xlim, self.ylim = lsc.xlim, lsc.ylim
            plot_landscape_contour(lsc, ax=ax, resolution=120, levels=18, title="")
            start = prob.start
            if label_landscape:
                ax.text(0.02, 0.03, prob.label, transform=ax.transAxes, fontsize=9.5,
                        ha="left", va="bottom", zorder=6,
                        bbox={"facecolor": "white", "alpha": 0.75, "edgecolor": "none",
                              "pad": 1.5})
        (self.path_line,) = ax.plot([], [], color=BLUE, linewidth=1.4, marker=".",
                                    markersize=4, zorder=3)
        (self.start_marker,) = ax.plot(
            [start[0]], [start[1]], linestyle="none", marker="o", markersize=7,
            markerfacecolor="white", markeredgecolor=BLUE, markeredgewidth=1.6, zorder=4)
        (self.end_marker,) = ax.plot([], [], linestyle="none", marker="s", markersize=7,
                                     color=BLUE, markeredgecolor="black",
                                     markeredgewidth=0.6, zorder=5)
        self.moving += [self.path_line, self.start_marker, self.end_marker]

    def _update_path(self, res: ExplorerResult) -> None:
        path = res.path
        if self.problem.dims == 1:
            with np.errstate(all="ignore"):
                pts = np.column_stack([path[:, 0], path[:, 0] ** 2])
        else:
            pts = path
        pts = clip_to_window(pts, self.xlim, self.ylim)
        self.path_line.set_data(pts[:, 0], pts[:, 1])
        self.path_line.set_marker("." if len(pts) <= 120 else "")
        if len(pts) > 1 or res.diverged:
            self.end_marker.set_data(pts[-1:, 0], pts[-1:, 1])
            self.end_marker.set_marker("X" if res.diverged else "s")
            self.end_marker.set_color(RED if res.diverged else BLUE)
            self.end_marker.set_markeredgecolor("black")
        else:
            self.end_marker.set_data([], [])
        self.ax_path.title.set_text(self.path_title(res))

    # --- panel 2: the loss per step -----------------------------------------------------------
    def _build_loss(self) -> None:
        ax, prob = self.ax_loss, self.problem
        gap0 = self.initial_gap
        self.loss_floor = 1e-14
        self.loss_top = gap0 * BLOWUP * 30.0
        ax.set_yscale("log")
        log_axis(ax.yaxis)
        ax.set_ylim(self.loss_floor, self.loss_top)
        ax.set_xlim(0, max(self.steps, 1))
        ax.set_xlabel("step")
        ax.set_ylabel("loss - min" if prob.f_min != 0 else "loss")
        ax.axhline(TOL, color="0.55", linestyle=":", linewidth=1.0, zorder=1)
        ax.text(max(self.steps, 1), TOL * 1.6, "converged  ", color="0.45", fontsize=9.5,
                ha="right", va="bottom")
        ax.axhline(gap0 * BLOWUP, color=RED, linestyle=":", linewidth=1.0, zorder=1, alpha=0.7)
        ax.text(max(self.steps, 1), gap0 * BLOWUP / 1.6, "diverged  ", color=RED, fontsize=9.5,
                ha="right", va="top", alpha=0.8)
        (self.loss_line,) = ax.plot([], [], color=BLUE, linewidth=1.6, zorder=3)
        (self.loss_blowup,) = ax.plot([], [], linestyle="none", marker="X", markersize=9,
                                      color=RED, markeredgecolor="black",
                                      markeredgewidth=0.6, zorder=4)
        self.moving += [self.loss_line, self.loss_blowup]

    def _update_loss(self, res: ExplorerResult) -> None:
        with np.errstate(all="ignore"):
            gap = res.losses - (res.f_min if math.isfinite(res.f_min) else 0.0)
            shown = np.where(np.isfinite(gap), np.clip(gap, self.loss_floor, self.loss_top),
                             np.nan)
        self.loss_line.set_data(np.arange(len(shown)), shown)
        if res.diverged and len(shown):
            k = len(shown) - 1
            y = shown[-1] if np.isfinite(shown[-1]) else self.loss_top
            self.loss_blowup.set_data([k], [min(y, self.loss_top / 1.5)])
        else:
            self.loss_blowup.set_data([], [])
        if res.error is not None:
            title, color = "invalid setting", RED
        elif res.diverged:
            title, color = f"loss: diverged at step {res.diverged_at}", RED
        elif res.converged_at is not None:
            title, color = f"loss: converged at step {res.converged_at}", "black"
        else:
            title, color = f"loss: not converged in {res.steps} steps", "black"
        self.ax_loss.title.set_text(title)
        self.ax_loss.title.set_color(color)
