"""What one setting of a landscape explorer did, and the run that finds out.

:func:`run_update` runs an in-place update function (``course_lib.optim``'s ``sgd_update_`` or
``adam_update_``, the same numbers as ``torch.optim.SGD`` / ``Adam``) through the one landscape
runner, :func:`course_lib.landscapes.run_optimizer`. The gradient is the landscape's closed-form
``value_and_grad`` where it has one (every landscape of ``LANDSCAPES`` does; tests check each
against autograd), else torch autograd: a choice made from the landscape, never by catching an
error.
The update function is wrapped in a minimal ``torch.optim.Optimizer`` that does not validate its
settings: an explorer must be able to *show* what lr = NaN or lr = -1 does, where the course's
optimizer classes would (rightly) refuse them.

A run counts as diverged on ``run_optimizer``'s rules (the loss or the point stops being
finite, a coordinate passes ``1e6``) or when the loss passes ``1e6`` times its starting
distance to the minimum (so that a steady blow-up such as lr = 1.1 on w² is caught within a
short run).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch

from course_lib.explorers.figures import fmt_number
from course_lib.explorers.problems import Problem, get_problem
from course_lib.landscapes import run_optimizer, steps_to_converge

__all__ = [
    "MAX_ABS",
    "BLOWUP",
    "TOL",
    "ExplorerResult",
    "UpdateFn",
    "run_update",
    "invalid_result",
    "problem_of_result",
    "as_number",
    "check_steps",
]

#: A coordinate beyond this counts as divergence (the rule of ``run_optimizer``) ...
MAX_ABS = 1e6
#: ... and so does a loss that passes this many times its starting distance to the minimum.
BLOWUP = 1e6
#: "Converged" means loss - min <= this.
TOL = 1e-6

#: ``update(p, g, state, t)``: one in-place step of ``p`` along its gradient ``g``; ``state``
#: is a dict kept between steps, ``t`` the 1-based step number.
UpdateFn = Callable[[torch.Tensor, torch.Tensor, dict, int], None]

_WHY = {
    "point_nan": "the point became NaN",
    "point_inf": "the point overflowed to inf",
    "loss_nan": "the loss became NaN",
    "loss_inf": "the loss overflowed to inf",
}


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
        problem: the :class:`~course_lib.explorers.problems.Problem` it ran on.
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
    problem: Problem | None = field(default=None, repr=False)

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


def as_number(name: str, value: Any) -> tuple[float, str | None]:
    """``(float(value), None)``, or ``(nan, "<name> must be a number, got ...")``.

    NaN and inf are numbers here: an explorer shows what they do (a divergence).
    """
    try:
        return float(value), None
    except (TypeError, ValueError):
        return float("nan"), f"{name} must be a number, got {value!r}"


def check_steps(problem: Problem, steps: int | None) -> int:
    """``steps``, or the problem's default for ``None``.

    Raises:
        ValueError: if ``steps`` is not a non-negative int.
    """
    if steps is None:
        return problem.steps
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 0:
        raise ValueError(f"steps must be a non-negative int, got {steps!r}")
    return steps


class _UpdateOptimizer(torch.optim.Optimizer):
    """A ``torch.optim.Optimizer`` that applies ``update(p, p.grad, state, t)``, unchecked.

    A step so large that it cannot be written in the point's dtype (lr = 1e300 in float32: torch
    raises ``RuntimeError: value cannot be converted ... without overflow``) sets the point to
    inf, which :func:`run_optimizer` reports as a divergence; any other error propagates.
    """

    def __init__(self, params, update: UpdateFn):
        super().__init__(params, {})
        self._update = update

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state[p]
                state["step"] = state.get("step", 0) + 1
                try:
                    self._update(p, p.grad, state, state["step"])
                except RuntimeError as exc:
                    if "overflow" not in str(exc):
                        raise
                    p.fill_(math.inf)
        return loss


def _max_loss(problem: Problem) -> float:
    gap0 = problem.f_start - problem.f_min
    if math.isfinite(problem.f_min) and math.isfinite(gap0) and gap0 > 0:
        return problem.f_min + BLOWUP * gap0
    return math.inf


def _why(divergence: str | None, dims: int) -> str:
    if divergence == "outside_box":
        return f"{'|w|' if dims == 1 else 'a coordinate'} passed 1e6"
    if divergence == "loss_above_max":
        return "the loss passed 1e6 times its starting value"
    return _WHY.get(divergence, "")


def _status_line(res: ExplorerResult, why: str) -> str:
    if res.error is not None:
        return f"invalid setting: {res.error}"
    if res.diverged:
        return f"diverged at step {res.diverged_at}: {why}"
    tail = f"after {res.steps_run} steps the loss is {fmt_number(res.final_loss)}"
    if res.converged_at is not None:
        return f"converged at step {res.converged_at} (loss - min < {res.tol:g}); {tail}"
    return f"not converged in {res.steps} steps (loss - min < {res.tol:g}); {tail}"


def run_update(
    explorer: str,
    problem: Problem,
    update: UpdateFn,
    *,
    settings: dict[str, Any],
    steps: int,
    head: str,
    stable_below: float | None,
    device: str | torch.device | None,
) -> ExplorerResult:
    """Run ``update`` on ``problem`` for ``steps`` steps and describe what happened.

    2-D landscapes run in float32 on ``device``, as a training loop would; the 1-D parabola runs
    in float64 on the CPU (its iterates are the lesson's numbers, ``5, -6, 7.2, ...``).

    Args:
        explorer: the explorer's name, stored in the result.
        problem: where to run.
        update: the in-place update, see :data:`UpdateFn`.
        settings: the hyperparameters, stored in the result.
        steps: the number of steps.
        head: the readout's first line.
        stable_below: stored in the result.
        device: where a 2-D landscape runs.
    """
    one_d = problem.dims == 1
    run = run_optimizer(
        problem.landscape, lambda params: _UpdateOptimizer(params, update), steps=steps,
        max_abs=MAX_ABS, max_loss=_max_loss(problem),
        closed_form=problem.landscape.value_and_grad is not None,
        dtype=torch.float64 if one_d else torch.float32, device="cpu" if one_d else device)
    path = run["path"][:, : problem.dims]
    losses = run["losses"]
    converged_at = None
    if math.isfinite(problem.f_min) and len(losses):
        converged_at = steps_to_converge(losses, problem.f_min, TOL)
    res = ExplorerResult(
        explorer=explorer, landscape=problem.key, label=problem.label, settings=settings,
        path=path, losses=losses, steps=steps, diverged=run["diverged"],
        diverged_at=run["diverged_at"], converged_at=converged_at, tol=TOL,
        f_min=problem.f_min, curvatures=problem.curvatures, stable_below=stable_below,
        problem=problem)
    return _with_lines(res, head, _why(run["divergence"], problem.dims))


def invalid_result(
    explorer: str,
    problem: Problem,
    *,
    settings: dict[str, Any],
    steps: int,
    head: str,
    stable_below: float | None,
    error: str,
) -> ExplorerResult:
    """The result for settings that cannot be run: the start only, and ``error`` saying why."""
    res = ExplorerResult(
        explorer=explorer, landscape=problem.key, label=problem.label, settings=settings,
        path=np.array([problem.start], dtype=np.float64), losses=np.array([np.nan]),
        steps=steps, diverged=False, diverged_at=None, converged_at=None, tol=TOL,
        f_min=problem.f_min, curvatures=problem.curvatures, stable_below=stable_below,
        error=error, problem=problem)
    return _with_lines(res, head, "")


def _with_lines(res: ExplorerResult, head: str, why: str) -> ExplorerResult:
    return replace(res, lines=(head, _status_line(res, why)))


def problem_of_result(result: ExplorerResult, kind: str, producer: str) -> Problem:
    """The problem ``result`` ran on, after checking it comes from ``producer`` (``kind``).

    Raises:
        ValueError: if ``result`` is not an :class:`ExplorerResult` of that explorer.
    """
    if not isinstance(result, ExplorerResult) or result.explorer != kind:
        raise ValueError(f"expected a result of {producer}(), got {result!r:.80}")
    return result.problem or get_problem(result.landscape, allow_1d=kind == "lr")
