"""The autograder against a class of honest, broken and hostile submissions.

One batch (module fixture) grades every submission built by
``tests/grading_fixtures/hostile.py`` through the real command line, in parallel;
the tests then check each verdict, the reports, resume, and exit codes. Smaller
tests exercise the pieces (validation, result parsing, feedback, atomic writes,
the watchdog) in this process.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import torch

from course_lib.exercises import codec, core
from course_lib.exercises.release import render
from course_lib.grading import notebooks, report, runner, scoring

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "grading_fixtures"
SPECS = FIXTURES / "specs.py"
LIMITS = ["--jobs", "2", "--timeout", "60", "--cell-timeout", "20", "--call-timeout", "1.5",
          "--memory-mb", "1500", "--seed", "123", "--no-progress"]


def _load_fixture(name: str):
    spec = importlib.util.spec_from_file_location(f"grading_fixture_{name}", FIXTURES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


hostile = _load_fixture("hostile")
CASES = hostile.cases(Path("/unused"))

pytestmark = pytest.mark.timeout(900)


def grader(*args: str, solutions: Path = FIXTURES / "solutions", specs: Path | None = SPECS,
           limits: list[str] = LIMITS, timeout: float = 800) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "course_lib.grading", *args, *limits]
    if solutions is not None:
        cmd += ["--solutions", str(solutions)]
    if specs is not None:
        cmd += ["--specs", str(specs)]
    env = {k: v for k, v in os.environ.items() if k != core.SPECS_ENV}
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env)


def load(out: Path) -> dict:
    return json.loads((out / "grades.json").read_text(encoding="utf-8"))


def by_key(data: dict) -> dict[str, dict]:
    return {r["submission"]: r for r in data["submissions"]}


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("grading")
    folder = tmp / "class"
    expect = hostile.build(folder, tmp)
    out = tmp / "out"
    proc = grader(str(folder), "--out", str(out))
    return {"tmp": tmp, "folder": folder, "out": out, "expect": expect, "proc": proc}


# ---------------------------------------------------------------- the hostile class


def test_batch_finishes_with_exit_0_and_a_summary(batch):
    proc = batch["proc"]
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert f"{len(batch['expect'])} submission(s)" in proc.stdout


def test_every_input_appears_in_every_report(batch):
    out, expect = batch["out"], batch["expect"]
    data = load(out)
    assert set(by_key(data)) == set(expect)
    with open(out / "grades.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["submission"] for r in rows] == sorted(expect)
    assert list(rows[0]) == ["submission", "status", "t01_add", "t01_scale", "total", "max_total"]
    for key in expect:
        assert report.feedback_path(out, key).is_file(), key
    assert not list(out.rglob("*.tmp")), "temporary files left behind"


@pytest.mark.parametrize("name", list(CASES))
def test_verdict(batch, name):
    key = hostile.key_of(name, CASES[name][1])
    expect = batch["expect"][key]
    record = by_key(load(batch["out"]))[key]
    exercises = [(e["grade_id"], e["score"], e["notes"], e["message"]) for e in record["exercises"]]
    summary = f"{key}: {record['status']} {record['reason']!r} {exercises} {record['cell_errors'][:3]}"
    assert record["status"] == expect.status, summary
    if expect.scores is None:
        assert record["exercises"] == [] and record["total"] == 0, summary
        # the row still says out of how much, when the name gives the assignment
        assert record["max_total"] == (0.0 if expect.status == "unknown-assignment" else 5.0)
    else:
        assert {e["grade_id"]: e["score"] for e in record["exercises"]} == expect.scores, summary
        assert record["total"] == sum(expect.scores.values())
        assert record["max_total"] == 5.0
    for grade_id, note in expect.notes.items():
        ex = next(e for e in record["exercises"] if e["grade_id"] == grade_id)
        assert note in ex["notes"], summary
    assert expect.reason in record["reason"], summary
    if expect.cell_error:
        assert any(e["ename"] == expect.cell_error for e in record["cell_errors"]), summary


def test_csv_matches_json(batch):
    data = by_key(load(batch["out"]))
    with open(batch["out"] / "grades.csv", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            rec = data[row["submission"]]
            assert row["status"] == rec["status"]
            assert float(row["total"]) == rec["total"]
            for e in rec["exercises"]:
                assert float(row[e["grade_id"]]) == e["score"]


def test_feedback_shows_visible_failures_never_hidden_inputs(batch):
    out = batch["out"]
    partial = report.feedback_path(out, "partial/01_fixture.ipynb").read_text(encoding="utf-8")
    assert "a hidden case failed" in partial
    assert "negative factor" not in partial  # the hidden case's name
    assert "x * factor" not in partial  # the reference
    assert "Hint: multiply every entry by `factor`." in partial
    assert "3 / 3" not in partial and "2 / 3" in partial
    blank = report.feedback_path(out, "blank/01_fixture.ipynb").read_text(encoding="utf-8")
    assert "not implemented yet" in blank
    correct = report.feedback_path(out, "correct/01_fixture.ipynb").read_text(encoding="utf-8")
    assert "✓ passes all 4 checks." in correct and "5 / 5" in correct
    invalid = report.feedback_path(out, "nbformat3/01_fixture.ipynb").read_text(encoding="utf-8")
    assert "invalid-notebook" in invalid and "nbformat 3" in invalid
    loop = report.feedback_path(out, "loop_in_function/01_fixture.ipynb").read_text(encoding="utf-8")
    assert "took longer than 1.5 s" in loop


def test_grades_json_carries_cases_seed_and_versions(batch):
    data = load(batch["out"])
    assert data["run"]["seed"] == 123
    assert data["grader"]["torch"] == torch.__version__
    assert data["assignments"]["01_fixture"]["max_total"] == 5.0
    rec = by_key(data)["partial/01_fixture.ipynb"]
    scale = next(e for e in rec["exercises"] if e["grade_id"] == "t01_scale")
    assert [o["hidden"] for o in scale["outcomes"]] == [False, False, True, False]
    assert [o["ok"] for o in scale["outcomes"]] == [True, True, False, True]
    assert "wrong sign" in scale["outcomes"][2]["message"]  # kept for the instructor
    assert rec["seed"] and rec["sha256"] and rec["version"]


def test_submissions_get_different_cases(batch):
    data = by_key(load(batch["out"]))
    assert data["correct/01_fixture.ipynb"]["seed"] != data["partial/01_fixture.ipynb"]["seed"]


def test_leftover_processes_are_killed(batch):
    pid = int((batch["tmp"] / "orphan.pid").read_text())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                break
        except psutil.NoSuchProcess:
            break
        time.sleep(0.2)
    else:
        pytest.fail(f"the orphaned process {pid} survived grading")


def test_output_flood_is_counted_not_kept(batch):
    rec = by_key(load(batch["out"]))["print_flood/01_fixture.ipynb"]
    assert rec["output"]["bytes"] > 1_000_000
    assert (batch["out"] / "grades.json").stat().st_size < 2_000_000


# ---------------------------------------------------------------- resume


def test_rerun_reuses_regrades_edits_and_gives_up_on_grader_killers(batch, tmp_path):
    folder, out = tmp_path / "class", tmp_path / "out"
    for name in ("correct", "partial", "png"):
        shutil.copytree(batch["folder"] / name, folder / name)
    assert grader(str(folder), "--out", str(out)).returncode == 0
    first = by_key(load(out))
    assert not first["correct/01_fixture.ipynb"]["reused"]

    # the same command again: nothing is executed
    proc = grader(str(folder), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    again = by_key(load(out))
    assert again["correct/01_fixture.ipynb"]["reused"] and again["partial/01_fixture.ipynb"]["reused"]
    assert again["correct/01_fixture.ipynb"]["total"] == 5.0 and again["partial/01_fixture.ipynb"]["total"] == 4.0
    assert "2 reused" in proc.stdout
    assert report.feedback_path(out, "partial/01_fixture.ipynb").is_file()

    # an edited submission is graded again; the others are not
    fixed = hostile.solution()
    fixed.cells.append(hostile.new_markdown_cell("Fixed the sign."))
    hostile.nbformat.write(fixed, folder / "partial" / "01_fixture.ipynb")
    # and a submission whose grading killed the grader twice (a marker left by two runs) is not retried
    rec = again["correct/01_fixture.ipynb"]
    stored = out / ".cache" / f"{rec['sha256'][:32]}-{rec['version'][:16]}.json"
    stored.unlink()
    stored.with_suffix(".attempts").write_text("2")
    assert grader(str(folder), "--out", str(out)).returncode == 0
    third = by_key(load(out))
    assert third["partial/01_fixture.ipynb"]["reused"] is False
    assert third["partial/01_fixture.ipynb"]["total"] == 5.0
    assert third["correct/01_fixture.ipynb"]["status"] == "crashed"
    assert "stopped the grader 2 times" in third["correct/01_fixture.ipynb"]["reason"]

    # --force grades everything again, attempts or not
    assert grader(str(folder / "correct"), "--out", str(out), "--force").returncode == 0
    forced = by_key(load(out))["01_fixture.ipynb"]
    assert forced["reused"] is False and forced["status"] == "graded" and forced["total"] == 5.0


# ---------------------------------------------------------------- command line


def test_usage_errors_exit_2(tmp_path):
    assert grader(str(tmp_path / "missing"), "--out", str(tmp_path / "o")).returncode == 2
    assert grader(str(tmp_path), "--out", str(tmp_path / "o"), "--jobs", "0").returncode == 2
    assert grader(str(tmp_path)).returncode == 2  # no --out
    proc = grader(str(tmp_path), "--out", str(tmp_path / "o"), solutions=tmp_path / "nope")
    assert proc.returncode == 2 and "solutions" in proc.stderr
    proc = grader(str(tmp_path), "--out", str(tmp_path / "o"), specs=tmp_path / "nope.py")
    assert proc.returncode == 2 and "specs" in proc.stderr


def test_an_empty_folder_is_a_finished_batch(tmp_path):
    (tmp_path / "class").mkdir()
    proc = grader(str(tmp_path / "class"), "--out", str(tmp_path / "o"))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "o" / "grades.csv").read_text().startswith("submission,status,")
    assert load(tmp_path / "o")["submissions"] == []


# ---------------------------------------------------------------- pieces, in this process


@pytest.fixture(scope="module")
def fixture_exercises():
    core.import_specs(str(SPECS))
    registry = core.all_exercises()
    return [registry["t01_add"], registry["t01_scale"]]


def _line(nonce, **rec):
    return json.dumps({"nonce": nonce, **rec})


def test_results_need_the_nonce_and_one_answer_per_case(fixture_exercises):
    prepared = [scoring.prepare(e, 7) for e in fixture_exercises]
    add = prepared[0]
    right = [_line("n0", grade_id="t01_add", case=i, value=codec.encode(add.expected[i]), mutated=False)
             for i in range(4)]
    forged = _line("guess", grade_id="t01_add", case=0, value=codec.encode(add.expected[0]), mutated=False)
    garbage = ["not json", "[" * 100_000, '{"nonce": "n0", "grade_id": 5}', "9" * 5000]
    parsed = scoring.parse_results("\n".join([forged, *garbage, *right]), "n0", prepared)
    assert parsed.ignored_lines == 1 + len(garbage)
    results = scoring.score_exercises(prepared, parsed, call_timeout=1, not_run_reason="")
    assert results[0]["score"] == 2.0 and results[1]["notes"] == ["no-result"]

    duplicated = scoring.parse_results("\n".join([*right, right[0]]), "n0", prepared)
    results = scoring.score_exercises(prepared, duplicated, call_timeout=1, not_run_reason="")
    assert results[0]["score"] == 0.0 and "malformed-result" in results[0]["notes"]


@pytest.mark.parametrize("value", [
    {"__tensor__": [1.0], "shape": [2], "dtype": "float32"},  # shape does not match
    {"__tensor__": "x", "shape": [1], "dtype": "float32"},
    {"__fn__": "os.system"},
    {"__class__": "AlwaysEqual"},
    {"__seq__": [{"__tensor__": [{"__float__": "evil"}], "shape": [1], "dtype": "float32"}]},
])
def test_unreadable_answers_score_zero(fixture_exercises, value):
    prepared = [scoring.prepare(fixture_exercises[0], 1)]
    lines = [_line("n", grade_id="t01_add", case=i, value=value, mutated=False) for i in range(4)]
    results = scoring.score_exercises(prepared, scoring.parse_results("\n".join(lines), "n", prepared),
                                      call_timeout=1, not_run_reason="")
    assert results[0]["score"] == 0.0 and "malformed-result" in results[0]["notes"]


def test_an_answer_that_claims_no_mutation_must_say_so(fixture_exercises):
    prepared = [scoring.prepare(fixture_exercises[0], 1)]
    lines = [_line("n", grade_id="t01_add", case=i, value=codec.encode(prepared[0].expected[i]))
             for i in range(4)]  # no "mutated": false
    results = scoring.score_exercises(prepared, scoring.parse_results("\n".join(lines), "n", prepared),
                                      call_timeout=1, not_run_reason="")
    assert results[0]["score"] == 0.0 and "in place" in results[0]["outcomes"][0]["message"]


def test_cases_and_references_come_from_the_grader_seed(fixture_exercises):
    a, b, c = (scoring.prepare(fixture_exercises[1], s) for s in (1, 1, 2))
    assert a.encoded == b.encoded and a.encoded != c.encoded
    assert torch.equal(a.expected[0], a.cases[0].args[0] * a.cases[0].args[1])


def test_check_notebook_statuses(tmp_path):
    cases = {
        "empty.ipynb": (b"", "not-a-notebook"),
        "blank.ipynb": (b"   \n", "not-a-notebook"),
        "text.ipynb": (b"hello", "not-a-notebook"),
        "pdf.ipynb": (b"%PDF-1.4 ...", "not-a-notebook"),
        "latin1.ipynb": ('{"x": "\xe9"}'.encode("latin-1"), "not-a-notebook"),
        "cut.ipynb": (b'{"cells": [', "invalid-notebook"),
        "deep.ipynb": (b"[" * 100_000, "invalid-notebook"),
        "v3.ipynb": (json.dumps(hostile.NB3).encode(), "invalid-notebook"),
        "good.ipynb": (hostile.SOLUTION.read_bytes(), "ok"),
    }
    for name, (data, status) in cases.items():
        (tmp_path / name).write_bytes(data)
        assert notebooks.check_notebook(tmp_path / name)[0] == status, name
    assert notebooks.check_notebook(tmp_path)[0] == "not-a-notebook"  # a folder


def test_assignment_from_file_name():
    stems = ["01_loss_functions", "02_learning_rate", "11_loss_functions"]
    match = notebooks.match_assignment
    assert match("01_loss_functions.ipynb", stems) == "01_loss_functions"
    assert match("alice_01_loss_functions.ipynb", stems) == "01_loss_functions"
    assert match("01_loss_functions (2).ipynb", stems) == "01_loss_functions"
    assert match("loss_functions.ipynb", stems) is None
    assert match("01_loss_functions_v2.ipynb", stems) is None
    assert match("x11_loss_functions.ipynb", stems) == "11_loss_functions"


def test_discover_walks_folders_and_skips_checkpoints(tmp_path):
    (tmp_path / "a" / ".ipynb_checkpoints").mkdir(parents=True)
    (tmp_path / "a" / "01_x.ipynb").write_text("{}")
    (tmp_path / "a" / ".ipynb_checkpoints" / "01_x-checkpoint.ipynb").write_text("{}")
    (tmp_path / "a" / "notes.txt").write_text("")
    (tmp_path / "b_01_x.ipynb").write_text("{}")
    keys = [s.key for s in notebooks.discover([tmp_path])]
    assert keys == ["a/01_x.ipynb", "b_01_x.ipynb"]
    assert [s.key for s in notebooks.discover([tmp_path / "b_01_x.ipynb"])] == ["b_01_x.ipynb"]


def test_feedback_makes_learner_text_inert():
    record = {"submission": "x.ipynb", "assignment": "01_fixture", "status": "graded", "reason": "",
              "total": 0, "max_total": 2, "cell_errors": [{"cell": 1, "ename": "E", "evalue": "``` <script>\n# H"}],
              "exercises": [{"grade_id": "g", "function": "f", "points": 2, "score": 0, "passed": 0,
                             "message": "", "hint": "", "notes": [],
                             "outcomes": [{"case": "c", "hidden": False, "ok": False, "message": "raised X: `a`\n# b"}]}]}
    text = report.feedback_markdown(record)
    assert "\n# b" not in text and "\n# H" not in text
    assert "```` ``` <script> # H ````" in text


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "grades.csv"
    report.atomic_write(target, "old\n")

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        report.atomic_write(target, "new\n")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["grades.csv"]


@pytest.mark.timeout(60)
def test_watchdog_kills_a_process_tree_over_its_memory_limit():
    code = "import time; b = bytearray(200 * 2**20); b[::4096] = b'x' * len(b[::4096]); time.sleep(60)"
    proc = subprocess.Popen([sys.executable, "-c", code])
    try:
        dog = runner.Watchdog(proc.pid, memory_bytes=100 * 2**20, deadline=time.monotonic() + 50, interval=0.1)
        dog.start()
        dog.join(30)
        assert dog.reason == "memory"
        assert proc.wait(10) < 0
    finally:
        proc.kill()


@pytest.mark.timeout(60)
def test_watchdog_enforces_the_deadline():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dog = runner.Watchdog(proc.pid, memory_bytes=2**40, deadline=time.monotonic() + 1, interval=0.1)
        dog.start()
        dog.join(20)
        assert dog.reason == "timeout" and proc.wait(10) < 0
    finally:
        proc.kill()


def test_kernel_environment_carries_no_secrets(monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "hunter2")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_x")
    job = {"limits": {"threads": 1}, "python_path": [str(ROOT)], "extra_specs": []}
    env = runner.kernel_env(job, tmp_path)
    assert "hunter2" not in env.values() and "GITHUB_TOKEN" not in env
    assert env["HOME"] == str(tmp_path)


# ---------------------------------------------------------------- the real course


def _real_assignments() -> list[Path]:
    solutions = sorted((ROOT / "solutions").glob("*.ipynb"))
    if not solutions:
        return []
    registry = core.all_exercises()
    graded = []
    for path in solutions:
        ids = notebooks.load_assignments(ROOT / "solutions")[path.stem].grade_ids
        if ids and all(i in registry for i in ids):
            graded.append(path)
    return graded


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_real_solutions_score_full_and_exercises_zero(tmp_path):
    assignments = _real_assignments()
    if not assignments:
        pytest.skip("no solutions notebooks with registered exercises yet")
    folder = tmp_path / "class"
    (folder / "solved").mkdir(parents=True)
    (folder / "blank").mkdir()
    for path in assignments:
        shutil.copy(path, folder / "solved" / path.name)
        # the released version, as `make exercises` writes it (tests/test_generate.py keeps exercises/ equal)
        (folder / "blank" / path.name).write_bytes(render(path))
    proc = grader(str(folder), "--out", str(tmp_path / "out"), solutions=ROOT / "solutions", specs=None,
                  limits=["--jobs", "2", "--seed", "5", "--no-progress"], timeout=1400)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for key, rec in by_key(load(tmp_path / "out")).items():
        detail = [(e["grade_id"], e["score"], e["notes"], e["message"],
                   [o["message"] for o in e["outcomes"] if not o["ok"]][:2]) for e in rec["exercises"]]
        if key.startswith("solved/"):
            assert rec["status"] == "graded" and rec["total"] == rec["max_total"] > 0, (key, rec["reason"], detail)
        else:
            assert rec["total"] == 0, (key, detail)
