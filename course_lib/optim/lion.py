"""Lion: the sign of an interpolated momentum, and a single state tensor.

The algorithm is :func:`lion_update_`; :class:`Lion` wraps it in a real ``torch.optim.Optimizer``.
PyTorch has no Lion, so the tests compare it with a plain, out-of-place transcription of the
paper's pseudocode (``tests/test_lion.py``) instead of with ``torch.optim``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch

from course_lib.optim._base import PerTensorOptimizer, check_betas, zeros_like
from course_lib.validation import check_bool, check_real

__all__ = ["Lion", "lion_update_"]


def lion_update_(
    p: torch.Tensor,
    g: torch.Tensor,
    m: torch.Tensor,
    *,
    lr: float,
    beta1: float = 0.9,
    beta2: float = 0.99,
    weight_decay: float = 0.0,
) -> None:
    r"""One Lion step on one tensor, in place: ``p`` and ``m`` change.

    Chen et al. (2023), Algorithm 2:

    .. math::

        c &= \beta_1\, m + (1 - \beta_1)\, g            && \text{interpolate} \\
        p &\leftarrow p - \eta\, \bigl(\operatorname{sign}(c) + \lambda\, p\bigr)
                                                          && \text{sign step, decoupled decay} \\
        m &\leftarrow \beta_2\, m + (1 - \beta_2)\, g    && \text{momentum, updated last}

    Every coordinate moves by exactly :math:`\eta` (plus the decay), whatever the size of its
    gradient: the sign throws the magnitude away, so there is no second moment to keep and the
    only state is ``m``. Two betas because the step uses one interpolation (:math:`\beta_1`) and
    the memory another, slower one (:math:`\beta_2`). :math:`\operatorname{sign}(0) = 0`: a
    coordinate whose ``c`` is exactly zero is only decayed.

    The code applies the decay as ``p *= 1 - lr*wd`` before the sign step, which is the same
    :math:`p - \eta\lambda p - \eta\operatorname{sign}(c)` (the decay reads the old ``p``); like
    AdamW in PyTorch, the decay is multiplied by ``lr``, so a schedule on ``lr`` scales it too.

    Args:
        p: the parameter, updated in place.
        g: its gradient (not modified).
        m: the momentum (state ``"exp_avg"``), updated in place.
        lr: the learning rate :math:`\eta`; it is the exact size of every coordinate's step.
        beta1: :math:`\beta_1`, weight of the momentum in the step's direction.
        beta2: :math:`\beta_2`, decay of the momentum itself.
        weight_decay: :math:`\lambda`, decoupled decay rate (per unit of lr).

    Returns:
        None.

    Example:
        >>> p, g, m = torch.tensor([1.0, 2.0]), torch.tensor([0.5, -1e-6]), torch.zeros(2)
        >>> lion_update_(p, g, m, lr=0.1)
        >>> p  # both coordinates moved by exactly lr, however small the gradient
        tensor([0.9000, 2.1000])

    References:
        X. Chen, C. Liang, D. Huang, E. Real, K. Wang, Y. Liu, H. Pham, X. Dong, T. Luong,
        C.-J. Hsieh, Y. Lu, Q. V. Le, "Symbolic Discovery of Optimization Algorithms",
        NeurIPS 2023, https://arxiv.org/abs/2302.06675.
    """
    c = m.lerp(g, 1 - beta1)                                # c = b1*m + (1-b1)*g
    if weight_decay != 0:
        p.mul_(1 - lr * weight_decay)                       # p = p - lr*wd*p
    p.add_(c.sign_(), alpha=-lr)                            # p = p - lr*sign(c)
    m.lerp_(g, 1 - beta2)                                   # m = b2*m + (1-b2)*g


class Lion(PerTensorOptimizer):
    r"""Lion (EvoLved Sign Momentum): a sign step on an interpolated momentum.

    Each step applies :func:`lion_update_` to every parameter that has a gradient:

    .. math::

        c = \beta_1 m + (1-\beta_1)\, g, \quad
        p \leftarrow p - \eta\,(\operatorname{sign}(c) + \lambda p), \quad
        m \leftarrow \beta_2 m + (1-\beta_2)\, g

    State per parameter: ``exp_avg`` only (``m``), half of Adam's. No step counter: there is
    no bias correction to need one. Defaults are the paper's (``lr=1e-4``,
    ``betas=(0.9, 0.99)``, ``weight_decay=0.0``). Because every step has size :math:`\eta` in
    every coordinate, its updates are larger than Adam's at the same ``lr``: the authors suggest
    an ``lr`` 3-10x smaller than AdamW's and a ``weight_decay`` 3-10x larger, so that the product
    ``lr * weight_decay`` (the decay per step) stays about the same.

    ``betas`` is in the defaults, so ``OneCycleLR(cycle_momentum=True)`` cycles :math:`\beta_1`,
    as it does for Adam.

    Args:
        params: the tensors to optimize, or a list of param-group dicts.
        lr: learning rate :math:`\eta` (>= 0). Default 1e-4.
        betas: :math:`(\beta_1, \beta_2)`, each in [0, 1). Default (0.9, 0.99).
        weight_decay: decoupled decay :math:`\lambda` (>= 0), multiplied by ``lr``. Default 0.
        maximize: ascend the objective instead of descending it.

    Raises:
        ValueError: for an invalid setting, here or in a param group.

    Example:
        >>> model = torch.nn.Linear(3, 1)
        >>> opt = Lion(model.parameters(), lr=1e-4, weight_decay=1.0)
        >>> model(torch.ones(2, 3)).pow(2).mean().backward()
        >>> opt.step()
        >>> sorted(opt.state[model.weight])
        ['exp_avg']

    References:
        Chen et al., "Symbolic Discovery of Optimization Algorithms", NeurIPS 2023
        (see :func:`lion_update_`).
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-4,
        betas: tuple[float, float] = (0.9, 0.99),
        weight_decay: float = 0.0,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = {"lr": lr, "betas": betas, "weight_decay": weight_decay, "maximize": maximize}
        super().__init__(params, defaults)

    @staticmethod
    def check_settings(owner: str, settings: Mapping[str, Any]) -> None:
        """Raise ``ValueError`` for a bad setting (see the class docstring for the rules)."""
        s = settings
        check_real(s["lr"], "lr", low=0, owner=owner)
        check_betas(owner, s["betas"])
        check_real(s["weight_decay"], "weight_decay", low=0, owner=owner)
        check_bool(s["maximize"], "maximize", owner=owner)

    def update_parameter(self, p: torch.Tensor, g: torch.Tensor, group: dict[str, Any]) -> None:
        """:func:`lion_update_` on ``p``; its only state is ``exp_avg``."""
        state = self.state[p]
        if not state:
            state["exp_avg"] = zeros_like(p)
        beta1, beta2 = group["betas"]
        lion_update_(
            p,
            g,
            state["exp_avg"],
            lr=group["lr"],
            beta1=beta1,
            beta2=beta2,
            weight_decay=group["weight_decay"],
        )
