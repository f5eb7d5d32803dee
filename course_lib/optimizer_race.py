"""A fair race of optimizers on a 2-D landscape: every optimizer at every learning rate.

A race in which everyone uses one learning rate measures the learning rate, not the
optimizer. Lesson 05 therefore runs each optimizer at each learning rate of a grid and keeps
each one's best. :func:`race_on_landscape` runs all of those runs in lockstep: one parameter
per run, one param group per learning rate, one backward pass per step for all of them (each
point's gradient is the gradient of its own loss, since the landscape is evaluated point by
point). A run stops when it converges (it then stays put) or blows up (its path is NaN from
then on). :func:`best_learning_rate` picks each optimizer's winner.

Example::

    from course_lib.landscapes import get_landscape
    from course_lib.optim import SGD, Adam
    from course_lib.optimizer_race import best_learning_rate, race_on_landscape

    land = get_landscape("beale")
    optimizers = {"SGD": lambda groups: SGD(groups), "Adam": lambda groups: Adam(groups)}
    lrs = [1e-3, 1e-2, 0.1]
    runs = race_on_landscape(land, optimizers, lrs, steps=300)
    steps, j = best_learning_rate(runs["Adam"][1], land.f_min, budget=300)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import torch

from course_lib.landscapes import Landscape, steps_to_converge
from course_lib.validation import check_int, check_real

__all__ = ["race_on_landscape", "best_learning_rate"]

MakeOptimizer = Callable[[list[dict]], torch.optim.Optimizer]


def race_on_landscape(
    landscape: Landscape,
    optimizers: Mapping[str, MakeOptimizer],
    lrs: Sequence[float],
    steps: int,
    *,
    tol: float = 1e-6,
    max_abs: float = 1e6,
    device: str | torch.device | None = None,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Run every optimizer at every learning rate from ``landscape.start``, all in lockstep.

    Each run is the usual loop (``zero_grad``, ``loss.backward()``, ``step``) on its own 2-D
    point, in float32 on ``device``; the losses are evaluated in float64. A run stops when its
    loss is within ``tol`` of ``landscape.f_min`` (its point stays where it is) or when it
    diverges: a non-finite loss or a coordinate beyond ``max_abs`` (its path is NaN from then on).

    Args:
        landscape: a :class:`~course_lib.landscapes.Landscape` with ``start`` and ``f_min``.
        optimizers: name -> ``make(groups)``, building the optimizer from a list of param
            groups ``[{"params": [p], "lr": lr}, ...]`` (e.g. ``lambda groups: SGD(groups,
            momentum=0.9)``).
        lrs: the learning rates every optimizer runs at.
        steps: the budget (>= 1).
        tol: how close to ``f_min`` counts as converged (> 0).
        max_abs: a coordinate beyond this counts as divergence (> 0).
        device: where the points live (``None``: PyTorch's default).

    Returns:
        name -> ``(paths, losses)``: numpy arrays of shapes ``(steps + 1, len(lrs), 2)`` and
        ``(steps + 1, len(lrs))``; row 0 is the start. If every run has stopped before the
        budget, the arrays end there (fewer rows).
    """
    steps = check_int(steps, "steps", low=1, owner="race_on_landscape")
    tol = check_real(tol, "tol", low=0, low_open=True, owner="race_on_landscape")
    max_abs = check_real(max_abs, "max_abs", low=0, low_open=True, owner="race_on_landscape")
    lrs = [check_real(lr, "lr", low=0, low_open=True, owner="race_on_landscape") for lr in lrs]
    if not lrs or not optimizers:
        raise ValueError("race_on_landscape: needs at least one optimizer and one learning rate")
    opts, points = [], []
    for make in optimizers.values():
        ps = [torch.tensor(landscape.start, device=device, requires_grad=True) for _ in lrs]
        opts.append(make([{"params": [p], "lr": lr} for p, lr in zip(ps, lrs)]))
        points += ps
    running = torch.ones(len(points), dtype=torch.bool)
    diverged = torch.zeros(len(points), dtype=torch.bool)
    path = [torch.stack(points).detach().cpu()]
    for _step in range(steps):
        if not running.any():
            break
        for opt in opts:
            opt.zero_grad()
        live = torch.stack([p for p, r in zip(points, running) if r])
        landscape(live).sum().backward()      # each point gets the gradient of its own loss
        for opt in opts:
            opt.step()                        # stopped runs have no gradient: skipped
        now = torch.stack(points).detach().cpu()
        loss_now = landscape(now.double())
        diverged |= ~torch.isfinite(loss_now) | (now.abs().amax(1) > max_abs)
        running &= ~diverged & (loss_now - landscape.f_min > tol)
        now[diverged] = math.nan
        path.append(now)
    path = torch.stack(path).double()
    losses = landscape(path)
    n = len(lrs)
    return {name: (path[:, k * n : (k + 1) * n].numpy(), losses[:, k * n : (k + 1) * n].numpy())
            for k, name in enumerate(optimizers)}


def best_learning_rate(losses: np.ndarray, f_min: float, budget: int,
                       tol: float = 1e-6) -> tuple[int | None, int]:
    """The winning column of a race: the fewest steps to converge, else the lowest final loss.

    Args:
        losses: one optimizer's losses from :func:`race_on_landscape`, shape ``(steps + 1, n_lrs)``.
        f_min: the landscape's minimum value.
        budget: the race's step budget (a run that never converged ranks after every one that did).
        tol: the tolerance the race used.

    Returns:
        ``(steps, j)``: the winner's steps to converge (``None`` if no run converged, then the
        winner is the one with the lowest final loss; a NaN final loss never wins) and its
        column ``j``, the index of its learning rate. Ties go to the smaller ``j``.

    Example:
        >>> import numpy as np
        >>> losses = np.array([[5.0, 5.0, 5.0], [1.0, 0.0, np.nan], [0.5, 0.0, np.nan]])
        >>> best_learning_rate(losses, f_min=0.0, budget=2)
        (1, 1)
    """
    losses = np.asarray(losses, dtype=np.float64)
    if losses.ndim != 2 or losses.shape[1] == 0:
        raise ValueError(f"best_learning_rate: losses must have shape (steps + 1, n_lrs), got {losses.shape}")

    def score(j: int) -> tuple[float, float]:
        s = steps_to_converge(losses[:, j], f_min, tol)
        final = losses[-1, j] - f_min
        return (s if s is not None else budget + 1, final if np.isfinite(final) else math.inf)

    j = min(range(losses.shape[1]), key=score)
    return steps_to_converge(losses[:, j], f_min, tol), j
