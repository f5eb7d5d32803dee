"""The weight-decay explorer (lesson 06): Loshchilov and Hutter's lr x decay grid, measured.

The grid (:func:`~course_lib.explorers.decay_grid.train_decay_grid`, computed when the lesson's
cell runs) holds the test loss of every (learning rate, decay) cell for Adam + L2 and for AdamW.
The explorer puts the two heat maps side by side, a cursor on one (lr, decay) cell of each, and
marks every row's best decay, so the question of the paper's figure can be read off: does the
best decay move when the learning rate does (*coupled*), or stay in its column (*separable*)?

AdamW's map can be drawn on two axes, because the two conventions differ: PyTorch's
``weight_decay`` λ (the decay per step is ``lr * λ``), or the decay per step itself,
``lr * λ``, which is Loshchilov and Hutter's λ (their decay is not multiplied by the learning
rate). The same runs, two readings; the readout gives, for each reading, what one setting for
every learning rate costs against each row's own best.

Example (in a notebook)::

    grid = train_decay_grid(X_train, y_train, X_test, y_test, lrs, l2_decays, adamw_decays,
                            adamw_axis="wd")
    decay_result(grid, lr=grid.lrs[1], column=3).readout
    weight_decay_explorer(grid)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import matplotlib as mpl
import numpy as np
from matplotlib.patches import Rectangle

from course_lib.explorers.base import Readout, choice_slider, invalid_line, nearest_index, toggle
from course_lib.explorers.decay_grid import OPTIMIZERS, DecayGrid
from course_lib.explorers.figures import DPI, RED, ExplorerFigure, explorer_style, sci_tick
from course_lib.explorers.shell import Explorer

__all__ = [
    "AXES",
    "DecayResult",
    "one_setting_cost",
    "row_bests",
    "seed_spread",
    "decay_result",
    "DecayFigure",
    "decay_figure",
    "weight_decay_explorer",
]

#: How AdamW's map is drawn: PyTorch's ``weight_decay``, or the decay per step ``lr * wd``.
AXES = ("PyTorch λ", "lr·λ")
_FIGSIZE = (10.5, 4.0)


def _label(v: float) -> str:
    return "0" if v == 0 else f"{v:.2g}"


def one_setting_cost(loss: np.ndarray, columns: np.ndarray | None = None) -> tuple[float, int]:
    """What one decay for every learning rate costs: ``(mean excess loss, best column)``.

    Args:
        loss: the (seed-mean) loss, shape ``(n_lr, n_decay)``.
        columns: ``(n_lr, n_settings)`` column index of each setting in each row (-1 where the
            setting is off the grid), for a reading whose settings are not the columns (AdamW's
            ``lr * λ``); ``None``: the settings are the columns.

    Returns:
        The smallest mean over rows of ``loss[row, setting] - min(loss[row])`` among the
        settings present in every row, and that setting's index (NaN, -1 if none is).
    """
    best_row = loss.min(axis=1)
    if columns is None:
        columns = np.tile(np.arange(loss.shape[1]), (loss.shape[0], 1))
    best, arg = math.inf, -1
    for s in range(columns.shape[1]):
        col = columns[:, s]
        if (col < 0).any():
            continue
        excess = float(np.mean(loss[np.arange(len(col)), col] - best_row))
        if excess < best:
            best, arg = excess, s
    return (best if arg >= 0 else math.nan), arg


def row_bests(grid: DecayGrid, key: str = "test_loss") -> list[dict]:
    """Each learning rate's best decay for both optimizers (seed means of ``key``, lower is better;
    ``"test_acc"`` is maximised).

    Returns:
        One dict per row of the grid: ``lr``, ``l2`` (Adam + L2's best ``weight_decay``),
        ``l2_value``, ``adamw`` (AdamW's best PyTorch ``weight_decay``), ``adamw_rate``
        (``lr * adamw``, the paper's λ) and ``adamw_value``.
    """
    values = grid.mean(key)
    sign = -1.0 if key == "test_acc" else 1.0
    rows = []
    for i, lr in enumerate(grid.lrs):
        j0 = int(np.argmin(sign * values[0, i]))
        j1 = int(np.argmin(sign * values[1, i]))
        wd = grid.adamw_weight_decay(i, j1)
        rows.append({"lr": lr, "l2": grid.decays[0][j0], "l2_value": float(values[0, i, j0]),
                     "adamw": wd, "adamw_rate": lr * wd, "adamw_value": float(values[1, i, j1])})
    return rows


def seed_spread(grid: DecayGrid, key: str = "test_loss") -> float:
    """The median over the grid's finite cells of the standard deviation of ``key`` over seeds
    (the noise a difference between two cells has to beat); NaN with one seed."""
    values = getattr(grid, key)
    if values.shape[-1] < 2:
        return math.nan
    sd = values.std(axis=-1, ddof=1)
    finite = sd[np.isfinite(sd)]
    return float(np.median(finite)) if len(finite) else math.nan


def _rate_columns(grid: DecayGrid) -> tuple[np.ndarray, np.ndarray]:
    """AdamW's settings as decay per step ``lr * λ``: the values present in every row, and the
    column of each value in each row (for PyTorch-λ columns on a shared log lattice)."""
    lam = np.array(grid.decays[1])
    rates = sorted({round(math.log10(lr * v), 6) for lr in grid.lrs for v in lam if v > 0})
    cols = np.full((len(grid.lrs), len(rates)), -1)
    for i, lr in enumerate(grid.lrs):
        for s, r in enumerate(rates):
            for j, v in enumerate(lam):
                if v > 0 and abs(math.log10(lr * v) - r) < 1e-6:
                    cols[i, s] = j
    return np.array([10 ** r for r in rates]), cols


@dataclass(frozen=True, eq=False)
class DecayResult(Readout):
    """One (learning rate, decay column) cell of the grid, for both optimizers.

    Attributes:
        lr, column, axis: the settings (``column`` indexes both optimizers' decay lists).
        l2_decay, adamw_decay: Adam + L2's and AdamW's (PyTorch) ``weight_decay`` there;
            ``adamw_rate``: AdamW's decay per step at the peak lr, ``lr * adamw_decay``.
        test_loss, train_loss: ``(adam_l2, adamw)`` seed means at the cell.
        best_columns: ``(adam_l2, adamw)`` arrays: each row's best column.
        costs: what one decay for every lr costs (mean excess test loss over the rows), by
            reading: ``"Adam + L2"``, ``"AdamW, PyTorch λ"``, ``"AdamW, lr·λ"``.
        error: why the settings are not a cell of the grid, else ``None``.
        lines: the readout.
    """

    lr: float
    column: int
    axis: str
    l2_decay: float
    adamw_decay: float
    adamw_rate: float
    test_loss: tuple[float, float]
    train_loss: tuple[float, float]
    best_columns: tuple[np.ndarray, np.ndarray] = field(repr=False)
    costs: dict = field(default_factory=dict)
    error: str | None = None
    lines: tuple[str, ...] = ()
    grid: DecayGrid | None = field(default=None, repr=False)


def decay_result(grid: DecayGrid, lr: float, column: int, axis: str = AXES[0]) -> DecayResult:
    """Look up one cell of the grid and say what the grid shows about coupling.

    Args:
        grid: from ``train_decay_grid(..., adamw_axis="wd")`` (PyTorch λ columns).
        lr: one of ``grid.lrs``.
        column: an index into the decay lists (0 ... len - 1).
        axis: one of :data:`AXES` (how AdamW's map is drawn; the numbers are the same).

    Returns:
        A :class:`DecayResult`; settings off the grid give one whose ``error`` says why.
    """
    if grid.adamw_axis != "wd":
        raise ValueError("the explorer reads a grid of PyTorch weight_decay values "
                         "(train_decay_grid(..., adamw_axis='wd'))")
    i = nearest_index(grid.lrs, lr)
    n_col = len(grid.decays[0])
    problem = None
    if i is None:
        problem = f"lr must be one of the grid's {[_label(v) for v in grid.lrs]}, got {lr!r}"
    elif isinstance(column, bool) or not isinstance(column, int | np.integer) or \
            not 0 <= column < n_col:
        problem = f"column must be an int from 0 to {n_col - 1}, got {column!r}"
    elif axis not in AXES:
        problem = f"axis must be one of {AXES}, got {axis!r}"
    test = grid.mean("test_loss")
    train = grid.mean("train_loss")
    best_cols = (test[0].argmin(axis=1), test[1].argmin(axis=1))
    rates, rate_cols = _rate_columns(grid)
    costs = {"Adam + L2": one_setting_cost(test[0]), "AdamW, PyTorch λ": one_setting_cost(test[1]),
             "AdamW, lr·λ": one_setting_cost(test[1], rate_cols)}
    if problem is not None:
        return DecayResult(lr=float("nan"), column=-1, axis=str(axis), l2_decay=math.nan,
                           adamw_decay=math.nan, adamw_rate=math.nan,
                           test_loss=(math.nan, math.nan), train_loss=(math.nan, math.nan),
                           best_columns=best_cols, costs=costs, error=problem,
                           lines=(invalid_line(problem),), grid=grid)
    j = int(column)
    lr_v = grid.lrs[i]
    l2, wd = grid.decays[0][j], grid.decays[1][j]
    tl = (float(test[0, i, j]), float(test[1, i, j]))
    trl = (float(train[0, i, j]), float(train[1, i, j]))
    bl2, bw = int(best_cols[0][i]), int(best_cols[1][i])
    head = (f"lr = {_label(lr_v)}: Adam + L2 with λ = {_label(l2)}: test loss {tl[0]:.3f} "
            f"(train {trl[0]:.3f}) | AdamW with λ = {_label(wd)} (lr·λ = {_label(lr_v * wd)}): "
            f"test loss {tl[1]:.3f} (train {trl[1]:.3f})")
    second = (f"best at this lr: Adam + L2 λ = {_label(grid.decays[0][bl2])} "
              f"({test[0, i, bl2]:.3f}), AdamW λ = {_label(grid.decays[1][bw])} "
              f"(lr·λ = {_label(lr_v * grid.decays[1][bw])}, {test[1, i, bw]:.3f})")

    def cost_text(key, values):
        c, s = costs[key]
        return "n/a" if s < 0 else f"{c:.3f} (at {_label(values[s])})"

    third = ("one decay for every lr costs (mean test loss above each lr's best): Adam + L2 "
             f"{cost_text('Adam + L2', grid.decays[0])}, AdamW with one PyTorch λ "
             f"{cost_text('AdamW, PyTorch λ', grid.decays[1])}, with one lr·λ "
             f"{cost_text('AdamW, lr·λ', rates)}")
    return DecayResult(lr=lr_v, column=j, axis=axis, l2_decay=l2, adamw_decay=wd,
                       adamw_rate=lr_v * wd, test_loss=tl, train_loss=trl,
                       best_columns=best_cols, costs=costs, lines=(head, second, third),
                       grid=grid)


class DecayFigure(ExplorerFigure):
    """Two heat maps of the test loss (Adam + L2, AdamW on ``axis``), each row's best marked."""

    def __init__(self, grid: DecayGrid, axis: str):
        super().__init__(figsize=_FIGSIZE, dpi=DPI, layout="none")
        self.grid, self.axis = grid, axis
        test = grid.mean("test_loss")
        finite = test[np.isfinite(test)]
        lo = float(finite.min()) if len(finite) else 0.0
        self.norm = mpl.colors.Normalize(vmin=lo, vmax=lo + 0.3)
        cmap = mpl.colormaps["viridis_r"].with_extremes(over="#d9d9d9", bad="#d9d9d9")
        n_lr = len(grid.lrs)
        with explorer_style():
            self.subplots_adjust(left=0.085, right=0.915, bottom=0.15, top=0.9, wspace=0.2)
            self.ax_l2, self.ax_w = self.subplots(1, 2)
            cax = self.add_axes((0.93, 0.15, 0.014, 0.73))
            self.cells = []
            for o, ax in enumerate((self.ax_l2, self.ax_w)):
                xs = self._cells(o)
                boxes = []
                for i in range(n_lr):
                    for j in range(len(grid.decays[o])):
                        x0, x1 = xs[i][j]
                        v = test[o, i, j]
                        color = cmap(self.norm(v)) if v <= self.norm.vmax else "#d9d9d9"
                        ax.add_patch(Rectangle((x0, i), x1 - x0, 1, facecolor=color,
                                               edgecolor="white", linewidth=0.8))
                        dark = bool(math.isfinite(v) and 0.55 < self.norm(v) <= 1.0)
                        text = f"{v:.3f}".removeprefix("0") if math.isfinite(v) else "nan"
                        ax.text((x0 + x1) / 2, i + 0.5, text, ha="center", va="center",
                                fontsize=9.5 if axis == AXES[0] or o == 0 else 8.5,
                                color="white" if dark else "black")
                    best = int(np.argmin(test[o, i]))
                    bx0, bx1 = xs[i][best]
                    boxes.append(((bx0 + bx1) / 2, i + 0.5))
                    ax.add_patch(Rectangle((bx0 + 0.02, i + 0.04), bx1 - bx0 - 0.04, 0.92,
                                           fill=False, edgecolor="black", linewidth=1.6,
                                           linestyle="--", zorder=5))
                bx, by = zip(*boxes)
                ax.plot(bx, by, color="black", linewidth=1.0, linestyle=":", zorder=4)
                ax.set_ylim(0, n_lr)
                ax.set_yticks(np.arange(n_lr) + 0.5)
                ax.set_yticklabels([_label(v) for v in grid.lrs])
                ax.grid(False)
                for side in ("top", "right"):
                    ax.spines[side].set_visible(False)
            self.ax_l2.set_ylabel("peak learning rate")
            self._label_x(0, self.ax_l2, "Adam + L2: λ (weight_decay)")
            self._label_x(1, self.ax_w, "AdamW: PyTorch λ (weight_decay)" if axis == AXES[0]
                          else "AdamW: decay per step lr·λ (the paper's λ)")
            sm = mpl.cm.ScalarMappable(norm=self.norm, cmap=cmap)
            cb = self.colorbar(sm, cax=cax, extend="max")
            cb.set_label("test loss (mean of seeds)")
            self.cursors = []
            for ax in (self.ax_l2, self.ax_w):
                rect = Rectangle((0, 0), 1, 1, fill=False, edgecolor=RED, linewidth=3, zorder=6)
                ax.add_patch(rect)
                self.cursors.append(rect)
                ax.set_title(" ")
        self.moving += self.cursors + [self.ax_l2.title, self.ax_w.title]

    def _cells(self, o: int) -> list[list[tuple[float, float]]]:
        """Per row, each column's cell ``(x0, x1)`` on the x axis, in log10 units.

        On AdamW's ``lr·λ`` axis a row's cells move with its learning rate. The λ = 0 column
        cannot sit on a log axis: it is drawn one cell to the left of every row's smallest
        value, after a small gap.
        """
        vals = np.array(self.grid.decays[o], dtype=float)
        pos = vals > 0
        logs = np.log10(vals[pos])
        step = float(np.median(np.diff(logs))) if pos.sum() > 1 else 1.0
        shifted = o == 1 and self.axis == AXES[1]
        lefts = [float(logs[0] + (math.log10(lr) if shifted else 0.0)) - step / 2
                 for lr in self.grid.lrs]
        zero = (min(lefts) - 1.2 * step, min(lefts) - 0.2 * step)
        rows = []
        for lr in self.grid.lrs:
            shift = math.log10(lr) if shifted else 0.0
            row, k = [], 0
            for v in vals:
                if v > 0:
                    c = float(logs[k]) + shift
                    row.append((c - step / 2, c + step / 2))
                    k += 1
                else:
                    row.append(zero)
            rows.append(row)
        return rows

    def _label_x(self, o: int, ax, text: str) -> None:
        cells = self._cells(o)
        lo = min(x0 for row in cells for x0, _ in row)
        hi = max(x1 for row in cells for _, x1 in row)
        ax.set_xlim(lo, hi)
        vals = np.array(self.grid.decays[o], dtype=float)
        first_pos = min(x0 for row in cells for (x0, _), v in zip(row, vals) if v > 0)
        pos = [float(t) for t in range(math.ceil(first_pos), math.floor(hi) + 1)]
        labels = [sci_tick(10.0 ** t) for t in pos]
        if (vals == 0).any():
            z0, z1 = cells[0][int(np.argmin(vals))]
            pos, labels = [(z0 + z1) / 2] + pos, ["0"] + labels
        ax.set_xticks(pos)
        ax.set_xticklabels(labels)
        ax.set_xlabel(text)

    def update(self, res: DecayResult) -> DecayFigure:
        """Show ``res``; returns the figure."""
        if res.error is not None:
            for rect in self.cursors:
                rect.set_visible(False)
            self.ax_l2.title.set_text("invalid setting")
            self.ax_l2.title.set_color(RED)
            self.ax_w.title.set_text(res.error[:50])
            return self
        i = nearest_index(self.grid.lrs, res.lr)
        for o, rect in enumerate(self.cursors):
            x0, x1 = self._cells(o)[i][res.column]
            rect.set_bounds(x0, i, x1 - x0, 1)
            rect.set_visible(True)
        self.ax_l2.title.set_color("black")
        self.ax_l2.title.set_text(f"{OPTIMIZERS[0]}: test loss {res.test_loss[0]:.3f}")
        self.ax_w.title.set_text(f"{OPTIMIZERS[1]}: test loss {res.test_loss[1]:.3f}")
        return self


def decay_figure(result: DecayResult) -> DecayFigure:
    """The weight-decay explorer's picture of ``result`` (from :func:`decay_result`).

    Returns:
        A new ``matplotlib.figure.Figure`` (not registered with pyplot).
    """
    if not isinstance(result, DecayResult) or result.grid is None:
        raise ValueError(f"expected a DecayResult from decay_result(), got {result!r:.80}")
    axis = result.axis if result.axis in AXES else AXES[0]
    return DecayFigure(result.grid, axis).update(result)


def weight_decay_explorer(grid: DecayGrid, lr: float | None = None, column: int | None = None,
                          axis: str = AXES[0]) -> Explorer:
    """A learning-rate slider, a decay slider and AdamW's axis, on a measured grid.

    Args:
        grid: from ``train_decay_grid(..., adamw_axis="wd")``.
        lr: the starting learning rate (default: the second of the grid).
        column: the starting decay column (default: the middle one).
        axis: how AdamW's map is drawn first, one of :data:`AXES`.
    """
    n_col = len(grid.decays[0])
    lr = grid.lrs[min(1, len(grid.lrs) - 1)] if lr is None else lr
    column = n_col // 2 if column is None else column
    labels = {j: f"{_label(grid.decays[0][j])} | {_label(grid.decays[1][j])}"
              for j in range(n_col)}
    controls = {
        "lr": choice_slider("learning rate", grid.lrs, lr, fmt=_label),
        "column": choice_slider("λ (L2 | AdamW)", list(range(n_col)), column,
                                fmt=lambda j: labels[j], width="380px"),
        "axis": toggle("AdamW axis", AXES, axis),
    }
    explorer = Explorer(
        "weight-decay", "Weight-decay explorer", controls,
        result=lambda v: decay_result(grid, v["lr"], v["column"], v["axis"]),
        figure=lambda res: DecayFigure(grid, res.axis if res.axis in AXES else AXES[0]),
        figure_key=lambda res: res.axis)
    for other in AXES:  # build and draw both maps now: the first click on the toggle only redraws
        if other != axis:
            res = decay_result(grid, lr, column, other)
            explorer.figure_for(res).render_rgb(res)
    return explorer
