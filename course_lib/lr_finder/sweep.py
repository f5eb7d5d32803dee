"""The learning-rate range test ("LR finder"): one short sweep from a tiny lr to a huge one.

Train for ``num_iters`` mini-batches while the learning rate grows exponentially from
``start_lr`` to ``end_lr``, record the loss at every step, and stop once the loss has clearly
blown up. Plotted against the learning rate (log axis), the loss is flat while the lr is too
small to matter, falls once it is large enough, and shoots up when it is too large. The
published suggestions read a learning rate off that curve; the course's own,
``suggested_lr``, then checks candidates from the curve with short constant-lr runs
(:mod:`course_lib.lr_finder.probes`).

The model and the optimizer are put back exactly as they were afterwards (weights, buffers,
optimizer state and every param group's ``lr``): training on from the weights the sweep left
behind is the classic mistake with hand-rolled range tests.

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

import torch

from course_lib.lr_finder.curve import check_sweep, exponential_lrs, suggest_all
from course_lib.lr_finder.probes import EVAL_BATCHES, RUNGS, pick, probe_window, run_probes
from course_lib.validation import check_bool, check_real

__all__ = ["LRFinderResult", "lr_range_test"]

Batch = tuple[Any, Any]


@dataclass
class LRFinderResult:
    """What a range test recorded, and what it suggests.

    Attributes:
        lrs: the learning rate of every step that was taken, in order.
        losses: the raw mini-batch loss measured at each of those steps (before its update).
        smoothed_losses: the bias-corrected moving average of ``losses`` (what the published
            suggestions and the stopping rule use).
        stopped_early: ``None`` when the sweep ran all ``num_iters`` steps, otherwise a sentence
            saying why it stopped (divergence, or a non-finite loss and the lr it happened at).
        suggestions: the published rules, ``{"steepest": lr, "valley": lr,
            "minimum_div_10": lr}``; a rule that cannot be applied (too few points) is missing.
        suggested_lr: the course's suggestion, the best of the probes (see
            :mod:`course_lib.lr_finder.probes`); ``None`` without probes or when none could
            run (``probe_note`` says why).
        probe_lrs, probe_losses: each probe's constant learning rate and the loss it reached
            at the last rung it trained to (``probe_run``: its steps).
        probe_note: why there is no ``suggested_lr``, else ``None``.
        probe_steps: training steps taken by the probes.
    """

    lrs: list[float]
    losses: list[float]
    smoothed_losses: list[float]
    stopped_early: str | None = None
    suggestions: dict[str, float] = field(default_factory=dict)
    suggested_lr: float | None = None
    probe_lrs: list[float] = field(default_factory=list)
    probe_losses: list[float] = field(default_factory=list)
    probe_run: list[int] = field(default_factory=list)
    probe_note: str | None = None
    probe_steps: int = 0

    @property
    def cost(self) -> float:
        """Training steps taken (sweep and probes) per step of the sweep: the cost of
        ``suggested_lr`` as a multiple of the range test alone (1.0 without probes)."""
        n = len(self.lrs)
        return (n + self.probe_steps) / n if n else float("nan")


# ---------------------------------------------------------------------------------------------
# The data
# ---------------------------------------------------------------------------------------------


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



def _to(x: Any, device: torch.device) -> Any:
    return x.to(device) if torch.is_tensor(x) else x


# ---------------------------------------------------------------------------------------------
# The sweep
# ---------------------------------------------------------------------------------------------


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
    probes: bool = True,
    device: str | torch.device | None = None,
) -> LRFinderResult:
    r"""Run the LR range test, probe its window, and put the model and optimizer back exactly.

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

    Then, with ``probes`` (the default), the course's suggestion: short constant-lr runs from
    the starting state at candidates read off the curve, trained on the sweep's first 100
    batches (successive halving at 25, 50 and 100 steps) and measured on the next 8
    (:mod:`course_lib.lr_finder.probes`); the best is ``suggested_lr``. Data that cannot supply
    those batches gives no probes (``probe_note``).

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
        probes: compute ``suggested_lr`` with probe runs (costs up to 400 more steps).
        device: where batches are moved (``None``: the device of the model's first parameter).

    Returns:
        An :class:`LRFinderResult` with the suggestions of :func:`suggest_all` and, with
        ``probes``, ``suggested_lr``.

    Raises:
        ValueError: for an invalid argument, or data that runs out (see ``cycle``).
    """
    check_sweep(start_lr, end_lr, num_iters)
    if not isinstance(model, torch.nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise ValueError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    if not callable(loss_fn):
        raise ValueError("loss_fn must be callable: loss_fn(outputs, targets) -> scalar tensor")
    check_real(smooth, "smooth", low=0, high=1, high_open=True)
    check_real(diverge_factor, "diverge_factor", low=1, low_open=True)
    check_bool(cycle, "cycle")
    check_bool(probes, "probes")
    if device is None:
        first = next(model.parameters(), None)
        dev = first.device if first is not None else torch.device("cpu")
    else:
        dev = torch.device(device)
    next_batch = _batch_source(data, num_iters, cycle)

    saved_model = copy.deepcopy(model.state_dict())
    saved_optimizer = copy.deepcopy(optimizer.state_dict())
    was_training = model.training

    def restore() -> None:
        model.load_state_dict(saved_model)  # copies the values into the parameters
        # a copy: load_state_dict may keep the given tensors as the optimizer's state, which the
        # probes' steps would then change in place
        optimizer.load_state_dict(copy.deepcopy(saved_optimizer))

    def loss_of(batch: Batch) -> torch.Tensor:
        inputs, targets = batch
        return loss_fn(model(_to(inputs, dev)), _to(targets, dev))

    keep = RUNGS[-1] + EVAL_BATCHES
    kept: list[Batch] = []  # the sweep's first batches, for the probes
    lrs: list[float] = []
    losses: list[float] = []
    smoothed: list[float] = []
    stopped: str | None = None
    result = LRFinderResult(lrs=lrs, losses=losses, smoothed_losses=smoothed)
    avg, best = 0.0, math.inf
    try:
        model.train()
        for i, lr in enumerate(exponential_lrs(start_lr, end_lr, num_iters), start=1):
            lr = float(lr)
            for group in optimizer.param_groups:
                group["lr"] = lr
            batch = next_batch()
            if len(kept) < keep:
                kept.append(batch)
            optimizer.zero_grad()
            loss = loss_of(batch)
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
        result.stopped_early = stopped
        result.suggestions = suggest_all(lrs, smoothed)
        if probes:
            _probe(result, restore, model, optimizer, kept, next_batch, loss_of)
    finally:
        restore()
        model.train(was_training)
    return result


def _probe(result: LRFinderResult, restore, model, optimizer, kept: list, next_batch,
           loss_of) -> None:
    """Fill in the course's suggestion (see :mod:`course_lib.lr_finder.probes`)."""
    candidates = probe_window(result.lrs, result.losses)
    if not candidates:
        result.probe_note = "the sweep recorded fewer than 3 points: nothing to probe"
        return
    n_train = RUNGS[-1]
    try:
        while len(kept) < n_train + EVAL_BATCHES:
            kept.append(next_batch())
    except ValueError as exc:
        result.probe_note = f"no probes: {exc}"
        return
    train, held = kept[:n_train], kept[n_train:n_train + EVAL_BATCHES]
    losses, steps = run_probes(restore, model, optimizer, train, held, loss_of, candidates)
    result.probe_lrs, result.probe_losses, result.probe_run = list(candidates), losses, steps
    result.probe_steps = sum(steps)
    result.suggested_lr = pick(result.probe_lrs, losses, steps)
    if result.suggested_lr is None:
        result.probe_note = "every probe's loss stopped being finite"
