"""The schedule designer: shape a learning-rate schedule and watch a small training run follow it.

Three layers, like every explorer of :mod:`course_lib.explorers`, so tests and static pages get
the same pictures as a live notebook:

* :func:`~course_lib.explorers.schedule_training.design_schedule` turns the designer's settings
  (shape, warmup, floor) into one of :mod:`course_lib.schedules`' pure schedules;
* :func:`design_result` (pure: settings in, numbers out, never raises) trains a small MLP on the
  bundled digits for ``steps`` steps of Adam with that schedule driving the learning rate through
  ``LambdaLR``, and, for comparison, the same run at a constant learning rate equal to the
  peak. It records the learning rate **read from the optimizer** at every step, so the picture
  shows the rates the run actually used;
* :func:`design_figure` draws a result; :func:`schedule_designer` puts both on the explorer
  shell, :class:`~course_lib.explorers.shell.Explorer`, with sliders for the shape, the
  warmup, the peak learning rate (log scale) and the floor.

Example (in a notebook)::

    from course_lib.schedule_designer import design_result, schedule_designer   # the lessons' path

    design_result("cosine", warmup=0.1, peak_lr=3e-3, floor=0.1).readout
    schedule_designer()          # sliders in Jupyter, a PNG on GitHub / nbviewer

The run is small on purpose (one hidden layer of 32 units, 120 steps of 64 examples: about a
tenth of a second on a laptop CPU), so a slider move redraws at once (the run itself is in
:mod:`course_lib.explorers.schedule_training`).

The widget's static fallback (a PNG for GitHub / nbviewer) is the shell's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import ipywidgets as widgets
import numpy as np
import torch

from course_lib.device import resolve_device
from course_lib.explorers.figures import (
    BLUE,
    DPI,
    FIGSIZE,
    GREY,
    RED,
    ExplorerFigure,
    explorer_style,
)
from course_lib.explorers.schedule_training import (
    SHAPES,
    STEPS,
    design_schedule,
    train_at_constant_lr,
    train_with_schedule,
)
from course_lib.explorers.shell import Explorer

__all__ = [
    "PEAK_LR_RANGE",
    "WARMUP_RANGE",
    "DesignResult",
    "design_result",
    "DesignFigure",
    "design_figure",
    "schedule_designer",
]

#: Slider ranges.
PEAK_LR_RANGE = (1e-4, 1.0)
WARMUP_RANGE = (0.0, 0.5)
_LOSS_YLIM = (0.01, 30.0)


# ---------------------------------------------------------------------------------------------
# the result
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class DesignResult:
    """What one setting of the designer did.

    Attributes:
        shape: ``"cosine"``, ``"linear"``, ``"wsd"`` or ``"one-cycle"``.
        warmup: warmup as a fraction of the run, as asked.
        warmup_steps: warmup in steps, as run (see ``note``).
        peak_lr: the peak learning rate (the optimizer's base ``lr``).
        floor: the final multiplier asked for.
        steps: steps per run.
        lrs: the learning rate read from the optimizer at every step of the run.
        planned_lrs: ``peak_lr * schedule(t)`` for every step, the curve as designed.
        losses: the training (mini-batch) loss at every step run.
        diverged_at: the step at which the run blew up, else ``None``.
        test_loss, test_accuracy: on the held-out digits after the run (NaN if it diverged).
        constant_losses, constant_diverged_at, constant_test_loss, constant_test_accuracy:
            the same for a constant learning rate equal to ``peak_lr``.
        note: what was adjusted to make the settings valid for the shape, else ``None``.
        error: why the settings could not be run, else ``None``.
        lines: the readout.
    """

    shape: str
    warmup: float
    warmup_steps: int
    peak_lr: float
    floor: float
    steps: int
    lrs: np.ndarray = field(repr=False)
    planned_lrs: np.ndarray = field(repr=False)
    losses: np.ndarray = field(repr=False)
    diverged_at: int | None
    test_loss: float
    test_accuracy: float
    constant_losses: np.ndarray = field(repr=False)
    constant_diverged_at: int | None
    constant_test_loss: float
    constant_test_accuracy: float
    note: str | None = None
    error: str | None = None
    lines: tuple[str, ...] = ()

    @property
    def diverged(self) -> bool:
        """Whether the scheduled run blew up."""
        return self.diverged_at is not None

    @property
    def readout(self) -> str:
        """The readout lines joined by newlines."""
        return "\n".join(self.lines)


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def _outcome(diverged_at, test_loss, test_acc) -> str:
    if diverged_at is not None:
        return f"diverged at step {diverged_at}"
    return f"test loss {test_loss:.3f}, accuracy {test_acc:.1%}"


def _empty(shape: Any, steps: Any, error: str) -> DesignResult:
    nothing = np.zeros(0)
    return DesignResult(
        shape=str(shape), warmup=float("nan"), warmup_steps=0, peak_lr=float("nan"),
        floor=float("nan"), steps=steps if isinstance(steps, int) else 0, lrs=nothing,
        planned_lrs=nothing, losses=nothing, diverged_at=None, test_loss=math.nan,
        test_accuracy=math.nan, constant_losses=nothing, constant_diverged_at=None,
        constant_test_loss=math.nan, constant_test_accuracy=math.nan, error=error,
        lines=(f"invalid setting: {error}",),
    )


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def design_result(
    shape: str = "cosine",
    warmup: float = 0.1,
    peak_lr: float = 3e-3,
    floor: float = 0.1,
    *,
    steps: int = STEPS,
    device: str | torch.device | None = None,
) -> DesignResult:
    """Train the designer's small model with a schedule, and at a constant lr, and report.

    Never raises for odd settings: an unknown shape or a non-finite or out-of-range number gives
    a result whose ``error`` says why (and empty curves); a run that blows up is reported as
    diverged.

    Args:
        shape: one of :data:`SHAPES`.
        warmup: warmup as a fraction of the run, in [0, 1) (the slider offers 0 to 0.5).
        peak_lr: the peak learning rate, > 0 (the slider offers 1e-4 to 1).
        floor: the final learning rate as a fraction of the peak, in [0, 1].
        steps: steps per run (>= 4).
        device: where to train (default: the default device).

    Returns:
        A :class:`DesignResult`.

    Example:
        >>> res = design_result("wsd", warmup=0.05, peak_lr=1e-2, floor=0.0)
        >>> res.lrs[0] < res.lrs[10] == res.peak_lr
        True
    """
    w, lr, fl = _as_number(warmup), _as_number(peak_lr), _as_number(floor)
    problem = None
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 4:
        problem = f"steps must be an int >= 4, got {steps!r}"
    elif shape not in SHAPES:
        problem = f"shape must be one of {', '.join(SHAPES)}, got {shape!r}"
    elif w is None or not 0.0 <= w < 1.0:
        problem = f"warmup must be in [0, 1), got {warmup!r}"
    elif lr is None or lr <= 0.0:
        problem = f"peak lr must be > 0, got {peak_lr!r}"
    elif fl is None or not 0.0 <= fl <= 1.0:
        problem = f"floor must be in [0, 1], got {floor!r}"
    if problem is not None:
        return _empty(shape, steps, problem)
    try:
        device_key = str(resolve_device(device))
    except (ValueError, RuntimeError) as exc:
        return _empty(shape, steps, str(exc))

    warmup_steps = min(int(round(w * steps)), steps - 1)
    schedule, note = design_schedule(shape, warmup_steps, steps, fl)
    if shape == "wsd":
        warmup_steps = schedule.warmup_steps
    elif shape == "one-cycle":
        warmup_steps = max(warmup_steps, 2)
    planned = np.array([lr * schedule(t) for t in range(steps)])
    lrs, losses, div_at, test_loss, test_acc = train_with_schedule(schedule, lr, steps, device_key)
    c_lrs, c_losses, c_div_at, c_test_loss, c_test_acc = train_at_constant_lr(lr, steps, device_key)

    first = (f"{shape} schedule: warmup {warmup_steps} of {steps} steps, peak lr {_fmt(lr)}, "
             f"floor {fl:.0%} of peak" + (f" ({note})" if note else ""))
    second = (f"with the schedule: {_outcome(div_at, test_loss, test_acc)} | "
              f"constant lr {_fmt(lr)}: {_outcome(c_div_at, c_test_loss, c_test_acc)}")
    return DesignResult(
        shape=shape, warmup=w, warmup_steps=warmup_steps, peak_lr=lr, floor=fl, steps=steps,
        lrs=lrs, planned_lrs=planned, losses=losses, diverged_at=div_at, test_loss=test_loss,
        test_accuracy=test_acc, constant_losses=c_losses, constant_diverged_at=c_div_at,
        constant_test_loss=c_test_loss, constant_test_accuracy=c_test_acc, note=note,
        lines=(first, second),
    )


# ---------------------------------------------------------------------------------------------
# the picture
# ---------------------------------------------------------------------------------------------


def _smooth(values: np.ndarray, beta: float = 0.8) -> np.ndarray:
    """Bias-corrected exponential moving average (mini-batch noise would hide the trend)."""
    out = np.empty(len(values))
    avg = 0.0
    for i, v in enumerate(values):
        avg = beta * avg + (1 - beta) * v
        out[i] = avg / (1 - beta ** (i + 1))
    return out


def _loss_curve(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    finite = np.isfinite(values)
    ys = values.copy()
    if not finite.all():  # show a blow-up as a jump to the top of the axis
        ys[~finite] = _LOSS_YLIM[1]
    return np.arange(len(ys)), np.clip(_smooth(ys), _LOSS_YLIM[0], _LOSS_YLIM[1])


class DesignFigure(ExplorerFigure):
    """The designer's figure: the learning rate per step (as a multiple of the peak), both losses.

    Built once; each result moves the lines and the titles. The learning rate is drawn as
    ``lr / peak``, the multiplier ``LambdaLR`` applies, so the axes never change with the peak
    (the title gives the peak) and an update redraws only the moving artists over a saved
    background: a peak-lr move costs two training runs and a blit, not two runs and a full
    redraw (bench/widgets.py, load 1.2: a peak-lr move 174 ms -> 114 ms median).
    """

    def __init__(self, steps: int = STEPS) -> None:
        # a fixed layout (whatever rcParams say): constrained layout would be recomputed on
        # every redraw
        super().__init__(figsize=FIGSIZE, dpi=DPI, layout="none")
        self.steps = max(int(steps), 1)
        with explorer_style():
            self.ax_lr, self.ax_loss = self.subplots(1, 2)
            self.subplots_adjust(left=0.075, right=0.985, bottom=0.15, top=0.88, wspace=0.22)
            ax = self.ax_lr
            ax.plot([0, self.steps], [1.0, 1.0], color=GREY, linestyle="--", linewidth=1.4,
                    label="constant (the peak)")
            (self.lr_line,) = ax.plot([], [], color=BLUE, linewidth=2.0, label="schedule (as used)")
            ax.set_ylim(0, 1.08)
            ax.set_xlabel("step")
            ax.set_ylabel("learning rate / peak")
            ax.grid(True, alpha=0.3)
            ax.legend(loc="lower center", frameon=False)
            ax = self.ax_loss
            (self.loss_const,) = ax.plot([], [], color=GREY, linewidth=1.4, label="constant lr")
            (self.loss_line,) = ax.plot([], [], color=BLUE, linewidth=2.0, label="schedule")
            (self.blowup,) = ax.plot([], [], linestyle="none", marker="x", markersize=10,
                                     markeredgewidth=2.5, color=RED)
            ax.set_yscale("log")
            ax.set_ylim(*_LOSS_YLIM)
            ax.set_xlabel("step")
            ax.set_ylabel("training loss (smoothed)")
            ax.grid(True, alpha=0.3)
            ax.legend(loc="upper right", frameon=False)
            for ax in (self.ax_lr, self.ax_loss):
                ax.set_xlim(0, self.steps)
                ax.set_title(" ")  # the titles keep the style's font; update() sets the text
        self.moving = [self.lr_line, self.loss_const, self.loss_line, self.blowup,
                       self.ax_lr.title, self.ax_loss.title]

    def update(self, res: DesignResult) -> DesignFigure:
        """Show ``res``; returns the figure."""
        steps = max(res.steps, 1)
        if steps != self.steps:  # another run length: the axes change, redraw them once
            self.steps = steps
            for ax in (self.ax_lr, self.ax_loss):
                ax.set_xlim(0, steps)
            self.static_changed = True
        if res.error is not None:
            for line in (self.lr_line, self.loss_const, self.loss_line, self.blowup):
                line.set_data([], [])
            self.ax_lr.title.set_text("invalid setting")
            self.ax_loss.title.set_text(res.error[:60])
            return self
        peak = res.peak_lr
        xs = np.arange(len(res.planned_lrs))
        used = np.full(len(res.planned_lrs), np.nan)
        used[: len(res.lrs)] = res.lrs
        self.lr_line.set_data(xs, (used if res.diverged else res.lrs) / peak)
        self.ax_lr.title.set_text(f"{res.shape}: warmup {res.warmup_steps} steps, peak {_fmt(peak)}")
        self.loss_const.set_data(*_loss_curve(res.constant_losses))
        self.loss_line.set_data(*_loss_curve(res.losses))
        if res.diverged:
            self.blowup.set_data([res.diverged_at], [_LOSS_YLIM[1] * 0.8])
        else:
            self.blowup.set_data([], [])
        if res.diverged:
            title = f"schedule: diverged at step {res.diverged_at}"
        else:
            title = f"schedule: test loss {res.test_loss:.3f}"
        if res.constant_diverged_at is not None:
            title += f" | constant: diverged at {res.constant_diverged_at}"
        else:
            title += f" | constant: {res.constant_test_loss:.3f}"
        self.ax_loss.title.set_text(title)
        return self


def design_figure(result: DesignResult) -> DesignFigure:
    """The designer's picture of ``result``: the learning rate used per step, and the loss.

    Left: the learning rate read from the optimizer at each step, divided by the peak (blue),
    against the constant peak (grey, at 1). Right: the smoothed training loss of both runs on a log axis (a red cross
    where the scheduled run blew up); the titles give the held-out test loss of each.

    Returns:
        A new ``matplotlib.figure.Figure`` (not registered with pyplot).
    """
    if not isinstance(result, DesignResult):
        raise ValueError(f"expected a DesignResult from design_result(), got {result!r:.80}")
    return DesignFigure(result.steps).update(result)


# ---------------------------------------------------------------------------------------------
# the widget
# ---------------------------------------------------------------------------------------------


def _describe(values: dict[str, Any]) -> str:
    """The settings as the plain-text line gives them: ``cosine, warmup 10%, peak lr ...``."""
    return (f"{values['shape']}, warmup {values['warmup']:.0%}, peak lr "
            f"{_fmt(values['peak_lr'])}, floor {values['floor']:.0%}")


def schedule_designer(
    shape: str = "cosine",
    warmup: float = 0.1,
    peak_lr: float = 3e-3,
    floor: float = 0.1,
    *,
    steps: int = STEPS,
    device: str | torch.device | None = None,
) -> Explorer:
    """A schedule designer: shape, warmup (share of the run), peak lr (log scale) and floor.

    Each change retrains the small digits MLP with the new schedule (and, cached, at a constant
    lr equal to the peak) and redraws the learning rate used at every step and both loss
    curves; the readout gives both held-out test losses.

    Args:
        shape: the starting shape, one of :data:`SHAPES`.
        warmup: the starting warmup, a fraction of the run in [0, 0.5].
        peak_lr: the starting peak learning rate, in [1e-4, 1].
        floor: the starting floor, a fraction of the peak in [0, 1].
        steps: steps per run.
        device: where runs compute (default: the default device).

    Raises:
        ValueError: if a starting value is outside its slider's range.
    """
    if shape not in SHAPES:
        raise ValueError(f"shape must be one of {SHAPES}, got {shape!r}")
    lo, hi = PEAK_LR_RANGE
    if not lo <= peak_lr <= hi:
        raise ValueError(f"peak_lr must be in [{lo:g}, {hi:g}] for the slider, got {peak_lr!r}")
    if not WARMUP_RANGE[0] <= warmup <= WARMUP_RANGE[1]:
        raise ValueError(f"warmup must be in {list(WARMUP_RANGE)} for the slider, got {warmup!r}")
    if not 0.0 <= floor <= 1.0:
        raise ValueError(f"floor must be in [0, 1] for the slider, got {floor!r}")
    controls = {
        "shape": widgets.ToggleButtons(options=list(SHAPES), value=shape, description="shape",
                                       style={"button_width": "80px"}),
        "warmup": widgets.FloatSlider(
            value=float(warmup), min=WARMUP_RANGE[0], max=WARMUP_RANGE[1], step=0.025,
            description="warmup", readout_format=".1%", continuous_update=False,
            layout=widgets.Layout(width="300px")),
        "peak_lr": widgets.FloatLogSlider(
            value=float(peak_lr), base=10, min=math.log10(lo), max=math.log10(hi), step=0.1,
            description="peak lr", readout_format=".3g", continuous_update=False,
            layout=widgets.Layout(width="340px")),
        "floor": widgets.FloatSlider(
            value=float(floor), min=0.0, max=1.0, step=0.05, description="floor",
            readout_format=".0%", continuous_update=False, layout=widgets.Layout(width="300px")),
    }
    return Explorer(
        "schedule", "Schedule designer", controls,
        result=lambda v: design_result(**v, steps=steps, device=device),
        figure=lambda _res: DesignFigure(steps), describe=_describe)
