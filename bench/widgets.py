"""How long one slider move takes in every explorer (compute + draw + PNG), as a table.

    .venv/bin/python bench/widgets.py [--values 12] [--only lr,clipping] [--device cpu]

The explorers are the entries of ``tests/explorer_cases.py`` (the browser test drives the same
list), each built by its lesson's own call; adding an explorer there adds it here. For each
entry, the explorer is built once (the build, which for a grid explorer computes the whole grid
as the lesson's cell does, is timed apart and its first picture not counted); then for each of
its sweeps, up to ``--values`` values are set one after the other through the control's
``.value``, exactly as a slider move in JupyterLab does, and each update is timed: the median
and the worst update, and the medians of its two halves, the result (``result``: the pure
function, or the grid look-up of a precomputed explorer) and the drawing (paint + PNG).

Targets (issue 13): median < 150 ms and worst < 400 ms per update. The load average is printed
next to the table: on a busy machine the times are inflated by the other processes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import torch  # noqa: E402
from explorer_cases import CASES, build, sweep_values  # noqa: E402

from course_lib.explorers.figures import encode_png  # noqa: E402

MEDIAN_TARGET_MS = 150
WORST_TARGET_MS = 400


def _sweeps(case):
    for sweep in case.sweeps:
        name, first = (sweep, {}) if isinstance(sweep, str) else sweep
        yield name, dict(first)


def bench_case(case, n: int) -> list[dict]:
    t0 = time.perf_counter()
    ex, _ns = build(case)
    build_s = time.perf_counter() - t0
    rows = []
    for name, first in _sweeps(case):
        for k, v in first.items():
            ex.controls[k].value = v
        control = ex.controls[name]
        totals, runs, draws = [], [], []
        for v in sweep_values(control, n):
            if control.value == v:
                continue
            t0 = time.perf_counter()
            control.value = v  # triggers refresh(): result, paint, PNG, push to the widgets
            totals.append(time.perf_counter() - t0)
            assert ex.error is None, f"{case.name} {name}={v}: {ex.error}"
            t1 = time.perf_counter()
            res = ex.compute(ex.values())  # as the update got it (a look-up when precomputed)
            runs.append(time.perf_counter() - t1)
            t2 = time.perf_counter()
            encode_png(ex.figure_for(res).render_rgb(res))
            draws.append(time.perf_counter() - t2)
        where = ", ".join(f"{k}={v}" for k, v in first.items() if k != name)
        rows.append({
            "explorer": case.name, "lesson": case.lesson[:2], "slider": name,
            "where": where, "build_s": build_s, "updates": len(totals),
            "median": statistics.median(totals) * 1e3, "worst": max(totals) * 1e3,
            "run": statistics.median(runs) * 1e3, "draw": statistics.median(draws) * 1e3,
        })
        build_s = float("nan")  # shown once per explorer
    return rows


def table(rows: list[dict], device: str) -> str:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    out = [f"Explorer update time (compute + draw + PNG), {device}, torch threads "
           f"{torch.get_num_threads()}, {os.cpu_count()} CPUs, load average "
           f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (1 / 5 / 15 min)",
           "| explorer | lesson | slider (other settings) | build s | updates | median ms "
           "| worst ms | result ms | draw ms |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        build = "" if r["build_s"] != r["build_s"] else f"{r['build_s']:.1f}"
        slider = r["slider"] + (f" ({r['where']})" if r["where"] else "")
        out.append(f"| {r['explorer']} | {r['lesson']} | {slider} | {build} | {r['updates']} "
                   f"| {r['median']:.0f} | {r['worst']:.0f} | {r['run']:.0f} | {r['draw']:.0f} |")
    slow = [r for r in rows if r["median"] > MEDIAN_TARGET_MS]
    spiky = [r for r in rows if r["worst"] > WORST_TARGET_MS]
    out.append(f"target median < {MEDIAN_TARGET_MS} ms: "
               + ("met on every row" if not slow else
                  f"missed on {len(slow)} of {len(rows)} rows "
                  f"({', '.join(r['explorer'] + '/' + r['slider'] for r in slow)})"))
    out.append(f"target worst < {WORST_TARGET_MS} ms: "
               + ("met on every row" if not spiky else
                  f"missed on {len(spiky)} of {len(rows)} rows "
                  f"({', '.join(r['explorer'] + '/' + r['slider'] for r in spiky)})"))
    return "\n".join(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=12, help="slider values per sweep")
    parser.add_argument("--only", default="", help="comma-separated explorer names")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    os.environ.setdefault("COURSE_DEVICE", args.device)
    torch.set_num_threads(1)
    wanted = {s for s in args.only.split(",") if s}
    unknown = wanted - {c.name for c in CASES}
    if unknown:
        parser.error(f"unknown explorer(s) {sorted(unknown)}; known: {[c.name for c in CASES]}")
    rows = []
    for case in CASES:
        if not wanted or case.name in wanted:
            rows.extend(bench_case(case, args.values))
    print(table(rows, args.device))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
