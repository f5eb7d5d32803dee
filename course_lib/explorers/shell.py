"""The one explorer widget: controls, a readout, a picture, and a static PNG fallback.

An explorer is two pure functions and a few lines on :class:`Explorer`:

* ``result(values) -> result``: the control values (a dict by control name) in, a result with
  a ``lines`` tuple (the readout) out; it returns a status ("invalid setting", "diverged")
  for odd values rather than raising;
* ``figure(result) -> ExplorerFigure``: a new figure for that result
  (:class:`~course_lib.explorers.figures.ExplorerFigure`); with ``figure_key`` the shell keeps
  one per key and only moves its artists on each update.

Where one result takes too long to compute on a slider move, ``precompute=True`` computes the
result of every combination of the controls' options (sliders over fixed values, buttons) once,
when the explorer is built, that is when the lesson's cell runs; a slider move then only looks
its result up and draws it.

Example::

    Explorer("lr", "Learning-rate explorer", {"lr": slider},
             result=lambda v: lr_result(v["lr"]), figure=lambda r: LrFigure(r.problem, r.steps))

**Static fallback.** An :class:`Explorer` displays with a MIME bundle holding the live widget
view *and* a PNG of its current picture (plus one deterministic text/plain line, which nbval
compares). Checked in JupyterLab 4.6 / ipywidgets 8.1 in headless Chromium: a lesson opened as
stored (untrusted; the widget renderer is not "safe") shows the PNG; after running the cell it
shows only the live widget, never both. nbconvert (nbviewer) skips a widget view whose state is
not saved in the notebook (``make notebooks`` saves none) and renders the PNG. GitHub's renderer
was not tested. One case shows no picture: a notebook *saved from JupyterLab* is trusted, so
reopened without its kernel it shows ipywidgets' "Loading widget..." until the cell is re-run.
"""

from __future__ import annotations

import base64
import html
import itertools
from collections.abc import Callable, Hashable, Mapping
from typing import Any

import ipywidgets as widgets
import numpy as np

from course_lib.explorers.figures import RED, ExplorerFigure, encode_png, fmt_number

__all__ = ["Explorer", "describe_values"]


def describe_values(values: Mapping[str, Any]) -> str:
    """``"landscape = quadratic, lr = 0.1"``: control values as the plain-text line gives them."""
    def fmt(v: Any) -> str:
        if isinstance(v, bool | str):
            return str(v)
        if isinstance(v, int | float):
            return fmt_number(v)
        return str(v)

    return ", ".join(f"{k} = {fmt(v)}" for k, v in values.items())


class Explorer(widgets.VBox):
    """A live explorer: controls, a readout, and a picture redrawn on every change.

    Set a control's ``.value`` (``explorer.controls["lr"].value = 0.5``) and the readout text
    and the image update, in a notebook or in a test.

    Args:
        name: short name, for the CSS class ``course-<name>-explorer``.
        title: the name for people, first in the plain-text line.
        controls: the control widgets by setting name, in display order.
        result: ``values -> result`` (see the module docstring).
        figure: ``result -> ExplorerFigure``, a new figure for ``result``.
        figure_key: ``result -> key``: results with the same key share one figure
            (default: one figure for all).
        describe: ``values -> str``, the settings in the plain-text line
            (default :func:`describe_values`).
        precompute: compute the result of every combination of the controls' ``options``
            now (every control must have them: selection sliders, toggle buttons, drop-downs),
            and look results up on each change.

    Attributes:
        controls: the control widgets by setting name.
        readout: an ``HTML`` widget with the result's readout lines.
        image: an ``Image`` widget holding the current PNG.
        result: the current result.
        error: why the last update failed (text), else ``None``: cleared by the next update
            that succeeds.
    """

    def __init__(
        self,
        name: str,
        title: str,
        controls: Mapping[str, widgets.Widget],
        *,
        result: Callable[[dict[str, Any]], Any],
        figure: Callable[[Any], ExplorerFigure],
        figure_key: Callable[[Any], Hashable] = lambda _result: None,
        describe: Callable[[dict[str, Any]], str] = describe_values,
        precompute: bool = False,
    ):
        self.explorer_name = name
        self.explorer_title = title
        self.controls = dict(controls)
        self._compute = result
        self._new_figure = figure
        self._figure_key = figure_key
        self._describe = describe
        self._figures: dict[Hashable, ExplorerFigure] = {}
        self._results: dict[tuple, Any] = {}
        if precompute:
            self._precompute()
        self.readout = widgets.HTML(layout=widgets.Layout(margin="2px 0 2px 4px"))
        self.readout.add_class("course-readout")
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.image.add_class("course-plot")
        self.result: Any = None
        self.error: str | None = None
        self._png = b""
        self._rgb: np.ndarray | None = None
        row = widgets.HBox(list(self.controls.values()),
                           layout=widgets.Layout(flex_flow="row wrap"))
        super().__init__([row, self.readout, self.image])
        self.add_class("course-explorer")
        self.add_class(f"course-{name}-explorer")
        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        self.refresh()

    def values(self) -> dict[str, Any]:
        """The current control values by setting name."""
        return {k: c.value for k, c in self.controls.items()}

    def _on_change(self, _change=None) -> None:
        self.refresh()

    def _precompute(self) -> None:
        names = list(self.controls)
        choices = []
        for name in names:
            options = getattr(self.controls[name], "options", None)
            if options is None:
                raise ValueError(f"precompute needs controls with options; {name!r} has none")
            choices.append([o[1] if isinstance(o, tuple) else o for o in options])
        for combo in itertools.product(*choices):
            values = dict(zip(names, combo))
            self._results[combo] = self._compute(values)

    def compute(self, values: Mapping[str, Any]) -> Any:
        """The result for ``values``: looked up when precomputed, else computed now."""
        key = tuple(values[k] for k in self.controls)
        if key in self._results:
            return self._results[key]
        return self._compute(dict(values))

    def figure_for(self, res: Any) -> ExplorerFigure:
        """The kept figure for ``res`` (built on first use)."""
        key = self._figure_key(res)
        if key not in self._figures:
            self._figures[key] = self._new_figure(res)
        return self._figures[key]

    def refresh(self) -> None:
        """Recompute and redraw for the current control values.

        An exception from the result or picture function is shown in the readout (a slider
        callback has nowhere to raise to) and kept in ``error``, never swallowed silently.
        """
        try:
            res = self.compute(self.values())
            rgb = self.figure_for(res).render_rgb(res)
            png = encode_png(rgb)
        except Exception as exc:  # noqa: BLE001 - shown in the readout and kept in .error
            self.error = f"{type(exc).__name__}: {exc}"
            self.readout.value = (f"<div style='color:{RED}'>could not update: "
                                  f"{html.escape(self.error)}</div>")
            return
        self.result = res
        self.error = None
        self._rgb = rgb
        self._png = png
        self.image.value = png
        lines = "".join(f"<div>{html.escape(line)}</div>" for line in res.lines)
        self.readout.value = f"<div style='font-family: monospace; font-size: 12px'>{lines}</div>"

    @property
    def png(self) -> bytes:
        """The current picture as PNG bytes."""
        return self._png

    def _plain_text(self) -> str:
        return (f"{self.explorer_title} ({self._describe(self.values())}). "
                "Run the notebook in Jupyter to use the controls.")

    def _repr_mimebundle_(self, **kwargs):
        data = super()._repr_mimebundle_(**kwargs)
        data["text/plain"] = self._plain_text()
        if self._rgb is not None:
            small = encode_png(self._rgb, small=True)
            data["image/png"] = base64.b64encode(small).decode("ascii")
        return data
