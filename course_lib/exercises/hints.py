"""Hints on request, one level at a time, and the solution only when asked for by name.

In an exercise notebook::

    from course_lib.exercises import hint
    hint("l05_adam_step")                      # level 1: the idea, the equation in math
    hint("l05_adam_step")                      # level 2: a more concrete step (pseudo-code at most)
    hint("l05_adam_step", level="solution")    # the worked solution, from the solutions notebook
    hint("l05_adam_step", level=1)             # jump to a level (the next call goes on from there)

A failed check already prints the level-0 nudge (``Exercise.hint``); the levels here are the
exercise's ``Exercise.hints``, written for it in its spec. Which level a learner has seen is counted
per exercise in this kernel (a restarted kernel starts again at level 1). Calling again after the last
level repeats it and says how to get the solution: the solution is never shown by accident.

The solution is the solution cell of ``solutions/NN_topic.ipynb`` (the one source the grader and
the exercises come from), read when asked for; where the course has no ``solutions/`` folder next to
``course_lib`` the text says so. Inside the autograder's sandbox (``$COURSE_GRADING`` is ``1``) hints
are off: the call prints one line and returns.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import textwrap
from pathlib import Path

from course_lib.exercises.core import GRADING_ENV, all_exercises
from course_lib.exercises.protocol import Exercise

__all__ = ["hint", "hint_text", "solution_code", "seen_levels", "SOLUTIONS_DIR"]

SOLUTIONS_DIR = Path(__file__).resolve().parents[2] / "solutions"
_WIDTH = 100
_SEEN: dict[str, int] = {}      # grade_id -> the last level shown in this kernel
_MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")


def seen_levels() -> dict[str, int]:
    """The last hint level shown per exercise in this kernel (a copy)."""
    return dict(_SEEN)


def _find(exercise) -> Exercise:
    """The exercise named by its grade_id, its function's name, or the learner's function."""
    registry = all_exercises()
    name = getattr(exercise, "__name__", exercise) if callable(exercise) else exercise
    if not isinstance(name, str):
        raise TypeError(f"hint() takes an exercise id such as 'l05_adam_step', got {type(exercise).__name__}")
    if name in registry:
        return registry[name]
    by_function = {ex.function: ex for ex in registry.values()}
    if name in by_function:
        return by_function[name]
    words = list(registry) + list(by_function)
    close = difflib.get_close_matches(name, words, n=len(words), cutoff=0.0)
    ids = list(dict.fromkeys(w if w in registry else by_function[w].grade_id for w in close))[:3]
    raise ValueError(f"no exercise {name!r}. The closest exercise ids: "
                     f"{', '.join(repr(i) for i in ids)}. Every exercise's id is written in its check "
                     "cell, e.g. check(adam_step, \"l05_adam_step\").")


def _wrap(text: str) -> str:
    """Each line of ``text`` wrapped at 100 columns, keeping its indent; the continuation of a
    numbered or bulleted item lines up with the item's text."""
    out = []
    for line in text.split("\n"):
        indent = line[: len(line) - len(line.lstrip())]
        item = re.match(r"(\d+\.|-|\*) ", line.lstrip())
        more = indent + " " * (len(item.group(0)) if item else 0)
        out.append(textwrap.fill(line, _WIDTH, subsequent_indent=more) if line.strip() else "")
    return "\n".join(out)


def solution_code(ex: Exercise, folder: Path | None = None) -> str | None:
    """The solution cell of ``ex`` in the solutions notebook (markers removed), or None when
    there is no solutions notebook holding it."""
    folder = SOLUTIONS_DIR if folder is None else Path(folder)
    lesson = re.match(r"l(\d\d)_", ex.grade_id)
    pattern = f"{lesson.group(1)}_*.ipynb" if lesson else "*.ipynb"
    try:
        paths = sorted(folder.glob(pattern))
    except OSError:
        return None
    for path in paths:
        try:
            cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
        except (OSError, ValueError):
            continue
        for cell in cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("grade_id") == ex.grade_id and meta.get("solution"):
                source = cell.get("source", "")
                source = "".join(source) if isinstance(source, list) else source
                return "\n".join(line for line in source.splitlines() if not _MARKER.match(line))
    return None


def hint_text(ex: Exercise, level: int | str) -> str:
    """The text of one level: 0 is the nudge a failed check prints, 1 .. len(ex.hints) the hints,
    ``"solution"`` the solution."""
    n = len(ex.hints)
    call = f'hint("{ex.grade_id}")'
    if level == "solution":
        code = solution_code(ex)
        if code is None:
            return (f"The solution of {ex.function} ({ex.grade_id}) is not on this machine (no solutions "
                    "notebook next to course_lib): ask your instructor.")
        return (f"Solution of {ex.function} ({ex.grade_id}), from the solutions notebook. Read it, then "
                f"close it and write your own version from memory: that is what makes it stick.\n\n{code}")
    if level == 0:
        return f"Hint for {ex.function} ({ex.grade_id}): {ex.hint}\n\nMore: {call} gives hint 1 of {n}."
    head = f"Hint {level} of {n} for {ex.function} ({ex.grade_id})"
    if level < n:
        tail = f"Still stuck? Run {call} again for hint {level + 1} of {n}, which is more concrete."
    else:
        tail = (f"That was the last hint. The solution is there when you want it: "
                f'hint("{ex.grade_id}", level="solution").')
    return f"{head}\n\n{_wrap(ex.hints[level - 1])}\n\n{tail}"


def _level(ex: Exercise, level) -> int | str:
    n = len(ex.hints)
    if level == "solution" or (type(level) is int and 0 <= level <= n):
        return level
    raise ValueError(f"level for {ex.grade_id} is 0 (the check's nudge), 1 to {n} (the hints) or "
                     f"'solution', not {level!r}")


def hint(exercise, level: int | str | None = None) -> None:
    """Print the next hint for ``exercise`` (its id, e.g. ``"l05_adam_step"``, or its function).

    Without ``level`` each call shows the next level, from 1; after the last one it repeats it and
    says how to see the solution. ``level=n`` jumps to level n (0 is the check's nudge) and the next
    call goes on from there; ``level="solution"`` prints the solution.
    """
    if os.environ.get(GRADING_ENV) == "1":
        print("(hints are off while grading)")
        return
    ex = _find(exercise)
    if not ex.hints:
        print(f"{ex.function} ({ex.grade_id}) has no hints beyond its check: {ex.hint}")
        return
    again = ""
    if level is None:
        if _SEEN.get(ex.grade_id, 0) >= len(ex.hints):
            again = f"(No more hints for {ex.function}: here is the last one again.)\n\n"
        level = min(_SEEN.get(ex.grade_id, 0) + 1, len(ex.hints))
    level = _level(ex, level)
    _SEEN[ex.grade_id] = len(ex.hints) if level == "solution" else level
    print(again + hint_text(ex, level))
