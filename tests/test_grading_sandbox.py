"""The grader's defences outside the hostile class of tests/test_grading.py: what the sandbox
shows a kernel, refusing to run without it, the integrity check that fails a batch, the
isolated start-up, and a grader killed mid-batch (issue 10).

Every grader run here uses a copy of the course (grading_fixtures/support.py says why); the
tests that plant files use a copy of their own.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import psutil
import pytest
import torch

from course_lib.grading import sandbox

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "grading_fixtures"
SOLUTION = FIXTURES / "solutions" / "01_fixture.ipynb"
# the CUDA build of torch maps 3.1 GB at import (see tests/test_grading.py)
MEMORY_MB = "1500" if torch.version.cuda is None else "4800"
FIXED = ["--solutions", str(FIXTURES / "solutions"), "--specs", str(FIXTURES / "specs.py"), "--no-progress",
         "--seed", "1", "--timeout", "120", "--memory-mb", MEMORY_MB]

pytestmark = pytest.mark.timeout(600)


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"grading_fixture_{name}", FIXTURES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


support = _load("support")


def _notebook_with(tmp: Path, source: str, name: str = "01_fixture.ipynb") -> Path:
    nb = nbformat.read(SOLUTION, as_version=4)
    nb.cells.insert(2, nbformat.v4.new_code_cell(source))
    path = tmp / "class" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path.parent


# ---------------------------------------------------------------- what a kernel sees

INSIDE = """
import json, os, socket, sys
out = {}
def attempt(name, fn):
    try:
        out[name] = repr(fn())[:200]
    except BaseException as exc:
        out[name] = "refused: " + type(exc).__name__
import course_lib
out["course_lib"] = course_lib.__file__
attempt("import specs", lambda: __import__("course_lib.exercises.specs.lesson01"))
os.environ["COURSE_GRADING"] = "0"
from course_lib.exercises import core
attempt("get reference", lambda: core.get("l01_mse").reference)
attempt("read a spec", lambda: open(os.path.join(os.path.dirname(course_lib.__file__), "exercises", "specs",
                                                 "lesson01.py")).read())
attempt("read solutions", lambda: os.listdir(sys.argv[1]))
attempt("read the tests", lambda: os.listdir(sys.argv[2]))
attempt("write the course", lambda: open(os.path.join(os.path.dirname(course_lib.__file__), "x.py"), "w"))
attempt("write the venv", lambda: open(os.path.join(sys.prefix, "x.pth"), "w"))
attempt("network", lambda: socket.create_connection(("1.1.1.1", 53), timeout=2))
out["pids"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
out["uid"] = os.getuid()
out["tmp is private"] = not os.path.exists(sys.argv[3])
print(json.dumps(out))
"""


@pytest.mark.parametrize("mode", ["as the grader runs", "user namespace"])
def test_a_kernel_sees_no_references_no_solutions_no_network_and_nothing_to_write(tmp_path, mode):
    """Both of the sandbox's modes: a root grader gives each kernel its own uid; a grader that is
    not root runs bwrap in a user namespace where the kernel keeps the grader's uid and owns the
    folders bwrap made (the second mode, forced here when the suite runs as root: as root in a
    user namespace the kernel could write anything not mounted read-only, so this checks the
    mounts alone)."""
    support.require_sandbox()
    course = support.frozen_course()
    box = sandbox.Sandbox.create(course)
    io_dir = tmp_path / "io"
    io_dir.mkdir()
    root_grader = os.geteuid() == 0 and mode == "as the grader runs"
    uid = sandbox.UID_BASE + sandbox.UID_POOL_SIZE if root_grader else None
    if uid is not None:
        os.chown(io_dir, uid, uid)
    marker = tmp_path / "host-only"
    marker.write_text("x")
    cmd = box.command([sys.executable, "-c", INSIDE, str(ROOT / "solutions"), str(ROOT / "tests"), str(marker)],
                      io_dir=io_dir, uid=uid)
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(course), "HOME": "/tmp", "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    seen = json.loads(proc.stdout.splitlines()[-1])
    assert seen["course_lib"] == str(course / "course_lib" / "__init__.py")  # the bound copy, not the repo's
    for what in ("import specs", "get reference", "read a spec", "read solutions", "read the tests",
                 "write the course", "write the venv", "network"):
        assert seen[what].startswith("refused"), (what, seen[what])
    assert len(seen["pids"]) <= 3  # bwrap's init, the kernel, and nothing of the host
    assert seen["tmp is private"]
    if uid is not None:
        assert seen["uid"] == uid


def test_without_bubblewrap_the_grader_refuses_unless_told_unsafe(tmp_path):
    folder = _notebook_with(tmp_path, "x = 1")
    env = {sandbox.BWRAP_ENV: str(tmp_path / "no-bwrap")}
    proc = support.run_grader(str(folder), "--out", str(tmp_path / "out"), *FIXED, env=env)
    assert proc.returncode == 2
    assert "bubblewrap" in proc.stderr and "--unsafe-no-sandbox" in proc.stderr
    assert not (tmp_path / "out" / "grades.csv").exists()

    proc = support.run_grader(str(folder), "--out", str(tmp_path / "out"), "--unsafe-no-sandbox", *FIXED, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "WITHOUT a sandbox" in proc.stderr
    data = json.loads((tmp_path / "out" / "grades.json").read_text())
    assert data["run"]["sandbox"] is False and data["submissions"][0]["total"] == 5.0


# ---------------------------------------------------------------- trusted code on disk


def test_a_changed_trusted_file_fails_the_batch(tmp_path):
    """Without the sandbox a notebook can edit the course; the integrity check then fails the
    batch: exit 3, no grades written, nothing stored."""
    course = support.copy_course(tmp_path / "course")
    target = course / "course_lib" / "exercises" / "specs" / "_helpers.py"
    folder = _notebook_with(tmp_path, f"open({str(target)!r}, 'a').write('\\n# backdoor\\n')")
    out = tmp_path / "out"
    proc = support.run_grader(str(folder), "--out", str(out), "--unsafe-no-sandbox", *FIXED, course=course)
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert "INTEGRITY CHECK FAILED" in proc.stderr and "_helpers.py" in proc.stderr
    assert not (out / "grades.csv").exists() and not (out / "grades.json").exists()
    assert not list((out / ".cache").glob("*.json"))


def _planted_pyc(source: Path, payload: str) -> Path:
    """A .pyc for ``source`` that Python's default cache check accepts (its mtime and size)."""
    from importlib._bootstrap_external import _code_to_timestamp_pyc

    st = source.stat()
    data = _code_to_timestamp_pyc(compile(payload, str(source), "exec"), int(st.st_mtime), st.st_size)
    target = Path(importlib.util.cache_from_source(str(source)))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(bytes(data))
    return target


def test_the_grader_ignores_planted_bytecode_and_startup_files(tmp_path):
    course = support.copy_course(tmp_path / "course")
    pyc_marker, site_marker = tmp_path / "pyc-ran", tmp_path / "sitecustomize-ran"
    # backdoored bytecode next to the grader's report module and a spec module (issue 10)...
    for module in ("grading/report.py", "exercises/specs/_helpers.py"):
        _planted_pyc(course / "course_lib" / module, f"open({str(pyc_marker)!r}, 'w').write('x')")
    # ...and a sitecustomize on PYTHONPATH, which `site` imports at start-up
    startup = tmp_path / "startup"
    startup.mkdir()
    (startup / "sitecustomize.py").write_text(f"open({str(site_marker)!r}, 'a').write('x')\n")
    (tmp_path / "class").mkdir()
    entry = [str(course / "course_lib" / "grading" / "isolation.py")]
    proc = support.run_grader(str(tmp_path / "class"), "--out", str(tmp_path / "out"), *FIXED, course=course,
                              env={"PYTHONPATH": str(startup)}, entry=["-s", "-S", "-P", *entry])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert not pyc_marker.exists() and not site_marker.exists()
    assert json.loads((tmp_path / "out" / "grades.json").read_text())["run"]["isolation"]["isolated"]
    # `python -m course_lib.grading` re-executes itself isolated: its own start-up still ran `site`
    # (one line), but the grader, its fork server and its helpers did not (no second line)
    proc = support.run_grader(str(tmp_path / "class"), "--out", str(tmp_path / "out"), *FIXED, course=course,
                              env={"PYTHONPATH": str(startup)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert not pyc_marker.exists() and site_marker.read_text() == "x"


# ---------------------------------------------------------------- a grader killed mid-batch


def _started_by(temp: Path) -> list[int]:
    """The grader's fork server and workers (TMPDIR=temp) and the sandboxes (their folders are in
    ``temp``). Other graders may run at the same time (pytest -n), so not by user id."""
    found = []
    for p in psutil.process_iter(["pid", "cmdline", "environ"]):
        try:
            mine = str(temp) in " ".join(p.info["cmdline"] or []) or \
                (p.info["environ"] or {}).get("TMPDIR") == str(temp)
            if mine and p.status() != psutil.STATUS_ZOMBIE:
                found.append(p.info["pid"])
        except psutil.Error:
            pass
    return found


def test_a_killed_grader_leaves_no_submission_copies_and_its_folders_are_removed_next_time(tmp_path):
    support.require_sandbox()
    marker = f"killed-grader-{os.getpid()}"
    folder = _notebook_with(tmp_path, f"import time\ntime.sleep(120)  # {marker}")
    temp = Path(tempfile.mkdtemp(prefix="t", dir="/tmp"))  # short: the kernels' socket paths must fit
    course = support.frozen_course()
    env = {k: v for k, v in os.environ.items() if k != support.SPECS_ENV}
    env["TMPDIR"] = str(temp)
    grader = subprocess.Popen([sys.executable, "-m", "course_lib.grading", str(folder), "--out",
                               str(tmp_path / "out"), *FIXED], cwd=course, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not list(temp.glob("course-grading-*/run-*/job-*/io/kernel.json")):
            assert time.monotonic() < deadline and grader.poll() is None, "no kernel started"
            time.sleep(0.2)
        grader.send_signal(signal.SIGKILL)
        grader.wait(30)
        # the fork server exits with the grader, its workers with it, and the sandboxes with them
        deadline = time.monotonic() + 30
        while _started_by(temp) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _started_by(temp)
    finally:
        if grader.poll() is None:
            grader.kill()
    # the submission was never copied to disk: its text is in no file the grader left behind
    for path in temp.rglob("*"):
        if path.is_file() and not path.is_symlink():
            assert marker.encode() not in path.read_bytes(), path
    assert list(temp.glob("course-grading-*/run-*"))  # left by the killed grader...
    (tmp_path / "empty").mkdir()
    proc = subprocess.run([sys.executable, "-m", "course_lib.grading", str(tmp_path / "empty"), "--out",
                           str(tmp_path / "out2"), *FIXED], cwd=course, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert not list(temp.glob("course-grading-*/run-*"))  # ...and removed by the next one
    shutil.rmtree(temp, ignore_errors=True)
