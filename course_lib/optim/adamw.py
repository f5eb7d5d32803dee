"""AdamW: Adam with decoupled weight decay (shrink the weights, don't touch the gradient).

The algorithm is :func:`adamw_update_`: decay the weights, then take Adam's step
(:func:`~course_lib.optim.adam.adam_update_`, without its L2 term), the way optax composes
``add_decayed_weights`` with ``scale_by_adam`` and the way ``torch.optim.AdamW`` computes it.
:class:`AdamW` wraps it in a real ``torch.optim.Optimizer`` that gives the same numbers as
``torch.optim.AdamW``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from course_lib.optim.adam import Adam, adam_update_

__all__ = ["AdamW", "adamw_update_"]


def adamw_update_(
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
    weight_decay: float = 1e-2,
    v_max: torch.Tensor | None = None,
) -> None:
    r"""One AdamW step on one tensor, in place: ``p``, ``m``, ``v`` (and ``v_max``) change.

    Two steps: shrink the weights, then Adam's step on the unchanged gradient.

    .. math::

        p &\leftarrow p - \eta\, \lambda\, p                   && \text{decoupled weight decay} \\
        p &\leftarrow \operatorname{adam}(p, g, m, v, t)       && \text{Adam's step, no L2 term}

    where the second line is :func:`~course_lib.optim.adam.adam_update_` with
    ``weight_decay=0``:

    .. math::

        m &\leftarrow \beta_1\, m + (1 - \beta_1)\, g            && \text{first moment} \\
        v &\leftarrow \beta_2\, v + (1 - \beta_2)\, g^2          && \text{second moment} \\
        \hat m &= m / (1 - \beta_1^t), \quad \hat v = v / (1 - \beta_2^t)  && \text{bias correction} \\
        p &\leftarrow p - \eta\, \hat m \,/\, (\sqrt{\hat v} + \epsilon)

    The decay uses the gradient not at all: every weight shrinks by the same factor
    :math:`1 - \eta\lambda`, however large or small its :math:`\hat v`. In Adam's L2 form the decay
    term is added to :math:`g` and then divided by :math:`\sqrt{\hat v}`, so weights with large
    gradients are barely decayed (Loshchilov & Hutter's point).

    Conventions (PyTorch's, followed so the numbers match ``torch.optim.AdamW``): the decay is
    multiplied by the learning rate, :math:`p \leftarrow p\,(1 - \eta\lambda)`, so a schedule on
    ``lr`` scales it too (the paper writes a separate schedule multiplier instead), and it is
    applied before the Adam step, which then moves the already-shrunk ``p``.

    Args:
        p: the parameter, updated in place.
        g: its gradient (not modified).
        m: first moment (state ``"exp_avg"``), updated in place.
        v: second moment (state ``"exp_avg_sq"``), updated in place.
        t: the step number, 1 on the first step.
        lr: the learning rate :math:`\eta`.
        beta1: :math:`\beta_1`.
        beta2: :math:`\beta_2`.
        eps: :math:`\epsilon`.
        weight_decay: :math:`\lambda`, the decoupled decay rate (per unit of lr).
        v_max: running maximum of ``v`` (state ``"max_exp_avg_sq"``) for AMSGrad, or ``None``.

    Returns:
        None.

    Example:
        >>> p, g = torch.tensor([1.0, 2.0]), torch.tensor([0.5, -1.0])
        >>> m, v = torch.zeros(2), torch.zeros(2)
        >>> adamw_update_(p, g, m, v, t=1, lr=0.1, weight_decay=0.5)
        >>> p  # first shrunk by 1 - 0.1*0.5 = 0.95, then moved by about lr
        tensor([0.8500, 2.0000])

    References:
        I. Loshchilov, F. Hutter, "Decoupled weight decay regularization", ICLR 2019.
        D. P. Kingma, J. Ba, "Adam: A method for stochastic optimization", ICLR 2015.
    """
    if weight_decay != 0:
        p.mul_(1 - lr * weight_decay)                     # p = p - lr*wd*p
    adam_update_(p, g, m, v, t=t, lr=lr, beta1=beta1,
                 beta2=beta2, eps=eps, v_max=v_max)       # p = adam(p, g, m, v, t)


class AdamW(Adam):
    r"""AdamW: Adam with decoupled weight decay :math:`p \leftarrow p - \eta\lambda p`.

    Same arguments, defaults (note ``weight_decay=1e-2``), state (``step``, ``exp_avg``,
    ``exp_avg_sq``, ``max_exp_avg_sq``) and numbers as ``torch.optim.AdamW``; each step applies
    :func:`adamw_update_` to every parameter that has a gradient. Everything else (param groups,
    validation, AMSGrad, schedulers, state dicts) is :class:`~course_lib.optim.adam.Adam`'s;
    like ``torch.optim.AdamW``, it is a subclass of Adam.

    .. math::

        p \leftarrow p\,(1 - \eta\lambda), \qquad
        p \leftarrow p - \eta\, \frac{m / (1-\beta_1^t)}{\sqrt{v / (1-\beta_2^t)} + \epsilon}

    Args:
        params: the tensors to optimize, or a list of param-group dicts.
        lr: learning rate :math:`\eta` (>= 0). Default 1e-3.
        betas: :math:`(\beta_1, \beta_2)`, each in [0, 1). Default (0.9, 0.999).
        eps: :math:`\epsilon` (> 0). Default 1e-8.
        weight_decay: decoupled decay :math:`\lambda` (>= 0), multiplied by ``lr``. Default 1e-2.
        amsgrad: use AMSGrad's running maximum of :math:`v`. Default False.
        maximize: ascend the objective instead of descending it.

    Raises:
        ValueError: for an invalid setting, here or in a param group.

    Example:
        >>> model = torch.nn.Linear(3, 1)
        >>> opt = AdamW(model.parameters(), lr=1e-3, weight_decay=0.1)
        >>> model(torch.ones(2, 3)).pow(2).mean().backward()
        >>> opt.step()

    References:
        Loshchilov & Hutter 2019; Kingma & Ba 2015 (see :func:`adamw_update_`).
    """

    _update = staticmethod(adamw_update_)

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)
