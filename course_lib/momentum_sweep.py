"""Heavy-ball momentum on a diagonal quadratic, every (learning rate, momentum) at once.

Lesson 04 writes the heavy ball by hand (``b = mu * b + g``, ``p = p - lr * b``) and then asks
how many steps each momentum needs, at its best learning rate, from several starting points.
That is thousands of runs; :func:`heavy_ball_sweep` runs them as one batch of tensors, with the
same two lines, and counts the steps.

Example::

    import numpy as np
    from course_lib.momentum_sweep import heavy_ball_sweep

    steps = heavy_ball_sweep([1.0, 20.0], [[-4.0, 1.5]], np.geomspace(1e-3, 1, 61), [0.0, 0.5, 0.9])
    steps.min(axis=0)   # the fewest steps for each momentum, over the learning rates
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from course_lib.validation import check_int, check_real

__all__ = ["heavy_ball_sweep"]


def _as_vector(values: Sequence[float] | np.ndarray, name: str) -> torch.Tensor:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0 or not np.isfinite(arr).all():
        raise ValueError(f"{name} must be a non-empty 1-D sequence of finite numbers, got shape {arr.shape}")
    return torch.from_numpy(arr.copy())


def heavy_ball_sweep(
    curvatures: Sequence[float] | np.ndarray,
    starts: Sequence[Sequence[float]] | np.ndarray,
    lrs: Sequence[float] | np.ndarray,
    mus: Sequence[float] | np.ndarray,
    *,
    tol: float = 1e-6,
    max_steps: int = 500,
) -> np.ndarray:
    """Steps until heavy-ball momentum brings *every* start below ``tol``, for each (lr, mu).

    The loss is the diagonal quadratic :math:`f(p) = \\tfrac12 \\sum_i \\lambda_i p_i^2`
    (minimum 0 at the origin), its gradient :math:`\\lambda \\odot p`. Each run is PyTorch's
    heavy ball, in float64:

    .. math::

        b_t = \\mu\\, b_{t-1} + \\lambda \\odot p_{t-1}, \\qquad p_t = p_{t-1} - \\eta\\, b_t,
        \\qquad b_0 = 0 .

    All ``len(lrs) * len(mus) * len(starts)`` runs move together as one tensor of shape
    ``(lr, mu, start, coordinate)``. A setting counts as done at the first step ``t`` at which
    the *worst* of its starts has ``f < tol`` (the count of a setting that reaches the tolerance
    and later rises above it again stays ``t``). A run that overflows counts as never done.

    Args:
        curvatures: the Hessian's diagonal :math:`\\lambda_i` (> 0), one per coordinate.
        starts: starting points, shape ``(n_starts, len(curvatures))``.
        lrs: learning rates :math:`\\eta` (finite).
        mus: momenta :math:`\\mu` (finite).
        tol: the loss below which a run counts as converged (> 0).
        max_steps: how many steps to run (>= 1).

    Returns:
        An integer array of shape ``(len(lrs), len(mus))``: the step count, or ``max_steps + 1``
        where some start was not below ``tol`` within ``max_steps`` steps.

    Example:
        >>> heavy_ball_sweep([1.0, 20.0], [[-4.0, 1.5]], [2 / 21], [0.0, 0.5]).tolist()
        [[87, 24]]
    """
    lam = _as_vector(curvatures, "curvatures")
    if not (lam > 0).all():
        raise ValueError(f"curvatures must all be > 0, got {lam.tolist()}")
    start = torch.as_tensor(np.asarray(starts, dtype=np.float64))
    if start.ndim != 2 or start.shape[0] == 0 or start.shape[1] != len(lam) or not start.isfinite().all():
        raise ValueError(f"starts must be finite, of shape (n_starts, {len(lam)}), got shape {tuple(start.shape)}")
    lr = _as_vector(lrs, "lrs").reshape(-1, 1, 1, 1)
    mu = _as_vector(mus, "mus").reshape(1, -1, 1, 1)
    tol = check_real(tol, "tol", low=0, low_open=True, owner="heavy_ball_sweep")
    max_steps = check_int(max_steps, "max_steps", low=1, owner="heavy_ball_sweep")

    p = start.expand(lr.shape[0], mu.shape[1], -1, -1).clone()
    b = torch.zeros_like(p)
    steps = torch.full((lr.shape[0], mu.shape[1]), max_steps + 1)
    for t in range(1, max_steps + 1):
        b = mu * b + lam * p          # b_t = mu b_{t-1} + g_t, with g_t = lam * p_{t-1}
        p = p - lr * b                # p_t = p_{t-1} - lr b_t
        worst = (0.5 * (lam * p**2).sum(-1)).nan_to_num(nan=math.inf).amax(-1)
        steps[(worst < tol) & (steps > max_steps)] = t
    return steps.numpy()
