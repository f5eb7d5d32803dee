"""Lesson 12 exercises: cross-entropy as compression.

``compression_numbers(mean_nll_nats, n_chars)`` turns a character model's mean loss (nats per
character, what ``F.cross_entropy`` reports) into the three numbers of the lesson's table:

    bits_per_char = L / ln 2,   perplexity = e^L = 2^bits_per_char,
    size_bytes = n_chars * bits_per_char / 8   (what an arithmetic coder driven by the model needs)

``unigram_bits_per_char(train_text, test_text, vocab)`` is the no-context baseline: character
frequencies of the training text with add-one (Laplace) smoothing over the vocabulary,

    p(c) = (count_train(c) + 1) / (len(train_text) + len(vocab)),

and its cross-entropy on the test text in bits per character, ``-mean(log2 p(c))`` over the test
characters. The reference counts with ``collections.Counter`` and sums with ``math.fsum``.

``fix_run(history, config, X, y)`` is a debugging exercise: a random run of gradient descent on
a linear regression failed (learning rate far too high and diverging, far too low, or too high
and hidden by clipping at a tight threshold); the learner reads it with :func:`course_lib.diagnose.diagnose` and returns a fixed
``{"lr": ..., "clip_norm": ...}``. The check re-runs the problem with it (the corrupted batch
included) and wants the final loss within 1.5x the least-squares minimum. Feature scales span
three orders of magnitude, so no constant configuration passes.
"""

from __future__ import annotations

import collections
import math

import numpy as np
import torch

from course_lib.exercises.protocol import Case, Exercise
from course_lib.exercises.specs._helpers import (
    F64,
    as_float,
    as_tensor,
    describe,
    diagnose,
    diagnose_tuple,
)

__all__ = ["COMPRESSION_NUMBERS", "EXERCISES", "FIX_RUN", "UNIGRAM_BITS_PER_CHAR", "fix_run_history"]

LN2 = math.log(2.0)


def _t(x: float) -> torch.Tensor:
    return torch.tensor(float(x), dtype=F64)


# ---------------------------------------------------------------- l12_compression_numbers

def _compression_cases(rng: np.random.Generator) -> list[Case]:
    def loss(lo, hi):
        return round(float(rng.uniform(lo, hi)), 4)

    return [
        Case("a trained character model", (loss(1.2, 1.8), int(rng.integers(50_000, 200_000)))),
        Case("the first loss, ln 65 (uniform over 65 characters)", (math.log(65), 100_000)),
        Case("ln 2 nats (exactly one bit)", (LN2, 8000)),
        Case("an untrained model", (loss(3.5, 4.5), int(rng.integers(1000, 9000)))),
        Case("a very good model", (loss(0.3, 0.8), 1_000_000)),
        Case("a loss of 0 (a perfect model)", (0.0, 500)),
        Case("a big corpus", (loss(1.0, 2.0), int(rng.integers(10**8, 10**9))), hidden=True),
        Case("a loss above 1 and few characters", (loss(1.0, 3.0), int(rng.integers(10, 100))), hidden=True),
    ]


def _compression_reference(mean_nll_nats, n_chars):
    bpc = mean_nll_nats / LN2
    return bpc, math.exp(mean_nll_nats), n_chars * bpc / 8


def _compression_compare(case: Case, expected, got) -> str | None:
    L, n = (float(a) for a in case.args)
    label = "(bits per char, perplexity, size in bytes)"
    if got is None:
        return f"returned None: did you forget the `return`? Return the tuple {label}"
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        return f"should return a tuple {label} of three numbers, got {describe(got)}"
    values = [as_float(x) for x in got]
    if any(v is None for v in values):
        bad = next(x for x, v in zip(got, values) if v is None)
        return f"each of {label} should be a number, but one is {describe(bad)}"
    bpc = L / LN2
    mistakes = [
        ("bits_per_char is L / ln 2: a bit is ln 2 nats, so there are more bits than nats (you "
         "multiplied)", (_t(L * LN2), None, None)),
        ("bits_per_char is L / ln 2, not log2(L): the loss is already a logarithm, only its unit changes",
         (_t(math.log2(L)) if L > 0 else None, None, None)),
        ("bits_per_char is still in nats: divide the loss by ln 2", (_t(L), None, None)),
        ("bits_per_char is L / ln 2, not L / ln 10 (a bit is ln 2 nats)", (_t(L / math.log(10)), None, None)),
        ("the perplexity is e^L for L in nats (or 2^bits): you raised 2 to the nats", (None, _t(2 ** L), None)),
        ("the perplexity is e^L for L in nats (or 2^bits): you raised e to the bits",
         (None, _t(math.exp(bpc)), None)),
        ("the perplexity is e^L, not e^-L (that is the probability of a typical character)",
         (None, _t(math.exp(-L)), None)),
        ("size_bytes is in bits: divide by 8 to get bytes", (None, None, _t(n * bpc))),
        ("size_bytes counts bits, not nats: it is the text's bits (characters times bits per "
         "character) over 8", (None, None, _t(n * L / 8))),
        ("size_bytes is the whole text's size: every one of the n_chars characters costs bits_per_char "
         "bits", (None, None, _t(bpc / 8))),
    ]
    mistakes = [(m, c) for m, c in mistakes if all(x is None or bool(torch.isfinite(x)) for x in c)
                and not all(x is None for x in c)]
    return diagnose_tuple(("bits per char", "perplexity", "size in bytes"), tuple(_t(e) for e in expected),
                          tuple(_t(v) for v in values), mistakes, rtol=1e-9, atol=1e-12)


COMPRESSION_NUMBERS = Exercise(
    grade_id="l12_compression_numbers",
    function="compression_numbers",
    points=1,
    make_cases=_compression_cases,
    reference=_compression_reference,
    compare=_compression_compare,
    hint="one loss, three units: a bit is ln 2 nats, perplexity undoes the log, and a byte is 8 bits.",
    hints=(
        "With L the mean loss in nats per character and n the number of characters:\n"
        "    bits per char = L / ln 2                 (a bit is ln 2 ≈ 0.693 nats, so there are more bits)\n"
        "    perplexity    = e^L = 2^(bits per char)  (it undoes the log; the base matches the unit)\n"
        "    size in bytes = n · (bits per char) / 8\n"
        "Check by hand: L = ln 2 is exactly one bit per character, perplexity 2, and 8000 characters "
        "take 1000 bytes.",
        "Three Python floats from the math module, in this order because the third uses the first: "
        "the bits per character (the natural log of 2 is math.log(2)), the perplexity (math.exp of the "
        "loss in nats), and the size from the bits. Return them as a tuple in the order of the "
        "signature's docstring; don't round.",
    ),
)


# ---------------------------------------------------------------- l12_unigram_bits_per_char

_ENGLISH = ("it was the best of times, it was the worst of times, it was the age of wisdom, it was "
            "the age of foolishness, it was the epoch of belief, it was the epoch of incredulity")


def _text(rng: np.random.Generator, vocab: str, n: int, skew: float = 1.2) -> str:
    weights = 1.0 / np.arange(1, len(vocab) + 1) ** skew
    return "".join(rng.choice(list(vocab), size=n, p=weights / weights.sum()))


def _unigram_cases(rng: np.random.Generator) -> list[Case]:
    letters = "etaoinshrdlu "
    start = int(rng.integers(0, 40))
    english_vocab = "".join(sorted(set(_ENGLISH)))
    train_small = _text(rng, "abc", 30)
    return [
        Case("a skewed alphabet", (_text(rng, letters, 200), _text(rng, letters, 50), letters)),
        Case("a test character never seen in training", ("aaabbbab" * 3, "abcab", "abc")),
        Case("a vocabulary larger than the text uses", (_text(rng, "xyz", 40), _text(rng, "xyz", 10), "xyz0123456")),
        Case("test text = training text", (train_small, train_small, "abc")),
        Case("English, held-out end", (_ENGLISH[:120], _ENGLISH[120:], english_vocab)),
        Case("one test character", (_text(rng, "abcd", 25), "d", "abcd")),
        Case("a long random text", (_text(rng, letters, 2000), _text(rng, letters, 500), letters), hidden=True),
        Case("English, another split", (_ENGLISH[start:start + 100], _ENGLISH[start + 100:], english_vocab),
             hidden=True),
    ]


def _bits(train_text, test_text, vocab, *, add=1.0, denom_v=None, base=2.0, mean=True, counts_of=None):
    counts = collections.Counter(train_text if counts_of is None else counts_of)
    n = sum(counts.values())
    v = len(vocab) if denom_v is None else denom_v
    total = 0.0
    for c in test_text:
        p = (counts[c] + add) / (n + add * v)
        if p <= 0:
            return math.inf
        total -= math.log(p, base) if base != 2.0 else math.log2(p)
    return total / len(test_text) if mean else total


def _unigram_reference(train_text, test_text, vocab):
    counts = collections.Counter(train_text)
    denom = len(train_text) + len(vocab)
    return math.fsum(-math.log2((counts[c] + 1) / denom) for c in test_text) / len(test_text)


def _unigram_compare(case: Case, expected, got) -> str | None:
    train, test, vocab = case.args
    if got is None:
        return "returned None: did you forget the `return`?"
    value = as_float(got)
    if value is None:
        return f"should return one number (bits per character, a float), got {describe(got)}"
    mistakes = [
        ("without smoothing a character unseen in training gets probability 0 (infinitely many bits): "
         "add 1 to the count of every character of the vocabulary",
         _t(_bits(train, test, vocab, add=0.0))),
        ("the probabilities don't sum to 1: adding 1 to each of the |V| counts adds |V| to the total, "
         "so the denominator is N_train + |V|", _t(_bits(train, test, vocab, denom_v=0))),
        ("smooth over the whole vocabulary: the denominator is N_train + |V|, with |V| the size of "
         "vocab, not the number of distinct characters in the training text",
         _t(_bits(train, test, vocab, denom_v=len(set(train))))),
        ("that is in nats: use log base 2 for bits", _t(_bits(train, test, vocab, base=math.e))),
        ("that is the total over the test text: return bits PER character (the mean over the test "
         "characters)", _t(_bits(train, test, vocab, mean=False))),
        ("count the characters of the TRAINING text only: the test text is what the model is scored on",
         _t(_bits(train, test, vocab, counts_of=train + test))),
        ("score the TEST text: the model's cross-entropy is measured on text it was not counted on",
         _t(_bits(train, train, vocab))),
        ("a cross-entropy is -mean(log2 p): the sign is flipped", _t(-expected)),
    ]
    mistakes = [(m, c) for m, c in mistakes if bool(torch.isfinite(c))]
    nonfinite = ("the answer is infinite: a test character that never appears in the training text has "
                 "count 0; add 1 to every count (add-one smoothing)")
    return diagnose("the bits per character", _t(expected), _t(value), mistakes, rtol=1e-9, atol=1e-12,
                    nonfinite=nonfinite)


UNIGRAM_BITS_PER_CHAR = Exercise(
    grade_id="l12_unigram_bits_per_char",
    function="unigram_bits_per_char",
    points=2,
    make_cases=_unigram_cases,
    reference=_unigram_reference,
    compare=_unigram_compare,
    hint="count the training text, smooth every count by one so that no character has probability 0, and "
         "score the test text in bits per character.",
    hints=(
        "Add-one (Laplace) smoothing over the vocabulary V, counting the TRAINING text only:\n"
        "    p(c) = (count_train(c) + 1) / (N_train + |V|)\n"
        "The + |V| makes the probabilities sum to 1 (each of the |V| characters got one extra count). "
        "The score is the cross-entropy of the TEST text, in bits:\n"
        "    bits per char = −(1/N_test) · Σ over the test characters c of log₂ p(c)",
        "A Counter from the collections module counts the characters of a string, and gives 0 for a "
        "character it has never seen. The denominator is the same for every character: compute it "
        "once. Then sum −log₂ p(c) over the characters of the test text (math.log2) and divide by how "
        "many there are. Return a Python float.",
    ),
)


# ---------------------------------------------------------------- l12_fix_run

#: The failing runs: full-batch gradient descent on a random linear regression.
FIX_N, FIX_D, FIX_STEPS, BAD_FACTOR = 256, 4, 100, 100.0
FIX_KINDS = ("lr too high", "lr too low", "clipping hides a high lr")


def _fix_problem(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    s = 10 ** rng.uniform(-1.5, 1.5)                       # feature scale: curvature ~ s^2
    X = s * rng.standard_normal((FIX_N, FIX_D))
    y = X @ rng.normal(size=FIX_D) + s * rng.uniform(0.3, 1.0) * rng.standard_normal(FIX_N)
    return X, y


def _lam_max(X: np.ndarray) -> float:
    return float(np.linalg.eigvalsh(2 * X.T @ X / len(X))[-1])


def _loss_star(X: np.ndarray, y: np.ndarray) -> float:
    w = np.linalg.lstsq(X, y, rcond=None)[0]
    return float(np.mean((X @ w - y) ** 2))


def fix_run_history(X, y, lr: float, clip_norm: float | None, bad_step: int | None
                    ) -> tuple[dict, float]:
    """Gradient descent on mean((X w - y)^2) from w = 0 for :data:`FIX_STEPS` steps.

    At ``bad_step`` the features arrive multiplied by :data:`BAD_FACTOR` (one corrupted batch).
    The global gradient norm is clipped at ``clip_norm`` (``None``: never). Returns the run as a
    plain dict of :class:`course_lib.train.History`'s fields and the final loss on clean data.
    """
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
    w = np.zeros(X.shape[1])
    h = {"step": [], "loss": [], "lr": [], "grad_norm": [], "clipped": [],
         "meta": {"clip_norm": clip_norm, "base_lr": lr, "optimizer": "SGD",
                  "steps_requested": FIX_STEPS}}
    with np.errstate(all="ignore"):
        for t in range(FIX_STEPS):
            Xb = X * BAD_FACTOR if t == bad_step else X
            r = Xb @ w - y
            loss = float(np.mean(r * r))
            g = 2 * Xb.T @ r / len(y)
            norm = float(np.linalg.norm(g))
            clipped = clip_norm is not None and norm > clip_norm
            for key, value in (("step", t), ("loss", loss), ("lr", lr), ("grad_norm", norm),
                               ("clipped", bool(clipped))):
                h[key].append(value)
            if not (math.isfinite(loss) and math.isfinite(norm)):
                break
            w = w - lr * (g * (clip_norm / norm) if clipped else g)
        final = float(np.mean((X @ w - y) ** 2))
    return h, final if math.isfinite(final) else math.inf


def _fix_case(rng: np.random.Generator, kind: str) -> tuple:
    X, y = _fix_problem(rng)
    good = 0.5 / _lam_max(X)
    if kind == "lr too high":
        lr, bad = good * float(rng.uniform(8, 30)), None
    elif kind == "lr too low":
        lr, bad = good / float(rng.uniform(3e4, 1e5)), None
    else:
        lr, bad = good * float(rng.uniform(8, 30)), None
    lr = float(f"{lr:.3g}")
    clip = None
    if kind == "clipping hides a high lr":      # a tight threshold: every step pinned at it
        clip = float(f"{np.linalg.norm(2 * X.T @ y / len(y)) * rng.uniform(0.002, 0.01):.3g}")
    history, _ = fix_run_history(X, y, lr, clip, bad)
    config = {"lr": lr, "clip_norm": clip}
    return history, config, as_tensor(X), as_tensor(y)


def _fix_cases(rng: np.random.Generator) -> list[Case]:
    kinds = list(FIX_KINDS) * 2
    rng.shuffle(kinds)
    names = [f"run {c}" for c in "ABCDEF"]
    cases = [Case(name, _fix_case(rng, kind)) for name, kind in zip(names, kinds)]
    cases += [Case(f"run {c} (hidden)", _fix_case(rng, str(rng.choice(FIX_KINDS))), hidden=True)
              for c in "GH"]
    return cases


def _bad_step(history: dict, X, y) -> int | None:
    """Where the case's run met the corrupted batch: where it parts from a clean re-run."""
    clean, _ = fix_run_history(X, y, history["meta"]["base_lr"], None, None)
    for t, (a, b) in enumerate(zip(history["loss"], clean["loss"])):
        if a != b:
            return t
    return None


def _fix_reference(history, config, X, y):
    # the check judges the outcome by running it; what it needs is the loss at the minimum
    return _loss_star(X.numpy(), y.numpy())


def _fix_compare(case: Case, expected, got) -> str | None:
    history, config, X, y = case.args
    if not isinstance(got, dict) or set(got) != {"lr", "clip_norm"}:
        return (f"should return a dict with the keys 'lr' and 'clip_norm' (like `config`), got "
                f"{describe(got)}" + (f" with keys {sorted(map(str, got))}"
                                      if isinstance(got, dict) else ""))
    lr = as_float(got["lr"])
    if lr is None or not math.isfinite(lr) or lr <= 0:
        return f"the learning rate should be a positive number, got {got['lr']!r}"
    clip = got["clip_norm"]
    if clip is not None:
        clip = as_float(clip)
        if clip is None or not math.isfinite(clip) or clip <= 0:
            return f"clip_norm should be None (no clipping) or a positive number, got {got['clip_norm']!r}"
    Xn, yn = X.numpy(), y.numpy()
    bad = _bad_step(history, Xn, yn)
    new, final = fix_run_history(Xn, yn, lr, clip, bad)
    target = 1.5 * expected
    if final <= target:
        return None
    old_lr = config["lr"]
    change = (f"lr {old_lr:.3g} -> {lr:.3g}" if lr != old_lr else f"lr unchanged at {lr:.3g}") + \
        (f", clipping at {clip:.3g}" if clip is not None else ", no clipping")
    if not math.isfinite(final) or final > 1e6 * expected:
        at = len(new["loss"]) - 1
        why = (f"the run still blew up (loss {new['loss'][-1]:.3g} at step {at})"
               if not math.isfinite(new["loss"][-1]) else
               f"the run still ended at loss {final:.3g}, {final / expected:.3g}x the best possible")
        if bad is not None and clip is None:
            why += (f"; a gradient norm of {history['grad_norm'][bad]:.3g} arrived at step {bad}, "
                    f"and no step length survives a gradient that large unclipped")
        return f"with {change}: {why}. Read what diagnose says happened, then change the thing it names"
    slow = bad is None and lr < 0.5 / _lam_max(Xn) / 3 and new["loss"][-1] < new["loss"][0]
    if slow:
        return (f"with {change} the loss falls, but only to {final:.3g} in {FIX_STEPS} steps; "
                f"the target is {target:.3g} ({1.5:g}x the best possible). The steps are still too "
                f"short: measure how large a step this loss allows")
    if clip is not None and sum(new["clipped"]) > len(new["clipped"]) // 2:
        return (f"with {change} the run ended at loss {final:.3g} (target {target:.3g}): clipping "
                f"fired on {sum(new['clipped'])} of {len(new['clipped'])} steps, so every step "
                f"is lr x {clip:.3g} long whatever the gradient says. A threshold that fires on "
                f"every step is a learning rate in disguise")
    return (f"with {change} the run ended at loss {final:.3g}, {final / expected:.3g}x the best "
            f"possible (target {target:.3g}). Read the diagnosis again: is the learning rate the "
            f"problem here?")


FIX_RUN = Exercise(
    grade_id="l12_fix_run",
    function="fix_run",
    points=3,
    all_or_nothing=True,                   # a guessed label must not earn part of the points
    make_cases=_fix_cases,
    reference=_fix_reference,
    compare=_fix_compare,
    hint="let diagnose say what went wrong, then measure what the fix needs: the step size this "
         "loss's curvature allows, and a clipping threshold that does not fire on every step.",
    hints=(
        "Each run is full-batch gradient descent on L(w) = mean((X w − y)²) from w = 0, 100 steps. "
        "Rebuild the record as a History, let diagnose read it, and read its evidence. Three "
        "things go wrong here: a learning rate above the stability limit 2/λ_max (the run blows "
        "up), one far below it (the loss barely moves), or one above it whose steps a tight "
        "clipping threshold keeps short (clipping fires on nearly every step: under SGD the "
        "step is then lr × threshold, a learning rate in disguise). The curvature of this loss "
        "is its Hessian 2 XᵀX / n, whose largest eigenvalue λ_max you can compute from X: "
        "gradient descent converges fast for a learning rate near 1/λ_max.",
        "Steps:\n"
        "  1. the record as a History (the dict's items are its fields), through diagnose; the "
        "first verdict's name and its evidence;\n"
        "  2. the Hessian's largest eigenvalue: eigvalsh (in torch.linalg) of 2 Xᵀ X / n, the "
        "last value; a learning rate of 1 / that;\n"
        "  3. clipping: if the diagnosis says it was pinned at the threshold, switch it off "
        "(None) or raise it above the gradient norms of a healthy run (the history's first "
        "norm, at w = 0, is the largest of a converging run); otherwise leave it as it was;\n"
        "  4. return a dict with the same two keys as config.",
    ),
)


# this lesson's exercises, in the order the notebook asks for them
EXERCISES = (COMPRESSION_NUMBERS, UNIGRAM_BITS_PER_CHAR, FIX_RUN)
