"""Write each lesson's exercise function names into course_lib/course_map.py from the registry.

Usage: python tools/fill_map_exercises.py   (then tools/sync_course_map.py to refresh the README)
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    from course_lib.exercises import all_exercises

    by_lesson: dict[int, list[tuple[str, str]]] = {}
    for grade_id, ex in all_exercises().items():
        if grade_id.startswith("l") and grade_id[1:3].isdigit():
            by_lesson.setdefault(int(grade_id[1:3]), []).append((grade_id, ex.function))
    path = ROOT / "course_lib" / "course_map.py"
    out, entry = [], []
    for line in path.read_text().splitlines(keepends=True):
        if line.startswith("    Lesson(") or entry:
            entry.append(line)
            if line.rstrip().endswith("),"):
                text = "".join(entry)
                number = int(re.match(r"    Lesson\((\d+),", text).group(1))
                text = re.sub(r",\s*exercises=\([^)]*\)", "", text)
                # registry order = the order exercises appear in the notebook's grade_ids
                names = [f for _, f in by_lesson.get(number, [])]
                if names:
                    tup = "(" + ", ".join(f'"{n}"' for n in names) + ("," if len(names) == 1 else "") + ")"
                    text = re.sub(r"\),(\s*)$", f",\n           exercises={tup}),\\1", text, count=1)
                out.append(text)
                entry = []
            continue
        out.append(line)
    path.write_text("".join(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
