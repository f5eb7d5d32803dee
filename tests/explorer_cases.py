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
    ExplorerCase(
        name="batch-size", lesson="02_gradient_descent.ipynb",
        setup=("import torch\n"
               "from course_lib.data import make_house_prices, standardize\n"
               "from course_lib.device import seed_everything\n"
               "from course_lib.explorers.batch_size import batch_size_explorer, batch_size_result\n"
               "g = seed_everything(0)\n"
               "sqft, price = make_house_prices(1000, seed=0, device='cpu')\n"
               "x, y = sqft.to(torch.float64), price.to(torch.float64) / 1000\n"
               "z, mu, sd = standardize(x)\n"
               "explorer = batch_size_explorer(z, y, batch_size=16, lr=0.05, steps=150)"),
        result="batch_size_result(v['batch_size'], z, y, lr=0.05, steps=150)",
        slider="batch_size", presses=2,
        sweeps=("batch_size",),
    ),
    ExplorerCase(
        name="weight-decay", lesson="06_adamw.ipynb",
        setup=("from course_lib.data import load_digits_split\n"
               "from course_lib.device import seed_everything\n"
               "from course_lib.explorers.decay_grid import train_decay_grid\n"
               "from course_lib.explorers.weight_decay import decay_result, weight_decay_explorer\n"
               "g = seed_everything(0)\n"
               "data = load_digits_split(device='cpu')\n"
               "X_train, y_train = data.X_train[:300], data.y_train[:300]\n"
               "X_test, y_test = data.X_test, data.y_test\n"
               "grid = train_decay_grid(X_train, y_train, X_test, y_test,\n"
               "    lrs=[10**e for e in (-2.5, -2, -1.5, -1)],\n"
               "    l2_decays=[0.0] + [10**e for e in (-4, -3.5, -3, -2.5, -2, -1.5)],\n"
               "    adamw_decays=[0.0] + [10**e for e in (-1.5, -1, -0.5, 0, 0.5, 1)],\n"
               "    adamw_axis='wd', seeds=(0, 1), steps=600, hidden=32)\n"
               "explorer = weight_decay_explorer(grid, lr=grid.lrs[2], column=4)"),
        result="decay_result(grid, v['lr'], v['column'], v['axis'])",
        slider="lr", presses=1,
        sweeps=("lr", "column", "axis"),
    ),
    ExplorerCase(
        name="clipping", lesson="08_gradient_clipping.ipynb",
        setup=("from course_lib.data import load_digits_split\n"
               "from course_lib.device import seed_everything\n"
               "from course_lib.explorers.clipping import clipping_explorer, clipping_result, "
               "clipping_setup\n"
               "g = seed_everything(0)\n"
               "data = load_digits_split(device='cpu')\n"
               "clip_setup = clipping_setup(data, device='cpu')\n"
               "explorer = clipping_explorer(clip_setup, threshold=1.0, spike=1000.0, "
               "optimizer='SGD')"),
        result="clipping_result(clip_setup, v['threshold'], v['spike'], v['optimizer'])",
        slider="threshold", presses=3,
        sweeps=("threshold", "spike", "optimizer"),
    ),
    # lesson 09 builds it on its section 3 sweep and range test (many cells, minutes): this
    # entry builds tests/test_range_test_explorer.py's small problem on the same explorer code
    ExplorerCase(
        name="lr-finder", lesson="09_lr_finder.ipynb",
        setup=("import math\n"
               "import numpy as np\n"
               "import torch\n"
               "import torch.nn.functional as F\n"
               "from torch import nn\n"
               "from course_lib.explorers.range_test import range_test_explorer, "
               "range_test_result, range_test_setup\n"
               "gen = torch.Generator().manual_seed(0)\n"
               "X = torch.randn(512, 10, generator=gen)\n"
               "y = (X @ torch.randn(10, 3, generator=gen)).argmax(dim=1)\n"
               "def make_batches(seed=0):\n"
               "    g = torch.Generator().manual_seed(seed)\n"
               "    return lambda: (lambda idx: (X[idx], y[idx]))(torch.randint(len(X), (32,), "
               "generator=g))\n"
               "def new_model():\n"
               "    torch.manual_seed(0)\n"
               "    return nn.Linear(10, 3)\n"
               "def new_optimizer(model, lr=0.01):\n"
               "    return torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)\n"
               "def run_constant(lr, steps=40):\n"
               "    model, get_batch = new_model(), make_batches(1)\n"
               "    opt = new_optimizer(model, lr)\n"
               "    for _ in range(steps):\n"
               "        xb, yb = get_batch()\n"
               "        opt.zero_grad()\n"
               "        loss = F.cross_entropy(model(xb), yb)\n"
               "        if not torch.isfinite(loss):\n"
               "            return math.inf\n"
               "        loss.backward()\n"
               "        opt.step()\n"
               "    with torch.no_grad():\n"
               "        final = F.cross_entropy(model(X), y).item()\n"
               "    return final if math.isfinite(final) else math.inf\n"
               "setup = range_test_setup(new_model, new_optimizer, make_batches, F.cross_entropy,\n"
               "    run_constant, ranges=((1e-5, 10.0), (1e-3, 10.0)),\n"
               "    sweep_lrs=tuple(np.logspace(-3, 1.5, 10)), sweep_steps=40, num_iters=60,\n"
               "    device='cpu')\n"
               "explorer = range_test_explorer(setup)"),
        result="range_test_result(setup, v['beta'], v['rule'], v['sweep_range'])",
        slider="beta", presses=1,
        sweeps=("beta", "rule", "sweep_range"),
    ),
    ExplorerCase(
        name="lbfgs", lesson="10_second_order.ipynb",
        setup=("from course_lib.data import load_digits_split\n"
               "from course_lib.device import seed_everything\n"
               "from course_lib.explorers.lbfgs import lbfgs_explorer, lbfgs_result, lbfgs_setup\n"
               "g = seed_everything(0)\n"
               "data = load_digits_split(device='cpu')\n"
               "setup = lbfgs_setup(data)\n"
               "explorer = lbfgs_explorer(setup)"),
        result=("lbfgs_result(setup, v['problem'], v['history_size'], v['line_search'], "
                "v['batch_size'])"),
        slider="history_size", presses=1,
        sweeps=("history_size", "problem", "line_search", "batch_size"),
    ),
    ExplorerCase(
        name="saddle-noise", lesson="11_landscape_geometry.ipynb",
        setup=("from course_lib.explorers.sharpness import saddle_noise_explorer, saddle_result\n"
               "explorer = saddle_noise_explorer(noise=1e-6)"),
        result="saddle_result(v['noise'])",
        slider="noise", presses=1,
        sweeps=("noise",),
    ),
    ExplorerCase(
        name="sharpness", lesson="11_landscape_geometry.ipynb",
        setup=("from course_lib.data import load_digits_split\n"
               "from course_lib.device import seed_everything\n"
               "from course_lib.explorers.sharpness import sharpness_explorer, sharpness_result, "
               "sharpness_setup\n"
               "g = seed_everything(0)\n"
               "data = load_digits_split(device='cpu')\n"
               "sharp = sharpness_setup(data)\n"
               "explorer = sharpness_explorer(sharp, batch_size=64, rho=0.2)"),
        result="sharpness_result(sharp, v['batch_size'], v['rho'])",
        slider="rho", presses=1,
        sweeps=("rho", "batch_size"),
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
