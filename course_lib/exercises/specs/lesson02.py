"""Lesson 02 exercises: gradient descent.

``finite_difference_grad`` (central differences, checked against autograd on whitelisted
functions), ``fit_house_prices`` (gradient descent with a standardised feature, answer in
original units, checked against the least-squares line), ``minibatch_indices`` (one
shuffled epoch cut into mini-batches, exactly as ``torch.randperm`` with a seeded generator),
``mlp_backward`` (the backward pass of a 2-layer ReLU MLP with softmax cross-entropy, checked
against autograd on random shapes) and ``choose_batch_and_lr`` (an experiment: a batch size and
a learning rate for a random linear fit under a budget of examples, judged by running them).
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

__all__ = ["CHOOSE_BATCH_AND_LR", "EXERCISES", "FINITE_DIFFERENCE", "FIT_HOUSE_PRICES", "HOUSE_MSE",
           "MINIBATCH_INDICES", "MLP_BACKWARD", "QUADRATIC", "ROSENBROCK", "budget_run"]


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
    # (a seeded permutation of a few indices is the identity by chance: 1 in 120 for n = 5)
    if flat.tolist() == list(range(n)) and n > 1 and torch.cat(expected).tolist() != flat.tolist():
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


# ---------------------------------------------------------------- l02_mlp_backward

def _mlp_case(rng: np.random.Generator, n: int, d: int, h: int, k: int, dtype=F64,
              dead: bool = False) -> tuple:
    X = rng.normal(size=(n, d))
    labels = rng.integers(0, k, n)
    W1 = rng.normal(size=(h, d)) / np.sqrt(d)
    b1 = rng.normal(scale=0.5, size=h)
    if dead:                                   # a few hidden units that no example switches on
        b1[: max(1, h // 3)] = -50.0
    W2 = rng.normal(size=(k, h)) / np.sqrt(h)
    b2 = rng.normal(scale=0.5, size=k)
    return (as_tensor(X, dtype), torch.tensor(labels, dtype=torch.int64), as_tensor(W1, dtype),
            as_tensor(b1, dtype), as_tensor(W2, dtype), as_tensor(b2, dtype))


def _mlp_cases(rng: np.random.Generator) -> list[Case]:
    return [
        Case("N = 6 rows, 4 inputs, 5 hidden units, 3 classes", _mlp_case(rng, 6, 4, 5, 3)),
        Case("a single example (N = 1)", _mlp_case(rng, 1, 3, 4, 2)),
        Case("hidden layer as wide as the output (W2 square)", _mlp_case(rng, 8, 5, 4, 4)),
        Case("10 classes, 32 hidden units", _mlp_case(rng, 20, 8, 32, 10)),
        Case("some hidden units are never active", _mlp_case(rng, 9, 4, 6, 3, dead=True)),
        Case("float32 tensors", _mlp_case(rng, 12, 6, 7, 5, dtype=F32)),
        Case("another random shape", _mlp_case(rng, 15, 7, 9, 9), hidden=True),
        Case("more rows than units", _mlp_case(rng, 64, 3, 5, 2), hidden=True),
    ]


def _mlp_reference(X, labels, W1, b1, W2, b2) -> tuple[torch.Tensor, ...]:
    params = [t.detach().clone().requires_grad_(True) for t in (W1, b1, W2, b2)]
    logits = torch.relu(X @ params[0].T + params[1]) @ params[2].T + params[3]
    torch.nn.functional.cross_entropy(logits, labels).backward()
    return tuple(p.grad.detach() for p in params)


def _mlp_variant(X, labels, W1, b1, W2, b2, *, per_row: float = 1.0, sign: float = 1.0,
                 mask: bool = True, w2_transposed: bool = False, bias_mean: bool = False):
    """A backward pass with one known mistake switched on (for diagnosis)."""
    X, W1, b1, W2, b2 = (t.double() for t in (X, W1, b1, W2, b2))
    H = X @ W1.T + b1
    A = torch.relu(H)
    Z = A @ W2.T + b2
    onehot = torch.nn.functional.one_hot(labels, Z.shape[1]).double()
    G_Z = sign * (torch.softmax(Z, dim=1) - onehot) / len(X) * per_row
    G_A = G_Z @ (W2.T if w2_transposed else W2)
    G_H = G_A * (H > 0) if mask else G_A
    reduce = (lambda t: t.mean(0)) if bias_mean else (lambda t: t.sum(0))
    return G_H.T @ X, reduce(G_H), G_Z.T @ A, reduce(G_Z)


_MLP_NAMES = ("dW1", "db1", "dW2", "db2")


def _mlp_compare(case: Case, expected, got) -> str | None:
    X, labels, W1, b1, W2, b2 = case.args
    n = X.shape[0]
    if isinstance(got, (tuple, list)) and len(got) == 4:
        for name, e, g in zip(_MLP_NAMES, expected, got):
            if isinstance(g, torch.Tensor) and g.dim() == 2 and e.dim() == 2 and \
                    tuple(g.shape) == tuple(e.shape[::-1]) and e.shape[0] != e.shape[1]:
                return (f"{name} has the shape of its weight matrix transposed, {tuple(g.shape)}: a "
                        "gradient has the shape of what it differentiates (nn.Linear stores a weight "
                        "as outputs x inputs), so swap the two factors of the product and transpose "
                        "the one that carries the batch dimension")
    args = (X, labels, W1, b1, W2, b2)
    mistakes = [
        ("every gradient is N times too large: the loss is the mean over the N rows, so the "
         "gradient with respect to the logits carries a factor 1/N", _mlp_variant(*args, per_row=float(n))),
        ("every gradient has the wrong sign: the gradient of the loss with respect to the logits is "
         "softmax minus one-hot (the predicted probability of the true class must rise, so its logit "
         "is pushed up when you step against the gradient)", _mlp_variant(*args, sign=-1.0)),
        ("dW2 and db2 are right but dW1 and db1 are not: the gradient arriving at the hidden layer "
         "has to pass through the ReLU, whose derivative is 1 where the pre-activation is positive "
         "and 0 elsewhere", _mlp_variant(*args, mask=False)),
        ("dW2 and db2 are right but dW1 and db1 are not: the gradient is sent back through "
         "Z = A W2^T by multiplying with W2 itself; with a square W2 its transpose has the right "
         "shape and the wrong values",
         _mlp_variant(*args, w2_transposed=True) if W2.shape[0] == W2.shape[1] else None),
        ("the weight gradients are right but the bias gradients are not: the 1/N is already in the "
         "gradient of the logits, so each bias gradient is a sum over the rows, not a mean",
         _mlp_variant(*args, bias_mean=True)),
    ]
    expected_dtype = X.dtype
    rtol, atol = (1e-4, 1e-6) if expected_dtype == F32 else (1e-6, 1e-10)
    return diagnose_tuple(_MLP_NAMES, expected, got, mistakes, rtol=rtol, atol=atol)


MLP_BACKWARD = Exercise(
    grade_id="l02_mlp_backward",
    function="mlp_backward",
    points=3,
    make_cases=_mlp_cases,
    reference=_mlp_reference,
    compare=_mlp_compare,
    hint="start at the loss and walk back one layer at a time: each gradient has the shape of the "
         "tensor it differentiates, which tells you which product to form.",
    hints=(
        "Forward: H = X W1ᵀ + b1, A = ReLU(H), Z = A W2ᵀ + b2, L = mean over rows of the cross-entropy. "
        "Backward, from the top: the gradient with respect to the logits is G_Z = (softmax(Z) − Y)/N "
        "with Y the one-hot rows of the labels. A layer Z = A Wᵀ + b sends G_Z to three places: "
        "∂L/∂W = G_Zᵀ A (shape of W), ∂L/∂b = the column sums of G_Z (shape of b), and "
        "∂L/∂A = G_Z W (shape of A). The ReLU passes the gradient where H > 0 and blocks it elsewhere.",
        "The order of the work, with shapes (N rows, d inputs, h hidden, k classes):\n"
        "  1. forward, keeping H (N x h), A (N x h) and Z (N x k);\n"
        "  2. softmax of Z along the class dimension, minus one at each row's label (a one-hot "
        "matrix of the labels, or an index into the probabilities), divided by N: G_Z, N x k;\n"
        "  3. the top layer's gradients: G_Z transposed times A (k x h), and G_Z summed over rows (k);\n"
        "  4. back to the hidden layer: G_Z times W2 (N x h), then zero it where H is not positive;\n"
        "  5. the bottom layer's gradients from that, the same way as in step 3, with X in place of A.\n"
        "Return the four gradients as a tuple, the first layer's weight and bias first; no autograd.",
    ),
    forbidden=AUTOGRAD,
)


# ---------------------------------------------------------------- l02_choose_batch_and_lr

#: Shuffle seeds of the check's runs: the excess loss is averaged over these five runs.
BUDGET_SEEDS = (0, 1, 2, 3, 4)


#: Budgets stay under this many examples (a smaller b_star where the steps are many), so that a
#: search over every batch size finishes well inside the grader's 10 s per call.
MAX_BUDGET = 8192


def _budget_problem(rng: np.random.Generator) -> tuple:
    """A random linear fit (feature scale, offset, noise and N random), a budget and a target.

    The target is 12x the expected noise floor of mini-batch gradient descent at a batch size
    ``b_star`` drawn from 8 to 128 with lr = 1/λ_max; the budget pays for enough steps at
    ``b_star`` that the start is forgotten (the expected transient under half the floor).
    Computed exactly for the quadratic, not simulated.
    """
    n = int(rng.integers(400, 1200))
    s = 10 ** rng.uniform(-1.0, 1.0)   # curvature over four decades: no fixed lr suits them all
    z = s * rng.uniform(-0.5, 0.5) + s * rng.standard_normal(n)
    y = rng.uniform(-5, 5) * z + rng.uniform(-5, 5) + rng.uniform(0.5, 3.0) * rng.standard_normal(n)
    b_star = int(2 ** rng.integers(3, 8))            # 8 to 128: no fixed batch size suits them all
    st = _budget_stats(z, y)
    lr = 1 / st["lam_max"]
    while True:
        floor = _noise_floor(st, n, b_star, lr)
        a = np.eye(2) - lr * st["hessian"]
        gap, steps = -st["theta"], 0
        while 0.5 * gap @ st["hessian"] @ gap > floor / 2 and steps < 10_000:
            gap, steps = a @ gap, steps + 1
        if b_star * max(steps, 20) <= MAX_BUDGET or b_star <= 8:
            break
        b_star //= 2                                  # a smaller budget keeps a search in seconds
    # at least 20 steps: fewer leave the runs short of stationary and the average too noisy
    return as_tensor(z), as_tensor(y), int(b_star * max(steps, 20)), float(f"{12 * floor:.3g}")


def _noise_floor(st: dict, n: int, batch_size: int, lr: float) -> float:
    """Expected excess loss of mini-batch GD at stationarity: 1/2 tr(H S), S = A S A + lr^2 C."""
    hess = st["hessian"]
    a = np.eye(2) - lr * hess
    c = st["cov"] * (n - batch_size) / (batch_size * (n - 1))
    cov = np.linalg.solve(np.eye(4) - np.kron(a, a), (lr * lr * c).reshape(-1)).reshape(2, 2)
    return float(0.5 * np.trace(hess @ cov))


def _budget_stats(z: np.ndarray, y: np.ndarray) -> dict:
    X = np.stack([z, np.ones_like(z)], axis=1)
    theta = np.linalg.lstsq(X, y, rcond=None)[0]
    r = X @ theta - y
    g = np.stack([2 * r * z, 2 * r], axis=1)
    hess = 2 * np.array([[np.mean(z * z), z.mean()], [z.mean(), 1.0]])
    lam = np.linalg.eigvalsh(hess)
    centred = g - g.mean(0)
    return {"loss_star": float(np.mean(r * r)), "theta": theta, "hessian": hess,
            "cov": centred.T @ centred / len(z), "lam_min": float(lam[0]), "lam_max": float(lam[1])}


def budget_run(z, y, batch_size: int, lr: float, steps: int, seed: int, *,
               noiseless: bool = False) -> tuple[float, int | None]:
    """Mini-batch gradient descent on mean((w z + b - y)^2) from (0, 0), shuffled epochs.

    Returns ``(final loss, step at which it blew up or None)``; ``noiseless`` uses the full
    gradient at every step (the same number of steps), to tell slowness from noise.
    """
    z, y = np.asarray(z, dtype=np.float64), np.asarray(y, dtype=np.float64)
    gen = np.random.default_rng(seed)
    n, w, b = len(z), 0.0, 0.0
    order, pos = gen.permutation(n), 0
    for step in range(1, steps + 1):
        if noiseless:
            idx = slice(None)
        else:
            if pos + batch_size > n:
                order, pos = gen.permutation(n), 0
            idx = order[pos:pos + batch_size]
            pos += batch_size
        r = w * z[idx] + b - y[idx]
        w, b = w - lr * 2 * float(np.mean(r * z[idx])), b - lr * 2 * float(np.mean(r))
        if not (abs(w) < 1e8 and abs(b) < 1e8):
            return math.inf, step
    return float(np.mean((w * z + b - y) ** 2)), None


def _budget_cases(rng: np.random.Generator) -> list[Case]:
    names = ["problem A", "problem B", "problem C", "problem D", "problem E", "problem F",
             "problem G (hidden)", "problem H (hidden)"]
    return [Case(name, _budget_problem(rng), hidden="hidden" in name) for name in names]


def _budget_reference(z, y, budget, target) -> float:
    # the check judges the outcome by running it; what it needs is the loss at the minimum
    return _budget_stats(z.numpy(), y.numpy())["loss_star"]


def _budget_compare(case: Case, expected, got) -> str | None:
    z, y, budget, target = case.args
    n = len(z)
    if not isinstance(got, dict) or set(got) != {"batch_size", "lr"}:
        return (f"should return a dict with the keys 'batch_size' and 'lr', got {describe(got)}"
                + (f" with keys {sorted(map(str, got))}" if isinstance(got, dict) else ""))
    b_raw, lr = got["batch_size"], as_float(got["lr"])
    if isinstance(b_raw, torch.Tensor) and b_raw.numel() == 1 and not b_raw.is_floating_point():
        b_raw = int(b_raw.item())
    if isinstance(b_raw, bool) or not isinstance(b_raw, int):
        return f"the batch size should be a whole number (an int), got {describe(b_raw)}"
    if not 1 <= b_raw <= n:
        return f"the batch size should be from 1 to N = {n} (the number of examples), got {b_raw}"
    if lr is None or not math.isfinite(lr) or lr <= 0:
        return f"the learning rate should be a positive number, got {describe(got['lr'])}"
    if b_raw > budget:
        return f"a batch of {b_raw} costs more than the whole budget of {budget} examples"
    steps = budget // b_raw
    runs = [budget_run(z, y, b_raw, lr, steps, seed) for seed in BUDGET_SEEDS]
    blown = [at for _, at in runs if at is not None]
    diverged = (f"with batch size {b_raw} and lr {lr:.3g} the run diverged ({{}}): the learning rate "
                "is above what this problem's curvature allows; measure the curvature of the loss "
                "before choosing it")
    if blown:
        return diverged.format(f"the weights passed 1e8 at step {min(blown)}")
    start = float((y.double() ** 2).mean())           # the loss at (0, 0), where every run starts
    final = sum(loss for loss, _ in runs) / len(runs)
    excess = final - expected
    if excess <= target:                              # (a start near the minimum may end above it)
        return None
    if final > start:
        return diverged.format(f"the loss rose from {start:.3g} to {final:.3g}")
    quiet, _ = budget_run(z, y, b_raw, lr, steps, 0, noiseless=True)
    where = (f"with batch size {b_raw} and lr {lr:.3g} the budget pays for {steps} steps, and the loss "
             f"ended {excess:.3g} above its minimum (target {target:.3g})")
    if quiet - expected > target:
        return (where + ": even without gradient noise that many steps at this learning rate do not get "
                "there. The run is too slow: more steps (a smaller batch), or a bigger learning rate "
                "if the curvature allows it")
    return (where + ": with the full gradient the same steps would have made it, so the gradient "
            "noise is what keeps the loss up. A bigger batch averages it away (fewer steps), and a "
            "smaller learning rate shrinks each noisy step (slower)")


CHOOSE_BATCH_AND_LR = Exercise(
    grade_id="l02_choose_batch_and_lr",
    function="choose_batch_and_lr",
    points=3,
    all_or_nothing=True,  # a guessed configuration must not earn part of the points
    make_cases=_budget_cases,
    reference=_budget_reference,
    compare=_budget_compare,
    hint="two things limit you: the steps the budget pays for (fewer with a bigger batch) and the "
         "noise left at the end (more with a smaller batch); measure before you choose.",
    hints=(
        "The learning rate first: section 4's Hessian of this loss is 2·[[mean z², mean z], [mean z, 1]], "
        "and a step is stable only for lr < 2/λ_max. Anywhere near that limit the run is fast but "
        "rattles; around 1/λ_max the stiff direction is settled in one step and the flat one is as fast "
        "as it can be. Then the batch size: each candidate B gives budget // B steps; too few steps and "
        "the loss is still falling when the budget runs out, too small a B and the gradient noise "
        "(variance ∝ 1/B, section 6) leaves it rattling above the minimum. The best B sits between.",
        "An experiment that decides:\n"
        "  1. compute the 2 x 2 Hessian from the data and its largest eigenvalue; fix lr at about "
        "1/λ_max;\n"
        "  2. for each batch size in 1, 2, 4, ... up to the budget's limit: run section 5's loop from "
        "(0, 0) for budget // B steps with two or three shuffle seeds, and record the final loss "
        "minus the least-squares loss, averaged over the seeds;\n"
        "  3. return the batch size with the lowest such excess, and your learning rate.\n"
        "A run costs at most `budget` examples, so the whole search is a few seconds of numpy or torch.",
    ),
)


# this lesson's exercises, in the order the notebook asks for them
EXERCISES = (FINITE_DIFFERENCE, FIT_HOUSE_PRICES, MINIBATCH_INDICES, MLP_BACKWARD, CHOOSE_BATCH_AND_LR)
