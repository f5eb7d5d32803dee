"""Writing the results: ``grades.csv``, ``grades.json`` and one feedback file per submission.

Every file is written atomically (a temporary file in the same folder, then
``os.replace``), so a reader never sees half a file and an interrupted run leaves the
previous version intact.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

__all__ = ["atomic_write", "write_csv", "write_json", "feedback_markdown", "feedback_path", "fmt"]


def atomic_write(path: Path, data: str | bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def fmt(x: float | int | None) -> str:
    """Points as people write them: 2, 2.5."""
    if x is None:
        return ""
    return f"{float(x):g}"


def _cell(text: str) -> str:
    # a file name like "=HYPERLINK(...).ipynb" must stay text in a spreadsheet; so must one that
    # starts with a tab or carriage return, which spreadsheets strip before reading a formula
    # (and no line break inside a cell: csv quotes "\n" but not a lone "\r", which ends a row)
    text = "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
    return text.replace("\r", " ").replace("\n", " ")


def write_csv(path: Path, records: list[dict], grade_ids: list[str]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["submission", "status", *grade_ids, "total", "max_total"])
    for r in records:
        scores = {e["grade_id"]: e["score"] for e in r.get("exercises", [])}
        writer.writerow([_cell(r["submission"]), r["status"], *(fmt(scores.get(g)) for g in grade_ids),
                         fmt(r["total"]), fmt(r["max_total"])])
    atomic_write(path, buf.getvalue())


def write_json(path: Path, data: Any) -> None:
    atomic_write(path, json.dumps(data, indent=1, sort_keys=False, ensure_ascii=False) + "\n")


def feedback_path(out: Path, key: str) -> Path:
    """``feedback/alice/01_loss_functions.md`` for the submission ``alice/01_loss_functions.ipynb``."""
    name = key[: -len(".ipynb")] if key.endswith(".ipynb") else key
    parts = [p for p in PurePosixPath(name).parts if p not in ("", ".", "..", "/")] or ["submission"]
    return Path(out, "feedback", *parts[:-1], parts[-1] + ".md")


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _safe(text: str, limit: int = 300) -> str:
    """Learner-controlled text as one inert line of Markdown (inside a code span)."""
    text = _CONTROL.sub(" ", str(text)).replace("\n", " ").strip()
    if len(text) > limit:
        text = text[:limit] + "…"
    if not text:
        return "(no message)"
    fence = "`" * (max((len(m) for m in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


STATUS_TEXT = {
    "timeout": "a time limit was hit (see the notes); what could be graded was graded",
    "crashed": "the kernel died (see the notes); only what was graded before counts",
    "invalid-notebook": "the file is not a valid notebook, so nothing could be graded",
    "not-a-notebook": "the file is not a notebook, so nothing could be graded",
    "unknown-assignment": "the file name does not name a known assignment, so nothing could be graded",
    "error": "the grader failed on this submission (tell your instructor)",
}


def feedback_markdown(record: dict) -> str:
    """Feedback a learner can act on: per exercise, passed or which visible cases failed and
    why, plus the hint. Hidden cases appear only as "a hidden case failed"."""
    lines = [f"# Feedback: {_safe(record['submission'])}", ""]
    if record.get("assignment"):
        lines.append(f"Assignment **{record['assignment']}**: "
                     f"**{fmt(record['total'])} / {fmt(record['max_total'])}** points.")
    status = record["status"]
    if status == "graded":
        lines.append("Status: **graded**.")
    else:
        lines.append(f"Status: **{status}**: {STATUS_TEXT.get(status, status)}.")
    if record.get("reason"):
        lines.append(f"Why: {_safe(record['reason'], 400)}")
    lines.append("")
    for ex in record.get("exercises", []):
        lines.append(f"## `{ex['function']}` ({ex['grade_id']}): {fmt(ex['score'])} / {fmt(ex['points'])}")
        lines.append("")
        outcomes = ex.get("outcomes", [])
        if ex.get("message"):
            lines.append(f"- {_safe(ex['message'], 400)}")
        elif outcomes and all(o["ok"] for o in outcomes):
            lines.append(f"- ✓ passes all {len(outcomes)} checks.")
        else:
            lines.append(f"- {ex['passed']} of {len(outcomes)} checks pass.")
            hidden_failed = 0
            for o in outcomes:
                if o["ok"]:
                    continue
                if o["hidden"]:
                    hidden_failed += 1
                else:
                    lines.append(f"- ✗ {_safe(o['case'], 80)}: {_safe(o['message'])}")
            if hidden_failed:
                lines.append("- ✗ a hidden case failed" if hidden_failed == 1 else
                             f"- ✗ {hidden_failed} hidden cases failed")
        if ex["score"] < ex["points"] and ex.get("hint"):
            lines.append(f"- Hint: {ex['hint']}")
        lines.append("")
    notes = []
    for err in record.get("cell_errors", [])[:10]:
        notes.append(f"- cell {err['cell']} raised {_safe(err['ename'], 60)}: {_safe(err['evalue'], 200)}")
    if len(record.get("cell_errors", [])) > 10:
        notes.append(f"- ... and {len(record['cell_errors']) - 10} more cells raised errors.")
    if notes:
        lines += ["## Notes from running your notebook", "", *notes, ""]
    return "\n".join(lines)
