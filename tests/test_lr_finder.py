"""course_lib.lr_finder: exact restoration, stopping rules, data handling, suggestions."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pytest
import torch
from torch import nn

matplotlib.use("Agg")

import course_lib.optim as ours  # noqa: E402
from course_lib.lr_finder import (  # noqa: E402
    LRFinderResult,
    exponential_lrs,
    lr_range_test,
    plot_lr_finder,
    smooth_losses,
    suggest_all,
    suggest_minimum_div_10,
    suggest_steepest,
    suggest_valley,
)

OPTIMIZERS = {
    "torch.SGD": lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9),
    "torch.Adam": lambda p: torch.optim.Adam(p, lr=1e-3),
    "ours.SGD": lambda p: ours.SGD(p, lr=0.05, momentum=0.9),
    "ours.Adam": lambda p: ours.Adam(p, lr=1e-3),
    "ours.AdamW": lambda p: ours.AdamW(p, lr=1e-3, weight_decay=0.1),
}


def make_problem(seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(256, 5, generator=gen)
    y = X @ torch.randn(5, 1, generator=gen) + 0.1 * torch.randn(256, 1, generator=gen)
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(5, 16), nn.BatchNorm1d(16), nn.Tanh(), nn.Linear(16, 1))

    def get_batch(i=[0]):  # noqa: B006 - a tiny deterministic cursor
        j = i[0] % 8
        i[0] += 1
        return X[32 * j : 32 * (j + 1)], y[32 * j : 32 * (j + 1)]

    return model, get_batch, nn.functional.mse_loss


def warm_up(model, opt, get_batch, steps=3):
    for _ in range(steps):
        x, t = get_batch()
        opt.zero_grad()
        nn.functional.mse_loss(model(x), t).backward()
        opt.step()


def snapshot(model, opt):
    import copy

    return copy.deepcopy(model.state_dict()), copy.deepcopy(opt.state_dict())


def assert_state_equal(a, b):
    if torch.is_tensor(a):
        assert torch.is_tensor(b) and a.dtype == b.dtype and a.shape == b.shape
        assert torch.equal(a, b), "tensor differs"
    elif isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            assert_state_equal(a[k], b[k])
    elif isinstance(a, list | tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_state_equal(x, y)
    else:
        assert a == b or (isinstance(a, float) and math.isnan(a) and math.isnan(b)), (a, b)


# ---------------------------------------------------------------------------------------------
# Restoration
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_model_and_optimizer_are_restored_bit_for_bit(name):
    model, get_batch, loss_fn = make_problem()
    opt = OPTIMIZERS[name](model.parameters())
    warm_up(model, opt, get_batch)  # non-empty optimizer state, moved BatchNorm statistics
    model.eval()
    before_model, before_opt = snapshot(model, opt)
    result = lr_range_test(model, opt, get_batch, loss_fn, num_iters=40, end_lr=1.0)
    assert len(result.lrs) > 5
    assert not model.training, "train/eval mode must be restored"
    assert_state_equal(before_model, model.state_dict())
    assert_state_equal(before_opt, opt.state_dict())
    assert opt.param_groups[0]["lr"] == before_opt["param_groups"][0]["lr"]
    # and training continues exactly as if the sweep had never happened
    model2, get_batch2, _ = make_problem()
    opt2 = OPTIMIZERS[name](model2.parameters())
    warm_up(model2, opt2, get_batch2)
    x, t = torch.ones(4, 5), torch.zeros(4, 1)
    for m, o in ((model, opt), (model2, opt2)):
        m.train()
        o.zero_grad()
        loss_fn(m(x), t).backward()
        o.step()
    for p, q in zip(model.parameters(), model2.parameters()):
        assert torch.equal(p, q)


def test_restored_even_when_the_sweep_raises():
    model, get_batch, loss_fn = make_problem()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    before_model, before_opt = snapshot(model, opt)
    calls = {"n": 0}

    def failing_loss(out, t):
        calls["n"] += 1
        if calls["n"] == 10:
            raise RuntimeError("boom")
        return loss_fn(out, t)

    with pytest.raises(RuntimeError, match="boom"):
        lr_range_test(model, opt, get_batch, failing_loss, num_iters=30)
    assert_state_equal(before_model, model.state_dict())
    assert_state_equal(before_opt, opt.state_dict())


def test_two_param_groups_get_the_sweep_and_their_own_lrs_back():
    model, get_batch, loss_fn = make_problem()
    opt = torch.optim.SGD(
        [{"params": model[0].parameters(), "lr": 0.3}, {"params": model[3].parameters()}], lr=0.01
    )
    seen = []
    orig_step = opt.step

    def spy_step(*a, **k):
        seen.append([g["lr"] for g in opt.param_groups])
        return orig_step(*a, **k)

    opt.step = spy_step
    lr_range_test(model, opt, get_batch, loss_fn, num_iters=20, end_lr=1e-2)
    del opt.step
    assert all(a == b for a, b in seen)
    assert [g["lr"] for g in opt.param_groups] == [0.3, 0.01]


# ---------------------------------------------------------------------------------------------
# The sweep and its stopping rules
# ---------------------------------------------------------------------------------------------


def test_sweep_is_exponential_and_smoothing_is_bias_corrected():
    lrs = exponential_lrs(1e-7, 10.0, 100)
    assert lrs[0] == pytest.approx(1e-7) and lrs[-1] == pytest.approx(10.0)
    ratios = lrs[1:] / lrs[:-1]
    np.testing.assert_allclose(ratios, ratios[0], rtol=1e-9)
    # a constant loss stays constant from the first value on (no pull towards zero)
    np.testing.assert_allclose(smooth_losses([3.0] * 20, 0.98), 3.0)
    np.testing.assert_allclose(smooth_losses([1.0, 2.0], 0.0), [1.0, 2.0])


def test_full_sweep_without_divergence_records_every_step():
    model, get_batch, loss_fn = make_problem()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    r = lr_range_test(model, opt, get_batch, loss_fn, start_lr=1e-5, end_lr=1e-3, num_iters=25)
    assert r.stopped_early is None
    assert len(r.lrs) == len(r.losses) == len(r.smoothed_losses) == 25
    np.testing.assert_allclose(r.lrs, exponential_lrs(1e-5, 1e-3, 25))
    np.testing.assert_allclose(r.smoothed_losses, smooth_losses(r.losses, 0.98))


def test_stops_when_the_loss_diverges():
    model, get_batch, loss_fn = make_problem()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    r = lr_range_test(model, opt, get_batch, loss_fn, end_lr=1e3, num_iters=100)
    assert r.stopped_early is not None and "4x the best" in r.stopped_early
    assert len(r.lrs) < 100
    assert r.smoothed_losses[-1] > 4 * min(r.smoothed_losses)
    assert all(math.isfinite(v) for v in r.losses)


def test_stops_on_nan_and_does_not_step_on_it():
    model, get_batch, loss_fn = make_problem()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    before, _ = snapshot(model, opt)
    calls = {"n": 0}

    def nan_after_12(out, t):
        calls["n"] += 1
        loss = loss_fn(out, t)
        return loss * float("nan") if calls["n"] > 12 else loss

    r = lr_range_test(model, opt, get_batch, nan_after_12, num_iters=50, smooth=0.5)
    assert len(r.lrs) == 12 and all(math.isfinite(v) for v in r.losses)
    assert r.stopped_early is not None and "nan" in r.stopped_early
    assert all(math.isfinite(v) for v in r.smoothed_losses)
    assert_state_equal(before, model.state_dict())

    def inf_loss(out, t):
        return loss_fn(out, t) + float("inf")

    r = lr_range_test(model, opt, get_batch, inf_loss, num_iters=10)
    assert r.lrs == [] and "inf" in r.stopped_early and r.suggestions == {}


def test_negative_losses_do_not_stop_the_sweep_early_but_divergence_does():
    model, get_batch, loss_fn = make_problem()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)

    def shifted(out, t):  # the same curve, moved below zero
        return loss_fn(out, t) - 100.0

    r = lr_range_test(model, opt, get_batch, shifted, start_lr=1e-5, end_lr=1e-2, num_iters=30)
    assert r.stopped_early is None and len(r.lrs) == 30
    assert max(r.losses) < 0
    r = lr_range_test(model, opt, get_batch, shifted, end_lr=1e6, num_iters=100)
    assert r.stopped_early is not None and len(r.lrs) < 100


# ---------------------------------------------------------------------------------------------
# Data sources
# ---------------------------------------------------------------------------------------------


def test_short_iterable_with_len_raises_up_front_with_a_clear_message():
    model, get_batch, loss_fn = make_problem()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    batches = [get_batch() for _ in range(5)]
    with pytest.raises(ValueError, match=r"5 batches.*num_iters=20.*cycle=True"):
        lr_range_test(model, opt, batches, loss_fn, num_iters=20)


def test_short_generator_raises_when_it_runs_out_and_restores():
    model, get_batch, loss_fn = make_problem()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    before, _ = snapshot(model, opt)
    gen = (get_batch() for _ in range(7))
    with pytest.raises(ValueError, match=r"ran out after 7 batches.*cycle=True"):
        lr_range_test(model, opt, gen, loss_fn, num_iters=20)
    assert_state_equal(before, model.state_dict())


def test_cycle_restarts_the_data():
    model, get_batch, loss_fn = make_problem()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    batches = [get_batch() for _ in range(3)]
    r = lr_range_test(model, opt, batches, loss_fn, num_iters=20, end_lr=1e-3, cycle=True)
    assert len(r.lrs) == 20
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(*get_batch()), batch_size=8, shuffle=False
    )  # 4 batches
    r = lr_range_test(model, opt, loader, loss_fn, num_iters=10, end_lr=1e-3, cycle=True)
    assert len(r.lrs) == 10
    with pytest.raises(ValueError, match="no batches"):
        lr_range_test(model, opt, iter([]), loss_fn, num_iters=10, cycle=True)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"start_lr": 0.0}, "start_lr"),
        ({"start_lr": -1e-3}, "start_lr"),
        ({"end_lr": float("inf")}, "end_lr"),
        ({"start_lr": 1.0, "end_lr": 0.1}, "larger than"),
        ({"num_iters": 1}, "num_iters"),
        ({"num_iters": 10.0}, "num_iters"),
        ({"smooth": 1.0}, "smooth"),
        ({"smooth": -0.1}, "smooth"),
        ({"diverge_factor": 1.0}, "diverge_factor"),
        ({"cycle": 1}, "cycle"),
    ],
)
def test_invalid_arguments_raise_value_error(kwargs, match):
    model, get_batch, loss_fn = make_problem()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match=match):
        lr_range_test(model, opt, get_batch, loss_fn, **kwargs)


def test_invalid_objects_raise_value_error():
    model, get_batch, loss_fn = make_problem()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="optimizer"):
        lr_range_test(model, "sgd", get_batch, loss_fn)
    with pytest.raises(ValueError, match="model"):
        lr_range_test(lambda x: x, opt, get_batch, loss_fn)
    with pytest.raises(ValueError, match="data"):
        lr_range_test(model, opt, 42, loss_fn)
    with pytest.raises(ValueError, match="loss_fn"):
        lr_range_test(model, opt, get_batch, "mse")


# ---------------------------------------------------------------------------------------------
# Suggestions on a synthetic curve
# ---------------------------------------------------------------------------------------------


def synthetic_curve(n=200):
    """Flat at 2, falls steepest at lr = 1e-3 (tanh in log10 lr), bottoms out, then explodes."""
    lrs = exponential_lrs(1e-7, 10.0, n)
    u = np.log10(lrs)
    losses = 1.5 - np.tanh(1.5 * (u + 3)) + 0.05 * np.exp(2.0 * (u + 0.5))
    return lrs, losses


def test_steepest_lands_on_the_inflection_point():
    lrs, losses = synthetic_curve()
    lr = suggest_steepest(lrs, losses)
    assert 10 ** -3.1 < lr < 10 ** -2.9


def test_minimum_div_10_is_the_argmin_over_ten():
    lrs, losses = synthetic_curve()
    assert suggest_minimum_div_10(lrs, losses) == pytest.approx(lrs[np.argmin(losses)] / 10)
    # and here the minimum lies between 1e-2 and 1 (the explosion starts past it)
    assert 1e-2 < lrs[np.argmin(losses)] < 1.0


def test_valley_lies_inside_the_descent_below_the_minimum():
    lrs, losses = synthetic_curve()
    v = suggest_valley(lrs, losses)
    lr_min = lrs[np.argmin(losses)]
    # the longest decreasing run is the whole descent, from the trimmed start to the minimum:
    # valley picks the point half-way through its middle third
    start = lrs[len(lrs) // 10]
    expected = np.exp(np.log(start) + 0.5 * (np.log(lr_min) - np.log(start)))
    assert v == pytest.approx(expected, rel=0.15)
    assert start < v < lr_min


def test_valley_ignores_small_bumps():
    lrs, losses = synthetic_curve()
    bumpy = losses.copy()
    bumpy[100] += 0.01  # one noisy point inside the descent
    assert suggest_valley(lrs, bumpy) == pytest.approx(suggest_valley(lrs, losses), rel=0.1)


def test_suggestions_on_tiny_curves_are_none_or_left_out():
    assert suggest_steepest([1e-3, 1e-2], [1.0, 0.5]) is None
    assert suggest_valley([1e-3, 1e-2], [1.0, 0.5]) is None
    assert suggest_minimum_div_10([], []) is None
    assert suggest_all([1e-3, 1e-2], [1.0, 0.5]) == {"minimum_div_10": pytest.approx(1e-3)}
    with pytest.raises(ValueError):
        suggest_steepest([1, 2, 3], [1, 2])


def test_on_a_real_model_the_suggestions_are_ordered_and_inside_the_sweep():
    model, get_batch, loss_fn = make_problem()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    r = lr_range_test(model, opt, get_batch, loss_fn)
    assert set(r.suggestions) == {"steepest", "valley", "minimum_div_10"}
    for lr in r.suggestions.values():
        assert r.lrs[0] / 10 <= lr <= r.lrs[-1]


def test_plot_marks_every_suggestion():
    lrs, losses = synthetic_curve(100)
    r = LRFinderResult(list(lrs), list(losses), list(losses), None, suggest_all(lrs, losses))
    ax = plot_lr_finder(r)
    labels = ax.get_legend_handles_labels()[1]
    assert labels[:2] == ["raw loss", "smoothed loss"]
    assert {lab.split(":")[0] for lab in labels[2:]} == {"steepest", "valley", "minimum_div_10"}
    assert ax.get_xscale() == "log"
    import matplotlib.pyplot as plt

    plt.close("all")


# ---------------------------------------------------------------------------------------------
# The course's suggestion: the window, the probes, the pick, the cost
# ---------------------------------------------------------------------------------------------

from course_lib.lr_finder import pick, probe_window, run_probes  # noqa: E402
from course_lib.lr_finder.probes import EVAL_BATCHES, MAX_PROBES, RUNGS  # noqa: E402


def test_probe_window_spans_the_descent_up_to_the_smoothed_minimum():
    lrs, losses = synthetic_curve(200)
    window = probe_window(lrs, losses)
    sm = smooth_losses(losses, 0.8)
    i_min = int(np.argmin(sm))
    # the top is the smoothed minimum; the bottom where 10% of the drop is done
    assert window[-1] == pytest.approx(lrs[i_min])
    drop = sm[0] - sm[i_min]
    first = lrs[np.flatnonzero(sm <= sm[0] - 0.1 * drop)[0]]
    assert window[0] >= first * (1 - 1e-9)
    assert window == sorted(window) and len(window) <= MAX_PROBES
    ratios = np.array(window[1:]) / np.array(window[:-1])
    np.testing.assert_allclose(ratios, ratios[0], rtol=1e-9)  # evenly spaced in log lr
    assert ratios[0] >= 2.0 - 1e-9  # at least a factor 2 (wider when the window is wide)


def test_probe_window_narrow_wide_and_degenerate_curves():
    lrs = exponential_lrs(1e-4, 1.0, 100)
    # a narrow descent (one decade): candidates exactly a factor 2 apart, the top included
    u = np.log10(lrs)
    narrow = 2 - np.tanh(4 * (u + 1.5)) + 5 * (lrs > 0.1)
    w = probe_window(lrs, narrow)
    np.testing.assert_allclose(np.array(w[1:]) / np.array(w[:-1]), 2.0)
    assert len(w) < MAX_PROBES
    # a curve that only rises: the minimum is the first point, probe below it
    rising = np.linspace(1.0, 5.0, 100)
    w = probe_window(lrs, rising)
    assert w[-1] == pytest.approx(lrs[0]) and w[0] == pytest.approx(lrs[0] / 8)
    # a flat curve: still a window, never empty
    assert len(probe_window(lrs, np.ones(100))) >= 2
    assert probe_window(lrs[:2], narrow[:2]) == []


@pytest.mark.parametrize("kwargs, match", [
    ({"factor": 1.0}, "factor"),
    ({"max_probes": 1}, "max_probes"),
    ({"max_probes": 2.5}, "max_probes"),
])
def test_probe_window_bad_arguments(kwargs, match):
    lrs, losses = synthetic_curve(50)
    with pytest.raises(ValueError, match=match):
        probe_window(lrs, losses, **kwargs)
    with pytest.raises(ValueError, match="equal length"):
        probe_window(lrs, losses[:-1])


def test_pick_prefers_the_longest_probes_then_the_lowest_loss_then_the_smaller_lr():
    assert pick([1e-3, 1e-2, 1e-1], [0.5, 0.3, 0.2], [25, 100, 50]) == 1e-2
    assert pick([1e-3, 1e-2], [0.3, 0.3], [100, 100]) == 1e-3
    assert pick([1e-3, 1e-2], [math.inf, 0.4], [100, 100]) == 1e-2
    assert pick([1e-3, 1e-2], [math.inf, math.inf], [25, 25]) is None
    assert pick([], [], []) is None


def quadratic_problem():
    """Least squares with a known Hessian: plain SGD on the full batch converges fastest at
    lr = 2 / (L + mu) and diverges above 2 / L."""
    gen = torch.Generator().manual_seed(3)
    X = torch.randn(64, 4, generator=gen) * torch.tensor([3.0, 1.0, 1.0, 0.5])
    y = X @ torch.randn(4, 1, generator=gen)
    hessian = 2 * X.T @ X / len(X)
    eig = torch.linalg.eigvalsh(hessian)
    torch.manual_seed(0)
    model = nn.Linear(4, 1, bias=False)
    return model, (X, y), float(eig[-1]), float(eig[0])


def test_run_probes_keeps_the_better_half_and_finds_the_fastest_stable_lr():
    model, batch, L, mu = quadratic_problem()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    saved = snapshot(model, opt)

    def restore():
        model.load_state_dict(saved[0])
        opt.load_state_dict(saved[1])

    def loss_of(b):
        return nn.functional.mse_loss(model(b[0]), b[1])

    best = 2 / (L + mu)
    lrs = [best / 8, best / 4, best / 2, best, 2.5 / L]  # the last one diverges
    losses, steps = run_probes(restore, model, opt, [batch] * RUNGS[-1], [batch], loss_of, lrs)
    assert steps[-1] == RUNGS[0] and losses[-1] == math.inf or losses[-1] > losses[3]
    assert steps[3] == RUNGS[-1]  # the best one goes all the way
    assert steps[0] == RUNGS[0]  # the slowest is dropped at the first rung
    assert pick(lrs, losses, steps) == best


def test_lr_range_test_probes_its_window_and_reports_the_cost():
    model, get_batch, loss_fn = make_problem()
    opt = ours.Adam(model.parameters(), lr=1e-3)
    r = lr_range_test(model, opt, get_batch, loss_fn)
    assert r.probe_lrs == probe_window(r.lrs, r.losses)
    assert r.suggested_lr in r.probe_lrs
    assert r.probe_steps == sum(r.probe_run) > 0
    assert r.cost == pytest.approx((len(r.lrs) + r.probe_steps) / len(r.lrs))
    assert r.cost <= 1 + (MAX_PROBES * RUNGS[0] + 4 * RUNGS[0] + 2 * RUNGS[1]) / len(r.lrs)
    assert r.probe_lrs[0] >= r.lrs[0] and r.probe_lrs[-1] <= r.lrs[-1]
    model, get_batch, loss_fn = make_problem()  # the same weights and batches again
    opt = ours.Adam(model.parameters(), lr=1e-3)
    off = lr_range_test(model, opt, get_batch, loss_fn, probes=False)
    assert off.suggested_lr is None and off.probe_steps == 0 and off.cost == 1.0
    assert off.losses == r.losses  # the probes change nothing in the sweep
    with pytest.raises(ValueError, match="probes"):
        lr_range_test(model, opt, get_batch, loss_fn, probes="yes")


def test_probes_restore_exactly_and_do_not_consume_the_sweeps_batches_twice():
    model, get_batch, loss_fn = make_problem()
    opt = ours.AdamW(model.parameters(), lr=1e-3, weight_decay=0.1)
    warm_up(model, opt, get_batch)
    before_model, before_opt = snapshot(model, opt)
    r = lr_range_test(model, opt, get_batch, loss_fn, num_iters=60)
    assert r.probe_steps > 0 and r.suggested_lr is not None
    assert_state_equal(before_model, model.state_dict())
    assert_state_equal(before_opt, opt.state_dict())
    # a list of batches too short for the probes: the sweep runs, the note says why
    batches = [get_batch() for _ in range(60)]
    r = lr_range_test(model, opt, batches, loss_fn, num_iters=60)
    assert r.suggested_lr is None and "no probes" in r.probe_note
    assert_state_equal(before_model, model.state_dict())
    assert_state_equal(before_opt, opt.state_dict())
    assert len(batches) >= RUNGS[-1] + EVAL_BATCHES or r.probe_steps == 0


def test_the_stored_validation_table_meets_the_bar():
    """bench/lr_finder.py --save wrote it: 4 pairs x 3 seeds, suggested_lr within 2x of the best
    constant lr on every row, and closer on average than each published rule."""
    from course_lib.lr_finder.validation import ROWS

    assert len(ROWS) == 12 and len({r["key"] for r in ROWS}) == 4

    def away(rule):
        return np.array([max(r[rule] / r["best"], r["best"] / r[rule]) for r in ROWS])

    ours = away("suggested_lr")
    assert ours.max() <= 2.0
    for rule in ("steepest", "valley", "minimum_div_10"):
        assert np.log(ours).mean() < np.log(away(rule)).mean(), rule
    assert all(1.0 < r["cost"] <= 6.0 for r in ROWS)
