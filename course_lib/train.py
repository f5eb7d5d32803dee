"""The full training recipe as one flat loop that writes down everything it did.

:func:`train` is the loop every lesson writes by hand, in one place, in order::

    optimizer.zero_grad()                              # forget the last step's gradients
    loss = loss_of(model, x, y)                        # forward
    loss.backward()                                    # backward: fill p.grad
    grad_norm = clip_grad_norm_(params, clip_norm)     # clip; returns the norm *before* clipping
    optimizer.step()                                   # update with lr = base_lr * schedule(t)
    scheduler.step()                                   # t -> t + 1

and records, for every step, what happened in a :class:`History`: the loss, the learning
rate the step used, the gradient norm before clipping and whether clipping fired. That
record is what :mod:`course_lib.diagnose` reads to tell a healthy run from a sick one.

Example::

    from course_lib.train import train
    history = train(model, get_batch, optimizer, steps=300, clip_norm=1.0,
                    schedule=warmup_cosine(30, 300))
    plot_grad_norms(history.grad_norm, clip_threshold=1.0, clip_events=history.clipped)
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import numbers
from collections.abc import Callable, Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch.optim.lr_scheduler import LambdaLR
from tqdm.auto import tqdm

from course_lib.clipping import clip_grad_norm_, global_grad_norm
from course_lib.device import resolve_device
from course_lib.validation import check_int, check_real

__all__ = ["History", "train", "loss_of"]

Batch = tuple[torch.Tensor, torch.Tensor]

PER_STEP = ("step", "loss", "lr", "grad_norm", "clipped")
"""The lists of a :class:`History` that hold one entry per training step."""


@dataclasses.dataclass
class History:
    """What a training run did, one entry per step (plus evaluations now and then).

    Attributes:
        step: the step index ``t`` (0, 1, 2, ...), the number of updates taken before it.
        loss: the training loss of step ``t``'s batch, before the update (``nan`` / ``inf``
            are kept as they were).
        lr: the learning rate step ``t`` used (of the first param group).
        grad_norm: the global L2 norm of all gradients **before** clipping.
        clipped: whether clipping scaled the gradients down (``grad_norm > clip_norm``).
        eval_step: the steps at which ``eval_fn`` ran (before the update of that step; the
            last one after the final update, so it equals the number of updates taken).
        eval_metrics: metric name -> one value per entry of ``eval_step``.
        meta: how the run was set up and how it ended: ``clip_norm``, ``base_lr``,
            ``optimizer``, ``steps_requested``, ``dtype`` (of the parameters),
            ``autocast_dtype``, ``stop_reason``
            (``"completed"`` or ``"non-finite loss or gradient norm at step t"``).

    Example:
        >>> h = History(step=[0, 1], loss=[2.3, 2.1], lr=[0.1, 0.1],
        ...             grad_norm=[1.5, 0.8], clipped=[True, False], meta={"clip_norm": 1.0})
        >>> len(h), h.clip_events, h.clipped_fraction
        (2, [0], 0.5)
    """

    step: list[int] = dataclasses.field(default_factory=list)
    loss: list[float] = dataclasses.field(default_factory=list)
    lr: list[float] = dataclasses.field(default_factory=list)
    grad_norm: list[float] = dataclasses.field(default_factory=list)
    clipped: list[bool] = dataclasses.field(default_factory=list)
    eval_step: list[int] = dataclasses.field(default_factory=list)
    eval_metrics: dict[str, list[float]] = dataclasses.field(default_factory=dict)
    meta: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        lengths = {name: len(getattr(self, name)) for name in PER_STEP}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"the per-step lists must have the same length, got {lengths}")
        for name, values in self.eval_metrics.items():
            if len(values) != len(self.eval_step):
                raise ValueError(
                    f"eval metric {name!r} has {len(values)} values for "
                    f"{len(self.eval_step)} eval steps"
                )

    def __len__(self) -> int:
        return len(self.step)

    @property
    def clip_events(self) -> list[int]:
        """The steps at which clipping fired."""
        return [t for t, c in zip(self.step, self.clipped) if c]

    @property
    def clipped_fraction(self) -> float:
        """Share of the steps that were clipped (0.0 for an empty history)."""
        return sum(self.clipped) / len(self.clipped) if self.clipped else 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain lists and dicts (``json.dumps`` writes ``nan`` / ``inf`` as NaN / Infinity)."""
        return {
            **{name: list(getattr(self, name)) for name in PER_STEP},
            "eval_step": list(self.eval_step),
            "eval_metrics": {k: list(v) for k, v in self.eval_metrics.items()},
            "meta": dict(self.meta),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> History:
        """The inverse of :meth:`to_dict`."""
        return cls(
            step=[int(t) for t in data.get("step", [])],
            loss=[float(v) for v in data.get("loss", [])],
            lr=[float(v) for v in data.get("lr", [])],
            grad_norm=[float(v) for v in data.get("grad_norm", [])],
            clipped=[bool(v) for v in data.get("clipped", [])],
            eval_step=[int(t) for t in data.get("eval_step", [])],
            eval_metrics={
                str(k): [float(v) for v in vs] for k, vs in data.get("eval_metrics", {}).items()
            },
            meta=dict(data.get("meta", {})),
        )


def _takes_targets(model: torch.nn.Module) -> bool:
    """Does ``model.forward`` take a second argument (targets), like CharTransformer's?"""
    try:
        params = list(inspect.signature(model.forward).parameters.values())
    except (TypeError, ValueError):
        return False
    positional = [
        p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
    ]
    return len(positional) >= 2


def loss_of(
    model: torch.nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    loss_fn: Callable[[Any, torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    """The forward pass of :func:`train`: the scalar loss of one batch.

    * With ``loss_fn``: ``loss_fn(model(x), y)`` (e.g. ``torch.nn.functional.mse_loss``).
    * Without, a model whose ``forward`` takes targets (``CharTransformer``) is called as
      ``model(x, y)`` and returns ``(logits, loss)``; any other model's output is scored with
      ``cross_entropy(model(x), y)`` (logits of shape ``(B, C)``, integer labels).
    """
    if loss_fn is not None:
        return loss_fn(model(x), y)
    if _takes_targets(model):
        _, loss = model(x, y)
        return loss
    return F.cross_entropy(model(x), y)


def _model_device(model: torch.nn.Module) -> torch.device:
    for p in model.parameters():
        return p.device
    return resolve_device(None)


def _evaluate(model: torch.nn.Module, eval_fn: Callable, step: int, history: History) -> None:
    model.eval()  # no dropout while measuring
    with torch.no_grad():
        result = eval_fn(model)
    model.train()
    if isinstance(result, numbers.Real) or isinstance(result, torch.Tensor):
        result = {"eval_loss": result}
    if not isinstance(result, Mapping):
        raise ValueError(f"eval_fn must return a number or a dict of numbers, got {result!r}")
    if history.eval_step and set(result) != set(history.eval_metrics):
        raise ValueError("eval_fn must return the same metric names every time")
    history.eval_step.append(step)
    for name, value in result.items():
        value = value.item() if isinstance(value, torch.Tensor) else float(value)
        history.eval_metrics.setdefault(str(name), []).append(value)


def _check_args(steps: object, clip_norm: object, eval_every: object, autocast_dtype: object):
    check_int(steps, "steps", low=0)
    check_real(clip_norm, "clip_norm", low=0, low_open=True, allow_none=True)
    check_int(eval_every, "eval_every", low=1, allow_none=True)
    if autocast_dtype not in (None, torch.float32, torch.bfloat16):
        raise ValueError(
            f"autocast_dtype must be None, torch.float32 or torch.bfloat16, got {autocast_dtype!r}: "
            "float16 needs loss scaling (torch.amp.GradScaler), which this loop leaves out"
        )


def train(
    model: torch.nn.Module,
    get_batch: Callable[[int], Batch],
    optimizer: torch.optim.Optimizer,
    *,
    steps: int,
    schedule: Callable[[int], float] | None = None,
    clip_norm: float | None = None,
    loss_fn: Callable[[Any, torch.Tensor], torch.Tensor] | None = None,
    eval_fn: Callable[[torch.nn.Module], Any] | None = None,
    eval_every: int | None = None,
    autocast_dtype: torch.dtype | None = None,
    device: str | torch.device | None = None,
    progress: bool = False,
    stop_on_nonfinite: bool = True,
) -> History:
    """Train ``model`` for ``steps`` steps and return the :class:`History` of the run.

    The loop, top to bottom: zero_grad, forward, backward, clip (recording the norm before
    clipping), optimizer step, scheduler step. Nothing is hidden in callbacks; read the source.

    Args:
        model: any ``nn.Module`` (see :func:`loss_of` for how its loss is computed).
        get_batch: ``get_batch(step) -> (x, y)``; called once per step with the step index,
            so a lesson can hand in a special batch at a chosen step. Tensors are moved to
            ``device``.
        optimizer: any ``torch.optim.Optimizer`` over the model's parameters.
        steps: how many optimizer steps to take (fewer if the run stops early).
        schedule: a ``step -> multiplier`` function from :mod:`course_lib.schedules`, applied
            through ``torch.optim.lr_scheduler.LambdaLR`` (so step ``t`` uses
            ``base_lr * schedule(t)``); ``None`` keeps the optimizer's lr.
        clip_norm: clip the global gradient norm to this value; ``None`` does not clip (the
            norm is still measured and recorded).
        loss_fn: ``loss_fn(model(x), y) -> loss``; see :func:`loss_of` for the default.
        eval_fn: ``eval_fn(model) -> dict of numbers`` (or one number, stored as
            ``"eval_loss"``), run without gradients in eval mode every ``eval_every`` steps
            (before that step's update) and once at the end.
        eval_every: see ``eval_fn``; ``None`` evaluates only at the end.
        autocast_dtype: ``torch.bfloat16`` runs the forward pass under bf16 autocast on a CUDA
            GPU; on other devices the run stays in float32 (recorded in ``meta``). float16 is
            refused: it needs loss scaling, which this loop leaves out.
        device: where batches are sent (default: the device of the model's parameters).
        progress: show a tqdm bar (off by default so notebook outputs stay deterministic).
        stop_on_nonfinite: stop at the first step whose loss or gradient norm is ``nan`` or
            ``inf``: that step is recorded but its update is **not** applied, so the model keeps
            its last finite weights. ``False`` applies it and carries on.

    Returns:
        The :class:`History`. Never raises on a diverging run: a NaN is an outcome to record.

    Raises:
        ValueError: for a bad ``steps``, ``clip_norm``, ``eval_every`` or ``autocast_dtype``.
    """
    _check_args(steps, clip_norm, eval_every, autocast_dtype)
    device = _model_device(model) if device is None else resolve_device(device)
    # LambdaLR multiplies each group's base lr by schedule(t) and writes it into the group,
    # so optimizer.param_groups[0]["lr"] is always the rate the next step will use.
    scheduler = LambdaLR(optimizer, lr_lambda=schedule) if schedule is not None else None
    # Autocast runs matmuls in bf16 on a GPU; on a CPU it would be slow and change the numbers.
    use_autocast = autocast_dtype == torch.bfloat16 and device.type == "cuda"
    history = History(
        meta={
            "clip_norm": None if clip_norm is None else float(clip_norm),
            "base_lr": float(optimizer.param_groups[0].get("initial_lr", optimizer.param_groups[0]["lr"])),
            "optimizer": type(optimizer).__name__,
            "steps_requested": int(steps),
            "dtype": str(next(iter(model.parameters()), torch.empty(0)).dtype).replace("torch.", ""),
            "autocast_dtype": "bfloat16" if use_autocast else None,
            "stop_reason": "completed",
        }
    )
    model.train()
    for t in tqdm(range(steps), disable=not progress, desc="training", leave=False):
        if eval_fn is not None and eval_every is not None and t % eval_every == 0:
            _evaluate(model, eval_fn, t, history)
        lr = optimizer.param_groups[0]["lr"]  # the rate this step's update will use
        x, y = (v.to(device) for v in get_batch(t))

        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_autocast):
            loss = loss_of(model, x, y, loss_fn)
        loss.backward()
        if clip_norm is not None:
            grad_norm = clip_grad_norm_(model.parameters(), clip_norm)  # returns the pre-clip norm
        else:
            grad_norm = global_grad_norm(model.parameters())  # measured anyway: it is the first thing to read

        # .item() waits for the GPU every step; a production loop would log less often, but the
        # point here is a complete record, and the NaN check needs the value anyway.
        loss_value, norm_value = float(loss.item()), float(grad_norm.item())
        history.step.append(t)
        history.loss.append(loss_value)
        history.lr.append(float(lr))
        history.grad_norm.append(norm_value)
        history.clipped.append(clip_norm is not None and norm_value > clip_norm)
        if stop_on_nonfinite and not (math.isfinite(loss_value) and math.isfinite(norm_value)):
            # Stop *before* the update: one step with a NaN gradient would overwrite every weight.
            history.meta["stop_reason"] = f"non-finite loss or gradient norm at step {t}"
            optimizer.zero_grad(set_to_none=True)
            break

        optimizer.step()
        if scheduler is not None:
            scheduler.step()

    if eval_fn is not None:
        n_updates = len(history) - (history.meta["stop_reason"] != "completed")
        if not history.eval_step or history.eval_step[-1] != n_updates:
            _evaluate(model, eval_fn, n_updates, history)
    return history
