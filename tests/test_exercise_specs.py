"""The battery every exercise passes, and the solution notebooks.

One parametrized battery over ``all_exercises()`` (the course's exercises, in course order):

- the registry holds exactly the course's exercises, in course order, with their functions and
  points; each is well formed (>= 5 visible cases and a hidden one, a one-line nudge, plain-data
  cases, deterministic in the seed; its hints and the no-solution-leak rule are in
  tests/test_hints.py);
- the solution cell of its notebook in solutions/ passes every case (visible and hidden) for
  several seeds;
- every catalogued wrong implementation (tests/exercise_mistakes.py) fails, and the feedback
  names the mistake; every exercise has at least two;
- the protocol's edges: not implemented, inputs changed in place, what check() prints, hidden
  cases stay hidden, compare() survives any returned value;
- every solutions notebook is a well-formed nbgrader source holding exactly its lesson's
  exercises with the registry's points, stores no outputs, its released exercise version runs
  and reports "not implemented", and it runs top to bottom in a fresh kernel.

What is specific to one lesson (references agreeing with torch or course_lib, other accepted
forms of an answer) is in tests/test_exercise_specs_by_lesson.py.
"""

from __future__ import annotations

import dataclasses
import re

import nbformat
import pytest
import torch
from exercise_mistakes import WRONG
from exercise_support import (
    ALL_NOTEBOOKS,
    GRADE_ID,
    SEEDS,
    SOLUTIONS,
    case_outcomes,
    nbg,
    nbgrader_cells,
    read_notebook,
    solution,
    solution_sources,
)

from course_lib.exercises import codec, core, specs
from course_lib.exercises.core import CheckFailed, all_exercises, check, get, run_case

# The course's exercises in course order: grade_id -> (function, points as the notebooks state them)
COURSE = {
    "l01_mse": ("mse", 1), "l01_cross_entropy": ("cross_entropy_from_logits", 2),
    "l01_softmax_grad": ("softmax_grad", 2), "l01_perplexity": ("perplexity", 1),
    "l01_diagnose_loss": ("diagnose_loss", 2),
    "l02_finite_difference_grad": ("finite_difference_grad", 2),
    "l02_fit_house_prices": ("fit_house_prices", 3), "l02_minibatch_indices": ("minibatch_indices", 2),
    "l02_mlp_backward": ("mlp_backward", 3), "l02_choose_batch_and_lr": ("choose_batch_and_lr", 3),
    "l03_gd_trajectory": ("gd_trajectory", 1), "l03_max_stable_lr": ("max_stable_lr", 2),
    "l03_pick_learning_rate": ("pick_learning_rate", 3),
    "l04_momentum_step": ("momentum_step", 2), "l04_nesterov_step": ("nesterov_step", 2),
    "l04_tune_momentum": ("tune_momentum", 3),
    "l05_adagrad_step": ("adagrad_step", 2), "l05_rmsprop_step": ("rmsprop_step", 2),
    "l05_adam_step": ("adam_step", 3),
    "l05_diagnose_adam": ("diagnose_adam", 2),
    "l06_adamw_step": ("adamw_step", 3), "l06_split_decay_groups": ("split_decay_groups", 2),
    "l06_weights_and_state_gb": ("weights_and_state_gb", 1),
    "l06_adamw_equilibrium": ("adamw_equilibrium", 2),
    "l07_warmup_cosine_lr": ("warmup_cosine_lr", 2), "l07_wsd_lr": ("wsd_lr", 2),
    "l07_shortest_warmup": ("shortest_warmup", 3),
    "l08_clip_global_norm": ("clip_global_norm", 3), "l08_clip_per_tensor": ("clip_per_tensor", 1),
    "l08_find_spikes": ("find_spikes", 2), "l08_rescue_threshold": ("choose_clip_threshold", 2),
    "l09_exponential_lr_schedule": ("exponential_lr_schedule", 1), "l09_smooth_losses": ("smooth_losses", 2),
    "l09_pick_lr": ("choose_lr", 2),
    "l10_newton_step": ("newton_step", 1), "l10_two_loop_direction": ("two_loop_direction", 3),
    "l10_wolfe_step": ("wolfe_step", 2),
    "l11_classify_critical_point": ("classify_critical_point", 2), "l11_power_iteration": ("power_iteration", 2),
    "l11_factorisation_point": ("factorisation_point", 2),
    "l12_compression_numbers": ("compression_numbers", 1),
    "l12_unigram_bits_per_char": ("unigram_bits_per_char", 2), "l12_fix_run": ("fix_run", 3),
    "l13_whole_batch_gradient": ("whole_batch_gradient", 2), "l13_clip_sharded": ("clip_sharded", 3),
    "l13_ring_allreduce_bytes": ("ring_allreduce_bytes", 1), "l13_ddp_config": ("ddp_config", 2),
}

NOTEBOOK_NAMES = (
    "01_loss_functions.ipynb", "02_gradient_descent.ipynb", "03_learning_rate.ipynb", "04_momentum.ipynb",
    "05_adaptive_methods.ipynb", "06_adamw.ipynb", "07_lr_schedules.ipynb", "08_gradient_clipping.ipynb",
    "09_lr_finder.ipynb", "10_second_order.ipynb", "11_landscape_geometry.ipynb", "12_full_recipe.ipynb",
    "13_beyond_one_machine.ipynb",
)
NOTEBOOKS = ALL_NOTEBOOKS

IDS = list(all_exercises())

# exercises whose inputs are numbers and strings only: nothing a learner could change in place
NOTHING_TO_CHANGE = {"l02_minibatch_indices", "l03_gd_trajectory", "l06_weights_and_state_gb",
                     "l06_adamw_equilibrium",
                     "l07_warmup_cosine_lr", "l07_wsd_lr", "l09_exponential_lr_schedule",
                     "l12_compression_numbers", "l12_unigram_bits_per_char", "l13_ring_allreduce_bytes",
                     "l13_ddp_config"}


# ------------------------------------------------------------------ the registry

def test_registry_holds_the_course_exercises_in_course_order():
    assert [ex.grade_id for ex in specs.EXERCISES] == list(COURSE)
    assert list(all_exercises())[:len(COURSE)] == list(COURSE), "the course's exercises come first"
    assert [ex.grade_id for lesson in specs.LESSONS for ex in lesson.EXERCISES] == list(COURSE)
    for lesson in specs.LESSONS:                      # each lesson module lists only its own
        number = lesson.__name__[-2:]
        assert lesson.EXERCISES and all(ex.grade_id.startswith(f"l{number}_") for ex in lesson.EXERCISES)
    for grade_id, (function, points) in COURSE.items():
        ex = get(grade_id)
        assert (ex.function, ex.points) == (function, points), grade_id


_EXTRA_SPEC = '''
from course_lib.exercises import Case, Exercise, register

def _ex(grade_id):
    return Exercise(grade_id=grade_id, function="f", points=1, make_cases=lambda rng: [Case("one")],
                    reference=lambda: 0, compare=lambda case, expected, got: None)

EXERCISES = (_ex("x01_listed"), _ex("x01_also_listed"))
REGISTERED = register(_ex("x01_registered"))
'''


def test_extra_spec_modules_are_registered_after_the_course(tmp_path, monkeypatch):
    # a grader's --specs / $COURSE_GRADING_SPECS module: its EXERCISES list, or register() calls
    monkeypatch.setattr(core, "_EXTRA", {})
    path = tmp_path / "extra_specs.py"
    path.write_text(_EXTRA_SPEC)
    monkeypatch.setenv(core.SPECS_ENV, str(path))
    assert list(all_exercises()) == [*COURSE, "x01_registered", "x01_listed", "x01_also_listed"]
    module = core.import_specs(str(path))             # idempotent: the same module, nothing twice
    assert core.import_specs(str(path)) is module and list(all_exercises())[len(COURSE):] == [
        "x01_registered", "x01_listed", "x01_also_listed"]
    assert get("x01_listed") is module.EXERCISES[0] and get("l01_mse") is specs.lesson01.MSE
    with pytest.raises(KeyError, match="no exercise with grade_id 'x01_missing'"):
        get("x01_missing")


def test_a_grade_id_clash_is_an_error(monkeypatch):
    monkeypatch.setattr(core, "_EXTRA", {})
    monkeypatch.delenv(core.SPECS_ENV, raising=False)
    impostor = dataclasses.replace(specs.lesson01.MSE, points=3)
    core.register(impostor)
    with pytest.raises(ValueError, match="duplicate exercise grade_id 'l01_mse'"):
        all_exercises()
    monkeypatch.setattr(core, "_EXTRA", {})
    core.register(specs.lesson01.MSE)                 # the course's own object: no clash
    assert list(all_exercises()) == list(COURSE)
    with pytest.raises(ValueError, match="duplicate exercise grade_id 'l01_mse'"):
        core.register(impostor)


@pytest.mark.parametrize("grade_id", IDS)
def test_exercise_is_well_formed(grade_id):
    ex = get(grade_id)
    assert GRADE_ID.match(grade_id)
    assert ex.function.isidentifier()
    assert 1 <= ex.points <= 3
    assert ex.hint and "\n" not in ex.hint
    assert not ex.mutates_inputs_ok
    for seed in SEEDS:
        cases = ex.cases(seed)
        visible = [c for c in cases if not c.hidden]
        assert len(visible) >= 5 and len(cases) > len(visible), "want >= 5 visible cases and a hidden one"
        assert len({c.name for c in cases}) == len(cases), "case names must be unique"
        assert not any(": " in c.name for c in cases), "': ' in a case name reads as the feedback"
        for c in cases:                               # cases cross the grading boundary as plain data
            codec.decode(codec.encode((c.args, c.kwargs)))


@pytest.mark.parametrize("grade_id", IDS)
def test_cases_are_deterministic_in_the_seed(grade_id):
    ex = get(grade_id)

    def plain(seed):
        return [(c.name, codec.encode(c.args), codec.encode(c.kwargs), c.hidden) for c in ex.cases(seed)]

    assert plain(7) == plain(7)
    assert [n for n, *_ in plain(7)] == [n for n, *_ in plain(8)]
    assert plain(7) != plain(8), "the seed should change the inputs"


# ------------------------------------------------------------------ the solutions pass

@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("grade_id", IDS)
def test_solution_passes_every_case(grade_id, seed):
    assert grade_id in solution_sources(), f"no solution cell with grade_id {grade_id} in solutions/"
    failed = [o for o in case_outcomes(grade_id, solution(grade_id), seed) if not o.ok]
    assert not failed, "\n".join(f"{o.case}: {o.message}" for o in failed)


# ------------------------------------------------------------------ wrong answers are diagnosed

@pytest.mark.parametrize("grade_id, label, wrong, keyword", WRONG, ids=[f"{g}-{lab}" for g, lab, *_ in WRONG])
def test_wrong_implementation_is_diagnosed(grade_id, label, wrong, keyword):
    # what the learner sees: the inline check on the visible cases
    with pytest.raises(CheckFailed) as info:
        check(wrong, grade_id)
    feedback = "\n".join(line for line in info.value.lines if line.startswith("  - "))
    assert keyword.lower() in feedback.lower(), f"{label}: expected {keyword!r} in\n{info.value}"
    # and the grader (all cases, every seed) fails it too
    for seed in SEEDS:
        assert not all(o.ok for o in case_outcomes(grade_id, wrong, seed)), seed


def test_every_exercise_has_two_wrong_implementations():
    counts = {g: 0 for g in IDS}
    for grade_id, *_ in WRONG:
        assert grade_id in counts, f"a wrong implementation of {grade_id}, which is not registered"
        counts[grade_id] += 1
    assert all(n >= 2 for n in counts.values()), counts


# ------------------------------------------------------------------ the protocol's edges

def _not_implemented(*args, **kwargs):
    raise NotImplementedError()


@pytest.mark.parametrize("grade_id", IDS)
def test_not_implemented_is_reported(grade_id):
    outcomes = case_outcomes(grade_id, _not_implemented)
    assert outcomes and all(not o.ok and "not implemented" in o.message for o in outcomes)


def _first_mutable(args):
    """The first float tensor among the arguments (inside a list too), or the first list."""
    for a in args:
        if isinstance(a, torch.Tensor) and a.is_floating_point():
            return lambda: a.add_(1.0)
        if isinstance(a, list) and a and isinstance(a[0], torch.Tensor):
            return lambda: a[0].add_(1.0)
        if isinstance(a, list) and a:
            return lambda: a.append(a[0])
    return None


@pytest.mark.parametrize("grade_id", IDS)
def test_changing_an_input_in_place_fails(grade_id):
    right = solution(grade_id)

    def fn(*args, **kwargs):
        out = right(*args, **kwargs)
        mutate = _first_mutable(args)
        if mutate:
            mutate()
        return out

    ex = get(grade_id)
    outcomes = [run_case(ex, fn, c) for c in ex.cases(0) if _first_mutable(c.args)]
    if grade_id in NOTHING_TO_CHANGE:
        assert not outcomes                           # numbers and strings only: nothing to change
        return
    assert outcomes and all(not o.ok and "in place" in o.message for o in outcomes)


@pytest.mark.parametrize("grade_id", IDS)
def test_check_prints_passes_or_raises_and_never_writes_stderr(grade_id, capsys):
    check(solution(grade_id), grade_id)
    out, err = capsys.readouterr()
    assert "passes" in out and err == ""
    wrong = next(w for g, _, w, _ in WRONG if g == grade_id)
    with pytest.raises(CheckFailed) as info:
        check(wrong, grade_id)
    out, err = capsys.readouterr()
    assert err == "" and out == ""
    assert info.value.lines[0].startswith("✗") and get(grade_id).hint in str(info.value)


@pytest.mark.parametrize("grade_id", IDS)
def test_check_runs_only_visible_cases(grade_id):
    # hidden cases are the grader's: check() never runs or names them. Every visible case fails the
    # same way here, so the first is listed with its message and the others are counted after it.
    cases = get(grade_id).cases(0)
    visible = [c.name for c in cases if not c.hidden]
    with pytest.raises(CheckFailed) as info:
        check(_not_implemented, grade_id)
    lines = info.value.lines
    assert lines[0].endswith(f"0 of {len(visible)} checks pass.")
    assert lines[1].startswith(f"  - {visible[0]}: not implemented yet")
    assert lines[2].startswith(f"    (the same on {len(visible) - 1} more checks: {visible[1]}; ")
    assert not [line for line in lines if line.startswith("  - ")][1:]
    text = str(info.value)
    for case in cases:
        if case.hidden and not any(case.name in name for name in visible):
            assert case.name not in text


GARBAGE = [
    None, True, 0, 1.5, float("nan"), "text", [], (), {"a": 1}, [1, 2], (1.0, 2.0, 3.0), [True, False],
    torch.tensor(1.0), torch.tensor(float("nan")), torch.zeros(3), torch.zeros(2, 2, dtype=torch.int64),
    torch.tensor([True]), torch.full((3,), float("inf")), torch.zeros(0), torch.tensor([1, 2]),
    (torch.zeros(1), torch.zeros(1)), (torch.zeros(1),) * 3, [torch.tensor(float("nan"))] * 2,
    [[1, 2], [3]], [torch.zeros(())], (["a"], ["b"]), ([], []), ([("a", (1,))], []), ([1], ["x"]),
    ([torch.zeros(3)], torch.tensor(0.0)), (torch.tensor(0.0), [torch.zeros(3)]), [0.5, 1.5], [-1, 2],
    "Minimum", "saddle", [torch.zeros(())] * 3, (1.0, float("inf"), -1.0), (1, 2, 3), torch.zeros(1, 1),
    [float("nan")] * 3, (0.0, 0.0), torch.zeros(5), [1.0] * 300, (torch.zeros(1), 2.0, "x"),
]


@pytest.mark.parametrize("grade_id", IDS)
def test_compare_survives_any_returned_value(grade_id):
    # compare runs in the grader with whatever a submission sent: it must answer, never raise
    ex = get(grade_id)
    for case in ex.cases(0):
        expected = ex.reference(*case.args, **case.kwargs)
        for value in GARBAGE:
            message = ex.compare(case, expected, codec.decode(codec.encode(value)))
            assert message is None or (isinstance(message, str) and message), (value, case.name)


# ------------------------------------------------------------------ the notebooks

def test_there_are_solution_notebooks():
    names = {p.name for p in NOTEBOOKS}
    for name in NOTEBOOK_NAMES:
        assert name in names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_a_valid_nbgrader_source(path):
    registry = all_exercises()
    grade_ids, solutions, checks = nbgrader_cells(path)
    assert solutions, "no solution cells"
    for grade_id, source in solutions.items():
        assert grade_id in registry, f"solution cell {grade_id} has no registered exercise"
        ex = registry[grade_id]
        assert re.search(rf"^def {ex.function}\(", source, re.M), f"{grade_id} does not define {ex.function}"
        begin = re.findall(r"^( *)### BEGIN SOLUTION$", source, re.M)
        end = re.findall(r"^( *)### END SOLUTION$", source, re.M)
        assert begin and begin == end, f"{grade_id}: unmatched solution markers"
        source_code, points = checks[f"{grade_id}_check"]
        assert source_code.strip() == f'check({ex.function}, "{grade_id}")'
        assert points == ex.points
    for source_code, points in checks.values():
        grade_id = re.search(r'check\(\w+, "([^"]+)"\)', source_code).group(1)
        assert grade_id in solutions and points == registry[grade_id].points


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_holds_exactly_its_lessons_exercises(path):
    grade_ids, solutions, checks = nbgrader_cells(path)
    prefix = "l" + path.name[:2]
    assert sorted(solutions) == sorted(g for g in COURSE if g.startswith(prefix + "_"))
    assert all(g.startswith(prefix + "_") for g in grade_ids)
    for grade_id in solutions:
        assert checks[f"{grade_id}_check"][1] == COURSE[grade_id][1]
    assert len(checks) == len(solutions)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_exercise_version_runs_and_reports_not_implemented(path):
    # the learner's notebook, as the release makes it: every cell runs, every check says
    # "not implemented" (and nothing else breaks before the learner has written a line)
    from course_lib.exercises.release import release_notebook

    nb = release_notebook(read_notebook(path), name=path.name)
    ns: dict = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        meta = nbg(cell)
        if meta.get("grade"):
            with pytest.raises(CheckFailed, match="not implemented"):
                exec(compile(cell.source, f"{path.name}:{meta['grade_id']}", "exec"), ns)
        else:
            assert "### BEGIN SOLUTION" not in cell.source
            exec(compile(cell.source, f"{path.name}:{meta.get('grade_id', 'cell')}", "exec"), ns)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_in_a_fresh_kernel(path):
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(SOLUTIONS)}}).execute()
    for cell in nb.cells:
        if nbg(cell).get("grade"):
            text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
            assert "passes" in text, f"{nbg(cell)['grade_id']}: {cell.outputs}"
            assert not any(o.output_type == "stream" and o.name == "stderr" for o in cell.outputs)
