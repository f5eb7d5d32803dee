r"""What data parallelism costs: bytes in memory per rank, bytes on the wire per step.

Two formulas, both counted per rank (one GPU, one process):

* :func:`zero_bytes_per_rank`: the memory of weights, gradients and optimizer state under
  ZeRO stage 0 (plain data parallelism), 1, 2 and 3, with lesson 06's accounting (float32:
  4 bytes per weight, 4 per gradient, 8 of Adam state). Stage :math:`k` shards one more of the
  three across the :math:`N` ranks.
* :func:`ring_allreduce_bytes`: what one rank sends in a ring all-reduce,
  :math:`2\,(N-1)/N` times the buffer; :func:`traffic_bytes_per_step` adds up the collectives
  of one training step for each stage, as the ZeRO paper counts them.

Example:
    >>> zero_bytes_per_rank(70e9, 8, stage=1) / 1e9        # lesson 06's table: 630 GB
    630.0
    >>> ring_allreduce_bytes(1_000_000, world_size=4, bytes_per_value=4)
    6000000.0
"""

from __future__ import annotations

from course_lib.validation import check_int, check_real

__all__ = ["ring_allreduce_bytes", "traffic_bytes_per_step", "zero_bytes_per_rank"]


def _counts(n: float, world_size: int) -> tuple[float, int]:
    return (check_real(n, "n", low=0), check_int(world_size, "world_size", low=1))


def ring_allreduce_bytes(n_values: float, world_size: int, bytes_per_value: float = 4) -> float:
    r"""Bytes one rank sends in a ring all-reduce of ``n_values`` numbers.

    .. math::
        \text{sent} = \underbrace{(N-1)\,\frac{n}{N}}_{\text{reduce-scatter}}\,b
                    + \underbrace{(N-1)\,\frac{n}{N}}_{\text{all-gather}}\,b
                    = \frac{2(N-1)}{N}\, n\, b

    The buffer is cut into :math:`N` chunks. In the reduce-scatter each rank passes one chunk
    to its neighbour :math:`N-1` times, adding what it receives, until every rank holds one
    chunk summed over all ranks; the all-gather passes the finished chunks round the ring
    :math:`N-1` more times. Every rank sends (and receives) the same amount, almost
    :math:`2nb` however many ranks there are: the ring's bandwidth cost does not grow with
    :math:`N` (its latency, :math:`2(N-1)` messages, does).

    Args:
        n_values: the numbers in the buffer (a gradient: one per parameter).
        world_size: :math:`N`, the ranks in the ring (1: nothing is sent).
        bytes_per_value: :math:`b` (4 for float32, 2 for bfloat16).

    Returns:
        Bytes sent by each rank, a float.
    """
    n, world = _counts(n_values, world_size)
    b = check_real(bytes_per_value, "bytes_per_value", low=0, low_open=True)
    return 2 * (world - 1) / world * n * b


def zero_bytes_per_rank(
    n_params: float,
    world_size: int,
    stage: int,
    *,
    weight_bytes: float = 4,
    grad_bytes: float = 4,
    state_bytes: float = 8,
) -> float:
    r"""Memory of weights, gradients and optimizer state on one rank, under ZeRO stage 0-3.

    .. math::
        \text{stage 0: } n(w + g + s) \qquad
        \text{1: } n\big(w + g + \tfrac{s}{N}\big) \qquad
        \text{2: } n\big(w + \tfrac{g + s}{N}\big) \qquad
        \text{3: } \tfrac{n(w + g + s)}{N}

    with :math:`w, g, s` the bytes per parameter of the weights, the gradients and the
    optimizer state (Adam in float32: 4, 4, 8, as lesson 06 counts them; in float64 double
    each). Stage 1 shards the optimizer state (``ZeroRedundancyOptimizer``), stage 2 the
    gradients too, stage 3 (FSDP) the weights as well. Activations and the temporary buffers
    of the collectives come on top. The formula assumes an even split: an implementation that
    hands out whole tensors (``ZeroRedundancyOptimizer``) can only come close to it.

    Args:
        n_params: :math:`n`, the model's parameters.
        world_size: :math:`N`, the data-parallel ranks.
        stage: 0 (plain data parallelism), 1, 2 or 3.
        weight_bytes: :math:`w`.
        grad_bytes: :math:`g`.
        state_bytes: :math:`s` (Adam: two values per parameter).

    Returns:
        Bytes per rank, a float.

    References:
        Rajbhandari et al., "ZeRO: Memory Optimizations Toward Training Trillion Parameter
        Models", SC 2020, https://arxiv.org/abs/1910.02054.
    """
    n, world = _counts(n_params, world_size)
    stage = check_int(stage, "stage", low=0, high=3)
    w, g, s = (check_real(v, name, low=0) for v, name in
               ((weight_bytes, "weight_bytes"), (grad_bytes, "grad_bytes"), (state_bytes, "state_bytes")))
    sharded = {0: 0.0, 1: s, 2: g + s, 3: w + g + s}[stage]
    return n * (w + g + s - sharded) + n * sharded / world


def traffic_bytes_per_step(
    n_params: float,
    world_size: int,
    stage: int,
    *,
    weight_bytes: float = 2,
    grad_bytes: float = 2,
) -> float:
    r"""Bytes one rank sends per training step for the collectives of ZeRO stage 0-3.

    .. math::
        \text{stages 0-2: } \frac{2(N-1)}{N}\, n\, g \qquad
        \text{stage 3: } \frac{N-1}{N}\, n\,(2w + g)

    Stages 0-2 move the gradient once through a ring all-reduce, or its two halves apart: a
    reduce-scatter of the gradients, each rank updating its shard, an all-gather of the
    updated weights (equal bytes when :math:`w = g`). Stage 3 gathers the weights twice
    (for the forward and again for the backward pass, since they are dropped in between) and
    reduce-scatters the gradients: 1.5 times the traffic of plain data parallelism. The
    defaults are bfloat16 weights and gradients, as in mixed-precision training.

    Args:
        n_params: :math:`n`.
        world_size: :math:`N`.
        stage: 0, 1, 2 or 3.
        weight_bytes: :math:`w`, bytes per weight as sent.
        grad_bytes: :math:`g`, bytes per gradient as sent.

    Returns:
        Bytes sent by each rank per step, a float.

    References:
        Rajbhandari et al. 2020 (see :func:`zero_bytes_per_rank`), section 7.
    """
    n, world = _counts(n_params, world_size)
    stage = check_int(stage, "stage", low=0, high=3)
    w = check_real(weight_bytes, "weight_bytes", low=0)
    g = check_real(grad_bytes, "grad_bytes", low=0)
    if stage < 3:
        return 2 * (world - 1) / world * n * g
    return (world - 1) / world * n * (2 * w + g)
