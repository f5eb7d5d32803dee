"""Functions that exercise cases pass to a learner's function, whitelisted by name.

Exercises whose learner function takes a function argument (e.g. a finite-difference gradient
of ``f``) send ``NamedFunction`` handles: they travel as ``{"__fn__": name}`` and are rebuilt
on the other side from this registry, never from code in the payload. They live here, outside
:mod:`course_lib.exercises.specs`, because the grading sandbox must be able to import them
while the specs (which hold the reference implementations) stay out of its reach.
"""

from __future__ import annotations

import torch

from course_lib.exercises.codec import register_function

__all__ = ["HOUSE_MSE", "QUADRATIC", "ROSENBROCK"]

_F64 = torch.float64
_SQFT = torch.tensor([0.8, 1.2, 1.5, 2.0, 2.4, 3.1], dtype=_F64)    # 1000s of sqft
_PRICE = torch.tensor([1.6, 2.3, 2.9, 3.8, 4.4, 5.9], dtype=_F64)   # $100k


def _rosenbrock(x: torch.Tensor) -> torch.Tensor:
    """f(x, y) = (1 - x)^2 + 100 (y - x^2)^2 for x of shape (2,)."""
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def _quadratic(x: torch.Tensor) -> torch.Tensor:
    """f(x) = 1/2 sum_i k_i x_i^2 with k_i = 1, 2, 3, ... over the flattened x (any shape)."""
    k = torch.arange(1, x.numel() + 1, dtype=x.dtype).reshape(x.shape)
    return 0.5 * (k * x ** 2).sum()


def _house_mse(x: torch.Tensor) -> torch.Tensor:
    """Mean squared error of price ~ w * sqft + b on six houses, x = (w, b)."""
    return ((x[0] * _SQFT + x[1] - _PRICE) ** 2).mean()


# lesson 02: functions f for finite differences
ROSENBROCK = register_function("l02_rosenbrock", _rosenbrock)
QUADRATIC = register_function("l02_quadratic", _quadratic)
HOUSE_MSE = register_function("l02_house_mse", _house_mse)
