"""Starting one grading kernel: its command, environment, limits and kernel manager.

Used by the worker (:mod:`course_lib.grading.runner`). The kernel's command is fixed here,
never read from a kernel spec or from the submission: ``python -m
course_lib.grading.kernel_boot`` (which arms the forbidden-shortcut tripwire, then starts
ipykernel), wrapped in the bubblewrap sandbox of :mod:`course_lib.grading.sandbox` unless the
instructor chose ``--unsafe-no-sandbox``.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
from pathlib import Path

import psutil
import zmq
import zmq.asyncio
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager

from course_lib.grading.sandbox import Sandbox

try:
    import resource
except ImportError:  # Windows
    resource = None

__all__ = ["GradingKernelManager", "kernel_env", "kill_tree", "kill_descendants", "prctl",
           "MAX_MESSAGE_BYTES", "KERNEL_FILE_LIMIT", "MAX_PROCESSES", "SANDBOX_HOME"]

KERNEL_FILE_LIMIT = 256 * 2**20  # RLIMIT_FSIZE for the kernel: no file over 256 MiB
MAX_PROCESSES = 256  # RLIMIT_NPROC: processes and threads of one kernel's user id
# A message from the kernel larger than this is dropped by ZeroMQ before it reaches the worker
# (a huge image output would otherwise be decoded in the worker, outside every limit).
MAX_MESSAGE_BYTES = 32 * 2**20
SANDBOX_HOME = "/tmp"  # the kernel's private, size-limited tmpfs

PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_CHILD_SUBREAPER = 1, 4, 36


def _load_libc():
    # loaded once, at import: the kernel's preexec hook must not dlopen between fork and exec
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


_LIBC = _load_libc()


def prctl(option: int, value: int) -> bool:
    if _LIBC is None:
        return False
    try:
        return _LIBC.prctl(option, value, 0, 0, 0) == 0
    except AttributeError:
        return False


def _preexec(memory_bytes: int, sandboxed_uid: int | None) -> None:
    # Runs in the kernel's process between fork and exec (bwrap, or the kernel itself): no
    # Python objects shared. The limits are inherited by everything the sandbox starts.
    if resource is not None:
        limits = [(resource.RLIMIT_AS, memory_bytes), (resource.RLIMIT_FSIZE, KERNEL_FILE_LIMIT),
                  (resource.RLIMIT_CORE, 0)]
        if sandboxed_uid is not None:
            # counted per user id; the kernel gets a user id of its own (sandbox.UidPool)
            limits.append((resource.RLIMIT_NPROC, MAX_PROCESSES))
        for limit, value in limits:
            with contextlib.suppress(ValueError, OSError):
                resource.setrlimit(limit, (value, value))
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # the kernel (or bwrap) dies with its worker


def preexec_for(memory_bytes: int, uid: int | None):
    return lambda: _preexec(memory_bytes, uid)


def message_context() -> zmq.asyncio.Context:
    """A ZeroMQ context whose sockets refuse messages over :data:`MAX_MESSAGE_BYTES`."""
    context = zmq.asyncio.Context()
    context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
    context.setsockopt(zmq.LINGER, 0)  # the worker's exit never waits for a dead kernel
    return context


class GradingKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel command is fixed here, never read from a kernel spec
    or from the submission's metadata."""

    boot_config: str = ""
    sandbox: Sandbox | None = None
    io_dir: Path | None = None
    uid: int | None = None

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        inner = [sys.executable, "-Xfrozen_modules=off", "-m", "course_lib.grading.kernel_boot", self.boot_config,
                 "-f", os.path.realpath(self.connection_file),
                 "--HistoryManager.enabled=False", "--IPKernelApp.log_level=ERROR"]
        if self.sandbox is None:
            return inner
        return self.sandbox.command(inner, io_dir=self.io_dir, uid=self.uid, cwd=SANDBOX_HOME,
                                    max_processes=MAX_PROCESSES)

    def client(self, **kwargs):
        # the client's sockets (iopub, shell, ...) from this manager's context, so that they get its
        # message-size limit; jupyter_client would give the client a fresh context
        kwargs.setdefault("context", self.context)
        return super().client(**kwargs)

    def write_connection_file(self, **kwargs) -> None:
        super().write_connection_file(**kwargs)
        if self.uid is not None:  # written 0600 by jupyter_client: the kernel's user must read it
            os.chown(self.connection_file, self.uid, self.uid)


def kernel_spec() -> KernelSpec:
    # interrupts as messages: a SIGINT to the kernel's process group would reach bwrap, not
    # the kernel (which runs in its own session inside the sandbox)
    return KernelSpec(argv=[], display_name="grading", language="python", interrupt_mode="message")


def kernel_env(job: dict, home: Path | str) -> dict[str, str]:
    """A minimal environment: nothing from the grader's environment but locale and PATH."""
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ")}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", os.defpath)])
    env.setdefault("LANG", "C.UTF-8")
    threads = str(job["limits"]["threads"])
    env.update({
        "HOME": str(home), "TMPDIR": str(home), "USERPROFILE": str(home), "USER": "learner",
        "LOGNAME": "learner",
        "PYTHONPATH": os.pathsep.join(job["python_path"]),
        "PYTHONNOUSERSITE": "1", "PYTHONDONTWRITEBYTECODE": "1",
        "MPLCONFIGDIR": str(job["mpl_dir"]) if job.get("mpl_dir") else str(Path(home) / ".matplotlib"),
        "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads,
        "MALLOC_ARENA_MAX": "2",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1", "JUPYTER_PLATFORM_DIRS": "1",
        "COURSE_GRADING": "1",  # course_lib.exercises.core.GRADING_ENV: inline checks step aside
    })
    return env


def kill_tree(pid: int) -> None:
    """SIGKILL a process, its process group and all its descendants. For a sandboxed kernel
    ``pid`` is bwrap's: its death takes the sandbox's PID namespace, and everything in it, along."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        procs = []
    with contextlib.suppress(OSError):
        group = os.getpgid(pid)
        if group != os.getpgrp():  # the kernel leads its own session; never signal our own group
            os.killpg(group, signal.SIGKILL)
    for p in procs:
        with contextlib.suppress(psutil.Error):
            p.kill()


def kill_descendants() -> None:
    """Kill every descendant of this process (with the subreaper flag set, that includes
    processes a kernel daemonised)."""
    with contextlib.suppress(psutil.Error):
        for p in psutil.Process().children(recursive=True):
            with contextlib.suppress(psutil.Error):
                p.kill()
