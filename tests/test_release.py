"""Releasing exercises with nbgrader's preprocessors: solutions/ -> exercises/ (solutions
blanked, hidden tests removed, outputs cleared), with marker errors that name the place."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from course_lib.exercises.release import (
    MarkerError,
    check_dir,
    main,
    release_dir,
    release_notebook,
    render,
)

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "grading_fixtures"

pytestmark = pytest.mark.timeout(120)

SOLUTION_META = {"nbgrader": {"schema_version": 3, "grade": False, "solution": True, "locked": False,
                              "grade_id": "l01_mse"}}
CHECK_META = {"nbgrader": {"schema_version": 3, "grade": True, "solution": False, "locked": True,
                           "grade_id": "l01_mse_check", "points": 2}}


def _nb(*cells):
    nb = new_notebook(cells=list(cells))
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"c{i}"
    return nb


def _solution_cell(source: str):
    return new_code_cell(source, metadata=json.loads(json.dumps(SOLUTION_META)))


def test_solution_region_becomes_a_stub_at_its_indentation():
    src = ('def mse(pred, target):\n    """Mean squared error."""\n    ### BEGIN SOLUTION\n'
           '    diff = pred - target\n    return (diff ** 2).mean()\n    ### END SOLUTION\n\nTOLERANCE = 1e-6')
    out = release_notebook(_nb(_solution_cell(src)))
    assert out.cells[0].source == ('def mse(pred, target):\n    """Mean squared error."""\n'
                                   '    # YOUR CODE HERE\n    raise NotImplementedError()\n\nTOLERANCE = 1e-6')
    assert out.cells[0].metadata == SOLUTION_META


def test_two_regions_in_one_cell_and_top_level_region():
    src = ("### BEGIN SOLUTION\nA = 1\n### END SOLUTION\ndef f(x):\n"
           "    if x:\n        ### BEGIN SOLUTION\n        return A\n        ### END SOLUTION\n    return 0")
    out = release_notebook(_nb(_solution_cell(src))).cells[0].source
    assert out == ("# YOUR CODE HERE\nraise NotImplementedError()\ndef f(x):\n    if x:\n"
                   "        # YOUR CODE HERE\n        raise NotImplementedError()\n    return 0")


def test_solution_cell_without_markers_is_replaced_whole():
    out = release_notebook(_nb(_solution_cell("def f():\n    return 42")))
    assert out.cells[0].source == "# YOUR CODE HERE\nraise NotImplementedError()"


def test_markdown_solution_cell():
    cell = new_markdown_cell("Why?\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION",
                             metadata=json.loads(json.dumps(SOLUTION_META)))
    assert release_notebook(_nb(cell)).cells[0].source == "Why?\nYOUR ANSWER HERE"


def test_hidden_tests_are_removed_and_check_cells_kept():
    check = new_code_cell('check(mse, "l01_mse")\n### BEGIN HIDDEN TESTS\nassert mse(1, 1) == 0\n'
                          "### END HIDDEN TESTS", metadata=json.loads(json.dumps(CHECK_META)))
    out = release_notebook(_nb(check))
    assert out.cells[0].source == 'check(mse, "l01_mse")'
    assert out.cells[0].metadata == CHECK_META


def test_outputs_counts_and_timing_are_cleared():
    cell = new_code_cell("print(1)", execution_count=3,
                         outputs=[new_output("stream", name="stdout", text="1\n")])
    cell.metadata["execution"] = {"iopub.status.busy": "2024-01-01"}
    cell.metadata["tags"] = ["keep-me"]
    nb = _nb(cell)
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {}}
    out = release_notebook(nb)
    assert out.cells[0].outputs == [] and out.cells[0].execution_count is None
    assert out.cells[0].metadata == {"tags": ["keep-me"]}
    assert "widgets" not in out.metadata
    assert nb.cells[0].outputs, "the input notebook must not be modified"


@pytest.mark.parametrize("cell, message", [
    (_solution_cell("### BEGIN SOLUTION\nx = 1"), "has no matching END"),
    (_solution_cell("x = 1\n### END SOLUTION"), "without a matching BEGIN"),
    (_solution_cell("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n### END SOLUTION"), "cannot nest"),
    (_solution_cell("### BEGIN SOLUTION\n### END HIDDEN TESTS"), "closes the 'SOLUTION' region"),
    (_solution_cell("#### BEGIN SOLUTION\nx = 1\n### END SOLUTION"), "malformed marker"),
    (_solution_cell("### BEGIN SOLUTION here\nx = 1\n### END SOLUTION"), "malformed marker"),
    (_solution_cell("### begin solution\nx = 1\n### end solution"), "malformed marker"),
    (_solution_cell("### BEGIN  SOLUTION\nx = 1\n### END SOLUTION"), "malformed marker"),
    (new_markdown_cell("Put your code after the `### BEGIN SOLUTION` line."), "malformed marker"),
])
def test_malformed_markers_are_errors_naming_the_place(cell, message):
    with pytest.raises(MarkerError, match=message) as info:
        release_notebook(_nb(new_markdown_cell("intro"), cell), name="07_x.ipynb")
    assert "07_x.ipynb, cell 1, line" in str(info.value)


@pytest.mark.filterwarnings("ignore::nbformat.warnings.MissingIDFieldWarning")
def test_nbgrader_refusals_name_the_notebook_and_cell():
    # a solution region in a cell without "solution": true metadata: nbgrader's own check
    cell = new_code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION")
    with pytest.raises(MarkerError, match="non-solution cell") as info:
        release_notebook(_nb(new_markdown_cell("intro"), cell), name="07_x.ipynb")
    assert "07_x.ipynb, cell 1:" in str(info.value)
    hidden = new_code_cell("### BEGIN HIDDEN TESTS\nassert True\n### END HIDDEN TESTS")
    with pytest.raises(MarkerError, match="non-grade cell") as info:
        release_notebook(_nb(hidden), name="07_x.ipynb")
    assert "07_x.ipynb, cell 0:" in str(info.value)


def test_release_is_what_nbgrader_generate_assignment_would_ship():
    """Same preprocessors, same result: compare with running them through nbconvert directly."""
    from nbconvert.exporters import NotebookExporter
    from nbgrader.preprocessors import ClearHiddenTests, ClearOutput, ClearSolutions

    path = ROOT / "solutions" / "05_adaptive_methods.ipynb"
    exporter = NotebookExporter()
    for pp in (ClearSolutions(), ClearHiddenTests(), ClearOutput()):
        exporter.register_preprocessor(pp, enabled=True)
    theirs = nbformat.reads(exporter.from_filename(str(path))[0], as_version=4)
    ours = release_notebook(nbformat.read(path, as_version=4), name=path.name)
    assert [(c.cell_type, c.source, c.metadata) for c in ours.cells] == \
        [(c.cell_type, c.source, c.metadata) for c in theirs.cells]


def test_output_is_deterministic_and_ends_with_a_newline(tmp_path):
    nb = _nb(_solution_cell("def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION"))
    del nb.cells[0]["id"]  # an id-less cell gets a stable id, not a random one
    (tmp_path / "src").mkdir()
    nbformat.write(nb, tmp_path / "src" / "01_x.ipynb")
    first = render(tmp_path / "src" / "01_x.ipynb")
    assert first == render(tmp_path / "src" / "01_x.ipynb")
    assert first.endswith(b"}\n")
    release_dir(tmp_path / "src", tmp_path / "dst")
    assert (tmp_path / "dst" / "01_x.ipynb").read_bytes() == first
    nbformat.validate(nbformat.read(tmp_path / "dst" / "01_x.ipynb", as_version=4))


def test_check_mode_lists_stale_missing_and_orphaned_files(tmp_path):
    src, dst = tmp_path / "solutions", tmp_path / "exercises"
    src.mkdir()
    nbformat.write(_nb(_solution_cell("x = 1")), src / "01_a.ipynb")
    nbformat.write(_nb(_solution_cell("y = 2")), src / "02_b.ipynb")
    release_dir(src, dst)
    assert check_dir(src, dst) == []
    (dst / "01_a.ipynb").write_text((dst / "01_a.ipynb").read_text().replace("YOUR CODE", "MY CODE"))
    (dst / "02_b.ipynb").unlink()
    nbformat.write(_nb(), dst / "99_old.ipynb")
    problems = check_dir(src, dst)
    assert len(problems) == 3
    assert any("01_a" in p and "out of sync" in p for p in problems)
    assert any("02_b" in p and "missing" in p for p in problems)
    assert any("99_old" in p for p in problems)


def test_command_line_writes_checks_and_reports_marker_errors(tmp_path, capsys):
    src, dst = tmp_path / "solutions", tmp_path / "exercises"
    src.mkdir()
    nbformat.write(_nb(_solution_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION")), src / "01_a.ipynb")
    assert main([str(src), str(dst), "--check"]) == 1
    assert main([str(src), str(dst)]) == 0
    nbformat.write(_nb(_solution_cell("### BEGIN SOLUTION\nx = 1")), src / "01_a.ipynb")
    capsys.readouterr()
    assert main([str(src), str(dst)]) == 1
    assert "01_a.ipynb, cell 0, line 1" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main([str(tmp_path / "nope"), str(dst)])
    assert info.value.code == 2


def test_python_dash_m_entry_point(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "course_lib.exercises.release", str(FIXTURES / "solutions"),
                           str(FIXTURES / "exercises"), "--check"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "in sync" in proc.stdout


def test_fixture_exercises_are_generated_from_fixture_solutions():
    assert check_dir(FIXTURES / "solutions", FIXTURES / "exercises") == []


def test_course_exercises_are_generated_from_solutions():
    """exercises/ must equal generate(solutions/): run `make exercises` after editing a solution."""
    if not any((ROOT / "solutions").glob("*.ipynb")):
        pytest.skip("no solutions notebooks yet")
    problems = check_dir(ROOT / "solutions", ROOT / "exercises")
    assert problems == [], "\n".join(problems) + "\nrun `make exercises`"


def test_every_solution_cell_has_a_stub_and_no_solution_text_leaks():
    for path in sorted((ROOT / "solutions").glob("*.ipynb")) + [FIXTURES / "solutions" / "01_fixture.ipynb"]:
        released = release_notebook(nbformat.read(path, as_version=4), name=path.name)
        for cell in released.cells:
            assert "BEGIN SOLUTION" not in cell.source and "HIDDEN TESTS" not in cell.source, path
            if cell.metadata.get("nbgrader", {}).get("solution") and cell.cell_type == "code":
                assert "raise NotImplementedError()" in cell.source, (path, cell.metadata)
