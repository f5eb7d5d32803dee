"""Train a small classifier on mini-batches, and score it: the loop lessons 05 and 06 reuse.

By lesson 05 the training loop (zero_grad, forward, backward, step) has been written by hand
several times. Lessons 05 and 06 then compare optimizers on the digits, many runs each; what
differs between the runs is the optimizer, so the loop is written once here::

    for step in range(steps):
        idx = batch_indices(step)                          # "random" or "epochs", see below
        loss = F.cross_entropy(model(X[idx]), y[idx])
        for opt in optimizers: opt.zero_grad()
        loss.backward()
        for opt in optimizers: opt.step()

A list of optimizers lets one run split the parameters between two of them (Muon for the
hidden weight matrices, AdamW for the rest, lesson 05). The batches come from their own
``torch.Generator`` seeded with ``seed``, so a run does not touch the global random state and
the same seed gives every optimizer the same batches.

Example::

    from course_lib.classifier_runs import evaluate_classifier, train_classifier
    from course_lib.data import load_digits_split
    from course_lib.models import MLP

    data = load_digits_split(device="cpu")
    model = MLP([64, 128, 10], device="cpu")
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    losses = train_classifier(model, [opt], data.X_train, data.y_train, steps=300, batch_size=64)
    test_loss, test_accuracy = evaluate_classifier(model, data.X_test, data.y_test)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from course_lib.validation import check_int

__all__ = ["SAMPLINGS", "batch_sampler", "train_classifier", "evaluate_classifier"]

SAMPLINGS = ("random", "epochs")
"""How :func:`batch_sampler` draws a batch: ``"random"``, independent uniform draws with
replacement every step; ``"epochs"``, a fresh permutation every ``n // batch_size`` steps, cut
into consecutive batches (each example once per epoch; the last ``n % batch_size`` are left out)."""


def batch_sampler(n: int, batch_size: int, seed: int = 0, sampling: str = "random",
                  device: str | torch.device | None = None) -> Callable[[int], torch.Tensor]:
    """A function ``step -> indices`` of one mini-batch, from its own seeded generator.

    Call it with ``step = 0, 1, 2, ...`` in order (an ``"epochs"`` sampler draws its next
    permutation when a step starts an epoch).

    Args:
        n: how many examples there are (>= 1).
        batch_size: examples per batch, between 1 and ``n``.
        seed: seed of the sampler's ``torch.Generator``.
        sampling: one of :data:`SAMPLINGS`.
        device: where the index tensors are sent (``None``: left on the CPU).

    Example:
        >>> next_batch = batch_sampler(6, 2, seed=0, sampling="epochs")
        >>> sorted(torch.cat([next_batch(step) for step in range(3)]).tolist())
        [0, 1, 2, 3, 4, 5]
    """
    n = check_int(n, "n", low=1, owner="batch_sampler")
    batch_size = check_int(batch_size, "batch_size", low=1, high=n, owner="batch_sampler")
    seed = check_int(seed, "seed", owner="batch_sampler")
    if sampling not in SAMPLINGS:
        raise ValueError(f"batch_sampler: sampling must be one of {SAMPLINGS}, got {sampling!r}")
    gen = torch.Generator().manual_seed(seed)
    per_epoch = n // batch_size
    order: list[torch.Tensor] = []

    def next_batch(step: int) -> torch.Tensor:
        if sampling == "random":
            idx = torch.randint(n, (batch_size,), generator=gen)
        else:
            if step % per_epoch == 0:               # a new epoch: reshuffle
                order[:] = [torch.randperm(n, generator=gen)]
            start = (step % per_epoch) * batch_size
            idx = order[0][start : start + batch_size]
        return idx if device is None else idx.to(device)

    return next_batch


def train_classifier(
    model: torch.nn.Module,
    optimizers: Sequence[torch.optim.Optimizer],
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    steps: int,
    batch_size: int,
    seed: int = 0,
    sampling: str = "random",
) -> list[float]:
    """Train ``model`` with cross-entropy on mini-batches of ``(X, y)``; returns each step's loss.

    The loop is the module docstring's: one batch per step from :func:`batch_sampler`
    (``seed``, ``sampling``), ``zero_grad`` on every optimizer, one backward pass, ``step`` on
    every optimizer. The loss recorded for a step is its batch's, before the update.

    Args:
        model: maps ``X[idx]`` to logits of shape ``(batch, classes)``.
        optimizers: one or more optimizers that together hold the parameters to train.
        X, y: inputs and integer class labels, on the model's device.
        steps: how many steps (>= 1).
        batch_size: examples per batch, between 1 and ``len(y)``.
        seed: seed of the batch order.
        sampling: ``"random"`` or ``"epochs"`` (see :data:`SAMPLINGS`).

    Returns:
        The ``steps`` batch losses, as floats.
    """
    steps = check_int(steps, "steps", low=1, owner="train_classifier")
    if not optimizers:
        raise ValueError("train_classifier: optimizers must hold at least one optimizer")
    next_batch = batch_sampler(len(y), batch_size, seed, sampling, device=y.device)
    losses = []
    for step in range(steps):
        idx = next_batch(step)
        loss = F.cross_entropy(model(X[idx]), y[idx])
        for opt in optimizers:
            opt.zero_grad()
        loss.backward()
        for opt in optimizers:
            opt.step()
        losses.append(loss.item())
    return losses


def evaluate_classifier(model: torch.nn.Module, X: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """The mean cross-entropy and the accuracy of ``model`` on ``(X, y)``, without gradients.

    Returns:
        ``(loss, accuracy)``, accuracy as a fraction in ``[0, 1]``.

    Example:
        >>> model = torch.nn.Linear(2, 2, bias=False)
        >>> _ = model.weight.data.copy_(torch.eye(2))
        >>> loss, acc = evaluate_classifier(model, torch.tensor([[2.0, 0.0], [0.0, 1.0]]), torch.tensor([0, 0]))
        >>> round(acc, 2)
        0.5
    """
    with torch.no_grad():
        logits = model(X)
        loss = F.cross_entropy(logits, y).item()
        accuracy = (logits.argmax(dim=1) == y).float().mean().item()
    return loss, accuracy
