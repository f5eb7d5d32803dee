"""The course's look for matplotlib figures: :data:`COURSE_RC`, applied by :func:`course_style`.

Importing this module changes nothing; ``course_style()`` applies the look for the rest of the
session, ``with course_style(): ...`` only inside the block.
"""

from __future__ import annotations

from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt

__all__ = ["COURSE_RC", "course_style"]

#: Colour-blind-safe palette (Okabe & Ito, 2008), used as the line colour cycle.
_PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]

#: The rcParams :func:`course_style` applies.
COURSE_RC: dict[str, Any] = {
    "figure.figsize": (6.4, 4.4),
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "savefig.format": "png",
    "figure.constrained_layout.use": True,
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.titleweight": "bold",
    "axes.labelsize": 11,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 10,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "lines.linewidth": 1.8,
    "lines.markersize": 6,
    "image.cmap": "viridis",
    "axes.prop_cycle": mpl.cycler(color=_PALETTE),
}


class course_style:  # noqa: N801 - used like a function
    """Apply the course's plot style; also usable as a context manager.

    Called on its own (``course_style()``, typically in a lesson's first cell), it sets
    ``COURSE_RC`` for the rest of the session. Used in a ``with`` block, it restores the previous
    settings on exit::

        with course_style():
            plot_losses(history)

    Args:
        **overrides: extra rcParams that win over ``COURSE_RC``, e.g. ``font.size=13``
            (dots replaced by ``__``: ``course_style(font__size=13)``).
    """

    def __init__(self, **overrides: Any):
        # What matplotlib.rc_context saves and puts back (every rcParam but the backend), kept
        # here rather than in an rc_context: entered and never exited, as a bare course_style()
        # leaves it, an rc_context restores the old settings as soon as it is garbage-collected.
        # matplotlib.pyplot.xkcd, matplotlib's own look that works both ways, does the same.
        self._saved = dict(mpl.rcParams.copy())
        del self._saved["backend"]
        plt.style.use(COURSE_RC)
        mpl.rcParams.update({k.replace("__", "."): v for k, v in overrides.items()})

    def __enter__(self) -> course_style:
        return self

    def _ipython_display_(self) -> None:
        """Show nothing: ``course_style()`` ending a lesson's cell must not print a repr."""

    def __exit__(self, *exc: object) -> None:
        mpl.rcParams.update(self._saved)
