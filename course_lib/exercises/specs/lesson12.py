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
"""

from __future__ import annotations

import collections
import math

import numpy as np
import torch

from course_lib.exercises.protocol import Case, Exercise
from course_lib.exercises.specs._helpers import F64, as_float, describe, diagnose, diagnose_tuple

__all__ = ["COMPRESSION_NUMBERS", "EXERCISES", "UNIGRAM_BITS_PER_CHAR"]

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


# this lesson's exercises, in the order the notebook asks for them
EXERCISES = (COMPRESSION_NUMBERS, UNIGRAM_BITS_PER_CHAR)
