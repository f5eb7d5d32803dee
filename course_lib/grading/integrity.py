"""Did anything the grader trusts change on disk while it was grading? Then the batch FAILS.

Two checks, both compared with what was on disk when the batch started:

* **the course's own code and answers**, by content, after every submission (a few hundred
  small files, milliseconds): every file under ``course_lib/``, the
  solutions notebooks, the extra spec files, and the top-level ``.pth`` and ``.py`` files of
  every site-packages folder (``.pth`` files and ``sitecustomize`` run when any Python starts);
* **the whole Python installation and venv**, by file metadata (path, size, mtime, ctime,
  inode: a rewrite cannot keep its ctime), at the start and at the end of the batch (about a
  second for 100,000 files). Install metadata (``*.dist-info``) and the venv's own top-level
  files are left out: a reinstall of the same versions rewrites them and no code is read there.

Bytecode caches (``__pycache__``) are left out: the grader never reads them (it runs with a
private cache, :mod:`course_lib.grading.isolation`), and other Python processes may write
them legitimately. The sandbox already makes all of this read-only to kernels; this check is
what tells you if that ever failed (or if someone else changed the files mid-batch): the grader then stops,
writes no results and removes the results it stored during the run.
"""

from __future__ import annotations

import hashlib
import os
import site
import sys
import threading
from pathlib import Path

__all__ = ["Integrity", "IntegrityError"]

_SKIPPED_DIRS = ("__pycache__",)
_SKIPPED_SUFFIXES = (".dist-info", ".egg-info")  # install metadata: rewritten by a reinstall, never imported


class IntegrityError(RuntimeError):
    """Trusted files changed during the batch; nothing from it can be trusted."""

    def __init__(self, changed: list[str], suspects: list[str]):
        self.changed, self.suspects = changed, suspects
        shown = ", ".join(changed[:8]) + (f" and {len(changed) - 8} more" if len(changed) > 8 else "")
        super().__init__(f"trusted files changed on disk during grading: {shown}")


def _site_dirs() -> list[Path]:
    dirs = [p for p in sys.path if p.endswith(("site-packages", "dist-packages"))]
    try:
        dirs += site.getsitepackages()
    except AttributeError:  # some embedded Pythons
        pass
    if site.ENABLE_USER_SITE and site.USER_SITE:
        dirs.append(site.USER_SITE)
    return [Path(d) for d in dict.fromkeys(dirs) if os.path.isdir(d)]


class Integrity:
    def __init__(self, course_package: Path, solutions: Path, extra_files: list[Path], roots: list[str]):
        self.course_package, self.solutions = Path(course_package), Path(solutions)
        self.extra_files = [Path(f) for f in extra_files]
        self.roots = sorted(dict.fromkeys(roots))
        self.files = self._content()
        self._tree: str | None = None
        self._tree_thread = threading.Thread(target=self._start_tree, daemon=True, name="integrity-tree")
        self._tree_thread.start()  # overlaps with the batch's own start-up

    # ------------------------------------------------------------ content of the course's files

    def _trusted_files(self) -> list[Path]:
        files = [p for p in self.course_package.rglob("*")
                 if (p.is_file() or p.is_symlink()) and "__pycache__" not in p.parts]
        files += sorted(self.solutions.glob("*.ipynb"))
        files += self.extra_files
        for d in _site_dirs():  # .pth files, sitecustomize, single-module packages, editable finders
            files += sorted(p for p in d.iterdir() if p.suffix in (".pth", ".py") and p.is_file())
        return sorted(dict.fromkeys(files))

    def _content(self) -> dict[str, str]:
        out = {}
        for f in self._trusted_files():
            try:
                out[str(f)] = hashlib.sha256(f.read_bytes()).hexdigest()
            except OSError:
                out[str(f)] = "<unreadable>"
        return out

    def changed_files(self) -> list[str]:
        now = self._content()
        return sorted(k for k in set(now) | set(self.files) if now.get(k) != self.files.get(k))

    def check(self, suspects: list[str]) -> None:
        """Raise :class:`IntegrityError` if the course's files differ from the start."""
        changed = self.changed_files()
        if changed:
            raise IntegrityError(changed, suspects)

    # ------------------------------------------------------------ metadata of the whole installation

    def _tree_digest(self) -> tuple[str, dict[str, tuple]]:
        h = hashlib.sha256()
        entries: dict[str, tuple] = {}
        by_content = {str(d) for d in _site_dirs()}  # their top-level files: checked by content
        for root in self.roots:
            for folder, dirs, files in os.walk(root):
                dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS and not d.endswith(_SKIPPED_SUFFIXES))
                if folder in by_content or folder == root:
                    files = []  # (a venv's own top-level files are tool stamps, not code)
                for name in sorted(files + [d for d in dirs if os.path.islink(os.path.join(folder, d))]):
                    path = os.path.join(folder, name)
                    try:
                        st = os.lstat(path)
                    except OSError:
                        continue
                    entry = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_mode)
                    entries[path] = entry
                    h.update(f"{path}\0{entry}\n".encode())
        return h.hexdigest(), entries

    def _start_tree(self) -> None:
        self._tree, self._tree_entries = self._tree_digest()

    def check_tree(self, suspects: list[str]) -> None:
        """Raise :class:`IntegrityError` if any file of the Python installation or venv changed."""
        self._tree_thread.join()
        digest, entries = self._tree_digest()
        if digest != self._tree:
            before = self._tree_entries
            changed = sorted(k for k in set(entries) | set(before) if entries.get(k) != before.get(k))
            raise IntegrityError(changed or ["(the installation's file list)"], suspects)
