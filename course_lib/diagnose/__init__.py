"""Read a training history the way an experienced engineer reads a dashboard, and say what it shows.

:func:`diagnose` takes a :class:`~course_lib.train.History` (loss, learning rate, gradient
norm before clipping, clip events, per step) and returns a :class:`Diagnosis`: a list of
:class:`Verdict` s, each with the evidence it rests on (step numbers and values, as text and as
data) and a suggested fix. The most serious finding comes first.

What it can name, and the rule behind each (every threshold is a constant of
:mod:`course_lib.diagnose.thresholds`, importable from here too):

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
               steps under SGD (the norm is pinned at the threshold and has become the step
               length), or the smoothed loss climbed back up by more than :data:`RISE_FRACTION`
               of the progress made.
clipping_often under an adaptive optimizer (:data:`ADAPTIVE_OPTIMIZERS`: Adam, AdamW,
               RMSprop, Lion, ... read from ``history.meta["optimizer"]``), clipping fired on
               more than :data:`ADAPTIVE_CLIP_FRACTION` of the last :data:`WINDOW` steps. The
               step length is the learning rate's either way; what the threshold changes is
               the scale the moment estimates see. Advice: raise the threshold above the
               typical norm while the loss falls, lower the learning rate if it does not.
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

The package, one idea per module: :mod:`~course_lib.diagnose.thresholds` (the constants),
:mod:`~course_lib.diagnose.report` (``Verdict``, ``Diagnosis`` and how numbers are written),
:mod:`~course_lib.diagnose.spikes` (gradient-norm spikes and ``steps_to_recover``),
:mod:`~course_lib.diagnose.divergence` (NaN / inf: overflow or divergence),
:mod:`~course_lib.diagnose.trends` (pinned clipping and the smoothed loss: blow-up, climb, flat)
and :mod:`~course_lib.diagnose.doctor` (``diagnose``: every check, the verdicts in order).
"""

from course_lib.diagnose.doctor import diagnose
from course_lib.diagnose.report import Diagnosis, Verdict
from course_lib.diagnose.spikes import steps_to_recover
from course_lib.diagnose.thresholds import (
    ADAPTIVE_CLIP_FRACTION,
    ADAPTIVE_OPTIMIZERS,
    BLOWUP_FACTOR,
    CALM_FACTOR,
    FLAT_IMPROVEMENT,
    FLAT_MIN_GRAD_NORM,
    MIN_STEPS,
    PINNED_FRACTION,
    RECOVERY_SMOOTH,
    RECOVERY_STEPS,
    RISE_FRACTION,
    RISE_MIN_RELATIVE,
    SMOOTH,
    SPIKE_CONTEXT,
    SPIKE_FACTOR,
    SPIKE_MAX_WIDTH,
    WINDOW,
)

__all__ = [
    "Verdict",
    "Diagnosis",
    "diagnose",
    "steps_to_recover",
    "MIN_STEPS",
    "WINDOW",
    "PINNED_FRACTION",
    "ADAPTIVE_CLIP_FRACTION",
    "ADAPTIVE_OPTIMIZERS",
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
