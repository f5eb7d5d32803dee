"""What is specific to one lesson's exercises (the battery every exercise passes is
tests/test_exercise_specs.py).

- the references agree with torch, course_lib and NumPy where they have the algorithm;
- other right forms of an answer pass (torch's arrangement of Adam's eps, a tensor instead of a
  list, a Python float instead of a 0-dim tensor, ...);
- the feedback on a hidden case does not give its answer away.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import torch
from exercise_mistakes import wrong_implementation
from exercise_support import SEEDS, case_outcomes, solution

from course_lib.exercises.core import get, run_case

# ------------------------------------------------------------------ lesson 05

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


# ------------------------------------------------------------------ lessons 06-08

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
    wrong = wrong_implementation("l08_find_spikes", "mean")
    for case in ex.cases(0):
        outcome = run_case(ex, wrong, case)
        if case.hidden and not outcome.ok:
            assert "expected steps" not in outcome.message and "[" not in outcome.message


# ------------------------------------------------------------------ lessons 09-12

def test_sweep_reference_is_geomspace():
    ref = get("l09_exponential_lr_schedule").reference
    for case in get("l09_exponential_lr_schedule").cases(3):
        got = ref(*case.args)
        assert got == pytest.approx(list(np.geomspace(*case.args)), rel=1e-12)
        assert got[0] == pytest.approx(case.args[0], rel=1e-15) and got[-1] == pytest.approx(case.args[1], rel=1e-12)


def test_smoothing_reference_is_an_unbiased_average():
    ref = get("l09_smooth_losses").reference
    assert ref([2.5] * 7, beta=0.9) == pytest.approx([2.5] * 7, rel=1e-12)   # the correction removes the bias
    losses = [3.0, 1.0, 2.0]
    weights = [0.98 ** k for k in range(3)][::-1]                               # oldest gets the smallest
    assert ref(losses)[-1] == pytest.approx(sum(w * x for w, x in zip(weights, losses)) / sum(weights))


def test_newton_reference_minimises_the_quadratic():
    ex = get("l10_newton_step")
    for case in ex.cases(4):
        g, H = case.args
        d = ex.reference(g, H)
        torch.testing.assert_close((H.double() @ d.double() + g.double()).to(g.dtype),
                                   torch.zeros_like(g), atol=1e-4 if g.dtype == torch.float32 else 1e-9, rtol=0)


def test_two_loop_reference_matches_course_lib_and_the_secant_condition():
    from course_lib.second_order import two_loop_direction

    ex = get("l10_two_loop_direction")
    for seed in SEEDS:
        for case in ex.cases(seed):
            g, s_list, y_list = (a.double() if isinstance(a, torch.Tensor) else [t.double() for t in a]
                                 for a in case.args)
            want = ex.reference(*case.args).double()
            gamma = float(s_list[-1] @ y_list[-1]) / float(y_list[-1] @ y_list[-1]) if s_list else 1.0
            tol = 1e-4 if case.args[0].dtype == torch.float32 else 1e-9
            torch.testing.assert_close(two_loop_direction(g, s_list, y_list, gamma), want, rtol=tol, atol=tol)
            if s_list:        # BFGS: H_k y_newest = s_newest
                torch.testing.assert_close(ex.reference(y_list[-1], s_list, y_list), s_list[-1],
                                           rtol=1e-9, atol=1e-9)


def test_classify_reference_on_textbook_points():
    ref = get("l11_classify_critical_point").reference
    t = functools.partial(torch.tensor, dtype=torch.float64)
    assert ref(t([[2.0, 0.0], [0.0, -2.0]])) == "saddle"
    assert ref(t([[1.0, 2.0], [2.0, 1.0]])) == "saddle"
    assert ref(-torch.eye(2, dtype=torch.float64)) == "maximum"
    assert ref(t([[2.0, 0.0], [0.0, 0.0]])) == "degenerate"
    assert ref(t([[1e-9, 0.0], [0.0, 1.0]])) == "degenerate"
    assert ref(t([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, -1.0]])) == "saddle"
    from course_lib.landscapes import get_landscape
    assert ref(get_landscape("saddle").hessian((0.0, 0.0)).double()) == "saddle"


def test_power_iteration_reference_converges_to_the_top_eigenvalue():
    ex = get("l11_power_iteration")
    for case in ex.cases(5):
        A, v0, iters = case.args
        if iters >= 60:
            lam = torch.linalg.eigvalsh(A.double())
            assert float(ex.reference(A, v0, iters)) == pytest.approx(float(lam[lam.abs().argmax()]), rel=1e-6)


def test_unigram_reference_matches_a_direct_count():
    ex = get("l12_unigram_bits_per_char")
    for case in ex.cases(6):
        train, test, vocab = case.args
        assert set(train) | set(test) <= set(vocab)
        p = {c: (train.count(c) + 1) / (len(train) + len(vocab)) for c in vocab}
        assert sum(p.values()) == pytest.approx(1.0)
        assert ex.reference(train, test, vocab) == pytest.approx(
            float(np.mean([-np.log2(p[c]) for c in test])), rel=1e-12)


def test_compression_reference_agrees_with_cross_entropy_in_bits():
    import torch.nn.functional as F

    logits = torch.randn(50, 7, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    targets = torch.arange(50) % 7
    nats = float(F.cross_entropy(logits, targets))
    bits = float(-(torch.log_softmax(logits, 1)[torch.arange(50), targets] / math.log(2)).mean())
    bpc, ppl, size = get("l12_compression_numbers").reference(nats, 50)
    assert bpc == pytest.approx(bits) and ppl == pytest.approx(2 ** bits) and size == pytest.approx(50 * bits / 8)


def test_sweep_and_smoothing_accept_arrays_and_tensors():
    assert all(o.ok for o in case_outcomes("l09_exponential_lr_schedule", lambda s, e, n: np.geomspace(s, e, n)))
    assert all(o.ok for o in case_outcomes("l09_exponential_lr_schedule",
                                       lambda s, e, n: torch.logspace(math.log10(s), math.log10(e), n,
                                                                      dtype=torch.float64)))
    from course_lib.lr_finder import smooth_losses
    assert all(o.ok for o in case_outcomes("l09_smooth_losses", lambda losses, beta=0.98: smooth_losses(losses, beta)))


def test_newton_accepts_an_explicit_inverse_and_two_loop_accepts_course_lib():
    assert all(o.ok for o in case_outcomes("l10_newton_step", lambda g, H: -torch.linalg.inv(H) @ g))
    from course_lib.second_order import two_loop_direction

    def lib(g, s_list, y_list):
        gamma = float(s_list[-1] @ y_list[-1]) / float(y_list[-1] @ y_list[-1]) if s_list else 1.0
        return two_loop_direction(g, s_list, y_list, gamma)

    assert all(o.ok for o in case_outcomes("l10_two_loop_direction", lib))


def test_power_iteration_and_compression_accept_python_floats():
    right = solution("l11_power_iteration")
    assert all(o.ok for o in case_outcomes("l11_power_iteration", lambda *a: float(right(*a))))
    as_tensors = lambda L, n: tuple(torch.tensor(x, dtype=torch.float64)  # noqa: E731
                                    for x in solution("l12_compression_numbers")(L, n))
    assert all(o.ok for o in case_outcomes("l12_compression_numbers", as_tensors))


def test_hidden_case_feedback_does_not_show_the_answer():
    ex = get("l11_classify_critical_point")
    wrong = lambda hessian, tol=1e-6: "minimum"  # noqa: E731
    for case in ex.cases(0):
        outcome = run_case(ex, wrong, case)
        if case.hidden and not outcome.ok:
            assert "eigenvalues say" not in outcome.message
