"""Build the course as a static site: ``make site`` (= ``python tools/build_site.py --out build/site``).

Every lesson in notebooks/ and every exercise page in exercises/ becomes an HTML page with the
outputs stored in the notebook (nothing is executed), plus ``index.html``, the course map. Built
with nbconvert's HTMLExporter and a template of ours (tools/site/templates/course/) that extends
nbconvert's JupyterLab template:

* math is typeset in the browser by KaTeX, copied from tools/site/node_modules (npm, pinned in
  tools/site/package-lock.json) into ``_static/katex/``: a page loads nothing from the network;
* an explorer's output is its stored static PNG (the display bundle carries it next to the
  widget view), since there is no kernel to drive a widget; the page says so;
* every page has the same navigation: course map, previous / next lesson, lesson <-> exercises;
* links to ``NN_name.ipynb`` in the text point to the page built from that notebook.

Open ``build/site/index.html`` in a browser (a file: URL works), or serve the folder.
"""

from __future__ import annotations

import argparse
import html
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter
from traitlets.config import Config

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from course_lib.course_map import LESSONS  # noqa: E402

SITE_TOOLS = ROOT / "tools" / "site"
KATEX = SITE_TOOLS / "node_modules" / "katex" / "dist"
# the widget view is left out: with no kernel, the stored PNG beside it is what can be shown
DISPLAY_PRIORITY = ["text/html", "text/markdown", "image/png", "image/jpeg", "text/latex",
                    "text/plain"]
WIDGET_NOTE = ("This page shows the lesson with its stored outputs. The interactive explorers "
               "appear as pictures; run the notebook in JupyterLab (<code>make lab</code>) to move "
               "their sliders.")


@dataclass(frozen=True)
class Page:
    kind: str          # "lessons" or "exercises"
    source: Path
    number: int
    title: str

    @property
    def href(self) -> str:  # relative to the site root
        return f"{self.kind}/{self.source.stem}.html"


def _title(nb, fallback: str) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            m = re.search(r"^#\s+(.+)$", cell.source, re.MULTILINE)
            if m:
                return re.sub(r"[*_`]", "", m.group(1)).strip()
    return fallback


def collect_pages() -> tuple[list[Page], list[Page]]:
    lessons, exercises = [], []
    for kind, folder, out in (("lessons", "notebooks", lessons),
                              ("exercises", "exercises", exercises)):
        for path in sorted((ROOT / folder).glob("[0-9][0-9]_*.ipynb")):
            nb = nbformat.read(path, as_version=4)
            out.append(Page(kind, path, int(path.name[:2]), _title(nb, path.stem)))
    return lessons, exercises


def _exporter() -> HTMLExporter:
    c = Config()
    c.NbConvertBase.display_data_priority = DISPLAY_PRIORITY
    return HTMLExporter(config=c, template_name="course",
                        extra_template_basedirs=[str(SITE_TOOLS / "templates")])


_IPYNB_LINK = re.compile(r'href="(?!https?:|#)([^"#]*?)(\d\d_[a-z0-9_]+)\.ipynb(#[^"]*)?"')


def _fix_links(body: str, page: Page, by_stem: dict[tuple[str, str], Page]) -> str:
    """``[lesson 04](04_momentum.ipynb)`` or ``../exercises/04_momentum.ipynb`` -> its page."""

    def repl(m: re.Match) -> str:
        folder, stem, anchor = m.group(1), m.group(2), m.group(3) or ""
        kind = "exercises" if "exercises" in folder or "solutions" in folder else (
            page.kind if not folder else "lessons")
        target = by_stem.get((kind, stem))
        if target is None:
            return m.group(0)
        return f'href="../{target.href}{anchor}"'

    return _IPYNB_LINK.sub(repl, body)


def _nav(page: Page, siblings: list[Page], other: Page | None) -> dict:
    i = siblings.index(page)
    word = "Lesson" if page.kind == "lessons" else "Exercises"

    def link(p: Page | None, label: str):
        return None if p is None else {"href": f"../{p.href}", "label": label}

    prev_p = siblings[i - 1] if i > 0 else None
    next_p = siblings[i + 1] if i + 1 < len(siblings) else None
    return {
        "root": "../",
        "prev": link(prev_p, f"{word} {prev_p.number:02d}" if prev_p else ""),
        "next": link(next_p, f"{word} {next_p.number:02d}" if next_p else ""),
        "other": link(other, (f"Exercises for lesson {page.number:02d}" if page.kind == "lessons"
                              else f"Back to lesson {page.number:02d}")),
        "note": None,
    }


def _has_widget(nb) -> bool:
    return any("application/vnd.jupyter.widget-view+json" in out.get("data", {})
               for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", []))


def build_page(exporter: HTMLExporter, page: Page, nav: dict,
               by_stem: dict[tuple[str, str], Page]) -> str:
    nb = nbformat.read(page.source, as_version=4)
    nb.metadata.pop("widgets", None)  # no widget state: nothing would load it
    nb.metadata["title"] = page.title
    if _has_widget(nb):
        nav = {**nav, "note": WIDGET_NOTE}
    body, _ = exporter.from_notebook_node(
        nb, resources={"site": nav, "metadata": {"name": page.source.stem}})
    return _fix_links(body, page, by_stem)


def build_index(lessons: list[Page], exercises: list[Page]) -> str:
    have = {p.number: p for p in lessons}
    ex_pages = {p.number: p for p in exercises}
    rows = []
    for lesson in LESSONS:
        page = have.get(lesson.number)
        title = html.escape(lesson.title)
        title = f'<a href="{page.href}">{title}</a>' if page else f"{title} (planned)"
        ex = ex_pages.get(lesson.number)
        names = ", ".join(f"<code>{html.escape(n)}</code>" for n in lesson.exercises) if page else ""
        ex_cell = f'<a href="{ex.href}">exercises</a>: {names}' if ex else (names or "—")
        rows.append(f"<tr><td>{lesson.number:02d}</td><td>{title}</td><td>{lesson.minutes} min</td>"
                    f"<td>{html.escape(lesson.topics)}</td><td>{ex_cell}</td></tr>")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>How neural networks learn: the course map</title>
<link rel="stylesheet" href="_static/site.css">
</head>
<body>
<main class="course-map">
<h1>How neural networks learn</h1>
<p>A hands-on course, from gradient descent on house prices to the full modern training recipe.
These pages show every lesson with its stored outputs, read-only. To run the code, move the
sliders and check your exercises, clone the course and run <code>make lab</code>.</p>
<table>
<thead><tr><th>#</th><th>Lesson</th><th>Time</th><th>Topics</th><th>Exercises</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table>
</main>
</body>
</html>
"""


def build(out: Path) -> list[Path]:
    if not (KATEX / "katex.min.js").exists():
        raise SystemExit(f"{KATEX} is missing: run tools/ensure_npm_packages.sh site "
                         "(make site does)")
    if out.exists():
        shutil.rmtree(out)
    static = out / "_static"
    shutil.copytree(KATEX, static / "katex",
                    ignore=shutil.ignore_patterns("*.mjs", "katex.js", "katex.css", "*.ts",
                                                  "README.md", "katex-swap*"))
    for name in ("site.css", "render-math.js"):
        shutil.copy2(SITE_TOOLS / name, static / name)

    lessons, exercises = collect_pages()
    by_stem = {(p.kind, p.source.stem): p for p in lessons + exercises}
    exporter = _exporter()
    written = []
    for page in lessons + exercises:
        siblings = lessons if page.kind == "lessons" else exercises
        other = by_stem.get(("exercises" if page.kind == "lessons" else "lessons",
                             page.source.stem))
        target = out / page.href
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(build_page(exporter, page, _nav(page, siblings, other), by_stem),
                          encoding="utf-8")
        written.append(target)
    index = out / "index.html"
    index.write_text(build_index(lessons, exercises), encoding="utf-8")
    written.append(index)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "site")
    args = parser.parse_args()
    written = build(args.out.resolve())
    size = sum(f.stat().st_size for f in args.out.rglob("*") if f.is_file())
    print(f"site: {len(written)} pages, {size / 1e6:.1f} MB in {args.out} "
          f"(open {args.out / 'index.html'})")


if __name__ == "__main__":
    main()
