"""course_lib.optim.Lion against an independent transcription of the paper's pseudocode.

PyTorch has no Lion, so the reference is written here, out of place and line by line from
Chen et al. (2023), Algorithm 2 ("Symbolic Discovery of Optimization Algorithms"):

    c = beta1 * m + (1 - beta1) * g
    p = p - lr * (sign(c) + wd * p)
    m = beta2 * m + (1 - beta2) * g

It shares no code with ``course_lib/optim/lion.py`` (no ``lerp``, no in-place ops). The two run
side by side on random gradients for many steps, with two param groups of different settings,
a learning rate that changes every step, parameters that get no gradient on some steps, and a
state_dict round trip (through torch.save / torch.load) in the middle.
"""

from __future__ import annotations

import io
import math

import pytest
import torch

import course_lib.optim as ours
from course_lib.optim import Lion, lion_update_

STEPS = 200
SAVE_AT = 90
TOL = {torch.float64: 1e-12, torch.float32: 1e-5}

GROUP_SETTINGS = [
    {"lr": 3e-3, "betas": (0.9, 0.99), "weight_decay": 0.0},
    {"lr": 1e-3, "betas": (0.8, 0.95), "weight_decay": 0.5},
]


def reference_step(p, g, m, *, lr, beta1, beta2, wd):
    """The paper's three lines, out of place: returns the new (p, m)."""
    c = beta1 * m + (1 - beta1) * g
    p_new = p - lr * (torch.sign(c) + wd * p)
    m_new = beta2 * m + (1 - beta2) * g
    return p_new, m_new


def lr_factor(t: int) -> float:
    """A multiplier that changes every step, so a stale lr would show."""
    return 0.5 ** (t // 60) * (1.0 + 0.3 * math.sin(t / 7))


def make_params(dtype, seed=0):
    gen = torch.Generator().manual_seed(seed)
    shapes = [(7, 5), (5,), (3, 7), (3,)]
    return [torch.randn(s, generator=gen, dtype=dtype) for s in shapes]


def groups_of(params):
    """Group 0: the first two tensors; group 1: the last two, with their own settings."""
    return [{"params": params[:2], **GROUP_SETTINGS[0]},
            {"params": params[2:], **GROUP_SETTINGS[1]}]


def round_trip(opt, sched, params):
    buf = io.BytesIO()
    torch.save({"opt": opt.state_dict(), "sched": sched.state_dict()}, buf)
    buf.seek(0)
    saved = torch.load(buf, weights_only=True)
    new_opt = Lion(groups_of(params))
    new_sched = torch.optim.lr_scheduler.LambdaLR(new_opt, lr_factor)
    new_opt.load_state_dict(saved["opt"])
    new_sched.load_state_dict(saved["sched"])
    return new_opt, new_sched


def rel_err(a, b):
    scale = b.abs().max().item()
    diff = (a - b).abs().max().item()
    return 0.0 if diff == 0 else diff / max(scale, 1e-30)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
def test_matches_the_papers_pseudocode(dtype):
    params = [p.clone().requires_grad_(True) for p in make_params(dtype)]
    ref_p = [p.detach().clone() for p in params]
    ref_m = [torch.zeros_like(p) for p in ref_p]
    settings = [GROUP_SETTINGS[0]] * 2 + [GROUP_SETTINGS[1]] * 2
    opt = Lion(groups_of(params))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_factor)
    gen = torch.Generator().manual_seed(1)
    worst = 0.0
    for t in range(STEPS):
        for i, p in enumerate(params):
            g = torch.randn(p.shape, generator=gen, dtype=dtype)
            if (t + i) % 9 == 0:
                p.grad = None  # no gradient: both must leave p and m alone
                continue
            p.grad = g
            s = settings[i]
            ref_p[i], ref_m[i] = reference_step(
                ref_p[i], g, ref_m[i], lr=s["lr"] * lr_factor(t),
                beta1=s["betas"][0], beta2=s["betas"][1], wd=s["weight_decay"],
            )
        opt.step()
        sched.step()
        if t + 1 == SAVE_AT:
            opt, sched = round_trip(opt, sched, params)
        for i, p in enumerate(params):
            worst = max(worst, rel_err(p.detach(), ref_p[i]))
            if opt.state.get(p):
                worst = max(worst, rel_err(opt.state[p]["exp_avg"], ref_m[i]))
    print(f"\nLion vs the paper's pseudocode, {dtype}: worst relative error {worst:.2e}")
    assert worst <= TOL[dtype]
    assert set(opt.state[params[0]]) == {"exp_avg"}


def test_update_function_matches_the_pseudocode():
    gen = torch.Generator().manual_seed(3)
    p = torch.randn(50, dtype=torch.float64, generator=gen)
    m = torch.zeros(50, dtype=torch.float64)
    rp, rm = p.clone(), m.clone()
    for _ in range(300):
        g = torch.randn(50, dtype=torch.float64, generator=gen)
        lion_update_(p, g, m, lr=1e-2, beta1=0.9, beta2=0.99, weight_decay=0.1)
        rp, rm = reference_step(rp, g, rm, lr=1e-2, beta1=0.9, beta2=0.99, wd=0.1)
    assert rel_err(p, rp) <= 1e-12 and rel_err(m, rm) <= 1e-12


def test_every_coordinate_moves_by_exactly_lr():
    """The sign discards the gradient's size: tiny and huge gradients give the same step."""
    p = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    opt = Lion([p], lr=0.01)
    p.grad = torch.tensor([1e-9, -1e9, 3.0, -0.5], dtype=torch.float64)
    opt.step()
    assert torch.equal(p.detach(), torch.tensor([-0.01, 0.01, -0.01, 0.01], dtype=torch.float64))


def test_defaults_are_the_papers():
    opt = Lion([torch.zeros(1, requires_grad=True)])
    assert opt.defaults == {"lr": 1e-4, "betas": (0.9, 0.99), "weight_decay": 0.0,
                            "maximize": False}
    assert issubclass(Lion, torch.optim.Optimizer)


def test_state_is_one_tensor_the_size_of_the_parameters():
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
    opt = Lion(model.parameters(), lr=1e-3)
    model(torch.randn(4, 8)).sum().backward()
    opt.step()
    state_bytes = sum(v.numel() * v.element_size() for s in opt.state.values() for v in s.values())
    param_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    assert state_bytes == param_bytes
    assert all(set(s) == {"exp_avg"} for s in opt.state.values())


def test_weight_decay_alone_shrinks_by_one_minus_lr_wd():
    p = torch.full((3,), 2.0, dtype=torch.float64, requires_grad=True)
    opt = Lion([p], lr=0.1, weight_decay=0.5)
    p.grad = torch.zeros(3, dtype=torch.float64)  # sign(0) = 0: only the decay acts
    opt.step()
    torch.testing.assert_close(p.detach(), torch.full((3,), 2.0 * (1 - 0.1 * 0.5),
                                                      dtype=torch.float64))


def test_maximize_is_minimizing_the_negative():
    a = torch.randn(6, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    p1, p2 = a.clone().requires_grad_(True), a.clone().requires_grad_(True)
    o1, o2 = Lion([p1], lr=0.05, maximize=True), Lion([p2], lr=0.05)
    for _ in range(20):
        for p, o, sign in ((p1, o1, 1.0), (p2, o2, -1.0)):
            o.zero_grad()
            (sign * (p.sin() * p).sum()).backward()
            o.step()
    torch.testing.assert_close(p1, p2, rtol=0, atol=0)


def test_closure_loss_is_returned_and_params_without_grad_are_skipped():
    p = torch.ones(3, requires_grad=True)
    q = torch.ones(2, requires_grad=True)
    opt = Lion([p, q], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (p**2).sum()
        loss.backward()
        return loss

    assert opt.step(closure).item() == 3.0
    assert q not in opt.state and torch.equal(q.detach(), torch.ones(2))
    torch.testing.assert_close(p.detach(), torch.full((3,), 0.9))


def test_works_with_torch_schedulers_including_one_cycle_betas():
    p = torch.ones(3, requires_grad=True)
    opt = Lion([p], lr=0.1)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=20)
    lrs, beta1s = [], []
    for _ in range(20):
        lrs.append(opt.param_groups[0]["lr"])
        beta1s.append(opt.param_groups[0]["betas"][0])
        opt.zero_grad()
        (p**2).sum().backward()
        opt.step()
        sched.step()
    assert len(set(lrs)) > 10 and len(set(beta1s)) > 10


def test_sparse_gradients_are_rejected():
    emb = torch.nn.Embedding(5, 3, sparse=True)
    opt = Lion(emb.parameters())
    emb(torch.tensor([1, 2])).sum().backward()
    with pytest.raises(RuntimeError, match="sparse"):
        opt.step()


BAD = [
    ({"lr": -1e-3}, r"lr must be a finite number >= 0, got -0.001"),
    ({"lr": float("nan")}, r"lr must be a finite number"),
    ({"lr": torch.tensor(1e-3)}, r"lr must be a finite number"),
    ({"betas": (0.9, 1.0)}, r"betas\[1\] must be a finite number in \[0, 1\)"),
    ({"betas": (-0.1, 0.99)}, r"betas\[0\] must be a finite number in \[0, 1\)"),
    ({"betas": (0.9,)}, r"betas must be a pair"),
    ({"betas": "0.9"}, r"betas must be a pair"),
    ({"weight_decay": -0.1}, r"weight_decay must be a finite number >= 0"),
    ({"maximize": 1}, r"maximize must be True or False"),
]


@pytest.mark.parametrize("kwargs,message", BAD, ids=[str(k) for k, _ in BAD])
def test_invalid_settings_raise_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=r"^Lion: " + message):
        Lion([torch.zeros(1, requires_grad=True)], **kwargs)


def test_invalid_param_group_is_named():
    good = torch.zeros(1, requires_grad=True)
    bad = torch.zeros(1, requires_grad=True)
    with pytest.raises(ValueError, match=r"^Lion param group 1: betas\[0\]"):
        Lion([{"params": [good]}, {"params": [bad], "betas": (1.5, 0.99)}])


def test_exported():
    assert "Lion" in ours.__all__ and "lion_update_" in ours.__all__
    assert ours.Lion is Lion and ours.lion_update_ is lion_update_


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_runs_on_the_parameters_device():
    gen = torch.Generator().manual_seed(5)
    a = torch.randn(4, 3, generator=gen, dtype=torch.float64)
    p_gpu = a.to("cuda").requires_grad_(True)
    p_cpu = a.clone().requires_grad_(True)
    opts = [Lion([p_gpu], lr=1e-2, weight_decay=0.1), Lion([p_cpu], lr=1e-2, weight_decay=0.1)]
    for _ in range(10):
        for p, o in zip((p_gpu, p_cpu), opts):
            o.zero_grad()
            (p.sin() * p).sum().backward()
            o.step()
    assert opts[0].state[p_gpu]["exp_avg"].device.type == "cuda"
    torch.testing.assert_close(p_gpu.cpu(), p_cpu, rtol=1e-9, atol=1e-12)
