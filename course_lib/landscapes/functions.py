"""The two-dimensional test functions, ``(..., 2) -> (...)``, and their values on a grid.

One function serves both a single point (for autograd) and a whole grid (for a contour plot);
:func:`evaluate_on_grid` does the grid.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch

from course_lib.landscapes.landscape import Landscape

__all__ = [
    "bowl",
    "ravine",
    "rosenbrock",
    "beale",
    "saddle",
    "saddle_bounded",
    "himmelblau",
    "evaluate_on_grid",
]


def _xy(p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if p.shape[-1] != 2:
        raise ValueError(f"expected a tensor of shape (..., 2), got {tuple(p.shape)}")
    return p[..., 0], p[..., 1]


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
