"""Lesson 07 exercises: learning-rate schedules as functions of the step.

``warmup_cosine_lr`` (linear warmup, cosine decay to a floor, then hold: the GPT-3 recipe) and
``wsd_lr`` (warmup, a stable plateau at the peak, then a linear decay over the last steps). Both
return the learning rate used at a step, in the conventions of :mod:`course_lib.schedules`
(``step`` counts the optimizer steps already taken; the first update uses step 0):

    warmup_cosine_lr(step, W, T, peak, floor) == peak * warmup_cosine(W, T, floor)(step)
    wsd_lr(step, W, D, T, peak, floor)        == peak * warmup_stable_decay(W, D, T, floor, "linear")(step)

Those schedules are matched step by step against torch's ``SequentialLR`` of ``LinearLR`` and
``CosineAnnealingLR`` in ``tests/test_schedules.py`` (``tests/test_exercise_specs_06_08.py``
checks the reference against torch once more). Each case is one step; the cases walk through
every phase: the first step, the warmup, the peak, the decay, the floor and after the end.

``shortest_warmup`` is an experiment: for a randomised run (plain gradient descent on
``f(w) = sum((w**2 - 1)**2) / 4`` from a start far out on the steep walls, with a linear warmup
to a peak learning rate) it returns the shortest warmup with which the run does not diverge; the
check runs the learner's warmup and requires it to train and to be at most 20% (+2 steps) longer
than the shortest.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from course_lib.exercises.protocol import Case, Exercise
from course_lib.exercises.specs._helpers import F64, as_float, as_tensor, describe, diagnose
from course_lib.schedules import warmup_cosine, warmup_stable_decay

__all__ = ["EXERCISES", "SHORTEST_WARMUP", "WARMUP_COSINE_LR", "WSD_LR", "warmup_runs"]

_RTOL, _ATOL = 1e-6, 1e-15   # admits float32 arithmetic; lrs are small numbers, floors may be 0


def _peak(rng: np.random.Generator) -> float:
    return float(rng.choice([1e-3, 6e-4, 3e-4, 3e-3, 0.1]))


def _as_answer(got) -> tuple[float | None, str | None]:
    if got is None:
        return None, "returned None: did you forget the `return`?"
    value = as_float(got)
    if value is None:
        return None, f"should return one number (the learning rate, a float), got {describe(got)}"
    return value, None


def _t(x: float) -> torch.Tensor:
    return torch.tensor(float(x), dtype=F64)


def _cos(progress: float) -> float:
    """Half a cosine from 1 (progress 0) to 0 (progress 1)."""
    return (1 + math.cos(math.pi * progress)) / 2


# ---------------------------------------------------------------- l07_warmup_cosine_lr

def _cosine_cases(rng: np.random.Generator) -> list[Case]:
    peak = _peak(rng)
    W, T = 10, 110
    w2, t2 = int(rng.integers(50, 400)), int(rng.integers(2000, 20000))
    return [
        Case("step 0 (the first warmup step)", (0, W, T, peak)),
        Case("in the middle of the warmup", (int(rng.integers(2, W - 1)), W, T, peak)),
        Case("step = warmup_steps (the peak)", (W, W, T, peak)),
        Case("halfway through the cosine", (60, W, T, peak)),
        Case("a random step of the cosine", (int(rng.integers(W + 1, T)), W, T, peak)),
        Case("step = total_steps (the floor)", (T, W, T, peak)),
        Case("after the end (held at the floor)", (T + int(rng.integers(1, 60)), W, T, peak)),
        Case("floor = 0", (int(rng.integers(W + 20, T - 20)), W, T, peak), {"floor": 0.0}),
        Case("no warmup (warmup_steps = 0)", (int(rng.integers(1, 80)), 0, 100, peak)),
        Case("a GPT-3-like run, late in the decay", (int(0.8 * t2), w2, t2, 6e-4)),
        Case("the last warmup step", (w2 - 1, w2, t2, peak), hidden=True),
        Case("long after the end", (3 * t2, w2, t2, peak), {"floor": 0.05}, hidden=True),
        Case("floor = 0.5, early in the decay", (w2 + int(rng.integers(1, 100)), w2, t2, peak),
             {"floor": 0.5}, hidden=True),
    ]


def _cosine_reference(step, warmup_steps, total_steps, peak_lr, floor=0.1):
    return peak_lr * warmup_cosine(warmup_steps, total_steps, floor)(step)


def _cosine_compare(case: Case, expected, got) -> str | None:
    value, problem = _as_answer(got)
    if problem:
        return problem
    step, W, T, peak = case.args
    floor = case.kwargs.get("floor", 0.1)
    s = min(step, T)
    mistakes = []
    if step < W:
        off_by_one = ("the warmup is off by one: the ramp is η·(t + 1)/(W + 1), so step 0 already "
                      "trains and the peak comes exactly at step t = W")
        mistakes += [(off_by_one, _t(peak * step / W)), (off_by_one, _t(peak * (step + 1) / W)),
                     ("the warmup ramps straight up to the peak, η·(t + 1)/(W + 1): the floor plays no "
                      "part in it", _t(peak * (floor + (1 - floor) * (step + 1) / (W + 1))))]
    else:
        progress = (s - W) / (T - W)
        mistakes += [
            ("the floor is missing: the cosine should end at f·η, not at 0 (it falls over the part "
             "above the floor, (1 − f)·η)", _t(peak * _cos(progress))),
            ("floor is a fraction of the peak: the lr ends at f·η, not at f (and everything is "
             "multiplied by the peak)", _t(floor + (peak - floor) * _cos(progress))),
            ("the cosine part is scaled by (1 − f), so that the schedule starts at the peak and ends at "
             "f·η", _t(peak * (floor + _cos(progress)))),
            ("after total_steps the lr stays at the floor: the progress stops at min(t, T) (torch's "
             "CosineAnnealingLR climbs back up instead)",
             _t(peak * (floor + (1 - floor) * _cos((step - W) / (T - W))))),
            ("the cosine runs from the end of the warmup to total_steps: its progress is 0 at t = W "
             "and 1 at t = T", _t(peak * (floor + (1 - floor) * _cos(s / T)))),
            ("the cosine runs over T − W steps, not T: its progress is 0 at t = W and 1 at t = T",
             _t(peak * (floor + (1 - floor) * _cos((s - W) / T)))),
            ("use half a cosine, (1 + cos(πx))/2, which falls from 1 to 0 as x goes from 0 to 1",
             _t(peak * (floor + (1 - floor) * math.cos(math.pi * progress)))),
        ]
    mistakes.append(("that is the multiplier: multiply it by peak_lr", _t(expected / peak)))
    return diagnose("the learning rate", _t(expected), _t(value), mistakes, rtol=_RTOL, atol=_ATOL)


WARMUP_COSINE_LR = Exercise(
    grade_id="l07_warmup_cosine_lr",
    function="warmup_cosine_lr",
    points=2,
    make_cases=_cosine_cases,
    reference=_cosine_reference,
    compare=_cosine_compare,
    hint="two pieces: a straight ramp up to the peak during the warmup, then half a cosine from the peak "
         "down to the floor, which holds after the end.",
    hints=(
        "With t = step, W = warmup_steps, T = total_steps, η = peak_lr and f = floor:\n"
        "    t < W:   lr = η·(t + 1)/(W + 1)                 (step 0 already trains; the peak at t = W)\n"
        "    t ≥ W:   x = (min(t, T) − W)/(T − W)            (0 at the peak, 1 at the end, held after)\n"
        "             lr = η·(f + (1 − f)·(1 + cos(πx))/2)\n"
        "Check by hand with W = 10, T = 110: step 0 gives η/11, step 10 gives η, step 60 gives 0.55·η, "
        "and step 110 and every later step give 0.1·η.",
        "An early return for the warmup, then three numbers in a row for the decay: the step capped at "
        "total_steps (the built-in min), the progress from that capped step, and the half-cosine "
        "factor from the math module (cos and pi), which falls from 1 to 0. The learning rate is the "
        "peak times the floor plus (1 − floor) times that factor. Everything is a Python float; no "
        "torch needed.",
    ),
    forbidden=("course_lib.schedules", "torch.optim.lr_scheduler"),
)


# ---------------------------------------------------------------- l07_wsd_lr

def _wsd_cases(rng: np.random.Generator) -> list[Case]:
    peak = _peak(rng)
    W, D, T = 10, 20, 100
    w2, t2 = int(rng.integers(50, 200)), int(rng.integers(5000, 20000))
    d2 = t2 // 10
    return [
        Case("step 0 (the first warmup step)", (0, W, D, T, peak)),
        Case("in the middle of the warmup", (int(rng.integers(2, W - 1)), W, D, T, peak)),
        Case("on the plateau", (int(rng.integers(W, T - D)), W, D, T, peak)),
        Case("the first step of the decay (still the peak)", (T - D, W, D, T, peak)),
        Case("halfway through the decay", (T - D // 2, W, D, T, peak)),
        Case("a random step of the decay", (int(rng.integers(T - D + 1, T)), W, D, T, peak)),
        Case("step = total_steps (the floor)", (T, W, D, T, peak), {"floor": 0.1}),
        Case("after the end (held at the floor)", (T + int(rng.integers(1, 50)), W, D, T, peak)),
        Case("floor = 0.1, in the decay", (int(rng.integers(T - D + 1, T)), W, D, T, peak), {"floor": 0.1}),
        Case("no warmup (warmup_steps = 0)", (0, 0, D, T, peak)),
        Case("a long run, late in the decay", (t2 - d2 // 4, w2, d2, t2, peak), hidden=True),
        Case("no plateau (warmup_steps + decay_steps = total_steps)",
             (W + int(rng.integers(1, T - W)), W, T - W, T, peak), hidden=True),
        Case("long after the end, floor = 0.1", (2 * t2, w2, d2, t2, peak), {"floor": 0.1}, hidden=True),
    ]


def _wsd_reference(step, warmup_steps, decay_steps, total_steps, peak_lr, floor=0.0):
    schedule = warmup_stable_decay(warmup_steps, decay_steps, total_steps, floor, decay_shape="linear")
    return peak_lr * schedule(step)


def _wsd_compare(case: Case, expected, got) -> str | None:
    value, problem = _as_answer(got)
    if problem:
        return problem
    step, W, D, T, peak = case.args
    floor = case.kwargs.get("floor", 0.0)
    start = T - D
    s = min(step, T)

    def linear(progress: float) -> torch.Tensor:
        return _t(peak * (floor + (1 - floor) * (1 - progress)))

    mistakes = []
    if step < W:
        off_by_one = ("the warmup is off by one: the ramp is η·(t + 1)/(W + 1), so step 0 already "
                      "trains and the peak comes exactly at step t = W")
        mistakes += [(off_by_one, _t(peak * step / W)), (off_by_one, _t(peak * (step + 1) / W))]
    else:
        progress = max(s - start, 0) / D
        mistakes += [
            ("the decay takes only the LAST decay_steps steps: it starts at step T − D, and the lr "
             "stays at the peak from the end of the warmup until then", linear((s - W) / (T - W))),
            ("decay_steps is the length of the decay, not the step where it starts: the decay runs "
             "from T − D to T", linear(max(s - D, 0) / (T - D))),
            ("after total_steps the lr stays at the floor: the progress stops at min(t, T), or the lr "
             "keeps falling below the floor", linear(max(step - start, 0) / D)),
            ("the floor is missing: the decay should end at f·η, not at 0 (it falls over the part above "
             "the floor, (1 − f)·η)", _t(peak * (1 - progress))),
            ("floor is a fraction of the peak: the lr ends at f·η, not at f (and everything is "
             "multiplied by the peak)", _t(floor + (peak - floor) * (1 - progress))),
            ("the decay here is linear, 1 − x (the library's default shape is 1 − √x)",
             _t(peak * (floor + (1 - floor) * (1 - math.sqrt(progress))))),
            ("the decay here is linear, 1 − x, not a cosine",
             _t(peak * (floor + (1 - floor) * _cos(progress)))),
            ("the decay is off by one step: its progress x is 0 at the first step of the decay, t = T − D, "
             "and 1 at t = T", linear(min(max(s - start + 1, 0) / D, 1.0))),
        ]
    mistakes.append(("that is the multiplier: multiply it by peak_lr", _t(expected / peak)))
    return diagnose("the learning rate", _t(expected), _t(value), mistakes, rtol=_RTOL, atol=_ATOL)


WSD_LR = Exercise(
    grade_id="l07_wsd_lr",
    function="wsd_lr",
    points=2,
    make_cases=_wsd_cases,
    reference=_wsd_reference,
    compare=_wsd_compare,
    hint="three pieces: the same warmup ramp, then the peak held flat, then a straight line down to the "
         "floor over the LAST decay_steps steps, held after the end.",
    hints=(
        "With D = decay_steps and the rest as in warmup_cosine_lr, the decay starts at step T − D:\n"
        "    t < W:            lr = η·(t + 1)/(W + 1)\n"
        "    W ≤ t < T − D:    lr = η                              (the stable plateau)\n"
        "    t ≥ T − D:        x = (min(t, T) − (T − D))/D         (0 where the decay starts, 1 at T)\n"
        "                      lr = η·(f + (1 − f)·(1 − x))\n"
        "Check by hand with W = 10, D = 20, T = 100, f = 0: the peak from step 10 to step 80, 0.5·η at "
        "step 90, and 0 from step 100 on.",
        "Compute the step where the decay starts (total_steps minus decay_steps) once, at the top. "
        "Then two early returns, the warmup ramp and the plateau (just the peak), each guarded by a "
        "comparison of step with the start of the next piece. What is left is the decay: the progress "
        "from the step capped at total_steps (the built-in min), and the peak times the floor plus "
        "(1 − floor) times one minus the progress. Python floats throughout.",
    ),
    forbidden=("course_lib.schedules", "torch.optim.lr_scheduler"),
)


# this lesson's exercises, in the order the notebook asks for them
# ---------------------------------------------------------------- l07_shortest_warmup

def warmup_runs(w0: np.ndarray, peak_lr: float, steps: int, warmups) -> np.ndarray:
    """For each warmup length (0 = none), the step at which the run diverged (``|w| > 1e6`` or not
    finite), or -1 if it trained. Gradient descent on ``sum((w**2 - 1)**2) / 4`` from ``w0``, with
    ``lr_t = peak_lr * min(1, (t + 1) / warmup)`` at step ``t = 0, 1, ...``."""
    warmups = np.asarray(warmups, dtype=float).reshape(-1, 1)
    w = np.tile(np.asarray(w0, dtype=float), (len(warmups), 1))
    died = np.full(len(warmups), -1)
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(steps):
            frac = np.where(warmups > 0, np.minimum(1.0, (t + 1) / np.maximum(warmups, 1)), 1.0)
            w = w - peak_lr * frac * (w**3 - w)
            bad = (~np.isfinite(w) | (np.abs(w) > 1e6)).any(axis=1) & (died < 0)
            died[bad] = t
            w[died >= 0] = 0.0
    return died


def _warmup_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for k in range(7):
        w0 = 10 ** rng.uniform(0.4, 1.1, size=4) * rng.choice([-1.0, 1.0], size=4)
        cases.append(Case(f"run {k + 1}" if k < 5 else f"hidden run {k - 4}", (as_tensor(w0),),
                          {"peak_lr": float(rng.uniform(0.3, 0.9)), "steps": 300}, hidden=k >= 5))
    return cases


def _warmup_reference(w0, peak_lr, steps):
    died = warmup_runs(w0.numpy(), peak_lr, steps, np.arange(steps + 1))
    bad = np.nonzero(died >= 0)[0]
    return int(bad.max() + 1) if len(bad) else 0   # every longer warmup trains


def _warmup_compare(case: Case, expected, got) -> str | None:
    if isinstance(got, float) and got.is_integer():
        got = int(got)
    if isinstance(got, bool) or not isinstance(got, int | np.integer) or got < 0:
        return f"return the warmup length as a non-negative int (steps), got {describe(got)}"
    w0, peak, steps = case.args[0].numpy(), case.kwargs["peak_lr"], case.kwargs["steps"]
    died = int(warmup_runs(w0, peak, steps, [got])[0])
    if died >= 0:
        return (f"with a warmup of {got} steps the run diverged at step {died}: the learning rate "
                "grew faster than the weights left the steep walls (curvature 3w² − 1 there), so "
                "lr × curvature passed 2. A longer warmup is needed.")
    if got > 1.2 * expected + 2:
        return (f"a warmup of {got} steps trains, but it is more than 20% longer than needed: "
                "shorter warmups train too. Find the shortest one.")
    return None


SHORTEST_WARMUP = Exercise(
    grade_id="l07_shortest_warmup",
    function="shortest_warmup",
    points=3,
    all_or_nothing=True,  # a guessed warmup must not earn part of the points
    make_cases=_warmup_cases,
    reference=_warmup_reference,
    compare=_warmup_compare,
    hint="you can run the experiment yourself, as many times as you like: find a warmup that "
         "trains, one that does not, and close in on the boundary.",
    hints=(
        "Gradient descent is stable at a point only while lr × curvature < 2 (lesson 03), and "
        "here the curvature 3w² − 1 is huge on the walls where the run starts and 2 at the "
        "minimum. A warmup keeps lr small until the weights have slid down; too short, and a "
        "step overshoots to a steeper place, and the next further still. Divergence is a yes/no "
        "outcome of a run, and longer warmups only make it safer here.",
        "Write the run as the task defines it (the schedule, the update, the divergence test) "
        "as a function of the warmup length that says whether it trained. Check that no warmup "
        "diverges and that a warmup of `steps` trains; then bisect between them (or scan upward "
        "from 0) for the smallest length that trains, and return it as an int.",
    ),
)


EXERCISES = (WARMUP_COSINE_LR, WSD_LR, SHORTEST_WARMUP)
