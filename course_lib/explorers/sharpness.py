"""The sharpness explorers (lesson 11): batch size and SAM's rho; noise at a saddle.

**Sharpness.** Two sliders, the batch size B and SAM's radius rho. Every setting trains the
same small MLP (64-32-10, ReLU) on the digits from the same initial weights for the same
number of steps (:data:`STEPS`, SGD with momentum 0.9, lr 0.05; wrapped in
:class:`course_lib.sam.SAM` when rho > 0) and measures the top Hessian eigenvalue of the
full training loss (power iteration on Hessian-vector products,
:func:`course_lib.curvature.top_hessian_eigenvalue`), the training loss and the test
accuracy. The whole grid is trained when the explorer is built (a few seconds); the readout and
two panels show the setting against all the others: lambda_max against B, and test accuracy
against B, one line per rho.

**Noise at the saddle.** One slider, the standard deviation of Gaussian noise added to every
gradient of gradient descent on :math:`x^2 - y^2` from (1, 0), lr 0.1: exactly on the stable
line, plain gradient descent converges to the saddle and stays; any noise puts a small y back,
which grows by 1.2 per step. The readout gives the steps spent within 0.1 of the saddle (mean,
90th percentile, max over 1,000 runs) and how many runs escaped, against the estimate
:math:`t \\approx \\ln(r / (\\eta\\sigma)) / \\ln(1 + 2\\eta)`.

Example (in a notebook)::

    from course_lib.explorers.sharpness import (saddle_noise_explorer, sharpness_explorer,
                                                sharpness_result, sharpness_setup)

    setup = sharpness_setup(data)
    sharpness_result(setup, 64, 0.05).readout
    sharpness_explorer(setup)
    saddle_noise_explorer(noise=1e-6)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib import ticker

from course_lib.curvature import top_hessian_eigenvalue
from course_lib.explorers.base import Readout, as_float, choice_slider, invalid_line
from course_lib.explorers.figures import (
    BLUE,
    DPI,
    FIGSIZE,
    GREEN,
    GREY,
    ORANGE,
    RED,
    ExplorerFigure,
    explorer_style,
    fmt_number,
    log_axis,
)
from course_lib.explorers.shell import Explorer
from course_lib.models import MLP
from course_lib.sam import SAM

__all__ = [
    "BATCH_SIZES",
    "RHOS",
    "STEPS",
    "SharpnessSetup",
    "sharpness_setup",
    "train_point",
    "SharpnessResult",
    "sharpness_result",
    "SharpnessFigure",
    "sharpness_figure",
    "sharpness_explorer",
    "NOISES",
    "SaddleResult",
    "saddle_result",
    "SaddleFigure",
    "saddle_figure",
    "saddle_noise_explorer",
]

#: Batch sizes on the slider ("full" is the whole training set).
BATCH_SIZES = (16, 64, 256, "full")
RHOS = (0.0, 0.05, 0.2, 0.5)
STEPS = 200
LR, MOMENTUM, HIDDEN = 0.05, 0.9, 32
#: Power-iteration rounds for lambda_max.
ITERS = 20
_RHO_COLOURS = (BLUE, GREEN, ORANGE, RED)


@dataclass(eq=False)
class SharpnessSetup:
    """The data and every trained point so far (deterministic: each is trained once).

    Attributes:
        X, y: the training set; X_test, y_test: the test set (float32, on the CPU).
        points: ``{(batch_size, rho): (lambda_max, train_loss, test_correct)}``.
    """

    X: torch.Tensor
    y: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor
    points: dict = field(default_factory=dict, repr=False)

    @property
    def n(self) -> int:
        """Training examples."""
        return len(self.y)


def sharpness_setup(data) -> SharpnessSetup:
    """The explorer's data from ``data`` (a :class:`~course_lib.data.DigitsSplit`), on the CPU."""
    return SharpnessSetup(X=data.X_train.detach().cpu().float(), y=data.y_train.detach().cpu(),
                          X_test=data.X_test.detach().cpu().float(),
                          y_test=data.y_test.detach().cpu())


def _model(setup: SharpnessSetup, hidden: int = HIDDEN, seed: int = 0) -> MLP:
    gen_state = torch.random.get_rng_state()
    torch.manual_seed(seed)                 # the same initial weights for every setting
    model = MLP([setup.X.shape[1], hidden, int(setup.y.max()) + 1], device="cpu")
    torch.random.set_rng_state(gen_state)
    return model


def train_point(setup: SharpnessSetup, batch_size, rho: float, *, steps: int = STEPS,
                hidden: int = HIDDEN) -> tuple[MLP, float, float, int]:
    """Train one setting: ``(model, lambda_max, train_loss, test_correct)``.

    SGD (lr 0.05, momentum 0.9) for ``steps`` steps on batches drawn with replacement by a
    generator seeded 0 (the full set when ``batch_size`` is "full"), through SAM when
    ``rho > 0``. ``lambda_max`` is the top eigenvalue of the full training loss's Hessian by
    :data:`ITERS` rounds of power iteration from a start seeded 0.
    """
    model = _model(setup, hidden)
    opt: torch.optim.Optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    if rho > 0:
        opt = SAM(opt, rho=rho)
    gen = torch.Generator().manual_seed(0)
    full = batch_size == "full"
    for _ in range(steps):
        idx = None if full else torch.randint(setup.n, (batch_size,), generator=gen)
        xb, yb = (setup.X, setup.y) if full else (setup.X[idx], setup.y[idx])

        def closure(xb=xb, yb=yb):
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            return loss

        if rho > 0:
            opt.step(closure)
        else:
            opt.zero_grad(set_to_none=True)
            closure()
            opt.step()
    params = list(model.parameters())
    lam = top_hessian_eigenvalue(lambda: F.cross_entropy(model(setup.X), setup.y), params,
                                 iters=ITERS, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        train_loss = F.cross_entropy(model(setup.X), setup.y).item()
        correct = int((model(setup.X_test).argmax(dim=1) == setup.y_test).sum())
    return model, lam, train_loss, correct


def _point(setup: SharpnessSetup, batch_size, rho: float):
    key = (batch_size, float(rho))
    if key not in setup.points:
        _, lam, loss, correct = train_point(setup, batch_size, float(rho))
        setup.points[key] = (lam, loss, correct)
    return setup.points[key]


@dataclass(frozen=True, eq=False)
class SharpnessResult(Readout):
    """One trained setting and the grid around it.

    Attributes:
        batch_size, rho: the setting.
        lambda_max, train_loss, test_correct, test_total: what it reached.
        n_train: the training examples (the full batch).
        grid: ``{(batch_size, rho): (lambda_max, train_loss, test_correct)}`` for the whole
            grid of :data:`BATCH_SIZES` x :data:`RHOS`.
        status: "trained", "did not train" (the loss stayed near ln 10: rho too large for
            the step) or "invalid setting".
        error: why the setting could not be run, else ``None``.
        lines: the readout.
    """

    batch_size: object
    rho: float
    lambda_max: float
    train_loss: float
    test_correct: int
    test_total: int
    n_train: int = 0
    grid: dict = field(default_factory=dict, repr=False)
    status: str = "invalid setting"
    error: str | None = None
    lines: tuple[str, ...] = ()


def _setting_problem(batch_size, rho) -> str | None:
    if batch_size not in BATCH_SIZES or isinstance(batch_size, bool):
        return f"batch size must be one of {BATCH_SIZES}, got {batch_size!r}"
    r = as_float(rho)
    if r is None or not math.isfinite(r) or r < 0:
        return f"rho must be a number >= 0, got {rho!r}"
    if not any(abs(r - g) < 1e-12 for g in RHOS):
        return f"rho must be one of {RHOS}, got {rho!r}"
    return None


def sharpness_result(setup: SharpnessSetup, batch_size=64, rho: float = 0.0) -> SharpnessResult:
    """Train (or look up) the setting ``(batch_size, rho)`` and the whole grid around it.

    Returns:
        A :class:`SharpnessResult`; a value off the grid gives "invalid setting", never an
        exception. The first call trains all 16 settings (seconds); later calls look them up.
    """
    problem = _setting_problem(batch_size, rho)
    total = len(setup.y_test)
    if problem is not None:
        return SharpnessResult(batch_size=batch_size, rho=math.nan, lambda_max=math.nan,
                               train_loss=math.nan, test_correct=0, test_total=total,
                               n_train=setup.n, error=problem, lines=(invalid_line(problem),))
    rho = float(rho)
    grid = {(b, r): _point(setup, b, r) for r in RHOS for b in BATCH_SIZES}
    lam, loss, correct = grid[(batch_size, rho)]
    trained = loss < 0.8 * math.log(10)
    b_text = f"full batch ({setup.n:,})" if batch_size == "full" else f"batch {batch_size}"
    head = (f"{b_text}, rho = {fmt_number(rho)}" + (" (plain SGD)" if rho == 0 else " (SAM)")
            + f", {STEPS} steps: lambda_max = {lam:.2f}, training loss {loss:.3f}")
    plain = grid[(batch_size, 0.0)]
    second = (f"test accuracy {correct / total:.1%} ({correct}/{total}; one image is "
              f"{1 / total:.2%})")
    if rho > 0:
        second += (f"; plain SGD at this batch: lambda_max {plain[0]:.2f}, "
                   f"{plain[2] / total:.1%}")
    lines = (head, second)
    if not trained:
        lines += (f"did not train: the loss stayed near ln 10 = {math.log(10):.2f}, a uniform "
                  f"guess; a small lambda_max here means a flat start, not a good minimum",)
    return SharpnessResult(batch_size=batch_size, rho=rho, lambda_max=lam, train_loss=loss,
                           test_correct=correct, test_total=total, n_train=setup.n, grid=grid,
                           status="trained" if trained else "did not train", lines=lines)


def _x(batch_size, n: int) -> float:
    return float(n if batch_size == "full" else batch_size)


class SharpnessFigure(ExplorerFigure):
    """lambda_max against batch size and test accuracy against batch size, one line per rho."""

    def __init__(self, grid: dict, n: int, total: int):
        super().__init__(figsize=FIGSIZE, dpi=DPI, layout="none")
        self.n, self.total = n, total
        xs = [_x(b, n) for b in BATCH_SIZES]
        with explorer_style():
            self.subplots_adjust(left=0.07, right=0.985, bottom=0.16, top=0.88, wspace=0.26)
            self.ax_lam, self.ax_acc = self.subplots(1, 2)
            for ax in (self.ax_lam, self.ax_acc):
                ax.set_xscale("log")
                ax.set_xticks(xs, [("full " if b == "full" else "") + f"{int(x)}"
                                   for b, x in zip(BATCH_SIZES, xs)])
                ax.minorticks_off()
                ax.set_xlim(xs[0] / 1.6, xs[-1] * 1.6)
                ax.set_xlabel("batch size B")
            for rho, colour in zip(RHOS, _RHO_COLOURS):
                lam = [grid[(b, rho)][0] for b in BATCH_SIZES]
                acc = [grid[(b, rho)][2] / total for b in BATCH_SIZES]
                label = "plain SGD" if rho == 0 else f"SAM rho {fmt_number(rho)}"
                self.ax_lam.plot(xs, lam, "o-", color=colour, label=label)
                self.ax_acc.plot(xs, acc, "o-", color=colour, label=label)
            lams = [v[0] for v in grid.values()]
            self.ax_lam.set_ylim(0, max(lams) * 1.45)
            self.ax_lam.set_ylabel("top Hessian eigenvalue")
            self.ax_lam.legend(loc="upper left", ncol=2)
            accs = [v[2] / total for v in grid.values()]
            self.ax_acc.set_ylim(max(0.0, min(accs) - 0.05), 1.0)
            self.ax_acc.set_ylabel("test accuracy")
            self.ax_acc.yaxis.set_major_formatter(ticker.PercentFormatter(1.0, decimals=0))
            self.ax_lam.set_title(" ")
            self.ax_acc.set_title(" ")
            ring = {"marker": "o", "markersize": 15, "markerfacecolor": "none",
                    "markeredgecolor": "black", "markeredgewidth": 2, "linestyle": "none",
                    "zorder": 6}
            (self.dot_lam,) = self.ax_lam.plot([], [], **ring)
            (self.dot_acc,) = self.ax_acc.plot([], [], **ring)
        self.moving += [self.dot_lam, self.dot_acc, self.ax_lam.title, self.ax_acc.title]

    def update(self, res: SharpnessResult) -> SharpnessFigure:
        """Show ``res``; returns the figure."""
        if res.error is not None:
            self.dot_lam.set_data([], [])
            self.dot_acc.set_data([], [])
            self.ax_lam.title.set_text("invalid setting")
            self.ax_lam.title.set_color(RED)
            self.ax_acc.title.set_text(res.error[:52])
            return self
        x = _x(res.batch_size, self.n)
        self.dot_lam.set_data([x], [res.lambda_max])
        self.dot_acc.set_data([x], [res.test_correct / res.test_total])
        ok = res.status == "trained"
        self.ax_lam.title.set_text(f"lambda_max = {res.lambda_max:.2f}"
                                   + ("" if ok else ": did not train"))
        self.ax_lam.title.set_color("black" if ok else RED)
        self.ax_acc.title.set_text(f"test accuracy {res.test_correct / res.test_total:.1%}")
        return self


def sharpness_figure(result: SharpnessResult) -> SharpnessFigure:
    """The sharpness explorer's picture of ``result`` (from :func:`sharpness_result`).

    Returns:
        A new ``matplotlib.figure.Figure`` (not registered with pyplot).
    """
    if not isinstance(result, SharpnessResult) or not result.grid:
        raise ValueError(f"expected a valid result of sharpness_result(), got {result!r:.80}")
    return SharpnessFigure(result.grid, result.n_train, result.test_total).update(result)


def sharpness_explorer(setup: SharpnessSetup, batch_size=64, rho: float = 0.0) -> Explorer:
    """Sliders for the batch size and SAM's rho; the whole grid is trained when built.

    Raises:
        ValueError: if a starting value is not on its slider.
    """
    first = sharpness_result(setup, batch_size, rho)       # trains the grid
    if first.error is not None:
        raise ValueError(first.error)
    controls = {
        "batch_size": choice_slider("batch size B", BATCH_SIZES, batch_size,
                                    fmt=lambda b: "full" if b == "full" else str(b)),
        "rho": choice_slider("SAM's rho", RHOS, float(rho), fmt=fmt_number),
    }
    return Explorer(
        "sharpness", "Sharpness explorer", controls,
        result=lambda v: sharpness_result(setup, v["batch_size"], v["rho"]),
        figure=lambda _res: SharpnessFigure(first.grid, setup.n, first.test_total),
        precompute=True)


# ------------------------------------------------------------------ noise at the saddle

#: Noise levels on the slider (standard deviation added to each gradient coordinate).
NOISES = (0.0, 1e-12, 1e-9, 1e-6, 1e-3, 1e-1)
SADDLE_LR, RADIUS, SADDLE_STEPS, RUNS = 0.1, 0.1, 300, 1000


@dataclass(frozen=True, eq=False)
class SaddleResult(Readout):
    """Gradient descent with noisy gradients on ``x^2 - y^2`` from (1, 0): 1,000 runs.

    Attributes:
        noise: the standard deviation sigma.
        near: steps each run spent within :data:`RADIUS` of the saddle, shape ``(RUNS,)``.
        escaped: runs farther than :data:`RADIUS` at the end.
        predicted: the estimated steps near the saddle (``inf`` without noise).
        distance: the distance to the saddle per step for the first 5 runs,
            shape ``(SADDLE_STEPS + 1, 5)``.
        status, error, lines: as the other explorers.
    """

    noise: float
    near: np.ndarray = field(repr=False)
    escaped: int
    predicted: float
    distance: np.ndarray = field(repr=False)
    status: str = "invalid setting"
    error: str | None = None
    lines: tuple[str, ...] = ()


def saddle_result(noise: float = 1e-6, *, seed: int = 0) -> SaddleResult:
    """Run :data:`RUNS` noisy gradient descents from (1, 0) on ``x^2 - y^2``, lr 0.1.

    The estimate: x falls by 0.8 per step and enters the disc of radius r after
    ``ln r / ln 0.8`` steps; y starts at about ``lr * sigma`` and grows by 1.2 per step, so it
    leaves after about ``ln(r / (lr sigma)) / ln 1.2`` steps; the difference is the time near
    the saddle (an order of magnitude: the noise keeps adding to y).
    """
    sigma = as_float(noise)
    if sigma is None or not math.isfinite(sigma) or sigma < 0:
        problem = f"noise must be a number >= 0, got {noise!r}"
        return SaddleResult(noise=math.nan, near=np.zeros(0), escaped=0, predicted=math.nan,
                            distance=np.zeros((1, 5)), error=problem, lines=(invalid_line(problem),))
    rng = np.random.default_rng(seed)
    p = np.zeros((RUNS, 2))
    p[:, 0] = 1.0
    dist = [np.linalg.norm(p[:5], axis=1)]
    near = np.zeros(RUNS, dtype=np.int64)
    with np.errstate(all="ignore"):
        for _ in range(SADDLE_STEPS):
            grad = np.stack([2 * p[:, 0], -2 * p[:, 1]], axis=1)
            if sigma > 0:
                grad = grad + sigma * rng.standard_normal(p.shape)
            p = p - SADDLE_LR * grad
            r = np.linalg.norm(p, axis=1)
            near += r < RADIUS
            dist.append(r[:5])
    escaped = int((np.linalg.norm(p, axis=1) > RADIUS).sum())
    enter = math.log(RADIUS) / math.log(1 - 2 * SADDLE_LR)
    predicted = (math.log(RADIUS / (SADDLE_LR * sigma)) / math.log(1 + 2 * SADDLE_LR) - enter
                 if sigma > 0 else math.inf)
    head = (f"noise {fmt_number(sigma)} on every gradient, lr {SADDLE_LR}, start (1, 0), "
            f"{RUNS:,} runs of {SADDLE_STEPS} steps")
    if sigma == 0:
        second = (f"no noise: every run converges to the saddle and stays "
                  f"({int(near[0])} of the last steps within {RADIUS}); escaped 0 of {RUNS:,}")
        status = "stuck"
    else:
        status = "escaped" if escaped == RUNS else "partly stuck"
        second = (f"steps within {RADIUS} of the saddle: mean {near.mean():.1f}, 90% within "
                  f"{np.quantile(near, 0.9):.0f}, max {near.max()}; estimate "
                  f"ln(r/(lr sigma))/ln 1.2 - ln r/ln 0.8 = {max(predicted, 0):.0f}; "
                  f"escaped {escaped:,} of {RUNS:,}")
    return SaddleResult(noise=sigma, near=near, escaped=escaped, predicted=predicted,
                        distance=np.array(dist), status=status, lines=(head, second))


class SaddleFigure(ExplorerFigure):
    """Distance to the saddle per step (five runs); steps near the saddle against the noise."""

    def __init__(self):
        super().__init__(figsize=FIGSIZE, dpi=DPI, layout="none")
        with explorer_style():
            self.subplots_adjust(left=0.07, right=0.985, bottom=0.16, top=0.88, wspace=0.26)
            self.ax_path, self.ax_near = self.subplots(1, 2)
            ax = self.ax_path
            ax.set_yscale("log")
            log_axis(ax.yaxis)
            ax.set_xlim(0, SADDLE_STEPS)
            ax.set_ylim(1e-30, 1e3)
            ax.axhline(RADIUS, color="black", linestyle="--", linewidth=1,
                       label=f"r = {RADIUS}")
            self.paths = [ax.plot([], [], color=BLUE, linewidth=1.3, alpha=0.8)[0]
                          for _ in range(5)]
            ax.set_xlabel("step")
            ax.set_ylabel("distance to the saddle")
            ax.legend(loc="lower right")
            ax.set_title(" ")
            ax = self.ax_near
            levels = [s for s in NOISES if s > 0]
            means = [saddle_result(s).near.mean() for s in levels]
            ax.set_xscale("log")
            log_axis(ax.xaxis)
            ax.plot(levels, means, "o-", color=GREY, label="measured (mean of 1,000)")
            enter = math.log(RADIUS) / math.log(1 - 2 * SADDLE_LR)
            grid = np.geomspace(levels[0], levels[-1], 50)
            est = np.log(RADIUS / (SADDLE_LR * grid)) / math.log(1 + 2 * SADDLE_LR) - enter
            ax.plot(grid, np.maximum(est, 0), "--", color=ORANGE, label="estimate")
            ax.set_ylim(0, SADDLE_STEPS)
            ax.set_xlabel("noise sigma")
            ax.set_ylabel(f"steps within {RADIUS} of the saddle")
            ax.legend(loc="upper right")
            ax.set_title(" ")
            (self.dot,) = ax.plot([], [], "o", markersize=14, markerfacecolor="none",
                                  markeredgecolor="black", markeredgewidth=2, zorder=6)
        self.moving += [*self.paths, self.dot, self.ax_path.title, self.ax_near.title]

    def update(self, res: SaddleResult) -> SaddleFigure:
        """Show ``res``; returns the figure."""
        if res.error is not None:
            for line in (*self.paths, self.dot):
                line.set_data([], [])
            self.ax_path.title.set_text("invalid setting")
            self.ax_path.title.set_color(RED)
            self.ax_near.title.set_text(res.error[:52])
            return self
        steps = np.arange(res.distance.shape[0])
        for j, line in enumerate(self.paths):
            line.set_data(steps, np.clip(res.distance[:, j], 1e-30, 1e30))
        stuck = res.noise == 0
        self.ax_path.title.set_text("no noise: converges to the saddle" if stuck
                                    else f"noise {fmt_number(res.noise)}: "
                                         f"{res.escaped:,} of {RUNS:,} escaped")
        self.ax_path.title.set_color(RED if stuck else "black")
        if stuck:
            self.dot.set_data([], [])
            self.ax_near.title.set_text("no noise: stuck for good (off the scale)")
        else:
            self.dot.set_data([res.noise], [res.near.mean()])
            self.ax_near.title.set_text(f"mean {res.near.mean():.1f} steps near the saddle")
        return self


def saddle_figure(result: SaddleResult) -> SaddleFigure:
    """The saddle explorer's picture of ``result`` (from :func:`saddle_result`)."""
    if not isinstance(result, SaddleResult):
        raise ValueError(f"expected a result of saddle_result(), got {result!r:.80}")
    return SaddleFigure().update(result)


def saddle_noise_explorer(noise: float = 1e-6) -> Explorer:
    """A slider over the gradient noise at the saddle (all six settings computed when built).

    Raises:
        ValueError: if ``noise`` is not on the slider.
    """
    controls = {"noise": choice_slider("gradient noise sigma", NOISES, noise, fmt=fmt_number)}
    return Explorer("saddle-noise", "Saddle-noise explorer", controls,
                    result=lambda v: saddle_result(v["noise"]),
                    figure=lambda _res: SaddleFigure(), precompute=True)
