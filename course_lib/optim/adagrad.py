"""Adagrad: a per-coordinate learning rate from the sum of all squared gradients so far.

The algorithm is :func:`adagrad_update_`; :class:`Adagrad` wraps it in a real
``torch.optim.Optimizer`` that gives the same numbers as ``torch.optim.Adagrad``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch

from course_lib.optim._base import PerTensorOptimizer, new_step, next_step
from course_lib.validation import check_bool, check_real

__all__ = ["Adagrad", "adagrad_update_"]


def adagrad_update_(
    p: torch.Tensor,
    g: torch.Tensor,
    s: torch.Tensor,
    *,
    t: float,
    lr: float,
    lr_decay: float = 0.0,
    weight_decay: float = 0.0,
    eps: float = 1e-10,
) -> None:
    r"""One Adagrad step on one tensor, in place: ``p`` and ``s`` change.

    .. math::

        g &\leftarrow g + \lambda\, p                    && \text{weight decay (L2), if } \lambda > 0 \\
        \eta_t &= \eta \,/\, (1 + (t - 1)\,\delta)         && \text{learning-rate decay} \\
        s &\leftarrow s + g^2                             && \text{sum of squared gradients} \\
        p &\leftarrow p - \eta_t\, g \,/\, (\sqrt{s} + \epsilon)

    with :math:`\eta` = ``lr``, :math:`\delta` = ``lr_decay``, :math:`\lambda` = ``weight_decay``,
    :math:`\epsilon` = ``eps``; squares, roots and divisions are per coordinate. Because
    :math:`s` only grows, every coordinate's step only shrinks: good for sparse features,
    too eager to stop on long non-convex runs (RMSprop's fix: forget old squares).

    Args:
        p: the parameter, updated in place.
        g: its gradient (not modified).
        s: the running sum of squared gradients (state ``"sum"``), updated in place; starts
            at ``initial_accumulator_value``.
        t: the step number, 1 on the first step.
        lr: the learning rate :math:`\eta`.
        lr_decay: :math:`\delta`.
        weight_decay: :math:`\lambda`, L2 penalty added to the gradient.
        eps: :math:`\epsilon`, added to :math:`\sqrt{s}` so the division is safe.

    Returns:
        None.

    Example:
        >>> p, g, s = torch.tensor([1.0, 2.0]), torch.tensor([0.5, -1.0]), torch.zeros(2)
        >>> adagrad_update_(p, g, s, t=1, lr=0.1)
        >>> p
        tensor([0.9000, 2.1000])

    References:
        J. Duchi, E. Hazan, Y. Singer, "Adaptive subgradient methods for online learning and
        stochastic optimization", JMLR 12, 2011.
    """
    if weight_decay != 0:
        g = g.add(p, alpha=weight_decay)  # g = g + wd*p
    lr_t = lr / (1 + (t - 1) * lr_decay)  # lr_t = lr / (1 + (t-1)*lr_decay)
    s.addcmul_(g, g, value=1)             # s = s + g^2
    denom = s.sqrt().add_(eps)            # sqrt(s) + eps
    p.addcdiv_(g, denom, value=-lr_t)     # p = p - lr_t * g / (sqrt(s) + eps)


class Adagrad(PerTensorOptimizer):
    r"""Adagrad: divide each coordinate's step by the root of its summed squared gradients.

    Same arguments, defaults, state (``step``, ``sum``) and numbers as ``torch.optim.Adagrad``;
    each step applies :func:`adagrad_update_` to every parameter that has a gradient.

    .. math::

        s \leftarrow s + g^2, \qquad
        p \leftarrow p - \frac{\eta}{1 + (t-1)\,\delta}\; \frac{g}{\sqrt{s} + \epsilon}

    Two differences from ``torch.optim.Adagrad``, neither of which changes a number:
    state is created at a parameter's first step (torch creates it in the constructor), and
    a param group's own ``initial_accumulator_value`` is honoured (torch uses the
    constructor's value for every group).

    Args:
        params: the tensors to optimize, or a list of param-group dicts.
        lr: learning rate :math:`\eta` (>= 0). Default 1e-2.
        lr_decay: :math:`\delta` (>= 0). Default 0.
        weight_decay: L2 penalty :math:`\lambda` (>= 0). Default 0.
        initial_accumulator_value: the starting value of ``s`` (>= 0). Default 0.
        eps: :math:`\epsilon` (> 0; torch also allows 0). Default 1e-10.
        maximize: ascend the objective instead of descending it.

    Raises:
        ValueError: for an invalid setting, here or in a param group.

    Example:
        >>> model = torch.nn.Linear(3, 1)
        >>> opt = Adagrad(model.parameters(), lr=0.1)
        >>> model(torch.ones(2, 3)).pow(2).mean().backward()
        >>> opt.step()

    References:
        Duchi, Hazan & Singer 2011 (see :func:`adagrad_update_`).
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "lr_decay": lr_decay,
            "eps": eps,
            "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    @staticmethod
    def check_settings(owner: str, settings: Mapping[str, Any]) -> None:
        """Raise ``ValueError`` for a bad setting (see the class docstring for the rules)."""
        s = settings
        check_real(s["lr"], "lr", low=0, owner=owner)
        check_real(s["lr_decay"], "lr_decay", low=0, owner=owner)
        check_real(s["weight_decay"], "weight_decay", low=0, owner=owner)
        check_real(
            s["initial_accumulator_value"], "initial_accumulator_value", low=0, owner=owner
        )
        check_real(s["eps"], "eps", low=0, low_open=True, owner=owner)
        check_bool(s["maximize"], "maximize", owner=owner)

    def update_parameter(self, p: torch.Tensor, g: torch.Tensor, group: dict[str, Any]) -> None:
        """:func:`adagrad_update_` on ``p``; its state is ``step`` and ``sum``."""
        state = self.state[p]
        if not state:
            state["step"] = new_step()
            state["sum"] = torch.full_like(
                p, group["initial_accumulator_value"], memory_format=torch.preserve_format
            )
        adagrad_update_(
            p,
            g,
            state["sum"],
            t=next_step(state),
            lr=group["lr"],
            lr_decay=group["lr_decay"],
            weight_decay=group["weight_decay"],
            eps=group["eps"],
        )
