"""The sandbox every grading kernel runs in: bubblewrap (``bwrap``, Debian's ``bubblewrap``).

Why bubblewrap: it is a small, maintained, setuid-free tool (Flatpak's sandbox) that builds a
fresh set of namespaces from a command line, so the whole policy is the argument list below.
nsjail would do as well but is not packaged in Debian 12; a per-user systemd scope needs a
running systemd (not there in containers) and hides nothing of the file system.

What a kernel gets (see :func:`command`):

* its own PID, network (loopback only), IPC, UTS and mount namespaces (and cgroup namespace
  where the kernel has one); ``--die-with-parent``: when its worker dies, everything in the
  sandbox dies with it, and when the sandbox's init dies the kernel kills every process of the
  PID namespace, so nothing outlives it (no race with a process that forks and exits in a loop);
* a file system of read-only binds only: ``/usr`` (and the ``/bin``, ``/lib`` links), the few
  files of ``/etc`` that programs read, the Python installation, the venv, and the course's
  ``course_lib`` package WITHOUT ``course_lib/exercises/specs`` (the reference
  implementations); never the output folder, the submissions, ``solutions/``, the tests, the
  grader's temporary files or other kernels' folders;
* nothing else writable: the sandbox's root (where bwrap makes the folders above each bind) is
  remounted read-only once built, whatever user the grader runs as;
* a private, size-limited tmpfs as ``/tmp`` (also ``HOME``) and as ``/dev/shm``, gone with the
  sandbox; its own folder for the kernel's connection sockets and the result file (read-write);
* when the grader runs as root: an unprivileged user id of its own (one per running kernel,
  from :class:`UidPool`), all capabilities dropped and ``no_new_privs`` set (util-linux's
  ``setpriv``), so ``RLIMIT_NPROC`` (set by the worker) bounds the processes and threads of
  that kernel alone. When the grader is not root, bwrap runs in a user namespace instead and
  the kernel keeps the grader's user id (RLIMIT_NPROC is then counted per user namespace on
  Linux >= 5.14).

Why not a cgroup for the process and memory limits: on this kind of host (cgroup v1 and v2
mixed, the memory hierarchy owned by the hosting environment) creating cgroups needs root and
host-specific paths; ``RLIMIT_NPROC`` per user id plus the PID namespace give the process limit
everywhere bubblewrap runs, and memory is bounded per process by ``RLIMIT_AS`` and for the
whole tree by the worker's RSS watchdog.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["Sandbox", "SandboxUnavailable", "UidPool", "find_bwrap", "probe", "self_check",
           "UID_BASE", "UID_POOL_SIZE"]

UID_BASE = 1_500_000_000  # far above any login or system account; no passwd entry needed
UID_POOL_SIZE = 512
SCRATCH_MB = 512  # /tmp (= HOME) of a kernel
SHM_MB = 64

# what programs in /etc read: the loader cache, time zone, user and group names
_ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "passwd", "group", "nsswitch.conf",
        "alternatives")


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create namespaces here."""


BWRAP_ENV = "COURSE_GRADING_BWRAP"  # another bwrap binary (tests set a missing one)


def find_bwrap() -> str | None:
    if os.environ.get(BWRAP_ENV):
        path = os.environ[BWRAP_ENV]
        return path if os.access(path, os.X_OK) else None
    return shutil.which("bwrap") or next((p for p in ("/usr/bin/bwrap", "/bin/bwrap") if os.access(p, os.X_OK)),
                                         None)


def _is_root() -> bool:
    return os.geteuid() == 0


@dataclasses.dataclass(frozen=True)
class Sandbox:
    """How to wrap a kernel's command: the bwrap binary and the paths it must see."""

    bwrap: str
    course_root: Path  # the folder that holds course_lib/
    python_roots: tuple[str, ...]  # the Python installation and the venv, read-only
    setpriv: str | None  # util-linux's setpriv, used when the grader is root
    prlimit: str | None = None  # util-linux's prlimit, for the process limit when the grader is not root

    @classmethod
    def create(cls, course_root: Path) -> Sandbox:
        bwrap = find_bwrap()
        if bwrap is None:
            raise SandboxUnavailable("bubblewrap (bwrap) is not installed")
        setpriv = None
        if _is_root():
            setpriv = shutil.which("setpriv")
            if setpriv is None:
                raise SandboxUnavailable("setpriv (util-linux) is missing: it is needed to run kernels "
                                         "as an unprivileged user when the grader runs as root")
        roots = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix,
                                               sys.base_exec_prefix)}
        roots.add(os.path.realpath(os.path.dirname(os.path.realpath(sys.executable))))
        venv = Path(sys.executable).absolute().parent.parent
        if (venv / "pyvenv.cfg").is_file():  # sys.prefix does not name it when site did not run (-S)
            roots.update({str(venv), os.path.realpath(venv)})
        roots.add(os.path.abspath(sys.prefix))
        # a root inside another root is covered by the outer bind
        kept = sorted(r for r in roots if not any(r != o and r.startswith(o + os.sep) for o in roots))
        kept = [r for r in kept if r != "/usr" and not r.startswith("/usr/")]
        return cls(bwrap, Path(course_root).resolve(), tuple(kept), setpriv, shutil.which("prlimit"))

    # ------------------------------------------------------------ the command line

    def _course_binds(self) -> list[str]:
        """course_lib, entry by entry, leaving out ``exercises/specs`` (the references)."""
        package = self.course_root / "course_lib"
        args: list[str] = []

        def bind_children(folder: Path, skip: set[str]) -> None:
            for entry in sorted(folder.iterdir()):
                if entry.name in skip or entry.is_symlink():
                    continue
                args.extend(["--ro-bind", str(entry), str(entry)])

        # course_lib is a tmpfs of its own, read-only once its entries are bound in (below): the
        # course may live under /tmp, which is the kernel's writable scratch tmpfs in here
        args += ["--perms", "0755", "--size", str(2**20), "--tmpfs", str(package)]
        bind_children(package, {"exercises"})
        args += ["--perms", "0755", "--dir", str(package / "exercises")]
        bind_children(package / "exercises", {"specs"})
        specs = package / "exercises" / "specs"
        if any(str(package).startswith(root + os.sep) for root in self.python_roots):
            # course_lib installed inside the Python environment, whose bind shows everything:
            # cover the specs with an empty read-only folder
            args += ["--tmpfs", str(specs), "--remount-ro", str(specs)]
        args += ["--remount-ro", str(package)]  # not recursive: the binds in it were read-only already
        return args

    def command(self, inner: list[str], *, io_dir: Path, uid: int | None, cwd: str = "/tmp",
                max_processes: int | None = None) -> list[str]:
        """``inner`` (the kernel's command) wrapped in bwrap; ``io_dir`` is the only host folder
        the kernel can write (bound at the same path, so the connection file's socket paths hold).
        ``uid``: the kernel's user id when the grader is root (the worker sets RLIMIT_NPROC before
        bwrap starts); otherwise ``max_processes`` is set inside the sandbox's user namespace,
        where Linux (>= 5.14) counts only the sandbox's processes."""
        args = [self.bwrap, "--die-with-parent", "--new-session",
                "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
        if uid is None:  # not root: bwrap needs a user namespace to do the rest
            args += ["--unshare-user", "--disable-userns"]
        # the private mounts first, so that binds below /tmp (the io folder) land on top of them
        args += ["--proc", "/proc", "--dev", "/dev",
                 "--perms", "1777", "--size", str(SHM_MB * 2**20), "--tmpfs", "/dev/shm",
                 "--perms", "1777", "--size", str(SCRATCH_MB * 2**20), "--tmpfs", "/tmp",
                 "--ro-bind", "/usr", "/usr"]
        for link in ("bin", "lib", "lib32", "lib64", "libx32", "sbin"):
            path = Path("/") / link
            if path.is_symlink():
                args += ["--symlink", os.readlink(path), str(path)]
            elif path.is_dir():
                args += ["--ro-bind", str(path), str(path)]
        for name in _ETC:
            args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
        made: set[str] = {"/tmp", "/usr", "/dev", "/proc"}
        for root in (*self.python_roots, str(io_dir), str(self.course_root / "course_lib")):
            # the parents of each bind as world-traversable folders: bwrap would copy the host's
            # modes (/root is 0700, and an unprivileged kernel could not reach a venv under it)
            parts = Path(root).parts
            for i in range(2, len(parts)):
                parent = str(Path(*parts[:i]))
                if parent not in made:
                    made.add(parent)
                    args += ["--perms", "0755", "--dir", parent]
        for root in self.python_roots:
            args += ["--ro-bind", root, root]
        args += self._course_binds()
        # Everything bwrap created on its root tmpfs (the folders above each bind, course_lib and
        # exercises/ themselves) read-only. Without it, a grader that is not root (bwrap in a user
        # namespace, the kernel with the grader's uid) owns those folders, and a kernel could add
        # files beside the course's modules: private to its sandbox, but a write the policy says
        # it cannot make. /tmp, /dev/shm and the io folder are mounts of their own and stay
        # writable (--remount-ro is not recursive).
        args += ["--bind", str(io_dir), str(io_dir), "--remount-ro", "/", "--chdir", cwd, "--"]
        if uid is not None:
            args += [self.setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--no-new-privs",
                     "--inh-caps=-all", "--bounding-set=-all", "--"]
        elif max_processes and self.prlimit:
            args += [self.prlimit, f"--nproc={max_processes}:{max_processes}", "--"]
        # No inner `sh -c`: the kernel's "exit 1 with no output" without one (sandboxing notes)
        # was ipykernel's parent poller, which takes a parent of pid 1 (the namespace's init)
        # for a dead parent; kernel_boot switches that poller off instead.
        return [*args, *inner]


# ---------------------------------------------------------------- one user id per running kernel


class UidPool:
    """Unprivileged user ids for kernels, one per running kernel, across concurrent graders.

    A user id is claimed by holding an ``flock`` on its lock file (released by the kernel if the
    grader dies), and only ids without a passwd entry are used. Why not one shared user such as
    ``nobody``: ``RLIMIT_NPROC`` counts per user id, so a fork bomb in one kernel would starve
    the others (and any other service running as ``nobody``).
    """

    def __init__(self, lock_dir: Path, base: int = UID_BASE, size: int = UID_POOL_SIZE):
        self.lock_dir, self.base, self.size = Path(lock_dir), base, size
        self.lock_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._held: dict[int, int] = {}  # uid -> fd

    def claim(self) -> int:
        for uid in range(self.base, self.base + self.size):
            if uid in self._held:
                continue
            with contextlib.suppress(KeyError):
                pwd.getpwuid(uid)
                continue  # a real account: never borrow it
            fd = os.open(self.lock_dir / f"uid-{uid}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            self._held[uid] = fd
            return uid
        raise SandboxUnavailable(f"no free sandbox user id in {self.base}..{self.base + self.size - 1}")

    def release(self, uid: int | None) -> None:
        fd = self._held.pop(uid, None) if uid is not None else None
        if fd is not None:
            os.close(fd)


# ---------------------------------------------------------------- checks before grading


def probe(sandbox: Sandbox, scratch: Path) -> None:
    """Run ``true`` in the exact sandbox the kernels get; raise :class:`SandboxUnavailable`
    with bwrap's own message when it cannot (e.g. no user namespaces in a container)."""
    io_dir = scratch / "probe"
    io_dir.mkdir(parents=True, exist_ok=True)
    uid = None
    if _is_root():
        uid = UID_BASE + UID_POOL_SIZE  # just past the pool: nobody else uses it, the probe is brief
        os.chown(io_dir, uid, uid)
    cmd = sandbox.command(["true"], io_dir=io_dir, uid=uid)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SandboxUnavailable(f"bwrap could not run: {exc}") from None
    finally:
        shutil.rmtree(io_dir, ignore_errors=True)
    if proc.returncode != 0:
        raise SandboxUnavailable(f"bwrap failed (exit {proc.returncode}): {proc.stderr.strip()[:500]}")


SELF_CHECK = """\
import importlib.util, json, os, sys
import course_lib
try:
    spec = importlib.util.find_spec("course_lib.exercises.specs")
    specs = spec is not None and bool(spec.origin or any(os.listdir(p) for p in spec.submodule_search_locations or []))
except Exception:
    specs = False
print(json.dumps({"course_lib": course_lib.__file__, "specs": specs, "uid": os.getuid(),
                  "solutions": os.path.exists(sys.argv[1])}))
"""


def self_check(sandbox: Sandbox, scratch: Path, env: dict[str, str], solutions: Path) -> dict:
    """Import ``course_lib`` inside the sandbox as a kernel would and check that it is the bound
    package (not one found through an editable install's finder), that the specs are absent,
    and that ``solutions/`` is invisible. Raises :class:`SandboxUnavailable` otherwise."""
    io_dir = scratch / "self-check"
    io_dir.mkdir(parents=True, exist_ok=True)
    uid = None
    if _is_root():
        uid = UID_BASE + UID_POOL_SIZE
        os.chown(io_dir, uid, uid)
    cmd = sandbox.command([sys.executable, "-c", SELF_CHECK, str(solutions)], io_dir=io_dir, uid=uid)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SandboxUnavailable(f"the sandbox self-check could not run: {exc}") from None
    finally:
        shutil.rmtree(io_dir, ignore_errors=True)
    import json

    try:
        found = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise SandboxUnavailable("the sandbox self-check failed: "
                                 f"{(proc.stderr or proc.stdout).strip()[-500:]}") from None
    expected = str(sandbox.course_root / "course_lib" / "__init__.py")
    problems = []
    if found.get("course_lib") != expected:
        problems.append(f"the kernel imported course_lib from {found.get('course_lib')}, not {expected}")
    if found.get("specs"):
        problems.append("the exercise specs (reference implementations) are importable in the sandbox")
    if found.get("solutions"):
        problems.append(f"{solutions} is visible in the sandbox")
    if uid is not None and found.get("uid") != uid:
        problems.append(f"the kernel runs as uid {found.get('uid')}, not {uid}")
    if problems:
        raise SandboxUnavailable("the sandbox self-check failed: " + "; ".join(problems))
    return found
