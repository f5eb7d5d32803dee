"""Schedules that start at the peak and only go down.

``constant``, ``step_decay``, ``multistep_decay``, ``exponential_decay`` and ``cosine_decay``,
each a factory plus the frozen dataclass it returns.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

from course_lib.schedules._base import (
    _as_fraction,
    _as_int,
    _as_positive,
    _check_step,
    _cosine_anneal,
)

__all__ = [
    "constant",
    "step_decay",
    "multistep_decay",
    "exponential_decay",
    "cosine_decay",
    "Constant",
    "StepDecay",
    "MultiStepDecay",
    "ExponentialDecay",
    "CosineDecay",
]


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
