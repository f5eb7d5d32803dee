"""Lesson 01 exercises: loss functions.

``mse``, a numerically stable ``cross_entropy_from_logits``, its gradient ``softmax_grad``
= (softmax - onehot) / N, and ``perplexity``. The references are torch's own losses and
autograd; the comparisons recognise the usual mistakes (sum instead of mean, log2, no max
subtraction, forgotten 1/N, ...). ``diagnose_loss`` is a diagnosis judged by outcome: is a
model (random logits built to be learning, at chance, or confidently wrong) learning?
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from course_lib.exercises.protocol import Case, Exercise
from course_lib.exercises.specs._helpers import (
    AUTOGRAD,
    F32,
    F64,
    as_tensor,
    describe,
    diagnose,
    tolerances,
)

__all__ = ["CROSS_ENTROPY", "DIAGNOSE_LOSS", "EXERCISES", "LOSS_DIAGNOSES", "MSE", "PERPLEXITY",
           "SOFTMAX_GRAD"]


# ---------------------------------------------------------------- l01_mse

def _mse_cases(rng: np.random.Generator) -> list[Case]:
    price = rng.uniform(150, 600, 5)                      # $1000s
    dollars = rng.uniform(2e5, 6e5, 8)
    a = rng.normal(size=(4, 3))
    b = rng.normal(size=(2, 3, 4))
    many = rng.normal(size=1000)
    return [
        Case("5 house prices in $1000s, float32",
             (as_tensor(price, F32), as_tensor(price + rng.normal(0, 40, 5), F32))),
        Case("2-D predictions of shape (4, 3), float64", (as_tensor(a), as_tensor(a + rng.normal(size=(4, 3))))),
        Case("a batch of 1", (as_tensor([rng.uniform(100, 500)]), as_tensor([rng.uniform(100, 500)]))),
        Case("perfect predictions (loss 0)", (as_tensor(price), as_tensor(price))),
        Case("prices in dollars (large values)",
             (as_tensor(dollars), as_tensor(dollars + rng.normal(0, 2e4, 8)))),
        Case("0-dim tensors (one number each)", (as_tensor(rng.normal()), as_tensor(rng.normal()))),
        Case("3-D shape", (as_tensor(b), as_tensor(b * 0.5)), hidden=True),
        Case("1000 examples, float32", (as_tensor(many, F32), as_tensor(many + rng.normal(size=1000), F32)),
             hidden=True),
    ]


def _mse_reference(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(pred, target)


def _mse_compare(case: Case, expected, got) -> str | None:
    pred, target = case.args
    d = pred.double() - target.double()
    mistakes = [
        ("you averaged the differences without squaring them: square each difference first",
         d.mean()),
        ("that is the mean absolute error: square the differences instead of taking abs()",
         d.abs().mean()),
        ("that is the sum of squared errors: take the mean (divide by the number of elements)",
         (d ** 2).sum()),
        ("that is the root of the MSE (RMSE): drop the square root", (d ** 2).mean().sqrt()),
        ("that is half the MSE: this course's MSE has no factor 1/2", 0.5 * (d ** 2).mean()),
        ("you squared the mean difference: square each difference first, then average",
         d.mean() ** 2),
    ]
    return diagnose("the loss", expected, got, mistakes, rtol=tolerances(pred)[0], atol=1e-9)


MSE = Exercise(
    grade_id="l01_mse",
    function="mse",
    points=1,
    make_cases=_mse_cases,
    reference=_mse_reference,
    compare=_mse_compare,
    hint="the loss is one number: every difference counts once, squared, and the squares are averaged "
         "over all the elements, whatever the shape.",
    hints=(
        "MSE = (1/n) Σ (ŷ_i − y_i)²: each prediction's error is squared on its own (so errors of either "
        "sign count, and large ones count more), then the n squares are averaged. n is the number of "
        "elements, all of them: a (4, 3) input has 12. The result is a single number, and it stays a "
        "tensor so that backward() can later reach the parameters.",
        "Two element-wise tensor steps, no loop:\n"
        "  1. the residuals: prediction minus target, a new tensor of the inputs' shape;\n"
        "  2. square them, then take their mean with no dim argument: that averages over every element "
        "and returns a 0-dim tensor.\n"
        "Stay in tensors: .item(), float() or the math module would hand back a Python float.",
    ),
    forbidden=("torch.nn.functional.mse_loss",),
)


# ---------------------------------------------------------------- l01_cross_entropy

def _logit_cases(rng: np.random.Generator) -> list[Case]:
    """Logit/target pairs shared by the cross-entropy and its gradient."""
    def targets(n: int, c: int) -> torch.Tensor:
        return torch.tensor(rng.integers(0, c, n), dtype=torch.int64)

    scales = np.array([[1000.0], [-1000.0], [0.0]])
    confident = rng.normal(size=(4, 5))
    y_conf = targets(4, 5)
    confident[np.arange(4), y_conf.numpy()] += 40.0        # the right class wins by a mile
    wrong = rng.normal(size=(3, 4))
    y_wrong = targets(3, 4)
    wrong[np.arange(3), y_wrong.numpy()] -= 30.0           # the right class gets almost nothing
    return [
        Case("3 examples, 4 classes, float32", (as_tensor(rng.normal(size=(3, 4)), F32), targets(3, 4))),
        Case("8 examples, 10 classes, float64", (as_tensor(2 * rng.normal(size=(8, 10))), targets(8, 10))),
        Case("a batch of 1", (as_tensor(rng.normal(size=(1, 5))), targets(1, 5))),
        Case("all logits equal (loss = ln C)", (torch.zeros(4, 6, dtype=F64), targets(4, 6))),
        Case("logits around +1000, float32",
             (as_tensor(1000 + 3 * rng.normal(size=(3, 4)), F32), targets(3, 4))),
        Case("logits around -1000", (as_tensor(-1000 + 3 * rng.normal(size=(3, 4))), targets(3, 4))),
        Case("rows on very different scales (about +1000, -1000 and 0)",
             (as_tensor(scales + rng.normal(size=(3, 5))), targets(3, 5))),
        Case("very confident and right", (as_tensor(confident), y_conf)),
        Case("64 examples, 20 classes", (as_tensor(3 * rng.normal(size=(64, 20))), targets(64, 20)),
             hidden=True),
        Case("confident and wrong", (as_tensor(wrong), y_wrong), hidden=True),
        Case("large logits, float32", (as_tensor(500 * rng.normal(size=(6, 3)), F32), targets(6, 3)),
             hidden=True),
    ]


_STABLE = ("NaN or inf although the true value is finite: exp() overflows or underflows for large "
           "logits. Subtract each row's own max logit before exp (the log-sum-exp trick)")


def _ce_reference(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits, targets)


def _ce_compare(case: Case, expected, got) -> str | None:
    logits, y = case.args
    z = logits.double()
    n = z.shape[0]
    rows = torch.arange(n)
    log_p = torch.log_softmax(z, dim=1)
    nll = -log_p[rows, y]
    ce = nll.mean()
    mistakes = [
        ("that is the sum over the batch: take the mean over the N examples", nll.sum()),
        ("that is in bits (log base 2): the course measures cross-entropy in nats, use the natural log",
         ce / math.log(2)),
        ("the sign is flipped: cross-entropy is -log p(target), which is >= 0", -ce),
        ("you forgot the log: average -log p(target), not -p(target)", -log_p.exp()[rows, y].mean()),
        ("you subtracted the max but did not add it back: log sum exp(z) = m + log sum exp(z - m)",
         ce - z.max(dim=1).values.mean()),
        ("indexing the columns with [:, targets] picks an N x N block (every row at every target): pick "
         "ONE entry per row, row i at column targets[i], by indexing the rows too", -log_p[:, y].mean()),
    ]
    return diagnose("the loss", expected, got, mistakes, rtol=tolerances(logits)[0], atol=1e-9,
                    nonfinite="the loss is " + _STABLE)


CROSS_ENTROPY = Exercise(
    grade_id="l01_cross_entropy",
    function="cross_entropy_from_logits",
    points=2,
    make_cases=_logit_cases,
    reference=_ce_reference,
    compare=_ce_compare,
    hint="exp overflows for logits near 1000: shift each row by its own largest logit before exp, and add "
         "the shift back after the log.",
    hints=(
        "Per row i: log p_i,k = z_i,k − log Σ_j exp(z_i,j), and the loss is the mean over the N rows of "
        "−log p_i,y_i (the log-probability of the right class). The danger is exp: exp(1000) is inf and "
        "exp(−1000) is 0 in floating point. An identity saves it: for any number m,\n"
        "    log Σ_j exp(z_j) = m + log Σ_j exp(z_j − m).\n"
        "Take m = the row's largest logit: the largest term becomes exp(0) = 1, nothing overflows, and "
        "the sum is at least 1, so its log is finite.",
        "The shapes, in order (N rows, C classes):\n"
        "  1. each row's max: reduce over dim 1 but keep that dimension (keepdim), shape (N, 1), so it "
        "broadcasts against (N, C); .max(...) returns values and indices, you want the values;\n"
        "  2. the log-normaliser of each row: the max plus the log of the row sum of exp(logits − max), "
        "shape (N, 1) again;\n"
        "  3. the log-probabilities: logits minus the log-normaliser, (N, C);\n"
        "  4. one entry per row: row i at column targets[i] (index the rows with 0, 1, ..., N − 1 and the "
        "columns with targets; [:, targets] would give an N x N block);\n"
        "  5. negate and take the mean: a 0-dim tensor.",
    ),
    forbidden=("torch.nn.functional.cross_entropy", "torch.nn.functional.nll_loss",
               "torch.nn.functional.log_softmax", "torch.log_softmax", "torch.Tensor.log_softmax",
               "torch.special.log_softmax"),
)


# ---------------------------------------------------------------- l01_softmax_grad

def _grad_reference(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    z = logits.detach().clone().requires_grad_(True)
    F.cross_entropy(z, targets).backward()
    return z.grad.detach()


def _grad_compare(case: Case, expected, got) -> str | None:
    logits, y = case.args
    z = logits.double()
    n, c = z.shape
    p = torch.softmax(z, dim=1)
    onehot = F.one_hot(y, c).double()
    mistakes = [
        ("you forgot the 1/N: the loss is the mean over N examples, so the gradient is divided by N",
         p - onehot),
        ("the sign is flipped: the gradient is softmax - onehot, not onehot - softmax", (onehot - p) / n),
        ("did you subtract the one-hot targets? That is softmax / N alone", p / n),
        ("softmax over the wrong dimension: normalise each row over the classes (dim=1)",
         (torch.softmax(z, dim=0) - onehot) / n),
        ("you divided by the number of classes C; the mean is over the N examples", (p - onehot) / c),
    ]
    return diagnose("the gradient", expected, got, mistakes, rtol=tolerances(logits)[0],
                    atol=1e-6 if logits.dtype == F32 else 1e-12, nonfinite="the gradient has " + _STABLE)


SOFTMAX_GRAD = Exercise(
    grade_id="l01_softmax_grad",
    function="softmax_grad",
    points=2,
    make_cases=_logit_cases,
    reference=_grad_reference,
    compare=_grad_compare,
    hint="the gradient of the mean cross-entropy is, row by row, the predicted probabilities minus the "
         "one-hot target, with 1/N from the mean over the batch.",
    hints=(
        "∂L/∂z_i,k = (softmax(z_i)_k − [k = y_i]) / N. Row i: the probability the model gave each class, "
        "minus 1 at the right class; so the right class is pushed up and every other class down in "
        "proportion to the probability it took. Each row sums to 0. The softmax must survive logits "
        "near ±1000: subtracting the row's max before exp does not change it (the shift cancels between "
        "the numerator and the row sum).",
        "In order, for logits of shape (N, C):\n"
        "  1. shift: logits minus each row's max, the max kept as shape (N, 1) (keepdim) so it broadcasts;\n"
        "  2. softmax: exp of the shifted logits divided by their row sums (keepdim again);\n"
        "  3. one-hot: zeros shaped like the probabilities (zeros_like), with a 1 written at row i, column "
        "targets[i], for every row at once (rows indexed by 0, 1, ..., N − 1); a fresh tensor is yours "
        "to write into;\n"
        "  4. probabilities minus one-hot, divided by N (the number of rows, not of classes).",
    ),
    forbidden=AUTOGRAD,
)


# ---------------------------------------------------------------- l01_perplexity

def _ppl_cases(rng: np.random.Generator) -> list[Case]:
    return [
        Case("a loss of 2.0 nats (0-dim)", (torch.tensor(2.0, dtype=F64),)),
        Case("a uniform guess over 50 tokens (loss = ln 50)", (torch.tensor(math.log(50), dtype=F64),)),
        Case("a perfect model (loss 0)", (torch.tensor(0.0, dtype=F64),)),
        Case("several models at once (1-D), float32", (as_tensor(rng.uniform(0.5, 5.0, 6), F32),)),
        Case("a 2-D grid of losses", (as_tensor(rng.uniform(0.0, 4.0, (3, 4))),)),
        Case("random losses", (as_tensor(rng.uniform(0.0, 8.0, 10)),), hidden=True),
    ]


def _ppl_reference(mean_nll: torch.Tensor) -> torch.Tensor:
    return torch.exp(mean_nll)


def _ppl_compare(case: Case, expected, got) -> str | None:
    (loss,) = case.args
    x = loss.double()
    mistakes = [
        ("2 ** loss treats the loss as bits, but it is in nats: perplexity = exp(loss)", 2.0 ** x),
        ("exp(-loss) is the (geometric mean) probability of the targets; perplexity is exp(+loss)",
         torch.exp(-x)),
        ("that is the loss in bits (loss / ln 2), not the perplexity: perplexity = exp(loss)",
         x / math.log(2)),
        ("that is 10 ** loss: the loss is in nats, so perplexity = exp(loss)", 10.0 ** x),
    ]
    return diagnose("the perplexity", expected, got, mistakes, rtol=tolerances(loss)[0], atol=1e-9)


PERPLEXITY = Exercise(
    grade_id="l01_perplexity",
    function="perplexity",
    points=1,
    make_cases=_ppl_cases,
    reference=_ppl_reference,
    compare=_ppl_compare,
    hint="perplexity undoes the log of the loss; the loss is in nats, so the base is the one of the "
         "natural log.",
    hints=(
        "Perplexity = e^L with L in nats: a model whose loss is ln 50 is as unsure as a uniform guess "
        "among 50 tokens, and a perfect model (L = 0) has perplexity 1. The base has to match the unit "
        "of the loss: e for nats, 2 for bits (2^(L / ln 2) is the same number).",
        "It is one element-wise tensor operation on the whole tensor of losses: torch's exponential "
        "function (exp), which keeps the shape and the dtype. No loop, and not the math module's exp, "
        "which takes one Python number.",
    ),
)


# ---------------------------------------------------------------- l01_diagnose_loss

#: The diagnoses ``diagnose_loss`` chooses from.
LOSS_DIAGNOSES = ("learning", "chance", "confidently wrong")

_WHAT_IT_WAS = {
    "learning": "this model gives the right class clearly more than the uniform 1/V on average",
    "chance": "this model's probabilities are almost uniform: it has learned nothing yet",
    "confidently wrong": "this model puts most of its probability, with confidence, on wrong classes",
}


def _diagnosis_case(rng: np.random.Generator, kind: str) -> tuple:
    """Logits of a model in the state ``kind``, with the cross-entropy well inside its band."""
    v = int(rng.choice([3, 10, 100, 1000, 5000]))
    n = int(rng.integers(20, 120))
    targets = rng.integers(0, v, n)
    scale = 10 ** rng.uniform(-1, 3)                       # the logits' offset and size vary
    logits = rng.normal(size=(n, v)) * 0.05 + rng.normal(size=(n, 1)) * scale
    ln_v = math.log(v)
    rows = np.arange(n)
    if kind == "learning":                                 # the right class raised: CE 0.2-0.6 ln V
        want = ln_v * rng.uniform(0.2, 0.6)
        logits[rows, targets] += _margin_for(want, v)
    elif kind == "confidently wrong":                      # a wrong class raised far: CE 1.5-4 ln V
        wrong = (targets + rng.integers(1, v, n)) % v
        logits[rows, wrong] += ln_v * rng.uniform(1.5, 4.0) + 1.0
    return as_tensor(logits), torch.tensor(targets, dtype=torch.int64)


def _margin_for(ce: float, v: int) -> float:
    """The boost m of the right logit over V - 1 equal others with cross-entropy ``ce``:
    ce = ln(1 + (V - 1) e^(-m))."""
    return -math.log(math.expm1(ce) / (v - 1)) if math.expm1(ce) > 0 else 50.0


def _diagnosis_cases(rng: np.random.Generator) -> list[Case]:
    kinds = list(LOSS_DIAGNOSES) * 2 + [str(k) for k in rng.choice(LOSS_DIAGNOSES, 2)]
    shuffled = [kinds[i] for i in rng.permutation(6)] + kinds[6:]
    return [Case(f"model {i + 1}" + (" (hidden)" if i >= 6 else ""), _diagnosis_case(rng, kind),
                 hidden=i >= 6) for i, kind in enumerate(shuffled)]


def _diagnosis_reference(logits: torch.Tensor, targets: torch.Tensor) -> str:
    ce = F.cross_entropy(logits.double(), targets).item()
    ln_v = math.log(logits.shape[1])
    if ce < 0.9 * ln_v:
        return "learning"
    return "chance" if ce <= 1.1 * ln_v else "confidently wrong"


def _diagnosis_compare(case: Case, expected, got) -> str | None:
    if not isinstance(got, str):
        return f"should return one of {list(LOSS_DIAGNOSES)} (a string), got {describe(got)}"
    answer = got.strip().lower()
    if answer not in LOSS_DIAGNOSES:
        return f"{got!r} is not one of the diagnoses {list(LOSS_DIAGNOSES)}"
    if answer == expected:
        return None
    return f"you said {answer!r}, but {_WHAT_IT_WAS[expected]}"


DIAGNOSE_LOSS = Exercise(
    grade_id="l01_diagnose_loss",
    function="diagnose_loss",
    points=2,
    all_or_nothing=True,  # a guessed label (1 of 3) must not earn part of the points
    make_cases=_diagnosis_cases,
    reference=_diagnosis_reference,
    compare=_diagnosis_compare,
    hint="one number tells the three states apart, if you compare it with the right yardstick: what "
         "does a model that knows nothing score on this vocabulary?",
    hints=(
        "Measure the model's cross-entropy on these targets, in nats, and compare it with the loss of "
        "the uniform guess, ln V for V classes (section 6). Well below ln V: it has learned something. "
        "Within about 10% of ln V: chance. Above it: worse than knowing nothing, which only confident "
        "mistakes achieve. The logits can be huge, so compute the loss the stable way (section 4), and "
        "note that V is different in every case: no fixed threshold works.",
        "Three steps:\n"
        "  1. the mean cross-entropy of the logits against the targets, from a stable log-softmax "
        "(or your cross_entropy_from_logits from exercise 2), as a Python float;\n"
        "  2. the baseline: the natural log of the number of classes, the logits' second dimension;\n"
        "  3. the ratio of the two decides: below 0.9 is 'learning', up to 1.1 is 'chance', above is "
        "'confidently wrong'.\n"
        "Accuracy alone cannot separate 'chance' from 'confidently wrong': both get almost every row "
        "wrong.",
    ),
)


# this lesson's exercises, in the order the notebook asks for them
EXERCISES = (MSE, CROSS_ENTROPY, SOFTMAX_GRAD, PERPLEXITY, DIAGNOSE_LOSS)
