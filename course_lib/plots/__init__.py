"""Plots of the course: they take finished data, draw on an ``ax``, and return it.

Every function takes an optional ``ax=`` (a new figure is made when it is missing) and returns
the Axes it drew on, so a lesson lays out its own grid::

    import matplotlib.pyplot as plt
    from course_lib.plots import plot_losses, plot_trajectory_2d

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    plot_trajectory_2d(rosen, run_sgd, ax=left, label="SGD")
    plot_trajectory_2d(rosen, run_adam, ax=left, label="Adam")
    plot_losses({"SGD": run_sgd["losses"], "Adam": run_adam["losses"]}, ax=right, log_y=True)

Nothing here calls ``plt.show()`` and nothing changes matplotlib's settings on import;
:func:`course_style` applies the course's look when a lesson asks for it. NaN and inf in the data
never raise: they leave gaps in lines, and diverged paths are clipped to the window.
Lessons render figures as PNG (SVG output embeds dates, which would break the stored outputs).

The package, one idea per module: :mod:`~course_lib.plots.style` (the course's look,
:func:`course_style`), :mod:`~course_lib.plots.contours` (contours of a 2-D landscape and
optimizer paths over them), :mod:`~course_lib.plots.surface` (the same landscape in 3-D),
:mod:`~course_lib.plots.curves` (loss, learning-rate and gradient-norm curves over the steps) and
:mod:`~course_lib.plots.walks` (optimizer walks whole and zoomed in on the minimum, side by side).
"""

from course_lib.plots.contours import plot_landscape_contour, plot_trajectory_2d
from course_lib.plots.curves import plot_grad_norms, plot_losses, plot_lr_schedule
from course_lib.plots.style import COURSE_RC, course_style
from course_lib.plots.surface import plot_surface_3d
from course_lib.plots.walks import plot_walks_near_minimum

__all__ = [
    "COURSE_RC",
    "course_style",
    "plot_landscape_contour",
    "plot_trajectory_2d",
    "plot_surface_3d",
    "plot_losses",
    "plot_lr_schedule",
    "plot_grad_norms",
    "plot_walks_near_minimum",
]
