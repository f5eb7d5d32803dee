"""Start the grader isolated from what a learner could have planted on disk.

``python -m course_lib.grading`` re-executes itself (before importing anything heavy) as::

    python -s -S -P course_lib/grading/isolation.py ARGS...

with a clean environment in which ``PYTHONPYCACHEPREFIX`` names a bytecode cache private to
the grader's user. So the grader (and its fork server and helpers, which inherit the flags and
the environment):

* processes no ``.pth`` file and imports no ``sitecustomize``/``usercustomize`` (``-S``; the
  venv's site-packages is put on ``sys.path`` directly, without ``site``'s processing), and
  no user site-packages (``-s``); the current folder is not on ``sys.path`` (``-P``);
* reads and writes bytecode only under its private cache, never a ``__pycache__`` folder
  next to the sources (where a ``.pyc`` with the source's mtime and size would be loaded
  instead of the source);
* inherits no ``PYTHON*`` variables but ``PYTHONPYCACHEPREFIX`` and ``PYTHONPATH`` (the
  course and the venv's site-packages, which ``-S`` leaves out).

The first process (``python -m ...``) has run ``site`` already; for the strongest form start
the grader with the command above directly (``make grade`` does). This module is stdlib-only
and runs as a script.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

FLAGS = ("-s", "-S", "-P")
HERE = Path(__file__).resolve()
COURSE_ROOT = HERE.parents[2]


def private_pycache() -> Path:
    """``~/.cache/course-grading/pycache``: created 0700, refused if someone else owns it."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "course-grading"
    path = base / "pycache"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = path.lstat()
    if st.st_uid != os.geteuid() or not path.is_dir() or path.is_symlink():
        raise SystemExit(f"course-grading: {path} is not a folder of yours; remove it")
    if st.st_mode & 0o077:
        path.chmod(0o700)
    return path


def _python_path() -> str:
    return os.pathsep.join([str(COURSE_ROOT), *_site_packages()])


def is_isolated() -> bool:
    cache = os.environ.get("PYTHONPYCACHEPREFIX")
    return bool(sys.flags.no_site and sys.flags.no_user_site and sys.flags.safe_path and cache
                and sys.pycache_prefix == cache and os.environ.get("PYTHONPATH") == _python_path())


def _site_packages() -> list[str]:
    """The venv's (or installation's) site-packages, found without running ``site``."""
    import sysconfig

    prefix = Path(sys.executable).absolute().parent.parent
    venv = (prefix / "pyvenv.cfg").is_file()
    base = str(prefix) if venv else sys.prefix
    vars_ = {"base": base, "platbase": base, "installed_base": base, "installed_platbase": base}
    paths = [sysconfig.get_path(key, vars=vars_) for key in ("purelib", "platlib")]
    return list(dict.fromkeys(p for p in paths if p and os.path.isdir(p)))


def status() -> dict:
    return {"isolated": is_isolated(), "no_site": bool(sys.flags.no_site),
            "pycache_prefix": sys.pycache_prefix}


def reexec(argv: list[str]) -> None:
    """Replace this process by the isolated grader (does not return)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPYCACHEPREFIX"] = str(private_pycache())
    # the course and the venv's site-packages on sys.path without site's processing; through
    # the environment, because Python 3.11's fork server ignores the sys.path it is handed
    env["PYTHONPATH"] = _python_path()
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, *FLAGS, str(HERE), *argv], env)


def main() -> int:
    if not is_isolated():
        reexec(sys.argv[1:])
    from course_lib.grading.cli import main as cli_main

    return cli_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
