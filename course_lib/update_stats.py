"""How big one optimizer update was, and what Adam's second moment holds.

Two measurements lessons 07, 08 and 12 take around a single step, written once here:

* :func:`measure_update` runs one step (any callable: ``optimizer.step``, or a one-step
  :func:`course_lib.train.train`) and reports how far the weights moved, as a norm and
  relative to the weights' own norm, :math:`\\|\\Delta\\theta\\| / \\|\\theta\\|`, the
  update-to-weight ratio that is comparable across optimizers.
* :func:`median_sqrt_v_hat` reads Adam's bias-corrected second moment from an optimizer's
  state, :math:`\\sqrt{\\hat v} = \\sqrt{v / (1 - \\beta_2^t)}`, the per-coordinate gradient
  scale Adam divides by, and returns its median over all weights: the number that shows a
  gradient spike flooding ``v``.

Example::

    update = measure_update(model, optimizer.step)     # after loss.backward()
    print(f"moved {update.norm:.3f}, {update.relative:.1%} of the weights' norm")
    print(f"median sqrt(v_hat) {median_sqrt_v_hat(optimizer):.2e}")
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import torch
from torch.nn.utils import parameters_to_vector

__all__ = ["Update", "measure_update", "median_sqrt_v_hat"]


def _weights(model: torch.nn.Module) -> torch.Tensor:
    # parameters_to_vector concatenates, so this is a copy that later steps do not change
    return parameters_to_vector(model.parameters()).detach()


@dataclasses.dataclass(frozen=True)
class Update:
    """One step's movement of the weights.

    Attributes:
        norm: :math:`\\|\\theta_{\\text{after}} - \\theta_{\\text{before}}\\|_2` over all parameters.
        weight_norm: :math:`\\|\\theta_{\\text{before}}\\|_2`.
        result: whatever the step callable returned (e.g. a :class:`course_lib.train.History`).
    """

    norm: float
    weight_norm: float
    result: Any = None

    @property
    def relative(self) -> float:
        """The update-to-weight ratio :math:`\\|\\Delta\\theta\\| / \\|\\theta\\|` (inf for zero weights)."""
        return self.norm / self.weight_norm if self.weight_norm else float("inf")


def measure_update(model: torch.nn.Module, step: Callable[[], Any]) -> Update:
    """Call ``step()`` once and measure how far it moved ``model``'s parameters.

    Args:
        model: the module whose parameters ``step`` updates.
        step: a callable taking no arguments, e.g. ``optimizer.step`` (gradients already
            computed) or ``lambda: train(model, get_batch, optimizer, steps=1)``.

    Returns:
        An :class:`Update` with the norm of the change, the norm of the weights before it and
        ``step``'s return value.
    """
    before = _weights(model)
    result = step()
    change = _weights(model) - before
    return Update(norm=change.norm().item(), weight_norm=before.norm().item(), result=result)


def median_sqrt_v_hat(optimizer: torch.optim.Optimizer) -> float:
    """Median over all weights of Adam's :math:`\\sqrt{v / (1 - \\beta_2^t)}`.

    Works with any optimizer that keeps Adam's state names (``exp_avg_sq`` and ``step`` per
    parameter, ``betas`` per group): ``torch.optim.Adam``/``AdamW`` and
    ``course_lib.optim.Adam``/``AdamW``. Each parameter uses its own group's :math:`\\beta_2`.

    Raises:
        ValueError: if no parameter has Adam state yet (no step taken, or not an Adam optimizer).
    """
    parts = []
    for group in optimizer.param_groups:
        beta2 = group["betas"][1] if "betas" in group else None
        for p in group["params"]:
            state = optimizer.state.get(p, {})
            if beta2 is None or "exp_avg_sq" not in state:
                continue
            parts.append(state["exp_avg_sq"].flatten() / (1 - beta2 ** state["step"]))
    if not parts:
        raise ValueError("the optimizer holds no Adam second moment (exp_avg_sq) yet: "
                         "take a step first, with Adam or AdamW")
    return torch.cat(parts).sqrt().median().item()
