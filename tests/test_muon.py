"""course_lib.optim.Muon against a transcription of the authors' reference code.

The reference (github.com/KellerJordan/Muon, ``muon.py``: ``zeropower_via_newtonschulz5``,
``muon_update``, ``SingleDeviceMuon.step``) is copied below as plain functions, with two
differences that the course's version also makes and that the tests pin: the computation dtype
is a parameter (the reference casts to bfloat16 for GPUs) and the gradient is not overwritten
(the reference's ``grad.lerp_`` changes ``p.grad`` in place).
"""

import copy

import pytest
import torch

from course_lib.optim import AdamW
from course_lib.optim.muon import Muon, muon_update_, orthogonalize, split_for_muon


def ref_zeropower_via_newtonschulz5(G, steps, dtype):
    assert G.ndim >= 2
    a, b, c = (3.4445, -4.7750, 2.0315)
    X = G.to(dtype)
    if G.size(-2) > G.size(-1):
        X = X.mT
    X = X / (X.norm(dim=(-2, -1), keepdim=True) + 1e-7)
    for _ in range(steps):
        A = X @ X.mT
        B = b * A + c * A @ A
        X = a * X + B @ X
    if G.size(-2) > G.size(-1):
        X = X.mT
    return X


def ref_muon_update(grad, momentum, beta=0.95, ns_steps=5, nesterov=True, dtype=torch.float32):
    grad = grad.clone()                      # the reference overwrites p.grad here
    momentum.lerp_(grad, 1 - beta)
    update = grad.lerp_(momentum, beta) if nesterov else momentum
    if update.ndim == 4:
        update = update.view(len(update), -1)
    update = ref_zeropower_via_newtonschulz5(update, steps=ns_steps, dtype=dtype)
    update *= max(1, grad.size(-2) / grad.size(-1)) ** 0.5
    return update


def ref_step(params, states, lr, weight_decay, momentum, nesterov=True, ns_steps=5):
    for p in params:
        if p.grad is None:
            continue
        if p not in states:
            states[p] = torch.zeros_like(p)
        update = ref_muon_update(p.grad, states[p], beta=momentum, ns_steps=ns_steps,
                                 nesterov=nesterov, dtype=p.dtype)
        p.mul_(1 - lr * weight_decay)
        p.add_(update.reshape(p.shape).to(p.dtype), alpha=-lr)


SHAPES = [(16, 8), (8, 16), (12, 12), (6, 3, 3, 3)]   # tall, wide, square, conv filters


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("nesterov", [True, False])
@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_matches_the_reference_over_several_steps(dtype, nesterov, weight_decay):
    gen = torch.Generator().manual_seed(0)
    ours = [torch.randn(s, generator=gen, dtype=dtype) for s in SHAPES]
    theirs = [p.clone() for p in ours]
    opt = Muon(ours, lr=0.02, momentum=0.95, nesterov=nesterov, weight_decay=weight_decay)
    states = {}
    with torch.no_grad():
        for step in range(6):
            grads = [torch.randn(s, generator=gen, dtype=dtype) for s in SHAPES]
            for p, q, g in zip(ours, theirs, grads):
                p.grad, q.grad = g.clone(), g.clone()
            if step == 3:                    # a parameter without a gradient is skipped
                ours[1].grad = theirs[1].grad = None
            opt.step()
            ref_step(theirs, states, 0.02, weight_decay, 0.95, nesterov)
    for p, q in zip(ours, theirs):
        torch.testing.assert_close(p, q, rtol=0, atol=0)
    for p, q in zip(ours, theirs):
        torch.testing.assert_close(opt.state[p]["momentum_buffer"], states[q], rtol=0, atol=0)


def test_the_gradient_is_not_modified():
    p = torch.randn(5, 4)
    g = torch.randn(5, 4)
    muon_update_(p, g.clone(), torch.zeros(5, 4), lr=0.1)
    g_before = g.clone()
    muon_update_(p, g, torch.zeros(5, 4), lr=0.1)
    assert torch.equal(g, g_before)


@pytest.mark.parametrize("shape", [(64, 32), (32, 64), (50, 50)])
def test_orthogonalize_sets_singular_values_near_one(shape):
    gen = torch.Generator().manual_seed(1)
    # singular values spread over two decades
    u, _ = torch.linalg.qr(torch.randn(shape[0], shape[0], generator=gen, dtype=torch.float64))
    v, _ = torch.linalg.qr(torch.randn(shape[1], shape[1], generator=gen, dtype=torch.float64))
    k = min(shape)
    s = torch.logspace(-1, 1, k, dtype=torch.float64)
    G = u[:, :k] @ torch.diag(s) @ v[:, :k].T
    O = orthogonalize(G)
    sv = torch.linalg.svdvals(O)
    assert sv.min() > 0.5 and sv.max() < 1.3          # the reference's "roughly 0.5 to 1.5"
    # the singular vectors are G's: U^T O V is diagonal (each singular value mapped on its own)
    projected = u[:, :k].T @ O @ v[:, :k]
    off_diagonal = projected - torch.diag(torch.diagonal(projected))
    assert off_diagonal.abs().max() < 1e-8


def test_works_with_schedulers_and_state_dict_round_trips():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))
    matrices, others = split_for_muon(model)
    assert [p.shape for p in matrices] == [torch.Size([16, 8]), torch.Size([4, 16])]
    assert [p.shape for p in others] == [torch.Size([16]), torch.Size([4])]
    opt = Muon(matrices, lr=0.05)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 0.5 ** t)
    x, y = torch.randn(32, 8), torch.randn(32, 4)
    for _ in range(3):
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        opt.step()
        sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.05 / 8)
    clone = copy.deepcopy(model)
    opt2 = Muon(split_for_muon(clone)[0], lr=0.05)
    opt2.load_state_dict(copy.deepcopy(opt.state_dict()))  # torch shares the tensors otherwise
    for o in (opt, opt2):
        o.zero_grad()
    torch.nn.functional.mse_loss(model(x), y).backward()
    torch.nn.functional.mse_loss(clone(x), y).backward()
    opt.step()
    opt2.step()
    for a, b in zip(model.parameters(), clone.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_split_keeps_embeddings_and_named_layers_for_adamw():
    model = torch.nn.ModuleDict({"emb": torch.nn.Embedding(10, 4), "hidden": torch.nn.Linear(4, 4),
                                 "head": torch.nn.Linear(4, 10)})
    matrices, others = split_for_muon(model, exclude=("head",))
    assert matrices == [model["hidden"].weight]
    assert len(others) == 4
    AdamW(others, lr=1e-3)   # the rest is an ordinary AdamW group


@pytest.mark.parametrize("kwargs, match", [
    ({"lr": -1.0}, "lr"),
    ({"momentum": 1.0}, "momentum"),
    ({"ns_steps": 0}, "ns_steps"),
    ({"weight_decay": -0.1}, "weight_decay"),
    ({"nesterov": "yes"}, "nesterov"),
])
def test_bad_settings_are_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Muon([torch.zeros(3, 3, requires_grad=True)], **kwargs)


def test_vectors_are_refused_with_advice():
    with pytest.raises(ValueError, match="AdamW"):
        Muon([torch.zeros(3, 3, requires_grad=True), torch.zeros(3, requires_grad=True)])
    with pytest.raises(ValueError, match="matrix"):
        orthogonalize(torch.zeros(3))
    opt = Muon(p for p in [torch.zeros(2, 2, requires_grad=True)])   # a generator is fine
    assert len(opt.param_groups[0]["params"]) == 1
    group = Muon([{"params": (p for p in [torch.zeros(2, 2, requires_grad=True)]), "lr": 0.1}])
    assert len(group.param_groups[0]["params"]) == 1 and group.param_groups[0]["lr"] == 0.1
