"""Lesson 10 exercises: Newton's step and the L-BFGS two-loop recursion.

``newton_step(grad, hessian)`` returns the Newton step ``-H^{-1} g`` (the reference solves
``H d = -g`` with ``torch.linalg.solve`` in float64). The Hessians are symmetric and
well-conditioned, some indefinite: the formula does not care, which is the lesson's warning.

``two_loop_direction(g, s_list, y_list)`` returns ``r = H_k g``, the vector the two-loop
recursion computes, with ``H_0 = gamma I`` and ``gamma = s^T y / y^T y`` of the NEWEST pair
(``gamma = 1`` with no pairs); the L-BFGS search direction is ``-r``. The reference does not
use the recursion: it builds ``H_k`` as an explicit matrix by the BFGS inverse update

    H <- (I - rho s y^T) H (I - rho y s^T) + rho s s^T,   rho = 1 / (y^T s),

applied to ``gamma I`` with the pairs oldest first, and multiplies. (Nocedal & Wright, Algorithm
7.4 and eq. 7.20; :func:`course_lib.second_order.two_loop_direction` is checked against it in
the tests.)

``wolfe_step(coeffs)`` is an experiment: the run diverged because it always took the step t = 1.
It returns a step length t > 0 on a random 1-D slice ``phi(t) = sum_k coeffs[k] t^k`` (a quartic,
bounded below, ``phi'(0) < 0``) that meets the strong Wolfe conditions (c1 = 1e-4, c2 = 0.9).
Many steps are right; the check measures phi and phi' at the returned t. The slices put the good
steps anywhere from t ~ 1e-3 to t ~ 300, so no constant passes.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from course_lib.exercises.protocol import Case, Exercise
from course_lib.exercises.specs._helpers import (
    F32,
    F64,
    as_float,
    as_tensor,
    describe,
    diagnose,
    tolerances,
)

__all__ = ["EXERCISES", "NEWTON_STEP", "TWO_LOOP_DIRECTION", "WOLFE_STEP"]


def _spd(rng: np.random.Generator, n: int, lo: float = 0.5, hi: float = 5.0,
         signs: np.ndarray | None = None) -> np.ndarray:
    """A symmetric matrix with eigenvalues of size in [lo, hi] (negative where signs < 0)."""
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    lam = rng.uniform(lo, hi, size=n)
    if signs is not None:
        lam = lam * signs
    a = (q * lam) @ q.T
    return (a + a.T) / 2


# ---------------------------------------------------------------- l10_newton_step

def _newton_cases(rng: np.random.Generator) -> list[Case]:
    def g(n, dtype=F64):
        return as_tensor(rng.normal(size=n), dtype)

    def h(n, dtype=F64, **kw):
        return as_tensor(_spd(rng, n, **kw), dtype)

    rosen = np.array([[802.0, -400.0], [-400.0, 200.0]])    # Rosenbrock's Hessian at (1, 1)
    return [
        Case("a 2-D bowl", (g(2), h(2))),
        Case("a 5-D bowl", (g(5), h(5))),
        Case("a diagonal Hessian", (g(4), as_tensor(np.diag(rng.uniform(0.5, 4.0, size=4))))),
        Case("one dimension", (g(1), h(1))),
        Case("Rosenbrock's Hessian at its minimum (a narrow valley)", (g(2), as_tensor(rosen))),
        Case("a saddle (indefinite Hessian)", (g(3), h(3, signs=np.array([1.0, -1.0, 1.0])))),
        Case("float32", (g(4, F32), h(4, F32, lo=1.0, hi=3.0))),
        Case("a larger bowl", (g(12), h(12)), hidden=True),
        Case("a maximum (negative definite)", (g(3), h(3, signs=-np.ones(3))), hidden=True),
    ]


def _newton_reference(grad, hessian):
    return -torch.linalg.solve(hessian.double(), grad.double()).to(grad.dtype)


def _newton_compare(case: Case, expected, got) -> str | None:
    grad, hessian = case.args
    g, H = grad.double(), hessian.double()
    step = torch.linalg.solve(H, g)
    mistakes = [
        ("the step goes uphill: the Newton step is MINUS H^-1 g", step),
        ("you multiplied by the Hessian: the Newton step divides by it, d = -H^-1 g (solve H d = -g)", -(H @ g)),
        ("that is a plain gradient step, -g: the Newton step is -H^-1 g", -g),
        ("you divided by the diagonal of H only: use the whole Hessian, solve H d = -g",
         -g / torch.diagonal(H)),
        ("the step goes uphill and multiplies by H: the Newton step is -H^-1 g", H @ g),
    ]
    rtol, atol = tolerances(grad, hessian)
    return diagnose("the step", expected, got, mistakes, rtol=rtol, atol=atol)


NEWTON_STEP = Exercise(
    grade_id="l10_newton_step",
    function="newton_step",
    points=1,
    make_cases=_newton_cases,
    reference=_newton_reference,
    compare=_newton_compare,
    hint="the Newton step is where the local quadratic model's gradient vanishes: a linear system in the "
         "Hessian, solved rather than inverted.",
    hints=(
        "Near x, f(x + d) ≈ f(x) + gᵀd + ½ dᵀHd. Its gradient in d is g + Hd; setting it to zero gives\n"
        "    H d = −g,     d = −H⁻¹g\n"
        "Mind the minus sign (without it the step goes uphill) and that H multiplies d: dividing g by "
        "the diagonal of H is only right for a diagonal Hessian. On an indefinite Hessian the same "
        "formula heads for the saddle: that is the lesson's warning, not a bug.",
        "One call: torch's linear solver in torch.linalg (solve) takes the matrix and the right-hand "
        "side of A x = b and returns x, of shape (n,). Here the matrix is the Hessian and the right-hand "
        "side is minus the gradient. Solving is faster and more accurate than forming the inverse "
        "(torch.linalg.inv) and multiplying.",
    ),
)


# ---------------------------------------------------------------- l10_two_loop_direction

def _pairs(rng: np.random.Generator, n: int, m: int, dtype=F64, one_matrix: bool = True,
           scale: float = 1.0) -> tuple:
    """g and m curvature pairs (s, y) with y^T s > 0: y = A s for SPD A (one A, or one per pair)."""
    a = _spd(rng, n, 0.5, 5.0)
    s_list, y_list = [], []
    for _ in range(m):
        s = scale * rng.normal(size=n)
        y = (a if one_matrix else _spd(rng, n, 0.3, 8.0)) @ s
        s_list.append(as_tensor(s, dtype))
        y_list.append(as_tensor(y, dtype))
    return as_tensor(rng.normal(size=n), dtype), s_list, y_list


def _two_loop_cases(rng: np.random.Generator) -> list[Case]:
    return [
        Case("one pair", _pairs(rng, 3, 1)),
        Case("three pairs from a quadratic", _pairs(rng, 4, 3)),
        Case("five pairs, each from a different curvature", _pairs(rng, 6, 5, one_matrix=False)),
        Case("no pairs yet (the first step)", (as_tensor(rng.normal(size=4)), [], [])),
        Case("two pairs, small steps", _pairs(rng, 3, 2, scale=1e-2)),
        Case("float32", _pairs(rng, 5, 3, dtype=F32)),
        Case("more pairs than dimensions", _pairs(rng, 3, 6, one_matrix=False)),
        Case("a larger problem", _pairs(rng, 20, 7, one_matrix=False), hidden=True),
        Case("four pairs from a quadratic", _pairs(rng, 8, 4), hidden=True),
    ]


def _bfgs_matrix(s_list, y_list, gamma, *, rho=lambda s, y: 1.0 / float(y @ s), order=None) -> torch.Tensor:
    """The L-BFGS inverse Hessian as an explicit matrix: the BFGS update of gamma I, oldest first."""
    n = s_list[0].numel()
    eye = torch.eye(n, dtype=F64)
    H = gamma * eye
    for i in (order if order is not None else range(len(s_list))):
        s, y = s_list[i], y_list[i]
        r = rho(s, y)
        H = (eye - r * torch.outer(s, y)) @ H @ (eye - r * torch.outer(y, s)) + r * torch.outer(s, s)
    return H


def _gamma(s_list, y_list, which: int = -1) -> float:
    if not s_list:
        return 1.0
    s, y = s_list[which].double(), y_list[which].double()
    return float(s @ y) / float(y @ y)


def _two_loop_reference(g, s_list, y_list):
    if not s_list:
        return g.clone()
    S = [s.double() for s in s_list]
    Y = [y.double() for y in y_list]
    return (_bfgs_matrix(S, Y, _gamma(S, Y)) @ g.double()).to(g.dtype)


def _recursion(g, S, Y, gamma, *, first=None, second=None, rho=lambda s, y: 1.0 / float(y @ s),
               gamma_at_end=False):
    """The two-loop recursion with its typical variants (loop orders, rho, where gamma goes)."""
    m = len(S)
    first = reversed(range(m)) if first is None else first
    second = range(m) if second is None else second
    alpha = [0.0] * m
    q = g.clone()
    for i in first:
        alpha[i] = rho(S[i], Y[i]) * float(S[i] @ q)
        q = q - alpha[i] * Y[i]
    r = q if gamma_at_end else gamma * q
    for i in second:
        beta = rho(S[i], Y[i]) * float(Y[i] @ r)
        r = r + (alpha[i] - beta) * S[i]
    return gamma * r if gamma_at_end else r


def _two_loop_compare(case: Case, expected, got) -> str | None:
    g0, s_list, y_list = case.args
    if isinstance(got, (list, tuple)) and got and all(isinstance(x, torch.Tensor) for x in got):
        return f"should return one tensor, the vector H g of the same shape as g, got {describe(got)}"
    g = g0.double()
    rtol, atol = tolerances(g0, *s_list, *y_list)
    if not s_list:
        mistakes = [("the direction is H g, not -H g: with no pairs H_0 = I and the answer is g itself "
                     "(the caller steps along -r)", -g)]
        return diagnose("the direction", expected, got, mistakes, rtol=rtol, atol=atol)
    S, Y = [s.double() for s in s_list], [y.double() for y in y_list]
    m = len(S)
    gamma = _gamma(S, Y)
    inverted = lambda s, y: float(y @ s)           # noqa: E731
    mistakes = [
        ("return H g itself: the search direction is -r, but this function returns r = H g",
         -expected.double()),
        ("H_0 should be gamma I with gamma = sᵀy / yᵀy of the newest pair: you used H_0 = I (no scaling)",
         _recursion(g, S, Y, 1.0)),
        ("gamma is upside down: gamma = sᵀy / yᵀy (about 1 / curvature, the inverse Hessian's scale)",
         _recursion(g, S, Y, 1.0 / gamma)),
        ("gamma comes from the NEWEST pair (the last in the lists), not the oldest",
         _recursion(g, S, Y, _gamma(S, Y, 0))),
        ("rho is inverted: ρ_i = 1 / (y_iᵀ s_i)", _recursion(g, S, Y, gamma, rho=inverted)),
        ("the loops run in the wrong order: the first goes from the newest pair back to the oldest, "
         "the second from the oldest to the newest",
         _recursion(g, S, Y, gamma, first=range(m), second=reversed(range(m)))),
        ("the first loop goes from the NEWEST pair (the last in the lists) back to the oldest",
         _recursion(g, S, Y, gamma, first=range(m))),
        ("the second loop goes from the OLDEST pair (the first in the lists) to the newest",
         _recursion(g, S, Y, gamma, second=reversed(range(m)))),
        ("scale by gamma between the two loops (r starts as gamma times q), not at the end",
         _recursion(g, S, Y, gamma, gamma_at_end=True)),
    ]
    return diagnose("the direction", expected, got, mistakes, rtol=rtol, atol=atol)


TWO_LOOP_DIRECTION = Exercise(
    grade_id="l10_two_loop_direction",
    function="two_loop_direction",
    points=3,
    make_cases=_two_loop_cases,
    reference=_two_loop_reference,
    compare=_two_loop_compare,
    hint="two passes over the stored pairs, newest to oldest and then back, with a scaling by gamma in "
         "between; the first pass's coefficients are needed again in the second.",
    hints=(
        "With ρ_i = 1/(y_iᵀs_i) and the pairs stored oldest first (m of them):\n"
        "    q ← g\n"
        "    for i = m−1, ..., 0 (newest to oldest):   α_i = ρ_i·s_iᵀq,    q ← q − α_i·y_i\n"
        "    r ← γ·q,   γ = s_(m−1)ᵀy_(m−1) / y_(m−1)ᵀy_(m−1)     (the newest pair)\n"
        "    for i = 0, ..., m−1 (oldest to newest):   β = ρ_i·y_iᵀr,    r ← r + (α_i − β)·s_i\n"
        "With no pairs (m = 0) the answer is g itself. The result is r = H_k g; the search direction is "
        "−r, but the function returns r.",
        "The bookkeeping:\n"
        "  - handle m = 0 first: return a copy of g (clone);\n"
        "  - rho as a list, one ρ_i per pair (a dot product of 1-D tensors is y @ s);\n"
        "  - alpha as a list of length m, filled by index in the first loop (it visits the indices "
        "backwards, reversed), because the second loop reads them in the other order;\n"
        "  - γ from the last pair in the lists;\n"
        "  - every update out of place (q − ..., not -=), or q, which starts as g, would change the "
        "caller's g.",
    ),
    forbidden=("course_lib.second_order", "torch.optim"),
)


# ---------------------------------------------------------------- l10_wolfe_step

#: The strong-Wolfe constants of the lesson (and of torch.optim.LBFGS).
C1, C2 = 1e-4, 0.9


def _phi(coeffs, t: float) -> tuple[float, float]:
    """phi(t) = sum_k a_k t^k and its slope, in float64."""
    a = [float(c) for c in coeffs]
    value = sum(c * t ** k for k, c in enumerate(a))
    slope = sum(k * c * t ** (k - 1) for k, c in enumerate(a) if k)
    return value, slope


def _slice(rng: np.random.Generator, where: float, *, wiggle: bool = False,
           steep: float = 1.0) -> torch.Tensor:
    """A quartic slice phi(t) = f0 + s P(t / tau), P(u) = -u + c2 u^2 + c3 u^3 + c4 u^4.

    ``where`` is tau, the scale of t at which the slice turns up (the minimum lies near
    t ~ tau); ``wiggle`` makes the curvature negative at first. Bounded below (c4 > 0), with
    phi'(0) = -s / tau < 0.
    """
    tau = where * float(np.exp(rng.uniform(-0.3, 0.3)))
    c2 = float(rng.uniform(-0.6, -0.2)) if wiggle else float(rng.uniform(0.1, 0.6))
    c3 = float(rng.uniform(-0.2, 0.2))
    c4 = float(rng.uniform(0.15, 0.5))
    s = steep * float(np.exp(rng.uniform(-1, 1)))
    f0 = float(rng.uniform(-2, 5))
    return torch.tensor([f0, -s / tau, s * c2 / tau ** 2, s * c3 / tau ** 3, s * c4 / tau ** 4],
                        dtype=F64)


def _wolfe_cases(rng: np.random.Generator) -> list[Case]:
    return [
        Case("the run that diverged (good steps around t = 0.01)", (_slice(rng, 0.01),)),
        Case("good steps far beyond t = 1 (around 50)", (_slice(rng, 50.0),)),
        Case("t = 1 is about right", (_slice(rng, 1.2),)),
        Case("curvature negative at first (a wiggly slice)", (_slice(rng, 3.0, wiggle=True),)),
        Case("a steep loss, good steps around 1e-3", (_slice(rng, 1e-3, steep=1e4),)),
        Case("a flat loss, good steps around 300", (_slice(rng, 300.0, steep=1e-3),)),
        Case("another slice (hidden)", (_slice(rng, 10 ** rng.uniform(-2, 2)),), hidden=True),
        Case("another wiggly slice (hidden)",
             (_slice(rng, 10 ** rng.uniform(-1, 1), wiggle=True),), hidden=True),
    ]


def _wolfe_reference(coeffs):
    """Bracket, then bisect (the lesson's zoom without the cubic fit); t > 0 on strong Wolfe."""
    f0, g0 = _phi(coeffs, 0.0)
    lo, hi, t = 0.0, math.inf, 1.0
    for _ in range(400):
        f, g = _phi(coeffs, t)
        if f > f0 + C1 * t * g0 or g > -C2 * g0:    # too far: above the line, or climbing
            hi = t
        elif g < C2 * g0:                           # still steep downhill: too short
            lo = t
        else:
            return t
        t = 2 * t if hi == math.inf else (lo + hi) / 2
    return t


def _wolfe_compare(case: Case, expected, got) -> str | None:
    (coeffs,) = case.args
    t = as_float(got)
    if got is None:
        return "returned None: did you forget the `return`? Return the step length t (a float)"
    if t is None:
        return f"should return one number, the step length t, got {describe(got)}"
    if not math.isfinite(t) or t <= 0:
        return f"the step length must be a positive finite number, got t = {t!r}"
    f0, g0 = _phi(coeffs, 0.0)
    f, g = _phi(coeffs, t)
    line = f0 + C1 * t * g0
    if f > line + 1e-12 * max(1.0, abs(f0)):
        rose = "rose above its start" if f > f0 else "fell, but by less than c1 t phi'(0) asks"
        return (f"with t = {t:.4g} the loss {rose}: phi(0) = {f0:.6g}, phi(t) = {f:.6g}, the "
                f"enough-decrease line is {line:.6g}. The step is too long: this is how the run "
                f"diverged. Shorten it until phi(t) is below the line")
    if abs(g) > C2 * abs(g0):
        if g < 0:
            return (f"t = {t:.4g} decreases the loss, but the slope there is still "
                    f"{g / g0:.0%} of the starting slope ({g:.4g} against {g0:.4g}): the step is "
                    f"too short, and the next pair would carry little curvature. Try longer steps "
                    f"too, not only shorter ones")
        return (f"t = {t:.4g} decreases the loss, but the slope there is uphill and steep "
                f"({g:.4g}, more than {C2} x |phi'(0)| = {C2 * abs(g0):.4g}): the step went past the "
                f"bottom. Search between the last step that was too short and this one")
    return None


WOLFE_STEP = Exercise(
    grade_id="l10_wolfe_step",
    function="wolfe_step",
    points=2,
    make_cases=_wolfe_cases,
    reference=_wolfe_reference,
    compare=_wolfe_compare,
    hint="measure phi and its slope at trial steps: too long means above the enough-decrease line or "
         "climbing steeply, too short means still steep downhill; keep an interval between the two.",
    hints=(
        "The two conditions on t > 0, with c1 = 1e-4 and c2 = 0.9:\n"
        "    enough decrease:  phi(t) ≤ phi(0) + c1·t·phi'(0)\n"
        "    flat enough:      |phi'(t)| ≤ c2·|phi'(0)|\n"
        "A step that breaks the first, or whose slope is uphill and steep, is too LONG; a step that "
        "meets the first but is still steeply downhill is too SHORT. A good step lies between the "
        "longest too-short step and the shortest too-long one.",
        "A search that always ends:\n"
        "  1. lo = 0, hi = infinity, start at t = 1;\n"
        "  2. evaluate phi and phi' at t (the coefficients give both: sum of a_k t^k, and of "
        "k a_k t^(k−1));\n"
        "  3. too long: hi = t; too short: lo = t; both conditions met: return t;\n"
        "  4. next t: double it while hi is still infinite, else the midpoint of lo and hi; repeat.\n"
        "Halving from t = 1 alone cannot find a good step that lies beyond 1.",
    ),
    forbidden=("course_lib.second_order", "torch.optim", "scipy.optimize"),
)


# this lesson's exercises, in the order the notebook asks for them
EXERCISES = (NEWTON_STEP, TWO_LOOP_DIRECTION, WOLFE_STEP)
