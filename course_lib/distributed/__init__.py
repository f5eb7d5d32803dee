"""Training on several processes: start the ranks, count what they hold and what they send.

Lesson 13 ("beyond one machine") runs real ``torch.distributed`` process groups from a notebook:

* :func:`run_ranks` (:mod:`~course_lib.distributed.launch`) starts N ranks, runs one function on
  each and returns their results; it chooses a free port without a race, keeps the ranks' output
  out of the notebook, and stops every rank when the call ends, fails or is interrupted.
  ``gloo`` on a CPU, ``nccl`` with one GPU per rank (:func:`pick_backend`).
* :mod:`~course_lib.distributed.experiments`: the functions the lesson runs on the ranks
  (gradients averaged by hand, ``DistributedDataParallel``, ``ZeroRedundancyOptimizer`` over
  course_lib's AdamW, FSDP2, the bytes of an all-reduce).
* :mod:`~course_lib.distributed.measure`: bytes of tensors and optimizer state on a rank, bytes
  a process has sent.
* :mod:`~course_lib.distributed.costs`: the formulas, ZeRO memory per rank and ring all-reduce
  traffic.

Clipping when the gradients are sharded is :func:`course_lib.clipping.clip_grad_norm_distributed_`.
"""

from course_lib.distributed.costs import (
    ring_allreduce_bytes,
    traffic_bytes_per_step,
    zero_bytes_per_rank,
)
from course_lib.distributed.launch import RankError, pick_backend, run_ranks
from course_lib.distributed.measure import bytes_written, state_bytes, tensor_bytes

__all__ = [
    "RankError",
    "bytes_written",
    "pick_backend",
    "ring_allreduce_bytes",
    "run_ranks",
    "state_bytes",
    "tensor_bytes",
    "traffic_bytes_per_step",
    "zero_bytes_per_rank",
]
