"""Adam (and AMSGrad): momentum on the gradient, RMSprop's scaling, and bias correction.

The algorithm is :func:`adam_update_`; :class:`Adam` wraps it in a real ``torch.optim.Optimizer``
that gives the same numbers as ``torch.optim.Adam``. Its weight decay is the L2 kind, added to the
gradient; for the decoupled kind see :mod:`course_lib.optim.adamw`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch

from course_lib.optim._base import PerTensorOptimizer, check_betas, new_step, next_step, zeros_like
from course_lib.validation import check_bool, check_real

__all__ = ["Adam", "adam_update_"]


def adam_update_(
    p: torch.Tensor,
    g: torch.Tensor,
    m: torch.Tensor,
    v: torch.Tensor,
    *,
    t: float,
    lr: float,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    v_max: torch.Tensor | None = None,
) -> None:
    r"""One Adam step on one tensor, in place: ``p``, ``m``, ``v`` (and ``v_max``) change.

    The textbook form (Kingma & Ba, Algorithm 1):

    .. math::

        g &\leftarrow g + \lambda\, p                          && \text{L2 weight decay, if } \lambda > 0 \\
        m &\leftarrow \beta_1\, m + (1 - \beta_1)\, g            && \text{first moment (momentum)} \\
        v &\leftarrow \beta_2\, v + (1 - \beta_2)\, g^2          && \text{second moment} \\
        \hat m &= m / (1 - \beta_1^t), \quad \hat v = v / (1 - \beta_2^t)  && \text{bias correction} \\
        p &\leftarrow p - \eta\, \hat m \,/\, (\sqrt{\hat v} + \epsilon)

    The code computes the last two lines as PyTorch does, so the numbers match it exactly:

    .. math::

        p \leftarrow p - \frac{\eta}{1 - \beta_1^t}\;
            \frac{m}{\sqrt{v} / \sqrt{1 - \beta_2^t} + \epsilon}

    which is algebraically equal (:math:`\sqrt{\hat v} = \sqrt{v}/\sqrt{1-\beta_2^t}`): the
    corrections are two numbers, so no tensor :math:`\hat m` or :math:`\hat v` is ever built.
    The one temporary, ``denom``, is made by ``sqrt`` and finished in place (``div_``, ``add_``);
    a fresh tensor per operation costs time on large tensors.

    With AMSGrad, :math:`v_{max} \leftarrow \max(v_{max}, v)` and :math:`v_{max}` takes the place
    of :math:`v` in the denominator, so no coordinate's step size can grow because its gradient
    got smaller.

    ``m.lerp_(g, 1 - beta1)`` is one fused op for ``m = beta1*m + (1-beta1)*g``:
    ``lerp(m, g, w) = m + w*(g - m)``. It is what PyTorch uses, so the last bits match too
    (``m.mul_(beta1).add_(g, alpha=1 - beta1)`` gives the same values up to rounding).

    Args:
        p: the parameter, updated in place.
        g: its gradient (not modified).
        m: first moment, the running mean of gradients (state ``"exp_avg"``), in place.
        v: second moment, the running mean of squared gradients (state ``"exp_avg_sq"``).
        t: the step number, 1 on the first step (bias correction needs it).
        lr: the learning rate :math:`\eta`.
        beta1: :math:`\beta_1`, decay of the first moment.
        beta2: :math:`\beta_2`, decay of the second moment.
        eps: :math:`\epsilon`, added to the root so the division is safe.
        weight_decay: :math:`\lambda`, L2 penalty added to the gradient. (It is then divided
            by :math:`\sqrt{\hat v}` like the rest of the gradient: that is the flaw AdamW fixes.)
        v_max: running maximum of ``v`` (state ``"max_exp_avg_sq"``) for AMSGrad, or ``None``
            for plain Adam.

    Returns:
        None.

    Example:
        >>> p, g = torch.tensor([1.0, 2.0]), torch.tensor([0.5, -1.0])
        >>> m, v = torch.zeros(2), torch.zeros(2)
        >>> adam_update_(p, g, m, v, t=1, lr=0.1)
        >>> p  # the first step moves every coordinate by about lr
        tensor([0.9000, 2.1000])

    References:
        D. P. Kingma, J. Ba, "Adam: A method for stochastic optimization", ICLR 2015.
        S. J. Reddi, S. Kale, S. Kumar, "On the convergence of Adam and beyond", ICLR 2018
        (AMSGrad).
    """
    if weight_decay != 0:
        g = g.add(p, alpha=weight_decay)                    # g = g + wd*p
    m.lerp_(g, 1 - beta1)                                   # m = b1*m + (1-b1)*g
    v.mul_(beta2).addcmul_(g, g, value=1 - beta2)           # v = b2*v + (1-b2)*g^2
    if v_max is not None:
        torch.maximum(v_max, v, out=v_max)                  # v_max = max(v_max, v)
        v = v_max                                           # AMSGrad: use v_max below
    step_size = lr / (1 - beta1**t)                         # lr / (1 - b1^t)
    denom = v.sqrt().div_((1 - beta2**t) ** 0.5).add_(eps)  # sqrt(v_hat) + eps
    p.addcdiv_(m, denom, value=-step_size)                  # p = p - lr*m_hat / (sqrt(v_hat) + eps)


class Adam(PerTensorOptimizer):
    r"""Adam, with L2 weight decay added to the gradient, and optional AMSGrad.

    Same arguments, defaults, state (``step``, ``exp_avg``, ``exp_avg_sq``,
    ``max_exp_avg_sq``) and numbers as ``torch.optim.Adam``; each step applies
    :func:`adam_update_` to every parameter that has a gradient.

    .. math::

        m \leftarrow \beta_1 m + (1-\beta_1)\, g, \quad
        v \leftarrow \beta_2 v + (1-\beta_2)\, g^2, \quad
        p \leftarrow p - \eta\, \frac{m / (1-\beta_1^t)}{\sqrt{v / (1-\beta_2^t)} + \epsilon}

    ``betas`` is in the defaults, so ``OneCycleLR(cycle_momentum=True)`` cycles
    :math:`\beta_1`. The state dict has torch's layout: one saved from ``torch.optim.Adam``
    loads here and the other way round.

    Args:
        params: the tensors to optimize, or a list of param-group dicts.
        lr: learning rate :math:`\eta` (>= 0). Default 1e-3.
        betas: :math:`(\beta_1, \beta_2)`, each in [0, 1). Default (0.9, 0.999).
        eps: :math:`\epsilon` (> 0; torch also allows 0, which can divide 0 by 0). Default 1e-8.
        weight_decay: L2 penalty :math:`\lambda` (>= 0), added to the gradient. Default 0.
        amsgrad: use AMSGrad's running maximum of :math:`v`. Default False.
        maximize: ascend the objective instead of descending it.

    Raises:
        ValueError: for an invalid setting, here or in a param group.

    Example:
        >>> model = torch.nn.Linear(3, 1)
        >>> opt = Adam(model.parameters(), lr=1e-3)
        >>> model(torch.ones(2, 3)).pow(2).mean().backward()
        >>> opt.step()
        >>> sorted(opt.state[model.weight])
        ['exp_avg', 'exp_avg_sq', 'step']

    References:
        Kingma & Ba 2015; Reddi et al. 2018 (see :func:`adam_update_`).
    """

    _update = staticmethod(adam_update_)  # AdamW swaps in adamw_update_

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    @staticmethod
    def check_settings(owner: str, settings: Mapping[str, Any]) -> None:
        """Raise ``ValueError`` for a bad setting (see the class docstring for the rules)."""
        s = settings
        check_real(s["lr"], "lr", low=0, owner=owner)
        check_betas(owner, s["betas"])
        check_real(s["eps"], "eps", low=0, low_open=True, owner=owner)
        check_real(s["weight_decay"], "weight_decay", low=0, owner=owner)
        check_bool(s["amsgrad"], "amsgrad", owner=owner)
        check_bool(s["maximize"], "maximize", owner=owner)

    def update_parameter(self, p: torch.Tensor, g: torch.Tensor, group: dict[str, Any]) -> None:
        """``self._update`` (:func:`adam_update_`, or AdamW's) on ``p``, with its state.

        The state is ``step``, ``exp_avg``, ``exp_avg_sq`` and, with AMSGrad, ``max_exp_avg_sq``
        (created when AMSGrad is first switched on).
        """
        amsgrad = group["amsgrad"]
        state = self.state[p]
        if not state:
            state["step"] = new_step()
            state["exp_avg"] = zeros_like(p)
            state["exp_avg_sq"] = zeros_like(p)
        if amsgrad and "max_exp_avg_sq" not in state:
            state["max_exp_avg_sq"] = zeros_like(p)
        beta1, beta2 = group["betas"]
        self._update(
            p,
            g,
            state["exp_avg"],
            state["exp_avg_sq"],
            t=next_step(state),
            lr=group["lr"],
            beta1=beta1,
            beta2=beta2,
            eps=group["eps"],
            weight_decay=group["weight_decay"],
            v_max=state["max_exp_avg_sq"] if amsgrad else None,
        )
