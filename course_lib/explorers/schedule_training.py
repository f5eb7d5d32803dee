"""The schedule designer's training run: a schedule from its settings, and a small run with it.

:func:`design_schedule` turns the designer's settings (shape, warmup, floor) into one of
:mod:`course_lib.schedules`' pure schedules; :func:`train_with_schedule` trains a small MLP on the
bundled digits with Adam, the schedule driving the learning rate through ``LambdaLR``, and records
the learning rate **read from the optimizer** at every step. Every run starts from the same
initial weights and sees the same batches in the same order, so two settings differ only by
their schedule. A run that blows up (a non-finite loss, or one above ten times the starting
loss) stops there and is reported as diverged.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch.optim.lr_scheduler import LambdaLR

from course_lib.data import load_digits_split
from course_lib.models import MLP
from course_lib.optim import Adam
from course_lib.schedules import Schedule, one_cycle, warmup_cosine, warmup_stable_decay

__all__ = [
    "SHAPES",
    "STEPS",
    "BATCH_SIZE",
    "HIDDEN",
    "WSD_DECAY_FRACTION",
    "ONE_CYCLE_DIV",
    "BLOWUP",
    "design_schedule",
    "train_with_schedule",
    "train_at_constant_lr",
]

#: The schedule shapes the designer offers.
SHAPES = ("cosine", "linear", "wsd", "one-cycle")
#: Steps per run, examples per batch, hidden units of the MLP.
STEPS = 120
BATCH_SIZE = 64
HIDDEN = 32
#: Warmup-stable-decay spends this share of the run decaying (the rest: warmup, then stable).
WSD_DECAY_FRACTION = 0.2
#: One-cycle starts at peak / this (PyTorch's OneCycleLR default ``div_factor``).
ONE_CYCLE_DIV = 25.0
#: A run is stopped as diverged once its loss passes this many times the starting loss.
BLOWUP = 10.0

_SEED = 0


# ---------------------------------------------------------------------------------------------
# settings -> schedule
# ---------------------------------------------------------------------------------------------


def design_schedule(
    shape: str, warmup_steps: int, total_steps: int, floor: float
) -> tuple[Schedule, str | None]:
    """The schedule for a shape, with the designer's conventions, and a note on any adjustment.

    * ``"cosine"``: :func:`~course_lib.schedules.warmup_cosine` down to ``floor`` at the end.
    * ``"linear"``: warmup, then a straight line down to ``floor`` at the end
      (:func:`~course_lib.schedules.warmup_stable_decay` with no stable phase, linear decay).
    * ``"wsd"``: warmup, a stable phase at the peak, then the last ``WSD_DECAY_FRACTION`` of the
      run decays (1-sqrt shape) to ``floor``.
    * ``"one-cycle"``: :func:`~course_lib.schedules.one_cycle` rising for ``warmup_steps`` from
      ``peak / 25`` and annealing to ``floor`` (never above its start, ``peak / 25``: one-cycle
      ends below where it began by design). It needs a rise of at least 2 steps.

    Args:
        shape: one of :data:`SHAPES`.
        warmup_steps: steps of warmup (rise), an int >= 0, less than ``total_steps``.
        total_steps: length of the run, an int >= 4.
        floor: final multiplier, a fraction of the peak in [0, 1].

    Returns:
        ``(schedule, note)``: a pure schedule ``step -> multiplier`` and a sentence saying what
        was adjusted to make the settings valid for this shape (``None`` when nothing was).

    Raises:
        ValueError: for an unknown shape or settings out of range.
    """
    if shape not in SHAPES:
        raise ValueError(f"shape must be one of {SHAPES}, got {shape!r}")
    if isinstance(total_steps, bool) or not isinstance(total_steps, int) or total_steps < 4:
        raise ValueError(f"total_steps must be an int >= 4, got {total_steps!r}")
    if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, int):
        raise ValueError(f"warmup_steps must be an int, got {warmup_steps!r}")
    if not 0 <= warmup_steps < total_steps:
        raise ValueError(f"warmup_steps must be in [0, {total_steps}), got {warmup_steps}")
    if not (isinstance(floor, int | float) and 0.0 <= floor <= 1.0):
        raise ValueError(f"floor must be a number in [0, 1], got {floor!r}")
    floor = float(floor)
    note = None
    if shape == "cosine":
        return warmup_cosine(warmup_steps, total_steps, floor=floor), None
    if shape == "linear":
        return warmup_stable_decay(warmup_steps, total_steps - warmup_steps, total_steps,
                                   floor=floor, decay_shape="linear"), None
    if shape == "wsd":
        decay = max(1, round(WSD_DECAY_FRACTION * total_steps))
        warm = min(warmup_steps, total_steps - decay)
        if warm != warmup_steps:
            note = f"warmup cut to {warm} steps so the decay ({decay} steps) fits"
        return warmup_stable_decay(warm, decay, total_steps, floor=floor,
                                   decay_shape="1-sqrt"), note
    # one-cycle
    rise = max(warmup_steps, 2)
    if rise != warmup_steps:
        note = "one-cycle needs a rise: warmup set to 2 steps"
    start = 1.0 / ONE_CYCLE_DIV
    end = min(floor, start)
    if floor > start:
        capped = f"one-cycle ends at peak/{ONE_CYCLE_DIV:g}, its start"
        note = f"{note}; {capped}" if note else capped
    final_div = start / end if end > 0 else 1e12
    # pct_start * total must exceed 1 step: nudge up by a hair when rise == 2 exactly hits it
    pct = min((rise + 1e-9) / total_steps, 1.0 - 1e-9)
    return one_cycle(total_steps, pct_start=pct, div_factor=ONE_CYCLE_DIV,
                     final_div_factor=max(final_div, 1.0)), note


# ---------------------------------------------------------------------------------------------
# the training run
# ---------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _problem(device_key: str, steps: int):
    """Data, a fixed batch order and the initial weights: the same for every run."""
    device = torch.device(device_key)
    data = load_digits_split(device=device)
    gen = torch.Generator().manual_seed(_SEED)
    n = len(data.y_train)
    batches = torch.stack([torch.randperm(n, generator=gen)[:BATCH_SIZE] for _ in range(steps)])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(_SEED)
        init = MLP([64, HIDDEN, 10], device="cpu").state_dict()
    return data, batches.to(device), init


def train_with_schedule(
    schedule: Schedule | None, peak_lr: float, steps: int, device_key: str
) -> tuple[np.ndarray, np.ndarray, int | None, float, float]:
    """Adam with ``lr = peak_lr * schedule(t)`` (constant when ``schedule`` is None).

    Args:
        schedule: ``step -> multiplier``, or ``None`` for a constant lr.
        peak_lr: the optimizer's base lr.
        steps: steps to train.
        device_key: where, as a string (a cache key).

    Returns:
        (lrs used, losses, diverged_at, test loss, test accuracy).
    """
    data, batches, init = _problem(device_key, steps)
    model = MLP([64, HIDDEN, 10], device=device_key)
    model.load_state_dict(init)
    opt = Adam(model.parameters(), lr=peak_lr)
    sched = LambdaLR(opt, lr_lambda=schedule) if schedule is not None else None
    lrs, losses = [], []
    diverged_at = None
    limit = None
    for t in range(steps):
        idx = batches[t]
        lrs.append(opt.param_groups[0]["lr"])               # the lr this step uses
        loss = F.cross_entropy(model(data.X_train[idx]), data.y_train[idx])
        value = loss.item()
        if limit is None:
            limit = BLOWUP * value
        if not math.isfinite(value) or value > limit:
            diverged_at = t
            losses.append(value if math.isfinite(value) else math.inf)
            break
        losses.append(value)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()
    if diverged_at is not None:
        return np.array(lrs), np.array(losses), diverged_at, math.nan, math.nan
    with torch.no_grad():
        logits = model(data.X_test)
        test_loss = F.cross_entropy(logits, data.y_test).item()
        test_acc = (logits.argmax(dim=1) == data.y_test).float().mean().item()
    if not math.isfinite(test_loss):
        return np.array(lrs), np.array(losses), steps, math.nan, math.nan
    return np.array(lrs), np.array(losses), None, test_loss, test_acc


@functools.lru_cache(maxsize=256)
def train_at_constant_lr(peak_lr: float, steps: int, device_key: str):
    """:func:`train_with_schedule` at a constant lr (cached: the designer's baseline)."""
    return train_with_schedule(None, peak_lr, steps, device_key)
