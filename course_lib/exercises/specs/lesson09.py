"""Lesson 09 exercises: the learning-rate range test's two pieces.

``exponential_lr_schedule`` is the sweep: ``num_iters`` learning rates from ``start_lr`` to
``end_lr`` (both included), each one the previous times the same factor, exactly
:func:`course_lib.lr_finder.exponential_lrs` (the reference):

    lr_i = start_lr * (end_lr / start_lr) ** (i / (num_iters - 1)),   i = 0 .. num_iters - 1

``smooth_losses`` is the bias-corrected exponential moving average that the range test plots,
exactly :func:`course_lib.lr_finder.smooth_losses` (the reference):

    a_0 = 0,  a_i = beta * a_{i-1} + (1 - beta) * loss_i,  smoothed_i = a_i / (1 - beta ** i)

with ``i`` counted from 1. Both take and return lists of plain numbers (a 1-D tensor or NumPy
array is accepted too).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from course_lib.exercises.protocol import Case, Exercise
from course_lib.exercises.specs._helpers import F64, describe, diagnose, number_list
from course_lib.lr_finder import exponential_lrs, smooth_losses

__all__ = ["EXERCISES", "EXPONENTIAL_LR_SCHEDULE", "PICK_LR", "SMOOTH_LOSSES"]

_RTOL, _ATOL = 1e-6, 1e-300   # admits float32 arithmetic; lrs span many decades


def _t(values) -> torch.Tensor:
    return torch.tensor([float(v) for v in values], dtype=F64)


# ---------------------------------------------------------------- l09_exponential_lr_schedule

def _sweep_cases(rng: np.random.Generator) -> list[Case]:
    def decade(lo, hi):
        return float(10.0 ** int(rng.integers(lo, hi)))

    def n(lo, hi):
        return int(rng.integers(lo, hi))

    return [
        Case("the classic sweep 1e-7 to 10", (1e-7, 10.0, n(80, 121))),
        Case("five lrs over four decades", (1e-5, 1.0, 5)),
        Case("two lrs (just the endpoints)", (decade(-6, -3), decade(-2, 1), 2)),
        Case("a short sweep", (decade(-7, -4), decade(-1, 2), n(6, 12))),
        Case("a narrow range, 0.01 to 0.05", (0.01, 0.05, n(9, 16))),
        Case("three lrs", (float(rng.choice([2e-4, 3e-4, 5e-4])), 0.5, 3)),
        Case("a long sweep over ten decades", (1e-8, 100.0, n(250, 400)), hidden=True),
        Case("odd endpoints", (float(f"{rng.uniform(1, 9):.2f}e-6"), float(f"{rng.uniform(1, 9):.2f}"), n(20, 40)),
             hidden=True),
    ]


def _sweep_reference(start_lr, end_lr, num_iters):
    return [float(x) for x in exponential_lrs(start_lr, end_lr, num_iters)]


def _sweep_compare(case: Case, expected, got) -> str | None:
    s, e, n = case.args
    if isinstance(got, (list, tuple, torch.Tensor)) and not (isinstance(got, torch.Tensor) and got.dim() != 1):
        count = got.numel() if isinstance(got, torch.Tensor) else len(got)
        if count == n + 1:
            return (f"one lr too many: num_iters = {n} lrs, both endpoints included (N lrs are N − 1 "
                    "equal steps on a log scale)")
        if count == n - 1:
            return (f"one lr too few: return num_iters = {n} lrs with both endpoints (N lrs are N − 1 "
                    "equal steps on a log scale)")
    values, problem = number_list("the lrs", got, n)
    if problem:
        return problem
    i = np.arange(n)
    ratio = e / s
    mistakes = [
        ("the lrs are spaced linearly: the sweep is geometric, each lr the previous one times the same "
         "factor (spaced evenly on a log scale)", _t(np.linspace(s, e, n))),
        ("the last lr should be end_lr: with N lrs there are N − 1 steps between the endpoints, so the "
         "exponent reaches 1 at the last index", _t(s * ratio ** (i / n))),
        ("the first lr should be start_lr (i = 0 gives exponent 0)", _t(s * ratio ** ((i + 1) / n))),
        ("the sweep runs backwards: start at start_lr and end at end_lr", _t(list(reversed(expected)))),
        ("np.logspace / torch.logspace take exponents (log10 of the lrs), not the lrs themselves "
         "(np.geomspace takes the lrs)", _t(np.logspace(s, e, n)) if e < 300 else None),
        ("the exponent grows linearly with i, i/(N − 1), not its square or similar: every step "
         "multiplies the lr by the same factor", _t(s * ratio ** ((i / (n - 1)) ** 2))),
    ]
    mistakes = [(m, c) for m, c in mistakes if c is not None]
    return diagnose("the lrs", _t(expected), values, mistakes, rtol=_RTOL, atol=_ATOL)


EXPONENTIAL_LR_SCHEDULE = Exercise(
    grade_id="l09_exponential_lr_schedule",
    function="exponential_lr_schedule",
    points=1,
    make_cases=_sweep_cases,
    reference=_sweep_reference,
    compare=_sweep_compare,
    hint="every step multiplies the learning rate by the same factor, so the lrs are evenly spaced on a "
         "log scale, from start_lr to end_lr, both included.",
    hints=(
        "With N = num_iters lrs from η_start to η_end, both included:\n"
        "    η_i = η_start · (η_end / η_start)^(i/(N − 1)),     i = 0, 1, ..., N − 1\n"
        "i = 0 gives η_start and i = N − 1 gives η_end; in between, each lr is the previous one times "
        "(η_end/η_start)^(1/(N − 1)). Every decade gets the same number of steps: 1e-7..1e-6 is swept as "
        "carefully as 1..10.",
        "A list of N Python floats, one per index i from 0 to N − 1 (a list comprehension over the "
        "indices is one line): the ratio of the two endpoints, raised to i over (N − 1), times start_lr. "
        "Or np.geomspace, which takes the endpoints and the count directly (convert its values to "
        "floats); not np.logspace, which takes exponents.",
    ),
    forbidden=("course_lib.lr_finder",),
)


# ---------------------------------------------------------------- l09_smooth_losses

def _sweep_losses(rng: np.random.Generator, n: int, noise: float = 0.05) -> list[float]:
    """A range test's raw losses: flat, then falling, then blowing up, with noise."""
    x = np.linspace(0.0, 1.0, n)
    curve = 2.3 - 1.5 / (1 + np.exp(-(x - 0.5) * 12)) + 40.0 * np.maximum(x - 0.85, 0.0) ** 2
    return [round(float(v), 5) for v in curve * np.exp(noise * rng.normal(size=n))]


def _smooth_cases(rng: np.random.Generator) -> list[Case]:
    level = round(float(rng.uniform(1.0, 3.0)), 3)
    return [
        Case("a range test's losses, default beta", (_sweep_losses(rng, 60),)),
        Case("beta = 0.9", (_sweep_losses(rng, 30, 0.1),), {"beta": 0.9}),
        Case("constant losses (the corrected average is that constant)", ([level] * 12,), {"beta": 0.8}),
        Case("the first three losses", (_sweep_losses(rng, 3),), {"beta": 0.98}),
        Case("one loss", ([round(float(rng.uniform(1, 3)), 4)],)),
        Case("beta = 0 (no smoothing)", (_sweep_losses(rng, 8),), {"beta": 0.0}),
        Case("beta = 0.5, noisy", (_sweep_losses(rng, 20, 0.3),), {"beta": 0.5}),
        Case("a long sweep", (_sweep_losses(rng, 300),), hidden=True),
        Case("beta = 0.99, short", (_sweep_losses(rng, 15, 0.2),), {"beta": 0.99}, hidden=True),
    ]


def _smooth_reference(losses, beta=0.98):
    return [float(x) for x in smooth_losses(losses, beta)]


def _ema(losses, beta, *, correct=lambda i: i, start_first=False, swap=False, compound=False):
    """The moving average and its typical variants (``correct`` gives the exponent for step i)."""
    out, avg = [], 0.0
    b = 1 - beta if swap else beta
    for i, loss in enumerate(losses, start=1):
        avg = float(loss) if start_first and i == 1 else b * avg + (1 - b) * float(loss)
        k = correct(i)
        if k is None:
            out.append(avg)
            continue
        denom = 1 - b ** k
        value = avg / denom if denom != 0 else math.inf
        if compound:
            avg = value
        out.append(value)
    return out


def _smooth_compare(case: Case, expected, got) -> str | None:
    (losses,) = case.args
    beta = case.kwargs.get("beta", 0.98)
    values, problem = number_list("the smoothed losses", got, len(losses))
    if problem:
        if not isinstance(got, (list, tuple, torch.Tensor)) and got is not None and len(losses) > 1:
            problem += " (one smoothed value per loss)"
        return problem
    mistakes = [
        ("the bias correction is missing: the average starts at 0, so early on it is too small by the "
         "factor (1 − βⁱ), i counted from 1; divide the values you return by it",
         _t(_ema(losses, beta, correct=lambda i: None))),
        ("you started the average at the first loss (as torch-lr-finder does): here it starts at 0 and "
         "the bias correction, dividing by (1 − βⁱ), undoes that start",
         _t(_ema(losses, beta, correct=lambda i: None, start_first=True))),
        ("beta and 1 - beta are swapped: the old average gets the weight beta, the new loss 1 - beta",
         _t(_ema(losses, beta, swap=True))),
        ("beta and 1 - beta are swapped: the old average gets the weight beta, the new loss 1 - beta",
         _t(_ema(losses, beta, swap=True, correct=lambda i: None))),
        ("the bias correction's exponent is off by one: it is βⁱ with i = 1 for the first loss",
         _t(_ema(losses, beta, correct=lambda i: i + 1))),
        ("correct a copy, not the running average itself: the running average stays uncorrected, and "
         "only the value you return is divided by (1 − βⁱ)", _t(_ema(losses, beta, compound=True))),
    ]
    nonfinite = ("some values are NaN or inf: with i counted from 0 the first correction divides by "
                 "1 - beta ** 0 = 0; count the steps from 1")
    return diagnose("the smoothed losses", _t(expected), values, mistakes, rtol=1e-6, atol=1e-9,
                    nonfinite=nonfinite)


SMOOTH_LOSSES = Exercise(
    grade_id="l09_smooth_losses",
    function="smooth_losses",
    points=2,
    make_cases=_smooth_cases,
    reference=_smooth_reference,
    compare=_smooth_compare,
    hint="an average that starts at 0 is too small at first; the correction divides by exactly how much "
         "too small it is, as Adam does for its moments.",
    hints=(
        "With a_0 = 0 and i counted from 1:\n"
        "    a_i = β·a_(i−1) + (1 − β)·ℓ_i            (the running average, never corrected)\n"
        "    â_i = a_i / (1 − βⁱ)                     (the value you return)\n"
        "At β = 0.98 the first average is only 2% of the first loss, and dividing by 1 − 0.98 gives it "
        "back: â_1 = ℓ_1. Constant losses give a constant corrected average.",
        "One running number, started at 0.0, and an output list. Loop over the losses with their "
        "step number counted from 1 (enumerate has a start argument; from 0 the first correction "
        "would divide by zero). Each step: update the running average from the loss, then append the "
        "corrected copy, leaving the running average itself uncorrected. Return the list, one value "
        "per loss.",
    ),
    forbidden=("course_lib.lr_finder",),
)


# ---------------------------------------------------------------- l09_pick_lr
#
# An experiment, judged by its outcome: a classification problem whose features are scaled by a
# random factor (0.5 to 50, so the learning rate that trains it ranges over four decades); the
# learner returns a learning rate, the check trains with it exactly as the task says and
# requires the loss to end below a target set from four runs around the lr the curvature suggests.

_PICK_STEPS = 100
_PICK_BATCH = 32
_PICK_SLACK = 2.0   # the target: this times the best final loss of the four reference runs
#                     (at most 3/4 of the loss at the start)


def _pick_train(X: torch.Tensor, y: torch.Tensor, lr: float) -> float:
    """The task's training: Linear(d, classes) from zeros, SGD with momentum 0.9, 100 steps of
    32 examples drawn with a generator seeded 0; the final loss on all of (X, y), inf if the
    loss stopped being finite."""
    import torch.nn.functional as F

    classes = int(y.max()) + 1
    w = torch.zeros(X.shape[1], classes, requires_grad=True)
    b = torch.zeros(classes, requires_grad=True)
    opt = torch.optim.SGD([w, b], lr=lr, momentum=0.9)
    gen = torch.Generator().manual_seed(0)
    for _ in range(_PICK_STEPS):
        idx = torch.randint(len(X), (_PICK_BATCH,), generator=gen)
        opt.zero_grad()
        loss = F.cross_entropy(X[idx] @ w + b, y[idx])
        if not torch.isfinite(loss):
            return math.inf
        loss.backward()
        opt.step()
    with torch.no_grad():
        final = F.cross_entropy(X @ w + b, y).item()
    return final if math.isfinite(final) else math.inf


def _pick_cases(rng: np.random.Generator) -> list[Case]:
    def case(name, lo, hi, hidden=False):
        for _ in range(20):  # a problem that some lr trains well in 100 steps
            gen = torch.Generator().manual_seed(int(rng.integers(1 << 30)))
            d, classes, n = int(rng.integers(8, 17)), int(rng.integers(3, 6)), 256
            scale = float(10 ** rng.uniform(lo, hi))  # 0.5 to 50: the best lr stays below 10
            X = torch.randn(n, d, generator=gen) * scale
            y = (X @ torch.randn(d, classes, generator=gen) / scale
                 + 0.7 * torch.randn(n, classes, generator=gen)).argmax(dim=1)
            # the curvature at the start: the largest eigenvalue of X^T X / n, times 1/classes
            top = float(torch.linalg.eigvalsh((X.T @ X / n).double())[-1]) / classes
            best = min(_pick_train(X, y, k / top) for k in (0.03, 0.1, 0.3, 1.0))
            if best < 0.6 * math.log(classes):
                break
        target = round(min(_PICK_SLACK * best, 0.75 * math.log(classes)), 4)
        return Case(name, (X, y, target), hidden=hidden)

    # one problem from each band of scales, so that no single lr suits them all
    return [case("problem 1", -0.3, 0.2), case("problem 2", 1.2, 1.7), case("problem 3", 0.2, 0.7),
            case("problem 4", 0.7, 1.2), case("problem 5", -0.3, 1.7),
            case("problem 6 (hidden)", -0.3, 1.7, True)]


def _pick_reference(X, y, target):
    """A range test on the task's model and optimizer, then the course's suggestion."""
    import torch.nn.functional as F

    from course_lib.lr_finder import lr_range_test

    model = torch.nn.Linear(X.shape[1], int(y.max()) + 1)
    with torch.no_grad():  # from zeros, as the check trains it
        model.weight.zero_()
        model.bias.zero_()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    gen = torch.Generator().manual_seed(1)

    def get_batch():
        idx = torch.randint(len(X), (_PICK_BATCH,), generator=gen)
        return X[idx], y[idx]

    return lr_range_test(model, opt, get_batch, F.cross_entropy).suggested_lr


def _pick_compare(case: Case, expected, got) -> str | None:
    X, y, target = case.args
    if isinstance(got, torch.Tensor) and got.numel() == 1:
        got = got.item()
    if got is None or isinstance(got, bool) or not isinstance(got, (int, float)):
        return f"return the learning rate as a number, got {describe(got)}"
    if not (got > 0 and math.isfinite(got)):
        return f"a learning rate is a positive finite number, got {got!r}"
    final = _pick_train(X, y, float(got))
    if math.isinf(final):
        return (f"with lr {got:.3g} the loss stopped being finite within {_PICK_STEPS} steps: "
                "the run diverged")
    if final > target:
        start = math.log(int(y.max()) + 1)
        where = ("it barely moved from where it started" if final > 0.9 * start else
                 "it trained, but not far enough")
        return (f"with lr {got:.3g} the loss ended at {final:.3f} after {_PICK_STEPS} steps, above "
                f"the target {target:.3f} ({where}; it started at {start:.3f})")
    return None


PICK_LR = Exercise(
    grade_id="l09_pick_lr",
    function="choose_lr",
    points=2,
    all_or_nothing=True,  # a constant answer right on a few problems earns nothing
    make_cases=_pick_cases,
    reference=_pick_reference,
    compare=_pick_compare,
    hint="each problem has its own scale, so the right learning rate moves by orders of magnitude "
         "from one to the next: measure it on the problem (that is what a range test is for).",
    hints=(
        "Run a range test on exactly the model and optimizer the check will train (a Linear "
        "layer, SGD with momentum 0.9, batches of 32), then read a learning rate off it. The "
        "published rules land anywhere from about right to a hundred times too small; the "
        "lesson measured which reading you can trust.",
        "Build the model and the optimizer, a function that returns a random batch of 32 rows "
        "of (X, y) on each call (a seeded torch.Generator and torch.randint), and the loss "
        "function; pass them to course_lib.lr_finder.lr_range_test and return the course's "
        "suggestion from its result, as a float.",
    ),
)


# this lesson's exercises, in the order the notebook asks for them
EXERCISES = (EXPONENTIAL_LR_SCHEDULE, SMOOTH_LOSSES, PICK_LR)
