"""One rank: ``python -m course_lib.distributed.worker FOLDER RANK`` (started by ``run_ranks``).

Reads ``FOLDER/spec.pkl`` (the function, its arguments, the backend and the rendezvous store's
address), joins the process group as rank ``RANK``, calls the function, writes what it returned
to ``FOLDER/resultRANK.pkl`` and exits 0; on an exception it writes the traceback, with the
time, to its log and to ``FOLDER/errorRANK.txt`` and exits 1. A watchdog thread exits the process (and removes ``FOLDER``) if its parent goes
away, so a rank never outlives the kernel that started it.
"""

from __future__ import annotations

import os
import pickle
import shutil
import sys
import threading
import time
import traceback
import warnings
from datetime import timedelta
from pathlib import Path

__all__ = ["main", "report_failure", "watch_parent"]


def watch_parent(parent_pid: int, folder: Path | None = None, interval: float = 0.2) -> threading.Thread:
    """Start a daemon thread that ends this process (status 3) once ``parent_pid`` is gone.

    A parent that dies without cleaning up (a kernel killed by a restart) also leaves the run's
    ``folder`` behind; the orphaned rank removes it on its way out.
    """

    def watch() -> None:
        while True:
            if os.getppid() != parent_pid:      # re-parented: the parent died
                if folder is not None:
                    shutil.rmtree(folder, ignore_errors=True)
                os._exit(3)
            time.sleep(interval)

    thread = threading.Thread(target=watch, name="watch-parent", daemon=True)
    thread.start()
    return thread


def main(argv: list[str]) -> int:
    folder, rank = Path(argv[0]), int(argv[1])
    spec = pickle.loads((folder / "spec.pkl").read_bytes())
    watch_parent(spec["parent_pid"], folder)
    warnings.filterwarnings("ignore")

    import torch
    import torch.distributed as dist

    torch.set_num_threads(1)
    timeout = timedelta(seconds=spec["timeout"])
    store = dist.TCPStore(spec["host"], spec["port"], is_master=False, timeout=timeout)
    if spec["backend"] == "nccl":
        torch.cuda.set_device(rank)
    dist.init_process_group(spec["backend"], store=store, rank=rank,
                            world_size=spec["world_size"], timeout=timeout)
    try:
        result = spec["fn"](*spec["args"], **spec["kwargs"])
    except BaseException:
        # report before anything else: tearing the process group down first would make the peers
        # fail (and report) before this rank, and could block on a peer stuck in a collective
        report_failure(folder, rank)
        sys.stderr.flush()
        os._exit(1)
    dist.destroy_process_group()
    tmp = folder / f"result{rank}.pkl.tmp"
    tmp.write_bytes(pickle.dumps(result))
    os.replace(tmp, folder / f"result{rank}.pkl")
    return 0


def report_failure(folder: Path, rank: int) -> None:
    """Print the traceback (to the log) and write it, stamped, to ``FOLDER/errorRANK.txt``.

    The stamp lets the parent name the rank that failed *first*: when one rank raises, its
    peers fail a moment later in a collective ("connection reset by peer"), which is a
    consequence, not the cause.
    """
    text = traceback.format_exc()
    print(text, file=sys.stderr)
    try:
        (folder / f"error{rank}.txt").write_text(f"{time.time()!r}\n{text}")
    except OSError:
        pass


if __name__ == "__main__":
    try:
        code = main(sys.argv[1:])
    except BaseException:           # a rank reports everything, then fails
        report_failure(Path(sys.argv[1]), int(sys.argv[2]))
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)                  # skip interpreter teardown: no stray thread can hang the exit
