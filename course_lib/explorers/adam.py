"""The Adam explorer: lr, beta1 and beta2 on a landscape, and how far each coordinate moves."""

from __future__ import annotations

import math
from collections.abc import Sequence

import ipywidgets as widgets
import numpy as np
import torch

from course_lib.explorers.controls import initial_key, landscape_dropdown, lr_slider
from course_lib.explorers.figures import BLUE, ORANGE, RED, fmt_number, log_axis
from course_lib.explorers.landscape_figure import LandscapeFigure
from course_lib.explorers.problems import get_problem, problem_options
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
from course_lib.optim import adam_update_

__all__ = ["BETA2_CHOICES", "adam_result", "AdamFigure", "adam_figure", "adam_explorer"]

#: The beta2 values the slider offers (the values people use).
BETA2_CHOICES = (0.0, 0.5, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999, 0.9999)


def _settings_error(b1: float, b2: float, eps: float) -> str | None:
    for name, value in (("beta1", b1), ("beta2", b2)):
        if not 0.0 <= value < 1.0:
            return f"{name} must be in [0, 1), got {fmt_number(value)}"
    if not eps >= 0.0:
        return f"eps must be >= 0, got {fmt_number(eps)}"
    return None


def adam_result(
    lr: float,
    beta1: float = 0.9,
    beta2: float = 0.999,
    landscape: str | Landscape = "rosenbrock",
    *,
    eps: float = 1e-8,
    steps: int | None = None,
    device: str | torch.device | None = None,
) -> ExplorerResult:
    r"""Adam on a landscape: path and losses.

    .. math::

        m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t, \quad
        v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2, \quad
        p_{t+1} = p_t - \eta\, \frac{m_t / (1-\beta_1^t)}{\sqrt{v_t / (1-\beta_2^t)} + \epsilon}

    run by ``course_lib.optim.adam_update_`` (the same numbers as ``torch.optim.Adam``).
    ``beta1`` and ``beta2`` must lie in [0, 1); outside it the result carries ``error`` (and
    the readout says so) instead of raising. ``beta2 = 0`` is allowed: each step is then about
    ``lr`` times the sign of the (smoothed) gradient.

    Args:
        lr: the learning rate η.
        beta1, beta2: the decay rates of the two moment estimates.
        landscape: a landscape name or object (default ``"rosenbrock"``).
        eps: ε.
        steps: number of steps (default: per landscape).
        device: where to run (default: the default device).
    """
    problem = get_problem(landscape, allow_1d=False)
    steps = check_steps(problem, steps)
    lr_f, err1 = as_number("lr", lr)
    b1, err2 = as_number("beta1", beta1)
    b2, err3 = as_number("beta2", beta2)
    eps_f, err4 = as_number("eps", eps)
    error = err1 or err2 or err3 or err4 or _settings_error(b1, b2, eps_f)
    head = f"lr = {fmt_number(lr_f)}, beta1 = {b1:.4g}, beta2 = {b2:.4g} on {problem.label}"
    common = {"settings": {"lr": lr_f, "beta1": b1, "beta2": b2, "eps": eps_f},
              "steps": steps, "head": head, "stable_below": None}
    if error is not None:
        return invalid_result("adam", problem, error=error, **common)

    def update(p, g, state, t):
        if "exp_avg" not in state:
            state["exp_avg"] = torch.zeros_like(p)
            state["exp_avg_sq"] = torch.zeros_like(p)
        adam_update_(p, g, state["exp_avg"], state["exp_avg_sq"], t=t, lr=lr_f, beta1=b1,
                     beta2=b2, eps=eps_f)

    return run_update("adam", problem, update, device=device, **common)


class AdamFigure(LandscapeFigure):
    """Path, loss, and the size of each coordinate's step per step against ``lr``."""

    def path_title(self, res: ExplorerResult) -> str:
        s = res.settings
        return f"lr = {fmt_number(s['lr'])}, β1 = {s['beta1']:.4g}, β2 = {s['beta2']:.4g}"

    def build_third(self) -> None:
        ax = self.ax_third
        self.step_floor, self.step_top = 1e-6, 30.0
        ax.set_yscale("log")
        log_axis(ax.yaxis)
        ax.set_ylim(self.step_floor, self.step_top)
        ax.set_xlim(0, max(self.steps, 1))
        ax.set_xlabel("step")
        ax.set_ylabel("|step| per coordinate")
        (self.dx_line,) = ax.plot([], [], color=BLUE, linewidth=1.2, label="|Δx|")
        (self.dy_line,) = ax.plot([], [], color=ORANGE, linewidth=1.2, label="|Δy|")
        self.lr_hline = ax.axhline(1.0, color=RED, linestyle="--", linewidth=1.1, label="lr")
        ax.legend(loc="upper right", fontsize=9.5, ncols=3)
        ax.set_title("step size per coordinate vs lr")
        self.moving += [self.dx_line, self.dy_line, self.lr_hline]

    def update_third(self, res: ExplorerResult) -> None:
        with np.errstate(all="ignore"):
            d = np.abs(np.diff(res.path, axis=0)).reshape(-1, 2)
            d = np.clip(d, self.step_floor, self.step_top)
        xs = np.arange(1, len(d) + 1)
        self.dx_line.set_data(xs, d[:, 0])
        self.dy_line.set_data(xs, d[:, 1])
        lr = res.settings["lr"]
        if math.isfinite(lr) and lr > 0:
            self.lr_hline.set_ydata([lr, lr])
            self.lr_hline.set_visible(True)
        else:
            self.lr_hline.set_visible(False)


def adam_figure(result: ExplorerResult) -> AdamFigure:
    """The Adam explorer's picture of ``result`` (from :func:`adam_result`).

    Path, loss per step, and the size of each coordinate's step per step against ``lr``.

    Returns:
        A new ``matplotlib.figure.Figure`` (not registered with pyplot).
    """
    problem = problem_of_result(result, "adam", "adam_result")
    return AdamFigure(problem, result.steps).update(result)


def adam_explorer(
    lr: float = 0.05,
    beta1: float = 0.9,
    beta2: float = 0.999,
    landscape: str | Landscape = "rosenbrock",
    *,
    landscapes: Sequence[str | Landscape] = ("rosenbrock", "beale", "ravine", "bowl"),
    steps: int | None = None,
    device: str | torch.device | None = None,
) -> Explorer:
    """Sliders for Adam's lr, beta1 and beta2 on a landscape: path, loss and step sizes.

    ``beta2`` is chosen from :data:`BETA2_CHOICES` (0, 0.5, 0.9, 0.95, 0.98, 0.99, 0.995,
    0.999, 0.9999); ``beta1`` runs from 0 to 0.99.

    Args:
        lr: the starting learning rate (1e-4 to 1 on the slider).
        beta1: the starting beta1.
        beta2: the starting beta2 (one of the choices above).
        landscape: the starting landscape.
        landscapes: the landscapes offered in the drop-down.
        steps: number of steps per run (default: per landscape).
        device: where runs compute (default: the default device).
    """
    problems = problem_options(landscapes, allow_1d=False)
    initial = initial_key(problems, landscape)
    b1 = float(beta1)
    if not 0.0 <= b1 <= 0.99:
        raise ValueError(f"beta1 must be in [0, 0.99] for the slider, got {beta1!r}")
    if float(beta2) not in BETA2_CHOICES:
        raise ValueError(f"beta2 must be one of {BETA2_CHOICES} for the slider, got {beta2!r}")
    controls: dict[str, widgets.Widget] = {
        "landscape": landscape_dropdown(problems, initial),
        "lr": lr_slider(lr, max_exp=0.0),
        "beta1": widgets.FloatSlider(
            value=b1, min=0.0, max=0.99, step=0.01, description="beta1", readout_format=".2f",
            continuous_update=False, layout=widgets.Layout(width="300px")),
        "beta2": widgets.SelectionSlider(
            options=[(f"{b:g}", b) for b in BETA2_CHOICES], value=float(beta2),
            description="beta2", continuous_update=False,
            layout=widgets.Layout(width="300px")),
    }
    return Explorer(
        "adam", "Adam explorer", controls,
        result=lambda v: adam_result(v["lr"], v["beta1"], v["beta2"], problems[v["landscape"]],
                                     steps=steps, device=device),
        figure=lambda res: AdamFigure(res.problem, res.steps),
        figure_key=lambda res: (res.problem, res.steps))
