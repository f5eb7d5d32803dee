"""The problems the landscape explorers run on: a 2-D landscape, or the 1-D parabola f(w) = w².

A :class:`Problem` is a :class:`~course_lib.landscapes.Landscape` plus what an explorer says
about it: its label, the Hessian's eigenvalues at the minimum (the curvatures that decide which
learning rates are stable) and a default number of steps. The 1-D problem is written as a
landscape too, ``f(w, y) = w²`` with ``y`` fixed at 0, so every explorer runs through the one
runner, :func:`course_lib.landscapes.run_optimizer`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch

from course_lib.landscapes import LANDSCAPES, Landscape

__all__ = ["QUADRATIC", "Problem", "get_problem", "problem_options"]

#: Name of the 1-D problem f(w) = w² (curvature L = 2) of the learning-rate explorer.
QUADRATIC = "quadratic"

_DEFAULT_STEPS = {
    QUADRATIC: 50,
    "bowl": 60,
    "ravine": 150,
    "rosenbrock": 300,
    "beale": 300,
    "himmelblau": 200,
    "saddle": 100,
    "saddle_bounded": 150,
}
#: Landscapes whose curvature is the same everywhere (a readout need not say "near the minimum").
_QUADRATIC_NAMES = {"bowl", "ravine"}


def _parabola(p: torch.Tensor) -> torch.Tensor:
    """f(w) = w², with the point's second coordinate ignored (it never moves: its gradient is 0)."""
    return p[..., 0] ** 2


def _parabola_value_and_grad(w: float, y: float) -> tuple[float, float, float]:
    return w * w, 2.0 * w, 0.0


_PARABOLA = Landscape(name=QUADRATIC, fn=_parabola, minima=((0.0, 0.0),), f_min=0.0,
                      xlim=(-8.0, 8.0), ylim=(-1.0, 1.0), start=(5.0, 0.0),
                      description="f(w) = w²", value_and_grad=_parabola_value_and_grad)


@dataclass(frozen=True)
class Problem:
    """A landscape as an explorer sees it.

    Attributes:
        key: the name (``"quadratic"`` for the 1-D parabola).
        label: the name for people (``"ravine (κ = 20)"``).
        landscape: the landscape (for the parabola, ``f(w, y) = w²`` started at ``(5, 0)``).
        curvatures: the Hessian's eigenvalues at the minimum (or saddle), ascending.
        where: ``""`` where the curvature is the same everywhere, else ``"near the minimum"``.
        steps: the default number of steps.
    """

    key: str
    label: str
    landscape: Landscape
    curvatures: tuple[float, ...]
    where: str
    steps: int

    @property
    def dims(self) -> int:
        """1 for the parabola, 2 for a landscape."""
        return 1 if self.landscape is _PARABOLA else 2

    @property
    def start(self) -> tuple[float, ...]:
        """The starting point (one coordinate for the parabola)."""
        return tuple(float(c) for c in self.landscape.start[: self.dims])

    @property
    def f_min(self) -> float:
        """The minimum value (``-inf`` for a landscape unbounded below)."""
        return float(self.landscape.f_min)

    @property
    def f_start(self) -> float:
        """The loss at the start."""
        with torch.no_grad():
            return float(self.landscape.fn(torch.tensor(self.landscape.start,
                                                        dtype=torch.float64)))

    @property
    def largest_curvature(self) -> float:
        """L, the largest curvature (NaN when none is known)."""
        return max(self.curvatures) if self.curvatures else float("nan")


@functools.lru_cache(maxsize=64)
def _problem_of(landscape: Landscape) -> Problem:
    if landscape is _PARABOLA:
        return Problem(key=QUADRATIC, label="f(w) = w²", landscape=_PARABOLA,
                       curvatures=(2.0,), where="", steps=_DEFAULT_STEPS[QUADRATIC])
    anchor = landscape.minima[0] if landscape.minima else (
        landscape.saddles[0] if landscape.saddles else None)
    curvatures: tuple[float, ...] = ()
    if anchor is not None:
        hess = landscape.hessian(anchor, device="cpu")
        curvatures = tuple(float(v) for v in torch.linalg.eigvalsh(hess))
    if landscape.name in _QUADRATIC_NAMES:
        where = ""
    else:
        where = "near the minimum" if landscape.minima else "near the saddle"
    label = landscape.name.replace("_", " ")
    if landscape.name == "ravine" and len(curvatures) == 2:
        label = f"ravine (κ = {curvatures[1] / curvatures[0]:.3g})"
    return Problem(key=landscape.name, label=label, landscape=landscape, curvatures=curvatures,
                   where=where, steps=_DEFAULT_STEPS.get(landscape.name, 200))


def get_problem(spec: str | Landscape | Problem, *, allow_1d: bool) -> Problem:
    """The problem for a name (``"quadratic"`` or a key of ``LANDSCAPES``) or a Landscape.

    Raises:
        ValueError: for an unknown name, or ``"quadratic"`` where ``allow_1d`` is false.
    """
    if isinstance(spec, Problem):
        return spec
    if isinstance(spec, Landscape):
        return _problem_of(spec)
    if spec == QUADRATIC:
        if not allow_1d:
            raise ValueError(f"{QUADRATIC!r} (1-D) is only available in the learning-rate explorer")
        return _problem_of(_PARABOLA)
    if isinstance(spec, str) and spec in LANDSCAPES:
        return _problem_of(LANDSCAPES[spec])
    names = ([QUADRATIC] if allow_1d else []) + sorted(LANDSCAPES)
    raise ValueError(f"unknown landscape {spec!r}; choose one of {names} or pass a Landscape")


def problem_options(specs, *, allow_1d: bool) -> dict[str, Problem]:
    """The problems of a drop-down by unique key (a repeated name gets ``" (2)"``, ...)."""
    out: dict[str, Problem] = {}
    for spec in specs:
        prob = get_problem(spec, allow_1d=allow_1d)
        key, n = prob.key, 2
        while key in out:
            key, n = f"{prob.key} ({n})", n + 1
        out[key] = prob
    if not out:
        raise ValueError("landscapes must name at least one problem")
    return out
