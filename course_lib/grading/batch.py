"""Grade a batch of submissions: set-up, discovery, resume, scoring, reports.

The process running this module is the trusted side. It loads the exercise specs and every
module it needs before any learner code runs, builds each submission's cases and reference
answers itself, hands the submissions to :mod:`~course_lib.grading.jobs` (one sandboxed
kernel each, in workers forked from a fork server preloaded at start-up), judges the
answers that come back, and writes the reports. It refuses to run learner code without the
sandbox unless told ``unsafe_no_sandbox``.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import os
import platform
import secrets
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import course_lib
from course_lib.exercises import codec, core
from course_lib.grading import isolation, jobs, notebooks, report, runner, sandbox, scoring
from course_lib.grading.cache import ResultCache
from course_lib.grading.cli import UsageError, default_solutions_dir
from course_lib.grading.integrity import Integrity, IntegrityError

__all__ = ["Options", "grade", "GRADER_VERSION", "STATUSES", "IntegrityError", "NO_SANDBOX_HELP"]

GRADER_VERSION = "2"
STATUSES = ("graded", "timeout", "crashed", "invalid-notebook", "not-a-notebook", "unknown-assignment", "error")
COURSE_ROOT = Path(course_lib.__file__).resolve().parent.parent
NO_SANDBOX_HELP = ("install it (Debian/Ubuntu: `apt-get install bubblewrap`; `make test` does this), or, "
                   "ONLY for notebooks you trust, pass --unsafe-no-sandbox: the kernels then run as you, "
                   "with your files, network and processes in reach")


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
    unsafe_no_sandbox: bool = False

    def limits(self) -> dict:
        return {"timeout": self.timeout, "cell_timeout": self.cell_timeout,
                "call_timeout": self.call_timeout, "memory_mb": self.memory_mb}


# ---------------------------------------------------------------- set-up


def _spec_source(source: str) -> str:
    """An extra spec as recorded: a module name, or an absolute file path."""
    if source.endswith(".py") or "/" in source or os.sep in source:
        return str(Path(source).resolve())
    return source


def load_specs(extra: list[str]) -> list[str]:
    """Import the course's spec modules and the extra ones; returns the extra sources."""
    sources = [_spec_source(s) for s in [*extra, *core.extra_spec_sources()]]
    sources = list(dict.fromkeys(sources))
    try:
        import course_lib.exercises.specs  # noqa: F401
        for s in sources:
            core.import_specs(s)
    except Exception as exc:
        raise UsageError(f"cannot load the exercise specs: {type(exc).__name__}: {exc}") from exc
    return sources


def _extra_spec_files(extra_sources: list[str]) -> list[Path]:
    files = []
    for s in extra_sources:
        file = s if os.path.isabs(s) else getattr(sys.modules.get(s), "__file__", None)
        if file:
            files.append(Path(file))
    return files


def _source_files(extra_sources: list[str]) -> list[Path]:
    """The files whose content defines how grading behaves: the grader, the exercise specs and
    the library the references use (the version key of stored results), plus extra specs."""
    return sorted((COURSE_ROOT / "course_lib").rglob("*.py")) + _extra_spec_files(extra_sources)


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


def _helper_python(code: str) -> list[str]:
    """A helper interpreter as isolated as this one (same flags, same ``sys.path``, no ``site``)."""
    return [sys.executable, *subprocess._args_from_interpreter_flags(), "-c",
            f"import sys; sys.path[:] = {sys.path!r}; {code}"]


def _matplotlib_template(cache: Path) -> str | None:
    """A prebuilt matplotlib font cache that each kernel gets a private copy of."""
    target = cache / "matplotlib"
    if any(target.glob("fontlist-*.json")):
        return str(target)
    target.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, MPLCONFIGDIR=str(target))
    try:
        subprocess.run(_helper_python("import matplotlib.font_manager"), env=env, timeout=120,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return str(target) if any(target.glob("fontlist-*.json")) else None


def _sandbox(options: Options, scratch: Path) -> sandbox.Sandbox | None:
    if options.unsafe_no_sandbox:
        print("WARNING: --unsafe-no-sandbox: the notebooks run as you, WITHOUT a sandbox: they can read "
              "and change your files (and this batch's results), use the network and signal your "
              "processes. Use this only for notebooks you trust.", file=sys.stderr)
        return None
    try:
        box = sandbox.Sandbox.create(COURSE_ROOT)
        sandbox.probe(box, scratch)
    except sandbox.SandboxUnavailable as exc:
        raise UsageError(f"refusing to grade: the kernels' sandbox is not available ({exc}); "
                         + NO_SANDBOX_HELP) from None
    return box


# ---------------------------------------------------------------- the batch


def grade(paths: list[Path], options: Options) -> dict:
    """Grade every notebook under ``paths``; write the reports to ``options.out``; return
    the content of ``grades.json``. Raises :class:`IntegrityError` (and writes nothing) when a
    trusted file changed during the batch."""
    t_start = time.monotonic()
    started_at = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    for p in paths:
        if not Path(p).exists():
            raise UsageError(f"no such file or folder: {p}")
    jobs.mp_context(start=True)
    solutions = (Path(options.solutions) if options.solutions else default_solutions_dir()).absolute()
    if not solutions.is_dir():
        raise UsageError(f"no solutions folder {solutions} (use --solutions DIR)")
    try:
        scratch = jobs.work_root()
    except OSError as exc:
        raise UsageError(str(exc)) from None
    box = _sandbox(options, scratch)
    extra = load_specs(options.specs)
    registry = core.all_exercises()
    try:
        assignments = notebooks.load_assignments(solutions)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    if not assignments:
        raise UsageError(f"no solutions notebooks in {solutions}")

    out = Path(options.out)
    try:
        cache = ResultCache(out / ".cache")
    except OSError as exc:
        raise UsageError(str(exc)) from exc
    roots = list(box.python_roots) if box else sorted({sys.prefix, sys.base_prefix})
    integrity = Integrity(COURSE_ROOT / "course_lib", solutions, _extra_spec_files(extra), roots)
    versions = _versions()
    base_version = hashlib.sha256(json.dumps(
        [versions, _digest(_source_files(extra)), options.limits(), box is None],
        sort_keys=True).encode()).hexdigest()

    exercises_of: dict[str, list[core.Exercise]] = {}
    assignment_info = {}
    for stem, a in assignments.items():
        exs = [registry[g] for g in a.grade_ids if g in registry]
        exercises_of[stem] = exs
        assignment_info[stem] = {
            "solutions": str(a.path),
            "exercises": [{"grade_id": e.grade_id, "function": e.function, "points": float(e.points),
                           "forbidden": list(e.forbidden)} for e in exs],
            "not_autograded": [g for g in a.grade_ids if g not in registry],
            "max_total": float(sum(e.points for e in exs)),
        }
        for e in exs:  # warm-up: any lazy import in a spec happens now, before learner code runs
            scoring.prepare(e, 0)

    run_seed = options.seed if options.seed is not None else secrets.randbelow(2**31)
    harness_source = (Path(runner.__file__).parent / "harness.py").read_text(encoding="utf-8")

    subs = notebooks.discover([Path(p) for p in paths])
    records: dict[str, dict] = {}
    rejected: list[dict] = []
    pending: list[jobs.Job] = []
    for sub in subs:
        status, reason, data, _nb = notebooks.check_notebook(sub.path)
        stem = notebooks.match_assignment(sub.path.name, list(assignments))
        if status != "ok":
            records[sub.key] = jobs.record_for(sub, status, reason, sha256=hashlib.sha256(data).hexdigest(),
                                               assignment=stem,
                                               max_total=assignment_info[stem]["max_total"] if stem else 0.0)
            continue
        if stem is None:
            records[sub.key] = jobs.record_for(sub, "unknown-assignment",
                                               "the file name must end with the name of an assignment: "
                                               + ", ".join(sorted(assignments)))
            continue
        sha = hashlib.sha256(data).hexdigest()
        version = hashlib.sha256(f"{base_version}:{assignments[stem].sha256}".encode()).hexdigest()
        if not options.force:
            try:
                cached = cache.load(sha, version, stem)
            except ValueError as exc:
                cached = None
                rejected.append({"submission": sub.key, "reason": f"stored result not reused: {exc}"})
            if cached is not None:
                cached.update({"submission": sub.key, "path": str(sub.path), "reused": True})
                records[sub.key] = cached
                continue
        seed = int.from_bytes(hashlib.sha256(f"{run_seed}:{sha}".encode()).digest()[:4], "big") % 2**31
        prepared = [scoring.prepare(e, seed) for e in exercises_of[stem]]
        attempts = cache.attempts(sha, version)
        pending.append(jobs.Job(sub, assignments[stem], data.decode("utf-8-sig"), sha, version, seed, prepared,
                                solo=not options.force and attempts["alone"] + attempts["shared"] > 0))
    if rejected:
        print(f"WARNING: {len(rejected)} stored result(s) were not trusted and are graded again "
              "(see 'cache_rejected' in grades.json)", file=sys.stderr)

    if pending:
        python_path = [str(COURSE_ROOT)]
        if box is not None:
            env = {"PATH": os.environ.get("PATH", os.defpath), "PYTHONPATH": str(COURSE_ROOT), "HOME": "/tmp",
                   "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}
            try:
                sandbox.self_check(box, scratch, env, solutions)
            except sandbox.SandboxUnavailable as exc:
                raise UsageError(f"refusing to grade: {exc}") from None
        pool = jobs.Pool(options=options, cache=cache, integrity=integrity, sandbox=box,
                         harness_source=harness_source, mpl_cache=_matplotlib_template(out / ".cache"),
                         python_path=python_path)
        try:
            pool.run(pending, records)
            integrity.check_tree([j.sub.key for j in pending])
        except IntegrityError:
            for path in pool.stored:  # graded while trusted files were being changed: not kept
                path.unlink(missing_ok=True)
            raise

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
                "specs": extra, "version": base_version, "sandbox": box is not None,
                "isolation": isolation.status()},
        "summary": {"submissions": len(ordered), "reused": sum(bool(r.get("reused")) for r in ordered),
                    "statuses": summary},
        "assignments": {s: assignment_info[s] for s in sorted(assignment_info)},
        "cache_rejected": rejected,
        "submissions": ordered,
    }
    report.write_json(out / "grades.json", data)
    return data


_ = codec  # the codec is imported here so it is loaded before any learner code runs
