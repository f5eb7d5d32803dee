"""Run one submission in a fresh, resource-limited kernel (the grader's worker side).

A worker process (forked from a fork server whose modules were all loaded before any
learner code ran) grades one submission:

1. start a fresh IPython kernel in the bubblewrap sandbox (:mod:`~course_lib.grading.sandbox`:
   own namespaces, read-only course without the references, private tmpfs, own user id),
   with a minimal environment (no secrets), ``RLIMIT_AS`` (memory), ``RLIMIT_FSIZE``,
   ``RLIMIT_NPROC``, no core dumps, and a watchdog thread that kills the kernel's whole
   process tree when the notebook's wall-clock budget or the memory limit (RSS of the
   tree) is exceeded (:mod:`~course_lib.grading.kernel` builds the command and limits);
2. execute the notebook's code cells with nbclient (``allow_errors``: a broken cell
   does not stop later ones; a cell over its time limit is interrupted); outputs are
   counted but not kept (only errors are), so a flood of output costs nothing;
3. if the kernel is still alive, write the grading request (random nonce, result
   path, encoded case inputs) and run :mod:`course_lib.grading.harness` in it, under
   its own time budget (interrupt, then kill);
4. kill every process the kernel left behind and hand back plain data: what
   happened, the cells' errors, timings, and the harness's raw result lines, which
   the grader process parses and judges (this process judges nothing).

Linux is the supported platform (``prctl`` and rlimits); elsewhere the limits that
cannot be set are skipped and the watchdog remains.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import os
import secrets
import signal
import subprocess
import threading
import time
import warnings
from pathlib import Path
from queue import Empty
from typing import Any

import nbformat
import psutil
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

from course_lib.grading import kernel as _kernel
from course_lib.grading.kernel import (
    PR_SET_CHILD_SUBREAPER,
    PR_SET_DUMPABLE,
    PR_SET_PDEATHSIG,
    GradingKernelManager,
    kernel_env,
    kill_descendants,
    kill_tree,
    prctl,
)
from course_lib.grading.sandbox import Sandbox

try:
    import resource
except ImportError:  # Windows
    resource = None

__all__ = ["run_job", "worker_entry", "MAX_RESULT_BYTES", "Watchdog", "kernel_env", "kill_tree",
           "harden_grader_process"]

MAX_RESULT_BYTES = 32 * 2**20  # harness output read back; the rest is cut (and the cut cases fail)
MAX_ERROR_TEXT = 400


def _quiet_logger(name: str) -> logging.Logger:
    # nbclient and jupyter_client log timeouts and dead kernels at error level; the
    # grader reports those itself, in the results
    log = logging.getLogger(name)
    log.addHandler(logging.NullHandler())
    log.propagate = False
    log.setLevel(logging.CRITICAL)
    return log


def harden_grader_process() -> None:
    """Make this (trusted) process unreadable and un-ptrace-able by same-user processes.

    ``PR_SET_DUMPABLE = 0``: a kernel run without the sandbox (``--unsafe-no-sandbox``), as the
    same user, can neither attach a debugger to the grader nor read its memory through ``/proc``.
    """
    prctl(PR_SET_DUMPABLE, 0)


class GradingClient(NotebookClient):
    """nbclient with bounded memory: outputs are counted, not kept; errors are recorded."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.output_bytes = 0
        self.output_messages = 0
        self.cell_errors: list[dict] = []

    def output(self, outs, msg, display_id, cell_index):  # noqa: D401 (nbclient hook)
        self.output_messages += 1
        content = msg.get("content", {})
        if msg.get("msg_type") == "stream":
            self.output_bytes += len(content.get("text", ""))
        else:
            data = content.get("data", {})
            self.output_bytes += sum(len(v) if isinstance(v, str) else 64 for v in data.values())
        return None  # nothing is kept: the grade never depends on outputs

    def handle_comm_msg(self, outs, msg, cell_index):
        return None  # widgets: no state kept

    async def _check_raise_for_error(self, cell, cell_index, exec_reply):
        content = (exec_reply or {}).get("content", {})
        if content.get("status") == "error":
            self.cell_errors.append({
                "cell": cell_index,
                "ename": str(content.get("ename", ""))[:100],
                "evalue": str(content.get("evalue", ""))[:MAX_ERROR_TEXT],
            })


class Watchdog(threading.Thread):
    """Kills the kernel's process tree when its deadline or its memory limit is exceeded."""

    def __init__(self, pid: int, memory_bytes: int, deadline: float, interval: float = 0.25):
        super().__init__(daemon=True, name="grading-watchdog")
        self.pid, self.memory_bytes, self.deadline, self.interval = pid, memory_bytes, deadline, interval
        self.reason: str | None = None
        self.peak_rss = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self._stop_event.wait(self.interval):
            if time.monotonic() > self.deadline:
                self.fire("timeout")
                return
            rss = 0
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.Error:
                return  # the kernel is gone
            for p in procs:
                with contextlib.suppress(psutil.Error):
                    rss += p.memory_info().rss
            self.peak_rss = max(self.peak_rss, rss)
            if rss > self.memory_bytes:
                self.fire("memory")
                return

    def fire(self, reason: str) -> None:
        self.reason = reason
        kill_tree(self.pid)

    def stop(self) -> None:
        self._stop_event.set()


def _seed_matplotlib_cache(template: str | None, target: Path) -> None:
    # A private copy of a prebuilt font cache saves every kernel ~1.5 s of font scanning.
    target.mkdir(parents=True, exist_ok=True)
    if template and Path(template).is_dir():
        for f in Path(template).glob("fontlist-*.json"):
            with contextlib.suppress(OSError):
                (target / f.name).write_bytes(f.read_bytes())


async def _drain_iopub(kc) -> int:
    n = 0
    while True:
        try:
            await kc.get_iopub_msg(timeout=0)
            n += 1
        except Empty:
            return n


async def _run_harness(job: dict, client: GradingClient, io_dir: Path, watchdog: Watchdog) -> dict:
    """Send the harness into the kernel and wait for it under its own budget."""
    kc, km = client.kc, client.km
    token = secrets.token_hex(16)
    result_path = io_dir / f"result-{token}.jsonl"
    request_path = io_dir / f"request-{token}.json"
    request = dict(job["request"], nonce=job["nonce"], result_path=str(result_path))
    request_path.write_text(json.dumps(request), encoding="utf-8")
    code = ("(lambda g: (exec(compile(g.pop('__src__'), '<course-grading-harness>', 'exec'), g), "
            f"g['run']({str(request_path)!r})))"
            f"({{'__name__': '__course_grading_harness__', '__src__': {job['harness_source']!r}}})\n")
    budget = job["harness_budget"]
    deadline = time.monotonic() + budget
    watchdog.deadline = deadline + 10  # backstop: the interrupt below comes first
    msg_id = kc.execute(code, silent=True, store_history=False, allow_stdin=False, stop_on_error=False)
    if inspect.isawaitable(msg_id):
        msg_id = await msg_id
    state = "finished"
    interrupted = False
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            if interrupted:
                state = "killed"
                kill_tree(watchdog.pid)
                break
            interrupted = True
            state = "interrupted"
            with contextlib.suppress(Exception):
                await km.interrupt_kernel()
            deadline = time.monotonic() + 3
            continue
        try:
            reply = await kc.get_shell_msg(timeout=min(remaining, 0.5))
        except Empty:
            await _drain_iopub(kc)
            if not await km.is_alive():
                state = "died" if watchdog.reason is None else watchdog.reason
                break
            continue
        if reply.get("parent_header", {}).get("msg_id") == msg_id:
            content = reply.get("content", {})
            if content.get("status") == "error" and state == "finished":
                state = "error: " + f"{content.get('ename', '')}: {content.get('evalue', '')}"[:MAX_ERROR_TEXT]
            break
    await _drain_iopub(kc)
    raw, truncated = "", False
    if result_path.exists():
        with open(result_path, "rb") as f:
            data = f.read(MAX_RESULT_BYTES + 1)
        truncated = len(data) > MAX_RESULT_BYTES
        raw = data[:MAX_RESULT_BYTES].decode("utf-8", errors="replace")
    return {"ran": True, "state": state, "raw": raw, "truncated": truncated}


def _kernel_exit(km) -> str:
    with contextlib.suppress(Exception):
        code = km.provisioner.process.poll()
        if code is None:
            return "still running"
        if code > 128 and km.sandbox is not None:
            code = 128 - code  # bwrap reports its child's death by signal N as exit code 128 + N
        if code < 0:
            try:
                return f"killed by signal {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exit code {code}"
    return "unknown"


def _tail(path: Path, n: int = 1500) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - n))
            return f.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


async def run_job(job: dict) -> dict:
    """Execute one submission and run the harness; returns plain data (untrusted strings inside)."""
    t0 = time.monotonic()
    work = Path(job["work_dir"])
    io_dir = work / "io"
    io_dir.mkdir(parents=True, exist_ok=True)
    sandbox = Sandbox(**{k: (Path(v) if k == "course_root" else tuple(v) if k == "python_roots" else v)
                         for k, v in job["sandbox"].items()}) if job.get("sandbox") else None
    uid = job.get("uid") if sandbox is not None else None
    if sandbox is None:
        home = work / "home"
        home.mkdir(parents=True, exist_ok=True)
    else:
        home = Path(_kernel.SANDBOX_HOME)  # a tmpfs inside the sandbox
    job["mpl_dir"] = str(io_dir / "matplotlib")
    _seed_matplotlib_cache(job.get("mpl_cache"), io_dir / "matplotlib")
    boot_config = io_dir / "boot.json"
    boot_config.write_text(json.dumps({"forbidden": {e["grade_id"]: e.get("forbidden", [])
                                                     for e in job["request"]["exercises"]}}), encoding="utf-8")
    if uid is not None:  # the kernel writes its sockets, results and font cache here
        for path in [io_dir, io_dir / "matplotlib", *(io_dir / "matplotlib").iterdir()]:
            os.chown(path, uid, uid)
    limits = job["limits"]
    memory_bytes = int(limits["memory_mb"]) * 2**20
    nb = nbformat.reads(job["notebook"], as_version=4)
    nb.metadata.pop("kernelspec", None)  # the submission does not choose its kernel

    quiet = _quiet_logger("course_lib.grading.kernel")
    km = GradingKernelManager(transport="ipc" if os.name == "posix" else "tcp",
                              connection_file=str(io_dir / "kernel.json"), log=quiet,
                              context=_kernel.message_context())
    km.boot_config, km.sandbox, km.io_dir, km.uid = str(boot_config), sandbox, io_dir, uid
    km._kernel_spec = _kernel.kernel_spec()
    client = GradingClient(nb, km=km, allow_errors=True, timeout=limits["cell_timeout"],
                           interrupt_on_timeout=True, startup_timeout=60, iopub_timeout=4,
                           shutdown_kernel="immediate", record_timing=False, log=quiet,
                           error_on_timeout={"ename": "CellTimeoutError",
                                             "evalue": f"the cell ran longer than {limits['cell_timeout']:g} s "
                                                       "and was interrupted",
                                             "traceback": []})
    result: dict[str, Any] = {"status": "ok", "reason": "", "cells_run": 0, "timings": {},
                              "harness": {"ran": False}, "cell_errors": client.cell_errors}
    log = open(io_dir / "kernel.log", "wb")  # noqa: SIM115 (closed in finally)
    watchdog: Watchdog | None = None
    kernel_pid: int | None = None
    current_cell = None
    try:
        try:
            async with client.async_setup_kernel(
                    cleanup_kc=True, cwd=str(home if sandbox is None else io_dir), env=kernel_env(job, home),
                    stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                    preexec_fn=_kernel.preexec_for(memory_bytes, uid)):
                t_started = time.monotonic()
                result["timings"]["kernel_start"] = t_started - t0
                with contextlib.suppress(OSError, ValueError, TypeError):  # untrusted, for the benchmark only
                    tripwire = json.loads((io_dir / "boot-time.json").read_text(encoding="utf-8"))["tripwire_s"]
                    result["timings"]["tripwire"] = min(max(float(tripwire), 0.0), t_started - t0)
                kernel_pid = km.provisioner.process.pid
                watchdog = Watchdog(kernel_pid, memory_bytes, deadline=t0 + limits["timeout"])
                watchdog.start()
                try:
                    for index, cell in enumerate(client.nb.cells):
                        if cell.cell_type != "code":
                            continue
                        current_cell = index
                        await client.async_execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
                        result["cells_run"] += 1
                        if any(e["cell"] == index and e["ename"] == "CellTimeoutError"
                               for e in client.cell_errors):
                            result["status"], result["reason"] = "timeout", \
                                f"cell {index} ran longer than {limits['cell_timeout']:g} s and was interrupted"
                    current_cell = None
                    t_cells = time.monotonic()
                    result["timings"]["cells"] = t_cells - t_started
                    result["harness"] = await _run_harness(job, client, io_dir, watchdog)
                    result["timings"]["harness"] = time.monotonic() - t_cells
                except DeadKernelError:
                    why = watchdog.reason if watchdog else None
                    where = f" while running cell {current_cell}" if current_cell is not None else \
                        " while the grader was calling the exercise functions"
                    if why == "timeout":
                        result["status"] = "timeout"
                        result["reason"] = (f"the notebook ran longer than {limits['timeout']:g} s in total "
                                            f"and was stopped{where}")
                    elif why == "memory":
                        result["status"] = "crashed"
                        result["reason"] = f"the kernel used more than {limits['memory_mb']} MB and was stopped{where}"
                    else:
                        result["status"] = "crashed"
                        result["reason"] = f"the kernel died{where} ({_kernel_exit(km)})"
                    if current_cell is None:
                        result["harness"]["ran"] = True
                        result["harness"].setdefault("state", "died")
                        result["harness"].setdefault("raw", _read_partial(io_dir))
                        result["harness"].setdefault("truncated", False)
        except DeadKernelError as exc:
            result["status"], result["reason"] = "crashed", f"the kernel died ({exc})"
        except RuntimeError as exc:  # kernel failed to start / died before replying
            if result["timings"].get("kernel_start") is None:
                result["status"] = "error"
                result["reason"] = (f"the kernel did not start ({exc}); is --memory-mb "
                                    f"({limits['memory_mb']}) too low?")
            else:
                result["status"], result["reason"] = "crashed", f"the kernel died ({exc})"
    finally:
        if watchdog is not None:
            watchdog.stop()
            result["peak_rss_mb"] = round(watchdog.peak_rss / 2**20, 1)
            if watchdog.reason and result["status"] == "ok":
                result["status"] = "timeout" if watchdog.reason == "timeout" else "crashed"
                result["reason"] = ("the grader's time limit for calling the exercise functions ran out"
                                    if watchdog.reason == "timeout" else
                                    f"the kernel used more than {limits['memory_mb']} MB and was stopped")
        if kernel_pid is not None:
            kill_tree(kernel_pid)
        kill_descendants()
        log.close()
        with contextlib.suppress(Exception):
            km.context.destroy(linger=0)
    harness = result["harness"]
    if harness.get("state") == "died" and result["status"] == "ok":
        result["status"] = "crashed"
        result["reason"] = "the kernel died while the grader was calling the exercise functions"
    if harness.get("state") in ("interrupted", "killed") and result["status"] == "ok":
        result["status"] = "timeout"
        result["reason"] = (f"calling the exercise functions took longer than the grader's budget "
                            f"({job['harness_budget']:g} s) and was {harness['state']}")
    result["output"] = {"bytes": client.output_bytes, "messages": client.output_messages}
    if result["status"] in ("crashed", "error"):
        result["kernel_log_tail"] = _tail(io_dir / "kernel.log")
    result["timings"]["total"] = time.monotonic() - t0
    return result


def _read_partial(io_dir: Path) -> str:
    for path in io_dir.glob("result-*.jsonl"):
        with open(path, "rb") as f:
            return f.read(MAX_RESULT_BYTES).decode("utf-8", errors="replace")
    return ""


def _close_forkserver_alive_fd() -> None:
    from multiprocessing import forkserver

    server = getattr(forkserver, "_forkserver", None)
    fd = getattr(server, "_forkserver_alive_fd", None)
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)
        server._forkserver_alive_fd = None


def worker_entry(job_json: str, conn) -> None:
    """Entry point of a worker process: grade one job, send the result as JSON text."""
    _t_entry = time.monotonic()
    harden_grader_process()
    prctl(PR_SET_CHILD_SUBREAPER, 1)  # orphans of the kernel become ours, so we can kill them
    # The worker (and so its sandbox, --die-with-parent) dies with the fork server, which exits
    # when the grader dies: when every holder of its "alive" pipe is gone. The server hands that
    # pipe to each child it forks; a worker that kept it would keep the server, and itself, alive.
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    _close_forkserver_alive_fd()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's business
    warnings.simplefilter("ignore")  # e.g. nbformat's missing-id warnings: the report says what matters
    job = json.loads(job_json)
    try:
        result = asyncio.run(run_job(job))
    except BaseException as exc:  # never leave the parent without an answer
        result = {"status": "error", "reason": f"grader error: {type(exc).__name__}: {exc}"[:MAX_ERROR_TEXT],
                  "harness": {"ran": False}, "cell_errors": [], "timings": {}}
    finally:
        kill_descendants()
    result.setdefault("timings", {})["start_worker"] = _t_entry - job.get("launched", _t_entry)
    if resource is not None:  # this worker's own peak: a kernel must not be able to inflate it
        result["worker_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    try:
        conn.send_bytes(json.dumps(result).encode("utf-8"))
    finally:
        conn.close()
