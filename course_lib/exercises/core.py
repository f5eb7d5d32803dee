"""The exercise protocol shared by inline checks and the autograder.

An :class:`Exercise` says which function the learner writes, how to build test
cases, how to compute the right answer, and how to explain a wrong one. The
same spec drives two things:

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

import dataclasses
import hashlib
import importlib
import importlib.util
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import torch

from course_lib.exercises import codec

__all__ = [
    "Case", "CheckFailed", "Exercise", "Outcome", "all_exercises", "check", "get", "register",
    "run_case", "tensor_message", "import_specs", "extra_spec_sources", "SPECS_ENV",
]


@dataclasses.dataclass(frozen=True)
class Case:
    """One input to a learner's function.

    Attributes:
        name: what the case probes, shown in feedback ("zero gradient", "step t = 1").
        args: positional arguments; only plain data, ``torch.Tensor`` and ``np.ndarray``
            (anything :func:`codec.encode` accepts).
        kwargs: keyword arguments, same rules.
        hidden: a hidden case is used by the autograder only, never by the inline check,
            and its inputs are never shown in feedback.
    """

    name: str
    args: tuple = ()
    kwargs: dict = dataclasses.field(default_factory=dict)
    hidden: bool = False


@dataclasses.dataclass(frozen=True)
class Outcome:
    """The verdict for one case: ``ok`` plus a message a learner can act on."""

    case: str
    ok: bool
    message: str = ""


@dataclasses.dataclass(frozen=True)
class Exercise:
    """Everything needed to check and grade one exercise.

    Attributes:
        grade_id: the nbgrader ``grade_id`` of the solution cell, e.g. ``"l01_mse"``.
        function: the name the learner defines in that cell, e.g. ``"mse"``.
        points: points for the exercise; the grader gives ``points * passed / total``
            rounded down to 0.5 unless ``all_or_nothing``.
        make_cases: ``make_cases(rng) -> list[Case]``, rng a ``np.random.Generator``.
            Must be deterministic given the rng state.
        reference: computes the right answer from a case's (decoded) args/kwargs.
        compare: ``compare(case, expected, got) -> str | None``; ``None`` when ``got``
            is right, otherwise a specific message ("m is right but v is not: did you
            square the gradient?"). ``got`` arrives decoded from plain data: tensors
            come back as ``torch.Tensor``; it may be of any type, so check types.
        hint: one line shown with any failure.
        mutates_inputs_ok: if False, the check fails when the learner's function
            changes its tensor arguments in place.
        all_or_nothing: score is ``points`` only if every case passes.
    """

    grade_id: str
    function: str
    points: float
    make_cases: Callable[[np.random.Generator], Sequence[Case]]
    reference: Callable[..., Any]
    compare: Callable[[Case, Any, Any], str | None]
    hint: str = ""
    mutates_inputs_ok: bool = False
    all_or_nothing: bool = False

    def cases(self, seed: int) -> list[Case]:
        return list(self.make_cases(np.random.default_rng(seed)))

    def score(self, outcomes: Sequence[Outcome]) -> float:
        if not outcomes:
            return 0.0
        passed = sum(o.ok for o in outcomes)
        if self.all_or_nothing:
            return float(self.points) if passed == len(outcomes) else 0.0
        raw = self.points * passed / len(outcomes)
        return float(np.floor(raw * 2) / 2)


_REGISTRY: dict[str, Exercise] = {}


def register(ex: Exercise) -> Exercise:
    """Add an exercise to the registry (grade_ids must be unique)."""
    if ex.grade_id in _REGISTRY and _REGISTRY[ex.grade_id] is not ex:
        raise ValueError(f"duplicate exercise grade_id {ex.grade_id!r}")
    _REGISTRY[ex.grade_id] = ex
    return ex


SPECS_ENV = "COURSE_GRADING_SPECS"


def import_specs(source: str) -> ModuleType:
    """Import an extra spec module by dotted name or by ``.py`` path (idempotent).

    Extra spec modules (test fixtures, a course's local exercises) register their
    exercises on import, like ``course_lib.exercises.specs``. A path is imported under
    a name derived from its absolute path, so importing it twice registers once.
    """
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


def _load_specs() -> None:
    # Importing the spec modules registers their exercises.
    from course_lib.exercises import specs  # noqa: F401
    for source in extra_spec_sources():
        import_specs(source)


def get(grade_id: str) -> Exercise:
    _load_specs()
    try:
        return _REGISTRY[grade_id]
    except KeyError:
        raise KeyError(f"no exercise with grade_id {grade_id!r}") from None


def all_exercises() -> dict[str, Exercise]:
    _load_specs()
    return dict(_REGISTRY)


def _clone(x: Any) -> Any:
    return codec.decode(codec.encode(x))


def _snapshot(args: tuple, kwargs: dict) -> list:
    return [codec.encode(a) for a in args] + [codec.encode(v) for _, v in sorted(kwargs.items())]


def run_case(ex: Exercise, fn: Callable, case: Case) -> Outcome:
    """Run ``fn`` on one case in this process and judge it (used by the inline check)."""
    args, kwargs = _clone(case.args), _clone(case.kwargs)
    expected = ex.reference(*_clone(case.args), **_clone(case.kwargs))
    before = _snapshot(args, kwargs)
    try:
        got = fn(*args, **kwargs)
    except NotImplementedError:
        return Outcome(case.name, False, "not implemented yet (the cell still raises NotImplementedError)")
    except Exception as exc:  # the learner's bug, reported, never re-raised
        tb = traceback.extract_tb(exc.__traceback__)
        where = f" (line {tb[-1].lineno})" if tb else ""
        return Outcome(case.name, False, f"raised {type(exc).__name__}: {exc}{where}")
    if not ex.mutates_inputs_ok and _snapshot(args, kwargs) != before:
        return Outcome(case.name, False, "changed its input tensors in place; work on copies "
                                         "(e.g. `x = x.clone()` or use out-of-place ops)")
    try:
        got_plain = codec.decode(codec.encode(got))
    except codec.CodecError as exc:
        return Outcome(case.name, False, f"returned something that is not a number/tensor/list: {exc}")
    message = ex.compare(case, expected, got_plain)
    return Outcome(case.name, message is None, message or "")


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

    Prints "passes all N checks" on success. On failure raises :class:`CheckFailed`
    whose message names the failing cases and what is wrong. Never shows the
    reference code, never writes to stderr.
    """
    ex = get(grade_id)
    if not callable(fn):
        raise CheckFailed([f"✗ {ex.function}: expected a function, got {type(fn).__name__}"])
    cases = [c for c in ex.cases(seed) if not c.hidden]
    outcomes = [run_case(ex, fn, c) for c in cases]
    failed = [o for o in outcomes if not o.ok]
    if not failed:
        print(f"✓ {ex.function} passes all {len(outcomes)} checks.")
        return
    lines = [f"✗ {ex.function}: {len(outcomes) - len(failed)} of {len(outcomes)} checks pass."]
    lines += [f"  - {o.case}: {o.message}" for o in failed[:3]]
    if len(failed) > 3:
        lines.append(f"  ... and {len(failed) - 3} more.")
    if ex.hint:
        lines.append(f"  Hint: {ex.hint}")
    raise CheckFailed(lines)


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
