"""A :class:`Landscape`: a 2-D test function bundled with what a lesson knows about it.

Its minima and minimum value, a plotting window, a starting point, its saddles, and its
gradient and Hessian at a point (by autograd).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from course_lib.device import resolve_device
from course_lib.landscapes.closed_form import ValueAndGrad

__all__ = ["Landscape", "Point"]

Point = tuple[float, float]


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
