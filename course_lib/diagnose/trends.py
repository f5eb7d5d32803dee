"""What the smoothed loss and the clipping rate say over the whole run.

``lr_too_high`` (clipping pinned at the threshold, or a loss that climbed back up), ``diverged``
(a blow-up of the smoothed loss) and ``loss_flat``.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from course_lib.diagnose.divergence import _divergence_advice, _onset_text
from course_lib.diagnose.report import Verdict, _fmt
from course_lib.diagnose.spikes import _onset
from course_lib.diagnose.thresholds import (
    ADAPTIVE_CLIP_FRACTION,
    ADAPTIVE_OPTIMIZERS,
    BLOWUP_FACTOR,
    FLAT_IMPROVEMENT,
    FLAT_MIN_GRAD_NORM,
    PINNED_FRACTION,
    RISE_FRACTION,
    RISE_MIN_RELATIVE,
    SMOOTH,
)
from course_lib.train import History

__all__: list[str] = []


def _moving_mean(xs: Sequence[float], k: int) -> list[float]:
    """Means of every window of ``k`` consecutive values (``len(xs) - k + 1`` of them)."""
    k = max(1, min(k, len(xs)))
    out, acc = [], sum(xs[:k])
    out.append(acc / k)
    for i in range(k, len(xs)):
        acc += xs[i] - xs[i - k]
        out.append(acc / k)
    return out


def _check_pinned(h: History, window: int) -> Verdict | None:
    """Clipping on much of the end of the run: what that means depends on the optimizer.

    Under SGD the step is lr x gradient, so a gradient cut to the threshold on most steps makes
    the threshold the step length (``lr_too_high``). Under an adaptive optimizer (Adam, AdamW,
    RMSprop, Lion, ...) the step length is set by the learning rate whatever the gradient's
    scale; frequent clipping there means the threshold sits near the typical norm, so the
    moment estimates see the threshold instead of the real gradient scale (``clipping_often``).
    """
    clip_norm = h.meta.get("clip_norm")
    clipped = h.clipped[-window:]
    if not clipped or not any(clipped):
        return None
    fraction = sum(clipped) / len(clipped)
    optimizer = h.meta.get("optimizer")
    if optimizer in ADAPTIVE_OPTIMIZERS and fraction > ADAPTIVE_CLIP_FRACTION:
        return _clipping_often(h, clipped, fraction, optimizer)
    if fraction <= PINNED_FRACTION:
        return None
    steps = h.step[-window:]
    norms = h.grad_norm[-window:]
    median_norm = statistics.median(norms)
    data = {
        "steps": [steps[0], steps[-1]],
        "clipped_fraction": fraction,
        "median_grad_norm": median_norm,
        "clip_norm": clip_norm,
        "lr": h.lr[-1],
    }
    ratio = f" ({median_norm / clip_norm:.3g}x the threshold {_fmt(clip_norm)})" if clip_norm else ""
    return Verdict(
        "lr_too_high",
        "the gradient norm is pinned at the clipping threshold",
        f"clipping fired on {sum(clipped)} of the last {len(clipped)} steps ({fraction:.0%}, "
        f"steps {steps[0]}-{steps[-1]}); median gradient norm {_fmt(median_norm)}{ratio} at lr "
        f"{_fmt(h.lr[-1])}. Every step is cut to the same length, so clipping has become the "
        "learning rate and hides how far off the real one is",
        "Lower the learning rate until clipping fires only now and then (a few % of steps); "
        "if the data has outliers, look at them. Raising the threshold would only unhide it.",
        data,
    )


def _clipping_often(h: History, clipped: list[bool], fraction: float, optimizer: str) -> Verdict:
    clip_norm = h.meta.get("clip_norm")
    steps, norms = h.step[-len(clipped):], h.grad_norm[-len(clipped):]
    median_norm = statistics.median(norms)
    ratio = f" ({median_norm / clip_norm:.3g}x the threshold {_fmt(clip_norm)})" if clip_norm else ""
    suggested = 3 * median_norm
    return Verdict(
        "clipping_often",
        f"clipping fires on much of the run's end, under {optimizer}",
        f"clipping fired on {sum(clipped)} of the last {len(clipped)} steps ({fraction:.0%}, "
        f"steps {steps[0]}-{steps[-1]}); median gradient norm {_fmt(median_norm)}{ratio}. Under "
        f"{optimizer} the step length is set by the learning rate, not by the gradient's size, so "
        "this is not a hidden learning-rate cut as it would be for SGD; but the moment estimates "
        "(m, v) now see the threshold instead of the gradient's real scale",
        f"If the loss is still falling, this is harmless; to keep clipping for what it is for "
        f"(spikes), raise the threshold to a few times the median norm (about {_fmt(suggested)}). "
        "If the loss has stalled or climbs, lower the learning rate.",
        {
            "steps": [steps[0], steps[-1]],
            "clipped_fraction": fraction,
            "median_grad_norm": median_norm,
            "clip_norm": clip_norm,
            "optimizer": optimizer,
            "suggested_clip_norm": suggested,
        },
    )


def _check_trends(h: History, end: int, spike_steps: list[int]) -> list[Verdict]:
    """``diverged`` (blow-up), ``lr_too_high`` (climb) and ``loss_flat`` from the smoothed loss."""
    losses = h.loss[:end]
    smooth = _moving_mean(losses, min(SMOOTH, max(1, end // 4)))
    start, final = smooth[0], smooth[-1]
    best_i = min(range(len(smooth)), key=smooth.__getitem__)
    best = smooth[best_i]
    norms = h.grad_norm[:end]
    median_norm = statistics.median(norms)
    data = {"start_loss": start, "best_loss": best, "end_loss": final, "median_grad_norm": median_norm}

    if abs(final) > BLOWUP_FACTOR * abs(start) and final > start:
        onset = _onset(h, end)
        data["onset_step"] = onset["step"] if onset else None
        return [
            Verdict(
                "diverged",
                "the loss blew up",
                f"the smoothed loss went from {_fmt(start)} at the start to {_fmt(final)} at the "
                f"end{f' ({final / start:.3g}x)' if start > 0 else ''} at lr "
                f"{_fmt(h.lr[end - 1])}{_onset_text(onset)}",
                _divergence_advice(onset),
                data,
            )
        ]

    progress = start - best
    improvement = (start - final) / abs(start) if start != 0 else 0.0
    if improvement < FLAT_IMPROVEMENT and progress <= FLAT_IMPROVEMENT * abs(start):
        half = max(1, end // 2)
        first, second = statistics.median(norms[:half]), statistics.median(norms[half:] or norms)
        steady = first > 0 and 1 / 3 <= second / first <= 3
        pushed = median_norm > FLAT_MIN_GRAD_NORM and steady
        data.update(relative_improvement=improvement, lr=h.lr[end - 1])
        return [
            Verdict(
                "loss_flat",
                "the loss barely moved",
                f"the smoothed loss went from {_fmt(start)} to {_fmt(final)} ({improvement:+.2%}) "
                f"over {end} steps at lr {_fmt(h.lr[end - 1])}, while the gradient norm stayed "
                f"{'steady' if steady else 'unsteady'} around {_fmt(median_norm)}",
                (
                    "The learning rate is too low: the gradient is there but the steps are too "
                    "small. Raise it 10x (or run an LR range test, lesson 09)."
                    if pushed
                    else "The gradients are tiny or unsteady: check the initialisation, dead "
                    "units and the data pipeline before raising the learning rate."
                ),
                data,
            )
        ]

    rise = final - best
    if rise > RISE_FRACTION * progress and rise > RISE_MIN_RELATIVE * abs(best):
        best_step = h.step[best_i + len(losses) - len(smooth)]
        if any(s >= best_step for s in spike_steps):
            return []  # the climb started with a spike: that verdict covers it
        data.update(best_step=best_step, lr=h.lr[end - 1])
        return [
            Verdict(
                "lr_too_high",
                "the loss went back up",
                f"the smoothed loss fell from {_fmt(start)} to {_fmt(best)} (around step "
                f"{best_step}) and then climbed back to {_fmt(final)} at lr {_fmt(h.lr[end - 1])}",
                "Lower the learning rate, or decay it (a schedule, lesson 07); if the climb "
                "started when the lr rose (warmup), lower the peak.",
                data,
            )
        ]
    return []
