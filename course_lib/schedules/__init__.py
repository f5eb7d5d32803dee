r"""Learning-rate schedules as pure functions ``step -> multiplier``.

A schedule here is a plain, stateless callable: give it the number of optimizer
steps taken so far and it returns the factor the base learning rate is
multiplied by. PyTorch's :class:`~torch.optim.lr_scheduler.LambdaLR` does the
multiplying, so the learning rate actually used at step ``t`` is

.. math::
    \text{lr}_t = \text{base\_lr} \cdot \text{schedule}(t)

where ``base_lr`` is the ``lr`` the optimizer was built with. Every lesson uses
the same loop::

    from torch.optim.lr_scheduler import LambdaLR
    from course_lib.schedules import warmup_cosine

    scheduler = LambdaLR(optimizer, lr_lambda=warmup_cosine(warmup_steps=100, total_steps=1000))
    for t in range(1000):
        ...                      # zero_grad, forward, backward, clip
        optimizer.step()         # uses lr_t = base_lr * schedule(t)
        scheduler.step()         # then t -> t + 1

Conventions shared by every schedule:

* ``step`` counts optimizer steps already taken; the very first update uses
  ``schedule(0)``. A step must be a non-negative integer, anything else raises
  ``ValueError``.
* The multiplier is relative to the **peak** learning rate: schedules that
  decay start at (or warm up to) 1.0, and ``floor`` is a fraction of the peak in
  ``[0, 1]`` (``floor=0.1`` ends at 10% of ``base_lr``).
* Past the end of a finite schedule (``step > total_steps``) the multiplier
  **holds at its final value** (the floor). PyTorch's ``CosineAnnealingLR``
  instead climbs back up along the cosine, and ``OneCycleLR`` raises; holding
  is what you want when a run goes on a little longer than planned.
* Each factory validates its arguments (clear ``ValueError``) and returns a
  frozen dataclass with ``__call__``: it is picklable, compares equal by value,
  prints its settings, and round-trips through ``LambdaLR.state_dict()``
  (``LambdaLR`` silently skips plain functions and lambdas there).

Which PyTorch scheduler each one reproduces (checked step by step in
``tests/test_schedules.py``):

* ``step_decay``: ``StepLR(step_size, gamma)``
* ``multistep_decay``: ``MultiStepLR(milestones, gamma)``
* ``exponential_decay``: ``ExponentialLR(gamma)``
* ``cosine_decay``: ``CosineAnnealingLR(T_max=total_steps, eta_min=floor * base_lr)``,
  up to ``total_steps``
* ``linear_warmup``: ``LinearLR(start_factor, end_factor=1.0, total_iters=warmup_steps)``
* ``warmup_cosine``: ``SequentialLR`` of ``LinearLR(start_factor, total_iters=W)`` and
  ``CosineAnnealingLR(T_max=T - W, eta_min=floor * base_lr)`` with ``milestones=[W]``,
  up to ``total_steps``
* ``one_cycle``: ``OneCycleLR(max_lr=base_lr, total_steps, pct_start, anneal_strategy,
  div_factor, final_div_factor, three_phase=False)``
* ``warmup_stable_decay``: no single PyTorch scheduler

The package, one idea per module:

* :mod:`~course_lib.schedules._base`: the ``Schedule`` type, the argument checks and the two
  curve pieces (linear ramp, half cosine) the schedules share;
* :mod:`~course_lib.schedules.decay`: schedules that start at the peak and only decay
  (``constant``, ``step_decay``, ``multistep_decay``, ``exponential_decay``, ``cosine_decay``);
* :mod:`~course_lib.schedules.warmup`: schedules that ramp up linearly first
  (``linear_warmup``, ``warmup_cosine``, ``warmup_stable_decay``);
* :mod:`~course_lib.schedules.one_cycle_policy`: the 1cycle policy (``one_cycle``);
* :mod:`~course_lib.schedules.lambda_lr`: using a schedule with ``LambdaLR``
  (``lr_at_steps``, ``apply_schedule``).
"""

from course_lib.schedules._base import Schedule
from course_lib.schedules.decay import (
    Constant,
    CosineDecay,
    ExponentialDecay,
    MultiStepDecay,
    StepDecay,
    constant,
    cosine_decay,
    exponential_decay,
    multistep_decay,
    step_decay,
)
from course_lib.schedules.lambda_lr import apply_schedule, lr_at_steps
from course_lib.schedules.one_cycle_policy import AnnealStrategy as AnnealStrategy
from course_lib.schedules.one_cycle_policy import OneCycle, one_cycle
from course_lib.schedules.warmup import DecayShape as DecayShape
from course_lib.schedules.warmup import (
    LinearWarmup,
    WarmupCosine,
    WarmupStableDecay,
    linear_warmup,
    warmup_cosine,
    warmup_stable_decay,
)

__all__ = [
    "Schedule",
    "constant",
    "step_decay",
    "multistep_decay",
    "exponential_decay",
    "cosine_decay",
    "linear_warmup",
    "warmup_cosine",
    "one_cycle",
    "warmup_stable_decay",
    "lr_at_steps",
    "apply_schedule",
    "Constant",
    "StepDecay",
    "MultiStepDecay",
    "ExponentialDecay",
    "CosineDecay",
    "LinearWarmup",
    "WarmupCosine",
    "OneCycle",
    "WarmupStableDecay",
]
