"""The learning-rate x weight-decay grid (lesson 06) and its explorer.

The grid trains every (optimizer, lr, decay, seed) run as one batched model; one cell of it must
be the run that ``course_lib.optim.Adam`` / ``AdamW`` and ``torch.optim`` make with ``LambdaLR``
on the same ``MLP``, on random data.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_lib.explorers.decay_grid import cosine_multiplier, train_decay_grid
from course_lib.explorers.weight_decay import (
    AXES,
    decay_figure,
    decay_result,
    one_setting_cost,
    weight_decay_explorer,
)
from course_lib.models import MLP, param_groups_for_weight_decay
from course_lib.optim import Adam, AdamW

N, D, C, HIDDEN, BATCH, STEPS = 24, 5, 3, 8, 6, 13


def _data():
    gen = torch.Generator().manual_seed(7)
    X = torch.randn(N, D, generator=gen, dtype=torch.float64)
    y = torch.randint(0, C, (N,), generator=gen)
    Xt = torch.randn(10, D, generator=gen, dtype=torch.float64)
    yt = torch.randint(0, C, (10,), generator=gen)
    return X, y, Xt, yt


def _reference(opt_class, lr, weight_decay, seed, X, y, Xt, yt):
    torch.manual_seed(seed)
    model = MLP([D, HIDDEN, C], device="cpu").double()
    opt = opt_class(param_groups_for_weight_decay(model, weight_decay), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: cosine_multiplier(t, STEPS))
    gen = torch.Generator().manual_seed(seed)
    for t in range(STEPS):
        if t % (N // BATCH) == 0:
            order = torch.randperm(N, generator=gen)
        idx = order[(t * BATCH) % N:][:BATCH]
        loss = F.cross_entropy(model(X[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    with torch.no_grad():
        logits = model(Xt)
        return (F.cross_entropy(model(X), y).item(), F.cross_entropy(logits, yt).item(),
                (logits.argmax(1) == yt).double().mean().item())


@pytest.mark.parametrize("axis", ["lr*wd", "wd"])
def test_every_cell_is_the_run_of_course_lib_and_torch_optim(axis):
    X, y, Xt, yt = _data()
    lrs, l2, aw = (0.01, 0.1), (0.0, 0.3), (0.0, 0.02 if axis == "lr*wd" else 0.5)
    grid = train_decay_grid(X, y, Xt, yt, lrs, l2, aw, adamw_axis=axis, seeds=(0, 3),
                            steps=STEPS, batch_size=BATCH, hidden=HIDDEN)
    assert grid.test_loss.shape == (2, 2, 2, 2)
    for i, lr in enumerate(lrs):
        for j in range(2):
            for k, seed in enumerate((0, 3)):
                wd = grid.adamw_weight_decay(i, j)
                for o, (ours, theirs, decay) in enumerate(
                        [(Adam, torch.optim.Adam, l2[j]), (AdamW, torch.optim.AdamW, wd)]):
                    for cls in (ours, theirs):
                        tr, te, acc = _reference(cls, lr, decay, seed, X, y, Xt, yt)
                        assert grid.train_loss[o, i, j, k] == pytest.approx(tr, rel=1e-9)
                        assert grid.test_loss[o, i, j, k] == pytest.approx(te, rel=1e-9)
                        assert grid.test_acc[o, i, j, k] == pytest.approx(acc, abs=1e-12)
    # the decay changes the runs, and Adam + L2 with 0.3 is not AdamW with anything here
    assert not np.allclose(grid.test_loss[:, :, 0], grid.test_loss[:, :, 1])


def test_bad_axes_raise_clear_errors():
    X, y, Xt, yt = _data()
    for kwargs, match in [(dict(lrs=()), "lrs"), (dict(lrs=(0.1, 0.01)), "increasing"),
                          (dict(l2_decays=(-1.0, 0.0)), "non-negative"),
                          (dict(adamw_decays=(0.0,)), "same length"),
                          (dict(batch_size=5), "divide"), (dict(adamw_axis="x"), "adamw_axis")]:
        args = dict(lrs=(0.01,), l2_decays=(0.0, 0.1), adamw_decays=(0.0, 0.1), batch_size=6,
                    steps=2) | kwargs
        with pytest.raises(ValueError, match=match):
            train_decay_grid(X, y, Xt, yt, **args)


@pytest.fixture(scope="module")
def grid():
    X, y, Xt, yt = _data()
    return train_decay_grid(X, y, Xt, yt, (0.01, 0.0316227766, 0.1, 10.0), (0, 1e-3, 1e-2, 1e-1),
                            (0, 0.1, 0.316227766, 1.0), adamw_axis="wd", seeds=(0,), steps=STEPS,
                            batch_size=BATCH, hidden=HIDDEN)


def test_result_reads_the_grid_and_names_each_rows_best(grid):
    res = decay_result(grid, 0.1, 2)
    assert res.error is None
    test = grid.mean("test_loss")
    assert res.test_loss == (test[0, 2, 2], test[1, 2, 2])
    assert res.adamw_rate == pytest.approx(0.1 * grid.decays[1][2])
    assert list(res.best_columns[1]) == list(np.argmin(test[1], axis=1))
    assert "test loss" in res.readout and "best at this lr" in res.readout
    cost, col = one_setting_cost(test[0])
    assert cost >= 0 and 0 <= col < 4


def test_one_setting_cost_is_zero_for_a_separable_grid():
    loss = np.array([[3.0, 1.0, 2.0], [4.0, 2.0, 5.0]])
    assert one_setting_cost(loss) == (0.0, 1)
    coupled = np.array([[1.0, 2.0], [2.0, 1.0]])
    assert one_setting_cost(coupled) == (0.5, 0)


@pytest.mark.parametrize("lr, column, axis", [(0.5, 1, AXES[0]), (float("nan"), 1, AXES[0]),
                                              ("x", 1, AXES[0]), (0.1, 9, AXES[0]),
                                              (0.1, -1, AXES[1]), (0.1, True, AXES[0]),
                                              (0.1, 1.5, AXES[0]), (0.1, 1, "nope")])
def test_off_grid_settings_are_invalid_not_tracebacks(grid, lr, column, axis):
    res = decay_result(grid, lr, column, axis)
    assert res.error is not None and res.readout.startswith("invalid setting")
    fig = decay_figure(res)
    assert fig.ax_l2.title.get_text() == "invalid setting"


def test_diverged_rows_are_drawn(grid):
    # lr 10 blows up: losses inf or huge, and the figure and readout still come out
    res = decay_result(grid, 10.0, 3, AXES[1])
    assert res.error is None
    fig = decay_figure(res)
    assert fig.ax_w.title.get_text().startswith("AdamW")


def test_explorer_builds_updates_and_has_a_static_picture(grid):
    ex = weight_decay_explorer(grid)
    ex.controls["lr"].value = 0.0316227766
    ex.controls["column"].value = 3
    ex.controls["axis"].value = AXES[1]
    assert ex.error is None
    assert ex.png[:8] == b"\x89PNG\r\n\x1a\n"
    assert ex.result.column == 3 and ex.result.axis == AXES[1]
    assert ex.result.lines == decay_result(grid, 0.0316227766, 3, AXES[1]).lines
    bundle = ex._repr_mimebundle_()
    assert "image/png" in bundle and "Weight-decay explorer" in bundle["text/plain"]
    assert math.isfinite(ex.result.test_loss[1])


def test_explorer_rejects_a_grid_on_the_other_axis():
    X, y, Xt, yt = _data()
    g = train_decay_grid(X, y, Xt, yt, (0.01,), (0, 0.1), (0, 0.1), seeds=(0,), steps=2,
                         batch_size=BATCH, hidden=HIDDEN)
    with pytest.raises(ValueError, match="adamw_axis='wd'"):
        decay_result(g, 0.01, 0)


def test_row_bests_and_seed_spread(grid):
    from course_lib.explorers.weight_decay import row_bests, seed_spread

    rows = row_bests(grid)
    test = grid.mean("test_loss")
    for i, row in enumerate(rows):
        assert row["l2_value"] == pytest.approx(test[0, i].min())
        assert row["adamw_value"] == pytest.approx(test[1, i].min())
        assert row["adamw_rate"] == pytest.approx(row["lr"] * row["adamw"])
    acc = row_bests(grid, "test_acc")
    assert acc[0]["l2_value"] == pytest.approx(grid.mean("test_acc")[0, 0].max())
    assert math.isnan(seed_spread(grid))          # one seed: no spread to measure
