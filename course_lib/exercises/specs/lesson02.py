"""Lesson 02 exercises: gradient descent.

``finite_difference_grad`` (central differences, checked against autograd on whitelisted
functions), ``fit_house_prices`` (gradient descent with a standardised feature, answer in
original units, checked against the least-squares line) and ``minibatch_indices`` (one
shuffled epoch cut into mini-batches, exactly as ``torch.randperm`` with a seeded generator).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from course_lib.exercises.case_functions import HOUSE_MSE, QUADRATIC, ROSENBROCK
from course_lib.exercises.codec import NamedFunction
from course_lib.exercises.protocol import Case, Exercise
from course_lib.exercises.specs._helpers import (
    AUTOGRAD,
    F32,
    F64,
    as_float,
    as_tensor,
    describe,
    diagnose,
    diagnose_tuple,
)

__all__ = ["EXERCISES", "FINITE_DIFFERENCE", "FIT_HOUSE_PRICES", "HOUSE_MSE", "MINIBATCH_INDICES",
           "QUADRATIC", "ROSENBROCK"]


# ---------------------------------------------------------------- functions f for finite differences
# Whitelisted by name (in course_lib.exercises.case_functions, which the grading sandbox can import)
# so that the autograder can send them to the learner's kernel as plain data.

_DEFAULT_H = 1e-5


# ---------------------------------------------------------------- l02_finite_difference_grad

def _fd_cases(rng: np.random.Generator) -> list[Case]:
    return [
        Case("Rosenbrock at (-1.2, 1)", (ROSENBROCK, torch.tensor([-1.2, 1.0], dtype=F64))),
        Case("Rosenbrock at a random point", (ROSENBROCK, as_tensor(rng.uniform(-1.5, 1.5, 2)))),
        Case("quadratic bowl, x of 5 entries", (QUADRATIC, as_tensor(rng.normal(size=5)))),
        Case("quadratic bowl, x of shape (2, 3)", (QUADRATIC, as_tensor(rng.normal(size=(2, 3))))),
        Case("quadratic bowl, a 0-dim x", (QUADRATIC, as_tensor(rng.normal()))),
        Case("house-price MSE at x = (w, b)", (HOUSE_MSE, as_tensor(rng.normal(size=2)))),
        Case("h passed explicitly (h = 1e-4)", (HOUSE_MSE, as_tensor(rng.normal(size=2))), {"h": 1e-4}),
        Case("at the minimum of Rosenbrock (gradient 0)", (ROSENBROCK, torch.tensor([1.0, 1.0], dtype=F64))),
        Case("quadratic bowl, x of shape (3, 4)", (QUADRATIC, as_tensor(rng.normal(size=(3, 4)))),
             hidden=True),
        Case("Rosenbrock, another point", (ROSENBROCK, as_tensor(rng.uniform(-1.5, 1.5, 2))), hidden=True),
    ]


def _fd_reference(f: NamedFunction, x: torch.Tensor, h: float = _DEFAULT_H) -> torch.Tensor:
    # autograd's exact gradient: a correct central difference agrees to about h^2
    xg = x.detach().clone().requires_grad_(True)
    f(xg).backward()
    return xg.grad.detach()


def _one_sided(f, x: torch.Tensor, h: float, direction: int) -> torch.Tensor:
    """Forward (direction=+1) or backward (-1) one-sided difference, for diagnosis."""
    flat = x.detach().double().reshape(-1)
    out = torch.zeros_like(flat)
    f0 = f(x.detach().double())
    for i in range(flat.numel()):
        step = torch.zeros_like(flat)
        step[i] = direction * h
        out[i] = direction * (f((flat + step).reshape(x.shape)) - f0) / h
    return out.reshape(x.shape)


def _fd_compare(case: Case, expected, got) -> str | None:
    f, x = case.args
    h = case.kwargs.get("h", _DEFAULT_H)
    e = expected.double()
    mistakes = [
        ("that is a one-sided (forward) difference (f(x+h) - f(x)) / h: use the central difference "
         "(f(x+h) - f(x-h)) / (2h), whose error shrinks like h^2 instead of h",
         _one_sided(f, x, h, +1)),
        ("that is a one-sided (backward) difference (f(x) - f(x-h)) / h: use the central difference "
         "(f(x+h) - f(x-h)) / (2h)", _one_sided(f, x, h, -1)),
        ("twice the gradient: divide f(x+h) - f(x-h) by 2h, not by h", 2 * e),
        ("half the gradient: divide f(x+h) - f(x-h) by 2h, not by 4h (or h^2)", 0.5 * e),
        ("the sign is flipped: compute f(x+h) - f(x-h), in that order", -e),
    ]
    if isinstance(got, torch.Tensor) and tuple(got.shape) != tuple(x.shape):
        return (f"the gradient has shape {tuple(got.shape)}, but it must have the shape of x, "
                f"{tuple(x.shape)}: reshape the result to x.shape")
    return diagnose("the gradient", expected, got, mistakes, rtol=1e-6, atol=1e-7)


FINITE_DIFFERENCE = Exercise(
    grade_id="l02_finite_difference_grad",
    function="finite_difference_grad",
    points=2,
    make_cases=_fd_cases,
    reference=_fd_reference,
    compare=_fd_compare,
    hint="estimate one partial derivative at a time: move one coordinate by h either way, and divide the "
         "change in f by the distance between the two points.",
    hints=(
        "∂f/∂x_i ≈ (f(x + h·e_i) − f(x − h·e_i)) / (2h), with e_i the unit vector along coordinate i: "
        "two evaluations of f per coordinate, one on each side, 2h apart. The error of this central "
        "difference shrinks like h²; a one-sided difference is only good to about h. The gradient has "
        "one partial derivative per entry of x, so it has x's shape, whatever that is (0-dim too).",
        "x may have any shape, so work on a flat view and reshape at the end:\n"
        "  1. a flat copy of x (reshape(-1)) and a result of zeros of the same length;\n"
        "  2. for each index i up to the number of entries (numel): a vector of zeros with h at position "
        "i; call f at the flat copy plus that vector and at the flat copy minus it, each reshaped to "
        "x's shape first, since f expects x's shape;\n"
        "  3. entry i of the result is the difference of the two values divided by 2h;\n"
        "  4. reshape the result to x's shape.\n"
        "Never write into x itself: adding h and subtracting it again does not always give back the "
        "same float.",
    ),
    forbidden=AUTOGRAD,
)


# ---------------------------------------------------------------- l02_fit_house_prices

def _houses(rng: np.random.Generator, n: int, slope: float = 0.15, intercept: float = 40.0,
            noise: float = 30.0) -> tuple[np.ndarray, np.ndarray]:
    sqft = rng.uniform(600, 3500, n)
    price = intercept + slope * sqft + rng.normal(0, noise, n)      # $1000s
    return sqft, price


def _fit_cases(rng: np.random.Generator) -> list[Case]:
    # lr and steps are chosen so that any correct standardised loop (population or sample std,
    # gradient with or without the factor 2) converges to the least-squares line.
    s1, p1 = _houses(rng, 6)
    s2, p2 = _houses(rng, 20)
    s3, p3 = _houses(rng, 12)
    s4, p4 = _houses(rng, 15)
    s5, p5 = _houses(rng, 8, noise=0.0)
    s6, p6 = _houses(rng, 10, slope=-0.08, intercept=600.0)
    s7, p7 = _houses(rng, 50)
    s8, p8 = _houses(rng, 9)
    return [
        Case("6 houses, lr 0.1, 300 steps", (as_tensor(s1), as_tensor(p1), 0.1, 300)),
        Case("20 houses, lr 0.05, 600 steps", (as_tensor(s2), as_tensor(p2), 0.05, 600)),
        Case("prices in dollars (large values)", (as_tensor(s3), as_tensor(1000 * p3), 0.2, 200)),
        Case("float32 data", (as_tensor(s4, F32), as_tensor(p4, F32), 0.1, 300)),
        Case("points exactly on a line (no noise)", (as_tensor(s5), as_tensor(p5), 0.1, 300)),
        Case("a falling line (negative slope)", (as_tensor(s6), as_tensor(p6), 0.1, 300)),
        Case("50 houses", (as_tensor(s7), as_tensor(p7), 0.1, 300), hidden=True),
        Case("lr 0.3", (as_tensor(s8), as_tensor(p8), 0.3, 150), hidden=True),
    ]


def _fit_reference(sqft: torch.Tensor, price: torch.Tensor, lr: float, steps: int) -> tuple[float, float]:
    # gradient descent converges to the least-squares line; compute that line directly
    s, y = sqft.double(), price.double()
    X = torch.stack([s, torch.ones_like(s)], dim=1)
    w, b = torch.linalg.lstsq(X, y.unsqueeze(1)).solution.squeeze(1).tolist()
    return w, b


_DIVERGED = ("w or b {what}: gradient descent diverged. Standardise the feature first (subtract its "
             "mean, divide by its standard deviation), and step against the gradient")


def _fit_compare(case: Case, expected, got) -> str | None:
    sqft = case.args[0]
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return f"should return a tuple (w, b) of two numbers, got {describe(got)}"
    w_got, b_got = as_float(got[0]), as_float(got[1])
    if w_got is None or b_got is None:
        return f"w and b should be numbers (floats or 0-dim tensors), got {describe(got[0])} and {describe(got[1])}"
    w, b = expected
    rtol, atol = (1e-4, 1e-6) if sqft.dtype == F32 else (1e-6, 1e-9)
    g = (torch.tensor(w_got, dtype=F64), torch.tensor(b_got, dtype=F64))
    e = (torch.tensor(w, dtype=F64), torch.tensor(b, dtype=F64))
    if not all(math.isfinite(v) for v in (w_got, b_got)):
        return _DIVERGED.format(what="is NaN or inf")
    scale = max(abs(w), abs(b), 1.0)
    if max(abs(w_got), abs(b_got)) > 1e3 * scale:
        return _DIVERGED.format(what="blew up to a huge value")
    s = sqft.double()
    mu = s.mean()
    b_s = e[1] + e[0] * mu                               # the intercept before conversion
    mistakes = []
    for sigma in (s.std(correction=0), s.std()):       # either std convention
        w_s = e[0] * sigma
        mistakes += [
            ("these are the weights for the standardised feature: convert them back to square feet "
             "(w = w_s/σ, b = b_s − w_s·μ/σ)", (w_s, b_s)),
            ("b is right but w is not: w was fitted to the standardised feature; in square feet it is "
             "w_s/σ", (w_s, e[1])),
        ]
    mistakes.append(("w is right but b is not: the intercept changes too when the feature is shifted back "
                     "by μ (b = b_s − w_s·μ/σ)", (e[0], b_s)))
    return diagnose_tuple(("w", "b"), e, g, mistakes, rtol=rtol, atol=atol)


FIT_HOUSE_PRICES = Exercise(
    grade_id="l02_fit_house_prices",
    function="fit_house_prices",
    points=3,
    make_cases=_fit_cases,
    reference=_fit_reference,
    compare=_fit_compare,
    hint="on raw square feet any useful learning rate diverges: fit the line to a standardised feature, "
         "then convert the fitted line back to square feet.",
    hints=(
        "Three stages.\n"
        "(1) Standardise: x = (sqft − μ)/σ has mean 0 and standard deviation 1, so one learning rate "
        "suits both parameters.\n"
        "(2) Gradient descent on L = mean((w_s·x + b_s − price)²) from w_s = b_s = 0. With the residuals "
        "e = w_s·x + b_s − price: ∂L/∂w_s = 2·mean(e·x) and ∂L/∂b_s = 2·mean(e).\n"
        "(3) Back to square feet: w_s·(sqft − μ)/σ + b_s = w·sqft + b gives w = w_s/σ and "
        "b = b_s − w_s·μ/σ.",
        "The order of the code:\n"
        "  - before the loop: μ and σ of sqft (tensor methods mean and std), the standardised feature as "
        "a new tensor, and w_s, b_s as 0-dim zeros of the feature's dtype;\n"
        "  - each of the `steps` iterations: the residuals (one per house), both gradients (means, so "
        "0-dim), then both updates. Compute both gradients from the same residuals before changing "
        "either parameter;\n"
        "  - after the loop: convert with the formulas of hint 1, and return two Python floats (.item() "
        "of a 0-dim tensor).\n"
        "Never change sqft or price in place.",
    ),
    forbidden=("torch.linalg.lstsq", "torch.linalg.pinv", "torch.linalg.solve", "torch.linalg.inv",
               "numpy.linalg.lstsq", "numpy.linalg.pinv", "numpy.linalg.solve", "numpy.linalg.inv",
               "numpy.polyfit"),
)


# ---------------------------------------------------------------- l02_minibatch_indices

def _mb_cases(rng: np.random.Generator) -> list[Case]:
    seeds = [int(s) for s in rng.integers(0, 2**31 - 1, 8)]
    return [
        Case("n = 10, batch_size = 3 (last batch smaller)", (10, 3, seeds[0])),
        Case("n = 12, batch_size = 4 (divides evenly)", (12, 4, seeds[1])),
        Case("batch_size = n (one batch)", (5, 5, seeds[2])),
        Case("batch_size larger than n", (7, 10, seeds[3])),
        Case("batch_size = 1 (pure SGD)", (6, 1, seeds[4])),
        Case("n = 100, batch_size = 32", (100, 32, seeds[5])),
        Case("n = 1000, batch_size = 64", (1000, 64, seeds[6]), hidden=True),
        Case("n = 33, batch_size = 8", (33, 8, seeds[7]), hidden=True),
    ]


def _mb_reference(n: int, batch_size: int, seed: int) -> list[torch.Tensor]:
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return list(perm.split(batch_size))


def _mb_compare(case: Case, expected, got) -> str | None:
    n, batch_size, _ = case.args
    if isinstance(got, torch.Tensor):
        return ("returned one tensor; return a list of 1-D index tensors, one per mini-batch: cut the "
                "shuffled indices into consecutive chunks")
    if not isinstance(got, (list, tuple)):
        return f"should return a list of 1-D index tensors, got {describe(got)}"
    for i, batch in enumerate(got):
        if not isinstance(batch, torch.Tensor) or batch.dim() != 1:
            return f"batch {i} is {describe(batch)}; every batch should be a 1-D tensor of indices"
        if batch.is_floating_point() or batch.dtype == torch.bool:
            return f"batch {i} has dtype {str(batch.dtype).removeprefix('torch.')}; indices are integers (int64)"
    sizes = [len(b) for b in got]
    right_sizes = [len(b) for b in expected]
    flat = torch.cat(list(got)).long() if got else torch.zeros(0, dtype=torch.int64)
    if sizes != right_sizes:
        if sizes == right_sizes[:-1] and n % batch_size:
            return ("the last, smaller batch is missing: when batch_size does not divide n, "
                    "the leftover indices form one more, shorter batch")
        if len(sizes) == len(right_sizes) and sizes[-1] == batch_size and n % batch_size:
            return "the last batch should be smaller (only the leftover indices), not padded to batch_size"
        return (f"got {len(sizes)} batches of sizes {sizes[:4]}{'...' if len(sizes) > 4 else ''}; "
                "every batch should hold batch_size indices except possibly a smaller last one")
    if sorted(flat.tolist()) != list(range(n)):
        if len(set(flat.tolist())) < len(flat):
            return ("some indices appear more than once (and others never): shuffle a permutation "
                    "(torch.randperm) instead of drawing independent random indices")
        return "the indices should be exactly 0, 1, ..., n - 1, each once per epoch"
    if flat.tolist() == list(range(n)) and n > 1:
        return ("the indices are not shuffled: draw their order as a random permutation, from the seeded "
                "generator the task describes")
    if flat.tolist() != torch.cat(expected).tolist():
        return ("every index appears once and the batch sizes are right, but the order differs from "
                "torch's: draw the permutation with torch's randperm from a private generator seeded with "
                "`seed`, exactly as the task says, and draw nothing else from that generator before it")
    return None


MINIBATCH_INDICES = Exercise(
    grade_id="l02_minibatch_indices",
    function="minibatch_indices",
    points=2,
    make_cases=_mb_cases,
    reference=_mb_reference,
    compare=_mb_compare,
    hint="an epoch uses every example exactly once: shuffle all n indices once, then cut them into "
         "consecutive batches.",
    hints=(
        "Drawing without replacement is a random permutation of 0, 1, ..., n − 1. The check wants "
        "torch's permutation for this seed, so it must come from a private generator seeded with `seed` "
        "(the task names the calls), with nothing else drawn from it first. Then consecutive slices of "
        "batch_size indices; when batch_size does not divide n, the leftover indices form one shorter "
        "last batch (no padding, nothing dropped).",
        "Three steps:\n"
        "  1. a new torch.Generator, seeded with its manual_seed method (which returns the generator);\n"
        "  2. the permutation of n indices from torch's randperm, passing that generator as its "
        "`generator` argument;\n"
        "  3. the tensor method split cuts a 1-D tensor into chunks of a given size, the last one "
        "possibly shorter; it returns a tuple, and the task asks for a list.",
    ),
)


# this lesson's exercises, in the order the notebook asks for them
EXERCISES = (FINITE_DIFFERENCE, FIT_HOUSE_PRICES, MINIBATCH_INDICES)
