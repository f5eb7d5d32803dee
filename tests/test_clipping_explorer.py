"""Lesson 08's clipping explorer: its numbers against independent computations, odd settings,
and the widget (precomputed grid, readout, picture, update time)."""

from __future__ import annotations

import copy
import math
import os
import time

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_lib.data import load_digits_split
from course_lib.explorers.clipping import (
    AFTER,
    OPTIMIZERS,
    SPIKE_STEP,
    SPIKES,
    THRESHOLDS,
    ClippingResult,
    clipping_explorer,
    clipping_figure,
    clipping_result,
    clipping_setup,
)


@pytest.fixture(scope="module")
def setup():
    torch.set_num_threads(1)
    return clipping_setup(load_digits_split(device="cpu"))


def spike_grad(setup, name, spike):
    """The corrupted batch's gradient at the spike, computed from a copy of the state."""
    model, opt = copy.deepcopy(setup.states[name])
    x, y = setup.batches[0]
    model.zero_grad()
    F.cross_entropy(model(x * spike), y).backward()
    return model, opt, [p.grad.clone() for p in model.parameters()]


@pytest.mark.parametrize("threshold", [1.0, 10.0, math.inf])
def test_sgd_spike_step_by_hand(setup, threshold):
    """Raw norm and the first update, from the momentum buffer and torch's clipping."""
    res = clipping_result(setup, threshold, 1000.0, "SGD")
    model, opt, grads = spike_grad(setup, "SGD", 1000.0)
    raw = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
    assert res.raw_norm == pytest.approx(raw.item(), rel=1e-5)
    if math.isfinite(threshold):
        torch.nn.utils.clip_grad_norm_(list(model.parameters()), threshold)
    clipped = [p.grad for p in model.parameters()]
    step = [0.1 * (0.9 * opt.state[p]["momentum_buffer"] + g)
            for p, g in zip(model.parameters(), clipped)]
    moved = math.sqrt(sum((s**2).sum().item() for s in step))
    assert res.moved == pytest.approx(moved, rel=1e-4)
    if math.isfinite(threshold):  # the clipped gradient's share of the step is at most lr * c
        assert 0.1 * min(threshold, res.raw_norm) >= math.sqrt(
            sum((g**2).sum().item() for g in clipped)) * 0.1 * (1 - 1e-5)


def test_adamw_root_v_hat_after_an_unclipped_spike_by_hand(setup):
    res = clipping_result(setup, math.inf, 1000.0, "AdamW")
    model, opt, grads = spike_grad(setup, "AdamW", 1000.0)
    beta2 = 0.999
    before, after = [], []
    for p, g in zip(model.parameters(), grads):
        st = opt.state[p]
        t = float(st["step"])
        v = st["exp_avg_sq"]
        before.append((v / (1 - beta2**t)).sqrt().flatten())
        after.append(((beta2 * v + (1 - beta2) * g**2) / (1 - beta2 ** (t + 1))).sqrt().flatten())
    assert res.root_v_hat[0] == pytest.approx(torch.cat(before).median().item(), rel=1e-5)
    assert res.root_v_hat[1] == pytest.approx(torch.cat(after).median().item(), rel=1e-5)
    assert len(res.root_v_hat) == AFTER + 2
    # clipped at 1.0, the spike barely shows in v
    clipped = clipping_result(setup, 1.0, 1000.0, "AdamW")
    assert clipped.root_v_hat[1] / clipped.root_v_hat[0] < 1.5 < res.root_v_hat[1] / res.root_v_hat[0]


def recover_by_hand(losses, context=10, smooth=5):
    base = sum(losses[:context]) / context
    for k in range(1, len(losses) - context):
        window = losses[context + k: context + k + smooth]
        if sum(window) / len(window) <= base:
            return k
    return None


@pytest.mark.parametrize("name", OPTIMIZERS)
@pytest.mark.parametrize("threshold, spike", [(1.0, 1000.0), (math.inf, 1000.0), (3.0, 1.0)])
def test_loss_record_recovery_and_clean_baseline(setup, name, threshold, spike):
    res = clipping_result(setup, threshold, spike, name)
    assert res.error is None and res.diverged_at is None
    assert len(res.steps) == len(res.losses) == 10 + AFTER + 1
    assert res.steps[10] == SPIKE_STEP
    assert res.recovered_after == recover_by_hand(list(res.losses))
    assert res.mean_after == pytest.approx(np.mean(res.losses[11:]))
    clean = clipping_result(setup, threshold, 1.0, name)
    np.testing.assert_array_equal(res.clean_losses, clean.losses)
    if spike == 1.0:
        np.testing.assert_array_equal(res.losses, res.clean_losses)
    # the same settings give the same numbers (the setup is never modified)
    again = clipping_result(setup, threshold, spike, name)
    np.testing.assert_array_equal(again.losses, res.losses)


def test_unclipped_sgd_spike_is_not_recovered_and_clipping_rescues_it(setup):
    off = clipping_result(setup, math.inf, 1000.0, "SGD")
    on = clipping_result(setup, 1.0, 1000.0, "SGD")
    assert off.recovered_after is None and on.recovered_after is not None
    assert off.mean_after > 10 * on.mean_after
    assert "not recovered" in off.readout and "recovered after" in on.readout


def test_a_spike_that_overflows_is_reported_as_diverged(setup):
    res = clipping_result(setup, math.inf, 1e30, "SGD")
    assert res.diverged_at in (SPIKE_STEP, SPIKE_STEP + 1)  # the gradient is inf: the step's weights
    assert "diverged" in res.readout
    fig = clipping_figure(res)
    assert "diverged" in fig.ax_loss.title.get_text()


@pytest.mark.parametrize("args, match", [
    ((0.0, 10.0, "SGD"), "threshold"),
    ((-1.0, 10.0, "SGD"), "threshold"),
    (("one", 10.0, "SGD"), "threshold"),
    ((1.0, math.nan, "SGD"), "spike"),
    ((1.0, math.inf, "SGD"), "spike"),
    ((1.0, 0.0, "AdamW"), "spike"),
    ((1.0, 10.0, "Lion"), "optimizer"),
    ((True, 10.0, "SGD"), "threshold"),
])
def test_odd_settings_give_an_invalid_setting_never_a_traceback(setup, args, match):
    res = clipping_result(setup, *args)
    assert isinstance(res, ClippingResult) and res.error is not None and match in res.error
    assert res.readout.startswith("invalid setting")
    fig = clipping_figure(res)
    assert fig.ax_loss.title.get_text() == "invalid setting"
    with pytest.raises(ValueError):
        clipping_figure("not a result")


def test_explorer_precomputes_every_setting_and_updates_fast(setup):
    t0 = time.perf_counter()
    ex = clipping_explorer(setup)
    build = time.perf_counter() - t0
    assert len(ex._results) == len(THRESHOLDS) * len(SPIKES) * len(OPTIMIZERS)
    times = []
    for name in OPTIMIZERS:
        ex.controls["optimizer"].value = name
        for threshold in THRESHOLDS:
            t0 = time.perf_counter()
            ex.controls["threshold"].value = threshold
            times.append(time.perf_counter() - t0)
            assert ex.error is None, ex.error
            expected = clipping_result(setup, threshold, ex.controls["spike"].value, name)
            assert ex.result.lines == expected.lines
            assert ex.png[:4] == b"\x89PNG"
    load = os.getloadavg()[0]
    median = float(np.median(times))
    print(f"clipping explorer: build {build:.1f} s, update median {1e3 * median:.0f} ms, "
          f"worst {1e3 * max(times):.0f} ms, load {load:.1f}")
    assert median < 0.15 * max(1.0, load / 2)  # 150 ms on an idle machine
    assert "Clipping explorer" in ex._repr_mimebundle_()["text/plain"]
    with pytest.raises(ValueError):
        clipping_explorer(setup, threshold=0.5)
