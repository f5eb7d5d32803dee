"""course_lib.tuning_runs: the digits MLP's short run, against the loop written out by hand."""

import math

import pytest
import torch
import torch.nn.functional as F

from course_lib.data import load_digits_split
from course_lib.device import seed_everything
from course_lib.models import MLP
from course_lib.tuning_runs import Checkpoint, digits_mlp_run


@pytest.fixture(scope="module")
def digits():
    return load_digits_split(device="cpu")


def reference_run(digits, lr, weight_decay, steps, every):
    """The loop as lesson 03 first wrote it: held-out loss, and (step, train, held, ratio)."""
    seed_everything(0)
    model = MLP([64, 64, 10], device="cpu")
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=weight_decay)
    batches = torch.Generator().manual_seed(0)
    W = model.net[0].weight
    rows = []
    for step in range(1, steps + 1):
        idx = torch.randint(len(digits.y_train), (64,), generator=batches)
        loss = F.cross_entropy(model(digits.X_train[idx]), digits.y_train[idx])
        opt.zero_grad()
        loss.backward()
        before = W.detach().clone()
        opt.step()
        if step % every == 0:
            ratio = ((W.detach() - before).norm() / before.norm()).item()
            with torch.no_grad():
                train = F.cross_entropy(model(digits.X_train), digits.y_train).item()
                held = F.cross_entropy(model(digits.X_test), digits.y_test).item()
            rows.append((step, train, held, ratio))
    with torch.no_grad():
        final = F.cross_entropy(model(digits.X_test), digits.y_test).item()
    return final, rows


@pytest.mark.parametrize("lr, weight_decay", [(0.0316, 1e-6), (0.3, 1e-2)])
def test_matches_the_loop_written_out(digits, lr, weight_decay):
    final, rows = reference_run(digits, lr, weight_decay, steps=40, every=10)
    run = digits_mlp_run(digits, lr, weight_decay, steps=40, watch_every=10)
    assert run.held_out_loss == final
    assert [(c.step, c.train_loss, c.held_out_loss, c.update_ratio) for c in run.checkpoints] == rows
    # watching changes nothing about the run itself
    assert digits_mlp_run(digits, lr, weight_decay, steps=40).held_out_loss == final


def test_checkpoints_and_gap(digits):
    run = digits_mlp_run(digits, 0.03, steps=30, watch_every=10)
    assert [c.step for c in run.checkpoints] == [10, 20, 30]
    c = run.checkpoints[-1]
    assert c.gap == pytest.approx(c.held_out_loss - c.train_loss)
    assert c.held_out_loss == run.held_out_loss
    assert 0 < c.update_ratio < 1
    assert digits_mlp_run(digits, 0.03, steps=30).checkpoints == ()


def test_a_sensible_lr_beats_a_timid_one_and_ratios_scale_with_lr(digits):
    timid = digits_mlp_run(digits, 1e-3, steps=60, watch_every=60)
    good = digits_mlp_run(digits, 0.1, steps=60, watch_every=60)
    assert good.held_out_loss < timid.held_out_loss - 0.5
    assert good.checkpoints[0].update_ratio > 10 * timid.checkpoints[0].update_ratio


def test_a_diverged_run_reports_inf(digits):
    # lr 1e5 still ends finite (a loss of about 2e5); 1e8 overflows
    assert math.isfinite(digits_mlp_run(digits, 1e5, steps=40).held_out_loss)
    run = digits_mlp_run(digits, 1e8, steps=40)
    assert run.held_out_loss == math.inf


def test_seed_changes_the_run(digits):
    a = digits_mlp_run(digits, 0.03, steps=20, seed=0).held_out_loss
    b = digits_mlp_run(digits, 0.03, steps=20, seed=1).held_out_loss
    assert a != b
    assert digits_mlp_run(digits, 0.03, steps=20, seed=0).held_out_loss == a


@pytest.mark.parametrize("kwargs, message", [
    ({"lr": 0.0}, "lr must be"),
    ({"lr": float("nan")}, "lr must be"),
    ({"lr": 0.1, "weight_decay": -1.0}, "weight_decay must be"),
    ({"lr": 0.1, "steps": 0}, "steps must be"),
    ({"lr": 0.1, "momentum": 1.0}, "momentum must be"),
    ({"lr": 0.1, "watch_every": 0}, "watch_every must be"),
])
def test_bad_arguments_say_which(digits, kwargs, message):
    with pytest.raises(ValueError, match=message):
        digits_mlp_run(digits, **kwargs)


def test_checkpoint_is_a_plain_record():
    c = Checkpoint(step=5, train_loss=1.0, held_out_loss=1.25, update_ratio=1e-3)
    assert c.gap == 0.25
