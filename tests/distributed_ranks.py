"""Functions the tests run on ranks with ``course_lib.distributed.run_ranks``.

They live in their own module because ranks are fresh processes that import the function by
name: tests/test_distributed.py puts this folder on the ranks' PYTHONPATH.
"""

from __future__ import annotations

import math
import time

import torch
import torch.distributed as dist
import torch.nn.functional as F

from course_lib.clipping import clip_grad_norm_distributed_
from course_lib.distributed.experiments import local_rows
from course_lib.distributed.measure import state_bytes
from course_lib.models import MLP

__all__ = [
    "clip_shards", "ddp_gradients", "fail_on_rank", "sleep_forever", "zero_adamw_param_groups",
]


def _model(sizes, state):
    model = MLP(list(sizes), device="cpu").double()
    model.load_state_dict(state)
    return model


def ddp_gradients(sizes, state, x, y):
    """The gradients DDP leaves on each rank after one backward pass on the rank's half."""
    from torch.nn.parallel import DistributedDataParallel as DDP

    model = DDP(_model(sizes, state))
    F.cross_entropy(model(local_rows(x)), local_rows(y)).backward()
    return [p.grad.clone() for p in model.module.parameters()]


def zero_adamw_param_groups(sizes, state, batches, lrs):
    """ZeroRedundancyOptimizer over course_lib's AdamW with two param groups and a changing lr.

    Returns the final weights, this rank's state bytes and, on rank 0, the consolidated state
    dict (``None`` elsewhere).
    """
    from torch.distributed.optim import ZeroRedundancyOptimizer
    from torch.nn.parallel import DistributedDataParallel as DDP

    from course_lib.optim import AdamW

    model = DDP(_model(sizes, state))
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimizer = ZeroRedundancyOptimizer(
        [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
        optimizer_class=AdamW, lr=lrs[0], betas=(0.9, 0.95))
    for (x, y), lr in zip(batches, lrs):
        for group in optimizer.param_groups:
            group["lr"] = lr                          # as a scheduler would
        optimizer.zero_grad()
        F.cross_entropy(model(local_rows(x)), local_rows(y)).backward()
        optimizer.step()
    optimizer.consolidate_state_dict(to=0)
    full = optimizer.state_dict() if dist.get_rank() == 0 else None
    return {"params": [p.detach().clone() for p in model.module.parameters()],
            "state_bytes": state_bytes(optimizer.optim), "state_dict": full}


def clip_shards(configs):
    """For each ``(shards, max_norm, norm_type)``: clip this rank's shard ``shards[rank]``.

    ``shards[r]`` is a list of gradient tensors (possibly empty). Returns, per config, the
    norm this rank got back and its clipped gradients.
    """
    out = []
    for shards, max_norm, norm_type in configs:
        params = []
        for grad in shards[dist.get_rank()]:
            p = torch.zeros_like(grad, requires_grad=True)
            p.grad = grad.clone()
            params.append(p)
        norm = clip_grad_norm_distributed_(params, max_norm, norm_type=norm_type)
        out.append((norm.clone(), [p.grad.clone() for p in params]))
    return out


def sleep_forever():
    """Never returns (the tests stop it)."""
    while True:
        time.sleep(0.1)


def fail_on_rank(bad_rank):
    """``bad_rank`` raises; the others wait in a collective for it, forever if nobody stops them."""
    if dist.get_rank() == bad_rank:
        raise ValueError(f"rank {bad_rank} gives up on purpose")
    dist.all_reduce(torch.ones(1))
    return math.nan
