r"""Second-order methods: one Newton step, and L-BFGS written from scratch.

Newton's method models the loss near :math:`x` by its second-order Taylor expansion and jumps
to that model's stationary point:

.. math:: x_{new} = x - H(x)^{-1}\,\nabla f(x)

It needs the Hessian :math:`H` (:math:`n^2` numbers) and a linear solve (:math:`O(n^3)`),
which rules it out for networks. L-BFGS keeps only the last ``history_size`` pairs

.. math:: s_k = x_{k+1} - x_k, \qquad y_k = \nabla f(x_{k+1}) - \nabla f(x_k)

and turns them into the product :math:`H_k g \approx H^{-1} g` with the *two-loop
recursion* (:func:`two_loop_direction`), in :math:`O(mn)` time and memory. A line search
(:func:`strong_wolfe_line_search`, or :func:`backtracking_line_search`) then picks the step
length along :math:`-H_k g`.

:class:`LBFGS` is a ``torch.optim.Optimizer`` taking a closure, with ``torch.optim.LBFGS``'s
argument names and state layout (``func_evals``, ``n_iter``, ``d``, ``t``, ``old_dirs``,
``old_stps``, ...). Everything runs in the parameters' dtype and on their device.

References:
    J. Nocedal, S. J. Wright, *Numerical Optimization*, 2nd ed., Springer 2006: Alg. 7.4 (the
    two-loop recursion), Alg. 7.5 (L-BFGS), Alg. 3.5 / 3.6 (strong-Wolfe line search, zoom),
    eq. 3.59 (cubic interpolation), eq. 6.17 (the BFGS inverse update), eq. 7.20 (the
    initial scaling :math:`\gamma_k`).
    D. C. Liu, J. Nocedal, "On the limited memory BFGS method for large scale optimization",
    Math. Programming 45, 1989.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch

__all__ = [
    "newton_step",
    "two_loop_direction",
    "cubic_minimizer",
    "strong_wolfe_line_search",
    "backtracking_line_search",
    "LBFGS",
]

# A line search gets phi(t) = (f(x + t d), grad f(x + t d)) and the derivative along d is
# grad . d. Everything below passes these values around as plain floats and flat tensors.
Evaluate = Callable[[float], tuple[float, torch.Tensor]]


# ---------------------------------------------------------------------------------------------
# Newton
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# The L-BFGS direction
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# Line searches
# ---------------------------------------------------------------------------------------------


def cubic_minimizer(
    t1: float, f1: float, d1: float, t2: float, f2: float, d2: float,
    bounds: tuple[float, float] | None = None,
) -> float:
    r"""Minimizer of the cubic that matches ``f`` and its slope at ``t1`` and ``t2`` (eq. 3.59).

    .. math::

        a = d_1 + d_2 - 3\,\frac{f_1 - f_2}{t_1 - t_2}, \quad
        b = \operatorname{sign}(t_2 - t_1)\sqrt{a^2 - d_1 d_2}, \quad
        t = t_2 - (t_2 - t_1)\,\frac{d_2 + b - a}{d_2 - d_1 + 2b}

    clipped to ``bounds`` (default: the interval between the two points). When the cubic has
    no minimizer (:math:`a^2 < d_1 d_2`) the middle of the bounds is returned: bisection.
    """
    lo, hi = bounds if bounds is not None else (min(t1, t2), max(t1, t2))
    if t1 == t2:
        return min(max(t1, lo), hi)
    a = d1 + d2 - 3 * (f1 - f2) / (t1 - t2)
    disc = a * a - d1 * d2
    if disc < 0 or not math.isfinite(disc):
        return (lo + hi) / 2
    b = math.copysign(math.sqrt(disc), t2 - t1)
    denom = d2 - d1 + 2 * b
    if denom == 0:
        return (lo + hi) / 2
    t = t2 - (t2 - t1) * (d2 + b - a) / denom
    return min(max(t, lo), hi)


def strong_wolfe_line_search(
    evaluate: Evaluate,
    f0: float,
    g0: torch.Tensor,
    d: torch.Tensor,
    t: float,
    *,
    c1: float = 1e-4,
    c2: float = 0.9,
    tolerance_change: float = 1e-9,
    max_evals: int = 25,
) -> tuple[float, torch.Tensor, float, int]:
    r"""Find a step ``t`` along ``d`` that meets the strong Wolfe conditions (N&W Alg. 3.5/3.6).

    With :math:`\phi(t) = f(x + t d)` and :math:`\phi'(t) = \nabla f(x + t d)^\top d`:

    .. math::

        \phi(t) &\le \phi(0) + c_1\, t\, \phi'(0)   && \text{sufficient decrease (Armijo)} \\
        |\phi'(t)| &\le c_2\, |\phi'(0)|            && \text{curvature: the slope has flattened}

    **Phase 1 (bracketing, Alg. 3.5).** Try ``t``. If it breaks sufficient decrease, or is no
    better than the previous trial, a good step lies between the previous trial and ``t``:
    zoom. If it meets both conditions: done. If the slope there is already uphill
    (:math:`\phi'(t) \ge 0`) the minimum was passed: zoom between ``t`` and the previous
    trial. Otherwise the step was too short: extrapolate (cubic through the last two trials,
    kept within [t + 0.01 (t - t_prev), 10 t]) and try again.

    **Phase 2 (zoom, Alg. 3.6).** Keep an interval [lo, hi] where ``lo`` is the best point
    that meets sufficient decrease and the slope at ``lo`` points towards ``hi``. Try the
    cubic interpolant's minimizer (moved to at least 10% of the interval from either end, so
    the interval keeps shrinking), then replace ``hi`` or ``lo`` by it according to the same
    tests, until the strong Wolfe conditions hold.

    Args:
        evaluate: ``t -> (f(x + t d), grad f(x + t d))``; each call counts as one evaluation.
        f0: :math:`f(x)`.
        g0: :math:`\nabla f(x)`, flat.
        d: the search direction (must be a descent direction, :math:`g_0^\top d < 0`).
        t: the first trial step.
        c1: sufficient-decrease constant, in (0, c2).
        c2: curvature constant, in (c1, 1); 0.9 is standard for quasi-Newton methods.
        tolerance_change: stop zooming when the interval is shorter than this (in x units).
        max_evals: the most evaluations the search may use.

    Returns:
        ``(f, g, t, evals)``: value and gradient at the accepted step, the step, and the
        number of evaluations used. If the budget runs out, the best point found so far is
        returned (possibly ``t = 0``, i.e. no move).
    """
    d_norm = float(d.abs().max())
    gtd0 = float(g0.dot(d))
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f0, g0, gtd0
    evals = 0
    bracket = None  # ((t, f, g, gtd) of lo, (t, f, g, gtd) of hi)
    while evals < max_evals:
        f_t, g_t = evaluate(t)
        evals += 1
        gtd_t = float(g_t.dot(d))
        if f_t > f0 + c1 * t * gtd0 or (evals > 1 and f_t >= f_prev):
            bracket = ((t_prev, f_prev, g_prev, gtd_prev), (t, f_t, g_t, gtd_t))
            break
        if abs(gtd_t) <= -c2 * gtd0:
            return f_t, g_t, t, evals                        # strong Wolfe holds
        if gtd_t >= 0:
            bracket = ((t, f_t, g_t, gtd_t), (t_prev, f_prev, g_prev, gtd_prev))
            break
        # still going downhill with a steep slope: try a longer step
        t_next = cubic_minimizer(t_prev, f_prev, gtd_prev, t, f_t, gtd_t,
                                 bounds=(t + 0.01 * (t - t_prev), 10 * t))
        t_prev, f_prev, g_prev, gtd_prev = t, f_t, g_t, gtd_t
        t = t_next
    if bracket is None:  # out of budget while extrapolating: keep the last (good) point
        return f_prev, g_prev, t_prev, evals

    lo, hi = bracket
    while evals < max_evals:
        width = abs(hi[0] - lo[0])
        if width * d_norm < tolerance_change or width == 0:
            break
        left, right = min(lo[0], hi[0]), max(lo[0], hi[0])
        t = cubic_minimizer(lo[0], lo[1], lo[3], hi[0], hi[1], hi[3])
        # safeguard: a trial too close to an end barely shrinks the interval
        t = min(max(t, left + 0.1 * width), right - 0.1 * width)
        f_t, g_t = evaluate(t)
        evals += 1
        gtd_t = float(g_t.dot(d))
        if f_t > f0 + c1 * t * gtd0 or f_t >= lo[1]:
            hi = (t, f_t, g_t, gtd_t)                        # too far: shrink from hi's side
        else:
            if abs(gtd_t) <= -c2 * gtd0:
                return f_t, g_t, t, evals                    # strong Wolfe holds
            if gtd_t * (hi[0] - lo[0]) >= 0:
                hi = lo                                      # the minimum lies behind t
            lo = (t, f_t, g_t, gtd_t)
    return lo[1], lo[2], lo[0], evals


def backtracking_line_search(
    evaluate: Evaluate,
    f0: float,
    g0: torch.Tensor,
    d: torch.Tensor,
    t: float,
    *,
    c1: float = 1e-4,
    shrink: float = 0.5,
    max_evals: int = 25,
) -> tuple[float, torch.Tensor, float, int]:
    r"""Backtracking: halve ``t`` until sufficient decrease (Armijo) holds (N&W Alg. 3.1).

    .. math:: \text{while } f(x + t d) > f(x) + c_1\, t\, \nabla f(x)^\top d:\quad
              t \leftarrow \text{shrink}\cdot t

    Cheaper per iteration than the strong-Wolfe search but it never lengthens a step, and
    it does not guarantee :math:`y^\top s > 0` (L-BFGS then skips that pair).

    Returns:
        ``(f, g, t, evals)``, like :func:`strong_wolfe_line_search`. If no trial passes within
        ``max_evals``, the last (shortest) trial is returned.
    """
    gtd0 = float(g0.dot(d))
    evals = 0
    while True:
        f_t, g_t = evaluate(t)
        evals += 1
        if f_t <= f0 + c1 * t * gtd0 or evals >= max_evals:
            return f_t, g_t, t, evals
        t *= shrink


# ---------------------------------------------------------------------------------------------
# The optimizer
# ---------------------------------------------------------------------------------------------

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
