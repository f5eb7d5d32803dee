"""Controls the landscape explorers share: the learning-rate slider and the landscape drop-down."""

from __future__ import annotations

from collections.abc import Mapping

import ipywidgets as widgets

from course_lib.explorers.problems import Problem
from course_lib.landscapes import Landscape

__all__ = ["LR_EXP", "LR_EXP_STEP", "lr_slider", "landscape_dropdown", "initial_key"]

#: Slider range, log10 of the learning rate: 1e-4 ... 10.
LR_EXP = (-4.0, 1.0)
#: Each arrow-key press multiplies lr by 10**0.05 = 1.12.
LR_EXP_STEP = 0.05


def lr_slider(lr: float, *, max_exp: float = LR_EXP[1]) -> widgets.FloatLogSlider:
    """A log-scale learning-rate slider from 1e-4 to ``10**max_exp``, starting at ``lr``.

    Raises:
        ValueError: if ``lr`` is off the slider.
    """
    value = float(lr)
    lo, hi = 10 ** LR_EXP[0], 10 ** max_exp
    if not lo <= value <= hi:
        raise ValueError(f"lr must be in [{lo:g}, {hi:g}] for the slider, got {lr!r}")
    return widgets.FloatLogSlider(
        value=value, base=10, min=LR_EXP[0], max=max_exp, step=LR_EXP_STEP,
        description="learning rate", readout_format=".3g", continuous_update=False,
        style={"description_width": "initial"}, layout=widgets.Layout(width="380px"))


def landscape_dropdown(problems: Mapping[str, Problem], initial: str) -> widgets.Dropdown:
    """A drop-down of ``problems`` (values: their keys), starting at ``initial``."""
    options = [(("1-D: " if p.dims == 1 else "") + p.label, key) for key, p in problems.items()]
    return widgets.Dropdown(options=options, value=initial, description="landscape",
                            layout=widgets.Layout(width="260px"))


def initial_key(problems: Mapping[str, Problem], spec: str | Landscape) -> str:
    """The key in ``problems`` of the starting landscape ``spec`` (a name or the object).

    Raises:
        ValueError: if ``spec`` is not among ``problems``.
    """
    for key, prob in problems.items():
        if (isinstance(spec, Landscape) and prob.landscape is spec) or key == spec:
            return key
    raise ValueError(f"the initial landscape {spec!r} must be one of landscapes")
