"""How long one slider move takes in each explorer (compute + draw + PNG), as a table.

    .venv/bin/python bench/widgets.py [--values 20] [--device cpu]

For each explorer and landscape, the explorer is built once (its first picture, which draws the
contours, is not counted), then ~20 slider values are set one after the other through the
control's ``.value``, exactly as a slider move in JupyterLab does, and each update is timed.
The table shows the median and the worst update, and the median of the two halves of an update:
the run (``*_result``) and the drawing (paint + PNG). Target: median < 150 ms per update.
The CPU is whatever this machine gives; the load average is printed so a busy machine shows.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import ipywidgets as widgets  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from course_lib import widgets as W  # noqa: E402
from course_lib.explorers.adam import BETA2_CHOICES  # noqa: E402
from course_lib.explorers.figures import encode_png  # noqa: E402


def _cases(n: int):
    lrs = list(np.logspace(-4, 1, n))
    small_lrs = list(np.logspace(-4, 0, n))
    mus = list(np.linspace(0.0, 0.99, n))
    b1s = list(np.linspace(0.0, 0.99, n))
    b2s = [BETA2_CHOICES[i % len(BETA2_CHOICES)] for i in range(n)]
    return [
        ("lr", "quadratic", lambda: W.lr_explorer(0.1, "quadratic"), "lr", lrs),
        ("lr", "ravine", lambda: W.lr_explorer(0.1, "ravine"), "lr", lrs),
        ("lr", "rosenbrock", lambda: W.lr_explorer(0.001, "rosenbrock"), "lr", lrs),
        ("momentum", "ravine (lr)", lambda: W.momentum_explorer(), "lr", small_lrs),
        ("momentum", "ravine (momentum)", lambda: W.momentum_explorer(), "momentum", mus),
        ("adam", "rosenbrock (lr)", lambda: W.adam_explorer(), "lr", small_lrs),
        ("adam", "rosenbrock (beta1)", lambda: W.adam_explorer(), "beta1", b1s),
        ("adam", "rosenbrock (beta2)", lambda: W.adam_explorer(), "beta2", b2s),
    ]


def _round(value: float, control) -> float:
    """Snap a value onto the slider's grid, as the browser would."""
    if isinstance(control, widgets.FloatLogSlider):
        e = round((np.log10(value) - control.min) / control.step) * control.step + control.min
        return float(10 ** min(max(e, control.min), control.max))
    if isinstance(control, widgets.FloatSlider):
        return float(round(value / control.step) * control.step)
    return value


def bench(n: int, device: str) -> list[tuple]:
    rows = []
    for explorer, where, build, name, values in _cases(n):
        ex = build()
        control = ex.controls[name]
        totals, runs, draws = [], [], []
        for v in values:
            v = _round(v, control)
            if control.value == v:
                continue
            t0 = time.perf_counter()
            control.value = v  # triggers refresh(): compute, paint, PNG, push to the widgets
            totals.append(time.perf_counter() - t0)
            t1 = time.perf_counter()
            res = ex._compute(ex.values())  # the explorer's pure result function
            runs.append(time.perf_counter() - t1)
            t2 = time.perf_counter()
            encode_png(ex.figure_for(res).render_rgb(res))
            draws.append(time.perf_counter() - t2)
            assert ex.error is None, ex.error
        rows.append((explorer, where, name, len(totals), statistics.median(totals) * 1e3,
                     max(totals) * 1e3, statistics.median(runs) * 1e3,
                     statistics.median(draws) * 1e3))
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=20, help="slider values per row")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    os.environ.setdefault("COURSE_DEVICE", args.device)
    torch.set_num_threads(1)
    rows = bench(args.values, args.device)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"Explorer update time (compute + draw + PNG), {args.device}, torch threads 1, "
          f"{os.cpu_count()} CPUs, load average {load:.2f}")
    print("| explorer | landscape (slider) | updates | median ms | worst ms | run ms | draw ms |")
    print("|---|---|---|---|---|---|---|")
    for explorer, where, _name, k, med, worst, run, draw in rows:
        print(f"| {explorer} | {where} | {k} | {med:.0f} | {worst:.0f} | {run:.0f} | {draw:.0f} |")
    slow = [r for r in rows if r[4] > 150]
    print("target: median < 150 ms per update:",
          "met" if not slow else f"missed on {len(slow)} of {len(rows)} rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
