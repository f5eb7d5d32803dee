"""Hints that escalate, and no solution before it is asked for: tested for every exercise.

What a learner sees before asking for the solution must not hold any of it. "Holding it" is defined
in tests/solution_leaks.py (any statement or compound expression of the solution cell, 12 characters
or more once whitespace and comments are dropped). Checked here:

- the inline check's whole printed output for every catalogued wrong implementation
  (tests/exercise_mistakes.py), and the messages of every case, hidden ones included, for every seed;
- the grader's feedback file for the same wrong implementations (built in this process from the
  grader's own scoring and report code), and once end to end through the sandboxed grader (slow);
- every string in the spec modules (their docstrings aside), the nudge and every hint level;
- the levels are ordered: the nudge, level 1, level 2, ... and the solution name the solution's own
  identifiers ever more (non-decreasing, and more in total at level 2 than at level 1 over the course),
  and only the solution level holds its code, all of it.

And ``hint()`` itself: one level per call, a jump with ``level=``, the solution only by name, clear errors
for an unknown exercise or level, silence while grading.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import io
import json
import re
import shutil

import nbformat
import pytest
from exercise_mistakes import WRONG, wrong_implementation
from exercise_support import SEEDS, SOLUTIONS, case_outcomes, nbg, solution, solution_sources
from solution_leaks import fragments, leaks, normalise, revealed, solution_body

from course_lib.exercises import codec, core, hint, hints, specs
from course_lib.exercises.core import CheckFailed, all_exercises, check, get
from course_lib.exercises.hints import hint_text, solution_code
from course_lib.grading import report, scoring

IDS = [ex.grade_id for ex in specs.EXERCISES]
LABELS = [f"{g}-{lab}" for g, lab, *_ in WRONG]


@pytest.fixture(autouse=True)
def fresh_kernel(monkeypatch):
    """Each test starts like a new kernel: no hint levels seen yet."""
    monkeypatch.setattr(hints, "_SEEN", {})
    monkeypatch.delenv(core.GRADING_ENV, raising=False)


def check_output(fn, grade_id: str) -> str:
    """Everything a learner sees from the check cell: what it prints and the failure it raises."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            check(fn, grade_id)
        except CheckFailed as exc:
            return out.getvalue() + str(exc)
    return out.getvalue()


def printed(*args, **kwargs) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        hint(*args, **kwargs)
    return out.getvalue()


# ------------------------------------------------------------------ the rule itself

def test_the_leak_rule_catches_copied_lines_and_ignores_trivia():
    adam = fragments("l05_adam_step")
    assert "v=beta2*v+(1-beta2)*g*g" in adam                      # a whole statement
    assert "m/(1-beta1**t)" in adam and "torch.sqrt(v_hat)" in adam  # parts of one
    assert not any(f.startswith("returnp") for f in adam)          # `return p, m, v` is too short
    # the old feedback of the check held the bias correction, spaced differently: caught
    assert leaks("did you forget the bias correction? m_hat = m / (1 - beta1**t)", "l05_adam_step")
    assert leaks("use log_p[torch.arange(N), targets]", "l01_cross_entropy")  # without the minus
    assert not leaks("divide by sqrt(v_hat) + eps", "l05_adam_step")      # the math, not the code
    assert not leaks("p, m and v", "l05_adam_step")
    assert normalise(" a  =\tb \n") == "a=b"
    assert "#" not in "".join(fragments("l05_adam_step"))                # comments dropped


def test_every_solution_has_fragments_and_identifiers():
    for grade_id in IDS:
        assert fragments(grade_id), grade_id
        assert solution_body(grade_id).strip(), grade_id


# ------------------------------------------------------------------ what the learner sees fails no-leak

@pytest.mark.parametrize("grade_id, label, wrong, keyword", WRONG, ids=LABELS)
def test_check_output_of_a_wrong_implementation_holds_no_solution_line(grade_id, label, wrong, keyword):
    text = check_output(wrong, grade_id)
    assert text.startswith("✗")
    assert not leaks(text, grade_id), f"{label}: the check shows solution code {leaks(text, grade_id)}:\n{text}"
    for seed in SEEDS:                     # every message the grader could show, hidden cases too
        for outcome in case_outcomes(grade_id, wrong, seed):
            assert not leaks(outcome.message, grade_id), (seed, outcome)


def _lesson_strings(module) -> list[str]:
    """Every string constant of a spec module except docstrings (messages, nudges, hints)."""
    tree = ast.parse(open(module.__file__, encoding="utf-8").read())
    docs = {id(node.body[0].value) for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and node.body
            and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs]


@pytest.mark.parametrize("lesson", specs.LESSONS, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_no_string_in_a_spec_module_holds_a_solution_line(lesson):
    # catches a message no catalogued mistake triggers, too
    strings = _lesson_strings(lesson)
    for ex in lesson.EXERCISES:
        found = {text[:60]: leaks(text, ex.grade_id) for text in strings if leaks(text, ex.grade_id)}
        assert not found, (ex.grade_id, found)


# ------------------------------------------------------------------ the hints themselves

def test_every_exercise_has_its_own_hints():
    texts = []
    for ex in all_exercises().values():
        if ex.grade_id not in IDS:
            continue
        assert ex.hint and "\n" not in ex.hint, ex.grade_id
        assert 2 <= len(ex.hints) <= 3, ex.grade_id
        assert all(isinstance(h, str) and len(h) > 150 for h in ex.hints), ex.grade_id
        texts += [ex.hint, *ex.hints]
    assert len(texts) == len(set(texts)), "every nudge and hint is written for its exercise"
    assert sum(1 for ex in specs.EXERCISES if ex.hints) == len(IDS) == len(specs.EXERCISES)


@pytest.mark.parametrize("grade_id", IDS)
def test_no_hint_below_the_solution_holds_a_solution_line(grade_id):
    ex = get(grade_id)
    for level in range(len(ex.hints) + 1):
        text = hint_text(ex, level)
        assert not leaks(text, grade_id), (level, leaks(text, grade_id))


@pytest.mark.parametrize("grade_id", IDS)
def test_levels_reveal_more_and_more_and_only_the_last_is_the_solution(grade_id):
    ex = get(grade_id)
    levels = [*range(len(ex.hints) + 1), "solution"]
    shown = [revealed(hint_text(ex, level), grade_id) for level in levels]
    assert shown == sorted(shown), f"{grade_id}: solution identifiers named per level {shown}"
    solution_text = hint_text(ex, "solution")
    assert leaks(solution_text, grade_id) == sorted(fragments(grade_id)), "the solution level is the solution"
    assert normalise(solution_body(grade_id)) in normalise(re.sub(r"#.*", "", solution_text))


def test_level_2_reveals_more_than_level_1_over_the_course():
    first = sum(revealed(hint_text(get(g), 1), g) for g in IDS)
    second = sum(revealed(hint_text(get(g), 2), g) for g in IDS)
    more = sum(revealed(hint_text(get(g), 2), g) > revealed(hint_text(get(g), 1), g) for g in IDS)
    assert first < second and more >= 25, (first, second, more)


# ------------------------------------------------------------------ hint()

def test_hint_goes_one_level_per_call_and_never_to_the_solution_by_itself():
    ex = get("l05_adam_step")
    first, second, third = (printed("l05_adam_step") for _ in range(3))
    assert first.startswith("Hint 1 of 2 for adam_step (l05_adam_step)") and ex.hints[0][:40] in first
    assert 'Run hint("l05_adam_step") again for hint 2 of 2' in first
    assert second.startswith("Hint 2 of 2") and 'hint("l05_adam_step", level="solution")' in second
    assert third == "(No more hints for adam_step: here is the last one again.)\n\n" + second  # not the solution
    assert hints.seen_levels() == {"l05_adam_step": 2}
    assert not leaks(first + second + third, "l05_adam_step")


def test_hint_jumps_to_a_level_and_goes_on_from_there():
    assert printed("l08_find_spikes", level=2).startswith("Hint 2 of 2")
    assert printed("l08_find_spikes", level=1).startswith("Hint 1 of 2")
    assert printed("l08_find_spikes").startswith("Hint 2 of 2")
    nudge = printed("l08_find_spikes", level=0)
    assert get("l08_find_spikes").hint in nudge and 'hint("l08_find_spikes") gives hint 1 of 2' in nudge


def test_the_solution_level_is_the_solution_cell():
    text = printed("l05_adam_step", level="solution")
    code = solution_sources()["l05_adam_step"][2]
    body = "\n".join(line for line in code.splitlines() if "### " not in line)
    assert text.startswith("Solution of adam_step (l05_adam_step)") and body in text
    assert "BEGIN SOLUTION" not in text
    assert hints.seen_levels()["l05_adam_step"] == 2            # the next call shows the last hint
    ns: dict = {}
    exec("import torch\n" + text.split("\n\n", 1)[1], ns)      # the code shown runs and passes
    check(ns["adam_step"], "l05_adam_step")


@pytest.mark.parametrize("grade_id", IDS)
def test_every_solution_level_reads_its_cell(grade_id):
    code = solution_code(get(grade_id))
    assert code is not None and f"def {get(grade_id).function}(" in code
    assert normalise(solution_body(grade_id)) in normalise(re.sub(r"#.*", "", code))


def test_without_a_solutions_folder_the_solution_level_says_so(monkeypatch, tmp_path):
    monkeypatch.setattr(hints, "SOLUTIONS_DIR", tmp_path)
    text = printed("l05_adam_step", level="solution")
    assert "not on this machine" in text and "ask your instructor" in text
    assert not leaks(text, "l05_adam_step")


def test_hint_takes_the_function_or_its_name():
    by_id = printed("l01_mse", level=1)
    assert printed("mse", level=1) == by_id
    assert printed(solution("l01_mse"), level=1) == by_id


@pytest.mark.parametrize("name, closest", [
    ("nope", None), ("l05_adam", "l05_adam_step"), ("adam_stp", "l05_adam_step"),
    ("L08_clip_global_norm", "l08_clip_global_norm"), ("l5_adam_step", "l05_adam_step"),
])
def test_an_unknown_exercise_names_the_closest_ids(name, closest):
    with pytest.raises(ValueError, match=f"no exercise {name!r}. The closest exercise ids: ") as info:
        hint(name)
    named = re.findall(r"'(l\d\d_\w+)'", str(info.value).split("closest exercise ids:")[1])
    assert len(named) == 3 and all(n in IDS for n in named)
    assert closest is None or named[0] == closest
    with pytest.raises(TypeError, match="exercise id"):
        hint(5)


@pytest.mark.parametrize("level", [3, -1, "2", "Solution", True, 1.0])
def test_an_unknown_level_is_an_error(level):
    with pytest.raises(ValueError, match=r"level for l05_adam_step is 0 \(the check's nudge\), 1 to 2 "
                                         r"\(the hints\) or 'solution'"):
        hint("l05_adam_step", level=level)
    assert hints.seen_levels() == {}


def test_hints_are_off_while_grading(monkeypatch):
    monkeypatch.setenv(core.GRADING_ENV, "1")
    assert printed("l05_adam_step") == "(hints are off while grading)\n"
    assert printed("l05_adam_step", level="solution") == "(hints are off while grading)\n"
    assert printed("no such exercise") == "(hints are off while grading)\n"   # the specs are not there
    assert hints.seen_levels() == {}


# ------------------------------------------------------------------ the check's failure format

def test_a_failed_check_names_the_mistake_shows_the_case_and_nudges():
    text = check_output(wrong_implementation("l05_adam_step", "no bias correction"), "l05_adam_step")
    lines = text.splitlines()
    ex = get("l05_adam_step")
    assert lines[0] == "✗ adam_step: 0 of 9 checks pass."
    assert lines[1].startswith("  - first step t = 1 (m = v = 0), float32: m and v are right but p is not: "
                               "did you forget the bias correction?")
    assert lines[2].startswith("    (the same on 8 more checks: step t = 10 with some history; ")
    assert lines[3] == "  In detail, first step t = 1 (m = v = 0), float32:"
    assert lines[4].startswith("    called    adam_step(p=tensor([")
    assert lines[5].startswith(" " * 24 + "m=tensor([0, 0, 0, 0], float32)") and lines[5].endswith("t=1, lr=0.1)")
    assert lines[6].startswith("    expected  (tensor([") and lines[6].endswith("float32),")
    assert any(line.startswith("    got       (tensor([") for line in lines)
    assert f"  Hint: {ex.hint}" in lines
    assert lines[-1].startswith('  More help: run hint("l05_adam_step")')


def test_the_detail_shows_more_digits_when_four_cannot_tell_the_answers_apart():
    text = check_output(wrong_implementation("l02_finite_difference_grad", "forward"),
                        "l02_finite_difference_grad")
    expected = next(line for line in text.splitlines() if line.startswith("    expected"))
    got = next(line for line in text.splitlines() if line.startswith("    got"))
    assert expected[14:] != got[14:]


def test_a_function_that_raises_shows_its_inputs_and_no_expected_value():
    def broken(p, g, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        raise ValueError("oops")

    lines = check_output(broken, "l05_adam_step").splitlines()
    assert lines[1].startswith("  - first step t = 1 (m = v = 0), float32: raised ValueError: oops (line ")
    assert any(line.startswith("    called    adam_step(p=") for line in lines)
    assert not any(line.startswith("    expected") for line in lines)


# ------------------------------------------------------------------ the grader's feedback

def _record(grade_id: str, fn, seed: int = 3) -> dict:
    """A grader's record for a submission whose only function is ``fn``, judged by the grader's
    own scoring (its cases and references, its result parsing) in this process."""
    prepared = scoring.prepare(get(grade_id), seed)
    lines = []
    for index, enc in enumerate(prepared.encoded):
        record = {"nonce": "n", "grade_id": grade_id, "case": index}
        args, kwargs = codec.decode(enc["args"]), codec.decode(enc["kwargs"])
        try:
            got = fn(*args, **kwargs)
            record |= {"value": codec.encode(got),
                       "mutated": (codec.encode(tuple(args)), codec.encode(dict(kwargs))) != (enc["args"], enc["kwargs"])}
        except NotImplementedError:
            record["error"] = "not-implemented"
        except Exception as exc:
            record |= {"error": "raised", "message": f"{type(exc).__name__}: {exc}"}
        lines.append(json.dumps(record))
    lines.append(json.dumps({"nonce": "n", "done": True}))
    parsed = scoring.parse_results("\n".join(lines), "n", [prepared])
    exercises = scoring.score_exercises([prepared], parsed, call_timeout=1, not_run_reason="")
    return {"submission": f"alice/{grade_id}.ipynb", "assignment": grade_id[1:3], "status": "graded",
            "total": exercises[0]["score"], "max_total": exercises[0]["points"], "exercises": exercises,
            "cell_errors": []}


@pytest.mark.parametrize("grade_id, label, wrong, keyword", WRONG, ids=LABELS)
def test_grader_feedback_on_a_wrong_implementation_holds_no_solution_line(grade_id, label, wrong, keyword):
    record = _record(grade_id, wrong)
    assert record["total"] < record["max_total"]
    text = report.feedback_markdown(record)
    assert f"- Hint: {get(grade_id).hint}" in text
    assert not leaks(text, grade_id), (label, leaks(text, grade_id), text)


@pytest.mark.timeout(600)
def test_the_real_grader_gives_no_solution_line_for_a_wrong_submission(tmp_path):
    # end to end: lesson 05 solved, except Adam without its bias correction, graded in the sandbox
    from grading_fixtures.support import run_grader

    source = SOLUTIONS / "05_adaptive_methods.ipynb"
    nb = nbformat.read(source, as_version=4)
    for cell in nb.cells:
        if nbg(cell).get("grade_id") == "l05_adam_step":
            cell.source = cell.source.replace("m / (1 - beta1 ** t)", "m").replace("v / (1 - beta2 ** t)", "v")
            assert "** t" not in cell.source
    (tmp_path / "class").mkdir()
    nbformat.write(nb, tmp_path / "class" / source.name)
    (tmp_path / "solutions").mkdir()
    shutil.copy(source, tmp_path / "solutions" / source.name)
    proc = run_grader(str(tmp_path / "class"), "--out", str(tmp_path / "out"), "--solutions",
                      str(tmp_path / "solutions"), "--jobs", "1", "--seed", "5", "--no-progress", timeout=500)
    assert proc.returncode == 0, proc.stderr[-3000:]
    feedback = (tmp_path / "out" / "feedback" / "05_adaptive_methods.md").read_text(encoding="utf-8")
    assert "## `adam_step` (l05_adam_step): 0 / 3" in feedback and "bias correction" in feedback
    assert "## `rmsprop_step` (l05_rmsprop_step): 2 / 2" in feedback
    for grade_id in ("l05_adagrad_step", "l05_rmsprop_step", "l05_adam_step"):
        assert not leaks(feedback, grade_id), (grade_id, leaks(feedback, grade_id))



def test_an_exercise_without_hints_says_so_and_its_check_points_nowhere(monkeypatch):
    # a course's local exercise (or a test fixture) may have a nudge and no hint levels
    monkeypatch.setattr(core, "_EXTRA", {})
    bare = dataclasses.replace(get("l01_mse"), grade_id="x01_bare", hints=())
    core.register(bare)
    assert printed("x01_bare") == f"mse (x01_bare) has no hints beyond its check: {bare.hint}\n"
    text = check_output(wrong_implementation("l01_mse", "sum"), "x01_bare")
    assert f"  Hint: {bare.hint}" in text and "More help" not in text
