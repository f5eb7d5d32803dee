"""Forbidden shortcuts (``Exercise.forbidden``): every exercise that has a list is tested.

The tripwire (``course_lib.grading.kernel_boot.watch``) runs in the grading kernel around each
call of the learner's function. Here it runs in this process on every case of every seed:
the solution notebook's function calls nothing forbidden, and a cheat that calls the shortcut
(usually the reference itself, which is built on it) is caught. The end-to-end path (a
submission in the sandbox, scored 0 with a note) is in tests/test_grading.py
(``forbidden_*`` submissions).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from exercise_support import solution

from course_lib.exercises import codec, core
from course_lib.grading import kernel_boot

SEEDS = (0, 1)
WITH_LISTS = sorted(g for g, ex in core.all_exercises().items() if ex.forbidden and g.startswith("l"))


def _lstsq_fit(sqft, price, lr=0.1, steps=500):
    X = torch.stack([sqft.double(), torch.ones_like(sqft.double())], dim=1)
    w, b = torch.linalg.lstsq(X, price.double().unsqueeze(1)).solution.squeeze(1).tolist()
    return w, b


def _optim_trajectory(lr, w0, steps):
    w = torch.tensor(float(w0), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([w], lr=lr)
    path = [w.item()]
    for _ in range(steps):
        opt.zero_grad()
        (w ** 2).backward()
        opt.step()
        path.append(w.item())
    return path


def _library_two_loop(g, s_list, y_list):
    from course_lib.second_order import two_loop_direction

    if not s_list:
        return g.clone()
    gamma = float(s_list[-1] @ y_list[-1] / (y_list[-1] @ y_list[-1]))
    return two_loop_direction(g, s_list, y_list, gamma)


def _library_wolfe(coeffs):
    from course_lib.second_order import strong_wolfe_line_search

    def evaluate(t):  # the quartic slice phi(t) = sum_k a_k t^k, as a 1-D function of x = t
        x = torch.tensor([float(t)], dtype=torch.float64)
        a = coeffs.double()
        return float(sum(a[k] * x ** k for k in range(len(a)))), sum(k * a[k] * x ** (k - 1) for k in range(1, len(a)))

    f0, g0 = evaluate(0.0)
    t, *_ = strong_wolfe_line_search(evaluate, f0, g0, torch.ones(1, dtype=torch.float64), 1.0)
    return t


def _eigen_power(matrix, v0, iters):
    eig = torch.linalg.eigvalsh(matrix.double())
    return eig[eig.abs().argmax()].to(matrix.dtype)


def _library_ring_bytes(n_params, world_size, bytes_per_value=4):
    from course_lib.distributed import ring_allreduce_bytes

    return ring_allreduce_bytes(n_params, world_size, bytes_per_value)


def _softmax_library(logits, targets):
    return -F.log_softmax(logits, dim=1)[torch.arange(logits.shape[0]), targets].mean()


# grade_id -> a function that takes the shortcut ("reference": the spec's reference does)
CHEATS = {
    "l01_mse": "reference",
    "l01_cross_entropy": "reference",
    "l01_softmax_grad": "reference",
    "l02_finite_difference_grad": "reference",
    "l02_fit_house_prices": _lstsq_fit,
    "l02_mlp_backward": "reference",
    "l03_gd_trajectory": _optim_trajectory,
    "l04_momentum_step": "reference",
    "l04_nesterov_step": "reference",
    "l05_adagrad_step": "reference",
    "l05_rmsprop_step": "reference",
    "l05_adam_step": "reference",
    "l06_adamw_step": "reference",
    "l07_warmup_cosine_lr": "reference",
    "l07_wsd_lr": "reference",
    "l08_clip_global_norm": "reference",
    "l08_clip_per_tensor": "reference",
    "l09_exponential_lr_schedule": "reference",
    "l09_smooth_losses": "reference",
    "l10_two_loop_direction": _library_two_loop,
    "l10_wolfe_step": _library_wolfe,
    "l11_power_iteration": _eigen_power,
    "l13_clip_sharded": "reference",
    "l13_ring_allreduce_bytes": _library_ring_bytes,
}


def _calls(fn, ex, seed: int) -> set[str]:
    """The forbidden names ``fn`` calls on the exercise's cases (all of them, hidden included)."""
    hits: set[str] = set()
    for case in ex.cases(seed):
        args = codec.decode(codec.encode(tuple(case.args)))
        kwargs = codec.decode(codec.encode(dict(case.kwargs)))
        tripwire = kernel_boot.watch(ex.forbidden)
        with tripwire:
            fn(*args, **kwargs)
        hits |= tripwire.hits
    return hits


def test_every_exercise_with_a_list_has_a_cheat_here():
    assert set(CHEATS) == set(WITH_LISTS)


@pytest.mark.parametrize("grade_id", WITH_LISTS)
def test_every_forbidden_name_resolves(grade_id):
    ex = core.get(grade_id)
    for name in ex.forbidden:
        kernel_boot.resolve(name)
    targets = kernel_boot.targets(ex.forbidden)
    assert not targets.unresolved


@pytest.mark.parametrize("grade_id", WITH_LISTS)
@pytest.mark.parametrize("seed", SEEDS)
def test_the_solution_calls_nothing_forbidden(grade_id, seed):
    ex = core.get(grade_id)
    fn = solution(grade_id)
    assert _calls(fn, ex, seed) == set()
    assert all(core.run_case(ex, fn, c).ok for c in ex.cases(seed))


@pytest.mark.parametrize("grade_id", WITH_LISTS)
def test_the_shortcut_is_caught(grade_id):
    ex = core.get(grade_id)
    cheat = ex.reference if CHEATS[grade_id] == "reference" else CHEATS[grade_id]
    hits = _calls(cheat, ex, 0)
    assert hits and hits <= set(ex.forbidden), hits


def test_a_rebound_shortcut_and_a_library_alias_are_caught(monkeypatch):
    ex = core.get("l01_cross_entropy")
    assert "torch.nn.functional.log_softmax" in _calls(_softmax_library, ex, 0)
    assert "torch.nn.functional.cross_entropy" in _calls(lambda z, y: torch.nn.CrossEntropyLoss()(z, y), ex, 0)
    kernel_boot.targets(ex.forbidden)  # resolved first, as the kernel does before any learner code
    real = F.cross_entropy
    monkeypatch.setattr(F, "cross_entropy", lambda z, y: real(z, y))  # resolved before: still the original
    assert _calls(lambda z, y: F.cross_entropy(z, y), ex, 0) == {"torch.nn.functional.cross_entropy"}


def test_switching_the_tripwire_off_is_reported():
    import sys

    ex = core.get("l01_mse")

    def sneaky(pred, target):
        sys.setprofile(None)
        return F.mse_loss(pred, target)

    assert _calls(sneaky, ex, 0) == {kernel_boot._TAMPER_NAME}


def test_no_grad_and_other_torch_machinery_are_not_shortcuts():
    ex = core.get("l01_softmax_grad")

    def honest_with_no_grad(logits, targets):
        with torch.no_grad():
            p = torch.softmax(logits, dim=1)
            p[torch.arange(len(targets)), targets] -= 1
        return p / logits.shape[0]

    assert _calls(honest_with_no_grad, ex, 0) == set()
    assert np.isfinite(float(honest_with_no_grad(torch.zeros(2, 3), torch.tensor([0, 1])).sum()))
