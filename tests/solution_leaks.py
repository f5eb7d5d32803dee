"""The no-solution-leak rule: what counts as showing a learner (part of) the reference solution.

Used by tests/test_hints.py on everything a learner sees before asking for the solution: the check's
printed output for every catalogued wrong implementation, the nudge, every hint level, the grader's
feedback, and every string in the spec modules.

**The solution** of an exercise is the code between ``### BEGIN SOLUTION`` and ``### END SOLUTION``
in its cell in ``solutions/NN_topic.ipynb`` (the ``def`` line and docstring above it are in the
learner's notebook too, so they are not part of it).

**Its fragments**, each normalised by dropping comments and *all* whitespace:

1. every statement: a simple statement whole (``v = beta2 * v + (1 - beta2) * g * g``, even when it
   spans several lines), and the header line of a compound one (``for i in range(window, len(x)):``);
2. every compound expression inside them: anything that is not a bare name, attribute or constant
   (``torch.sqrt(v_hat)``, ``m / (1 - beta1 ** t)``, ``log_p[torch.arange(N), targets]``), so a
   message cannot leak a line by leaving out its left-hand side or its leading minus.

A fragment is kept when it has at least :data:`MIN_FRAGMENT` (12) characters after normalisation and
contains a letter: ``return p, v`` (``returnp,v``, 9), ``err ** 2`` or ``[], []`` say nothing. A text
**leaks** when, with all its whitespace removed, it contains a fragment as a substring (so
``sqrt(v_hat)+eps`` in prose is the math, but ``torch.sqrt(v_hat)`` or ``beta1**t`` inside
``m/(1-beta1**t)`` is code copied from the solution).

**How much a text reveals** (for ordering the hint levels): the number of distinct *solution
identifiers* that occur in it as whole words; those are the names in the solution that the learner
was not given: not the function's own name and parameters, not Python keywords or builtins, not a
single letter (``m``, ``N`` are the math's names too).
"""

from __future__ import annotations

import ast
import builtins
import functools
import io
import keyword
import re
import tokenize

from exercise_support import solution_sources

__all__ = ["MIN_FRAGMENT", "fragments", "leaks", "normalise", "revealed", "solution_body",
           "solution_identifiers"]

MIN_FRAGMENT = 12
_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


def normalise(text: str) -> str:
    """``text`` without any whitespace."""
    return re.sub(r"\s+", "", text)


def _without_comments(source: str) -> str:
    """``source`` with every comment blanked out (same lines and columns, so ast positions hold)."""
    lines = source.splitlines(keepends=True)
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            (row, col), (_, end) = tok.start, tok.end
            line = lines[row - 1]
            lines[row - 1] = line[:col] + " " * (end - col) + line[end:]
    return "".join(lines)


@functools.cache
def _cell(grade_id: str) -> tuple[str, ast.FunctionDef, int, int]:
    """(comment-free cell source, the function's node, first and last line of the solution)."""
    original = solution_sources()[grade_id][2]
    source, lines = _without_comments(original), original.splitlines()
    begin = next(i for i, line in enumerate(lines, 1) if line.strip() == _MARKERS[0])
    end = next(i for i, line in enumerate(lines, 1) if line.strip() == _MARKERS[1])
    tree = ast.parse(source)
    fn = next(node for node in tree.body if isinstance(node, ast.FunctionDef))
    return source, fn, begin, end


def solution_body(grade_id: str) -> str:
    """The solution's code (comments blanked), the lines between the markers."""
    source, _, begin, end = _cell(grade_id)
    return "\n".join(source.splitlines()[begin:end - 1])


@functools.cache
def fragments(grade_id: str) -> frozenset[str]:
    """The normalised fragments of the exercise's solution (see the module docstring)."""
    source, fn, begin, end = _cell(grade_id)
    lines = source.splitlines()
    found: set[str] = set()
    for node in ast.walk(fn):
        if not (begin < getattr(node, "lineno", 0) < end):
            continue
        if isinstance(node, (ast.For, ast.While, ast.If, ast.With)):
            found.add(lines[node.lineno - 1].strip())                  # the header line
        elif isinstance(node, ast.stmt):
            found.add(ast.get_source_segment(source, node))
        elif isinstance(node, ast.expr) and not isinstance(node, (ast.Name, ast.Attribute, ast.Constant)):
            found.add(ast.get_source_segment(source, node))
    kept = {normalise(text) for text in found if text}
    return frozenset(f for f in kept if len(f) >= MIN_FRAGMENT and re.search(r"[A-Za-z]", f))


def leaks(text: str, grade_id: str) -> list[str]:
    """The fragments of the exercise's solution that ``text`` contains (empty: no leak)."""
    flat = normalise(text)
    return sorted(f for f in fragments(grade_id) if f in flat)


@functools.cache
def solution_identifiers(grade_id: str) -> frozenset[str]:
    """Names the solution uses that the learner was not given (see the module docstring)."""
    _, fn, _, _ = _cell(grade_id)
    given = {fn.name} | {a.arg for a in fn.args.args + fn.args.kwonlyargs}
    names = {tok.string for tok in tokenize.generate_tokens(io.StringIO(solution_body(grade_id)).readline)
             if tok.type == tokenize.NAME}
    return frozenset(n for n in names if len(n) > 1 and n not in given and not keyword.iskeyword(n)
                     and not hasattr(builtins, n))


def revealed(text: str, grade_id: str) -> int:
    """How many of the solution's identifiers ``text`` names (whole words)."""
    return sum(bool(re.search(rf"(?<!\w){re.escape(n)}(?!\w)", text)) for n in solution_identifiers(grade_id))
