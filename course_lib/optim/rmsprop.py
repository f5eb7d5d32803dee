"""RMSprop: divide the step by a running root-mean-square of recent gradients.

The algorithm is :func:`rmsprop_update_`; :class:`RMSprop` wraps it in a real
``torch.optim.Optimizer`` that gives the same numbers as ``torch.optim.RMSprop``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch

from course_lib.optim._base import PerTensorOptimizer, new_step, next_step, zeros_like
from course_lib.validation import check_bool, check_real

__all__ = ["RMSprop", "rmsprop_update_"]


def rmsprop_update_(
    p: torch.Tensor,
    g: torch.Tensor,
    v: torch.Tensor,
    *,
    lr: float,
    alpha: float = 0.99,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    momentum: float = 0.0,
    b: torch.Tensor | None = None,
    g_avg: torch.Tensor | None = None,
) -> None:
    r"""One RMSprop step on one tensor, in place: ``p`` and the state tensors change.

    .. math::

        g &\leftarrow g + \lambda\, p                               && \text{weight decay (L2), if } \lambda > 0 \\
        v &\leftarrow \alpha\, v + (1 - \alpha)\, g^2                 && \text{running mean of } g^2 \\
        \bar g &\leftarrow \alpha\, \bar g + (1 - \alpha)\, g         && \text{centered only} \\
        d &= \sqrt{v} + \epsilon \quad\text{or, centered,}\quad d = \sqrt{v - \bar g^2} + \epsilon \\
        b &\leftarrow \mu\, b + g / d, \quad p \leftarrow p - \eta\, b  && \text{with momentum } \mu > 0 \\
        p &\leftarrow p - \eta\, g / d                               && \text{without momentum}

    with :math:`\eta` = ``lr``, :math:`\alpha` = ``alpha``, :math:`\epsilon` = ``eps``,
    :math:`\lambda` = ``weight_decay``, :math:`\mu` = ``momentum``. The centered variant divides
    by an estimate of the gradient's standard deviation instead of its root mean square.
    Here the momentum buffer starts at zero (PyTorch's convention for RMSprop, unlike SGD's).

    Args:
        p: the parameter, updated in place.
        g: its gradient (not modified).
        v: running mean of squared gradients (state ``"square_avg"``), updated in place.
        lr: the learning rate :math:`\eta`.
        alpha: :math:`\alpha`, how much of the old mean is kept per step.
        eps: :math:`\epsilon`, added to the root so the division is safe.
        weight_decay: :math:`\lambda`, L2 penalty added to the gradient.
        momentum: :math:`\mu`; 0 turns momentum off.
        b: momentum buffer (state ``"momentum_buffer"``), needed when ``momentum > 0``.
        g_avg: running mean of gradients :math:`\bar g` (state ``"grad_avg"``); pass it to get
            the centered variant, ``None`` for the plain one.

    Returns:
        None.

    Example:
        >>> p, g, v = torch.tensor([1.0, 2.0]), torch.tensor([0.5, -1.0]), torch.zeros(2)
        >>> rmsprop_update_(p, g, v, lr=0.01, alpha=0.75)
        >>> p
        tensor([0.9800, 2.0200])

    References:
        G. Hinton, N. Srivastava, K. Swersky, "Neural Networks for Machine Learning",
        Coursera, lecture 6e, 2012. A. Graves, "Generating sequences with recurrent neural
        networks", arXiv:1308.0850, 2013 (the centered variant).
    """
    if weight_decay != 0:
        g = g.add(p, alpha=weight_decay)                         # g = g + wd*p
    v.mul_(alpha).addcmul_(g, g, value=1 - alpha)                # v = a*v + (1-a)*g^2
    if g_avg is not None:
        g_avg.lerp_(g, 1 - alpha)                                # g_avg = a*g_avg + (1-a)*g
        d = v.addcmul(g_avg, g_avg, value=-1).sqrt_().add_(eps)  # d = sqrt(v - g_avg^2) + eps
    else:
        d = v.sqrt().add_(eps)                                   # d = sqrt(v) + eps
    if momentum > 0:
        b.mul_(momentum).addcdiv_(g, d)                          # b = mu*b + g/d
        p.add_(b, alpha=-lr)                                     # p = p - lr*b
    else:
        p.addcdiv_(g, d, value=-lr)                              # p = p - lr*g/d


class RMSprop(PerTensorOptimizer):
    r"""RMSprop, optionally centered and with momentum.

    Same arguments, defaults, state (``step``, ``square_avg``, ``momentum_buffer``,
    ``grad_avg``) and numbers as ``torch.optim.RMSprop``; each step applies
    :func:`rmsprop_update_` to every parameter that has a gradient.

    .. math::

        v \leftarrow \alpha\, v + (1 - \alpha)\, g^2, \qquad
        p \leftarrow p - \eta\, \frac{g}{\sqrt{v} + \epsilon}

    ``momentum`` is in the defaults, so ``OneCycleLR(cycle_momentum=True)`` cycles it; the
    momentum buffer is created when momentum first becomes positive.

    Args:
        params: the tensors to optimize, or a list of param-group dicts.
        lr: learning rate :math:`\eta` (>= 0). Default 1e-2.
        alpha: smoothing constant :math:`\alpha` in [0, 1) (torch allows any alpha >= 0).
            Default 0.99.
        eps: :math:`\epsilon` (> 0; torch also allows 0). Default 1e-8.
        weight_decay: L2 penalty :math:`\lambda` (>= 0). Default 0.
        momentum: :math:`\mu` (>= 0). Default 0.
        centered: divide by the gradient's estimated standard deviation. Default False.
        maximize: ascend the objective instead of descending it.

    Raises:
        ValueError: for an invalid setting, here or in a param group.

    Example:
        >>> model = torch.nn.Linear(3, 1)
        >>> opt = RMSprop(model.parameters(), lr=0.01, momentum=0.9, centered=True)
        >>> model(torch.ones(2, 3)).pow(2).mean().backward()
        >>> opt.step()

    References:
        Hinton, Coursera lecture 6e, 2012; Graves 2013 (see :func:`rmsprop_update_`).
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "alpha": alpha,
            "eps": eps,
            "centered": centered,
            "weight_decay": weight_decay,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    @staticmethod
    def check_settings(owner: str, settings: Mapping[str, Any]) -> None:
        """Raise ``ValueError`` for a bad setting (see the class docstring for the rules)."""
        s = settings
        check_real(s["lr"], "lr", low=0, owner=owner)
        check_real(s["alpha"], "alpha", low=0, high=1, high_open=True, owner=owner)
        check_real(s["eps"], "eps", low=0, low_open=True, owner=owner)
        check_real(s["weight_decay"], "weight_decay", low=0, owner=owner)
        check_real(s["momentum"], "momentum", low=0, owner=owner)
        check_bool(s["centered"], "centered", owner=owner)
        check_bool(s["maximize"], "maximize", owner=owner)

    def update_parameter(self, p: torch.Tensor, g: torch.Tensor, group: dict[str, Any]) -> None:
        """:func:`rmsprop_update_` on ``p``, with its state.

        The state is ``step``, ``square_avg`` and, when switched on, ``momentum_buffer`` and
        ``grad_avg`` (each created when first needed).
        """
        momentum, centered = group["momentum"], group["centered"]
        state = self.state[p]
        if not state:
            state["step"] = new_step()
            state["square_avg"] = zeros_like(p)
        if momentum > 0 and "momentum_buffer" not in state:
            state["momentum_buffer"] = zeros_like(p)
        if centered and "grad_avg" not in state:
            state["grad_avg"] = zeros_like(p)
        next_step(state)
        rmsprop_update_(
            p,
            g,
            state["square_avg"],
            lr=group["lr"],
            alpha=group["alpha"],
            eps=group["eps"],
            weight_decay=group["weight_decay"],
            momentum=momentum,
            b=state.get("momentum_buffer"),
            g_avg=state["grad_avg"] if centered else None,
        )
