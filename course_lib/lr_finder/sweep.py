"""The learning-rate range test ("LR finder"): one short sweep from a tiny lr to a huge one.

Train for ``num_iters`` mini-batches while the learning rate grows exponentially from
``start_lr`` to ``end_lr``, record the loss at every step, and stop once the loss has clearly
blown up. Plotted against the learning rate (log axis), the loss is flat while the lr is too
small to matter, falls once it is large enough, and shoots up when it is too large. The
suggestions read a learning rate off that curve; they are starting points to validate with a
few short trainings, not answers (lesson 09 measures how far off each one lands).

The model and the optimizer are put back exactly as they were afterwards (weights, buffers,
optimizer state and every param group's ``lr``): training on from the weights the sweep left
behind is the classic mistake with hand-rolled range tests.

Example::

    result = lr_range_test(model, torch.optim.SGD(model.parameters(), lr=0.1), batches, loss_fn)
    result.suggestions        # {"steepest": ..., "valley": ..., "minimum_div_10": ...}
    plot_lr_finder(result)

References:
    L. N. Smith, "Cyclical learning rates for training neural networks", WACV 2017 (the range
    test). fastai's ``LRFinder`` (bias-corrected smoothing, stop at 4x the best loss, the
    ``valley`` rule).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from matplotlib.axes import Axes

from course_lib.validation import check_bool, check_int, check_real

__all__ = [
    "LRFinderResult",
    "lr_range_test",
    "exponential_lrs",
    "smooth_losses",
    "suggest_steepest",
    "suggest_valley",
    "suggest_minimum_div_10",
    "suggest_all",
    "plot_lr_finder",
]

Batch = tuple[Any, Any]


@dataclass
class LRFinderResult:
    """What a range test recorded.

    Attributes:
        lrs: the learning rate of every step that was taken, in order.
        losses: the raw mini-batch loss measured at each of those steps (before its update).
        smoothed_losses: the bias-corrected moving average of ``losses`` (what the suggestions
            and the stopping rule use).
        stopped_early: ``None`` when the sweep ran all ``num_iters`` steps, otherwise a sentence
            saying why it stopped (divergence, or a non-finite loss and the lr it happened at).
        suggestions: ``{"steepest": lr, "valley": lr, "minimum_div_10": lr}``; a rule that
            cannot be applied (too few points) is missing.
    """

    lrs: list[float]
    losses: list[float]
    smoothed_losses: list[float]
    stopped_early: str | None = None
    suggestions: dict[str, float] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# The pieces
# ---------------------------------------------------------------------------------------------


def exponential_lrs(start_lr: float, end_lr: float, num_iters: int) -> np.ndarray:
    r"""``num_iters`` learning rates spaced evenly in log scale, from ``start_lr`` to ``end_lr``.

    .. math:: \eta_i = \eta_{start}\,(\eta_{end}/\eta_{start})^{i/(N-1)},\quad i = 0..N-1

    Each step multiplies the lr by the same factor, so every decade gets the same number of
    steps: 1e-7..1e-6 is swept as carefully as 1..10.
    """
    _check_sweep(start_lr, end_lr, num_iters)
    i = np.arange(num_iters)
    return start_lr * (end_lr / start_lr) ** (i / (num_iters - 1))


def smooth_losses(losses: Iterable[float], beta: float = 0.98) -> np.ndarray:
    r"""Exponential moving average with bias correction (as Adam corrects its moments).

    .. math:: a_i = \beta a_{i-1} + (1-\beta)\,\ell_i, \quad a_0 = 0, \qquad
              \hat a_i = a_i / (1 - \beta^{i})

    Without the correction the first values are pulled towards 0 (torch-lr-finder instead
    starts the average at the first loss). ``beta = 0`` returns the losses unchanged.
    """
    if not 0.0 <= beta < 1.0:
        raise ValueError(f"smooth must be in [0, 1), got {beta!r}")
    out, avg = [], 0.0
    for i, loss in enumerate(losses, start=1):
        avg = beta * avg + (1 - beta) * float(loss)
        out.append(avg / (1 - beta**i))
    return np.asarray(out, dtype=float)


def _trimmed(lrs: Any, losses: Any) -> tuple[np.ndarray, np.ndarray]:
    """Drop the first tenth and the last 5 points (the start is flat, the end is the blow-up)."""
    lrs, losses = np.asarray(lrs, dtype=float), np.asarray(losses, dtype=float)
    if lrs.shape != losses.shape or lrs.ndim != 1:
        raise ValueError(f"lrs and losses must be 1-D of equal length, got {lrs.shape}, {losses.shape}")
    n = len(lrs)
    lo, hi = n // 10, n - 5
    if hi - lo < 3:  # too short to trim: use everything
        lo, hi = 0, n
    return lrs[lo:hi], losses[lo:hi]


def suggest_steepest(lrs: Any, smoothed_losses: Any) -> float | None:
    r"""The lr where the smoothed loss falls fastest per decade of lr.

    The slope :math:`d\ell/d\log\eta` is taken with ``np.gradient`` (central differences) over
    the log lr, and the most negative one wins. It is the rule Smith's paper and
    torch-lr-finder use (fastai calls it ``steep``): the loss is falling fastest there, so the
    lr is large enough to make progress and, being left of the minimum, not yet unstable.
    The first tenth of the points and the last five are ignored. ``None`` with fewer than 3
    points.
    """
    x, y = _trimmed(lrs, smoothed_losses)
    if len(x) < 3:
        return None
    slope = np.gradient(y, np.log(x))
    return float(x[int(np.argmin(slope))])


def suggest_valley(lrs: Any, smoothed_losses: Any) -> float | None:
    """fastai's default rule: a point partway down the longest descending stretch of the curve.

    1. Find the longest strictly decreasing subsequence of the (trimmed) smoothed losses
       (points need not be adjacent, so small bumps do not break it), O(n^2) dynamic
       programming: ``run[i]`` = length of the longest decreasing run ending at point ``i``.
    2. Split the lrs it spans into thirds and return the point half-way through the middle third,
       i.e. a bit less than half-way down the valley.

    It aims at "well inside the descent, away from both the plateau and the cliff"; on our
    measurements it lands low (several times below the best lr). ``None`` with fewer than 3
    points.
    """
    x, y = _trimmed(lrs, smoothed_losses)
    n = len(y)
    if n < 3:
        return None
    run = [1] * n
    best_end = 0
    for i in range(1, n):
        for j in range(i):
            if y[i] < y[j] and run[j] + 1 > run[i]:
                run[i] = run[j] + 1
        if run[i] > run[best_end]:
            best_end = i
    start = best_end - run[best_end] + 1       # first index of the span that run covers
    third = (best_end - start) / 3
    idx = start + int(third) + int(third / 2)  # middle of the middle third
    return float(x[min(idx, n - 1)])


def suggest_minimum_div_10(lrs: Any, smoothed_losses: Any) -> float | None:
    """The lr at the lowest smoothed loss, divided by 10.

    At the minimum the lr is already about as large as training tolerates *for a loss that is
    rising with every step of the sweep*; a tenth of it is the safe side of that edge. (The
    minimum over all points, not the trimmed ones.) ``None`` for an empty curve.
    """
    x, y = np.asarray(lrs, dtype=float), np.asarray(smoothed_losses, dtype=float)
    if len(x) == 0:
        return None
    return float(x[int(np.nanargmin(y))] / 10)


def suggest_all(lrs: Any, smoothed_losses: Any) -> dict[str, float]:
    """All three suggestions, as ``{name: lr}`` (a rule that cannot be applied is left out)."""
    rules = {
        "steepest": suggest_steepest,
        "valley": suggest_valley,
        "minimum_div_10": suggest_minimum_div_10,
    }
    out = {}
    for name, rule in rules.items():
        lr = rule(lrs, smoothed_losses)
        if lr is not None:
            out[name] = lr
    return out


# ---------------------------------------------------------------------------------------------
# The sweep
# ---------------------------------------------------------------------------------------------


def _check_sweep(start_lr: Any, end_lr: Any, num_iters: Any) -> None:
    check_real(start_lr, "start_lr", low=0, low_open=True)
    check_real(end_lr, "end_lr", low=0, low_open=True)
    if not end_lr > start_lr:
        raise ValueError(f"end_lr must be larger than start_lr, got {start_lr!r} -> {end_lr!r}")
    check_int(num_iters, "num_iters", low=2)


def _batch_source(data: Any, num_iters: int, cycle: bool) -> Callable[[], Batch]:
    """Turn ``data`` (a function returning a batch, or an iterable of batches) into a function."""
    if callable(data) and not hasattr(data, "__iter__"):
        return data
    if not isinstance(data, Iterable):
        raise ValueError(
            "data must be a function returning (inputs, targets) or an iterable of such "
            f"batches (e.g. a DataLoader), got {type(data).__name__}"
        )
    try:
        n = len(data)  # type: ignore[arg-type]
    except TypeError:
        n = None
    if n is not None and n < num_iters and not cycle:
        raise ValueError(
            f"the data has {n} batches but the sweep needs num_iters={num_iters}: pass "
            "cycle=True to start over at the end of the data, or lower num_iters"
        )
    it: Iterator[Batch] = iter(data)
    used = 0

    def next_batch() -> Batch:
        nonlocal it, used
        try:
            batch = next(it)
        except StopIteration:
            if not cycle:
                raise ValueError(
                    f"the data ran out after {used} batches but the sweep needs "
                    f"num_iters={num_iters}: pass cycle=True to start over at the end of the "
                    "data, or lower num_iters"
                ) from None
            if used == 0:
                raise ValueError("the data yielded no batches at all") from None
            it = iter(data)
            batch = next(it)
        used += 1
        return batch

    return next_batch


def _to(x: Any, device: torch.device) -> Any:
    return x.to(device) if torch.is_tensor(x) else x


def lr_range_test(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    data: Callable[[], Batch] | Iterable[Batch],
    loss_fn: Callable[[torch.Tensor, Any], torch.Tensor],
    *,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    num_iters: int = 100,
    smooth: float = 0.98,
    diverge_factor: float = 4.0,
    cycle: bool = False,
    device: str | torch.device | None = None,
) -> LRFinderResult:
    r"""Run the LR range test and put the model and optimizer back exactly as they were.

    Step ``i`` sets every param group's lr to :math:`\eta_i` (see :func:`exponential_lrs`),
    then does the usual ``zero_grad / loss / backward / step`` on the next batch and records the
    loss (measured before that step's update). The sweep stops early when

    * the loss is NaN or infinite (nothing is learned from a NaN; the step is not taken), or
    * the smoothed loss has risen far above the best smoothed loss so far:
      :math:`\hat\ell_i - \hat\ell_{best} > (k - 1)\,|\hat\ell_{best}|` with
      :math:`k` = ``diverge_factor``. For positive losses this is exactly
      :math:`\hat\ell_i > k\,\hat\ell_{best}` (fastai's "4x the best"); written with a
      difference and :math:`|\hat\ell_{best}|` it still means "rose by (k-1) times the size of
      the best loss" when losses are negative (a log-likelihood, a margin), where a plain ratio
      test would stop at once or never.

    Afterwards (also when the sweep raises), the model's ``state_dict`` (weights and buffers),
    its train/eval mode and the optimizer's ``state_dict`` (state and param groups, so the lr
    too) are restored from deep copies taken before the sweep: bit for bit what they were.

    Args:
        model: the network; its parameters must be the ones ``optimizer`` updates.
        optimizer: any ``torch.optim.Optimizer`` (torch's or ``course_lib.optim``'s) whose
            ``step()`` works without a closure. Every param group gets the same swept lr.
        data: a function returning one batch ``(inputs, targets)`` per call, or an iterable of
            batches such as a ``DataLoader``.
        loss_fn: ``loss_fn(model(inputs), targets)`` must return a scalar tensor.
        start_lr: first learning rate (> 0).
        end_lr: last learning rate (> start_lr).
        num_iters: number of steps (>= 2).
        smooth: :math:`\beta` of the bias-corrected moving average, in [0, 1).
        diverge_factor: :math:`k` of the stopping rule (> 1).
        cycle: when ``data`` is an iterable with fewer than ``num_iters`` batches, start over
            at its end. Without it such data raises ``ValueError`` (checked up front when the
            iterable has a ``len``, else when it runs out).
        device: where batches are moved (``None``: the device of the model's first parameter).

    Returns:
        An :class:`LRFinderResult` with the suggestions of :func:`suggest_all`.

    Raises:
        ValueError: for an invalid argument, or data that runs out (see ``cycle``).
    """
    _check_sweep(start_lr, end_lr, num_iters)
    if not isinstance(model, torch.nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise ValueError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    if not callable(loss_fn):
        raise ValueError("loss_fn must be callable: loss_fn(outputs, targets) -> scalar tensor")
    check_real(smooth, "smooth", low=0, high=1, high_open=True)
    check_real(diverge_factor, "diverge_factor", low=1, low_open=True)
    check_bool(cycle, "cycle")
    if device is None:
        first = next(model.parameters(), None)
        dev = first.device if first is not None else torch.device("cpu")
    else:
        dev = torch.device(device)
    next_batch = _batch_source(data, num_iters, cycle)

    saved_model = copy.deepcopy(model.state_dict())
    saved_optimizer = copy.deepcopy(optimizer.state_dict())
    was_training = model.training

    lrs: list[float] = []
    losses: list[float] = []
    smoothed: list[float] = []
    stopped: str | None = None
    avg, best = 0.0, math.inf
    try:
        model.train()
        for i, lr in enumerate(exponential_lrs(start_lr, end_lr, num_iters), start=1):
            lr = float(lr)
            for group in optimizer.param_groups:
                group["lr"] = lr
            inputs, targets = next_batch()
            optimizer.zero_grad()
            loss = loss_fn(model(_to(inputs, dev)), _to(targets, dev))
            value = float(loss.detach())
            if not math.isfinite(value):
                stopped = f"the loss became {value} at lr={lr:.3g} (step {i}); stopped there"
                break
            loss.backward()
            optimizer.step()

            avg = smooth * avg + (1 - smooth) * value        # moving average
            avg_hat = avg / (1 - smooth**i)                  # bias correction
            lrs.append(lr)
            losses.append(value)
            smoothed.append(avg_hat)
            best = min(best, avg_hat)
            if avg_hat - best > (diverge_factor - 1) * abs(best):
                stopped = (
                    f"the smoothed loss rose above {diverge_factor:g}x the best at "
                    f"lr={lr:.3g} (step {i}); stopped there"
                )
                break
    finally:
        model.load_state_dict(saved_model)
        optimizer.load_state_dict(saved_optimizer)
        model.train(was_training)

    return LRFinderResult(
        lrs=lrs,
        losses=losses,
        smoothed_losses=smoothed,
        stopped_early=stopped,
        suggestions=suggest_all(lrs, smoothed),
    )


# ---------------------------------------------------------------------------------------------
# The plot
# ---------------------------------------------------------------------------------------------

_MARKERS = {"steepest": ("o", "C1"), "valley": ("s", "C2"), "minimum_div_10": ("^", "C3")}


def plot_lr_finder(
    result: LRFinderResult,
    ax: Axes | None = None,
    *,
    show_raw: bool = True,
    show_suggestions: bool = True,
) -> Axes:
    """Loss against learning rate (log axis), with each suggestion marked on the smoothed curve.

    Args:
        result: what :func:`lr_range_test` returned.
        ax: the axes to draw on (``None``: a new figure).
        show_raw: also draw the raw mini-batch losses, faintly.
        show_suggestions: mark every suggestion with a dot on the curve and a dotted line.

    Returns:
        The axes.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    lrs = np.asarray(result.lrs, dtype=float)
    sm = np.asarray(result.smoothed_losses, dtype=float)
    if show_raw:
        ax.plot(lrs, result.losses, color="0.75", lw=1, label="raw loss")
    ax.plot(lrs, sm, color="C0", lw=2, label="smoothed loss")
    if show_suggestions and len(lrs):
        for name, lr in result.suggestions.items():
            marker, color = _MARKERS.get(name, ("x", "k"))
            y = float(np.interp(np.log(lr), np.log(lrs), sm))
            ax.axvline(lr, color=color, ls=":", lw=1)
            ax.plot([lr], [y], marker=marker, color=color, ms=8, ls="none",
                    label=f"{name}: {lr:.2g}")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("loss")
    if len(sm):
        # show the descent in detail: the explosion at the end may leave the top of the axes
        shown = np.concatenate([sm, np.asarray(result.losses, dtype=float)]) if show_raw else sm
        lo = float(np.min(shown[np.isfinite(shown)]))
        first = float(np.max(sm[: max(1, len(sm) // 2)]))
        span = max(first - lo, 1e-12 + 1e-3 * abs(first))
        ax.set_ylim(lo - 0.1 * span, first + 0.6 * span)
    ax.legend(loc="best")
    return ax
