"""The learning-rate range test ("LR finder") and the course's suggestion.

One short sweep from a tiny learning rate to a huge one (:func:`lr_range_test`), the three
published ways to read a learning rate off its curve (:mod:`.curve`), and the course's own
``suggested_lr``: candidates from the curve checked with short constant-lr runs
(:mod:`.probes`), validated in ``bench/lr_finder.py`` against full constant-lr sweeps. The
model and the optimizer are restored exactly afterwards.

Example::

    result = lr_range_test(model, torch.optim.SGD(model.parameters(), lr=0.1), batches, loss_fn)
    result.suggested_lr       # the course's suggestion
    result.suggestions        # {"steepest": ..., "valley": ..., "minimum_div_10": ...}
    plot_lr_finder(result)

Modules: :mod:`.curve` (schedule, smoothing, published rules), :mod:`.sweep` (the range test),
:mod:`.probes` (the course's rule), :mod:`.plot`.
"""

from course_lib.lr_finder.curve import (
    exponential_lrs,
    smooth_losses,
    suggest_all,
    suggest_minimum_div_10,
    suggest_steepest,
    suggest_valley,
)
from course_lib.lr_finder.plot import plot_lr_finder
from course_lib.lr_finder.probes import pick, probe_window, run_probes
from course_lib.lr_finder.sweep import LRFinderResult, lr_range_test

__all__ = [
    "LRFinderResult",
    "lr_range_test",
    "exponential_lrs",
    "smooth_losses",
    "suggest_steepest",
    "suggest_valley",
    "suggest_minimum_div_10",
    "suggest_all",
    "probe_window",
    "run_probes",
    "pick",
    "plot_lr_finder",
]
