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
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Callable, Iterable, Sequence
from typing import Literal

import torch
from torch.optim.lr_scheduler import LambdaLR

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

Schedule = Callable[[int], float]
"""Anything that maps a step (int >= 0) to a learning-rate multiplier (float)."""


# --------------------------------------------------------------------------- validation


def _as_int(name: str, value: object, *, minimum: int) -> int:
    """``value`` as an int >= ``minimum``; floats such as ``10.0`` are refused, not rounded."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return value


def _as_float(name: str, value: object) -> float:
    """``value`` as a finite float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def _as_fraction(name: str, value: object) -> float:
    """``value`` as a float in the closed interval [0, 1]."""
    value = _as_float(name, value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be in [0, 1] (a fraction of the peak lr), got {value}")
    return value


def _as_positive(name: str, value: object) -> float:
    value = _as_float(name, value)
    if value <= 0.0:
        raise ValueError(f"{name} must be > 0, got {value}")
    return value


def _check_step(step: object) -> int:
    """The argument of every schedule: a non-negative integer step."""
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        raise ValueError(f"a schedule takes an integer step, got {step!r}")
    step = int(step)
    if step < 0:
        raise ValueError(f"a schedule takes a non-negative step, got {step}")
    return step


def _resolve_start_factor(start_factor: float | None, warmup_steps: int) -> float:
    """``None`` -> 1 / (warmup_steps + 1), so the ramp is (t + 1) / (W + 1) and never 0."""
    if start_factor is None:
        return 1.0 / (warmup_steps + 1)
    return _as_fraction("start_factor", start_factor)


# --------------------------------------------------------------------------- shared pieces


def _warmup(step: int, warmup_steps: int, start_factor: float) -> float:
    """Linear ramp from ``start_factor`` at step 0 to 1.0 at ``warmup_steps``."""
    return start_factor + (1.0 - start_factor) * step / warmup_steps


def _cosine_anneal(progress: float) -> float:
    """Half a cosine from 1 (progress 0) down to 0 (progress 1)."""
    return (1.0 + math.cos(math.pi * progress)) / 2.0


# --------------------------------------------------------------------------- the schedules


@dataclasses.dataclass(frozen=True)
class Constant:
    """The schedule returned by :func:`constant`: always 1.0."""

    def __call__(self, step: int) -> float:
        _check_step(step)
        return 1.0


def constant() -> Constant:
    r"""Keep the learning rate at ``base_lr``: the baseline every other schedule is compared to.

    .. math::
        \text{schedule}(t) = 1

    Returns:
        A picklable schedule ``step -> 1.0``.

    Example:
        >>> constant()(12345)
        1.0
    """
    return Constant()


@dataclasses.dataclass(frozen=True)
class StepDecay:
    """The schedule returned by :func:`step_decay` (see there for the math)."""

    step_size: int
    gamma: float = 0.1

    def __post_init__(self) -> None:
        object.__setattr__(self, "step_size", _as_int("step_size", self.step_size, minimum=1))
        object.__setattr__(self, "gamma", _as_positive("gamma", self.gamma))

    def __call__(self, step: int) -> float:
        t = _check_step(step)
        return self.gamma ** (t // self.step_size)


def step_decay(step_size: int, gamma: float = 0.1) -> StepDecay:
    r"""Multiply the learning rate by ``gamma`` every ``step_size`` steps (a staircase).

    .. math::
        \text{schedule}(t) = \gamma^{\lfloor t / \text{step\_size} \rfloor}

    The classic ImageNet recipe (He et al., 2016) divides by 10 every 30 epochs.
    Step 0 gives 1.0. Same learning rates as ``torch.optim.lr_scheduler.StepLR``.

    Args:
        step_size: Steps between two drops, an integer >= 1.
        gamma: Factor applied at each drop, > 0 (usually < 1).

    Returns:
        A picklable schedule ``step -> multiplier``.

    Raises:
        ValueError: if ``step_size`` is not an integer >= 1 or ``gamma <= 0``.

    Example:
        >>> s = step_decay(step_size=10, gamma=0.5)
        >>> s(9), s(10), s(25)
        (1.0, 0.5, 0.25)
    """
    return StepDecay(step_size, gamma)


@dataclasses.dataclass(frozen=True)
class MultiStepDecay:
    """The schedule returned by :func:`multistep_decay` (see there for the math)."""

    milestones: tuple[int, ...]
    gamma: float = 0.1

    def __post_init__(self) -> None:
        if isinstance(self.milestones, (str, bytes)) or not isinstance(self.milestones, Iterable):
            raise ValueError(f"milestones must be a sequence of integers, got {self.milestones!r}")
        milestones = tuple(_as_int("each milestone", m, minimum=1) for m in self.milestones)
        if not milestones:
            raise ValueError("milestones must not be empty")
        if any(b <= a for a, b in zip(milestones, milestones[1:])):
            raise ValueError(f"milestones must be strictly increasing, got {list(milestones)}")
        object.__setattr__(self, "milestones", milestones)
        object.__setattr__(self, "gamma", _as_positive("gamma", self.gamma))

    def __call__(self, step: int) -> float:
        t = _check_step(step)
        drops = sum(1 for m in self.milestones if m <= t)  # milestones already passed
        return self.gamma**drops


def multistep_decay(milestones: Sequence[int], gamma: float = 0.1) -> MultiStepDecay:
    r"""Multiply the learning rate by ``gamma`` at each of the given steps.

    .. math::
        \text{schedule}(t) = \gamma^{\,|\{m \in \text{milestones} : m \le t\}|}

    Step 0 gives 1.0; the drop happens *at* the milestone step. Same learning
    rates as ``torch.optim.lr_scheduler.MultiStepLR``.

    Args:
        milestones: Strictly increasing integers >= 1.
        gamma: Factor applied at each milestone, > 0.

    Returns:
        A picklable schedule ``step -> multiplier``.

    Raises:
        ValueError: for an empty, unsorted, repeated, non-integer or non-positive
            milestone, or ``gamma <= 0``.

    Example:
        >>> s = multistep_decay([30, 80], gamma=0.1)
        >>> s(29), s(30), round(s(80), 12)
        (1.0, 0.1, 0.01)
    """
    return MultiStepDecay(milestones, gamma)


@dataclasses.dataclass(frozen=True)
class ExponentialDecay:
    """The schedule returned by :func:`exponential_decay` (see there for the math)."""

    gamma: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "gamma", _as_positive("gamma", self.gamma))

    def __call__(self, step: int) -> float:
        t = _check_step(step)
        return self.gamma**t


def exponential_decay(gamma: float) -> ExponentialDecay:
    r"""Multiply the learning rate by ``gamma`` after every step.

    .. math::
        \text{schedule}(t) = \gamma^{t}

    Step 0 gives 1.0. With ``gamma < 1`` the rate halves every
    :math:`\ln 2 / \ln(1/\gamma)` steps; ``gamma > 1`` grows it, which is what an
    LR range test does. Same learning rates as ``torch.optim.lr_scheduler.ExponentialLR``.

    Args:
        gamma: Factor per step, > 0.

    Returns:
        A picklable schedule ``step -> multiplier``.

    Raises:
        ValueError: if ``gamma <= 0`` or is not a finite number.

    Example:
        >>> exponential_decay(0.5)(3)
        0.125
    """
    return ExponentialDecay(gamma)


@dataclasses.dataclass(frozen=True)
class CosineDecay:
    """The schedule returned by :func:`cosine_decay` (see there for the math)."""

    total_steps: int
    floor: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "total_steps", _as_int("total_steps", self.total_steps, minimum=1))
        object.__setattr__(self, "floor", _as_fraction("floor", self.floor))

    def __call__(self, step: int) -> float:
        t = min(_check_step(step), self.total_steps)  # hold at the floor after the end
        return self.floor + (1.0 - self.floor) * _cosine_anneal(t / self.total_steps)


def cosine_decay(total_steps: int, floor: float = 0.0) -> CosineDecay:
    r"""Anneal from 1 down to ``floor`` along half a cosine, then hold.

    .. math::
        \text{schedule}(t) = \text{floor} + (1 - \text{floor})\,
            \frac{1 + \cos\!\left(\pi \, \min(t, T) / T\right)}{2},
        \qquad T = \text{total\_steps}

    Step 0 gives 1.0; step ``total_steps`` (and every later step) gives exactly
    ``floor``. The cosine spends more steps near the top and the bottom than a
    straight line does. Same learning rates as
    ``CosineAnnealingLR(T_max=total_steps, eta_min=floor * base_lr)`` up to
    ``total_steps``; past it PyTorch climbs back up, this schedule holds.

    Args:
        total_steps: The step at which the floor is reached, an integer >= 1.
        floor: Final multiplier as a fraction of the peak, in [0, 1].

    Returns:
        A picklable schedule ``step -> multiplier``.

    Raises:
        ValueError: if ``total_steps`` is not an integer >= 1 or ``floor`` is outside [0, 1].

    Example:
        >>> s = cosine_decay(100, floor=0.1)
        >>> s(0), round(s(50), 12), s(100), s(500)
        (1.0, 0.55, 0.1, 0.1)

    References:
        Loshchilov & Hutter, "SGDR: Stochastic Gradient Descent with Warm
        Restarts", ICLR 2017, https://arxiv.org/abs/1608.03983 (this is one cycle
        of SGDR, without the restarts).
    """
    return CosineDecay(total_steps, floor)


@dataclasses.dataclass(frozen=True)
class LinearWarmup:
    """The schedule returned by :func:`linear_warmup` (see there for the math)."""

    warmup_steps: int
    start_factor: float | None = None

    def __post_init__(self) -> None:
        warmup_steps = _as_int("warmup_steps", self.warmup_steps, minimum=0)
        object.__setattr__(self, "warmup_steps", warmup_steps)
        object.__setattr__(
            self, "start_factor", _resolve_start_factor(self.start_factor, warmup_steps)
        )

    def __call__(self, step: int) -> float:
        t = _check_step(step)
        if t >= self.warmup_steps:
            return 1.0
        return _warmup(t, self.warmup_steps, self.start_factor)


def linear_warmup(warmup_steps: int, start_factor: float | None = None) -> LinearWarmup:
    r"""Ramp linearly from ``start_factor`` up to 1 over ``warmup_steps`` steps, then stay at 1.

    .. math::
        \text{schedule}(t) =
        \begin{cases}
            s + (1 - s)\, t / W & t < W \\
            1 & t \ge W
        \end{cases}
        \qquad W = \text{warmup\_steps},\; s = \text{start\_factor}

    Like TCP slow start: early gradients are large and Adam's second-moment
    estimates are still noisy, so the first steps are kept small. Step 0 gives
    ``start_factor``. The default ``start_factor=None`` means ``1 / (W + 1)``,
    which makes the ramp :math:`(t + 1) / (W + 1)` (as in nanoGPT): the first
    step already moves, and no step is wasted at lr 0. Pass ``start_factor=0.0``
    to start from exactly zero. Same learning rates as
    ``LinearLR(start_factor, end_factor=1.0, total_iters=warmup_steps)``
    (PyTorch requires ``start_factor > 0``).

    Args:
        warmup_steps: Length of the ramp, an integer >= 0 (0 means no warmup).
        start_factor: Multiplier at step 0, in [0, 1]; ``None`` for ``1 / (W + 1)``.

    Returns:
        A picklable schedule ``step -> multiplier``.

    Raises:
        ValueError: if ``warmup_steps`` is negative or not an integer, or
            ``start_factor`` is outside [0, 1].

    Example:
        >>> s = linear_warmup(4)           # start_factor = 1/5
        >>> [round(s(t), 12) for t in range(6)]
        [0.2, 0.4, 0.6, 0.8, 1.0, 1.0]

    References:
        Goyal et al., "Accurate, Large Minibatch SGD: Training ImageNet in 1
        Hour", 2017, https://arxiv.org/abs/1706.02677 (gradual warmup, section 2.2).
    """
    return LinearWarmup(warmup_steps, start_factor)


@dataclasses.dataclass(frozen=True)
class WarmupCosine:
    """The schedule returned by :func:`warmup_cosine` (see there for the math)."""

    warmup_steps: int
    total_steps: int
    floor: float = 0.1
    start_factor: float | None = None

    def __post_init__(self) -> None:
        warmup_steps = _as_int("warmup_steps", self.warmup_steps, minimum=0)
        total_steps = _as_int("total_steps", self.total_steps, minimum=1)
        if warmup_steps >= total_steps:
            raise ValueError(
                f"warmup_steps ({warmup_steps}) must be shorter than the run "
                f"(total_steps={total_steps}), leaving at least one step to decay"
            )
        object.__setattr__(self, "warmup_steps", warmup_steps)
        object.__setattr__(self, "total_steps", total_steps)
        object.__setattr__(self, "floor", _as_fraction("floor", self.floor))
        object.__setattr__(
            self, "start_factor", _resolve_start_factor(self.start_factor, warmup_steps)
        )

    def __call__(self, step: int) -> float:
        t = _check_step(step)
        if t < self.warmup_steps:
            return _warmup(t, self.warmup_steps, self.start_factor)
        t = min(t, self.total_steps)  # hold at the floor after the end
        progress = (t - self.warmup_steps) / (self.total_steps - self.warmup_steps)
        return self.floor + (1.0 - self.floor) * _cosine_anneal(progress)


def warmup_cosine(
    warmup_steps: int,
    total_steps: int,
    floor: float = 0.1,
    start_factor: float | None = None,
) -> WarmupCosine:
    r"""Linear warmup to the peak, then cosine decay to ``floor``, then hold: the GPT recipe.

    .. math::
        \text{schedule}(t) =
        \begin{cases}
            s + (1 - s)\, t / W & t < W \\
            \text{floor} + (1 - \text{floor})\,
                \dfrac{1 + \cos\!\left(\pi\, \dfrac{\min(t, T) - W}{T - W}\right)}{2} & t \ge W
        \end{cases}

    with :math:`W` = ``warmup_steps``, :math:`T` = ``total_steps``,
    :math:`s` = ``start_factor``. Step 0 gives ``start_factor``; the peak 1.0 is
    reached exactly at step ``W``; the floor exactly at step ``T`` and held after.
    GPT-3 warmed up linearly and decayed with a cosine to 10% of the peak,
    hence ``floor=0.1``; nanoGPT's ``get_lr`` is this function with the default
    ``start_factor``.

    PyTorch gives the same learning rates (steps 0 to ``T``) with::

        SequentialLR(opt, [LinearLR(opt, start_factor=s, end_factor=1.0, total_iters=W),
                           CosineAnnealingLR(opt, T_max=T - W, eta_min=floor * base_lr)],
                     milestones=[W])

    Args:
        warmup_steps: Length of the warmup, an integer in [0, total_steps).
        total_steps: Step at which the floor is reached, an integer >= 1.
        floor: Final multiplier as a fraction of the peak, in [0, 1].
        start_factor: Multiplier at step 0, in [0, 1]; ``None`` for ``1 / (W + 1)``.

    Returns:
        A picklable schedule ``step -> multiplier``.

    Raises:
        ValueError: if a step count is negative or not an integer, the warmup is
            not shorter than the run, or ``floor`` / ``start_factor`` is outside [0, 1].

    Example:
        >>> s = warmup_cosine(warmup_steps=10, total_steps=110, floor=0.1)
        >>> round(s(0), 12), s(10), round(s(60), 12), s(110), s(1000)
        (0.090909090909, 1.0, 0.55, 0.1, 0.1)

    References:
        Goyal et al., "Accurate, Large Minibatch SGD", 2017 (warmup);
        Loshchilov & Hutter, "SGDR", ICLR 2017 (cosine);
        Brown et al., "Language Models are Few-Shot Learners" (GPT-3), 2020,
        https://arxiv.org/abs/2005.14165, appendix B (warmup + cosine to 10%).
    """
    return WarmupCosine(warmup_steps, total_steps, floor, start_factor)


AnnealStrategy = Literal["cos", "linear"]


@dataclasses.dataclass(frozen=True)
class OneCycle:
    """The schedule returned by :func:`one_cycle` (see there for the math)."""

    total_steps: int
    pct_start: float = 0.3
    div_factor: float = 25.0
    final_div_factor: float = 1e4
    anneal_strategy: AnnealStrategy = "cos"

    def __post_init__(self) -> None:
        total_steps = _as_int("total_steps", self.total_steps, minimum=1)
        pct_start = _as_float("pct_start", self.pct_start)
        if not 0.0 < pct_start < 1.0:
            raise ValueError(f"pct_start must be in the open interval (0, 1), got {pct_start}")
        if pct_start * total_steps <= 1.0:
            raise ValueError(
                f"the warm-up phase is too short: pct_start * total_steps = "
                f"{pct_start * total_steps:g} must be > 1 (raise pct_start or total_steps)"
            )
        for name in ("div_factor", "final_div_factor"):
            if _as_float(name, getattr(self, name)) < 1.0:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.anneal_strategy not in ("cos", "linear"):
            raise ValueError(
                f"anneal_strategy must be 'cos' or 'linear', got {self.anneal_strategy!r}"
            )
        object.__setattr__(self, "total_steps", total_steps)
        object.__setattr__(self, "pct_start", pct_start)
        object.__setattr__(self, "div_factor", float(self.div_factor))
        object.__setattr__(self, "final_div_factor", float(self.final_div_factor))

    @property
    def start(self) -> float:
        """Multiplier at step 0: ``1 / div_factor``."""
        return 1.0 / self.div_factor

    @property
    def floor(self) -> float:
        """Multiplier at the last step: ``1 / (div_factor * final_div_factor)``."""
        return self.start / self.final_div_factor

    def _anneal(self, begin: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (begin - end) * _cosine_anneal(pct)
        return begin + (end - begin) * pct

    def __call__(self, step: int) -> float:
        t = _check_step(step)
        peak_step = self.pct_start * self.total_steps - 1.0  # a float, as in torch
        last_step = self.total_steps - 1
        if t <= peak_step:
            return self._anneal(self.start, 1.0, t / peak_step)
        if t >= last_step:
            return self.floor  # the last step, and every step after it
        return self._anneal(1.0, self.floor, (t - peak_step) / (last_step - peak_step))


def one_cycle(
    total_steps: int,
    pct_start: float = 0.3,
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
    anneal_strategy: AnnealStrategy = "cos",
) -> OneCycle:
    r"""The 1cycle policy: rise from ``1/div_factor`` to the peak, then fall far below the start.

    With :math:`a` = ``anneal`` (cosine or linear interpolation from ``begin``
    to ``end`` as ``pct`` goes 0 -> 1), :math:`N` = ``total_steps``,
    :math:`p = \text{pct\_start} \cdot N - 1` (the peak step, a float) and
    :math:`m = 1 / (\text{div\_factor} \cdot \text{final\_div\_factor})`:

    .. math::
        \text{schedule}(t) =
        \begin{cases}
            a\!\left(1/\text{div\_factor},\; 1,\; t / p\right) & t \le p \\
            a\!\left(1,\; m,\; (t - p) / (N - 1 - p)\right) & p < t < N - 1 \\
            m & t \ge N - 1
        \end{cases}

        a_{\cos}(b, e, x) = e + (b - e)\,\frac{1 + \cos \pi x}{2}, \qquad
        a_{\text{linear}}(b, e, x) = b + (e - b)\, x

    Set the optimizer's ``lr`` to the **peak** (``max_lr`` in PyTorch). This is
    exactly ``OneCycleLR(opt, max_lr=base_lr, total_steps=N, pct_start=...,
    anneal_strategy=..., div_factor=..., final_div_factor=..., three_phase=False,
    cycle_momentum=False)``, including its conventions: ``total_steps`` is the
    number of optimizer steps in the cycle, so the floor ``m`` is reached at the
    **last** step ``N - 1`` (not at step ``N`` as in :func:`cosine_decay`). Past
    it the schedule holds at ``m`` (PyTorch raises after step ``N``). Momentum
    cycling is not part of a learning-rate schedule; leave it off or do it yourself.

    Args:
        total_steps: Number of optimizer steps in the cycle, an integer >= 2.
        pct_start: Fraction of the cycle spent rising, in (0, 1), with
            ``pct_start * total_steps > 1``.
        div_factor: Start at ``1 / div_factor`` of the peak, >= 1.
        final_div_factor: End at ``1 / (div_factor * final_div_factor)`` of the peak, >= 1.
        anneal_strategy: ``"cos"`` or ``"linear"``.

    Returns:
        A picklable schedule ``step -> multiplier``.

    Raises:
        ValueError: for a bad ``total_steps``, ``pct_start`` outside (0, 1) or a
            rising phase shorter than one step, a divisor below 1, or an unknown
            ``anneal_strategy``.

    Example:
        >>> s = one_cycle(total_steps=100, pct_start=0.3)
        >>> round(s(0), 12), s(29), s(99)
        (0.04, 1.0, 4e-06)

    References:
        Smith & Topin, "Super-Convergence: Very Fast Training of Neural Networks
        Using Large Learning Rates", 2019, https://arxiv.org/abs/1708.07120.
    """
    return OneCycle(total_steps, pct_start, div_factor, final_div_factor, anneal_strategy)


DecayShape = Literal["linear", "cosine", "1-sqrt"]


@dataclasses.dataclass(frozen=True)
class WarmupStableDecay:
    """The schedule returned by :func:`warmup_stable_decay` (see there for the math)."""

    warmup_steps: int
    decay_steps: int
    total_steps: int
    floor: float = 0.0
    decay_shape: DecayShape = "1-sqrt"
    start_factor: float | None = None

    def __post_init__(self) -> None:
        warmup_steps = _as_int("warmup_steps", self.warmup_steps, minimum=0)
        decay_steps = _as_int("decay_steps", self.decay_steps, minimum=1)
        total_steps = _as_int("total_steps", self.total_steps, minimum=1)
        if warmup_steps + decay_steps > total_steps:
            raise ValueError(
                f"warmup_steps + decay_steps ({warmup_steps} + {decay_steps}) must fit in "
                f"the run (total_steps={total_steps})"
            )
        if self.decay_shape not in ("linear", "cosine", "1-sqrt"):
            raise ValueError(
                f"decay_shape must be 'linear', 'cosine' or '1-sqrt', got {self.decay_shape!r}"
            )
        object.__setattr__(self, "warmup_steps", warmup_steps)
        object.__setattr__(self, "decay_steps", decay_steps)
        object.__setattr__(self, "total_steps", total_steps)
        object.__setattr__(self, "floor", _as_fraction("floor", self.floor))
        object.__setattr__(
            self, "start_factor", _resolve_start_factor(self.start_factor, warmup_steps)
        )

    @property
    def decay_start(self) -> int:
        """First step of the decay phase: ``total_steps - decay_steps``."""
        return self.total_steps - self.decay_steps

    def __call__(self, step: int) -> float:
        t = _check_step(step)
        if t < self.warmup_steps:
            return _warmup(t, self.warmup_steps, self.start_factor)
        if t < self.decay_start:
            return 1.0  # the stable phase
        progress = (min(t, self.total_steps) - self.decay_start) / self.decay_steps
        if self.decay_shape == "linear":
            shape = 1.0 - progress
        elif self.decay_shape == "cosine":
            shape = _cosine_anneal(progress)
        else:  # "1-sqrt"
            shape = 1.0 - math.sqrt(progress)
        return self.floor + (1.0 - self.floor) * shape


def warmup_stable_decay(
    warmup_steps: int,
    decay_steps: int,
    total_steps: int,
    floor: float = 0.0,
    decay_shape: DecayShape = "1-sqrt",
    start_factor: float | None = None,
) -> WarmupStableDecay:
    r"""Warmup, a long flat stretch at the peak, then a short decay (WSD, "trapezoidal").

    With :math:`W` = ``warmup_steps``, :math:`D` = ``decay_steps``,
    :math:`T` = ``total_steps``, :math:`s` = ``start_factor`` and the decay
    progress :math:`x = (\min(t, T) - (T - D)) / D \in [0, 1]`:

    .. math::
        \text{schedule}(t) =
        \begin{cases}
            s + (1 - s)\, t / W & t < W \\
            1 & W \le t < T - D \\
            \text{floor} + (1 - \text{floor})\, f(x) & t \ge T - D
        \end{cases}

        f_{\text{linear}}(x) = 1 - x, \quad
        f_{\text{cosine}}(x) = \frac{1 + \cos \pi x}{2}, \quad
        f_{\text{1-sqrt}}(x) = 1 - \sqrt{x}

    Step 0 gives ``start_factor``; the peak holds from step ``W`` to ``T - D``
    (inclusive: the decay starts from 1.0 there); the floor is reached exactly at
    step ``T`` and held after. Unlike cosine, the run length does not have to be
    fixed in advance: keep a checkpoint from the stable phase and branch a short
    decay off it whenever you want a finished model. Hägele et al. found the
    ``"1-sqrt"`` cooldown (the default) to beat a linear one. PyTorch has no
    single scheduler for this.

    Args:
        warmup_steps: Length of the warmup, an integer >= 0.
        decay_steps: Length of the decay, an integer >= 1.
        total_steps: Step at which the floor is reached, with
            ``warmup_steps + decay_steps <= total_steps``.
        floor: Final multiplier as a fraction of the peak, in [0, 1].
        decay_shape: ``"linear"``, ``"cosine"`` or ``"1-sqrt"``.
        start_factor: Multiplier at step 0, in [0, 1]; ``None`` for ``1 / (W + 1)``.

    Returns:
        A picklable schedule ``step -> multiplier``.

    Raises:
        ValueError: if a step count is negative or not an integer, warmup and
            decay do not fit in the run, ``floor`` / ``start_factor`` is outside
            [0, 1], or ``decay_shape`` is unknown.

    Example:
        >>> s = warmup_stable_decay(10, 20, 100, decay_shape="linear")
        >>> s(10), s(80), s(90), s(100), s(200)
        (1.0, 1.0, 0.5, 0.0, 0.0)

    References:
        Hu et al., "MiniCPM: Unveiling the Potential of Small Language Models
        with Scalable Training Strategies", 2024, https://arxiv.org/abs/2404.06395
        (the WSD schedule); Hägele et al., "Scaling Laws and Compute-Optimal
        Training Beyond Fixed Training Durations", 2024,
        https://arxiv.org/abs/2405.18392 (cooldown shapes, 1-sqrt).
    """
    return WarmupStableDecay(
        warmup_steps, decay_steps, total_steps, floor, decay_shape, start_factor
    )


# --------------------------------------------------------------------------- helpers


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
