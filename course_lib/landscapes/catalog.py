"""The course's landscapes by name, and builders for other parameters.

:data:`LANDSCAPES` and :func:`get_landscape`; :func:`make_ravine` and :func:`make_rosenbrock`.
"""

from __future__ import annotations

import functools
import math

from course_lib.landscapes.closed_form import (
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
    himmelblau,
    ravine,
    rosenbrock,
    saddle,
    saddle_bounded,
)
from course_lib.landscapes.landscape import Landscape

__all__ = ["make_ravine", "make_rosenbrock", "LANDSCAPES", "get_landscape"]


def make_ravine(kappa: float = 20.0, angle: float = 0.0) -> Landscape:
    """A :func:`ravine` landscape with condition number ``kappa`` rotated by ``angle`` radians."""
    if not kappa >= 1.0:
        raise ValueError(f"kappa is a condition number and must be >= 1, got {kappa!r}")
    c, s = math.cos(angle), math.sin(angle)
    # start on the steep axis and far along the shallow one, in the rotated frame
    u, v = -4.0, 1.5
    start = (c * u - s * v, s * u + c * v)
    return Landscape(
        name="ravine",
        fn=functools.partial(ravine, kappa=float(kappa), angle=float(angle)),
        minima=((0.0, 0.0),),
        f_min=0.0,
        xlim=(-5.0, 5.0),
        ylim=(-3.0, 3.0) if angle == 0 else (-5.0, 5.0),
        start=(round(start[0], 12), round(start[1], 12)),
        description=f"ill-conditioned ravine, condition number {kappa:g}",
        value_and_grad=functools.partial(ravine_value_and_grad, kappa=float(kappa),
                                         angle=float(angle)),
    )


def make_rosenbrock(a: float = 1.0, b: float = 100.0) -> Landscape:
    """A :func:`rosenbrock` landscape with parameters ``a`` and ``b`` (minimum at ``(a, a^2)``)."""
    if not b > 0:
        raise ValueError(f"b must be > 0, got {b!r}")
    return Landscape(
        name="rosenbrock",
        fn=functools.partial(rosenbrock, a=float(a), b=float(b)),
        minima=((float(a), float(a) ** 2),),
        f_min=0.0,
        xlim=(a - 3.0, a + 1.0),
        ylim=(a**2 - 2.0, a**2 + 2.0),
        start=(-1.2, 1.0),
        description="Rosenbrock's banana valley",
        value_and_grad=functools.partial(rosenbrock_value_and_grad, a=float(a), b=float(b)),
    )


_SQRT2 = math.sqrt(2.0)

LANDSCAPES: dict[str, Landscape] = {
    "bowl": Landscape(
        name="bowl",
        fn=bowl,
        minima=((0.0, 0.0),),
        f_min=0.0,
        xlim=(-3.0, 3.0),
        ylim=(-3.0, 3.0),
        start=(-2.5, 2.0),
        description="isotropic convex bowl",
        value_and_grad=bowl_value_and_grad,
    ),
    "ravine": make_ravine(),
    "rosenbrock": make_rosenbrock(),
    "beale": Landscape(
        name="beale",
        fn=beale,
        minima=((3.0, 0.5),),
        f_min=0.0,
        xlim=(-4.5, 4.5),
        ylim=(-4.5, 4.5),
        start=(1.0, 1.5),
        saddles=((0.0, 1.0),),
        description="Beale's function",
        value_and_grad=beale_value_and_grad,
    ),
    "saddle": Landscape(
        name="saddle",
        fn=saddle,
        minima=(),
        f_min=-math.inf,
        xlim=(-2.0, 2.0),
        ylim=(-2.0, 2.0),
        start=(-1.5, 1e-3),
        saddles=((0.0, 0.0),),
        description="saddle x^2 - y^2 (unbounded below)",
        value_and_grad=saddle_value_and_grad,
    ),
    "saddle_bounded": Landscape(
        name="saddle_bounded",
        fn=saddle_bounded,
        minima=((0.0, _SQRT2), (0.0, -_SQRT2)),
        f_min=-1.0,
        xlim=(-2.0, 2.0),
        ylim=(-2.5, 2.5),
        start=(-1.5, 1e-3),
        saddles=((0.0, 0.0),),
        description="saddle with a floor, x^2 - y^2 + y^4/4",
        value_and_grad=saddle_bounded_value_and_grad,
    ),
    "himmelblau": Landscape(
        name="himmelblau",
        fn=himmelblau,
        minima=(
            (3.0, 2.0),
            (-2.8051180869527449, 3.1313125182505730),
            (-3.7793102533777469, -3.2831859912861694),
            (3.5844283403304917, -1.8481265269644036),
        ),
        f_min=0.0,
        xlim=(-5.0, 5.0),
        ylim=(-5.0, 5.0),
        start=(0.0, 0.0),
        description="Himmelblau's function (four minima)",
        value_and_grad=himmelblau_value_and_grad,
    ),
}


def get_landscape(name: str) -> Landscape:
    """The landscape called ``name`` (one of ``LANDSCAPES``).

    For other parameters build one directly: ``make_ravine(kappa=100)``,
    ``make_rosenbrock(b=10)``.
    """
    try:
        return LANDSCAPES[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown landscape {name!r}; choose one of {sorted(LANDSCAPES)}"
        ) from None
