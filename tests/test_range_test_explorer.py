"""Lesson 09's LR finder explorer: its readings against independent computations, odd
settings, and the widget (readout, picture, update time)."""

from __future__ import annotations

import math
import os
import time

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_lib.explorers.range_test import (
    BETAS,
    RULES,
    RangeTestResult,
    range_test_explorer,
    range_test_figure,
    range_test_result,
    range_test_setup,
)

RANGES = ((1e-5, 10.0), (1e-3, 10.0))


@pytest.fixture(scope="module")
def setup():
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(512, 10, generator=gen)
    y = (X @ torch.randn(10, 3, generator=gen)).argmax(dim=1)

    def make_batches(seed=0):
        g = torch.Generator().manual_seed(seed)

        def get_batch():
            idx = torch.randint(len(X), (32,), generator=g)
            return X[idx], y[idx]
        return get_batch

    def new_model():
        torch.manual_seed(0)
        return nn.Linear(10, 3)

    def new_optimizer(model, lr=0.01):
        return torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)

    def run_constant(lr, steps=40):
        model = new_model()
        opt = new_optimizer(model, lr)
        get_batch = make_batches(1)
        for _ in range(steps):
            xb, yb = get_batch()
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            if not torch.isfinite(loss):
                return math.inf
            loss.backward()
            opt.step()
        with torch.no_grad():
            final = F.cross_entropy(model(X), y).item()
        return final if math.isfinite(final) else math.inf

    return range_test_setup(new_model, new_optimizer, make_batches, F.cross_entropy, run_constant,
                            ranges=RANGES, sweep_lrs=tuple(np.logspace(-3, 1.5, 10)),
                            sweep_steps=40, num_iters=60, device="cpu")


def ema_by_hand(values, beta):
    out, avg = [], 0.0
    for i, v in enumerate(values, start=1):
        avg = beta * avg + (1 - beta) * v
        out.append(avg / (1 - beta**i))
    return np.array(out)


@pytest.mark.parametrize("beta", [0.0, 0.8, 0.98])
def test_reading_matches_a_hand_computation(setup, beta):
    res = range_test_result(setup, beta, "steepest", RANGES[0])
    test = setup.tests[RANGES[0]]
    np.testing.assert_allclose(res.smoothed, ema_by_hand(test.losses, beta), rtol=1e-12)
    # steepest by hand: the most negative slope per unit log lr, ignoring the first tenth and
    # the last five points
    x, y = np.log(res.lrs), res.smoothed
    lo, hi = len(x) // 10, len(x) - 5
    slope = np.gradient(y[lo:hi], x[lo:hi])
    assert res.lr == pytest.approx(res.lrs[lo + int(np.argmin(slope))])
    # the sweep's answer at that lr: linear interpolation in log lr
    best = setup.sweep_lrs[int(np.argmin(setup.sweep_losses))]
    assert res.ratio == pytest.approx(res.lr / best)
    finite = np.isfinite(setup.sweep_losses)
    if res.lr >= setup.sweep_lrs[0] and np.all(finite):
        expected = np.interp(math.log(res.lr), np.log(setup.sweep_lrs), setup.sweep_losses)
        assert res.loss_there == pytest.approx(expected)
    assert f"{res.lr / best:.2f}x" in res.readout


def test_minimum_div_10_and_the_course_rule(setup):
    for beta in BETAS:
        res = range_test_result(setup, beta, "minimum_div_10", RANGES[1])
        assert res.lr == pytest.approx(res.lrs[int(np.argmin(res.smoothed))] / 10)
    a = range_test_result(setup, 0.0, "suggested_lr", RANGES[0])
    b = range_test_result(setup, 0.99, "suggested_lr", RANGES[0])
    assert a.lr == b.lr == setup.tests[RANGES[0]].suggested_lr  # it does not read the smoothing
    assert "probes" in a.readout and "cost" in a.readout


def test_sweep_interpolation_and_outside_values(setup):
    lrs, losses = setup.sweep_lrs, setup.sweep_losses
    assert setup.loss_at(lrs[3]) == pytest.approx(losses[3])
    assert math.isnan(setup.loss_at(lrs[0] / 2)) and math.isnan(setup.loss_at(lrs[-1] * 2))
    assert math.isnan(setup.loss_at(-1.0)) and math.isnan(setup.loss_at(math.nan))


@pytest.mark.parametrize("args, match", [
    ((1.0, "steepest", RANGES[0]), "β"),
    ((-0.1, "steepest", RANGES[0]), "β"),
    ((None, "steepest", RANGES[0]), "β"),
    ((math.nan, "steepest", RANGES[0]), "β"),
    ((0.9, "fastest", RANGES[0]), "rule"),
    ((0.9, "valley", (1e-4, 1.0)), "range"),
    ((0.9, "valley", "wide"), "range"),
])
def test_odd_settings_give_an_invalid_setting_never_a_traceback(setup, args, match):
    res = range_test_result(setup, *args)
    assert isinstance(res, RangeTestResult) and res.error is not None and match in res.error
    assert res.readout.startswith("invalid setting")
    fig = range_test_figure(res)
    assert fig.ax_curve.title.get_text() == "invalid setting"
    with pytest.raises(ValueError):
        range_test_figure("not a result")


def test_setup_checks_its_sweep(setup):
    with pytest.raises(ValueError, match="ascending"):
        range_test_setup(None, None, None, None, None, sweep_lrs=(0.1, 0.01))
    with pytest.raises(ValueError, match="one loss per lr"):
        range_test_setup(None, None, None, None, None, ranges=(), sweep_lrs=(0.01, 0.1),
                         sweep_losses=(1.0,))
    given = range_test_setup(None, None, None, None, None, ranges=(), sweep_lrs=(0.01, 0.1),
                             sweep_losses=(1.0, 0.5))
    assert given.best_lr == 0.1
    again = range_test_setup(None, None, None, None, None, ranges=RANGES, sweep_lrs=(0.01, 0.1),
                             sweep_losses=(1.0, 0.5), done=setup.tests)
    assert all(again.tests[r] is setup.tests[r] for r in RANGES)  # not run again


def test_explorer_updates_fast_and_shows_the_pure_result(setup):
    t0 = time.perf_counter()
    ex = range_test_explorer(setup)
    build = time.perf_counter() - t0
    times = []
    moves = [("beta", b) for b in BETAS] + [("rule", r) for r in RULES] + \
        [("sweep_range", r) for r in RANGES]
    for name, value in moves:
        t0 = time.perf_counter()
        ex.controls[name].value = value
        times.append(time.perf_counter() - t0)
        assert ex.error is None, ex.error
        v = ex.values()
        assert ex.result.lines == range_test_result(setup, v["beta"], v["rule"],
                                                    v["sweep_range"]).lines
    load = os.getloadavg()[0]
    median = float(np.median(times))
    print(f"range test explorer: build {build:.2f} s, update median {1e3 * median:.0f} ms, "
          f"worst {1e3 * max(times):.0f} ms, load {load:.1f}")
    assert median < 0.15 * max(1.0, load / 2)  # 150 ms on an idle machine
    assert ex.png[:4] == b"\x89PNG"
    assert "LR finder explorer" in ex._repr_mimebundle_()["text/plain"]
    with pytest.raises(ValueError):
        range_test_explorer(setup, beta=0.97)
