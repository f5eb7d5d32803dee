"""Mark lessons present in notebooks/ as ready and rewrite the README's course map.

Counts the lessons tracked by git plus any named on the command line, so a commit
stays consistent while other lessons are still being written.

Usage: python tools/sync_course_map.py [notebooks/NN_x.ipynb ...]   (then re-execute notebooks/00_start_here.ipynb,
which displays the map: `python tools/execute_notebooks.py notebooks/00_start_here.ipynb`)
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    import subprocess

    tracked = subprocess.run(["git", "ls-files", "notebooks"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.split()
    present = {Path(p).name for p in tracked + sys.argv[1:] if re.search(r"/\d\d_\w+\.ipynb$", p)}
    map_py = ROOT / "course_lib" / "course_map.py"
    src = map_py.read_text()

    # each Lesson(...) entry spans from a line starting "    Lesson(" to a line ending "),"
    lines, out, entry, changed = src.splitlines(keepends=True), [], [], False
    for line in lines:
        if line.startswith("    Lesson(") or entry:
            entry.append(line)
            if line.rstrip().endswith("),"):
                text = "".join(entry)
                m = re.match(r'    Lesson\((\d+), "([a-z0-9_]+)"', text)
                want = f"{int(m.group(1)):02d}_{m.group(2)}.ipynb" in present
                has = '"ready"' in text
                if want and not has:
                    if "exercises=" in text:
                        text = text.replace(",\n           exercises=", ', "ready",\n           exercises=', 1)
                    else:
                        text = re.sub(r"\),(\s*)$", r', "ready"),\1', text, count=1)
                    changed = True
                elif has and not want:
                    text = text.replace(', "ready"', "", 1)
                    changed = True
                out.append(text)
                entry = []
            continue
        out.append(line)
    if changed:
        map_py.write_text("".join(out))
    import importlib

    import course_lib.course_map as cm
    importlib.reload(cm)
    readme = ROOT / "README.md"
    text = readme.read_text()
    new = re.sub(r"(## Course map\n\n)(\|.*?\n)(\n)", lambda m: m.group(1) + cm.course_map_markdown() + "\n" + m.group(3),
                 text, count=1, flags=re.S)
    readme.write_text(new)
    print("ready:", [f"{lesson.number:02d}" for lesson in cm.LESSONS if lesson.status == "ready"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
