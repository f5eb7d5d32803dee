"""course_lib.schedules: same learning rates as torch's schedulers, step by step.

Each equivalence test drives two real SGD optimizers side by side, one through
``LambdaLR(our schedule)`` and one through PyTorch's own scheduler, and compares
the ``lr`` actually sitting in ``param_groups[0]`` before every ``optimizer.step()``.
"""

from __future__ import annotations

import io
import math
import pickle

import numpy as np
import pytest
import torch
from torch.optim.lr_scheduler import (
    CosineAnnealingLR,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    MultiStepLR,
    OneCycleLR,
    SequentialLR,
    StepLR,
)

from course_lib import schedules as S

BASE_LR = 0.1
REL = 1e-12


def _drive(schedule, make_torch_scheduler, n_steps, base_lr=BASE_LR):
    """Train a tiny quadratic with both schedulers; return (ours, torch's) lr per step and params."""
    lrs = ([], [])
    params, opts, scheds = [], [], []
    for which in range(2):
        p = torch.nn.Parameter(torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64))
        opt = torch.optim.SGD([p], lr=base_lr)
        sched = LambdaLR(opt, lr_lambda=schedule) if which == 0 else make_torch_scheduler(opt)
        params.append(p)
        opts.append(opt)
        scheds.append(sched)
    for _ in range(n_steps):
        for p, opt, sched, out in zip(params, opts, scheds, lrs):
            out.append(opt.param_groups[0]["lr"])
            opt.zero_grad()
            (p**2).sum().backward()
            opt.step()
            sched.step()
    return lrs[0], lrs[1], params


def _assert_same_lrs(ours, theirs, abs_tol=0.0):
    assert len(ours) == len(theirs)
    for t, (a, b) in enumerate(zip(ours, theirs)):
        assert math.isclose(a, b, rel_tol=REL, abs_tol=abs_tol), f"step {t}: ours {a!r} torch {b!r}"


def _check_against_torch(schedule, make_torch_scheduler, n_steps, base_lr=BASE_LR, abs_tol=0.0):
    ours, theirs, (p_ours, p_torch) = _drive(schedule, make_torch_scheduler, n_steps, base_lr)
    _assert_same_lrs(ours, theirs, abs_tol)
    # ...and so the optimizers took the same steps.
    torch.testing.assert_close(p_ours, p_torch, rtol=1e-12, atol=1e-15)
    return ours


# --------------------------------------------------------------------------- vs torch


@pytest.mark.parametrize("step_size,gamma", [(7, 0.5), (1, 0.9), (10, 0.1)])
def test_step_decay_matches_steplr(step_size, gamma):
    _check_against_torch(
        S.step_decay(step_size, gamma), lambda opt: StepLR(opt, step_size, gamma), n_steps=60
    )


@pytest.mark.parametrize("milestones,gamma", [([10, 25, 40], 0.3), ([1, 2, 3], 0.5), ([50], 0.1)])
def test_multistep_decay_matches_multisteplr(milestones, gamma):
    _check_against_torch(
        S.multistep_decay(milestones, gamma),
        lambda opt: MultiStepLR(opt, milestones, gamma),
        n_steps=60,
    )


@pytest.mark.parametrize("gamma", [0.97, 0.5, 1.02])
def test_exponential_decay_matches_exponentiallr(gamma):
    _check_against_torch(
        S.exponential_decay(gamma), lambda opt: ExponentialLR(opt, gamma), n_steps=100
    )


@pytest.mark.parametrize("total_steps,floor", [(50, 0.0), (50, 0.1), (7, 0.5), (1, 0.0)])
def test_cosine_decay_matches_cosineannealinglr(total_steps, floor):
    # Steps 0..total_steps inclusive: the floor is reached at step total_steps.
    lrs = _check_against_torch(
        S.cosine_decay(total_steps, floor),
        lambda opt: CosineAnnealingLR(opt, T_max=total_steps, eta_min=floor * BASE_LR),
        n_steps=total_steps + 1,
    )
    assert lrs[0] == BASE_LR
    assert lrs[-1] == pytest.approx(floor * BASE_LR, rel=REL, abs=0.0)


def test_cosine_decay_holds_where_torch_climbs_back():
    # The one deliberate difference: past T_max torch's cosine rises again, ours holds.
    T, floor = 20, 0.1
    ours, theirs, _ = _drive(
        S.cosine_decay(T, floor),
        lambda opt: CosineAnnealingLR(opt, T_max=T, eta_min=floor * BASE_LR),
        n_steps=2 * T,
    )
    assert all(lr == pytest.approx(floor * BASE_LR, rel=REL) for lr in ours[T:])
    assert theirs[-1] > 0.9 * BASE_LR


@pytest.mark.parametrize("warmup_steps,start_factor", [(10, None), (10, 0.1), (1, 0.5), (25, 1.0)])
def test_linear_warmup_matches_linearlr(warmup_steps, start_factor):
    schedule = S.linear_warmup(warmup_steps, start_factor)
    _check_against_torch(
        schedule,
        lambda opt: LinearLR(
            opt, start_factor=schedule.start_factor, end_factor=1.0, total_iters=warmup_steps
        ),
        n_steps=warmup_steps + 10,
    )


@pytest.mark.parametrize(
    "warmup_steps,total_steps,floor,start_factor",
    [
        (10, 60, 0.1, None),
        (10, 60, 0.0, 0.25),
        (1, 20, 0.1, None),
        (5, 6, 0.1, None),  # a one-step cosine: T_max = 1
        (5, 7, 0.3, 0.5),
        (30, 100, 0.1, 0.01),
    ],
)
def test_warmup_cosine_matches_sequential_linear_then_cosine(
    warmup_steps, total_steps, floor, start_factor
):
    """LinearLR for W steps, then CosineAnnealingLR(T_max=T-W), joined at milestone W.

    At the milestone SequentialLR restarts the cosine with its closed form at
    epoch 0, which gives exactly base_lr there, so steps 0..T line up one to one
    with our definition: the peak at step W, the floor at step T, no off-by-one.
    """
    schedule = S.warmup_cosine(warmup_steps, total_steps, floor, start_factor)
    W, T = warmup_steps, total_steps

    def torch_equivalent(opt):
        warm = LinearLR(opt, start_factor=schedule.start_factor, end_factor=1.0, total_iters=W)
        cos = CosineAnnealingLR(opt, T_max=T - W, eta_min=floor * BASE_LR)
        return SequentialLR(opt, [warm, cos], milestones=[W])

    lrs = _check_against_torch(schedule, torch_equivalent, n_steps=T + 1)
    assert lrs[W] == pytest.approx(BASE_LR, rel=REL)
    assert lrs[T] == pytest.approx(floor * BASE_LR, rel=REL)


@pytest.mark.parametrize("anneal_strategy", ["cos", "linear"])
@pytest.mark.parametrize(
    "total_steps,pct_start,div_factor,final_div_factor",
    [(100, 0.3, 25.0, 1e4), (37, 0.25, 10.0, 100.0), (10, 0.5, 4.0, 2.0), (300, 0.1, 25.0, 1e4)],
)
def test_one_cycle_matches_onecyclelr(
    total_steps, pct_start, div_factor, final_div_factor, anneal_strategy
):
    # torch's linear anneal is `(end - start) * pct + start`: at the last steps it
    # subtracts two nearly equal numbers (start = max_lr, result ~ max_lr / 250000),
    # so torch's own value is only good to a few ulps *of max_lr* (e.g. 3.99999999998e-07
    # instead of 4e-07, 6e-12 relative). Allow that absolute rounding there (1e-16 of
    # the peak); everywhere else, and for "cos", the 1e-12 relative bound holds.
    abs_tol = 1e-16 * BASE_LR if anneal_strategy == "linear" else 0.0
    lrs = _check_against_torch(
        S.one_cycle(total_steps, pct_start, div_factor, final_div_factor, anneal_strategy),
        lambda opt: OneCycleLR(
            opt,
            max_lr=BASE_LR,
            total_steps=total_steps,
            pct_start=pct_start,
            anneal_strategy=anneal_strategy,
            div_factor=div_factor,
            final_div_factor=final_div_factor,
            three_phase=False,
            cycle_momentum=False,
        ),
        n_steps=total_steps,  # torch's cycle: steps 0 .. total_steps - 1
        abs_tol=abs_tol,
    )
    assert lrs[0] == pytest.approx(BASE_LR / div_factor, rel=REL)
    assert 0.9 * BASE_LR < max(lrs) <= BASE_LR * (1 + 1e-15)  # the peak step may fall between steps
    assert lrs[-1] == pytest.approx(BASE_LR / div_factor / final_div_factor, rel=1e-15)


# --------------------------------------------------------------------------- properties

ALL_SCHEDULES = {
    "constant": S.constant(),
    "step": S.step_decay(10, 0.5),
    "multistep": S.multistep_decay([5, 20], 0.1),
    "exponential": S.exponential_decay(0.95),
    "cosine": S.cosine_decay(50),
    "cosine_floor": S.cosine_decay(50, floor=0.2),
    "warmup": S.linear_warmup(10),
    "warmup_from_zero": S.linear_warmup(10, start_factor=0.0),
    "warmup_cosine": S.warmup_cosine(10, 50),
    "warmup_cosine_no_warmup": S.warmup_cosine(0, 50, floor=0.0),
    "one_cycle_cos": S.one_cycle(50),
    "one_cycle_linear": S.one_cycle(50, anneal_strategy="linear"),
    "wsd_linear": S.warmup_stable_decay(5, 10, 50, decay_shape="linear"),
    "wsd_cosine": S.warmup_stable_decay(5, 10, 50, floor=0.1, decay_shape="cosine"),
    "wsd_sqrt": S.warmup_stable_decay(5, 10, 50, floor=0.05, decay_shape="1-sqrt"),
    "wsd_no_warmup_no_stable": S.warmup_stable_decay(0, 50, 50),
}


def _floor_of(schedule) -> float:
    if isinstance(schedule, (S.Constant, S.LinearWarmup)):
        return 0.0
    if isinstance(schedule, (S.StepDecay, S.MultiStepDecay, S.ExponentialDecay)):
        return 0.0
    return schedule.floor


@pytest.mark.parametrize("name", ALL_SCHEDULES)
def test_every_schedule_stays_in_floor_to_one(name):
    """In [0, 1] everywhere; at or above the floor once any warmup is over."""
    schedule = ALL_SCHEDULES[name]
    floor = _floor_of(schedule)
    warmup_steps = getattr(schedule, "warmup_steps", 0)
    values = [schedule(t) for t in range(120)]
    assert all(type(v) is float for v in values)
    assert all(0.0 <= v <= 1.0 for v in values), (min(values), max(values))
    after_warmup = values[warmup_steps:]
    assert all(floor <= v for v in after_warmup), (floor, min(after_warmup))
    if isinstance(schedule, S.OneCycle):  # its rise starts above the floor too
        assert min(values) == floor


@pytest.mark.parametrize("name", ALL_SCHEDULES)
def test_pickle_round_trip(name):
    schedule = ALL_SCHEDULES[name]
    copy = pickle.loads(pickle.dumps(schedule))
    assert copy == schedule and copy is not schedule
    assert [copy(t) for t in range(80)] == [schedule(t) for t in range(80)]


@pytest.mark.parametrize("name", ALL_SCHEDULES)
def test_schedules_take_numpy_integers(name):
    schedule = ALL_SCHEDULES[name]
    assert schedule(np.int64(7)) == schedule(7)


@pytest.mark.parametrize("name", ALL_SCHEDULES)
@pytest.mark.parametrize("bad_step", [-1, 2.0, 1.5, True, "3", None])
def test_schedules_reject_bad_steps(name, bad_step):
    with pytest.raises(ValueError, match="step"):
        ALL_SCHEDULES[name](bad_step)


def test_lambdalr_state_dict_round_trip_restores_the_schedule():
    schedule = S.warmup_cosine(warmup_steps=5, total_steps=40, floor=0.1)

    def make(sched_fn):
        p = torch.nn.Parameter(torch.ones(2))
        opt = torch.optim.SGD([p], lr=BASE_LR)
        return p, opt, LambdaLR(opt, lr_lambda=sched_fn)

    def run(p, opt, sched, n):
        out = []
        for _ in range(n):
            out.append(opt.param_groups[0]["lr"])
            opt.zero_grad()
            p.sum().backward()
            opt.step()
            sched.step()
        return out

    p, opt, sched = make(schedule)
    uninterrupted = run(p, opt, sched, 45)

    p, opt, sched = make(schedule)
    first = run(p, opt, sched, 17)
    buffer = io.BytesIO()
    torch.save({"opt": opt.state_dict(), "sched": sched.state_dict()}, buffer)
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=False)

    # Resume with a different (wrong) schedule object: load_state_dict restores the saved one.
    p2, opt2, sched2 = make(S.warmup_cosine(warmup_steps=1, total_steps=2))
    opt2.load_state_dict(saved["opt"])
    sched2.load_state_dict(saved["sched"])
    assert sched2.lr_lambdas[0] == schedule
    rest = run(p2, opt2, sched2, 45 - 17)
    assert first + rest == uninterrupted


def test_warmup_is_monotone_and_reaches_the_peak_at_warmup_steps():
    for schedule in (
        S.linear_warmup(20),
        S.linear_warmup(20, start_factor=0.0),
        S.warmup_cosine(20, 100),
        S.warmup_stable_decay(20, 30, 100),
    ):
        ramp = [schedule(t) for t in range(21)]
        assert all(b > a for a, b in zip(ramp, ramp[1:])), schedule
        assert ramp[0] == schedule.start_factor
        assert ramp[20] == 1.0


def test_default_start_factor_is_nanogpt_ramp():
    W = 8
    schedule = S.linear_warmup(W)
    assert schedule.start_factor == 1.0 / (W + 1)
    for t in range(W + 1):
        assert schedule(t) == pytest.approx((t + 1) / (W + 1), rel=1e-15)


@pytest.mark.parametrize("decay_shape", ["linear", "cosine", "1-sqrt"])
@pytest.mark.parametrize("floor", [0.0, 0.1])
def test_wsd_is_flat_then_decays_to_the_floor(decay_shape, floor):
    W, D, T = 10, 20, 100
    s = S.warmup_stable_decay(W, D, T, floor=floor, decay_shape=decay_shape)
    assert s.decay_start == T - D
    assert all(s(t) == 1.0 for t in range(W, T - D + 1))  # stable phase, decay starts at 1
    decay = [s(t) for t in range(T - D, T + 1)]
    assert all(b < a for a, b in zip(decay, decay[1:]))  # strictly decreasing
    assert s(T) == floor
    assert all(s(t) == floor for t in range(T, T + 50))  # and holds


def test_wsd_decay_shapes_at_midpoint():
    kwargs = dict(warmup_steps=0, decay_steps=100, total_steps=100, floor=0.0)
    assert S.warmup_stable_decay(**kwargs, decay_shape="linear")(50) == 0.5
    assert S.warmup_stable_decay(**kwargs, decay_shape="cosine")(50) == pytest.approx(0.5)
    assert S.warmup_stable_decay(**kwargs, decay_shape="1-sqrt")(25) == 0.5


def test_values_at_step_zero_and_past_the_end():
    assert S.cosine_decay(10, 0.2)(0) == 1.0
    assert S.warmup_cosine(10, 50, start_factor=0.0)(0) == 0.0
    assert S.warmup_cosine(0, 50)(0) == 1.0
    assert S.cosine_decay(50, 0.2)(25) == pytest.approx(0.6, rel=1e-15)
    for schedule in (
        S.cosine_decay(10, 0.2),
        S.warmup_cosine(3, 10, 0.2),
        S.warmup_stable_decay(3, 4, 10, floor=0.2),
    ):
        assert schedule(10) == schedule(11) == schedule(10**9) == pytest.approx(0.2, rel=1e-15)
    oc = S.one_cycle(10, pct_start=0.5)
    assert oc(9) == oc(10) == oc(10**6) == oc.floor


def test_lr_at_steps_is_what_lambdalr_uses():
    schedule = S.warmup_cosine(5, 30, floor=0.1)
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.3)
    sched = S.apply_schedule(opt, schedule)
    assert isinstance(sched, LambdaLR)
    used = []
    for _ in range(35):
        used.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert S.lr_at_steps(schedule, 0.3, 35) == used  # bit for bit
    assert S.lr_at_steps(schedule, 0.3, [0, 5, 30]) == [used[0], used[5], used[30]]
    assert S.lr_at_steps(schedule, 0.3, 0) == []


@pytest.mark.parametrize(
    "build",
    [
        lambda: S.step_decay(0),
        lambda: S.step_decay(-3),
        lambda: S.step_decay(2.5),
        lambda: S.step_decay(10.0),
        lambda: S.step_decay(True),
        lambda: S.step_decay(10, gamma=0.0),
        lambda: S.step_decay(10, gamma=-0.5),
        lambda: S.step_decay(10, gamma=float("nan")),
        lambda: S.multistep_decay([]),
        lambda: S.multistep_decay([10, 5]),
        lambda: S.multistep_decay([5, 5]),
        lambda: S.multistep_decay([0, 5]),
        lambda: S.multistep_decay([-5]),
        lambda: S.multistep_decay([2.5]),
        lambda: S.multistep_decay(10),
        lambda: S.multistep_decay("10"),
        lambda: S.multistep_decay([10], gamma=0),
        lambda: S.exponential_decay(0.0),
        lambda: S.exponential_decay(-0.9),
        lambda: S.exponential_decay(float("inf")),
        lambda: S.exponential_decay("0.9"),
        lambda: S.cosine_decay(0),
        lambda: S.cosine_decay(-10),
        lambda: S.cosine_decay(100.0),
        lambda: S.cosine_decay(100, floor=-0.1),
        lambda: S.cosine_decay(100, floor=1.5),
        lambda: S.cosine_decay(100, floor=float("nan")),
        lambda: S.linear_warmup(-1),
        lambda: S.linear_warmup(5.5),
        lambda: S.linear_warmup(10, start_factor=-0.1),
        lambda: S.linear_warmup(10, start_factor=2.0),
        lambda: S.warmup_cosine(100, 100),  # warmup as long as the run
        lambda: S.warmup_cosine(200, 100),  # warmup longer than the run
        lambda: S.warmup_cosine(-1, 100),
        lambda: S.warmup_cosine(10, 0),
        lambda: S.warmup_cosine(10, 100, floor=1.1),
        lambda: S.warmup_cosine(10, 100, floor=-0.5),
        lambda: S.warmup_cosine(10, 100, start_factor=1.5),
        lambda: S.one_cycle(0),
        lambda: S.one_cycle(-5),
        lambda: S.one_cycle(100.0),
        lambda: S.one_cycle(100, pct_start=0.0),
        lambda: S.one_cycle(100, pct_start=1.0),
        lambda: S.one_cycle(100, pct_start=-0.3),
        lambda: S.one_cycle(100, pct_start=1.3),
        lambda: S.one_cycle(3, pct_start=0.3),  # rising phase shorter than a step
        lambda: S.one_cycle(10, pct_start=0.1),  # peak at step 0: torch divides by zero
        lambda: S.one_cycle(100, div_factor=0.0),
        lambda: S.one_cycle(100, div_factor=0.5),
        lambda: S.one_cycle(100, final_div_factor=-1.0),
        lambda: S.one_cycle(100, anneal_strategy="cosine"),
        lambda: S.warmup_stable_decay(10, 20, 25),  # warmup + decay longer than the run
        lambda: S.warmup_stable_decay(10, 0, 100),
        lambda: S.warmup_stable_decay(-1, 20, 100),
        lambda: S.warmup_stable_decay(10, 20, 0),
        lambda: S.warmup_stable_decay(10, 20.0, 100),
        lambda: S.warmup_stable_decay(10, 20, 100, floor=2.0),
        lambda: S.warmup_stable_decay(10, 20, 100, decay_shape="sqrt"),
        lambda: S.warmup_stable_decay(10, 20, 100, start_factor=-1.0),
        lambda: S.lr_at_steps(S.constant(), 0.0, 10),
        lambda: S.lr_at_steps(S.constant(), -0.1, 10),
        lambda: S.lr_at_steps(S.constant(), 0.1, -1),
        lambda: S.lr_at_steps(S.constant(), 0.1, [0, -1]),
        lambda: S.lr_at_steps(0.5, 0.1, 10),
        lambda: S.apply_schedule(
            torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1), "cosine"
        ),
    ],
)
def test_bad_arguments_raise_valueerror(build):
    with pytest.raises(ValueError):
        build()


def test_error_messages_name_the_problem():
    with pytest.raises(ValueError, match=r"warmup_steps \(200\) must be shorter than the run"):
        S.warmup_cosine(200, 100)
    with pytest.raises(ValueError, match=r"floor must be in \[0, 1\]"):
        S.cosine_decay(100, floor=1.5)
    with pytest.raises(ValueError, match=r"pct_start must be in the open interval \(0, 1\)"):
        S.one_cycle(100, pct_start=1.0)
    with pytest.raises(ValueError, match="total_steps must be an integer >= 1"):
        S.cosine_decay(0)
    with pytest.raises(ValueError, match="non-negative step"):
        S.constant()(-1)
