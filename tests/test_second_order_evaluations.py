"""course_lib.second_order.evaluations: the evaluation counts lesson 10 races on, against
hand-written references (a closure loop, SciPy on its own Rosenbrock, torch.optim.Adam)."""
import pytest
import scipy.optimize
import torch
import torch.nn.functional as F

from course_lib.landscapes import get_landscape
from course_lib.models import MLP
from course_lib.second_order import LBFGS
from course_lib.second_order.evaluations import (
    adam_lr_grid,
    closure_optimizer_run,
    first_below,
    minibatch_closure_run,
    scipy_lbfgs_run,
)

F64 = torch.float64
START = [-1.2, 1.0]


def rosen(x):
    return get_landscape("rosenbrock")(x)


def test_first_below_is_one_based_and_none_when_never():
    assert first_below([5.0, 0.3, 1e-9, 1e-12], 1e-8) == 3
    assert first_below([1e-9], 1e-8) == 1
    assert first_below([1.0, 0.5], 1e-8) is None
    assert first_below([], 1.0) is None


def test_closure_run_records_every_evaluation_like_a_hand_written_closure():
    run = closure_optimizer_run(rosen, START, lambda p: LBFGS(p, max_iter=200, tolerance_grad=1e-8,
                                                             tolerance_change=0))
    x = torch.tensor(START, dtype=F64, requires_grad=True)
    opt = LBFGS([x], max_iter=200, tolerance_grad=1e-8, tolerance_change=0)
    seen = []

    def closure():
        opt.zero_grad()
        loss = rosen(x)
        loss.backward()
        seen.append(loss.item())
        return loss

    opt.step(closure)
    assert run.values == seen
    assert run.evaluations == len(seen) == opt.state[x]["func_evals"]
    assert run.iterations == opt.state[x]["n_iter"]
    assert run.values[0] == pytest.approx(24.2)                 # f(-1.2, 1)
    assert torch.allclose(run.x, torch.ones(2, dtype=F64), atol=1e-6)
    assert first_below(run.values, 1e-8) is not None


def test_closure_run_with_torch_lbfgs_counts_its_func_evals():
    holder = {}

    def make(p):
        holder["opt"] = torch.optim.LBFGS(p, max_iter=10, line_search_fn="strong_wolfe")
        return holder["opt"]

    run = closure_optimizer_run(rosen, START, make)
    state = next(iter(holder["opt"].state.values()))
    assert run.evaluations == state["func_evals"]
    assert run.iterations == state["n_iter"] == 10
    assert run.values[-1] < run.values[0]


def test_scipy_run_matches_scipy_on_its_own_rosenbrock():
    run = scipy_lbfgs_run(rosen, START, gtol=1e-8, maxiter=1000)
    ref = scipy.optimize.minimize(scipy.optimize.rosen, START, jac=scipy.optimize.rosen_der,
                                  method="L-BFGS-B",
                                  options={"gtol": 1e-8, "ftol": 0.0, "maxiter": 1000})
    assert run.evaluations == len(run.values)
    assert torch.allclose(run.x, torch.tensor(ref.x, dtype=F64), atol=1e-6)
    assert abs(run.evaluations - ref.nfev) <= 3 and abs(run.iterations - ref.nit) <= 3
    assert run.values[-1] < 1e-12


def test_scipy_run_refuses_a_bad_tolerance():
    with pytest.raises(ValueError, match="gtol"):
        scipy_lbfgs_run(rosen, START, gtol=0)


def _torch_adam_first_below(f, start, lr, target, max_steps):
    x = torch.tensor(start, dtype=F64, requires_grad=True)
    opt = torch.optim.Adam([x], lr=lr)
    for t in range(1, max_steps + 1):
        opt.zero_grad()
        loss = f(x)
        if loss.item() < target:
            return t
        loss.backward()
        opt.step()
    return None


def test_adam_grid_rows_are_torch_adam_runs():
    def bowl(x):                                   # works on one point and on a batch of rows
        return 3.0 * x[..., 0] ** 2 + 0.5 * (x[..., 1] - 1) ** 2

    lrs, start, target, steps = [0.003, 0.05, 0.2, 0.5], [1.0, -2.0], 1e-6, 400
    grid = adam_lr_grid(bowl, start, lrs, target=target, max_steps=steps)
    expected = [_torch_adam_first_below(bowl, start, lr, target, steps) for lr in lrs]
    assert grid == expected
    assert grid[0] is None and all(h is not None for h in grid[1:])   # too small an lr never gets there


def test_adam_grid_on_rosenbrock_matches_the_lessons_check():
    grid = adam_lr_grid(rosen, START, [0.7], target=1e-8, max_steps=2000)
    assert grid == [_torch_adam_first_below(rosen, START, 0.7, 1e-8, 2000)]


def _setup():
    torch.manual_seed(0)
    X = torch.randn(200, 8)
    y = torch.randint(0, 3, (200,))
    return X, y


def test_minibatch_run_with_sgd_is_the_hand_written_loop():
    X, y = _setup()
    torch.manual_seed(1)
    model = MLP([8, 16, 3])
    run = minibatch_closure_run(model, torch.optim.SGD(model.parameters(), lr=0.1), X, y,
                                batch_size=16, n_batches=12, generator=torch.Generator().manual_seed(3))
    torch.manual_seed(1)
    ref = MLP([8, 16, 3])
    opt = torch.optim.SGD(ref.parameters(), lr=0.1)
    gen = torch.Generator().manual_seed(3)
    curve = [F.cross_entropy(ref(X), y).item()]
    for _ in range(12):
        idx = torch.randint(len(X), (16,), generator=gen)
        opt.zero_grad()
        F.cross_entropy(ref(X[idx]), y[idx]).backward()
        opt.step()
        with torch.no_grad():
            curve.append(F.cross_entropy(ref(X), y).item())
    assert run.curve == curve
    assert run.evaluations == 12
    curve_, evals = run                                   # unpacks like a tuple
    assert evals == 12 and len(curve_) == 13


def test_minibatch_run_counts_the_many_closure_calls_of_lbfgs():
    X, y = _setup()
    torch.manual_seed(1)
    model = MLP([8, 16, 3])
    run = minibatch_closure_run(model, LBFGS(model.parameters(), max_iter=5), X, y, batch_size=16,
                                n_batches=4, generator=torch.Generator().manual_seed(3))
    assert run.evaluations > 4 and len(run.curve) == 5


def test_minibatch_run_refuses_a_bad_batch_size():
    X, y = _setup()
    model = MLP([8, 16, 3])
    with pytest.raises(ValueError, match="batch_size"):
        minibatch_closure_run(model, torch.optim.SGD(model.parameters(), lr=0.1), X, y,
                              batch_size=0, n_batches=2, generator=torch.Generator())
