"""Release the learners' exercise notebooks from the solution notebooks, with nbgrader.

``solutions/NN_topic.ipynb`` (paired with ``solutions/src/NN_topic.md``) is the one source;
``exercises/`` is derived from it and never edited by hand::

    python -m course_lib.exercises.release solutions exercises          # write
    python -m course_lib.exercises.release solutions exercises --check  # verify, exit 1 if stale

The work is done by nbgrader's own preprocessors, exactly as ``nbgrader generate_assignment``
applies them: :class:`~nbgrader.preprocessors.ClearSolutions` (each ``### BEGIN SOLUTION`` ..
``### END SOLUTION`` region becomes ``# YOUR CODE HERE`` + ``raise NotImplementedError()`` at
the marker's indentation, a solution cell without markers is replaced whole, a markdown one
becomes ``YOUR ANSWER HERE``), :class:`~nbgrader.preprocessors.ClearHiddenTests` and
:class:`~nbgrader.preprocessors.ClearOutput`. nbgrader metadata is kept, so a large class can run
the same notebooks under nbgrader itself.

What this module adds around them, and why:

* **A marker nbgrader would not see is an error.** nbgrader matches the exact substrings
  ``BEGIN SOLUTION`` / ``END SOLUTION``, so ``### begin solution`` or ``### BEGIN  SOLUTION``
  (two spaces) would ship the solution to every learner, and a stray ``### END SOLUTION`` is
  dropped silently. :func:`check_markers` stops on those with the notebook, cell and line named.
* **nbgrader's own errors name the place** (it says "no end solution statement found" but not
  where): they are re-raised as :class:`MarkerError` naming the notebook and cell.
* **Deterministic bytes**: cell ids are kept (an id-less cell gets a stable one), saved widget
  state, per-cell execution timing and jupytext's notebook metadata are dropped, and the whole
  folder is rendered before any file is written.
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
from nbgrader.preprocessors import ClearHiddenTests, ClearOutput, ClearSolutions

__all__ = ["MarkerError", "check_markers", "release_notebook", "render", "release_dir", "check_dir",
           "main"]

# A line that nbgrader (substring match) or a person reads as a solution/hidden-tests marker...
_MARKER_LIKE = re.compile(r"(BEGIN|END)\s+(SOLUTION|HIDDEN\s+TESTS)", re.IGNORECASE)
# ...and the only spelling the course accepts (nbgrader sees these; the check keeps them tidy).
_MARKER = re.compile(r"^[ \t]*### (BEGIN|END) (SOLUTION|HIDDEN TESTS)[ \t]*$")


class MarkerError(ValueError):
    """A solution or hidden-tests marker is misspelt or misplaced."""


def check_markers(nb: nbformat.NotebookNode, *, name: str = "notebook") -> None:
    """Raise :class:`MarkerError` on a marker nbgrader would miss or mis-handle.

    Every marker must be spelt exactly ``### BEGIN SOLUTION`` (``END``, ``HIDDEN TESTS``) on a
    line of its own, and every ``END`` must close an open region of the same kind.
    """
    for index, cell in enumerate(nb.cells):
        open_kind, open_line = None, 0
        for number, line in enumerate(cell.get("source", "").split("\n"), start=1):
            if not _MARKER_LIKE.search(line):
                continue
            where = f"{name}, cell {index}, line {number}"
            exact = _MARKER.match(line)
            if exact is None:
                raise MarkerError(f"{where}: malformed marker {line.strip()!r} (write exactly "
                                  "'### BEGIN SOLUTION' / '### END SOLUTION' on a line of its own)")
            what, kind = exact.groups()
            if what == "BEGIN":
                if open_kind is not None:
                    raise MarkerError(f"{where}: '### BEGIN {kind}' inside the '{open_kind}' region "
                                      f"opened on line {open_line} (regions cannot nest)")
                open_kind, open_line = kind, number
            elif open_kind is None:
                raise MarkerError(f"{where}: '### END {kind}' without a matching BEGIN")
            elif open_kind != kind:
                raise MarkerError(f"{where}: '### END {kind}' closes the '{open_kind}' region "
                                  f"opened on line {open_line}")
            else:
                open_kind = None
        if open_kind is not None:
            raise MarkerError(f"{name}, cell {index}, line {open_line}: '### BEGIN {open_kind}' "
                              "has no matching END")


def _stable_id(name: str, index: int) -> str:
    return hashlib.sha256(f"{name}:{index}".encode()).hexdigest()[:12]


def release_notebook(nb: nbformat.NotebookNode, *, name: str = "notebook") -> nbformat.NotebookNode:
    """Return the exercise version of a solutions notebook (the input is not modified).

    Raises:
        MarkerError: a marker is misspelt or misplaced, or nbgrader refused the notebook (a
            solution region in a cell without ``"solution": true`` metadata, hidden tests outside
            a grade cell); the message names the notebook and cell.
    """
    nb = copy.deepcopy(nb)
    for cell in nb.cells:  # tolerate unnormalised notebooks (source as a list of lines)
        if isinstance(cell.get("source"), list):
            cell.source = "".join(cell.source)
    check_markers(nb, name=name)
    resources: dict = {}
    for preprocessor in (ClearSolutions(), ClearHiddenTests(), ClearOutput()):
        before = copy.deepcopy(nb)  # nbgrader edits a cell before it refuses it
        try:
            nb, resources = preprocessor.preprocess(nb, resources)
        except RuntimeError as exc:
            raise MarkerError(f"{name}, cell {_failing_cell(preprocessor, before, resources)}: "
                              f"{exc}") from None
    needs_ids = (nb.get("nbformat"), nb.get("nbformat_minor", 0)) >= (4, 5)
    for index, cell in enumerate(nb.cells):
        cell.metadata.pop("execution", None)
        if needs_ids and not cell.get("id"):
            cell["id"] = _stable_id(name, index)
    for key in ("widgets", "jupytext"):
        nb.metadata.pop(key, None)
    return nb


def _failing_cell(preprocessor, nb, resources) -> int | str:
    """Index of the first cell that ``preprocessor`` refuses (to name it in the error)."""
    resources = {"language": nb.metadata.get("kernelspec", {}).get("language", "python"), **resources}
    for index, cell in enumerate(nb.cells):
        try:
            preprocessor.preprocess_cell(copy.deepcopy(cell), resources, index)
        except RuntimeError:
            return index
    return "?"


def render(path: Path) -> bytes:
    """The exercise notebook for one solutions notebook, as the bytes to write."""
    nb = nbformat.read(path, as_version=4)
    text = nbformat.writes(release_notebook(nb, name=path.name))
    return (text if text.endswith("\n") else text + "\n").encode("utf-8")


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


def release_dir(src: Path, dst: Path) -> list[Path]:
    """Write ``dst/<name>`` for every ``src/*.ipynb``; returns the files written or unchanged.

    All notebooks are rendered before any file is written, so an error leaves ``dst`` untouched.
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
    """Problems that make ``dst`` differ from what :func:`release_dir` would write."""
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
        prog="python -m course_lib.exercises.release",
        description="Release exercise notebooks (solutions blanked by nbgrader, outputs cleared).")
    parser.add_argument("solutions", type=Path, help="folder of solution notebooks (the source)")
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
        written = release_dir(args.solutions, args.exercises)
    except MarkerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {len(written)} exercise notebook(s) to {args.exercises}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
