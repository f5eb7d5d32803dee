"""Every explorer of the course, built as its lesson builds it: one entry each.

``bench/widgets.py`` times every entry's slider moves; ``tests/test_browser.py`` drives one
slider of every entry in a real JupyterLab and checks the readout and the picture against the
entry's pure result function. Adding an explorer to both is one :class:`ExplorerCase` in
:data:`CASES`:

* ``setup``: the lesson's code (imports included) that leaves the widget in ``explorer`` and
  whatever its pure function needs (data, a precomputed grid) in the namespace. Keep it the
  lesson's call, with ``device="cpu"`` where the lesson passes its device;
* ``result``: the pure result function as an expression of ``v``, the control values by name
  (``"lr_result(v['lr'], v['landscape'], device='cpu')"``): the browser test evaluates it for
  the slider's new value, independently of the widget;
* ``slider`` and ``presses``: the slider the browser test moves and how many right-arrow presses
  (choose a move whose readout differs from the start);
* ``sweeps``: what the benchmark moves: control names (every option of a slider over fixed values,
  ``n`` values spread over a float slider's range), optionally after setting other controls
  (``("lr", {"landscape": "ravine"})``).

The case functions run in the namespace of ``setup`` (helpers here need only ipywidgets).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import ipywidgets as widgets

__all__ = ["ExplorerCase", "CASES", "SLIDER_TYPES", "build", "moved_value", "sweep_values",
           "slider_index", "case_by_name"]

#: Controls the browser test can move with the arrow keys (a noUiSlider handle in the page).
SLIDER_TYPES = (widgets.FloatSlider, widgets.FloatLogSlider, widgets.IntSlider,
                widgets.SelectionSlider)


@dataclass(frozen=True)
class ExplorerCase:
    name: str                      # the explorer's name (CSS class course-<name>-explorer)
    lesson: str                    # the lesson notebook that shows it
    setup: str                     # code leaving the widget in `explorer`
    result: str                    # the pure result function, an expression of `v`
    slider: str                    # the control the browser test moves
    presses: int                   # right-arrow presses in the browser test
    sweeps: tuple[tuple[str, Mapping[str, Any]] | str, ...] = field(default=())


CASES: tuple[ExplorerCase, ...] = (
    ExplorerCase(
        name="lr", lesson="03_learning_rate.ipynb",
        setup=("from course_lib.widgets import lr_explorer, lr_result\n"
               "explorer = lr_explorer(lr=0.1, landscape='quadratic', device='cpu')"),
        result="lr_result(v['lr'], v['landscape'], device='cpu')",
        slider="lr", presses=12,
        sweeps=("lr", ("lr", {"landscape": "ravine", "lr": 0.01}),
                ("lr", {"landscape": "rosenbrock", "lr": 0.001})),
    ),
    ExplorerCase(
        name="momentum", lesson="04_momentum.ipynb",
        setup=("from course_lib.widgets import momentum_explorer, momentum_result\n"
               "explorer = momentum_explorer(lr=0.05, momentum=0.9, device='cpu')"),
        result=("momentum_result(v['lr'], v['momentum'], v['nesterov'], v['landscape'], "
                "device='cpu')"),
        slider="momentum", presses=5,
        sweeps=("lr", "momentum"),
    ),
    ExplorerCase(
        name="adam", lesson="05_adaptive_methods.ipynb",
        setup=("from course_lib.widgets import adam_explorer, adam_result\n"
               "explorer = adam_explorer(lr=0.1, beta1=0.9, beta2=0.999, device='cpu')"),
        result=("adam_result(v['lr'], v['beta1'], v['beta2'], v['landscape'], "
                "device='cpu')"),
        slider="beta1", presses=5,
        sweeps=("lr", "beta1", "beta2"),
    ),
    ExplorerCase(
        name="schedule", lesson="07_lr_schedules.ipynb",
        setup=("from course_lib.schedule_designer import design_result, schedule_designer\n"
               "explorer = schedule_designer(shape='cosine', warmup=0.1, peak_lr=0.1, floor=0.0,"
               " device='cpu')"),
        result=("design_result(v['shape'], warmup=v['warmup'], peak_lr=v['peak_lr'], "
                "floor=v['floor'], device='cpu')"),
        slider="warmup", presses=2,
        sweeps=("warmup", "peak_lr"),
    ),
)


def case_by_name(name: str) -> ExplorerCase:
    for case in CASES:
        if case.name == name:
            return case
    raise KeyError(name)


def build(case: ExplorerCase) -> tuple[Any, dict[str, Any]]:
    """Run the case's setup; return ``(explorer, namespace)``."""
    ns: dict[str, Any] = {}
    exec(compile(case.setup, f"<setup of the {case.name} explorer>", "exec"), ns)  # noqa: S102
    return ns["explorer"], ns


def pure_result(case: ExplorerCase, ns: dict[str, Any], values: Mapping[str, Any]) -> Any:
    """The case's pure result function for ``values`` (not the widget's lookup)."""
    return eval(case.result, ns, {"v": dict(values)})  # noqa: S307 - the course's own code


def _options(control) -> list[Any]:
    return [o[1] if isinstance(o, tuple) else o for o in control.options]


def slider_index(explorer, name: str) -> int:
    """Which of the explorer's sliders (in page order) is control ``name``."""
    sliders = [k for k, c in explorer.controls.items() if isinstance(c, SLIDER_TYPES)]
    if name not in sliders:
        raise ValueError(f"{name!r} is not a slider of the {explorer.explorer_name} explorer")
    return sliders.index(name)


def moved_value(control, presses: int) -> Any:
    """The control's value after ``presses`` right-arrow presses on its handle."""
    if isinstance(control, widgets.SelectionSlider):
        opts = _options(control)
        return opts[min(control.index + presses, len(opts) - 1)]
    if isinstance(control, widgets.FloatLogSlider):
        exponent = math.log(control.value, control.base) + presses * control.step
        exponent = min(max(exponent, control.min), control.max)
        return control.base ** (round(exponent / control.step) * control.step)
    if isinstance(control, widgets.IntSlider):
        return min(control.value + presses * control.step, control.max)
    if isinstance(control, widgets.FloatSlider):
        value = min(control.value + presses * control.step, control.max)
        decimals = max(0, -math.floor(math.log10(control.step)) + 1)
        return round(value, decimals)
    raise TypeError(f"cannot press arrow keys on a {type(control).__name__}")


def sweep_values(control, n: int) -> list[Any]:
    """What the benchmark sets a control to: every option, or ``n`` points over its range."""
    if hasattr(control, "options"):
        opts = _options(control)
        return [opts[i % len(opts)] for i in range(max(n, len(opts)))] if len(opts) < n \
            else opts
    if isinstance(control, widgets.FloatLogSlider):
        lo, hi, step = control.min, control.max, control.step
        return [control.base ** (round((lo + (hi - lo) * i / (n - 1)) / step) * step)
                for i in range(n)]
    if isinstance(control, widgets.FloatSlider | widgets.IntSlider):
        lo, hi, step = control.min, control.max, control.step
        vals = [round((lo + (hi - lo) * i / (n - 1)) / step) * step for i in range(n)]
        return [int(v) for v in vals] if isinstance(control, widgets.IntSlider) else \
            [round(v, 10) for v in vals]
    raise TypeError(f"cannot sweep a {type(control).__name__}")
