"""Running the submissions of a batch: one worker process (and one sandboxed kernel) each.

Workers are forked from a fork server that imports the worker code once, at start-up, before
any learner code runs. This module launches them (at most ``--jobs`` at a time), gives each
kernel an unprivileged user id of its own and a private folder, judges what comes back (in
:mod:`~course_lib.grading.scoring`, in this process), checks after every submission that no
trusted file changed (:mod:`~course_lib.grading.integrity`), and only then stores the result.

A submission during which the grader itself died is graded again ALONE (nothing else runs
next to it), and given up only when it stopped the grader twice that way: a classmate graded
next to a submission that kills the grader is never blamed for it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import json
import multiprocessing as mp
import multiprocessing.connection
import os
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

import psutil
from tqdm import tqdm

from course_lib.grading import notebooks, runner, scoring
from course_lib.grading.cache import ResultCache
from course_lib.grading.integrity import Integrity
from course_lib.grading.sandbox import Sandbox, UidPool

__all__ = ["Job", "Pool", "record_for", "work_root", "MAX_ATTEMPTS"]

MAX_ATTEMPTS = 2  # a submission that stopped the grader this often, graded alone, is not retried
_WORKER_STATUS = {"ok": "graded", "timeout": "timeout", "crashed": "crashed", "error": "error"}


@dataclasses.dataclass
class Job:
    sub: notebooks.Submission
    assignment: notebooks.Assignment
    text: str  # the notebook, decoded (a UTF-8 byte-order mark removed)
    sha256: str
    version: str
    seed: int
    prepared: list[scoring.Prepared]
    solo: bool = False  # graded with nothing else running (an earlier run died during it)
    nonce: str = ""
    process: mp.Process | None = None
    conn: object = None
    work_dir: str = ""
    uid: int | None = None
    started: float = 0.0
    hard_deadline: float = 0.0


def record_for(sub: notebooks.Submission, status: str, reason: str = "", **extra) -> dict:
    base = {"submission": sub.key, "path": str(sub.path), "assignment": None, "status": status,
            "reason": reason, "total": 0.0, "max_total": 0.0, "exercises": [], "cell_errors": [],
            "timings": {}}
    base.update(extra)
    return base


def _harness_budget(job: Job, call_timeout: float) -> float:
    calls = sum(len(p.cases) for p in job.prepared if not p.error)
    return calls * call_timeout + 20.0


def finish(job: Job, worker: dict, call_timeout: float) -> dict:
    """Judge a worker's report in this (trusted) process and build the submission's record."""
    status = _WORKER_STATUS.get(worker.get("status"), "error")
    harness = worker.get("harness") or {}
    parsed = None
    if harness.get("ran"):
        parsed = scoring.parse_results(str(harness.get("raw", "")), job.nonce, job.prepared)
    reason = str(worker.get("reason", ""))
    exercises = scoring.score_exercises(job.prepared, parsed, call_timeout=call_timeout,
                                        not_run_reason=f"not graded: {reason or 'the notebook did not finish'}")
    record = record_for(job.sub, status, reason)
    record.update({
        "assignment": job.assignment.stem,
        "total": float(sum(e["score"] for e in exercises)),
        "max_total": float(sum(p.exercise.points for p in job.prepared)),
        "exercises": exercises,
        "cell_errors": list(worker.get("cell_errors", []))[:50],
        "sha256": job.sha256, "version": job.version, "seed": job.seed,
        "harness_state": harness.get("state", "not run"),
        "ignored_result_lines": parsed.ignored_lines if parsed else 0,
        "timings": {k: round(float(v), 3) for k, v in (worker.get("timings") or {}).items()},
        "output": worker.get("output", {}), "peak_rss_mb": worker.get("peak_rss_mb"),
        "worker_peak_rss_mb": worker.get("worker_peak_rss_mb"),
        "graded_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    })
    if harness.get("truncated"):
        record["reason"] = (record["reason"] + "; " if record["reason"] else "") + \
            "the answers were too large and were cut"
    if worker.get("kernel_log_tail"):
        record["kernel_log_tail"] = str(worker["kernel_log_tail"])[-1500:]
    return record


# ---------------------------------------------------------------- private folders


SOCKET_PATH_MAX = 107  # bytes in a Unix socket's path: the kernels' sockets live in their folders
_SOCKET_SUFFIX = "/run-1234567-18c5a2b3c4d/job-abcdefgh/io/kernel-ipc-12"  # the longest tail below


def work_root() -> Path:
    """``$TMPDIR/course-grading-<uid>``: the grader's own folder (0700) for its kernels' folders.
    Runs of graders that died are removed here, at the next start."""
    root = Path(tempfile.gettempdir()) / f"course-grading-{os.geteuid()}"
    if len(os.fsencode(str(root) + _SOCKET_SUFFIX)) > SOCKET_PATH_MAX:
        raise OSError(f"the temporary folder {tempfile.gettempdir()} has too long a path for the kernels' "
                      "sockets (Unix sockets take 107 bytes); set TMPDIR to a short path such as /tmp")
    root.mkdir(mode=0o700, exist_ok=True)
    st = root.lstat()
    if root.is_symlink() or st.st_uid != os.geteuid():
        raise OSError(f"{root} is not a folder of yours; remove it")
    os.chmod(root, 0o700)
    for old in root.glob("run-*"):
        try:
            _, pid, started = old.name.split("-")
            alive = int(round(psutil.Process(int(pid)).create_time() * 1000)) == int(started, 16)
        except (ValueError, psutil.Error):
            alive = False
        if not alive:
            shutil.rmtree(old, ignore_errors=True)
    return root


def _run_dir(root: Path) -> Path:
    me = psutil.Process()
    path = root / f"run-{me.pid}-{int(round(me.create_time() * 1000)):x}"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


# ---------------------------------------------------------------- workers


def mp_context(start: bool = False):
    """Workers are forked from a fork server that imports the worker code once, at start-up,
    before any learner code runs. ``start=True`` starts it now, so its imports overlap with
    the grader's own start-up."""
    if "forkserver" not in mp.get_all_start_methods():
        return mp.get_context("spawn")
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["course_lib.grading.forkserver_init"])
    if start:
        from multiprocessing import forkserver
        forkserver.ensure_running()
    return ctx


def _kill_worker(job: Job) -> None:
    if job.process is None or job.process.pid is None:
        return
    try:
        root = psutil.Process(job.process.pid)
        for p in [*root.children(recursive=True), root]:
            with contextlib.suppress(psutil.Error):
                p.kill()
    except psutil.Error:
        pass
    job.process.join(5)


class Pool:
    """Grades ``pending`` jobs; ``records`` receives one record per job."""

    def __init__(self, *, options, cache: ResultCache, integrity: Integrity, sandbox: Sandbox | None,
                 harness_source: str, mpl_cache: str | None, python_path: list[str]):
        self.options, self.cache, self.integrity, self.sandbox = options, cache, integrity, sandbox
        self.harness_source, self.mpl_cache, self.python_path = harness_source, mpl_cache, python_path
        self.ctx = mp_context()
        self.root = work_root()
        self.run_dir = _run_dir(self.root)
        self.uids = UidPool(self.root / "uids") if sandbox is not None and os.geteuid() == 0 else None
        self.threads = max(1, (os.cpu_count() or 1) // max(1, options.jobs))
        self.stored: list[Path] = []  # results stored in this run (removed if the batch fails)
        self.active: dict[object, Job] = {}
        self.in_flight_since_check: set[str] = set()

    # ------------------------------------------------------------ one job

    def _launch(self, job: Job, records: dict) -> bool:
        """Start a worker for ``job``; False when the job is given up instead."""
        counts = self.cache.attempts(job.sha256, job.version) if not self.options.force else \
            {"alone": 0, "shared": 0}
        if counts["alone"] >= MAX_ATTEMPTS:
            record = finish(job, {"status": "crashed", "harness": {"ran": False},
                                  "reason": f"grading this submission stopped the grader {counts['alone']} times "
                                            "while it was graded alone; not retried (use --force to retry)"},
                            self.options.call_timeout)
            self._done(job, record, records, store=False)
            return False
        alone = job.solo or self.options.jobs == 1
        counts["alone" if alone else "shared"] += 1
        self.cache.set_attempts(job.sha256, job.version, counts)
        job.nonce = secrets.token_hex(16)
        job.work_dir = tempfile.mkdtemp(prefix="job-", dir=self.run_dir)
        job.uid = self.uids.claim() if self.uids is not None else None
        payload = {
            "work_dir": job.work_dir, "notebook": job.text,
            "limits": {**self.options.limits(), "threads": self.threads},
            "python_path": self.python_path, "mpl_cache": self.mpl_cache,
            "sandbox": None if self.sandbox is None else {
                "bwrap": self.sandbox.bwrap, "course_root": str(self.sandbox.course_root),
                "python_roots": list(self.sandbox.python_roots), "setpriv": self.sandbox.setpriv,
                "prlimit": self.sandbox.prlimit},
            "uid": job.uid,
            "request": {"modules": scoring.case_modules(job.prepared),
                        "exercises": scoring.request_exercises(job.prepared, self.options.call_timeout)},
            "nonce": job.nonce, "harness_source": self.harness_source,
            "harness_budget": _harness_budget(job, self.options.call_timeout),
        }
        payload["launched"] = time.monotonic()  # CLOCK_MONOTONIC: comparable across processes
        reader, writer = self.ctx.Pipe(duplex=False)
        job.process = self.ctx.Process(target=runner.worker_entry, args=(json.dumps(payload), writer),
                                       daemon=True, name=f"grade:{job.sub.key}")
        job.started = time.monotonic()
        job.hard_deadline = job.started + self.options.timeout + payload["harness_budget"] + 90
        job.process.start()
        writer.close()
        job.conn = reader
        self.active[reader] = job
        self.in_flight_since_check.add(job.sub.key)
        return True

    def _done(self, job: Job, record: dict, records: dict, store: bool = True) -> None:
        record["timings"]["wall"] = round(time.monotonic() - job.started, 3) if job.started else 0.0
        if job.work_dir:
            shutil.rmtree(job.work_dir, ignore_errors=True)
        if self.uids is not None:
            self.uids.release(job.uid)
        # learner code must not have changed a trusted file: if it did, nothing is stored
        self.integrity.check(sorted(self.in_flight_since_check))
        if store:
            self.stored.append(self.cache.store(record))
        self.cache.clear_attempts(job.sha256, job.version)
        records[job.sub.key] = record
        self.in_flight_since_check.clear()
        self.in_flight_since_check.update(j.sub.key for j in self.active.values())

    def _may_launch(self, job: Job) -> bool:
        if len(self.active) >= self.options.jobs:
            return False
        if self.active and (job.solo or any(j.solo for j in self.active.values())):
            return False
        return True

    # ------------------------------------------------------------ the loop

    def run(self, pending: list[Job], records: dict) -> None:
        progress_on = sys.stderr.isatty() if self.options.progress is None else self.options.progress
        progress = tqdm(total=len(pending), unit="nb", file=sys.stderr, dynamic_ncols=True,
                        disable=not (progress_on and pending))
        # the submissions to grade alone go last, one at a time
        queue = sorted(pending, key=lambda j: j.solo)
        try:
            while queue or self.active:
                while queue and self._may_launch(queue[0]):
                    if not self._launch(queue.pop(0), records):
                        progress.update(1)  # given up without running
                if not self.active:
                    continue
                for conn in mp.connection.wait(list(self.active), timeout=0.5):
                    job = self.active.pop(conn)
                    try:
                        worker = json.loads(conn.recv_bytes().decode("utf-8"))
                    except (EOFError, OSError, ValueError):
                        worker = {"status": "error", "harness": {"ran": False},
                                  "reason": "the grading worker died without reporting (killed from outside?)"}
                    conn.close()
                    job.process.join(10)
                    if job.process.is_alive():
                        _kill_worker(job)
                    self._done(job, finish(job, worker, self.options.call_timeout), records)
                    progress.set_postfix_str(job.sub.key[-40:], refresh=False)
                    progress.update(1)
                now = time.monotonic()
                for conn, job in list(self.active.items()):
                    if now > job.hard_deadline:
                        self.active.pop(conn)
                        _kill_worker(job)
                        conn.close()
                        self._done(job, finish(job, {"status": "timeout", "harness": {"ran": False},
                                                     "reason": "the grader stopped this submission after "
                                                               f"{now - job.started:.0f} s"},
                                               self.options.call_timeout), records)
                        progress.update(1)
        except BaseException:
            for job in self.active.values():
                _kill_worker(job)
            raise
        finally:
            progress.close()
            shutil.rmtree(self.run_dir, ignore_errors=True)
