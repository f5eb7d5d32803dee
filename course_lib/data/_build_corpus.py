"""Rebuild ``jargon.txt.gz`` from the plain-text Jargon File 4.4.7 (not run at import).

The course ships the cleaned corpus, so nothing here runs when a lesson loads it. This module
records exactly how the bundled file was made, so anyone can check or redo it::

    python -m course_lib.data._build_corpus /usr/share/doc/jargon-text/jargon.txt.gz

The input is the plain-text rendering that Debian's ``jargon-text`` package (4.4.7-4.1)
installs. The cleaning keeps the prose and the glossary entries and drops everything that is
not running text (tables of contents, the bare headword lists, box-drawn tables, captions of
cartoons that are not there); see ``CORPUS.md`` for the full list.
"""

from __future__ import annotations

import gzip
import re
import sys
import unicodedata
from pathlib import Path

__all__ = ["clean_jargon", "to_ascii", "write_corpus"]

# Characters with a conventional ASCII spelling. The pronunciation marks follow the File's own
# guide: syllables are hyphen-separated, ``'`` marks the accent, a back-accent the secondary one.
_ASCII_MAP = {
    "\u00a0": " ",  # no-break space
    "\u201c": '"',
    "\u201d": '"',
    "\u2018": "'",
    "\u2019": "'",
    "\u00b7": "-",  # medial dot between syllables of a pronunciation
    "\u00b4": "`",  # secondary accent in a pronunciation
    "\u2014": "--",
    "\u2022": "*",
    "\u2192": "->",
    "\u2190": "<-",
    "\u21d4": "<=>",
    "\u00a9": "(C)",
    "\u00ae": "(R)",
    "\u2122": "(TM)",
    "\u00d7": "x",
    "\u2212": "-",
    "\u00b1": "+/-",
    "\u00b5": "u",
    "\u00a3": "L",
    "\u00d8": "O",
    "\u00e6": "ae",
    "\u00df": "ss",
    "\u3008": "<",
    "\u3009": ">",
    "\u223c": "~",
    "\u2295": "(+)",
    "\u2297": "(x)",
    "\u2205": "0",
    "\u03b1": "alpha",
    "\u03b9": "iota",
    "\u03ba": "kappa",
    "\u03bb": "lambda",
    "\u039b": "Lambda",
    "\u03bd": "nu",
    "\u03bf": "o",
    "\u03c0": "pi",
    "\u03c1": "rho",
}

_BOX = re.compile("[\u2500-\u257f]")
_CAPTION_NOTE = re.compile(r"^\((The next cartoon|This is the last cartoon)")
_TABLE_TITLE = re.compile(r"^Table \d+\.\d+\. ")
# Paragraphs about things the text rendering does not have (the special-character test page,
# the cartoons, the framed HTML glossary).
_NOT_TEXT = (
    "The Jargon File's online rendition uses",
    "We normally test with the latest build of Mozilla",
    "The Crunchly saga begins here",
    "(The next cartoon in the Crunchly saga",
    "The infamous Crunchly cartoons by The Great Quux",
    "Here is a framed version of the glossary.",
)


def to_ascii(text: str) -> str:
    """Map ``text`` to printable ASCII plus newlines.

    Known symbols get their conventional ASCII spelling (curly quotes -> straight, em dash ->
    ``--``), accented letters lose their accents, and anything else is dropped.
    """
    out = []
    for ch in text:
        if ch == "\n" or " " <= ch <= "~":
            out.append(ch)
        elif ch in _ASCII_MAP:
            out.append(_ASCII_MAP[ch])
        else:
            base = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode("ascii")
            out.append("".join(c for c in base if " " <= c <= "~"))
    return "".join(out)


def _paragraphs(lines: list[str]) -> list[list[str]]:
    paras: list[list[str]] = []
    cur: list[str] = []
    for line in lines:
        if line.strip():
            cur.append(line.rstrip())
        elif cur:
            paras.append(cur)
            cur = []
    if cur:
        paras.append(cur)
    return paras


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


_WRAP_WIDTH = 76  # the text rendering wraps prose at 76 columns
_LIST_MARKER = re.compile(r"^(\u2022 |\d+\. |[A-Z]\. )")


def _is_wrapped(para: list[str]) -> bool:
    """True when ``para`` is one run of text that was line-wrapped (not a poem, code or art).

    Every line break must be one the wrapper was forced to make (the next word would not have
    fit), and the lines after the first must line up with it or hang under a list marker.
    """
    first = para[0]
    marker = _LIST_MARKER.match(first.strip())
    hang = _indent(first) + (len(marker.group(0)) if marker else 0)
    for line, nxt in zip(para, para[1:]):
        if _indent(nxt) not in (_indent(first), hang):
            return False
        next_word = nxt.split()[0]
        if len(line) + 1 + len(next_word) <= _WRAP_WIDTH - 4:
            return False
    return True


def _is_heading(line: str) -> bool:
    """Chapter and section titles start in column 0; part titles are centred."""
    text = line.strip()
    centred = _indent(line) > 12 and (
        text.startswith("Part ") or text == "Welcome to the Jargon File"
    )
    return _indent(line) == 0 or centred


def clean_jargon(raw: str) -> str:
    """Turn the plain-text Jargon File 4.4.7 into the course's training text.

    Args:
        raw: the whole of Debian's ``jargon.txt`` (UTF-8 decoded).

    Returns:
        Printable-ASCII text. Each wrapped paragraph becomes one line (the 76-column wrapping
        is undone); indented quotations and list items are joined the same way behind two
        spaces; poems, code and ASCII art keep their lines and layout, set off by two spaces
        when the source indents them. A blank line comes before every heading and every
        glossary entry (``:headword: pronunciation, part of speech``).
    """
    raw = raw.replace("\u00a0", " ")
    paras = _paragraphs(raw.split("\n"))
    # Start at the (centred) heading of the welcome page, after the title and the book's
    # table of contents.
    start = next(
        i
        for i, p in enumerate(paras)
        if p[0].strip() == "Welcome to the Jargon File" and _is_heading(p[0])
    )

    kept: list[tuple[int, bool, str]] = []  # (source paragraph, starts a block, text)
    skipping_toc = False
    skipping_headwords = False
    in_glossary = False
    for i, para in enumerate(paras[start:], start):
        first = para[0]
        text_first = first.strip()
        heading = _is_heading(first)
        if heading:
            skipping_toc = skipping_headwords = False
            in_glossary = in_glossary and not text_first.startswith("Part III.")
        if heading and text_first == "Glossary":
            in_glossary = True  # it opens with a list of every headword
            skipping_headwords = True
            continue
        # Each letter section of the glossary ("  A") opens with its list of bare headwords.
        if in_glossary and _indent(first) == 2 and len(para) == 1 and len(text_first) <= 2:
            skipping_headwords = True
            continue
        if skipping_headwords:
            if not text_first.startswith(":"):
                continue
            skipping_headwords = False
        if text_first == "Table of Contents":
            skipping_toc = True
            continue
        if skipping_toc:
            # a table of contents is a run of one-line titles; the first real prose ends it
            if len(para) == 1 and not text_first.endswith("."):
                continue
            skipping_toc = False
        if any(_BOX.search(line) for line in para) or _TABLE_TITLE.match(text_first):
            continue
        if _CAPTION_NOTE.match(text_first):
            if kept and kept[-1][0] == i - 1 and len(paras[i - 1]) == 1:
                kept.pop()  # the one-line caption of the (absent) cartoon
            continue
        if text_first.startswith(_NOT_TEXT):
            continue

        base = min(_indent(line) for line in para)
        prefix = "" if base == 3 else "  "  # body text sits in column 3; others are set off
        if heading:
            kept.append((i, True, to_ascii(text_first)))
        elif _is_wrapped(para):
            joined = re.sub(" {2,}", " ", to_ascii(" ".join(line.strip() for line in para)))
            kept.append((i, text_first.startswith(":"), prefix + joined))
        else:
            lines = [prefix + to_ascii(line[base:]).rstrip() for line in para]
            kept.append((i, False, "\n".join(lines)))

    out: list[str] = []
    for _, starts_block, text in kept:
        if starts_block and out:
            out.append("")
        out.append(text)
    return "\n".join(out) + "\n"


def write_corpus(source: str | Path, dest: str | Path) -> str:
    """Read Debian's ``jargon.txt(.gz)`` at ``source``, clean it and write gzip to ``dest``.

    The gzip header carries no file name or time stamp, so the output is byte-for-byte
    reproducible. Returns the cleaned text.
    """
    source = Path(source)
    opener = gzip.open if source.suffix == ".gz" else open
    with opener(source, "rt", encoding="utf-8") as f:
        raw = f.read()
    text = clean_jargon(raw)
    data = text.encode("ascii")
    with open(dest, "wb") as f, gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0) as gz:
        gz.write(data)
    return text


if __name__ == "__main__":  # pragma: no cover - a maintenance script
    if len(sys.argv) != 2:
        sys.exit("usage: python -m course_lib.data._build_corpus PATH/TO/jargon.txt.gz")
    dest = Path(__file__).with_name("jargon.txt.gz")
    cleaned = write_corpus(sys.argv[1], dest)
    print(f"{len(cleaned):,} chars -> {dest} ({dest.stat().st_size:,} bytes)")
