"""The command line: ``python -m course_lib.grading SUBMISSION... --out DIR [options]``.

Arguments are checked before the heavy modules (torch, the exercise specs, nbclient)
are imported, so a typo costs a fraction of a second. Exit status: 0 when the batch
finished, whatever the scores; 2 for a usage error (including: no sandbox available and
no ``--unsafe-no-sandbox``); 3 when trusted files changed during the batch (nothing is
written); 130 when interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import course_lib

__all__ = ["UsageError", "build_parser", "default_solutions_dir", "main"]

SPECS_ENV = "COURSE_GRADING_SPECS"  # same as course_lib.exercises.core.SPECS_ENV


class UsageError(Exception):
    """Bad input from the command line (exit status 2)."""


def default_solutions_dir() -> Path:
    """``./solutions`` if there is one, else the course's own ``solutions/``."""
    here = Path.cwd() / "solutions"
    return here if here.is_dir() else Path(course_lib.__file__).resolve().parent.parent / "solutions"


def _positive(kind):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
        return value
    return parse


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m course_lib.grading",
        description="Grade exercise notebooks: run each in a fresh, limited kernel, call the learner's "
                    "functions on fresh cases, and judge the answers in this process.",
        epilog="Writes OUT/grades.csv, OUT/grades.json and OUT/feedback/<submission>.md. Re-running "
               "reuses the results of unchanged submissions (--force re-grades). Every kernel runs in a "
               "bubblewrap sandbox. Exit status: 0 when the batch finished, whatever the scores; 2 for a "
               "usage error or no sandbox; 3 when trusted files changed during the batch.")
    p.add_argument("submissions", nargs="+", type=Path, metavar="SUBMISSION",
                   help="a notebook, or a folder searched recursively for *.ipynb")
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="folder for the results")
    p.add_argument("--jobs", type=_positive(int), default=1, metavar="N",
                   help="submissions graded in parallel (default 1)")
    p.add_argument("--timeout", type=_positive(float), default=300.0, metavar="SECONDS",
                   help="wall-clock limit for running one notebook, all cells together (default 300)")
    p.add_argument("--cell-timeout", type=_positive(float), default=120.0, metavar="SECONDS",
                   help="a cell running longer is interrupted and the next cell runs (default 120)")
    p.add_argument("--call-timeout", type=_positive(float), default=10.0, metavar="SECONDS",
                   help="limit for one call of a learner's function on one case (default 10)")
    p.add_argument("--memory-mb", type=_positive(int), default=4096, metavar="MB",
                   help="address-space limit of the kernel, and RSS limit of its process tree (default 4096)")
    p.add_argument("--solutions", type=Path, metavar="DIR",
                   help="the trusted solutions notebooks (default: ./solutions)")
    p.add_argument("--specs", action="append", default=[], metavar="MODULE_OR_FILE",
                   help=f"extra exercise spec module (dotted name or .py path); repeatable; also ${SPECS_ENV} "
                        "(os.pathsep-separated)")
    p.add_argument("--seed", type=int, metavar="N", help="seed for the cases (default: random per run)")
    p.add_argument("--force", action="store_true", help="re-grade submissions that have a stored result")
    p.add_argument("--no-progress", action="store_true", help="no progress bar even on a terminal")
    p.add_argument("--unsafe-no-sandbox", action="store_true",
                   help="run the kernels WITHOUT the bubblewrap sandbox, as you: only for notebooks you trust")
    return p


def _check_args(args) -> None:
    for path in args.submissions:
        if not path.exists():
            raise UsageError(f"no such file or folder: {path}")
    if args.memory_mb < 256:
        raise UsageError("--memory-mb must be at least 256")
    solutions = args.solutions or default_solutions_dir()
    if not solutions.is_dir():
        raise UsageError(f"no solutions folder {solutions} (use --solutions DIR)")
    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out} exists and is not a folder")
    extra = [*args.specs, *os.environ.get(SPECS_ENV, "").split(os.pathsep)]
    for source in extra:
        if (source.endswith(".py") or "/" in source) and not Path(source).is_file():
            raise UsageError(f"no specs file {source}")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        _check_args(args)
    except UsageError as exc:
        parser.error(str(exc))

    from course_lib.grading import batch, runner  # heavy: torch, specs, nbclient

    runner.harden_grader_process()
    options = batch.Options(out=args.out, jobs=args.jobs, timeout=args.timeout, cell_timeout=args.cell_timeout,
                            call_timeout=args.call_timeout, memory_mb=args.memory_mb, solutions=args.solutions,
                            specs=args.specs, seed=args.seed, force=args.force,
                            progress=False if args.no_progress else None,
                            unsafe_no_sandbox=args.unsafe_no_sandbox)
    try:
        data = batch.grade(args.submissions, options)
    except UsageError as exc:
        parser.error(str(exc))
    except batch.IntegrityError as exc:
        print(f"INTEGRITY CHECK FAILED: {exc}.\nSubmissions being graded when it was noticed: "
              f"{', '.join(exc.suspects) or '(none)'}.\nNo results were written and the results stored "
              "during this run were removed. Restore the files (e.g. `git status`, reinstall the venv), "
              "then grade again.", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("interrupted; finished submissions are stored and a re-run resumes", file=sys.stderr)
        return 130
    s = data["summary"]
    statuses = ", ".join(f"{n} {k}" for k, n in sorted(s["statuses"].items())) or "nothing found"
    print(f"{s['submissions']} submission(s): {statuses}; {s['reused']} reused; "
          f"{data['run']['seconds']:.0f} s. Results: {args.out / 'grades.csv'}")
    return 0
