r"""Sharpness-Aware Minimization (SAM): step from the worst point nearby, not from where you are.

Plain training lowers :math:`L(w)`. SAM lowers the loss of the worst point in a small ball
around :math:`w`,

.. math::
    \min_w \; \max_{\|\epsilon\|_2 \le \rho} L(w + \epsilon),

so that a minimum only counts as good if its whole neighbourhood is low: a flat minimum. The
inner maximum is approximated with one gradient step to the edge of the ball, which gives the
two-step update of Foret et al. (2021), written here with the code's symbols:

.. math::
    g &= \nabla L(w)                                  && \text{gradient where we are} \\
    \epsilon &= \rho\, g \,/\, \|g\|_2                 && \text{ascent: to the edge of the ball, uphill} \\
    g_{\text{SAM}} &= \nabla L(w + \epsilon)           && \text{gradient at the perturbed point} \\
    w &\leftarrow \text{base\_step}(w,\, g_{\text{SAM}})  && \text{descent: from } w \text{, not from } w + \epsilon

``base_step`` is any optimizer (SGD with momentum in the paper; AdamW works the same way):
:class:`SAM` wraps an existing optimizer and hands it :math:`g_{\text{SAM}}` in place of
:math:`g`. The norm :math:`\|g\|_2` is taken over **all** parameters together, like global-norm
clipping, so :math:`\|\epsilon\|_2 = \rho` exactly.

The price: two forward and two backward passes per step, about twice the compute of the
base optimizer. That is why :meth:`SAM.step` needs a closure that recomputes the loss.

Example::

    from course_lib.sam import SAM
    optimizer = SAM(torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9), rho=0.05)

    def closure():
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        return loss

    loss = optimizer.step(closure)   # zeroes the gradients itself before each closure call

References:
    Foret, Kleiner, Mobahi & Neyshabur, "Sharpness-Aware Minimization for Efficiently Improving
    Generalization", ICLR 2021, https://arxiv.org/abs/2010.01412 (algorithm 1, with p = 2).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from course_lib.validation import check_real

__all__ = ["SAM"]

EPS = 1e-12
"""Added to :math:`\\|g\\|_2` so that a zero gradient gives :math:`\\epsilon = 0`, not a NaN."""


def _check_rho(rho: object) -> float:
    return check_real(rho, "rho", low=0, owner="SAM")


class SAM(torch.optim.Optimizer):
    """Wrap ``base_optimizer`` so that each step uses the gradient at :math:`w + \\epsilon`.

    SAM shares the base optimizer's ``param_groups`` (the same list, the same dicts), so a
    learning-rate scheduler attached to either one drives the base step, and ``rho`` can be
    set per group (``optimizer.param_groups[i]["rho"]``; re-read every step). The base
    optimizer keeps its own state (momentum, Adam moments); SAM's ``self.state[p]`` holds only
    the perturbation :math:`\\epsilon` between :meth:`first_step` and :meth:`second_step`.

    Args:
        base_optimizer: a ``torch.optim.Optimizer`` over the parameters to train (already
            built, with its own lr, momentum, ...).
        rho: radius of the neighbourhood, :math:`\\rho` (the paper's default is 0.05).
            ``rho=0`` gives exactly the base optimizer's step (at twice the cost).

    Raises:
        ValueError: if ``base_optimizer`` is not an optimizer or ``rho`` is negative or not a
            finite number.
    """

    def __init__(self, base_optimizer: torch.optim.Optimizer, rho: float = 0.05):
        if not isinstance(base_optimizer, torch.optim.Optimizer) or isinstance(
            base_optimizer, SAM
        ):
            raise ValueError(
                "SAM: base_optimizer must be a torch.optim.Optimizer instance (not a class, "
                f"not another SAM), got {base_optimizer!r}"
            )
        rho = _check_rho(rho)
        for group in base_optimizer.param_groups:  # a group may bring its own rho
            group["rho"] = _check_rho(group["rho"]) if "rho" in group else rho
        self.base_optimizer = base_optimizer
        # Optimizer.__init__ registers the groups; they are the base optimizer's own dicts.
        super().__init__(base_optimizer.param_groups, {"rho": rho})
        self.param_groups = base_optimizer.param_groups  # one list, shared: schedulers see both
        self.defaults.update(base_optimizer.defaults)

    @torch.no_grad()
    def _grad_norm(self) -> torch.Tensor:
        """:math:`\\|g\\|_2` over every parameter of every group (the global norm)."""
        norms = [p.grad.norm(2) for group in self.param_groups for p in group["params"]
                 if p.grad is not None]
        if not norms:
            return torch.tensor(0.0)
        device = norms[0].device
        return torch.linalg.vector_norm(torch.stack([n.to(device) for n in norms]), 2)

    @torch.no_grad()
    def first_step(self) -> None:
        """Ascent: move every parameter to :math:`w + \\epsilon`, :math:`\\epsilon = \\rho g / \\|g\\|`."""
        g_norm = self._grad_norm()
        for group in self.param_groups:
            _check_rho(group["rho"])
            scale = group["rho"] / (g_norm + EPS)
            for p in group["params"]:
                if p.grad is None:
                    continue
                e = p.grad * scale.to(p.device)  # epsilon = rho * g / ||g||
                p.add_(e)                        # w -> w + epsilon
                self.state[p]["e"] = e

    @torch.no_grad()
    def second_step(self) -> None:
        """Descent: go back to :math:`w` and take the base step with the gradient now in ``p.grad``."""
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state.get(p)
                if state and "e" in state:
                    p.sub_(state.pop("e"))       # w + epsilon -> w
        self.base_optimizer.step()               # w <- base_step(w, g_SAM)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:  # type: ignore[override]
        """One SAM step: loss and gradient at :math:`w`, ascent, gradient at :math:`w+\\epsilon`, descent.

        Args:
            closure: recomputes the loss and calls ``backward()`` on it (it does not need to
                zero the gradients: ``step`` does that before each call). Required.

        Returns:
            The loss at :math:`w` (the first closure call), as the closure returned it.
        """
        if closure is None:
            raise ValueError("SAM: step() needs a closure that recomputes the loss and calls "
                             "backward(); SAM evaluates the gradient at two points")
        with torch.enable_grad():
            self.zero_grad(set_to_none=True)
            loss = closure()              # g = grad L(w)
        self.first_step()                 # w -> w + epsilon
        with torch.enable_grad():
            self.zero_grad(set_to_none=True)
            closure()                     # p.grad = grad L(w + epsilon)
        self.second_step()                # back to w, base step with g_SAM
        return loss

    def state_dict(self) -> dict[str, Any]:
        """The base optimizer's state (SAM keeps none between steps; ``rho`` is in the groups)."""
        return self.base_optimizer.state_dict()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a :meth:`state_dict` into the base optimizer (and so into the shared groups)."""
        self.base_optimizer.load_state_dict(state_dict)
        self.param_groups = self.base_optimizer.param_groups
