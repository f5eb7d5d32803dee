"""The bundled text corpus (the Jargon File 4.4.7) and character-level tokenisation."""

from __future__ import annotations

import functools
import gzip
from collections.abc import Sequence
from importlib import resources

import numpy as np
import torch

from course_lib.device import resolve_device

__all__ = ["CORPUS_CITATION", "load_corpus", "corpus_splits", "CharTokenizer", "char_batches"]

#: How the Jargon File asks to be cited.
CORPUS_CITATION = "Jargon File 4.4.7"


@functools.cache
def _read_corpus() -> str:
    data = resources.files("course_lib.data").joinpath("jargon.txt.gz").read_bytes()
    return gzip.decompress(data).decode("ascii")


def load_corpus() -> str:
    """The course's text corpus: a cleaned excerpt of the Jargon File 4.4.7 (public domain).

    About 1.4 million characters of printable ASCII plus newlines: the glossary of hacker slang
    and the prose around it, one paragraph per line. It ships inside the package (gzip,
    ~0.6 MB); nothing is downloaded. ``course_lib/data/CORPUS.md`` says where it comes from and
    how it was cleaned. Cite it as "Jargon File 4.4.7".

    Returns:
        The whole corpus as one string (read once, then cached).
    """
    return _read_corpus()


def corpus_splits(val_fraction: float = 0.1) -> tuple[str, str]:
    """Split the corpus into a training text and a validation text.

    The split is contiguous, not shuffled: the validation text is the last
    ``val_fraction`` of the corpus, so no sentence is shared between the two. The cut is moved
    back to the start of the line it falls in, so the validation text begins at a paragraph.

    Args:
        val_fraction: share of the characters held out, strictly between 0 and 1.

    Returns:
        ``(train_text, val_text)``; ``train_text + val_text == load_corpus()``.
    """
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be strictly between 0 and 1, got {val_fraction!r}")
    text = load_corpus()
    cut = int(len(text) * (1.0 - val_fraction))
    cut = text.rfind("\n", 0, cut) + 1 or cut
    return text[:cut], text[cut:]


class CharTokenizer:
    """Characters <-> integer ids, with one id per distinct character of a text.

    The vocabulary is the sorted set of characters of the text it is built from, so the same
    text always gives the same ids (for the Jargon corpus: ``'\\n'`` is 0, ``' '`` is 1, ...).

    Args:
        text: the text whose characters make up the vocabulary (build it from the training
            text; every character of any text you encode must be in it).

    Example:
        >>> tok = CharTokenizer("hello world")
        >>> tok.vocab_size
        8
        >>> tok.decode(tok.encode("hello", device="cpu"))
        'hello'
    """

    def __init__(self, text: str):
        if not isinstance(text, str) or not text:
            raise ValueError("CharTokenizer needs a non-empty string to build its vocabulary")
        self.chars: list[str] = sorted(set(text))
        self.stoi: dict[str, int] = {ch: i for i, ch in enumerate(self.chars)}
        self.itos: dict[int, str] = dict(enumerate(self.chars))
        self._codepoints = np.array([ord(ch) for ch in self.chars], dtype=np.int64)

    @property
    def vocab_size(self) -> int:
        """Number of distinct characters (the size of the model's input and output layers)."""
        return len(self.chars)

    def encode(self, text: str, device: str | torch.device | None = None) -> torch.Tensor:
        """Turn ``text`` into a 1-D int64 tensor of ids (vectorised: fast on a whole corpus).

        Raises:
            ValueError: if ``text`` has a character outside the vocabulary.
        """
        if not isinstance(text, str):
            raise ValueError(f"encode takes a str, got {type(text).__name__}")
        dev = resolve_device(device)
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
        ids = np.searchsorted(self._codepoints, codes)
        ids_clipped = np.minimum(ids, len(self._codepoints) - 1)
        unknown = self._codepoints[ids_clipped] != codes
        if unknown.any():
            bad = sorted({chr(c) for c in codes[unknown]})
            raise ValueError(f"characters not in the vocabulary: {bad[:10]!r}")
        return torch.as_tensor(ids, dtype=torch.long, device=dev)

    def decode(self, ids: torch.Tensor | np.ndarray | Sequence[int]) -> str:
        """Turn a 1-D sequence of ids (tensor on any device, array or list) back into text."""
        if isinstance(ids, torch.Tensor):
            ids = ids.detach().cpu().reshape(-1).tolist()
        elif isinstance(ids, np.ndarray):
            ids = ids.reshape(-1).tolist()
        try:
            return "".join(self.itos[int(i)] for i in ids)
        except KeyError as err:
            raise ValueError(
                f"id {err.args[0]} is out of range for a vocabulary of {self.vocab_size}"
            ) from None

    def __repr__(self) -> str:
        return f"CharTokenizer(vocab_size={self.vocab_size})"


def char_batches(
    ids: torch.Tensor,
    block_size: int,
    batch_size: int,
    generator: torch.Generator | None = None,
    device: str | torch.device | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw one random batch of next-character training examples from a stream of ids.

    Picks ``batch_size`` random windows of ``block_size + 1`` consecutive ids; ``x`` is each
    window without its last id and ``y`` the same window shifted one to the left, so ``y[b, t]``
    is the character that follows ``x[b, :t+1]``::

        ids:  T h e _ c a t
        x:    T h e _ c a
        y:    h e _ c a t

    Call it once per training step (as nanoGPT's ``get_batch``).

    Args:
        ids: 1-D int64 tensor (e.g. ``tokenizer.encode(train_text)``), on any device.
        block_size: context length ``T``; ``len(ids)`` must exceed it.
        batch_size: number of windows ``B``.
        generator: a ``torch.Generator`` for the window starts; the same seeded generator gives
            the same batches. ``None`` uses torch's global generator.
        device: where ``x`` and ``y`` go (``None``: the default device).

    Returns:
        ``(x, y)``: two int64 tensors of shape ``(batch_size, block_size)``.
    """
    if not isinstance(ids, torch.Tensor) or ids.ndim != 1:
        raise ValueError("ids must be a 1-D tensor of token ids")
    if not isinstance(block_size, int) or block_size < 1:
        raise ValueError(f"block_size must be a positive int, got {block_size!r}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if len(ids) <= block_size:
        raise ValueError(
            f"need more than block_size={block_size} ids to make one example, got {len(ids)}"
        )
    dev = resolve_device(device)
    gen_device = generator.device if generator is not None else torch.device("cpu")
    starts = torch.randint(
        len(ids) - block_size, (batch_size,), generator=generator, device=gen_device
    )
    index = (starts[:, None] + torch.arange(block_size + 1, device=gen_device)).to(ids.device)
    windows = ids[index]
    return windows[:, :-1].to(dev), windows[:, 1:].to(dev)
