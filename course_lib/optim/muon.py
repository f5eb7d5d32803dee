"""Muon: momentum, orthogonalised. A preconditioner for whole matrices, not single coordinates.

Adam divides each coordinate by its own running gradient scale: a *diagonal* preconditioner.
Muon (Jordan et al., 2024) treats a weight matrix as a matrix. It keeps SGD's momentum ``b``
and replaces the step's direction by the orthogonal matrix nearest to it: with the SVD
``b = U S V^T``, the step is ``U V^T``, every singular value set to 1. The directions the
gradient pushes weakly get the same step size as the dominant ones, which is what a full-matrix
preconditioner such as Shampoo's ``(G G^T)^{-1/4} G (G^T G)^{-1/4}`` does too (Bernstein and
Newhouse, 2024, show Muon is Shampoo without the accumulation). ``U V^T`` is computed without an
SVD, by five steps of a quintic Newton-Schulz iteration that only needs matrix products.

:func:`muon_update_` is the update for one matrix; :class:`Muon` wraps it in a real
``torch.optim.Optimizer``. Muon is for the hidden weight matrices only: embeddings, the output
layer, biases and gains go to AdamW (:func:`split_for_muon` sorts them). PyTorch has no Muon;
``tests/test_muon.py`` compares this one with a transcription of the authors' reference code.

References:
    K. Jordan et al., "Muon: An optimizer for hidden layers in neural networks", 2024,
    https://kellerjordan.github.io/posts/muon/ (reference code: github.com/KellerJordan/Muon).
    J. Bernstein, L. Newhouse, "Old optimizer, new norm: an anthology", 2024.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch

from course_lib.optim._base import PerTensorOptimizer, zeros_like
from course_lib.validation import check_bool, check_int, check_real

__all__ = ["Muon", "muon_update_", "orthogonalize", "split_for_muon", "NS_COEFFICIENTS"]

NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)
"""The quintic's ``(a, b, c)`` in ``X <- a X + (b A + c A^2) X`` with ``A = X X^T``: chosen (by
the authors) for the largest slope at zero, so small singular values grow fast; the result
has singular values roughly between 0.7 and 1.2 rather than exactly 1, which does not hurt."""


def orthogonalize(G: torch.Tensor, steps: int = 5, *, dtype: torch.dtype | None = None) -> torch.Tensor:
    r"""Approximately ``U V^T`` for ``G = U S V^T``, by ``steps`` Newton-Schulz iterations.

    .. math::

        X_0 = G / \|G\|_F, \qquad A = X X^\top, \qquad X \leftarrow a X + (b A + c A^2)\, X

    Dividing by the Frobenius norm puts every singular value in (0, 1]; each iteration applies
    the odd polynomial :math:`a\sigma + b\sigma^3 + c\sigma^5` to every singular value at once
    (the singular vectors do not change), pushing them towards 1. A tall matrix is transposed
    first, so ``A`` is the smaller Gram matrix.

    Args:
        G: a matrix (2-D); a batch of matrices in the leading dimensions also works.
        steps: Newton-Schulz iterations (5 in Muon).
        dtype: compute in this dtype (the reference code uses ``torch.bfloat16`` on GPUs);
            default: ``G``'s own dtype. The result has ``G``'s dtype.
    """
    if G.ndim < 2:
        raise ValueError(f"orthogonalize needs a matrix, got a tensor of shape {tuple(G.shape)}")
    a, b, c = NS_COEFFICIENTS
    X = G.to(dtype or G.dtype)
    tall = G.size(-2) > G.size(-1)
    if tall:
        X = X.mT
    X = X / (X.norm(dim=(-2, -1), keepdim=True) + 1e-7)   # spectral norm <= 1
    for _ in range(steps):
        A = X @ X.mT
        B = b * A + c * A @ A
        X = a * X + B @ X
    if tall:
        X = X.mT
    return X.to(G.dtype)


def muon_update_(
    p: torch.Tensor,
    g: torch.Tensor,
    b: torch.Tensor,
    *,
    lr: float,
    momentum: float = 0.95,
    nesterov: bool = True,
    ns_steps: int = 5,
    weight_decay: float = 0.0,
) -> None:
    r"""One Muon step on one weight matrix, in place: ``p`` and ``b`` change, ``g`` does not.

    .. math::

        b &\leftarrow \mu\, b + (1 - \mu)\, g                 && \text{momentum (an average)} \\
        d &= (1 - \mu)\, g + \mu\, b \ \ \text{(Nesterov) or } d = b \\
        O &\approx U V^\top \text{ for } d = U S V^\top         && \text{Newton-Schulz, 5 steps} \\
        p &\leftarrow (1 - \eta\lambda)\, p - \eta \sqrt{\max(1, r / c)}\; O
                                                              && r \times c \text{ matrix}

    Every direction of the update gets the same size, so ``lr`` is in units of the update's
    spectral norm; the factor :math:`\sqrt{\max(1, r/c)}` keeps tall matrices' steps comparable.
    A tensor with more than two dimensions (a convolution's filters) is updated as the matrix
    ``(out_channels, everything else)``.

    Args:
        p: the weight (2-D or more), updated in place.
        g: its gradient (not modified; the reference code overwrites it).
        b: the momentum buffer (state ``"momentum_buffer"``), updated in place.
        lr: :math:`\eta`.
        momentum: :math:`\mu`.
        nesterov: step along the look-ahead ``(1 - mu) g + mu b`` instead of ``b``.
        ns_steps: Newton-Schulz iterations.
        weight_decay: :math:`\lambda`, decoupled, multiplied by ``lr`` (as in AdamW).
    """
    b.lerp_(g, 1 - momentum)                                      # b = mu b + (1 - mu) g
    d = g.lerp(b, momentum) if nesterov else b                    # look-ahead (Nesterov) or b
    matrix = d.reshape(len(d), -1)                                # filters -> (out, in * k * k)
    O = orthogonalize(matrix, ns_steps)                           # ~ U V^T
    O *= max(1.0, matrix.size(0) / matrix.size(1)) ** 0.5         # tall matrices: sqrt(r / c)
    p.mul_(1 - lr * weight_decay)                                 # decoupled decay
    p.add_(O.view_as(p), alpha=-lr)                               # p -= lr * O


class Muon(PerTensorOptimizer):
    """Muon as a ``torch.optim.Optimizer`` for weight matrices (see :func:`muon_update_`).

    Args:
        params: weight tensors with two or more dimensions (or param groups of them). Vectors
            (biases, LayerNorm gains) are refused: give them to AdamW (:func:`split_for_muon`).
        lr: learning rate, in units of the update's spectral norm (0.02 in the reference code).
        momentum: :math:`\\mu` in [0, 1).
        nesterov: use the Nesterov look-ahead (default, as in the reference code).
        ns_steps: Newton-Schulz iterations (>= 1).
        weight_decay: decoupled decay, multiplied by ``lr``.
        maximize: ascend instead of descend.

    Example::

        muon_params, adamw_params = split_for_muon(model)
        optimizers = [Muon(muon_params, lr=0.02), AdamW(adamw_params, lr=3e-3)]
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float = 0.02,
        momentum: float = 0.95,
        nesterov: bool = True,
        ns_steps: int = 5,
        weight_decay: float = 0.0,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = dict(lr=lr, momentum=momentum, nesterov=nesterov, ns_steps=ns_steps,
                        weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    @staticmethod
    def check_settings(owner: str, settings: Mapping[str, Any]) -> None:
        check_real(settings["lr"], "lr", low=0, owner=owner)
        check_real(settings["momentum"], "momentum", low=0, high=1, high_open=True, owner=owner)
        check_bool(settings["nesterov"], "nesterov", owner=owner)
        check_int(settings["ns_steps"], "ns_steps", low=1, owner=owner)
        check_real(settings["weight_decay"], "weight_decay", low=0, owner=owner)
        check_bool(settings["maximize"], "maximize", owner=owner)
        for i, p in enumerate(settings.get("params", [])):
            if torch.is_tensor(p) and p.ndim < 2:
                raise ValueError(
                    f"{owner}: parameter {i} has shape {tuple(p.shape)}; Muon updates weight "
                    "matrices (2 or more dimensions) only: give biases and gains to AdamW "
                    "(course_lib.optim.split_for_muon)"
                )

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a param group after checking that it holds matrices only."""
        if isinstance(param_group, dict):  # a list, so the shape check does not consume it
            params = param_group.get("params", [])
            if torch.is_tensor(params):
                params = [params]
            elif not isinstance(params, set):  # torch refuses sets with its own message
                params = list(params)
            param_group = {**param_group, "params": params}
        super().add_param_group(param_group)

    def update_parameter(self, p: torch.Tensor, g: torch.Tensor, group: dict[str, Any]) -> None:
        state = self.state[p]
        if not state:
            state["momentum_buffer"] = zeros_like(p)
        muon_update_(p, g, state["momentum_buffer"], lr=group["lr"], momentum=group["momentum"],
                     nesterov=group["nesterov"], ns_steps=group["ns_steps"],
                     weight_decay=group["weight_decay"])


def split_for_muon(model: torch.nn.Module, *, exclude: Iterable[str] = ()) -> tuple[list, list]:
    """``(matrices, others)``: the hidden weight matrices for Muon, everything else for AdamW.

    A parameter goes to Muon when it has two or more dimensions, is not an embedding table, and
    its name does not contain any of ``exclude`` (e.g. the output layer's name: the reference
    recipe keeps the first and last layers on AdamW).
    """
    embeddings = {id(m.weight) for m in model.modules() if isinstance(m, torch.nn.Embedding)}
    exclude = tuple(exclude)
    matrices, others = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if p.ndim >= 2 and id(p) not in embeddings and not any(e in name for e in exclude):
            matrices.append(p)
        else:
            others.append(p)
    return matrices, others
