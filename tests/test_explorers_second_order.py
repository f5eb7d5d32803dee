"""The explorers of lessons 10 (L-BFGS) and 11 (sharpness, noise at the saddle).

Each pure function is checked against an independent computation: the explorer's L-BFGS runs
against ``torch.optim.LBFGS``, its vectorised Adam against ``torch.optim.Adam``, the logistic
regression's minimum against scikit-learn, the top Hessian eigenvalue against
``torch.linalg.eigvalsh`` of the full Hessian of a small model, the saddle's escape time
against its closed form; odd settings give "invalid setting", never an exception.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_lib.data import load_digits_split
from course_lib.explorers import lbfgs as lb
from course_lib.explorers import sharpness as sh

F64 = torch.float64


@pytest.fixture(scope="module")
def data():
    return load_digits_split(device="cpu")


@pytest.fixture(scope="module")
def lbfgs_setup(data):
    return lb.lbfgs_setup(data)


@pytest.fixture(scope="module")
def sharp_setup(data):
    return sh.sharpness_setup(data)


# ------------------------------------------------------------------ L-BFGS (lesson 10)

def test_logistic_minimum_matches_scikit_learn(lbfgs_setup):
    from sklearn.linear_model import LogisticRegression

    X, y = lbfgs_setup.X.numpy(), lbfgs_setup.y.numpy()
    sk = LogisticRegression(C=1.0, tol=1e-10, max_iter=10_000).fit(X, y)
    W = torch.tensor(sk.coef_, dtype=F64)
    b = torch.tensor(sk.intercept_, dtype=F64)
    assert lbfgs_setup.loss(W, b).item() == pytest.approx(lbfgs_setup.f_star, abs=1e-7)


def _torch_lbfgs_evals(history_size: int, line_search) -> int | None:
    x = torch.tensor(lb.START, dtype=F64, requires_grad=True)
    opt = torch.optim.LBFGS([x], lr=1, max_iter=1000, max_eval=1000, history_size=history_size,
                            tolerance_grad=0, tolerance_change=0, line_search_fn=line_search)
    seen = []

    def closure():
        opt.zero_grad()
        f = lb._rosenbrock(x)
        f.backward()
        seen.append(f.item())
        return f

    opt.step(closure)
    hits = [i + 1 for i, f in enumerate(seen) if f < 1e-8]
    return hits[0] if hits else None


@pytest.mark.parametrize("m", [3, 10])
def test_rosenbrock_evaluations_are_those_of_torch_lbfgs(lbfgs_setup, m):
    ours = lb.lbfgs_run(lbfgs_setup, "Rosenbrock", m, "strong Wolfe").to_target
    theirs = _torch_lbfgs_evals(m, "strong_wolfe")
    assert ours is not None and theirs is not None
    assert 0.67 <= ours / theirs <= 1.5, (ours, theirs)
    # without a line search both take the raw quasi-Newton step; f spikes on the way
    run = lb.lbfgs_run(lbfgs_setup, "Rosenbrock", m, "none")
    assert run.worst > 100 * lb.lbfgs_run(lbfgs_setup, "Rosenbrock", m, "strong Wolfe").worst


def test_the_run_is_the_recorded_loss(lbfgs_setup):
    run = lb.lbfgs_run(lbfgs_setup, "logistic regression", 10, "strong Wolfe")
    assert run.to_target == run.used and run.final < lb.TARGET["logistic regression"]
    assert np.all(np.diff(run.evals) == 1) and run.evals[0] == 1
    assert run.gaps[0] == pytest.approx(math.log(10) - lbfgs_setup.f_star)   # zero weights


def test_adam_baseline_matches_torch_adam(lbfgs_setup):
    for problem in lb.PROBLEMS:
        lr, run = lb.adam_baseline(lbfgs_setup, problem)
        assert run.to_target is not None
        if problem == "Rosenbrock":
            params = [torch.tensor(lb.START, dtype=F64, requires_grad=True)]
            loss = lambda params=params: lb._rosenbrock(params[0])  # noqa: E731
        else:
            params = list(lb._zeros(lbfgs_setup))
            loss = lambda params=params: lbfgs_setup.loss(*params) - lbfgs_setup.f_star  # noqa: E731
        opt = torch.optim.Adam(params, lr=lr)
        hit = None
        for t in range(1, run.to_target + 2):
            opt.zero_grad()
            f = loss()
            if f.item() < lb.TARGET[problem]:
                hit = t
                break
            f.backward()
            opt.step()
        assert hit == run.to_target, (problem, hit, run.to_target)


def test_minibatches_leave_lbfgs_behind_adam(lbfgs_setup):
    res = lb.lbfgs_result(lbfgs_setup, "logistic regression", 10, "strong Wolfe", 32)
    assert res.status == "not converged" and res.run.used == lb.MINIBATCH_CAP
    assert res.adam.final < res.run.final
    full = lb.lbfgs_result(lbfgs_setup, "logistic regression", 10, "strong Wolfe", "full")
    assert full.status == "converged" and full.run.to_target < full.adam.to_target


@pytest.mark.parametrize("args", [
    ("Rosenbrock", 10, "strong Wolfe", 32), ("Himmelblau", 10, "none", "full"),
    ("Rosenbrock", 0, "none", "full"), ("Rosenbrock", 2.5, "none", "full"),
    ("Rosenbrock", True, "none", "full"), ("Rosenbrock", 10, "armijo", "full"),
    ("logistic regression", 10, "none", -4), ("logistic regression", 10, "none", "half"),
])
def test_lbfgs_result_reports_invalid_settings(lbfgs_setup, args):
    res = lb.lbfgs_result(lbfgs_setup, *args)
    assert res.status == "invalid setting" and res.lines[0].startswith("invalid setting")
    lb.lbfgs_figure(res)


def test_a_blowup_is_reported_as_diverged():
    run = lb._run_of([1, 2, 3], [10.0, 1e13, math.inf], 1e-8, True)
    assert run.diverged and run.to_target is None and run.worst == 1e13


def test_lbfgs_explorer_looks_up_and_redraws(lbfgs_setup):
    ex = lb.lbfgs_explorer(lbfgs_setup)
    for name, value in [("history_size", 1), ("line_search", "none"),
                        ("problem", "logistic regression"), ("batch_size", 32),
                        ("problem", "Rosenbrock")]:
        before = ex.png
        ex.controls[name].value = value
        assert ex.error is None and ex.png != before
    assert ex.result.status == "invalid setting"
    expected = lb.lbfgs_result(lbfgs_setup, **{k: v for k, v in ex.values().items()})
    assert ex.result.lines == expected.lines


# ------------------------------------------------------------------ sharpness (lesson 11)

def _flat_loss(model, X, y):
    shapes = [p.shape for p in model.parameters()]
    sizes = [p.numel() for p in model.parameters()]

    def f(flat):
        chunks = torch.split(flat, sizes)
        params = {name: c.view(s) for (name, _), c, s in
                  zip(model.named_parameters(), chunks, shapes)}
        return F.cross_entropy(torch.func.functional_call(model, params, (X,)), y)

    return f, torch.cat([p.detach().flatten() for p in model.parameters()])


def test_top_eigenvalue_is_eigvalsh_of_the_full_hessian(sharp_setup):
    model, lam, loss, correct = sh.train_point(sharp_setup, 64, 0.0, steps=30, hidden=4)
    f, w = _flat_loss(model, sharp_setup.X, sharp_setup.y)
    H = torch.autograd.functional.hessian(f, w)
    eig = torch.linalg.eigvalsh(H.double())
    top = eig[eig.abs().argmax()].item()
    assert lam == pytest.approx(top, rel=0.02), (lam, eig[-3:], eig[:3])
    with torch.no_grad():
        assert loss == pytest.approx(f(w).item(), rel=1e-6)
        acc = (model(sharp_setup.X_test).argmax(1) == sharp_setup.y_test).sum().item()
    assert correct == acc


def test_sam_point_is_a_sam_run(sharp_setup):
    """rho > 0 trains through course_lib.sam.SAM; written out by hand here, same weights."""
    model, *_ = sh.train_point(sharp_setup, 64, 0.2, steps=5, hidden=4)
    ref = sh._model(sharp_setup, 4)
    opt = torch.optim.SGD(ref.parameters(), lr=sh.LR, momentum=sh.MOMENTUM)
    gen = torch.Generator().manual_seed(0)
    for _ in range(5):
        idx = torch.randint(sharp_setup.n, (64,), generator=gen)
        xb, yb = sharp_setup.X[idx], sharp_setup.y[idx]
        opt.zero_grad()
        F.cross_entropy(ref(xb), yb).backward()
        ps = list(ref.parameters())
        norm = torch.sqrt(sum((p.grad ** 2).sum() for p in ps))
        eps = [0.2 * p.grad / (norm + 1e-12) for p in ps]
        with torch.no_grad():
            for p, e in zip(ps, eps):
                p.add_(e)
        opt.zero_grad()
        F.cross_entropy(ref(xb), yb).backward()
        with torch.no_grad():
            for p, e in zip(ps, eps):
                p.sub_(e)
        opt.step()
    for a, b in zip(model.parameters(), ref.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_sharpness_grid_and_invalid_settings(sharp_setup):
    res = sh.sharpness_result(sharp_setup, 64, 0.0)
    assert res.status == "trained" and len(res.grid) == len(sh.BATCH_SIZES) * len(sh.RHOS)
    assert res.grid[(64, 0.2)][0] < res.lambda_max          # SAM flattens at this batch
    for bad in [(17, 0.0), ("full", -0.1), (64, 0.3), (64, math.nan), (True, 0.0), (64, "x")]:
        r = sh.sharpness_result(sharp_setup, *bad)
        assert r.status == "invalid setting", bad
        sh.SharpnessFigure(res.grid, sharp_setup.n, res.test_total).update(r)
    ex = sh.sharpness_explorer(sharp_setup)
    ex.controls["rho"].value = 0.5
    ex.controls["batch_size"].value = 16
    assert ex.error is None and ex.result.lines == sh.sharpness_result(sharp_setup, 16, 0.5).lines


def test_saddle_escape_time_follows_the_estimate():
    stuck = sh.saddle_result(0.0)
    assert stuck.escaped == 0 and stuck.status == "stuck"
    for sigma in (1e-9, 1e-6, 1e-3):
        res = sh.saddle_result(sigma)
        assert res.escaped == sh.RUNS
        assert abs(res.near.mean() - res.predicted) < 3, (sigma, res.near.mean(), res.predicted)
    for bad in (-1.0, math.nan, math.inf, "a", None):
        r = sh.saddle_result(bad)
        assert r.status == "invalid setting"
        sh.saddle_figure(r)
    ex = sh.saddle_noise_explorer()
    ex.controls["noise"].value = 0.0
    assert ex.error is None and ex.result.lines == stuck.lines
