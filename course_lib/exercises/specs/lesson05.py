"""Lesson 05 exercises: adaptive methods, in torch's conventions and with torch's defaults.

``adagrad_step``, ``rmsprop_step`` and ``adam_step`` each do one update of one parameter
tensor and return the new parameter and the new state. The reference is one step of
``torch.optim.Adagrad`` / ``RMSprop`` / ``Adam`` on a copy, with the state placed in the
optimizer (``sum``; ``square_avg``; ``exp_avg``, ``exp_avg_sq`` and ``step = t - 1``).

Adam's textbook form p - lr * m_hat / (sqrt(v_hat) + eps) and torch's arrangement
p - (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps) are the same number up to rounding, so both
pass.

``diagnose_adam`` is a debugging task: it receives the record of a run (the gradients of one
weight and the steps an Adam implementation took with them) and names the implementation's
bias-correction bug, one of :data:`ADAM_BUGS`; the cases inject each bug, with random betas,
learning rate and gradients.
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
    adam_state_case_maker,
    as_tensor,
    describe,
    diagnose_tuple,
)

__all__ = ["ADAM_BUGS", "DIAGNOSE_ADAM", "adam_record", "ADAGRAD_STEP", "ADAM_STEP", "EXERCISES", "RMSPROP_STEP"]

# torch's defaults
ADAGRAD_DEFAULTS = {"lr": 1e-2, "eps": 1e-10}
RMSPROP_DEFAULTS = {"lr": 1e-2, "alpha": 0.99, "eps": 1e-8}
ADAM_DEFAULTS = {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8}


def _tol(p: torch.Tensor) -> tuple[float, float]:
    # state entries can be tiny (v ~ g^2 ~ 1e-12): float64 relies on the relative tolerance
    return (1e-4, 1e-6) if p.dtype == F32 else (1e-6, 1e-14)


def _settings(case: Case, defaults: dict) -> dict:
    return {**defaults, **case.kwargs}


def _torch_step(opt_class, p: torch.Tensor, g: torch.Tensor, state: dict, **hyper) -> tuple:
    """One step of a torch optimizer on a copy of ``p`` from the given state."""
    param = p.detach().clone()
    param.grad = g.detach().clone()
    opt = opt_class([param], foreach=False, **hyper)
    opt.state[param].update({k: v.detach().clone() for k, v in state.items()})
    opt.step()
    return param.detach(), opt.state[param]


def _uphill(names: str) -> str:
    return f"p moved uphill: the step {names} is subtracted from p"


# ---------------------------------------------------------------- shared case builder

def _cases(rng: np.random.Generator, state_scale: float, extra: list[tuple[str, dict]]) -> list[Case]:
    """Cases (p, g, state) with kwargs; ``state`` >= 0 of roughly ``state_scale`` * g^2."""
    def r(*shape, dtype=F64, scale=1.0):
        return as_tensor(scale * rng.normal(size=shape), dtype)

    def s(*shape, dtype=F64, scale=1.0):
        return as_tensor(scale ** 2 * state_scale * rng.uniform(0.2, 2.0, size=shape) ** 2, dtype)

    cases = [
        Case("first step (state = 0), float32", (r(4, dtype=F32), r(4, dtype=F32), torch.zeros(4, dtype=F32)),
             {"lr": 0.1}),
        Case("a later step", (r(5), r(5), s(5)), {"lr": 0.05}),
        Case("2-D parameter, float32", (r(3, 4, dtype=F32), r(3, 4, dtype=F32), s(3, 4, dtype=F32)), {"lr": 0.01}),
        Case("zero gradient", (r(4), torch.zeros(4, dtype=F64), s(4)), {"lr": 0.1}),
        Case("default hyperparameters", (r(6), r(6), s(6))),
        Case("large eps = 0.1", (r(5), r(5), s(5)), {"lr": 0.1, "eps": 0.1}),
        Case("a 0-dim parameter", (r(), r(), s()), {"lr": 0.02}),
    ]
    cases += [Case(name, (r(5), r(5), s(5)), kwargs) for name, kwargs in extra]
    cases += [
        Case("tiny gradients (about 1e-6)", (r(5), r(5, scale=1e-6), s(5, scale=1e-6)), {"lr": 0.01},
             hidden=True),
        Case("a big 2-D parameter", (r(10, 10), r(10, 10), s(10, 10)), {"lr": 0.03}, hidden=True),
    ]
    return cases


# ---------------------------------------------------------------- l05_adagrad_step

def _adagrad_cases(rng: np.random.Generator) -> list[Case]:
    return _cases(rng, 3.0, [])


def _adagrad_reference(p, g, sum_sq, lr=ADAGRAD_DEFAULTS["lr"], eps=ADAGRAD_DEFAULTS["eps"]):
    new_p, state = _torch_step(torch.optim.Adagrad, p, g, {"sum": sum_sq}, lr=lr, eps=eps)
    return new_p, state["sum"].detach().clone()


def _adagrad_compare(case: Case, expected, got) -> str | None:
    p0, g0, s0 = case.args
    hp = _settings(case, ADAGRAD_DEFAULTS)
    lr, eps = hp["lr"], hp["eps"]
    p, g, s = p0.double(), g0.double(), s0.double()
    s_new = s + g * g
    mistakes = [
        ("sum_sq is wrong: it accumulates the SQUARED gradient, g ⊙ g, not g itself", (None, s + g)),
        ("sum_sq should be the running sum of all squared gradients: this step's g² is added to the old "
         "sum, not put in its place", (None, g * g)),
        ("sum_sq is right but p is not: the step divides by the square root of the sum, √s + ε",
         (p - lr * g / (s_new + eps), s_new)),
        ("sum_sq is right but p is not: ε goes outside the square root, √s + ε",
         (p - lr * g / torch.sqrt(s_new + eps), s_new)),
        ("sum_sq is right but p is not: ε is missing from the denominator, √s + ε",
         (p - lr * g / torch.sqrt(s_new), s_new)),
        ("sum_sq is right but p is not: step with the NEW sum (add this step's g² first, then update p)",
         (p - lr * g / (torch.sqrt(s) + eps), s_new)),
        (_uphill("η·g / (√s + ε)"), (p + lr * g / (torch.sqrt(s_new) + eps), s_new)),
    ]
    rtol, atol = _tol(p0)
    return diagnose_tuple(("new_p", "new_sum_sq"), expected, got, mistakes, rtol=rtol, atol=atol)


ADAGRAD_STEP = Exercise(
    grade_id="l05_adagrad_step",
    function="adagrad_step",
    points=2,
    make_cases=_adagrad_cases,
    reference=_adagrad_reference,
    compare=_adagrad_compare,
    hint="each coordinate divides its step by the root of everything it has seen: the sum of ALL its "
         "squared gradients so far, this one included.",
    hints=(
        "Element-wise, with s the running sum:\n"
        "    s ← s + g ⊙ g            (this step's squared gradient joins the sum)\n"
        "    p ← p − η · g / (√s + ε)  (with the NEW s; ε outside the root)\n"
        "A coordinate that has seen large gradients gets a large s and takes small steps; s only grows, "
        "so every step shrinks over time.",
        "Two lines of tensor arithmetic, in this order: first the new sum (a new tensor, out of place), "
        "then the new p from it, using torch's element-wise square root (sqrt) and adding eps after the "
        "root. Return (new_p, new_sum_sq). The defaults in the signature (lr = 1e-2, eps = 1e-10) are "
        "torch's.",
    ),
    forbidden=OPTIMIZERS,
)


# ---------------------------------------------------------------- l05_rmsprop_step

def _rmsprop_cases(rng: np.random.Generator) -> list[Case]:
    return _cases(rng, 1.0, [("alpha = 0.9", {"lr": 0.01, "alpha": 0.9})])


def _rmsprop_reference(p, g, v, lr=RMSPROP_DEFAULTS["lr"], alpha=RMSPROP_DEFAULTS["alpha"],
                       eps=RMSPROP_DEFAULTS["eps"]):
    state = {"step": torch.tensor(0.0), "square_avg": v}
    new_p, state = _torch_step(torch.optim.RMSprop, p, g, state, lr=lr, alpha=alpha, eps=eps)
    return new_p, state["square_avg"].detach().clone()


def _rmsprop_compare(case: Case, expected, got) -> str | None:
    p0, g0, v0 = case.args
    hp = _settings(case, RMSPROP_DEFAULTS)
    lr, alpha, eps = hp["lr"], hp["alpha"], hp["eps"]
    p, g, v = p0.double(), g0.double(), v0.double()
    v_new = alpha * v + (1 - alpha) * g * g
    mistakes = [
        ("v is wrong: did you square the gradient? v averages g ⊙ g, not g",
         (None, alpha * v + (1 - alpha) * g)),
        ("v is wrong: alpha and 1 - alpha are swapped; the old average keeps the weight alpha",
         (None, (1 - alpha) * v + alpha * g * g)),
        ("v is wrong: the (1 - alpha) factor on the squared gradient is missing", (None, alpha * v + g * g)),
        ("v is right but p is not: the step divides by the square root of v, √v + ε",
         (p - lr * g / (v_new + eps), v_new)),
        ("v is right but p is not: ε goes outside the square root, √v + ε",
         (p - lr * g / torch.sqrt(v_new + eps), v_new)),
        ("v is right but p is not: ε is missing from the denominator, √v + ε",
         (p - lr * g / torch.sqrt(v_new), v_new)),
        ("v is right but p is not: step with the NEW v (update v first, then p)",
         (p - lr * g / (torch.sqrt(v) + eps), v_new)),
        ("v is right but p is not: RMSprop (torch's) has no bias correction; divide by √v + ε as it is",
         (p - lr * g / (torch.sqrt(v_new / (1 - alpha)) + eps), v_new)),
        (_uphill("η·g / (√v + ε)"), (p + lr * g / (torch.sqrt(v_new) + eps), v_new)),
    ]
    rtol, atol = _tol(p0)
    return diagnose_tuple(("new_p", "new_v"), expected, got, mistakes, rtol=rtol, atol=atol)


RMSPROP_STEP = Exercise(
    grade_id="l05_rmsprop_step",
    function="rmsprop_step",
    points=2,
    make_cases=_rmsprop_cases,
    reference=_rmsprop_reference,
    compare=_rmsprop_compare,
    hint="AdaGrad's sum that only grows becomes a moving average that forgets: the old v keeps the weight "
         "alpha, the new squared gradient gets the rest.",
    hints=(
        "Element-wise:\n"
        "    v ← α·v + (1 − α)·g ⊙ g     (an exponential moving average of the squared gradient)\n"
        "    p ← p − η · g / (√v + ε)     (with the NEW v; ε outside the root)\n"
        "torch's RMSprop has no bias correction: early on, while v is still near 0, the steps are large, "
        "and that is what the check expects.",
        "The same shape as your adagrad_step, one change: the state is a weighted average of the old v "
        "and this step's squared gradient (weights alpha and 1 − alpha) instead of a sum. Order: new v "
        "first (out of place), then the new p from it with torch's sqrt, eps added after the root. "
        "Return (new_p, new_v).",
    ),
    forbidden=OPTIMIZERS,
)


# ---------------------------------------------------------------- l05_adam_step

def _adam_cases(rng: np.random.Generator) -> list[Case]:
    case = adam_state_case_maker(rng)

    return [
        case("first step t = 1 (m = v = 0), float32", (4,), 1, dtype=F32, kwargs={"lr": 0.1}, fresh=True),
        case("step t = 10 with some history", (5,), 10, kwargs={"lr": 0.01}),
        case("step t = 1000 (bias correction of m has faded)", (5,), 1000, kwargs={"lr": 0.01}),
        case("zero gradient (momentum still moves p)", (4,), 5, kwargs={"lr": 0.1}, zero_g=True),
        case("2-D parameter, float32", (3, 4), 3, dtype=F32, kwargs={"lr": 0.01}),
        case("default hyperparameters", (6,), 2),
        case("betas = (0.8, 0.99), lr 0.01", (5,), 4, kwargs={"lr": 0.01, "betas": (0.8, 0.99)}),
        case("large eps = 0.1", (5,), 4, kwargs={"lr": 0.1, "eps": 0.1}),
        case("a 0-dim parameter", (), 7, kwargs={"lr": 0.02}),
        case("tiny gradients (about 1e-6)", (5,), 7, kwargs={"lr": 0.01}, g_scale=1e-6, hidden=True),
        case("a big 2-D parameter", (10, 10), 50, kwargs={"lr": 0.03}, hidden=True),
        case("first step, 2-D", (3, 3), 1, kwargs={"lr": 0.05}, fresh=True, hidden=True),
    ]


def _adam_reference(p, g, m, v, t, lr=ADAM_DEFAULTS["lr"], betas=ADAM_DEFAULTS["betas"],
                    eps=ADAM_DEFAULTS["eps"]):
    state = {"step": torch.tensor(float(t - 1)), "exp_avg": m, "exp_avg_sq": v}
    new_p, state = _torch_step(torch.optim.Adam, p, g, state, lr=lr, betas=tuple(betas), eps=eps)
    return new_p, state["exp_avg"].detach().clone(), state["exp_avg_sq"].detach().clone()


def _adam_compare(case: Case, expected, got) -> str | None:
    p0, g0, m0, v0, t = case.args
    hp = _settings(case, ADAM_DEFAULTS)
    lr, (b1, b2), eps = hp["lr"], hp["betas"], hp["eps"]
    p, g, m, v = p0.double(), g0.double(), m0.double(), v0.double()
    m_new = b1 * m + (1 - b1) * g
    v_new = b2 * v + (1 - b2) * g * g
    bc1, bc2 = 1 - b1 ** t, 1 - b2 ** t

    def step(m_hat, v_hat, eps_inside=False, no_eps=False):
        denom = torch.sqrt(v_hat + eps) if eps_inside else torch.sqrt(v_hat) + (0.0 if no_eps else eps)
        return p - lr * m_hat / denom

    m_hat, v_hat = m_new / bc1, v_new / bc2
    right_mv = "m and v are right but p is not: "
    mistakes = [
        ("m is right but v is not: did you square the gradient? v averages g ⊙ g, m averages g",
         (None, m_new, b2 * v + (1 - b2) * g)),
        ("m is right but v is not: the (1 - beta2) factor on the squared gradient is missing",
         (None, m_new, b2 * v + g * g)),
        ("v is right but m is not: the (1 - beta1) factor on g is missing", (None, b1 * m + g, v_new)),
        ("beta1 and beta2 are swapped: m, the average of g, uses the first of betas; v, the average of "
         "g², the second", (None, b2 * m + (1 - b2) * g, b1 * v + (1 - b1) * g * g)),
        (right_mv + "did you forget the bias correction? m and v start at zero, so early on they are "
         "too small by the factors (1 − β₁ᵗ) and (1 − β₂ᵗ): divide each by its factor before the step",
         (step(m_new, v_new), m_new, v_new)),
        (right_mv + "you bias-corrected m but not v: v needs its own factor, (1 − β₂ᵗ)",
         (step(m_hat, v_new), m_new, v_new)),
        (right_mv + "you bias-corrected v but not m: m needs its own factor, (1 − β₁ᵗ)",
         (step(m_new, v_hat), m_new, v_new)),
        (right_mv + "the bias correction is off by one step: use the t you are given (t = 1 on the "
         "first step) as the power", (step(m_new / (1 - b1 ** (t - 1)), v_new / (1 - b2 ** (t - 1))),
                                      m_new, v_new)),
        (right_mv + "the bias correction is off by one step: use the t you are given as the power",
         (step(m_new / (1 - b1 ** (t + 1)), v_new / (1 - b2 ** (t + 1))), m_new, v_new)),
        (right_mv + "ε goes outside the square root: √v̂ + ε",
         (step(m_hat, v_hat, eps_inside=True), m_new, v_new)),
        (right_mv + "ε is missing from the denominator: √v̂ + ε", (step(m_hat, v_hat, no_eps=True), m_new, v_new)),
        (right_mv + "p was updated with the OLD m and v: update m and v first, then p",
         (step(m / bc1, v / bc2), m_new, v_new)),
        (_uphill("η·m̂ / (√v̂ + ε)"), (2 * p - step(m_hat, v_hat), m_new, v_new)),
    ]
    rtol, atol = _tol(p0)
    return diagnose_tuple(("new_p", "new_m", "new_v"), expected, got, mistakes, rtol=rtol, atol=atol)


ADAM_STEP = Exercise(
    grade_id="l05_adam_step",
    function="adam_step",
    points=3,
    make_cases=_adam_cases,
    reference=_adam_reference,
    compare=_adam_compare,
    hint="Adam keeps two running averages, of the gradient and of its square, and both start at zero: "
         "which one sees the squared gradient, and what does starting at zero do to the first steps?",
    hints=(
        "Adam = momentum (m, an average of g) + RMSprop (v, an average of g²), both corrected for "
        "starting at zero. Element-wise, with t the number of this step (1 on the first):\n"
        "    m ← β₁·m + (1 − β₁)·g             m̂ = m / (1 − β₁ᵗ)\n"
        "    v ← β₂·v + (1 − β₂)·g ⊙ g         v̂ = v / (1 − β₂ᵗ)\n"
        "    p ← p − η · m̂ / (√v̂ + ε)\n"
        "Why the correction: after one step from zero, m = (1 − β₁)·g, only a tenth of g; dividing by "
        "(1 − β₁¹) gives back g exactly. So on the first step m̂ = g, v̂ = g², and every coordinate moves "
        "by almost exactly η: a handy sanity check.",
        "In this order, all out of place:\n"
        "  1. take beta1 and beta2 out of the betas pair;\n"
        "  2. the new m and the new v (these two are what you return as the state, uncorrected);\n"
        "  3. the corrected copies m_hat and v_hat, each divided by one minus its beta to the power t "
        "(t is an int; Python's power operator works on floats);\n"
        "  4. the new p from m_hat and v_hat, with torch's sqrt, eps added after the root.\n"
        "Return (new_p, new_m, new_v): the state keeps the uncorrected averages, or the next step would "
        "correct them twice.",
    ),
    forbidden=OPTIMIZERS,
)


# this lesson's exercises, in the order the notebook asks for them
# ---------------------------------------------------------------- l05_diagnose_adam

#: The diagnoses ``diagnose_adam`` chooses from.
ADAM_BUGS = ("correct", "no bias correction", "only m corrected", "only v corrected")


def adam_record(grads: np.ndarray, lr: float, beta1: float, beta2: float, bug: str,
                eps: float = 1e-8) -> np.ndarray:
    """The steps ``p_t - p_{t-1}`` an Adam with ``bug`` (one of :data:`ADAM_BUGS`) takes on ``grads``."""
    m = v = 0.0
    steps = []
    for t, g in enumerate(grads, start=1):
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat = m if bug in ("no bias correction", "only v corrected") else m / (1 - beta1**t)
        v_hat = v if bug in ("no bias correction", "only m corrected") else v / (1 - beta2**t)
        steps.append(-lr * m_hat / (math.sqrt(v_hat) + eps))
    return np.array(steps)


def _diagnose_cases(rng: np.random.Generator) -> list[Case]:
    bugs = list(ADAM_BUGS) + list(rng.permutation(ADAM_BUGS))
    cases = []
    for k, bug in enumerate(bugs):
        n = int(rng.integers(20, 60))
        grads = rng.normal(rng.uniform(-1, 1), rng.uniform(0.1, 1), size=n) * 10 ** rng.uniform(-3, 2)
        lr = float(10 ** rng.uniform(-4, -1))
        beta1, beta2 = float(rng.uniform(0.8, 0.95)), float(1 - 10 ** rng.uniform(-4, -2))
        steps = adam_record(grads, lr, beta1, beta2, bug)
        hidden = k >= 6
        cases.append(Case(f"recorded run {k + 1}" + (" (hidden)" if hidden else ""),
                          (as_tensor(grads), as_tensor(steps)),
                          {"lr": lr, "beta1": beta1, "beta2": beta2}, hidden=hidden))
    return cases


def _diagnose_reference(grads, steps, lr, beta1, beta2):
    g = grads.numpy()
    errors = {bug: float(np.abs(adam_record(g, lr, beta1, beta2, bug) - steps.numpy()).max())
              for bug in ADAM_BUGS}
    return min(errors, key=errors.get)


def _diagnose_compare(case: Case, expected, got) -> str | None:
    if not isinstance(got, str) or got not in ADAM_BUGS:
        return f"return one of {list(ADAM_BUGS)}, got {describe(got)}"
    if got == expected:
        return None
    grads, steps = case.args[0].numpy(), case.args[1].numpy()
    lr = case.kwargs["lr"]
    first = abs(steps[0]) / lr
    return (f"this run's implementation is not '{got}': its first step was {first:.3g} × lr, and "
            f"'{got}' would have taken {abs(adam_record(grads[:1], lr, case.kwargs['beta1'], case.kwargs['beta2'], got)[0]) / lr:.3g} × lr "
            "there. Work out what each candidate does on step 1 with these betas, or replay the "
            "run with each.")


DIAGNOSE_ADAM = Exercise(
    grade_id="l05_diagnose_adam",
    function="diagnose_adam",
    points=2,
    all_or_nothing=True,  # a guessed label (1 of 4) must not earn part of the points
    make_cases=_diagnose_cases,
    reference=_diagnose_reference,
    compare=_diagnose_compare,
    hint="bias correction matters most on the first steps: what size is Adam's first step with and "
         "without each correction, for these betas?",
    hints=(
        "On step 1, m = (1 − β₁)·g and v = (1 − β₂)·g². Corrected, m̂/√v̂ = g/|g|: a step of exactly lr. "
        "Each missing correction leaves its factor in: (1 − β₁) in the numerator, √(1 − β₂) in the "
        "denominator. So the first step's size, divided by lr, tells the four implementations apart; "
        "the later steps confirm it.",
        "A robust way: write Adam once with two switches (correct m or not, correct v or not), replay "
        "the recorded gradients through all four versions with the run's lr and betas, and return the "
        "version whose steps match the recorded ones best (the largest absolute difference is a good "
        "measure).",
    ),
)


EXERCISES = (ADAGRAD_STEP, RMSPROP_STEP, ADAM_STEP, DIAGNOSE_ADAM)
