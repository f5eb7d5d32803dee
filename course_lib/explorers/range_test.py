"""The LR finder explorer (lesson 09): smoothing, rule and range, against a constant-lr sweep.

When the lesson's cell runs, :func:`range_test_setup` runs one range test per sweep range
(``course_lib.lr_finder.lr_range_test``, with the course's probes) and a constant-lr sweep of
short trainings, the ground truth. The explorer then re-reads the recorded losses:

* **smoothing β**: the published rules read the bias-corrected moving average of the recorded
  losses with this β (the sweep itself stopped by its own β = 0.98; lesson 09 recomputes a
  rule on the recorded losses the same way). The course's ``suggested_lr`` does not read the
  smoothed curve (its window uses β = 0.8, then short runs decide), so it does not move;
* **the rule**: steepest, valley, minimum/10 or the course's ``suggested_lr``;
* **the range**: which range test (start and end learning rate of its 100 steps).

Readout and figure: the curve with every suggestion, the chosen one's value, and the sweep's
final loss at it (interpolated in log lr between the sweep's runs) against the sweep's best.

Example (in a notebook)::

    setup = range_test_setup(new_model, new_optimizer, make_batches, F.cross_entropy, short_run)
    range_test_result(setup, beta=0.98, rule="steepest").readout
    range_test_explorer(setup)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from course_lib.explorers.base import Readout, as_float, choice_slider, invalid_line, toggle
from course_lib.explorers.figures import (
    BLUE,
    DPI,
    FIGSIZE,
    GREEN,
    GREY,
    ORANGE,
    RED,
    ExplorerFigure,
    explorer_style,
    fmt_number,
    log_axis,
)
from course_lib.explorers.shell import Explorer
from course_lib.lr_finder import LRFinderResult, lr_range_test, smooth_losses, suggest_all

__all__ = [
    "RULES",
    "BETAS",
    "RANGES",
    "RangeTestSetup",
    "range_test_setup",
    "RangeTestResult",
    "range_test_result",
    "RangeTestFigure",
    "range_test_figure",
    "range_test_explorer",
]

#: The rules the explorer offers: the three published ones and the course's.
RULES = ("steepest", "valley", "minimum_div_10", "suggested_lr")
#: Smoothing values on the slider.
BETAS = (0.0, 0.5, 0.8, 0.9, 0.95, 0.98, 0.99)
#: Sweep ranges (start lr, end lr), 100 steps each.
RANGES = ((1e-7, 10.0), (1e-5, 10.0), (1e-4, 1.0))
_COLORS = {"steepest": ORANGE, "valley": GREEN, "minimum_div_10": RED, "suggested_lr": "black"}
_MARKERS = {"steepest": "o", "valley": "s", "minimum_div_10": "^", "suggested_lr": "*"}


def _range_label(r: tuple[float, float]) -> str:
    return f"{r[0]:g} to {r[1]:g}"


@dataclass(frozen=True, eq=False)
class RangeTestSetup:
    """The range tests and the constant-lr sweep the explorer reads.

    Attributes:
        tests: the range test of each range, by ``(start_lr, end_lr)``.
        sweep_lrs, sweep_losses: the constant-lr sweep (final loss of each run; ``inf``:
            diverged).
        sweep_steps: steps of each sweep run (for the readout).
        num_iters: steps of each range test.
    """

    tests: dict = field(repr=False)
    sweep_lrs: np.ndarray = field(repr=False)
    sweep_losses: np.ndarray = field(repr=False)
    sweep_steps: int
    num_iters: int

    @property
    def best_lr(self) -> float:
        """The sweep's best learning rate."""
        return float(self.sweep_lrs[int(np.argmin(self.sweep_losses))])

    def loss_at(self, lr: float) -> float:
        """The sweep's final loss at ``lr``, interpolated linearly in log lr (NaN outside)."""
        x = np.log(self.sweep_lrs)
        y = np.asarray(self.sweep_losses, dtype=float)
        if not (math.isfinite(lr) and lr > 0) or not x[0] <= math.log(lr) <= x[-1]:
            return math.nan
        i = min(max(int(np.searchsorted(x, math.log(lr))), 1), len(x) - 1)
        t = (math.log(lr) - x[i - 1]) / (x[i] - x[i - 1])
        if not (math.isfinite(y[i - 1]) and math.isfinite(y[i])):
            return math.inf
        return float((1 - t) * y[i - 1] + t * y[i])


def range_test_setup(
    new_model: Callable,
    new_optimizer: Callable,
    make_batches: Callable[[], Callable],
    loss_fn: Callable,
    run_constant: Callable[[float], float] | None,
    *,
    ranges: Sequence[tuple[float, float]] = RANGES,
    sweep_lrs: Sequence[float] = tuple(np.logspace(-3, 0.5, 15)),
    sweep_losses: Sequence[float] | None = None,
    done: dict | None = None,
    sweep_steps: int = 200,
    num_iters: int = 100,
    device=None,
) -> RangeTestSetup:
    """Run a range test per range and the constant-lr sweep.

    Args:
        new_model: ``() -> model``, the same initial weights every call.
        new_optimizer: ``model -> optimizer``.
        make_batches: ``() -> get_batch``, a fresh batch stream (the same batches every call).
        loss_fn: ``loss_fn(model(x), y) -> loss``.
        run_constant: ``lr -> final loss`` of a short training at that constant lr (``inf``
            if it diverged): the sweep's runs (not called when ``sweep_losses`` is given).
        ranges: the ``(start_lr, end_lr)`` of each range test.
        sweep_lrs: the sweep's learning rates, ascending.
        sweep_losses: the sweep's final losses, when it has been run already (a lesson's grid).
        done: range tests already run, by ``(start_lr, end_lr)`` (not run again).
        sweep_steps: the number of steps ``run_constant`` trains (for the readout).
        num_iters: steps of each range test.
        device: passed to ``lr_range_test``.
    """
    lrs = np.asarray(sweep_lrs, dtype=float)
    if len(lrs) < 2 or not np.all(np.diff(lrs) > 0) or not lrs[0] > 0:
        raise ValueError("sweep_lrs must be at least 2 positive learning rates, ascending")
    tests = {}
    done = {(float(a), float(b)): t for (a, b), t in (done or {}).items()}
    for start, end in ranges:
        if (float(start), float(end)) in done:
            tests[(float(start), float(end))] = done[(float(start), float(end))]
            continue
        model = new_model()
        tests[(float(start), float(end))] = lr_range_test(
            model, new_optimizer(model), make_batches(), loss_fn, start_lr=start, end_lr=end,
            num_iters=num_iters, device=device)
    if sweep_losses is not None:
        losses = np.asarray(sweep_losses, dtype=float)
        if losses.shape != lrs.shape:
            raise ValueError(f"sweep_losses must have one loss per lr ({len(lrs)}), "
                             f"got {losses.shape}")
    elif run_constant is None:
        raise ValueError("give run_constant or sweep_losses")
    else:
        losses = np.array([run_constant(float(lr)) for lr in lrs], dtype=float)
    losses = np.where(np.isfinite(losses), losses, np.inf)
    return RangeTestSetup(tests=tests, sweep_lrs=lrs, sweep_losses=losses,
                          sweep_steps=sweep_steps, num_iters=num_iters)


@dataclass(frozen=True, eq=False)
class RangeTestResult(Readout):
    """One reading of one range test.

    Attributes:
        beta, rule, sweep_range: the settings.
        lrs, losses, smoothed: the recorded curve and its smoothing with ``beta``.
        suggestions: every rule's lr on this reading (``suggested_lr``: the course's).
        lr: the chosen rule's lr (NaN if it has none).
        ratio: ``lr`` / the sweep's best lr.
        loss_there, best_loss: the sweep's final loss at ``lr`` and its best.
        error: why the settings could not be read, else ``None``.
        lines: the readout.
    """

    beta: float
    rule: str
    sweep_range: tuple[float, float]
    lrs: np.ndarray = field(repr=False)
    losses: np.ndarray = field(repr=False)
    smoothed: np.ndarray = field(repr=False)
    suggestions: dict = field(default_factory=dict)
    lr: float = math.nan
    ratio: float = math.nan
    loss_there: float = math.nan
    best_loss: float = math.nan
    error: str | None = None
    lines: tuple[str, ...] = ()
    setup: RangeTestSetup | None = field(default=None, repr=False)


def range_test_result(setup: RangeTestSetup, beta: float = 0.98, rule: str = "suggested_lr",
                      sweep_range: tuple[float, float] = RANGES[0]) -> RangeTestResult:
    """Read one range test with smoothing ``beta`` and one rule, against the sweep.

    Returns:
        A :class:`RangeTestResult`; a β outside [0, 1), an unknown rule or a range that was not
        run give one whose ``error`` says why.
    """
    b = as_float(beta)
    key = tuple(float(v) for v in sweep_range) if isinstance(sweep_range, tuple | list) else None
    problem = None
    if b is None or not 0.0 <= b < 1.0:
        problem = f"smoothing β must be in [0, 1), got {beta!r}"
    elif rule not in RULES:
        problem = f"rule must be one of {', '.join(RULES)}, got {rule!r}"
    elif key not in setup.tests:
        problem = (f"range must be one of {[_range_label(r) for r in setup.tests]}, "
                   f"got {sweep_range!r}")
    nothing = np.zeros(0)
    if problem is not None:
        return RangeTestResult(beta=math.nan, rule=str(rule), sweep_range=(math.nan, math.nan),
                               lrs=nothing, losses=nothing, smoothed=nothing, error=problem,
                               lines=(invalid_line(problem),), setup=setup)
    test: LRFinderResult = setup.tests[key]
    lrs = np.asarray(test.lrs, dtype=float)
    losses = np.asarray(test.losses, dtype=float)
    smoothed = smooth_losses(losses, b)
    found = suggest_all(lrs, smoothed)
    if test.suggested_lr is not None:
        found["suggested_lr"] = test.suggested_lr
    lr = found.get(rule, math.nan)
    best = setup.best_lr
    per_decade = (setup.num_iters - 1) / math.log10(key[1] / key[0])
    memory = f"memory {1 / (1 - b):.3g} steps = {1 / (1 - b) / per_decade:.2g} decades" \
        if b > 0 else "no smoothing"
    names = {"minimum_div_10": "minimum/10"}
    listed = ", ".join(f"{names.get(k, k)} {fmt_number(v)}" for k, v in found.items())
    head = (f"range {_range_label(key)} ({len(lrs)} steps, {per_decade:.3g} per decade), "
            f"smoothing β = {fmt_number(b)} ({memory}): {listed}")
    there = setup.loss_at(lr)
    best_loss = float(np.min(setup.sweep_losses))
    if math.isnan(lr):
        second = f"{names.get(rule, rule)}: no suggestion on this curve (too few points)"
    else:
        where = ("outside the sweep's lrs" if math.isnan(there) else
                 "diverged" if math.isinf(there) else f"final loss {there:.3g}")
        second = (f"{names.get(rule, rule)}: lr = {fmt_number(lr)}, {lr / best:.2f}x the "
                  f"sweep's best ({fmt_number(best)}); the {setup.sweep_steps}-step run there: "
                  f"{where} (best {best_loss:.3g})")
    lines = [head, second]
    if rule == "suggested_lr":
        lines.append(f"the course's rule: {len(test.probe_lrs)} probes from "
                     f"{fmt_number(min(test.probe_lrs))} to {fmt_number(max(test.probe_lrs))}, "
                     f"successive halving; cost {test.cost:.2f}x the range test; "
                     "it does not read the smoothed curve")
    return RangeTestResult(beta=b, rule=rule, sweep_range=key, lrs=lrs, losses=losses,
                           smoothed=smoothed, suggestions=found, lr=lr,
                           ratio=lr / best if not math.isnan(lr) else math.nan,
                           loss_there=there, best_loss=best_loss, lines=tuple(lines), setup=setup)


class RangeTestFigure(ExplorerFigure):
    """The range test's curve with every suggestion; the sweep with the chosen one."""

    def __init__(self, setup: RangeTestSetup, sweep_range: tuple[float, float]):
        super().__init__(figsize=FIGSIZE, dpi=DPI, layout="none")
        self.setup = setup
        test = setup.tests.get(tuple(sweep_range))
        with explorer_style():
            self.subplots_adjust(left=0.065, right=0.985, bottom=0.16, top=0.88, wspace=0.22)
            self.ax_curve, self.ax_sweep = self.subplots(1, 2)
            ax = self.ax_curve
            (self.raw,) = ax.plot([], [], color=GREY, linewidth=1.0, label="recorded loss")
            (self.smooth,) = ax.plot([], [], color=BLUE, linewidth=2.0, label="smoothed")
            self.marks = {}
            for name in RULES:
                (self.marks[name],) = ax.plot([], [], linestyle="none",
                                              marker=_MARKERS[name], color=_COLORS[name],
                                              markersize=12 if name == "suggested_lr" else 8,
                                              markeredgecolor="black", label=name)
            self.chosen = ax.axvline(1.0, color="black", linestyle="--", linewidth=1.2)
            ax.set_xscale("log")
            log_axis(ax.xaxis)
            if test is not None and len(test.losses):
                ax.set_xlim(*sweep_range)
                raw = np.asarray(test.losses, dtype=float)
                lo, top = float(raw.min()), float(raw[: max(1, len(raw) // 2)].max())
                span = max(top - lo, 1e-3)
                ax.set_ylim(lo - 0.1 * span, top + 0.6 * span)
            ax.set_xlabel("learning rate (rising during the range test)")
            ax.set_ylabel("training loss")
            ax.legend(loc="upper left", ncols=2, fontsize=9)
            ax.set_title(" ")
            ax = self.ax_sweep
            finite = np.isfinite(setup.sweep_losses)
            ax.plot(setup.sweep_lrs[finite], setup.sweep_losses[finite], "o-", color=GREY,
                    markersize=4, label=f"constant lr, {setup.sweep_steps} steps")
            ax.plot([setup.best_lr], [np.min(setup.sweep_losses)], "D", color=BLUE,
                    markersize=9, label="sweep's best")
            (self.sweep_mark,) = ax.plot([], [], "*", color="black", markersize=16,
                                         markeredgecolor="white", zorder=5)
            self.sweep_line = ax.axvline(1.0, color="black", linestyle="--", linewidth=1.2)
            ax.set_xscale("log")
            ax.set_yscale("log")
            log_axis(ax.xaxis)
            log_axis(ax.yaxis)
            ax.set_xlim(setup.sweep_lrs[0] / 1.5, setup.sweep_lrs[-1] * 1.5)
            ax.set_xlabel("constant learning rate")
            ax.set_ylabel("final training loss")
            ax.legend(loc="upper center")
            ax.set_title(" ")
        self.moving += [self.raw, self.smooth, *self.marks.values(), self.chosen,
                        self.sweep_mark, self.sweep_line, self.ax_curve.title,
                        self.ax_sweep.title]

    def update(self, res: RangeTestResult) -> RangeTestFigure:
        """Show ``res``; returns the figure."""
        if res.error is not None:
            for line in (self.raw, self.smooth, self.sweep_mark, *self.marks.values()):
                line.set_data([], [])
            self.ax_curve.title.set_text("invalid setting")
            self.ax_curve.title.set_color(RED)
            self.ax_sweep.title.set_text(res.error[:50])
            return self
        self.ax_curve.title.set_color("black")
        self.raw.set_data(res.lrs, res.losses)
        self.smooth.set_data(res.lrs, res.smoothed)
        for name, line in self.marks.items():
            lr = res.suggestions.get(name)
            if lr is None:
                line.set_data([], [])
            else:
                y = float(np.interp(math.log(lr), np.log(res.lrs), res.smoothed))
                line.set_data([lr], [y])
        ax = self.ax_curve
        show = math.isfinite(res.lr)
        self.chosen.set_visible(show)
        self.sweep_line.set_visible(show)
        if show:
            self.chosen.set_xdata([res.lr, res.lr])
            self.sweep_line.set_xdata([res.lr, res.lr])
        there = res.loss_there
        if show and math.isfinite(there):
            self.sweep_mark.set_data([res.lr], [there])
        else:
            self.sweep_mark.set_data([], [])
        name = {"minimum_div_10": "minimum/10"}.get(res.rule, res.rule)
        ax.title.set_text(f"β = {fmt_number(res.beta)}: {name} = {fmt_number(res.lr)}")
        self.ax_sweep.title.set_text(f"{res.ratio:.2f}x the best constant lr"
                                     if show else "no suggestion")
        return self


def range_test_figure(result: RangeTestResult) -> RangeTestFigure:
    """The LR finder explorer's picture of ``result`` (from :func:`range_test_result`).

    Returns:
        A new ``matplotlib.figure.Figure`` (not registered with pyplot).
    """
    if not isinstance(result, RangeTestResult) or result.setup is None:
        raise ValueError(f"expected a RangeTestResult from range_test_result(), got {result!r:.80}")
    return RangeTestFigure(result.setup, result.sweep_range).update(result)


def range_test_explorer(setup: RangeTestSetup, beta: float = 0.98, rule: str = "steepest",
                        sweep_range: tuple[float, float] | None = None) -> Explorer:
    """Sliders for the smoothing and the range, buttons for the rule.

    Raises:
        ValueError: if a starting value is not on its control.
    """
    ranges = list(setup.tests)
    controls = {
        "beta": choice_slider("smoothing β", BETAS, beta, fmt=lambda b: f"{b:g}"),
        "rule": toggle("rule", RULES, rule),
        "sweep_range": choice_slider("range", ranges, ranges[0] if sweep_range is None
                                     else tuple(float(v) for v in sweep_range),
                                     fmt=_range_label),
    }
    controls["rule"].style.button_width = "120px"
    explorer = Explorer(
        "lr-finder", "LR finder explorer", controls,
        result=lambda v: range_test_result(setup, v["beta"], v["rule"], v["sweep_range"]),
        figure=lambda res: RangeTestFigure(setup, res.sweep_range),
        figure_key=lambda res: res.sweep_range,
        describe=lambda v: (f"smoothing β = {v['beta']:g}, rule = {v['rule']}, range "
                            f"{_range_label(v['sweep_range'])}"))
    for key in ranges:  # draw each range's figure once now, not on the first move
        res = explorer.compute({**explorer.values(), "sweep_range": key})
        explorer.figure_for(res).render_rgb(res)
    explorer.refresh()
    return explorer
