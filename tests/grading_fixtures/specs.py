"""Test-only exercises for the grader (never part of the course).

Two small exercises with visible and hidden cases, a specific compare message and a
hint, so the grader's tests do not depend on the lessons' exercise specs. Load them
with ``--specs tests/grading_fixtures/specs.py`` (or ``COURSE_GRADING_SPECS``).
"""

from __future__ import annotations

import torch

from course_lib.exercises import Case, Exercise
from course_lib.exercises.core import tensor_message

__all__ = ["ADD", "EXERCISES", "SCALE"]


def _tensor(rng, *shape) -> torch.Tensor:
    return torch.tensor(rng.standard_normal(shape), dtype=torch.float32)


def _add_cases(rng) -> list[Case]:
    return [
        Case("two vectors", (_tensor(rng, 3), _tensor(rng, 3))),
        Case("two matrices", (_tensor(rng, 2, 3), _tensor(rng, 2, 3))),
        Case("broadcast a column and a row", (_tensor(rng, 4, 1), _tensor(rng, 1, 5)), hidden=True),
        Case("scalars as 0-d tensors", (_tensor(rng), _tensor(rng)), hidden=True),
    ]


def _add_compare(case: Case, expected, got) -> str | None:
    return tensor_message("the sum", expected, got)


ADD = Exercise(
    grade_id="t01_add",
    function="add",
    points=2,
    make_cases=_add_cases,
    reference=lambda a, b: a + b,
    compare=_add_compare,
    hint="add the tensors element-wise with `+`; broadcasting does the rest.",
    # a C function and a tensor method: the tripwire's two kinds of built-in target
    forbidden=("torch.add", "torch.Tensor.add"),
)


def _scale_cases(rng) -> list[Case]:
    return [
        Case("positive factor", (_tensor(rng, 4), float(rng.uniform(0.5, 2.0)))),
        Case("factor zero", (_tensor(rng, 2, 2), 0.0)),
        Case("negative factor", (_tensor(rng, 3), -float(rng.uniform(0.5, 2.0))), hidden=True),
        Case("factor as keyword", (_tensor(rng, 5),), {"factor": float(rng.uniform(2.0, 3.0))}),
    ]


def _scale_compare(case: Case, expected, got) -> str | None:
    message = tensor_message("the scaled tensor", expected, got)
    if message and isinstance(got, torch.Tensor) and got.shape == expected.shape:
        if torch.allclose(got.double().abs(), expected.double().abs()):
            return "the scaled tensor has the right size but the wrong sign: keep the factor's sign"
    return message


SCALE = Exercise(
    grade_id="t01_scale",
    function="scale",
    points=3,
    make_cases=_scale_cases,
    reference=lambda x, factor: x * factor,
    compare=_scale_compare,
    hint="multiply every entry by `factor`.",
)

EXERCISES = (ADD, SCALE)  # registered by core.import_specs, which loads this module
