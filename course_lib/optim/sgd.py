"""Stochastic gradient descent with momentum, written from scratch.

The whole algorithm is :func:`sgd_update_`, a few lines that match the lesson's equations one
to one. :class:`SGD` wraps it in a real ``torch.optim.Optimizer`` (param groups, ``state_dict``,
learning-rate schedulers) that gives the same numbers as ``torch.optim.SGD``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch

from course_lib.optim._base import PerTensorOptimizer
from course_lib.validation import check_bool, check_real

__all__ = ["SGD", "sgd_update_"]


def sgd_update_(
    p: torch.Tensor,
    g: torch.Tensor,
    b: torch.Tensor | None,
    *,
    lr: float,
    momentum: float = 0.0,
    dampening: float = 0.0,
    nesterov: bool = False,
    weight_decay: float = 0.0,
) -> torch.Tensor | None:
    r"""One SGD step on one tensor, in place: ``p`` (and the momentum buffer ``b``) change.

    .. math::

        g &\leftarrow g + \lambda\, p                          && \text{weight decay (L2), if } \lambda > 0 \\
        b_1 &= g_1, \qquad b_t = \mu\, b_{t-1} + (1 - \tau)\, g_t  && \text{momentum buffer, if } \mu > 0 \\
        d &= g + \mu\, b \;\text{(Nesterov)} \quad\text{or}\quad d = b  && \\
        p &\leftarrow p - \eta\, d

    with :math:`\eta` = ``lr``, :math:`\mu` = ``momentum``, :math:`\tau` = ``dampening``,
    :math:`\lambda` = ``weight_decay``. Without momentum, :math:`d = g` (plain gradient descent).

    The buffer starts at the first gradient, :math:`b_1 = g_1` (PyTorch's convention), not at
    zero followed by :math:`b_1 = (1-\tau)\,g_1` as some texts write it; so dampening only acts
    from the second step on. Nesterov's look-ahead is written, as in PyTorch and Sutskever et
    al., as a step along :math:`g + \mu b` evaluated at the current point.

    Args:
        p: the parameter, updated in place.
        g: its gradient (not modified).
        b: the momentum buffer (updated in place), or ``None`` on the first step, when the
            function creates it. Ignored when ``momentum == 0``.
        lr: the learning rate :math:`\eta`.
        momentum: :math:`\mu`; 0 turns momentum off.
        dampening: :math:`\tau`, the share of the new gradient that is *not* added.
        nesterov: use Nesterov momentum (needs ``momentum > 0`` and ``dampening == 0``).
        weight_decay: :math:`\lambda`, L2 penalty added to the gradient.

    Returns:
        The momentum buffer to keep for the next step (``b``, or the new one), or ``None``
        when ``momentum == 0``.

    Example:
        >>> p, g = torch.tensor([1.0, 2.0]), torch.tensor([0.5, -1.0])
        >>> b = sgd_update_(p, g, None, lr=0.1, momentum=0.9)
        >>> p, b
        (tensor([0.9500, 2.1000]), tensor([ 0.5000, -1.0000]))

    References:
        B. T. Polyak, "Some methods of speeding up the convergence of iteration methods",
        USSR Computational Mathematics and Mathematical Physics, 1964.
        Y. Nesterov, "A method for solving the convex programming problem with convergence
        rate O(1/k^2)", Soviet Mathematics Doklady, 1983.
        I. Sutskever, J. Martens, G. Dahl, G. Hinton, "On the importance of initialization
        and momentum in deep learning", ICML 2013.
    """
    if weight_decay != 0:
        g = g.add(p, alpha=weight_decay)                   # g = g + wd*p
    if momentum != 0:
        if b is None:
            b = g.clone()                                  # b_1 = g_1
        else:
            b.mul_(momentum).add_(g, alpha=1 - dampening)  # b = mu*b + (1-tau)*g
        if nesterov:
            g = g.add(b, alpha=momentum)                   # d = g + mu*b
        else:
            g = b                                          # d = b
    p.add_(g, alpha=-lr)                                   # p = p - lr*d
    return b


class SGD(PerTensorOptimizer):
    r"""Stochastic gradient descent with optional (Nesterov) momentum and weight decay.

    Same arguments, defaults, state (``momentum_buffer``) and numbers as ``torch.optim.SGD``;
    each step applies :func:`sgd_update_` to every parameter that has a gradient.

    .. math::

        b_1 = g_1, \quad b_t = \mu\, b_{t-1} + (1 - \tau)\, g_t, \qquad
        p \leftarrow p - \eta\, b_t \quad (\text{Nesterov: } p \leftarrow p - \eta\,(g_t + \mu\, b_t))

    Settings are read from ``group[...]`` at every step, so ``torch.optim.lr_scheduler``
    (including ``OneCycleLR`` with ``cycle_momentum``) drives them.

    Args:
        params: the tensors to optimize, or a list of param-group dicts.
        lr: learning rate :math:`\eta` (>= 0). Default 1e-3, as in torch 2.13.
        momentum: momentum factor :math:`\mu` (>= 0). Default 0.
        dampening: :math:`\tau` in [0, 1]. Default 0.
        weight_decay: L2 penalty :math:`\lambda` (>= 0). Default 0.
        nesterov: Nesterov momentum; requires ``momentum > 0`` and ``dampening == 0``.
        maximize: ascend the objective instead of descending it.

    Raises:
        ValueError: for an invalid setting (negative or non-finite lr, momentum or
            weight_decay; dampening outside [0, 1]; nesterov without momentum or with
            dampening; a non-number or non-bool where one belongs), here or in a param group.

    Example:
        >>> model = torch.nn.Linear(3, 1)
        >>> opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
        >>> loss = model(torch.ones(2, 3)).pow(2).mean()
        >>> loss.backward()
        >>> opt.step()
        >>> opt.zero_grad()

    References:
        Polyak 1964; Nesterov 1983; Sutskever et al. 2013 (see :func:`sgd_update_`).
    """

    supports_complex = True  # the update never squares g, so complex parameters work as in torch

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    @staticmethod
    def check_settings(owner: str, settings: Mapping[str, Any]) -> None:
        """Raise ``ValueError`` for a bad setting (see the class docstring for the rules)."""
        s = settings
        check_real(s["lr"], "lr", low=0, owner=owner)
        check_real(s["momentum"], "momentum", low=0, owner=owner)
        check_real(s["dampening"], "dampening", low=0, high=1, owner=owner)
        check_real(s["weight_decay"], "weight_decay", low=0, owner=owner)
        check_bool(s["nesterov"], "nesterov", owner=owner)
        check_bool(s["maximize"], "maximize", owner=owner)
        if s["nesterov"] and (s["momentum"] <= 0 or s["dampening"] != 0):
            raise ValueError(
                f"{owner}: nesterov=True requires momentum > 0 and dampening == 0, "
                f"got momentum={s['momentum']!r}, dampening={s['dampening']!r}"
            )

    def update_parameter(self, p: torch.Tensor, g: torch.Tensor, group: dict[str, Any]) -> None:
        """:func:`sgd_update_` on ``p``, keeping its momentum buffer in ``self.state[p]``."""
        momentum = group["momentum"]
        # like torch.optim.SGD, keep state for p only when there is a buffer to keep
        b = self.state[p].get("momentum_buffer") if momentum != 0 else None
        b = sgd_update_(
            p,
            g,
            b,
            lr=group["lr"],
            momentum=momentum,
            dampening=group["dampening"],
            nesterov=group["nesterov"],
            weight_decay=group["weight_decay"],
        )
        if b is not None:
            self.state[p]["momentum_buffer"] = b
