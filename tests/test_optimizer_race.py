"""course_lib.optimizer_race: the lockstep race is every run made on its own, and its winner."""

import math

import numpy as np
import pytest
import torch

from course_lib.landscapes import get_landscape
from course_lib.optim import SGD, Adagrad, Adam, RMSprop
from course_lib.optimizer_race import best_learning_rate, race_on_landscape

OPTIMIZERS = {
    "momentum": lambda groups: SGD(groups, momentum=0.9),
    "AdaGrad": lambda groups: Adagrad(groups),
    "RMSprop": lambda groups: RMSprop(groups),
    "Adam": lambda groups: Adam(groups),
}
LRS = [1e-3, 0.03, 1.0]


def one_run(landscape, make, lr, steps, tol=1e-6, max_abs=1e6):
    """Reference: one optimizer on one point with the usual loop, until it converges or blows up.

    Returns the path up to and including the step where it stopped, and how it stopped."""
    p = torch.tensor(landscape.start, requires_grad=True)
    opt = make([{"params": [p], "lr": lr}])
    path = [p.detach().clone().double()]
    for _ in range(steps):
        opt.zero_grad()
        landscape(p).backward()
        opt.step()
        now = p.detach().clone()
        loss = landscape(now.double())
        if not torch.isfinite(loss) or now.abs().max() > max_abs:
            path.append(torch.full((2,), math.nan, dtype=torch.float64))
            return np.stack(path), "diverged"
        path.append(now.double())
        if loss - landscape.f_min <= tol:
            return np.stack(path), "converged"
    return np.stack(path), "budget"


@pytest.mark.parametrize("name", ["rosenbrock", "beale", "saddle_bounded"])
def test_every_run_of_the_race_is_the_run_on_its_own(name):
    land = get_landscape(name)
    race = race_on_landscape(land, OPTIMIZERS, LRS, steps=150)
    outcomes = set()
    for opt_name, make in OPTIMIZERS.items():
        paths, losses = race[opt_name]
        assert paths.shape == (len(losses), len(LRS), 2)
        for j, lr in enumerate(LRS):
            ref, how = one_run(land, make, lr, 150)
            outcomes.add(how)
            k = len(ref)
            np.testing.assert_allclose(paths[:k, j], ref, rtol=1e-6, atol=0, equal_nan=True,
                                       err_msg=f"{opt_name} at lr {lr} on {name}")
            after = paths[k:, j]                 # once stopped, a run stays put (or stays NaN)
            if how == "diverged":
                assert np.isnan(after).all()
            else:
                np.testing.assert_array_equal(after, np.broadcast_to(ref[-1], after.shape))
            np.testing.assert_allclose(losses[:, j], land(torch.from_numpy(paths[:, j])).numpy())
    if name == "rosenbrock":
        assert "diverged" in outcomes and "budget" in outcomes
    if name == "saddle_bounded":
        assert "converged" in outcomes


def test_lesson_05_adam_on_beale():
    # lesson 05's race: Adam's best learning rate on Beale is 0.3, converging in 205 steps
    land = get_landscape("beale")
    lrs = [1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0]
    _, losses = race_on_landscape(land, {"Adam": lambda groups: Adam(groups)}, lrs, steps=800)["Adam"]
    assert best_learning_rate(losses, land.f_min, 800) == (205, 5)


def test_best_learning_rate_prefers_converging_then_lowest_final_loss():
    nan = math.nan
    converge_late_and_early = np.array([[9.0, 9.0, 9.0], [5.0, 1.0, 0.0], [0.0, 0.5, 0.0]])
    assert best_learning_rate(converge_late_and_early, 0.0, budget=2) == (1, 2)
    none_converge = np.array([[9.0, 9.0, 9.0], [5.0, 1.0, nan], [3.0, 0.5, nan]])
    assert best_learning_rate(none_converge, 0.0, budget=2) == (None, 1)
    ties = np.array([[9.0, 9.0], [0.0, 0.0]])
    assert best_learning_rate(ties, 0.0, budget=1) == (1, 0)
    shifted_minimum = np.array([[2.0, 2.0], [-0.9, -1.0]])        # f_min = -1: column 1 is there
    assert best_learning_rate(shifted_minimum, -1.0, budget=1) == (1, 1)


@pytest.mark.parametrize("kwargs, message", [
    (dict(steps=0), "steps"), (dict(tol=0.0), "tol"), (dict(lrs=[0.1, -1.0]), "lr"),
    (dict(lrs=[]), "at least one"), (dict(optimizers={}), "at least one"), (dict(max_abs=0.0), "max_abs"),
])
def test_race_refuses_bad_arguments(kwargs, message):
    args = dict(optimizers=OPTIMIZERS, lrs=LRS, steps=10)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        race_on_landscape(get_landscape("beale"), **args)


def test_best_learning_rate_refuses_a_wrong_shape():
    with pytest.raises(ValueError, match="shape"):
        best_learning_rate(np.zeros(5), 0.0, budget=4)
