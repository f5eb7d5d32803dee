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
from course_lib.grading import cache, notebooks, report, runner, scoring

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "grading_fixtures"
SPECS = FIXTURES / "specs.py"
# PyPI's CUDA build of torch maps 3.1 GB of address space at import (Python 3.12/3.13 here): a
# 1.5 GB kernel could not even start: those runs get 1.5 GB plus what the CUDA build maps
MEMORY_MB = "1500" if torch.version.cuda is None else "4800"
LIMITS = ["--jobs", "2", "--timeout", "60", "--cell-timeout", "20", "--call-timeout", "1.5",
          "--memory-mb", MEMORY_MB, "--seed", "123", "--no-progress"]


def _load_fixture(name: str):
    spec = importlib.util.spec_from_file_location(f"grading_fixture_{name}", FIXTURES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


hostile = _load_fixture("hostile")
support = _load_fixture("support")
CASES = hostile.cases(Path("/unused"))
MARKER = f"course-grading-test-{os.getpid()}-{int(time.time())}"
SECRET = f"hunter2-{os.urandom(6).hex()}"

pytestmark = pytest.mark.timeout(900)


def grader(*args: str, solutions: Path = FIXTURES / "solutions", specs: Path | None = SPECS,
           limits: list[str] = LIMITS, timeout: float = 800, env: dict | None = None) -> subprocess.CompletedProcess:
    """The grader's command line, run from a frozen copy of the course (support.py says why)."""
    cmd = [*args, *limits]
    if solutions is not None:
        cmd += ["--solutions", str(solutions)]
    if specs is not None:
        cmd += ["--specs", str(specs)]
    return support.run_grader(*cmd, timeout=timeout, env=env)


def load(out: Path) -> dict:
    return json.loads((out / "grades.json").read_text(encoding="utf-8"))


def by_key(data: dict) -> dict[str, dict]:
    return {r["submission"]: r for r in data["submissions"]}


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    support.require_sandbox()
    tmp = tmp_path_factory.mktemp("grading")
    folder, out = tmp / "class", tmp / "out"
    expect = hostile.build(folder, tmp, out=out, marker=MARKER, secret=SECRET)
    # the secret is in the grader's environment: a kernel must not find it (read_secrets)
    proc = grader(str(folder), "--out", str(out), env={"COURSE_TEST_SECRET": SECRET})
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


def _left_behind() -> list[str]:
    """Processes started by this session's kernels: tagged with MARKER (not by user id: other
    graders may run at the same time under pytest -n)."""
    found = []
    for p in psutil.process_iter(["pid", "cmdline", "status"]):
        try:
            if MARKER in " ".join(p.info["cmdline"] or []) and p.info["status"] != psutil.STATUS_ZOMBIE:
                found.append(f"{p.info['pid']}: {' '.join(p.info['cmdline'] or [])[:120]}")
        except psutil.Error:
            pass
    return found


def test_nothing_outlives_the_batch(batch):
    """A daemonised orphan and a process that forks and exits every 5 ms (outlive_the_batch) are
    gone once the grader has returned (the sandbox's PID namespace dies with it). Death is not
    instantaneous, so this waits up to 10 s for the kernel to reap them."""
    assert batch["proc"].returncode == 0
    deadline = time.monotonic() + 10
    while _left_behind() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _left_behind()


def test_files_written_by_kernels_are_gone(batch):
    """/tmp, /dev/shm and HOME are the sandbox's own tmpfs (files_in_tmp); nothing written to the
    venv or the course (backdoor_next_run) or the output folder (poison_cache) exists."""
    import site

    leftovers = [Path(d) / f"{MARKER}-leftover" for d in ("/tmp", "/dev/shm", "/var/tmp", os.path.expanduser("~"))]
    course = support.frozen_course() / "course_lib"
    backdoors = [Path(d) / f"zz_{MARKER}.pth" for d in site.getsitepackages()]
    backdoors += [course / "exercises" / "specs" / "__pycache__" / f"zz_{MARKER}.cpython-311.pyc",
                  course / "__pycache__" / f"zz_{MARKER}.cpython-311.pyc"]
    found = [p for p in leftovers + backdoors if p.exists()]
    for p in found:
        p.unlink()  # never leave a planted file in the venv
    assert not found
    assert not (batch["out"] / ".cache" / "forged.json").exists()
    assert "forged" not in (batch["out"] / "grades.csv").read_text()


def test_a_huge_output_does_not_grow_the_worker(batch):
    """A 200 MB image output is dropped by ZeroMQ before the worker decodes it (it grew the
    worker to 1.6 GB before)."""
    rec = by_key(load(batch["out"]))["huge_image_output/01_fixture.ipynb"]
    assert rec["status"] == "graded" and rec["total"] == 5.0
    assert rec["worker_peak_rss_mb"] < 400, rec["worker_peak_rss_mb"]


def test_the_batch_ran_sandboxed_and_isolated(batch):
    run = load(batch["out"])["run"]
    assert run["sandbox"] is True
    assert run["isolation"]["isolated"] and run["isolation"]["no_site"]
    assert run["isolation"]["pycache_prefix"]


def test_output_flood_is_counted_not_kept(batch):
    rec = by_key(load(batch["out"]))["print_flood/01_fixture.ipynb"]
    assert rec["output"]["bytes"] > 1_000_000
    assert (batch["out"] / "grades.json").stat().st_size < 2_000_000


# ---------------------------------------------------------------- resume


def test_rerun_reuses_regrades_edits_and_gives_up_on_grader_killers(batch, tmp_path):
    folder, out = tmp_path / "class", tmp_path / "out"
    for name in ("correct", "partial", "png", "blank", "checks_edited_blank", "defined_later"):
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
    assert "5 reused" in proc.stdout
    assert report.feedback_path(out, "partial/01_fixture.ipynb").is_file()

    # an edited submission is graded again; the others are not
    fixed = hostile.solution()
    fixed.cells.append(hostile.new_markdown_cell("Fixed the sign."))
    hostile.nbformat.write(fixed, folder / "partial" / "01_fixture.ipynb")
    store = cache.ResultCache(out / ".cache")  # with the grader's key: as the grader itself writes
    rec = {k: again[f"{k}/01_fixture.ipynb"] for k in ("correct", "blank", "checks_edited_blank", "defined_later")}
    stored = {k: store.result_path(r["sha256"], r["version"]) for k, r in rec.items()}
    # a submission whose grading killed the grader twice while graded alone is not retried
    stored["correct"].unlink()
    store.set_attempts(rec["correct"]["sha256"], rec["correct"]["version"], {"alone": 2, "shared": 0})
    # ... but one that was merely graded NEXT TO such a submission is graded again, alone
    stored["defined_later"].unlink()
    store.set_attempts(rec["defined_later"]["sha256"], rec["defined_later"]["version"], {"alone": 0, "shared": 2})
    # forged results: a 99/99 record without the key, and a genuine record of another file
    forged = dict(rec["blank"], total=99.0, max_total=99.0)
    stored["blank"].write_text(json.dumps({"record": forged, "hmac": "0" * 64}))
    genuine = json.loads(store.result_path(again["partial/01_fixture.ipynb"]["sha256"],
                                           again["partial/01_fixture.ipynb"]["version"]).read_text())
    stored["checks_edited_blank"].write_text(json.dumps(genuine))

    proc = grader(str(folder), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    third = by_key(load(out))
    assert third["partial/01_fixture.ipynb"]["reused"] is False
    assert third["partial/01_fixture.ipynb"]["total"] == 5.0
    assert third["correct/01_fixture.ipynb"]["status"] == "crashed"
    assert "stopped the grader 2 times while it was graded alone" in third["correct/01_fixture.ipynb"]["reason"]
    honest = third["defined_later/01_fixture.ipynb"]
    assert (honest["status"], honest["total"], honest["reused"]) == ("graded", 5.0, False)
    for key in ("blank/01_fixture.ipynb", "checks_edited_blank/01_fixture.ipynb"):
        assert third[key]["reused"] is False and third[key]["total"] == 0.0
    rejected = {r["submission"]: r["reason"] for r in load(out)["cache_rejected"]}
    assert "signature does not match" in rejected["blank/01_fixture.ipynb"]
    assert "another sha256" in rejected["checks_edited_blank/01_fixture.ipynb"]
    assert "not trusted" in proc.stderr

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


def test_feedback_title_and_csv_cells_are_inert(tmp_path):
    """A file name is learner text too: the title is escaped, and no CSV cell can start a formula
    (a leading tab or carriage return included: spreadsheets strip them and read what follows)."""
    record = {"submission": "x/# Grade: 10 of 10 <script>\n.ipynb", "assignment": None, "status": "not-a-notebook",
              "reason": "", "total": 0, "max_total": 0, "cell_errors": [], "exercises": []}
    text = report.feedback_markdown(record)
    assert text.splitlines()[0] == "# Feedback: `x/# Grade: 10 of 10 <script> .ipynb`"
    rows = [dict(record, submission=name) for name in ("=1+1.ipynb", "\t=1+1.ipynb", "\r=cmd.ipynb", "@x", "ok")]
    report.write_csv(tmp_path / "g.csv", rows, [])
    with open(tmp_path / "g.csv", newline="", encoding="utf-8") as f:
        cells = [row["submission"] for row in csv.DictReader(f)]
    assert cells == ["'=1+1.ipynb", "'\t=1+1.ipynb", "' =cmd.ipynb", "'@x", "ok"]


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
    solutions = tmp_path / "solutions"  # a copy: lessons are being edited while the tests run
    solutions.mkdir()
    for path in assignments:
        shutil.copy(path, solutions / path.name)
    proc = grader(str(folder), "--out", str(tmp_path / "out"), solutions=solutions, specs=None,
                  limits=["--jobs", "2", "--seed", "5", "--no-progress"], timeout=1400)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for key, rec in by_key(load(tmp_path / "out")).items():
        detail = [(e["grade_id"], e["score"], e["notes"], e["message"],
                   [o["message"] for o in e["outcomes"] if not o["ok"]][:2]) for e in rec["exercises"]]
        if key.startswith("solved/"):
            assert rec["status"] == "graded" and rec["total"] == rec["max_total"] > 0, (key, rec["reason"], detail)
        else:
            assert rec["total"] == 0, (key, detail)
