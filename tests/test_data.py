"""Tests of course_lib.data: house prices, digits, spirals, the bundled corpus, tokenizer, batches."""

from __future__ import annotations

import gzip
import re
import string
from importlib import resources

import numpy as np
import pytest
import torch

from course_lib.data import (
    BASE_PRICE,
    CORPUS_CITATION,
    PRICE_PER_SQFT,
    SQFT_RANGE,
    CharTokenizer,
    char_batches,
    corpus_splits,
    load_corpus,
    load_digits_split,
    make_house_prices,
    make_spirals,
    standardize,
    tiny_houses,
)

CPU = "cpu"

# ----------------------------------------------------------------------------- house prices


def test_house_prices_shapes_range_and_determinism():
    sqft, price = make_house_prices(200, seed=3, device=CPU)
    assert sqft.shape == price.shape == (200,)
    assert sqft.dtype == price.dtype == torch.float32
    assert sqft.device.type == "cpu"
    assert SQFT_RANGE[0] <= sqft.min() and sqft.max() <= SQFT_RANGE[1]
    again = make_house_prices(200, seed=3, device=CPU)
    assert torch.equal(sqft, again[0]) and torch.equal(price, again[1])
    other = make_house_prices(200, seed=4, device=CPU)
    assert not torch.equal(sqft, other[0])


def test_house_prices_follow_the_documented_line():
    sqft, price = make_house_prices(2000, seed=0, device=CPU)
    slope, intercept = np.polyfit(sqft.double().numpy(), price.double().numpy(), 1)
    assert slope == pytest.approx(PRICE_PER_SQFT, abs=3.0)
    assert intercept == pytest.approx(BASE_PRICE, abs=10_000)
    sqft, price = make_house_prices(10, seed=0, noise_std=0.0, device=CPU)
    torch.testing.assert_close(price, PRICE_PER_SQFT * sqft + BASE_PRICE)


@pytest.mark.parametrize("kwargs", [{"n": 0}, {"n": 2.5}, {"n": 5, "noise_std": -1.0}])
def test_house_prices_reject_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        make_house_prices(**kwargs, device=CPU)


def test_tiny_houses():
    sqft, price = tiny_houses(device=CPU)
    assert sqft.tolist() == [1500.0, 2200.0, 1100.0]
    assert price.tolist() == [300_000.0, 450_000.0, 200_000.0]
    assert sqft.dtype == torch.float32


def test_standardize_1d_2d_and_constant_columns():
    x = torch.tensor([1.0, 2.0, 3.0, 6.0])
    z, mean, std = standardize(x)
    assert z.mean().abs() < 1e-6 and z.std(unbiased=False) == pytest.approx(1.0, abs=1e-6)
    torch.testing.assert_close(z * std + mean, x)
    X = torch.tensor([[1.0, 5.0], [3.0, 5.0], [5.0, 5.0]])
    Z, mean, std = standardize(X)
    assert mean.tolist() == [3.0, 5.0]
    assert std[1] == 1.0 and torch.all(Z[:, 1] == 0)  # constant column -> zeros, no NaN
    assert torch.isfinite(Z).all()


@pytest.mark.parametrize("bad", [torch.tensor([1, 2, 3]), torch.tensor(1.0), [1.0, 2.0]])
def test_standardize_rejects_bad_input(bad):
    with pytest.raises(ValueError):
        standardize(bad)


# ----------------------------------------------------------------------------- classification


@pytest.fixture(scope="module")
def digits():
    return load_digits_split(device=CPU)


def test_digits_split_shapes_types_scaling(digits):
    assert digits.X_train.shape == (1347, 64) and digits.X_test.shape == (450, 64)
    assert digits.X_train.dtype == torch.float32 and digits.y_train.dtype == torch.int64
    assert 0.0 <= digits.X_train.min() and digits.X_train.max() <= 1.0
    assert digits.y_train.shape == (1347,) and digits.y_test.shape == (450,)
    assert set(digits.y_test.tolist()) == set(range(10))
    assert digits.n_classes == 10 and digits.image_shape == (8, 8)


def test_digits_split_is_stratified_and_deterministic(digits):
    counts_train = torch.bincount(digits.y_train, minlength=10).double()
    counts_test = torch.bincount(digits.y_test, minlength=10).double()
    share = counts_test / (counts_train + counts_test)
    assert torch.all((share - 0.25).abs() < 0.01)
    again = load_digits_split(device=CPU)
    assert torch.equal(again.X_test, digits.X_test) and torch.equal(again.y_test, digits.y_test)
    other = load_digits_split(seed=1, device=CPU)
    assert not torch.equal(other.y_test, digits.y_test)


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1])
def test_digits_split_rejects_bad_fraction(fraction):
    with pytest.raises(ValueError):
        load_digits_split(test_fraction=fraction, device=CPU)


def test_spirals():
    X, y = make_spirals(50, 3, seed=0, device=CPU)
    assert X.shape == (150, 2) and X.dtype == torch.float32
    assert y.dtype == torch.int64 and torch.bincount(y).tolist() == [50, 50, 50]
    assert X.norm(dim=1).max() <= 1.0 + 1e-6
    assert torch.equal(X, make_spirals(50, 3, seed=0, device=CPU)[0])
    with pytest.raises(ValueError):
        make_spirals(1, 3, device=CPU)


# ----------------------------------------------------------------------------- corpus


@pytest.fixture(scope="module")
def corpus():
    return load_corpus()


def test_corpus_file_is_bundled_and_small():
    path = resources.files("course_lib.data").joinpath("jargon.txt.gz")
    data = path.read_bytes()
    assert len(data) < 2_000_000
    assert gzip.decompress(data).decode("ascii") == load_corpus()
    md = resources.files("course_lib.data").joinpath("CORPUS.md").read_text()
    assert CORPUS_CITATION in md and "public domain" in md


def test_corpus_content_is_clean(corpus):
    assert 1_000_000 <= len(corpus) <= 1_500_000
    assert set(corpus) <= set(string.printable) - set("\t\r\x0b\x0c")
    assert corpus.startswith("Welcome to the Jargon File\n")
    assert "Jargon File 4.4.7" in corpus  # the licence / citation paragraph is kept
    assert ":hacker: n." in corpus and "The Story of Mel" in corpus
    assert "Table of Contents" not in corpus
    assert "\nabbrev\nABEND\naccumulator\n" not in corpus  # the bare headword lists are gone
    assert len(re.findall(r"(?m)^:[^:\n]+:", corpus)) > 2000  # glossary entries
    assert "   " not in corpus.split("Part II. The Jargon Lexicon")[1][:2000]  # indentation gone


def test_corpus_splits(corpus):
    train, val = corpus_splits(0.1)
    assert train + val == corpus
    assert len(val) / len(corpus) == pytest.approx(0.1, abs=0.01)
    assert train.endswith("\n")
    assert corpus_splits(0.1) == (train, val)
    for bad in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError):
            corpus_splits(bad)


def test_char_tokenizer_on_corpus(corpus):
    tok = CharTokenizer(corpus)
    assert tok.vocab_size == 96
    assert tok.chars == sorted(tok.chars) and tok.chars[0] == "\n"
    sample = corpus[5000:7000]
    ids = tok.encode(sample, device=CPU)
    assert ids.dtype == torch.long and ids.shape == (len(sample),)
    assert tok.decode(ids) == sample
    assert tok.decode(ids.tolist()) == sample and tok.decode(ids.numpy()) == sample
    assert [tok.stoi[c] for c in sample[:50]] == ids[:50].tolist()


def test_char_tokenizer_unicode_and_errors():
    tok = CharTokenizer("héllo wörld")
    assert tok.decode(tok.encode("wörld", device=CPU)) == "wörld"
    with pytest.raises(ValueError, match="not in the vocabulary"):
        tok.encode("xyz", device=CPU)
    with pytest.raises(ValueError, match="out of range"):
        tok.decode([0, 99])
    with pytest.raises(ValueError):
        CharTokenizer("")


def test_char_batches_targets_are_next_characters():
    ids = torch.arange(1000)
    g = torch.Generator().manual_seed(0)
    x, y = char_batches(ids, block_size=16, batch_size=8, generator=g, device=CPU)
    assert x.shape == y.shape == (8, 16) and x.dtype == torch.long
    torch.testing.assert_close(y, x + 1)  # ids are consecutive, so next = current + 1
    assert x.max() < 1000 and y.max() <= 999
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    assert torch.equal(char_batches(ids, 16, 8, g1, CPU)[0], char_batches(ids, 16, 8, g2, CPU)[0])
    x2, _ = char_batches(ids, 16, 8, torch.Generator().manual_seed(6), CPU)
    assert not torch.equal(x2, char_batches(ids, 16, 8, torch.Generator().manual_seed(5), CPU)[0])


def test_char_batches_edge_cases():
    ids = torch.arange(5)
    x, y = char_batches(ids, 4, 3, torch.Generator().manual_seed(0), CPU)
    assert x.tolist() == [[0, 1, 2, 3]] * 3 and y.tolist() == [[1, 2, 3, 4]] * 3
    with pytest.raises(ValueError):
        char_batches(ids, 5, 1, None, CPU)
    with pytest.raises(ValueError):
        char_batches(ids.view(1, 5), 2, 1, None, CPU)
    with pytest.raises(ValueError):
        char_batches(ids, 0, 1, None, CPU)
