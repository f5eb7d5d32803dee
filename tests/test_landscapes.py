"""Tests of course_lib.landscapes: the facts each landscape states, and the optimizer runner."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from course_lib.landscapes import (
    LANDSCAPES,
    Landscape,
    evaluate_on_grid,
    get_landscape,
    make_ravine,
    make_rosenbrock,
    run_optimizer,
    steps_to_converge,
)

CPU = "cpu"
NAMES = sorted(LANDSCAPES)
MINIMA = [(name, m) for name in NAMES for m in LANDSCAPES[name].minima]
SADDLES = [(name, s) for name in NAMES for s in LANDSCAPES[name].saddles]


def test_registry():
    assert {
        "bowl",
        "ravine",
        "rosenbrock",
        "beale",
        "saddle",
        "saddle_bounded",
        "himmelblau",
    } <= set(NAMES)
    for name in NAMES:
        land = get_landscape(name)
        assert isinstance(land, Landscape) and land.name == name
    assert len(LANDSCAPES["himmelblau"].minima) == 4
    assert LANDSCAPES["rosenbrock"].start == (-1.2, 1.0)
    assert LANDSCAPES["rosenbrock"].minima == ((1.0, 1.0),)
    assert LANDSCAPES["beale"].minima == ((3.0, 0.5),)
    with pytest.raises(ValueError, match="unknown landscape"):
        get_landscape("nope")


@pytest.mark.parametrize("name,point", MINIMA, ids=[f"{n}{m}" for n, m in MINIMA])
def test_minima_are_stationary_with_the_stated_value_and_positive_curvature(name, point):
    land = LANDSCAPES[name]
    assert land.grad(point, device=CPU).abs().max() < 1e-9
    value = float(land(torch.tensor(point, dtype=torch.float64)))
    assert value == pytest.approx(land.f_min, abs=1e-12)
    eig = torch.linalg.eigvalsh(land.hessian(point, device=CPU))
    assert torch.all(eig > 0), eig


@pytest.mark.parametrize("name,point", SADDLES, ids=[f"{n}{s}" for n, s in SADDLES])
def test_saddles_are_stationary_with_mixed_curvature(name, point):
    land = LANDSCAPES[name]
    assert land.grad(point, device=CPU).abs().max() < 1e-12
    eig = torch.linalg.eigvalsh(land.hessian(point, device=CPU))
    assert eig.min() < 0 < eig.max(), eig


def test_saddle_is_unbounded_and_bounded_saddle_is_not():
    assert not LANDSCAPES["saddle"].bounded_below and LANDSCAPES["saddle"].minima == ()
    assert LANDSCAPES["saddle_bounded"].bounded_below
    eig = torch.linalg.eigvalsh(LANDSCAPES["saddle"].hessian((0.0, 0.0), device=CPU))
    assert eig.tolist() == [-2.0, 2.0]


@pytest.mark.parametrize("name", NAMES)
def test_batched_grid_equals_pointwise_and_window_contains_start(name):
    land = LANDSCAPES[name]
    X, Y, Z = evaluate_on_grid(land, land.xlim, land.ylim, resolution=7)
    assert X.shape == Y.shape == Z.shape == (7, 7)
    for i in range(7):
        for j in range(7):
            p = torch.tensor([X[i, j], Y[i, j]], dtype=torch.float64)
            assert Z[i, j] == pytest.approx(float(land(p)), rel=1e-12, abs=1e-12)
    assert land.xlim[0] < land.start[0] < land.xlim[1]
    assert land.ylim[0] < land.start[1] < land.ylim[1]
    assert math.isfinite(float(land(torch.tensor(land.start))))
    for m in land.minima:
        assert land.xlim[0] <= m[0] <= land.xlim[1] and land.ylim[0] <= m[1] <= land.ylim[1]


def test_functions_reject_wrong_shapes():
    with pytest.raises(ValueError):
        LANDSCAPES["bowl"](torch.zeros(3))


@pytest.mark.parametrize("kappa,angle", [(1.0, 0.0), (20.0, 0.0), (100.0, 0.7)])
def test_ravine_condition_number(kappa, angle):
    land = make_ravine(kappa, angle)
    eig = torch.linalg.eigvalsh(land.hessian((0.3, -0.2), device=CPU))
    torch.testing.assert_close(eig, torch.tensor([1.0, kappa], dtype=torch.float64))
    with pytest.raises(ValueError):
        make_ravine(0.5)


def test_rosenbrock_parameters():
    land = make_rosenbrock(a=2.0, b=10.0)
    assert land.minima == ((2.0, 4.0),)
    assert land.grad((2.0, 4.0), device=CPU).abs().max() == 0
    assert LANDSCAPES["rosenbrock"].grad((-1.2, 1.0), device=CPU).tolist() == pytest.approx(
        [-215.6, -88.0]
    )


# ----------------------------------------------------------------------------- run_optimizer


def test_sgd_small_lr_converges_on_the_bowl():
    bowl = LANDSCAPES["bowl"]
    run = run_optimizer(bowl, lambda ps: torch.optim.SGD(ps, lr=0.1), steps=200, device=CPU)
    assert run["path"].shape == (201, 2) and run["losses"].shape == (201,)
    assert not run["diverged"] and run["diverged_at"] is None and run["steps_run"] == 200
    np.testing.assert_allclose(run["path"][0], bowl.start, rtol=1e-6)
    assert run["losses"][-1] < 1e-12
    n = steps_to_converge(run["losses"], bowl.f_min, tol=1e-6)
    # f_t = 0.9^(2t) f_0 on this bowl: the first t with f_t <= 1e-6
    f0 = 0.5 * (2.5**2 + 2.0**2)
    assert n == math.ceil(math.log(1e-6 / f0) / (2 * math.log(0.9)))


@pytest.mark.parametrize("name,lr", [("rosenbrock", 1.0), ("bowl", 10.0), ("beale", 5.0)])
def test_huge_lr_reports_divergence_without_raising(name, lr):
    land = LANDSCAPES[name]
    run = run_optimizer(land, lambda ps: torch.optim.SGD(ps, lr=lr), steps=500, device=CPU)
    assert run["diverged"] and 1 <= run["diverged_at"] <= 500
    assert len(run["path"]) == len(run["losses"]) <= run["diverged_at"] + 1
    assert np.isfinite(run["path"]).all()
    assert run["steps_run"] == run["diverged_at"]


def test_saddle_run_stops_when_it_leaves_the_box():
    land = LANDSCAPES["saddle"]
    run = run_optimizer(land, lambda ps: torch.optim.SGD(ps, lr=0.1), steps=2000, device=CPU)
    assert run["diverged"] and np.abs(run["path"][-1]).max() > 1e6
    # it first slides towards the saddle point and stalls there before escaping
    assert np.abs(run["path"]).min(axis=0)[0] < 1e-3


@pytest.mark.parametrize("landscape", [*LANDSCAPES.values(), make_ravine(kappa=50, angle=0.7),
                                       make_rosenbrock(a=2.0, b=10.0)], ids=lambda l: l.name)
def test_closed_form_gradients_are_autogradients(landscape):
    gen = torch.Generator().manual_seed(0)
    lo = torch.tensor([landscape.xlim[0], landscape.ylim[0]], dtype=torch.float64)
    hi = torch.tensor([landscape.xlim[1], landscape.ylim[1]], dtype=torch.float64)
    for point in lo + (hi - lo) * torch.rand(20, 2, generator=gen, dtype=torch.float64):
        f, gx, gy = landscape.value_and_grad(*point.tolist())
        with torch.no_grad():
            want_f = float(landscape(point))
        want_g = landscape.grad(point, device=CPU).tolist()
        assert f == pytest.approx(want_f, rel=1e-12, abs=1e-12)
        assert [gx, gy] == pytest.approx(want_g, rel=1e-12, abs=1e-10)


@pytest.mark.parametrize("name", NAMES)
def test_closed_form_runs_are_autograd_runs(name):
    make = lambda ps: torch.optim.Adam(ps, lr=0.01)  # noqa: E731
    auto = run_optimizer(LANDSCAPES[name], make, steps=50, device=CPU)
    fast = run_optimizer(LANDSCAPES[name], make, steps=50, closed_form=True, device=CPU)
    np.testing.assert_allclose(fast["path"], auto["path"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fast["losses"], auto["losses"], rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError, match="closed_form"):
        run_optimizer(lambda p: (p ** 2).sum(-1), make, start=(1.0, 1.0), closed_form=True)


def test_the_run_says_why_it_stopped_and_max_loss_catches_a_steady_blow_up():
    bowl = LANDSCAPES["bowl"]
    sgd = lambda lr: lambda ps: torch.optim.SGD(ps, lr=lr)  # noqa: E731
    ok = run_optimizer(bowl, sgd(0.1), steps=10, device=CPU)
    assert ok["divergence"] is None
    box = run_optimizer(LANDSCAPES["saddle"], sgd(0.1), steps=2000, device=CPU)
    assert box["divergence"] == "outside_box"
    # lr = 2.5 on the bowl multiplies the point by -1.5 per step: the loss grows by 2.25
    f0 = float(run_optimizer(bowl, sgd(0.0), steps=0, device=CPU)["losses"][0])
    limit = 1e3 * f0
    run = run_optimizer(bowl, sgd(2.5), steps=100, max_loss=limit, device=CPU)
    want = next(t for t in range(1, 100) if f0 * 2.25 ** t > limit)
    assert run["diverged_at"] == want and run["divergence"] == "loss_above_max"
    assert run["losses"][-1] > limit >= run["losses"][-2] and len(run["path"]) == want + 1
    assert run_optimizer(bowl, sgd(2.5), steps=100, device=CPU)["divergence"] == "outside_box"
    nan = run_optimizer(bowl, sgd(float("nan")), steps=5, device=CPU)
    assert nan["divergence"] == "point_nan" and nan["diverged_at"] == 1 and len(nan["path"]) == 1
    with pytest.raises(ValueError, match="max_loss"):
        run_optimizer(bowl, sgd(0.1), steps=1, max_loss=float("nan"), device=CPU)


def test_lbfgs_closure_and_nan_producing_settings():
    rosen = LANDSCAPES["rosenbrock"]
    run = run_optimizer(
        rosen,
        lambda ps: torch.optim.LBFGS(ps, lr=1.0, line_search_fn="strong_wolfe"),
        steps=20,
        dtype=torch.float64,
        device=CPU,
    )
    assert not run["diverged"] and run["losses"][-1] < 1e-6
    run = run_optimizer(rosen, lambda ps: torch.optim.LBFGS(ps, lr=100.0), steps=20, device=CPU)
    assert run["diverged"] and np.isfinite(run["path"]).all() and len(run["path"]) >= 1


class _PlainGD(torch.optim.Optimizer):
    """An optimizer whose step takes no closure."""

    def __init__(self, params, lr):
        super().__init__(params, {"lr": lr})

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            for p in group["params"]:
                p.add_(p.grad, alpha=-group["lr"])


def test_optimizer_without_closure_and_plain_function():
    run = run_optimizer(
        lambda p: (p**2).sum(-1),
        lambda ps: _PlainGD(ps, lr=0.25),
        start=(1.0, -2.0),
        steps=3,
        device=CPU,
    )
    # p <- p - 0.25 * 2p = p / 2 each step
    np.testing.assert_allclose(run["path"][-1], [0.125, -0.25])
    with pytest.raises(ValueError, match="start"):
        run_optimizer(lambda p: (p**2).sum(-1), lambda ps: _PlainGD(ps, 0.1), steps=3)
    with pytest.raises(ValueError):
        run_optimizer(LANDSCAPES["bowl"], lambda ps: "not an optimizer", steps=3, device=CPU)
    with pytest.raises(ValueError):
        run_optimizer(LANDSCAPES["bowl"], lambda ps: _PlainGD(ps, 0.1), steps=-1, device=CPU)


def test_steps_to_converge():
    assert steps_to_converge([5.0, 1.0, 0.1, 0.01], 0.0, tol=0.5) == 2
    assert steps_to_converge([5.0, float("nan"), float("inf"), 1.0], 0.0, tol=2.0) == 3
    assert steps_to_converge([5.0, 4.0], 0.0, tol=0.1) is None
    assert steps_to_converge([-0.9, -0.99999], -1.0, tol=1e-3) == 1
    with pytest.raises(ValueError):
        steps_to_converge([1.0], -math.inf, tol=0.1)
    with pytest.raises(ValueError):
        steps_to_converge([1.0], 0.0, tol=0.0)
