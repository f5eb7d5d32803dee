"""Checks shared by the optimizers: hyperparameters, param groups, gradients, the step counter.

Every optimizer validates its settings twice: once for the constructor's arguments (the
defaults) and once for every param group, after the group's own values are merged over the
defaults (``add_param_group``). A bad value raises ``ValueError`` with a message that names the
argument, the rule and the value, e.g. ``Adam: betas[1] must be a finite number in [0, 1), got 1.0``.

Settings that a scheduler changes later (``lr``, ``momentum``, ``betas``) are not checked again
at every step: that would cost time on every step for a mistake a scheduler does not make.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from numbers import Real
from typing import Any

import torch

__all__ = [
    "check_bool",
    "check_number",
    "check_betas",
    "validate_param_group",
    "dense_grad",
    "new_step",
    "next_step",
]


def _describe(value: Any) -> str:
    return f"{value!r} ({type(value).__name__})"


def check_number(
    owner: str,
    name: str,
    value: Any,
    *,
    low: float = 0.0,
    low_open: bool = False,
    high: float | None = None,
    high_open: bool = True,
) -> None:
    """Raise ``ValueError`` unless ``value`` is a finite real number in the given interval.

    Args:
        owner: who is asking, for the message (``"Adam"``, ``"Adam param group 1"``).
        name: the argument's name, for the message (``"lr"``).
        value: the value to check. ``bool`` and tensors are rejected: a flag or a
            tensor where a number belongs is a mistake, not a number.
        low: the lower bound.
        low_open: ``True`` excludes ``low`` itself (``> low``), ``False`` allows it (``>= low``).
        high: the upper bound, or ``None`` for none.
        high_open: ``True`` excludes ``high`` itself, ``False`` allows it.
    """
    if high is None:
        rule = f"> {low:g}" if low_open else f">= {low:g}"
    else:
        rule = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if not isinstance(value, Real) or isinstance(value, bool):
        raise ValueError(f"{owner}: {name} must be a finite number {rule}, got {_describe(value)}")
    x = float(value)
    ok = math.isfinite(x) and (x > low if low_open else x >= low)
    if ok and high is not None:
        ok = x < high if high_open else x <= high
    if not ok:
        raise ValueError(f"{owner}: {name} must be a finite number {rule}, got {value!r}")


def check_bool(owner: str, name: str, value: Any) -> None:
    """Raise ``ValueError`` unless ``value`` is ``True`` or ``False``."""
    if not isinstance(value, bool):
        raise ValueError(f"{owner}: {name} must be True or False, got {_describe(value)}")


def check_betas(owner: str, betas: Any) -> None:
    """Raise ``ValueError`` unless ``betas`` is a pair ``(beta1, beta2)``, each in [0, 1)."""
    if isinstance(betas, str | bytes) or not hasattr(betas, "__len__") or len(betas) != 2:
        raise ValueError(
            f"{owner}: betas must be a pair (beta1, beta2) of numbers in [0, 1), "
            f"got {_describe(betas)}"
        )
    check_number(owner, "betas[0]", betas[0], high=1.0)
    check_number(owner, "betas[1]", betas[1], high=1.0)


def validate_param_group(
    optimizer: torch.optim.Optimizer,
    param_group: Any,
    check_settings: Callable[[str, Mapping[str, Any]], None],
) -> None:
    """Check a param group's settings (its own values merged over the optimizer's defaults).

    Call it from ``add_param_group`` before handing the group to ``torch.optim.Optimizer``,
    which fills in the defaults and stores the group.
    """
    if not isinstance(param_group, dict):
        return  # torch.optim.Optimizer.add_param_group raises its own TypeError
    settings = {**optimizer.defaults, **param_group}
    owner = f"{type(optimizer).__name__} param group {len(optimizer.param_groups)}"
    check_settings(owner, settings)


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
