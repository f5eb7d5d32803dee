"""Build grading requests and judge the answers: the grader's side of the trust boundary.

Everything in this module runs in the grader process, where no learner code ever
runs. Case inputs and reference answers are computed here from a seed the grader
picks; only the encoded inputs leave. What comes back (the harness's result lines)
is untrusted text: it is parsed line by line with ``json`` and the strict
:func:`course_lib.exercises.codec.decode`, must carry this run's nonce, and is
compared with the reference answers here by the exercise's own ``compare``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

from course_lib.exercises import codec
from course_lib.exercises.core import Case, Exercise, Outcome

__all__ = ["Prepared", "prepare", "parse_results", "score_exercises", "exercise_seed", "case_modules",
           "request_exercises"]

HIDDEN_IN_SANDBOX = "course_lib.exercises.specs"  # the references: never importable while grading
MUTATION_MESSAGE = ("changed its input tensors in place; work on copies "
                    "(e.g. `x = x.clone()` or use out-of-place ops)")


def exercise_seed(seed: int, grade_id: str) -> int:
    """Each exercise of a submission gets its own seed, derived from the submission's."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{grade_id}".encode()).digest()[:4], "big")


@dataclasses.dataclass
class Prepared:
    """One exercise ready to grade: its cases, their encoded inputs and the expected answers."""

    exercise: Exercise
    cases: list[Case]
    encoded: list[dict]
    expected: list[Any]
    error: str = ""  # a spec that cannot build its cases or reference answers (the grader's bug)
    modules: tuple[str, ...] = ()  # where the whitelisted functions the cases carry are defined


def prepare(exercise: Exercise, seed: int) -> Prepared:
    try:
        cases = exercise.cases(exercise_seed(seed, exercise.grade_id))
        encoded, expected = [], []
        for case in cases:
            enc = {"args": codec.encode(tuple(case.args)), "kwargs": codec.encode(dict(case.kwargs))}
            encoded.append(enc)
            # the reference sees exactly what the learner's function will see: decoded copies
            expected.append(exercise.reference(*codec.decode(enc["args"]), **codec.decode(enc["kwargs"])))
        modules = _function_modules(encoded)
    except Exception as exc:
        return Prepared(exercise, [], [], [], error=f"{type(exc).__name__}: {exc}")
    for name, module in modules.items():
        if module == HIDDEN_IN_SANDBOX or module.startswith(HIDDEN_IN_SANDBOX + ".") or \
                not module.startswith("course_lib."):
            return Prepared(exercise, [], [], [], error=(
                f"the cases carry the function {name!r}, defined in {module}, which the grading sandbox "
                "cannot import (only course_lib outside its specs is there); define it in "
                "course_lib.exercises.case_functions"))
    return Prepared(exercise, cases, encoded, expected, modules=tuple(sorted(set(modules.values()))))


def _function_modules(data: Any, found: dict | None = None) -> dict[str, str]:
    """name -> defining module of every whitelisted function in encoded case data."""
    found = {} if found is None else found
    if type(data) is dict:
        if "__fn__" in data:
            fn = codec._FUNCTIONS.get(data["__fn__"])
            found[data["__fn__"]] = getattr(fn, "__module__", None) or "?"
        for value in data.values():
            _function_modules(value, found)
    elif type(data) is list:
        for value in data:
            _function_modules(value, found)
    return found


def case_modules(prepared: list[Prepared]) -> list[str]:
    """The modules the kernel imports before calling the learner's functions."""
    return sorted({m for p in prepared for m in p.modules})


def request_exercises(prepared: list[Prepared], call_timeout: float) -> list[dict]:
    return [{"grade_id": p.exercise.grade_id, "function": p.exercise.function,
             "call_timeout": call_timeout, "forbidden": list(p.exercise.forbidden), "cases": p.encoded}
            for p in prepared if not p.error]


@dataclasses.dataclass
class Parsed:
    records: dict[tuple[str, int], dict] = dataclasses.field(default_factory=dict)
    missing: dict[str, str] = dataclasses.field(default_factory=dict)  # grade_id -> why
    malformed: dict[str, str] = dataclasses.field(default_factory=dict)  # grade_id -> why
    forbidden: dict[str, list[str]] = dataclasses.field(default_factory=dict)  # grade_id -> names called
    fatal: str = ""
    done: bool = False
    ignored_lines: int = 0


def parse_results(raw: str, nonce: str, prepared: list[Prepared]) -> Parsed:
    """Parse the harness's lines. Unparseable lines and lines without this run's nonce are
    ignored (counted); a duplicate or out-of-range answer makes that exercise malformed."""
    sizes = {p.exercise.grade_id: len(p.cases) for p in prepared}
    parsed = Parsed()
    for line in raw.splitlines():
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except Exception:  # RecursionError, huge ints, garbage: all just "not ours"
            parsed.ignored_lines += 1
            continue
        if type(rec) is not dict or rec.get("nonce") != nonce:
            parsed.ignored_lines += 1
            continue
        if "fatal" in rec:
            parsed.fatal = str(rec["fatal"])[:500]
            continue
        if rec.get("done") is True:
            parsed.done = True
            continue
        gid = rec.get("grade_id")
        if type(gid) is not str or gid not in sizes:
            parsed.ignored_lines += 1
            continue
        if "missing" in rec:
            parsed.missing[gid] = str(rec["missing"])[:200]
            continue
        if "forbidden" in rec:
            names = rec["forbidden"] if type(rec["forbidden"]) is list else [rec["forbidden"]]
            parsed.forbidden[gid] = sorted({str(n)[:200] for n in names[:20]}) or ["?"]
            continue
        index = rec.get("case")
        if type(index) is not int or not 0 <= index < sizes[gid]:
            parsed.malformed[gid] = "an answer for a case that does not exist"
            continue
        if (gid, index) in parsed.records:
            parsed.malformed[gid] = f"two answers for case {index}"
            continue
        parsed.records[(gid, index)] = rec
    return parsed


def _text(value: Any, limit: int = 300) -> str:
    return str(value)[:limit]


def _judge(p: Prepared, index: int, rec: dict | None, call_timeout: float, absent: str) -> tuple[Outcome, str]:
    """One case's outcome and a note ('' or a short tag)."""
    case = p.cases[index]
    if rec is None:
        return Outcome(case.name, False, absent), "no-result"
    error = rec.get("error")
    if error is not None:
        message = _text(rec.get("message", ""))
        if error == "timeout":
            return Outcome(case.name, False, f"took longer than {call_timeout:g} s (an endless loop?)"), "timeout"
        if error == "not-implemented":
            return Outcome(case.name, False,
                           "not implemented yet (the function still raises NotImplementedError)"), "not-implemented"
        if error == "unencodable":
            return Outcome(case.name, False, "returned something that is not a number, tensor, list or "
                                             f"dict: {message}"), ""
        return Outcome(case.name, False, f"raised {message}"), ""
    if "value" not in rec:
        return Outcome(case.name, False, "the answer could not be read"), "malformed-result"
    try:
        got = codec.decode(rec["value"])
    except Exception as exc:
        return Outcome(case.name, False, f"the answer could not be read ({_text(exc, 100)})"), "malformed-result"
    if rec.get("mutated") is not False and not p.exercise.mutates_inputs_ok:
        return Outcome(case.name, False, MUTATION_MESSAGE), ""
    try:
        message = p.exercise.compare(case, p.expected[index], got)
    except Exception as exc:
        message = f"the answer could not be compared ({type(exc).__name__}: {_text(exc, 150)})"
    return Outcome(case.name, message is None, "" if message is None else _text(message, 500)), ""


def score_exercises(prepared: list[Prepared], parsed: Parsed | None, *, call_timeout: float,
                    not_run_reason: str) -> list[dict]:
    """Score every exercise; ``parsed`` is None when the harness never ran."""
    results = []
    for p in prepared:
        ex = p.exercise
        entry = {"grade_id": ex.grade_id, "function": ex.function, "points": float(ex.points),
                 "score": 0.0, "passed": 0, "cases": len(p.cases), "notes": [], "message": "",
                 "hint": ex.hint, "outcomes": []}
        results.append(entry)
        if p.error:
            entry["notes"].append("grader-error")
            entry["message"] = f"the exercise spec failed to build its cases: {p.error}"
            continue
        if parsed is None or parsed.fatal:
            entry["notes"].append("not-run")
            entry["message"] = not_run_reason if parsed is None else parsed.fatal
            entry["outcomes"] = [dataclasses.asdict(Outcome(c.name, False, "not run")) | {"hidden": c.hidden}
                                 for c in p.cases]
            continue
        if ex.grade_id in parsed.missing:
            entry["notes"].append("missing-function")
            entry["message"] = (f"`{ex.function}` {parsed.missing[ex.grade_id]} after running the notebook "
                                "(was its cell deleted, renamed, turned into markdown, or did it fail?)")
            entry["outcomes"] = [dataclasses.asdict(Outcome(c.name, False, "function missing")) | {"hidden": c.hidden}
                                 for c in p.cases]
            continue
        absent = ("no answer: the grader's time limit ran out or the kernel died before this case"
                  if parsed.done is False else "no answer came back for this case")
        outcomes, notes = [], []
        for i in range(len(p.cases)):
            outcome, note = _judge(p, i, parsed.records.get((ex.grade_id, i)), call_timeout, absent)
            outcomes.append(outcome)
            notes.append(note)
        entry["outcomes"] = [dataclasses.asdict(o) | {"hidden": c.hidden} for o, c in zip(outcomes, p.cases)]
        entry["passed"] = sum(o.ok for o in outcomes)
        if ex.grade_id in parsed.forbidden:
            called = ", ".join(f"`{n}`" for n in parsed.forbidden[ex.grade_id])
            entry["notes"].append("forbidden-shortcut")
            entry["message"] = (f"`{ex.function}` called {called}: this exercise asks you to write that "
                                "yourself, so the grader does not accept it; the exercise scores 0")
            continue
        if ex.grade_id in parsed.malformed or "malformed-result" in notes:
            entry["notes"].append("malformed-result")
            entry["message"] = ("the answers that came back were malformed ("
                                f"{parsed.malformed.get(ex.grade_id, 'unreadable values')}); the exercise scores 0")
            entry["passed"] = 0
            continue
        if notes and all(n == "not-implemented" for n in notes):
            entry["notes"].append("not-implemented")
            entry["message"] = f"`{ex.function}` is not implemented yet (it still raises NotImplementedError)"
        if "timeout" in notes:
            entry["notes"].append("timeout")
        if "no-result" in notes:
            entry["notes"].append("no-result")
        entry["score"] = float(ex.score(outcomes))
    return results
