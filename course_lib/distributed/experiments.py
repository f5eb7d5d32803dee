"""The code each rank runs in lesson 13, one function per experiment.

``run_ranks(fn, world_size, ...)`` (:mod:`course_lib.distributed.launch`) calls one of these on
every rank of a fresh process group; each returns plain data and CPU tensors, which come back to
the notebook as one result per rank. The notebook prints their source: they are meant to be
read, and are as short as the experiment allows.

The model is an :class:`~course_lib.models.MLP` in float64, built on every rank from the same
``state`` (a ``state_dict`` made in the notebook), so a rank starts from exactly the weights the
notebook's single-process reference starts from. A batch is split by :func:`local_rows`: with
``N`` ranks, rank ``r`` takes the ``r``-th of ``N`` equal, contiguous slices.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.distributed as dist
import torch.nn.functional as F

from course_lib.clipping import clip_grad_norm_, clip_grad_norm_distributed_
from course_lib.distributed.measure import bytes_written, state_bytes, tensor_bytes
from course_lib.models import MLP
from course_lib.optim import SGD, AdamW

__all__ = [
    "allreduce_bytes_sent",
    "average_gradients_by_hand",
    "clipping_across_ranks",
    "ddp_sgd_steps",
    "fsdp_adamw_steps",
    "in_one_group",
    "local_rows",
    "rank_device",
    "whoami",
    "zero_steps",
]

Batch = tuple[torch.Tensor, torch.Tensor]


def rank_device() -> torch.device:
    """This rank's device: its own GPU under NCCL, the CPU under gloo."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def local_rows(t: torch.Tensor) -> torch.Tensor:
    """This rank's share of a batch: rows ``r*B/N`` to ``(r+1)*B/N``, on this rank's device."""
    rank, world = dist.get_rank(), dist.get_world_size()
    if len(t) % world:
        raise ValueError(f"a batch of {len(t)} does not split into {world} equal shares")
    size = len(t) // world
    return t[rank * size:(rank + 1) * size].to(rank_device())


def in_one_group(calls: dict[str, tuple]) -> dict[str, object]:
    """Run several experiments one after the other in the same process group.

    ``calls`` maps a name to ``(fn, args)`` or ``(fn, args, kwargs)``; returns ``{name: result}``.
    Starting the ranks is the slow part (each is a fresh Python that imports PyTorch), so the
    lesson starts them once for its first three sections and runs all their experiments in order.
    Each experiment begins when every rank has finished the previous one.
    """
    results = {}
    for name, (fn, *rest) in calls.items():
        args = rest[0] if rest else ()
        kwargs = rest[1] if len(rest) > 1 else {}
        results[name] = fn(*args, **kwargs)
        dist.barrier()                           # the next experiment starts together on all ranks
    return results


def whoami() -> tuple[int, int]:
    """``(rank, world_size)``: the smallest thing a rank can report."""
    return dist.get_rank(), dist.get_world_size()


def _model(sizes: Sequence[int], state: dict) -> MLP:
    model = MLP(list(sizes), device="cpu").double()
    model.load_state_dict(state)
    return model.to(rank_device())


def _cpu(tensors) -> list[torch.Tensor]:
    return [t.detach().cpu().clone() for t in tensors]


def average_gradients_by_hand(sizes: Sequence[int], state: dict, x: torch.Tensor,
                              y: torch.Tensor) -> dict:
    """One backward pass on this rank's half of the batch, then the all-reduce written out."""
    model = _model(sizes, state)
    F.cross_entropy(model(local_rows(x)), local_rows(y)).backward()
    local = _cpu(p.grad for p in model.parameters())
    for p in model.parameters():
        dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)   # every rank now holds the sum over ranks
        p.grad /= dist.get_world_size()                  # ... and divides it into the mean
    return {"local": local, "averaged": _cpu(p.grad for p in model.parameters())}


def ddp_sgd_steps(sizes: Sequence[int], state: dict, batches: Sequence[Batch], lr: float,
                  momentum: float) -> list[list[torch.Tensor]]:
    """SGD with momentum under ``DistributedDataParallel``; the weights after every step."""
    from torch.nn.parallel import DistributedDataParallel as DDP

    model = DDP(_model(sizes, state))           # copies rank 0's weights to every rank
    optimizer = SGD(model.parameters(), lr=lr, momentum=momentum)
    after = []
    for x, y in batches:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(local_rows(x)), local_rows(y))
        loss.backward()                        # DDP all-reduces (averages) the gradients here
        optimizer.step()                       # the same step on every rank: replicas stay equal
        after.append(_cpu(model.module.parameters()))
    return after


def zero_steps(sizes: Sequence[int], state: dict, batches: Sequence[Batch], optimizer_class: type,
               settings: dict, clip: str | None = None, max_norm: float = 1.0) -> dict:
    """DDP with ``ZeroRedundancyOptimizer``: each rank keeps the optimizer state of 1/N of the tensors.

    ``optimizer_class(params, **settings)`` is the optimizer each rank runs on its shard
    (course_lib's AdamW in the lesson). ``clip`` mimics ZeRO-2, where a rank keeps only the
    gradients of the tensors it updates: the others are dropped after the backward pass, then
    the rank clips what it holds, by its own norm (``"local"``, the bug) or by the global norm
    (``"distributed"``, the fix).
    """
    from torch.distributed.optim import ZeroRedundancyOptimizer
    from torch.nn.parallel import DistributedDataParallel as DDP

    model = DDP(_model(sizes, state))
    optimizer = ZeroRedundancyOptimizer(model.parameters(), optimizer_class=optimizer_class, **settings)
    mine = [p for group in optimizer.optim.param_groups for p in group["params"]]  # my shard
    norms = []
    for x, y in batches:
        optimizer.zero_grad()
        F.cross_entropy(model(local_rows(x)), local_rows(y)).backward()
        if clip is not None:
            for p in model.parameters():
                if not any(p is q for q in mine):
                    p.grad = None                # ZeRO-2: not my shard, not my gradient
            if clip == "local":
                norms.append(clip_grad_norm_(mine, max_norm).item())
            else:
                norms.append(clip_grad_norm_distributed_(mine, max_norm).item())
        optimizer.step()                         # update my shard, then broadcast it to the others
    return {"params": _cpu(model.module.parameters()), "state_bytes": state_bytes(optimizer.optim),
            "owned_params": sum(p.numel() for p in mine), "norms": norms}


def clipping_across_ranks(sizes: Sequence[int], state: dict, batches: Sequence[Batch],
                          optimizers: dict[str, tuple[type, dict]], max_norm: float) -> dict:
    """:func:`zero_steps` with local and with distributed clipping, for each named optimizer.

    Returns ``{(name, "local" | "distributed"): zero_steps(...)}``.
    """
    return {(name, clip): zero_steps(sizes, state, batches, optimizer_class, settings, clip, max_norm)
            for name, (optimizer_class, settings) in optimizers.items()
            for clip in ("local", "distributed")}


def fsdp_adamw_steps(sizes: Sequence[int], state: dict, batches: Sequence[Batch], lr: float,
                     weight_decay: float) -> dict:
    """The same training under FSDP2 (``fully_shard``, ZeRO-3): weights, gradients and state sharded.

    Returns this rank's bytes of weights, gradients (after the last backward pass) and
    optimizer state, and the full weights at the end (gathered from the shards).
    """
    from torch.distributed.fsdp import fully_shard

    model = _model(sizes, state)
    for layer in model.net:
        if isinstance(layer, torch.nn.Linear):
            fully_shard(layer)                   # each layer's tensors split across the ranks
    fully_shard(model)
    optimizer = AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    for x, y in batches:
        optimizer.zero_grad()
        F.cross_entropy(model(local_rows(x)), local_rows(y)).backward()   # gathers, then reduce-scatters
        grad_bytes = tensor_bytes(p.grad for p in model.parameters())
        optimizer.step()                         # each rank updates its own shards
    return {"param_bytes": tensor_bytes(model.parameters()), "grad_bytes": grad_bytes,
            "state_bytes": state_bytes(optimizer),
            "params": [p.full_tensor().detach().cpu().clone() for p in model.parameters()]}


def allreduce_bytes_sent(n_values: int, group_sizes: Sequence[int]) -> dict[int, int | None]:
    """Bytes this rank writes during one all-reduce of ``n_values`` float32 numbers, per group size.

    For each size ``k`` the all-reduce runs in the group of ranks ``0..k-1`` (run with
    ``world_size = max(group_sizes)``). ``None`` where the system has no byte counter.
    """
    sent = {}
    buffer = torch.ones(n_values, dtype=torch.float32, device=rank_device())
    for size in group_sizes:
        group = dist.new_group(list(range(size)))        # every rank takes part in creating it
        if dist.get_rank() < size:
            dist.all_reduce(torch.ones(1, device=rank_device()), group=group)  # connections up
            before = bytes_written()
            dist.all_reduce(buffer, group=group)
            after = bytes_written()
            if dist.get_rank() == 0:
                sent[size] = None if before is None or dist.get_backend() == "nccl" else after - before
        dist.barrier()
    return sent
