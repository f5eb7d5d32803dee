"""Grade a batch of submissions: discovery, resume, parallel workers, scoring, reports.

The process running this module is the trusted side. It loads the exercise specs
and every module it needs before any learner code runs, builds each submission's
cases and reference answers itself, starts one worker process per submission (from
a fork server preloaded at start-up, so a kernel that rewrites files on disk cannot
change the code of later workers), and judges the answers that come back.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import multiprocessing as mp
import multiprocessing.connection
import os
import platform
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import psutil
from tqdm import tqdm

import course_lib
from course_lib.exercises import codec, core
from course_lib.grading import notebooks, report, runner, scoring
from course_lib.grading.cli import UsageError, default_solutions_dir

__all__ = ["Options", "grade", "GRADER_VERSION", "STATUSES"]

GRADER_VERSION = "1"
STATUSES = ("graded", "timeout", "crashed", "invalid-notebook", "not-a-notebook", "unknown-assignment", "error")
_WORKER_STATUS = {"ok": "graded", "timeout": "timeout", "crashed": "crashed", "error": "error"}
MAX_ATTEMPTS = 2  # a submission whose grading stopped the grader this often is not retried
COURSE_ROOT = Path(course_lib.__file__).resolve().parent.parent


@dataclasses.dataclass
class Options:
    out: Path
    jobs: int = 1
    timeout: float = 300.0
    cell_timeout: float = 120.0
    call_timeout: float = 10.0
    memory_mb: int = 4096
    solutions: Path | None = None
    specs: list[str] = dataclasses.field(default_factory=list)
    seed: int | None = None
    force: bool = False
    progress: bool | None = None  # None: a progress bar when stderr is a terminal

    def limits(self) -> dict:
        return {"timeout": self.timeout, "cell_timeout": self.cell_timeout,
                "call_timeout": self.call_timeout, "memory_mb": self.memory_mb}


# ---------------------------------------------------------------- set-up


def _spec_source(source: str) -> str:
    """An extra spec as the kernel must see it: a module name, or an absolute file path."""
    if source.endswith(".py") or "/" in source or os.sep in source:
        return str(Path(source).resolve())
    return source


def load_specs(extra: list[str]) -> list[str]:
    """Import the course's spec modules and the extra ones; returns the extra sources
    in the form the kernel gets them."""
    sources = [_spec_source(s) for s in [*extra, *core.extra_spec_sources()]]
    sources = list(dict.fromkeys(sources))
    try:
        import course_lib.exercises.specs  # noqa: F401
        for s in sources:
            core.import_specs(s)
    except Exception as exc:
        raise UsageError(f"cannot load the exercise specs: {type(exc).__name__}: {exc}") from exc
    return sources


def _harness_specs(prepared: list[scoring.Prepared]) -> list[str]:
    """The spec modules the kernel imports before calling the learner's functions (they
    register the whitelisted functions cases may carry): those defining the exercises."""
    sources = []
    for p in prepared:
        name = getattr(p.exercise.make_cases, "__module__", None)
        module = sys.modules.get(name or "")
        if module is None:
            continue
        if name.startswith("_course_specs_"):  # imported from a file path
            sources.append(str(Path(module.__file__).resolve()))
        else:
            sources.append(name)
    return list(dict.fromkeys(sources))


def _python_path(extra_sources: list[str]) -> list[str]:
    paths = [str(COURSE_ROOT)]
    for s in extra_sources:
        if os.path.isabs(s):
            continue
        module = sys.modules.get(s)
        file = getattr(module, "__file__", None)
        if file:
            root = Path(file).resolve().parent
            for _ in range(s.count(".") + (1 if Path(file).name == "__init__.py" else 0)):
                root = root.parent
            paths.append(str(root))
    return list(dict.fromkeys(paths))


def _source_files(extra_sources: list[str]) -> list[Path]:
    """The files whose content defines how grading behaves: the grader, the exercise specs and
    the library the references use (the version key of stored results), plus extra specs."""
    files = sorted((COURSE_ROOT / "course_lib").rglob("*.py"))
    for s in extra_sources:
        file = s if os.path.isabs(s) else getattr(sys.modules.get(s), "__file__", None)
        if file:
            files.append(Path(file))
    return files


def _digest(files: list[Path]) -> str:
    h = hashlib.sha256()
    for f in files:
        h.update(str(f).encode())
        try:
            h.update(f.read_bytes())
        except OSError:
            h.update(b"<missing>")
    return h.hexdigest()


def _versions() -> dict:
    import torch
    return {"grader": GRADER_VERSION, "python": platform.python_version(), "torch": torch.__version__,
            "numpy": __import__("numpy").__version__, "nbclient": __import__("nbclient").__version__}


def _matplotlib_template(cache: Path) -> str | None:
    """A prebuilt matplotlib font cache that each kernel gets a private copy of."""
    target = cache / "matplotlib"
    if any(target.glob("fontlist-*.json")):
        return str(target)
    target.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, MPLCONFIGDIR=str(target))
    try:
        subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"], env=env, timeout=120,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return str(target) if any(target.glob("fontlist-*.json")) else None


# ---------------------------------------------------------------- one submission


@dataclasses.dataclass
class Job:
    sub: notebooks.Submission
    assignment: notebooks.Assignment
    data: bytes
    sha256: str
    version: str
    cache_file: Path
    seed: int
    prepared: list[scoring.Prepared]
    nonce: str = ""
    process: mp.Process | None = None
    conn: object = None
    work_dir: str = ""
    started: float = 0.0
    hard_deadline: float = 0.0


def _record(sub: notebooks.Submission, status: str, reason: str = "", **extra) -> dict:
    base = {"submission": sub.key, "path": str(sub.path), "assignment": None, "status": status,
            "reason": reason, "total": 0.0, "max_total": 0.0, "exercises": [], "cell_errors": [],
            "timings": {}}
    base.update(extra)
    return base


def _harness_budget(job: Job, call_timeout: float) -> float:
    calls = sum(len(p.cases) for p in job.prepared if not p.error)
    return calls * call_timeout + 20.0


def _finish(job: Job, worker: dict, options: Options) -> dict:
    """Judge a worker's report in this (trusted) process and build the submission's record."""
    status = _WORKER_STATUS.get(worker.get("status"), "error")
    harness = worker.get("harness") or {}
    parsed = None
    if harness.get("ran"):
        parsed = scoring.parse_results(str(harness.get("raw", "")), job.nonce, job.prepared)
    reason = str(worker.get("reason", ""))
    exercises = scoring.score_exercises(job.prepared, parsed, call_timeout=options.call_timeout,
                                        not_run_reason=f"not graded: {reason or 'the notebook did not finish'}")
    record = _record(job.sub, status, reason)
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
        "graded_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    })
    if harness.get("truncated"):
        record["reason"] = (record["reason"] + "; " if record["reason"] else "") + \
            "the answers were too large and were cut"
    if worker.get("kernel_log_tail"):
        record["kernel_log_tail"] = str(worker["kernel_log_tail"])[-1500:]
    return record


def _kill_worker(job: Job) -> None:
    if job.process is None or job.process.pid is None:
        return
    try:
        root = psutil.Process(job.process.pid)
        for p in [*root.children(recursive=True), root]:
            try:
                p.kill()
            except psutil.Error:
                pass
    except psutil.Error:
        pass
    job.process.join(5)


def _mp_context(start: bool = False):
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


# ---------------------------------------------------------------- the batch


def _progress_bar(total: int, enabled: bool) -> tqdm:
    """A progress bar on stderr, one tick per graded notebook (tqdm is a pinned dependency)."""
    return tqdm(total=total, unit="nb", file=sys.stderr, dynamic_ncols=True,
                disable=not (enabled and total))


def grade(paths: list[Path], options: Options) -> dict:
    """Grade every notebook under ``paths``; write the reports to ``options.out``; return
    the content of ``grades.json``."""
    t_start = time.monotonic()
    started_at = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    for p in paths:
        if not Path(p).exists():
            raise UsageError(f"no such file or folder: {p}")
    _mp_context(start=True)
    solutions = (Path(options.solutions) if options.solutions else default_solutions_dir()).absolute()
    if not solutions.is_dir():
        raise UsageError(f"no solutions folder {solutions} (use --solutions DIR)")
    extra = load_specs(options.specs)
    registry = core.all_exercises()
    try:
        assignments = notebooks.load_assignments(solutions)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    if not assignments:
        raise UsageError(f"no solutions notebooks in {solutions}")

    out = Path(options.out)
    cache = out / ".cache"
    cache.mkdir(parents=True, exist_ok=True)
    versions = _versions()
    base_version = hashlib.sha256(json.dumps(
        [versions, _digest(_source_files(extra)), options.limits()], sort_keys=True).encode()).hexdigest()

    exercises_of: dict[str, list[core.Exercise]] = {}
    assignment_info = {}
    for stem, a in assignments.items():
        exs = [registry[g] for g in a.grade_ids if g in registry]
        exercises_of[stem] = exs
        assignment_info[stem] = {
            "solutions": str(a.path),
            "exercises": [{"grade_id": e.grade_id, "function": e.function, "points": float(e.points)}
                          for e in exs],
            "not_autograded": [g for g in a.grade_ids if g not in registry],
            "max_total": float(sum(e.points for e in exs)),
        }
        for e in exs:  # warm-up: any lazy import in a spec happens now, before learner code runs
            scoring.prepare(e, 0)

    run_seed = options.seed if options.seed is not None else secrets.randbelow(2**31)
    harness_source = (Path(runner.__file__).parent / "harness.py").read_text(encoding="utf-8")
    integrity_files = _source_files(extra) + sorted(solutions.glob("*.ipynb"))
    integrity_base = _digest(integrity_files)

    subs = notebooks.discover([Path(p) for p in paths])
    records: dict[str, dict] = {}
    pending: list[Job] = []
    for sub in subs:
        status, reason, data, _nb = notebooks.check_notebook(sub.path)
        stem = notebooks.match_assignment(sub.path.name, list(assignments))
        if status != "ok":
            records[sub.key] = _record(sub, status, reason, sha256=hashlib.sha256(data).hexdigest(),
                                       assignment=stem,
                                       max_total=assignment_info[stem]["max_total"] if stem else 0.0)
            continue
        if stem is None:
            records[sub.key] = _record(sub, "unknown-assignment",
                                       "the file name must end with the name of an assignment: "
                                       + ", ".join(sorted(assignments)))
            continue
        sha = hashlib.sha256(data).hexdigest()
        version = hashlib.sha256(f"{base_version}:{assignments[stem].sha256}".encode()).hexdigest()
        cache_file = cache / f"{sha[:32]}-{version[:16]}.json"
        if cache_file.exists() and not options.force:
            try:
                cached = json.loads(cache_file.read_text(encoding="utf-8"))
                cached.update({"submission": sub.key, "path": str(sub.path), "reused": True})
                records[sub.key] = cached
                continue
            except (OSError, ValueError):
                pass  # unreadable cache entry: grade again
        seed = int.from_bytes(hashlib.sha256(f"{run_seed}:{sha}".encode()).digest()[:4], "big") % 2**31
        prepared = [scoring.prepare(e, seed) for e in exercises_of[stem]]
        pending.append(Job(sub, assignments[stem], data, sha, version, cache_file, seed, prepared))

    integrity_events = []
    if pending:
        integrity_events = _run_jobs(pending, options, records, extra, harness_source, cache,
                                     integrity_files, integrity_base)

    ordered = [records[s.key] for s in subs]
    grade_ids = []
    for stem in sorted({r["assignment"] for r in ordered if r.get("assignment")}):
        grade_ids += [e["grade_id"] for e in assignment_info[stem]["exercises"]]
    for r in ordered:
        r.setdefault("reused", False)
    report.write_csv(out / "grades.csv", ordered, grade_ids)
    for r in ordered:
        report.atomic_write(report.feedback_path(out, r["submission"]), report.feedback_markdown(r))
    summary = dict(Counter(r["status"] for r in ordered))
    data = {
        "grader": versions,
        "run": {"started": started_at, "seconds": round(time.monotonic() - t_start, 2), "seed": run_seed,
                "limits": options.limits(), "jobs": options.jobs, "solutions": str(solutions),
                "specs": extra, "version": base_version},
        "summary": {"submissions": len(ordered), "reused": sum(bool(r.get("reused")) for r in ordered),
                    "statuses": summary},
        "assignments": {s: assignment_info[s] for s in sorted(assignment_info)},
        "integrity": integrity_events,
        "submissions": ordered,
    }
    report.write_json(out / "grades.json", data)
    return data


def _run_jobs(pending: list[Job], options: Options, records: dict, extra: list[str], harness_source: str,
              cache: Path, integrity_files: list[Path], integrity_base: str) -> list[dict]:
    ctx = _mp_context()
    mpl_cache = _matplotlib_template(cache)
    threads = max(1, (os.cpu_count() or 1) // max(1, options.jobs))
    progress_on = sys.stderr.isatty() if options.progress is None else options.progress
    progress = _progress_bar(len(pending), progress_on)
    active: dict[object, Job] = {}
    queue = list(pending)
    events: list[dict] = []
    in_flight_since_check: set[str] = set()
    state = {"digest": integrity_base}

    def launch(job: Job) -> None:
        attempts_file = job.cache_file.with_suffix(".attempts")
        attempts = 0
        if attempts_file.exists() and not options.force:
            try:
                attempts = int(attempts_file.read_text() or 0)
            except ValueError:
                attempts = 0
        if attempts >= MAX_ATTEMPTS:
            record = _finish(job, {"status": "crashed", "harness": {"ran": False},
                                   "reason": f"grading this submission stopped the grader {attempts} times; "
                                             "not retried (use --force to retry)"}, options)
            done(job, record, cache_it=False)
            return
        report.atomic_write(attempts_file, str(attempts + 1))
        job.nonce = secrets.token_hex(16)
        job.work_dir = tempfile.mkdtemp(prefix="course-grading-")
        nb_path = Path(job.work_dir) / "submission.ipynb"
        nb_path.write_bytes(job.data)
        spec_sources = _harness_specs(job.prepared)
        payload = {
            "work_dir": job.work_dir, "notebook_path": str(nb_path),
            "limits": {**options.limits(), "threads": threads},
            "python_path": _python_path(extra), "extra_specs": extra, "mpl_cache": mpl_cache,
            "request": {"specs": spec_sources,
                        "exercises": scoring.request_exercises(job.prepared, options.call_timeout)},
            "nonce": job.nonce, "harness_source": harness_source,
            "harness_budget": _harness_budget(job, options.call_timeout),
        }
        reader, writer = ctx.Pipe(duplex=False)
        job.process = ctx.Process(target=runner.worker_entry, args=(json.dumps(payload), writer),
                                  daemon=True, name=f"grade:{job.sub.key}")
        job.started = time.monotonic()
        job.hard_deadline = job.started + options.timeout + payload["harness_budget"] + 90
        job.process.start()
        writer.close()
        job.conn = reader
        active[reader] = job
        in_flight_since_check.add(job.sub.key)

    def done(job: Job, record: dict, cache_it: bool = True) -> None:
        record["timings"]["wall"] = round(time.monotonic() - job.started, 3) if job.started else 0.0
        if cache_it:
            report.write_json(job.cache_file, record)
        job.cache_file.with_suffix(".attempts").unlink(missing_ok=True)
        records[job.sub.key] = record
        if job.work_dir:
            shutil.rmtree(job.work_dir, ignore_errors=True)
        # did learner code change the course's files? (the kernel runs as this user)
        digest = _digest(integrity_files)
        if digest != state["digest"]:
            events.append({"detected_after": job.sub.key, "suspects": sorted(in_flight_since_check),
                           "message": "course_lib sources or solutions changed on disk during grading"})
            print(f"WARNING: course files changed on disk while grading {sorted(in_flight_since_check)}; "
                  "see 'integrity' in grades.json", file=sys.stderr)
            state["digest"] = digest
        in_flight_since_check.clear()
        in_flight_since_check.update(j.sub.key for j in active.values())
        progress.set_postfix_str(job.sub.key[-40:], refresh=False)
        progress.update(1)

    try:
        while queue or active:
            while queue and len(active) < options.jobs:
                launch(queue.pop(0))
            if not active:
                continue
            ready = mp.connection.wait(list(active), timeout=0.5)
            for conn in ready:
                job = active.pop(conn)
                try:
                    worker = json.loads(conn.recv_bytes().decode("utf-8"))
                except (EOFError, OSError, ValueError):
                    worker = {"status": "error", "harness": {"ran": False},
                              "reason": "the grading worker died without reporting (killed from outside?)"}
                conn.close()
                job.process.join(10)
                if job.process.is_alive():
                    _kill_worker(job)
                done(job, _finish(job, worker, options))
            now = time.monotonic()
            for conn, job in list(active.items()):
                if now > job.hard_deadline:
                    active.pop(conn)
                    _kill_worker(job)
                    conn.close()
                    done(job, _finish(job, {"status": "timeout", "harness": {"ran": False},
                                            "reason": "the grader stopped this submission after "
                                                      f"{now - job.started:.0f} s"}, options))
    except BaseException:
        for job in active.values():
            _kill_worker(job)
            if job.work_dir:
                shutil.rmtree(job.work_dir, ignore_errors=True)
        raise
    finally:
        progress.close()
    return events


_ = codec  # the codec is imported here so it is loaded before any learner code runs
