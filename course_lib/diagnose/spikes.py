"""Gradient-norm spikes: finding them, and judging each one rescued by clipping or damaging.

A spike is a gradient norm more than ``SPIKE_FACTOR`` times the median of the steps before it,
at most ``SPIKE_MAX_WIDTH`` steps wide; :func:`steps_to_recover` says how long the loss took to
get back. The verdicts: ``spike_rescued`` and ``spike_damage``.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

from course_lib.diagnose.report import Verdict, _fmt, _steps_list
from course_lib.diagnose.thresholds import (
    ADAPTIVE_OPTIMIZERS,
    RECOVERY_SMOOTH,
    RECOVERY_STEPS,
    SPIKE_CONTEXT,
    SPIKE_FACTOR,
    SPIKE_MAX_WIDTH,
)
from course_lib.train import History

__all__ = ["steps_to_recover"]


def steps_to_recover(
    loss: Sequence[float],
    spike_step: int,
    *,
    context: int = SPIKE_CONTEXT,
    smooth: int = RECOVERY_SMOOTH,
) -> int | None:
    """How many steps after a spike the loss needed to get back to where it was.

    The baseline is the mean loss over the ``context`` steps before ``spike_step``. The loss of
    the spike step itself is the bad batch's own loss, so the count starts after it: the answer is
    the first ``k >= 1`` for which the mean of ``loss[spike_step + k : spike_step + k + smooth]``
    is at or below the baseline.

    Args:
        loss: the loss per step.
        spike_step: the step of the bad batch.
        context: steps before the spike that define "where it was".
        smooth: how many steps are averaged after the spike (one lucky batch is not a recovery).

    Returns:
        ``k``, or ``None`` if the loss never got back (or there is no step before the spike).

    Example:
        >>> steps_to_recover([1.0, 1.0, 1.0, 9.0, 5.0, 2.0, 1.0, 1.0, 1.0], 3, smooth=2)
        3
    """
    before = [v for v in loss[max(0, spike_step - context) : spike_step] if math.isfinite(v)]
    if not before:
        return None
    baseline = sum(before) / len(before)
    for k in range(1, len(loss) - spike_step):
        after = loss[spike_step + k : spike_step + k + smooth]
        if not all(map(math.isfinite, after)):
            return None
        if sum(after) / len(after) <= baseline:
            return k
    return None


def _excursions(h: History, end: int) -> list[tuple[int, int, float]]:
    """Stretches where the gradient norm sat above ``SPIKE_FACTOR`` x the median before them.

    Returns ``(index, width, baseline)`` for each: the first step above, how many steps in a row
    stayed above, and the median of the (up to) ``SPIKE_CONTEXT`` norms before it. A stretch
    that is still above at ``end`` has ``index + width == end``.
    """
    norms = h.grad_norm[:end]
    found, i = [], max(1, (SPIKE_CONTEXT + 1) // 2)
    while i < len(norms):
        base = statistics.median(norms[max(0, i - SPIKE_CONTEXT) : i])
        if base > 0 and norms[i] > SPIKE_FACTOR * base:
            j = i
            while j < len(norms) and norms[j] > SPIKE_FACTOR * base:
                j += 1
            found.append((i, j - i, base))
            i = j + 1
        else:
            i += 1
    return found


def _onset(h: History, end: int) -> dict[str, Any] | None:
    """Where the final climb of the gradient norm began, if it was still high at ``end``.

    Used to say how a divergence started: a jump in one step (a bad batch) reads differently
    from a steady climb (a learning rate that is too high).
    """
    stretches = _excursions(h, end)
    if not stretches or sum(stretches[-1][:2]) != end:
        return None
    i, _, base = stretches[-1]
    return {
        "step": h.step[i],
        "grad_norm": h.grad_norm[i],
        "baseline_grad_norm": base,
        "clipped": h.clipped[i],
        "sudden": h.grad_norm[i] > SPIKE_FACTOR * h.grad_norm[i - 1],  # one step, not a climb
    }


def _spikes(h: History, end: int) -> list[tuple[int, int]]:
    """(index, width) of each gradient-norm spike among the first ``end`` steps.

    A spike starts where the norm exceeds ``SPIKE_FACTOR`` times the median of the (up to)
    ``SPIKE_CONTEXT`` steps before it; its width is how many steps the norm stays that high.
    A climb that never comes back down before ``end`` is a trend (divergence), not a spike.
    """
    return [(i, width) for i, width, _ in _excursions(h, end) if i + width < end]


def _check_spikes(h: History, end: int) -> list[Verdict]:
    """At most two verdicts: ``spike_damage`` for the spikes that hurt, ``spike_rescued`` for the rest."""
    rescued: list[dict[str, Any]] = []
    damaging: list[dict[str, Any]] = []
    for i, width in _spikes(h, end):
        base = statistics.median(h.grad_norm[max(0, i - SPIKE_CONTEXT) : i])
        # loss[i] is the bad batch's own loss; the damage of its update shows from step i + 1 on
        k = steps_to_recover(h.loss[:end], i)
        spike = {
            "step": h.step[i],
            "width": width,
            "grad_norm": h.grad_norm[i],
            "baseline_grad_norm": base,
            "clipped": h.clipped[i],
            "loss_after": h.loss[i + 1],
            "steps_to_recover": k,
        }
        ok = spike["clipped"] and width <= SPIKE_MAX_WIDTH and k is not None and k <= RECOVERY_STEPS
        (rescued if ok else damaging).append(spike)

    def describe(spikes: list[dict[str, Any]]) -> str:
        parts = []
        for sp in spikes[:3]:
            k = sp["steps_to_recover"]
            high = "" if sp["width"] == 1 else f", above {SPIKE_FACTOR:g}x for {sp['width']} steps"
            back = (
                f"back to its pre-spike level after {k} step{'s' if k != 1 else ''}"
                if k is not None
                else "not back to its pre-spike level by the end"
            )
            parts.append(
                f"step {sp['step']}: gradient norm {_fmt(sp['grad_norm'])} "
                f"({sp['grad_norm'] / sp['baseline_grad_norm']:.0f}x the median "
                f"{_fmt(sp['baseline_grad_norm'])} of the steps before{high}), "
                f"{'clipped' if sp['clipped'] else 'not clipped'}; loss {_fmt(sp['loss_after'])} "
                f"on the next step, {back}"
            )
        more = f"; and {len(spikes) - 3} more" if len(spikes) > 3 else ""
        return "; ".join(parts) + more

    def data(spikes: list[dict[str, Any]]) -> dict[str, Any]:
        return {"steps": [sp["step"] for sp in spikes], "spikes": spikes}

    def where(spikes: list[dict[str, Any]]) -> str:
        if len(spikes) == 1:
            return f"a gradient spike at step {spikes[0]['step']}"
        return f"{len(spikes)} gradient spikes (steps {_steps_list([sp['step'] for sp in spikes], 5)})"

    verdicts = []
    if damaging:
        clipped = any(sp["clipped"] for sp in damaging)
        verdicts.append(
            Verdict(
                "spike_damage",
                f"{where(damaging)} that hurt the run",
                describe(damaging),
                (
                    "Clipping fired but the damage stayed: lower the threshold toward a few "
                    "times the typical norm, or the learning rate; look at the batches there."
                    if clipped
                    else "Clip the global gradient norm (e.g. clip_norm=1.0, a few times the "
                    "typical norm) so one bad batch cannot "
                    + ("flood the optimizer's second-moment estimate (under "
                       f"{h.meta['optimizer']} the step barely grows with the gradient, but v "
                       "stays inflated and later steps shrink)"
                       if h.meta.get("optimizer") in ADAPTIVE_OPTIMIZERS
                       else "throw the weights far")
                    + "; look at the batches there."
                ),
                data(damaging),
            )
        )
    if rescued:
        verdicts.append(
            Verdict(
                "spike_rescued",
                f"{where(rescued)}, rescued by clipping",
                describe(rescued),
                "Nothing to fix: this is what clipping is for. If spikes come often, look at "
                "the batches at those steps (outliers, corrupt records).",
                data(rescued),
            )
        )
    return verdicts
