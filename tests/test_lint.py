"""`make lint` is clean: ruff with the project's rules over the library, tests, tools, benchmarks
and the code in every lesson, solutions and exercise notebook (ruff reads .ipynb natively)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUFF = Path(sys.executable).parent / "ruff"


def test_ruff_is_clean_on_code_and_notebooks():
    proc = subprocess.run([str(RUFF), "check", "--output-format", "concise", "."], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_reads_the_notebooks():
    """Guard against a config change that silently stops linting notebooks."""
    proc = subprocess.run([str(RUFF), "check", "--show-files", "."], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    files = proc.stdout
    for folder in ("notebooks", "solutions", "exercises"):
        for nb in (ROOT / folder).glob("*.ipynb"):
            assert str(nb) in files, f"ruff does not check {nb.relative_to(ROOT)}"
