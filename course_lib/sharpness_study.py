"""The bookkeeping of lesson 11's sharpness study: epochs of shuffled mini-batches, and the table.

Lesson 11 trains the same network with several batch sizes (and with SAM) for a number of
*epochs*, passes over the training set, and compares what each run found: the training loss,
the top Hessian eigenvalue, the loss under random perturbations and the test accuracy. The
loop is the one every lesson writes (zero the gradients, forward, backward, step); it lives here
so that the lesson shows the experiment, not the loop.

* :func:`train_epochs`: one shuffle per epoch, consecutive batches of it (the last one smaller
  when the batch size does not divide the data), one optimizer step per batch, taken through
  a closure so that an optimizer that needs the loss twice (:class:`course_lib.sam.SAM`) works
  unchanged.
* :func:`sharpness_table`: the runs' measurements as one aligned text table.

Example::

    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    steps = train_epochs(model, optimizer, X, y, batch_size=128, epochs=60,
                         generator=torch.Generator().manual_seed(0))
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F

from course_lib.validation import check_int

__all__ = ["train_epochs", "sharpness_table", "SHARPNESS_COLUMNS"]

SHARPNESS_COLUMNS = ("steps", "train loss", "lambda_max", "dL(r=2)", "test correct", "test acc")
"""The keys :func:`sharpness_table` reads from each run's dict."""


def train_epochs(model: torch.nn.Module, optimizer: torch.optim.Optimizer, X: torch.Tensor,
                 y: torch.Tensor, *, batch_size: int, epochs: int,
                 generator: torch.Generator) -> int:
    """Train ``model`` on ``(X, y)`` with cross-entropy for ``epochs`` shuffled passes.

    Every epoch draws a new order with ``torch.randperm(len(X), generator=generator)`` (a CPU
    generator) and walks through it ``batch_size`` examples at a time; each batch is one call
    of ``optimizer.step(closure)``, after the gradients are zeroed. The closure computes the
    batch's loss and its gradient. SGD or Adam call it once per step, exactly like
    ``loss.backward(); optimizer.step()``; SAM calls it twice (at ``w`` and at ``w + epsilon``).

    Args:
        model: the network (its outputs are logits).
        optimizer: any optimizer over the model's parameters whose ``step`` takes a closure.
        X, y: the training inputs and integer labels (on the model's device).
        batch_size: examples per step (``len(X)`` for full-batch training).
        epochs: passes over the data.
        generator: the shuffling generator, so a run is repeatable.

    Returns:
        The number of optimizer steps taken: ``epochs * ceil(len(X) / batch_size)``.
    """
    batch_size = check_int(batch_size, "batch_size", low=1, owner="train_epochs")
    epochs = check_int(epochs, "epochs", low=0, owner="train_epochs")
    steps = 0
    for _epoch in range(epochs):
        order = torch.randperm(len(X), generator=generator).to(X.device)
        for i in range(0, len(X), batch_size):
            idx = order[i:i + batch_size]

            def closure(idx=idx):
                loss = F.cross_entropy(model(X[idx]), y[idx])
                loss.backward()
                return loss

            optimizer.zero_grad(set_to_none=True)
            optimizer.step(closure)
            steps += 1
    return steps


def sharpness_table(results: Mapping[str, Mapping[str, float]], n_test: int) -> str:
    """One line per run: steps, training loss, lambda_max, loss increase at r = 2, test accuracy.

    Args:
        results: run name -> a dict with the keys of :data:`SHARPNESS_COLUMNS` (``"test acc"``
            a fraction, ``"test correct"`` a count of the ``n_test`` test images).
        n_test: the size of the test set, printed after the count of correct images.

    Raises:
        ValueError: if a run lacks one of the keys.
    """
    lines = [f"{'run':28s} {'steps':>6s} {'train loss':>10s} {'lambda_max':>10s} "
             f"{'dL (r=2)':>9s} {'test accuracy':>19s}"]
    for name, r in results.items():
        missing = [key for key in SHARPNESS_COLUMNS if key not in r]
        if missing:
            raise ValueError(f"sharpness_table: run {name!r} has no {', '.join(missing)}")
        lines.append(f"{name:28s} {r['steps']:6d} {r['train loss']:10.4f} {r['lambda_max']:10.2f} "
                     f"{r['dL(r=2)']:9.4f} {r['test acc']:8.2%} ({r['test correct']}/{n_test})")
    return "\n".join(lines)
