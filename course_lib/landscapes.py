"""Two-dimensional loss landscapes to watch optimizers on, and a runner that never crashes.

Every function here takes a tensor whose last dimension holds the two coordinates, shape
``(..., 2)``, and returns the loss with shape ``(...)``. So one function serves both uses::

    f(torch.tensor([1.0, 2.0], requires_grad=True))   # one point, for autograd
    f(grid)                                           # a (200, 200, 2) grid, for a contour plot

Each :class:`Landscape` bundles a function with what a lesson needs to know about it: where
its minima are, the minimum value, a plotting window and a conventional starting point.
:func:`run_optimizer` runs any ``torch.optim.Optimizer`` (torch's or ``course_lib.optim``'s) on
a landscape and records the path; when a setting makes it blow up it reports ``diverged``
instead of raising, so a slider can be dragged anywhere.

Example::

    import torch
    from course_lib.landscapes import get_landscape, run_optimizer

    rosen = get_landscape("rosenbrock")
    run = run_optimizer(rosen, lambda params: torch.optim.Adam(params, lr=0.05), steps=500)
    run["path"][-1], run["diverged"]
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from course_lib.device import resolve_device

__all__ = [
    "Landscape",
    "bowl",
    "ravine",
    "rosenbrock",
    "beale",
    "saddle",
    "saddle_bounded",
    "himmelblau",
    "ValueAndGrad",
    "ravine_value_and_grad",
    "bowl_value_and_grad",
    "rosenbrock_value_and_grad",
    "beale_value_and_grad",
    "saddle_value_and_grad",
    "saddle_bounded_value_and_grad",
    "himmelblau_value_and_grad",
    "make_ravine",
    "make_rosenbrock",
    "LANDSCAPES",
    "get_landscape",
    "evaluate_on_grid",
    "run_optimizer",
    "DIVERGENCE_REASONS",
    "steps_to_converge",
]

Point = tuple[float, float]


def _xy(p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if p.shape[-1] != 2:
        raise ValueError(f"expected a tensor of shape (..., 2), got {tuple(p.shape)}")
    return p[..., 0], p[..., 1]


# ---------------------------------------------------------------------------------------------
# The functions
# ---------------------------------------------------------------------------------------------


def ravine(p: torch.Tensor, kappa: float = 20.0, angle: float = 0.0) -> torch.Tensor:
    r"""An ill-conditioned quadratic: a long, narrow valley.

    .. math::

        f(x, y) = \tfrac12 \left(u^2 + \kappa v^2\right), \qquad
        \begin{pmatrix} u \\ v \end{pmatrix} =
        \begin{pmatrix} \cos\theta & \sin\theta \\ -\sin\theta & \cos\theta \end{pmatrix}
        \begin{pmatrix} x \\ y \end{pmatrix}

    with ``kappa`` = :math:`\kappa` and ``angle`` = :math:`\theta`. The Hessian has eigenvalues
    1 and :math:`\kappa`, so :math:`\kappa` is its condition number. Gradient descent is stable
    only for ``lr < 2 / kappa``, and at such a step size the error along the valley floor
    (curvature 1) shrinks by a factor ``1 - lr`` per step: at best ``1 - 2 / kappa``, a crawl.
    With ``angle = 0`` the valley follows the x-axis, which per-coordinate methods (Adam,
    RMSprop) fix perfectly; a rotated valley shows what they cannot fix. Minimum 0 at the origin.
    """
    x, y = _xy(p)
    if angle:
        c, s = math.cos(angle), math.sin(angle)
        x, y = c * x + s * y, -s * x + c * y
    return 0.5 * (x**2 + kappa * y**2)


def bowl(p: torch.Tensor) -> torch.Tensor:
    r"""The isotropic convex bowl :math:`f(x, y) = \tfrac12 (x^2 + y^2)`.

    The ravine with :math:`\kappa = 1`: the gradient is the point itself, the Hessian is the
    identity, every direction is alike. Gradient descent converges for ``lr < 2`` and lands on
    the minimum (0 at the origin) in one step at ``lr = 1``.
    """
    return ravine(p, kappa=1.0)


def rosenbrock(p: torch.Tensor, a: float = 1.0, b: float = 100.0) -> torch.Tensor:
    r"""Rosenbrock's banana valley :math:`f(x, y) = (a - x)^2 + b\,(y - x^2)^2`.

    Finding the curved valley is easy; following it to the minimum 0 at :math:`(a, a^2)` is
    slow, because across the valley the curvature is about :math:`200 b` times the curvature
    along it. The standard test since Rosenbrock (1960); the classic start is ``(-1.2, 1)``.
    """
    x, y = _xy(p)
    return (a - x) ** 2 + b * (y - x**2) ** 2


def beale(p: torch.Tensor) -> torch.Tensor:
    r"""Beale's function, flat plateaus and steep walls; minimum 0 at :math:`(3, 0.5)`.

    .. math::

        f(x, y) = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2

    Gradients range over many orders of magnitude across the window, which is where adaptive
    step sizes earn their keep.
    """
    x, y = _xy(p)
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2


def saddle(p: torch.Tensor) -> torch.Tensor:
    r"""The horse saddle :math:`f(x, y) = x^2 - y^2`, unbounded below.

    The origin is a saddle point: gradient zero, Hessian eigenvalues ``+2`` and ``-2``. Started
    near the x-axis, gradient descent slides towards the origin and stalls there before the
    tiny ``y`` component grows and carries it off. There is no minimum: a run keeps going down
    until ``run_optimizer`` stops it (use :func:`saddle_bounded` for a race to a minimum).
    """
    x, y = _xy(p)
    return x**2 - y**2


def saddle_bounded(p: torch.Tensor) -> torch.Tensor:
    r"""A saddle with a floor: :math:`f(x, y) = x^2 - y^2 + y^4 / 4`.

    Same saddle point at the origin (Hessian ``diag(2, -2)``), but the quartic term bends the
    escape routes back up, into two minima :math:`(0, \pm\sqrt 2)` with value :math:`-1`
    (Hessian ``diag(2, 4)`` there). Good for racing optimizers out of a saddle.
    """
    x, y = _xy(p)
    return x**2 - y**2 + 0.25 * y**4


def himmelblau(p: torch.Tensor) -> torch.Tensor:
    r"""Himmelblau's function :math:`f(x, y) = (x^2 + y - 11)^2 + (x + y^2 - 7)^2`.

    Four minima of value 0, at :math:`(3, 2)` and three irrational points (listed in
    ``LANDSCAPES["himmelblau"].minima``): which one an optimizer ends in depends on where it
    starts and how it moves. Also a local maximum near ``(-0.27, -0.92)`` and four saddles.
    """
    x, y = _xy(p)
    return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2


# ---------------------------------------------------------------------------------------------
# The same functions with their gradients in closed form, on plain floats
# ---------------------------------------------------------------------------------------------
# ``(x, y) -> (f, df/dx, df/dy)`` in float64 arithmetic (products only: a float product
# overflows to inf instead of raising). Two floats cost a few microseconds here against about
# 200 for a forward and backward pass of autograd on a two-number tensor, which is what keeps an
# explorer's slider move fast. tests/test_landscapes.py checks each against autograd.

ValueAndGrad = Callable[[float, float], tuple[float, float, float]]


def ravine_value_and_grad(x: float, y: float, kappa: float = 20.0,
                          angle: float = 0.0) -> tuple[float, float, float]:
    """:func:`ravine` and its gradient: with ``u, v`` the rotated coordinates, ``(u, kappa v)``
    rotated back."""
    c, s = (math.cos(angle), math.sin(angle)) if angle else (1.0, 0.0)
    u, v = (c * x + s * y, -s * x + c * y) if angle else (x, y)
    du, dv = u, kappa * v
    return 0.5 * (u * u + kappa * v * v), c * du - s * dv, s * du + c * dv


def bowl_value_and_grad(x: float, y: float) -> tuple[float, float, float]:
    """:func:`bowl` and its gradient ``(x, y)``."""
    return ravine_value_and_grad(x, y, kappa=1.0)


def rosenbrock_value_and_grad(x: float, y: float, a: float = 1.0,
                              b: float = 100.0) -> tuple[float, float, float]:
    """:func:`rosenbrock` and its gradient ``(-2(a - x) - 4bx(y - x²), 2b(y - x²))``."""
    r, q = a - x, y - x * x
    return r * r + b * q * q, -2.0 * r - 4.0 * b * x * q, 2.0 * b * q


def beale_value_and_grad(x: float, y: float) -> tuple[float, float, float]:
    """:func:`beale` and its gradient."""
    y2 = y * y
    y3 = y2 * y
    t1, t2, t3 = 1.5 - x + x * y, 2.25 - x + x * y2, 2.625 - x + x * y3
    gx = 2.0 * (t1 * (y - 1.0) + t2 * (y2 - 1.0) + t3 * (y3 - 1.0))
    gy = 2.0 * x * (t1 + 2.0 * t2 * y + 3.0 * t3 * y2)
    return t1 * t1 + t2 * t2 + t3 * t3, gx, gy


def saddle_value_and_grad(x: float, y: float) -> tuple[float, float, float]:
    """:func:`saddle` and its gradient ``(2x, -2y)``."""
    return x * x - y * y, 2.0 * x, -2.0 * y


def saddle_bounded_value_and_grad(x: float, y: float) -> tuple[float, float, float]:
    """:func:`saddle_bounded` and its gradient ``(2x, -2y + y³)``."""
    y2 = y * y
    return x * x - y2 + 0.25 * y2 * y2, 2.0 * x, -2.0 * y + y2 * y


def himmelblau_value_and_grad(x: float, y: float) -> tuple[float, float, float]:
    """:func:`himmelblau` and its gradient ``(4xa + 2b, 2a + 4yb)``."""
    a, b = x * x + y - 11.0, x + y * y - 7.0
    return a * a + b * b, 4.0 * x * a + 2.0 * b, 2.0 * a + 4.0 * y * b


# ---------------------------------------------------------------------------------------------
# Landscapes: a function plus what we know about it
# ---------------------------------------------------------------------------------------------


def _as_point_tensor(point, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    t = torch.as_tensor(point, dtype=dtype, device=device).detach().clone()
    if t.shape != (2,):
        raise ValueError(f"a point must have exactly two coordinates, got shape {tuple(t.shape)}")
    return t


@dataclass(frozen=True)
class Landscape:
    """A 2-D test function with its known facts.

    Attributes:
        name: short key, as in ``LANDSCAPES``.
        fn: the function, ``(..., 2) -> (...)``.
        minima: the known global minima (points), empty when the function is unbounded.
        f_min: the minimum value (``-inf`` when unbounded below).
        xlim, ylim: a window that shows the interesting part, for plots.
        start: a conventional starting point for optimizer runs.
        saddles: known saddle points (stationary points that are not minima).
        description: one line for legends and titles.
        value_and_grad: the function and its gradient in closed form on plain floats,
            ``(x, y) -> (f, df/dx, df/dy)``, or ``None`` (then only autograd gives the gradient).

    A ``Landscape`` is callable: ``landscape(p)`` is ``landscape.fn(p)``.
    """

    name: str
    fn: Callable[[torch.Tensor], torch.Tensor]
    minima: tuple[Point, ...]
    f_min: float
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    start: Point
    saddles: tuple[Point, ...] = ()
    description: str = ""
    value_and_grad: ValueAndGrad | None = None

    def __call__(self, p: torch.Tensor) -> torch.Tensor:
        return self.fn(p)

    @property
    def bounded_below(self) -> bool:
        """False for a landscape like :func:`saddle` that goes down forever."""
        return math.isfinite(self.f_min)

    def grad(
        self,
        point,
        *,
        dtype: torch.dtype = torch.float64,
        device: str | torch.device | None = None,
    ) -> torch.Tensor:
        """The gradient at ``point`` (a pair of numbers or a tensor), by autograd.

        Computed in float64 by default so a lesson can check that a minimum is stationary
        to many digits (pass ``dtype=torch.float32`` on a device without float64, e.g. mps).
        """
        p = _as_point_tensor(point, dtype, resolve_device(device)).requires_grad_(True)
        (g,) = torch.autograd.grad(self.fn(p), p)
        return g

    def hessian(
        self,
        point,
        *,
        dtype: torch.dtype = torch.float64,
        device: str | torch.device | None = None,
    ) -> torch.Tensor:
        """The 2x2 Hessian (matrix of second derivatives) at ``point``, by autograd.

        Its eigenvalues (``torch.linalg.eigvalsh``) are the curvatures along its eigenvectors:
        all positive at a minimum, mixed signs at a saddle.
        """
        p = _as_point_tensor(point, dtype, resolve_device(device))
        return torch.autograd.functional.hessian(self.fn, p)


def make_ravine(kappa: float = 20.0, angle: float = 0.0) -> Landscape:
    """A :func:`ravine` landscape with condition number ``kappa`` rotated by ``angle`` radians."""
    if not kappa >= 1.0:
        raise ValueError(f"kappa is a condition number and must be >= 1, got {kappa!r}")
    c, s = math.cos(angle), math.sin(angle)
    # start on the steep axis and far along the shallow one, in the rotated frame
    u, v = -4.0, 1.5
    start = (c * u - s * v, s * u + c * v)
    return Landscape(
        name="ravine",
        fn=functools.partial(ravine, kappa=float(kappa), angle=float(angle)),
        minima=((0.0, 0.0),),
        f_min=0.0,
        xlim=(-5.0, 5.0),
        ylim=(-3.0, 3.0) if angle == 0 else (-5.0, 5.0),
        start=(round(start[0], 12), round(start[1], 12)),
        description=f"ill-conditioned ravine, condition number {kappa:g}",
        value_and_grad=functools.partial(ravine_value_and_grad, kappa=float(kappa),
                                         angle=float(angle)),
    )


def make_rosenbrock(a: float = 1.0, b: float = 100.0) -> Landscape:
    """A :func:`rosenbrock` landscape with parameters ``a`` and ``b`` (minimum at ``(a, a^2)``)."""
    if not b > 0:
        raise ValueError(f"b must be > 0, got {b!r}")
    return Landscape(
        name="rosenbrock",
        fn=functools.partial(rosenbrock, a=float(a), b=float(b)),
        minima=((float(a), float(a) ** 2),),
        f_min=0.0,
        xlim=(a - 3.0, a + 1.0),
        ylim=(a**2 - 2.0, a**2 + 2.0),
        start=(-1.2, 1.0),
        description="Rosenbrock's banana valley",
        value_and_grad=functools.partial(rosenbrock_value_and_grad, a=float(a), b=float(b)),
    )


_SQRT2 = math.sqrt(2.0)

LANDSCAPES: dict[str, Landscape] = {
    "bowl": Landscape(
        name="bowl",
        fn=bowl,
        minima=((0.0, 0.0),),
        f_min=0.0,
        xlim=(-3.0, 3.0),
        ylim=(-3.0, 3.0),
        start=(-2.5, 2.0),
        description="isotropic convex bowl",
        value_and_grad=bowl_value_and_grad,
    ),
    "ravine": make_ravine(),
    "rosenbrock": make_rosenbrock(),
    "beale": Landscape(
        name="beale",
        fn=beale,
        minima=((3.0, 0.5),),
        f_min=0.0,
        xlim=(-4.5, 4.5),
        ylim=(-4.5, 4.5),
        start=(1.0, 1.5),
        saddles=((0.0, 1.0),),
        description="Beale's function",
        value_and_grad=beale_value_and_grad,
    ),
    "saddle": Landscape(
        name="saddle",
        fn=saddle,
        minima=(),
        f_min=-math.inf,
        xlim=(-2.0, 2.0),
        ylim=(-2.0, 2.0),
        start=(-1.5, 1e-3),
        saddles=((0.0, 0.0),),
        description="saddle x^2 - y^2 (unbounded below)",
        value_and_grad=saddle_value_and_grad,
    ),
    "saddle_bounded": Landscape(
        name="saddle_bounded",
        fn=saddle_bounded,
        minima=((0.0, _SQRT2), (0.0, -_SQRT2)),
        f_min=-1.0,
        xlim=(-2.0, 2.0),
        ylim=(-2.5, 2.5),
        start=(-1.5, 1e-3),
        saddles=((0.0, 0.0),),
        description="saddle with a floor, x^2 - y^2 + y^4/4",
        value_and_grad=saddle_bounded_value_and_grad,
    ),
    "himmelblau": Landscape(
        name="himmelblau",
        fn=himmelblau,
        minima=(
            (3.0, 2.0),
            (-2.8051180869527449, 3.1313125182505730),
            (-3.7793102533777469, -3.2831859912861694),
            (3.5844283403304917, -1.8481265269644036),
        ),
        f_min=0.0,
        xlim=(-5.0, 5.0),
        ylim=(-5.0, 5.0),
        start=(0.0, 0.0),
        description="Himmelblau's function (four minima)",
        value_and_grad=himmelblau_value_and_grad,
    ),
}


def get_landscape(name: str) -> Landscape:
    """The landscape called ``name`` (one of ``LANDSCAPES``).

    For other parameters build one directly: ``make_ravine(kappa=100)``,
    ``make_rosenbrock(b=10)``.
    """
    try:
        return LANDSCAPES[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown landscape {name!r}; choose one of {sorted(LANDSCAPES)}"
        ) from None


def evaluate_on_grid(
    fn: Callable[[torch.Tensor], torch.Tensor] | Landscape,
    xlim: Sequence[float],
    ylim: Sequence[float],
    resolution: int = 200,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Evaluate ``fn`` on a ``resolution x resolution`` grid, for contour and surface plots.

    Runs on the CPU in float64 (it is one batched call; no device is worth a transfer here).

    Returns:
        ``(X, Y, Z)`` NumPy arrays of shape ``(resolution, resolution)``, as from
        ``np.meshgrid(xs, ys)``: ``Z[i, j] = fn((X[i, j], Y[i, j]))``.
    """
    if not isinstance(resolution, int) or resolution < 2:
        raise ValueError(f"resolution must be an int >= 2, got {resolution!r}")
    xs = torch.linspace(float(xlim[0]), float(xlim[1]), resolution, dtype=torch.float64)
    ys = torch.linspace(float(ylim[0]), float(ylim[1]), resolution, dtype=torch.float64)
    Y, X = torch.meshgrid(ys, xs, indexing="ij")
    with torch.no_grad():
        Z = fn(torch.stack([X, Y], dim=-1))
    return X.numpy(), Y.numpy(), Z.numpy()


# ---------------------------------------------------------------------------------------------
# Running an optimizer
# ---------------------------------------------------------------------------------------------


def run_optimizer(
    landscape: Landscape | Callable[[torch.Tensor], torch.Tensor],
    make_optimizer: Callable[[list[torch.Tensor]], torch.optim.Optimizer],
    start: Iterable[float] | None = None,
    steps: int = 100,
    *,
    max_abs: float = 1e6,
    max_loss: float = math.inf,
    closed_form: bool = False,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device | None = None,
) -> dict:
    """Run an optimizer from ``start`` for ``steps`` steps and record where it goes.

    The loop is the usual one, on a single parameter ``p`` holding the point::

        p = torch.tensor(start, requires_grad=True)
        opt = make_optimizer([p])
        for step in range(steps):
            opt.step(closure)      # closure: zero_grad, loss = f(p), loss.backward()

    (an optimizer whose ``step`` takes no closure gets ``zero_grad / backward / step()``).
    The run stops early, and reports ``diverged=True``, as soon as the loss or the point stops
    being finite, the point leaves the box ``|x|, |y| <= max_abs``, or the loss passes
    ``max_loss`` (off by default; an explorer sets it to catch a steady blow-up early, long
    before float32 overflows). It never raises because
    an optimizer blew up, so interactive explorers can try any setting.

    Args:
        landscape: a :class:`Landscape` or any function ``(..., 2) -> (...)``.
        make_optimizer: builds the optimizer from the parameter list, e.g.
            ``lambda params: torch.optim.SGD(params, lr=0.01)`` (works for ``torch.optim``,
            ``course_lib.optim`` and ``torch.optim.LBFGS``).
        start: the starting point (``None``: ``landscape.start``).
        steps: number of optimizer steps (>= 0).
        max_abs: a coordinate beyond this counts as divergence.
        max_loss: a loss above this counts as divergence (default ``inf``: never).
        closed_form: take the loss and gradient from ``landscape.value_and_grad`` (float64
            formulas, the result rounded to ``dtype``) instead of autograd: the same run to
            float32 rounding, many times faster per step. Needs a Landscape that has one.
        dtype: floating dtype of the point (float32 works on every device).
        device: where to compute (``None``: the default device).

    Returns:
        A dict with

        * ``"path"``: NumPy array ``(k + 1, 2)`` of points, ``path[0] = start``; ``k = steps``
          unless the run diverged. Every row is finite (a non-finite point is not recorded).
        * ``"losses"``: NumPy array ``(k + 1,)``, the loss at each recorded point (the last one
          can be ``inf`` when the point is finite but the loss overflowed).
        * ``"diverged"``: bool.
        * ``"diverged_at"``: the step (1-based) at which divergence was detected, else ``None``.
        * ``"steps_run"``: steps taken.
        * ``"divergence"``: why the run was stopped, one of :data:`DIVERGENCE_REASONS`
          (``"point_nan"``, ``"point_inf"``, ``"outside_box"``, ``"loss_nan"``, ``"loss_inf"``,
          ``"loss_above_max"``), else ``None``.
    """
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 0:
        raise ValueError(f"steps must be a non-negative int, got {steps!r}")
    if not max_abs > 0:
        raise ValueError(f"max_abs must be > 0, got {max_abs!r}")
    if not max_loss == max_loss:  # NaN: nothing would ever count as above it
        raise ValueError(f"max_loss must be a number (inf to turn it off), got {max_loss!r}")
    if start is None:
        if not isinstance(landscape, Landscape):
            raise ValueError("start is required when landscape is a plain function")
        start = landscape.start
    value_and_grad = None
    if closed_form:
        value_and_grad = getattr(landscape, "value_and_grad", None)
        if value_and_grad is None:
            raise ValueError("closed_form=True needs a Landscape with a value_and_grad formula")
    dev = resolve_device(device)
    fn = landscape.fn if isinstance(landscape, Landscape) else landscape
    p = _as_point_tensor(list(start), dtype, dev).requires_grad_(True)
    opt = make_optimizer([p])
    if not isinstance(opt, torch.optim.Optimizer):
        raise ValueError(
            f"make_optimizer must return a torch.optim.Optimizer, got {type(opt).__name__}"
        )
    takes_closure = "closure" in inspect.signature(opt.step).parameters

    def closure() -> torch.Tensor:
        opt.zero_grad()
        if value_and_grad is not None:
            f, gx, gy = value_and_grad(*p.detach().tolist())
            p.grad = torch.tensor((gx, gy), dtype=dtype, device=dev)
            return torch.tensor(f, dtype=torch.float64)
        loss = fn(p)
        loss.backward()
        return loss

    def loss_at() -> float:
        if value_and_grad is not None:
            return value_and_grad(*p.detach().tolist())[0]
        with torch.no_grad():
            return float(fn(p))

    points = [p.detach().cpu().double().numpy().copy()]
    losses = [loss_at()]
    diverged_at, divergence = None, None
    if not np.isfinite(losses[0]):
        diverged_at, divergence = 0, _loss_reason(losses[0])
    step = 0
    while diverged_at is None and step < steps:
        step += 1
        if takes_closure:
            opt.step(closure)
        else:
            closure()
            opt.step()
        point = p.detach().cpu().double().numpy().copy()
        if not np.all(np.isfinite(point)):
            diverged_at = step
            divergence = "point_nan" if np.isnan(point).any() else "point_inf"
            break
        loss = loss_at()
        points.append(point)
        losses.append(loss)
        if np.max(np.abs(point)) > max_abs:
            diverged_at, divergence = step, "outside_box"
        elif not math.isfinite(loss):
            diverged_at, divergence = step, _loss_reason(loss)
        elif loss > max_loss:
            diverged_at, divergence = step, "loss_above_max"
    return {
        "path": np.array(points, dtype=np.float64).reshape(-1, 2),
        "losses": np.array(losses, dtype=np.float64),
        "diverged": diverged_at is not None,
        "diverged_at": diverged_at,
        "steps_run": step,
        "divergence": divergence,
    }


#: Why :func:`run_optimizer` stopped a run, as its ``"divergence"`` entry says.
DIVERGENCE_REASONS = ("point_nan", "point_inf", "outside_box", "loss_nan", "loss_inf",
                      "loss_above_max")


def _loss_reason(loss: float) -> str:
    return "loss_nan" if math.isnan(loss) else "loss_inf"


def steps_to_converge(losses: Sequence[float], f_min: float, tol: float = 1e-6) -> int | None:
    """The first step whose loss is within ``tol`` of ``f_min``, or ``None`` if none is.

    ``losses[0]`` is the loss at the start, so the answer is a number of steps. Non-finite
    losses never count as converged.

    Args:
        losses: the losses of a run (e.g. ``run_optimizer(...)["losses"]``).
        f_min: the minimum value (``landscape.f_min``).
        tol: how close counts as there (> 0).
    """
    if not tol > 0:
        raise ValueError(f"tol must be > 0, got {tol!r}")
    if not math.isfinite(f_min):
        raise ValueError("f_min must be finite (this landscape has no minimum to converge to)")
    arr = np.asarray(losses, dtype=np.float64).reshape(-1)
    hits = np.flatnonzero(np.isfinite(arr) & (arr - f_min <= tol))
    return int(hits[0]) if hits.size else None
