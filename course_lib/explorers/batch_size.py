"""The batch-size explorer (lesson 02): mini-batch gradient descent on a linear fit, B from 1 to N.

One slider, the batch size B. For each B the explorer shows, in numbers and in three panels:

* the path of mini-batch gradient descent on the loss's contours (shuffled epochs, as a data
  loader walks the data), next to the full-batch path;
* the distance to the minimum against the number of **examples used** (steps x B), so that
  "many cheap noisy steps" and "few exact ones" are compared at equal work;
* the **gradient-noise variance** at the minimum, measured over many batches drawn without
  replacement, against the law :math:`\\sigma^2/B \\cdot (N-B)/(N-1)`.

Example (in a notebook)::

    from course_lib.explorers.batch_size import batch_size_explorer, batch_size_result

    batch_size_result(16, z, y).readout
    batch_size_explorer(z, y, batch_size=16)      # a slider in Jupyter, a PNG elsewhere
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from course_lib.explorers.base import Readout, as_float, choice_slider, invalid_line
from course_lib.explorers.figures import (
    BLUE,
    DPI,
    FIGSIZE,
    GREY,
    ORANGE,
    RED,
    ExplorerFigure,
    clip_to_window,
    explorer_style,
    fmt_number,
    log_axis,
)
from course_lib.explorers.shell import Explorer

__all__ = [
    "LinearFit",
    "linear_fit",
    "minibatch_path",
    "noise_variance",
    "BatchSizeResult",
    "batch_size_result",
    "BatchSizeFigure",
    "batch_size_figure",
    "batch_size_explorer",
]

#: Batches drawn to measure the gradient-noise variance for one batch size.
NOISE_BATCHES = 400
#: A path coordinate beyond this counts as divergence.
_MAX_ABS = 1e12


@dataclass(frozen=True, eq=False)
class LinearFit:
    """The least-squares problem ``L(w, b) = mean((w z + b - y)^2)`` and what is known about it.

    Attributes:
        z, y: the feature and the targets, float64 tensors of shape ``(N,)`` on the CPU.
        theta_star: the minimiser ``(w*, b*)``.
        per_example: the per-example gradients at the minimiser, shape ``(N, 2)``.
        sigma2: their variance, the mean squared distance from their average.
        moments: ``(mean z², mean z, mean zy, mean y, mean y²)``: the loss is a quadratic in
            ``(w, b)`` that these five numbers pin down.
        variance_cache: :func:`noise_variance`'s measurements by (B, batches, seed): each is
            deterministic, so the explorer measures each batch size once.
    """

    z: torch.Tensor
    y: torch.Tensor
    theta_star: tuple[float, float]
    per_example: torch.Tensor = field(repr=False)
    sigma2: float
    moments: tuple[float, float, float, float, float]
    variance_cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def n(self) -> int:
        """The number of examples N."""
        return len(self.z)

    @property
    def lambda_max(self) -> float:
        """The largest eigenvalue of the loss's Hessian ``2 [[mean z², mean z], [mean z, 1]]``."""
        zz, zm = self.moments[0], self.moments[1]
        return (zz + 1) + math.sqrt((zz - 1) ** 2 + 4 * zm * zm)

    def loss(self, w, b):
        """The loss at ``(w, b)`` (arrays broadcast), from the five moments."""
        zz, zm, zy, ym, yy = self.moments
        return w * w * zz + 2 * w * b * zm + b * b - 2 * w * zy - 2 * b * ym + yy


def linear_fit(z: torch.Tensor, y: torch.Tensor) -> LinearFit:
    """The :class:`LinearFit` of ``y ≈ w z + b`` (solved exactly, in float64).

    Raises:
        ValueError: if ``z`` and ``y`` are not 1-D of the same length >= 2, or not finite.
    """
    z = torch.as_tensor(z).detach().to("cpu", torch.float64).flatten()
    y = torch.as_tensor(y).detach().to("cpu", torch.float64).flatten()
    if len(z) != len(y) or len(z) < 2:
        raise ValueError(f"z and y must have the same length >= 2, got {len(z)} and {len(y)}")
    if not (torch.isfinite(z).all() and torch.isfinite(y).all()):
        raise ValueError("z and y must be finite")
    design = torch.stack([z, torch.ones_like(z)], dim=1)
    theta = torch.linalg.lstsq(design, y[:, None]).solution[:, 0]
    r = theta[0] * z + theta[1] - y
    per_example = torch.stack([2 * r * z, 2 * r], dim=1)
    full = per_example.mean(dim=0)
    sigma2 = ((per_example - full) ** 2).sum(dim=1).mean().item()
    moments = tuple(t.mean().item() for t in (z * z, z, z * y, y, y * y))
    return LinearFit(z=z, y=y, theta_star=(theta[0].item(), theta[1].item()),
                     per_example=per_example, sigma2=sigma2, moments=moments)


def minibatch_path(z: torch.Tensor, y: torch.Tensor, batch_size: int, lr: float, steps: int,
                   seed: int = 0) -> np.ndarray:
    """Mini-batch gradient descent on ``mean((w z + b - y)^2)`` from ``(0, 0)``: the path.

    Each epoch shuffles the data (``torch.randperm`` with a generator seeded ``seed``) and
    walks through it in slices of ``batch_size``; a slice that would run past the end starts a
    new epoch. Lesson 02's ``minibatch_gd`` step for step (the arithmetic in numpy float64,
    which is faster for two numbers than torch). Returns shape ``(k + 1, 2)``, ``k <= steps``
    (shorter when the run blows up).
    """
    gen = torch.Generator().manual_seed(seed)
    zs, ys = np.asarray(z, dtype=np.float64), np.asarray(y, dtype=np.float64)
    w = b = 0.0
    path = [(w, b)]
    order, pos = torch.randperm(len(zs), generator=gen).numpy(), 0
    with np.errstate(all="ignore"):
        for _ in range(steps):
            if pos + batch_size > len(zs):
                order, pos = torch.randperm(len(zs), generator=gen).numpy(), 0
            idx = order[pos:pos + batch_size]
            pos += batch_size
            zb = zs[idx]
            r = w * zb + b - ys[idx]
            w, b = w - lr * 2 * (r * zb).mean(), b - lr * 2 * r.mean()
            path.append((w, b))
            if not (math.isfinite(w) and math.isfinite(b)) or max(abs(w), abs(b)) > _MAX_ABS:
                break
    return np.array(path)


def noise_variance(fit: LinearFit, batch_size: int, *, batches: int = NOISE_BATCHES,
                   seed: int = 0) -> float:
    """The variance of the mini-batch gradient at the minimum, measured.

    ``batches`` batches of ``batch_size`` distinct examples (no repeats within a batch, as in a
    shuffled epoch); the variance is the mean squared distance of their gradients from the full
    gradient. (A batch of more than half the data is drawn as the examples it leaves out: the
    same distribution, half the work.)
    """
    key = (int(batch_size), batches, seed)
    if key in fit.variance_cache:
        return fit.variance_cache[key]
    gen = torch.Generator().manual_seed(seed)
    n, b = fit.n, int(batch_size)
    full = fit.per_example.mean(dim=0)
    if b == n:
        return 0.0
    keys = torch.rand(batches, n, generator=gen)
    k = min(b, n - b)
    idx = keys.topk(k, dim=1, sorted=False).indices
    picked = fit.per_example[idx].sum(dim=1)
    total = fit.per_example.sum(dim=0)
    estimate = (picked if k == b else total - picked) / b
    fit.variance_cache[key] = ((estimate - full) ** 2).sum(dim=1).mean().item()
    return fit.variance_cache[key]


def _fit_of(z, y) -> LinearFit:
    return z if isinstance(z, LinearFit) else linear_fit(z, y)


@dataclass(frozen=True, eq=False)
class BatchSizeResult(Readout):
    """What mini-batch gradient descent with one batch size did.

    Attributes:
        batch_size: B.
        n: N, the number of examples.
        lr, steps, seed: the run's settings.
        path: the points visited, shape ``(k + 1, 2)`` (all finite).
        full_path: the full-batch path (B = N) with the same settings, for comparison.
        theta_star: the minimum.
        examples_used: ``steps * B`` (the work, in examples).
        wander: mean distance from the minimum over the last 50 steps.
        sigma2: the per-example gradient variance at the minimum.
        variance: the mini-batch gradient variance at the minimum, measured.
        variance_law: :math:`\\sigma^2/B \\cdot (N-B)/(N-1)`.
        diverged_at: the step at which the run blew up, else ``None``.
        error: why the settings could not be run, else ``None``.
        lines: the readout.
    """

    batch_size: int
    n: int
    lr: float
    steps: int
    seed: int
    path: np.ndarray = field(repr=False)
    full_path: np.ndarray = field(repr=False)
    theta_star: tuple[float, float]
    examples_used: int
    wander: float
    sigma2: float
    variance: float
    variance_law: float
    diverged_at: int | None = None
    error: str | None = None
    lines: tuple[str, ...] = ()
    fit: LinearFit | None = field(default=None, repr=False)


def _kept(path: np.ndarray) -> np.ndarray:
    """The points of ``path`` before it blew up (finite, no coordinate beyond 1e12)."""
    ok = np.isfinite(path).all(axis=1) & (np.abs(path).max(axis=1) <= _MAX_ABS)
    return path if ok.all() else path[:int(np.argmin(ok))]


def _distances(path: np.ndarray, theta_star) -> np.ndarray:
    return np.linalg.norm(path - np.asarray(theta_star)[None, :], axis=1)


def batch_size_result(batch_size: int, z, y=None, *, lr: float = 0.05, steps: int = 150,
                      seed: int = 0) -> BatchSizeResult:
    """Run mini-batch gradient descent with batch size ``batch_size`` and measure its noise.

    Args:
        batch_size: B, an int from 1 to N.
        z, y: the feature and the targets (or a :class:`LinearFit` as ``z``, ``y`` omitted).
        lr: the learning rate (the loss's Hessian is ``2 [[mean z², mean z], [mean z, 1]]``;
            with a standardised feature it is ``2I``, stable for lr < 1).
        steps: steps per run.
        seed: seed of the shuffles (and of the batches that measure the variance).

    Returns:
        A :class:`BatchSizeResult`. A batch size that is not an int in [1, N] gives a result
        whose ``error`` says so; a run that blows up is reported as diverged.
    """
    fit = _fit_of(z, y)
    n = fit.n
    lr_f = as_float(lr)
    problem = None
    if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer):
        problem = f"batch size must be an int from 1 to {n}, got {batch_size!r}"
    elif not 1 <= int(batch_size) <= n:
        problem = f"batch size must be from 1 to {n}, got {batch_size}"
    elif not isinstance(steps, int) or steps < 50:
        problem = f"steps must be an int >= 50, got {steps!r}"
    elif lr_f is None or not (math.isfinite(lr_f) and lr_f > 0):
        problem = f"lr must be a positive number, got {lr!r}"
    full_path = _kept(minibatch_path(fit.z, fit.y, n, lr_f, steps, seed)) if problem is None \
        else np.zeros((1, 2))
    if problem is not None:
        nothing = np.zeros((1, 2))
        return BatchSizeResult(
            batch_size=batch_size if isinstance(batch_size, int) else 0, n=n,
            lr=math.nan if lr_f is None else lr_f,
            steps=steps if isinstance(steps, int) else 0, seed=seed, path=nothing,
            full_path=full_path, theta_star=fit.theta_star, examples_used=0, wander=math.nan,
            sigma2=fit.sigma2, variance=math.nan,
            variance_law=math.nan, error=problem, lines=(invalid_line(problem),), fit=fit)
    b = int(batch_size)
    path = minibatch_path(fit.z, fit.y, b, lr_f, steps, seed)
    kept = _kept(path)
    diverged_at = None if len(kept) == len(path) else len(kept)
    path = kept
    law = fit.sigma2 / b * (n - b) / (n - 1)
    measured = noise_variance(fit, b, seed=seed)
    dist = _distances(path, fit.theta_star)
    wander = float(dist[-50:].mean()) if diverged_at is None else math.nan
    passes = steps * b / n
    head = (f"B = {b:,} of N = {n:,}: {steps} steps use {steps * b:,} examples "
            f"({passes:.3g} passes over the data)")
    if diverged_at is not None:
        second = (f"diverged at step {diverged_at}: lr = {fmt_number(lr_f)} (full-batch limit "
                  f"2/λ_max = {fmt_number(2 / fit.lambda_max)})")
    else:
        second = (f"mean distance from the minimum over the last 50 steps {wander:.3g} "
                  f"(full batch: {_distances(full_path, fit.theta_star)[-50:].mean():.3g})")
    third = (f"gradient-noise variance at the minimum: measured {_plain(measured)}, law "
             f"σ²/B·(N-B)/(N-1) = {_plain(law)} (σ²/B = {_plain(fit.sigma2 / b)}, "
             f"σ² = {_plain(fit.sigma2)})")
    return BatchSizeResult(
        batch_size=b, n=n, lr=lr_f, steps=steps, seed=seed, path=path, full_path=full_path,
        theta_star=fit.theta_star, examples_used=steps * b, wander=wander, sigma2=fit.sigma2,
        variance=measured, variance_law=law,
        diverged_at=diverged_at, lines=(head, second, third), fit=fit)


class BatchSizeFigure(ExplorerFigure):
    """Path on the contours; distance to the minimum against examples used; noise against B."""

    def __init__(self, fit: LinearFit, steps: int, lr: float, batch_sizes, seed: int = 0):
        super().__init__(figsize=FIGSIZE, dpi=DPI, layout="none")
        self.fit = fit
        n = fit.n
        ws, bs = fit.theta_star
        with explorer_style():
            self.subplots_adjust(left=0.06, right=0.985, bottom=0.16, top=0.88, wspace=0.34)
            self.ax_path, self.ax_dist, self.ax_var = self.subplots(
                1, 3, gridspec_kw={"width_ratios": [1.0, 1.1, 1.1]})
            # panel 1: the walk near the minimum on the loss's contours, full batch in grey;
            # the window is 3x the rms wander of single-example steps with independent batches
            # (a quadratic with Hessian 2I: E|d|^2 = lr v / (4 (1 - lr)))
            half = 3 * math.sqrt(lr * fit.sigma2 / (4 * (1 - lr))) if 0 < lr < 1 else 10.0
            self.xlim, self.ylim = (ws - half, ws + half), (bs - half, bs + half)
            gx, gy = np.meshgrid(np.linspace(*self.xlim, 160), np.linspace(*self.ylim, 160))
            gap = fit.loss(gx, gy) - fit.loss(ws, bs)
            levels = np.geomspace(max(gap.max() * 1e-3, 1e-12), gap.max(), 12)
            self.ax_path.contourf(gx, gy, gap, levels=levels, cmap="bone", alpha=0.25,
                                  norm=_log_norm(levels))
            self.ax_path.contour(gx, gy, gap, levels=levels, colors="0.35", linewidths=0.5,
                                 alpha=0.6)
            full = _kept(minibatch_path(fit.z, fit.y, n, lr, steps, seed))
            shown = clip_to_window(full, self.xlim, self.ylim)
            self.ax_path.plot(shown[:, 0], shown[:, 1], color=GREY, linewidth=2.2,
                              label="full batch")
            (self.star,) = self.ax_path.plot([ws], [bs], "*", color="white",
                                             markeredgecolor="black", markersize=14, zorder=6)
            self.ax_path.set_xlim(*self.xlim)
            self.ax_path.set_ylim(*self.ylim)
            self.ax_path.set_aspect("equal", adjustable="box")
            self.ax_path.set_xlabel("w")
            self.ax_path.set_ylabel("b")
            self.ax_path.grid(False)
            (self.path_line,) = self.ax_path.plot([], [], color=BLUE, linewidth=1.0, zorder=4)
            self.ax_path.legend(loc="lower right")
            self.ax_path.set_title(" ")
            # panel 2: distance to the minimum against the examples used
            ax = self.ax_dist
            d_full = np.maximum(_distances(full, fit.theta_star), 1e-6)
            ax.plot(np.arange(1, len(d_full)) * n, d_full[1:], color=GREY,
                    linewidth=2.2, label="full batch")
            (self.dist_line,) = ax.plot([], [], color=BLUE, linewidth=1.3, label="this B")
            ax.set_xscale("log")
            ax.set_yscale("log")
            log_axis(ax.xaxis)
            log_axis(ax.yaxis)
            ax.set_xlim(1, steps * n)
            if d_full[-1] < d_full[0]:
                ax.set_ylim(max(1e-3, 0.3 * d_full[-1]), 2 * d_full[0])
            else:  # the full batch diverged too: show the blow-up
                ax.set_ylim(1e-3 * d_full[0], 2 * d_full.max())
            ax.set_xlabel("examples used (steps × B)")
            ax.set_ylabel("distance to the minimum")
            ax.legend(loc="lower left")
            ax.set_title(" ")
            # panel 3: the gradient-noise variance against B
            ax = self.ax_var
            bgrid = np.unique(np.geomspace(1, n, 200).round().astype(int))
            law = fit.sigma2 / bgrid * (n - bgrid) / (n - 1)
            ax.plot(bgrid, fit.sigma2 / bgrid, color=GREY, linewidth=1.5, label="σ²/B")
            ax.plot(bgrid[:-1], law[:-1], color=ORANGE, linestyle="--", linewidth=1.5,
                    label="σ²/B · (N-B)/(N-1)")
            shown = [b for b in batch_sizes if b < n]
            measured = [noise_variance(fit, b, seed=seed) for b in shown]
            ax.plot(shown, measured, "o", color=BLUE, alpha=0.35, markersize=6,
                    label="measured")
            (self.var_dot,) = ax.plot([], [], "o", color=BLUE, markersize=10,
                                      markeredgecolor="black", zorder=5)
            ax.set_xscale("log")
            ax.set_yscale("log")
            log_axis(ax.xaxis)
            log_axis(ax.yaxis)
            ax.set_xlim(0.8, n * 1.25)
            self.var_floor = fit.sigma2 / n ** 2
            ax.set_ylim(self.var_floor, fit.sigma2 * 3)
            ax.set_xlabel("batch size B")
            ax.set_ylabel("gradient variance at the minimum")
            ax.legend(loc="lower left")
            ax.set_title(" ")
        # the minimum's star is redrawn over the path (blitting draws moving artists last)
        self.moving += [self.path_line, self.star, self.ax_path.title, self.dist_line,
                        self.ax_dist.title, self.var_dot, self.ax_var.title]

    def update(self, res: BatchSizeResult) -> BatchSizeFigure:
        """Show ``res``; returns the figure."""
        if res.error is not None:
            for line in (self.path_line, self.dist_line, self.var_dot):
                line.set_data([], [])
            self.ax_path.title.set_text("invalid setting")
            self.ax_path.title.set_color(RED)
            self.ax_dist.title.set_text(res.error[:48])
            self.ax_var.title.set_text(" ")
            return self
        pts = clip_to_window(res.path, self.xlim, self.ylim)
        self.path_line.set_data(pts[:, 0], pts[:, 1])
        self.path_line.set_linewidth(0.8 if res.batch_size < 8 else 1.3)
        title = f"B = {res.batch_size:,}: near the minimum"
        self.ax_path.title.set_text(title if res.diverged_at is None
                                    else f"B = {res.batch_size:,}: diverged")
        self.ax_path.title.set_color("black" if res.diverged_at is None else RED)
        d = np.maximum(_distances(res.path, res.theta_star), 1e-6)
        self.dist_line.set_data(np.arange(1, len(d)) * res.batch_size, d[1:])
        self.ax_dist.title.set_text(f"{res.examples_used:,} examples used")
        v = res.variance if res.batch_size < res.n else self.var_floor
        self.var_dot.set_data([res.batch_size], [max(v, self.var_floor)])
        self.ax_var.title.set_text(f"variance {_plain(res.variance)} (law {_plain(res.variance_law)})")
        return self


def _plain(x: float) -> str:
    """3 significant digits without an exponent down to 0.01 (``5,114``, ``79.5``)."""
    if x == 0 or not math.isfinite(x):
        return fmt_number(x)
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.3g}" if abs(x) >= 0.01 else f"{x:.1e}"


def _log_norm(levels):
    import matplotlib as mpl

    return mpl.colors.LogNorm(vmin=levels[0], vmax=levels[-1])


def batch_size_figure(result: BatchSizeResult) -> BatchSizeFigure:
    """The batch-size explorer's picture of ``result`` (from :func:`batch_size_result`).

    Returns:
        A new ``matplotlib.figure.Figure`` (not registered with pyplot).
    """
    if not isinstance(result, BatchSizeResult) or result.fit is None:
        raise ValueError(f"expected a result of batch_size_result(), got {result!r:.80}")
    lr, steps = result.lr, result.steps
    if not (math.isfinite(lr) and lr > 0) or steps < 50:  # an invalid setting: the default view
        lr, steps = 0.05, 150
    return BatchSizeFigure(result.fit, steps, lr, _batch_choices(result.n),
                           result.seed).update(result)


def _batch_choices(n: int) -> list[int]:
    powers = [2 ** k for k in range(int(math.log2(n)) + 1) if 2 ** k < n]
    return powers + [n]


def batch_size_explorer(z, y, batch_size: int = 16, *, lr: float = 0.05, steps: int = 150,
                        seed: int = 0) -> Explorer:
    """A batch-size slider (1, 2, 4, ... and the full batch N) on mini-batch gradient descent.

    Every batch size on the slider is run when the explorer is built (a dozen runs of
    ``steps`` steps, well under a second for N = 1,000); a slider move only draws.

    Args:
        z, y: the feature and the targets of the linear fit.
        batch_size: the starting batch size (a power of two below N, or N).
        lr, steps, seed: the runs' settings (see :func:`batch_size_result`).

    Raises:
        ValueError: if ``batch_size`` is not on the slider.
    """
    fit = linear_fit(z, y)
    choices = _batch_choices(fit.n)
    controls = {"batch_size": choice_slider("batch size B", choices, batch_size,
                                            fmt=lambda b: f"{b:,}")}
    return Explorer(
        "batch-size", "Batch-size explorer", controls,
        result=lambda v: batch_size_result(v["batch_size"], fit, lr=lr, steps=steps, seed=seed),
        figure=lambda _res: BatchSizeFigure(fit, steps, lr, choices, seed), precompute=True)
