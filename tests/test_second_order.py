"""course_lib.second_order: Newton's step, the two-loop recursion, line searches, LBFGS.

The references are independent of the code under test: scipy's L-BFGS-B, exact linear solves,
and the BFGS inverse-Hessian update applied as explicit matrices.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.optimize
import torch

from course_lib.second_order import (
    LBFGS,
    backtracking_line_search,
    cubic_minimizer,
    newton_step,
    strong_wolfe_line_search,
    two_loop_direction,
)

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
F64 = torch.float64


def rosenbrock(x):
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def run_lbfgs(f, x0, *, device="cpu", **kwargs):
    """Minimize f from x0 with one LBFGS.step; returns (x, f(x), state)."""
    x = torch.tensor(x0, dtype=F64, device=device, requires_grad=True)
    settings = {"max_iter": 2000, "max_eval": 10_000, "tolerance_grad": 1e-8,
                "tolerance_change": 0.0}
    settings.update(kwargs)
    opt = LBFGS([x], **settings)

    def closure():
        opt.zero_grad()
        loss = f(x)
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        return x.detach(), float(f(x)), opt.state[x]


def scipy_lbfgs(f, x0, **options):
    def fg(z):
        t = torch.tensor(z, dtype=F64, requires_grad=True)
        loss = f(t)
        loss.backward()
        return float(loss.detach()), t.grad.numpy().copy()

    opts = {"gtol": 1e-8, "ftol": 0.0, "maxiter": 2000}
    opts.update(options)
    return scipy.optimize.minimize(fg, np.asarray(x0, dtype=float), jac=True,
                                   method="L-BFGS-B", options=opts)


# ---------------------------------------------------------------------------------------------
# Newton
# ---------------------------------------------------------------------------------------------


def test_newton_solves_a_quadratic_in_one_step():
    gen = torch.Generator().manual_seed(0)
    M = torch.randn(6, 6, generator=gen, dtype=F64)
    A = M @ M.T + 6 * torch.eye(6, dtype=F64)
    b = torch.randn(6, generator=gen, dtype=F64)
    x1 = newton_step(lambda x: 0.5 * x @ A @ x - b @ x, torch.zeros(6, dtype=F64))
    torch.testing.assert_close(x1, torch.linalg.solve(A, b), rtol=1e-12, atol=1e-12)


def test_newton_on_rosenbrock_converges_quadratically_at_the_end():
    x = torch.tensor([-1.2, 1.0], dtype=F64)
    errors = []
    for _ in range(8):
        x = newton_step(rosenbrock, x)
        errors.append(float((x - 1).norm()))
    assert errors[-1] < 1e-12
    # quadratic convergence: once close, the error squares (up to a constant)
    k = next(i for i, e in enumerate(errors) if e < 1e-2)
    assert errors[k + 1] < 10 * errors[k] ** 2


def test_newton_goes_uphill_where_the_hessian_is_indefinite():
    f = lambda x: x[0] ** 2 - x[1] ** 2 + 0.1 * x[1] ** 4  # noqa: E731 - saddle at the origin
    x0 = torch.tensor([0.01, 0.5], dtype=F64)
    x1 = newton_step(f, x0)
    assert float(f(x1)) > float(f(x0))  # jumped towards the saddle point, uphill


def test_newton_step_validates():
    with pytest.raises(ValueError):
        newton_step(rosenbrock, torch.zeros(2, 1, dtype=F64))
    with pytest.raises(ValueError):
        newton_step(rosenbrock, torch.zeros(2, dtype=torch.int64))
    with pytest.raises(ValueError):
        newton_step(lambda x: x * 2, torch.zeros(2, dtype=F64))


# ---------------------------------------------------------------------------------------------
# The two-loop recursion against the explicit BFGS update
# ---------------------------------------------------------------------------------------------


def explicit_bfgs_inverse(s_hist, y_hist, gamma, n):
    H = gamma * torch.eye(n, dtype=F64)
    eye = torch.eye(n, dtype=F64)
    for s, y in zip(s_hist, y_hist):  # oldest first
        rho = 1.0 / float(y @ s)
        H = (eye - rho * torch.outer(s, y)) @ H @ (eye - rho * torch.outer(y, s)) \
            + rho * torch.outer(s, s)
    return H


@pytest.mark.parametrize("m", [0, 1, 3, 7])
def test_two_loop_equals_the_explicit_bfgs_matrix(m):
    gen = torch.Generator().manual_seed(m)
    n = 8
    M = torch.randn(n, n, generator=gen, dtype=F64)
    A = M @ M.T + torch.eye(n, dtype=F64)  # y = A s gives y^T s > 0
    s_hist = [torch.randn(n, generator=gen, dtype=F64) for _ in range(m)]
    y_hist = [A @ s + 0.01 * torch.randn(n, generator=gen, dtype=F64) for s in s_hist]
    assert all(float(y @ s) > 0 for s, y in zip(s_hist, y_hist))
    gamma = float(s_hist[-1] @ y_hist[-1] / (y_hist[-1] @ y_hist[-1])) if m else 1.0
    g = torch.randn(n, generator=gen, dtype=F64)
    H = explicit_bfgs_inverse(s_hist, y_hist, gamma, n)
    torch.testing.assert_close(two_loop_direction(g, s_hist, y_hist, gamma), H @ g,
                               rtol=1e-10, atol=1e-12)
    if m:  # the secant equation H y = s holds for the newest pair
        torch.testing.assert_close(two_loop_direction(y_hist[-1], s_hist, y_hist, gamma),
                                   s_hist[-1], rtol=1e-10, atol=1e-12)


def test_lbfgs_directions_match_the_explicit_recursion_during_a_run():
    """Spy on a real run: each direction is -H_k g_k for the stored pairs (memory m = 3)."""
    gen = torch.Generator().manual_seed(1)
    n = 6
    M = torch.randn(n, n, generator=gen, dtype=F64)
    A = M @ M.T + 0.5 * torch.eye(n, dtype=F64)
    b = torch.randn(n, generator=gen, dtype=F64)
    f = lambda x: 0.5 * x @ A @ x - b @ x + 0.05 * (x**4).sum()  # noqa: E731
    x = torch.zeros(n, dtype=F64, requires_grad=True)
    opt = LBFGS([x], history_size=3, max_iter=1, tolerance_change=0.0)

    def closure():
        opt.zero_grad()
        loss = f(x)
        loss.backward()
        return loss

    for it in range(8):
        opt.step(closure)
        st = opt.state[x]
        assert len(st["old_stps"]) <= 3
        if it >= 1:
            # recompute the direction of the last iteration from its own inputs
            g_prev = st["prev_flat_grad"]
            H = explicit_bfgs_inverse(st["old_stps"], st["old_dirs"], st["H_diag"], n)
            torch.testing.assert_close(st["d"], -H @ g_prev, rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# Line searches
# ---------------------------------------------------------------------------------------------


def test_cubic_minimizer_is_exact_on_cubics_and_quadratics():
    f = lambda t: (t - 2.0) ** 2  # noqa: E731
    df = lambda t: 2 * (t - 2.0)  # noqa: E731
    assert cubic_minimizer(0.0, f(0.0), df(0.0), 3.0, f(3.0), df(3.0)) == pytest.approx(2.0)
    c = lambda t: t**3 - 3 * t  # noqa: E731 - local minimum at t = 1
    dc = lambda t: 3 * t**2 - 3  # noqa: E731
    assert cubic_minimizer(0.0, c(0.0), dc(0.0), 2.0, c(2.0), dc(2.0)) == pytest.approx(1.0)
    # clipped to the bounds, and bisection when the cubic has no minimizer
    assert cubic_minimizer(0.0, f(0.0), df(0.0), 3.0, f(3.0), df(3.0), bounds=(0, 1)) == 1.0
    assert cubic_minimizer(0.0, 0.0, 1.0, 1.0, 2 / 3, 1.0, bounds=(0, 1)) == 0.5  # monotone


def one_dim_problems():
    yield "quadratic", lambda t: (t - 3.0) ** 2
    yield "quartic", lambda t: (t - 0.01) ** 4 + 0.1 * t**2
    yield "steep wall", lambda t: torch.exp(5 * t) - 20 * t
    yield "rosenbrock ray", lambda t: rosenbrock(torch.stack([-1.2 + t, 1.0 + 0.3 * t]))


@pytest.mark.parametrize("name, phi", list(one_dim_problems()))
@pytest.mark.parametrize("t0", [1e-3, 1.0, 50.0])
def test_strong_wolfe_conditions_hold_at_the_returned_step(name, phi, t0):
    def evaluate(t):
        z = torch.tensor([t], dtype=F64, requires_grad=True)
        val = phi(z[0])
        val.backward()
        return float(val.detach()), z.grad.clone()

    f0, g0 = evaluate(0.0)
    d = -g0 / g0.abs()  # unit descent direction
    f, g, t, evals = strong_wolfe_line_search(evaluate, f0, g0, d, t0, max_evals=40)
    gtd0, gtd = float(g0 @ d), float(g @ d)
    assert f <= f0 + 1e-4 * t * gtd0, "sufficient decrease"
    assert abs(gtd) <= 0.9 * abs(gtd0), "curvature"
    assert evals <= 40
    f_again, g_again = evaluate(t)
    assert f == f_again and torch.equal(g, g_again)


def test_backtracking_meets_armijo():
    def evaluate(t):
        return (t - 0.2) ** 2, torch.tensor([2 * (t - 0.2)], dtype=F64)

    f, g, t, evals = backtracking_line_search(evaluate, 0.04, torch.tensor([-0.4], dtype=F64),
                                              torch.tensor([1.0], dtype=F64), 8.0)
    assert f <= 0.04 + 1e-4 * t * -0.4
    assert t == 0.25 and evals == 6  # 8, 4, 2, 1, 0.5, 0.25


# ---------------------------------------------------------------------------------------------
# LBFGS against scipy
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("device", DEVICES)
def test_rosenbrock_reaches_the_minimum_within_1_5x_scipys_evaluations(device):
    x, fx, st = run_lbfgs(rosenbrock, [-1.2, 1.0], device=device)
    ref = scipy_lbfgs(rosenbrock, [-1.2, 1.0])
    assert fx < 1e-8
    assert float((x.cpu() - 1).norm()) < 1e-6
    assert ref.fun < 1e-8
    assert st["func_evals"] <= 1.5 * ref.nfev, (st["func_evals"], ref.nfev)
    assert st["n_iter"] < st["func_evals"]


@pytest.mark.parametrize("line_search", ["backtracking", None])
def test_other_line_searches_also_solve_rosenbrock(line_search):
    x, fx, st = run_lbfgs(rosenbrock, [-1.2, 1.0], line_search_fn=line_search)
    assert fx < 1e-8 and float((x - 1).norm()) < 1e-6


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_convex_quadratics_match_scipy_and_the_exact_solution(seed):
    gen = torch.Generator().manual_seed(seed)
    n = 30
    Q, _ = torch.linalg.qr(torch.randn(n, n, generator=gen, dtype=F64))
    A = Q @ torch.diag(torch.logspace(0, 3, n, dtype=F64)) @ Q.T  # condition number 1000
    b = torch.randn(n, generator=gen, dtype=F64)

    def f(x):
        return 0.5 * x @ A @ x - b @ x

    x, fx, _ = run_lbfgs(f, [0.0] * n, tolerance_grad=1e-10)
    x_star = torch.linalg.solve(A, b)
    ref = scipy_lbfgs(f, [0.0] * n, gtol=1e-10)
    assert fx == pytest.approx(float(f(x_star)), abs=1e-10)
    assert fx == pytest.approx(ref.fun, abs=1e-6)
    torch.testing.assert_close(x, x_star, rtol=0, atol=1e-6)
    np.testing.assert_allclose(x.numpy(), ref.x, atol=1e-6)


def test_logistic_regression_matches_scipy():
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(200, 5, generator=gen, dtype=F64)
    y = (X @ torch.randn(5, generator=gen, dtype=F64) + 0.5 * torch.randn(200, generator=gen,
                                                                           dtype=F64) > 0)
    y = y.to(F64)

    def f(w):  # mean logistic loss + L2 (strictly convex: a unique minimum)
        z = X @ w[:5] + w[5]
        return torch.nn.functional.binary_cross_entropy_with_logits(z, y) + 1e-2 * (w[:5] ** 2).sum()

    x, fx, _ = run_lbfgs(f, [0.0] * 6, tolerance_grad=1e-10)
    ref = scipy_lbfgs(f, [0.0] * 6, gtol=1e-10)
    assert fx == pytest.approx(ref.fun, abs=1e-9)
    np.testing.assert_allclose(x.numpy(), ref.x, atol=1e-6)


def test_several_parameter_tensors_are_one_flat_vector():
    """A Linear layer (weight and bias): same minimum as torch.optim.LBFGS."""
    gen = torch.Generator().manual_seed(3)
    X = torch.randn(64, 4, generator=gen, dtype=F64)
    Y = torch.randn(64, 2, generator=gen, dtype=F64)
    results = []
    for cls in (LBFGS, torch.optim.LBFGS):
        torch.manual_seed(0)
        model = torch.nn.Linear(4, 2).to(F64)
        opt = cls(model.parameters(), max_iter=100, tolerance_grad=1e-10, tolerance_change=0,
                  line_search_fn="strong_wolfe")

        def closure(model=model, opt=opt):
            opt.zero_grad()
            loss = ((model(X) - Y) ** 2).mean()
            loss.backward()
            return loss

        opt.step(closure)
        results.append((float(closure().detach()), [p.detach().clone() for p in model.parameters()]))
    assert results[0][0] == pytest.approx(results[1][0], abs=1e-12)
    for a, b in zip(results[0][1], results[1][1]):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)


def test_repeated_steps_continue_and_count_evaluations():
    x = torch.tensor([-1.2, 1.0], dtype=F64, requires_grad=True)
    opt = LBFGS([x], max_iter=5, tolerance_grad=1e-8, tolerance_change=0)
    calls = {"n": 0}

    def closure():
        calls["n"] += 1
        opt.zero_grad()
        loss = rosenbrock(x)
        loss.backward()
        return loss

    first = float(rosenbrock(x.detach()))
    returned = float(opt.step(closure).detach())
    assert returned == first  # step returns the loss at its start, as torch does
    for _ in range(30):
        opt.step(closure)
    st = opt.state[x]
    assert st["func_evals"] == calls["n"]
    assert float(rosenbrock(x.detach())) < 1e-8
    assert st["n_iter"] <= 5 * 31


def test_max_eval_is_respected():
    x = torch.tensor([-1.2, 1.0], dtype=F64, requires_grad=True)
    opt = LBFGS([x], max_iter=100, max_eval=10)

    def closure():
        opt.zero_grad()
        loss = rosenbrock(x)
        loss.backward()
        return loss

    opt.step(closure)
    # checked between iterations (as torch): the last line search may go past it
    st = opt.state[x]
    assert 10 <= st["func_evals"] <= 10 + 25 and st["n_iter"] < 10


def test_state_dict_round_trip():
    x = torch.tensor([-1.2, 1.0], dtype=F64, requires_grad=True)
    opt = LBFGS([x], max_iter=3)

    def closure():
        opt.zero_grad()
        loss = rosenbrock(x)
        loss.backward()
        return loss

    opt.step(closure)
    sd = opt.state_dict()
    opt2 = LBFGS([x], max_iter=3)
    opt2.load_state_dict(sd)
    assert opt2.state[x]["n_iter"] == opt.state[x]["n_iter"]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"lr": 0}, "lr"),
        ({"lr": float("nan")}, "lr"),
        ({"max_iter": 0}, "max_iter"),
        ({"max_iter": 2.5}, "max_iter"),
        ({"max_eval": 0}, "max_eval"),
        ({"tolerance_grad": -1.0}, "tolerance_grad"),
        ({"tolerance_change": -1e-9}, "tolerance_change"),
        ({"history_size": 0}, "history_size"),
        ({"history_size": True}, "history_size"),
        ({"line_search_fn": "wolfe"}, "line_search_fn"),
    ],
)
def test_invalid_arguments_raise_value_error(kwargs, match):
    x = torch.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match=match):
        LBFGS([x], **kwargs)


def test_one_param_group_and_a_closure_are_required():
    a, b = torch.zeros(2, requires_grad=True), torch.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="one param group"):
        LBFGS([{"params": [a]}, {"params": [b]}])
    opt = LBFGS([a])
    with pytest.raises(ValueError, match="one param group"):
        opt.add_param_group({"params": [b]})
    with pytest.raises(ValueError, match="closure"):
        opt.step(None)


def test_float32_works_and_gradient_tolerance_stops_at_once():
    x = torch.tensor([1.0, 1.0], requires_grad=True)  # already at the minimum
    opt = LBFGS([x])

    def closure():
        opt.zero_grad()
        loss = rosenbrock(x)
        loss.backward()
        return loss

    opt.step(closure)
    assert opt.state[x]["func_evals"] == 1 and opt.state[x]["n_iter"] == 0
    x, fx, _ = run_lbfgs(rosenbrock, [-1.2, 1.0])
    assert math.isfinite(fx)
