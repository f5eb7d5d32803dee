"""Lesson 11 exercises: reading a critical point off its Hessian, and power iteration.

``classify_critical_point(hessian, tol=1e-6)`` names the kind of point by the signs of the
Hessian's eigenvalues, an eigenvalue within ``tol`` of 0 counting as zero:

    some > tol and some < -tol  -> "saddle"     (a zero eigenvalue does not change that)
    all > tol                   -> "minimum"
    all < -tol                  -> "maximum"
    otherwise                   -> "degenerate" (zeros and one sign: the second-order test is silent)

The Hessians are built as ``Q diag(lambda) Q^T`` with chosen eigenvalues, nonzero ones at least
0.2 from 0 and "zero" ones exactly 0 or far inside ``tol``, so the answer never hangs on rounding.

``power_iteration(matrix, v0, iters)`` is the lesson's ``top_eigenvalue`` on an explicit matrix,
started from a given vector so the answer is exact: ``iters`` times, normalise ``v``, compute
``Av``, the estimate ``v . Av`` (the Rayleigh quotient), then ``v = Av``; return the last
estimate as a 0-dim tensor.

``factorisation_point(M, u, v)`` is an experiment: it names a point of the loss
``1/2 |M - u v^T|^2`` (a rank-one matrix factorisation) by measuring it, "minimum", "saddle" or
"not a critical point". The points are random: a rescaled top singular pair (the minimum, with
one flat direction from the scaling symmetry), lower singular pairs and the origin (saddles),
random points and points near the top pair (not critical).
"""

from __future__ import annotations

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
    diagnose_exact,
)

__all__ = ["CLASSIFY_CRITICAL_POINT", "EXERCISES", "FACTORISATION_POINT", "POWER_ITERATION"]

KINDS = ("minimum", "maximum", "saddle", "degenerate")


def _with_eigenvalues(rng: np.random.Generator, lam, dtype=F64) -> torch.Tensor:
    lam = np.asarray(lam, dtype=float)
    q, _ = np.linalg.qr(rng.normal(size=(len(lam), len(lam))))
    a = (q * lam) @ q.T
    return as_tensor((a + a.T) / 2, dtype)


# ---------------------------------------------------------------- l11_classify_critical_point

def _classify_cases(rng: np.random.Generator) -> list[Case]:
    def size(n, sign=1.0):
        return sign * rng.uniform(0.2, 5.0, size=n)

    def H(*parts, dtype=F64):
        return _with_eigenvalues(rng, rng.permutation(np.concatenate([np.atleast_1d(p) for p in parts])), dtype)

    p, q = sorted(rng.uniform(0.5, 3.0, size=2))
    return [
        Case("a 2-D bowl", (H(size(2)),)),
        Case("x^2 - y^2 at the origin", (torch.tensor([[2.0, 0.0], [0.0, -2.0]], dtype=F64),)),
        Case("a saddle whose diagonal is all positive", (torch.tensor([[p, q], [q, p]], dtype=F64),)),
        Case("a 2-D hilltop (the determinant is positive here too)", (H(size(2, -1.0)),)),
        Case("a 4-D saddle with two downhill directions", (H(size(2), size(2, -1.0)),)),
        Case("a valley floor (one zero eigenvalue)", (H(size(2), [0.0]),)),
        Case("up, down and flat", (H(size(1), size(1, -1.0), [0.0]),)),
        Case("an eigenvalue of 1e-9 counts as zero", (H(size(2), [1e-9]),)),
        Case("one dimension, curving down", (H(size(1, -1.0)),)),
        Case("a float32 bowl", (H(size(4), dtype=F32),)),
        Case("a 6-D saddle", (H(size(5), size(1, -1.0)),), hidden=True),
        Case("flat on top of a ridge", (H(size(3, -1.0), [0.0, 0.0]),), hidden=True),
        Case("a shallow bowl with tol = 0.1", (H(size(2), [0.05]),), {"tol": 0.1}, hidden=True),
        Case("a 3-D hilltop", (H(size(3, -1.0)),), hidden=True),
    ]


def _kind(lam: torch.Tensor, tol: float) -> str:
    if bool((lam > tol).any()) and bool((lam < -tol).any()):
        return "saddle"
    if bool((lam > tol).all()):
        return "minimum"
    if bool((lam < -tol).all()):
        return "maximum"
    return "degenerate"


def _classify_reference(hessian, tol=1e-6):
    return _kind(torch.linalg.eigvalsh(hessian.double()), tol)


def _classify_compare(case: Case, expected, got) -> str | None:
    (hessian,) = case.args
    tol = case.kwargs.get("tol", 1e-6)
    if got is None:
        return "returned None: did you forget the `return`?"
    if not isinstance(got, str):
        return f"should return one of the strings {', '.join(map(repr, KINDS))}, got {describe(got)}"
    if got == expected:
        return None
    if got.strip().lower() in KINDS:
        if got.strip().lower() == expected:
            return f"return exactly {expected!r}: lower case, no spaces"
    elif got not in KINDS:
        return f"should return one of {', '.join(map(repr, KINDS))}, got another string"
    H = hessian.double()
    lam = torch.linalg.eigvalsh(H)
    diag = torch.diagonal(H)
    det = float(torch.linalg.det(H))

    def by_det() -> str:
        if abs(det) <= tol:
            return "degenerate"
        return "minimum" if det > 0 else "saddle"

    def zeros_first() -> str:
        return "degenerate" if bool((lam.abs() <= tol).any()) else _kind(lam, tol)

    def semidefinite() -> str:
        if bool((lam >= -tol).all()) and bool((lam > tol).any()):
            return "minimum"
        if bool((lam <= tol).all()) and bool((lam < -tol).any()):
            return "maximum"
        return _kind(lam, tol)

    swap = {"minimum": "maximum", "maximum": "minimum"}
    mistakes = [
        ("minimum and maximum are swapped: all eigenvalues positive (curving up in every direction) "
         "is a minimum", swap.get(expected, expected)),
        ("a zero eigenvalue leaves the test undecided: all > tol for a minimum (all < -tol for a "
         "maximum), otherwise 'degenerate'", semidefinite()),
        ("one uphill and one downhill direction make a saddle, whatever zero eigenvalues there are "
         "too: check for a saddle before checking for zeros", zeros_first()),
        ("read the eigenvalues (torch.linalg.eigvalsh), not the diagonal: the diagonal entries are the "
         "curvatures along the axes only, and a saddle can hide between them", _kind(diag, tol)),
        ("an eigenvalue within tol of 0 counts as zero: compare with tol, not with exactly 0",
         _kind(lam, 0.0)),
        ("the determinant does not decide it: it is the product of the eigenvalues, positive for two "
         "negative ones too; look at the eigenvalues' signs", by_det()),
    ]
    message = diagnose_exact(expected, got, mistakes)
    if message:
        return message
    return f"that is not {got!r}: " + ("compare the signs of the eigenvalues with +tol and -tol"
                                       if case.hidden else f"the eigenvalues say {expected!r}")


CLASSIFY_CRITICAL_POINT = Exercise(
    grade_id="l11_classify_critical_point",
    function="classify_critical_point",
    points=2,
    make_cases=_classify_cases,
    reference=_classify_reference,
    compare=_classify_compare,
    hint="the Hessian's eigenvalues are the curvatures along its eigenvectors: their signs (with anything "
         "within tol of 0 counted as zero) decide the shape.",
    hints=(
        "Curving up in every direction is a minimum, down in every direction a maximum, up in some and "
        "down in others a saddle. With λ the eigenvalues and |λ| ≤ tol counted as zero:\n"
        "    some λ > tol and some λ < −tol     →  'saddle'   (zero eigenvalues don't change that)\n"
        "    all λ > tol                        →  'minimum'\n"
        "    all λ < −tol                       →  'maximum'\n"
        "    anything else                      →  'degenerate'\n"
        "The diagonal and the determinant are not enough: [[1, 2], [2, 1]] has a positive diagonal and "
        "is a saddle, and the hilltop −I in 2-D has a positive determinant.",
        "The Hessian is symmetric, so torch's eigvalsh (in torch.linalg) gives its real eigenvalues as a "
        "1-D tensor. Two booleans answer everything: is any eigenvalue above tol, and is any below −tol "
        "(comparisons on the whole tensor, then .any(); bool() turns a 0-dim answer into a Python "
        "bool). Test for the saddle first, then 'all above tol' and 'all below −tol' (.all()), and "
        "return 'degenerate' otherwise. The strings exactly as written, lower case.",
    ),
)


# ---------------------------------------------------------------- l11_power_iteration

def _power_cases(rng: np.random.Generator) -> list[Case]:
    def v(n, dtype=F64):
        return as_tensor(rng.normal(size=n), dtype)

    def M(lam, dtype=F64):
        return _with_eigenvalues(rng, lam, dtype)

    def unit(n):
        w = v(n)
        return w / torch.linalg.vector_norm(w)

    def spread(n, top=5.0):
        return np.concatenate([[top], rng.uniform(0.1, 0.6 * top, size=n - 1)])

    return [
        Case("one step", (M(spread(3)), v(3), 1)),
        Case("three steps", (M(spread(4)), v(4), 3)),
        Case("converged after 200 steps", (M(spread(5)), v(5), 200)),
        Case("the largest eigenvalue in size is negative", (M([-6.0, 2.0, 1.0, 0.5]), v(4), 60)),
        Case("a diagonal matrix, 10 steps", (torch.diag(as_tensor(rng.uniform(0.5, 3.0, size=3))), v(3), 10)),
        Case("a start vector of length 10", (M(spread(3)), 10.0 * unit(3), 2)),
        Case("float32", (M(spread(4), F32), v(4, F32), 8)),
        Case("a Hessian-sized problem", (M(spread(30, 12.0)), v(30), 25), hidden=True),
        Case("two steps", (M(spread(6)), v(6), 2), hidden=True),
    ]


def _power(A, v0, iters, *, estimate="rayleigh", normalise=True, first_norm=True):
    """The power iteration and its typical variants; returns the last estimate (float64)."""
    A, v = A.double(), v0.double()
    lam = torch.tensor(float("nan"), dtype=F64)
    for k in range(iters):
        if normalise and (first_norm or k > 0):
            v = v / torch.linalg.vector_norm(v)
        Av = A @ v
        lam = torch.linalg.vector_norm(Av) if estimate == "norm" else v @ Av
        v = Av
    return lam


def _power_reference(matrix, v0, iters):
    return _power(matrix, v0, iters).to(matrix.dtype)


def _power_compare(case: Case, expected, got) -> str | None:
    A, v0, iters = case.args
    if isinstance(got, (tuple, list)) and got and isinstance(got[0], torch.Tensor) and got[0].numel() == 1:
        return "return the eigenvalue estimate only (a 0-dim tensor), not a tuple"
    if isinstance(got, torch.Tensor) and got.dim() == 1 and got.numel() == A.shape[0] > 1:
        return "that looks like a vector: return the eigenvalue estimate v . Av, a 0-dim tensor"
    if isinstance(got, (int, float)) and as_float(got) is not None:
        got = torch.tensor(float(got), dtype=F64)     # a Python number is fine here
    if isinstance(got, torch.Tensor) and got.numel() == 1 and got.dim() > 0:
        got = got.reshape(())
    lam = torch.linalg.eigvalsh(A.double())
    top = lam[lam.abs().argmax()]
    mistakes = [
        ("that is the exact eigenvalue (eigvalsh / eig): compute the estimate after exactly `iters` "
         "products A @ v, as the lesson's top_eigenvalue does", top),
        ("that is the exact eigenvalue (eigvalsh / eig): compute the estimate after exactly `iters` "
         "products A @ v, as the lesson's top_eigenvalue does", lam.max()),
        ("estimate with the Rayleigh quotient v . Av (v of length 1), not the length of Av: the length "
         "has lost the eigenvalue's sign and converges differently", _power(A, v0, iters, estimate="norm")),
        ("one product too many: `iters` products A @ v in all, and the estimate is v . Av of the last "
         "normalised v that you multiplied", _power(A, v0, iters + 1)),
        ("one product too few: `iters` products A @ v in all, and the estimate is v . Av of the last "
         "normalised v that you multiplied", _power(A, v0, iters - 1) if iters > 1 else None),
        ("normalise v to length 1 before each product (v0 too): v . Av is the eigenvalue estimate only "
         "for a unit vector", _power(A, v0, iters, first_norm=False)),
        ("normalise v to length 1 before each product: without it v . Av grows like the eigenvalue "
         "to the power 2 * iters", _power(A, v0, iters, normalise=False)),
    ]
    mistakes = [(m, c) for m, c in mistakes if c is not None]
    rtol, atol = (1e-4, 1e-5) if A.dtype == F32 else (1e-7, 1e-10)
    return diagnose("the eigenvalue estimate", expected, got, mistakes, rtol=rtol, atol=atol)


POWER_ITERATION = Exercise(
    grade_id="l11_power_iteration",
    function="power_iteration",
    points=2,
    make_cases=_power_cases,
    reference=_power_reference,
    compare=_power_compare,
    hint="multiplying by the matrix again and again turns v towards the top eigenvector; the Rayleigh "
         "quotient of a unit vector reads off its eigenvalue.",
    hints=(
        "Repeat `iters` times, exactly as the lesson's top_eigenvalue does:\n"
        "    1. normalise:  v ← v / ‖v‖        (v0 too, on the first pass)\n"
        "    2. multiply:   w = A v             (the only use of the matrix)\n"
        "    3. estimate:   λ = vᵀw             (the Rayleigh quotient of the unit vector v)\n"
        "    4.             v ← w\n"
        "and return the last λ. The Rayleigh quotient keeps the eigenvalue's sign; the length ‖Av‖ "
        "would lose it, and one check has a large negative eigenvalue.",
        "A loop of `iters` passes with four assignments in it, in the order of hint 1; the estimate "
        "from the last pass is the answer, a 0-dim tensor. torch's vector_norm (in torch.linalg) gives "
        "‖v‖, matrix @ v the product, and v @ w the dot product of two 1-D tensors. Divide out of place "
        "(v / ..., not /=), so that v0, the caller's tensor, stays as it is. No eigen-solver: the point "
        "is to find the eigenvalue from products alone.",
    ),
    forbidden=("torch.linalg.eig", "torch.linalg.eigh", "torch.linalg.eigvals",
               "torch.linalg.eigvalsh", "torch.linalg.svd", "torch.linalg.svdvals", "torch.lobpcg",
               "numpy.linalg.eig", "numpy.linalg.eigh", "numpy.linalg.eigvals", "numpy.linalg.eigvalsh"),
)


# ---------------------------------------------------------------- l11_factorisation_point

POINT_KINDS = ("minimum", "saddle", "not a critical point")


def _factorisation_loss(M: torch.Tensor, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return 0.5 * ((M - torch.outer(u, v)) ** 2).sum()


def _measure_point(M, u, v) -> tuple[float, torch.Tensor, float]:
    """(gradient norm, Hessian eigenvalues, gradient scale) of 1/2 |M - u v^T|^2 at (u, v)."""
    M, u, v = (t.detach().to(F64) for t in (M, u, v))
    m = len(u)

    def f(w):
        return _factorisation_loss(M, w[:m], w[m:])

    w = torch.cat([u, v])
    g = torch.autograd.functional.jacobian(f, w)
    lam = torch.linalg.eigvalsh(torch.autograd.functional.hessian(f, w))
    return float(g.norm()), lam, float(torch.linalg.matrix_norm(M, ord=2)) ** 2


def _point_kind(M, u, v) -> str:
    gnorm, lam, scale = _measure_point(M, u, v)
    if gnorm > 1e-6 * max(scale, 1.0):
        return "not a critical point"
    return "saddle" if float(lam.min()) < -1e-6 * float(lam.abs().max()) else "minimum"


def _factorisation_case(rng: np.random.Generator, kind: str) -> tuple:
    m, n = int(rng.integers(3, 6)), int(rng.integers(2, 5))
    r = min(m, n)
    sig = np.sort(rng.uniform(1.0, 2.0, size=r).cumsum())[::-1]     # gaps of at least 1
    a, _ = np.linalg.qr(rng.normal(size=(m, r)))
    b, _ = np.linalg.qr(rng.normal(size=(n, r)))
    M = (a * sig) @ b.T
    scale, sign = float(np.exp(rng.uniform(-0.7, 0.7))), float(rng.choice([-1.0, 1.0]))
    if kind == "origin":
        u, v = np.zeros(m), np.zeros(n)
    elif kind == "random":
        u, v = rng.normal(size=m), rng.normal(size=n)
    else:
        i = {"top": 0, "second": 1, "last": r - 1, "near top": 0}[kind]
        u = sign * scale * np.sqrt(sig[i]) * a[:, i]
        v = sign / scale * np.sqrt(sig[i]) * b[:, i]
        if kind == "near top":
            u = u + 0.01 * rng.normal(size=m)
    return as_tensor(M), as_tensor(u), as_tensor(v)


def _factorisation_cases(rng: np.random.Generator) -> list[Case]:
    return [
        Case("at the top singular pair, u and v rescaled", _factorisation_case(rng, "top")),
        Case("at the second singular pair", _factorisation_case(rng, "second")),
        Case("at the origin", _factorisation_case(rng, "origin")),
        Case("a random point", _factorisation_case(rng, "random")),
        Case("close to the top pair, but not on it", _factorisation_case(rng, "near top")),
        Case("at the last singular pair", _factorisation_case(rng, "last")),
        Case("another point (hidden, 1)", _factorisation_case(
            rng, str(rng.choice(["top", "second", "random"]))), hidden=True),
        Case("another point (hidden, 2)", _factorisation_case(
            rng, str(rng.choice(["top", "last", "near top"]))), hidden=True),
    ]


def _factorisation_reference(M, u, v):
    return _point_kind(M, u, v)


def _factorisation_compare(case: Case, expected, got) -> str | None:
    M, u, v = case.args
    if got is None:
        return f"returned None: did you forget the `return`? Return one of {list(POINT_KINDS)}"
    if not isinstance(got, str) or got not in POINT_KINDS:
        return f"should return one of the strings {list(POINT_KINDS)}, got {got!r}"
    if got == expected:
        return None
    gnorm, lam, _ = _measure_point(M, u, v)
    if expected == "not a critical point":
        return (f"the gradient here is not zero (its norm is {gnorm:.3g}): a point is only a "
                f"minimum or a saddle if the gradient vanishes. Measure the gradient first")
    if got == "not a critical point":
        return (f"the gradient here is zero to rounding (norm {gnorm:.1e}): this is a critical "
                f"point. Is your tolerance relative to the size of M?")
    if expected == "saddle":
        return (f"the gradient is zero here, but the loss goes DOWN along some direction: the "
                f"smallest Hessian eigenvalue is {float(lam.min()):.3g}. A zero gradient alone "
                f"does not make a minimum; look at the curvature in every direction")
    return (f"no direction goes down here: the smallest Hessian eigenvalue is "
            f"{float(lam.min()):.1e}, zero up to rounding (scaling u up and v down leaves u v^T, and "
            f"the loss, unchanged: a flat direction, not a downhill one). Compare eigenvalues with a "
            f"tolerance relative to the largest")


FACTORISATION_POINT = Exercise(
    grade_id="l11_factorisation_point",
    function="factorisation_point",
    points=2,
    all_or_nothing=True,                   # a guessed label must not earn part of the points
    make_cases=_factorisation_cases,
    reference=_factorisation_reference,
    compare=_factorisation_compare,
    hint="measure before you name: first whether the gradient vanishes, then whether any direction "
         "curves down. A flat direction is not a downhill one.",
    hints=(
        "The loss is L(u, v) = ½‖M − u vᵀ‖², a function of the m + n numbers of u and v together. "
        "At a point: if the gradient is not zero (relative to the size of M, e.g. its norm "
        "squared), it is not a critical point. Otherwise the Hessian's eigenvalues decide: one "
        "clearly negative means a saddle; none negative (zeros allowed) means a minimum here. "
        "Tolerances relative to the largest eigenvalue: rounding makes a zero eigenvalue ±1e−15.",
        "Steps:\n"
        "  1. concatenate u and v into one vector w (torch.cat), and write L as a function of w "
        "that splits it again (the first m entries are u);\n"
        "  2. torch.autograd.functional has jacobian (the gradient of a scalar function) and "
        "hessian; evaluate both at w;\n"
        "  3. the gradient's norm against 1e−6 times the largest singular value of M squared;\n"
        "  4. the Hessian's eigenvalues (eigvalsh in torch.linalg): the smallest against −1e−6 "
        "times the largest in absolute value.",
    ),
)


# this lesson's exercises, in the order the notebook asks for them
EXERCISES = (CLASSIFY_CRITICAL_POINT, POWER_ITERATION, FACTORISATION_POINT)
