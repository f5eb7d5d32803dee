r"""The course's suggestion: read a window off the curve, then let short runs at constant lr decide.

The published rules read one point off a curve measured while the learning rate *kept
rising*; the question they stand in for is which *constant* learning rate trains best. Lesson
09 measures them against full constant-lr sweeps and finds each one off by a factor of 2 to 200
on some model. The course's rule uses the curve only for what it shows reliably, the range of
learning rates where the loss responds, and answers the question with the thing itself:

1. **The window** (:func:`probe_window`). Smooth the recorded losses lightly
   (:math:`\beta = 0.8`, a memory of about 5 steps, under half a decade of a 100-step sweep;
   the sweep's own :math:`\beta = 0.98` lags by about four decades). Its lowest point is the top
   of the window (past it the rising lr made things worse); the first point that has come 10% of
   the way down from the start to that minimum is the bottom (below it the lr is too small to
   matter). Candidates: from the top down, a factor of 2 apart (at most :data:`MAX_PROBES`,
   spread evenly when the window is wider).
2. **The probes** (:func:`run_probes`). From the model and optimizer *as they were before the
   sweep*, train every candidate at its own constant learning rate, all on the same batches
   (the first ones the sweep drew), and measure the loss on :data:`EVAL_BATCHES` other batches
   of the sweep that no probe trains on. The same batches for every probe make their
   differences the learning rate's, not the data's. Successive halving keeps it cheap: after
   25 steps (:data:`RUNGS`) the better half trains on to 50 steps, the better half of those to
   100.
3. **The suggestion** (:func:`pick`): the candidate with the lowest loss among those that
   trained the longest.

Cost: the sweep plus at most 8 x 25 + 4 x 25 + 2 x 50 = 400 training steps and their
evaluations; with the usual 100-step sweep at most 5 times one range test
(``LRFinderResult.cost`` reports it for each call). ``bench/lr_finder.py`` validates the rule
against full constant-lr sweeps on four model/data pairs, three seeds each, with the range
test on other batches than the sweeps (lesson 09 prints its table, from
:mod:`course_lib.lr_finder.validation`).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from course_lib.lr_finder.curve import smooth_losses

__all__ = [
    "WINDOW_BETA",
    "DESCENT",
    "PROBE_FACTOR",
    "MAX_PROBES",
    "RUNGS",
    "EVAL_BATCHES",
    "probe_window",
    "run_probes",
    "pick",
]

#: Smoothing of the curve that places the window.
WINDOW_BETA = 0.8
#: The window starts where the loss has come this share of the way down to its minimum.
DESCENT = 0.1
#: Candidates are this factor apart, at most :data:`MAX_PROBES` of them.
PROBE_FACTOR = 2.0
MAX_PROBES = 8
#: The probes' rungs (steps at which the candidates are compared; the better half goes on),
#: and the batches their loss is measured on.
RUNGS = (25, 50, 100)
EVAL_BATCHES = 8


def probe_window(lrs: Sequence[float], losses: Sequence[float], *, beta: float = WINDOW_BETA,
                 descent: float = DESCENT, factor: float = PROBE_FACTOR,
                 max_probes: int = MAX_PROBES) -> list[float]:
    """The candidate learning rates, ascending, read off a range test's raw losses.

    Args:
        lrs: the sweep's learning rates, ascending.
        losses: the raw loss at each (finite).
        beta: smoothing of the curve (bias-corrected, as :func:`smooth_losses`).
        descent: the window's bottom is the first lr where the smoothed loss has come this
            share of the way from its first value down to its minimum.
        factor: the ratio between neighbouring candidates.
        max_probes: at most this many candidates (spread evenly over the window if the factor
            would need more).

    Returns:
        Candidates from the window's bottom to its top (the lr of the smoothed minimum), a
        factor ``factor`` apart, the top included; ``[]`` with fewer than 3 points.

    Example:
        >>> lrs = np.geomspace(1e-5, 1.0, 50)
        >>> losses = 2 - np.tanh(np.log10(lrs) + 3) + 5 * (lrs > 0.1)
        >>> window = probe_window(lrs, losses)
        >>> 1e-5 < window[0] < 1e-3 < window[-1] < 0.2
        True
    """
    x = np.asarray(lrs, dtype=float)
    y = np.asarray(losses, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"lrs and losses must be 1-D of equal length, got {x.shape}, {y.shape}")
    if not (factor > 1 and isinstance(max_probes, int) and max_probes >= 2):
        raise ValueError(f"need factor > 1 and max_probes >= 2, got {factor!r}, {max_probes!r}")
    if len(x) < 3:
        return []
    sm = smooth_losses(y, beta)
    i_min = int(np.argmin(sm))
    top = float(x[i_min])
    drop = sm[0] - sm[i_min]
    below = np.flatnonzero(sm[: i_min + 1] <= sm[0] - descent * drop) if drop > 0 else []
    bottom = float(x[below[0]]) if len(below) else float(x[0])
    if top <= bottom:
        bottom = float(x[0])
    if top <= bottom:  # the minimum is the first point: look below it
        bottom = top / factor ** 3
    n = int(math.ceil(math.log(top / bottom) / math.log(factor) - 1e-9)) + 1
    if n > max_probes:
        factor, n = (top / bottom) ** (1 / (max_probes - 1)), max_probes
    return sorted(top / factor ** j for j in range(n))


def run_probes(
    restore: Callable[[], None],
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    train_batches: Sequence[Any],
    eval_batches: Sequence[Any],
    loss_of: Callable[[Any], torch.Tensor],
    lrs: Sequence[float],
    *,
    rungs: Sequence[int] = RUNGS,
) -> tuple[list[float], list[int]]:
    """Successive halving: train every candidate a little, the better half on, and so on.

    Every candidate starts from the state ``restore`` gives and trains at its own constant lr on
    ``train_batches`` in order; after ``rungs[0]`` steps each is measured on ``eval_batches``,
    the better half (rounded up) trains on to ``rungs[1]`` steps, is measured again, and so on
    (Jamieson and Talwalkar, 2016). A run continues from where it stopped: its model and
    optimizer state are kept between rungs.

    Args:
        restore: puts the model and optimizer back to where every probe starts.
        model, optimizer: what the probes train (every param group gets the probe's lr).
        train_batches: at least ``rungs[-1]`` batches, one per step.
        eval_batches: the batches each probe's loss is measured on (no update).
        loss_of: ``batch -> scalar loss tensor`` (the model's forward and the loss function).
        lrs: the learning rates to probe.
        rungs: the step counts at which the candidates are compared, increasing.

    Returns:
        ``(losses, steps)``: for each lr, its loss at the last rung it reached (``inf`` when a
        loss stopped being finite on the way), and the steps it trained.
    """
    losses = [math.inf] * len(lrs)
    steps = [0] * len(lrs)
    states: dict[int, tuple] = {}
    alive = list(range(len(lrs)))
    for r, until in enumerate(rungs):
        for k in alive:
            restore()
            if k in states:
                model.load_state_dict(states[k][0])
                optimizer.load_state_dict(states[k][1])
            model.train()
            for group in optimizer.param_groups:
                group["lr"] = float(lrs[k])
            ok = True
            for batch in train_batches[steps[k]:until]:
                optimizer.zero_grad()
                loss = loss_of(batch)
                if not torch.isfinite(loss.detach()).all():
                    ok = False
                    break
                loss.backward()
                optimizer.step()
            steps[k] = until
            score = math.inf
            if ok:
                with torch.no_grad():
                    score = sum(float(loss_of(b).detach()) for b in eval_batches) / len(eval_batches)
            losses[k] = score if math.isfinite(score) else math.inf
            if r < len(rungs) - 1:
                states[k] = (copy.deepcopy(model.state_dict()), copy.deepcopy(optimizer.state_dict()))
        alive = sorted(alive, key=lambda k: (losses[k], lrs[k]))[: math.ceil(len(alive) / 2)]
        alive = [k for k in alive if math.isfinite(losses[k])]
        if len(alive) <= 1:
            break
    return losses, steps


def pick(lrs: Sequence[float], losses: Sequence[float], steps: Sequence[int]) -> float | None:
    """The lr with the lowest loss among the probes that went furthest (the smaller lr on a
    tie); ``None`` if none is finite."""
    longest = max(steps) if len(steps) else 0
    finite = [(loss, lr) for lr, loss, n in zip(lrs, losses, steps)
              if n == longest and math.isfinite(loss)]
    if not finite:
        finite = [(loss, lr) for lr, loss in zip(lrs, losses) if math.isfinite(loss)]
    if not finite:
        return None
    return min(finite)[1]
