"""The exercise protocol shared by inline checks and the autograder, and the registry.

An :class:`Exercise` (defined in :mod:`course_lib.exercises.protocol`) says which
function the learner writes, how to build test cases, how to compute the right
answer, and how to explain a wrong one. The same spec drives two things:

* the **inline check** (``check(learner_fn, "grade_id")`` in a notebook): runs
  the learner's function in the learner's own kernel and prints instant,
  specific feedback. Helpful, but it can be fooled, so it never counts;
* the **autograder** (:mod:`course_lib.grading`): builds cases in its own
  process, sends only plain data (see :mod:`course_lib.exercises.codec`) to the
  kernel that ran the submission, gets plain data back, and compares there.
  No learner code ever runs in the process that decides the score.

Case inputs and expected outputs are built from a seed the grader chooses, so
answers cannot be baked into a submission.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.util
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import torch

from course_lib.exercises import codec, feedback
from course_lib.exercises.protocol import Case, Exercise, Outcome

__all__ = [
    "Case", "CheckFailed", "Exercise", "Outcome", "all_exercises", "check", "get", "register",
    "run_case", "tensor_message", "import_specs", "extra_spec_sources", "SPECS_ENV",
]


# ---------------------------------------------------------------- the registry
# The course's exercises are the explicit list ``course_lib.exercises.specs.EXERCISES`` (lesson by
# lesson, in course order). Extra exercises (test fixtures, a course's local exercises) come from
# extra spec modules, named in ``$COURSE_GRADING_SPECS`` or passed to :func:`import_specs`: a
# module lists its exercises in ``EXERCISES`` (or calls :func:`register` for each). Extras come
# after the course's exercises, in the order they were added.

_EXTRA: dict[str, Exercise] = {}


@functools.cache
def _course() -> dict[str, Exercise]:
    # Imported on first use, so that importing core stays light (the grader's kernel imports it
    # for import_specs). No cycle either way: the spec modules never import core.
    from course_lib.exercises.specs import EXERCISES

    by_id: dict[str, Exercise] = {}
    for ex in EXERCISES:
        if by_id.setdefault(ex.grade_id, ex) is not ex:
            raise ValueError(f"duplicate exercise grade_id {ex.grade_id!r}")
    return by_id


def register(ex: Exercise) -> Exercise:
    """Add an extra exercise to the registry; returns ``ex``.

    For exercises that are not the course's own (test fixtures, a course's local exercises).
    grade_ids must be unique: a clash with another extra raises ``ValueError`` here, one with
    the course's exercises when the registry is read; registering the same object again does
    nothing. An extra spec module may instead list its exercises in ``EXERCISES``, which
    :func:`import_specs` registers.
    """
    if _EXTRA.setdefault(ex.grade_id, ex) is not ex:
        raise ValueError(f"duplicate exercise grade_id {ex.grade_id!r}")
    return ex


SPECS_ENV = "COURSE_GRADING_SPECS"
GRADING_ENV = "COURSE_GRADING"  # set to 1 in the autograder's kernels


def import_specs(source: str) -> ModuleType:
    """Import an extra spec module by dotted name or by ``.py`` path, and register the exercises
    its ``EXERCISES`` lists (idempotent).

    A module may also call :func:`register` itself when imported. A path is imported under a
    name derived from its absolute path, so importing it twice registers once.
    """
    module = _import_module(source)
    for ex in getattr(module, "EXERCISES", ()):
        register(ex)
    return module


def _import_module(source: str) -> ModuleType:
    if source.endswith(".py") or os.sep in source or "/" in source:
        path = Path(source).resolve()
        name = "_course_specs_" + hashlib.sha256(str(path).encode()).hexdigest()[:12]
        if name in sys.modules:
            return sys.modules[name]
        if not path.is_file():
            raise ImportError(f"no spec file {path}")
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
        return module
    return importlib.import_module(source)


def extra_spec_sources() -> list[str]:
    """The extra spec modules named in ``$COURSE_GRADING_SPECS`` (``os.pathsep``-separated)."""
    return [s for s in os.environ.get(SPECS_ENV, "").split(os.pathsep) if s.strip()]


def _registry() -> dict[str, Exercise]:
    """The course's exercises in course order, then the extras (those of
    ``$COURSE_GRADING_SPECS`` loaded first)."""
    for source in extra_spec_sources():
        import_specs(source)
    registry = dict(_course())
    for grade_id, ex in _EXTRA.items():
        if registry.setdefault(grade_id, ex) is not ex:
            raise ValueError(f"duplicate exercise grade_id {grade_id!r}")
    return registry


def get(grade_id: str) -> Exercise:
    try:
        return _registry()[grade_id]
    except KeyError:
        raise KeyError(f"no exercise with grade_id {grade_id!r}") from None


def all_exercises() -> dict[str, Exercise]:
    return _registry()


def _clone(x: Any) -> Any:
    return codec.decode(codec.encode(x))


def _snapshot(args: tuple, kwargs: dict) -> list:
    return [codec.encode(a) for a in args] + [codec.encode(v) for _, v in sorted(kwargs.items())]


def run_case(ex: Exercise, fn: Callable, case: Case) -> Outcome:
    """Run ``fn`` on one case in this process and judge it (used by the inline check)."""
    return _run(ex, fn, case)[0]


def _run(ex: Exercise, fn: Callable, case: Case) -> tuple[Outcome, Any, Any]:
    """``(outcome, expected, got)``; ``got`` is :data:`feedback.NOTHING` when ``fn`` raised."""
    args, kwargs = _clone(case.args), _clone(case.kwargs)
    expected = ex.reference(*_clone(case.args), **_clone(case.kwargs))
    before = _snapshot(args, kwargs)
    try:
        got = fn(*args, **kwargs)
    except NotImplementedError:
        return (Outcome(case.name, False, "not implemented yet (the cell still raises NotImplementedError)"),
                expected, feedback.NOTHING)
    except Exception as exc:  # the learner's bug, reported, never re-raised
        tb = traceback.extract_tb(exc.__traceback__)
        where = f" (line {tb[-1].lineno})" if tb else ""
        return Outcome(case.name, False, f"raised {type(exc).__name__}: {exc}{where}"), expected, feedback.NOTHING
    if not ex.mutates_inputs_ok and _snapshot(args, kwargs) != before:
        return Outcome(case.name, False, "changed its input tensors in place; work on copies "
                                         "(e.g. `x = x.clone()` or use out-of-place ops)"), expected, got
    try:
        got_plain = codec.decode(codec.encode(got))
    except codec.CodecError as exc:
        return (Outcome(case.name, False, f"returned something that is not a number/tensor/list: {exc}"),
                expected, got)
    message = ex.compare(case, expected, got_plain)
    return Outcome(case.name, message is None, message or ""), expected, got_plain


class CheckFailed(AssertionError):
    """Raised by :func:`check` when a case fails.

    Raising (rather than returning False) is what lets the same check cell act as an
    nbgrader grade cell. In Jupyter it renders as the feedback lines only, without a
    traceback (IPython's ``_render_traceback_`` hook), and nothing goes to stderr.
    """

    def __init__(self, lines: list[str]):
        super().__init__("\n".join(lines))
        self.lines = lines

    def _render_traceback_(self) -> list[str]:
        return list(self.lines)


def check(fn: Callable, grade_id: str, *, seed: int = 0) -> None:
    """Inline check for a notebook: run every visible case and give feedback.

    Prints "passes all N checks" on success. On failure raises :class:`CheckFailed` whose lines
    (:func:`course_lib.exercises.feedback.failure_lines`) name the failing cases and what is wrong
    (the mistake, when it is a known one), show one failing case in detail (its inputs, the expected
    and the returned value, summarised), and end with the exercise's nudge and a pointer to
    :func:`course_lib.exercises.hints.hint`. Never shows the reference code, never writes to stderr.

    Inside the autograder's sandbox (``$COURSE_GRADING`` is ``1``) the specs and their reference
    answers are out of reach, so the check only says that the grader runs its own cases.
    """
    if os.environ.get(GRADING_ENV) == "1":
        print(f"(inline check of {grade_id} skipped while grading: the grader runs its own cases)")
        return
    ex = get(grade_id)
    if not callable(fn):
        raise CheckFailed([f"✗ {ex.function}: expected a function, got {type(fn).__name__}"])
    cases = [c for c in ex.cases(seed) if not c.hidden]
    runs = [_run(ex, fn, c) for c in cases]
    outcomes = [outcome for outcome, _, _ in runs]
    if all(o.ok for o in outcomes):
        print(f"✓ {ex.function} passes all {len(outcomes)} checks.")
        return
    raise CheckFailed(feedback.failure_lines(ex, fn, cases, outcomes, [e for _, e, _ in runs],
                                             [g for _, _, g in runs]))


def tensor_message(name: str, expected: torch.Tensor, got: Any, *, rtol: float = 1e-5,
                   atol: float = 1e-6) -> str | None:
    """Shared comparison for a tensor answer: type, shape, dtype-agnostic values."""
    if not isinstance(got, torch.Tensor):
        return f"{name} should be a torch.Tensor, got {type(got).__name__}"
    if tuple(got.shape) != tuple(expected.shape):
        return f"{name} has shape {tuple(got.shape)}, expected {tuple(expected.shape)}"
    g, e = got.double(), expected.double()
    if not torch.isfinite(g).all() and torch.isfinite(e).all():
        return f"{name} contains NaN or inf where the right answer is finite"
    if not torch.allclose(g, e, rtol=rtol, atol=atol, equal_nan=True):
        err = (g - e).abs().max().item()
        return f"{name} is off by up to {err:.3g}"
    return None
