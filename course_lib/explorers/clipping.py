"""The clipping explorer (lesson 08): one corrupted batch, a threshold, and SGD or AdamW.

Lesson 08's run, from the moment the bad batch arrives: an MLP (64-64-10, leaky ReLU) on the
digits has trained for 150 steps, clipped at 1.0, with SGD (lr 0.1, momentum 0.9) or AdamW (lr
1e-3, weight decay 0.01). At step 150 a corrupted batch comes in, its pixels multiplied by the
**spike size**; from there on the gradient is clipped at the **threshold** (or not at all), for
:data:`AFTER` more steps. The explorer shows, in numbers and in three panels:

* the loss around the spike, against the same steps with a clean batch at step 150;
* the size of every update, :math:`\\lVert\\Delta\\theta\\rVert`;
* for SGD the gradient norm before clipping, with the threshold; for AdamW the median of
  :math:`\\sqrt{\\hat v}`, Adam's per-weight gradient scale, which an unclipped spike floods.

The 150 steps before the spike are trained once, when the explorer is built
(:func:`clipping_setup`); each setting then runs :data:`AFTER` + 1 steps from copies of that
state (:func:`clipping_result`, pure: the same settings give the same numbers).

Example (in a notebook)::

    from course_lib.explorers.clipping import clipping_explorer, clipping_result, clipping_setup

    setup = clipping_setup(data)
    clipping_result(setup, threshold=1.0, spike=1000.0, optimizer="SGD").readout
    clipping_explorer(setup)
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from course_lib.clipping import clip_grad_norm_, global_grad_norm
from course_lib.data import DigitsSplit
from course_lib.diagnose import steps_to_recover
from course_lib.explorers.base import Readout, as_float, choice_slider, invalid_line, toggle
from course_lib.explorers.figures import (
    BLUE,
    DPI,
    FIGSIZE,
    GREY,
    RED,
    ExplorerFigure,
    explorer_style,
    fmt_number,
    log_axis,
)
from course_lib.explorers.shell import Explorer
from course_lib.models import MLP
from course_lib.optim import SGD, AdamW

__all__ = [
    "SPIKE_STEP",
    "AFTER",
    "THRESHOLDS",
    "SPIKES",
    "OPTIMIZERS",
    "ClippingSetup",
    "clipping_setup",
    "ClippingResult",
    "clipping_result",
    "ClippingFigure",
    "clipping_figure",
    "clipping_explorer",
]

#: The step of the corrupted batch, and the steps run after it.
SPIKE_STEP = 150
AFTER = 50
#: The slider values: clipping thresholds (``inf``: no clipping) and spike sizes (1: a clean
#: batch).
THRESHOLDS = (0.1, 1.0, 3.0, 10.0, 100.0, math.inf)
SPIKES = (1.0, 10.0, 100.0, 1000.0, 10000.0)
#: The two optimizers, with lesson 08's settings.
OPTIMIZERS = ("SGD", "AdamW")
_BATCH = 64
_CONTEXT = 10  # steps before the spike kept for the picture and the recovery baseline


def _new_optimizer(name: str, params):
    if name == "SGD":
        return SGD(params, lr=0.1, momentum=0.9)
    return AdamW(params, lr=1e-3, weight_decay=0.01)


def _describe_optimizer(name: str) -> str:
    return "SGD (lr 0.1, momentum 0.9)" if name == "SGD" else "AdamW (lr 1e-3, wd 0.01)"


@dataclass(frozen=True, eq=False)
class ClippingSetup:
    """Lesson 08's runs up to the spike, and the batches after it.

    Attributes:
        states: by optimizer name, ``(model, optimizer)`` after :data:`SPIKE_STEP` steps
            (clipped at 1.0); never modified (each result runs on deep copies).
        losses_before: by optimizer name, the losses of the :data:`_CONTEXT` steps before the
            spike.
        batches: the batches of steps ``SPIKE_STEP ... SPIKE_STEP + AFTER`` (clean).
        clean_runs: the runs with a clean batch at the spike, by (optimizer, threshold),
            filled on first use (each is deterministic).
    """

    states: dict = field(repr=False)
    losses_before: dict
    batches: list = field(repr=False)
    clean_runs: dict = field(default_factory=dict, repr=False)


def clipping_setup(data: DigitsSplit, *, device: str | torch.device | None = "cpu",
                   seed: int = 0) -> ClippingSetup:
    """Train lesson 08's model for :data:`SPIKE_STEP` steps with each optimizer (clipped at 1.0).

    The model is ``MLP([64, 64, 10], activation="leaky_relu")`` after ``torch.manual_seed(seed)``;
    the batches are 64 random training images per step (``torch.randint`` with a generator
    seeded ``seed``), the same for both optimizers, exactly lesson 08's ``make_batches``.
    """
    dev = torch.device(device) if device is not None else data.X_train.device
    X, Y = data.X_train.to(dev), data.y_train.to(dev)
    gen = torch.Generator().manual_seed(seed)
    batches = []
    for _ in range(SPIKE_STEP + AFTER + 1):
        idx = torch.randint(len(X), (_BATCH,), generator=gen).to(dev)
        batches.append((X[idx], Y[idx]))
    states, before = {}, {}
    for name in OPTIMIZERS:
        torch.manual_seed(seed)
        model = MLP([64, 64, 10], activation="leaky_relu", device=dev)
        opt = _new_optimizer(name, model.parameters())
        losses = []
        for t in range(SPIKE_STEP):
            x, y = batches[t]
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            losses.append(loss.item())
        states[name] = (model, opt)
        before[name] = losses[-_CONTEXT:]
    return ClippingSetup(states=states, losses_before=before, batches=batches[SPIKE_STEP:])


@dataclass(frozen=True, eq=False)
class ClippingResult(Readout):
    """What one threshold, spike size and optimizer did.

    Attributes:
        optimizer, threshold, spike: the settings (``threshold`` ``inf``: not clipped).
        steps: the step numbers of ``losses`` (``SPIKE_STEP - 10`` onwards).
        losses: the training loss per step, the 10 steps before the spike included (NaN after
            a divergence).
        clean_losses: the same steps with a clean batch at the spike and the same threshold.
        update_norms: ``||Δθ||`` of each step from the spike on.
        grad_norms: the gradient norm before clipping of each step from the spike on.
        root_v_hat: for AdamW, the median :math:`\\sqrt{\\hat v}` over all weights before the
            spike and after each step from it on (empty for SGD).
        clean_update_norms, clean_grad_norms, clean_root_v_hat: the same with a clean batch.
        raw_norm: the gradient norm of the corrupted batch; ``moved``: how far that step moved
            the weights.
        recovered_after: steps until the loss was back to its level before the spike
            (``course_lib.diagnose.steps_to_recover``), ``None`` if not within the run.
        mean_after, clean_mean_after: mean loss of the :data:`AFTER` steps after the spike.
        diverged_at: the step at which the loss stopped being finite, else ``None``.
        error: why the settings could not be run, else ``None``.
        lines: the readout.
    """

    optimizer: str
    threshold: float
    spike: float
    steps: np.ndarray = field(repr=False)
    losses: np.ndarray = field(repr=False)
    clean_losses: np.ndarray = field(repr=False)
    update_norms: np.ndarray = field(repr=False)
    grad_norms: np.ndarray = field(repr=False)
    root_v_hat: np.ndarray = field(repr=False)
    clean_update_norms: np.ndarray = field(repr=False)
    clean_grad_norms: np.ndarray = field(repr=False)
    clean_root_v_hat: np.ndarray = field(repr=False)
    raw_norm: float
    moved: float
    recovered_after: int | None
    mean_after: float
    clean_mean_after: float
    diverged_at: int | None = None
    error: str | None = None
    lines: tuple[str, ...] = ()


def _median_root_v_hat(opt) -> float:
    beta2 = opt.param_groups[0]["betas"][1]
    parts = [s["exp_avg_sq"].flatten() / (1 - beta2 ** float(s["step"]))
             for s in opt.state.values()]
    return torch.cat(parts).sqrt().median().item()


def _run(setup: ClippingSetup, name: str, threshold: float, spike: float):
    """Steps SPIKE_STEP ... SPIKE_STEP + AFTER from a copy of the state; per-step records."""
    model, opt = copy.deepcopy(setup.states[name])  # one deepcopy keeps the pair linked
    params = list(model.parameters())
    losses, updates, norms = [], [], []
    roots = [_median_root_v_hat(opt)] if name == "AdamW" else []
    diverged_at = None
    for k, (x, y) in enumerate(setup.batches):
        if k == 0:
            x = x * spike
        before = torch.cat([p.detach().flatten() for p in params])
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        value = loss.item()
        if not math.isfinite(value):
            diverged_at = SPIKE_STEP + k
            break
        loss.backward()
        if math.isinf(threshold):
            norm = global_grad_norm(params).item()  # measured, not clipped
        else:
            norm = clip_grad_norm_(params, threshold).item()
        opt.step()
        after = torch.cat([p.detach().flatten() for p in params])
        losses.append(value)
        norms.append(norm)
        updates.append((after - before).norm().item())
        if name == "AdamW":
            roots.append(_median_root_v_hat(opt))
        if not (math.isfinite(norm) and torch.isfinite(after).all()):
            diverged_at = SPIKE_STEP + k + 1
            break
    return losses, updates, norms, roots, diverged_at


def _clean_run(setup: ClippingSetup, name: str, threshold: float):
    """The run with a clean batch at the spike: computed once per optimizer and threshold (it
    is also the result for a spike size of 1)."""
    key = (name, threshold)
    if key not in setup.clean_runs:
        setup.clean_runs[key] = _run(setup, name, threshold, 1.0)
    return setup.clean_runs[key]


def _pad(values, n: int) -> np.ndarray:
    out = np.full(n, np.nan)
    out[: len(values)] = values
    return out


def clipping_result(setup: ClippingSetup, threshold: float = 1.0, spike: float = 1000.0,
                    optimizer: str = "SGD") -> ClippingResult:
    """Run the corrupted step and :data:`AFTER` more with one threshold, and measure.

    Args:
        setup: from :func:`clipping_setup`.
        threshold: the clipping threshold (> 0; ``inf``: no clipping).
        spike: the factor on the corrupted batch's pixels (> 0; 1 is a clean batch).
        optimizer: ``"SGD"`` or ``"AdamW"``.

    Returns:
        A :class:`ClippingResult`; odd settings give one whose ``error`` says why, a run whose
        loss stops being finite is reported as diverged.
    """
    c = as_float(threshold)
    s = as_float(spike)
    problem = None
    if optimizer not in OPTIMIZERS:
        problem = f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {optimizer!r}"
    elif c is None or not c > 0:
        problem = f"threshold must be a positive number (inf: no clipping), got {threshold!r}"
    elif s is None or not (math.isfinite(s) and s > 0):
        problem = f"spike size must be a positive finite number, got {spike!r}"
    n = _CONTEXT + AFTER + 1
    steps = np.arange(SPIKE_STEP - _CONTEXT, SPIKE_STEP + AFTER + 1)
    if problem is not None:
        empty = np.zeros(0)
        return ClippingResult(
            optimizer=str(optimizer), threshold=c if c is not None else math.nan, spike=s if s is not None else math.nan,
            steps=steps, losses=np.full(n, np.nan), clean_losses=np.full(n, np.nan),
            update_norms=empty, grad_norms=empty, root_v_hat=empty, clean_update_norms=empty,
            clean_grad_norms=empty, clean_root_v_hat=empty, raw_norm=math.nan,
            moved=math.nan, recovered_after=None, mean_after=math.nan,
            clean_mean_after=math.nan, error=problem, lines=(invalid_line(problem),))
    clean = _clean_run(setup, optimizer, c)
    losses, updates, norms, roots, diverged_at = clean if s == 1.0 else _run(setup, optimizer, c, s)
    before = list(setup.losses_before[optimizer])
    full = before + losses
    clean_full = before + clean[0]
    recovered = None if diverged_at is not None else steps_to_recover(full, _CONTEXT)
    mean_after = float(np.mean(losses[1:])) if diverged_at is None else math.nan
    clean_mean = float(np.mean(clean[0][1:]))
    clip_text = "not clipped" if math.isinf(c) else f"clipped at {fmt_number(c)}"
    head = (f"{_describe_optimizer(optimizer)}, {clip_text}, spike x{fmt_number(s)} at step "
            f"{SPIKE_STEP}: raw gradient norm {fmt_number(norms[0]) if norms else 'nan'}, "
            f"weights moved {fmt_number(updates[0]) if updates else 'nan'}")
    if diverged_at is not None:
        second = f"diverged at step {diverged_at}: the loss or the weights are no longer finite"
    else:
        rec = (f"recovered after {recovered} step{'s' if recovered != 1 else ''}"
               if recovered is not None else f"not recovered within {AFTER} steps")
        second = (f"loss at step {SPIKE_STEP + 1}: {losses[1]:.3g} (clean batch: {clean[0][1]:.3g});"
                  f" worst after {max(losses[1:]):.3g}; {rec}; mean of the next {AFTER} steps "
                  f"{mean_after:.3f} (clean: {clean_mean:.3f})")
    lines = [head, second]
    if optimizer == "AdamW" and len(roots) > 2:
        later = roots[-1]
        lines.append(f"median √v̂: {roots[0]:.3g} before the spike, {roots[1]:.3g} after it, "
                     f"{later:.3g} {len(roots) - 2} steps later (clean batch: {clean[3][1]:.3g}, "
                     f"{clean[3][-1]:.3g})")
    return ClippingResult(
        optimizer=optimizer, threshold=c, spike=s, steps=steps, losses=_pad(full, n),
        clean_losses=_pad(clean_full, n), update_norms=_pad(updates, AFTER + 1),
        grad_norms=_pad(norms, AFTER + 1), root_v_hat=np.asarray(roots, dtype=float),
        clean_update_norms=np.asarray(clean[1]), clean_grad_norms=np.asarray(clean[2]),
        clean_root_v_hat=np.asarray(clean[3], dtype=float),
        raw_norm=norms[0] if norms else math.nan, moved=updates[0] if updates else math.nan,
        recovered_after=recovered, mean_after=mean_after, clean_mean_after=clean_mean,
        diverged_at=diverged_at, lines=tuple(lines))


class ClippingFigure(ExplorerFigure):
    """Loss around the spike; update sizes; gradient norm (SGD) or median √v̂ (AdamW)."""

    def __init__(self, optimizer: str):
        super().__init__(figsize=FIGSIZE, dpi=DPI, layout="none")
        self.optimizer = optimizer
        x0, x1 = SPIKE_STEP - _CONTEXT, SPIKE_STEP + AFTER
        with explorer_style():
            self.subplots_adjust(left=0.065, right=0.985, bottom=0.16, top=0.88, wspace=0.34)
            self.ax_loss, self.ax_step, self.ax_third = self.subplots(1, 3)
            for ax in (self.ax_loss, self.ax_step, self.ax_third):
                ax.set_yscale("log")
                log_axis(ax.yaxis)
                ax.set_xlim(x0, x1)
                ax.axvline(SPIKE_STEP, color=RED, linewidth=1.0, linestyle=":")
                ax.set_xlabel("step")
                ax.set_title(" ")
            ax = self.ax_loss
            (self.clean_line,) = ax.plot([], [], color=GREY, linewidth=2.0, label="clean batch")
            (self.loss_line,) = ax.plot([], [], color=BLUE, linewidth=1.4, label="this setting")
            ax.set_ylim(1e-2, 1e4)
            ax.set_ylabel("training loss")
            ax.legend(loc="upper right")
            ax = self.ax_step
            (self.clean_step,) = ax.plot([], [], color=GREY, linewidth=2.0)
            (self.step_line,) = ax.plot([], [], color=BLUE, linewidth=1.4, marker=".",
                                        markersize=4)
            ax.set_ylabel("update size ||Δθ||")
            ax.set_ylim(*((1e-3, 1e3) if optimizer == "SGD" else (3e-3, 3e-1)))
            ax = self.ax_third
            (self.clean_third,) = ax.plot([], [], color=GREY, linewidth=2.0)
            (self.third_line,) = ax.plot([], [], color=BLUE, linewidth=1.4)
            (self.third_ref,) = ax.plot([], [], color=RED, linewidth=1.2, linestyle="--")
            ax.set_ylabel("gradient norm before clipping" if optimizer == "SGD"
                          else "median √v̂ over the weights")
            ax.set_ylim(*((1e-2, 1e6) if optimizer == "SGD" else (1e-3, 1e0)))
        self.moving += [self.clean_line, self.loss_line, self.clean_step, self.step_line,
                        self.clean_third, self.third_line, self.third_ref] + [a.title for a in (self.ax_loss, self.ax_step,
                                                               self.ax_third)]

    def update(self, res: ClippingResult) -> ClippingFigure:
        """Show ``res``; returns the figure."""
        if res.error is not None:
            for line in (self.clean_line, self.loss_line, self.step_line, self.third_line,
                         self.third_ref, self.clean_step, self.clean_third):
                line.set_data([], [])
            self.ax_loss.title.set_text("invalid setting")
            self.ax_loss.title.set_color(RED)
            self.ax_step.title.set_text(res.error[:45])
            self.ax_third.title.set_text(" ")
            return self
        top = 1e4
        self.clean_line.set_data(res.steps, np.clip(res.clean_losses, 1e-2, top))
        self.loss_line.set_data(res.steps, np.clip(res.losses, 1e-2, top))
        if res.diverged_at is not None:
            title = f"diverged at step {res.diverged_at}"
        elif res.recovered_after is None:
            title = f"not recovered in {AFTER} steps"
        else:
            title = f"recovered after {res.recovered_after} step" + \
                ("s" if res.recovered_after != 1 else "")
        self.ax_loss.title.set_text(title)
        self.ax_loss.title.set_color(RED if res.diverged_at is not None else "black")
        k = np.arange(SPIKE_STEP, SPIKE_STEP + len(res.update_norms))
        lo, hi = self.ax_step.get_ylim()
        self.step_line.set_data(k, np.clip(res.update_norms, lo, hi))
        kc = np.arange(SPIKE_STEP, SPIKE_STEP + len(res.clean_update_norms))
        self.clean_step.set_data(kc, np.clip(res.clean_update_norms, lo, hi))
        self.ax_step.title.set_text(f"the spike's step moved the weights {fmt_number(res.moved)}")
        if self.optimizer == "SGD":
            lo, hi = self.ax_third.get_ylim()
            self.third_line.set_data(k, np.clip(res.grad_norms, lo, hi))
            self.clean_third.set_data(kc, np.clip(res.clean_grad_norms, lo, hi))
            ref = np.array([] if math.isinf(res.threshold) else [res.threshold] * 2)
            self.third_ref.set_data([SPIKE_STEP - _CONTEXT, SPIKE_STEP + AFTER] if len(ref)
                                    else [], ref)
            self.ax_third.title.set_text(
                f"raw norm at the spike {fmt_number(res.raw_norm)}"
                + ("" if math.isinf(res.threshold) else f", threshold {fmt_number(res.threshold)}"))
        else:
            kk = np.arange(SPIKE_STEP - 1, SPIKE_STEP - 1 + len(res.root_v_hat))
            lo, hi = self.ax_third.get_ylim()
            self.third_line.set_data(kk, np.clip(res.root_v_hat, lo, hi))
            kkc = np.arange(SPIKE_STEP - 1, SPIKE_STEP - 1 + len(res.clean_root_v_hat))
            self.clean_third.set_data(kkc, np.clip(res.clean_root_v_hat, lo, hi))
            base = res.root_v_hat[0] if len(res.root_v_hat) else math.nan
            jump = res.root_v_hat[1] / base if len(res.root_v_hat) > 1 else math.nan
            self.ax_third.title.set_text(f"√v̂ after the spike: {jump:.3g}x before")
        return self


def clipping_figure(result: ClippingResult) -> ClippingFigure:
    """The clipping explorer's picture of ``result`` (from :func:`clipping_result`).

    Returns:
        A new ``matplotlib.figure.Figure`` (not registered with pyplot).
    """
    if not isinstance(result, ClippingResult):
        raise ValueError(f"expected a ClippingResult from clipping_result(), got {result!r:.80}")
    name = result.optimizer if result.optimizer in OPTIMIZERS else "SGD"
    return ClippingFigure(name).update(result)


def clipping_explorer(setup: ClippingSetup, threshold: float = 1.0,
                      spike: float = 1000.0, optimizer: str = "SGD") -> Explorer:
    """Sliders for the clipping threshold and the spike size, buttons for the optimizer.

    Every combination (6 thresholds x 5 spike sizes x 2 optimizers, 60 runs of
    :data:`AFTER` + 1 steps) is run when the explorer is built (a few seconds); moving a control
    then only draws.

    Args:
        setup: from :func:`clipping_setup`.
        threshold: the starting threshold, one of :data:`THRESHOLDS` (``inf``: off).
        spike: the starting spike size, one of :data:`SPIKES`.
        optimizer: ``"SGD"`` or ``"AdamW"``.

    Raises:
        ValueError: if a starting value is not on its control.
    """
    controls = {
        "threshold": choice_slider("clip threshold", THRESHOLDS, threshold,
                                   fmt=lambda c: "off" if math.isinf(c) else f"{c:g}"),
        "spike": choice_slider("spike size", SPIKES, spike, fmt=lambda s: f"x{s:g}"),
        "optimizer": toggle("optimizer", OPTIMIZERS, optimizer),
    }
    explorer = Explorer(
        "clipping", "Clipping explorer", controls,
        result=lambda v: clipping_result(setup, v["threshold"], v["spike"], v["optimizer"]),
        figure=lambda res: ClippingFigure(res.optimizer if res.optimizer in OPTIMIZERS
                                          else "SGD"),
        figure_key=lambda res: res.optimizer, precompute=True)
    for name in OPTIMIZERS:  # draw each optimizer's figure once now, not on the first click
        res = explorer.compute({**explorer.values(), "optimizer": name})
        explorer.figure_for(res).render_rgb(res)
    explorer.refresh()
    return explorer
