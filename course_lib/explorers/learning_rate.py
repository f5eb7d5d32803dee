"""The learning-rate explorer: plain gradient descent, one slider, stable below 2/L.

Example (in a notebook)::

    from course_lib.widgets import lr_explorer, lr_result

    lr_result(1.1).readout          # 'lr = 1.1 on f(w) = w²: ...\\ndiverged at step ...'
    lr_explorer(lr=0.1)             # a slider in Jupyter, a PNG on GitHub / nbviewer
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import ipywidgets as widgets
import numpy as np
import torch

from course_lib.explorers.controls import LR_EXP, initial_key, landscape_dropdown, lr_slider
from course_lib.explorers.figures import BLUE, GREEN, ORANGE, RED, fmt_number, log_axis
from course_lib.explorers.landscape_figure import LandscapeFigure
from course_lib.explorers.problems import QUADRATIC, get_problem, problem_options
from course_lib.explorers.results import (
    ExplorerResult,
    as_number,
    check_steps,
    invalid_result,
    problem_of_result,
    run_update,
)
from course_lib.explorers.shell import Explorer
from course_lib.landscapes import Landscape
from course_lib.optim import sgd_update_

__all__ = ["lr_result", "LrFigure", "lr_figure", "lr_explorer"]


def lr_result(
    lr: float,
    landscape: str | Landscape = QUADRATIC,
    *,
    steps: int | None = None,
    device: str | torch.device | None = None,
) -> ExplorerResult:
    r"""Plain gradient descent at learning rate ``lr``: what happens, in numbers.

    .. math::

        w_{t+1} = w_t - \eta\, \nabla f(w_t)

    On ``"quadratic"`` (the default) the problem is :math:`f(w) = w^2` from :math:`w_0 = 5`,
    computed in float64: each step multiplies :math:`w` by :math:`1 - \eta L` with
    :math:`L = f'' = 2`, so it converges exactly when :math:`0 < \eta < 2/L = 1`. On a 2-D
    landscape (``"bowl"``, ``"ravine"``, ``"rosenbrock"``, ... or a
    :class:`~course_lib.landscapes.Landscape`) it runs from the landscape's start.

    Never raises for any ``lr`` (0, 1e9, NaN, negative): a run that blows up comes back with
    ``diverged=True`` and the step it happened at.

    Args:
        lr: the learning rate :math:`\eta`.
        landscape: ``"quadratic"`` or a landscape name / object.
        steps: number of steps (default: per problem, 50 for the quadratic).
        device: where to run a 2-D landscape (default: the default device).

    Returns:
        An :class:`~course_lib.explorers.results.ExplorerResult`; ``stable_below`` is
        :math:`2/L` with :math:`L` the largest curvature (at the minimum, for a non-quadratic
        landscape).

    Raises:
        ValueError: for an unknown landscape or a bad ``steps`` (programming errors, not
            slider values).
    """
    problem = get_problem(landscape, allow_1d=True)
    steps = check_steps(problem, steps)
    lr_f, error = as_number("lr", lr)
    L = problem.largest_curvature
    stable = 2.0 / L if L > 0 else None
    with np.errstate(all="ignore"):
        factors = ", ".join(fmt_number(1.0 - lr_f * lam) for lam in problem.curvatures)
    if problem.dims == 1:
        head = (f"lr = {fmt_number(lr_f)} on {problem.label}: each step multiplies w by "
                f"1 - lr·L = {factors} (stable for lr < 2/L = {fmt_number(stable)})")
    else:
        where = f" {problem.where}" if problem.where else ""
        limit = f"stable{where} for lr < 2/L = {fmt_number(stable)}" if stable else "no stable lr"
        head = (f"lr = {fmt_number(lr_f)} on {problem.label}: per-direction factors 1 - lr·λ = "
                f"{factors} ({limit})")
    common = {"settings": {"lr": lr_f}, "steps": steps, "head": head, "stable_below": stable}
    if error is not None:
        return invalid_result("lr", problem, error=error, **common)

    def update(p, g, state, t):
        sgd_update_(p, g, None, lr=lr_f)

    return run_update("lr", problem, update, device=device, **common)


class LrFigure(LandscapeFigure):
    """Path, loss, and the per-step shrink factor ``|1 - lr·λ|`` against the learning rate."""

    def __init__(self, problem, steps):
        super().__init__(problem, steps, label_landscape=False)

    def path_title(self, res: ExplorerResult) -> str:
        return f"{self.problem.label}: lr = {fmt_number(res.settings['lr'])}"

    def build_third(self) -> None:
        ax, prob = self.ax_third, self.problem
        lrs = np.logspace(LR_EXP[0], LR_EXP[1], 400)
        self.factor_top = 2.5
        colors = [GREEN, ORANGE, BLUE]
        lams = prob.curvatures
        for i, lam in enumerate(lams):
            name = "L" if len(lams) == 1 else ("λ min" if i == 0 else "λ max")
            ax.plot(lrs, np.minimum(np.abs(1.0 - lrs * lam), self.factor_top + 1),
                    color=colors[i % 3], linewidth=1.5, label=f"{name} = {fmt_number(lam)}")
        ax.axhline(1.0, color="0.3", linewidth=0.9, linestyle="--")
        L = prob.largest_curvature
        if L > 0:
            ax.axvline(2.0 / L, color=RED, linewidth=1.2, linestyle=":")
            ax.axvspan(2.0 / L, lrs[-1], color=RED, alpha=0.08, linewidth=0)
            ax.text(2.0 / L * 1.15, 0.06, f"2/L = {fmt_number(2.0 / L)}", color=RED,
                    fontsize=9.5, va="bottom", ha="left", zorder=6,
                    bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none", "pad": 1})
        ax.set_xscale("log")
        log_axis(ax.xaxis)
        ax.set_xlim(lrs[0], lrs[-1])
        ax.set_ylim(0, self.factor_top)
        ax.set_xlabel("learning rate")
        ax.set_ylabel("|1 - lr·λ|")
        where = f" ({prob.where})" if prob.where else ""
        ax.set_title(f"shrink factor per step{where}")
        ax.legend(loc="upper left", fontsize=9.5)
        self.lr_vline = ax.axvline(1.0, color=BLUE, linewidth=1.0, alpha=0.7)
        (self.factor_dots,) = ax.plot([], [], linestyle="none", marker="o", markersize=6,
                                      color=BLUE, markeredgecolor="black",
                                      markeredgewidth=0.5, zorder=5)
        self.moving += [self.lr_vline, self.factor_dots]

    def update_third(self, res: ExplorerResult) -> None:
        lr = res.settings["lr"]
        if math.isfinite(lr) and lr > 0:
            x = min(max(lr, 10 ** LR_EXP[0]), 10 ** LR_EXP[1])
            ys = [min(abs(1.0 - lr * lam), self.factor_top * 0.98) for lam in res.curvatures]
            self.lr_vline.set_xdata([x, x])
            self.lr_vline.set_visible(True)
            self.factor_dots.set_data([x] * len(ys), ys)
        else:
            self.lr_vline.set_visible(False)
            self.factor_dots.set_data([], [])


def lr_figure(result: ExplorerResult) -> LrFigure:
    """The learning-rate explorer's picture of ``result`` (from :func:`lr_result`).

    Three panels: the path (iterates on the parabola, or on the landscape's contours), the loss
    per step on a log axis (a red cross where it blew up), and the per-step shrink factor
    ``|1 - lr·λ|`` of every curvature λ against the learning rate, with ``2/L`` marked.

    Returns:
        A new ``matplotlib.figure.Figure`` (not registered with pyplot: display it, or
        ``fig.savefig(...)``).
    """
    return LrFigure(problem_of_result(result, "lr", "lr_result"), result.steps).update(result)


def lr_explorer(
    lr: float = 0.1,
    landscape: str | Landscape = QUADRATIC,
    *,
    landscapes: Sequence[str | Landscape] = (QUADRATIC, "bowl", "ravine", "rosenbrock"),
    steps: int | None = None,
    device: str | torch.device | None = None,
) -> Explorer:
    """A learning-rate slider (log scale, 1e-4 to 10) on a 1-D quadratic or a 2-D landscape.

    Shows the path, the loss per step, and where the learning rate sits against the stability
    threshold ``2/L``; the readout names the lr and says what happened ("diverged at step 7").

    Args:
        lr: the starting learning rate.
        landscape: the starting problem (``"quadratic"`` is f(w) = w² from w = 5).
        landscapes: the problems offered in the drop-down (names or Landscape objects).
        steps: number of steps per run (default: per problem).
        device: where 2-D runs compute (default: the default device).
    """
    problems = problem_options(landscapes, allow_1d=True)
    controls: dict[str, widgets.Widget] = {
        "landscape": landscape_dropdown(problems, initial_key(problems, landscape)),
        "lr": lr_slider(lr),
    }
    return Explorer(
        "lr", "Learning-rate explorer", controls,
        result=lambda v: lr_result(v["lr"], problems[v["landscape"]], steps=steps,
                                   device=device),
        figure=lambda res: LrFigure(res.problem, res.steps),
        figure_key=lambda res: (res.problem, res.steps))
