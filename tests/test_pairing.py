"""One source per notebook: every lesson and solutions notebook is paired by jupytext with a
MyST markdown file in ``src/``, and an edit on either side reaches the other.

* the committed pairs agree (what ``jupytext --sync`` would write is what is committed);
* text -> notebook: editing ``src/NN.md`` and running ``make sync`` updates the notebook and
  keeps the stored outputs of every cell whose input did not change;
* notebook -> text: saving in a real JupyterLab (the server ``make lab`` starts, with jupytext's
  contents manager) rewrites ``src/NN.md``; opening and saving without an edit changes nothing
  nbval compares and leaves no stray file.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools import sync_notebooks  # noqa: E402

PAIRED = [ROOT / "notebooks", ROOT / "solutions"]
LESSON = "05_adaptive_methods"

pytestmark = pytest.mark.timeout(300)


def _pairs():
    return [pytest.param(path, id=f"{folder.name}/{path.name}")
            for folder in PAIRED for path in sorted(folder.glob("[0-9][0-9]_*.ipynb"))]


def test_every_notebook_has_its_text_source_and_no_source_is_orphaned():
    for folder in PAIRED:
        notebooks = {p.stem for p in folder.glob("[0-9][0-9]_*.ipynb")}
        texts = {p.stem for p in (folder / "src").glob("*.md")}
        assert notebooks == texts, (f"{folder.name}: notebooks without a text source: "
                                    f"{sorted(notebooks - texts)}; text sources without a "
                                    f"notebook: {sorted(texts - notebooks)} (run `make sync`)")
        assert (folder / "jupytext.toml").read_text().count('formats = "ipynb,src//md:myst"') == 1


@pytest.mark.parametrize("path", _pairs())
def test_pair_is_in_sync(path):
    text = path.parent / "src" / f"{path.stem}.md"
    nb = nbformat.read(path, as_version=4)
    assert text.read_text(encoding="utf-8") == jupytext.writes(nb, fmt="md:myst"), (
        f"{text.relative_to(ROOT)} and {path.relative_to(ROOT)} differ: run `make sync` "
        "(the more recently edited of the two wins)")
    # what jupytext's contents manager adds on save is already there: a save leaves no diff
    added = dict(jupytext.read(text).metadata.get("jupytext", {}))
    added.pop("text_representation", None)
    assert nb.metadata.get("jupytext", {}) == added, f"run `make sync` for {path.name}"


def _copy_lesson(tmp_path: Path, folder: str = "notebooks") -> tuple[Path, Path, Path]:
    """A temp ``notebooks/`` holding one lesson, its text source and the jupytext config."""
    dst = tmp_path / folder
    (dst / "src").mkdir(parents=True)
    shutil.copy2(ROOT / folder / "jupytext.toml", dst)
    shutil.copy2(ROOT / folder / f"{LESSON}.ipynb", dst)
    shutil.copy2(ROOT / folder / "src" / f"{LESSON}.md", dst / "src")
    return dst, dst / f"{LESSON}.ipynb", dst / "src" / f"{LESSON}.md"


def _touch_newer(path: Path, than: Path) -> None:
    t = than.stat().st_mtime + 10
    os.utime(path, (t, t))


def _outputs(nb) -> dict[str, list]:
    return {c.source: c.outputs for c in nb.cells if c.cell_type == "code"}


def test_prose_edit_in_the_text_file_reaches_the_notebook_and_keeps_every_output(tmp_path):
    folder, ipynb, md = _copy_lesson(tmp_path)
    before = nbformat.read(ipynb, as_version=4)
    text = md.read_text(encoding="utf-8")
    assert "in three generations" in text
    md.write_text(text.replace("in three generations", "in three generations (a typo fixed)"),
                  encoding="utf-8")
    _touch_newer(md, ipynb)

    stale = sync_notebooks.sync([folder], execute=False)

    after = nbformat.read(ipynb, as_version=4)
    assert stale == [], "a prose-only edit must not ask for a re-run"
    assert any("(a typo fixed)" in c.source for c in after.cells if c.cell_type == "markdown")
    assert _outputs(after) == _outputs(before)
    assert all(c.execution_count is not None for c in after.cells
               if c.cell_type == "code" and c.source.strip())


def test_code_edit_in_the_text_file_marks_the_lesson_for_a_fresh_run(tmp_path):
    folder, ipynb, md = _copy_lesson(tmp_path)
    before = nbformat.read(ipynb, as_version=4)
    text = md.read_text(encoding="utf-8")
    old = "TOL = 1e-6"
    assert text.count(old) == 1
    md.write_text(text.replace(old, "TOL = 1e-6  # an edited line"), encoding="utf-8")
    _touch_newer(md, ipynb)

    stale = sync_notebooks.sync([folder], execute=False)

    after = nbformat.read(ipynb, as_version=4)
    assert stale == [ipynb]
    assert any("# an edited line" in c.source for c in after.cells)
    unchanged = {src: out for src, out in _outputs(before).items() if old not in src}
    assert {src: out for src, out in _outputs(after).items() if src in unchanged} == unchanged


def test_a_new_text_file_becomes_a_notebook(tmp_path):
    folder, ipynb, md = _copy_lesson(tmp_path, "solutions")
    ipynb.unlink()
    sync_notebooks.sync([folder], execute=False)
    assert ipynb.exists()
    nb = nbformat.read(ipynb, as_version=4)
    assert jupytext.writes(nb, fmt="md:myst") == md.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    from tests.browser_support import LabServer

    work = tmp_path_factory.mktemp("lab")
    tree = work / "tree"
    folder, _, _ = _copy_lesson(tree)
    server = LabServer(work / "server", [], trees=(folder,))
    yield server
    server.stop()


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")
            if ".ipynb_checkpoints" not in p.parts}


def test_open_and_save_in_lab_changes_nothing_nbval_checks(lab):
    folder = lab.root / "notebooks"
    ipynb, md = folder / f"{LESSON}.ipynb", folder / "src" / f"{LESSON}.md"
    files, text, stored = _files(folder), md.read_bytes(), ipynb.read_bytes()

    model = lab.api(f"contents/notebooks/{LESSON}.ipynb?content=1")
    lab.api(f"contents/notebooks/{LESSON}.ipynb", method="PUT",
            body={"type": "notebook", "format": "json", "content": model["content"]})

    assert _files(folder) == files, "saving created or removed a file"
    assert md.read_bytes() == text
    assert ipynb.read_bytes() == stored, "a save without an edit must leave no diff in git"


def test_an_edit_saved_in_lab_reaches_the_text_file(lab):
    folder = lab.root / "notebooks"
    ipynb, md = folder / f"{LESSON}.ipynb", folder / "src" / f"{LESSON}.md"
    model = lab.api(f"contents/notebooks/{LESSON}.ipynb?content=1")
    cells = model["content"]["cells"]
    first_md = next(c for c in cells if c["cell_type"] == "markdown")
    first_md["source"] = first_md["source"].replace("Adaptive learning rates",
                                                    "Adaptive learning rates, edited in Lab")
    lab.api(f"contents/notebooks/{LESSON}.ipynb", method="PUT",
            body={"type": "notebook", "format": "json", "content": model["content"]})

    assert "Adaptive learning rates, edited in Lab" in md.read_text(encoding="utf-8")
    saved = nbformat.read(ipynb, as_version=4)
    assert jupytext.writes(saved, fmt="md:myst") == md.read_text(encoding="utf-8")
    assert all(c.outputs for c in saved.cells if c.cell_type == "code" and "print(" in c.source)


def test_lesson_00_is_rerun_when_the_course_map_it_shows_changed(tmp_path):
    folder = tmp_path / "notebooks"
    (folder / "src").mkdir(parents=True)
    shutil.copy2(ROOT / "notebooks" / "jupytext.toml", folder)
    for name in ("00_start_here.ipynb", "src/00_start_here.md"):
        shutil.copy2(ROOT / "notebooks" / name, folder / name)
    path = folder / "00_start_here.ipynb"
    assert sync_notebooks.sync([folder], execute=False) == []

    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if "course_map_markdown()" in c.source)
    for out in cell.outputs:  # as if an exercise had been added since the last run
        out["data"]["text/markdown"] = out["data"]["text/markdown"].replace("`mse`, ", "")
    nbformat.write(nb, path)
    assert sync_notebooks.sync([folder], execute=False) == [path]


def test_running_a_notebook_first_takes_in_its_text_edit(tmp_path):
    """`make notebooks` right after a text edit must not let the older cells win later."""
    from tools import execute_notebooks

    folder, ipynb, md = _copy_lesson(tmp_path)
    md.write_text(md.read_text(encoding="utf-8").replace("in three generations",
                                                         "in three generations (edited)"),
                  encoding="utf-8")
    _touch_newer(md, ipynb)
    execute_notebooks.take_in_text_edits(ipynb)
    assert any("(edited)" in c.source for c in nbformat.read(ipynb, as_version=4).cells)
    sync_notebooks.sync([folder], execute=False)
    assert "(edited)" in md.read_text(encoding="utf-8")
