"""course_lib.diagnose on real runs made to fail in each way, plus hand-written edge cases."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from course_lib.data import load_digits_split
from course_lib.diagnose import (
    PINNED_FRACTION,
    RECOVERY_STEPS,
    SPIKE_FACTOR,
    Diagnosis,
    diagnose,
    steps_to_recover,
)
from course_lib.models import MLP
from course_lib.optim import SGD, AdamW
from course_lib.train import History, train


@pytest.fixture(scope="module")
def digits():
    return load_digits_split(device="cpu")


def _get_batch(data, bad_step=None, scale=100.0, half=False):
    """Seeded mini-batches of 64 digits.

    At ``bad_step`` comes a corrupted batch: pixels ``scale`` times too large and labels shifted
    by one, so the model is confidently wrong on all of it (with the labels intact a well-trained
    model can get such a batch all right, and there would be no spike).
    """
    gen = torch.Generator().manual_seed(0)

    def get_batch(step):
        idx = torch.randint(len(data.X_train), (64,), generator=gen)
        x, y = data.X_train[idx], data.y_train[idx]
        if step == bad_step:
            x = x * scale
            y = (y + 1) % 10 if not half else y
        return (x.half(), y.half()) if half else (x, y)

    return get_batch


def _run(data, *, lr, steps, clip_norm=None, optimizer="sgd", bad_step=None, scale=100.0):
    torch.manual_seed(0)
    model = MLP([64, 64, 10], activation="leaky_relu", device="cpu")
    if optimizer == "sgd":
        opt = SGD(model.parameters(), lr=lr, momentum=0.9)
    else:
        opt = AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    return train(model, _get_batch(data, bad_step, scale), opt, steps=steps, clip_norm=clip_norm)


# --------------------------------------------------------------------------- real runs


def test_healthy_run(digits):
    h = _run(digits, lr=3e-3, steps=150, clip_norm=1.0, optimizer="adamw")
    d = diagnose(h)
    assert d.healthy, str(d)
    assert d.names == ["healthy"]
    v = d["healthy"]
    assert v.data["end_loss"] < 0.5 * v.data["start_loss"]
    assert "nothing" in v.suggestion.lower()


def test_too_high_lr_with_clipping_is_pinned(digits):
    h = _run(digits, lr=10.0, steps=150, clip_norm=1.0)
    assert h.meta["stop_reason"] == "completed", "clipping keeps this run finite"
    d = diagnose(h)
    assert d.names[0] == "lr_too_high", str(d)
    v = d["lr_too_high"]
    assert v.data["clipped_fraction"] > PINNED_FRACTION
    assert v.data["steps"] == [100, 149]  # the last 50 steps
    assert v.data["clip_norm"] == 1.0 and v.data["lr"] == 10.0
    assert "pinned" in v.headline and not d.healthy


def test_spike_rescued_by_clipping(digits):
    h = _run(digits, lr=0.1, steps=120, clip_norm=1.0, bad_step=80)
    d = diagnose(h)
    assert d.names == ["spike_rescued"], str(d)
    v = d["spike_rescued"]
    assert v.data["steps"] == [80]
    spike = v.data["spikes"][0]
    assert spike["clipped"] and spike["grad_norm"] > SPIKE_FACTOR * spike["baseline_grad_norm"]
    assert spike["grad_norm"] == h.grad_norm[80]
    assert spike["steps_to_recover"] <= RECOVERY_STEPS
    assert "step 80" in v.evidence


def test_same_spike_without_clipping_does_damage(digits):
    h = _run(digits, lr=0.1, steps=120, clip_norm=None, bad_step=80)
    d = diagnose(h)
    assert d.names[0] == "spike_damage", str(d)
    v = d["spike_damage"]
    assert v.data["steps"] == [80]
    assert not v.data["spikes"][0]["clipped"]
    assert v.data["spikes"][0]["loss_after"] > 10 * h.loss[79]
    assert "clip" in v.suggestion.lower()


def test_a_bigger_unclipped_spike_sets_off_a_blow_up(digits):
    h = _run(digits, lr=0.1, steps=120, clip_norm=None, bad_step=80, scale=1000.0)
    d = diagnose(h)
    assert d.names[0] == "diverged", str(d)
    assert d["diverged"].data["onset_step"] == 80
    assert "sudden gradient spike at step 80" in d["diverged"].evidence


def test_divergence_with_a_huge_lr_and_no_clipping(digits):
    h = _run(digits, lr=10.0, steps=150, clip_norm=None)
    bad = next(i for i, (a, b) in enumerate(zip(h.loss, h.grad_norm))
               if not (math.isfinite(a) and math.isfinite(b)))
    assert bad == len(h) - 1, "train stops at the first non-finite step"
    d = diagnose(h)
    assert d.names[0] == "diverged", str(d)
    v = d["diverged"]
    assert v.data["step"] == bad
    assert v.data["recent_peak_grad_norm"] > 1e3 * v.data["median_grad_norm"] or (
        v.data["recent_peak_loss"] > 1e3 * v.data["median_loss"]
    ), "the numbers grew before they overflowed"
    assert f"step {bad}" in v.evidence


def test_fp16_overflow_is_told_apart_from_divergence(digits):
    """A float16 regression: one batch with 100x inputs makes the squared error pass 65504."""
    torch.manual_seed(0)
    model = MLP([64, 32, 1], activation="leaky_relu", device="cpu").half()
    get_batch = _get_batch(digits, bad_step=40, scale=100.0, half=True)
    h = train(model, get_batch, torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9),
              steps=60, loss_fn=lambda out, y: F.mse_loss(out.squeeze(-1), y))
    assert len(h) == 41 and h.loss[40] == math.inf, "a genuine inf, not a NaN"
    assert all(math.isfinite(v) for v in h.loss[:40])
    d = diagnose(h)
    assert d.names[0] == "overflow", str(d)
    v = d["overflow"]
    assert v.data["step"] == 40
    assert "bfloat16" in v.suggestion and "float16" in v.evidence


def test_flat_loss_with_a_tiny_lr(digits):
    h = _run(digits, lr=1e-7, steps=100, clip_norm=1.0)
    d = diagnose(h)
    assert d.names == ["loss_flat"], str(d)
    v = d["loss_flat"]
    assert abs(v.data["relative_improvement"]) < 0.02
    assert v.data["lr"] == 1e-7
    assert "too low" in v.suggestion


# --------------------------------------------------------------------------- hand-written


def _history(loss, grad_norm=None, clip_norm=None, lr=0.1, **meta):
    n = len(loss)
    grad_norm = [1.0] * n if grad_norm is None else grad_norm
    clipped = [clip_norm is not None and g > clip_norm for g in grad_norm]
    return History(step=list(range(n)), loss=list(loss), lr=[lr] * n, grad_norm=list(grad_norm),
                   clipped=clipped, meta={"clip_norm": clip_norm, **meta})


def test_empty_history():
    d = diagnose(History())
    assert d.names == ["too_short"] and not d.healthy
    assert "0 steps" in d["too_short"].evidence


def test_single_step():
    d = diagnose(_history([2.3]))
    assert d.names == ["too_short"] and "1 step;" in d["too_short"].evidence


def test_all_nan():
    d = diagnose(_history([math.nan] * 5, [math.nan] * 5))
    assert d.names == ["diverged"]
    assert d["diverged"].data["step"] == 0


def test_sudden_inf_in_float32_is_overflow_and_sudden_nan_is_not():
    loss = [2.0 - 0.01 * t for t in range(30)]
    norms = [1.0] * 30
    d = diagnose(_history(loss + [math.inf], norms + [math.inf]))
    assert d.names[0] == "overflow" and d["overflow"].data["step"] == 30
    d = diagnose(_history(loss + [math.nan], norms + [math.nan]))
    assert d.names[0] == "diverged" and "sudden" in d["diverged"].headline
    d = diagnose(_history(loss + [math.nan], norms + [math.nan], dtype="float16"))
    assert d.names[0] == "overflow"


def test_growth_then_inf_is_divergence():
    loss = [2.0] * 20 + [2.0 * 10**k for k in range(1, 8)] + [math.inf]
    norms = [1.0] * 20 + [10.0**k for k in range(1, 8)] + [math.inf]
    d = diagnose(_history(loss, norms))
    assert d.names[0] == "diverged" and "growing" in d["diverged"].headline


def test_a_rising_loss_without_clipping_is_lr_too_high():
    loss = [2.0 - 0.015 * t for t in range(100)] + [0.5 + 0.02 * t for t in range(60)]
    d = diagnose(_history(loss))
    assert d.names == ["lr_too_high"]
    assert d["lr_too_high"].data["best_step"] in range(90, 110)


def test_a_loss_that_blows_up_finitely_is_divergence():
    loss = [2.0 * 1.1**t for t in range(80)]
    d = diagnose(_history(loss))
    assert d.names[0] == "diverged" and "blew up" in d["diverged"].headline


def test_a_hand_made_spike():
    loss = [1.0 - 0.005 * t for t in range(60)]
    norms = [0.5] * 60
    loss[30], norms[30] = 8.0, 50.0
    loss[31] = 1.5
    d = diagnose(_history(loss, norms, clip_norm=1.0))
    assert d.names == ["spike_rescued"]
    assert d["spike_rescued"].data["spikes"][0]["steps_to_recover"] == 2


def test_report_is_readable():
    d = diagnose(_history([2.3]))
    text = str(d)
    assert text.startswith("Diagnosis of a run of 1 step:")
    assert "too_short" in text and "suggestion:" in text and "evidence:" in text
    assert isinstance(d, Diagnosis) and "too_short" in d
    with pytest.raises(KeyError):
        d["healthy"]


def test_most_serious_first_and_zero_losses_are_fine():
    # a clipped run whose loss blows up while the norm is pinned: divergence is listed first
    loss = [1.0 * 1.1**t for t in range(80)]
    d = diagnose(_history(loss, [5.0] * 80, clip_norm=1.0))
    assert d.names == ["diverged", "lr_too_high"]
    # a loss of exactly 0 all along (and zero gradients) must not divide by zero
    d = diagnose(_history([0.0] * 30, [0.0] * 30))
    assert d.names == ["loss_flat"] and "tiny" in d["loss_flat"].suggestion


def test_diagnosis_survives_a_json_round_trip():
    loss = [1.0 - 0.005 * t for t in range(60)]
    norms = [0.5] * 60
    loss[30], norms[30] = 8.0, 50.0
    h = _history(loss, norms, clip_norm=1.0)
    assert str(diagnose(History.from_dict(h.to_dict()))) == str(diagnose(h))


def test_steps_to_recover():
    assert steps_to_recover([1.0, 1.0, 1.0, 9.0, 5.0, 2.0, 1.0, 1.0, 1.0], 3, smooth=2) == 3
    assert steps_to_recover([1.0, 1.0, 9.0, 5.0, 5.0], 2, smooth=1) is None
    assert steps_to_recover([9.0, 1.0], 0) is None  # nothing before the spike


# ------------------------------------------------------------ clipping under an adaptive optimizer


def test_frequent_clipping_under_adamw_is_not_called_a_too_high_lr(digits):
    # threshold 0.1, well below this network's typical gradient norm (~0.5): clipped on most steps
    h = _run(digits, lr=3e-3, steps=150, clip_norm=0.1, optimizer="adamw")
    assert h.meta["optimizer"] == "AdamW" and h.clipped_fraction > 0.9
    d = diagnose(h)
    assert "lr_too_high" not in d and "clipping_often" in d, str(d)
    v = d["clipping_often"]
    assert v.data["optimizer"] == "AdamW" and v.data["clip_norm"] == 0.1
    assert v.data["suggested_clip_norm"] == pytest.approx(3 * v.data["median_grad_norm"])
    assert v.data["suggested_clip_norm"] > 0.1
    assert "raise the threshold" in v.suggestion and "not a hidden learning-rate cut" in v.evidence


@pytest.mark.parametrize("optimizer, fraction, expected", [
    ("SGD", 0.3, "healthy"),           # under SGD 30% clipped is below the pinned rule
    ("SGD", 0.8, "lr_too_high"),       # ... 80% is the threshold acting as the step length
    ("AdamW", 0.3, "clipping_often"),  # under AdamW 30% is already worth a word
    ("Adam", 0.8, "clipping_often"),   # and never "the threshold has become the lr"
    ("AdamW", 0.1, "healthy"),
    (None, 0.8, "lr_too_high"),        # no optimizer recorded: the SGD reading
])
def test_the_clipping_rule_depends_on_the_optimizer(optimizer, fraction, expected):
    n = 200
    loss = [2.0 * 0.99**t for t in range(n)]
    clipped_every = round(1 / fraction) if fraction < 0.5 else None
    norms = [0.5] * n
    for t in range(n - 50, n):
        hit = (t % clipped_every == 0) if clipped_every else (t % 5 != 0)
        norms[t] = 1.2 if hit else 0.8
    h = _history(loss, norms, clip_norm=1.0)
    if optimizer is not None:
        h.meta["optimizer"] = optimizer
    d = diagnose(h)
    assert d.names == [expected], (str(d), sum(h.clipped[-50:]))


def test_an_unclipped_spike_under_adamw_is_explained_by_the_second_moment(digits):
    h = _run(digits, lr=3e-3, steps=120, optimizer="adamw", bad_step=60, scale=1000.0)
    d = diagnose(h)
    assert "spike_damage" in d, str(d)
    assert "second-moment" in d["spike_damage"].suggestion
    sgd = diagnose(_run(digits, lr=0.1, steps=120, bad_step=80))  # the SGD spike above
    assert "throw the weights far" in sgd["spike_damage"].suggestion
