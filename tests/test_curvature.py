"""course_lib.curvature against the explicit Hessian (torch.autograd.functional.hessian)."""

import pytest
import torch
import torch.nn.functional as F
from torch.func import functional_call

from course_lib.curvature import hessian_vector_product, top_hessian_eigenvalue


def _small_net(seed=0):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.Tanh(), torch.nn.Linear(4, 3)).double()
    x = torch.randn(20, 5, dtype=torch.float64)
    y = torch.randint(0, 3, (20,))
    return model, x, y


def _explicit_hessian(model, x, y):
    names = [n for n, _ in model.named_parameters()]
    shapes = [p.shape for p in model.parameters()]
    flat = torch.cat([p.detach().flatten() for p in model.parameters()])

    def loss_of_flat(w):
        chunks, i = {}, 0
        for n, s in zip(names, shapes):
            chunks[n] = w[i:i + s.numel()].view(s)
            i += s.numel()
        return F.cross_entropy(functional_call(model, chunks, (x,)), y)

    return torch.autograd.functional.hessian(loss_of_flat, flat)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hvp_matches_the_explicit_hessian(seed):
    model, x, y = _small_net(seed)
    H = _explicit_hessian(model, x, y)
    gen = torch.Generator().manual_seed(seed)
    v = [torch.randn(p.shape, generator=gen, dtype=torch.float64) for p in model.parameters()]
    hv = hessian_vector_product(lambda: F.cross_entropy(model(x), y), list(model.parameters()), v)
    expected = H @ torch.cat([d.flatten() for d in v])
    torch.testing.assert_close(torch.cat([h.flatten() for h in hv]), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_power_iteration_finds_the_dominant_eigenvalue(seed):
    model, x, y = _small_net(seed)
    eig = torch.linalg.eigvalsh(_explicit_hessian(model, x, y))
    dominant = eig[eig.abs().argmax()].item()
    got = top_hessian_eigenvalue(lambda: F.cross_entropy(model(x), y), list(model.parameters()),
                                 iters=300, generator=torch.Generator().manual_seed(seed))
    assert got == pytest.approx(dominant, rel=1e-6)


def test_on_a_quadratic_with_a_known_spectrum():
    gen = torch.Generator().manual_seed(3)
    q, _ = torch.linalg.qr(torch.randn(6, 6, generator=gen, dtype=torch.float64))
    A = q @ torch.diag(torch.tensor([5.0, 2.0, 1.0, 0.5, -0.5, -1.0], dtype=torch.float64)) @ q.T
    w = torch.zeros(6, dtype=torch.float64, requires_grad=True)
    lam = top_hessian_eigenvalue(lambda: 0.5 * w @ A @ w, [w], iters=200,
                                 generator=torch.Generator().manual_seed(0))
    assert lam == pytest.approx(5.0, rel=1e-9)


def test_bad_input_is_a_clear_error():
    w = torch.zeros(3, requires_grad=True)
    with pytest.raises(ValueError, match="iters"):
        top_hessian_eigenvalue(lambda: (w**2).sum(), [w], iters=0)
    with pytest.raises(ValueError, match="one tensor per parameter"):
        hessian_vector_product(lambda: (w**2).sum(), [w], [torch.zeros(2)])
