"""course_lib.momentum_sweep: the batched heavy ball counts what one run at a time counts."""

import math

import numpy as np
import pytest

from course_lib.momentum_sweep import heavy_ball_sweep


def one_run_losses(lam, start, lr, mu, max_steps):
    """Reference: one heavy-ball run on plain Python floats, PyTorch's convention; its losses."""
    p, b, losses = list(start), [0.0] * len(start), []
    for _ in range(max_steps):
        b = [mu * bi + li * pi for bi, li, pi in zip(b, lam, p)]
        p = [pi - lr * bi for pi, bi in zip(p, b)]
        losses.append(0.5 * sum(li * pi * pi for li, pi in zip(lam, p)))
    return losses


def first_step_all_below(runs, tol, max_steps):
    """The first step at which every run's loss is below tol at once (the worst start)."""
    for t, step_losses in enumerate(zip(*runs), start=1):
        if max(step_losses) < tol:
            return t
    return max_steps + 1


def test_every_setting_matches_a_run_of_its_own():
    lam = [1.0, 10.0]
    starts = [[-3.0, 0.5], [1.0, -1.0], [0.2, 2.0]]
    lrs = [0.01, 0.05, 0.1, 0.17, 0.25]
    mus = [0.0, 0.3, 0.6, 0.9]
    got = heavy_ball_sweep(lam, starts, lrs, mus, tol=1e-6, max_steps=300)
    assert got.shape == (len(lrs), len(mus))
    for i, lr in enumerate(lrs):
        for j, mu in enumerate(mus):
            runs = [one_run_losses(lam, s, lr, mu, 300) for s in starts]
            assert got[i, j] == first_step_all_below(runs, 1e-6, 300), (lr, mu)
    assert (got <= 300).any() and (got == 301).any()   # the grid has both outcomes


def test_lesson_04_counts_on_the_ravine():
    # lesson 04, section 2: gradient descent at lr = 2/21 takes 87 steps, the heavy ball at mu = 0.5 24
    assert heavy_ball_sweep([1.0, 20.0], [[-4.0, 1.5]], [2 / 21], [0.0, 0.5]).tolist() == [[87, 24]]


def test_the_counts_follow_the_spectral_radius():
    # Polyak's pair converges like rho* = (sqrt(k) - 1) / (sqrt(k) + 1) per step; the loss like rho*^2
    k = 100.0
    lr = 4 / (math.sqrt(k) + 1) ** 2
    mu = ((math.sqrt(k) - 1) / (math.sqrt(k) + 1)) ** 2
    rho = (math.sqrt(k) - 1) / (math.sqrt(k) + 1)
    angles = np.linspace(0, np.pi, 8, endpoint=False)
    starts = np.stack([np.cos(angles), np.sin(angles) / math.sqrt(k)], -1)   # all on f = 1/2
    steps = heavy_ball_sweep([1.0, k], starts, [lr], [mu], tol=1e-8, max_steps=2000)[0, 0]
    predicted = math.log(1e-8 / 0.5) / (2 * math.log(rho))
    assert 0.8 * predicted < steps < 1.6 * predicted


def test_a_diverging_setting_never_counts():
    # lr far above the stability limit 2(1 + mu)/lambda_max: the iterate overflows to inf / nan
    assert heavy_ball_sweep([1.0, 20.0], [[1.0, 1.0]], [5.0], [0.5], max_steps=2000).tolist() == [[2001]]


@pytest.mark.parametrize("kwargs, message", [
    (dict(curvatures=[1.0, -1.0]), "curvatures"),
    (dict(curvatures=[]), "curvatures"),
    (dict(starts=[[1.0, 2.0, 3.0]]), "starts"),
    (dict(starts=[[1.0, float("nan")]]), "starts"),
    (dict(lrs=[]), "lrs"),
    (dict(mus=[[0.5]]), "mus"),
    (dict(tol=0.0), "tol"),
    (dict(max_steps=0), "max_steps"),
    (dict(max_steps=10.0), "max_steps"),
])
def test_bad_arguments_are_refused_by_name(kwargs, message):
    args = dict(curvatures=[1.0, 20.0], starts=[[1.0, 1.0]], lrs=[0.1], mus=[0.5])
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        heavy_ball_sweep(args.pop("curvatures"), args.pop("starts"), args.pop("lrs"), args.pop("mus"), **args)
