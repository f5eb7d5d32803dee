"""The exercise specs and their solution notebooks.

- every registered exercise: the solution cell of its notebook in solutions/ passes every case
  (visible and hidden) for several seeds, and the cases are deterministic in the seed;
- typical wrong implementations fail, and the message names the mistake;
- the protocol's edges: not implemented, inputs changed in place, what check() prints;
- every solutions notebook is a well-formed nbgrader source (metadata, unique grade_ids, points
  equal to the registry's), stores no outputs, and runs top to bottom in a fresh kernel.
"""

from __future__ import annotations

import math
import re

import nbformat
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from exercise_support import (
    ALL_NOTEBOOKS,
    GRADE_ID,
    ROOT,
    SEEDS,
    SOLUTIONS,
    case_outcomes,
    nbg,
    nbgrader_cells,
    read_notebook,
    solution,
    solution_sources,
)

from course_lib.exercises import codec
from course_lib.exercises.core import CheckFailed, all_exercises, check, get

NOTEBOOKS = ALL_NOTEBOOKS

# the exercises of lessons 01-05 (points as the notebooks state them)
LESSON_EXERCISES = {
    "l01_mse": ("mse", 1), "l01_cross_entropy": ("cross_entropy_from_logits", 2),
    "l01_softmax_grad": ("softmax_grad", 2), "l01_perplexity": ("perplexity", 1),
    "l02_finite_difference_grad": ("finite_difference_grad", 2),
    "l02_fit_house_prices": ("fit_house_prices", 3), "l02_minibatch_indices": ("minibatch_indices", 2),
    "l03_gd_trajectory": ("gd_trajectory", 1), "l03_max_stable_lr": ("max_stable_lr", 2),
    "l04_momentum_step": ("momentum_step", 2), "l04_nesterov_step": ("nesterov_step", 2),
    "l05_adagrad_step": ("adagrad_step", 2), "l05_rmsprop_step": ("rmsprop_step", 2),
    "l05_adam_step": ("adam_step", 3),
}


# ------------------------------------------------------------------ the registry

def test_lessons_01_to_05_are_registered():
    exercises = all_exercises()
    for grade_id, (function, points) in LESSON_EXERCISES.items():
        assert grade_id in exercises, f"{grade_id} is not registered"
        ex = exercises[grade_id]
        assert (ex.function, ex.points) == (function, points)


@pytest.mark.parametrize("grade_id", sorted(all_exercises()))
def test_exercise_is_well_formed(grade_id):
    ex = get(grade_id)
    assert GRADE_ID.match(grade_id)
    assert ex.function.isidentifier()
    assert ex.points > 0
    cases = ex.cases(0)
    assert cases
    assert len({c.name for c in cases}) == len(cases), "case names must be unique"
    for c in cases:                                   # cases cross the grading boundary as plain data
        codec.decode(codec.encode((c.args, c.kwargs)))


@pytest.mark.parametrize("grade_id", sorted(LESSON_EXERCISES))
def test_lesson_exercise_has_varied_cases_and_a_hint(grade_id):
    ex = get(grade_id)
    assert 1 <= ex.points <= 3
    assert ex.hint and "\n" not in ex.hint
    assert not ex.mutates_inputs_ok
    for seed in SEEDS:
        cases = ex.cases(seed)
        visible = [c for c in cases if not c.hidden]
        assert len(visible) >= 5 and len(cases) > len(visible), "want >= 5 visible cases and a hidden one"
        assert not any(": " in c.name for c in cases), "': ' in a case name reads as the feedback"


@pytest.mark.parametrize("grade_id", sorted(all_exercises()))
def test_cases_are_deterministic_in_the_seed(grade_id):
    ex = get(grade_id)

    def plain(seed):
        return [(c.name, codec.encode(c.args), codec.encode(c.kwargs), c.hidden) for c in ex.cases(seed)]

    assert plain(7) == plain(7)
    assert [n for n, *_ in plain(7)] == [n for n, *_ in plain(8)]


# ------------------------------------------------------------------ the solutions pass

@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("grade_id", sorted(all_exercises()))
def test_solution_passes_every_case(grade_id, seed):
    assert grade_id in solution_sources(), f"no solution cell with grade_id {grade_id} in solutions/"
    failed = [o for o in case_outcomes(grade_id, solution(grade_id), seed) if not o.ok]
    assert not failed, "\n".join(f"{o.case}: {o.message}" for o in failed)


# ------------------------------------------------------------------ wrong answers are diagnosed
# Each entry: a typical wrong implementation and a word its feedback must contain.

def _stable_softmax(z, dim=1):
    e = torch.exp(z - z.max(dim=dim, keepdim=True).values)
    return e / e.sum(dim=dim, keepdim=True)


def _log_softmax(z):
    m = z.max(dim=1, keepdim=True).values
    return z - m - torch.log(torch.exp(z - m).sum(dim=1, keepdim=True))


def _onehot(y, c):
    return F.one_hot(y, c).to(torch.float64)


def _central(f, x, h, denom):
    flat = x.reshape(-1)
    out = torch.zeros_like(flat)
    for i in range(flat.numel()):
        e = torch.zeros_like(flat)
        e[i] = h
        out[i] = (f((flat + e).reshape(x.shape)) - f((flat - e).reshape(x.shape))) / denom
    return out.reshape(x.shape)


def _forward_difference(f, x, h=1e-5):
    flat = x.reshape(-1)
    out = torch.zeros_like(flat)
    for i in range(flat.numel()):
        e = torch.zeros_like(flat)
        e[i] = h
        out[i] = (f((flat + e).reshape(x.shape)) - f(x)) / h
    return out.reshape(x.shape)


def _fit(sqft, price, lr, steps, *, scale=True, convert=True):
    mu, sigma = sqft.mean(), sqft.std()
    x = (sqft - mu) / sigma if scale else sqft
    w = b = torch.zeros((), dtype=sqft.dtype)
    for _ in range(steps):
        err = w * x + b - price
        w, b = w - lr * 2 * (err * x).mean(), b - lr * 2 * err.mean()
    if scale and convert:
        w, b = w / sigma, b - w * mu / sigma
    return float(w), float(b)


def _fit_b_unconverted(sqft, price, lr, steps):
    mu, sigma = sqft.mean(), sqft.std()
    x = (sqft - mu) / sigma
    w = b = torch.zeros((), dtype=sqft.dtype)
    for _ in range(steps):
        err = w * x + b - price
        w, b = w - lr * 2 * (err * x).mean(), b - lr * 2 * err.mean()
    return float(w / sigma), float(b)


def _traj_same_tensor(lr, w0, steps):
    w = torch.tensor(float(w0))
    path = [w]
    for _ in range(steps):
        w -= lr * 2 * w
        path.append(w)
    return path


def _momentum_ema(p, g, buf, lr, mu):
    buf = (1 - mu) * g if buf is None else mu * buf + (1 - mu) * g
    return p - lr * buf, buf


def _momentum_velocity(p, g, buf, lr, mu):
    v = lr * g if buf is None else mu * buf + lr * g
    return p - v, v


def _momentum_in_place(p, g, buf, lr, mu):
    buf = g.clone() if buf is None else buf.mul_(mu).add_(g)
    return p - lr * buf, buf


def _nesterov_plain(p, g, buf, lr, mu):
    buf = g.clone() if buf is None else mu * buf + g
    return p - lr * buf, buf


def _nesterov_returns_step(p, g, buf, lr, mu):
    buf = g.clone() if buf is None else mu * buf + g
    step = g + mu * buf
    return p - lr * step, step


def _nesterov_ema(p, g, buf, lr, mu):
    buf = (1 - mu) * g if buf is None else mu * buf + (1 - mu) * g
    return p - lr * (g + mu * buf), buf


def _adam(p, g, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, *, square=True, correct=True,
          swap=False, t_shift=0, eps_inside=False):
    b1, b2 = (betas[1], betas[0]) if swap else betas
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * (g * g if square else g)
    tt = t + t_shift
    m_hat, v_hat = (m / (1 - b1 ** tt), v / (1 - b2 ** tt)) if correct else (m, v)
    denom = torch.sqrt(v_hat + eps) if eps_inside else torch.sqrt(v_hat) + eps
    return p - lr * m_hat / denom, m, v


def _wrong_adam(**how):
    return lambda p, g, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8: _adam(
        p, g, m, v, t, lr, betas, eps, **how)


def _np_permutation(n, batch_size, seed):
    perm = torch.from_numpy(np.random.default_rng(seed).permutation(n))
    return list(perm.split(batch_size))


WRONG = [
    # lesson 01
    ("l01_mse", "no square", lambda p, t: (p - t).mean(), "squaring"),
    ("l01_mse", "sum", lambda p, t: ((p - t) ** 2).sum(), "sum of squared errors"),
    ("l01_mse", "float", lambda p, t: ((p - t) ** 2).mean().item(), "0-dim torch.Tensor"),
    ("l01_mse", "rmse", lambda p, t: ((p - t) ** 2).mean().sqrt(), "RMSE"),
    ("l01_mse", "per row", lambda p, t: ((p - t) ** 2).mean(dim=-1), "single number"),
    ("l01_cross_entropy", "naive exp",
     lambda z, y: -torch.log(torch.exp(z) / torch.exp(z).sum(1, keepdim=True))[torch.arange(len(y)), y].mean(),
     "max logit"),
    ("l01_cross_entropy", "sum", lambda z, y: -_log_softmax(z)[torch.arange(len(y)), y].sum(), "sum over the batch"),
    ("l01_cross_entropy", "log2",
     lambda z, y: -(_log_softmax(z) / math.log(2))[torch.arange(len(y)), y].mean(), "bits"),
    ("l01_cross_entropy", "max not added back",
     lambda z, y: (torch.log(torch.exp(z - z.max(1, keepdim=True).values).sum(1))
                   - z[torch.arange(len(y)), y]).mean(), "add it back"),
    ("l01_cross_entropy", "N x N block", lambda z, y: -_log_softmax(z)[:, y].mean(), "N x N"),
    ("l01_softmax_grad", "no 1/N", lambda z, y: _stable_softmax(z) - _onehot(y, z.shape[1]).to(z.dtype), "1/N"),
    ("l01_softmax_grad", "sign",
     lambda z, y: (_onehot(y, z.shape[1]).to(z.dtype) - _stable_softmax(z)) / len(y), "sign"),
    ("l01_softmax_grad", "naive exp",
     lambda z, y: (torch.exp(z) / torch.exp(z).sum(1, keepdim=True) - _onehot(y, z.shape[1])) / len(y),
     "max logit"),
    ("l01_softmax_grad", "wrong dim",
     lambda z, y: (_stable_softmax(z, 0) - _onehot(y, z.shape[1]).to(z.dtype)) / len(y), "wrong dimension"),
    ("l01_perplexity", "2 ** loss", lambda x: 2 ** x, "bits"),
    ("l01_perplexity", "exp(-loss)", lambda x: torch.exp(-x), "exp(+loss)"),
    # lesson 02
    ("l02_finite_difference_grad", "forward", _forward_difference, "one-sided (forward)"),
    ("l02_finite_difference_grad", "divides by h", lambda f, x, h=1e-5: _central(f, x, h, h), "twice"),
    ("l02_finite_difference_grad", "flattened",
     lambda f, x, h=1e-5: _central(f, x, h, 2 * h).reshape(-1), "shape of x"),
    ("l02_fit_house_prices", "no scaling", lambda s, p, lr, n: _fit(s, p, lr, n, scale=False), "diverged"),
    ("l02_fit_house_prices", "not converted back",
     lambda s, p, lr, n: _fit(s, p, lr, n, convert=False), "standardised feature"),
    ("l02_fit_house_prices", "b not converted", _fit_b_unconverted, "w is right but b is not"),
    ("l02_minibatch_indices", "drop last",
     lambda n, bs, seed: [b for b in _np_permutation(n, bs, seed) if len(b) == bs]
     if n % bs else _np_permutation(n, bs, seed), "last, smaller batch is missing"),
    ("l02_minibatch_indices", "not shuffled", lambda n, bs, seed: list(torch.arange(n).split(bs)), "not shuffled"),
    ("l02_minibatch_indices", "with replacement",
     lambda n, bs, seed: list(torch.randint(0, n, (n,), generator=torch.Generator().manual_seed(seed)).split(bs)),
     "more than once"),
    ("l02_minibatch_indices", "numpy shuffle", _np_permutation, "order differs"),
    # lesson 03
    ("l03_gd_trajectory", "no w0", lambda lr, w0, n: [w0 * (1 - 2 * lr) ** k for k in range(1, n + 1)],
     "start with w0"),
    ("l03_gd_trajectory", "gradient w", lambda lr, w0, n: [w0 * (1 - lr) ** k for k in range(n + 1)], "2w"),
    ("l03_gd_trajectory", "same tensor", _traj_same_tensor, "same number"),
    ("l03_gd_trajectory", "ascent", lambda lr, w0, n: [w0 * (1 + 2 * lr) ** k for k in range(n + 1)], "uphill"),
    ("l03_max_stable_lr", "1/L", lambda A: 1 / torch.linalg.eigvalsh(A)[-1].item(), "1/L"),
    ("l03_max_stable_lr", "smallest", lambda A: 2 / torch.linalg.eigvalsh(A)[0].item(), "smallest eigenvalue"),
    ("l03_max_stable_lr", "diagonal", lambda A: 2 / A.diagonal().max().item(), "diagonal"),
    ("l03_max_stable_lr", "not a number", lambda A: [2 / torch.linalg.eigvalsh(A)[-1].item()], "one number"),
    # lesson 04
    ("l04_momentum_step", "EMA", _momentum_ema, "EMA"),
    ("l04_momentum_step", "velocity", _momentum_velocity, "velocity"),
    ("l04_momentum_step", "steps along g",
     lambda p, g, buf, lr, mu: (p - lr * g, g.clone() if buf is None else mu * buf + g), "not along g"),
    ("l04_momentum_step", "in place", _momentum_in_place, "in place"),
    ("l04_momentum_step", "swapped",
     lambda p, g, buf, lr, mu: tuple(reversed(solution("l04_momentum_step")(p, g, buf, lr, mu))), "wrong order"),
    ("l04_nesterov_step", "plain momentum", _nesterov_plain, "plain momentum"),
    ("l04_nesterov_step", "step as buffer", _nesterov_returns_step, "not the Nesterov step"),
    ("l04_nesterov_step", "EMA", _nesterov_ema, "EMA"),
    # lesson 05
    ("l05_adagrad_step", "not squared",
     lambda p, g, s, lr=1e-2, eps=1e-10: (p - lr * g / (torch.sqrt(s + g) + eps), s + g), "SQUARED"),
    ("l05_adagrad_step", "eps inside",
     lambda p, g, s, lr=1e-2, eps=1e-10: (p - lr * g / torch.sqrt(s + g * g + eps), s + g * g), "outside the square root"),
    ("l05_adagrad_step", "no sqrt",
     lambda p, g, s, lr=1e-2, eps=1e-10: (p - lr * g / (s + g * g + eps), s + g * g), "square root of the sum"),
    ("l05_adagrad_step", "old sum",
     lambda p, g, s, lr=1e-2, eps=1e-10: (p - lr * g / (torch.sqrt(s) + eps), s + g * g), "NEW sum"),
    ("l05_rmsprop_step", "not squared",
     lambda p, g, v, lr=1e-2, alpha=0.99, eps=1e-8: (
         p - lr * g / (torch.sqrt((alpha * v + (1 - alpha) * g).abs()) + eps), alpha * v + (1 - alpha) * g),
     "square the gradient"),
    ("l05_rmsprop_step", "alpha swapped",
     lambda p, g, v, lr=1e-2, alpha=0.99, eps=1e-8: (
         p - lr * g / (torch.sqrt((1 - alpha) * v + alpha * g * g) + eps), (1 - alpha) * v + alpha * g * g),
     "swapped"),
    ("l05_rmsprop_step", "eps inside",
     lambda p, g, v, lr=1e-2, alpha=0.99, eps=1e-8: (
         p - lr * g / torch.sqrt(alpha * v + (1 - alpha) * g * g + eps), alpha * v + (1 - alpha) * g * g),
     "outside the square root"),
    ("l05_adam_step", "g not squared", _wrong_adam(square=False), "did you square the gradient"),
    ("l05_adam_step", "no bias correction", _wrong_adam(correct=False), "bias correction"),
    ("l05_adam_step", "betas swapped", _wrong_adam(swap=True), "swapped"),
    ("l05_adam_step", "t - 1", _wrong_adam(t_shift=-1), "off by one"),
    ("l05_adam_step", "eps inside", _wrong_adam(eps_inside=True), "outside the square root"),
]


@pytest.mark.parametrize("grade_id, label, wrong, keyword", WRONG, ids=[f"{g}-{lab}" for g, lab, *_ in WRONG])
def test_wrong_implementation_is_diagnosed(grade_id, label, wrong, keyword):
    # what the learner sees: the inline check on the visible cases
    with pytest.raises(CheckFailed) as info:
        check(wrong, grade_id)
    feedback = "\n".join(line for line in info.value.lines if line.startswith("  - "))
    assert keyword.lower() in feedback.lower(), f"{label}: expected {keyword!r} in\n{info.value}"
    # and the grader (all cases) fails it too
    assert not all(o.ok for o in case_outcomes(grade_id, wrong))


def test_every_lesson_exercise_has_two_wrong_implementations():
    counts = {g: 0 for g in LESSON_EXERCISES}
    for grade_id, *_ in WRONG:
        counts[grade_id] += 1
    assert all(n >= 2 for n in counts.values()), counts


# ------------------------------------------------------------------ the protocol's edges

def _not_implemented(*args, **kwargs):
    raise NotImplementedError()


@pytest.mark.parametrize("grade_id", sorted(LESSON_EXERCISES))
def test_not_implemented_is_reported(grade_id):
    outcomes = case_outcomes(grade_id, _not_implemented)
    assert outcomes and all(not o.ok and "not implemented" in o.message for o in outcomes)


def _takes_tensors(grade_id: str) -> bool:
    return any(isinstance(a, torch.Tensor) and a.is_floating_point() for a in get(grade_id).cases(0)[0].args)


def _mutating(grade_id: str):
    right = solution(grade_id)

    def fn(*args, **kwargs):
        out = right(*args, **kwargs)
        next(a for a in args if isinstance(a, torch.Tensor) and a.is_floating_point()).add_(1.0)
        return out
    return fn


@pytest.mark.parametrize("grade_id", [g for g in sorted(LESSON_EXERCISES) if _takes_tensors(g)])
def test_changing_an_input_in_place_fails(grade_id):
    outcomes = case_outcomes(grade_id, _mutating(grade_id))
    assert outcomes and all(not o.ok and "in place" in o.message for o in outcomes)


@pytest.mark.parametrize("grade_id", sorted(LESSON_EXERCISES))
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


def test_check_runs_only_visible_cases():
    # hidden cases are the grader's: check() never runs or names them
    for grade_id in LESSON_EXERCISES:
        visible = [c.name for c in get(grade_id).cases(0) if not c.hidden]
        with pytest.raises(CheckFailed) as info:
            check(_not_implemented, grade_id)
        assert info.value.lines[0].endswith(f"0 of {len(visible)} checks pass.")
        shown = [line[4:].split(": ")[0] for line in info.value.lines if line.startswith("  - ")]
        assert shown == visible[:3]


def test_adam_accepts_torch_arrangement_of_eps():
    # p - (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps), as torch writes it, passes too
    def adam_torch_form(p, g, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        b1, b2 = betas
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        step_size = lr / (1 - b1 ** t)
        denom = torch.sqrt(v) / math.sqrt(1 - b2 ** t) + eps
        return p - step_size * m / denom, m, v

    assert all(o.ok for o in case_outcomes("l05_adam_step", adam_torch_form))


# ------------------------------------------------------------------ the notebooks

def test_there_are_solution_notebooks():
    names = {p.name for p in NOTEBOOKS}
    for name in ("01_loss_functions.ipynb", "02_gradient_descent.ipynb", "03_learning_rate.ipynb",
                 "04_momentum.ipynb", "05_adaptive_methods.ipynb"):
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


def test_notebooks_are_what_build_solutions_writes():
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("_build_solutions", ROOT / "tools" / "build_solutions.py")
    build_solutions = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = build_solutions          # dataclasses look their module up there
    spec.loader.exec_module(build_solutions)
    lessons = {lesson.filename: lesson for lesson in build_solutions.LESSONS}
    for path in NOTEBOOKS:
        text = nbformat.writes(build_solutions.build(lessons[path.name])) + "\n"
        assert path.read_text(encoding="utf-8") == text, f"run: python tools/build_solutions.py {path.name[:2]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_exercise_version_runs_and_reports_not_implemented(path):
    # the learner's notebook, as the generator makes it: every cell runs, every check says
    # "not implemented" (and nothing else breaks before the learner has written a line)
    from course_lib.exercises.generate import generate_notebook

    nb = generate_notebook(read_notebook(path), name=path.name)
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


GARBAGE = [
    None, True, 0, 1.5, float("nan"), "text", [], (), {"a": 1}, [1, 2], (1.0, 2.0, 3.0),
    torch.tensor(1.0), torch.tensor(float("nan")), torch.zeros(3), torch.zeros(2, 2, dtype=torch.int64),
    torch.tensor([True]), torch.full((3,), float("inf")), (torch.zeros(1), torch.zeros(1)),
    (torch.zeros(1),) * 3, [torch.tensor(float("nan"))] * 2, [[1, 2], [3]], [torch.zeros(())],
]


@pytest.mark.parametrize("grade_id", sorted(LESSON_EXERCISES))
def test_compare_survives_any_returned_value(grade_id):
    # compare runs in the grader with whatever a submission sent: it must answer, never raise
    ex = get(grade_id)
    for case in ex.cases(0):
        expected = ex.reference(*case.args, **case.kwargs)
        for value in GARBAGE:
            message = ex.compare(case, expected, codec.decode(codec.encode(value)))
            assert message is None or (isinstance(message, str) and message), (value, case.name)
