"""Lesson 03 exercises: the learning rate.

``gd_trajectory`` (gradient descent on f(w) = w^2, the iterates as a list; the reference takes
its gradients from autograd) and ``max_stable_lr`` (2 / largest eigenvalue for f = 1/2 x^T A x;
checked against ``torch.linalg.eigvalsh``) and ``pick_learning_rate`` (an experiment: a
learning rate that brings a random quadratic below a target within a step budget, judged by
running it).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from course_lib.exercises.protocol import Case, Exercise
from course_lib.exercises.specs._helpers import F32, F64, as_float, as_tensor, describe, diagnose

__all__ = ["EXERCISES", "GD_TRAJECTORY", "MAX_STABLE_LR", "PICK_LEARNING_RATE", "gd_on_quadratic"]


# ---------------------------------------------------------------- l03_gd_trajectory

def _traj_cases(rng: np.random.Generator) -> list[Case]:
    return [
        Case("lr 1.1 from w0 = 5 (the lesson's example)", (1.1, 5.0, 4)),
        Case("small lr 0.1", (0.1, 3.0, 10)),
        Case("lr 1.0 (bounces between +w0 and -w0)", (1.0, 2.0, 6)),
        Case("lr 0.5 (one step to the minimum)", (0.5, -4.0, 3)),
        Case("zero steps", (0.3, 1.5, 0)),
        Case("a random lr and start", (round(float(rng.uniform(0.05, 0.9)), 3),
                                       round(float(rng.uniform(-10, 10)), 3), 8)),
        Case("a long divergent run", (1.3, round(float(rng.uniform(0.5, 2)), 3), 40), hidden=True),
        Case("lr 0", (0.0, 2.5, 5), hidden=True),
    ]


def _traj_reference(lr: float, w0: float, steps: int) -> list[float]:
    # the gradient from autograd; the update written out (torch.optim's first use costs seconds)
    w = torch.tensor(float(w0), dtype=F64)
    path = [w.item()]
    for _ in range(steps):
        (grad,) = torch.autograd.grad(w.requires_grad_(True) ** 2, w)
        w = (w - lr * grad).detach()
        path.append(w.item())
    return path


def _iterate(w0: float, factor: float, steps: int) -> torch.Tensor:
    """w0, w0 * factor, w0 * factor^2, ... (steps + 1 values, float64)."""
    path = [float(w0)]
    for _ in range(steps):
        path.append(path[-1] * factor)
    return torch.tensor(path, dtype=F64)


def _traj_compare(case: Case, expected, got) -> str | None:
    lr, w0, steps = case.args
    if got is None:
        return "returned None: did you forget the `return`?"
    if isinstance(got, torch.Tensor) and got.dim() == 1:
        got = list(got.unbind())
    if not isinstance(got, (list, tuple)):
        return f"should return a list of steps + 1 numbers, got {describe(got)}"
    values = [as_float(v) for v in got]
    if any(v is None for v in values):
        bad = next(v for v, f in zip(got, values) if f is None)
        return f"every entry should be a number (a float), but one is {describe(bad)}"
    e = torch.tensor(expected, dtype=F64)
    # rtol admits float32 arithmetic (a learner may well use torch.tensor(w0))
    rtol, atol = 1e-5, 1e-9
    if len(values) == steps and steps > 0 and torch.allclose(torch.tensor(values, dtype=F64), e[1:],
                                                             rtol=rtol, atol=atol):
        return "the list should start with w0: return [w0, w1, ..., w_steps] (steps + 1 numbers)"
    if len(values) != steps + 1:
        return f"got {len(values)} numbers; expected steps + 1 = {steps + 1} (w0 and one per step)"
    g = torch.tensor(values, dtype=F64)
    mistakes = [
        ("every entry is the same number: did you append a tensor and then change it in place? "
         "Append a Python float (or build a new w each step)", torch.full_like(e, e[-1].item())),
        ("you used the gradient w, but the derivative of w^2 is 2w", _iterate(w0, 1 - lr, steps)),
        ("w moves uphill: a gradient step goes against the derivative, w − lr·f'(w)",
         _iterate(w0, 1 + 2 * lr, steps)),
        ("each step multiplied w by lr·2: the step is subtracted from w, w − lr·2w",
         _iterate(w0, 2 * lr, steps)),
    ]
    return diagnose("the trajectory", e, g, mistakes, rtol=rtol, atol=atol)


GD_TRAJECTORY = Exercise(
    grade_id="l03_gd_trajectory",
    function="gd_trajectory",
    points=1,
    make_cases=_traj_cases,
    reference=_traj_reference,
    compare=_traj_compare,
    hint="the list starts with w0 itself; each step moves w against the derivative of w^2, scaled by lr.",
    hints=(
        "f(w) = w² has derivative f'(w) = 2w, so one step of gradient descent is w ← w − η·2w = "
        "(1 − 2η)·w. Starting from w0, `steps` steps give steps + 1 numbers: w0, w1, ..., w_steps. "
        "By hand, η = 1.1 from w0 = 5 gives 5, −6, 7.2, −8.64, ...",
        "A list that starts as [w0] (as a float); then, `steps` times: the derivative at the current w, "
        "the new w from the old one, appended to the list. Return the list (steps + 1 Python floats; "
        "steps may be 0). If you work with a tensor, append a Python float copy of it, never the "
        "tensor itself.",
    ),
    forbidden=("torch.optim",),
)


# ---------------------------------------------------------------- l03_max_stable_lr

def _spd(rng: np.random.Generator, eigenvalues: np.ndarray) -> np.ndarray:
    """A symmetric matrix with the given eigenvalues in a random orthonormal basis."""
    q, _ = np.linalg.qr(rng.normal(size=(len(eigenvalues), len(eigenvalues))))
    a = q @ np.diag(eigenvalues) @ q.T
    return (a + a.T) / 2


def _lr_cases(rng: np.random.Generator) -> list[Case]:
    m3 = rng.normal(size=(3, 3))
    m5 = rng.normal(size=(5, 5))
    return [
        Case("diagonal diag(1, 10)", (torch.tensor([[1.0, 0.0], [0.0, 10.0]], dtype=F64),)),
        Case("a 1 x 1 matrix", (torch.tensor([[4.0]], dtype=F64),)),
        Case("[[2, 1], [1, 2]] (not diagonal)", (torch.tensor([[2.0, 1.0], [1.0, 2.0]], dtype=F64),)),
        Case("random 3 x 3", (as_tensor(m3 @ m3.T + 0.1 * np.eye(3)),)),
        Case("random 5 x 5, float32", (as_tensor(m5 @ m5.T + 0.1 * np.eye(5), F32),)),
        Case("ill-conditioned (eigenvalues from 0.01 to 100)",
             (as_tensor(_spd(rng, np.array([0.01, 0.3, 7.0, 100.0]))),)),
        Case("random 8 x 8", (as_tensor(_spd(rng, rng.uniform(0.1, 20, 8))),), hidden=True),
        Case("a rotated ravine", (as_tensor(_spd(rng, np.array([0.5, 50.0]))),), hidden=True),
    ]


def _lr_reference(A: torch.Tensor) -> float:
    return 2.0 / torch.linalg.eigvalsh(A.double()).max().item()


def _lr_compare(case: Case, expected, got) -> str | None:
    (A,) = case.args
    if got is None:
        return "returned None: did you forget the `return`?"
    value = as_float(got)
    if value is None:
        return f"should return one number (a float), got {describe(got)}"
    a = A.double()
    lam = torch.linalg.eigvalsh(a)
    L, mu = lam.max(), lam.min()
    mistakes = [
        ("that is 1/L, half the threshold: along the steepest direction w is multiplied by (1 - lr L), "
         "which stays inside (-1, 1) up to lr = 2/L", 1 / L),
        ("you used the smallest eigenvalue: the steepest direction (largest eigenvalue L) limits the "
         "learning rate, lr < 2/L", 2 / mu),
        ("you used the diagonal entries: for a non-diagonal A the curvatures are the eigenvalues",
         2 / torch.diagonal(a).max()),
        ("you used the trace (the sum of all eigenvalues): only the largest one matters, lr < 2/L",
         2 / torch.trace(a)),
        ("you used the Frobenius norm of A: the threshold uses the largest eigenvalue, lr < 2/L",
         2 / torch.linalg.matrix_norm(a)),
        ("that is L/2, upside down: the threshold is 2/L", L / 2),
        ("that is 1/(2L): the threshold is 2/L", 1 / (2 * L)),
    ]
    rtol = 1e-4 if A.dtype == F32 else 1e-5   # admits an iterative estimate (power iteration)
    message = diagnose("the learning rate", torch.tensor(expected, dtype=F64),
                       torch.tensor(value, dtype=F64), mistakes, rtol=rtol, atol=1e-12)
    if message and not math.isfinite(value):
        return "the learning rate is NaN or inf: is the largest eigenvalue positive, and did you take 2 / L?"
    return message


MAX_STABLE_LR = Exercise(
    grade_id="l03_max_stable_lr",
    function="max_stable_lr",
    points=2,
    make_cases=_lr_cases,
    reference=_lr_reference,
    compare=_lr_compare,
    hint="along each eigenvector of A a step multiplies the error by (1 − lr·λ): the steepest direction "
         "sets the limit.",
    hints=(
        "In the eigenbasis of A the problem splits into independent 1-D quadratics λ_i·x_i²/2, and one "
        "step multiplies x_i by (1 − η·λ_i). Every direction shrinks exactly when |1 − η·λ_i| < 1 for "
        "all i, that is 0 < η < 2/λ_i for all i. The binding one is the largest eigenvalue L (the "
        "steepest curvature): the threshold is 2/L.",
        "A is symmetric, so torch's eigvalsh (in torch.linalg) gives its real eigenvalues, in "
        "ascending order: the largest is the last one. Turn it into a Python number (.item()) and "
        "return 2 divided by it. The diagonal of A is not its eigenvalues unless A is diagonal.",
    ),
)


# ---------------------------------------------------------------- l03_pick_learning_rate

def gd_on_quadratic(A, x0, lr: float, steps: int) -> list[float]:
    """f(x) = 1/2 x^T A x along ``steps`` steps of gradient descent from ``x0`` (steps + 1 values).

    Stops early (shorter list) once f passes 1e30: the run has diverged.
    """
    a = np.asarray(A, dtype=np.float64)
    x = np.asarray(x0, dtype=np.float64).copy()
    values = [0.5 * float(x @ a @ x)]
    with np.errstate(all="ignore"):
        for _ in range(steps):
            x = x - lr * (a @ x)
            values.append(0.5 * float(x @ a @ x))
            if not values[-1] < 1e30:
                break
    return values


def _quadratic_problem(rng: np.random.Generator, dim: int) -> tuple:
    """A random quadratic (scale and condition number random), a start, a step budget and a target.

    The budget is 1.5x the steps that the balanced rate 2/(λ_min + λ_max) needs, measured.
    """
    lam_max = 10 ** rng.uniform(-1, 1.5)
    kappa = 10 ** rng.uniform(0.6, 1.5)
    inner = lam_max / kappa * kappa ** rng.uniform(0, 1, dim - 2)
    a = _spd(rng, np.concatenate([[lam_max / kappa, lam_max], inner]))
    x0 = rng.normal(size=dim) * 10 ** rng.uniform(-1, 1)
    f0 = 0.5 * float(x0 @ a @ x0)
    target = float(f"{f0 * 10 ** rng.uniform(-8, -4):.3g}")
    x, lr, needed = x0.copy(), 2 / (lam_max + lam_max / kappa), 0
    while 0.5 * float(x @ a @ x) > target and needed < 100_000:
        x, needed = x - lr * (a @ x), needed + 1
    return as_tensor(a), as_tensor(x0), max(5, math.ceil(1.5 * needed)), target


def _pick_cases(rng: np.random.Generator) -> list[Case]:
    dims = [2, 2, 3, 4, 5, 6, 3, 5]
    names = ["quadratic 1 (2-D)", "quadratic 2 (2-D)", "quadratic 3 (3-D)", "quadratic 4 (4-D)",
             "quadratic 5 (5-D)", "quadratic 6 (6-D)", "quadratic 7 (hidden)", "quadratic 8 (hidden)"]
    return [Case(name, _quadratic_problem(rng, dim), hidden="hidden" in name)
            for name, dim in zip(names, dims)]


def _pick_reference(A, x0, max_steps, target) -> float:
    # the check judges the outcome by running it; it needs only the target
    return float(target)


def _pick_compare(case: Case, expected, got) -> str | None:
    A, x0, max_steps, target = case.args
    lr = as_float(got)
    if lr is None:
        return f"should return one number, the learning rate, got {describe(got)}"
    if not math.isfinite(lr) or lr <= 0:
        return f"the learning rate should be a positive number, got {lr!r}"
    values = gd_on_quadratic(A, x0, lr, max_steps)
    ran = f"with lr {lr:.3g}, gradient descent "
    if len(values) <= max_steps or values[-1] > values[0]:
        return (ran + f"diverged: the loss rose from {values[0]:.3g} to {values[-1]:.3g} in "
                f"{len(values) - 1} steps. Some direction of this quadratic is steeper than that "
                "learning rate allows")
    if values[-1] <= target:
        return None
    lam = np.linalg.eigvalsh(np.asarray(A, dtype=np.float64))
    steep, flat = abs(1 - lr * lam[-1]), abs(1 - lr * lam[0])
    side = ("the flattest direction is the slow one: it barely moves at this learning rate" if flat >= steep
            else "the steepest direction is the slow one: it overshoots and rings from wall to wall")
    return (ran + f"took the loss from {values[0]:.3g} to {values[-1]:.3g} in {max_steps} steps, "
            f"short of the target {target:.3g}: too slow, and {side}")


PICK_LEARNING_RATE = Exercise(
    grade_id="l03_pick_learning_rate",
    function="pick_learning_rate",
    points=3,
    all_or_nothing=True,  # a guessed learning rate must not earn part of the points
    make_cases=_pick_cases,
    reference=_pick_reference,
    compare=_pick_compare,
    hint="too small and the flat direction crawls, too large and the steep one rings or explodes: "
         "find where the two balance, by measuring or by the lesson's algebra.",
    hints=(
        "Each eigen-direction of A with curvature λ is multiplied by (1 − η·λ) per step, so after N "
        "steps the slowest direction has shrunk by max over λ of |1 − η·λ|, to the power N. Raising η "
        "speeds up the flat directions (λ small) and, past a point, slows the steep ones, which "
        "start to ring; beyond 2/λ_max they grow. The best η makes the flattest and the steepest "
        "direction equally slow. You can find it by running: the loss after max_steps steps, as a "
        "function of η, has a clear minimum.",
        "An experiment that decides:\n"
        "  1. candidates on a log scale, wide enough to cover any scale of A (the eigenvalues of this "
        "A tell you where to look), and dense (a few per cent apart);\n"
        "  2. for each, run max_steps steps of gradient descent from x0 (the gradient of "
        "1/2 xᵀAx is A x) and record the final loss;\n"
        "  3. return the candidate with the lowest final loss, as a Python float.\n"
        "Or check your algebra: the candidate you find should sit where the two end factors have "
        "the same size.",
    ),
)


# this lesson's exercises, in the order the notebook asks for them
EXERCISES = (GD_TRAJECTORY, MAX_STABLE_LR, PICK_LEARNING_RATE)
