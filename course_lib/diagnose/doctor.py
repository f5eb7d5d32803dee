"""The doctor: :func:`diagnose` runs every check on a history and lists the verdicts.

The most serious verdict comes first; ``healthy`` when no check fires.
"""

from __future__ import annotations

import statistics

from course_lib.diagnose.divergence import _check_nonfinite, _first_nonfinite
from course_lib.diagnose.report import Diagnosis, Verdict, _fmt, _steps_list
from course_lib.diagnose.spikes import _check_spikes
from course_lib.diagnose.thresholds import MIN_STEPS, SMOOTH, WINDOW
from course_lib.diagnose.trends import _check_pinned, _check_trends, _moving_mean
from course_lib.train import History

__all__ = ["diagnose"]


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
    "clipping_often": 4,
    "spike_rescued": 5,
}
"""The order of the verdicts in a report: the run-killing ones first."""


def diagnose(history: History) -> Diagnosis:
    """Name what a training history shows: healthy, lr too high, a spike, divergence, overflow, flat.

    The checks (the module docstring gives each rule):

    1. The first non-finite loss or gradient norm, if any: ``overflow`` when it came suddenly
       (see :data:`CALM_FACTOR`), else ``diverged``. The other checks then look only at the
       finite steps before it.
    2. ``lr_too_high`` when the gradient norm is pinned at the clipping threshold
       (:data:`PINNED_FRACTION` of the last :data:`WINDOW` steps clipped) under SGD; under an
       adaptive optimizer (:data:`ADAPTIVE_OPTIMIZERS`, read from ``history.meta["optimizer"]``)
       ``clipping_often`` once :data:`ADAPTIVE_CLIP_FRACTION` of those steps are clipped.
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
        if pinned is not None and pinned.name == "lr_too_high":  # one is enough
            trends = [v for v in trends if v.name != "lr_too_high"]
        verdicts.extend(trends)
    verdicts.extend(spikes)
    if not verdicts:
        verdicts.append(_healthy(history))
    verdicts.sort(key=lambda v: _SEVERITY.get(v.name, len(_SEVERITY)))  # stable: ties keep order
    return Diagnosis(verdicts, n)
