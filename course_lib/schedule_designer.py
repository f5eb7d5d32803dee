"""The schedule designer: shape a learning-rate schedule and watch a small training run follow it.

Three layers, like the explorers of :mod:`course_lib.widgets`, so tests and static pages get the
same pictures as a live notebook:

* :func:`design_schedule` turns the designer's settings (shape, warmup, floor) into one of
  :mod:`course_lib.schedules`' pure schedules;
* :func:`design_result` (pure: settings in, numbers out, never raises) trains a small MLP on the
  bundled digits for ``steps`` steps of Adam with that schedule driving the learning rate through
  ``LambdaLR``, and, for comparison, the same run at a constant learning rate equal to the
  peak. It records the learning rate **read from the optimizer** at every step, so the picture
  shows the rates the run actually used;
* :func:`design_figure` draws a result; :func:`schedule_designer` returns a
  :class:`ScheduleDesigner` widget with sliders for the shape, the warmup, the peak learning
  rate (log scale) and the floor.

Example (in a notebook)::

    from course_lib.schedule_designer import design_result, schedule_designer

    design_result("cosine", warmup=0.1, peak_lr=3e-3, floor=0.1).readout
    schedule_designer()          # sliders in Jupyter, a PNG on GitHub / nbviewer

The run is small on purpose (one hidden layer of 32 units, 120 steps of 64 examples: about a
tenth of a second on a laptop CPU), so a slider move redraws at once. Every run starts from the
same initial weights and sees the same batches in the same order, so two settings differ only
by their schedule. A run that blows up (a non-finite loss, or one above ten times the starting
loss) stops there and is reported as diverged.

**Static fallback.** A :class:`ScheduleDesigner` displays with a MIME bundle holding the live
widget view, a PNG of its current picture and one line of text: JupyterLab shows the widget
while the kernel that made it is alive; a static renderer (GitHub, nbviewer, an untrusted
notebook) shows the PNG.
"""

from __future__ import annotations

import base64
import functools
import html
import io
import math
from dataclasses import dataclass, field
from typing import Any

import ipywidgets as widgets
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from torch.optim.lr_scheduler import LambdaLR

from course_lib.data import load_digits_split
from course_lib.device import resolve_device
from course_lib.models import MLP
from course_lib.optim import Adam
from course_lib.schedules import Schedule, one_cycle, warmup_cosine, warmup_stable_decay

__all__ = [
    "SHAPES",
    "DesignResult",
    "design_schedule",
    "design_result",
    "design_figure",
    "ScheduleDesigner",
    "schedule_designer",
]

#: The schedule shapes the designer offers.
SHAPES = ("cosine", "linear", "wsd", "one-cycle")

#: Steps per run, examples per batch, hidden units of the MLP.
STEPS = 120
BATCH_SIZE = 64
HIDDEN = 32
#: Warmup-stable-decay spends this share of the run decaying (the rest: warmup, then stable).
WSD_DECAY_FRACTION = 0.2
#: One-cycle starts at peak / this (PyTorch's OneCycleLR default ``div_factor``).
ONE_CYCLE_DIV = 25.0
#: Slider ranges.
PEAK_LR_RANGE = (1e-4, 1.0)
WARMUP_RANGE = (0.0, 0.5)
#: A run is stopped as diverged once its loss passes this many times the starting loss.
BLOWUP = 10.0

_SEED = 0
_FIGSIZE = (10.0, 3.3)
_DPI = 80
_BLUE = "#0072B2"
_GREY = "0.55"
_RED = "#D55E00"
_LOSS_YLIM = (0.01, 30.0)


# ---------------------------------------------------------------------------------------------
# settings -> schedule
# ---------------------------------------------------------------------------------------------


def design_schedule(
    shape: str, warmup_steps: int, total_steps: int, floor: float
) -> tuple[Schedule, str | None]:
    """The schedule for a shape, with the designer's conventions, and a note on any adjustment.

    * ``"cosine"``: :func:`~course_lib.schedules.warmup_cosine` down to ``floor`` at the end.
    * ``"linear"``: warmup, then a straight line down to ``floor`` at the end
      (:func:`~course_lib.schedules.warmup_stable_decay` with no stable phase, linear decay).
    * ``"wsd"``: warmup, a stable phase at the peak, then the last ``WSD_DECAY_FRACTION`` of the
      run decays (1-sqrt shape) to ``floor``.
    * ``"one-cycle"``: :func:`~course_lib.schedules.one_cycle` rising for ``warmup_steps`` from
      ``peak / 25`` and annealing to ``floor`` (never above its start, ``peak / 25``: one-cycle
      ends below where it began by design). It needs a rise of at least 2 steps.

    Args:
        shape: one of :data:`SHAPES`.
        warmup_steps: steps of warmup (rise), an int >= 0, less than ``total_steps``.
        total_steps: length of the run, an int >= 4.
        floor: final multiplier, a fraction of the peak in [0, 1].

    Returns:
        ``(schedule, note)``: a pure schedule ``step -> multiplier`` and a sentence saying what
        was adjusted to make the settings valid for this shape (``None`` when nothing was).

    Raises:
        ValueError: for an unknown shape or settings out of range.
    """
    if shape not in SHAPES:
        raise ValueError(f"shape must be one of {SHAPES}, got {shape!r}")
    if isinstance(total_steps, bool) or not isinstance(total_steps, int) or total_steps < 4:
        raise ValueError(f"total_steps must be an int >= 4, got {total_steps!r}")
    if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, int):
        raise ValueError(f"warmup_steps must be an int, got {warmup_steps!r}")
    if not 0 <= warmup_steps < total_steps:
        raise ValueError(f"warmup_steps must be in [0, {total_steps}), got {warmup_steps}")
    if not (isinstance(floor, int | float) and 0.0 <= floor <= 1.0):
        raise ValueError(f"floor must be a number in [0, 1], got {floor!r}")
    floor = float(floor)
    note = None
    if shape == "cosine":
        return warmup_cosine(warmup_steps, total_steps, floor=floor), None
    if shape == "linear":
        return warmup_stable_decay(warmup_steps, total_steps - warmup_steps, total_steps,
                                   floor=floor, decay_shape="linear"), None
    if shape == "wsd":
        decay = max(1, round(WSD_DECAY_FRACTION * total_steps))
        warm = min(warmup_steps, total_steps - decay)
        if warm != warmup_steps:
            note = f"warmup cut to {warm} steps so the decay ({decay} steps) fits"
        return warmup_stable_decay(warm, decay, total_steps, floor=floor,
                                   decay_shape="1-sqrt"), note
    # one-cycle
    rise = max(warmup_steps, 2)
    if rise != warmup_steps:
        note = "one-cycle needs a rise: warmup set to 2 steps"
    start = 1.0 / ONE_CYCLE_DIV
    end = min(floor, start)
    if floor > start:
        capped = f"one-cycle ends at peak/{ONE_CYCLE_DIV:g}, its start"
        note = f"{note}; {capped}" if note else capped
    final_div = start / end if end > 0 else 1e12
    # pct_start * total must exceed 1 step: nudge up by a hair when rise == 2 exactly hits it
    pct = min((rise + 1e-9) / total_steps, 1.0 - 1e-9)
    return one_cycle(total_steps, pct_start=pct, div_factor=ONE_CYCLE_DIV,
                     final_div_factor=max(final_div, 1.0)), note


# ---------------------------------------------------------------------------------------------
# the training run
# ---------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _problem(device_key: str, steps: int):
    """Data, a fixed batch order and the initial weights: the same for every run."""
    device = torch.device(device_key)
    data = load_digits_split(device=device)
    gen = torch.Generator().manual_seed(_SEED)
    n = len(data.y_train)
    batches = torch.stack([torch.randperm(n, generator=gen)[:BATCH_SIZE] for _ in range(steps)])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(_SEED)
        init = MLP([64, HIDDEN, 10], device="cpu").state_dict()
    return data, batches.to(device), init


def _train(
    schedule: Schedule | None, peak_lr: float, steps: int, device_key: str
) -> tuple[np.ndarray, np.ndarray, int | None, float, float]:
    """Adam with ``lr = peak_lr * schedule(t)`` (constant when ``schedule`` is None).

    Returns (lrs used, losses, diverged_at, test loss, test accuracy).
    """
    data, batches, init = _problem(device_key, steps)
    model = MLP([64, HIDDEN, 10], device=device_key)
    model.load_state_dict(init)
    opt = Adam(model.parameters(), lr=peak_lr)
    sched = LambdaLR(opt, lr_lambda=schedule) if schedule is not None else None
    lrs, losses = [], []
    diverged_at = None
    limit = None
    for t in range(steps):
        idx = batches[t]
        lrs.append(opt.param_groups[0]["lr"])               # the lr this step uses
        loss = F.cross_entropy(model(data.X_train[idx]), data.y_train[idx])
        value = loss.item()
        if limit is None:
            limit = BLOWUP * value
        if not math.isfinite(value) or value > limit:
            diverged_at = t
            losses.append(value if math.isfinite(value) else math.inf)
            break
        losses.append(value)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()
    if diverged_at is not None:
        return np.array(lrs), np.array(losses), diverged_at, math.nan, math.nan
    with torch.no_grad():
        logits = model(data.X_test)
        test_loss = F.cross_entropy(logits, data.y_test).item()
        test_acc = (logits.argmax(dim=1) == data.y_test).float().mean().item()
    if not math.isfinite(test_loss):
        return np.array(lrs), np.array(losses), steps, math.nan, math.nan
    return np.array(lrs), np.array(losses), None, test_loss, test_acc


@functools.lru_cache(maxsize=256)
def _constant_run(peak_lr: float, steps: int, device_key: str):
    return _train(None, peak_lr, steps, device_key)


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
    lrs, losses, div_at, test_loss, test_acc = _train(schedule, lr, steps, device_key)
    c_lrs, c_losses, c_div_at, c_test_loss, c_test_acc = _constant_run(lr, steps, device_key)

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


class _Painter:
    """One figure, built once; each result only updates lines, limits and titles."""

    def __init__(self) -> None:
        # a fixed layout (whatever rcParams say): constrained layout would be recomputed on
        # every redraw
        self.fig = Figure(figsize=_FIGSIZE, dpi=_DPI, layout="none")
        self.canvas = FigureCanvasAgg(self.fig)
        self.ax_lr, self.ax_loss = self.fig.subplots(1, 2)
        self.fig.subplots_adjust(left=0.075, right=0.985, bottom=0.15, top=0.9, wspace=0.22)
        ax = self.ax_lr
        (self.lr_const,) = ax.plot([], [], color=_GREY, linestyle="--", linewidth=1.4,
                                   label="constant (peak)")
        (self.lr_line,) = ax.plot([], [], color=_BLUE, linewidth=2.0, label="schedule (as used)")
        ax.set_xlabel("step")
        ax.set_ylabel("learning rate")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="lower center", fontsize=9, frameon=False)
        ax.ticklabel_format(axis="y", style="sci", scilimits=(-2, 2))
        ax = self.ax_loss
        (self.loss_const,) = ax.plot([], [], color=_GREY, linewidth=1.4, label="constant lr")
        (self.loss_line,) = ax.plot([], [], color=_BLUE, linewidth=2.0, label="schedule")
        (self.blowup,) = ax.plot([], [], linestyle="none", marker="x", markersize=10,
                                 markeredgewidth=2.5, color=_RED)
        ax.set_yscale("log")
        ax.set_ylim(*_LOSS_YLIM)
        ax.set_xlabel("step")
        ax.set_ylabel("training loss (smoothed)")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="upper right", fontsize=9, frameon=False)

    def paint(self, res: DesignResult) -> Figure:
        steps = max(res.steps, 1)
        for ax in (self.ax_lr, self.ax_loss):
            ax.set_xlim(0, steps)
        if res.error is not None:
            for line in (self.lr_const, self.lr_line, self.loss_const, self.loss_line, self.blowup):
                line.set_data([], [])
            self.ax_lr.set_ylim(0, 1)
            self.ax_lr.set_title("invalid setting", fontsize=11)
            self.ax_loss.set_title(res.error[:60], fontsize=10)
            return self.fig
        peak = res.peak_lr
        self.lr_const.set_data([0, steps], [peak, peak])
        xs = np.arange(len(res.planned_lrs))
        used = np.full(len(res.planned_lrs), np.nan)
        used[: len(res.lrs)] = res.lrs
        self.lr_line.set_data(xs, used if res.diverged else res.lrs)
        self.ax_lr.set_ylim(0, peak * 1.08)
        self.ax_lr.set_title(f"{res.shape}: warmup {res.warmup_steps} steps, peak {_fmt(peak)}",
                             fontsize=11)
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
        self.ax_loss.set_title(title, fontsize=11)
        return self.fig

    def png(self, res: DesignResult) -> bytes:
        self.paint(res)
        buf = io.BytesIO()
        self.fig.savefig(buf, format="png", dpi=_DPI, metadata={"Software": None},
                         pil_kwargs={"compress_level": 3})
        return buf.getvalue()


def design_figure(result: DesignResult) -> Figure:
    """The designer's picture of ``result``: the learning rate used per step, and the loss.

    Left: the learning rate read from the optimizer at each step (blue) against the constant
    peak (grey). Right: the smoothed training loss of both runs on a log axis (a red cross
    where the scheduled run blew up); the titles give the held-out test loss of each.

    Returns:
        A new ``matplotlib.figure.Figure`` (not registered with pyplot).
    """
    if not isinstance(result, DesignResult):
        raise ValueError(f"expected a DesignResult from design_result(), got {result!r:.80}")
    return _Painter().paint(result)


# ---------------------------------------------------------------------------------------------
# the widget
# ---------------------------------------------------------------------------------------------


class ScheduleDesigner(widgets.VBox):
    """Sliders for a schedule's shape, warmup, peak and floor; a readout; the picture.

    Built by :func:`schedule_designer`. Set a control's ``.value``
    (``designer.controls["peak_lr"].value = 0.1``) and the readout and the image update, in a
    notebook or in a test.

    Attributes:
        controls: the control widgets by setting name (``shape``, ``warmup``, ``peak_lr``,
            ``floor``).
        readout: an ``HTML`` widget with the result's readout lines.
        image: an ``Image`` widget holding the current PNG.
        result: the current :class:`DesignResult`.
        error: the last update error (text), if an update ever failed; else ``None``.
    """

    def __init__(self, controls: dict[str, widgets.Widget], steps: int,
                 device: str | torch.device | None) -> None:
        self.controls = dict(controls)
        self._steps = steps
        self._device = device
        self._painter = _Painter()
        self.readout = widgets.HTML(layout=widgets.Layout(margin="2px 0 2px 4px"))
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.result: DesignResult | None = None
        self.error: str | None = None
        self._png = b""
        row = widgets.HBox(list(self.controls.values()),
                           layout=widgets.Layout(flex_flow="row wrap"))
        super().__init__([row, self.readout, self.image])
        self.add_class("course-explorer")
        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        self.refresh()

    def values(self) -> dict[str, Any]:
        """The current control values by setting name."""
        return {k: c.value for k, c in self.controls.items()}

    def _on_change(self, _change=None) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Recompute and redraw for the current control values (never raises)."""
        try:
            res = design_result(**self.values(), steps=self._steps, device=self._device)
            png = self._painter.png(res)
        except Exception as exc:  # noqa: BLE001 - show the problem, never a traceback
            self.error = f"{type(exc).__name__}: {exc}"
            self.readout.value = (f"<div style='color:{_RED}'>could not update: "
                                  f"{html.escape(self.error)}</div>")
            return
        self.result = res
        self._png = png
        self.image.value = png
        lines = "".join(f"<div>{html.escape(line)}</div>" for line in res.lines)
        self.readout.value = f"<div style='font-family: monospace; font-size: 12px'>{lines}</div>"

    @property
    def png(self) -> bytes:
        """The current picture as PNG bytes."""
        return self._png

    def _plain_text(self) -> str:
        v = self.values()
        return (f"Schedule designer ({v['shape']}, warmup {v['warmup']:.0%}, peak lr "
                f"{_fmt(v['peak_lr'])}, floor {v['floor']:.0%}). "
                "Run the notebook in Jupyter to use the controls.")

    def _repr_mimebundle_(self, **kwargs):
        data = super()._repr_mimebundle_(**kwargs)
        data["text/plain"] = self._plain_text()
        if self._png:
            data["image/png"] = base64.b64encode(self._png).decode("ascii")
        return data


def schedule_designer(
    shape: str = "cosine",
    warmup: float = 0.1,
    peak_lr: float = 3e-3,
    floor: float = 0.1,
    *,
    steps: int = STEPS,
    device: str | torch.device | None = None,
) -> ScheduleDesigner:
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
    return ScheduleDesigner(controls, steps, device)
