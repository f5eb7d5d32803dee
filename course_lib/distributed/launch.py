"""Start N ranks from a notebook or a test, wait for their results, and leave nothing behind.

:func:`run_ranks` is what ``torchrun --nproc-per-node N`` does for a script, for one function:
it starts ``world_size`` fresh Python processes (``python -m course_lib.distributed.worker``),
each of which joins one process group and calls the function with the same arguments, and it
returns the value each rank returned, rank 0 first.

Why fresh interpreters rather than ``fork``: a Jupyter kernel has threads, and forking a process
with threads is unsafe; why not ``torch.multiprocessing.spawn``: it does not stop its children
when the waiting parent is interrupted, and it starts multiprocessing's resource tracker, a
helper process that outlives the call. Here everything the children need travels in one pickled file, results
come back the same way, and nothing but the ranks is ever started. Safety, in order:

* **No port race.** The parent hosts the rendezvous store (``torch.distributed.TCPStore``) on
  port 0: the operating system picks a free port and the store is already listening on it when
  the children are told its number. (Choosing a "free" port first and binding it later is a race
  with every other program on the machine.) Gloo and NCCL then pick their own ports the same way.
* **Every child is cleaned up**: when the function returns, when a rank raises (the others are
  stopped at once instead of waiting in a collective for a peer that is gone), when the deadline
  passes, and when the cell is interrupted (``KeyboardInterrupt``): ``terminate``, then ``kill``,
  then ``wait``, in a ``finally``, with a second interrupt held back until that is done. If the
  parent itself dies (a kernel restart), each rank notices that its parent is gone and exits.
* **Nothing reaches the notebook.** Each rank's stdout and stderr (Python warnings and the C++
  logs of gloo / NCCL) go to a log file; on a failure the error message carries the log's tail,
  from the rank that failed first (its peers fail a moment later, in a collective).
* **The same numbers as the kernel.** The ranks inherit the kernel's environment (for the stored
  lessons: ``course_lib.notebook_env``, CPU kernels pinned) and run one thread each.

Backend: ``"nccl"`` when the course device is CUDA and there is one GPU per rank, ``"gloo"``
otherwise (always on a CPU; :func:`pick_backend`).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from course_lib.validation import check_int, check_real

__all__ = ["RankError", "pick_backend", "run_ranks"]

_LOCALHOST = "127.0.0.1"
_POLL_S = 0.02          # how often the parent looks at its children
_GRACE_S = 3.0          # after terminate(), how long a child gets before kill()
_SETTLE_S = 1.0         # after a rank fails, how long to wait for its peers' errors
_LOG_TAIL = 4000        # characters of a failed rank's log shown in the error


class RankError(RuntimeError):
    """A rank raised, crashed or did not finish; the message carries its log's tail."""


def pick_backend(world_size: int) -> str:
    """``"nccl"`` when the course device is CUDA with at least ``world_size`` GPUs, else ``"gloo"``.

    The course device is :func:`course_lib.device.default_device` (``COURSE_DEVICE=cpu``, as in
    the stored lessons, forces gloo even on a GPU machine).
    """
    import torch
    import torch.distributed as dist

    from course_lib.device import default_device

    if (default_device().type == "cuda" and dist.is_nccl_available()
            and torch.cuda.device_count() >= world_size):
        return "nccl"
    return "gloo"


def _child_env(rank: int, world_size: int, port: int) -> dict[str, str]:
    import course_lib

    root = str(Path(course_lib.__file__).resolve().parents[1])   # so the child imports this course_lib
    path = os.environ.get("PYTHONPATH")
    env = dict(os.environ)
    env.update({
        "PYTHONPATH": root if not path else root + os.pathsep + path,
        "RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": str(world_size),
        "MASTER_ADDR": _LOCALHOST, "MASTER_PORT": str(port),
        "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",   # one core per rank, no oversubscription
        "PYTHONUNBUFFERED": "1", "PYTHONWARNINGS": "ignore",
        "TORCH_CPP_LOG_LEVEL": "ERROR",
    })
    return env


@contextlib.contextmanager
def _sigint_deferred():
    """Hold back Ctrl-C / Jupyter's interrupt (SIGINT) while children are started or stopped.

    A second interrupt in the middle of the cleanup would otherwise leave a rank running; it is
    raised as ``KeyboardInterrupt`` once the block is done. Only the main thread receives
    signals, so elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


def _stop(procs: Sequence[subprocess.Popen]) -> None:
    """Terminate, then kill, every child still running, and reap them all (Ctrl-C held back)."""
    with _sigint_deferred():
        _terminate(procs)


def _terminate(procs: Sequence[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + _GRACE_S
    for proc in procs:
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _log_tail(path: Path) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return text[-_LOG_TAIL:].strip() or "(the log is empty)"


def run_ranks(
    fn: Callable[..., Any],
    world_size: int = 2,
    *,
    args: Sequence[Any] = (),
    kwargs: Mapping[str, Any] | None = None,
    backend: str | None = None,
    timeout: float = 300.0,
) -> list[Any]:
    """Run ``fn(*args, **kwargs)`` on ``world_size`` ranks of one process group; return each result.

    Inside ``fn`` the process group is initialised (``torch.distributed.get_rank()``,
    ``get_world_size()``, collectives and ``DistributedDataParallel`` all work) and is destroyed
    after it returns. ``fn``, ``args``, ``kwargs`` and the results travel by pickle, so ``fn``
    must be defined in an importable module (a ``.py`` file, e.g.
    :mod:`course_lib.distributed.experiments`), not in a notebook cell; return plain data or CPU
    tensors.

    Args:
        fn: the function every rank calls.
        world_size: the number of ranks (processes), >= 1.
        args: positional arguments, the same for every rank.
        kwargs: keyword arguments, the same for every rank.
        backend: ``"gloo"`` or ``"nccl"``; ``None`` picks one (:func:`pick_backend`).
        timeout: seconds before the ranks are stopped and ``RankError`` is raised; also the
            process group's timeout for one collective.

    Returns:
        ``[result of rank 0, result of rank 1, ...]``.

    Raises:
        ValueError: for a bad argument, or an ``fn`` defined in ``__main__`` (a notebook).
        RankError: a rank raised or crashed (the message carries its log), or the timeout passed.
        KeyboardInterrupt: passed on after every rank has been stopped.

    Example:
        >>> from course_lib.distributed.experiments import whoami
        >>> run_ranks(whoami, world_size=2)        # doctest: +SKIP
        [(0, 2), (1, 2)]
    """
    import torch.distributed as dist

    world_size = check_int(world_size, "world_size", low=1)
    timeout = check_real(timeout, "timeout", low=0, low_open=True)
    if getattr(fn, "__module__", "__main__") == "__main__" or "<locals>" in getattr(fn, "__qualname__", ""):
        raise ValueError(
            "run_ranks starts fresh Python processes, which cannot see functions defined in a "
            "notebook cell or inside another function: put fn in a .py module and import it"
        )
    backend = backend or pick_backend(world_size)
    if backend not in ("gloo", "nccl"):
        raise ValueError(f"backend must be 'gloo' or 'nccl', got {backend!r}")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        store = dist.TCPStore(_LOCALHOST, 0, world_size=None, is_master=True,
                              timeout=timedelta(seconds=timeout), wait_for_workers=False)
    procs: list[subprocess.Popen] = []
    logs: list[Any] = []
    try:
        with tempfile.TemporaryDirectory(prefix="course_ranks_") as tmp:
            folder = Path(tmp)
            spec = {"fn": fn, "args": tuple(args), "kwargs": dict(kwargs or {}), "backend": backend,
                    "host": _LOCALHOST, "port": store.port, "world_size": world_size,
                    "timeout": timeout, "parent_pid": os.getpid()}
            (folder / "spec.pkl").write_bytes(pickle.dumps(spec))
            try:
                with _sigint_deferred():               # every started child is in procs
                    for rank in range(world_size):
                        log = open(folder / f"rank{rank}.log", "wb")   # closed in the finally below
                        logs.append(log)
                        procs.append(subprocess.Popen(
                            [sys.executable, "-m", "course_lib.distributed.worker", str(folder), str(rank)],
                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                            env=_child_env(rank, world_size, store.port), cwd=os.getcwd(),
                        ))
                _wait(procs, folder, timeout)
            finally:
                _stop(procs)
                for log in logs:
                    log.close()
            return [pickle.loads((folder / f"result{rank}.pkl").read_bytes())
                    for rank in range(world_size)]
    finally:
        del store


def _first_failure(folder: Path, world_size: int, failed: list[int]) -> int:
    """The rank whose function raised first (its peers then fail in a collective), else ``failed[0]``."""
    stamped = []
    for rank in range(world_size):
        try:
            stamp = float((folder / f"error{rank}.txt").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            continue
        stamped.append((stamp, rank))
    return min(stamped)[1] if stamped else failed[0]


def _wait(procs: Sequence[subprocess.Popen], folder: Path, timeout: float) -> None:
    """Return when every rank has exited with status 0; raise RankError on the first failure."""
    deadline = time.monotonic() + timeout
    while True:
        codes = [proc.poll() for proc in procs]
        failed = [rank for rank, code in enumerate(codes) if code not in (None, 0)]
        if failed:
            settle = time.monotonic() + _SETTLE_S        # let the peers' errors land too
            while time.monotonic() < settle and any(proc.poll() is None for proc in procs):
                time.sleep(_POLL_S)
            rank = _first_failure(folder, len(procs), failed)
            others = sorted({r for r, proc in enumerate(procs) if proc.poll() not in (None, 0)} - {rank})
            after = f" (then rank{'s' if len(others) > 1 else ''} {', '.join(map(str, others))})" if others else ""
            raise RankError(f"rank {rank} of {len(procs)} failed (exit status {procs[rank].poll()}){after}; "
                            f"its log ends with:\n{_log_tail(folder / f'rank{rank}.log')}")
        if all(code == 0 for code in codes):
            return
        if time.monotonic() > deadline:
            running = [rank for rank, code in enumerate(codes) if code is None]
            raise RankError(f"ranks {running} did not finish within {timeout:g} s (a rank waiting "
                            f"in a collective its peers never reached?); rank {running[0]}'s log "
                            f"ends with:\n{_log_tail(folder / f'rank{running[0]}.log')}")
        time.sleep(_POLL_S)
