"""Count what a rank holds and what it sends: bytes of tensors, of optimizer state, on the wire.

Memory is counted from the tensors themselves (``numel() * element_size()``), so the numbers are
exact and the same on every run. For a sharded tensor (FSDP2's ``DTensor``) only this rank's
local shard is counted: that is what occupies this rank's memory.

What a process has sent is read from the operating system (Linux: ``wchar`` in
``/proc/self/io``, every byte written through ``write``-like calls, sockets included), which is
how the lesson checks the ring all-reduce formula against what gloo really sends.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

__all__ = ["bytes_written", "local_tensor", "state_bytes", "tensor_bytes"]


def local_tensor(t: torch.Tensor) -> torch.Tensor:
    """The part of ``t`` stored on this rank: ``t.to_local()`` for a ``DTensor``, else ``t``."""
    return t.to_local() if hasattr(t, "to_local") else t


def tensor_bytes(tensors: Iterable[torch.Tensor]) -> int:
    """Bytes held by ``tensors`` on this rank (local shards of ``DTensor``s)."""
    return sum(local_tensor(t).numel() * t.element_size() for t in tensors)


def state_bytes(optimizer: torch.optim.Optimizer) -> int:
    """Bytes of every tensor in ``optimizer.state`` on this rank (``m``, ``v``, step counters).

    For ``ZeroRedundancyOptimizer`` pass its local optimizer, ``zero.optim``: that is the state
    this rank keeps.
    """
    return tensor_bytes(v for state in optimizer.state.values() for v in state.values()
                        if isinstance(v, torch.Tensor))


def bytes_written() -> int | None:
    """Bytes this process has written so far (files and sockets), or ``None`` if not countable.

    Reads ``wchar`` from ``/proc/self/io`` (Linux). Take the difference around a collective to
    count what it sent; on other systems, and for GPU collectives (NCCL moves data without
    ``write`` calls), there is no such counter and the answer is ``None``.
    """
    try:
        with open("/proc/self/io") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key == "wchar":
                    return int(value)
    except OSError:
        return None
    return None
