"""The exercises of lessons 09-12 (LR finder, second order, landscape geometry, compression).

The same guarantees as tests/test_exercise_specs_06_08.py gives for lessons 06-08:
- each exercise is registered with its function and points, has >= 5 visible cases and a hidden
  one, a one-line hint, and cases that are plain data and deterministic in the seed;
- the solution cell of its notebook passes every case (visible and hidden) for several seeds;
- typical wrong implementations fail, and the feedback names the mistake;
- the protocol's edges: not implemented, inputs changed in place, what check() prints, hidden
  cases stay hidden, compare() survives any returned value;
- the references agree with course_lib, torch and NumPy where they have the algorithm;
- each notebook is a valid nbgrader source with unique grade_ids and the registry's points, the
  generated exercise version runs. (tests/test_exercise_specs.py runs every solutions notebook
  top to bottom in a fresh kernel.)
"""

from __future__ import annotations

import collections
import functools
import math

import numpy as np
import pytest
import torch
from exercise_support import (
    SEEDS,
    SOLUTIONS,
    case_outcomes,
    nbgrader_cells,
    solution,
    solution_sources,
)

from course_lib.exercises import codec
from course_lib.exercises.core import CheckFailed, all_exercises, check, get, run_case

NOTEBOOKS = [SOLUTIONS / name for name in
             ("09_lr_finder.ipynb", "10_second_order.ipynb", "11_landscape_geometry.ipynb",
              "12_full_recipe.ipynb")]

# grade_id -> (function, points)
LESSON_EXERCISES = {
    "l09_exponential_lr_schedule": ("exponential_lr_schedule", 1), "l09_smooth_losses": ("smooth_losses", 2),
    "l10_newton_step": ("newton_step", 1), "l10_two_loop_direction": ("two_loop_direction", 3),
    "l11_classify_critical_point": ("classify_critical_point", 2), "l11_power_iteration": ("power_iteration", 2),
    "l12_compression_numbers": ("compression_numbers", 1),
    "l12_unigram_bits_per_char": ("unigram_bits_per_char", 2),
}
IDS = sorted(LESSON_EXERCISES)


# ------------------------------------------------------------------ the registry

def test_lessons_09_to_12_are_registered():
    exercises = all_exercises()
    for grade_id, (function, points) in LESSON_EXERCISES.items():
        assert grade_id in exercises, f"{grade_id} is not registered"
        assert (exercises[grade_id].function, exercises[grade_id].points) == (function, points)


@pytest.mark.parametrize("grade_id", IDS)
def test_exercise_has_varied_plain_cases_and_a_hint(grade_id):
    ex = get(grade_id)
    assert 1 <= ex.points <= 3
    assert ex.hint and "\n" not in ex.hint
    assert not ex.mutates_inputs_ok
    for seed in SEEDS:
        cases = ex.cases(seed)
        visible = [c for c in cases if not c.hidden]
        assert len(visible) >= 5 and len(cases) > len(visible), "want >= 5 visible cases and a hidden one"
        assert len({c.name for c in cases}) == len(cases), "case names must be unique"
        assert not any(": " in c.name for c in cases), "': ' in a case name reads as the feedback"
        for c in cases:                                  # cases cross the grading boundary as plain data
            codec.decode(codec.encode((c.args, c.kwargs)))


@pytest.mark.parametrize("grade_id", IDS)
def test_cases_are_deterministic_in_the_seed(grade_id):
    ex = get(grade_id)

    def plain(seed):
        return [(c.name, codec.encode(c.args), codec.encode(c.kwargs), c.hidden) for c in ex.cases(seed)]

    assert plain(7) == plain(7)
    assert [n for n, *_ in plain(7)] == [n for n, *_ in plain(8)]
    assert plain(7) != plain(8), "the seed should change the inputs"


# ------------------------------------------------------------------ the solutions pass

@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("grade_id", IDS)
def test_solution_passes_every_case(grade_id, seed):
    assert grade_id in solution_sources(), f"no solution cell with grade_id {grade_id} in solutions/"
    failed = [o for o in case_outcomes(grade_id, solution(grade_id), seed) if not o.ok]
    assert not failed, "\n".join(f"{o.case}: {o.message}" for o in failed)


# ------------------------------------------------------------------ the references agree with the library

def test_sweep_reference_is_geomspace():
    ref = get("l09_exponential_lr_schedule").reference
    for case in get("l09_exponential_lr_schedule").cases(3):
        got = ref(*case.args)
        assert got == pytest.approx(list(np.geomspace(*case.args)), rel=1e-12)
        assert got[0] == pytest.approx(case.args[0], rel=1e-15) and got[-1] == pytest.approx(case.args[1], rel=1e-12)


def test_smoothing_reference_is_an_unbiased_average():
    ref = get("l09_smooth_losses").reference
    assert ref([2.5] * 7, beta=0.9) == pytest.approx([2.5] * 7, rel=1e-12)   # the correction removes the bias
    losses = [3.0, 1.0, 2.0]
    weights = [0.98 ** k for k in range(3)][::-1]                               # oldest gets the smallest
    assert ref(losses)[-1] == pytest.approx(sum(w * x for w, x in zip(weights, losses)) / sum(weights))


def test_newton_reference_minimises_the_quadratic():
    ex = get("l10_newton_step")
    for case in ex.cases(4):
        g, H = case.args
        d = ex.reference(g, H)
        torch.testing.assert_close((H.double() @ d.double() + g.double()).to(g.dtype),
                                   torch.zeros_like(g), atol=1e-4 if g.dtype == torch.float32 else 1e-9, rtol=0)


def test_two_loop_reference_matches_course_lib_and_the_secant_condition():
    from course_lib.second_order import two_loop_direction

    ex = get("l10_two_loop_direction")
    for seed in SEEDS:
        for case in ex.cases(seed):
            g, s_list, y_list = (a.double() if isinstance(a, torch.Tensor) else [t.double() for t in a]
                                 for a in case.args)
            want = ex.reference(*case.args).double()
            gamma = float(s_list[-1] @ y_list[-1]) / float(y_list[-1] @ y_list[-1]) if s_list else 1.0
            tol = 1e-4 if case.args[0].dtype == torch.float32 else 1e-9
            torch.testing.assert_close(two_loop_direction(g, s_list, y_list, gamma), want, rtol=tol, atol=tol)
            if s_list:        # BFGS: H_k y_newest = s_newest
                torch.testing.assert_close(ex.reference(y_list[-1], s_list, y_list), s_list[-1],
                                           rtol=1e-9, atol=1e-9)


def test_classify_reference_on_textbook_points():
    ref = get("l11_classify_critical_point").reference
    t = functools.partial(torch.tensor, dtype=torch.float64)
    assert ref(t([[2.0, 0.0], [0.0, -2.0]])) == "saddle"
    assert ref(t([[1.0, 2.0], [2.0, 1.0]])) == "saddle"
    assert ref(-torch.eye(2, dtype=torch.float64)) == "maximum"
    assert ref(t([[2.0, 0.0], [0.0, 0.0]])) == "degenerate"
    assert ref(t([[1e-9, 0.0], [0.0, 1.0]])) == "degenerate"
    assert ref(t([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, -1.0]])) == "saddle"
    from course_lib.landscapes import get_landscape
    assert ref(get_landscape("saddle").hessian((0.0, 0.0)).double()) == "saddle"


def test_power_iteration_reference_converges_to_the_top_eigenvalue():
    ex = get("l11_power_iteration")
    for case in ex.cases(5):
        A, v0, iters = case.args
        if iters >= 60:
            lam = torch.linalg.eigvalsh(A.double())
            assert float(ex.reference(A, v0, iters)) == pytest.approx(float(lam[lam.abs().argmax()]), rel=1e-6)


def test_unigram_reference_matches_a_direct_count():
    ex = get("l12_unigram_bits_per_char")
    for case in ex.cases(6):
        train, test, vocab = case.args
        assert set(train) | set(test) <= set(vocab)
        p = {c: (train.count(c) + 1) / (len(train) + len(vocab)) for c in vocab}
        assert sum(p.values()) == pytest.approx(1.0)
        assert ex.reference(train, test, vocab) == pytest.approx(
            float(np.mean([-np.log2(p[c]) for c in test])), rel=1e-12)


def test_compression_reference_agrees_with_cross_entropy_in_bits():
    import torch.nn.functional as F

    logits = torch.randn(50, 7, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    targets = torch.arange(50) % 7
    nats = float(F.cross_entropy(logits, targets))
    bits = float(-(torch.log_softmax(logits, 1)[torch.arange(50), targets] / math.log(2)).mean())
    bpc, ppl, size = get("l12_compression_numbers").reference(nats, 50)
    assert bpc == pytest.approx(bits) and ppl == pytest.approx(2 ** bits) and size == pytest.approx(50 * bits / 8)


# ------------------------------------------------------------------ wrong answers are diagnosed
# Each entry: a typical wrong implementation and a word its feedback must contain.

def _sweep(how):
    def sweep(start_lr, end_lr, num_iters):
        n, s, e = num_iters, start_lr, end_lr
        if how == "linear":
            return list(np.linspace(s, e, n))
        if how == "no end":
            return [s * (e / s) ** (i / n) for i in range(n)]
        if how == "n + 1":
            return [s * (e / s) ** (i / n) for i in range(n + 1)]
        if how == "n - 1":
            return [s * (e / s) ** (i / (n - 2)) for i in range(n - 1)] if n > 2 else [s]
        if how == "logspace":
            return list(np.logspace(s, e, n))
        if how == "reversed":
            return list(np.geomspace(e, s, n))
        raise ValueError(how)
    return sweep


def _smooth(how):
    def smooth(losses, beta=0.98):
        out, avg = [], 0.0
        for i, loss in enumerate(losses, start=1):
            if how == "first" and i == 1:
                avg = loss
            elif how == "swap":
                avg = (1 - beta) * avg + beta * loss
            else:
                avg = beta * avg + (1 - beta) * loss
            if how in ("none", "first"):
                out.append(avg)
            elif how == "swap":
                out.append(avg / (1 - (1 - beta) ** i))
            elif how == "i+1":
                out.append(avg / (1 - beta ** (i + 1)))
            elif how == "compound":
                avg = avg / (1 - beta ** i)
                out.append(avg)
            else:
                out.append(avg / (1 - beta ** i))
        return out
    return smooth


def _smooth_from_zero(losses, beta=0.98):
    out, avg = [], 0.0
    for i, loss in enumerate(losses):
        avg = beta * avg + (1 - beta) * loss
        out.append(avg / (1 - beta ** i) if beta ** i != 1 else float("inf"))
    return out


def _two_loop(*, gamma="newest", rho="right", order="right", sign=1.0, gamma_at_end=False):
    def direction(g, s_list, y_list):
        m = len(s_list)
        if m == 0:
            return sign * g.clone()
        rhos = [1.0 / (y @ s) if rho == "right" else (y @ s) for s, y in zip(s_list, y_list)]
        first = list(range(m)) if order in ("wrong", "first") else list(reversed(range(m)))
        second = list(reversed(range(m))) if order in ("wrong", "second") else list(range(m))
        k = -1 if gamma != "oldest" else 0
        s, y = s_list[k], y_list[k]
        gam = {"newest": (s @ y) / (y @ y), "oldest": (s @ y) / (y @ y), "none": 1.0,
               "inverted": (y @ y) / (s @ y)}[gamma]
        alpha = [0.0] * m
        q = g.clone()
        for i in first:
            alpha[i] = rhos[i] * (s_list[i] @ q)
            q = q - alpha[i] * y_list[i]
        r = q if gamma_at_end else gam * q
        for i in second:
            beta = rhos[i] * (y_list[i] @ r)
            r = r + (alpha[i] - beta) * s_list[i]
        return sign * (gam * r if gamma_at_end else r)
    return direction


def _kind(lam, tol, *, zeros_first=False, semidefinite=False):
    if zeros_first and bool((lam.abs() <= tol).any()):
        return "degenerate"
    if bool((lam > tol).any()) and bool((lam < -tol).any()):
        return "saddle"
    if bool((lam > tol).all()) or (semidefinite and bool((lam >= -tol).all())):
        return "minimum"
    if bool((lam < -tol).all()) or (semidefinite and bool((lam <= tol).all())):
        return "maximum"
    return "degenerate"


def _classify(how):
    def classify(hessian, tol=1e-6):
        if how == "diagonal":
            return _kind(torch.diagonal(hessian), tol)
        if how == "determinant":
            det = float(torch.linalg.det(hessian))
            return "degenerate" if abs(det) <= tol else ("minimum" if det > 0 else "saddle")
        lam = torch.linalg.eigvalsh(hessian)
        if how == "no tol":
            return _kind(lam, 0.0)
        if how == "swapped":
            return {"minimum": "maximum", "maximum": "minimum"}.get(_kind(lam, tol), _kind(lam, tol))
        return _kind(lam, tol, zeros_first=how == "zeros first", semidefinite=how == "semidefinite")
    return classify


def _power(how):
    def power(matrix, v0, iters):
        if how == "exact":
            lam = torch.linalg.eigvalsh(matrix)
            return lam[lam.abs().argmax()]
        n = iters + 1 if how == "one more" else iters
        v = v0
        for k in range(n):
            if how != "no norm" and not (how == "v0 raw" and k == 0):
                v = v / torch.linalg.vector_norm(v)
            w = matrix @ v
            lam = torch.linalg.vector_norm(w) if how == "length" else v @ w
            v = w
        return lam
    return power


def _power_normalise_after(matrix, v0, iters):
    v = v0 / torch.linalg.vector_norm(v0)
    for _ in range(iters):                         # the textbook loop: iters products, then one more
        w = matrix @ v
        v = w / torch.linalg.vector_norm(w)
    return v @ (matrix @ v)


def _compression(bits=None, ppl=None, size=None):
    def numbers(mean_nll_nats, n_chars):
        b = (bits or (lambda L: L / math.log(2)))(mean_nll_nats)
        p = (ppl or (lambda L, b: math.exp(L)))(mean_nll_nats, b)
        z = (size or (lambda n, L, b: n * b / 8))(n_chars, mean_nll_nats, b)
        return b, p, z
    return numbers


def _unigram(*, add=1, denom="vocab", log=math.log2, mean=True, counted="train", scored="test"):
    def bits_per_char(train_text, test_text, vocab):
        counted_text = train_text + test_text if counted == "both" else train_text
        counts = collections.Counter(counted_text)
        v = {"vocab": len(vocab), "none": 0, "seen": len(set(train_text))}[denom]
        total = len(counted_text) + add * v
        text = train_text if scored == "train" else test_text
        bits = 0.0
        for c in text:
            p = (counts[c] + add) / total
            bits += -log(p) if p > 0 else math.inf
        return bits / len(text) if mean else bits
    return bits_per_char


WRONG = [
    # lesson 09
    ("l09_exponential_lr_schedule", "linear", _sweep("linear"), "linearly"),
    ("l09_exponential_lr_schedule", "endpoint missing", _sweep("no end"), "last lr should be end_lr"),
    ("l09_exponential_lr_schedule", "one too many", _sweep("n + 1"), "one lr too many"),
    ("l09_exponential_lr_schedule", "one too few", _sweep("n - 1"), "one lr too few"),
    ("l09_exponential_lr_schedule", "logspace", _sweep("logspace"), "exponents"),
    ("l09_exponential_lr_schedule", "reversed", _sweep("reversed"), "backwards"),
    ("l09_smooth_losses", "no bias correction", _smooth("none"), "bias correction is missing"),
    ("l09_smooth_losses", "start at the first loss", _smooth("first"), "first loss"),
    ("l09_smooth_losses", "beta swapped", _smooth("swap"), "swapped"),
    ("l09_smooth_losses", "exponent i + 1", _smooth("i+1"), "exponent is off by one"),
    ("l09_smooth_losses", "corrects the running average", _smooth("compound"), "running average itself"),
    ("l09_smooth_losses", "counts from 0", _smooth_from_zero, "count the steps from 1"),
    ("l09_smooth_losses", "last value only", lambda losses, beta=0.98: _smooth("right")(losses, beta)[-1],
     "list of"),
    # lesson 10
    ("l10_newton_step", "uphill", lambda grad, hessian: torch.linalg.solve(hessian, grad), "uphill"),
    ("l10_newton_step", "H g", lambda grad, hessian: -(hessian @ grad), "multiplied by the Hessian"),
    ("l10_newton_step", "gradient step", lambda grad, hessian: -grad, "plain gradient step"),
    ("l10_newton_step", "diagonal", lambda grad, hessian: -grad / torch.diagonal(hessian), "diagonal"),
    ("l10_two_loop_direction", "no gamma", _two_loop(gamma="none"), "H_0 = I"),
    ("l10_two_loop_direction", "gamma inverted", _two_loop(gamma="inverted"), "gamma is upside down"),
    ("l10_two_loop_direction", "gamma from the oldest pair", _two_loop(gamma="oldest"), "NEWEST pair"),
    ("l10_two_loop_direction", "rho inverted", _two_loop(rho="inverted"), "rho is inverted"),
    ("l10_two_loop_direction", "loops in the wrong order", _two_loop(order="wrong"), "wrong order"),
    ("l10_two_loop_direction", "first loop forwards", _two_loop(order="first"), "first loop"),
    ("l10_two_loop_direction", "minus H g", _two_loop(sign=-1.0), "H g"),
    ("l10_two_loop_direction", "gamma at the end", _two_loop(gamma_at_end=True), "between the two loops"),
    # lesson 11
    ("l11_classify_critical_point", "diagonal", _classify("diagonal"), "not the diagonal"),
    ("l11_classify_critical_point", "determinant", _classify("determinant"), "determinant"),
    ("l11_classify_critical_point", "no tolerance", _classify("no tol"), "within tol"),
    ("l11_classify_critical_point", "zeros before saddles", _classify("zeros first"), "before checking for zeros"),
    ("l11_classify_critical_point", "semidefinite is a minimum", _classify("semidefinite"), "undecided"),
    ("l11_classify_critical_point", "min/max swapped", _classify("swapped"), "swapped"),
    ("l11_classify_critical_point", "capitalised", lambda h, tol=1e-6: _classify("right")(h, tol).title(),
     "lower case"),
    ("l11_power_iteration", "exact eigenvalue", _power("exact"), "exact eigenvalue"),
    ("l11_power_iteration", "length of Av", _power("length"), "Rayleigh quotient"),
    ("l11_power_iteration", "one product more", _power("one more"), "one product too many"),
    ("l11_power_iteration", "normalise after the product", _power_normalise_after, "one product too many"),
    ("l11_power_iteration", "no normalisation", _power("no norm"), "normalise"),
    ("l11_power_iteration", "v0 not normalised", _power("v0 raw"), "v0 too"),
    # lesson 12
    ("l12_compression_numbers", "bits times ln 2", _compression(bits=lambda L: L * math.log(2)), "multiplied"),
    ("l12_compression_numbers", "bits = log2(L)", _compression(bits=lambda L: math.log2(L) if L > 0 else 0.0),
     "not log2(L)"),
    ("l12_compression_numbers", "2 ** nats", _compression(ppl=lambda L, b: 2 ** L), "raised 2 to the nats"),
    ("l12_compression_numbers", "e ** bits", _compression(ppl=lambda L, b: math.exp(b)), "raised e to the bits"),
    ("l12_compression_numbers", "size in bits", _compression(size=lambda n, L, b: n * b), "divide by 8"),
    ("l12_compression_numbers", "size in nats", _compression(size=lambda n, L, b: n * L / 8), "not nats"),
    ("l12_unigram_bits_per_char", "no smoothing", _unigram(add=0), "smoothing"),
    ("l12_unigram_bits_per_char", "denominator without V", _unigram(denom="none"), "sum to 1"),
    ("l12_unigram_bits_per_char", "V from the training text", _unigram(denom="seen"), "whole vocabulary"),
    ("l12_unigram_bits_per_char", "nats", _unigram(log=math.log), "nats"),
    ("l12_unigram_bits_per_char", "total bits", _unigram(mean=False), "PER character"),
    ("l12_unigram_bits_per_char", "counts the test text", _unigram(counted="both"), "TRAINING text only"),
    ("l12_unigram_bits_per_char", "scores the training text", _unigram(scored="train"), "score the TEST"),
]


@pytest.mark.parametrize("grade_id, label, wrong, keyword", WRONG, ids=[f"{g}-{lab}" for g, lab, *_ in WRONG])
def test_wrong_implementation_is_diagnosed(grade_id, label, wrong, keyword):
    # what the learner sees: the inline check on the visible cases
    with pytest.raises(CheckFailed) as info:
        check(wrong, grade_id)
    feedback = "\n".join(line for line in info.value.lines if line.startswith("  - "))
    assert keyword.lower() in feedback.lower(), f"{label}: expected {keyword!r} in\n{info.value}"
    # and the grader (all cases, every seed) fails it too
    for seed in SEEDS:
        assert not all(o.ok for o in case_outcomes(grade_id, wrong, seed)), seed


def test_every_exercise_has_two_wrong_implementations():
    counts = {g: 0 for g in LESSON_EXERCISES}
    for grade_id, *_ in WRONG:
        counts[grade_id] += 1
    assert all(n >= 2 for n in counts.values()), counts


def test_sweep_and_smoothing_accept_arrays_and_tensors():
    assert all(o.ok for o in case_outcomes("l09_exponential_lr_schedule", lambda s, e, n: np.geomspace(s, e, n)))
    assert all(o.ok for o in case_outcomes("l09_exponential_lr_schedule",
                                       lambda s, e, n: torch.logspace(math.log10(s), math.log10(e), n,
                                                                      dtype=torch.float64)))
    from course_lib.lr_finder import smooth_losses
    assert all(o.ok for o in case_outcomes("l09_smooth_losses", lambda losses, beta=0.98: smooth_losses(losses, beta)))


def test_newton_accepts_an_explicit_inverse_and_two_loop_accepts_course_lib():
    assert all(o.ok for o in case_outcomes("l10_newton_step", lambda g, H: -torch.linalg.inv(H) @ g))
    from course_lib.second_order import two_loop_direction

    def lib(g, s_list, y_list):
        gamma = float(s_list[-1] @ y_list[-1]) / float(y_list[-1] @ y_list[-1]) if s_list else 1.0
        return two_loop_direction(g, s_list, y_list, gamma)

    assert all(o.ok for o in case_outcomes("l10_two_loop_direction", lib))


def test_power_iteration_and_compression_accept_python_floats():
    right = solution("l11_power_iteration")
    assert all(o.ok for o in case_outcomes("l11_power_iteration", lambda *a: float(right(*a))))
    as_tensors = lambda L, n: tuple(torch.tensor(x, dtype=torch.float64)  # noqa: E731
                                    for x in solution("l12_compression_numbers")(L, n))
    assert all(o.ok for o in case_outcomes("l12_compression_numbers", as_tensors))


def test_hidden_case_feedback_does_not_show_the_answer():
    ex = get("l11_classify_critical_point")
    wrong = lambda hessian, tol=1e-6: "minimum"  # noqa: E731
    for case in ex.cases(0):
        outcome = run_case(ex, wrong, case)
        if case.hidden and not outcome.ok:
            assert "eigenvalues say" not in outcome.message


# ------------------------------------------------------------------ the protocol's edges

def _not_implemented(*args, **kwargs):
    raise NotImplementedError()


@pytest.mark.parametrize("grade_id", IDS)
def test_not_implemented_is_reported(grade_id):
    outcomes = case_outcomes(grade_id, _not_implemented)
    assert outcomes and all(not o.ok and "not implemented" in o.message for o in outcomes)


def _first_mutable(args):
    """The first float tensor among the arguments (inside a list too), or the first list."""
    for a in args:
        if isinstance(a, torch.Tensor) and a.is_floating_point():
            return lambda: a.add_(1.0)
        if isinstance(a, list) and a and isinstance(a[0], torch.Tensor):
            return lambda: a[0].add_(1.0)
        if isinstance(a, list) and a:
            return lambda: a.append(a[0])
    return None


@pytest.mark.parametrize("grade_id", IDS)
def test_changing_an_input_in_place_fails(grade_id):
    right = solution(grade_id)

    def fn(*args, **kwargs):
        out = right(*args, **kwargs)
        mutate = _first_mutable(args)
        if mutate:
            mutate()
        return out

    outcomes = [run_case(get(grade_id), fn, c) for c in get(grade_id).cases(0) if _first_mutable(c.args)]
    if grade_id in ("l09_exponential_lr_schedule", "l12_compression_numbers", "l12_unigram_bits_per_char"):
        assert not outcomes                    # numbers and strings only: nothing to change
        return
    assert outcomes and all(not o.ok and "in place" in o.message for o in outcomes)


@pytest.mark.parametrize("grade_id", IDS)
def test_check_prints_passes_or_raises_and_never_writes_stderr(grade_id, capsys):
    check(solution(grade_id), grade_id)
    out, err = capsys.readouterr()
    assert "passes" in out and err == ""
    wrong = next(w for g, _, w, _ in WRONG if g == grade_id)
    with pytest.raises(CheckFailed) as info:
        check(wrong, grade_id)
    out, err = capsys.readouterr()
    assert err == "" and out == ""
    assert info.value.lines[0].startswith("✗") and get(grade_id).hint in str(info.value)


def test_check_runs_only_visible_cases():
    for grade_id in IDS:
        visible = [c.name for c in get(grade_id).cases(0) if not c.hidden]
        with pytest.raises(CheckFailed) as info:
            check(_not_implemented, grade_id)
        assert info.value.lines[0].endswith(f"0 of {len(visible)} checks pass.")
        shown = [line[4:].split(": ")[0] for line in info.value.lines if line.startswith("  - ")]
        assert shown == visible[:3]


GARBAGE = [
    None, True, 0, 1.5, float("nan"), "text", [], (), {"a": 1}, [1, 2], (1.0, 2.0, 3.0), [True, False],
    torch.tensor(1.0), torch.tensor(float("nan")), torch.zeros(3), torch.zeros(2, 2, dtype=torch.int64),
    torch.tensor([True]), torch.full((3,), float("inf")), torch.zeros(0), torch.tensor([1, 2]),
    (torch.zeros(1), torch.zeros(1)), (torch.zeros(1),) * 3, [torch.tensor(float("nan"))] * 2,
    [[1, 2], [3]], [torch.zeros(())], (["a"], ["b"]), ([], []), ([("a", (1,))], []), ([1], ["x"]),
    ([torch.zeros(3)], torch.tensor(0.0)), (torch.tensor(0.0), [torch.zeros(3)]), [0.5, 1.5], [-1, 2],
    "Minimum", "saddle", [torch.zeros(())] * 3, (1.0, float("inf"), -1.0), (1, 2, 3), torch.zeros(1, 1),
    [float("nan")] * 3, (0.0, 0.0), torch.zeros(5), [1.0] * 300, (torch.zeros(1), 2.0, "x"),
]


@pytest.mark.parametrize("grade_id", IDS)
def test_compare_survives_any_returned_value(grade_id):
    # compare runs in the grader with whatever a submission sent: it must answer, never raise
    ex = get(grade_id)
    for case in ex.cases(0):
        expected = ex.reference(*case.args, **case.kwargs)
        for value in GARBAGE:
            message = ex.compare(case, expected, codec.decode(codec.encode(value)))
            assert message is None or (isinstance(message, str) and message), (value, case.name)


# ------------------------------------------------------------------ the notebooks

# The nbgrader-source checks, the build_solutions round trip and the generated exercise
# version run for every solutions notebook in tests/test_exercise_specs.py; here, only what
# is specific to these lessons.

@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_holds_exactly_its_lessons_exercises(path):
    grade_ids, solutions, checks = nbgrader_cells(path)
    prefix = "l" + path.name[:2]
    assert sorted(solutions) == sorted(g for g in LESSON_EXERCISES if g.startswith(prefix + "_"))
    assert all(g.startswith(prefix + "_") for g in grade_ids)
    for grade_id in solutions:
        assert checks[f"{grade_id}_check"][1] == LESSON_EXERCISES[grade_id][1]
    assert len(checks) == len(solutions)
