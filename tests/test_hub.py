"""deploy/jupyterhub_config.py, started for real: a hub, its proxy, three learners, their kernels.

The hub runs from this venv on 127.0.0.1 with free ports and its state in a temp dir, using the
deploy config unchanged (plus a service token for the test). Through the hub's REST API the test
creates three learners, each logs in with the workshop's shared password (a token from
``POST /hub/api/users/NAME/tokens`` with ``auth``), starts their server, and runs lesson 01's
first cells in a kernel of their own through the proxy's websocket; the printed lines must be
the lesson's stored outputs. Then the hub gets SIGTERM, and no process it started (proxy, idle
culler, servers, kernels) may be left.

Spawner: ``one-account`` (SimpleLocalProcessSpawner), since the ``system-users`` mode needs the
venv's Python readable by other Unix accounts, and here it lives under /root (mode 700);
deploy/README.md says so. Needs configurable-http-proxy (tools/ensure_npm_packages.sh, run by
``make test``); skipped with the reason when it is missing.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import nbformat
import psutil
import pytest

ROOT = Path(__file__).resolve().parents[1]
PROXY = ROOT / "deploy" / "proxy" / "node_modules" / ".bin" / "configurable-http-proxy"
LESSON = ROOT / "notebooks" / "01_loss_functions.ipynb"
LEARNERS = ("ada", "grace", "linus")
PASSWORD = "workshop-" + secrets.token_hex(4)
FIRST_CELLS = 4

# ~60 s measured on a busy 2-core machine (three servers, three torch kernels)
pytestmark = [pytest.mark.hub, pytest.mark.timeout(400)]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Hub:
    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.state = workdir / "state"
        self.port, api_port, proxy_api = _free_port(), _free_port(), _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = secrets.token_hex(32)
        config = workdir / "test_config.py"
        config.write_text(
            "c = get_config()  # noqa\n"
            f"load_subconfig({str(ROOT / 'deploy' / 'jupyterhub_config.py')!r})\n"
            "c.JupyterHub.services.append({'name': 'course-test', 'api_token': "
            f"{self.token!r}}})\n"
            "c.JupyterHub.load_roles.append({'name': 'course-test', 'services': ['course-test'],"
            " 'scopes': ['admin:users', 'admin:servers']})\n")
        home = workdir / "hub-home"
        home.mkdir()
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("JUPYTER", "JPY_", "PYTEST_", "COV_"))}
        env.update({
            "HOME": str(home),
            "COURSE_ROOT": str(ROOT),
            "COURSE_HUB_PASSWORD": PASSWORD,
            "COURSE_HUB_IP": "127.0.0.1",
            "COURSE_HUB_PORT": str(self.port),
            "COURSE_HUB_API_PORT": str(api_port),
            "COURSE_HUB_PROXY_API_PORT": str(proxy_api),
            "COURSE_HUB_STATE": str(self.state),
            "COURSE_HUB_SPAWNER": "one-account",
            "COURSE_HUB_HOMES": str(workdir / "homes"),
            "COURSE_HUB_PROXY": str(PROXY),
        })
        self.log_path = workdir / "hub.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(config)], cwd=workdir, env=env,
            stdout=self._log, stderr=subprocess.STDOUT)

    def log_tail(self, n: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-n:]

    def request(self, path: str, method: str = "GET", body=None, token: str | None = None,
                ok=(200, 201, 202, 204)):
        headers = {"Authorization": f"token {token or self.token}"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(self.url + path, method=method, data=data, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        assert status in ok, f"{method} {path}: HTTP {status} {raw[:300]!r}\n{self.log_tail()}"
        return json.loads(raw) if raw.strip() else None

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"the hub exited early:\n{self.log_tail()}"
            try:
                self.request("/hub/api/", token=self.token)
                return
            except (urllib.error.URLError, ConnectionError, OSError, AssertionError):
                time.sleep(0.5)
        raise TimeoutError(f"the hub did not answer in {timeout:.0f} s:\n{self.log_tail()}")

    def processes(self) -> list[psutil.Process]:
        """The hub and everything it started (proxy, culler, servers, kernels)."""
        try:
            me = psutil.Process(self.proc.pid)
            return [me, *me.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()


def _ws_execute(ws, code: str) -> list[dict]:
    """Run ``code`` in the kernel behind websocket ``ws``; return its output messages."""
    msg_id = uuid.uuid4().hex
    ws.send(json.dumps({
        "header": {"msg_id": msg_id, "username": "test", "session": uuid.uuid4().hex,
                   "msg_type": "execute_request", "version": "5.3"},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": True,
                    "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
    }))
    outputs = []
    while True:
        msg = json.loads(ws.recv())
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind = msg["msg_type"]
        if kind in ("stream", "error", "execute_result", "display_data"):
            outputs.append({"output_type": kind, **msg["content"]})
        elif kind == "status" and msg["content"]["execution_state"] == "idle":
            return outputs


def _stream_text(outputs) -> str:
    return "".join(o["text"] for o in outputs
                   if o["output_type"] == "stream" and o.get("name") == "stdout")


@pytest.fixture
def hub(tmp_path):
    subprocess.run(["bash", str(ROOT / "tools" / "ensure_npm_packages.sh")], check=False)
    if not PROXY.exists():
        pytest.skip(f"{PROXY.relative_to(ROOT)} is missing: tools/ensure_npm_packages.sh needs node >= 20 "
                    "and npm (run `make test`)")
    pytest.importorskip("jupyterhub", reason="jupyterhub is not installed (the dev extra has it)")
    pytest.importorskip("websocket", reason="websocket-client is not installed")
    h = Hub(tmp_path)
    try:
        h.wait_ready()
        yield h
    finally:
        h.stop()


def test_three_learners_run_a_lesson_through_the_hub(hub, tmp_path):
    import websocket

    t0 = time.monotonic()
    lesson = nbformat.read(LESSON, as_version=4)
    cells = [c for c in lesson.cells if c.cell_type == "code"][:FIRST_CELLS]

    # 1. the learners' accounts, then each logs in with the shared password (no admin token)
    hub.request("/hub/api/users", "POST", {"usernames": list(LEARNERS)})
    tokens = {}
    for name in LEARNERS:
        hub.request(f"/hub/api/users/{name}/tokens", "POST",
                    {"auth": {"username": name, "password": "wrong-password"}}, token="-",
                    ok=(403,))
        got = hub.request(f"/hub/api/users/{name}/tokens", "POST",
                          {"auth": {"username": name, "password": PASSWORD}}, token="-")
        tokens[name] = got["token"]
        me = hub.request("/hub/api/user", token=tokens[name])
        assert me["name"] == name

    # 2. each learner starts a server with their own token
    for name in LEARNERS:
        hub.request(f"/hub/api/users/{name}/server", "POST", {}, token=tokens[name])
    deadline = time.monotonic() + 240
    for name in LEARNERS:
        while True:
            user = hub.request(f"/hub/api/users/{name}", token=tokens[name])
            server = user.get("servers", {}).get("", {})
            if server.get("ready"):
                break
            assert time.monotonic() < deadline, f"{name}'s server never got ready:\n{hub.log_tail()}"
            time.sleep(1)

    # the course was copied into each home: lesson 00 on top, the exercises beside it
    for name in LEARNERS:
        course = tmp_path / "homes" / name / "course"
        assert (course / "00_start_here.ipynb").is_file()
        assert (course / "exercises" / "01_loss_functions.ipynb").is_file()
        assert not list(course.glob("conftest.py"))

    # 3. a kernel per learner, through the proxy; lesson 01's first cells print what is stored
    running = [p for p in hub.processes()]
    cmdlines = [" ".join(p.cmdline()) for p in running if p.is_running()]
    assert any("configurable-http-proxy" in c for c in cmdlines), cmdlines
    assert any("jupyterhub_idle_culler" in c for c in cmdlines), cmdlines
    assert sum("jupyterhub-singleuser" in c for c in cmdlines) == len(LEARNERS), cmdlines
    for name in LEARNERS:
        base = f"/user/{name}/api"
        contents = hub.request(f"{base}/contents/", token=tokens[name])
        names = {item["name"] for item in contents["content"]}
        assert "00_start_here.ipynb" in names and "exercises" in names, names
        other = LEARNERS[(LEARNERS.index(name) + 1) % len(LEARNERS)]
        hub.request(f"/user/{other}/api/kernels", token=tokens[name], ok=(403, 404))
        kernel = hub.request(f"{base}/kernels", "POST", {"name": "python3"}, token=tokens[name])
        ws = websocket.create_connection(
            f"ws://127.0.0.1:{hub.port}{base}/kernels/{kernel['id']}/channels",
            header=[f"Authorization: token {tokens[name]}"], timeout=180)
        try:
            for i, cell in enumerate(cells):
                outputs = _ws_execute(ws, cell.source)
                errors = [o for o in outputs if o["output_type"] == "error"]
                assert not errors, f"{name}, cell {i}: {errors[0]['ename']}: {errors[0]['evalue']}"
                want = "".join(o.text for o in cell.outputs
                               if o.output_type == "stream" and o.name == "stdout")
                assert _stream_text(outputs) == want, (name, i)
        finally:
            ws.close()
    kernels = [p for p in hub.processes() if "ipykernel" in " ".join(p.cmdline())]
    assert len(kernels) == len(LEARNERS), [p.cmdline() for p in kernels]

    # 4. stop the hub: proxy, culler, servers and kernels go with it
    started = [(p.pid, p.create_time()) for p in hub.processes()]
    assert len(started) >= 1 + 1 + 1 + 2 * len(LEARNERS)  # hub, proxy, culler, servers, kernels
    hub.stop()
    assert hub.proc.returncode is not None
    left = []
    for pid, created in started:
        try:
            p = psutil.Process(pid)
            if p.create_time() == created and p.status() != psutil.STATUS_ZOMBIE:
                left.append(f"{pid}: {' '.join(p.cmdline())}")
        except psutil.NoSuchProcess:
            pass
    stray = [f"{p.pid}: {' '.join(p.info['cmdline'] or [])}"
             for p in psutil.process_iter(["cmdline"])
             if str(tmp_path) in " ".join(p.info["cmdline"] or [])]
    assert not left and not stray, f"left behind: {left + stray}"
    print(f"\nhub test: {time.monotonic() - t0:.0f} s for three learners (hub start not counted)")
