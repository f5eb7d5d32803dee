"""course_lib.train: the history records exactly what the loop did."""

from __future__ import annotations

import json
import math

import pytest
import torch
import torch.nn.functional as F

from course_lib.data import CharTokenizer, char_batches, make_spirals
from course_lib.models import MLP, CharTransformer
from course_lib.optim import SGD, AdamW
from course_lib.schedules import lr_at_steps, warmup_cosine
from course_lib.train import History, loss_of, train

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(scope="module")
def spirals():
    return make_spirals(n_per_class=60, n_classes=3, seed=0, device="cpu")


def _batches(X, y, batch_size=32, seed=0, device="cpu"):
    """get_batch(step) drawing seeded random mini-batches."""
    gen = torch.Generator().manual_seed(seed)

    def get_batch(step):
        idx = torch.randint(len(X), (batch_size,), generator=gen)
        return X[idx].to(device), y[idx].to(device)

    return get_batch


def _model(seed=0, device="cpu"):
    torch.manual_seed(seed)
    return MLP([2, 32, 3], device=device)


# --------------------------------------------------------------------------- what is recorded


def test_lr_per_step_equals_the_schedule(spirals):
    X, y = spirals
    model = _model()
    schedule = warmup_cosine(warmup_steps=5, total_steps=30, floor=0.1)
    opt = SGD(model.parameters(), lr=0.2, momentum=0.9)
    h = train(model, _batches(X, y), opt, steps=30, schedule=schedule)
    assert h.step == list(range(30))
    assert h.lr == pytest.approx(lr_at_steps(schedule, 0.2, 30), rel=1e-12)
    assert h.meta["base_lr"] == 0.2
    assert h.meta["optimizer"] == "SGD"
    assert h.meta["stop_reason"] == "completed"
    assert h.meta["dtype"] == "float32"


def test_without_a_schedule_the_lr_is_constant(spirals):
    X, y = spirals
    model = _model()
    h = train(model, _batches(X, y), AdamW(model.parameters(), lr=3e-3), steps=5)
    assert h.lr == [3e-3] * 5
    assert h.clipped == [False] * 5 and h.meta["clip_norm"] is None


def test_history_matches_a_hand_written_loop(spirals):
    """Losses, pre-clip norms and final weights equal a plain torch loop, bit for bit."""
    X, y = spirals
    clip, steps = 0.5, 25
    model = _model()
    schedule = warmup_cosine(warmup_steps=3, total_steps=steps)
    h = train(model, _batches(X, y), SGD(model.parameters(), lr=0.5, momentum=0.9),
              steps=steps, schedule=schedule, clip_norm=clip)

    ref = _model()
    opt = torch.optim.SGD(ref.parameters(), lr=0.5, momentum=0.9)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule)
    get_batch = _batches(X, y)
    losses, norms = [], []
    for t in range(steps):
        xb, yb = get_batch(t)
        opt.zero_grad()
        loss = F.cross_entropy(ref(xb), yb)
        loss.backward()
        norms.append(torch.nn.utils.clip_grad_norm_(ref.parameters(), clip).item())
        losses.append(loss.item())
        opt.step()
        sched.step()
    assert h.loss == losses
    assert h.grad_norm == pytest.approx(norms, rel=1e-6)
    for p, q in zip(model.parameters(), ref.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-6, atol=1e-7)


def test_clip_events_are_exactly_the_steps_above_the_threshold(spirals):
    X, y = spirals
    model = _model()
    h = train(model, _batches(X, y), SGD(model.parameters(), lr=0.5), steps=40, clip_norm=0.3)
    expected = [n > 0.3 for n in h.grad_norm]
    assert h.clipped == expected
    assert 0 < sum(expected) < 40, "the threshold should split this run's norms"
    assert h.clip_events == [t for t, c in enumerate(expected) if c]
    assert h.clipped_fraction == pytest.approx(sum(expected) / 40)
    assert h.meta["clip_norm"] == 0.3


def test_clipping_really_caps_the_update():
    """With plain SGD the parameter change of one step is at most lr * clip_norm."""
    model = torch.nn.Linear(4, 1)
    x, y = torch.full((8, 4), 100.0), torch.zeros(8, 1)
    before = torch.cat([p.detach().flatten().clone() for p in model.parameters()])
    h = train(model, lambda t: (x, y), torch.optim.SGD(model.parameters(), lr=0.1),
              steps=1, clip_norm=1.0, loss_fn=F.mse_loss)
    after = torch.cat([p.detach().flatten() for p in model.parameters()])
    assert h.grad_norm[0] > 100 and h.clipped == [True]
    assert (after - before).norm().item() == pytest.approx(0.1, rel=1e-4)


def test_get_batch_receives_the_step_index(spirals):
    X, y = spirals
    seen = []

    def get_batch(step):
        seen.append(step)
        return X[:16], y[:16]

    model = _model()
    train(model, get_batch, SGD(model.parameters(), lr=0.1), steps=7)
    assert seen == list(range(7))


def test_loss_decreases_on_an_easy_problem(spirals):
    X, y = spirals
    model = _model()
    h = train(model, _batches(X, y), AdamW(model.parameters(), lr=1e-2), steps=200, clip_norm=1.0)
    first, last = sum(h.loss[:10]) / 10, sum(h.loss[-10:]) / 10
    assert first > 1.0 and last < 0.6 * first


def test_steps_zero_records_nothing(spirals):
    X, y = spirals
    model = _model()
    h = train(model, _batches(X, y), SGD(model.parameters(), lr=0.1), steps=0)
    assert len(h) == 0 and h.meta["stop_reason"] == "completed"


# --------------------------------------------------------------------------- non-finite runs


def _nan_at(X, y, bad_step):
    def get_batch(step):
        xb = X[:16].clone()
        if step == bad_step:
            xb[0, 0] = float("nan")
        return xb, y[:16]

    return get_batch


def test_a_nan_run_stops_cleanly_and_is_recorded(spirals):
    X, y = spirals
    model = _model()
    opt = SGD(model.parameters(), lr=0.1)
    snapshot = {}

    def get_batch(step):
        if step == 5:
            snapshot.update({k: v.clone() for k, v in model.state_dict().items()})
        return _nan_at(X, y, 5)(step)

    h = train(model, get_batch, opt, steps=20)  # must not raise
    assert len(h) == 6 and h.step[-1] == 5
    assert math.isnan(h.loss[5]) and all(math.isfinite(v) for v in h.loss[:5])
    assert "step 5" in h.meta["stop_reason"]
    # the bad update was not applied: the weights are those from before step 5, all finite
    for k, v in model.state_dict().items():
        assert torch.equal(v, snapshot[k]) and torch.isfinite(v).all()


def test_an_inf_gradient_norm_with_a_finite_loss_also_stops():
    class LogModel(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.ones(1))

        def forward(self, x):
            return torch.log(self.w * x).sum()  # d/dw = 1 / (w x) * x: 1 / 1e-45 overflows

    model = LogModel()
    inputs = [torch.ones(1), torch.full((1,), 1e-45)]
    h = train(model, lambda t: (inputs[t], torch.zeros(())), SGD(model.parameters(), lr=0.1),
              steps=5, loss_fn=lambda out, target: out)
    assert len(h) == 2
    assert math.isfinite(h.loss[1]) and h.grad_norm[1] == math.inf
    assert h.meta["stop_reason"].endswith("step 1")
    assert model.w.item() == pytest.approx(0.9)  # only step 0 was applied


def test_stop_on_nonfinite_false_keeps_going(spirals):
    X, y = spirals
    model = _model()
    h = train(model, _nan_at(X, y, 3), SGD(model.parameters(), lr=0.1), steps=8,
              stop_on_nonfinite=False)
    assert len(h) == 8 and h.meta["stop_reason"] == "completed"
    assert all(math.isnan(v) for v in h.loss[3:]), "a NaN update poisons every later step"


# --------------------------------------------------------------------------- evaluation


def test_eval_runs_every_n_steps_and_at_the_end(spirals):
    X, y = spirals
    model = _model()
    modes = []

    def eval_fn(m):
        modes.append((m.training, torch.is_grad_enabled()))
        return {"acc": (m(X).argmax(1) == y).float().mean(), "loss": F.cross_entropy(m(X), y)}

    h = train(model, _batches(X, y), AdamW(model.parameters(), lr=1e-2), steps=25,
              eval_fn=eval_fn, eval_every=10)
    assert h.eval_step == [0, 10, 20, 25]
    assert set(h.eval_metrics) == {"acc", "loss"}
    assert all(isinstance(v, float) for v in h.eval_metrics["acc"])
    assert h.eval_metrics["loss"][-1] < h.eval_metrics["loss"][0]
    assert modes == [(False, False)] * 4 and model.training


def test_eval_only_at_the_end_and_a_plain_number(spirals):
    X, y = spirals
    model = _model()
    h = train(model, _batches(X, y), SGD(model.parameters(), lr=0.1), steps=6,
              eval_fn=lambda m: F.cross_entropy(m(X), y).item())
    assert h.eval_step == [6] and list(h.eval_metrics) == ["eval_loss"]


def test_eval_after_an_early_stop_counts_the_updates_taken(spirals):
    X, y = spirals
    model = _model()
    h = train(model, _nan_at(X, y, 4), SGD(model.parameters(), lr=0.1), steps=10,
              eval_fn=lambda m: 0.0)
    assert len(h) == 5 and h.eval_step == [4]


# --------------------------------------------------------------------------- losses, models


def test_default_loss_uses_a_models_own_targets_argument():
    text = "hello world, hello clipping. " * 20
    tok = CharTokenizer(text)
    ids = tok.encode(text, device="cpu")
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    model = CharTransformer(tok.vocab_size, block_size=16, n_layer=1, n_head=2, n_embd=16,
                            device="cpu")
    h = train(model, lambda t: char_batches(ids, 16, 4, generator=gen, device="cpu"),
              AdamW(model.parameters(), lr=3e-3), steps=3, clip_norm=1.0)
    assert len(h) == 3
    assert h.loss[0] == pytest.approx(math.log(tok.vocab_size), rel=0.1)


def test_loss_of_picks_the_right_loss():
    torch.manual_seed(0)
    mlp = MLP([3, 4, 2], device="cpu")
    x, y = torch.randn(5, 3), torch.tensor([0, 1, 1, 0, 1])
    assert loss_of(mlp, x, y).item() == pytest.approx(F.cross_entropy(mlp(x), y).item())
    target = torch.randn(5, 2)
    assert loss_of(mlp, x, target, F.mse_loss).item() == pytest.approx(
        F.mse_loss(mlp(x), target).item()
    )


def test_bf16_autocast_is_ignored_on_the_cpu(spirals):
    X, y = spirals
    runs = []
    for dtype in (None, torch.bfloat16):
        model = _model()
        runs.append(train(model, _batches(X, y), SGD(model.parameters(), lr=0.1), steps=5,
                          autocast_dtype=dtype, device="cpu"))
    assert runs[0].loss == runs[1].loss
    assert runs[1].meta["autocast_dtype"] is None


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_bf16_autocast_on_cuda(spirals):
    X, y = spirals
    model = _model(device="cuda")
    h = train(model, _batches(X, y, device="cpu"), AdamW(model.parameters(), lr=1e-2),
              steps=50, autocast_dtype=torch.bfloat16, clip_norm=1.0)
    assert h.meta["autocast_dtype"] == "bfloat16"
    assert all(math.isfinite(v) for v in h.loss) and h.loss[-1] < h.loss[0]


@pytest.mark.parametrize("device", DEVICES)
def test_batches_are_moved_to_the_models_device(spirals, device):
    X, y = spirals
    model = _model(device=device)
    h = train(model, _batches(X, y, device="cpu"), SGD(model.parameters(), lr=0.1), steps=3)
    assert len(h) == 3


def test_no_progress_bar_by_default(spirals, capsys):
    X, y = spirals
    model = _model()
    train(model, _batches(X, y), SGD(model.parameters(), lr=0.1), steps=3)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


# --------------------------------------------------------------------------- validation, saving


@pytest.mark.parametrize(
    "kwargs",
    [
        {"steps": -1},
        {"steps": 2.5},
        {"steps": 3, "clip_norm": 0.0},
        {"steps": 3, "clip_norm": float("inf")},
        {"steps": 3, "eval_every": 0},
        {"steps": 3, "autocast_dtype": torch.float16},
    ],
)
def test_bad_arguments_raise_value_error(spirals, kwargs):
    X, y = spirals
    model = _model()
    with pytest.raises(ValueError):
        train(model, _batches(X, y), SGD(model.parameters(), lr=0.1), **kwargs)


def test_history_round_trips_through_json(spirals):
    X, y = spirals
    model = _model()
    h = train(model, _nan_at(X, y, 4), SGD(model.parameters(), lr=0.1), steps=10, clip_norm=1.0,
              eval_fn=lambda m: {"acc": 0.5}, eval_every=2)
    back = History.from_dict(json.loads(json.dumps(h.to_dict())))
    assert back.step == h.step and back.clipped == h.clipped and back.meta == h.meta
    assert back.eval_step == h.eval_step and back.eval_metrics == h.eval_metrics
    assert back.loss[:4] == h.loss[:4] and math.isnan(back.loss[4])


def test_history_rejects_ragged_lists():
    with pytest.raises(ValueError, match="same length"):
        History(step=[0, 1], loss=[1.0], lr=[0.1, 0.1], grad_norm=[1.0, 1.0], clipped=[False] * 2)
    with pytest.raises(ValueError, match="eval metric"):
        History(eval_step=[0, 5], eval_metrics={"acc": [0.1]})
