"""The L-BFGS explorer (lesson 10): history size, line search and batch size against Adam.

Three controls: the **history size** m (the curvature pairs L-BFGS keeps), the **line search**
(strong Wolfe, or none: every step of length 1), and the **batch size** (the full data, or a
new random batch for every ``step(closure)`` of 10 iterations, like lesson 10, section 6).
Two problems: Rosenbrock from (-1.2, 1) (no data, so only the full "batch") and lesson 10's
softmax regression on the digits (C = 1, float64). For each setting the explorer shows, in
numbers and in two panels:

* the distance to the minimum's loss, ``f - f*``, against the evaluations (closure calls) used,
  next to Adam at the best learning rate of a small grid, with the same budget;
* the evaluations to reach the target (Rosenbrock ``f < 1e-8``; logistic regression
  ``f - f* < 1e-4``) for every history size, with and without the line search; on
  mini-batches, where no run reaches the target, the loss gap left after the budget instead.

Runs use :class:`course_lib.second_order.LBFGS`. They are deterministic, so each is computed
once and kept in the :class:`LbfgsSetup` (the explorer computes the whole grid when its cell
runs: a few seconds).

Example (in a notebook)::

    from course_lib.explorers.lbfgs import lbfgs_explorer, lbfgs_result, lbfgs_setup

    setup = lbfgs_setup(data)                  # data = load_digits_split(...)
    lbfgs_result(setup, "Rosenbrock", 10, "strong Wolfe", "full").readout
    lbfgs_explorer(setup)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from course_lib.explorers.base import Readout, choice_slider, invalid_line, toggle
from course_lib.explorers.figures import (
    BLUE,
    DPI,
    FIGSIZE,
    GREY,
    ORANGE,
    RED,
    ExplorerFigure,
    explorer_style,
    fmt_number,
    log_axis,
)
from course_lib.explorers.shell import Explorer
from course_lib.second_order import LBFGS

__all__ = [
    "PROBLEMS",
    "HISTORY_SIZES",
    "LINE_SEARCHES",
    "BATCH_SIZES",
    "LbfgsSetup",
    "lbfgs_setup",
    "LbfgsRun",
    "lbfgs_run",
    "adam_baseline",
    "LbfgsResult",
    "lbfgs_result",
    "LbfgsFigure",
    "lbfgs_figure",
    "lbfgs_explorer",
]

PROBLEMS = ("Rosenbrock", "logistic regression")
HISTORY_SIZES = (1, 3, 10, 30)
LINE_SEARCHES = ("strong Wolfe", "none")
#: "full", or a batch size (a new random batch per ``step(closure)``).
BATCH_SIZES = ("full", 256, 32)
#: Most evaluations per run (full batch / mini-batches), and the targets.
CAP = {"Rosenbrock": 1000, "logistic regression": 500}
MINIBATCH_CAP = 120
TARGET = {"Rosenbrock": 1e-8, "logistic regression": 1e-4}
#: Adam's learning-rate grid per problem (PyTorch's betas and eps).
ADAM_LRS = {"Rosenbrock": (0.1, 0.3, 0.7, 1.0), "logistic regression": (0.03, 0.1, 0.3)}
ADAM_CAP = {"Rosenbrock": 2000, "logistic regression": 500}
ITERS_PER_BATCH = 10
START = (-1.2, 1.0)
#: A loss above this (or not finite) counts as divergence.
_BLOWUP = 1e12
_F64 = torch.float64


class _Stop(Exception):
    """Raised from the closure to end a run (target reached, budget spent, blown up)."""


def _rosenbrock(x: torch.Tensor) -> torch.Tensor:
    return (1 - x[..., 0]) ** 2 + 100 * (x[..., 1] - x[..., 0] ** 2) ** 2


@dataclass(eq=False)
class LbfgsSetup:
    """The two problems, the logistic regression's minimum, and every run computed so far.

    Attributes:
        X, y: the digits training set (float64 features, on the CPU).
        f_star: the logistic regression's minimal loss (an L-BFGS run to a gradient of 1e-8).
        C: scikit-learn's inverse regularisation strength (the loss is the mean cross-entropy
            plus ``|W|^2 / (2 C n)``).
        runs, adam: the runs and Adam baselines by setting (deterministic, computed once).
    """

    X: torch.Tensor
    y: torch.Tensor
    f_star: float
    C: float = 1.0
    runs: dict = field(default_factory=dict, repr=False)
    adam: dict = field(default_factory=dict, repr=False)

    def loss(self, W: torch.Tensor, b: torch.Tensor, idx: torch.Tensor | None = None):
        """Mean cross-entropy (on the examples ``idx``, default all) plus the L2 penalty on W."""
        X, y = (self.X, self.y) if idx is None else (self.X[idx], self.y[idx])
        return F.cross_entropy(X @ W.T + b, y) + (W ** 2).sum() / (2 * self.C * len(self.X))


def lbfgs_setup(data, C: float = 1.0) -> LbfgsSetup:
    """The explorer's problems from ``data`` (a :class:`~course_lib.data.DigitsSplit`).

    Solves the logistic regression once (L-BFGS, m = 30, to a largest gradient entry of 1e-8
    or 400 evaluations)
    for its minimal loss ``f_star``.
    """
    X = data.X_train.detach().to("cpu", _F64)
    y = data.y_train.detach().to("cpu")
    setup = LbfgsSetup(X=X, y=y, f_star=math.nan, C=float(C))
    W, b = _zeros(setup)
    opt = LBFGS([W, b], max_iter=400, max_eval=400, history_size=30, tolerance_grad=1e-8,
                tolerance_change=0)

    def closure():
        opt.zero_grad()
        loss = setup.loss(W, b)
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        setup.f_star = setup.loss(W, b).item()
    return setup


def _zeros(setup: LbfgsSetup):
    k, d = int(setup.y.max()) + 1, setup.X.shape[1]
    return (torch.zeros(k, d, dtype=_F64, requires_grad=True),
            torch.zeros(k, dtype=_F64, requires_grad=True))


@dataclass(frozen=True, eq=False)
class LbfgsRun:
    """One L-BFGS run: ``f - f*`` against the evaluations used.

    Attributes:
        evals: the evaluation count at each recorded point (every evaluation on the full
            batch; after each mini-batch's ``step`` otherwise).
        gaps: the full loss minus the minimal loss at those points.
        to_target: the first evaluation count with the gap below the target, else ``None``.
        worst: the largest gap recorded.
        diverged: whether the loss blew up (not finite or above 1e12).
    """

    evals: np.ndarray
    gaps: np.ndarray
    to_target: int | None
    worst: float
    diverged: bool

    @property
    def used(self) -> int:
        """Evaluations used in all."""
        return int(self.evals[-1]) if len(self.evals) else 0

    @property
    def final(self) -> float:
        """The last recorded gap."""
        return float(self.gaps[-1]) if len(self.gaps) else math.nan


def _run_of(evals: list, gaps: list, target: float, diverged: bool) -> LbfgsRun:
    e, g = np.asarray(evals, dtype=np.int64), np.asarray(gaps, dtype=np.float64)
    hits = np.flatnonzero(g < target)
    finite = g[np.isfinite(g)]
    return LbfgsRun(evals=e, gaps=g, to_target=int(e[hits[0]]) if len(hits) else None,
                    worst=float(finite.max()) if len(finite) else math.inf, diverged=diverged)


def lbfgs_run(setup: LbfgsSetup, problem: str, history_size: int, line_search: str,
              batch_size="full") -> LbfgsRun:
    """Run L-BFGS with one setting (computed once per setup, then looked up).

    On the full batch the run stops at the first evaluation below the target, or after
    :data:`CAP` evaluations; on mini-batches it takes a new batch (drawn with a generator
    seeded 0, so every setting sees the same batches) for each ``step`` of
    :data:`ITERS_PER_BATCH` iterations, until :data:`MINIBATCH_CAP` evaluations are used.
    """
    key = (problem, history_size, line_search, batch_size)
    if key not in setup.runs:
        setup.runs[key] = _lbfgs_run(setup, *key)
    return setup.runs[key]


def _lbfgs_run(setup, problem, history_size, line_search, batch_size) -> LbfgsRun:
    full = batch_size == "full"
    cap = CAP[problem] if full else MINIBATCH_CAP
    target = TARGET[problem]
    if problem == "Rosenbrock":
        params = [torch.tensor(START, dtype=_F64, requires_grad=True)]
        batch_loss = full_loss = lambda _idx=None: _rosenbrock(params[0])  # noqa: E731
        f_star = 0.0
    else:
        params = list(_zeros(setup))
        batch_loss = lambda idx=None: setup.loss(*params, idx)  # noqa: E731
        full_loss, f_star = batch_loss, setup.f_star
    opt = LBFGS(params, max_iter=cap if full else ITERS_PER_BATCH, max_eval=10 * cap,
                history_size=history_size, tolerance_grad=0, tolerance_change=0,
                line_search_fn="strong_wolfe" if line_search == "strong Wolfe" else None)
    evals, gaps, count = [], [], 0
    gen = torch.Generator().manual_seed(0)
    idx = None

    def closure():
        nonlocal count
        if count >= cap:
            raise _Stop
        count += 1
        opt.zero_grad()
        loss = batch_loss(idx)
        loss.backward()
        if full:
            value = loss.item()
            evals.append(count)
            gaps.append(value - f_star)
            if not math.isfinite(value) or value > _BLOWUP or value - f_star < target:
                raise _Stop
        return loss

    try:
        if full:
            opt.step(closure)
        while not full and count < cap:
            idx = torch.randint(len(setup.y), (batch_size,), generator=gen)
            try:
                opt.step(closure)
            finally:
                with torch.no_grad():
                    evals.append(count)
                    gaps.append(full_loss().item() - f_star)
            if not math.isfinite(gaps[-1]) or gaps[-1] > _BLOWUP:
                break
    except _Stop:
        pass
    except (RuntimeError, ValueError, ZeroDivisionError):   # a NaN reached the line search
        gaps.append(math.nan)
        evals.append(count)
    diverged = bool(gaps) and (not math.isfinite(gaps[-1]) or gaps[-1] > _BLOWUP)
    return _run_of(evals, gaps, target, diverged)


def adam_baseline(setup: LbfgsSetup, problem: str, batch_size="full"):
    """Adam at each learning rate of :data:`ADAM_LRS` (computed once, all rates together).

    Returns ``(lr, run)`` for the best rate: the fewest evaluations to the target, else the
    lowest final gap. One evaluation per step; on mini-batches the batches of
    :func:`lbfgs_run` (same generator), one per step, with the same budget.
    """
    key = (problem, batch_size)
    if key not in setup.adam:
        setup.adam[key] = _adam_baseline(setup, problem, batch_size)
    return setup.adam[key]


def _adam_baseline(setup, problem, batch_size):
    lrs = ADAM_LRS[problem]
    full = batch_size == "full"
    steps = ADAM_CAP[problem] if full else MINIBATCH_CAP
    if problem == "Rosenbrock":
        curves = _adam_rosenbrock(np.array(lrs), steps)
    else:
        curves = _adam_logistic(setup, lrs, steps, batch_size)
    runs = []
    for j in range(len(lrs)):
        g = curves[:, j]
        bad = np.flatnonzero(~np.isfinite(g) | (g > _BLOWUP))
        hit = np.flatnonzero(g < TARGET[problem])
        end = bad[0] + 1 if len(bad) else len(g)
        end = min(end, hit[0] + 1) if len(hit) else end      # stop at the target, as L-BFGS does
        runs.append(_run_of(list(range(1, end + 1)), list(g[:end]), TARGET[problem],
                            bool(len(bad))))
    reached = [(r.to_target, j) for j, r in enumerate(runs) if r.to_target is not None]
    if reached:
        j = min(reached)[1]
    else:
        j = min(range(len(lrs)), key=lambda i: runs[i].final if math.isfinite(runs[i].final)
                else math.inf)
    return lrs[j], runs[j]


def _adam_moments(m, v, g, t):
    m = 0.9 * m + 0.1 * g
    v = 0.999 * v + 0.001 * g * g
    return m, v, (m / (1 - 0.9 ** t)) / ((v / (1 - 0.999 ** t)) ** 0.5 + 1e-8)


def _adam_rosenbrock(lrs: np.ndarray, steps: int) -> np.ndarray:
    """Adam on Rosenbrock at every rate at once (numpy, the gradient by hand): f per step."""
    p = np.tile(np.array(START), (len(lrs), 1))
    m, v = np.zeros_like(p), np.zeros_like(p)
    out = np.empty((steps, len(lrs)))
    with np.errstate(all="ignore"):
        for t in range(1, steps + 1):
            x, y = p[:, 0], p[:, 1]
            r = y - x * x
            out[t - 1] = (1 - x) ** 2 + 100 * r * r
            g = np.stack([-2 * (1 - x) - 400 * x * r, 200 * r], axis=1)
            m, v, step = _adam_moments(m, v, g, t)
            p = p - lrs[:, None] * step
            if (out[t - 1] < TARGET["Rosenbrock"]).all():
                return out[:t]
    return out


def _adam_logistic(setup, lrs, steps, batch_size) -> np.ndarray:
    """Adam on the softmax regression at every rate at once (the gradient by hand): f - f*.

    On the full batch the loss of each evaluation; on mini-batches the full loss after each
    step (the batches drawn as :func:`lbfgs_run` draws them).
    """
    full = batch_size == "full"
    X, y, n = setup.X, setup.y, len(setup.X)
    k = int(y.max()) + 1
    lr = torch.tensor(lrs, dtype=_F64)
    W = torch.zeros(len(lrs), k, X.shape[1], dtype=_F64)
    b = torch.zeros(len(lrs), k, dtype=_F64)
    state = [torch.zeros_like(W), torch.zeros_like(W), torch.zeros_like(b), torch.zeros_like(b)]
    onehot = F.one_hot(y, k).to(_F64)
    gen = torch.Generator().manual_seed(0)
    penalty = 1 / (2 * setup.C * n)

    def loss_and_probs(Xb, yb_hot):
        logits = torch.einsum("nd,rkd->rnk", Xb, W) + b[:, None, :]
        logp = torch.log_softmax(logits, dim=2)
        ce = -(logp * yb_hot).sum(dim=2).mean(dim=1)
        return ce + penalty * (W ** 2).sum(dim=(1, 2)), logp.exp()

    out = []
    for t in range(1, steps + 1):
        idx = None if full else torch.randint(n, (batch_size,), generator=gen)
        Xb, hot = (X, onehot) if full else (X[idx], onehot[idx])
        f, probs = loss_and_probs(Xb, hot)
        if full:
            out.append(f - setup.f_star)
            if (out[-1] < TARGET["logistic regression"]).all():
                break
        err = (probs - hot) / len(Xb)
        gW = torch.einsum("rnk,nd->rkd", err, Xb) + 2 * penalty * W
        gb = err.sum(dim=1)
        state[0], state[1], sW = _adam_moments(state[0], state[1], gW, t)
        state[2], state[3], sb = _adam_moments(state[2], state[3], gb, t)
        W, b = W - lr[:, None, None] * sW, b - lr[:, None] * sb
        if not full:
            out.append(loss_and_probs(X, onehot)[0] - setup.f_star)
    return torch.stack(out).numpy()


@dataclass(frozen=True, eq=False)
class LbfgsResult(Readout):
    """What L-BFGS did with one setting, next to Adam.

    Attributes:
        problem, history_size, line_search, batch_size: the setting.
        run: the :class:`LbfgsRun` (``None`` for an invalid setting).
        adam_lr, adam: Adam's best learning rate of its grid and its run.
        target: the gap that counts as converged.
        by_m: evaluations to the target (``None`` if never) by line search and history size,
            ``{line_search: [..one per HISTORY_SIZES..]}``; on mini-batches the final gaps.
        status: "converged", "not converged", "diverged" or "invalid setting".
        error: why the setting could not be run, else ``None``.
        lines: the readout.
    """

    problem: str
    history_size: int
    line_search: str
    batch_size: object
    run: LbfgsRun | None
    adam_lr: float
    adam: LbfgsRun | None
    target: float
    by_m: dict = field(default_factory=dict, repr=False)
    status: str = "invalid setting"
    error: str | None = None
    lines: tuple[str, ...] = ()


def _problem_in(problem, history_size, line_search, batch_size) -> str | None:
    if problem not in PROBLEMS:
        return f"problem must be one of {PROBLEMS}, got {problem!r}"
    if isinstance(history_size, bool) or not isinstance(history_size, int | np.integer) \
            or history_size < 1:
        return f"history size m must be an int >= 1, got {history_size!r}"
    if line_search not in LINE_SEARCHES:
        return f"line search must be one of {LINE_SEARCHES}, got {line_search!r}"
    if batch_size != "full" and (isinstance(batch_size, bool)
                                 or not isinstance(batch_size, int | np.integer)
                                 or batch_size < 1):
        return f"batch size must be 'full' or an int >= 1, got {batch_size!r}"
    if problem == "Rosenbrock" and batch_size != "full":
        return "Rosenbrock has no data to batch: choose full"
    return None


def _gap(x: float) -> str:
    return f"{x:.1e}" if math.isfinite(x) else fmt_number(x)


def lbfgs_result(setup: LbfgsSetup, problem: str = "Rosenbrock", history_size: int = 10,
                 line_search: str = "strong Wolfe", batch_size="full") -> LbfgsResult:
    """L-BFGS with history size ``history_size`` and ``line_search`` on ``problem``, and Adam.

    Args:
        setup: from :func:`lbfgs_setup`.
        problem: one of :data:`PROBLEMS`.
        history_size: m, the curvature pairs kept (an int >= 1; the grid is
            :data:`HISTORY_SIZES`).
        line_search: "strong Wolfe" or "none".
        batch_size: "full", or the examples per mini-batch (logistic regression only).

    Returns:
        An :class:`LbfgsResult`; an odd setting gives status "invalid setting", never an
        exception.
    """
    problem_text = _problem_in(problem, history_size, line_search, batch_size)
    target = TARGET.get(problem, math.nan)
    if problem_text is not None:
        return LbfgsResult(problem=str(problem), history_size=0, line_search=str(line_search),
                           batch_size=batch_size, run=None, adam_lr=math.nan, adam=None,
                           target=target, error=problem_text, lines=(invalid_line(problem_text),))
    m = int(history_size)
    run = lbfgs_run(setup, problem, m, line_search, batch_size)
    adam_lr, adam = adam_baseline(setup, problem, batch_size)
    full = batch_size == "full"
    by_m = {ls: [(lbfgs_run(setup, problem, k, ls, batch_size).to_target if full
                  else lbfgs_run(setup, problem, k, ls, batch_size).final)
                 for k in HISTORY_SIZES] for ls in LINE_SEARCHES}
    goal = "f < 1e-8" if problem == "Rosenbrock" else "f - f* < 1e-4"
    where = "full batch" if full else f"batches of {batch_size}, {ITERS_PER_BATCH} iterations each"
    head = f"{problem}, m = {m}, line search {line_search}, {where}:"
    if run.diverged:
        status = "diverged"
        second = (f"diverged: the loss blew up after {run.used} evaluations "
                  f"(f - f* {_gap(run.final)})")
    elif run.to_target is not None:
        status = "converged"
        second = (f"{goal} after {run.to_target:,} evaluations; largest f - f* on the way "
                  f"{run.worst:.3g}")
    else:
        status = "not converged"
        seen = "" if full else f" ({run.used * batch_size:,} examples)"
        second = (f"not converged: {run.used:,} evaluations{seen} leave f - f* = "
                  f"{_gap(run.final)}, target {target:.0e}")
    if adam.to_target is not None:
        third = f"Adam, best lr of its grid ({fmt_number(adam_lr)}): {goal} after {adam.to_target:,} evaluations"
        if run.to_target is not None:
            third += f" ({adam.to_target / run.to_target:.1f}x L-BFGS's)"
    else:
        third = (f"Adam, best lr of its grid ({fmt_number(adam_lr)}): f - f* = {_gap(adam.final)} "
                 f"after {adam.used:,} evaluations (one per step)")
    return LbfgsResult(problem=problem, history_size=m, line_search=line_search,
                       batch_size=batch_size, run=run, adam_lr=adam_lr, adam=adam, target=target,
                       by_m=by_m, status=status, lines=(head + " " + second, third))


class LbfgsFigure(ExplorerFigure):
    """Loss gap against evaluations (L-BFGS and Adam); evaluations to the target against m."""

    def __init__(self, problem: str, full: bool):
        super().__init__(figsize=FIGSIZE, dpi=DPI, layout="none")
        self.problem, self.full = problem, full
        target = TARGET.get(problem, 1e-8)
        cap = max(CAP.get(problem, 1000), ADAM_CAP.get(problem, 1000)) if full else MINIBATCH_CAP
        with explorer_style():
            self.subplots_adjust(left=0.07, right=0.985, bottom=0.16, top=0.88, wspace=0.28)
            self.ax_gap, self.ax_m = self.subplots(1, 2, gridspec_kw={"width_ratios": [1.3, 1]})
            ax = self.ax_gap
            ax.set_xscale("log")
            ax.set_yscale("log")
            log_axis(ax.xaxis)
            log_axis(ax.yaxis)
            ax.set_xlim(1, cap * 1.2)
            ax.set_ylim(target * 1e-3 if full else 1e-3, 1e9 if problem == "Rosenbrock" else 1e2)
            ax.axhline(target, color="black", linestyle=":", linewidth=1.2,
                       label=f"target {target:.0e}")
            (self.adam_line,) = ax.plot([], [], color=GREY, linewidth=2.2, label="Adam, best lr")
            (self.lbfgs_line,) = ax.plot([], [], color=BLUE, linewidth=1.8, label="L-BFGS")
            ax.set_xlabel("evaluations (closure calls)")
            ax.set_ylabel("f - f*")
            ax.legend(loc="upper right")
            ax.set_title(" ")
            ax = self.ax_m
            ax.set_xscale("log")
            ax.set_yscale("log")
            log_axis(ax.yaxis)
            ax.set_xticks(list(HISTORY_SIZES), [str(k) for k in HISTORY_SIZES])
            ax.set_xlim(HISTORY_SIZES[0] / 1.5, HISTORY_SIZES[-1] * 1.5)
            if full:
                ax.set_ylim(10, cap * 2)
                ax.set_ylabel("evaluations to the target")
            else:
                ax.set_ylim(1e-3, 1e2)
                ax.set_ylabel(f"f - f* after {MINIBATCH_CAP} evaluations")
            ax.set_xlabel("history size m")
            (self.sw_line,) = ax.plot([], [], "o-", color=BLUE, label="strong Wolfe")
            (self.none_line,) = ax.plot([], [], "s--", color=ORANGE, label="no line search")
            (self.adam_level,) = ax.plot([], [], color=GREY, linewidth=2.2, label="Adam, best lr")
            (self.dot,) = ax.plot([], [], "o", markersize=13, markerfacecolor="none",
                                  markeredgecolor="black", markeredgewidth=2, zorder=6)
            ax.legend(loc="upper right")
            ax.set_title(" ")
        self.moving += [self.adam_line, self.lbfgs_line, self.ax_gap.title, self.sw_line,
                        self.none_line, self.adam_level, self.dot, self.ax_m.title]

    def update(self, res: LbfgsResult) -> LbfgsFigure:
        """Show ``res``; returns the figure."""
        if res.error is not None or res.run is None:
            for line in (self.adam_line, self.lbfgs_line, self.sw_line, self.none_line,
                         self.adam_level, self.dot):
                line.set_data([], [])
            self.ax_gap.title.set_text("invalid setting")
            self.ax_gap.title.set_color(RED)
            self.ax_m.title.set_text((res.error or "")[:46])
            return self
        lo = self.ax_gap.get_ylim()[0]
        for line, run in ((self.lbfgs_line, res.run), (self.adam_line, res.adam)):
            gaps = np.where(np.isfinite(run.gaps), run.gaps, 1e30)
            line.set_data(run.evals, np.clip(gaps, lo, 1e30))
        title = {"converged": f"converged after {res.run.to_target:,} evaluations"
                 if res.run.to_target else "",
                 "diverged": "diverged",
                 "not converged": f"not converged in {res.run.used:,} evaluations"}[res.status]
        self.ax_gap.title.set_text(f"m = {res.history_size}: {title}")
        self.ax_gap.title.set_color(RED if res.status == "diverged" else "black")
        ymax = self.ax_m.get_ylim()[1]
        xs = np.array(HISTORY_SIZES, dtype=float)
        for line, ls in ((self.sw_line, "strong Wolfe"), (self.none_line, "none")):
            ys = np.array([ymax if v is None or not math.isfinite(v) else v
                           for v in res.by_m[ls]], dtype=float)
            line.set_data(xs, np.minimum(ys, ymax))
        level = res.adam.to_target if self.full else res.adam.final
        level = ymax if level is None or not math.isfinite(level) else level
        self.adam_level.set_data([xs[0] / 1.5, xs[-1] * 1.5], [level, level])
        mine = res.run.to_target if self.full else res.run.final
        if mine is not None and math.isfinite(mine) and res.history_size in HISTORY_SIZES:
            self.dot.set_data([res.history_size], [min(mine, ymax)])
        else:
            self.dot.set_data([], [])
        self.ax_m.title.set_text("every m, both line searches (top edge: never)" if self.full
                                 else "every m: the gap left after the budget")
        return self


def lbfgs_figure(result: LbfgsResult) -> LbfgsFigure:
    """The L-BFGS explorer's picture of ``result`` (from :func:`lbfgs_result`).

    Returns:
        A new ``matplotlib.figure.Figure`` (not registered with pyplot).
    """
    if not isinstance(result, LbfgsResult):
        raise ValueError(f"expected a result of lbfgs_result(), got {result!r:.80}")
    problem = result.problem if result.problem in PROBLEMS else PROBLEMS[0]
    return LbfgsFigure(problem, result.batch_size == "full").update(result)


def lbfgs_explorer(setup: LbfgsSetup, problem: str = "Rosenbrock", history_size: int = 10,
                   line_search: str = "strong Wolfe", batch_size="full") -> Explorer:
    """Buttons for the problem and the line search, sliders for m and the batch size.

    Every combination is computed when the explorer is built (``precompute=True``): 32
    L-BFGS runs and 4 Adam grids, a few seconds on a CPU; the four pictures' static parts are
    drawn then too, so that no slider move waits for one.

    Raises:
        ValueError: if a starting value is not one of the controls' options.
    """
    controls = {
        "problem": toggle("problem", PROBLEMS, problem),
        "history_size": choice_slider("history size m", HISTORY_SIZES, history_size),
        "line_search": toggle("line search", LINE_SEARCHES, line_search),
        "batch_size": choice_slider("batch size", BATCH_SIZES, batch_size, width="260px"),
    }
    controls["problem"].style.button_width = "150px"
    explorer = Explorer(
        "lbfgs", "L-BFGS explorer", controls,
        result=lambda v: lbfgs_result(setup, v["problem"], v["history_size"], v["line_search"],
                                      v["batch_size"]),
        figure=lambda res: LbfgsFigure(res.problem if res.problem in PROBLEMS else PROBLEMS[0],
                                       res.batch_size == "full"),
        figure_key=lambda res: (res.problem, res.batch_size == "full"),
        precompute=True)
    for prob, batch in ((p, b) for p in PROBLEMS for b in ("full", BATCH_SIZES[-1])):
        res = explorer.compute({**explorer.values(), "problem": prob, "batch_size": batch})
        explorer.figure_for(res).render_rgb(res)      # draw each picture's static part now
    explorer.refresh()
    return explorer
