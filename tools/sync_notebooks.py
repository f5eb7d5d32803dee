"""Bring every notebook into agreement with its text source (``make sync``).

Each lesson ``notebooks/NN_x.ipynb`` and each ``solutions/NN_x.ipynb`` is paired by jupytext
(``jupytext.toml`` in those folders) with ``src/NN_x.md``. After you edit either one:

1. ``jupytext --sync`` runs on every pair: the more recently modified file of the two wins, and
   the notebook keeps the outputs of the cells whose input did not change. A text file without a
   notebook (a new lesson) gets one.
2. A lesson whose code changed, or that has a code cell never executed, is re-executed in a fresh
   kernel (``tools/execute_notebooks.py``), because nbval compares the stored outputs with a fresh
   run. A prose-only edit re-executes nothing. Lesson 00 is also re-run when the course map it
   displays changed (a lesson or an exercise was added).
3. ``exercises/`` is released again from ``solutions/`` (``course_lib.exercises.release``).

Jupytext does steps 1 and the pairing; this script only strings the three steps together and
decides which lessons need a fresh run, which jupytext cannot know.

Usage: python tools/sync_notebooks.py [--no-execute] [FOLDER ...]   (default: notebooks solutions)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import jupytext
import nbformat
from jupytext.cli import jupytext as jupytext_cli

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools.execute_notebooks import execute_all  # noqa: E402

LESSONS, SOLUTIONS, EXERCISES = ROOT / "notebooks", ROOT / "solutions", ROOT / "exercises"


def notebook_paths(folder: Path) -> list[Path]:
    """Every notebook of a paired folder: the ``.ipynb`` files and those a ``src/*.md`` implies."""
    stems = {p.stem for p in folder.glob("*.ipynb")} | {p.stem for p in (folder / "src").glob("*.md")}
    return [folder / f"{stem}.ipynb" for stem in sorted(stems) if not stem.startswith(".")]


def _code(path: Path) -> list[str] | None:
    if not path.exists():
        return None
    return [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


def add_saved_metadata(path: Path) -> None:
    """Give the notebook the metadata jupytext's contents manager adds when Lab saves it
    (``jupytext.default_lexer``), so that opening and saving a lesson leaves no diff."""
    text = path.parent / "src" / f"{path.stem}.md"
    added = dict(jupytext.read(text).metadata.get("jupytext", {}))
    added.pop("text_representation", None)
    nb = nbformat.read(path, as_version=4)
    if nb.metadata.get("jupytext", {}) != added:
        if added:
            nb.metadata["jupytext"] = added
        else:
            nb.metadata.pop("jupytext", None)
        nbformat.write(nb, path)


def needs_execution(path: Path, code_before: list[str] | None) -> bool:
    """A lesson must be re-run when its code changed or a code cell has no stored run."""
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    return ([c.source for c in code] != code_before
            or any(c.execution_count is None for c in code if c.source.strip()))


def shows_a_stale_course_map(path: Path) -> bool:
    """Lesson 00 displays ``course_map_markdown()``: its stored table must be the current one."""
    from course_lib.course_map import course_map_markdown

    nb = nbformat.read(path, as_version=4)
    shown = [out.get("data", {}).get("text/markdown", "") for cell in nb.cells
             if cell.cell_type == "code" and "course_map_markdown()" in cell.source
             for out in cell.get("outputs", [])]
    return bool(shown) and course_map_markdown() not in shown


def sync(folders: list[Path], *, execute: bool = True) -> list[Path]:
    """Sync every pair in ``folders``; return the lessons that were (or must be) re-executed.

    A folder named ``notebooks`` holds lessons (stored with outputs, so re-executed when stale);
    any other (``solutions``) is stored without outputs and only synced.
    """
    stale = []
    for folder in folders:
        for path in notebook_paths(folder):
            before = _code(path)
            source = path if path.exists() else folder / "src" / f"{path.stem}.md"
            jupytext_cli(["--sync", "--quiet", str(source)])
            add_saved_metadata(path)
            if folder.name == LESSONS.name and (needs_execution(path, before)
                                                or shows_a_stale_course_map(path)):
                stale.append(path)
    if stale and execute:
        failed = execute_all(stale)
        if failed:
            raise SystemExit(f"re-executing failed: {', '.join(map(str, failed))}")
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", type=Path, default=[LESSONS, SOLUTIONS])
    parser.add_argument("--no-execute", action="store_true",
                        help="only list the lessons whose outputs are stale")
    args = parser.parse_args(argv)
    stale = sync(args.folders, execute=not args.no_execute)
    for path in stale:
        print(f"{path}: {'re-executed' if not args.no_execute else 'needs `make notebooks`'}")
    if any(f.resolve() == SOLUTIONS.resolve() for f in args.folders):
        from course_lib.exercises.release import main as release
        return release([str(SOLUTIONS), str(EXERCISES)])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
