"""Counting evaluations: what an optimizer costs on a smooth problem (lesson 10).

On a smooth, deterministic problem the fair price of an optimizer is the number of times it
evaluates the loss and its gradient. These functions run one optimizer from a start point and
write down every value it computed, so a lesson can ask "after how many evaluations was
``f`` below the target?" (:func:`first_below`) of any of them:

* :func:`closure_optimizer_run`: a ``torch.optim`` optimizer that takes a closure (course_lib's
  :class:`~course_lib.second_order.LBFGS`, ``torch.optim.LBFGS``), one ``step(closure)``;
* :func:`scipy_lbfgs_run`: ``scipy.optimize.minimize(method="L-BFGS-B")`` on the same function;
* :func:`adam_lr_grid`: Adam (lesson 05's equations) at several learning rates at once, one
  row of a tensor per learning rate, one evaluation per step;
* :func:`minibatch_closure_run`: a closure optimizer on a network, a new mini-batch for every
  ``step(closure)``, with the loss on the whole training set after each.

Example::

    run = closure_optimizer_run(rosen, [-1.2, 1.0], lambda p: LBFGS(p, max_iter=1000))
    first_below(run.values, 1e-8), run.evaluations, run.iterations
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import scipy.optimize
import torch
import torch.nn.functional as F

from course_lib.validation import check_int, check_real

__all__ = [
    "EvaluationRun",
    "first_below",
    "closure_optimizer_run",
    "scipy_lbfgs_run",
    "adam_lr_grid",
    "MinibatchRun",
    "minibatch_closure_run",
]

_F64 = torch.float64


@dataclass(frozen=True)
class EvaluationRun:
    """One optimizer's run from a start point.

    Attributes:
        values: ``f`` at every evaluation, in the order the optimizer asked for them.
        evaluations: how many evaluations the optimizer reports (``len(values)`` for a closure
            optimizer; SciPy's ``nfev``).
        iterations: the optimizer's iterations (``state["n_iter"]``; SciPy's ``nit``).
        x: where it stopped (float64, on the CPU).
    """

    values: list[float]
    evaluations: int
    iterations: int
    x: torch.Tensor


def first_below(values: Sequence[float], target: float) -> int | None:
    """The 1-based index of the first value below ``target``, or ``None`` if none is.

    Example:
        >>> first_below([5.0, 0.3, 1e-9, 1e-12], 1e-8)
        3
    """
    hits = np.flatnonzero(np.asarray(values, dtype=float) < target)
    return int(hits[0]) + 1 if len(hits) else None


def closure_optimizer_run(f: Callable[[torch.Tensor], torch.Tensor], start: Sequence[float],
                          make_optimizer: Callable[[list[torch.Tensor]], torch.optim.Optimizer],
                          *, device: str | torch.device | None = None) -> EvaluationRun:
    """One ``step(closure)`` of ``make_optimizer([x])`` on ``f``, from ``start``, in float64.

    The closure zeroes the gradient, evaluates ``f(x)``, calls ``backward()`` and records the
    value: every evaluation the optimizer makes (line-search trials included) is in ``values``.

    Args:
        f: the function of one point ``x`` (a float64 tensor of ``len(start)`` entries).
        start: the starting point.
        make_optimizer: builds the optimizer from the parameter list ``[x]``; it must accept a
            closure and keep ``n_iter`` in ``state[x]``, as ``torch.optim.LBFGS`` does.
        device: where ``x`` lives (default: the CPU).
    """
    x = torch.tensor(list(start), dtype=_F64, device=device, requires_grad=True)
    optimizer = make_optimizer([x])
    values: list[float] = []

    def closure():
        optimizer.zero_grad()
        loss = f(x)
        loss.backward()
        values.append(loss.item())
        return loss

    optimizer.step(closure)
    return EvaluationRun(values, len(values), int(optimizer.state[x]["n_iter"]), x.detach().cpu())


def scipy_lbfgs_run(f: Callable[[torch.Tensor], torch.Tensor], start: Sequence[float], *,
                    gtol: float = 1e-8, maxiter: int = 1000) -> EvaluationRun:
    """SciPy's L-BFGS-B on ``f`` from ``start`` (gradients by autograd, float64 on the CPU).

    Stops on SciPy's projected-gradient tolerance ``gtol`` (``ftol`` is 0, so a small decrease
    alone does not stop it) or after ``maxiter`` iterations.
    """
    gtol = check_real(gtol, "gtol", low=0, low_open=True, owner="scipy_lbfgs_run")
    maxiter = check_int(maxiter, "maxiter", low=1, owner="scipy_lbfgs_run")
    values: list[float] = []

    def f_and_grad(z):
        x = torch.tensor(z, dtype=_F64, requires_grad=True)
        loss = f(x)
        loss.backward()
        values.append(loss.item())
        return loss.item(), x.grad.numpy().copy()

    res = scipy.optimize.minimize(f_and_grad, list(start), jac=True, method="L-BFGS-B",
                                  options={"gtol": gtol, "ftol": 0.0, "maxiter": maxiter})
    return EvaluationRun(values, int(res.nfev), int(res.nit), torch.tensor(res.x, dtype=_F64))


def adam_lr_grid(f: Callable[[torch.Tensor], torch.Tensor], start: Sequence[float],
                 lrs: Sequence[float], *, target: float, max_steps: int,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 device: str | torch.device | None = None) -> list[int | None]:
    r"""Adam at every learning rate of ``lrs`` from ``start``: the first evaluation below ``target``.

    All runs advance together, one row of a ``(len(lrs), len(start))`` float64 tensor per
    learning rate (``f`` must accept such a batch of points and return one value per row);
    the rows never interact. Each step evaluates ``f`` and its gradient once, then takes
    PyTorch's Adam step (``torch.optim.Adam`` with these ``betas`` and ``eps``):

    .. math::
        m &= \beta_1 m + (1 - \beta_1) g, \qquad v = \beta_2 v + (1 - \beta_2) g^2 \\
        x &= x - \text{lr}\, \frac{m / (1 - \beta_1^t)}{\sqrt{v / (1 - \beta_2^t)} + \epsilon}

    Returns:
        For each learning rate, the 1-based evaluation at which ``f`` was first below
        ``target``, or ``None`` if it never was in ``max_steps`` steps.
    """
    max_steps = check_int(max_steps, "max_steps", low=1, owner="adam_lr_grid")
    beta1, beta2 = betas
    lr_col = torch.tensor(list(lrs), dtype=_F64, device=device)[:, None]
    P = torch.tensor([list(start)] * len(lrs), dtype=_F64, device=device)
    m, v = torch.zeros_like(P), torch.zeros_like(P)
    hit: list[int | None] = [None] * len(lrs)
    for t in range(1, max_steps + 1):
        P.requires_grad_(True)
        f_rows = f(P)                                        # f for every row
        (grad,) = torch.autograd.grad(f_rows.sum(), P)
        for i, f_i in enumerate(f_rows.tolist()):
            if hit[i] is None and f_i < target:
                hit[i] = t                                   # evaluation t was below the target
        if all(h is not None for h in hit):
            break
        with torch.no_grad():
            m = beta1 * m + (1 - beta1) * grad
            v = beta2 * v + (1 - beta2) * grad**2
            m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
            P = P - lr_col * m_hat / (v_hat.sqrt() + eps)
    return hit


class MinibatchRun(NamedTuple):
    """A closure optimizer trained on mini-batches (unpacks as ``curve, evaluations``).

    Attributes:
        curve: the loss on the whole training set before the first batch and after each one.
        evaluations: the closure calls (forward and backward passes on a batch) in all.
    """

    curve: list[float]
    evaluations: int


def minibatch_closure_run(model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                          X: torch.Tensor, y: torch.Tensor, *, batch_size: int, n_batches: int,
                          generator: torch.Generator) -> MinibatchRun:
    """``n_batches`` calls of ``optimizer.step(closure)``, each on a new random batch.

    Each batch is ``batch_size`` examples of ``(X, y)`` drawn with replacement by
    ``generator`` (a CPU generator); the closure computes the batch's cross-entropy and its
    gradient, and counts itself. An optimizer such as L-BFGS calls the closure many times per
    step (its iterations and line-search trials), all on the same batch; SGD or Adam call it
    once. After every step the loss on all of ``(X, y)`` is recorded.
    """
    batch_size = check_int(batch_size, "batch_size", low=1, owner="minibatch_closure_run")
    n_batches = check_int(n_batches, "n_batches", low=0, owner="minibatch_closure_run")
    evaluations = 0

    def full_loss():
        with torch.no_grad():
            return F.cross_entropy(model(X), y).item()

    curve = [full_loss()]
    for _ in range(n_batches):
        idx = torch.randint(len(X), (batch_size,), generator=generator).to(X.device)
        xb, yb = X[idx], y[idx]

        def closure(xb=xb, yb=yb):
            nonlocal evaluations
            evaluations += 1
            optimizer.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            return loss

        optimizer.step(closure)
        curve.append(full_loss())
    return MinibatchRun(curve, evaluations)
