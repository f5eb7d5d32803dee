"""Interactive explorers: drag a slider, watch an optimizer converge, crawl or blow up.

Each explorer is three layers, so that tests and static pages get the same pictures as a live
notebook:

* a **pure result function** (settings in, numbers out, never raises on odd settings):
  :func:`lr_result`, :func:`momentum_result`, :func:`adam_result`, each returning an
  :class:`ExplorerResult` (the path, the losses, ``diverged`` / ``diverged_at`` /
  ``converged_at``, and the readout lines);
* a **pure figure function** (result in, a new ``matplotlib.figure.Figure`` out; not managed by
  pyplot, so nothing is shown twice and no global state changes): :func:`lr_figure`,
  :func:`momentum_figure`, :func:`adam_figure`;
* a **widget function** returning an :class:`Explorer`: :func:`lr_explorer`,
  :func:`momentum_explorer`, :func:`adam_explorer`.

Example (in a notebook)::

    from course_lib.widgets import lr_explorer, lr_result

    lr_result(1.1).readout          # 'lr = 1.1 on f(w) = w²: ...\\ndiverged at step ...'
    lr_explorer(lr=0.1)             # sliders in Jupyter, a PNG on GitHub / nbviewer

The optimizers run are the course's own update functions (``course_lib.optim.sgd_update_`` and
``adam_update_``, the same numbers as ``torch.optim.SGD`` / ``Adam``, checked by the tests), on
a float32 point on ``device``; the gradient is the landscape's own formula differentiated
exactly (dual numbers, or autograd when the formula needs torch). A run counts as diverged when
the loss or the point stops being finite or a coordinate passes ``1e6`` (the rules of
:func:`course_lib.landscapes.run_optimizer`), or when the loss passes ``1e6`` times its starting
distance to the minimum (so that a steady blow-up such as lr = 1.1 on w² is caught within a
short run). The path then ends there, and the plots clip it to their window.

**Static fallback.** An :class:`Explorer` displays with a MIME bundle holding the live widget
view *and* a PNG of its current picture (plus one deterministic text/plain line, which nbval
compares). Checked in JupyterLab 4.6 / ipywidgets 8.1 in headless Chromium: a lesson opened as
stored (untrusted; the widget renderer is not "safe") shows the PNG; after running the cell it
shows only the live widget, never both. nbconvert (nbviewer) skips a widget view whose state is
not saved in the notebook (``make notebooks`` saves none) and renders the PNG. GitHub's renderer
was not tested. One case shows no picture: a notebook *saved from JupyterLab* is trusted, so
reopened without its kernel it shows ipywidgets' "Loading widget..." until the cell is re-run.
"""

from __future__ import annotations

import base64
import functools
import html
import io
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import ipywidgets as widgets
import matplotlib as mpl
import numpy as np
import PIL.Image
import torch
from matplotlib import ticker
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from course_lib.device import resolve_device
from course_lib.landscapes import LANDSCAPES, Landscape, steps_to_converge
from course_lib.optim import adam_update_, sgd_update_
from course_lib.plots import course_style, plot_landscape_contour

__all__ = [
    "ExplorerResult",
    "Explorer",
    "QUADRATIC",
    "lr_result",
    "lr_figure",
    "lr_explorer",
    "momentum_result",
    "momentum_figure",
    "momentum_explorer",
    "momentum_rate",
    "adam_result",
    "adam_figure",
    "adam_explorer",
    "figure_png",
]

#: Name of the 1-D problem f(w) = w² (curvature L = 2) of the learning-rate explorer.
QUADRATIC = "quadratic"
_QUAD_W0 = 5.0
_QUAD_CURVATURE = 2.0

#: A coordinate beyond this counts as divergence (the rule of ``run_optimizer``) ...
MAX_ABS = 1e6
#: ... and so does a loss that passes this many times its starting distance to the minimum.
BLOWUP = 1e6
#: "Converged" means loss - min <= this.
TOL = 1e-6
#: Loss values are drawn no lower than this on the log axis (an exact 0 would vanish).
_LOSS_FLOOR = 1e-16

#: Slider ranges (log10 of the learning rate).
_LR_EXP = (-4.0, 1.0)          # 1e-4 ... 10
_LR_EXP_STEP = 0.05            # each arrow-key press multiplies lr by 10**0.05 = 1.12
_BETA2_CHOICES = (0.0, 0.5, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999, 0.9999)

_DEFAULT_STEPS = {
    QUADRATIC: 50,
    "bowl": 60,
    "ravine": 150,
    "rosenbrock": 300,
    "beale": 300,
    "himmelblau": 200,
    "saddle": 100,
    "saddle_bounded": 150,
}

_FIGSIZE = (10.0, 3.4)
_DPI = 80
_RED = "#D55E00"
_BLUE = "#0072B2"
_ORANGE = "#E69F00"
_GREEN = "#009E73"


# ---------------------------------------------------------------------------------------------
# Problems: the 1-D quadratic or a 2-D landscape, with its curvature at the minimum
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Problem:
    key: str
    label: str
    landscape: Landscape | None  # None: the 1-D quadratic f(w) = w^2
    curvatures: tuple[float, ...]  # Hessian eigenvalues at the minimum (or saddle), ascending
    where: str  # "" for a quadratic (the curvature is the same everywhere), else "near the minimum"
    start: tuple[float, ...]
    f_min: float
    steps: int
    # (x, y) -> (f, df/dx, df/dy) in plain floats, when the landscape's formula allows it
    value_and_grad: Callable[[float, float], tuple[float, float, float]] | None = None

    @property
    def dims(self) -> int:
        return len(self.start)

    @property
    def largest_curvature(self) -> float:
        return max(self.curvatures) if self.curvatures else float("nan")


_QUADRATIC_PROBLEM = _Problem(
    key=QUADRATIC,
    label="f(w) = w²",
    landscape=None,
    curvatures=(_QUAD_CURVATURE,),
    where="",
    start=(_QUAD_W0,),
    f_min=0.0,
    steps=_DEFAULT_STEPS[QUADRATIC],
)

_QUADRATIC_NAMES = {"bowl", "ravine"}


@functools.lru_cache(maxsize=64)
def _landscape_problem(landscape: Landscape) -> _Problem:
    anchor = landscape.minima[0] if landscape.minima else (
        landscape.saddles[0] if landscape.saddles else None)
    curvatures: tuple[float, ...] = ()
    if anchor is not None:
        hess = landscape.hessian(anchor, device="cpu")
        curvatures = tuple(float(v) for v in torch.linalg.eigvalsh(hess))
    if landscape.name in _QUADRATIC_NAMES:
        where = ""
    else:
        where = "near the minimum" if landscape.minima else "near the saddle"
    label = landscape.name.replace("_", " ")
    value_and_grad = _dual_value_and_grad(landscape)
    if landscape.name == "ravine" and len(curvatures) == 2:
        label = f"ravine (κ = {curvatures[1] / curvatures[0]:.3g})"
    return _Problem(
        key=landscape.name,
        label=label,
        landscape=landscape,
        curvatures=curvatures,
        where=where,
        start=tuple(float(c) for c in landscape.start),
        f_min=float(landscape.f_min),
        steps=_DEFAULT_STEPS.get(landscape.name, 200),
        value_and_grad=value_and_grad,
    )


class _Dual:
    """A number and its partial derivatives in x and y: forward-mode differentiation.

    Evaluating a landscape's own formula on ``_Dual`` numbers gives its exact gradient in
    plain float64 arithmetic, about ten times faster per step than building an autograd graph
    for a two-number point. Only arithmetic is supported; a formula that calls a torch function
    raises ``TypeError`` here, and the runner then uses autograd.
    """

    __slots__ = ("v", "dx", "dy")

    def __init__(self, v: float, dx: float = 0.0, dy: float = 0.0):
        self.v, self.dx, self.dy = v, dx, dy

    @staticmethod
    def _lift(other) -> _Dual:
        if isinstance(other, _Dual):
            return other
        if isinstance(other, int | float) and not isinstance(other, bool):
            return _Dual(float(other))
        raise TypeError(f"unsupported operand for a dual number: {type(other).__name__}")

    def __add__(self, other):
        o = self._lift(other)
        return _Dual(self.v + o.v, self.dx + o.dx, self.dy + o.dy)

    __radd__ = __add__

    def __sub__(self, other):
        o = self._lift(other)
        return _Dual(self.v - o.v, self.dx - o.dx, self.dy - o.dy)

    def __rsub__(self, other):
        return self._lift(other).__sub__(self)

    def __neg__(self):
        return _Dual(-self.v, -self.dx, -self.dy)

    def __mul__(self, other):
        o = self._lift(other)
        return _Dual(self.v * o.v, self.dx * o.v + self.v * o.dx, self.dy * o.v + self.v * o.dy)

    __rmul__ = __mul__

    def __truediv__(self, other):
        o = self._lift(other)
        if o.dx or o.dy:
            return self * o ** -1
        return _Dual(_safe_div(self.v, o.v), _safe_div(self.dx, o.v), _safe_div(self.dy, o.v))

    def __pow__(self, k):
        if not isinstance(k, int | float) or isinstance(k, bool):
            raise TypeError("only constant powers of a dual number are supported")
        if isinstance(k, int) and 0 <= k <= 8:
            value, slope = 1.0, 0.0  # v**k and k*v**(k-1) by repeated products (no overflow error)
            for _ in range(k):
                value, slope = value * self.v, slope * self.v + value
        else:
            try:
                value, slope = self.v ** k, k * self.v ** (k - 1)
            except (OverflowError, ZeroDivisionError):
                value, slope = math.inf, math.inf
        return _Dual(value, slope * self.dx, slope * self.dy)


def _safe_div(a: float, b: float) -> float:
    try:
        return a / b
    except ZeroDivisionError:
        return math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a)


class _DualPoint:
    """Stands in for a ``(2,)`` tensor: ``p[..., 0]`` is x, ``p[..., 1]`` is y, as duals."""

    shape = (2,)

    def __init__(self, x: float, y: float):
        self._xy = (_Dual(x, 1.0, 0.0), _Dual(y, 0.0, 1.0))

    def __getitem__(self, index):
        i = index[-1] if isinstance(index, tuple) else index
        if i not in (0, 1):
            raise TypeError(f"unsupported index {index!r}")
        return self._xy[i]


def _dual_value_and_grad(landscape: Landscape):
    """``(x, y) -> (f, df/dx, df/dy)`` by dual numbers, if they reproduce autograd exactly.

    Checked at a few points against autograd in float64; ``None`` when the formula needs
    torch (the runner then uses autograd at every step).
    """
    fn = landscape.fn

    def value_and_grad(x: float, y: float) -> tuple[float, float, float]:
        out = fn(_DualPoint(x, y))
        if not isinstance(out, _Dual):
            raise TypeError("the landscape did not return a dual number")
        return out.v, out.dx, out.dy

    gen = torch.Generator().manual_seed(0)
    lo = torch.tensor([landscape.xlim[0], landscape.ylim[0]], dtype=torch.float64)
    hi = torch.tensor([landscape.xlim[1], landscape.ylim[1]], dtype=torch.float64)
    points = lo + (hi - lo) * torch.rand(6, 2, generator=gen, dtype=torch.float64)
    try:
        with np.errstate(all="ignore"):
            for point in points:
                x, y = (float(c) for c in point)
                f, gx, gy = value_and_grad(x, y)
                with torch.no_grad():
                    want_f = float(fn(point))
                want_g = landscape.grad(point, device="cpu")
                got = torch.tensor([f, gx, gy], dtype=torch.float64)
                want = torch.cat([torch.tensor([want_f], dtype=torch.float64), want_g])
                if not torch.allclose(got, want, rtol=1e-9, atol=1e-12):
                    return None
    except Exception:  # noqa: BLE001 - anything unusual: autograd at every step instead
        return None
    return value_and_grad


def _problem(spec: str | Landscape | _Problem, *, allow_1d: bool) -> _Problem:
    if isinstance(spec, _Problem):
        return spec
    if isinstance(spec, Landscape):
        return _landscape_problem(spec)
    if spec == QUADRATIC:
        if not allow_1d:
            raise ValueError(f"{QUADRATIC!r} (1-D) is only available in the learning-rate explorer")
        return _QUADRATIC_PROBLEM
    if isinstance(spec, str) and spec in LANDSCAPES:
        return _landscape_problem(LANDSCAPES[spec])
    names = ([QUADRATIC] if allow_1d else []) + sorted(LANDSCAPES)
    raise ValueError(f"unknown landscape {spec!r}; choose one of {names} or pass a Landscape")


def _steps_for(problem: _Problem, steps: int | None) -> int:
    if steps is None:
        return problem.steps
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 0:
        raise ValueError(f"steps must be a non-negative int, got {steps!r}")
    return steps


# ---------------------------------------------------------------------------------------------
# The result of one run
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ExplorerResult:
    """What one setting of an explorer did.

    Attributes:
        explorer: ``"lr"``, ``"momentum"`` or ``"adam"``.
        landscape: the problem's name (``"quadratic"`` for the 1-D ``f(w) = w²``).
        label: the problem's name for people (``"ravine (κ = 20)"``).
        settings: the hyperparameters, e.g. ``{"lr": 0.1}``, as floats (and ``nesterov``).
        path: the points visited, shape ``(k + 1, d)`` (``d`` = 1 or 2), all finite.
        losses: the loss at each point, shape ``(k + 1,)`` (the last may be ``inf``).
        steps: the number of steps asked for.
        diverged: whether the run blew up: a non-finite loss or point, ``|coordinate| > 1e6``,
            or a loss above ``1e6`` times its starting distance to the minimum.
        diverged_at: the step at which that was seen, else ``None``.
        converged_at: the first step with ``loss - f_min <= tol``, else ``None``.
        tol: the tolerance of ``converged_at``.
        f_min: the problem's minimum value.
        curvatures: the Hessian's eigenvalues at the minimum, ascending (for ``f(w) = w²``: 2).
        stable_below: the largest stable learning rate of the linearised method at these
            settings (``2/L`` for gradient descent), or ``None`` where there is no simple one.
        error: why the settings could not be run (e.g. ``beta1 = 1``), else ``None``.
        lines: the readout: line 1 names the settings, line 2 says what happened.
    """

    explorer: str
    landscape: str
    label: str
    settings: dict[str, Any]
    path: np.ndarray
    losses: np.ndarray
    steps: int
    diverged: bool
    diverged_at: int | None
    converged_at: int | None
    tol: float
    f_min: float
    curvatures: tuple[float, ...]
    stable_below: float | None
    error: str | None = None
    lines: tuple[str, ...] = field(default=())
    _source: _Problem | None = field(default=None, repr=False)

    @property
    def steps_run(self) -> int:
        """Steps actually taken (fewer than ``steps`` after a divergence)."""
        return max(len(self.path) - 1, 0) if self.error is None else 0

    @property
    def final_loss(self) -> float:
        """The loss at the last recorded point (``inf`` when it overflowed)."""
        return float(self.losses[-1]) if len(self.losses) else float("nan")

    @property
    def final_point(self) -> tuple[float, ...]:
        """The last recorded (finite) point."""
        return tuple(float(v) for v in self.path[-1]) if len(self.path) else ()

    @property
    def readout(self) -> str:
        """The readout lines joined by newlines."""
        return "\n".join(self.lines)


def _g(x: float) -> str:
    """A number for people: 3 significant digits, 'nan' / 'inf' spelt out."""
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.3g}"


def _status_line(res: ExplorerResult, why: str) -> str:
    if res.error is not None:
        return f"invalid setting: {res.error}"
    if res.diverged:
        return f"diverged at step {res.diverged_at}: {why}"
    tail = f"after {res.steps_run} steps the loss is {_g(res.final_loss)}"
    if res.converged_at is not None:
        return f"converged at step {res.converged_at} (loss - min < {res.tol:g}); {tail}"
    return f"not converged in {res.steps} steps (loss - min < {res.tol:g}); {tail}"


def _finish(res: ExplorerResult, first_line: str, why: str) -> ExplorerResult:
    return replace(res, lines=(first_line, _status_line(res, why)))


# ---------------------------------------------------------------------------------------------
# Running: the 1-D quadratic in closed form, 2-D landscapes with autograd + the course's updates
# ---------------------------------------------------------------------------------------------

_StepFn = Callable[[torch.Tensor, torch.Tensor, dict, int], None]


def _loss_limit(f_min: float, gap0: float) -> float:
    """The loss above which a run counts as blown up (inf when there is no finite scale)."""
    if math.isfinite(f_min) and math.isfinite(gap0) and gap0 > 0:
        return f_min + BLOWUP * gap0
    return math.inf


def _divergence(path: np.ndarray, losses: np.ndarray, f_min: float):
    """Cut a raw run at its first bad step.

    A step is bad when the point or the loss stops being finite, a coordinate passes
    ``MAX_ABS`` (the rule of ``run_optimizer``), or the loss passes ``BLOWUP`` times its
    starting distance to the minimum. Returns ``(path, losses, diverged_at, why)``; the
    returned ``path`` keeps only finite points.
    """
    with np.errstate(all="ignore"):
        finite_pt = np.isfinite(path).all(axis=1)
        big = np.zeros(len(path), dtype=bool)
        big[finite_pt] = np.abs(path[finite_pt]).max(axis=1) > MAX_ABS
        finite_loss = np.isfinite(losses)
        limit = _loss_limit(f_min, float(losses[0] - f_min)) if len(losses) else math.inf
        grown = finite_loss & (losses > limit)
    bad = ~finite_pt | ~finite_loss | big | grown
    if not bad.any():
        return path, losses, None, ""
    i = int(np.flatnonzero(bad)[0])
    if not finite_pt[i]:
        value = path[i][~np.isfinite(path[i])][0]
        why = "the point became NaN" if np.isnan(value) else "the point overflowed to inf"
        return path[:i], losses[:i], i, why
    if big[i]:
        coords = "|w|" if path.shape[1] == 1 else "a coordinate"
        why = f"{coords} passed {MAX_ABS:.0e}".replace("e+0", "e")
    elif not finite_loss[i]:
        why = "the loss became NaN" if np.isnan(losses[i]) else "the loss overflowed to inf"
    else:
        why = f"the loss passed {BLOWUP:.0e} times its starting value".replace("e+0", "e")
    return path[: i + 1], losses[: i + 1], i, why


def _run_quadratic(lr: float, steps: int, w0: float = _QUAD_W0):
    """Gradient descent on f(w) = w² in float64: w <- w - lr * 2w, stopped once it blows up."""
    limit = _loss_limit(0.0, w0 * w0)
    ws = [w0]
    w = w0
    for _ in range(steps):
        w = w - lr * (2.0 * w)
        ws.append(w)
        if not math.isfinite(w) or abs(w) > MAX_ABS or w * w > limit:
            break
    path = np.array(ws, dtype=np.float64).reshape(-1, 1)
    with np.errstate(all="ignore"):
        losses = path[:, 0] * path[:, 0]
    return path, losses


def _run_landscape(
    problem: _Problem,
    step: _StepFn,
    steps: int,
    device: str | torch.device | None,
    *,
    check_every: int = 25,
):
    """Run ``step`` (an in-place update ``step(p, g, state, t)``) from the problem's start.

    ``p`` is a float32 tensor on the device, as in a training loop. Its gradient comes from the
    landscape's formula evaluated on dual numbers (exact, float64, cheap) or else from autograd.
    Every ``check_every`` steps the run looks for a blow-up, so a diverged run stops early.
    """
    assert problem.landscape is not None
    fn = problem.landscape.fn
    dev = resolve_device(device)
    vg = problem.value_and_grad
    p = torch.tensor(problem.start, dtype=torch.float32, device=dev)
    if vg is None:
        p.requires_grad_(True)
    points: list = [p.detach().clone()]
    losses: list = []
    state: dict = {}
    limit = math.inf
    with np.errstate(all="ignore"):
        for t in range(1, steps + 1):
            if vg is None:
                loss = fn(p)
                (g,) = torch.autograd.grad(loss, p)
                losses.append(loss.detach())
            else:
                x, y = p.tolist()
                f, gx, gy = vg(x, y)
                g = torch.tensor((gx, gy), dtype=torch.float32, device=dev)
                losses.append(f)
            if t == 1:
                limit = _loss_limit(problem.f_min, float(losses[0]) - problem.f_min)
            with torch.no_grad():
                try:
                    step(p, g, state, t)
                except RuntimeError as exc:  # a step size too big for float32 (lr = 1e300)
                    if "overflow" not in str(exc):
                        raise
                    p.fill_(math.inf)
            points.append(p.detach().clone())
            if t % check_every == 0 and t < steps:
                last = torch.stack(points[-check_every:])
                recent = [float(v) for v in losses[-check_every:]]
                ok = bool(torch.isfinite(last).all() & (last.abs() <= MAX_ABS).all())
                if not (ok and all(math.isfinite(v) and v <= limit for v in recent)):
                    break
        with torch.no_grad():
            if vg is None:
                losses.append(fn(p.detach()))
            else:
                losses.append(vg(*p.tolist())[0])
    path = torch.stack(points).cpu().double().numpy()
    if vg is None:
        loss_arr = torch.stack(losses).cpu().double().numpy()
    else:
        loss_arr = np.array(losses, dtype=np.float64)
    return path, loss_arr


def _result(
    explorer: str,
    problem: _Problem,
    settings: dict[str, Any],
    steps: int,
    run: Callable[[], tuple[np.ndarray, np.ndarray]] | None,
    error: str | None,
    stable_below: float | None,
) -> tuple[ExplorerResult, str]:
    why = ""
    if error is None and run is not None:
        try:
            raw_path, raw_losses = run()
        except Exception as exc:  # noqa: BLE001 - a slider must never produce a traceback
            error = f"{type(exc).__name__}: {exc}"
    if error is not None:
        start = np.array([problem.start], dtype=np.float64)
        res = ExplorerResult(
            explorer=explorer, landscape=problem.key, label=problem.label, settings=settings,
            path=start, losses=np.array([np.nan]), steps=steps, diverged=False,
            diverged_at=None, converged_at=None, tol=TOL, f_min=problem.f_min,
            curvatures=problem.curvatures, stable_below=stable_below, error=error,
            _source=problem,
        )
        return res, why
    path, losses, diverged_at, why = _divergence(raw_path, raw_losses, problem.f_min)
    converged_at = None
    if math.isfinite(problem.f_min) and len(losses):
        converged_at = steps_to_converge(losses, problem.f_min, TOL)
    res = ExplorerResult(
        explorer=explorer, landscape=problem.key, label=problem.label, settings=settings,
        path=path, losses=losses, steps=steps, diverged=diverged_at is not None,
        diverged_at=diverged_at, converged_at=converged_at, tol=TOL, f_min=problem.f_min,
        curvatures=problem.curvatures, stable_below=stable_below, error=None,
        _source=problem,
    )
    return res, why


def _as_float(name: str, value: Any) -> tuple[float, str | None]:
    try:
        return float(value), None
    except (TypeError, ValueError):
        return float("nan"), f"{name} must be a number, got {value!r}"


# ---------------------------------------------------------------------------------------------
# 1. The learning rate
# ---------------------------------------------------------------------------------------------


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
    computed in float64 in closed form: each step multiplies :math:`w` by
    :math:`1 - \eta L` with :math:`L = f'' = 2`, so it converges exactly when
    :math:`0 < \eta < 2/L = 1`. On a 2-D landscape (``"bowl"``, ``"ravine"``, ``"rosenbrock"``, ...
    or a :class:`~course_lib.landscapes.Landscape`) it runs from the landscape's start.

    Never raises for any ``lr`` (0, 1e9, NaN, negative): a run that blows up comes back with
    ``diverged=True`` and the step it happened at.

    Args:
        lr: the learning rate :math:`\eta`.
        landscape: ``"quadratic"`` or a landscape name / object.
        steps: number of steps (default: per problem, 50 for the quadratic).
        device: where to run a 2-D landscape (default: the default device).

    Returns:
        An :class:`ExplorerResult`; ``stable_below`` is :math:`2/L` with :math:`L` the largest
        curvature (at the minimum, for a non-quadratic landscape).
    """
    problem = _problem(landscape, allow_1d=True)
    steps = _steps_for(problem, steps)
    lr_f, error = _as_float("lr", lr)
    L = problem.largest_curvature
    stable = 2.0 / L if L > 0 else None

    if problem.landscape is None:
        def run():
            return _run_quadratic(lr_f, steps)
    else:
        def step(p, g, state, t):
            sgd_update_(p, g, None, lr=lr_f)

        def run():
            return _run_landscape(problem, step, steps, device)

    res, why = _result("lr", problem, {"lr": lr_f}, steps, run, error, stable)
    with np.errstate(all="ignore"):
        factors = ", ".join(_g(1.0 - lr_f * lam) for lam in problem.curvatures)
    if problem.landscape is None:
        head = (f"lr = {_g(lr_f)} on {problem.label}: each step multiplies w by "
                f"1 - lr·L = {factors} (stable for lr < 2/L = {_g(stable)})")
    else:
        where = f" {problem.where}" if problem.where else ""
        limit = f"stable{where} for lr < 2/L = {_g(stable)}" if stable else "no stable lr"
        head = (f"lr = {_g(lr_f)} on {problem.label}: per-direction factors 1 - lr·λ = "
                f"{factors} ({limit})")
    return _finish(res, head, why)


# ---------------------------------------------------------------------------------------------
# 2. Momentum
# ---------------------------------------------------------------------------------------------


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


def _momentum_stable_below(momentum: float, L: float, nesterov: bool) -> float | None:
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
        An :class:`ExplorerResult`; ``stable_below`` is the largest stable lr at this momentum
        on the quadratic model (``2(1+μ)/L``; Nesterov ``2(1+μ)/((1+2μ)L)``).
    """
    problem = _problem(landscape, allow_1d=False)
    steps = _steps_for(problem, steps)
    lr_f, err1 = _as_float("lr", lr)
    mu, err2 = _as_float("momentum", momentum)
    nest = bool(nesterov)
    error = err1 or err2
    stable = _momentum_stable_below(mu, problem.largest_curvature, nest and mu != 0)

    def step(p, g, state, t):
        state["b"] = sgd_update_(p, g, state.get("b"), lr=lr_f, momentum=mu,
                                 nesterov=nest and mu != 0)

    def run():
        return _run_landscape(problem, step, steps, device)

    settings = {"lr": lr_f, "momentum": mu, "nesterov": nest}
    res, why = _result("momentum", problem, settings, steps, run, error, stable)
    kind = "Nesterov momentum" if nest else "momentum"
    where = f" {problem.where}" if problem.where else ""
    limit = f"stable{where} for lr < {_g(stable)}" if stable else "no stable lr at this momentum"
    head = f"lr = {_g(lr_f)}, {kind} = {_g(mu)} on {problem.label} ({limit})"
    return _finish(res, head, why)


# ---------------------------------------------------------------------------------------------
# 3. Adam
# ---------------------------------------------------------------------------------------------


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
    problem = _problem(landscape, allow_1d=False)
    steps = _steps_for(problem, steps)
    lr_f, err1 = _as_float("lr", lr)
    b1, err2 = _as_float("beta1", beta1)
    b2, err3 = _as_float("beta2", beta2)
    eps_f, err4 = _as_float("eps", eps)
    error = err1 or err2 or err3 or err4
    if error is None:
        for name, value in (("beta1", b1), ("beta2", b2)):
            if not 0.0 <= value < 1.0:
                error = f"{name} must be in [0, 1), got {_g(value)}"
                break
    if error is None and not eps_f >= 0.0:
        error = f"eps must be >= 0, got {_g(eps_f)}"

    def step(p, g, state, t):
        if "m" not in state:
            state["m"] = torch.zeros_like(p)
            state["v"] = torch.zeros_like(p)
        adam_update_(p, g, state["m"], state["v"], t=t, lr=lr_f, beta1=b1, beta2=b2, eps=eps_f)

    def run():
        return _run_landscape(problem, step, steps, device)

    settings = {"lr": lr_f, "beta1": b1, "beta2": b2, "eps": eps_f}
    res, why = _result("adam", problem, settings, steps, run, error, None)
    head = f"lr = {_g(lr_f)}, beta1 = {b1:.4g}, beta2 = {b2:.4g} on {problem.label}"
    return _finish(res, head, why)


# ---------------------------------------------------------------------------------------------
# Drawing: one painter per (explorer, problem) keeps its figure; paint(result) updates it
# ---------------------------------------------------------------------------------------------


class _ExplorerFigure(Figure):
    """A plain Figure that also knows how to show itself as a PNG in IPython.

    matplotlib's inline backend registers a PNG printer for figures only once it is loaded (by
    pyplot); a lesson that displays ``lr_figure(...)`` before any pyplot figure would otherwise
    get only ``<Figure size ...>``. When the printer is registered, it is used instead.
    """

    def _repr_png_(self) -> bytes:
        return figure_png(self)

    def __repr__(self) -> str:
        return super().__repr__().replace(type(self).__name__, "Figure", 1)


def _sci(v: float, _pos=None) -> str:
    """Tick labels like 1e-4 (plain text: faster to draw than mathtext)."""
    if v <= 0 or not math.isfinite(v):
        return ""
    e = math.log10(v)
    if abs(e - round(e)) < 1e-9:
        return "1" if round(e) == 0 else f"1e{int(round(e))}"
    return f"{v:g}"


def _log_axis(axis) -> None:
    axis.set_major_locator(ticker.LogLocator(base=10.0, numticks=6))
    axis.set_major_formatter(ticker.FuncFormatter(_sci))
    axis.set_minor_formatter(ticker.NullFormatter())


def _clip_to_window(pts: np.ndarray, xlim, ylim, margin: float = 0.25) -> np.ndarray:
    """Clip points to the window grown by ``margin`` windows, so a runaway path leaves the view
    in the right direction without giant coordinates reaching the renderer."""
    out = pts.astype(np.float64, copy=True)
    for j, (lo, hi) in enumerate((xlim, ylim)[: out.shape[1]]):
        w = abs(hi - lo)
        out[:, j] = np.clip(out[:, j], min(lo, hi) - margin * w, max(lo, hi) + margin * w)
    return out


class _Painter:
    """A three-panel figure for one explorer on one problem.

    Built once (contours, static curves, axes with fixed limits); :meth:`paint` moves the
    lines, markers and titles. Every axis has fixed limits, so :meth:`png` can blit: the static
    part is rendered once and each update draws only the moving artists on a copy of it.
    """

    def __init__(self, explorer: str, problem: _Problem, steps: int, *, nesterov: bool = False,
                 figsize=_FIGSIZE, dpi=_DPI):
        self.explorer = explorer
        self.problem = problem
        self.steps = steps
        self.dynamic: list = []
        self._canvas: FigureCanvasAgg | None = None
        self._background = None
        with course_style():
            fig = _ExplorerFigure(figsize=figsize, dpi=dpi, layout="none")
            right = 0.955 if explorer == "momentum" else 0.985
            fig.subplots_adjust(left=0.065, right=right, bottom=0.16, top=0.87, wspace=0.34)
            width_ratios = [1.15, 1.0, 1.15] if explorer == "momentum" else [1.15, 1.0, 1.0]
            self.ax_path, self.ax_loss, self.ax_third = fig.subplots(
                1, 3, gridspec_kw={"width_ratios": width_ratios})
            self.fig = fig
            self._build_path_panel()
            self._build_loss_panel()
            if explorer == "lr":
                self._build_stability_panel()
            elif explorer == "momentum":
                self._build_rate_panel(nesterov)
            else:
                self._build_stepsize_panel()
            for ax in (self.ax_path, self.ax_loss, self.ax_third):
                ax.title.set_fontsize(10)
                ax.title.set_fontweight("normal")
            self.dynamic += [self.ax_path.title, self.ax_loss.title]

    # --- panel 1: where the optimizer goes --------------------------------------------------
    def _build_path_panel(self) -> None:
        ax, prob = self.ax_path, self.problem
        if prob.landscape is None:
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
            if self.explorer != "lr":  # the lr explorer names it in the title
                ax.text(0.02, 0.03, prob.label, transform=ax.transAxes, fontsize=8.5,
                        ha="left", va="bottom", zorder=6,
                        bbox={"facecolor": "white", "alpha": 0.75, "edgecolor": "none",
                              "pad": 1.5})
        (self.path_line,) = ax.plot([], [], color=_BLUE, linewidth=1.4, marker=".",
                                    markersize=4, zorder=3)
        (self.start_marker,) = ax.plot(
            [start[0]], [start[1]], linestyle="none", marker="o", markersize=7,
            markerfacecolor="white", markeredgecolor=_BLUE, markeredgewidth=1.6, zorder=4)
        (self.end_marker,) = ax.plot([], [], linestyle="none", marker="s", markersize=7,
                                     color=_BLUE, markeredgecolor="black",
                                     markeredgewidth=0.6, zorder=5)
        self.dynamic += [self.path_line, self.start_marker, self.end_marker]

    def _paint_path(self, res: ExplorerResult) -> None:
        path = res.path
        if self.problem.landscape is None:
            with np.errstate(all="ignore"):
                pts = np.column_stack([path[:, 0], path[:, 0] ** 2])
        else:
            pts = path
        pts = _clip_to_window(pts, self.xlim, self.ylim)
        self.path_line.set_data(pts[:, 0], pts[:, 1])
        self.path_line.set_marker("." if len(pts) <= 120 else "")
        if len(pts) > 1 or res.diverged:
            self.end_marker.set_data(pts[-1:, 0], pts[-1:, 1])
            self.end_marker.set_marker("X" if res.diverged else "s")
            self.end_marker.set_color(_RED if res.diverged else _BLUE)
            self.end_marker.set_markeredgecolor("black")
        else:
            self.end_marker.set_data([], [])
        self.ax_path.title.set_text(self._path_title(res))

    def _path_title(self, res: ExplorerResult) -> str:
        s = res.settings
        if self.explorer == "lr":
            return f"{self.problem.label}: lr = {_g(s['lr'])}"
        if self.explorer == "momentum":
            kind = "Nesterov μ" if s["nesterov"] else "momentum μ"
            return f"lr = {_g(s['lr'])}, {kind} = {_g(s['momentum'])}"
        return f"lr = {_g(s['lr'])}, β1 = {s['beta1']:.4g}, β2 = {s['beta2']:.4g}"

    # --- panel 2: the loss per step -----------------------------------------------------------
    def _build_loss_panel(self) -> None:
        ax, prob = self.ax_loss, self.problem
        gap0 = self._initial_gap()
        self.loss_floor = 1e-14
        self.loss_top = gap0 * BLOWUP * 30.0
        ax.set_yscale("log")
        _log_axis(ax.yaxis)
        ax.set_ylim(self.loss_floor, self.loss_top)
        ax.set_xlim(0, max(self.steps, 1))
        ax.set_xlabel("step")
        ax.set_ylabel("loss - min" if prob.f_min != 0 else "loss")
        ax.axhline(TOL, color="0.55", linestyle=":", linewidth=1.0, zorder=1)
        ax.text(max(self.steps, 1), TOL * 1.6, "converged  ", color="0.45", fontsize=8,
                ha="right", va="bottom")
        ax.axhline(gap0 * BLOWUP, color=_RED, linestyle=":", linewidth=1.0, zorder=1, alpha=0.7)
        ax.text(max(self.steps, 1), gap0 * BLOWUP / 1.6, "diverged  ", color=_RED, fontsize=8,
                ha="right", va="top", alpha=0.8)
        (self.loss_line,) = ax.plot([], [], color=_BLUE, linewidth=1.6, zorder=3)
        (self.loss_blowup,) = ax.plot([], [], linestyle="none", marker="X", markersize=9,
                                      color=_RED, markeredgecolor="black",
                                      markeredgewidth=0.6, zorder=4)
        self.dynamic += [self.loss_line, self.loss_blowup]

    def _initial_gap(self) -> float:
        prob = self.problem
        if prob.landscape is None:
            f0 = prob.start[0] ** 2
        else:
            with torch.no_grad():
                f0 = float(prob.landscape.fn(torch.tensor(prob.start, dtype=torch.float64)))
        f_min = prob.f_min if math.isfinite(prob.f_min) else 0.0
        gap = f0 - f_min
        return gap if math.isfinite(gap) and gap > 0 else 1.0

    def _paint_loss(self, res: ExplorerResult) -> None:
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
            title, color = "invalid setting", _RED
        elif res.diverged:
            title, color = f"loss: diverged at step {res.diverged_at}", _RED
        elif res.converged_at is not None:
            title, color = f"loss: converged at step {res.converged_at}", "black"
        else:
            title, color = f"loss: not converged in {res.steps} steps", "black"
        self.ax_loss.title.set_text(title)
        self.ax_loss.title.set_color(color)

    # --- panel 3 (lr): the per-step factor |1 - lr*lambda| ------------------------------------
    def _build_stability_panel(self) -> None:
        ax, prob = self.ax_third, self.problem
        lrs = np.logspace(_LR_EXP[0], _LR_EXP[1], 400)
        self.factor_top = 2.5
        colors = [_GREEN, _ORANGE, _BLUE]
        lams = prob.curvatures
        for i, lam in enumerate(lams):
            name = "L" if len(lams) == 1 else ("λ min" if i == 0 else "λ max")
            ax.plot(lrs, np.minimum(np.abs(1.0 - lrs * lam), self.factor_top + 1),
                    color=colors[i % 3], linewidth=1.5, label=f"{name} = {_g(lam)}")
        ax.axhline(1.0, color="0.3", linewidth=0.9, linestyle="--")
        L = prob.largest_curvature
        if L > 0:
            ax.axvline(2.0 / L, color=_RED, linewidth=1.2, linestyle=":")
            ax.axvspan(2.0 / L, lrs[-1], color=_RED, alpha=0.08, linewidth=0)
            ax.text(2.0 / L * 1.15, 0.06, f"2/L = {_g(2.0 / L)}", color=_RED, fontsize=8.5,
                    va="bottom", ha="left", zorder=6,
                    bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none", "pad": 1})
        ax.set_xscale("log")
        _log_axis(ax.xaxis)
        ax.set_xlim(lrs[0], lrs[-1])
        ax.set_ylim(0, self.factor_top)
        ax.set_xlabel("learning rate")
        ax.set_ylabel("|1 - lr·λ|")
        where = f" ({self.problem.where})" if self.problem.where else ""
        ax.set_title(f"shrink factor per step{where}")
        ax.legend(loc="upper left", fontsize=8)
        self.lr_vline = ax.axvline(1.0, color=_BLUE, linewidth=1.0, alpha=0.7)
        (self.factor_dots,) = ax.plot([], [], linestyle="none", marker="o", markersize=6,
                                      color=_BLUE, markeredgecolor="black",
                                      markeredgewidth=0.5, zorder=5)
        self.dynamic += [self.lr_vline, self.factor_dots]

    def _paint_stability(self, res: ExplorerResult) -> None:
        lr = res.settings["lr"]
        if math.isfinite(lr) and lr > 0:
            x = min(max(lr, 10 ** _LR_EXP[0]), 10 ** _LR_EXP[1])
            ys = [min(abs(1.0 - lr * lam), self.factor_top * 0.98) for lam in res.curvatures]
            self.lr_vline.set_xdata([x, x])
            self.lr_vline.set_visible(True)
            self.factor_dots.set_data([x] * len(ys), ys)
        else:
            self.lr_vline.set_visible(False)
            self.factor_dots.set_data([], [])

    # --- panel 3 (momentum): predicted steps over (lr, momentum) ------------------------------
    def _build_rate_panel(self, nesterov: bool) -> None:
        ax, prob = self.ax_third, self.problem
        n_lr, n_mu = 121, 100
        exp_edges = np.linspace(_LR_EXP[0], 0.0, n_lr + 1)
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
        cbar = self.fig.colorbar(self.rate_mesh, ax=ax, pad=0.03, fraction=0.07)
        cbar.ax.yaxis.set_major_formatter(ticker.FuncFormatter(_sci))
        cbar.ax.yaxis.set_minor_formatter(ticker.NullFormatter())
        cbar.ax.tick_params(labelsize=8)
        ax.set_xscale("log")
        _log_axis(ax.xaxis)
        ax.set_xlim(lr_edges[0], lr_edges[-1])
        ax.set_ylim(0, 0.99)
        ax.set_xlabel("learning rate")
        ax.set_ylabel("momentum μ")
        ax.grid(False)
        ax.text(0.97, 0.5, "diverges", transform=ax.transAxes, rotation=90, fontsize=8.5,
                color="0.35", ha="right", va="center")
        where = f" ({prob.where})" if prob.where else ""
        ax.set_title(f"predicted steps to converge{where}")
        (self.rate_marker,) = ax.plot([], [], linestyle="none", marker="*", markersize=14,
                                      color="white", markeredgecolor="black", zorder=5)
        self.dynamic += [self.rate_marker]

    def _predicted_steps(self, nesterov: bool) -> np.ndarray:
        if nesterov not in self._rate_cache:
            eta, mu = np.meshgrid(self.rate_lrs, self.rate_mus)
            rho = np.zeros_like(eta)
            for lam in self.problem.curvatures:
                rho = np.maximum(rho, momentum_rate(eta, mu, lam, nesterov=nesterov))
            gap0 = self._initial_gap()
            with np.errstate(all="ignore"):
                need = np.log(TOL / gap0) / (2.0 * np.log(rho))  # loss shrinks like rho^(2t)
            need = np.where((rho < 1) & np.isfinite(need), np.maximum(need, 1.0), np.nan)
            self._rate_cache[nesterov] = np.ma.masked_invalid(need)
        return self._rate_cache[nesterov]

    def _paint_rate(self, res: ExplorerResult) -> None:
        nest = bool(res.settings["nesterov"]) and res.settings["momentum"] != 0
        if nest != self.rate_nesterov:
            self.rate_mesh.set_array(self._predicted_steps(nest))
            self.rate_nesterov = nest
            self._background = None  # the static picture changed
        lr, mu = res.settings["lr"], res.settings["momentum"]
        if math.isfinite(lr) and math.isfinite(mu) and lr > 0:
            x = min(max(lr, self.rate_lrs[0]), self.rate_lrs[-1])
            y = min(max(mu, 0.0), 0.985)
            self.rate_marker.set_data([x], [y])
        else:
            self.rate_marker.set_data([], [])

    # --- panel 3 (adam): how far each coordinate moves per step --------------------------------
    def _build_stepsize_panel(self) -> None:
        ax = self.ax_third
        self.step_floor, self.step_top = 1e-6, 30.0
        ax.set_yscale("log")
        _log_axis(ax.yaxis)
        ax.set_ylim(self.step_floor, self.step_top)
        ax.set_xlim(0, max(self.steps, 1))
        ax.set_xlabel("step")
        ax.set_ylabel("|step| per coordinate")
        (self.dx_line,) = ax.plot([], [], color=_BLUE, linewidth=1.2, label="|Δx|")
        (self.dy_line,) = ax.plot([], [], color=_ORANGE, linewidth=1.2, label="|Δy|")
        self.lr_hline = ax.axhline(1.0, color=_RED, linestyle="--", linewidth=1.1, label="lr")
        ax.legend(loc="upper right", fontsize=8, ncols=3)
        ax.set_title("step size per coordinate vs lr")
        self.dynamic += [self.dx_line, self.dy_line, self.lr_hline]

    def _paint_stepsize(self, res: ExplorerResult) -> None:
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

    # --- all of it --------------------------------------------------------------------------
    def paint(self, res: ExplorerResult) -> Figure:
        """Update every moving artist for ``res``; returns the figure."""
        self._paint_path(res)
        self._paint_loss(res)
        if self.explorer == "lr":
            self._paint_stability(res)
        elif self.explorer == "momentum":
            self._paint_rate(res)
        else:
            self._paint_stepsize(res)
        return self.fig

    def render(self, res: ExplorerResult) -> np.ndarray:
        """Paint ``res`` and return the picture as an RGB array, drawing only the moving
        artists (blitting).

        The painter then belongs to the caller that blits: its moving artists are marked
        animated, so a plain ``savefig`` of ``self.fig`` would leave them out.
        """
        self.paint(res)
        if self._canvas is None:
            self._canvas = FigureCanvasAgg(self.fig)
            for artist in self.dynamic:
                artist.set_animated(True)
        canvas = self._canvas
        if self._background is None:
            canvas.draw()  # the static part only: animated artists are skipped
            self._background = canvas.copy_from_bbox(self.fig.bbox)
        canvas.restore_region(self._background)
        renderer = canvas.get_renderer()
        for artist in sorted(self.dynamic, key=lambda a: a.get_zorder()):
            if artist.get_visible():
                artist.draw(renderer)
        return np.array(canvas.buffer_rgba())[..., :3]


def _encode_png(rgb: np.ndarray, *, small: bool = False) -> bytes:
    """PNG bytes of an RGB array: fast for live updates, or small (256 colours) to store."""
    image = PIL.Image.fromarray(np.ascontiguousarray(rgb))
    buf = io.BytesIO()
    if small:
        image.quantize(256).save(buf, format="png", optimize=True)
    else:
        image.save(buf, format="png", compress_level=1)
    return buf.getvalue()


def _painter_for(res: ExplorerResult) -> _Painter:
    problem = res._source
    if problem is None:  # a result built by hand: look the landscape up by name
        problem = _problem(res.landscape, allow_1d=res.explorer == "lr")
    nest = bool(res.settings.get("nesterov", False)) and res.settings.get("momentum", 0) != 0
    return _Painter(res.explorer, problem, res.steps, nesterov=nest)


def _check_kind(result: ExplorerResult, kind: str, producer: str) -> None:
    if not isinstance(result, ExplorerResult) or result.explorer != kind:
        raise ValueError(f"expected a result of {producer}(), got {result!r:.80}")


def lr_figure(result: ExplorerResult) -> Figure:
    """The learning-rate explorer's picture of ``result`` (from :func:`lr_result`).

    Three panels: the path (iterates on the parabola, or on the landscape's contours), the loss
    per step on a log axis (a red cross where it blew up), and the per-step shrink factor
    ``|1 - lr·λ|`` of every curvature λ against the learning rate, with ``2/L`` marked.

    Returns:
        A new ``matplotlib.figure.Figure`` (not registered with pyplot: display it, or
        ``fig.savefig(...)``).
    """
    _check_kind(result, "lr", "lr_result")
    return _painter_for(result).paint(result)


def momentum_figure(result: ExplorerResult) -> Figure:
    """The momentum explorer's picture of ``result`` (from :func:`momentum_result`).

    Path, loss per step, and a map of the steps to converge that :func:`momentum_rate`
    predicts over (learning rate, momentum) on the landscape's curvatures (grey where the
    method diverges), with the current setting as a star.

    Returns:
        A new ``matplotlib.figure.Figure`` (not registered with pyplot).
    """
    _check_kind(result, "momentum", "momentum_result")
    return _painter_for(result).paint(result)


def adam_figure(result: ExplorerResult) -> Figure:
    """The Adam explorer's picture of ``result`` (from :func:`adam_result`).

    Path, loss per step, and the size of each coordinate's step per step against ``lr``.

    Returns:
        A new ``matplotlib.figure.Figure`` (not registered with pyplot).
    """
    _check_kind(result, "adam", "adam_result")
    return _painter_for(result).paint(result)


def figure_png(fig: Figure, *, compress_level: int = 6) -> bytes:
    """Render ``fig`` to PNG bytes at its own dpi (deterministic: no date in the metadata)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=fig.dpi, metadata={"Software": None},
                pil_kwargs={"compress_level": compress_level})
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------
# The widget
# ---------------------------------------------------------------------------------------------


class Explorer(widgets.VBox):
    """A live explorer: controls, a readout, and a picture redrawn on every change.

    Built by :func:`lr_explorer`, :func:`momentum_explorer` and :func:`adam_explorer`. Set a
    control's ``.value`` (``explorer.controls["lr"].value = 0.5``) and the readout text and the
    image update, in a notebook or in a test.

    Attributes:
        controls: the control widgets by setting name (``"lr"``, ``"landscape"``, ...).
        readout: an ``HTML`` widget with the result's readout lines.
        image: an ``Image`` widget holding the current PNG.
        result: the current :class:`ExplorerResult`.
        error: the last update error (text), if an update ever failed; else ``None``.

    Displayed, it sends the live widget view, a PNG of the current picture and one line of
    text: JupyterLab shows the widget; static renderers (GitHub, nbviewer, an untrusted
    notebook) show the PNG.
    """

    def __init__(
        self,
        name: str,
        title: str,
        controls: Mapping[str, widgets.Widget],
        compute: Callable[..., ExplorerResult],
        problems: Mapping[str, _Problem],
        steps: int | None,
    ):
        self.explorer_name = name
        self.explorer_title = title
        self.controls = dict(controls)
        self._compute = compute
        self._problems = dict(problems)
        self._steps = steps
        self._painters: dict[tuple[str, int], _Painter] = {}
        self.readout = widgets.HTML(layout=widgets.Layout(margin="2px 0 2px 4px"))
        self.readout.add_class("course-readout")
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.image.add_class("course-plot")
        self.result: ExplorerResult | None = None
        self.error: str | None = None
        self._png = b""
        self._rgb: np.ndarray | None = None
        rows = [widgets.HBox(list(self.controls.values()),
                             layout=widgets.Layout(flex_flow="row wrap"))]
        super().__init__(rows + [self.readout, self.image])
        self.add_class("course-explorer")
        self.add_class(f"course-{name}-explorer")
        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        self.refresh()

    def values(self) -> dict[str, Any]:
        """The current control values by setting name."""
        return {k: c.value for k, c in self.controls.items()}

    def _on_change(self, _change=None) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Recompute and redraw for the current control values (never raises)."""
        try:
            values = self.values()
            key = values.pop("landscape")
            problem = self._problems[key]
            res = self._compute(landscape=problem.landscape or QUADRATIC, steps=self._steps,
                                **values)
            pkey = (key, res.steps)
            if pkey not in self._painters:
                self._painters[pkey] = _painter_for(res)
            rgb = self._painters[pkey].render(res)
            png = _encode_png(rgb)
        except Exception as exc:  # noqa: BLE001 - show the problem, never a traceback
            self.error = f"{type(exc).__name__}: {exc}"
            self.readout.value = (f"<div style='color:{_RED}'>could not update: "
                                  f"{html.escape(self.error)}</div>")
            return
        self.result = res
        self.error = None
        self._rgb = rgb
        self._png = png
        self.image.value = png
        lines = "".join(f"<div>{html.escape(line)}</div>" for line in res.lines)
        self.readout.value = f"<div style='font-family: monospace; font-size: 12px'>{lines}</div>"

    @property
    def png(self) -> bytes:
        """The current picture as PNG bytes."""
        return self._png

    def _plain_text(self) -> str:
        vals = self.values()
        settings = ", ".join(f"{k} = {_fmt_value(v)}" for k, v in vals.items())
        return f"{self.explorer_title} ({settings}). Run the notebook in Jupyter to use the controls."

    def _repr_mimebundle_(self, **kwargs):
        data = super()._repr_mimebundle_(**kwargs)
        data["text/plain"] = self._plain_text()
        if self._rgb is not None:
            small = _encode_png(self._rgb, small=True)
            data["image/png"] = base64.b64encode(small).decode("ascii")
        return data


def _fmt_value(v: Any) -> str:
    if isinstance(v, bool) or isinstance(v, str):
        return str(v)
    if isinstance(v, int | float):
        return _g(v)
    return str(v)


def _problem_options(specs: Sequence[str | Landscape], *, allow_1d: bool) -> dict[str, _Problem]:
    out: dict[str, _Problem] = {}
    for spec in specs:
        prob = _problem(spec, allow_1d=allow_1d)
        key = prob.key
        n = 2
        while key in out:
            key, n = f"{prob.key} ({n})", n + 1
        out[key] = prob
    if not out:
        raise ValueError("landscapes must name at least one problem")
    return out


def _landscape_dropdown(problems: Mapping[str, _Problem], initial: str) -> widgets.Dropdown:
    options = [(("1-D: " if p.landscape is None else "") + p.label, key)
               for key, p in problems.items()]
    return widgets.Dropdown(options=options, value=initial, description="landscape",
                            layout=widgets.Layout(width="260px"))


def _initial_key(problems: Mapping[str, _Problem], spec: str | Landscape) -> str:
    for key, prob in problems.items():
        if (isinstance(spec, Landscape) and prob.landscape is spec) or key == spec:
            return key
    raise ValueError(f"the initial landscape {spec!r} must be one of landscapes")


def _lr_slider(lr: float, *, max_exp: float = _LR_EXP[1]) -> widgets.FloatLogSlider:
    value = float(lr)
    lo, hi = 10 ** _LR_EXP[0], 10 ** max_exp
    if not lo <= value <= hi:
        raise ValueError(f"lr must be in [{lo:g}, {hi:g}] for the slider, got {lr!r}")
    return widgets.FloatLogSlider(
        value=value, base=10, min=_LR_EXP[0], max=max_exp, step=_LR_EXP_STEP,
        description="learning rate", readout_format=".3g", continuous_update=False,
        style={"description_width": "initial"}, layout=widgets.Layout(width="380px"))


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
    problems = _problem_options(landscapes, allow_1d=True)
    initial = _initial_key(problems, landscape)
    controls = {"landscape": _landscape_dropdown(problems, initial), "lr": _lr_slider(lr)}

    def compute(*, landscape, steps, lr):
        return lr_result(lr, landscape, steps=steps, device=device)

    return Explorer("lr", "Learning-rate explorer", controls, compute, problems, steps)


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
    problems = _problem_options(landscapes, allow_1d=False)
    initial = _initial_key(problems, landscape)
    mu = float(momentum)
    if not 0.0 <= mu <= 0.99:
        raise ValueError(f"momentum must be in [0, 0.99] for the slider, got {momentum!r}")
    controls = {
        "landscape": _landscape_dropdown(problems, initial),
        "lr": _lr_slider(lr, max_exp=0.0),
        "momentum": widgets.FloatSlider(
            value=mu, min=0.0, max=0.99, step=0.01, description="momentum",
            readout_format=".2f", continuous_update=False,
            layout=widgets.Layout(width="320px")),
        "nesterov": widgets.Checkbox(value=bool(nesterov), description="Nesterov",
                                     indent=False, layout=widgets.Layout(width="110px")),
    }

    def compute(*, landscape, steps, lr, momentum, nesterov):
        return momentum_result(lr, momentum, nesterov, landscape, steps=steps, device=device)

    return Explorer("momentum", "Momentum explorer", controls, compute, problems, steps)


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

    ``beta2`` is chosen from the values people use (0, 0.5, 0.9, 0.95, 0.98, 0.99, 0.995,
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
    problems = _problem_options(landscapes, allow_1d=False)
    initial = _initial_key(problems, landscape)
    b1 = float(beta1)
    if not 0.0 <= b1 <= 0.99:
        raise ValueError(f"beta1 must be in [0, 0.99] for the slider, got {beta1!r}")
    if float(beta2) not in _BETA2_CHOICES:
        raise ValueError(f"beta2 must be one of {_BETA2_CHOICES} for the slider, got {beta2!r}")
    controls = {
        "landscape": _landscape_dropdown(problems, initial),
        "lr": _lr_slider(lr, max_exp=0.0),
        "beta1": widgets.FloatSlider(
            value=b1, min=0.0, max=0.99, step=0.01, description="beta1", readout_format=".2f",
            continuous_update=False, layout=widgets.Layout(width="300px")),
        "beta2": widgets.SelectionSlider(
            options=[(f"{b:g}", b) for b in _BETA2_CHOICES], value=float(beta2),
            description="beta2", continuous_update=False,
            layout=widgets.Layout(width="300px")),
    }

    def compute(*, landscape, steps, lr, beta1, beta2):
        return adam_result(lr, beta1, beta2, landscape, steps=steps, device=device)

    return Explorer("adam", "Adam explorer", controls, compute, problems, steps)
