"""Curvature of a loss without forming its Hessian: Hessian-vector products, and the dominant
eigenvalue by power iteration.

The Hessian of a network with ``n`` weights has ``n**2`` entries, but a product ``H v`` costs
about two backward passes: differentiate the gradient once more, along ``v``,

.. math::

    H v = \\nabla_w \\big( \\nabla_w L(w) \\cdot v \\big) .

Power iteration, ``v <- H v / |H v|`` repeated, lines ``v`` up with the eigenvector of the
eigenvalue of largest magnitude, and the Rayleigh quotient ``v . H v`` tends to that eigenvalue.
Near a minimum that is the top eigenvalue ``lambda_max``, the "sharpness" that sets gradient
descent's stability threshold ``2 / lambda_max`` (lessons 03 and 11). Lesson 11 writes both
functions by hand in its cells; lesson 07 uses them from here.

Example::

    loss_fn = lambda: F.cross_entropy(model(X), y)
    lam = top_hessian_eigenvalue(loss_fn, list(model.parameters()), iters=30)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from course_lib.validation import check_int

__all__ = ["hessian_vector_product", "top_hessian_eigenvalue"]


def hessian_vector_product(loss_fn: Callable[[], torch.Tensor], params: Sequence[torch.Tensor],
                           v: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """``H v`` for the Hessian of ``loss_fn()`` with respect to ``params``.

    Args:
        loss_fn: computes the scalar loss from the current ``params`` (called once).
        params: the tensors to differentiate with respect to (``requires_grad=True``).
        v: one tensor per parameter, same shapes: the direction.

    Returns:
        One tensor per parameter (detached), the blocks of ``H v``.
    """
    params = list(params)
    if len(v) != len(params) or any(a.shape != b.shape for a, b in zip(v, params, strict=False)):
        raise ValueError("v must hold one tensor per parameter, each of the parameter's shape")
    grads = torch.autograd.grad(loss_fn(), params, create_graph=True)
    dot = sum((g * d).sum() for g, d in zip(grads, v, strict=True))
    return [h.detach() for h in torch.autograd.grad(dot, params)]


def top_hessian_eigenvalue(loss_fn: Callable[[], torch.Tensor], params: Sequence[torch.Tensor], *,
                           iters: int = 20, generator: torch.Generator | None = None) -> float:
    """The Hessian's eigenvalue of largest magnitude, by ``iters`` rounds of power iteration.

    At and near a minimum this is ``lambda_max``; where a negative eigenvalue is larger in
    magnitude (a saddle), it is that one. The estimate approaches the eigenvalue from below in
    magnitude; the error shrinks like ``(lambda_2 / lambda_1) ** iters``.

    Args:
        loss_fn: computes the scalar loss from the current ``params``.
        params: the tensors the Hessian is taken with respect to.
        iters: power-iteration rounds (each costs one Hessian-vector product).
        generator: seeds the random start vector (a CPU generator), for repeatable results.
    """
    iters = check_int(iters, "iters", low=1, owner="top_hessian_eigenvalue")
    params = list(params)
    v = [torch.randn(p.shape, generator=generator, dtype=p.dtype).to(p.device) for p in params]
    estimate = 0.0
    for _ in range(iters):
        norm = torch.sqrt(sum((d * d).sum() for d in v))
        if norm == 0:
            return 0.0                      # H v = 0: v lies in the null space
        v = [d / norm for d in v]
        hv = hessian_vector_product(loss_fn, params, v)
        estimate = sum((a * b).sum() for a, b in zip(hv, v, strict=True)).item()
        v = hv
    return estimate
