"""The thresholds of :func:`course_lib.diagnose.diagnose`, each with the rule it sets.

Heuristics tuned on the small runs of this course: starting points, not laws.
"""

__all__ = [
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

MIN_STEPS = 10
"""Fewer steps than this: no trend is judged (the verdict is ``too_short``)."""
WINDOW = 50
"""The "end of the run" is the last ``min(WINDOW, n // 2)`` steps."""
PINNED_FRACTION = 0.5
"""``lr_too_high`` when clipping fired on more than this share of the end-of-run window (SGD)."""
ADAPTIVE_CLIP_FRACTION = 0.25
"""Under an adaptive optimizer, ``clipping_often`` when clipping fired on more than this share
of the end-of-run window."""
ADAPTIVE_OPTIMIZERS = frozenset({"Adam", "AdamW", "Adamax", "NAdam", "RAdam", "RMSprop",
                                 "Adagrad", "Adadelta", "Lion"})
"""Optimizers whose step length is set by the learning rate, not the gradient's scale
(``History.meta["optimizer"]`` is the optimizer's class name)."""
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
