"""Running an optimizer on a landscape and recording its path, without ever crashing.

:func:`run_optimizer` reports a blow-up as ``diverged`` (with the reason) instead of raising,
so a slider can be dragged anywhere; :func:`steps_to_converge` reads a run's losses.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import torch

from course_lib.device import resolve_device
from course_lib.landscapes.landscape import Landscape, _as_point_tensor

__all__ = ["run_optimizer", "DIVERGENCE_REASONS", "steps_to_converge"]


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
