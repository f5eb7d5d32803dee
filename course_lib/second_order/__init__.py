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

The package, one idea per module: :mod:`~course_lib.second_order.newton` (:func:`newton_step`),
:mod:`~course_lib.second_order.line_search` (:func:`cubic_minimizer`,
:func:`strong_wolfe_line_search`, :func:`backtracking_line_search`) and
:mod:`~course_lib.second_order.lbfgs` (:func:`two_loop_direction` and :class:`LBFGS`).

References:
    J. Nocedal, S. J. Wright, *Numerical Optimization*, 2nd ed., Springer 2006: Alg. 7.4 (the
    two-loop recursion), Alg. 7.5 (L-BFGS), Alg. 3.5 / 3.6 (strong-Wolfe line search, zoom),
    eq. 3.59 (cubic interpolation), eq. 6.17 (the BFGS inverse update), eq. 7.20 (the
    initial scaling :math:`\gamma_k`).
    D. C. Liu, J. Nocedal, "On the limited memory BFGS method for large scale optimization",
    Math. Programming 45, 1989.
"""

from course_lib.second_order.lbfgs import LBFGS, two_loop_direction
from course_lib.second_order.lbfgs import MAX_LINE_SEARCH_EVALS as MAX_LINE_SEARCH_EVALS
from course_lib.second_order.line_search import Evaluate as Evaluate
from course_lib.second_order.line_search import (
    backtracking_line_search,
    cubic_minimizer,
    strong_wolfe_line_search,
)
from course_lib.second_order.newton import newton_step

__all__ = [
    "newton_step",
    "two_loop_direction",
    "cubic_minimizer",
    "strong_wolfe_line_search",
    "backtracking_line_search",
    "LBFGS",
]
