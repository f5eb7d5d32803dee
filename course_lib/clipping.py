r"""Gradient clipping: cap how far one step can go, whatever the gradient does.

Clipping is a circuit breaker for the optimizer: a single bad batch (a spike in
the loss, an exploding recurrent gradient) can produce a gradient thousands of
times larger than usual, and one plain step along it undoes hours of training.
The lesson's loop clips between ``backward()`` and ``step()``::

    loss.backward()
    norm = clip_grad_norm_(model.parameters(), max_norm=1.0)   # returns the norm *before* clipping
    optimizer.step()

Three flavours, all in place on ``p.grad``:

* :func:`clip_grad_norm_` (**global**): treat all gradients as one long vector
  :math:`g` and, if :math:`\|g\| > \text{max\_norm}`, scale the whole vector down.
  The direction is kept exactly; only the length changes. Same numbers as
  ``torch.nn.utils.clip_grad_norm_``.
* :func:`clip_grad_norm_per_param_`: the same rule applied to each tensor on its
  own. Tensors with big gradients shrink, small ones do not, so the direction
  **bends** (:func:`cosine_similarity_of_grads` measures by how much).
* :func:`clip_grad_value_`: clamp every entry to ``[-clip_value, clip_value]``.
  Simple, but it changes the direction too. Same numbers as
  ``torch.nn.utils.clip_grad_value_``.
* :func:`clip_grad_norm_distributed_`: global clipping when the gradients are
  **sharded** across the ranks of a process group (ZeRO-2, FSDP): each rank's own
  norm is not the global one, so the ranks all-reduce their sums of squares first
  (lesson 13).

Parameters whose ``grad`` is ``None`` are skipped everywhere. The work is done
on the gradients' own device (CPU, CUDA or MPS).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import torch

from course_lib.validation import check_real

__all__ = [
    "clip_grad_norm_",
    "clip_grad_norm_per_param_",
    "clip_grad_value_",
    "clip_grad_norm_distributed_",
    "global_grad_norm",
    "snapshot_grads",
    "cosine_similarity_of_grads",
]

Parameters = torch.Tensor | Iterable[torch.Tensor]

EPS = 1e-6
"""Added to the norm before dividing, exactly as torch does, so a zero gradient never divides by 0."""


# --------------------------------------------------------------------------- validation


def _grads(parameters: Parameters) -> list[torch.Tensor]:
    """The ``.grad`` of each parameter that has one (a single tensor counts as one parameter)."""
    if isinstance(parameters, torch.Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def _check_max_norm(max_norm: object) -> float:
    """A finite number > 0; a one-element tensor is accepted, as in torch."""
    return check_real(max_norm, "max_norm", low=0, low_open=True, allow_tensor=True)


def _check_norm_type(norm_type: object) -> float:
    """A p >= 1 (a true norm) or infinity; the string ``'inf'`` is accepted, as in torch."""
    if isinstance(norm_type, str) and norm_type.strip().lower() in ("inf", "+inf"):
        return math.inf
    return check_real(norm_type, "norm_type", low=1, allow_inf=True, allow_tensor=True)


# --------------------------------------------------------------------------- norms


def _total_norm(grads: list[torch.Tensor], norm_type: float) -> torch.Tensor:
    """The p-norm of all gradients seen as one vector: the p-norm of the per-tensor p-norms."""
    if not grads:
        return torch.tensor(0.0)
    per_tensor = [torch.linalg.vector_norm(g, norm_type) for g in grads]  # ||g_i||_p
    device = grads[0].device
    return torch.linalg.vector_norm(torch.stack([n.to(device) for n in per_tensor]), norm_type)


@torch.no_grad()
def global_grad_norm(parameters: Parameters, norm_type: float = 2.0) -> torch.Tensor:
    r"""The norm of all gradients together, as one vector; the gradients are not changed.

    .. math::
        \|g\|_p = \Big(\sum_i \|g_i\|_p^{\,p}\Big)^{1/p}
                = \big\|\,(\|g_1\|_p, \dots, \|g_k\|_p)\,\big\|_p,
        \qquad \|g\|_\infty = \max_i \max_j |g_{i,j}|

    where :math:`g_i` is the gradient of the i-th parameter tensor. This is the
    number :func:`clip_grad_norm_` compares with ``max_norm``, worth logging every
    step: spikes in it come before spikes in the loss.

    Args:
        parameters: A tensor or an iterable of tensors (e.g. ``model.parameters()``).
        norm_type: The p of the p-norm, >= 1, or ``math.inf``.

    Returns:
        A 0-dim tensor on the first gradient's device; ``tensor(0.)`` when no
        parameter has a gradient.

    Raises:
        ValueError: if ``norm_type`` is below 1 or not a number.

    Example:
        >>> w = torch.nn.Parameter(torch.zeros(2)); w.grad = torch.tensor([3.0, 4.0])
        >>> global_grad_norm([w])
        tensor(5.)
    """
    return _total_norm(_grads(parameters), _check_norm_type(norm_type))


# --------------------------------------------------------------------------- clipping


@torch.no_grad()
def clip_grad_norm_(
    parameters: Parameters,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> torch.Tensor:
    r"""Scale all gradients together so that their global norm is at most ``max_norm``.

    .. math::
        c = \min\!\left(1,\; \frac{\text{max\_norm}}{\|g\|_p + 10^{-6}}\right),
        \qquad g_i \leftarrow c \, g_i \quad \text{for every parameter } i

    with :math:`\|g\|_p` from :func:`global_grad_norm`. Every gradient is
    multiplied by the same :math:`c`, so the update direction is unchanged; only
    its length is capped. When the norm is already small, :math:`c = 1` and
    nothing changes (the multiply still runs, as in torch, to avoid a
    device-to-host sync on a GPU).

    Same arithmetic as ``torch.nn.utils.clip_grad_norm_``, including the
    non-finite case: if the norm is ``inf`` then :math:`c = 0` (finite entries
    become 0, infinite ones NaN), and if it is ``nan`` every entry becomes NaN,
    unless ``error_if_nonfinite=True``, which raises instead. Unlike torch,
    ``max_norm`` must be > 0 and ``norm_type`` >= 1.

    Args:
        parameters: A tensor or an iterable of tensors; ones whose ``grad`` is
            ``None`` are skipped.
        max_norm: The largest norm allowed, a finite number > 0.
        norm_type: The p of the p-norm, >= 1, or ``math.inf``.
        error_if_nonfinite: Raise ``RuntimeError`` if the norm is ``nan`` or ``inf``.

    Returns:
        The global norm **before** clipping (0-dim tensor): log it to see how
        often, and by how much, clipping kicks in.

    Raises:
        ValueError: for ``max_norm <= 0`` or non-finite, or a bad ``norm_type``.
        RuntimeError: if ``error_if_nonfinite`` and the norm is ``nan`` or ``inf``.

    Example:
        >>> w = torch.nn.Parameter(torch.zeros(2)); w.grad = torch.tensor([3.0, 4.0])
        >>> clip_grad_norm_([w], max_norm=1.0)
        tensor(5.)
        >>> w.grad
        tensor([0.6000, 0.8000])

    References:
        Pascanu, Mikolov & Bengio, "On the difficulty of training recurrent
        neural networks", ICML 2013, https://arxiv.org/abs/1211.5063.
    """
    max_norm = _check_max_norm(max_norm)
    norm_type = _check_norm_type(norm_type)
    grads = _grads(parameters)
    total_norm = _total_norm(grads, norm_type)
    if not grads:
        return total_norm
    if error_if_nonfinite and not torch.isfinite(total_norm):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is "
            "non-finite, so it cannot be clipped. To disable this error and scale the "
            "gradients by the non-finite norm anyway, set `error_if_nonfinite=False`"
        )
    clip_coef = max_norm / (total_norm + EPS)
    clip_coef_clamped = torch.clamp(clip_coef, max=1.0)  # never scale a gradient up
    for g in grads:
        g.mul_(clip_coef_clamped.to(g.device))
    return total_norm


@torch.no_grad()
def clip_grad_norm_per_param_(
    parameters: Parameters,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> list[torch.Tensor]:
    r"""Clip each parameter's gradient to norm ``max_norm`` on its own.

    .. math::
        c_i = \min\!\left(1,\; \frac{\text{max\_norm}}{\|g_i\|_p + 10^{-6}}\right),
        \qquad g_i \leftarrow c_i \, g_i

    Each tensor gets its own factor :math:`c_i`, so when one tensor's gradient
    dominates, it is shrunk while the others are not, and the direction of the
    whole update **bends** toward the small ones. That is the point of the
    lesson's comparison with :func:`clip_grad_norm_` (measure it with
    :func:`cosine_similarity_of_grads`). It is exactly
    ``[clip_grad_norm_(p, max_norm, ...) for p in parameters]``.

    Args:
        parameters: A tensor or an iterable of tensors; ones whose ``grad`` is
            ``None`` are skipped.
        max_norm: The largest norm allowed per tensor, a finite number > 0.
        norm_type: The p of the p-norm, >= 1, or ``math.inf``.
        error_if_nonfinite: Raise ``RuntimeError`` if a tensor's norm is ``nan`` or ``inf``.

    Returns:
        The norm of each gradient **before** clipping, one 0-dim tensor per
        parameter that has a gradient, in order.

    Raises:
        ValueError: for ``max_norm <= 0`` or non-finite, or a bad ``norm_type``.
        RuntimeError: if ``error_if_nonfinite`` and a norm is ``nan`` or ``inf``.

    Example:
        >>> a = torch.nn.Parameter(torch.zeros(2)); a.grad = torch.tensor([30.0, 40.0])
        >>> b = torch.nn.Parameter(torch.zeros(1)); b.grad = torch.tensor([0.5])
        >>> [n.item() for n in clip_grad_norm_per_param_([a, b], max_norm=1.0)]
        [50.0, 0.5]
        >>> a.grad, b.grad
        (tensor([0.6000, 0.8000]), tensor([0.5000]))
    """
    max_norm = _check_max_norm(max_norm)
    norm_type = _check_norm_type(norm_type)
    if isinstance(parameters, torch.Tensor):
        parameters = [parameters]
    return [
        clip_grad_norm_(p, max_norm, norm_type, error_if_nonfinite)
        for p in parameters
        if p.grad is not None
    ]


@torch.no_grad()
def clip_grad_value_(parameters: Parameters, clip_value: float) -> None:
    r"""Clamp every gradient entry into ``[-clip_value, clip_value]``.

    .. math::
        g_{i,j} \leftarrow \min\big(\max(g_{i,j},\, -\text{clip\_value}),\; \text{clip\_value}\big)

    Cheap and local, but it changes the direction of the gradient (large entries
    are cut, small ones kept) and ignores how many entries there are. NaN entries
    stay NaN. Same numbers as ``torch.nn.utils.clip_grad_value_``; unlike torch,
    ``clip_value`` must be > 0 (0 would silently zero every gradient).

    Args:
        parameters: A tensor or an iterable of tensors; ones whose ``grad`` is
            ``None`` are skipped.
        clip_value: The largest magnitude allowed per entry, a finite number > 0.

    Raises:
        ValueError: if ``clip_value`` is not a finite number > 0.

    Example:
        >>> w = torch.nn.Parameter(torch.zeros(3)); w.grad = torch.tensor([-5.0, 0.2, 3.0])
        >>> clip_grad_value_([w], clip_value=1.0); w.grad
        tensor([-1.0000,  0.2000,  1.0000])
    """
    clip_value = check_real(clip_value, "clip_value", low=0, low_open=True, allow_tensor=True)
    for g in _grads(parameters):
        g.clamp_(min=-clip_value, max=clip_value)


@torch.no_grad()
def clip_grad_norm_distributed_(
    parameters: Parameters,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    group: object = None,
) -> torch.Tensor:
    r"""Global-norm clipping when each rank of a process group holds a different shard of the gradients.

    With ZeRO-2 or FSDP, rank :math:`r` keeps only the gradients of its shard :math:`S_r` of the
    parameters. The norm it can compute alone is its **local** norm, and clipping by it gives
    every rank a different factor: a different update from the one process that holds the whole
    gradient (lesson 13 measures the difference). The global norm needs one number from every
    rank, the sum of its :math:`p`-th powers, added up by one all-reduce:

    .. math::
        s_r = \sum_{i \in S_r} \|g_i\|_p^{\,p}, \qquad
        \|g\|_p = \Big(\sum_r s_r\Big)^{1/p}, \qquad
        \|g\|_\infty = \max_r \max_{i \in S_r} \|g_i\|_\infty

    then every rank scales its shard by the same
    :math:`c = \min(1, \text{max\_norm} / (\|g\|_p + 10^{-6}))`, exactly as
    :func:`clip_grad_norm_` does in one process. One all-reduce of one number per step.

    The shards must be **disjoint**: every gradient entry on exactly one rank. With plain
    ``DistributedDataParallel`` every rank holds the whole (averaged) gradient; use
    :func:`clip_grad_norm_` there, since this function would count the gradient once per rank.
    FSDP2's ``DTensor`` gradients are refused (``torch.nn.utils.clip_grad_norm_`` reduces those
    itself); pass their local shards.

    Every rank of ``group`` must call it (it is a collective), also a rank whose shard holds no
    gradient. Outside a process group, it is :func:`clip_grad_norm_`.

    Args:
        parameters: this rank's shard: a tensor or an iterable of tensors; ones whose ``grad``
            is ``None`` are skipped.
        max_norm: the largest global norm allowed, a finite number > 0.
        norm_type: the p of the p-norm, >= 1, or ``math.inf``.
        error_if_nonfinite: raise ``RuntimeError`` (on every rank) if the global norm is
            ``nan`` or ``inf``.
        group: the ``torch.distributed`` process group (``None``: the default group).

    Returns:
        The global norm **before** clipping, a 0-dim float64 tensor, the same on every rank
        (float64 because a rank without gradients has no dtype to follow, and a collective
        needs one dtype on all ranks).

    Raises:
        ValueError: for ``max_norm <= 0`` or non-finite, or a bad ``norm_type``.
        TypeError: for a ``DTensor`` gradient.
        RuntimeError: if ``error_if_nonfinite`` and the global norm is ``nan`` or ``inf``.

    Example:
        >>> # on each of 2 ranks (see course_lib.distributed.run_ranks); mine = this rank's tensors
        >>> norm = clip_grad_norm_distributed_(mine, max_norm=1.0)    # doctest: +SKIP

    References:
        Rajbhandari et al., "ZeRO: Memory Optimizations Toward Training Trillion Parameter
        Models", SC 2020, https://arxiv.org/abs/1910.02054.
    """
    import torch.distributed as dist

    max_norm = _check_max_norm(max_norm)
    norm_type = _check_norm_type(norm_type)
    if not (dist.is_available() and dist.is_initialized()):
        return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite)
    grads = _grads(parameters)
    if any(type(g).__name__ == "DTensor" for g in grads):
        raise TypeError("DTensor gradients (FSDP2) are reduced by torch.nn.utils.clip_grad_norm_; "
                        "pass plain local tensors here (e.g. p.grad.to_local())")
    if dist.get_backend(group) == "nccl":        # NCCL reduces CUDA tensors only
        device = torch.device("cuda", torch.cuda.current_device())
    else:
        device = grads[0].device if grads else torch.device("cpu")
    # one float64 number per rank, whatever this rank's gradients are (or whether it has any):
    # a collective needs the same dtype on every rank
    norms = [torch.linalg.vector_norm(g, norm_type).to(device, torch.float64) for g in grads]
    local = torch.zeros((), dtype=torch.float64, device=device)
    if math.isinf(norm_type):                      # the largest entry on any rank
        if norms:
            local = torch.stack(norms).max()
        dist.all_reduce(local, op=dist.ReduceOp.MAX, group=group)
        total_norm = local
    else:                                          # s_r = sum of ||g_i||^p over my shard, summed over ranks
        if norms:
            local = (torch.stack(norms) ** norm_type).sum()
        dist.all_reduce(local, op=dist.ReduceOp.SUM, group=group)
        total_norm = local.sqrt() if norm_type == 2 else local ** (1.0 / norm_type)
    if error_if_nonfinite and not torch.isfinite(total_norm):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` (all ranks) is "
            "non-finite, so it cannot be clipped. To disable this error and scale the "
            "gradients by the non-finite norm anyway, set `error_if_nonfinite=False`"
        )
    clip_coef_clamped = torch.clamp(max_norm / (total_norm + EPS), max=1.0)   # the same on every rank
    for g in grads:
        g.mul_(clip_coef_clamped.to(g.device, g.dtype))
    return total_norm


# --------------------------------------------------------------------------- measuring


@torch.no_grad()
def snapshot_grads(parameters: Parameters) -> list[torch.Tensor]:
    """Copies of the current gradients (skipping ``None``), to compare before / after clipping.

    Example:
        >>> w = torch.nn.Parameter(torch.zeros(2)); w.grad = torch.tensor([3.0, 4.0])
        >>> before = snapshot_grads([w]); _ = clip_grad_norm_([w], 1.0)
        >>> before[0], w.grad
        (tensor([3., 4.]), tensor([0.6000, 0.8000]))
    """
    return [g.detach().clone() for g in _grads(parameters)]


@torch.no_grad()
def cosine_similarity_of_grads(
    before: Sequence[torch.Tensor], after: Sequence[torch.Tensor]
) -> float:
    r"""Cosine of the angle between two gradients, each seen as one long vector.

    .. math::
        \cos\theta = \frac{\langle u, v \rangle}{\|u\|_2 \, \|v\|_2}

    where :math:`u` and :math:`v` concatenate all tensors of ``before`` and
    ``after``. 1 means the same direction (global clipping, whatever the factor),
    less than 1 means clipping bent the update. Computed in float64 so that
    "exactly the same direction" shows as 1 to about 1e-15.

    Args:
        before: Gradient tensors, e.g. from :func:`snapshot_grads` before clipping.
        after: The same number of tensors with the same shapes, e.g. another
            snapshot after clipping.

    Returns:
        The cosine similarity as a Python float in [-1, 1].

    Raises:
        ValueError: if the two lists differ in length or shapes, are empty, or
            one of the vectors is all zeros (no direction to compare).

    Example:
        >>> round(cosine_similarity_of_grads([torch.tensor([3.0, 4.0])], [torch.tensor([0.6, 0.8])]), 12)
        1.0
        >>> round(cosine_similarity_of_grads([torch.tensor([1.0, 0.0])], [torch.tensor([1.0, 1.0])]), 6)
        0.707107
    """
    before, after = list(before), list(after)
    if not before or len(before) != len(after):
        raise ValueError(
            f"need two non-empty lists of the same length, got {len(before)} and {len(after)}"
        )
    for i, (a, b) in enumerate(zip(before, after)):
        if a.shape != b.shape:
            raise ValueError(
                f"tensor {i} has shape {tuple(a.shape)} before, {tuple(b.shape)} after"
            )
    device = before[0].device
    if device.type == "mps":  # MPS has no float64; this is a measurement, the CPU is fine
        device = torch.device("cpu")
    u = torch.cat([t.detach().reshape(-1).to(device, torch.float64) for t in before])
    v = torch.cat([t.detach().reshape(-1).to(device, torch.float64) for t in after])
    norm_u, norm_v = torch.linalg.vector_norm(u), torch.linalg.vector_norm(v)
    if norm_u == 0 or norm_v == 0:
        raise ValueError("a gradient of all zeros has no direction: cosine similarity is undefined")
    return float(torch.dot(u, v) / (norm_u * norm_v))
