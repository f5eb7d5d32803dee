"""The course's data: nothing is downloaded, everything is seeded or bundled.

Three kinds of data, one small private module each:

* **House prices** (regression, lessons 01-03): :func:`make_house_prices` draws a seeded
  synthetic set whose true line is ``PRICE_PER_SQFT * sqft + BASE_PRICE``; :func:`tiny_houses`
  is the three-house set of lesson 01; :func:`standardize` scales features.
* **Classification**: :func:`load_digits_split` (scikit-learn's bundled 8x8 digits) and
  :func:`make_spirals` (a 2-D toy set to draw decision boundaries on).
* **Text**: :func:`load_corpus` returns the bundled Jargon File 4.4.7 excerpt (see
  ``CORPUS.md``); :func:`corpus_splits`, :class:`CharTokenizer` and :func:`char_batches`
  feed the character-level transformer.

Example::

    from course_lib.data import CharTokenizer, char_batches, corpus_splits

    train_text, val_text = corpus_splits()
    tok = CharTokenizer(train_text)
    train_ids = tok.encode(train_text, device="cpu")
    x, y = char_batches(train_ids, block_size=64, batch_size=32, generator=g)
"""

from course_lib.data._classification import DigitsSplit, load_digits_split, make_spirals
from course_lib.data._houses import (
    BASE_PRICE,
    NOISE_STD,
    PRICE_PER_SQFT,
    SQFT_RANGE,
    make_house_prices,
    standardize,
    tiny_houses,
)
from course_lib.data._text import (
    CORPUS_CITATION,
    CharTokenizer,
    char_batches,
    corpus_splits,
    load_corpus,
)

__all__ = [
    "PRICE_PER_SQFT",
    "BASE_PRICE",
    "NOISE_STD",
    "SQFT_RANGE",
    "make_house_prices",
    "tiny_houses",
    "standardize",
    "DigitsSplit",
    "load_digits_split",
    "make_spirals",
    "CORPUS_CITATION",
    "load_corpus",
    "corpus_splits",
    "CharTokenizer",
    "char_batches",
]
