"""Using a schedule with ``torch.optim.lr_scheduler.LambdaLR``.

``lr_at_steps`` gives the learning rates it yields (the product ``LambdaLR`` computes, ready
to plot); ``apply_schedule`` attaches it to an optimizer.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable

import torch
from torch.optim.lr_scheduler import LambdaLR

from course_lib.schedules._base import Schedule, _as_int, _as_positive, _check_step

__all__ = ["lr_at_steps", "apply_schedule"]


def lr_at_steps(schedule: Schedule, base_lr: float, steps: int | Iterable[int]) -> list[float]:
    """The learning rates a schedule gives, ready to plot.

    Computes ``base_lr * schedule(t)``, the same product ``LambdaLR`` computes,
    so the plot shows exactly the values the optimizer will use.

    Args:
        schedule: A function ``step -> multiplier``.
        base_lr: The optimizer's ``lr`` (the peak), a finite number > 0.
        steps: An int ``n`` for steps ``0 .. n-1``, or an iterable of steps.

    Returns:
        One learning rate per step, as Python floats.

    Raises:
        ValueError: if ``base_lr`` is not a positive finite number, ``schedule``
            is not callable, or a step is negative / not an integer.

    Example:
        >>> lr_at_steps(step_decay(2, gamma=0.5), base_lr=0.1, steps=5)
        [0.1, 0.1, 0.05, 0.05, 0.025]
    """
    if not callable(schedule):
        raise ValueError(f"schedule must be a callable step -> multiplier, got {schedule!r}")
    base_lr = _as_positive("base_lr", base_lr)
    if isinstance(steps, numbers.Integral) and not isinstance(steps, bool):
        steps = range(_as_int("steps", steps, minimum=0))
    return [float(base_lr * schedule(_check_step(t))) for t in steps]


def apply_schedule(optimizer: torch.optim.Optimizer, schedule: Schedule) -> LambdaLR:
    """Attach a schedule to an optimizer: ``LambdaLR(optimizer, lr_lambda=schedule)``.

    Builds the scheduler, which immediately sets every param group's ``lr`` to
    ``base_lr * schedule(0)``. Call ``scheduler.step()`` after each
    ``optimizer.step()``.

    Args:
        optimizer: Any ``torch.optim.Optimizer``; its current ``lr`` per group is the base.
        schedule: A function ``step -> multiplier`` (for example :func:`warmup_cosine`).

    Returns:
        The ``LambdaLR`` scheduler.

    Raises:
        ValueError: if ``schedule`` is not callable.

    Example:
        >>> p = torch.nn.Parameter(torch.zeros(1))
        >>> opt = torch.optim.SGD([p], lr=0.1)
        >>> sched = apply_schedule(opt, linear_warmup(4))
        >>> round(opt.param_groups[0]["lr"], 12)
        0.02
    """
    if not callable(schedule):
        raise ValueError(f"schedule must be a callable step -> multiplier, got {schedule!r}")
    return LambdaLR(optimizer, lr_lambda=schedule)
