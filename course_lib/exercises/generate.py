"""Generate the learners' exercise notebooks from the solution notebooks.

``solutions/NN_topic.ipynb`` is the single source of truth; ``exercises/`` is
derived from it and never edited by hand::

    python -m course_lib.exercises.generate solutions exercises          # write
    python -m course_lib.exercises.generate solutions exercises --check  # verify, exit 1 if stale

For every solutions notebook the generator writes ``exercises/<same name>``:

* in a code cell marked as a solution cell (nbgrader metadata ``"solution": true``),
  each region between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` becomes
  ``# YOUR CODE HERE`` + ``raise NotImplementedError()`` at the indentation of the
  ``BEGIN`` marker, so the ``def`` line above the markers stays; a solution cell
  without markers is replaced whole (what nbgrader does);
* in a markdown solution cell the region becomes ``YOUR ANSWER HERE``;
* ``### BEGIN HIDDEN TESTS`` .. ``### END HIDDEN TESTS`` regions are removed;
* outputs and execution counts are cleared, as is per-cell execution timing and
  saved widget state; nbgrader metadata is kept unchanged.

The output is deterministic (same input bytes, same output bytes). Malformed
markers (``BEGIN`` without ``END``, nested regions, ``END`` without ``BEGIN``,
solution markers in a cell that is not a solution cell) stop the generator with
the notebook, cell and line named.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import os
import re
import sys
import tempfile
from pathlib import Path

import nbformat

__all__ = ["MarkerError", "generate_notebook", "generate_dir", "check_dir", "main"]

CODE_STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
MARKDOWN_STUB = "YOUR ANSWER HERE"

_MARKER = re.compile(r"^(?P<indent>[ \t]*)###\s*(?P<what>BEGIN|END)\s+(?P<kind>SOLUTION|HIDDEN TESTS)\s*$")
# anything that looks like a marker but is not exactly one (``#### BEGIN SOLUTION``,
# ``### BEGIN SOLUTION here``) is an error rather than text that would leak a solution
_MARKER_LIKE = re.compile(r"^\s*#+\s*(BEGIN|END)\s+(SOLUTION|HIDDEN\s+TESTS)\b", re.IGNORECASE)


class MarkerError(ValueError):
    """A solution or hidden-tests marker is misplaced."""


def _nbgrader(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def _transform_source(source: str, *, where: str, is_solution: bool, cell_type: str) -> tuple[str, bool]:
    """Return the released source and whether any marker was found."""
    lines = source.split("\n")
    out: list[str] = []
    open_kind: str | None = None
    open_line = 0
    found = False
    for number, line in enumerate(lines, start=1):
        m = _MARKER.match(line.rstrip("\r"))
        if m is None and _MARKER_LIKE.match(line):
            raise MarkerError(f"{where}, line {number}: malformed marker {line.strip()!r} "
                              "(write exactly '### BEGIN SOLUTION' / '### END SOLUTION')")
        if m is None:
            if open_kind is None:
                out.append(line)
            continue
        found = True
        what, kind, indent = m["what"], m["kind"], m["indent"]
        if what == "BEGIN":
            if open_kind is not None:
                raise MarkerError(f"{where}, line {number}: '### BEGIN {kind}' inside the "
                                  f"'{open_kind}' region opened on line {open_line} (regions cannot nest)")
            if kind == "SOLUTION" and not is_solution:
                raise MarkerError(f"{where}, line {number}: '### BEGIN SOLUTION' in a cell without "
                                  "nbgrader solution metadata (\"solution\": true)")
            open_kind, open_line = kind, number
            if kind == "SOLUTION":
                if cell_type == "code":
                    out.extend(indent + stub for stub in CODE_STUB)
                else:
                    out.append(indent + MARKDOWN_STUB)
        else:
            if open_kind is None:
                raise MarkerError(f"{where}, line {number}: '### END {kind}' without a matching BEGIN")
            if open_kind != kind:
                raise MarkerError(f"{where}, line {number}: '### END {kind}' closes the '{open_kind}' "
                                  f"region opened on line {open_line}")
            open_kind = None
    if open_kind is not None:
        raise MarkerError(f"{where}, line {open_line}: '### BEGIN {open_kind}' has no matching END")
    return "\n".join(out), found


def _stable_id(name: str, index: int) -> str:
    return hashlib.sha256(f"{name}:{index}".encode()).hexdigest()[:12]


def generate_notebook(nb: nbformat.NotebookNode, *, name: str = "notebook") -> nbformat.NotebookNode:
    """Return the exercise version of a solutions notebook (the input is not modified)."""
    nb = copy.deepcopy(nb)
    needs_ids = (nb.get("nbformat"), nb.get("nbformat_minor", 0)) >= (4, 5)
    for index, cell in enumerate(nb.cells):
        where = f"{name}, cell {index}"
        meta = _nbgrader(cell)
        is_solution = bool(meta.get("solution"))
        source = cell.get("source", "")
        if isinstance(source, list):  # tolerate unnormalised notebooks
            source = "".join(source)
        if cell.cell_type in ("code", "markdown"):
            new, found = _transform_source(source, where=where, is_solution=is_solution,
                                           cell_type=cell.cell_type)
            if is_solution and not found:
                new = "\n".join(CODE_STUB) if cell.cell_type == "code" else MARKDOWN_STUB
            cell.source = new
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)
        if needs_ids and not cell.get("id"):
            cell["id"] = _stable_id(name, index)
    nb.metadata.pop("widgets", None)
    return nb


def render(path: Path) -> bytes:
    """The exercise notebook for one solutions notebook, as the bytes to write."""
    nb = nbformat.read(path, as_version=4)
    text = nbformat.writes(generate_notebook(nb, name=path.name))
    if not text.endswith("\n"):
        text += "\n"
    return text.encode("utf-8")


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _sources(src: Path) -> list[Path]:
    return sorted(p for p in src.glob("*.ipynb") if not p.name.startswith("."))


def generate_dir(src: Path, dst: Path) -> list[Path]:
    """Write ``dst/<name>`` for every ``src/*.ipynb``; returns the files written or unchanged.

    All notebooks are rendered before any file is written, so a marker error leaves
    ``dst`` untouched.
    """
    rendered = {p.name: render(p) for p in _sources(src)}
    written = []
    for name, data in rendered.items():
        target = dst / name
        if not target.exists() or target.read_bytes() != data:
            _atomic_write(target, data)
        written.append(target)
    return written


def check_dir(src: Path, dst: Path) -> list[str]:
    """Problems that make ``dst`` differ from what :func:`generate_dir` would write."""
    problems = []
    expected = {p.name: render(p) for p in _sources(src)}
    for name, data in expected.items():
        target = dst / name
        if not target.exists():
            problems.append(f"{target}: missing")
        elif target.read_bytes() != data:
            problems.append(f"{target}: out of sync with {src / name}")
    if dst.is_dir():
        for extra in sorted(dst.glob("*.ipynb")):
            if extra.name not in expected and not extra.name.startswith("."):
                problems.append(f"{extra}: has no solutions notebook {src / extra.name}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m course_lib.exercises.generate",
        description="Generate exercise notebooks (solutions blanked, outputs cleared) from solutions.")
    parser.add_argument("solutions", type=Path, help="folder of solution notebooks (source of truth)")
    parser.add_argument("exercises", type=Path, help="folder to write the exercise notebooks to")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 and list the files that are out of sync")
    args = parser.parse_args(argv)
    if not args.solutions.is_dir():
        parser.error(f"{args.solutions} is not a folder")
    try:
        if args.check:
            problems = check_dir(args.solutions, args.exercises)
            for p in problems:
                print(p, file=sys.stderr)
            if problems:
                print(f"{len(problems)} exercise notebook(s) out of sync; run `make exercises`.",
                      file=sys.stderr)
                return 1
            print(f"{args.exercises}: in sync with {args.solutions}")
            return 0
        written = generate_dir(args.solutions, args.exercises)
    except MarkerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {len(written)} exercise notebook(s) to {args.exercises}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
