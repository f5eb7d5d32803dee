"""What a failed inline check prints: the failing cases, one case in detail, the nudge.

:func:`failure_lines` turns the outcomes of :func:`course_lib.exercises.core.check` into the lines
of a :class:`~course_lib.exercises.core.CheckFailed`::

    ✗ adam_step: 0 of 9 checks pass.
      - first step t = 1 (m = v = 0), float32: m and v are right but p is not: ...
        (the same on 8 more checks: step t = 10 with some history; ...)
      In detail, first step t = 1 (m = v = 0), float32:
        called    adam_step(p=tensor([0.1257, -0.1321, 0.6404, 0.1049], float32), ...)
        expected  (tensor([...]), tensor([...]), tensor([...]))
        got       (tensor([...]), tensor([...]), tensor([...]))
      Hint: <the exercise's nudge: the idea, never the code>
      More help: run hint("l05_adam_step") ...

Only visible cases are ever shown (the check runs no others). Values are summarised (a few
numbers of each tensor, rounded), never the reference's code: the learner sees what went in, what
should have come out and what did.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from course_lib.exercises.protocol import Case, Exercise, Outcome

__all__ = ["failure_lines", "summarise", "call_summary", "NOTHING"]

NOTHING = object()      # "the function returned nothing we can show" (it raised)
_LINE = 150             # longest summary line, in characters
_SHOWN = 3              # distinct failure messages listed


def _number(x: float, digits: int = 4) -> str:
    return f"{x:.{digits}g}"


def _numbers(values: Sequence[float], limit: int, digits: int) -> str:
    shown = ", ".join(_number(float(v), digits) for v in values[:limit])
    return f"{shown}{', ...' if len(values) > limit else ''}"


def summarise(x: Any, limit: int = 5, depth: int = 0, digits: int = 4) -> str:
    """A short, one-line description of a value for feedback: the first ``limit`` numbers of a
    tensor rounded to ``digits`` significant digits (with its shape when it has more than one
    dimension or is cut short, and its dtype unless float64), the start of a list, a number."""
    if isinstance(x, torch.Tensor):
        dtype = "" if x.dtype == torch.float64 else f", {str(x.dtype).removeprefix('torch.')}"
        if x.dim() == 0:
            value = _number(x.item(), digits) if x.is_floating_point() else x.item()
            return f"tensor({value}{dtype})"
        flat = x.detach().reshape(-1)
        if limit <= 0:
            return f"tensor(shape {tuple(x.shape)}{dtype})"
        if x.is_floating_point():
            body = _numbers(flat.double().tolist(), limit, digits)
        else:
            body = ", ".join(map(str, flat[:limit].tolist())) + (", ..." if flat.numel() > limit else "")
        shape = f", shape {tuple(x.shape)}" if x.dim() > 1 or flat.numel() > limit else ""
        return f"tensor([{body}]{shape}{dtype})"
    if isinstance(x, np.ndarray):
        return summarise(torch.from_numpy(np.ascontiguousarray(x)), limit, depth, digits)
    if isinstance(x, bool) or x is None:
        return repr(x)
    if isinstance(x, float):
        return _number(x, digits)
    if isinstance(x, int):
        return str(x)
    if isinstance(x, str):
        return repr(x if len(x) <= 40 else x[:40] + "...")
    if isinstance(x, (list, tuple)):
        opening, closing = ("[", "]") if isinstance(x, list) else ("(", ")")
        single = "," if len(x) == 1 and closing == ")" else ""
        if x and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in x):
            if all(isinstance(v, int) for v in x):
                inner = ", ".join(map(str, x[:2 * limit])) + (", ..." if len(x) > 2 * limit else "")
            else:
                inner = _numbers(list(x), 2 * limit, digits)
            count = f" ({len(x)} items)" if len(x) > 2 * limit else ""
            return f"{opening}{inner}{single}{closing}{count}"
        if depth >= 3:
            return f"{opening}{len(x)} items{closing}"
        items = [summarise(v, limit if len(x) == 1 or limit <= 0 else max(2, limit - 1), depth + 1, digits)
                 for v in x[:3]]
        more = f", ... ({len(x)} items)" if len(x) > 3 else ""
        return f"{opening}{', '.join(items)}{more}{single}{closing}"
    if isinstance(x, dict):
        return "{" + ", ".join(f"{k!r}: {summarise(v, 2, depth + 1, digits)}" for k, v in list(x.items())[:3]) + "}"
    return repr(x) if callable(x) else f"a {type(x).__name__}"


def _value_lines(label: str, x: Any, digits: int) -> list[str]:
    """``expected  <summary>``, one line per item of a short tuple/list when one line is too long."""
    pad = "    " + label.ljust(10)
    text = summarise(x, digits=digits)
    if len(pad) + len(text) <= _LINE or not isinstance(x, (list, tuple)) or not 1 < len(x) <= 4:
        return [_cut(pad + text)]
    opening, closing = ("[", "]") if isinstance(x, list) else ("(", ")")
    items = [summarise(v, digits=digits) for v in x]
    lines = [pad + opening + items[0] + ","]
    lines += [" " * (len(pad) + 1) + item + "," for item in items[1:-1]]
    lines.append(" " * (len(pad) + 1) + items[-1] + closing)
    return [_cut(line) for line in lines]


def _cut(text: str, width: int = _LINE) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def call_summary(name: str, reference: Callable, fn: Callable, case: Case) -> list[str]:
    """``adam_step(p=tensor([...]), g=..., t=1, lr=0.1)``: the case's inputs, named by the learner's
    function's parameters where they can be read (else the reference's); wrapped at the arguments
    onto at most 4 lines, with fewer numbers per tensor when it would not fit."""
    names: list[str] = []
    for source in (fn, reference):
        try:
            params = list(inspect.signature(source).parameters.values())
        except (TypeError, ValueError):
            continue
        if all(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params[:len(case.args)]) \
                and len(params) >= len(case.args):
            names = [p.name for p in params[:len(case.args)]]
            break
    width, pad = _LINE - 14, " " * (len(name) + 1)
    for limit in (5, 2, 0):             # fewer numbers per tensor until the call fits
        parts = [f"{n}={summarise(a, limit)}" if n else summarise(a, limit)
                 for n, a in zip(names or [""] * len(case.args), case.args)]
        parts += [f"{k}={summarise(v, limit)}" for k, v in case.kwargs.items()]
        lines = [f"{name}("]
        for i, part in enumerate(parts):
            part += ")" if i == len(parts) - 1 else ", "
            if len(lines[-1]) + len(part) > width and lines[-1].strip() not in (f"{name}(", ""):
                lines.append(pad)
            lines[-1] += part
        if not parts:
            lines[-1] += ")"
        lines = [line.rstrip() for line in lines]
        if len(lines) <= 4 and all(len(line) <= width for line in lines):
            break
    return [_cut(line, width) for line in lines[:4]] + (["    ..."] if len(lines) > 4 else [])


def failure_lines(ex: Exercise, fn: Callable, cases: Sequence[Case], outcomes: Sequence[Outcome],
                  expected: Sequence[Any], got: Sequence[Any]) -> list[str]:
    """The lines of a failed check (see the module docstring). ``got[i]`` is :data:`NOTHING`
    when case ``i`` raised or was not implemented."""
    failed = [i for i, o in enumerate(outcomes) if not o.ok]
    lines = [f"✗ {ex.function}: {len(outcomes) - len(failed)} of {len(outcomes)} checks pass."]
    by_message: dict[str, list[int]] = {}
    for i in failed:
        by_message.setdefault(outcomes[i].message, []).append(i)
    for message, where in list(by_message.items())[:_SHOWN]:
        lines.append(f"  - {cases[where[0]].name}: {message}")
        if len(where) > 1:
            others = "; ".join(cases[i].name for i in where[1:])
            lines.append(_cut(f"    (the same on {len(where) - 1} more check{'s' if len(where) > 2 else ''}: "
                              f"{others})"))
    rest = sum(len(w) for w in list(by_message.values())[_SHOWN:])
    if rest:
        lines.append(f"  ... and {rest} more failing check{'s' if rest > 1 else ''} with other messages.")
    first = failed[0]
    if not outcomes[first].message.startswith("not implemented"):
        lines.append(f"  In detail, {cases[first].name}:")
        call = call_summary(ex.function, ex.reference, fn, cases[first])
        lines += ["    called    " + call[0]] + ["              " + line for line in call[1:]]
        if got[first] is not NOTHING:
            for digits in (4, 8):     # more digits when 4 cannot tell the two apart
                shown = _value_lines("expected", expected[first], digits), _value_lines("got", got[first], digits)
                if [line[14:] for line in shown[0]] != [line[14:] for line in shown[1]]:
                    break
            lines += shown[0] + shown[1]
    if ex.hint:
        lines.append(f"  Hint: {ex.hint}")
    if ex.hints:
        lines.append(f'  More help: run hint("{ex.grade_id}") in a cell for the idea; run it again for '
                     "a more concrete step.")
    return lines
