"""JupyterHub for a class on one machine, serving this course (see deploy/README.md).

Run from the course's own venv, in the course checkout, as root (real Unix accounts)::

    COURSE_HUB_PASSWORD='a-workshop-password' .venv/bin/jupyterhub -f deploy/jupyterhub_config.py

Every knob is an environment variable, so this file is used unchanged by tests/test_hub.py:

===========================  ===============================  ===========================================
variable                     default                          meaning
===========================  ===============================  ===========================================
COURSE_HUB_PASSWORD          (required)                       the workshop's shared password (>= 8 chars)
COURSE_HUB_USERS             (empty: anyone, first use)       comma-separated learner names to allow
COURSE_HUB_ADMINS            (empty)                          comma-separated admin names
COURSE_HUB_ADMIN_PASSWORD    (empty: no admin login)          admins' password (>= 32 chars)
COURSE_HUB_IP / _PORT        all interfaces / 8000            where learners connect
COURSE_HUB_STATE             /srv/course-hub                  database, cookie secret, logs
COURSE_HUB_SPAWNER           system-users                     ``system-users``: one Unix account per
                                                              learner (created at first login; the hub
                                                              runs as root); ``one-account``: every
                                                              learner runs as the hub's own user, homes
                                                              under COURSE_HUB_HOMES (no isolation)
COURSE_HUB_HOMES             <state>/homes                    (one-account only) where homes go
COURSE_HUB_MEM_LIMIT         3G (8G with torch's CUDA build)  address-space limit of each process a
                                                              learner starts (server, each kernel)
COURSE_HUB_CULL_AFTER        3600                             idle seconds before a server is stopped
COURSE_HUB_PROXY             deploy/proxy/node_modules/...    configurable-http-proxy to run
===========================  ===============================  ===========================================

What a learner gets: a JupyterLab whose file browser is ``~/course`` (the lessons at the top,
``exercises/`` beside them), with lesson 00 open. The course is copied into each home at every
server start, file by file, and a file that is already there is never overwritten, so a learner's
work survives and a lesson added to the checkout later shows up at the next start.
"""

from __future__ import annotations

import importlib.metadata
import os
import pwd
import resource
import shutil
import sys
from pathlib import Path

from jupyterhub.auth import LocalAuthenticator
from jupyterhub.authenticators.shared import SharedPasswordAuthenticator
from jupyterhub.spawner import LocalProcessSpawner, SimpleLocalProcessSpawner

c = get_config()  # noqa: F821 - provided by JupyterHub when it loads this file

COURSE = Path(os.environ.get("COURSE_ROOT", Path(__file__).resolve().parents[1]))
STATE = Path(os.environ.get("COURSE_HUB_STATE", "/srv/course-hub"))
MODE = os.environ.get("COURSE_HUB_SPAWNER", "system-users")
if MODE not in ("system-users", "one-account"):
    raise ValueError(f"COURSE_HUB_SPAWNER must be system-users or one-account, not {MODE!r}")
BIN = Path(sys.executable).parent  # the course venv this hub runs from: learners use it too
STATE.mkdir(parents=True, exist_ok=True, mode=0o700)


def _names(var: str) -> set[str]:
    return {n.strip() for n in os.environ.get(var, "").split(",") if n.strip()}


# --- where the hub listens, where it keeps its state ---------------------------------------
c.JupyterHub.ip = os.environ.get("COURSE_HUB_IP", "")
c.JupyterHub.port = int(os.environ.get("COURSE_HUB_PORT", "8000"))
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(os.environ.get("COURSE_HUB_API_PORT", "8081"))
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(STATE / "jupyterhub.pid")
# stopping the hub stops every learner's server and the proxy with it
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True

# --- the proxy: configurable-http-proxy from npm (tools/ensure_npm_packages.sh installs it) ---------
_local_proxy = COURSE / "deploy" / "proxy" / "node_modules" / ".bin" / "configurable-http-proxy"
c.ConfigurableHTTPProxy.command = [os.environ.get(
    "COURSE_HUB_PROXY", str(_local_proxy) if _local_proxy.exists() else "configurable-http-proxy")]
c.ConfigurableHTTPProxy.api_url = (
    f"http://127.0.0.1:{int(os.environ.get('COURSE_HUB_PROXY_API_PORT', '8001'))}")


# --- who can log in: one shared password for the workshop ----------------------------------
class WorkshopAuthenticator(LocalAuthenticator, SharedPasswordAuthenticator):
    """SharedPasswordAuthenticator that can also create the learner's Unix account.

    Anyone with the password can log in under any name not yet taken by an admin (or only the
    names in COURSE_HUB_USERS), and can log in as another learner: fine for a workshop on a
    throw-away machine, not for grades. For a longer course use an OAuth/LDAP authenticator.
    """


# one-account mode: no Unix accounts to check or create
c.JupyterHub.authenticator_class = (
    WorkshopAuthenticator if MODE == "system-users" else SharedPasswordAuthenticator)
c.SharedPasswordAuthenticator.user_password = os.environ["COURSE_HUB_PASSWORD"]
if os.environ.get("COURSE_HUB_ADMIN_PASSWORD"):
    c.SharedPasswordAuthenticator.admin_password = os.environ["COURSE_HUB_ADMIN_PASSWORD"]
c.Authenticator.admin_users = _names("COURSE_HUB_ADMINS")
if _names("COURSE_HUB_USERS"):
    c.Authenticator.allowed_users = _names("COURSE_HUB_USERS")
else:
    c.Authenticator.allow_all = True  # first use creates the account
# Unix account names: lower-case letters, digits, '-' and '_' only
c.Authenticator.username_pattern = r"^[a-z][a-z0-9_-]{0,30}$"
c.LocalAuthenticator.create_system_users = True
c.LocalAuthenticator.add_user_cmd = ["useradd", "--create-home", "--shell", "/bin/bash"]


# --- the spawner: local processes, the course synced into each home ------------------------
def _default_mem_limit() -> str:
    """3G with PyTorch's CPU build (largest lesson: 2.4 GB of address space); 8G with the CUDA
    build PyPI serves on Linux, whose libraries alone map 3.1 GB when torch is imported."""
    try:
        importlib.metadata.version("nvidia-cuda-runtime")
    except importlib.metadata.PackageNotFoundError:
        return "3G"
    return "8G"


def sync_course(home: Path, uid: int | None = None, gid: int | None = None) -> list[str]:
    """Copy the lessons and exercises into ``home/course``; never overwrite a file there.

    Returns the paths copied (relative to ``home/course``).
    """
    dest = home / "course"
    plan = [(p, dest / p.name) for p in sorted((COURSE / "notebooks").glob("[0-9][0-9]_*.ipynb"))]
    plan += [(p, dest / "exercises" / p.name)
             for p in sorted((COURSE / "exercises").glob("[0-9][0-9]_*.ipynb"))]
    copied = []
    for src, dst in plan:
        if dst.exists():
            continue
        for d in (dst.parent, dest):
            if not d.exists():
                d.mkdir(parents=True)
                if uid is not None:
                    os.chown(d, uid, gid)
        shutil.copyfile(src, dst)
        if uid is not None:
            os.chown(dst, uid, gid)
        copied.append(str(dst.relative_to(dest)))
    return copied


class _CourseSpawnerMixin:
    """Per-process memory limit and the course copy, shared by both spawners."""

    def _home(self) -> tuple[Path, int | None, int | None]:
        if isinstance(self, SimpleLocalProcessSpawner):
            return Path(self.home_dir), None, None
        pw = pwd.getpwnam(self.user.name)
        return Path(pw.pw_dir), pw.pw_uid, pw.pw_gid

    def make_preexec_fn(self, name):
        inner = super().make_preexec_fn(name)
        limit = int(self.mem_limit or 0)

        def preexec():
            inner()
            if limit:  # every process of the learner's server: the server itself, each kernel
                resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

        return preexec

    async def start(self):
        home, uid, gid = self._home()
        home.mkdir(parents=True, exist_ok=True)
        copied = sync_course(home, uid, gid)
        self.log.info("course sync for %s: %d new files", self.user.name, len(copied))
        return await super().start()


class CourseSpawner(_CourseSpawnerMixin, LocalProcessSpawner):
    """One real Unix account per learner (the hub runs as root)."""


class OneAccountCourseSpawner(_CourseSpawnerMixin, SimpleLocalProcessSpawner):
    """Every learner runs as the hub's user; homes are folders (no isolation between learners)."""


if MODE == "system-users":
    c.JupyterHub.spawner_class = CourseSpawner
else:
    c.JupyterHub.spawner_class = OneAccountCourseSpawner
    c.SimpleLocalProcessSpawner.home_dir_template = str(
        Path(os.environ.get("COURSE_HUB_HOMES", STATE / "homes")) / "{username}")

c.Spawner.cmd = [str(BIN / "jupyterhub-singleuser")]
c.Spawner.notebook_dir = "~/course"
c.Spawner.default_url = "/lab/tree/00_start_here.ipynb"
c.Spawner.args = [
    "--LabApp.extension_manager=readonly",  # learners do not install extensions
    # a kernel idle for 20 min is shut down (its memory comes back); the notebook stays open
    "--MappingKernelManager.cull_idle_timeout=1200",
    "--MappingKernelManager.cull_interval=120",
]
if MODE == "one-account" and os.geteuid() == 0:
    c.Spawner.args.append("--allow-root")  # the learners' servers run as the hub's user: root
c.Spawner.environment = {
    "PATH": f"{BIN}:/usr/local/bin:/usr/bin:/bin",
    # one thread per kernel: 30 learners share the cores instead of fighting over them
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "COURSE_DEVICE": "cpu",
}
# LocalProcessSpawner does not enforce mem_limit/cpu_limit itself: the mixin above turns mem_limit
# into RLIMIT_AS for each process (so a runaway kernel gets a MemoryError, not the machine);
# cpu_limit is only shown to the server (CPU_LIMIT). Real per-user cgroup limits need
# SystemdSpawner (see deploy/README.md).
c.Spawner.mem_limit = os.environ.get("COURSE_HUB_MEM_LIMIT", _default_mem_limit())
c.Spawner.cpu_limit = 1.0
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120

# --- the idle culler: stop servers nobody has used for an hour ------------------------------
c.JupyterHub.services = [{
    "name": "idle-culler",
    "command": [sys.executable, "-m", "jupyterhub_idle_culler",
                f"--timeout={int(os.environ.get('COURSE_HUB_CULL_AFTER', '3600'))}",
                "--cull-every=300"],
}]
c.JupyterHub.load_roles = [{
    "name": "idle-culler",
    "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
    "services": ["idle-culler"],
}]
