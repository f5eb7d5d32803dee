"""Short training runs of the digits MLP, one per hyperparameter setting (lesson 03, section 8).

A search over learning rates and weight decays needs one number per setting: the held-out loss
after a short run. A run you *watch* needs more, on the way: the training and held-out losses,
their gap, and the update-to-weight ratio of the first layer,

.. math::

    r_t = \\frac{\\|W_t - W_{t-1}\\|}{\\|W_{t-1}\\|},

the size of one step relative to the weights it moves (a healthy value, by CS231n's rule of
thumb, is around :math:`10^{-3}` once a run has settled). :func:`digits_mlp_run` is that one
short run, written once: the loop the lessons have already taught (zero_grad, forward, backward,
step) with ``torch.optim.SGD`` and momentum, on random mini-batches of the digits data.

Example::

    from course_lib.data import load_digits_split
    from course_lib.tuning_runs import digits_mlp_run

    digits = load_digits_split(device="cpu")
    print(digits_mlp_run(digits, lr=0.03, weight_decay=1e-4).held_out_loss)
    for c in digits_mlp_run(digits, lr=0.03, watch_every=50).checkpoints:
        print(c.step, c.train_loss, c.held_out_loss, c.gap, c.update_ratio)

References:
    J. Bergstra, Y. Bengio, "Random Search for Hyper-Parameter Optimization", JMLR, 2012.
    A. Karpathy, CS231n notes, "Neural Networks Part 3: Learning and Evaluation", 2016.
"""

from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn.functional as F

from course_lib.data import DigitsSplit
from course_lib.device import seed_everything
from course_lib.models import MLP
from course_lib.validation import check_int, check_real

__all__ = ["Checkpoint", "DigitsRun", "digits_mlp_run"]


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    """What a watched run looked like right after one step.

    Attributes:
        step: the step just taken (1-based).
        train_loss: cross-entropy on the whole training set.
        held_out_loss: cross-entropy on the held-out (test) set.
        update_ratio: :math:`\\|\\Delta W\\| / \\|W\\|` of the first layer's weight matrix
            for this step (the norm of the weights before it).
    """

    step: int
    train_loss: float
    held_out_loss: float
    update_ratio: float

    @property
    def gap(self) -> float:
        """held-out loss minus training loss: growing means overfitting."""
        return self.held_out_loss - self.train_loss


@dataclasses.dataclass(frozen=True)
class DigitsRun:
    """The outcome of :func:`digits_mlp_run`.

    Attributes:
        held_out_loss: cross-entropy on the held-out set after the last step; ``math.inf``
            when it is not finite (the run diverged).
        checkpoints: one :class:`Checkpoint` every ``watch_every`` steps (empty when the run
            was not watched).
    """

    held_out_loss: float
    checkpoints: tuple[Checkpoint, ...] = ()


def digits_mlp_run(
    digits: DigitsSplit,
    lr: float,
    weight_decay: float = 0.0,
    *,
    steps: int = 150,
    batch_size: int = 64,
    momentum: float = 0.9,
    hidden: int = 64,
    seed: int = 0,
    watch_every: int | None = None,
) -> DigitsRun:
    """Train a fresh ``MLP([64, hidden, 10])`` on the digits for ``steps`` steps of SGD.

    The loop: draw ``batch_size`` training examples at random (with replacement, from a
    generator seeded with ``seed``), cross-entropy, ``zero_grad``, ``backward``,
    ``torch.optim.SGD(lr, momentum, weight_decay).step()``. The model is built right after
    :func:`course_lib.device.seed_everything` (``seed``), so the same arguments give the same
    run; note that this reseeds the global generators. It runs where ``digits`` lives.

    Args:
        digits: the split from :func:`course_lib.data.load_digits_split`.
        lr: learning rate, > 0.
        weight_decay: SGD's L2 weight decay, >= 0.
        steps: number of steps, >= 1.
        batch_size: examples per step, >= 1.
        momentum: SGD's momentum, in [0, 1).
        hidden: width of the hidden layer, >= 1.
        seed: seed of the initial weights and of the batches, >= 0.
        watch_every: record a :class:`Checkpoint` after every ``watch_every``-th step
            (``None``: record nothing, the cheapest run).

    Returns:
        A :class:`DigitsRun`: the final held-out loss (``inf`` if diverged) and the checkpoints.
    """
    lr = check_real(lr, "lr", low=0, low_open=True, owner="digits_mlp_run")
    weight_decay = check_real(weight_decay, "weight_decay", low=0, owner="digits_mlp_run")
    steps = check_int(steps, "steps", low=1, owner="digits_mlp_run")
    batch_size = check_int(batch_size, "batch_size", low=1, owner="digits_mlp_run")
    momentum = check_real(momentum, "momentum", low=0, high=1, high_open=True,
                          owner="digits_mlp_run")
    hidden = check_int(hidden, "hidden", low=1, owner="digits_mlp_run")
    seed = check_int(seed, "seed", low=0, owner="digits_mlp_run")
    if watch_every is not None:
        watch_every = check_int(watch_every, "watch_every", low=1, owner="digits_mlp_run")

    device = digits.X_train.device
    n_train, n_features = digits.X_train.shape
    seed_everything(seed)
    model = MLP([n_features, hidden, digits.n_classes], device=device)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    batches = torch.Generator().manual_seed(seed)
    W = model.net[0].weight
    checkpoints = []
    for step in range(1, steps + 1):
        idx = torch.randint(n_train, (batch_size,), generator=batches).to(device)
        loss = F.cross_entropy(model(digits.X_train[idx]), digits.y_train[idx])
        opt.zero_grad()
        loss.backward()
        watched = watch_every is not None and step % watch_every == 0
        before = W.detach().clone() if watched else None
        opt.step()
        if watched:
            with torch.no_grad():
                ratio = ((W - before).norm() / before.norm()).item()
                train = F.cross_entropy(model(digits.X_train), digits.y_train).item()
                held = F.cross_entropy(model(digits.X_test), digits.y_test).item()
            checkpoints.append(Checkpoint(step, train, held, ratio))
    with torch.no_grad():
        final = F.cross_entropy(model(digits.X_test), digits.y_test).item()
    return DigitsRun(final if math.isfinite(final) else math.inf, tuple(checkpoints))
