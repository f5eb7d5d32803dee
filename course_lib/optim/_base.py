"""What every optimizer of the course shares: the ``step()`` loop, the settings checks, the state.

An optimizer here is a pure update function for one tensor (``adam_update_``) plus a subclass
of :class:`PerTensorOptimizer` that says three things and nothing else:

* its defaults, in ``__init__`` (torch's argument names);
* ``check_settings(owner, settings)``: the rules for those settings, raising ``ValueError``
  (built on :mod:`course_lib.validation`);
* ``update_parameter(p, g, group)``: create the parameter's state on its first step, then call
  the update function with the group's settings.

The base class does the rest, the same way for all of them: it checks the constructor's
arguments and every param group (its own values merged over the defaults), skips parameters
without a gradient, refuses sparse gradients, negates the gradient for ``maximize=True``,
runs the closure with autograd on, and reads ``group[...]`` at every step, so
``torch.optim.lr_scheduler`` drives the settings. Settings a scheduler changes later (``lr``,
``momentum``, ``betas``) are not checked again at every step: that would cost time on every
step for a mistake a scheduler does not make.

A bad value raises ``ValueError`` with a message that names the optimizer (or the param group),
the argument, the rule and the value, e.g.
``Adam param group 1: betas[1] must be a finite number in [0, 1), got 1.0``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

import torch

from course_lib.validation import check_real, describe

__all__ = [
    "PerTensorOptimizer",
    "check_betas",
    "dense_grad",
    "zeros_like",
    "new_step",
    "next_step",
]


class PerTensorOptimizer(torch.optim.Optimizer):
    """A ``torch.optim.Optimizer`` that applies one update function to each parameter in turn.

    Subclasses set their defaults in ``__init__`` and implement :meth:`check_settings` and
    :meth:`update_parameter`; see the module docstring.

    Attributes:
        supports_complex: whether complex parameters are allowed (SGD's update is the same
            for them; the others square the gradient, which complex numbers do not do).
    """

    supports_complex: ClassVar[bool] = False

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        defaults: dict[str, Any],
    ) -> None:
        self.check_settings(type(self).__name__, defaults)
        super().__init__(params, defaults)

    @staticmethod
    def check_settings(owner: str, settings: Mapping[str, Any]) -> None:
        """Raise ``ValueError`` for a bad setting; ``owner`` starts the message."""
        raise NotImplementedError

    def update_parameter(self, p: torch.Tensor, g: torch.Tensor, group: dict[str, Any]) -> None:
        """Update ``p`` in place from its gradient ``g`` with ``group``'s settings."""
        raise NotImplementedError

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a param group, after checking its settings (see ``torch.optim.Optimizer``)."""
        if isinstance(param_group, dict):  # otherwise torch raises its own TypeError
            owner = f"{type(self).__name__} param group {len(self.param_groups)}"
            self.check_settings(owner, {**self.defaults, **param_group})
        super().add_param_group(param_group)

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        """Take one step for every parameter that has a gradient (``p.grad is None``: skipped).

        Args:
            closure: optional; re-evaluates the model and returns the loss.

        Returns:
            The closure's loss, or ``None`` without a closure.

        Raises:
            RuntimeError: for a sparse gradient, or a complex parameter where the update is
                for real ones only.
        """
        name = type(self).__name__
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if not self.supports_complex and torch.is_complex(p):
                    raise RuntimeError(f"{name} here supports real parameters only")
                self.update_parameter(p, dense_grad(p, name, group["maximize"]), group)
        return loss


def check_betas(owner: str, betas: Any) -> None:
    """Raise ``ValueError`` unless ``betas`` is a pair ``(beta1, beta2)``, each in [0, 1)."""
    if isinstance(betas, str | bytes) or not hasattr(betas, "__len__") or len(betas) != 2:
        raise ValueError(
            f"{owner}: betas must be a pair (beta1, beta2) of numbers in [0, 1), "
            f"got {describe(betas)}"
        )
    check_real(betas[0], "betas[0]", low=0, high=1, high_open=True, owner=owner)
    check_real(betas[1], "betas[1]", low=0, high=1, high_open=True, owner=owner)


def dense_grad(p: torch.Tensor, owner: str, maximize: bool = False) -> torch.Tensor:
    """The gradient an optimizer steps on: ``p.grad`` (negated when ``maximize``).

    Raises:
        RuntimeError: if the gradient is sparse (these optimizers update every entry).
    """
    g = p.grad
    if g.is_sparse:
        raise RuntimeError(
            f"{owner} does not support sparse gradients; use dense gradients "
            "(e.g. nn.Embedding(..., sparse=False)) or torch.optim.SparseAdam"
        )
    return -g if maximize else g


def zeros_like(p: torch.Tensor) -> torch.Tensor:
    """A state tensor for ``p``: zeros of its shape, dtype, device and memory layout."""
    return torch.zeros_like(p, memory_format=torch.preserve_format)


def new_step() -> torch.Tensor:
    """A fresh step counter, laid out as torch.optim lays it out (so state dicts interchange).

    A 0-dim float tensor on the CPU (float64 when the default dtype is float64, else float32),
    whatever the parameter's device: reading it never waits for a GPU.
    """
    dtype = torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32
    return torch.zeros((), dtype=dtype)


def next_step(state: dict[str, Any]) -> float:
    """Add one to ``state["step"]`` and return the new value ``t`` (1 on the first step).

    Accepts a plain number in ``state["step"]`` too (older state dicts stored one) and
    turns it into the tensor form.
    """
    step = state["step"]
    if not torch.is_tensor(step):
        step = new_step().fill_(float(step))
        state["step"] = step
    step += 1
    return step.item()
