"""course_lib.optim against torch.optim, the way PyTorch tests its own optimizers.

A seeded MLP is trained twice from the same start, once with ours and once with torch's, with
two param groups of different settings, a learning-rate scheduler, gradients set to None on some
steps, a layer frozen for the first part of the run, and a state_dict round trip (through
torch.save / torch.load) in the middle. Parameters AND every state tensor must match.

Run with ``-s`` to see the worst relative error of each run.
"""

from __future__ import annotations

import inspect
import io
import math

import pytest
import torch
from torch import nn

import course_lib.optim as ours
from course_lib.optim import (
    SGD,
    Adagrad,
    Adam,
    AdamW,
    RMSprop,
    adagrad_update_,
    adam_update_,
    adamw_update_,
    rmsprop_update_,
    sgd_update_,
)
from course_lib.optim._base import next_step

CLASSES = {"SGD": SGD, "Adagrad": Adagrad, "RMSprop": RMSprop, "Adam": Adam, "AdamW": AdamW}
TORCH = {name: getattr(torch.optim, name) for name in CLASSES}

STEPS = 120
SAVE_AT = 60  # state_dict round trip after this many steps
UNFREEZE_AT = 25  # the first layer is frozen (grad None) before this step
TOL = {torch.float64: 1e-6, torch.float32: 1e-4}

# (optimizer, constructor kwargs, group 0 settings, group 1 settings)
CASES = [
    ("SGD", {"lr": 0.05}, {}, {"lr": 0.02}),
    ("SGD", {"lr": 0.05, "momentum": 0.9}, {}, {"lr": 0.02, "momentum": 0.5, "weight_decay": 1e-2}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.3}, {}, {"weight_decay": 1e-3, "dampening": 0.0}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}, {}, {"momentum": 0.7, "weight_decay": 1e-2}),
    ("SGD", {"lr": 1e-3, "momentum": 0.9}, {"maximize": True}, {"weight_decay": 0.1}),
    ("Adagrad", {"lr": 0.1}, {}, {"lr": 0.05, "weight_decay": 1e-2}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01}, {}, {"lr_decay": 0.1, "eps": 1e-6}),
    ("Adagrad", {"lr": 0.1, "initial_accumulator_value": 0.1}, {"maximize": True}, {"weight_decay": 1e-2}),
    ("RMSprop", {"lr": 3e-3}, {}, {"lr": 1e-3, "alpha": 0.9, "weight_decay": 1e-2}),
    ("RMSprop", {"lr": 3e-3, "momentum": 0.9}, {}, {"momentum": 0.5, "eps": 1e-6}),
    ("RMSprop", {"lr": 3e-3, "centered": True}, {}, {"alpha": 0.95, "weight_decay": 1e-2}),
    ("RMSprop", {"lr": 1e-3, "centered": True, "momentum": 0.9}, {"maximize": True}, {"centered": False}),
    ("Adam", {"lr": 1e-2}, {}, {"lr": 3e-3, "betas": (0.8, 0.99), "weight_decay": 1e-2}),
    ("Adam", {"lr": 1e-2, "amsgrad": True}, {}, {"weight_decay": 1e-2, "eps": 1e-6}),
    ("Adam", {"lr": 1e-2, "weight_decay": 1e-3}, {"maximize": True}, {"amsgrad": True, "lr": 3e-3}),
    ("AdamW", {"lr": 1e-2}, {}, {"lr": 3e-3, "weight_decay": 0.1, "betas": (0.8, 0.99)}),
    ("AdamW", {"lr": 1e-2, "amsgrad": True}, {"weight_decay": 0.0}, {"weight_decay": 0.3}),
]


def _case_id(case):
    name, kwargs, g0, g1 = case
    flags = ",".join(f"{k}={v}" for k, v in {**kwargs, **g0}.items() if k != "lr")
    return f"{name}[{flags}]" if flags else name


# --------------------------------------------------------------------------- helpers


def make_mlp(dtype: torch.dtype, seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 3)
    ).to(dtype)


def make_data(dtype: torch.dtype, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(64, 5, generator=gen, dtype=dtype)
    y = torch.randn(64, 3, generator=gen, dtype=dtype)
    return x, y


def param_groups(model: nn.Sequential, g0: dict, g1: dict) -> list[dict]:
    """Group 0: the first two Linear layers; group 1: the last one."""
    first = [*model[0].parameters(), *model[2].parameters()]
    return [{"params": first, **g0}, {"params": list(model[4].parameters()), **g1}]


def lr_lambda(t: int) -> float:
    """A schedule that changes every step: halves every 40 steps, with a wobble."""
    return 0.5 ** (t // 40) * (1.0 + 0.3 * math.sin(t / 5))


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    scale = b.abs().max().item()
    diff = (a - b).abs().max().item()
    return 0.0 if diff == 0 else diff / max(scale, 1e-30)


def compare(model_a, opt_a, model_b, opt_b) -> float:
    """Worst relative error over parameters and state tensors; asserts the state layouts agree."""
    worst = 0.0
    for pa, pb in zip(model_a.parameters(), model_b.parameters(), strict=True):
        worst = max(worst, rel_err(pa, pb))
        sa, sb = opt_a.state.get(pa, {}), opt_b.state.get(pb, {})
        if not sa:
            # torch.optim.Adagrad creates state in its constructor; we create it at the first step
            assert not sb or float(sb["step"]) == 0, "torch stepped a parameter we did not"
            continue
        assert set(sa) == set(sb), f"state names differ: {sorted(sa)} vs {sorted(sb)}"
        for key in sa:
            if key == "step":
                assert torch.is_tensor(sa[key]) and float(sa[key]) == float(sb[key])
            else:
                worst = max(worst, rel_err(sa[key], sb[key]))
    return worst


def round_trip(opt_cls, model, groups_fn, opt, sched) -> tuple:
    """Save optimizer + scheduler through torch.save, rebuild both fresh, load them back."""
    buf = io.BytesIO()
    torch.save({"opt": opt.state_dict(), "sched": sched.state_dict()}, buf)
    buf.seek(0)
    saved = torch.load(buf, weights_only=True)
    new_opt = opt_cls(groups_fn(model))
    new_sched = torch.optim.lr_scheduler.LambdaLR(new_opt, lr_lambda)
    new_opt.load_state_dict(saved["opt"])
    new_sched.load_state_dict(saved["sched"])
    return new_opt, new_sched


def train_pair(name, kwargs, g0, g1, dtype, steps=STEPS, save_at=SAVE_AT):
    """Train ours and torch's side by side; return (worst relative error, ours, torch's)."""
    x, y = make_data(dtype)
    runs = []
    for cls in (CLASSES[name], TORCH[name]):
        model = make_mlp(dtype)
        model[0].requires_grad_(False)  # frozen layer: its grads stay None until UNFREEZE_AT

        def groups(m, g0=g0, g1=g1):
            return param_groups(m, g0, g1)

        def make_opt(params, cls=cls):
            return cls(params, **kwargs)

        opt = make_opt(groups(model))
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda)
        runs.append([model, opt, sched, make_opt, groups])

    gen = torch.Generator().manual_seed(2)
    worst = 0.0
    for t in range(steps):
        idx = torch.randint(0, len(x), (16,), generator=gen)
        if t == UNFREEZE_AT:
            for run in runs:
                run[0][0].requires_grad_(True)
        for run in runs:
            model, opt, sched, make_opt, groups = run
            opt.zero_grad()
            nn.functional.mse_loss(model(x[idx]), y[idx]).backward()
            for i, p in enumerate(model.parameters()):
                if (t + i) % 7 == 0:
                    p.grad = None  # no gradient this step: the optimizer must skip p
            opt.step()
            sched.step()
            if t + 1 == save_at:
                run[1], run[2] = round_trip(make_opt, model, groups, opt, sched)
        if t + 1 == save_at or t % 20 == 0:
            worst = max(worst, compare(runs[0][0], runs[0][1], runs[1][0], runs[1][1]))
    worst = max(worst, compare(runs[0][0], runs[0][1], runs[1][0], runs[1][1]))
    return worst, runs[0], runs[1]


# --------------------------------------------------------------------------- parity


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_matches_torch_optim(case, dtype):
    name, kwargs, g0, g1 = case
    worst, (model, opt, *_), _ = train_pair(name, kwargs, g0, g1, dtype)
    print(f"\n{_case_id(case)} {dtype}: worst relative error {worst:.2e}")
    assert worst <= TOL[dtype]
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert opt.param_groups[0]["initial_lr"] == kwargs["lr"]  # the scheduler drove this run


@pytest.mark.parametrize("name", list(CLASSES))
def test_loads_a_torch_state_dict_and_back(name):
    """Our state dicts have torch's layout: a run can switch implementations midway."""
    x, y = make_data(torch.float64)
    model_a, model_b = make_mlp(torch.float64), make_mlp(torch.float64)
    opt_a = TORCH[name](model_a.parameters(), lr=1e-2)
    opt_b = TORCH[name](model_b.parameters(), lr=1e-2)
    sched_a = torch.optim.lr_scheduler.StepLR(opt_a, step_size=7, gamma=0.5)
    sched_b = torch.optim.lr_scheduler.StepLR(opt_b, step_size=7, gamma=0.5)
    for t in range(30):
        if t in (10, 20):  # run a switches: torch -> ours at step 10, ours -> torch at step 20
            new_opt = (CLASSES if t == 10 else TORCH)[name](model_a.parameters(), lr=1e-2)
            new_sched = torch.optim.lr_scheduler.StepLR(new_opt, step_size=7, gamma=0.5)
            new_opt.load_state_dict(opt_a.state_dict())
            new_sched.load_state_dict(sched_a.state_dict())
            opt_a, sched_a = new_opt, new_sched
        for model, opt, sched in ((model_a, opt_a, sched_a), (model_b, opt_b, sched_b)):
            opt.zero_grad()
            nn.functional.mse_loss(model(x), y).backward()
            opt.step()
            sched.step()
        if t == 19:
            assert type(opt_a) is CLASSES[name]
            assert compare(model_a, opt_a, model_b, opt_b) <= 1e-12
    assert compare(model_a, opt_a, model_b, opt_b) <= 1e-12


@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("SGD", {"lr": 0.05, "momentum": 0.9}),
        ("RMSprop", {"lr": 1e-3, "momentum": 0.9}),
        ("Adam", {"lr": 1e-2}),
        ("AdamW", {"lr": 1e-2, "amsgrad": True}),
    ],
)
def test_one_cycle_lr_cycles_momentum_like_torch(name, kwargs):
    x, y = make_data(torch.float64)
    runs = []
    for cls in (CLASSES[name], TORCH[name]):
        model = make_mlp(torch.float64)
        opt = cls(param_groups(model, {}, {"weight_decay": 1e-2}), **kwargs)
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=[0.05, 0.02], total_steps=40, cycle_momentum=True
        )
        runs.append((model, opt, sched))
    seen = set()
    for _ in range(40):
        for model, opt, sched in runs:
            opt.zero_grad()
            nn.functional.mse_loss(model(x), y).backward()
            opt.step()
            sched.step()
        group = runs[0][1].param_groups[0]
        seen.add(group["betas"][0] if "betas" in group else group["momentum"])
    assert len(seen) > 10, "OneCycleLR did not change momentum / beta1"
    assert compare(runs[0][0], runs[0][1], runs[1][0], runs[1][1]) <= 1e-10


def test_adagrad_with_one_cycle_lr_without_momentum():
    model = make_mlp(torch.float64)
    opt = Adagrad(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=0.1, total_steps=10, cycle_momentum=False
    )
    x, y = make_data(torch.float64)
    lrs = []
    for _ in range(10):
        opt.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        opt.step()
        lrs.append(opt.param_groups[0]["lr"])
        sched.step()
    assert len(set(lrs)) == 10


def _devices() -> list[str]:
    devs = ["cpu"]
    if torch.cuda.is_available():
        devs.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devs.append("mps")
    return devs


@pytest.mark.parametrize("device", _devices())
@pytest.mark.parametrize("name", list(CLASSES))
def test_runs_on_the_parameters_device(name, device):
    kwargs = {"lr": 1e-2, "momentum": 0.9} if name in ("SGD", "RMSprop") else {"lr": 1e-2}
    torch.manual_seed(0)
    p_a = torch.randn(4, 3, device=device, requires_grad=True)
    p_b = p_a.detach().clone().requires_grad_(True)
    opt_a, opt_b = CLASSES[name]([p_a], **kwargs), TORCH[name]([p_b], **kwargs)
    for _ in range(5):
        for p, opt in ((p_a, opt_a), (p_b, opt_b)):
            opt.zero_grad()
            (p.sin() * p).sum().backward()
            opt.step()
    assert p_a.device == p_b.device
    for key, val in opt_a.state[p_a].items():
        if key != "step":
            assert val.device == p_a.device, key
    torch.testing.assert_close(p_a, p_b, rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------- the contract


@pytest.mark.parametrize("name", list(CLASSES))
def test_same_arguments_and_defaults_as_torch(name):
    ours_sig = inspect.signature(CLASSES[name])
    torch_sig = inspect.signature(TORCH[name])
    for arg, param in ours_sig.parameters.items():
        assert arg in torch_sig.parameters, f"{name}: torch has no argument {arg!r}"
        if param.default is not inspect.Parameter.empty:
            assert param.default == torch_sig.parameters[arg].default, arg
    # positional arguments come in torch's order, so SGD(params, 0.1, 0.9) means the same thing
    positional = [a for a, p in ours_sig.parameters.items() if p.kind is p.POSITIONAL_OR_KEYWORD]
    assert positional == list(torch_sig.parameters)[: len(positional)]
    assert issubclass(CLASSES[name], torch.optim.Optimizer)


def test_exports():
    assert set(ours.__all__) == {
        "SGD", "Adagrad", "RMSprop", "Adam", "AdamW",
        "sgd_update_", "adagrad_update_", "rmsprop_update_", "adam_update_", "adamw_update_", "Lion", "lion_update_",
        "Muon", "muon_update_", "orthogonalize", "split_for_muon",
    }  # fmt: skip
    assert issubclass(AdamW, Adam) and issubclass(torch.optim.AdamW, torch.optim.Adam)


@pytest.mark.parametrize("name", list(CLASSES))
def test_zero_gradient_changes_nothing(name):
    p = torch.randn(5, 4, dtype=torch.float64, requires_grad=True)
    before = p.detach().clone()
    kwargs = {"weight_decay": 0.0} if name == "AdamW" else {}
    opt = CLASSES[name]([p], lr=0.1, **kwargs)
    p.grad = torch.zeros_like(p)
    for _ in range(3):
        opt.step()
    assert torch.equal(p.detach(), before)


@pytest.mark.parametrize("name", list(CLASSES))
def test_zero_gradient_with_weight_decay_shrinks_like_torch(name):
    params = [torch.randn(5, 4, dtype=torch.float64, requires_grad=True) for _ in range(2)]
    params[1].data.copy_(params[0].data)
    opt_a = CLASSES[name]([params[0]], lr=0.1, weight_decay=0.5)
    opt_b = TORCH[name]([params[1]], lr=0.1, weight_decay=0.5)
    before = params[0].detach().clone()
    for p, opt in zip(params, (opt_a, opt_b)):
        p.grad = torch.zeros_like(p)
        opt.step()
    assert params[0].abs().sum() < before.abs().sum()
    torch.testing.assert_close(params[0], params[1], rtol=1e-12, atol=0)
    if name == "AdamW":  # decoupled decay: exactly p * (1 - lr*wd) when g = 0
        assert torch.equal(params[0].detach(), before * (1 - 0.1 * 0.5))


@pytest.mark.parametrize("name", list(CLASSES))
def test_params_without_grad_are_skipped(name):
    a = torch.randn(3, requires_grad=True)
    b = torch.randn(3, requires_grad=True)
    a_before, b_before = a.detach().clone(), b.detach().clone()
    opt = CLASSES[name]([a, b], lr=0.1)
    a.grad = torch.ones(3)
    opt.step()
    assert torch.equal(b.detach(), b_before)
    assert b not in opt.state or not opt.state[b]
    assert not torch.equal(a.detach(), a_before)


@pytest.mark.parametrize("name", list(CLASSES))
def test_sparse_gradients_are_rejected(name):
    emb = nn.Embedding(10, 3, sparse=True)
    opt = CLASSES[name](emb.parameters(), lr=0.1)
    emb(torch.tensor([1, 2])).sum().backward()
    with pytest.raises(RuntimeError, match="sparse"):
        opt.step()


@pytest.mark.parametrize("name", list(CLASSES))
def test_closure_is_evaluated_with_grad_and_its_loss_returned(name):
    p = torch.tensor([1.0, -2.0], requires_grad=True)
    opt = CLASSES[name]([p], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (p**2).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == 5.0
    assert opt.step() is None


def test_param_group_added_later_gets_its_own_settings_and_state():
    a, b = torch.zeros(2, requires_grad=True), torch.zeros(2, requires_grad=True)
    opt = Adam([a], lr=0.1)
    opt.add_param_group({"params": [b], "lr": 0.01})
    a.grad, b.grad = torch.ones(2), torch.ones(2)
    opt.step()
    torch.testing.assert_close(a.detach(), torch.full((2,), -0.1))
    torch.testing.assert_close(b.detach(), torch.full((2,), -0.01))
    assert opt.state[b]["step"].item() == 1.0


def test_amsgrad_switched_on_midway_creates_its_state():
    p = torch.randn(3, requires_grad=True)
    opt = Adam([p], lr=0.1)
    p.grad = torch.ones(3)
    opt.step()
    opt.param_groups[0]["amsgrad"] = True
    opt.step()
    assert "max_exp_avg_sq" in opt.state[p]


def test_step_stored_as_a_plain_number_still_counts():
    """Older state dicts stored ``step`` as a number; it is turned into torch's tensor form."""
    state = {"step": 4}
    assert next_step(state) == 5.0
    assert torch.is_tensor(state["step"]) and state["step"].item() == 5.0
    p = torch.zeros(2, requires_grad=True)
    opt = Adam([p], lr=0.1)
    p.grad = torch.ones(2)
    opt.step()
    opt.state[p]["step"] = 1
    opt.step()
    assert opt.state[p]["step"].item() == 2.0


# --------------------------------------------------------------------------- the update functions


def test_update_functions_are_the_algorithm():
    """The pure functions alone reproduce torch.optim's first steps on one tensor."""
    torch.manual_seed(0)
    p0 = torch.randn(6, dtype=torch.float64)
    grads = [torch.randn(6, dtype=torch.float64) for _ in range(4)]

    def torch_run(cls, **kw):
        p = p0.clone().requires_grad_(True)
        opt = cls([p], **kw)
        for g in grads:
            p.grad = g.clone()
            opt.step()
        return p.detach()

    p, b = p0.clone(), None
    for g in grads:
        b = sgd_update_(p, g, b, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)
    torch.testing.assert_close(
        p, torch_run(torch.optim.SGD, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
        rtol=0, atol=0,
    )

    p, s = p0.clone(), torch.zeros(6, dtype=torch.float64)
    for t, g in enumerate(grads, 1):
        adagrad_update_(p, g, s, t=t, lr=0.1, lr_decay=0.05)
    torch.testing.assert_close(p, torch_run(torch.optim.Adagrad, lr=0.1, lr_decay=0.05), rtol=0, atol=0)

    p, v, b, ga = p0.clone(), *(torch.zeros(6, dtype=torch.float64) for _ in range(3))
    for g in grads:
        rmsprop_update_(p, g, v, lr=0.01, momentum=0.9, b=b, g_avg=ga)
    expect = torch_run(torch.optim.RMSprop, lr=0.01, momentum=0.9, centered=True)
    torch.testing.assert_close(p, expect, rtol=0, atol=0)

    for fn, cls in ((adam_update_, torch.optim.Adam), (adamw_update_, torch.optim.AdamW)):
        p, m, v, vmax = p0.clone(), *(torch.zeros(6, dtype=torch.float64) for _ in range(3))
        for t, g in enumerate(grads, 1):
            fn(p, g, m, v, t=t, lr=0.1, weight_decay=0.1, v_max=vmax)
        expect = torch_run(cls, lr=0.1, weight_decay=0.1, amsgrad=True)
        torch.testing.assert_close(p, expect, rtol=0, atol=0)


def test_adam_first_step_moves_each_coordinate_by_lr():
    p = torch.tensor([1.0, -3.0, 0.5], dtype=torch.float64)
    g = torch.tensor([1e-3, 5.0, -200.0], dtype=torch.float64)
    m, v = torch.zeros(3, dtype=torch.float64), torch.zeros(3, dtype=torch.float64)
    adam_update_(p, g, m, v, t=1, lr=0.01, eps=1e-12)
    torch.testing.assert_close(p, torch.tensor([0.99, -3.01, 0.51], dtype=torch.float64))


def test_sgd_momentum_buffer_starts_at_the_first_gradient():
    p, g = torch.zeros(2), torch.tensor([1.0, -2.0])
    b = sgd_update_(p, g, None, lr=0.1, momentum=0.9, dampening=0.5)
    assert torch.equal(b, g) and b is not g  # b_1 = g_1, a copy; dampening not applied yet
    sgd_update_(p, g, b, lr=0.1, momentum=0.9, dampening=0.5)
    assert torch.equal(b, 0.9 * g + 0.5 * g)


# --------------------------------------------------------------------------- validation

COMMON_BAD = [
    ({"lr": -0.1}, "lr"),
    ({"lr": float("nan")}, "lr"),
    ({"lr": float("inf")}, "lr"),
    ({"lr": "0.1"}, "lr"),
    ({"lr": None}, "lr"),
    ({"lr": True}, "lr"),
    ({"lr": torch.tensor(0.1)}, "lr"),
    ({"weight_decay": -1e-4}, "weight_decay"),
    ({"weight_decay": float("nan")}, "weight_decay"),
    ({"maximize": "yes"}, "maximize"),
]
SPECIFIC_BAD = {
    "SGD": [
        ({"momentum": -0.1}, "momentum"),
        ({"momentum": float("inf")}, "momentum"),
        ({"dampening": -0.1}, "dampening"),
        ({"dampening": 1.5}, "dampening"),
        ({"nesterov": True}, "nesterov"),
        ({"nesterov": True, "momentum": 0.9, "dampening": 0.1}, "nesterov"),
        ({"nesterov": 1, "momentum": 0.9}, "nesterov"),
    ],
    "Adagrad": [
        ({"lr_decay": -0.1}, "lr_decay"),
        ({"initial_accumulator_value": -1.0}, "initial_accumulator_value"),
        ({"eps": 0.0}, "eps"),
        ({"eps": -1e-10}, "eps"),
    ],
    "RMSprop": [
        ({"alpha": 1.0}, "alpha"),
        ({"alpha": -0.1}, "alpha"),
        ({"alpha": 1.5}, "alpha"),
        ({"eps": 0.0}, "eps"),
        ({"momentum": -0.5}, "momentum"),
        ({"centered": 1}, "centered"),
    ],
    "Adam": [
        ({"betas": (1.0, 0.999)}, "betas[0]"),
        ({"betas": (-0.1, 0.999)}, "betas[0]"),
        ({"betas": (0.9, 1.0)}, "betas[1]"),
        ({"betas": (0.9, float("nan"))}, "betas[1]"),
        ({"betas": (0.9,)}, "betas"),
        ({"betas": 0.9}, "betas"),
        ({"betas": "ab"}, "betas"),
        ({"eps": 0.0}, "eps"),
        ({"eps": -1e-8}, "eps"),
        ({"amsgrad": None}, "amsgrad"),
    ],
}
SPECIFIC_BAD["AdamW"] = SPECIFIC_BAD["Adam"]
BAD = [(name, kw, arg) for name in CLASSES for kw, arg in COMMON_BAD + SPECIFIC_BAD[name]]


def _bad_id(item):
    name, kw, _ = item
    return f"{name}-" + ",".join(f"{k}={v!r}" for k, v in kw.items())


@pytest.mark.parametrize("item", BAD, ids=[_bad_id(b) for b in BAD])
def test_invalid_hyperparameter_raises_naming_it(item):
    name, kwargs, arg = item
    p = torch.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match=rf"^{name}: {arg.replace('[', '.').replace(']', '.')}"):
        CLASSES[name]([p], **kwargs)
    # the same value in a param group is caught too, and names the group
    with pytest.raises(ValueError, match=rf"{name} param group 1: .*{arg.split('[')[0]}"):
        CLASSES[name]([{"params": [p]}, {"params": [torch.zeros(1, requires_grad=True)], **kwargs}])


@pytest.mark.parametrize("name", list(CLASSES))
def test_bad_group_added_later_is_not_kept(name):
    opt = CLASSES[name]([torch.zeros(2, requires_grad=True)])
    with pytest.raises(ValueError, match="param group 1: lr"):
        opt.add_param_group({"params": [torch.zeros(1, requires_grad=True)], "lr": -1.0})
    assert len(opt.param_groups) == 1


def test_valid_edge_values_are_accepted():
    p = [torch.zeros(2, requires_grad=True)]
    SGD(p, lr=0, momentum=0, dampening=1.0)
    SGD(p, lr=1, momentum=0.9, nesterov=True)
    Adagrad(p, lr_decay=0, initial_accumulator_value=0)
    RMSprop(p, alpha=0.0)
    Adam(p, betas=[0.0, 0.0])
    AdamW(p, weight_decay=0)
