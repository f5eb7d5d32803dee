"""Finding submissions, telling notebooks from everything else, and knowing the assignments.

Nothing here executes a notebook: files are read as bytes and parsed as JSON.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import warnings
from pathlib import Path

import nbformat

__all__ = ["Assignment", "Submission", "check_notebook", "discover", "load_assignments",
           "match_assignment", "MAX_NOTEBOOK_BYTES"]

MAX_NOTEBOOK_BYTES = 32 * 2**20  # a submission larger than this is not executed


@dataclasses.dataclass(frozen=True)
class Submission:
    key: str  # name relative to the common folder of the inputs, e.g. "alice/01_loss_functions.ipynb"
    path: Path


@dataclasses.dataclass(frozen=True)
class Assignment:
    """A trusted solutions notebook: its stem and the grade_ids of its solution cells."""

    stem: str
    path: Path
    grade_ids: tuple[str, ...]
    sha256: str


def _walk(folder: Path) -> list[Path]:
    found = []
    for root, dirs, files in os.walk(folder):
        # hidden folders (.ipynb_checkpoints, .git) hold autosaves and tooling, not submissions
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [Path(root) / f for f in sorted(files) if f.endswith(".ipynb") and not f.startswith(".")]
    return found


def discover(paths: list[Path]) -> list[Submission]:
    """Every notebook named by ``paths`` (files as given, folders recursively), each once.

    Keys are paths relative to the deepest folder containing all inputs, so one
    folder argument gives ``alice/01_x.ipynb`` and one file argument its file name.
    """
    files: list[Path] = []
    anchors = []
    for p in paths:
        p = Path(p).absolute()
        if p.is_dir():
            files += _walk(p)
            anchors.append(p)
        else:
            files.append(p)
            anchors.append(p.parent)
    base = Path(os.path.commonpath([str(a) for a in anchors])) if anchors else Path.cwd()
    seen: dict[Path, Submission] = {}
    for f in files:
        if f not in seen:
            seen[f] = Submission(key=f.relative_to(base).as_posix(), path=f)
    return sorted(seen.values(), key=lambda s: s.key)


def _solution_grade_ids(nb: dict) -> list[str]:
    ids = []
    for cell in nb.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if isinstance(meta, dict) and meta.get("solution") and meta.get("grade_id"):
            ids.append(str(meta["grade_id"]))
    return ids


def load_assignments(solutions: Path) -> dict[str, Assignment]:
    """The trusted assignments: one per ``solutions/*.ipynb``. Raises ``ValueError`` on a
    solutions notebook that cannot be read (the instructor's file: fail loudly)."""
    out = {}
    for path in sorted(solutions.glob("*.ipynb")):
        if path.name.startswith("."):
            continue
        data = path.read_bytes()
        try:
            nb = json.loads(data)
        except ValueError as exc:
            raise ValueError(f"solutions notebook {path} is not valid JSON: {exc}") from None
        out[path.stem] = Assignment(stem=path.stem, path=path, grade_ids=tuple(_solution_grade_ids(nb)),
                                    sha256=hashlib.sha256(data).hexdigest())
    return out


_COPY_SUFFIX = re.compile(r"(\s*\(\d+\)|-checkpoint|-copy\d*|\s+copy\s*\d*)$", re.IGNORECASE)


def match_assignment(filename: str, stems: list[str]) -> str | None:
    """The assignment a submission belongs to, from its file name alone.

    The stem must equal or end with a solutions stem (``01_loss_functions``,
    ``alice_01_loss_functions``); a browser's ``(1)`` or ``-checkpoint`` suffix is
    ignored. The longest matching stem wins.
    """
    stem = Path(filename).name
    stem = stem[: -len(".ipynb")] if stem.endswith(".ipynb") else Path(stem).stem
    stem = _COPY_SUFFIX.sub("", stem)
    best = None
    for s in stems:
        if stem.endswith(s):
            if best is None or len(s) > len(best):
                best = s
    return best


def _looks_binary(data: bytes) -> str | None:
    signatures = {b"\x89PNG": "a PNG image", b"\xff\xd8\xff": "a JPEG image", b"%PDF": "a PDF document",
                  b"PK\x03\x04": "a zip archive (.docx, .zip, ...)", b"GIF8": "a GIF image"}
    for magic, what in signatures.items():
        if data.startswith(magic):
            return what
    if b"\x00" in data[:4096]:
        return "a binary file"
    return None


def check_notebook(path: Path) -> tuple[str, str, bytes, dict | None]:
    """Read and validate a submission without executing anything.

    Returns ``(status, reason, data, notebook)`` where status is ``"ok"``,
    ``"not-a-notebook"`` (not a file, empty, binary, not JSON) or ``"invalid-notebook"``
    (JSON, but not a valid nbformat-4 notebook, or too large).
    """
    if not path.is_file():
        return "not-a-notebook", "not a regular file", b"", None
    size = path.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        with open(path, "rb") as f:
            head = f.read(4096)
        return "invalid-notebook", f"the file is {size / 2**20:.0f} MB, over the grader's " \
                                   f"{MAX_NOTEBOOK_BYTES // 2**20} MB limit (clear the outputs?)", head, None
    data = path.read_bytes()
    if not data.strip():
        return "not-a-notebook", "the file is empty", data, None
    binary = _looks_binary(data)
    if binary:
        return "not-a-notebook", f"the file is {binary}, not a notebook", data, None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return "not-a-notebook", "the file is not UTF-8 text", data, None
    if not text.lstrip().startswith(("{", "[")):
        return "not-a-notebook", "the file is not JSON (a notebook is a JSON document)", data, None
    try:
        nb = json.loads(text)
    except RecursionError:
        return "invalid-notebook", "the JSON is nested too deeply", data, None
    except ValueError as exc:
        return "invalid-notebook", f"the file is not valid JSON ({exc}); was it cut off or edited by hand?", \
            data, None
    if not isinstance(nb, dict):
        return "invalid-notebook", "the JSON document is not a notebook (not an object)", data, None
    version = nb.get("nbformat")
    if version != 4:
        what = f"nbformat {version}" if isinstance(version, int) else "no nbformat version"
        return "invalid-notebook", f"{what}; the grader reads nbformat 4 notebooks (open and save the " \
                                   "file in JupyterLab to convert it)", data, None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            node = nbformat.from_dict(nb)
            nbformat.validate(node)
    except nbformat.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) if getattr(exc, "absolute_path", None) else ""
        message = str(getattr(exc, "message", exc)).splitlines()[0][:300]
        return "invalid-notebook", f"not a valid nbformat 4 notebook: {message}" + \
            (f" (at {where})" if where else ""), data, None
    except Exception as exc:  # a validator crash on a hostile document is still just "invalid"
        return "invalid-notebook", f"not a valid notebook ({type(exc).__name__}: {str(exc)[:200]})", data, None
    return "ok", "", data, node
