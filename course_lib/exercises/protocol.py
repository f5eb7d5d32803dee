"""The data of the exercise protocol: :class:`Case`, :class:`Outcome` and :class:`Exercise`.

A leaf module: it imports nothing else from :mod:`course_lib.exercises`, so the spec modules
(``course_lib.exercises.specs``) define their exercises from it without importing the registry
in :mod:`course_lib.exercises.core`, which reads their explicit lists.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["Case", "Exercise", "Outcome"]


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
        hint: the nudge: one line shown with any failed check and in the grader's feedback. It
            points at the idea ("Adam's averages start at zero: what does that do to the first
            steps?"), never at the code.
        hints: the hints a learner asks for with ``hint(grade_id)``, in order (2 or 3 levels,
            written for the exercise): level 1 the idea or the equation in math, level 2 a more
            concrete step (shapes, the order of operations, pseudo-code at most). None of them
            holds a line of the solution (tests/test_hints.py). The solution itself is the last
            level, shown only when asked for by name, read from the solutions notebook
            (:func:`course_lib.exercises.hints.solution_code`).
        mutates_inputs_ok: if False, the check fails when the learner's function
            changes its tensor arguments in place.
        all_or_nothing: score is ``points`` only if every case passes.
        forbidden: dotted names of functions, classes or modules the learner's function must
            not call because they ARE the exercise (``"torch.nn.functional.cross_entropy"``
            for the cross-entropy, ``"torch.optim"`` for an optimizer step). The autograder
            records calls while it calls the function and scores the exercise 0 when one is
            made (:mod:`course_lib.grading.kernel_boot`): a tripwire against the obvious
            shortcut, not a boundary.
    """

    grade_id: str
    function: str
    points: float
    make_cases: Callable[[np.random.Generator], Sequence[Case]]
    reference: Callable[..., Any]
    compare: Callable[[Case, Any, Any], str | None]
    hint: str = ""
    hints: tuple[str, ...] = ()
    mutates_inputs_ok: bool = False
    all_or_nothing: bool = False
    forbidden: tuple[str, ...] = ()

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
