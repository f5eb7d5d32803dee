"""A learning-rate x weight-decay grid for Adam + L2 and AdamW, trained all at once.

Loshchilov and Hutter's figure, measured on a small task: every cell of the grid is one
training run of the same MLP on the same data, and the whole grid (both optimizers, every
learning rate, every decay, every seed) trains as **one batched model**: the weights of all
runs are stacked along a leading axis and multiplied with ``torch.bmm``, so one step of the
grid costs about as much as one step of a model as wide as all of them together. The runs
never interact: each one's loss, gradient and Adam state are its own.

The update is lesson 05/06's Adam with PyTorch's defaults, decay on the weight matrices only
(biases are not decayed, as ``param_groups_for_weight_decay`` does), a cosine schedule from
``lr`` to 0 without warmup, and the decay in one of two places:

.. math::

    \\text{Adam + L2:}\\quad g \\leftarrow g + \\lambda\\,\\theta \\qquad\\qquad
    \\text{AdamW:}\\quad \\theta \\leftarrow (1 - \\eta_t \\lambda)\\,\\theta

with :math:`\\eta_t = \\text{lr} \\cdot s(t)` the scheduled learning rate (PyTorch's
convention: AdamW's decay is multiplied by the learning rate). One run of the grid gives the
same numbers as ``course_lib.optim.Adam`` / ``AdamW`` with ``LambdaLR`` on one
``MLP([64, hidden, 10])`` (tests check it).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from course_lib.models import MLP

__all__ = ["OPTIMIZERS", "ADAMW_AXES", "DecayGrid", "cosine_multiplier", "train_decay_grid"]

#: The two ways to decay, in the grid's first axis.
OPTIMIZERS = ("Adam + L2", "AdamW")
#: How AdamW's column values are read: ``"lr*wd"``, the decay per step at the peak learning
#: rate (Loshchilov and Hutter's λ, and PyTorch's ``weight_decay`` = value / lr), or
#: ``"wd"``, PyTorch's ``weight_decay`` itself.
ADAMW_AXES = ("lr*wd", "wd")


def cosine_multiplier(t: int, steps: int) -> float:
    """The schedule: ``0.5 (1 + cos(pi t / steps))``, from 1 at step 0 towards 0 at the end."""
    return 0.5 * (1.0 + math.cos(math.pi * t / steps))


@dataclass(frozen=True, eq=False)
class DecayGrid:
    """What the grid measured.

    Attributes:
        lrs: the learning rates (the grid's rows), ascending.
        decays: the column values of each optimizer, ``(adam_l2, adamw)``, each ascending:
            Adam + L2's ``weight_decay`` (the L2 coefficient), and AdamW's on ``adamw_axis``.
        adamw_axis: one of :data:`ADAMW_AXES`.
        seeds: the seeds (initial weights and batch order).
        steps, batch_size, hidden: the runs' settings.
        test_loss, train_loss, test_acc: arrays of shape ``(2, len(lrs), len(decays),
            len(seeds))``, the first axis in the order of :data:`OPTIMIZERS`; ``inf`` / NaN
            for a run that blew up.
    """

    lrs: tuple[float, ...]
    decays: tuple[tuple[float, ...], tuple[float, ...]]
    adamw_axis: str
    seeds: tuple[int, ...]
    steps: int
    batch_size: int
    hidden: int
    n_train: int
    test_loss: np.ndarray = field(repr=False)
    train_loss: np.ndarray = field(repr=False)
    test_acc: np.ndarray = field(repr=False)

    def adamw_weight_decay(self, i_lr: int, j: int) -> float:
        """PyTorch's ``AdamW(weight_decay=...)`` of the AdamW run in row ``i_lr``, column ``j``."""
        d = self.decays[1][j]
        return d / self.lrs[i_lr] if self.adamw_axis == "lr*wd" else d

    def mean(self, key: str = "test_loss") -> np.ndarray:
        """The seed mean of ``key``, shape ``(2, len(lrs), len(decays))``."""
        return getattr(self, key).mean(axis=-1)


def _check(values: Sequence[float], name: str, *, positive: bool) -> tuple[float, ...]:
    out = tuple(float(v) for v in values)
    if not out:
        raise ValueError(f"{name} must not be empty")
    for v in out:
        if not math.isfinite(v) or v < 0 or (positive and v == 0):
            raise ValueError(f"{name} must be {'positive' if positive else 'non-negative'} "
                             f"finite numbers, got {v!r}")
    if list(out) != sorted(set(out)):
        raise ValueError(f"{name} must be strictly increasing, got {list(out)}")
    return out


def train_decay_grid(
    X_train: torch.Tensor,
    y_train: torch.Tensor,
    X_test: torch.Tensor,
    y_test: torch.Tensor,
    lrs: Sequence[float],
    l2_decays: Sequence[float],
    adamw_decays: Sequence[float],
    *,
    adamw_axis: str = "lr*wd",
    seeds: Sequence[int] = (0, 1),
    steps: int = 1000,
    batch_size: int = 60,
    hidden: int = 128,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
) -> DecayGrid:
    """Train ``MLP([d, hidden, classes])`` for every (optimizer, lr, decay, seed) at once.

    Every run of a seed starts from the weights of ``torch.manual_seed(seed); MLP(...)`` and
    sees the same batches: each epoch a ``torch.randperm`` (generator seeded ``seed``) walked in
    slices of ``batch_size`` (``len(X_train)`` must be a multiple of it). The learning rate
    follows :func:`cosine_multiplier`.

    Args:
        X_train, y_train, X_test, y_test: the data (features ``(n, d)``, integer labels).
        lrs: the learning rates.
        l2_decays: Adam + L2's ``weight_decay`` values.
        adamw_decays: AdamW's values on ``adamw_axis`` (as many as ``l2_decays``).
        adamw_axis: ``"lr*wd"``: a value ρ decays every weight by ``ρ s(t)`` per step, whatever
            the learning rate (PyTorch's ``weight_decay = ρ / lr``); ``"wd"``: a value is
            PyTorch's ``weight_decay``, the decay per step ``lr s(t) wd``.
        seeds: one run per seed in every cell.
        steps: steps per run.
        batch_size: examples per step.
        hidden: hidden units.
        betas, eps: Adam's.

    Returns:
        A :class:`DecayGrid`.

    Raises:
        ValueError: for empty or non-increasing axes, negative values, or a batch size that
            does not divide the training set.
    """
    lrs = _check(lrs, "lrs", positive=True)
    decays = (_check(l2_decays, "l2_decays", positive=False),
              _check(adamw_decays, "adamw_decays", positive=False))
    if len(decays[0]) != len(decays[1]):
        raise ValueError("l2_decays and adamw_decays must have the same length, got "
                         f"{len(decays[0])} and {len(decays[1])}")
    if adamw_axis not in ADAMW_AXES:
        raise ValueError(f"adamw_axis must be one of {ADAMW_AXES}, got {adamw_axis!r}")
    seeds = tuple(int(s) for s in seeds)
    n = len(X_train)
    if not isinstance(batch_size, int) or batch_size < 1 or n % batch_size:
        raise ValueError(f"batch_size must divide the {n} training examples, got {batch_size!r}")
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    device = X_train.device
    d, classes = X_train.shape[1], int(y_train.max().item()) + 1
    n_opt, n_lr, n_wd, n_seed = 2, len(lrs), len(decays[0]), len(seeds)
    M = n_opt * n_lr * n_wd * n_seed  # runs, in the order (optimizer, lr, decay, seed)

    def per_run(values_by_axis, axis):  # a (M, 1, 1) tensor of one axis' values
        shape = [1, 1, 1, 1]
        shape[axis] = -1
        t = torch.tensor(values_by_axis, dtype=X_train.dtype, device=device).view(shape)
        return t.expand(n_opt, n_lr, n_wd, n_seed).reshape(M, 1, 1)

    lr_run = per_run(lrs, 1)
    # the L2 coefficient of each run (0 for AdamW runs) and AdamW's decay per step at the peak
    # learning rate (0 for Adam + L2 runs)
    l2 = torch.tensor([[[d if o == 0 else 0.0 for d in decays[0]] for _ in lrs] for o in (0, 1)],
                      dtype=X_train.dtype, device=device)
    rate = torch.tensor([[[0.0 if o == 0 else (d if adamw_axis == "lr*wd" else d * lr)
                           for d in decays[1]] for lr in lrs] for o in (0, 1)],
                        dtype=X_train.dtype, device=device)
    l2_run = l2[..., None].expand(n_opt, n_lr, n_wd, n_seed).reshape(M, 1, 1)
    rate_run = rate[..., None].expand(n_opt, n_lr, n_wd, n_seed).reshape(M, 1, 1)
    seed_of_run = torch.arange(n_seed, device=device).repeat(n_opt * n_lr * n_wd)

    # initial weights: one MLP per seed, copied into every run of that seed
    inits = []
    for s in seeds:
        torch.manual_seed(s)
        net = MLP([d, hidden, classes], device=device)
        inits.append([t.to(X_train.dtype) for t in (
            net.net[0].weight.detach().T, net.net[0].bias.detach()[None, :],
            net.net[2].weight.detach().T, net.net[2].bias.detach()[None, :])])
    params = [torch.stack([inits[s][k] for s in seed_of_run.tolist()]).clone().requires_grad_()
              for k in range(4)]
    decayed = (True, False, True, False)  # weight matrices yes, biases no
    m = [torch.zeros_like(p) for p in params]
    v = [torch.zeros_like(p) for p in params]
    beta1, beta2 = betas

    def forward(x):  # every run's MLP at once: (M, B, d) -> (M, B, classes)
        h = torch.relu(torch.baddbmm(params[1], x, params[0]))
        return torch.baddbmm(params[3], h, params[2])

    gens = [torch.Generator().manual_seed(s) for s in seeds]
    per_epoch = n // batch_size
    orders = [None] * n_seed
    for t in range(steps):
        if t % per_epoch == 0:
            orders = [torch.randperm(n, generator=g).to(device) for g in gens]
        start = (t * batch_size) % n
        idx = torch.stack([o[start:start + batch_size] for o in orders])  # (seeds, B)
        run_idx = idx[seed_of_run]                                         # (M, B)
        x, yb = X_train[run_idx], y_train[run_idx]
        logits = forward(x)
        losses = F.cross_entropy(logits.reshape(-1, classes), yb.reshape(-1),
                                 reduction="none").view(M, batch_size).mean(dim=1)
        grads = torch.autograd.grad(losses.sum(), params)
        step = t + 1
        mult = cosine_multiplier(t, steps)
        step_size = lr_run * (mult / (1 - beta1 ** step))   # eta_t / (1 - beta1^t), per run
        shrink = 1 - rate_run * mult                        # AdamW: 1 - eta_t * wd, per run
        root_bc2 = math.sqrt(1 - beta2 ** step)
        with torch.no_grad():
            for p, g, m_, v_, dec in zip(params, grads, m, v, decayed):
                if dec:
                    g = g.addcmul(l2_run, p)                 # Adam + L2: g + lambda * theta
                    p.mul_(shrink)                           # AdamW: theta * (1 - eta_t wd)
                m_.lerp_(g, 1 - beta1)                       # m = beta1 m + (1 - beta1) g
                v_.mul_(beta2).addcmul_(g, g, value=1 - beta2)
                denom = v_.sqrt().div_(root_bc2).add_(eps)   # sqrt(v_hat) + eps
                p.sub_(m_.div(denom).mul_(step_size))

    def evaluate(X, y):
        with torch.no_grad():
            logits = forward(X.expand(M, *X.shape))
            loss = F.cross_entropy(logits.reshape(-1, classes), y.repeat(M),
                                   reduction="none").view(M, -1).mean(dim=1)
            acc = (logits.argmax(dim=2) == y[None, :]).double().mean(dim=1)
        shape = (n_opt, n_lr, n_wd, n_seed)
        return loss.double().cpu().numpy().reshape(shape), acc.cpu().numpy().reshape(shape)

    train_loss, _ = evaluate(X_train, y_train)
    test_loss, test_acc = evaluate(X_test, y_test)
    train_loss = np.where(np.isfinite(train_loss), train_loss, np.inf)
    test_loss = np.where(np.isfinite(test_loss), test_loss, np.inf)
    return DecayGrid(lrs=lrs, decays=decays, adamw_axis=adamw_axis, seeds=seeds, steps=steps, batch_size=batch_size,
                     hidden=hidden, n_train=n, test_loss=test_loss, train_loss=train_loss,
                     test_acc=test_acc)
