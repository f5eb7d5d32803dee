"""course_lib.sam.SAM against an independent transcription of Foret et al.'s algorithm 1.

The reference below never calls SAM: it flattens the gradient, forms epsilon = rho * g / ||g||
by hand, takes the gradient at w + epsilon on its own copy of the model, puts w back and lets
a separate base optimizer step from w with that gradient.
"""

from __future__ import annotations

import copy
import math

import pytest
import torch
import torch.nn.functional as F
from torch.optim.lr_scheduler import LambdaLR

from course_lib.optim import AdamW as CourseAdamW
from course_lib.sam import SAM


def make_model(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 3)
    ).double()


def make_data(seed: int, n: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, 5, generator=gen, dtype=torch.float64), torch.randint(3, (n,), generator=gen)


def loss_fn(model, x, y):
    return F.cross_entropy(model(x), y)


def reference_sam_step(model, base, rho, x, y) -> float:
    """One SAM step, written out: epsilon = rho * g / ||g||, gradient at w + epsilon, step from w."""
    params = [p for p in model.parameters()]
    model.zero_grad(set_to_none=True)
    loss = loss_fn(model, x, y)
    grads = torch.autograd.grad(loss, params)
    g = torch.cat([gr.reshape(-1) for gr in grads])
    eps = rho * g / g.norm()                       # the ascent direction, length rho
    w = [p.detach().clone() for p in params]
    with torch.no_grad():
        offset = 0
        for p in params:                           # w + epsilon
            p.add_(eps[offset:offset + p.numel()].view_as(p))
            offset += p.numel()
    g_sam = torch.autograd.grad(loss_fn(model, x, y), params)
    with torch.no_grad():
        for p, w0, gs in zip(params, w, g_sam):    # back to w, install g_SAM
            p.copy_(w0)
            p.grad = gs.clone()
    base.step()
    return loss.item()


def sam_closure(model, x, y):
    def closure():
        loss = loss_fn(model, x, y)
        loss.backward()
        return loss
    return closure


BASES = {
    "sgd_momentum": lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9),
    "torch_adamw": lambda ps: torch.optim.AdamW(ps, lr=0.01, weight_decay=0.1),
    "course_adamw": lambda ps: CourseAdamW(ps, lr=0.01, weight_decay=0.1),
}


@pytest.mark.parametrize("base_name", list(BASES))
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("rho", [0.05, 0.5])
def test_matches_reference_over_several_steps(base_name, seed, rho):
    model = make_model(seed)
    ref = copy.deepcopy(model)
    opt = SAM(BASES[base_name](model.parameters()), rho=rho)
    ref_base = BASES[base_name](ref.parameters())
    for step in range(6):
        x, y = make_data(100 * seed + step)        # a new batch each step
        loss = opt.step(sam_closure(model, x, y))
        ref_loss = reference_sam_step(ref, ref_base, rho, x, y)
        assert loss.item() == pytest.approx(ref_loss, rel=1e-12), "step must return the loss at w"
        for p, q in zip(model.parameters(), ref.parameters()):
            torch.testing.assert_close(p, q, rtol=1e-10, atol=1e-12)
    assert all(not s for s in opt.state.values()), "SAM keeps no state between steps"


def test_first_step_moves_exactly_rho_along_the_gradient():
    model = make_model(3)
    opt = SAM(torch.optim.SGD(model.parameters(), lr=0.1), rho=0.2)
    x, y = make_data(3)
    loss_fn(model, x, y).backward()
    g = torch.cat([p.grad.reshape(-1) for p in model.parameters()])
    w = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    opt.first_step()
    moved = torch.cat([p.detach().reshape(-1) for p in model.parameters()]) - w
    assert moved.norm().item() == pytest.approx(0.2, rel=1e-10)
    assert F.cosine_similarity(moved, g, dim=0).item() == pytest.approx(1.0, abs=1e-12)
    opt.second_step()  # back to w before stepping: with SGD, w - lr * g(w + eps)
    # the base step started from w: undo it and compare
    after = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    g_sam = torch.cat([p.grad.reshape(-1) for p in model.parameters()])
    torch.testing.assert_close(after, w - 0.1 * g_sam, rtol=1e-12, atol=1e-14)


def test_rho_zero_is_the_base_optimizer():
    model = make_model(4)
    ref = copy.deepcopy(model)
    opt = SAM(torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9), rho=0.0)
    ref_opt = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
    for step in range(4):
        x, y = make_data(step)
        opt.step(sam_closure(model, x, y))
        ref_opt.zero_grad()
        loss_fn(ref, x, y).backward()
        ref_opt.step()
    for p, q in zip(model.parameters(), ref.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-12, atol=1e-14)


def test_per_group_rho_and_global_norm():
    """Each group uses its own rho, with the norm of the whole gradient (all groups)."""
    model = make_model(5)
    first, second = model[0], model[2]
    groups = [{"params": first.parameters(), "rho": 0.3}, {"params": second.parameters()}]
    opt = SAM(torch.optim.SGD(groups, lr=0.1), rho=0.1)
    assert [grp["rho"] for grp in opt.param_groups] == [0.3, 0.1]
    x, y = make_data(5)
    loss_fn(model, x, y).backward()
    g_norm = torch.cat([p.grad.reshape(-1) for p in model.parameters()]).norm()
    before = [p.detach().clone() for p in model.parameters()]
    grads = [p.grad.clone() for p in model.parameters()]
    opt.first_step()
    for i, (p, w, gr) in enumerate(zip(model.parameters(), before, grads)):
        rho = 0.3 if i < 2 else 0.1
        torch.testing.assert_close(p.detach() - w, rho * gr / g_norm, rtol=1e-10, atol=1e-14)


def test_a_scheduler_drives_the_base_optimizer():
    model = make_model(6)
    base = torch.optim.SGD(model.parameters(), lr=1.0)
    opt = SAM(base, rho=0.05)
    sched = LambdaLR(opt, lambda t: 0.5 ** t)
    x, y = make_data(6)
    for _ in range(3):
        opt.step(sam_closure(model, x, y))
        sched.step()
    assert base.param_groups[0]["lr"] == pytest.approx(0.125)
    assert opt.param_groups is base.param_groups


def test_zero_gradient_gives_no_nan():
    model = make_model(7)
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
    opt = SAM(torch.optim.SGD(model.parameters(), lr=0.1), rho=0.05)

    def closure():
        loss = (model(torch.zeros(2, 5, dtype=torch.float64)) * 0).sum()
        loss.backward()
        return loss

    opt.step(closure)
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_state_dict_round_trip():
    model = make_model(8)
    opt = SAM(torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9), rho=0.07)
    x, y = make_data(8)
    opt.step(sam_closure(model, x, y))
    clone = copy.deepcopy(model)
    opt2 = SAM(torch.optim.SGD(clone.parameters(), lr=0.5, momentum=0.9), rho=0.5)
    opt2.load_state_dict(copy.deepcopy(opt.state_dict()))  # torch shares tensors otherwise
    assert opt2.param_groups[0]["rho"] == 0.07 and opt2.param_groups[0]["lr"] == 0.1
    x, y = make_data(9)
    opt.step(sam_closure(model, x, y))
    opt2.step(sam_closure(clone, x, y))
    for p, q in zip(model.parameters(), clone.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("rho", [-0.1, math.nan, math.inf, True, "0.05", None])
def test_bad_rho_is_rejected(rho):
    model = make_model(0)
    with pytest.raises(ValueError, match="rho"):
        SAM(torch.optim.SGD(model.parameters(), lr=0.1), rho=rho)


def test_bad_group_rho_is_rejected():
    model = make_model(0)
    with pytest.raises(ValueError, match="rho"):
        SAM(torch.optim.SGD([{"params": model.parameters(), "rho": -1.0}], lr=0.1))


@pytest.mark.parametrize("base", [torch.optim.SGD, "sgd", None])
def test_base_must_be_an_optimizer_instance(base):
    with pytest.raises(ValueError, match="base_optimizer"):
        SAM(base, rho=0.05)


def test_sam_of_sam_is_rejected():
    model = make_model(0)
    inner = SAM(torch.optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(ValueError, match="base_optimizer"):
        SAM(inner)


def test_step_needs_a_closure():
    model = make_model(0)
    opt = SAM(torch.optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(ValueError, match="closure"):
        opt.step()
