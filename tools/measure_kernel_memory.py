"""Peak memory of each lesson's kernel, for the hub sizing table in docs/instructors.md.

Runs every lesson top to bottom with nbclient in a fresh kernel (one thread, as on the hub and in
``make notebooks``), sampling the kernel's RSS and address space (VMS) with psutil every 50 ms,
and measures a learner's idle JupyterLab server the same way. Prints a markdown table.

    .venv/bin/python tools/measure_kernel_memory.py [notebooks/03_*.ipynb ...]
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import nbformat
import psutil
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from course_lib.notebook_env import NOTEBOOK_ENV  # noqa: E402

MB = 1024 * 1024


def _tree_memory(pid: int) -> tuple[int, int]:
    """(RSS summed over the process and its children, the largest single VMS)."""
    try:
        procs = [psutil.Process(pid)]
        procs += procs[0].children(recursive=True)
    except psutil.NoSuchProcess:
        return 0, 0
    rss, vms = 0, 0
    for p in procs:
        try:
            info = p.memory_info()
        except psutil.NoSuchProcess:
            continue
        rss += info.rss
        vms = max(vms, info.vms)
    return rss, vms


def lesson_peak(path: Path) -> tuple[int, int, float]:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=900, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    peak = {"rss": 0, "vms": 0}
    done = threading.Event()

    def sample():
        while not done.is_set():
            km = client.km
            pid = getattr(getattr(km, "provisioner", None), "pid", None) if km else None
            if pid:
                rss, vms = _tree_memory(pid)
                peak["rss"], peak["vms"] = max(peak["rss"], rss), max(peak["vms"], vms)
            time.sleep(0.05)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    start = time.monotonic()
    try:
        client.execute()
    finally:
        done.set()
        t.join()
    return peak["rss"], peak["vms"], time.monotonic() - start


def server_rss() -> int:
    """RSS of an idle JupyterLab server (what each learner's server costs before any kernel)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = secrets.token_hex(8)
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "HOME": home, "JUPYTER_CONFIG_DIR": f"{home}/c",
               "JUPYTER_DATA_DIR": f"{home}/d", "JUPYTER_RUNTIME_DIR": f"{home}/r"}
        cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}",
               "--ServerApp.ip=127.0.0.1", f"--ServerApp.token={token}",
               f"--ServerApp.root_dir={home}"]
        if os.geteuid() == 0:
            cmd.append("--allow-root")
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            for _ in range(200):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/lab?token={token}",
                                           timeout=5).read()
                    break
                except OSError:
                    time.sleep(0.3)
            time.sleep(2)
            return _tree_memory(proc.pid)[0]
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lessons", nargs="*", type=Path)
    args = parser.parse_args()
    os.environ.update(NOTEBOOK_ENV)
    lessons = args.lessons or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    import torch

    print(f"Python {platform.python_version()}, torch {torch.__version__}, "
          f"{platform.machine()}, one thread per kernel\n")
    print("| lesson | peak RSS of the kernel (MB) | peak address space (MB) | run time (s) |")
    print("|---|---:|---:|---:|")
    worst = 0
    for path in lessons:
        rss, vms, secs = lesson_peak(path)
        worst = max(worst, rss)
        print(f"| {path.stem} | {rss / MB:.0f} | {vms / MB:.0f} | {secs:.0f} |", flush=True)
    print(f"\nidle JupyterLab server: {server_rss() / MB:.0f} MB RSS; "
          f"largest kernel: {worst / MB:.0f} MB")


if __name__ == "__main__":
    main()
