"""Hygiene of the committed lessons: executed, deterministic-looking, lesson-shaped.

nbval (run by ``make test`` on notebooks/) re-executes every lesson and compares
outputs. It silently passes a notebook committed without outputs, so this file
checks that every lesson really carries its outputs, and that nothing machine-
specific (addresses, temp paths, timings, stderr noise) is stored in them.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
NAME = re.compile(r"^\d\d_[a-z0-9_]+\.ipynb$")

FORBIDDEN = {
    "memory address": re.compile(r"\b0x[0-9a-fA-F]{6,}\b"),
    "temp or home path": re.compile(r"(/tmp/|/home/|/root/|/Users/|C:\\\\)"),
    "kernel file": re.compile(r"ipykernel_\d+"),
    "timing": re.compile(r"(\d+(\.\d+)?\s*(it/s|s/it)\b|Wall time|CPU times|\d+\.\d+\s*(ms|µs|us)\b"
                         r"|elapsed\s*[:=]?\s*\d)"),
    "device name": re.compile(r"(NVIDIA|GeForce|Tesla|A100|H100|Apple M\d)", re.IGNORECASE),
}


def _text_of(output) -> str:
    if output.output_type == "stream":
        return output.text
    if output.output_type == "error":
        return "\n".join(output.traceback)
    data = output.get("data", {})
    return "\n".join(str(v) for k, v in data.items() if k.startswith("text/"))


def test_there_are_lessons():
    assert LESSONS, "no lessons found in notebooks/"
    assert LESSONS[0].name == "00_start_here.ipynb"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_lesson_is_valid_and_executed_in_order(path):
    assert NAME.match(path.name), f"{path.name}: lessons are named NN_topic.ipynb"
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    assert code, f"{path.name} has no code"
    counts = [c.execution_count for c in code]
    missing = [i for i, n in enumerate(counts) if n is None]
    assert not missing, (f"{path.name}: code cells {missing} have no execution count; "
                         "run `make notebooks` and commit the outputs")
    assert counts == list(range(1, len(code) + 1)), (
        f"{path.name}: cells were not executed top to bottom in one fresh kernel "
        f"(execution counts {counts[:12]}...); run `make notebooks`")


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_outputs_have_nothing_machine_specific(path):
    nb = nbformat.read(path, as_version=4)
    problems = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            if out.output_type == "stream" and out.name == "stderr":
                problems.append(f"cell {i}: writes to stderr: {out.text[:120]!r}")
            if out.output_type == "error" and "raises-exception" not in cell.metadata.get("tags", []):
                problems.append(f"cell {i}: stored an error: {out.get('ename')}")
            text = _text_of(out)
            for what, pattern in FORBIDDEN.items():
                m = pattern.search(text)
                if m:
                    problems.append(f"cell {i}: {what} in output: {m.group(0)!r}")
            if "image/svg+xml" in out.get("data", {}):
                problems.append(f"cell {i}: SVG output (embeds a date; use PNG)")
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_notebook_size_is_reasonable(path):
    size = path.stat().st_size
    assert size < 3_000_000, f"{path.name} is {size / 1e6:.1f} MB; lower figure dpi or count"


@pytest.mark.parametrize("path", [p for p in LESSONS if not p.name.startswith("00")],
                         ids=lambda p: p.name)
def test_lesson_has_the_standard_shape(path):
    """Objectives, prerequisites and time up front; takeaways, misconceptions, questions at the end."""
    nb = nbformat.read(path, as_version=4)
    md = [c.source for c in nb.cells if c.cell_type == "markdown"]
    head, tail = "\n".join(md[:2]).lower(), "\n".join(md[-4:]).lower()
    for word in ("you will learn", "prerequisites", "time"):
        assert word in head, f"{path.name}: the opening should state '{word}'"
    for word in ("takeaways", "misconception", "questions"):
        assert word in tail, f"{path.name}: the closing cells should include '{word}'"
