r"""Newton's method: one step to the stationary point of the local quadratic model.

Gradient and Hessian by autograd, then a linear solve: :math:`x - H(x)^{-1}\,\nabla f(x)`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

__all__ = ["newton_step"]


def newton_step(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    r"""One Newton step from ``x``: :math:`x - H^{-1} g`, gradient and Hessian by autograd.

    .. math:: g = \nabla f(x), \quad H = \nabla^2 f(x), \quad \text{solve } H\,p = g,
              \quad x_{new} = x - p

    The step goes to the stationary point of the local quadratic model. On a quadratic that
    is the exact minimizer, in one step. Where :math:`H` is not positive definite the model's
    stationary point is a saddle or a maximum, and the step can go uphill: nothing here
    guards against that, on purpose (lesson 10 shows it).

    Args:
        f: maps a 1-D tensor of shape ``(n,)`` to a scalar tensor.
        x: the point, a 1-D floating tensor (float64 recommended: the solve amplifies rounding).

    Returns:
        The new point, a detached tensor like ``x``.

    Raises:
        ValueError: if ``x`` is not a 1-D floating tensor or ``f(x)`` is not a scalar.
        torch.linalg.LinAlgError: if the Hessian is singular.
    """
    if not torch.is_tensor(x) or x.ndim != 1 or not x.is_floating_point():
        raise ValueError(f"x must be a 1-D floating tensor, got {getattr(x, 'shape', type(x))}")
    z = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        value = f(z)
        if not torch.is_tensor(value) or value.numel() != 1:
            raise ValueError("f must return a scalar tensor")
        (g,) = torch.autograd.grad(value.reshape(()), z, create_graph=True)
        # row i of the Hessian is the gradient of the i-th gradient entry
        rows = []
        for i in range(z.numel()):
            row = None
            if g[i].requires_grad:  # False where f is linear in every coordinate
                (row,) = torch.autograd.grad(g[i], z, retain_graph=True, allow_unused=True)
            rows.append(torch.zeros_like(z) if row is None else row)
        H = torch.stack(rows)
    return x.detach() - torch.linalg.solve(H.detach(), g.detach())
