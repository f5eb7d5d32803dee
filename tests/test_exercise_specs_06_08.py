"""The exercises of lessons 06-08 (AdamW, schedules, clipping) and their solution notebooks.

The same guarantees as tests/test_exercise_specs.py gives for lessons 01-05:
- each exercise is registered with its function and points, has >= 5 visible cases and a hidden
  one, a one-line hint, and cases that are plain data and deterministic in the seed;
- the solution cell of its notebook passes every case (visible and hidden) for several seeds;
- typical wrong implementations fail, and the feedback names the mistake;
- the protocol's edges: not implemented, inputs changed in place, what check() prints, hidden
  cases stay hidden, compare() survives any returned value;
- the references agree with torch where torch has the algorithm;
- each notebook is a valid nbgrader source with unique grade_ids and the registry's points, the
  generated exercise version runs (fresh-kernel runs: tests/test_exercise_specs.py).
"""

from __future__ import annotations

import math
import statistics

import pytest
import torch
from exercise_support import (
    SEEDS,
    SOLUTIONS,
    case_outcomes,
    nbgrader_cells,
    solution,
    solution_sources,
)

from course_lib.exercises import codec
from course_lib.exercises.core import CheckFailed, all_exercises, check, get, run_case

NOTEBOOKS = [SOLUTIONS / name for name in
             ("06_adamw.ipynb", "07_lr_schedules.ipynb", "08_gradient_clipping.ipynb")]

# grade_id -> (function, points)
LESSON_EXERCISES = {
    "l06_adamw_step": ("adamw_step", 3), "l06_split_decay_groups": ("split_decay_groups", 2),
    "l06_weights_and_state_gb": ("weights_and_state_gb", 1),
    "l07_warmup_cosine_lr": ("warmup_cosine_lr", 2), "l07_wsd_lr": ("wsd_lr", 2),
    "l08_clip_global_norm": ("clip_global_norm", 3), "l08_clip_per_tensor": ("clip_per_tensor", 1),
    "l08_find_spikes": ("find_spikes", 2),
}
IDS = sorted(LESSON_EXERCISES)


# ------------------------------------------------------------------ the registry

def test_lessons_06_to_08_are_registered():
    exercises = all_exercises()
    for grade_id, (function, points) in LESSON_EXERCISES.items():
        assert grade_id in exercises, f"{grade_id} is not registered"
        assert (exercises[grade_id].function, exercises[grade_id].points) == (function, points)


@pytest.mark.parametrize("grade_id", IDS)
def test_exercise_has_varied_plain_cases_and_a_hint(grade_id):
    ex = get(grade_id)
    assert 1 <= ex.points <= 3
    assert ex.hint and "\n" not in ex.hint
    assert not ex.mutates_inputs_ok
    for seed in SEEDS:
        cases = ex.cases(seed)
        visible = [c for c in cases if not c.hidden]
        assert len(visible) >= 5 and len(cases) > len(visible), "want >= 5 visible cases and a hidden one"
        assert len({c.name for c in cases}) == len(cases), "case names must be unique"
        assert not any(": " in c.name for c in cases), "': ' in a case name reads as the feedback"
        for c in cases:                                  # cases cross the grading boundary as plain data
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


# ------------------------------------------------------------------ the references agree with torch

def test_adamw_reference_matches_course_lib_adamw_update():
    from course_lib.optim import adamw_update_

    ex = get("l06_adamw_step")
    for case in ex.cases(3):
        p, g, m, v, t = (a.clone() if isinstance(a, torch.Tensor) else a for a in case.args)
        hp = {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 1e-2, **case.kwargs}
        adamw_update_(p, g, m, v, t=t, lr=hp["lr"], beta1=hp["betas"][0], beta2=hp["betas"][1],
                      eps=hp["eps"], weight_decay=hp["weight_decay"])
        expected = ex.reference(*case.args, **case.kwargs)
        for got, want in zip((p, m, v), expected):
            torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-7)


def test_split_reference_matches_param_groups_for_weight_decay():
    from course_lib.models import CharTransformer, param_groups_for_weight_decay

    torch.manual_seed(0)
    model = CharTransformer(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=8, device="cpu")
    named = [(n, tuple(p.shape)) for n, p in model.named_parameters()]
    decay, no_decay = get("l06_split_decay_groups").reference(named)
    groups = param_groups_for_weight_decay(model, 0.1)
    by_id = {id(p): n for n, p in model.named_parameters()}
    assert decay == [by_id[id(p)] for p in groups[0]["params"]]
    assert no_decay == [by_id[id(p)] for p in groups[1]["params"]]
    # and the spec's copy of CharTransformer's names is the real thing
    from course_lib.exercises.specs.lesson06 import _char_transformer
    assert _char_transformer(2, 8, 11, 8) == named


def _torch_lrs(opt, scheduler, steps: int) -> list[float]:
    lrs = []
    for _ in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        scheduler.step()
    return lrs


def test_warmup_cosine_reference_matches_torch_schedulers():
    from torch.optim.lr_scheduler import CosineAnnealingLR, LinearLR, SequentialLR

    ref = get("l07_warmup_cosine_lr").reference
    W, T, peak, floor = 10, 110, 6e-4, 0.1
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=peak)
    scheduler = SequentialLR(opt, [LinearLR(opt, start_factor=1 / (W + 1), total_iters=W),
                                   CosineAnnealingLR(opt, T_max=T - W, eta_min=floor * peak)],
                             milestones=[W])
    lrs = _torch_lrs(opt, scheduler, T + 1)
    assert [ref(t, W, T, peak, floor) for t in range(T + 1)] == pytest.approx(lrs, rel=1e-9)
    assert ref(T + 50, W, T, peak, floor) == pytest.approx(floor * peak)   # held, not climbing back


def test_wsd_reference_matches_torch_schedulers():
    from torch.optim.lr_scheduler import ConstantLR, LinearLR, SequentialLR

    ref = get("l07_wsd_lr").reference
    W, D, T, peak, floor = 10, 20, 100, 1e-3, 0.1
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=peak)
    scheduler = SequentialLR(opt, [LinearLR(opt, start_factor=1 / (W + 1), total_iters=W),
                                   ConstantLR(opt, factor=1.0, total_iters=0),
                                   LinearLR(opt, start_factor=1.0, end_factor=floor, total_iters=D)],
                             milestones=[W, T - D])
    lrs = _torch_lrs(opt, scheduler, T + 1)
    assert [ref(t, W, D, T, peak, floor) for t in range(T + 1)] == pytest.approx(lrs, rel=1e-9)


@pytest.mark.parametrize("grade_id", ["l08_clip_global_norm", "l08_clip_per_tensor"])
def test_clip_references_match_course_lib_clipping(grade_id):
    from course_lib.clipping import clip_grad_norm_, clip_grad_norm_per_param_

    ex = get(grade_id)
    for case in ex.cases(5):
        grads, max_norm = case.args
        params = []
        for g in grads:
            p = torch.zeros_like(g, requires_grad=True)
            p.grad = g.clone()
            params.append(p)
        if grade_id == "l08_clip_global_norm":
            norm = clip_grad_norm_(params, max_norm)
            clipped, ref_norm = ex.reference(grads, max_norm)
            torch.testing.assert_close(ref_norm, norm)
        else:
            clip_grad_norm_per_param_(params, max_norm)
            clipped = ex.reference(grads, max_norm)
        for c, p in zip(clipped, params):
            torch.testing.assert_close(c, p.grad)


# ------------------------------------------------------------------ wrong answers are diagnosed
# Each entry: a typical wrong implementation and a word its feedback must contain.

def _adamw(p, g, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, *, how=""):
    b1, b2 = betas
    if how == "l2":
        g = g + weight_decay * p
    if how not in ("l2", "none", "after"):
        p = p * (1 - (weight_decay if how == "no lr" else lr * weight_decay))
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    m_hat, v_hat = (m, v) if how == "no bias" else (m / (1 - b1 ** t), v / (1 - b2 ** t))
    p = p - lr * m_hat / (torch.sqrt(v_hat) + eps)
    if how == "after":
        p = p * (1 - lr * weight_decay)
    return p, m, v


def _wrong_adamw(how):
    return lambda p, g, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2: _adamw(
        p, g, m, v, t, lr, betas, eps, weight_decay, how=how)


def _split_by(rule):
    def split(named_shapes):
        decay = [n for n, s in named_shapes if rule(n, s)]
        return decay, [n for n, s in named_shapes if n not in decay]
    return split


def _memory(bytes_of):
    """A wrong weights_and_state_gb: bytes_of(n, b, s) bytes, divided by 1e9."""
    return lambda n_params, bytes_per_value=4, states_per_param=2: bytes_of(
        n_params, bytes_per_value, states_per_param) / 1e9


def _cosine(step, W, T, peak, floor=0.1, *, ramp=None, hold=True, span="decay", floor_on=True):
    if step < W:
        return peak * (ramp or (lambda t, w: (t + 1) / (w + 1)))(step, W)
    t = min(step, T) if hold else step
    x = (t - W) / (T - W) if span == "decay" else t / T
    c = (1 + math.cos(math.pi * x)) / 2
    return peak * (floor + (1 - floor) * c) if floor_on else peak * c


def _wrong_cosine(**how):
    return lambda step, W, T, peak, floor=0.1: _cosine(step, W, T, peak, floor, **how)


def _wsd(step, W, D, T, peak, floor=0.0, *, ramp=None, start=None, hold=True, shape=None):
    s0 = T - D if start is None else start(W, D, T)
    if step < W:
        return peak * (ramp or (lambda t, w: (t + 1) / (w + 1)))(step, W)
    if step < s0:
        return peak
    x = ((min(step, T) if hold else step) - s0) / (T - s0)
    return peak * (floor + (1 - floor) * (shape or (lambda x: 1 - x))(x))


def _wrong_wsd(**how):
    return lambda step, W, D, T, peak, floor=0.0: _wsd(step, W, D, T, peak, floor, **how)


def _clip(grads, max_norm, *, per_tensor=False, clamp=True, norm="l2", eps=1e-6, report="before"):
    def measure(gs):
        flat = torch.cat([g.reshape(-1) for g in gs])
        return {"l2": flat.pow(2).sum().sqrt(), "l1": flat.abs().sum(), "squares": flat.pow(2).sum()}[norm]

    if per_tensor:
        coefs = [max_norm / (measure([g]) + eps) for g in grads]
        total = measure(grads)
    else:
        total = measure(grads)
        coefs = [max_norm / (total + eps)] * len(grads)
    if clamp:
        coefs = [torch.clamp(c, max=1.0) for c in coefs]
    clipped = [g * c for g, c in zip(grads, coefs)]
    return clipped, (measure(clipped) if report == "after" else total)


def _wrong_global(**how):
    return lambda grads, max_norm: _clip(grads, max_norm, **how)


def _wrong_per_tensor(**how):
    return lambda grads, max_norm: _clip(grads, max_norm, **how)[0]


def _clip_in_place(grads, max_norm):
    total = torch.stack([(g * g).sum() for g in grads]).sum().sqrt()
    coef = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    for g in grads:
        g.mul_(coef)                       # what clip_grad_norm_ does to .grad
    return grads, total


def _spikes(norms, factor=10.0, window=25, *, history=None, stat=statistics.median, ge=False, start=None,
            one_based=False):
    out = []
    for i in range(window if start is None else start, len(norms)):
        values = (history or (lambda i: norms[max(0, i - window):i]))(i)
        if not values:
            continue
        level = factor * stat(values)
        if norms[i] >= level if ge else norms[i] > level:
            out.append(i + 1 if one_based else i)
    return out


def _wrong_spikes(**how):
    return lambda norms, factor=10.0, window=25: _spikes(norms, factor, window, **how)


def _spikes_including_current(norms, factor=10.0, window=25):
    return _spikes(norms, factor, window, history=lambda i: norms[i - window + 1:i + 1])


WRONG = [
    # lesson 06
    ("l06_adamw_step", "L2 in the gradient", _wrong_adamw("l2"), "L2"),
    ("l06_adamw_step", "no decay", _wrong_adamw("none"), "decay is missing"),
    ("l06_adamw_step", "decay not times lr", _wrong_adamw("no lr"), "multiplied by the learning rate"),
    ("l06_adamw_step", "decay after the step", _wrong_adamw("after"), "OLD weights"),
    ("l06_adamw_step", "no bias correction", _wrong_adamw("no bias"), "bias correction"),
    ("l06_split_decay_groups", "decays biases", _split_by(lambda n, s: len(s) >= 2 or "bias" in n), "biases"),
    ("l06_split_decay_groups", "decays norm scales",
     _split_by(lambda n, s: len(s) >= 2 or (len(s) == 1 and "bias" not in n)), "LayerNorm"),
    ("l06_split_decay_groups", "by name 'weight'", _split_by(lambda n, s: "weight" in n), "by the name"),
    ("l06_split_decay_groups", "no 'bias' in name", _split_by(lambda n, s: "bias" not in n), "by the name"),
    ("l06_split_decay_groups", "ndim > 2", _split_by(lambda n, s: len(s) > 2), "2-D weight matrices"),
    ("l06_split_decay_groups", "nothing", lambda ns: ([], [n for n, _ in ns]), "should be decayed"),
    ("l06_split_decay_groups", "swapped",
     lambda ns: tuple(reversed(_split_by(lambda n, s: len(s) >= 2)(ns))), "swapped"),
    ("l06_split_decay_groups", "pairs", lambda ns: ([x for x in ns if len(x[1]) >= 2],
                                                    [x for x in ns if len(x[1]) < 2]), "names only"),
    ("l06_split_decay_groups", "sorted", lambda ns: tuple(sorted(part) for part in
                                                          _split_by(lambda n, s: len(s) >= 2)(ns)), "order"),
    ("l06_weights_and_state_gb", "state only", _memory(lambda n, b, s: n * b * s), "optimizer state alone"),
    ("l06_weights_and_state_gb", "weights only", _memory(lambda n, b, s: n * b), "weights alone"),
    ("l06_weights_and_state_gb", "GiB", _memory(lambda n, b, s: n * b * (1 + s) * 1e9 / 2 ** 30), "GiB"),
    ("l06_weights_and_state_gb", "bits", _memory(lambda n, b, s: n * b * 8 * (1 + s)), "bits"),
    ("l06_weights_and_state_gb", "with gradients", _memory(lambda n, b, s: n * b * (2 + s)), "gradients"),
    ("l06_weights_and_state_gb", "bytes", _memory(lambda n, b, s: n * b * (1 + s) * 1e9), "number of bytes"),
    # lesson 07
    ("l07_warmup_cosine_lr", "warmup t / W", _wrong_cosine(ramp=lambda t, w: t / w), "off by one"),
    ("l07_warmup_cosine_lr", "no floor", _wrong_cosine(floor_on=False), "floor is missing"),
    ("l07_warmup_cosine_lr", "cosine over t / T", _wrong_cosine(span="total"), "end of the warmup"),
    ("l07_warmup_cosine_lr", "not held", _wrong_cosine(hold=False), "stays at the floor"),
    ("l07_warmup_cosine_lr", "multiplier",
     lambda step, W, T, peak, floor=0.1: _cosine(step, W, T, peak, floor) / peak, "multiply it by peak_lr"),
    ("l07_wsd_lr", "warmup t / W", _wrong_wsd(ramp=lambda t, w: t / w), "off by one"),
    ("l07_wsd_lr", "decay from the warmup", _wrong_wsd(start=lambda W, D, T: W), "LAST decay_steps"),
    ("l07_wsd_lr", "decay_steps as a start", _wrong_wsd(start=lambda W, D, T: D), "length of the decay"),
    ("l07_wsd_lr", "not held", _wrong_wsd(hold=False), "stays at the floor"),
    ("l07_wsd_lr", "1-sqrt", _wrong_wsd(shape=lambda x: 1 - math.sqrt(x)), "linear"),
    # lesson 08
    ("l08_clip_global_norm", "per tensor", _wrong_global(per_tensor=True), "each tensor by its own norm"),
    ("l08_clip_global_norm", "no clamp", _wrong_global(clamp=False), "UP"),
    ("l08_clip_global_norm", "norm after clipping", _wrong_global(report="after"), "BEFORE clipping"),
    ("l08_clip_global_norm", "L1", _wrong_global(norm="l1"), "L1 norm"),
    ("l08_clip_global_norm", "no sqrt", _wrong_global(norm="squares"), "square root"),
    ("l08_clip_global_norm", "no eps", _wrong_global(eps=0.0), "1e-6"),
    ("l08_clip_global_norm", "in place", _clip_in_place, "in place"),
    ("l08_clip_global_norm", "list only", lambda grads, max_norm: _clip(grads, max_norm)[0], "only the clipped"),
    ("l08_clip_per_tensor", "global", _wrong_per_tensor(), "ONE factor"),
    ("l08_clip_per_tensor", "no clamp", _wrong_per_tensor(per_tensor=True, clamp=False), "UP"),
    ("l08_clip_per_tensor", "by value", lambda grads, max_norm: [g.clamp(-max_norm, max_norm) for g in grads],
     "clip_grad_value_"),
    ("l08_clip_per_tensor", "no sqrt", _wrong_per_tensor(per_tensor=True, norm="squares"), "square root"),
    ("l08_find_spikes", "mean", _wrong_spikes(stat=statistics.fmean), "median"),
    ("l08_find_spikes", ">=", _wrong_spikes(ge=True), "strictly greater"),
    ("l08_find_spikes", "window includes step i", _spikes_including_current, "don't include"),
    ("l08_find_spikes", "partial windows", _wrong_spikes(start=1), "full window"),
    ("l08_find_spikes", "1-based", _wrong_spikes(one_based=True), "start at 0"),
    ("l08_find_spikes", "previous norm only",
     lambda norms, factor=10.0, window=25: _spikes(norms, factor, window, history=lambda i: norms[i - 1:i]),
     "not just the previous norm"),
    ("l08_find_spikes", "values", lambda norms, factor=10.0, window=25: [norms[i] for i in _spikes(
        norms, factor, window)], "norms"),
]


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
    counts = {g: 0 for g in LESSON_EXERCISES}
    for grade_id, *_ in WRONG:
        counts[grade_id] += 1
    assert all(n >= 2 for n in counts.values()), counts


def test_adamw_accepts_the_papers_arrangement_and_torchs():
    # p - lr * (adam_step + wd * p) is the same number as torch's decay-then-step
    def paper(p, g, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        b1, b2 = betas
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        step = (m / (1 - b1 ** t)) / (torch.sqrt(v / (1 - b2 ** t)) + eps)
        return p - lr * (step + weight_decay * p), m, v

    def torch_form(p, g, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        b1, b2 = betas
        p = p * (1 - lr * weight_decay)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        denom = torch.sqrt(v) / math.sqrt(1 - b2 ** t) + eps
        return p - lr / (1 - b1 ** t) * m / denom, m, v

    for fn in (paper, torch_form):
        assert all(o.ok for o in case_outcomes("l06_adamw_step", fn))


def test_schedules_accept_a_0_dim_tensor_and_float32_arithmetic():
    right = solution("l07_warmup_cosine_lr")
    as_f32 = lambda *a, **k: torch.tensor(right(*a, **k), dtype=torch.float32)  # noqa: E731
    assert all(o.ok for o in case_outcomes("l07_warmup_cosine_lr", as_f32))


def test_find_spikes_accepts_torch_median_and_a_tensor_of_indices():
    def with_torch(norms, factor=10.0, window=25):
        x = torch.tensor(norms, dtype=torch.float64)
        hits = [i for i in range(window, len(norms)) if x[i] > factor * x[i - window:i].median()]
        return torch.tensor(hits, dtype=torch.int64)

    assert all(o.ok for o in case_outcomes("l08_find_spikes", with_torch))


def test_hidden_case_feedback_does_not_show_the_steps():
    ex = get("l08_find_spikes")
    wrong = _wrong_spikes(stat=statistics.fmean)
    for case in ex.cases(0):
        outcome = run_case(ex, wrong, case)
        if case.hidden and not outcome.ok:
            assert "expected steps" not in outcome.message and "[" not in outcome.message


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
            return lambda: a.reverse() if len(a) > 1 else a.append(a[0])
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

    outcomes = [run_case(get(grade_id), fn, c) for c in get(grade_id).cases(0) if _first_mutable(c.args)]
    if grade_id == "l06_weights_and_state_gb" or grade_id.startswith("l07"):
        assert not outcomes                    # numbers only: nothing to change
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


def test_check_runs_only_visible_cases():
    for grade_id in IDS:
        visible = [c.name for c in get(grade_id).cases(0) if not c.hidden]
        with pytest.raises(CheckFailed) as info:
            check(_not_implemented, grade_id)
        assert info.value.lines[0].endswith(f"0 of {len(visible)} checks pass.")
        shown = [line[4:].split(": ")[0] for line in info.value.lines if line.startswith("  - ")]
        assert shown == visible[:3]


GARBAGE = [
    None, True, 0, 1.5, float("nan"), "text", [], (), {"a": 1}, [1, 2], (1.0, 2.0, 3.0), [True, False],
    torch.tensor(1.0), torch.tensor(float("nan")), torch.zeros(3), torch.zeros(2, 2, dtype=torch.int64),
    torch.tensor([True]), torch.full((3,), float("inf")), torch.zeros(0), torch.tensor([1, 2]),
    (torch.zeros(1), torch.zeros(1)), (torch.zeros(1),) * 3, [torch.tensor(float("nan"))] * 2,
    [[1, 2], [3]], [torch.zeros(())], (["a"], ["b"]), ([], []), ([("a", (1,))], []), ([1], ["x"]),
    ([torch.zeros(3)], torch.tensor(0.0)), (torch.tensor(0.0), [torch.zeros(3)]), [0.5, 1.5], [-1, 2],
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

# The nbgrader-source checks, the build_solutions round trip and the generated exercise
# version run for every solutions notebook in tests/test_exercise_specs.py; here, only what
# is specific to these lessons.

@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_holds_exactly_its_lessons_exercises(path):
    grade_ids, solutions, checks = nbgrader_cells(path)
    prefix = "l" + path.name[:2]
    assert sorted(solutions) == sorted(g for g in LESSON_EXERCISES if g.startswith(prefix + "_"))
    assert all(g.startswith(prefix + "_") for g in grade_ids)
    for grade_id in solutions:
        assert checks[f"{grade_id}_check"][1] == LESSON_EXERCISES[grade_id][1]
    assert len(checks) == len(solutions)


# Every solutions notebook is executed in a fresh kernel once, for all lessons, by
# tests/test_exercise_specs.py::test_notebook_runs_in_a_fresh_kernel.
