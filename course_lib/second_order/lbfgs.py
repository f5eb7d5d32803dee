"""L-BFGS from scratch: the two-loop recursion and the ``torch.optim.Optimizer`` built on it.

:func:`two_loop_direction` computes :math:`H_k g` from the last ``history_size`` pairs
(N&W Alg. 7.4); :class:`LBFGS` runs the iterations (N&W Alg. 7.5) with one of the line
searches of :mod:`course_lib.second_order.line_search`, with ``torch.optim.LBFGS``'s argument
names and state layout.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch

from course_lib.second_order.line_search import backtracking_line_search, strong_wolfe_line_search

__all__ = ["two_loop_direction", "LBFGS", "MAX_LINE_SEARCH_EVALS"]


def two_loop_direction(
    g: torch.Tensor,
    s_history: Sequence[torch.Tensor],
    y_history: Sequence[torch.Tensor],
    gamma: float,
) -> torch.Tensor:
    r"""The two-loop recursion: :math:`H_k\,g` without ever forming :math:`H_k`.

    :math:`H_k` is what the BFGS inverse update

    .. math:: H \leftarrow (I - \rho\, s y^\top)\, H\, (I - \rho\, y s^\top) + \rho\, s s^\top,
              \qquad \rho = 1 / (y^\top s)

    makes of :math:`H^0 = \gamma I` when applied with the stored pairs, oldest first. The
    recursion gets the same vector with :math:`4mn` multiplications:

    .. math::

        q &\leftarrow g \\
        \text{for } i = k-1 \dots k-m:\quad
            \alpha_i &\leftarrow \rho_i\, s_i^\top q, \quad q \leftarrow q - \alpha_i y_i \\
        r &\leftarrow \gamma\, q \\
        \text{for } i = k-m \dots k-1:\quad
            \beta &\leftarrow \rho_i\, y_i^\top r, \quad r \leftarrow r + (\alpha_i - \beta)\, s_i

    Args:
        g: the gradient, flat.
        s_history: the steps :math:`s_i`, oldest first.
        y_history: the gradient changes :math:`y_i`, oldest first (each with
            :math:`y_i^\top s_i > 0`).
        gamma: the initial inverse-Hessian scale, usually :math:`s^\top y / y^\top y` of the
            newest pair (eq. 7.20).

    Returns:
        :math:`r = H_k g`. The L-BFGS search direction is :math:`-r`.
    """
    if len(s_history) != len(y_history):
        raise ValueError("s_history and y_history must have the same length")
    rho = [1.0 / float(y.dot(s)) for s, y in zip(s_history, y_history)]
    alpha = [0.0] * len(s_history)
    q = g.clone()
    for i in reversed(range(len(s_history))):           # newest to oldest
        alpha[i] = rho[i] * float(s_history[i].dot(q))  # alpha_i = rho_i s_i^T q
        q.add_(y_history[i], alpha=-alpha[i])           # q = q - alpha_i y_i
    r = q.mul_(gamma)                                   # r = H0 q, H0 = gamma I
    for i in range(len(s_history)):                     # oldest to newest
        beta = rho[i] * float(y_history[i].dot(r))      # beta = rho_i y_i^T r
        r.add_(s_history[i], alpha=alpha[i] - beta)     # r = r + (alpha_i - beta) s_i
    return r


_LINE_SEARCHES = ("strong_wolfe", "backtracking", None)
MAX_LINE_SEARCH_EVALS = 25  # per line search, as torch.optim.LBFGS


def _check(name: str, value: Any, *, low: float = 0.0, low_open: bool = False,
           integer: bool = False, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    kind = "an int" if integer else "a finite number"
    ok_type = isinstance(value, int) if integer else isinstance(value, int | float)
    if isinstance(value, bool) or not ok_type or not math.isfinite(value) or (
        value <= low if low_open else value < low
    ):
        rule = f"> {low:g}" if low_open else f">= {low:g}"
        raise ValueError(f"LBFGS: {name} must be {kind} {rule}, got {value!r}")


def _as_float(loss: Any) -> float:
    return float(loss.detach()) if torch.is_tensor(loss) else float(loss)


class LBFGS(torch.optim.Optimizer):
    r"""L-BFGS with a strong-Wolfe (default), backtracking or no line search.

    One call to ``step(closure)`` runs up to ``max_iter`` iterations of (N&W Alg. 7.5):

    .. math::

        d_k &= -H_k\, g_k                     && \text{two-loop recursion, } m \text{ pairs} \\
        t_k &: \text{line search along } d_k  && \text{strong Wolfe, or Armijo, or } t = \text{lr} \\
        s_k &= t_k d_k, \quad y_k = g_{k+1} - g_k, \quad \text{keep the pair if } y_k^\top s_k > 10^{-10} \\
        H^0_{k+1} &= \gamma I, \quad \gamma = s_k^\top y_k / y_k^\top y_k

    The first trial step is ``lr`` (1 is the natural step of a quasi-Newton method), except on
    the very first iteration, where there is no curvature yet and the trial is
    :math:`\min(1, 1/\|g\|_1)\cdot` lr, as in ``torch.optim.LBFGS``.

    The step ends when ``max|g| <= tolerance_grad``; when the move ``max|t d|`` is
    ``<= tolerance_change`` or the loss changed by ``< tolerance_change`` (torch's tests);
    when ``d`` is not a descent direction; or when ``max_iter`` iterations or ``max_eval``
    closure calls were used (each line search may use up to 25). The history survives between ``step`` calls, so calling
    ``step`` again continues where the last call stopped.

    Differences from ``torch.optim.LBFGS``: the default line search is "strong_wolfe" (torch's
    default is none, which makes Rosenbrock's f spike to ~1e7 on the way); "backtracking" is
    an extra option; arguments are validated.

    State (``optimizer.state[first parameter]``): ``func_evals`` (closure calls, all steps),
    ``n_iter`` (iterations, all steps), ``d``, ``t``, ``old_dirs`` (:math:`y`),
    ``old_stps`` (:math:`s`), ``ro``, ``H_diag`` (:math:`\gamma`), ``prev_flat_grad``,
    ``prev_loss``.

    Args:
        params: the tensors to optimize (one param group only, as in torch).
        lr: scale of the first trial step of every line search (> 0). Default 1.
        max_iter: most iterations per ``step()`` (>= 1). Default 20.
        max_eval: closure calls per ``step()`` after which no new iteration starts (default
            ``max_iter * 5 // 4``). As in torch, it is checked between iterations, so the
            last line search can take the count past it (by at most 25, the per-search cap).
        tolerance_grad: stop when the largest gradient entry is at most this (>= 0).
        tolerance_change: stop when the move or the loss change is below this (>= 0).
        history_size: :math:`m`, pairs kept (>= 1). Default 10.
        line_search_fn: "strong_wolfe", "backtracking" or ``None`` (fixed step ``lr``).

    Raises:
        ValueError: for an invalid setting or more than one param group.

    Example:
        >>> x = torch.tensor([-1.2, 1.0], dtype=torch.float64, requires_grad=True)
        >>> opt = LBFGS([x], max_iter=200, tolerance_grad=1e-10, tolerance_change=0)
        >>> def closure():
        ...     opt.zero_grad()
        ...     f = (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2
        ...     f.backward()
        ...     return f
        >>> _ = opt.step(closure)
        >>> [round(v, 6) for v in x.tolist()]
        [1.0, 1.0]
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float = 1.0,
        max_iter: int = 20,
        max_eval: int | None = None,
        tolerance_grad: float = 1e-7,
        tolerance_change: float = 1e-9,
        history_size: int = 10,
        line_search_fn: str | None = "strong_wolfe",
    ) -> None:
        _check("lr", lr, low_open=True)
        _check("max_iter", max_iter, low=1, integer=True)
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        _check("max_eval", max_eval, low=1, integer=True)
        _check("tolerance_grad", tolerance_grad)
        _check("tolerance_change", tolerance_change)
        _check("history_size", history_size, low=1, integer=True)
        if line_search_fn not in _LINE_SEARCHES:
            raise ValueError(
                f"LBFGS: line_search_fn must be one of {_LINE_SEARCHES}, got {line_search_fn!r}"
            )
        defaults = {
            "lr": lr, "max_iter": max_iter, "max_eval": max_eval,
            "tolerance_grad": tolerance_grad, "tolerance_change": tolerance_change,
            "history_size": history_size, "line_search_fn": line_search_fn,
        }
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS: only one param group is supported (it sees one flat vector)")
        self._params = self.param_groups[0]["params"]

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Only the first group is accepted: L-BFGS treats all parameters as one vector."""
        if self.param_groups:
            raise ValueError("LBFGS: only one param group is supported (it sees one flat vector)")
        super().add_param_group(param_group)

    # -- the flat view of all parameters ------------------------------------------------------

    def _flat_grad(self) -> torch.Tensor:
        return torch.cat([
            (p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1)
            for p in self._params
        ])

    def _flat_params(self) -> torch.Tensor:
        return torch.cat([p.detach().reshape(-1) for p in self._params])

    def _set_flat_params(self, flat: torch.Tensor) -> None:
        offset = 0
        for p in self._params:
            n = p.numel()
            p.copy_(flat[offset : offset + n].view_as(p))
            offset += n

    def _evaluate(self, closure: Callable, x0: torch.Tensor, d: torch.Tensor):
        def evaluate(t: float) -> tuple[float, torch.Tensor]:
            self._set_flat_params(x0 + t * d)
            with torch.enable_grad():
                loss = _as_float(closure())
            return loss, self._flat_grad()
        return evaluate

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor]) -> torch.Tensor:  # type: ignore[override]
        """Run up to ``max_iter`` L-BFGS iterations.

        Args:
            closure: clears the gradients, computes the loss, calls ``backward()`` and returns
                the loss. Required (it is called several times per step).

        Returns:
            The loss at the start of the step (the closure's first value), as torch does.
        """
        if closure is None:
            raise ValueError("LBFGS.step needs a closure that re-evaluates the loss")
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        history_size, line_search = group["history_size"], group["line_search_fn"]

        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        with torch.enable_grad():
            orig_loss = closure()
        loss = _as_float(orig_loss)
        evals = 1
        state["func_evals"] += 1
        g = self._flat_grad()
        if float(g.abs().max()) <= tol_grad:
            return orig_loss

        d, t = state.get("d"), state.get("t")
        s_hist, y_hist = state.setdefault("old_stps", []), state.setdefault("old_dirs", [])
        H_diag = state.get("H_diag", 1.0)
        prev_g, prev_loss = state.get("prev_flat_grad"), state.get("prev_loss")

        for n in range(max_iter):
            state["n_iter"] += 1
            # 1. the direction: steepest descent at first, then the two-loop recursion
            if state["n_iter"] == 1:
                d = -g
                s_hist.clear()
                y_hist.clear()
                H_diag = 1.0
            else:
                y, s = g - prev_g, d * t
                ys = float(y.dot(s))
                if ys > 1e-10:                         # keep only pairs with positive curvature
                    if len(s_hist) == history_size:
                        s_hist.pop(0)
                        y_hist.pop(0)
                    s_hist.append(s)
                    y_hist.append(y)
                    H_diag = ys / float(y.dot(y))      # gamma = s^T y / y^T y
                d = -two_loop_direction(g, s_hist, y_hist, H_diag)
            prev_g, prev_loss = g.clone(), loss

            # 2. the step length
            t = min(1.0, 1.0 / float(g.abs().sum())) * lr if state["n_iter"] == 1 else lr
            gtd = float(g.dot(d))
            if gtd > -tol_change:                       # not a descent direction: give up
                break
            x0 = self._flat_params()
            evaluate = self._evaluate(closure, x0, d)
            if line_search == "strong_wolfe":
                loss, g, t, used = strong_wolfe_line_search(
                    evaluate, loss, g, d, t, tolerance_change=tol_change,
                    max_evals=MAX_LINE_SEARCH_EVALS)
            elif line_search == "backtracking":
                loss, g, t, used = backtracking_line_search(
                    evaluate, loss, g, d, t,
                    max_evals=MAX_LINE_SEARCH_EVALS)
            else:
                loss, g = evaluate(t)
                used = 1
            self._set_flat_params(x0 + t * d)           # the search may end away from t
            evals += used
            state["func_evals"] += used

            # 3. stopping tests
            if n == max_iter - 1 or evals >= max_eval:
                break
            if float(g.abs().max()) <= tol_grad:
                break
            if float(d.abs().max()) * t <= tol_change:
                break
            if abs(loss - prev_loss) < tol_change:
                break

        state.update(d=d, t=t, H_diag=H_diag, prev_flat_grad=prev_g, prev_loss=prev_loss)
        return orig_loss
