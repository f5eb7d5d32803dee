"""The 1cycle policy: rise from ``1/div_factor`` to the peak, then fall far below the start.

``one_cycle`` follows ``torch.optim.lr_scheduler.OneCycleLR``'s conventions (Smith & Topin).
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from course_lib.schedules._base import _as_float, _as_int, _check_step, _cosine_anneal

__all__ = ["one_cycle", "OneCycle", "AnnealStrategy"]

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
