"""Schedules that first ramp up linearly from ``start_factor`` to the peak.

``linear_warmup`` (then flat), ``warmup_cosine`` (the GPT recipe) and ``warmup_stable_decay``
(WSD), each a factory plus the frozen dataclass it returns.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Literal

from course_lib.schedules._base import (
    _as_fraction,
    _as_int,
    _check_step,
    _cosine_anneal,
    _resolve_start_factor,
    _warmup,
)

__all__ = [
    "linear_warmup",
    "warmup_cosine",
    "warmup_stable_decay",
    "LinearWarmup",
    "WarmupCosine",
    "WarmupStableDecay",
    "DecayShape",
]


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
