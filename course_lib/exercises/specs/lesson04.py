"""Lesson 04 exercises: momentum and Nesterov, in torch's convention.

``momentum_step`` and ``nesterov_step`` each do one update of one parameter tensor and return
``(new_p, new_buf)``. ``tune_momentum`` is an experiment: it receives a randomised ravine (a
2-D quadratic's Hessian, a start and a step budget) and returns a learning rate and a momentum;
the check runs them (torch's heavy ball) and requires the loss to fall by the target factor
within the budget. The reference is one step of ``torch.optim.SGD`` on a copy, with the
momentum buffer placed in the optimizer's state:

    buf = g (first step, buf is None)   or   buf = mu * buf + g
    p   = p - lr * buf                       (momentum)
    p   = p - lr * (g + mu * buf)            (Nesterov, as torch writes it)
"""

from __future__ import annotations

import math

import numpy as np
import torch

from course_lib.exercises.protocol import Case, Exercise
from course_lib.exercises.specs._helpers import (
    F32,
    F64,
    OPTIMIZERS,
    as_tensor,
    describe,
    diagnose_tuple,
    tolerances,
)

__all__ = ["EXERCISES", "MOMENTUM_STEP", "NESTEROV_STEP", "TUNE_MOMENTUM", "heavy_ball_run",
           "sgd_reference"]


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


# ---------------------------------------------------------------- l04_tune_momentum

def heavy_ball_run(H: np.ndarray, x0: np.ndarray, lr: float, mu: float, steps: int) -> np.ndarray:
    """Losses ``f(x_0), ..., f(x_steps)`` of torch's momentum (``buf = mu*buf + g``,
    ``x -= lr*buf``) on ``f(x) = x^T H x / 2``; stops early (inf) once the loss passes 1e12."""
    H, x = np.asarray(H, dtype=float), np.asarray(x0, dtype=float).copy()
    buf = np.zeros_like(x)
    losses = [0.5 * x @ H @ x]
    for _ in range(steps):
        g = H @ x
        buf = mu * buf + g
        x = x - lr * buf
        f = 0.5 * x @ H @ x
        losses.append(f if np.isfinite(f) and f < 1e12 else math.inf)
        if losses[-1] == math.inf:
            break
    return np.array(losses)


def _polyak(H) -> tuple[float, float]:
    lo, hi = np.linalg.eigvalsh(np.asarray(H, dtype=float))[[0, -1]]
    return 4 / (math.sqrt(hi) + math.sqrt(lo)) ** 2, ((math.sqrt(hi) - math.sqrt(lo)) /
                                                      (math.sqrt(hi) + math.sqrt(lo))) ** 2


def _ravine(rng: np.random.Generator, log_kappa: tuple[float, float], target: float) -> tuple:
    kappa = 10 ** rng.uniform(*log_kappa)
    top = 10 ** rng.uniform(-0.5, 1.5)                 # the steepest curvature: 0.3 to 30
    angle = rng.uniform(0, np.pi)
    R = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    H = R @ np.diag([top, top / kappa]) @ R.T
    x0 = rng.normal(size=2)
    x0 *= rng.uniform(1, 3) / np.linalg.norm(x0)
    lr, mu = _polyak(H)
    need = int(np.argmax(heavy_ball_run(H, x0, lr, mu, 2000) <= target * 0.5 * x0 @ H @ x0))
    return as_tensor(H), as_tensor(x0), int(math.ceil(1.4 * need)) + 3, target


def _tune_cases(rng: np.random.Generator) -> list[Case]:
    specs = [("a ravine with kappa 30 to 100", (1.5, 2.0), 1e-8, False),
             ("a ravine with kappa 100 to 400", (2.0, 2.6), 1e-8, False),
             ("a mildly curved bowl, kappa 5 to 20", (0.7, 1.3), 1e-10, False),
             ("a narrow ravine, kappa 400 to 2000", (2.6, 3.3), 1e-6, False),
             ("another ravine with kappa 30 to 300", (1.5, 2.5), 1e-8, False),
             ("a hidden ravine", (1.0, 3.0), 1e-8, True),
             ("another hidden ravine", (2.0, 3.0), 1e-7, True)]
    cases = []
    for name, lk, target, hidden in specs:
        H, x0, steps, target = _ravine(rng, lk, target)
        cases.append(Case(name, (H, x0), {"max_steps": steps, "target": target}, hidden=hidden))
    return cases


def _tune_reference(H, x0, max_steps, target):
    lr, mu = _polyak(H.numpy())
    return {"lr": lr, "momentum": mu}


def _config(got) -> tuple[float, float] | str:
    """``(lr, momentum)`` from a returned dict, or why it is not a usable configuration."""
    if not isinstance(got, dict) or set(got) != {"lr", "momentum"}:
        return (f"return a dict with exactly the keys 'lr' and 'momentum', e.g. "
                f"{{'lr': ..., 'momentum': ...}}; got {describe(got)}")
    values = []
    for key in ("lr", "momentum"):
        v = got[key]
        if isinstance(v, torch.Tensor) and v.numel() == 1:
            v = v.item()
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            return f"{key} must be a finite number, got {describe(got[key])}"
        values.append(float(v))
    lr, mu = values
    if lr <= 0:
        return f"the learning rate must be positive, got {lr:g}"
    if not 0 <= mu < 1:
        return f"momentum must be in [0, 1): with {mu:g} the buffer never forgets (or flips sign)"
    return lr, mu


def _tune_compare(case: Case, expected, got) -> str | None:
    cfg = _config(got)
    if isinstance(cfg, str):
        return cfg
    lr, mu = cfg
    H, x0 = case.args[0].numpy(), case.args[1].numpy()
    steps, target = case.kwargs["max_steps"], case.kwargs["target"]
    losses = heavy_ball_run(H, x0, lr, mu, steps)
    f0 = losses[0]
    reached = np.nonzero(losses <= target * f0)[0]
    if len(reached):
        return None
    setting = f"with lr {lr:.3g} and momentum {mu:.3g}"
    if not np.isfinite(losses[-1]) or losses[-1] > f0:
        k = int(np.argmax(~np.isfinite(losses) | (losses > 10 * f0)))
        worst = losses[k] if np.isfinite(losses[k]) else 1e12
        return (f"{setting} the loss rose from {f0:.3g} to {worst:.1e} by step {k}: the run diverged. "
                "Some direction of this ravine is curved more steeply than these settings can take.")
    ratio = losses[-1] / f0
    tail = losses[-20:]
    bouncing = np.mean(np.diff(tail) > 0) > 0.3
    why = ("the loss goes up and down: the iterate still swings across the valley"
           if bouncing else "the loss falls steadily but too slowly: the flat direction is crawling")
    return (f"{setting} the loss fell to {ratio:.1e} of its start in {steps} steps, but the target is "
            f"{target:.0e}: not fast enough ({why}).")


TUNE_MOMENTUM = Exercise(
    grade_id="l04_tune_momentum",
    function="tune_momentum",
    points=3,
    all_or_nothing=True,  # a guessed configuration must not earn part of the points
    make_cases=_tune_cases,
    reference=_tune_reference,
    compare=_tune_compare,
    hint="every ravine is different, so measure this one: how steep is its steepest direction and how "
         "flat its flattest? Then check your pair by running it before you return it.",
    hints=(
        "On f(x) = ½ xᵀHx the curvatures are the eigenvalues of H, from λ_min to λ_max. The learning "
        "rate is capped by λ_max, the speed is set by κ = λ_max/λ_min, and section 6 of lesson 04 "
        "gives the learning rate and momentum that make the worst direction shrink fastest, as "
        "functions of λ_min and λ_max.",
        "Steps: (1) the eigenvalues of H (H is symmetric, so numpy's or torch's symmetric eigenvalue "
        "routine works); (2) the pair from the smallest and largest, as section 6 computes it; "
        "(3) optional but wise: run torch's momentum (buffer = μ·buffer + gradient, x −= lr·buffer) "
        "from x0 for max_steps and check the loss ends below target times its start; (4) return "
        "a dict with the two numbers as Python floats.",
    ),
)


# this lesson's exercises, in the order the notebook asks for them
EXERCISES = (MOMENTUM_STEP, NESTEROV_STEP, TUNE_MOMENTUM)
