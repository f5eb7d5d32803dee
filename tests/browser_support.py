"""Drive a real JupyterLab in headless Chromium (helpers for tests/test_browser.py).

What works here (JupyterLab 4.6, ipywidgets 8.1, Playwright 1.65, Debian's chromium):

* the server runs from this venv on 127.0.0.1, a free port and a random token, with HOME,
  JUPYTER_*, IPYTHONDIR and MPLCONFIGDIR in a temp dir, serving a temp copy of the lessons;
  it is stopped with SIGTERM to its own PID (it shuts its kernels down);
* the browser is Debian's ``/usr/bin/chromium`` (Playwright's own download does not work
  here), with a fresh profile, and every request that is not to the local server is aborted;
* "kernel idle" needs BOTH the toolbar indicator and the status bar: the indicator says idle
  for a moment before the kernel exists, and a Run All sent then does nothing.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from course_lib.notebook_env import NOTEBOOK_ENV

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "LabServer", "LabPage", "free_port", "explorer_notebook",
           "ExpectedMove", "start_expected_move"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LabServer:
    """A JupyterLab server on a temp copy of some notebooks; ``stop()`` ends it with SIGTERM."""

    def __init__(self, workdir: Path, notebooks: list[Path], *, trees: tuple[Path, ...] = (),
                 start_timeout: float = 60.0, user_settings: bool = True):
        self.workdir = Path(workdir)
        self.root = self.workdir / "root"
        self.home = self.workdir / "home"
        self.root.mkdir(parents=True)
        self.home.mkdir(parents=True)
        for nb in notebooks:
            shutil.copy2(nb, self.root / nb.name)
        for tree in trees:  # whole folders (a lesson folder with its jupytext.toml and src/)
            shutil.copytree(tree, self.root / tree.name, ignore=shutil.ignore_patterns(".*"))
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("JUPYTER", "JPY_", "PYTEST_", "COV_"))}
        env.update(NOTEBOOK_ENV)
        env.update({
            "HOME": str(self.home),
            "JUPYTER_CONFIG_DIR": str(self.home / "jupyter_config"),
            "JUPYTER_DATA_DIR": str(self.home / "jupyter_data"),
            "JUPYTER_RUNTIME_DIR": str(self.home / "jupyter_runtime"),
            "IPYTHONDIR": str(self.home / "ipython"),
            "MPLCONFIGDIR": str(self.home / "mpl"),
            "JUPYTER_PLATFORM_DIRS": "1",
        })
        # no "news" pop-up and no update check: nothing to fetch from outside, nothing in the way
        # (user_settings=False: only what the course ships in deploy/lab/, as `make lab` has it)
        if user_settings:
            settings = self.home / "jupyter_config" / "lab" / "user-settings" / "@jupyterlab" / \
                "apputils-extension"
            settings.mkdir(parents=True)
            (settings / "notification.jupyterlab-settings").write_text(
                json.dumps({"fetchNews": "false", "checkForUpdates": False}))
        self.log_path = self.workdir / "server.log"
        cmd = [
            sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={self.port}",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.token={self.token}",
            f"--ServerApp.root_dir={self.root}", "--ServerApp.port_retries=0",
            "--LabApp.extension_manager=readonly", "--ServerApp.open_browser=False",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(cmd, cwd=self.root, env=env, stdout=self._log,
                                     stderr=subprocess.STDOUT)
        try:
            self._wait_ready(start_timeout)
        except BaseException:
            self.stop()
            raise

    def api(self, path: str, method: str = "GET", body: dict | None = None):
        headers = {"Authorization": f"token {self.token}"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(f"{self.url}/api/{path}", method=method, data=data,
                                     headers=headers)
        with urllib.request.urlopen(req, timeout=10) as resp:
            body = resp.read()
        return json.loads(body) if body else None

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited early:\n{self.log_tail()}")
            try:
                self.api("status")
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                time.sleep(0.3)
        raise TimeoutError(f"JupyterLab did not answer in {timeout:.0f} s:\n{self.log_tail()}")

    def delete_sessions(self) -> None:
        """Shut down every kernel session, so the next page load starts a fresh kernel."""
        for session in self.api("sessions") or []:
            try:
                self.api(f"sessions/{session['id']}", method="DELETE")
            except urllib.error.URLError:
                pass

    def notebook_url(self, name: str) -> str:
        return f"{self.url}/lab/tree/{name}?token={self.token}&reset"

    def log_tail(self, n: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()


class LabPage:
    """A JupyterLab notebook tab in Playwright, with the waits that make it reliable."""

    CELL = ".jp-NotebookPanel .jp-Notebook .jp-Cell"

    def __init__(self, page, server: LabServer):
        self.page = page
        self.server = server

    def open(self, name: str, timeout_ms: int = 90_000) -> None:
        self.page.goto(self.server.notebook_url(name), wait_until="domcontentloaded",
                       timeout=timeout_ms)
        self.page.wait_for_selector(self.CELL, timeout=timeout_ms)

    def wait_kernel_idle(self, timeout_ms: int = 90_000) -> None:
        """Wait until the toolbar indicator AND the status bar say the kernel is idle."""
        self.page.wait_for_function(
            """() => {
                const ind = document.querySelector('.jp-Notebook-ExecutionIndicator');
                const idle = ind && ind.getAttribute('data-status') === 'idle';
                const bar = [...document.querySelectorAll('.jp-StatusBar-TextItem')]
                    .some(e => /\\(ipykernel\\)\\s*\\|\\s*Idle/i.test(e.textContent)
                               || /Python 3.*\\|\\s*Idle/i.test(e.textContent));
                return idle && bar;
            }""",
            timeout=timeout_ms,
        )

    def run_all(self) -> None:
        self.page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).first.click()
        self.page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()

    def wait_all_executed(self, timeout_ms: int = 120_000) -> None:
        """Wait until every code cell shows an execution count and the kernel is idle again."""
        self.page.wait_for_function(
            """() => {
                const prompts = [...document.querySelectorAll(
                    '.jp-NotebookPanel .jp-CodeCell .jp-InputArea-prompt')];
                return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
            }""",
            timeout=timeout_ms,
        )
        self.wait_kernel_idle(timeout_ms)


# --- one explorer in a notebook of its own, and what its pure function says -------------------

def explorer_notebook(case, folder: Path) -> Path:
    """``folder/explorer_<name>.ipynb``: the case's setup cell, then a cell holding ``explorer``."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(case.setup), nbformat.v4.new_code_cell("explorer")]
    path = Path(folder) / f"explorer_{case.name}.ipynb"
    nbformat.write(nb, path)
    return path


_EXPECTED = r"""
import base64, json, sys
sys.path.insert(0, sys.argv[1])
import matplotlib
matplotlib.use("Agg")
from explorer_cases import build, case_by_name, moved_value, pure_result, slider_index
from course_lib.explorers.figures import encode_png
from course_lib.explorers.shell import Explorer

Explorer._precompute = lambda self: None  # only two results are needed here, computed below

case = case_by_name(sys.argv[2])
explorer, ns = build(case)
control = explorer.controls[case.slider]
values = explorer.values()
start = pure_result(case, ns, values)
values[case.slider] = moved_value(control, case.presses)
moved = pure_result(case, ns, values)
png = encode_png(explorer._new_figure(moved).render_rgb(moved))
print("EXPECTED " + json.dumps({
    "slider_index": slider_index(explorer, case.slider),
    "start_lines": list(start.lines), "lines": list(moved.lines),
    "png": base64.b64encode(png).decode("ascii")}))
"""


class ExpectedMove:
    """The pure function's readout and picture for a case's slider move, computed in a process
    of its own with the lessons' environment (one thread, pinned instruction set), as the
    kernel computes them. :meth:`get` waits for it."""

    def __init__(self, case):
        env = dict(os.environ)
        env.update(NOTEBOOK_ENV)
        self.case = case
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _EXPECTED, str(ROOT / "tests"), case.name], cwd=ROOT, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def get(self, timeout: float = 900) -> dict:
        import base64

        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
            raise
        lines = [ln for ln in out.splitlines() if ln.startswith("EXPECTED ")]
        if self.proc.returncode != 0 or not lines:
            raise RuntimeError(f"the {self.case.name} explorer's pure function failed:\n{err}")
        data = json.loads(lines[-1][len("EXPECTED "):])
        data["png"] = base64.b64decode(data["png"])
        return data

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


def start_expected_move(case) -> ExpectedMove:
    return ExpectedMove(case)
