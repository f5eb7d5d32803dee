"""Read a training history the way an experienced engineer reads a dashboard, and say what it shows.

:func:`diagnose` takes a :class:`~course_lib.train.History` (loss, learning rate, gradient
norm before clipping, clip events, per step) and returns a :class:`Diagnosis`: a list of
:class:`Verdict` s, each with the evidence it rests on (step numbers and values, as text and as
data) and a suggested fix. The most serious finding comes first.

What it can name, and the rule behind each (every threshold is a module constant below):

============== =====================================================================================
name           rule
============== =====================================================================================
overflow       the first non-finite value came **suddenly** (the last finite gradient norm and
               loss were within :data:`CALM_FACTOR` of the run's medians) and was an ``inf``, or
               the run was in float16: a number left the range of its dtype, as fp16 does past
               65504.
diverged       the loss or gradient norm became NaN / inf after **growing**, or suddenly as a NaN
               in float32 (a numerical bug or bad data), or before two finite steps existed; or
               the smoothed loss ended more than :data:`BLOWUP_FACTOR` times above its start.
               The evidence says whether the climb began with a sudden spike (a bad batch).
lr_too_high    clipping fired on more than :data:`PINNED_FRACTION` of the last :data:`WINDOW`
               steps (the norm is pinned at the threshold), or the smoothed loss climbed back
               up by more than :data:`RISE_FRACTION` of the progress made.
spike_rescued  a brief gradient-norm spike (more than :data:`SPIKE_FACTOR` times the median
               of the steps before it, at most :data:`SPIKE_MAX_WIDTH` steps wide) that was
               clipped, after which the loss was back to its pre-spike level within
               :data:`RECOVERY_STEPS` steps.
spike_damage   the same kind of spike, not clipped, wider, or not recovered from in time.
loss_flat      the smoothed loss improved by less than :data:`FLAT_IMPROVEMENT` (relative) over
               the run, and was never that much better on the way. The suggestion depends on
               whether the gradient norm was steady and above :data:`FLAT_MIN_GRAD_NORM` (the
               learning rate is too low) or not (vanishing gradients, dead units, the data).
too_short      fewer than :data:`MIN_STEPS` steps: too little to judge a trend.
healthy        none of the above.
============== =====================================================================================

These are heuristics for the small runs of this course, tuned on them; the thresholds are
starting points, not laws. The lesson (notebook 08) shows each one on a real run.

Example::

    from course_lib.diagnose import diagnose
    print(diagnose(history))
"""

from __future__ import annotations

import dataclasses
import math
import statistics
import textwrap
from collections.abc import Sequence
from typing import Any

from course_lib.train import History

__all__ = [
    "Verdict",
    "Diagnosis",
    "diagnose",
    "steps_to_recover",
    "MIN_STEPS",
    "WINDOW",
    "PINNED_FRACTION",
    "SPIKE_FACTOR",
    "SPIKE_CONTEXT",
    "SPIKE_MAX_WIDTH",
    "RECOVERY_STEPS",
    "RECOVERY_SMOOTH",
    "BLOWUP_FACTOR",
    "CALM_FACTOR",
    "RISE_FRACTION",
    "RISE_MIN_RELATIVE",
    "FLAT_IMPROVEMENT",
    "FLAT_MIN_GRAD_NORM",
    "SMOOTH",
]

MIN_STEPS = 10
"""Fewer steps than this: no trend is judged (the verdict is ``too_short``)."""
WINDOW = 50
"""The "end of the run" is the last ``min(WINDOW, n // 2)`` steps."""
PINNED_FRACTION = 0.5
"""``lr_too_high`` when clipping fired on more than this share of the end-of-run window."""
SPIKE_FACTOR = 20.0
"""A spike is a gradient norm more than this many times the median of the steps before it."""
SPIKE_CONTEXT = 10
"""How many steps before a spike give its baseline (median norm, mean loss); the search starts at step 5."""
SPIKE_MAX_WIDTH = 3
"""A spike lasts at most this many consecutive steps; a longer climb is a trend, not a spike."""
RECOVERY_STEPS = 20
"""A spike counts as rescued if the loss is back to its pre-spike level within this many steps."""
RECOVERY_SMOOTH = 5
"""The loss after a spike is averaged over this many steps before comparing with the baseline."""
BLOWUP_FACTOR = 10.0
"""``diverged`` when the smoothed loss ends more than this many times above its start."""
CALM_FACTOR = 10.0
"""Before a sudden overflow, the last finite norm and loss are within this factor of the run's medians."""
RISE_FRACTION = 0.3
"""``lr_too_high`` when the smoothed loss gave back more than this share of the progress made..."""
RISE_MIN_RELATIVE = 0.1
"""...and the climb is also more than this share of the best smoothed loss (noise at a low loss is not a climb)."""
FLAT_IMPROVEMENT = 0.02
"""``loss_flat`` when (start - end) / start of the smoothed loss is below this."""
FLAT_MIN_GRAD_NORM = 1e-4
"""A median gradient norm above this counts as "non-trivial": the model is being pushed, it just does not move."""
SMOOTH = 10
"""Moving-average window for the loss trends (the start and end levels, the best level)."""


@dataclasses.dataclass
class Verdict:
    """One finding about a run.

    Attributes:
        name: a short identifier (``"lr_too_high"``, ``"spike_rescued"``, ...; see the module docs).
        headline: one line saying what was found, in words.
        evidence: the numbers it rests on, as text (step numbers, values).
        suggestion: what to try.
        data: the same evidence as numbers (``{"steps": [...], "grad_norm": ..., ...}``).
    """

    name: str
    headline: str
    evidence: str
    suggestion: str
    data: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __str__(self) -> str:
        wrap = textwrap.TextWrapper(width=100, subsequent_indent="    ")
        return "\n".join(
            [
                f"{self.name}: {self.headline}",
                wrap.fill(f"  evidence: {self.evidence}"),
                wrap.fill(f"  suggestion: {self.suggestion}"),
            ]
        )


@dataclasses.dataclass
class Diagnosis:
    """The verdicts on one run, the most serious first."""

    verdicts: list[Verdict]
    n_steps: int = 0

    @property
    def names(self) -> list[str]:
        """The verdicts' names, in order."""
        return [v.name for v in self.verdicts]

    @property
    def healthy(self) -> bool:
        """True when nothing was found wrong (and the run was long enough to judge)."""
        return self.names == ["healthy"]

    def __getitem__(self, name: str) -> Verdict:
        """The verdict called ``name`` (``KeyError`` if there is none)."""
        for v in self.verdicts:
            if v.name == name:
                return v
        raise KeyError(f"no verdict {name!r}; the verdicts are {self.names}")

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def __str__(self) -> str:
        lines = [f"Diagnosis of a run of {self.n_steps} step{'' if self.n_steps == 1 else 's'}:"]
        for i, v in enumerate(self.verdicts, 1):
            lines.append(f"{i}. {v}")
        return "\n".join(lines)


# --------------------------------------------------------------------------- small helpers


def _fmt(x: float) -> str:
    """A number for a report: 3 significant digits, nan / inf as such."""
    if not math.isfinite(x):
        return str(x)
    return f"{x:.3g}"


def _moving_mean(xs: Sequence[float], k: int) -> list[float]:
    """Means of every window of ``k`` consecutive values (``len(xs) - k + 1`` of them)."""
    k = max(1, min(k, len(xs)))
    out, acc = [], sum(xs[:k])
    out.append(acc / k)
    for i in range(k, len(xs)):
        acc += xs[i] - xs[i - k]
        out.append(acc / k)
    return out


def _steps_list(steps: Sequence[int], limit: int = 8) -> str:
    """``"3, 17, 40"`` or, past ``limit``, ``"3, 17, 40 and 5 more"``."""
    steps = list(steps)
    shown = ", ".join(str(s) for s in steps[:limit])
    return shown + (f" and {len(steps) - limit} more" if len(steps) > limit else "")


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


# --------------------------------------------------------------------------- the checks


def _first_nonfinite(h: History) -> int | None:
    for i, (loss, norm) in enumerate(zip(h.loss, h.grad_norm)):
        if not (math.isfinite(loss) and math.isfinite(norm)):
            return i
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


def _divergence_advice(onset: dict[str, Any] | None) -> str:
    if onset is not None and onset["sudden"] and not onset["clipped"]:
        return (
            f"Clip the global gradient norm (e.g. clip_norm=1.0) so one bad batch cannot throw "
            f"the weights far, and look at the batch at step {onset['step']}."
        )
    if onset is not None and onset["sudden"]:
        return (
            f"Look at the batch at step {onset['step']}; lower the clip threshold toward a few "
            "times the typical norm, or the learning rate."
        )
    return (
        "Lower the learning rate (try 3-10x lower), add warmup, and clip the gradient norm "
        "(e.g. 1.0) so that one bad step cannot throw the weights far."
    )


def _onset_text(onset: dict[str, Any] | None) -> str:
    if onset is None or not onset["sudden"]:
        return ""
    return (
        f"; it began with a sudden gradient spike at step {onset['step']} (norm "
        f"{_fmt(onset['grad_norm'])}, {onset['grad_norm'] / onset['baseline_grad_norm']:.0f}x the "
        f"median before, {'clipped' if onset['clipped'] else 'not clipped'}): one bad batch set it off"
    )


def _check_nonfinite(h: History, bad: int) -> Verdict:
    """``overflow`` or ``diverged`` for a run that reached a NaN / inf at index ``bad``."""
    step, loss, norm, lr = h.step[bad], h.loss[bad], h.grad_norm[bad], h.lr[bad]
    what = f"loss {_fmt(loss)}, gradient norm {_fmt(norm)} at step {step} (lr {_fmt(lr)})"
    data: dict[str, Any] = {"step": step, "loss": loss, "grad_norm": norm, "lr": lr}
    if bad < 2:
        return Verdict(
            "diverged",
            f"non-finite from step {step}, before training could get going",
            f"{what}; there is no finite history before it to tell a blow-up from an overflow",
            "Check the first batch and the model's output for NaN / inf (data with NaNs, log(0), "
            "0/0, an uninitialised tensor) before blaming the optimizer.",
            data,
        )
    norms, losses = h.grad_norm[:bad], h.loss[:bad]
    median_norm, median_loss = statistics.median(norms), statistics.median(losses)
    recent = slice(max(0, bad - SPIKE_MAX_WIDTH), bad)
    peak_norm, peak_loss = max(norms[recent]), max(losses[recent])
    calm = peak_norm <= CALM_FACTOR * median_norm and abs(peak_loss) <= CALM_FACTOR * abs(median_loss)
    has_inf = math.isinf(loss) or math.isinf(norm)
    fp16 = "float16" in str(h.meta.get("dtype", "")) and "bfloat16" not in str(h.meta.get("dtype", ""))
    data.update(
        median_grad_norm=median_norm,
        median_loss=median_loss,
        recent_peak_grad_norm=peak_norm,
        recent_peak_loss=peak_loss,
    )
    before = (
        f"in the {bad - recent.start} steps before, the gradient norm peaked at {_fmt(peak_norm)} "
        f"(run median {_fmt(median_norm)}) and the loss at {_fmt(peak_loss)} (median {_fmt(median_loss)})"
    )
    if calm and (has_inf or fp16):
        return Verdict(
            "overflow",
            f"a sudden jump to {'inf' if has_inf else 'NaN'} at step {step}: a number overflowed",
            f"{what}; {before}, so nothing was growing: one computation left the range of its "
            f"dtype{' (float16, largest value 65504)' if fp16 else ''}",
            "Compute in bfloat16 (the range of float32) or float32 instead of float16, and keep "
            "reductions such as losses and norms in float32; inspect the batch at this step for "
            "extreme values. (torch.amp.GradScaler skips float16 steps whose gradients overflow, "
            "but it cannot rescue a forward pass that does.)",
            data,
        )
    if calm:
        return Verdict(
            "diverged",
            f"a sudden NaN at step {step}",
            f"{what}; {before}: nothing was growing, so look for a numerical bug or a bad batch",
            "Inspect the batch at this step (NaN or inf inputs?) and the loss code for log(0), "
            "0/0 or inf - inf; torch.autograd.set_detect_anomaly(True) finds the operation.",
            data,
        )
    onset = _onset(h, bad)
    data["onset_step"] = onset["step"] if onset else None
    return Verdict(
        "diverged",
        f"the run diverged: non-finite at step {step} after growing",
        f"{what}; {before}: the numbers grew until they overflowed{_onset_text(onset)}",
        _divergence_advice(onset),
        data,
    )


def _check_pinned(h: History, window: int) -> Verdict | None:
    clip_norm = h.meta.get("clip_norm")
    clipped = h.clipped[-window:]
    if not clipped or not any(clipped):
        return None
    fraction = sum(clipped) / len(clipped)
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
                    "typical norm) so one bad batch cannot throw the weights far; look at the "
                    "batches there."
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


def _healthy(h: History) -> Verdict:
    smooth = _moving_mean(h.loss, min(SMOOTH, max(1, len(h) // 4)))
    median_norm = statistics.median(h.grad_norm)
    clipped = h.clip_events
    clip_text = (
        f"clipping fired on {len(clipped)} of {len(h)} steps ({len(clipped) / len(h):.0%}"
        + (f": {_steps_list(clipped)})" if clipped else ")")
        if h.meta.get("clip_norm") is not None
        else "no clipping"
    )
    return Verdict(
        "healthy",
        "nothing wrong found",
        f"the smoothed loss fell from {_fmt(smooth[0])} to {_fmt(smooth[-1])}; median gradient "
        f"norm {_fmt(median_norm)}; {clip_text}",
        "Nothing to fix. Keep the gradient-norm log: it is the first thing to read when a run goes wrong.",
        {
            "start_loss": smooth[0],
            "end_loss": smooth[-1],
            "median_grad_norm": median_norm,
            "clip_events": clipped,
        },
    )


_SEVERITY = {
    "overflow": 0,
    "diverged": 0,
    "lr_too_high": 1,
    "spike_damage": 2,
    "loss_flat": 3,
    "spike_rescued": 4,
}
"""The order of the verdicts in a report: the run-killing ones first."""


def diagnose(history: History) -> Diagnosis:
    """Name what a training history shows: healthy, lr too high, a spike, divergence, overflow, flat.

    The checks (the module docstring gives each rule):

    1. The first non-finite loss or gradient norm, if any: ``overflow`` when it came suddenly
       (see :data:`CALM_FACTOR`), else ``diverged``. The other checks then look only at the
       finite steps before it.
    2. ``lr_too_high`` when the gradient norm is pinned at the clipping threshold
       (:data:`PINNED_FRACTION` of the last :data:`WINDOW` steps clipped).
    3. ``diverged`` / ``loss_flat`` / ``lr_too_high`` from the smoothed loss: a blow-up, no
       progress, or a climb back up (skipped after a non-finite value).
    4. Gradient-norm spikes: one ``spike_damage`` verdict for those that hurt, one
       ``spike_rescued`` for those clipping handled.

    ``healthy`` when none fires and the run has at least :data:`MIN_STEPS` steps. The verdicts
    are listed most serious first: ``overflow`` / ``diverged``, ``lr_too_high``,
    ``spike_damage``, ``loss_flat``, ``spike_rescued``.

    Args:
        history: a :class:`~course_lib.train.History` (from :func:`course_lib.train.train`,
            :meth:`~course_lib.train.History.from_dict`, or written by hand).

    Returns:
        A :class:`Diagnosis`; ``print`` it for a report.
    """
    n = len(history)
    verdicts: list[Verdict] = []
    bad = _first_nonfinite(history)
    if bad is not None:
        verdicts.append(_check_nonfinite(history, bad))
    end = n if bad is None else bad  # the finite prefix
    if end < MIN_STEPS:
        if bad is None:
            verdicts.append(
                Verdict(
                    "too_short",
                    "too few steps to judge",
                    f"the history has {n} step{'s' if n != 1 else ''}; at least {MIN_STEPS} are "
                    "needed to see a trend",
                    "Train longer (or record every step) before drawing conclusions.",
                    {"n_steps": n},
                )
            )
        return Diagnosis(verdicts, n)

    window = min(WINDOW, end // 2)
    prefix = History(
        step=history.step[:end],
        loss=history.loss[:end],
        lr=history.lr[:end],
        grad_norm=history.grad_norm[:end],
        clipped=history.clipped[:end],
        meta=history.meta,
    )
    pinned = _check_pinned(prefix, window)
    if pinned is not None:
        verdicts.append(pinned)
    spikes = _check_spikes(prefix, end)
    if bad is None:
        spike_steps = [t for v in spikes for t in v.data["steps"]]
        trends = _check_trends(prefix, end, spike_steps)
        if pinned is not None:  # one lr_too_high verdict is enough
            trends = [v for v in trends if v.name != "lr_too_high"]
        verdicts.extend(trends)
    verdicts.extend(spikes)
    if not verdicts:
        verdicts.append(_healthy(history))
    verdicts.sort(key=lambda v: _SEVERITY.get(v.name, len(_SEVERITY)))  # stable: ties keep order
    return Diagnosis(verdicts, n)
