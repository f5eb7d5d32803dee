"""The landscapes' functions with their gradients in closed form, on plain floats.

Each is ``(x, y) -> (f, df/dx, df/dy)``; an explorer uses them instead of autograd to stay fast.
"""

from __future__ import annotations

import math
from collections.abc import Callable

__all__ = [
    "ValueAndGrad",
    "ravine_value_and_grad",
    "bowl_value_and_grad",
    "rosenbrock_value_and_grad",
    "beale_value_and_grad",
    "saddle_value_and_grad",
    "saddle_bounded_value_and_grad",
    "himmelblau_value_and_grad",
]

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
