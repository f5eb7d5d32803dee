"""Running the grader in tests: a frozen copy of the course, and the command line.

The grader fails a batch when a trusted file changes on disk while it grades (its integrity
check). Other people edit this checkout while the tests run, so the grader under test runs
from a copy of ``course_lib`` taken once per test process: the same code, frozen.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "grading_fixtures"
SPECS = FIXTURES / "specs.py"
SPECS_ENV = "COURSE_GRADING_SPECS"


def copy_course(dest: Path) -> Path:
    """``dest/course_lib``: a copy of the course's package, without bytecode caches."""
    shutil.copytree(ROOT / "course_lib", dest / "course_lib", ignore=shutil.ignore_patterns("__pycache__"))
    return dest


@functools.cache
def sandbox_missing() -> str | None:
    """Why the grader cannot sandbox its kernels here (``make test`` installs bubblewrap), or None."""
    from course_lib.grading import jobs, sandbox

    try:
        sandbox.probe(sandbox.Sandbox.create(ROOT), jobs.work_root())
    except (sandbox.SandboxUnavailable, OSError) as exc:
        return f"no sandbox for grading kernels: {exc} (`make sandbox-deps` installs bubblewrap)"
    return None


def require_sandbox() -> None:
    import pytest

    reason = sandbox_missing()
    if reason:
        pytest.skip(reason)


@functools.cache
def frozen_course() -> Path:
    return copy_course(Path(tempfile.mkdtemp(prefix="course-under-test-")))


def run_grader(*args: str, course: Path | None = None, env: dict | None = None, timeout: float = 800,
               entry: list[str] | None = None) -> subprocess.CompletedProcess:
    """``python -m course_lib.grading ARGS`` from the frozen course (or ``course``); skips the
    test when there is no sandbox, unless the run asks for none."""
    if "--unsafe-no-sandbox" not in args and not (env or {}).get("COURSE_GRADING_BWRAP"):
        require_sandbox()
    course = course or frozen_course()
    full_env = {k: v for k, v in os.environ.items() if k != SPECS_ENV}
    full_env.update(env or {})
    cmd = [sys.executable, *(entry or ["-m", "course_lib.grading"]), *args]
    return subprocess.run(cmd, cwd=course, capture_output=True, text=True, timeout=timeout, env=full_env)
