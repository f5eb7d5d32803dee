"""Two-dimensional loss landscapes to watch optimizers on, and a runner that never crashes.

Every function here takes a tensor whose last dimension holds the two coordinates, shape
``(..., 2)``, and returns the loss with shape ``(...)``. So one function serves both uses::

    f(torch.tensor([1.0, 2.0], requires_grad=True))   # one point, for autograd
    f(grid)                                           # a (200, 200, 2) grid, for a contour plot

Each :class:`Landscape` bundles a function with what a lesson needs to know about it: where
its minima are, the minimum value, a plotting window and a conventional starting point.
:func:`run_optimizer` runs any ``torch.optim.Optimizer`` (torch's or ``course_lib.optim``'s) on
a landscape and records the path; when a setting makes it blow up it reports ``diverged``
instead of raising, so a slider can be dragged anywhere.

Example::

    import torch
    from course_lib.landscapes import get_landscape, run_optimizer

    rosen = get_landscape("rosenbrock")
    run = run_optimizer(rosen, lambda params: torch.optim.Adam(params, lr=0.05), steps=500)
    run["path"][-1], run["diverged"]

The package, one idea per module: :mod:`~course_lib.landscapes.functions` (the functions, and
evaluating one on a grid), :mod:`~course_lib.landscapes.closed_form` (the same functions with
their gradients in closed form, on plain floats), :mod:`~course_lib.landscapes.landscape` (the
:class:`Landscape` record), :mod:`~course_lib.landscapes.catalog` (``LANDSCAPES``, the
``make_*`` builders, :func:`get_landscape`) and :mod:`~course_lib.landscapes.runner`
(:func:`run_optimizer`, :func:`steps_to_converge`).
"""

from course_lib.landscapes.catalog import LANDSCAPES, get_landscape, make_ravine, make_rosenbrock
from course_lib.landscapes.closed_form import (
    ValueAndGrad,
    beale_value_and_grad,
    bowl_value_and_grad,
    himmelblau_value_and_grad,
    ravine_value_and_grad,
    rosenbrock_value_and_grad,
    saddle_bounded_value_and_grad,
    saddle_value_and_grad,
)
from course_lib.landscapes.functions import (
    beale,
    bowl,
    evaluate_on_grid,
    himmelblau,
    ravine,
    rosenbrock,
    saddle,
    saddle_bounded,
)
from course_lib.landscapes.landscape import Landscape
from course_lib.landscapes.landscape import Point as Point
from course_lib.landscapes.runner import DIVERGENCE_REASONS, run_optimizer, steps_to_converge

__all__ = [
    "Landscape",
    "bowl",
    "ravine",
    "rosenbrock",
    "beale",
    "saddle",
    "saddle_bounded",
    "himmelblau",
    "ValueAndGrad",
    "ravine_value_and_grad",
    "bowl_value_and_grad",
    "rosenbrock_value_and_grad",
    "beale_value_and_grad",
    "saddle_value_and_grad",
    "saddle_bounded_value_and_grad",
    "himmelblau_value_and_grad",
    "make_ravine",
    "make_rosenbrock",
    "LANDSCAPES",
    "get_landscape",
    "evaluate_on_grid",
    "run_optimizer",
    "DIVERGENCE_REASONS",
    "steps_to_converge",
]
