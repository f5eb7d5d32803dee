"""course_lib.update_stats: the size of one update and Adam's sqrt(v_hat), against hand computations."""

import pytest
import torch
from torch.nn.utils import parameters_to_vector

from course_lib.optim import AdamW
from course_lib.update_stats import measure_update, median_sqrt_v_hat


def _model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))


def test_measure_update_of_sgd_is_lr_times_the_gradient_norm():
    model = _model()
    x, y = torch.randn(5, 3), torch.randn(5, 2)
    torch.nn.functional.mse_loss(model(x), y).backward()
    grad_norm = torch.cat([p.grad.reshape(-1) for p in model.parameters()]).norm().item()
    weight_norm = parameters_to_vector(model.parameters()).norm().item()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    update = measure_update(model, opt.step)
    assert update.norm == pytest.approx(0.1 * grad_norm, rel=1e-5)
    assert update.weight_norm == pytest.approx(weight_norm, rel=1e-6)
    assert update.relative == pytest.approx(0.1 * grad_norm / weight_norm, rel=1e-5)


def test_measure_update_returns_what_the_step_returned_and_sees_no_move():
    model = _model()
    update = measure_update(model, lambda: "done")
    assert update.result == "done" and update.norm == 0.0 and update.relative == 0.0


@pytest.mark.parametrize("make", [lambda ps: AdamW(ps, lr=1e-3, betas=(0.9, 0.95)),
                                  lambda ps: torch.optim.Adam(ps, lr=1e-3, betas=(0.9, 0.95))])
def test_median_sqrt_v_hat_of_a_constant_gradient_is_its_size(make):
    # with the same gradient g every step, v_hat = g^2 exactly (bias correction), so sqrt = |g|
    w = torch.nn.Parameter(torch.zeros(5))
    g = torch.tensor([0.5, -2.0, 3.0, -0.1, 1.0])
    opt = make([w])
    for _ in range(4):
        w.grad = g.clone()
        opt.step()
    assert median_sqrt_v_hat(opt) == pytest.approx(1.0, rel=1e-5)  # median of |g|


def test_median_sqrt_v_hat_uses_each_groups_beta2():
    a, b = torch.nn.Parameter(torch.zeros(3)), torch.nn.Parameter(torch.zeros(4))
    opt = torch.optim.Adam([{"params": [a], "betas": (0.9, 0.5)},
                            {"params": [b], "betas": (0.9, 0.999)}], lr=1e-3)
    grads = [(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([4.0, 5.0, 6.0, 7.0])),
             (torch.tensor([3.0, 2.0, 1.0]), torch.tensor([7.0, 6.0, 5.0, 4.0]))]
    for ga, gb in grads:
        a.grad, b.grad = ga.clone(), gb.clone()
        opt.step()
    ref = []
    for (p_grads, beta2) in [([g[0] for g in grads], 0.5), ([g[1] for g in grads], 0.999)]:
        v = torch.zeros_like(p_grads[0])
        for gr in p_grads:
            v = beta2 * v + (1 - beta2) * gr**2
        ref.append((v / (1 - beta2**2)).sqrt())
    assert median_sqrt_v_hat(opt) == pytest.approx(torch.cat(ref).median().item(), rel=1e-5)


def test_median_sqrt_v_hat_without_adam_state_is_a_clear_error():
    w = torch.nn.Parameter(torch.zeros(2))
    with pytest.raises(ValueError, match="no Adam second moment"):
        median_sqrt_v_hat(AdamW([w], lr=1e-3))
    w.grad = torch.ones(2)
    sgd = torch.optim.SGD([w], lr=0.1, momentum=0.9)
    sgd.step()
    with pytest.raises(ValueError, match="no Adam second moment"):
        median_sqrt_v_hat(sgd)
