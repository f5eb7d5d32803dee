"""Lesson 04 exercises: momentum and Nesterov, in torch's convention.

``momentum_step`` and ``nesterov_step`` each do one update of one parameter tensor and return
``(new_p, new_buf)``. The reference is one step of ``torch.optim.SGD`` on a copy, with the
momentum buffer placed in the optimizer's state:

    buf = g (first step, buf is None)   or   buf = mu * buf + g
    p   = p - lr * buf                       (momentum)
    p   = p - lr * (g + mu * buf)            (Nesterov, as torch writes it)
"""

from __future__ import annotations

import numpy as np
import torch

from course_lib.exercises.protocol import Case, Exercise
from course_lib.exercises.specs._helpers import (
    F32,
    F64,
    OPTIMIZERS,
    as_tensor,
    diagnose_tuple,
    tolerances,
)

__all__ = ["EXERCISES", "MOMENTUM_STEP", "NESTEROV_STEP", "sgd_reference"]


def sgd_reference(p: torch.Tensor, g: torch.Tensor, buf: torch.Tensor | None, lr: float, mu: float,
                  nesterov: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """One step of ``torch.optim.SGD(momentum=mu)`` on a copy of ``p``: ``(new_p, new_buf)``."""
    param = p.detach().clone()
    param.grad = g.detach().clone()
    opt = torch.optim.SGD([param], lr=lr, momentum=mu, nesterov=nesterov, foreach=False)
    if buf is not None:
        opt.state[param]["momentum_buffer"] = buf.detach().clone()
    opt.step()
    if mu == 0:                       # torch keeps no buffer without momentum; it would be g
        return param.detach(), g.detach().clone()
    return param.detach(), opt.state[param]["momentum_buffer"].detach().clone()


def _step_cases(rng: np.random.Generator, nesterov: bool) -> list[Case]:
    def r(*shape, dtype=F64):
        return as_tensor(rng.normal(size=shape), dtype)

    def case(name, p, g, buf, lr, mu, hidden=False):
        return Case(name, (p, g, buf), {"lr": lr, "mu": mu}, hidden=hidden)

    cases = [
        case("first step (buf is None), float32", r(4, dtype=F32), r(4, dtype=F32), None, 0.1, 0.9),
        case("a later step with a buffer", r(5), r(5), r(5), 0.05, 0.9),
        case("2-D parameter, float32", r(3, 4, dtype=F32), r(3, 4, dtype=F32), r(3, 4, dtype=F32), 0.01, 0.8),
        case("zero gradient (the buffer keeps the parameter moving)", r(4), torch.zeros(4, dtype=F64), r(4), 0.1, 0.9),
        case("a 0-dim parameter", r(), r(), r(), 0.2, 0.5),
        case("mu = 0.99", r(6), r(6), 10 * r(6), 0.001, 0.99),
        case("a big 2-D parameter", r(10, 10), r(10, 10), r(10, 10), 0.03, 0.9, hidden=True),
        case("first step, 2-D", r(3, 3), r(3, 3), None, 0.1, 0.95, hidden=True),
    ]
    if not nesterov:   # torch refuses nesterov=True with momentum 0
        cases.insert(4, case("mu = 0 (plain SGD)", r(5), r(5), r(5), 0.1, 0.0))
    return cases


def _candidates(p, g, buf, lr, mu):
    """Float64 versions of the pieces the mistakes are built from."""
    p, g = p.double(), g.double()
    old = torch.zeros_like(g) if buf is None else buf.double()
    new_buf = g.clone() if buf is None else mu * old + g
    ema = (1 - mu) * g if buf is None else mu * old + (1 - mu) * g
    return p, g, old, new_buf, ema


# ---------------------------------------------------------------- l04_momentum_step

def _momentum_cases(rng: np.random.Generator) -> list[Case]:
    return _step_cases(rng, nesterov=False)


def _momentum_reference(p, g, buf, lr, mu):
    return sgd_reference(p, g, buf, lr, mu, nesterov=False)


def _momentum_compare(case: Case, expected, got) -> str | None:
    p0, g0, buf0 = case.args
    lr, mu = case.kwargs["lr"], case.kwargs["mu"]
    p, g, old, new_buf, ema = _candidates(p0, g0, buf0, lr, mu)
    velocity = lr * g if buf0 is None else mu * old + lr * g
    mistakes = [
        ("that is the velocity form (v ← μv + lr·g, then p − v): torch keeps lr out of the buffer, "
         "which sums raw gradients, and multiplies by lr only when it steps", (p - velocity, velocity)),
        ("that is the EMA convention, with a (1 − μ) on g: torch's buffer has no (1 − μ); it is a "
         "decaying SUM of gradients (and equals g on the first step)", (None, ema)),
        ("new_buf is right but p is not: the step goes along the new buffer, not along g",
         (p - lr * g, new_buf)),
        ("new_buf is right but p is not: update the buffer first, then step with the NEW buffer",
         (p - lr * old, new_buf)),
        ("p moved uphill: the step is subtracted from p", (p + lr * new_buf, new_buf)),
        ("that is Nesterov's step (g plus the look-ahead μ·buf); plain momentum steps along the buffer alone",
         (p - lr * (g + mu * new_buf), new_buf)),
    ]
    rtol, atol = tolerances(p0)
    return diagnose_tuple(("new_p", "new_buf"), expected, got, mistakes, rtol=rtol, atol=atol)


MOMENTUM_STEP = Exercise(
    grade_id="l04_momentum_step",
    function="momentum_step",
    points=2,
    make_cases=_momentum_cases,
    reference=_momentum_reference,
    compare=_momentum_compare,
    hint="the buffer is a decaying sum of past gradients (it starts as the gradient itself), and p steps "
         "along the buffer, not along g.",
    hints=(
        "torch's momentum, with b the buffer:\n"
        "    first step (no buffer yet):  b = g\n"
        "    afterwards:                  b ← μ·b + g\n"
        "    then:                        p ← p − η·b   (with the NEW b)\n"
        "No (1 − μ) in front of g and no lr inside the buffer: those are the other conventions "
        "(EMA, velocity), which take different steps.",
        "Branch on whether buf is None (the first step). On the first step the new buffer is a copy of g "
        "(clone it: returning g itself would hand the caller's tensor back as the state); otherwise it is "
        "built out of place from the old buffer and g. Then the new p, out of place, from the new buffer. "
        "Return (new_p, new_buf) and never use in-place operations (mul_, add_, -=) on p, g or buf.",
    ),
    forbidden=OPTIMIZERS,
)


# ---------------------------------------------------------------- l04_nesterov_step

def _nesterov_cases(rng: np.random.Generator) -> list[Case]:
    return _step_cases(rng, nesterov=True)


def _nesterov_reference(p, g, buf, lr, mu):
    return sgd_reference(p, g, buf, lr, mu, nesterov=True)


def _nesterov_compare(case: Case, expected, got) -> str | None:
    p0, g0, buf0 = case.args
    lr, mu = case.kwargs["lr"], case.kwargs["mu"]
    p, g, _, new_buf, ema = _candidates(p0, g0, buf0, lr, mu)
    mistakes = [
        ("that is plain momentum (a step along the buffer alone): Nesterov looks ahead and steps along "
         "the gradient plus μ times the new buffer", (p - lr * new_buf, new_buf)),
        ("new_buf should be the momentum buffer (μ·buf + g, the same as plain momentum), not the Nesterov "
         "step", (None, g + mu * new_buf)),
        ("that is the EMA convention, with a (1 − μ) on g: torch's buffer has no (1 − μ); it is a "
         "decaying SUM of gradients (and equals g on the first step)", (None, ema)),
        ("p moved uphill: the step is subtracted from p", (p + lr * (g + mu * new_buf), new_buf)),
        ("new_buf is right but p is not: lr multiplies both terms of the step, the gradient and the "
         "look-ahead", (p - lr * g - mu * new_buf, new_buf)),
    ]
    rtol, atol = tolerances(p0)
    return diagnose_tuple(("new_p", "new_buf"), expected, got, mistakes, rtol=rtol, atol=atol)


NESTEROV_STEP = Exercise(
    grade_id="l04_nesterov_step",
    function="nesterov_step",
    points=2,
    make_cases=_nesterov_cases,
    reference=_nesterov_reference,
    compare=_nesterov_compare,
    hint="the buffer is exactly plain momentum's; only the step changes: it adds a look-ahead to the "
         "gradient.",
    hints=(
        "torch's Nesterov, with b the buffer:\n"
        "    first step:   b = g;   afterwards:   b ← μ·b + g      (the same buffer as plain momentum)\n"
        "    then:         p ← p − η·(g + μ·b)                     (with the NEW b)\n"
        "g + μ·b is where the momentum is about to carry you, rearranged so that only the gradient at "
        "the current point is needed. The buffer you return is b, not the step.",
        "Start from your momentum_step: the buffer part is unchanged (a clone of g when buf is None, "
        "otherwise built out of place from the old buffer). Then form the step, the gradient plus μ "
        "times the new buffer, as a separate tensor, and move p against it, scaled by lr. Return "
        "(new_p, new_buf): the buffer, not the step.",
    ),
    forbidden=OPTIMIZERS,
)


# this lesson's exercises, in the order the notebook asks for them
EXERCISES = (MOMENTUM_STEP, NESTEROV_STEP)
