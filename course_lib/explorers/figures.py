"""What every explorer's picture shares: the figure class, colours, tick labels, PNG bytes.

An explorer's picture is an :class:`ExplorerFigure`: built once for a problem (contours, static
curves, axes with fixed limits), then :meth:`ExplorerFigure.update` moves its artists for a
result. Its figure function (``lr_figure(result)``) builds one and updates it; the widget shell
keeps one per problem and calls :meth:`ExplorerFigure.render_rgb`, which redraws only the moving
artists over a saved copy of the static part (blitting) when the figure allows it.
"""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np
import PIL.Image
from matplotlib import ticker
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from course_lib.plots import course_style

__all__ = [
    "RED",
    "BLUE",
    "ORANGE",
    "GREEN",
    "GREY",
    "DPI",
    "FIGSIZE",
    "explorer_style",
    "ExplorerFigure",
    "fmt_number",
    "sci_tick",
    "log_axis",
    "clip_to_window",
    "figure_png",
    "encode_png",
]

RED = "#D55E00"
BLUE = "#0072B2"
ORANGE = "#E69F00"
GREEN = "#009E73"
GREY = "0.55"

#: Every explorer picture is drawn at this dpi and (unless it needs another shape) this size:
#: 1050 x 370 pixels, shown 1:1 in JupyterLab, with text of at least 9.5 pt (13 px).
DPI = 100
FIGSIZE = (10.5, 3.7)


def explorer_style():
    """The course's plot style with the explorers' text sizes (a context manager).

    Titles 11.5 pt, labels 10.5 pt, ticks 10 pt, legends 9.5 pt: at :data:`DPI` the smallest
    text is 13 pixels high, legible at 100% zoom. Layout is fixed by each figure (constrained
    layout would be recomputed on every redraw).
    """
    return course_style(font__size=10.5, axes__titlesize=11.5, axes__titleweight="normal",
                        axes__labelsize=10.5, xtick__labelsize=10, ytick__labelsize=10,
                        legend__fontsize=9.5, figure__constrained_layout__use=False)


def fmt_number(x: float) -> str:
    """A number for people: 3 significant digits, 'nan' / 'inf' spelt out."""
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.3g}"


def sci_tick(v: float, _pos=None) -> str:
    """Tick labels like 1e-4 (plain text: faster to draw than mathtext)."""
    if v <= 0 or not math.isfinite(v):
        return ""
    e = math.log10(v)
    if abs(e - round(e)) < 1e-9:
        return "1" if round(e) == 0 else f"1e{int(round(e))}"
    return f"{v:g}"


def log_axis(axis) -> None:
    """Log-scale ticks on ``axis`` (an ``ax.xaxis`` / ``ax.yaxis``) labelled by :func:`sci_tick`."""
    axis.set_major_locator(ticker.LogLocator(base=10.0, numticks=6))
    axis.set_major_formatter(ticker.FuncFormatter(sci_tick))
    axis.set_minor_formatter(ticker.NullFormatter())


def clip_to_window(pts: np.ndarray, xlim, ylim, margin: float = 0.25) -> np.ndarray:
    """Clip points to the window grown by ``margin`` windows, so a runaway path leaves the view
    in the right direction without giant coordinates reaching the renderer."""
    out = pts.astype(np.float64, copy=True)
    for j, (lo, hi) in enumerate((xlim, ylim)[: out.shape[1]]):
        w = abs(hi - lo)
        out[:, j] = np.clip(out[:, j], min(lo, hi) - margin * w, max(lo, hi) + margin * w)
    return out


def figure_png(fig: Figure, *, compress_level: int = 6) -> bytes:
    """Render ``fig`` to PNG bytes at its own dpi (deterministic: no date in the metadata)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=fig.dpi, metadata={"Software": None},
                pil_kwargs={"compress_level": compress_level})
    return buf.getvalue()


def encode_png(rgb: np.ndarray, *, small: bool = False) -> bytes:
    """PNG bytes of an RGB array: fast for live updates, or small (256 colours) to store."""
    image = PIL.Image.fromarray(np.ascontiguousarray(rgb))
    buf = io.BytesIO()
    if small:
        image.quantize(256).save(buf, format="png", optimize=True)
    else:
        image.save(buf, format="png", compress_level=1)
    return buf.getvalue()


class ExplorerFigure(Figure):
    """A plain Figure that an explorer updates in place, and that shows itself as a PNG.

    Subclasses build their panels in ``__init__``, append every artist that :meth:`update`
    changes to ``self.moving``, and set ``self.blit = False`` if an update also changes
    something static (axis limits). They set ``self.static_changed = True`` when an update
    changed the static part once (the momentum map after a Nesterov switch).

    matplotlib's inline backend registers a PNG printer for figures only once pyplot is
    loaded; a lesson that displays ``lr_figure(...)`` before any pyplot figure would otherwise
    get only ``<Figure size ...>``, hence :meth:`_repr_png_`.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.moving: list[Any] = []
        self.blit = True
        self.static_changed = False
        self._agg: FigureCanvasAgg | None = None
        self._background = None

    def update(self, result) -> ExplorerFigure:
        """Move the artists to show ``result``; returns the figure."""
        raise NotImplementedError

    def render_rgb(self, result) -> np.ndarray:
        """Update for ``result`` and return the picture as an RGB array.

        With ``blit`` on, only the moving artists are drawn, over a saved copy of the static
        part. The figure then belongs to the caller that blits: its moving artists are marked
        animated, so a plain ``savefig`` would leave them out.
        """
        self.update(result)
        if self._agg is None:
            self._agg = FigureCanvasAgg(self)
            if self.blit:
                for artist in self.moving:
                    artist.set_animated(True)
        canvas = self._agg
        if not self.blit:
            canvas.draw()
            return np.array(canvas.buffer_rgba())[..., :3]
        if self._background is None or self.static_changed:
            canvas.draw()  # the static part only: animated artists are skipped
            self._background = canvas.copy_from_bbox(self.bbox)
            self.static_changed = False
        canvas.restore_region(self._background)
        renderer = canvas.get_renderer()
        for artist in sorted(self.moving, key=lambda a: a.get_zorder()):
            if artist.get_visible():
                artist.draw(renderer)
        return np.array(canvas.buffer_rgba())[..., :3]

    def _repr_png_(self) -> bytes:
        return figure_png(self)

    def __repr__(self) -> str:
        return super().__repr__().replace(type(self).__name__, "Figure", 1)
