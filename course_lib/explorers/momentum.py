"""The momentum explorer: SGD with (Nesterov) momentum on an ill-conditioned ravine.

Its third panel maps the steps to converge that :func:`momentum_rate` predicts over
(learning rate, momentum), with the current setting starred.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import ipywidgets as widgets
import matplotlib as mpl
import numpy as np
import torch
from matplotlib import ticker

from course_lib.explorers.controls import LR_EXP, initial_key, landscape_dropdown, lr_slider
from course_lib.explorers.figures import fmt_number, log_axis, sci_tick
from course_lib.explorers.landscape_figure import LandscapeFigure
from course_lib.explorers.problems import get_problem, problem_options
from course_lib.explorers.results import (
    TOL,
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

__all__ = ["momentum_rate", "momentum_stable_below", "momentum_result", "MomentumFigure",
           "momentum_figure", "momentum_explorer"]


def momentum_rate(lr, momentum, curvature, *, nesterov: bool = False):
    r"""Per-step convergence factor of (Nesterov) momentum on a quadratic with curvature λ.

    With PyTorch's convention (``b = μ b + g``, ``p = p - η b``; Nesterov:
    ``p = p - η (g + μ b)``) one step maps ``(p, b)`` linearly, with matrix

    .. math::

        M = \begin{pmatrix} 1 - \eta\lambda & -\eta\mu \\ \lambda & \mu \end{pmatrix}
        \quad\text{or (Nesterov)}\quad
        M = \begin{pmatrix} 1 - \eta\lambda(1+\mu) & -\eta\mu^2 \\ \lambda & \mu \end{pmatrix}

    and the distance to the minimum shrinks like :math:`\rho(M)^t`, the spectral radius (the
    largest eigenvalue in absolute value). ``ρ < 1`` converges, ``ρ ≥ 1`` does not.

    Args:
        lr, momentum, curvature: η, μ, λ; NumPy-broadcastable arrays or floats.
        nesterov: use the Nesterov matrix.

    Returns:
        ρ, as a float64 array of the broadcast shape (a float for scalar inputs).
    """
    eta, mu, lam = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64)
                                         for v in (lr, momentum, curvature)))
    with np.errstate(all="ignore"):
        a = 1.0 - eta * lam
        if nesterov:
            tr = (1.0 + mu) * a
            det = mu * a
        else:
            tr = 1.0 + mu - eta * lam
            det = mu
        disc = np.sqrt((tr * tr - 4.0 * det).astype(np.complex128))
        rho = np.maximum(np.abs((tr + disc) / 2.0), np.abs((tr - disc) / 2.0))
    rho = np.where(np.isfinite(rho), rho, np.inf)
    return float(rho) if rho.ndim == 0 else rho


def momentum_stable_below(momentum: float, L: float, nesterov: bool) -> float | None:
    """The largest stable lr at ``momentum`` on a quadratic of largest curvature ``L``.

    ``2(1+μ)/L``, or ``2(1+μ)/((1+2μ)L)`` for Nesterov; ``None`` outside ``0 <= μ < 1``.
    """
    if not (L > 0 and 0.0 <= momentum < 1.0):
        return None
    if nesterov:
        return 2.0 * (1.0 + momentum) / ((1.0 + 2.0 * momentum) * L)
    return 2.0 * (1.0 + momentum) / L


def momentum_result(
    lr: float,
    momentum: float,
    nesterov: bool = False,
    landscape: str | Landscape = "ravine",
    *,
    steps: int | None = None,
    device: str | torch.device | None = None,
) -> ExplorerResult:
    r"""SGD with (Nesterov) momentum on a landscape: path, losses, steps to converge.

    .. math::

        b_t = \mu\, b_{t-1} + g_t \;(b_1 = g_1), \qquad
        p_{t+1} = p_t - \eta\, b_t \quad (\text{Nesterov: } p_{t+1} = p_t - \eta\,(g_t + \mu b_t))

    (PyTorch's convention, run by ``course_lib.optim.sgd_update_``). ``nesterov=True`` with
    ``momentum=0`` is plain gradient descent, as the formula says. Never raises for odd settings.

    Args:
        lr: the learning rate η.
        momentum: μ (0 is plain gradient descent; ≥ 1 does not converge).
        nesterov: Nesterov's look-ahead variant.
        landscape: a landscape name or object (default the ill-conditioned ``"ravine"``).
        steps: number of steps (default: per landscape).
        device: where to run (default: the default device).

    Returns:
        An :class:`~course_lib.explorers.results.ExplorerResult`; ``stable_below`` is the
        largest stable lr at this momentum on the quadratic model (``2(1+μ)/L``; Nesterov
        ``2(1+μ)/((1+2μ)L)``).
    """
    problem = get_problem(landscape, allow_1d=False)
    steps = check_steps(problem, steps)
    lr_f, err1 = as_number("lr", lr)
    mu, err2 = as_number("momentum", momentum)
    nest = bool(nesterov)
    stable = momentum_stable_below(mu, problem.largest_curvature, nest and mu != 0)
    kind = "Nesterov momentum" if nest else "momentum"
    where = f" {problem.where}" if problem.where else ""
    limit = (f"stable{where} for lr < {fmt_number(stable)}" if stable
             else "no stable lr at this momentum")
    head = f"lr = {fmt_number(lr_f)}, {kind} = {fmt_number(mu)} on {problem.label} ({limit})"
    common = {"settings": {"lr": lr_f, "momentum": mu, "nesterov": nest}, "steps": steps,
              "head": head, "stable_below": stable}
    if err1 or err2:
        return invalid_result("momentum", problem, error=err1 or err2, **common)

    def update(p, g, state, t):
        state["momentum_buffer"] = sgd_update_(p, g, state.get("momentum_buffer"), lr=lr_f,
                                               momentum=mu, nesterov=nest and mu != 0)

    return run_update("momentum", problem, update, device=device, **common)


class MomentumFigure(LandscapeFigure):
    """Path, loss, and the predicted steps to converge over (learning rate, momentum)."""

    def __init__(self, problem, steps, *, nesterov: bool = False):
        super().__init__(problem, steps, width_ratios=(1.15, 1.0, 1.15), right=0.955,
                         nesterov=nesterov)

    def path_title(self, res: ExplorerResult) -> str:
        s = res.settings
        kind = "Nesterov μ" if s["nesterov"] else "momentum μ"
        return f"lr = {fmt_number(s['lr'])}, {kind} = {fmt_number(s['momentum'])}"

    def build_third(self, nesterov: bool) -> None:
        ax, prob = self.ax_third, self.problem
        n_lr, n_mu = 121, 100
        exp_edges = np.linspace(LR_EXP[0], 0.0, n_lr + 1)
        self.rate_lrs = 10 ** ((exp_edges[:-1] + exp_edges[1:]) / 2)  # cell centres
        lr_edges = 10 ** exp_edges
        mu_edges = np.linspace(0.0, 0.99, n_mu + 1)
        self.rate_mus = (mu_edges[:-1] + mu_edges[1:]) / 2
        self._rate_cache: dict[bool, np.ndarray] = {}
        cmap = mpl.colormaps["viridis_r"].with_extremes(bad="#e4e4e4")
        self.rate_mesh = ax.pcolormesh(
            lr_edges, mu_edges, self._predicted_steps(nesterov), shading="flat",
            cmap=cmap, norm=mpl.colors.LogNorm(vmin=1, vmax=1e4), rasterized=True)
        self.rate_nesterov = nesterov
        cbar = self.colorbar(self.rate_mesh, ax=ax, pad=0.03, fraction=0.07)
        cbar.ax.yaxis.set_major_formatter(ticker.FuncFormatter(sci_tick))
        cbar.ax.yaxis.set_minor_formatter(ticker.NullFormatter())
        cbar.ax.tick_params(labelsize=9.5)
        ax.set_xscale("log")
        log_axis(ax.xaxis)
        ax.set_xlim(lr_edges[0], lr_edges[-1])
        ax.set_ylim(0, 0.99)
        ax.set_xlabel("learning rate")
        ax.set_ylabel("momentum μ")
        ax.grid(False)
        ax.text(0.97, 0.5, "diverges", transform=ax.transAxes, rotation=90, fontsize=9.5,
                color="0.35", ha="right", va="center")
        where = f" ({prob.where})" if prob.where else ""
        ax.set_title(f"predicted steps to converge{where}")
        (self.rate_marker,) = ax.plot([], [], linestyle="none", marker="*", markersize=14,
                                      color="white", markeredgecolor="black", zorder=5)
        self.moving += [self.rate_marker]

    def _predicted_steps(self, nesterov: bool) -> np.ndarray:
        if nesterov not in self._rate_cache:
            eta, mu = np.meshgrid(self.rate_lrs, self.rate_mus)
            rho = np.zeros_like(eta)
            for lam in self.problem.curvatures:
                rho = np.maximum(rho, momentum_rate(eta, mu, lam, nesterov=nesterov))
            with np.errstate(all="ignore"):
                need = np.log(TOL / self.initial_gap) / (2.0 * np.log(rho))  # loss ~ rho^(2t)
            need = np.where((rho < 1) & np.isfinite(need), np.maximum(need, 1.0), np.nan)
            self._rate_cache[nesterov] = np.ma.masked_invalid(need)
        return self._rate_cache[nesterov]

    def update_third(self, res: ExplorerResult) -> None:
        nest = bool(res.settings["nesterov"]) and res.settings["momentum"] != 0
        if nest != self.rate_nesterov:
            self.rate_mesh.set_array(self._predicted_steps(nest))
            self.rate_nesterov = nest
            self.static_changed = True
        lr, mu = res.settings["lr"], res.settings["momentum"]
        if math.isfinite(lr) and math.isfinite(mu) and lr > 0:
            x = min(max(lr, self.rate_lrs[0]), self.rate_lrs[-1])
            y = min(max(mu, 0.0), 0.985)
            self.rate_marker.set_data([x], [y])
        else:
            self.rate_marker.set_data([], [])


def _nesterov_shown(res: ExplorerResult) -> bool:
    return bool(res.settings.get("nesterov", False)) and res.settings.get("momentum", 0) != 0


def momentum_figure(result: ExplorerResult) -> MomentumFigure:
    """The momentum explorer's picture of ``result`` (from :func:`momentum_result`).

    Path, loss per step, and a map of the steps to converge that :func:`momentum_rate`
    predicts over (learning rate, momentum) on the landscape's curvatures (grey where the
    method diverges), with the current setting as a star.

    Returns:
        A new ``matplotlib.figure.Figure`` (not registered with pyplot).
    """
    problem = problem_of_result(result, "momentum", "momentum_result")
    return MomentumFigure(problem, result.steps, nesterov=_nesterov_shown(result)).update(result)


def momentum_explorer(
    lr: float = 0.02,
    momentum: float = 0.9,
    nesterov: bool = False,
    landscape: str | Landscape = "ravine",
    *,
    landscapes: Sequence[str | Landscape] = ("ravine", "bowl", "rosenbrock"),
    steps: int | None = None,
    device: str | torch.device | None = None,
) -> Explorer:
    """Learning-rate and momentum sliders and a Nesterov switch, on an ill-conditioned ravine.

    Shows the path, the loss per step, and a map of the predicted steps to converge over
    (learning rate, momentum) with the current setting starred; the readout names the
    settings and says at which step the run converged (or diverged).

    Args:
        lr: the starting learning rate (1e-4 to 1 on the slider).
        momentum: the starting momentum (0 to 0.99 on the slider).
        nesterov: start with Nesterov momentum.
        landscape: the starting landscape.
        landscapes: the landscapes offered in the drop-down.
        steps: number of steps per run (default: per landscape).
        device: where runs compute (default: the default device).
    """
    problems = problem_options(landscapes, allow_1d=False)
    initial = initial_key(problems, landscape)
    mu = float(momentum)
    if not 0.0 <= mu <= 0.99:
        raise ValueError(f"momentum must be in [0, 0.99] for the slider, got {momentum!r}")
    controls: dict[str, widgets.Widget] = {
        "landscape": landscape_dropdown(problems, initial),
        "lr": lr_slider(lr, max_exp=0.0),
        "momentum": widgets.FloatSlider(
            value=mu, min=0.0, max=0.99, step=0.01, description="momentum",
            readout_format=".2f", continuous_update=False,
            layout=widgets.Layout(width="320px")),
        "nesterov": widgets.Checkbox(value=bool(nesterov), description="Nesterov",
                                     indent=False, layout=widgets.Layout(width="110px")),
    }
    return Explorer(
        "momentum", "Momentum explorer", controls,
        result=lambda v: momentum_result(v["lr"], v["momentum"], v["nesterov"],
                                         problems[v["landscape"]], steps=steps, device=device),
        figure=lambda res: MomentumFigure(res.problem, res.steps,
                                           nesterov=_nesterov_shown(res)),
        figure_key=lambda res: (res.problem, res.steps))
