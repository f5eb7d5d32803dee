"""Shared pieces of the lesson specs: tolerances, answer-shape checks and mistake matching.

A spec's ``compare`` computes the typical wrong answers for the case at hand (sign flipped,
forgot to square, no bias correction, ...) and hands them to :func:`diagnose` or
:func:`diagnose_tuple` together with the message that names each mistake. The learner's
answer is checked for type and shape first, then for being right, then against the known
mistakes in order; the first match wins, otherwise the message says which part is off and
by how much. Messages never echo a case's inputs (hidden cases must stay hidden).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from course_lib.exercises.protocol import Case

__all__ = [
    "AUTOGRAD", "F32", "F64", "OPTIMIZERS", "as_float", "as_tensor", "close", "describe", "diagnose",
    "diagnose_tuple", "tolerances",
]

F32, F64 = torch.float32, torch.float64

# (rtol, atol) by the lowest precision among a case's inputs
_TOL = {torch.float64: (1e-6, 1e-12), torch.float32: (1e-4, 1e-6)}

# Forbidden shortcuts shared by several exercises (Exercise.forbidden; a tripwire, see
# course_lib.grading.kernel_boot). Specific autograd entry points, not the torch.autograd module:
# `with torch.no_grad():` runs code from it and is fine.
AUTOGRAD = ("torch.autograd.backward", "torch.autograd.grad", "torch.autograd.functional",
            "torch.func.grad", "torch.func.grad_and_value", "torch.func.vjp", "torch.func.jvp",
            "torch.func.jacrev", "torch.func.jacfwd", "torch.func.hessian")
OPTIMIZERS = ("torch.optim", "course_lib.optim")

Mistake = tuple[str, Any]  # (message, candidate answer); a tuple candidate may hold None = "any"


def as_tensor(a: Any, dtype: torch.dtype = F64) -> torch.Tensor:
    """``np.ndarray`` / number -> tensor of ``dtype`` (case building)."""
    return torch.tensor(np.asarray(a), dtype=dtype)


def tolerances(*tensors: torch.Tensor) -> tuple[float, float]:
    """``(rtol, atol)`` for answers computed from ``tensors``: float64 is tight, float32 looser."""
    if any(isinstance(t, torch.Tensor) and t.dtype != F64 for t in tensors):
        return _TOL[F32]
    return _TOL[F64]


def describe(x: Any) -> str:
    """A short description of a returned value for feedback: "a Python float", "a tensor of shape (3,)"."""
    if x is None:
        return "None"
    if isinstance(x, torch.Tensor):
        return f"a tensor of shape {tuple(x.shape)}"
    if isinstance(x, (bool, int, float, str)):
        return f"a Python {type(x).__name__}"
    if isinstance(x, (list, tuple)):
        return f"a {type(x).__name__} of {len(x)} item{'s' if len(x) != 1 else ''}"
    return f"a {type(x).__name__}"


def as_float(x: Any) -> float | None:
    """A Python number, or a tensor with one element, as a float; ``None`` for anything else."""
    if isinstance(x, bool):
        return None
    if isinstance(x, (int, float)):
        return float(x)
    if isinstance(x, torch.Tensor) and x.numel() == 1 and not x.dtype == torch.bool:
        return float(x.reshape(()).item())
    return None


def close(got: Any, expected: Any, rtol: float, atol: float) -> bool:
    """Both tensors of one shape and equal within tolerance (NaN matches NaN)."""
    if not isinstance(got, torch.Tensor) or not isinstance(expected, torch.Tensor):
        return False
    if tuple(got.shape) != tuple(expected.shape):
        return False
    return bool(torch.allclose(got.double(), expected.double(), rtol=rtol, atol=atol, equal_nan=True))


def _finite(t: torch.Tensor) -> bool:
    return bool(torch.isfinite(t.double()).all())


def _tensor_problem(name: str, expected: torch.Tensor, got: Any) -> str | None:
    """Type and shape problems of a tensor answer, or None."""
    if got is None:
        return f"{name} is None: did you forget the `return`?"
    if not isinstance(got, torch.Tensor):
        if isinstance(got, (int, float)) and expected.dim() == 0:
            return (f"{name} should be a 0-dim torch.Tensor, got a Python {type(got).__name__}: "
                    "keep it a tensor (no `.item()`, `float()` or `math.` functions)")
        return f"{name} should be a torch.Tensor, got {describe(got)}"
    if tuple(got.shape) != tuple(expected.shape):
        if expected.dim() == 0:
            return (f"{name} should be a single number (a 0-dim tensor), got shape {tuple(got.shape)}: "
                    "average over all elements (`.mean()` with no dim)")
        return f"{name} has shape {tuple(got.shape)}, expected {tuple(expected.shape)}"
    if expected.is_floating_point() and not got.is_floating_point():
        return f"{name} has dtype {str(got.dtype).removeprefix('torch.')}; expected floating point values"
    return None


def _off_by(name: str, expected: torch.Tensor, got: torch.Tensor) -> str:
    if not _finite(got) and _finite(expected):
        return f"{name} contains NaN or inf where the right answer is finite"
    err = (got.double() - expected.double()).abs().max().item()
    return f"{name} is off by up to {err:.3g}"


def _first_match(got: Sequence, expected: Sequence, mistakes: Sequence[Mistake], rtol: float,
                 atol: float) -> str | None:
    """Message of the first mistake whose candidate matches ``got``.

    A candidate is a tuple with one entry per part of the answer; ``None`` means "any value".
    It is only eligible where it differs from the right answer in a part it specifies, so a
    candidate that happens to equal the right answer on this case never names a mistake.
    """
    for message, candidate in mistakes:
        if candidate is None:
            continue
        parts = [(g, c, e) for g, c, e in zip(got, candidate, expected) if c is not None]
        if not parts or all(close(c, e, rtol, atol) for _, c, e in parts):
            continue
        if all(close(g, c, rtol, atol) for g, c, _ in parts):
            return message
    return None


def diagnose(name: str, expected: torch.Tensor, got: Any, mistakes: Sequence[Mistake] = (), *,
             rtol: float, atol: float, nonfinite: str | None = None) -> str | None:
    """Judge a single-tensor answer.

    Args:
        name: what the answer is, for messages ("the loss", "the gradient").
        expected: the right answer.
        got: the learner's answer (decoded plain data, any type).
        mistakes: ``(message, candidate_tensor)`` pairs, most specific first.
        rtol, atol: tolerance for "equal".
        nonfinite: message when ``got`` has NaN/inf where ``expected`` is finite and no
            listed mistake matches (e.g. "subtract the max logit first").

    Returns:
        None when right, otherwise the message.
    """
    problem = _tensor_problem(name, expected, got)
    if problem:
        return problem
    if close(got, expected, rtol, atol):
        return None
    message = _first_match((got,), (expected,), [(m, (c,)) for m, c in mistakes], rtol, atol)
    if message:
        return message
    if nonfinite and not _finite(got) and _finite(expected):
        return nonfinite
    return _off_by(name, expected, got)


def diagnose_tuple(names: Sequence[str], expected: Sequence[torch.Tensor], got: Any,
                   mistakes: Sequence[Mistake] = (), *, rtol: float, atol: float,
                   nonfinite: str | None = None) -> str | None:
    """Judge an answer that is a tuple of tensors, e.g. ``(new_p, new_m, new_v)``.

    ``mistakes`` are ``(message, candidate)`` with ``candidate`` a tuple of the same length
    whose entries are tensors or ``None`` ("any value": the mistake is recognised from the
    other parts). When nothing matches, the message says which parts are right and which are
    off by how much.
    """
    label = "(" + ", ".join(names) + ")"
    if got is None:
        return f"returned None: did you forget the `return`? Return the tuple {label}"
    if not isinstance(got, (tuple, list)) or len(got) != len(names):
        return f"should return a tuple {label} of {len(names)} tensors, got {describe(got)}"
    for name, e, g in zip(names, expected, got):
        problem = _tensor_problem(name, e, g)
        if problem:
            return problem
    ok = [close(g, e, rtol, atol) for g, e in zip(got, expected)]
    if all(ok):
        return None
    swapped = tuple(reversed(expected))
    order = [(f"the parts are in the wrong order: return {label}", swapped)] if len(names) > 1 else []
    message = _first_match(got, expected, list(order) + list(mistakes), rtol, atol)
    if message:
        return message
    if nonfinite and not all(_finite(g) for g in got) and all(_finite(e) for e in expected):
        return nonfinite
    wrong = "; ".join(_off_by(n, e, g) for n, e, g, k in zip(names, expected, got, ok) if not k)
    right = [n for n, k in zip(names, ok) if k]
    if right:
        wrong += f" ({', '.join(right)} {'is' if len(right) == 1 else 'are'} right)"
    return wrong


# ---------------------------------------------------------------- added for lessons 06-08
# Answers that are lists (names, step indices, a list of gradient tensors).

__all__ += ["diagnose_exact", "tensor_list_problem"]


def diagnose_exact(expected: Any, got: Any, mistakes: Sequence[Mistake] = ()) -> str | None:
    """The message of the first mistake whose candidate equals ``got`` (plain data, ``==``).

    For answers compared exactly (lists of names, of step indices, sets). A candidate equal to
    ``expected`` is skipped, so a mistake that makes no difference on this case is never named.
    Returns None when no mistake matches (whether or not ``got`` is right: check that first).
    """
    for message, candidate in mistakes:
        if candidate is None or candidate == expected:
            continue
        if candidate == got:
            return message
    return None


def tensor_list_problem(name: str, expected: Sequence[torch.Tensor], got: Any) -> str | None:
    """Type and shape problems of an answer that is a list of tensors (one per input tensor)."""
    if got is None:
        return f"{name} is None: did you forget the `return`?"
    if isinstance(got, torch.Tensor):
        return f"{name} should be a list of tensors, one per gradient (same shapes), got {describe(got)}"
    if not isinstance(got, (list, tuple)):
        return f"{name} should be a list of tensors, got {describe(got)}"
    if len(got) != len(expected):
        return f"{name} holds {len(got)} items; expected one tensor per gradient ({len(expected)})"
    for i, (e, g) in enumerate(zip(expected, got)):
        problem = _tensor_problem(f"{name}[{i}]", e, g)
        if problem:
            return problem
    return None


# ---------------------------------------------------------------- added for lessons 09-12
# Answers that are lists of plain numbers (a sweep of learning rates, smoothed losses).

__all__ += ["number_list"]


def number_list(name: str, got: Any, length: int) -> tuple[torch.Tensor | None, str | None]:
    """``(values, None)`` for a list/tuple of numbers or a 1-D tensor of ``length`` values, as a
    float64 tensor; ``(None, message)`` otherwise (the message names the type or length problem)."""
    if got is None:
        return None, f"{name} is None: did you forget the `return`?"
    if isinstance(got, torch.Tensor):
        if got.dim() != 1:
            return None, f"{name} should be a list of {length} numbers, got {describe(got)}"
        if got.dtype == torch.bool:
            return None, f"{name} should hold numbers, not True/False"
        values = got.double()
    elif isinstance(got, (list, tuple)):
        bad = [x for x in got if as_float(x) is None]        # as_float refuses True/False too
        if bad:
            return None, f"{name} should hold numbers, but one entry is {describe(bad[0])}"
        values = torch.tensor([as_float(x) for x in got], dtype=F64)
    else:
        return None, f"{name} should be a list of {length} numbers, got {describe(got)}"
    if values.numel() != length:
        return None, f"{name} holds {values.numel()} values; expected {length}"
    return values, None


__all__ += ["adam_state_case_maker"]


def adam_state_case_maker(rng: np.random.Generator):
    """A ``case(...)`` builder for Adam-family step exercises: args ``(p, g, m, v, t)``.

    ``m`` is random and ``v`` a random positive second moment (both zero when ``fresh``);
    ``g_scale`` scales g and the history; ``zero_g`` zeroes the gradient. Shared by the
    Adam (lesson 05) and AdamW (lesson 06) specs so both draw their cases the same way.
    """
    def r(*shape, dtype=F64, scale=1.0):
        return as_tensor(scale * rng.normal(size=shape), dtype)

    def sq(*shape, dtype=F64, scale=1.0):
        return as_tensor((scale * rng.uniform(0.2, 2.0, size=shape)) ** 2, dtype)

    def case(name, shape, t, dtype=F64, kwargs=None, g_scale=1.0, fresh=False, zero_g=False, hidden=False):
        p, g = r(*shape, dtype=dtype), r(*shape, dtype=dtype, scale=g_scale)
        if zero_g:
            g = torch.zeros_like(g)
        if fresh:
            m, v = torch.zeros_like(p), torch.zeros_like(p)
        else:
            m, v = r(*shape, dtype=dtype, scale=0.3 * g_scale), sq(*shape, dtype=dtype, scale=g_scale)
        return Case(name, (p, g, m, v, t), kwargs or {}, hidden=hidden)

    return case
