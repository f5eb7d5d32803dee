"""The static site (``make site``), opened page by page in headless Chromium.

The site is built into a temp dir with tools/build_site.py and served from 127.0.0.1; every
request that leaves the machine is aborted and counted as a failure. On every page: no console
error, no failed request, every image loaded, every link to the site resolves (to a file, and
to an element when it has an anchor), and the math is typeset (KaTeX elements present where the
notebook has math, no KaTeX error, no raw TeX left in the text). The navigation bar chains every
lesson from 00 to the last, and the explorers show their stored pictures.

Needs Debian's chromium (`make browser-deps`) and KaTeX from npm
(tools/ensure_npm_packages.sh), both run by ``make test``; skipped with the reason without them.
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import re
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest
from browser_support import CHROMIUM, CHROMIUM_ARGS, ROOT

pytestmark = [pytest.mark.site, pytest.mark.browser, pytest.mark.timeout(600)]

KATEX = ROOT / "tools" / "site" / "node_modules" / "katex" / "dist" / "katex.min.js"
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
EXERCISES = sorted((ROOT / "exercises").glob("[0-9][0-9]_*.ipynb"))
RAW_TEX = re.compile(r"\\(frac|eta|theta|sqrt|nabla|partial|lambda|beta|mu|sum|hat)\b")


def _load_builder():
    spec = importlib.util.spec_from_file_location("build_site", ROOT / "tools" / "build_site.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["build_site"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _has_math(nb_path: Path) -> bool:
    nb = nbformat.read(nb_path, as_version=4)
    return any(re.search(r"\$[^$\n]+\$", c.source) for c in nb.cells if c.cell_type == "markdown")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    subprocess.run(["bash", str(ROOT / "tools" / "ensure_npm_packages.sh"), "site"], check=False)
    if not KATEX.exists():
        pytest.skip(f"{KATEX.relative_to(ROOT)} is missing: tools/ensure_npm_packages.sh needs "
                    "node and npm (run `make test`)")
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: run `make test` to install Debian's chromium")
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    out = tmp_path_factory.mktemp("site") / "site"
    pages = _load_builder().build(out)
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(out)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield out, pages, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_every_page_is_built(site):
    out, pages, _ = site
    names = {p.relative_to(out).as_posix() for p in pages}
    want = ({f"lessons/{p.stem}.html" for p in LESSONS}
            | {f"exercises/{p.stem}.html" for p in EXERCISES} | {"index.html"})
    assert names == want
    for page in pages:
        text = page.read_text(encoding="utf-8")
        # nothing loaded from elsewhere: no CDN script, stylesheet or widget manager
        assert not re.search(r"<(script|link)[^>]+(src|href)=\"(https?:)?//", text), page.name
        assert "application/vnd.jupyter.widget-view+json" not in text, page.name


def test_every_page_in_chromium(site):
    from playwright.sync_api import sync_playwright

    out, pages, base = site
    problems: list[str] = []
    outside: list[str] = []
    math_pages = {f"lessons/{p.stem}.html" for p in LESSONS if _has_math(p)}
    math_pages |= {f"exercises/{p.stem}.html" for p in EXERCISES if _has_math(p)}
    next_links: dict[str, str] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})

            def route(r):
                if r.request.url.startswith((base, "data:", "blob:")):
                    r.continue_()
                else:
                    outside.append(r.request.url)
                    r.abort()

            context.route("**/*", route)
            pg = context.new_page()
            pg.set_default_timeout(60_000)
            current = {"name": ""}
            pg.on("console", lambda m: m.type == "error" and problems.append(
                f"{current['name']}: console error: {m.text}"))
            pg.on("pageerror", lambda e: problems.append(f"{current['name']}: page error: {e}"))
            pg.on("requestfailed", lambda r: problems.append(
                f"{current['name']}: request failed: {r.url} ({r.failure})"))
            pg.on("response", lambda r: r.status >= 400 and problems.append(
                f"{current['name']}: HTTP {r.status} for {r.url}"))
            for page in sorted(pages):
                name = page.relative_to(out).as_posix()
                current["name"] = name
                pg.goto(f"{base}/{name}", wait_until="load")
                if name != "index.html":
                    pg.wait_for_selector("body[data-math='done']")
                broken = pg.evaluate("""() => [...document.images]
                    .filter(i => !i.complete || i.naturalWidth === 0)
                    .map(i => (i.getAttribute('src') || '').slice(0, 60))""")
                problems += [f"{name}: broken image {src}" for src in broken]
                for href in pg.evaluate(
                        "() => [...document.querySelectorAll('a[href]')].map(a => a.href)"):
                    problems += _check_link(out, base, name, href, pg)
                if name in math_pages:
                    typeset = pg.locator(".katex").count()
                    if typeset == 0:
                        problems.append(f"{name}: no math typeset")
                    errors = pg.locator(".katex-error").all_text_contents()
                    problems += [f"{name}: KaTeX error in {e[:80]!r}" for e in errors]
                    raw = pg.evaluate("""() => [...document.querySelectorAll(
                        '.jp-MarkdownCell .jp-RenderedMarkdown')].map(e => {
                            const c = e.cloneNode(true);
                            c.querySelectorAll('pre, code, .katex').forEach(x => x.remove());
                            return c.textContent; }).join('\\n')""")
                    left = RAW_TEX.findall(raw)
                    if left:
                        problems.append(f"{name}: TeX left unrendered: {left[:5]}")
                nxt = pg.locator("nav.course-nav-top a.course-nav-next")
                if nxt.count():
                    next_links[name] = nxt.first.get_attribute("href")
        finally:
            browser.close()
    assert not outside, f"requests to outside the site: {outside[:10]}"
    assert not problems, "\n".join(problems[:40])

    # the navigation bar walks through every lesson in order
    chain, name = [], f"lessons/{LESSONS[0].stem}.html"
    while name and name not in chain:
        chain.append(name)
        href = next_links.get(name)
        name = f"lessons/{Path(href).name}" if href else None
    assert chain == [f"lessons/{p.stem}.html" for p in LESSONS]


def _check_link(out: Path, base: str, name: str, href: str, pg) -> list[str]:
    if not href.startswith(base):
        return [] if href.startswith(("http://", "https://", "mailto:")) else [
            f"{name}: link {href!r} is neither on the site nor a web address"]
    parts = urlsplit(href)
    path = unquote(parts.path).lstrip("/") or "index.html"
    target = out / path
    if target.is_dir():
        target = target / "index.html"
    if not target.is_file():
        return [f"{name}: broken link {href[len(base):]!r}"]
    if parts.fragment and target == out / name:
        # nbconvert writes heading ids percent-encoded; a browser tries the raw and decoded forms
        found = pg.evaluate("(ids) => ids.some(id => document.getElementById(id) !== null)",
                            [parts.fragment, unquote(parts.fragment)])
        if not found:
            return [f"{name}: link to a missing anchor #{parts.fragment}"]
    return []


def test_explorers_show_their_pictures(site):
    """Lesson 03's explorer cell: the stored PNG, not a widget that cannot load."""
    out, _, _ = site
    lesson = next(p for p in LESSONS if p.name.startswith("03_"))
    text = (out / "lessons" / f"{lesson.stem}.html").read_text(encoding="utf-8")
    nb = nbformat.read(lesson, as_version=4)
    widget_cells = [c for c in nb.cells if c.cell_type == "code" and any(
        "application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in c.outputs)]
    assert widget_cells, "lesson 03 has an explorer"
    for cell in widget_cells:
        png = next(o.data["image/png"] for o in cell.outputs
                   if "application/vnd.jupyter.widget-view+json" in o.get("data", {}))
        assert png.strip()[:200] in text.replace("\n", "")
    assert "Error displaying widget" not in text
    assert "appear as pictures" in text
