"""Interactive explorers: drag a slider, watch an optimizer converge, crawl or blow up.

Each explorer is three pieces, so that tests and static pages get the same pictures as a live
notebook:

* a **pure result function** (settings in, numbers out; odd settings give an "invalid setting"
  or "diverged" status, never a traceback): ``lr_result``, ``momentum_result``,
  ``adam_result``, ``design_result``;
* a **figure function** (result in, a new ``matplotlib.figure.Figure`` out, not managed by
  pyplot): ``lr_figure``, ``momentum_figure``, ``adam_figure``, ``design_figure``;
* a **constructor** that puts the two on the one widget shell, :class:`shell.Explorer`:
  ``lr_explorer``, ``momentum_explorer``, ``adam_explorer``, ``schedule_designer``.

Modules: :mod:`.shell` (the widget), :mod:`.figures` (shared figure helpers),
:mod:`.controls` (shared sliders), :mod:`.problems` and :mod:`.results` (landscapes as the
explorers see them, and the run through :func:`course_lib.landscapes.run_optimizer`),
:mod:`.landscape_figure` (the path and loss panels), and one module per explorer:
:mod:`.learning_rate`, :mod:`.momentum`, :mod:`.adam`, :mod:`.schedule`.

Lessons import them from :mod:`course_lib.widgets` and :mod:`course_lib.schedule_designer`.
Importing this package imports none of the submodules.
"""

__all__: list[str] = []
