"""Build a class's worth of submissions of the fixture assignment, most of them hostile.

``build(folder)`` writes one submission per entry of :data:`CASES` (most in a folder
per "learner", a few as flat files) and returns what the grader must make of each.
Every case is a small edit of the fixture solution or exercise notebook, written
out here so that the attack is readable next to its expected verdict.

Run ``python tests/grading_fixtures/hostile.py DIR`` to get the folder for a demo.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import sys
from collections.abc import Callable
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_raw_cell

HERE = Path(__file__).resolve().parent
SOLUTION = HERE / "solutions" / "01_fixture.ipynb"
EXERCISE = HERE / "exercises" / "01_fixture.ipynb"
FULL = {"t01_add": 2.0, "t01_scale": 3.0}
ZERO = {"t01_add": 0.0, "t01_scale": 0.0}
# cell indices in the fixture notebooks
IMPORTS, ADD, ADD_CHECK, SCALE, SCALE_CHECK = 1, 3, 4, 6, 7


@dataclasses.dataclass
class Expect:
    status: str
    scores: dict[str, float] | None  # None: not graded (no exercise rows)
    notes: dict[str, str] = dataclasses.field(default_factory=dict)  # grade_id -> a note it must carry
    reason: str = ""  # a substring of the submission's reason
    cell_error: str = ""  # an ename that must appear among the cell errors
    path: str = ""  # where the submission is written, relative to the folder


def solution() -> nbformat.NotebookNode:
    return nbformat.read(SOLUTION, as_version=4)


def exercise() -> nbformat.NotebookNode:
    return nbformat.read(EXERCISE, as_version=4)


def _set(nb, index: int, source: str):
    nb.cells[index].source = source
    return nb


def _insert(nb, index: int, source: str):
    nb.cells.insert(index, new_code_cell(source))
    return nb


def _add_body(body: str) -> str:
    return "def add(a, b):\n" + "".join(f"    {line}\n" for line in body.splitlines())


def _reordered():
    nb = solution()
    c = nb.cells
    nb.cells = [c[0], c[IMPORTS], c[ADD_CHECK], c[SCALE_CHECK], c[2], c[5], c[ADD], c[SCALE]]
    return nb


def _defined_later():
    nb = exercise()
    nb.cells.append(new_code_cell("def add(a, b):\n    return a + b\n\ndef scale(x, factor):\n    return x * factor"))
    return nb


def _without_scale():
    nb = solution()
    del nb.cells[SCALE:SCALE_CHECK + 1]
    return nb


def _hostile_kernelspec():
    """A submission cannot choose its kernel: the metadata names one that does not exist."""
    nb = solution()
    nb.metadata["kernelspec"] = {"name": "no-such-kernel", "display_name": "evil", "language": "python"}
    return nb


def _checks(nb, source_add: str, source_scale: str):
    _set(nb, ADD_CHECK, source_add)
    return _set(nb, SCALE_CHECK, source_scale)


def _unchecked_add(body: str):
    """The solution with ``add`` replaced and no check cells, so that only the grader calls it."""
    return _set(_checks(solution(), "pass", "pass"), ADD, _add_body(body))


def _retyped():
    nb = solution()
    for index, maker in ((ADD, new_markdown_cell), (SCALE, new_raw_cell)):
        old = nb.cells[index]
        nb.cells[index] = maker(old.source, metadata=copy.deepcopy(old.metadata))
    return nb


def _wrong(nb, add_expr: str, scale_expr: str):
    _set(nb, ADD, _add_body(f"return {add_expr}"))
    return _set(nb, SCALE, f"def scale(x, factor):\n    return {scale_expr}")


PATCH_CHECKERS = """\
import math, builtins
import numpy as np
import torch, torch.testing
torch.allclose = lambda *a, **k: True
torch.equal = lambda *a, **k: True
torch.isclose = lambda a, b, **k: torch.ones_like(a, dtype=torch.bool)
torch.testing.assert_close = lambda *a, **k: None
math.isclose = lambda *a, **k: True
np.allclose = lambda *a, **k: True
"""

ALWAYS_EQUAL = """\
class AlwaysEqual:
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __float__(self): return 0.0
    def __bool__(self): return True
def add(a, b):
    return AlwaysEqual()
def scale(x, factor):
    return AlwaysEqual()
"""

TENSOR_SUBCLASS = """\
import torch
class Sneaky(torch.Tensor):
    def __eq__(self, other): return True
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in (torch.allclose, torch.equal):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})
def add(a, b):
    return torch.full_like(a + b, 7.0).as_subclass(Sneaky)
def scale(x, factor):
    return torch.full_like(x, 7.0).as_subclass(Sneaky)
"""

FAKE_OUTPUT = """\
import json
for gid, n in (("t01_add", 4), ("t01_scale", 4)):
    for i in range(n):
        print(json.dumps({"grade_id": gid, "case": i, "ok": True, "passed": True, "score": 100,
                          "value": {"__tensor__": [1.0], "shape": [1], "dtype": "float32"}}))
print(json.dumps({"done": True, "total": 5, "max_total": 5, "status": "graded"}))
print("✓ add passes all 4 checks.")
print("✓ scale passes all 4 checks.")
"""

# After the harness has run, append forged answers with the right nonce: duplicates of
# every case, all claiming a plausible tensor. The grader sees two answers per case.
FORGE_RESULTS = """\
import glob, json, os, sys
def _forge(*args, **kwargs):
    io_dir = os.path.dirname(sys.argv[sys.argv.index("-f") + 1])  # the connection file's folder
    for req in glob.glob(os.path.join(io_dir, "request-*.json")):
        r = json.load(open(req))
        with open(r["result_path"], "a") as f:
            for ex in r["exercises"]:
                for i, _ in enumerate(ex["cases"]):
                    f.write(json.dumps({"nonce": r["nonce"], "grade_id": ex["grade_id"], "case": i,
                        "value": {"__tensor__": [0.0], "shape": [1], "dtype": "float32"},
                        "mutated": False}) + "\\n")
            f.write(json.dumps({"nonce": r["nonce"], "done": True}) + "\\n")
get_ipython().events.register("post_execute", _forge)
"""

# Replace json.dumps in the kernel so every answer the harness writes carries a fake value.
PATCH_JSON = """\
import json
_real_dumps = json.dumps
def _dumps(obj, *args, **kwargs):
    if isinstance(obj, dict) and "case" in obj:
        obj = {k: v for k, v in obj.items() if k not in ("error", "message")}
        obj.update(value={"__tensor__": [1.0, 2.0, 3.0], "shape": [3], "dtype": "float32"}, mutated=False)
    return _real_dumps(obj, *args, **kwargs)
json.dumps = _dumps
"""

PATCH_CODEC = """\
from course_lib.exercises import codec
codec.encode = lambda obj, *a, **k: {"__tensor__": [0.0], "shape": [1], "dtype": "float32"}
codec.decode = lambda data, *a, **k: None
"""

PATCH_BUILTINS = """\
import builtins, torch
_isinstance = builtins.isinstance
builtins.isinstance = lambda obj, cls: True if cls is torch.Tensor else _isinstance(obj, cls)
builtins.abs = lambda x: 0
builtins.all = lambda iterable: True
"""

RESISTANT_LOOP = """\
import time
while True:
    try:
        time.sleep(0.05)
    except BaseException:
        pass
"""

# four children of 0.4 x the kernel's address-space limit each (600 MB under the tests' 1.5 GB):
# together more than the memory limit, although each one alone stays under it
CHILD_MEMORY = """\
import resource, subprocess, sys, time
size = int(resource.getrlimit(resource.RLIMIT_AS)[0] * 0.4)
hogs = [subprocess.Popen([sys.executable, "-c",
        f"import time; b = bytearray({size}); b[::4096] = b'x' * len(b[::4096]); time.sleep(120)"])
        for _ in range(4)]
time.sleep(60)
"""


def _orphan(marker: str) -> str:
    """A daemonised process, tagged with ``marker`` in its command line so the test can look for it."""
    return ("import subprocess, sys\n"
            f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)  # {marker}-orphan'],\n"
            "                 start_new_session=True)\n")


# ---------------------------------------------------------------- attacks from inside the kernel
# Each of these was run against the grader before the sandbox and got the marks shown in
# issue 10. Most are "oracles": `add` answers right only if the attack reached what it must not
# reach, so a sandbox that leaks turns the expected 0 for `add` into 2 points (and `scale`,
# written honestly, keeps its 3).

def _oracle(attack: str) -> nbformat.NotebookNode:
    body = "".join(f"    {line}\n" for line in attack.strip("\n").splitlines())
    source = (f"import os, sys, glob, json, time\n\ndef _attack():\n{body}\n"
              "try:\n    _worked = bool(_attack())\nexcept Exception:\n    _worked = False\n\n"
              "def add(a, b):\n    if _worked:\n        return a + b\n    raise NotImplementedError\n")
    return _set(_checks(solution(), "pass", "pass"), ADD, source)


CMDLINE_ARGS = r"""
args = []
for pid in os.listdir("/proc"):
    if pid.isdigit():
        try:
            args += open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace").split("\0")
        except OSError:
            pass
"""


def _poison_cache(out: Path) -> str:
    # the output folder, from an ancestor's command line or (as a learner who guessed it) its path;
    # reached if the grader's key is there (a sandbox's own /tmp may have a folder of that name)
    return CMDLINE_ARGS + f"""
outs = [args[i + 1] for i, a in enumerate(args[:-1]) if a == "--out"] + [{str(out)!r}]
forged = {{"record": {{"total": 99, "max_total": 99, "status": "graded"}}, "hmac": "0" * 64}}
for out in outs:
    try:
        key = open(os.path.join(out, ".cache", "key"), "rb").read()
        for name in os.listdir(os.path.join(out, ".cache")) + ["forged.json"]:
            if name.endswith(".json"):
                with open(os.path.join(out, ".cache", name), "w") as f:
                    json.dump(forged, f)
        return bool(key)
    except OSError:
        pass
return False
"""


# Not pid 1: in the sandbox's PID namespace that is bubblewrap's init, which a kernel run by a
# grader that is not root shares its uid with, so signal 0 succeeds; but Linux discards SIGKILL,
# SIGSTOP and every signal init does not handle when sent from inside its namespace
# (pid_namespaces(7); measured: `kill -9 1` in such a sandbox returns 0 and init lives on), and
# killing it would only end the sender's own sandbox.
SIGNAL_OTHERS = """
import psutil
mine = {1, os.getpid(), *(c.pid for c in psutil.Process().children(recursive=True))}
for pid in map(int, filter(str.isdigit, os.listdir("/proc"))):
    if pid not in mine:
        try:
            os.kill(pid, 0)  # allowed to signal it: SIGKILL would have worked as well
            return True
        except OSError:
            pass
return False
"""

# Python 3.11's fork server runs any pickle a client sends to its socket
FORKSERVER = """
import socket
paths = glob.glob("/tmp/pymp-*/listener-*") + glob.glob("/tmp/*/pymp-*/listener-*")
try:
    paths += [line.split()[-1] for line in open("/proc/net/unix").read().splitlines()[1:]
              if "listener-" in line.split()[-1]]
except OSError:
    pass
for path in paths:
    try:
        s = socket.socket(socket.AF_UNIX)
        s.connect(path)
        return True
    except OSError:
        pass
return False
"""

READ_SECRETS = """
found = False
for pid in os.listdir("/proc"):
    try:
        found |= SECRET.encode() in open(f"/proc/{pid}/environ", "rb").read()
    except OSError:
        pass
return found or SECRET in str(os.environ)
"""

# connect to a classmate's kernel through its connection file and replace their functions
SABOTAGE = r"""
from jupyter_client import BlockingKernelClient
own = os.path.realpath(sys.argv[sys.argv.index("-f") + 1])
base = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(own))))  # every kernel's folder
found = False
deadline = time.monotonic() + 8
while time.monotonic() < deadline:
    for conn in set(glob.glob(base + "/**/kernel*.json", recursive=True)
                    + glob.glob("/tmp/**/kernel*.json", recursive=True)):
        if os.path.realpath(conn) == own:
            continue
        found = True
        try:
            kc = BlockingKernelClient(connection_file=conn)
            kc.load_connection_file()
            kc.start_channels()
            kc.execute("def add(a, b): return a - b\ndef scale(x, factor): return -x")
            kc.stop_channels()
        except Exception:
            pass
    time.sleep(0.2)
return found
"""

PROCESS_LIMIT = """
import subprocess
procs = []
try:
    for _ in range(350):
        procs.append(subprocess.Popen(["sleep", "30"]))
except OSError:
    pass
for p in procs:
    p.kill()
    p.wait()
return len(procs) >= 300
"""

BACKDOOR = r"""
import site, course_lib
written = False
targets = [os.path.join(d, "zz_MARKER.pth") for d in site.getsitepackages()]
pkg = os.path.dirname(course_lib.__file__)
targets += [os.path.join(pkg, "exercises", "specs", "__pycache__", "zz_MARKER.cpython-311.pyc"),
            os.path.join(pkg, "__pycache__", "zz_MARKER.cpython-311.pyc")]
for path in targets:
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write("# MARKER\n")
        written = True
    except OSError:
        pass
return written
"""


def _copy_classmate(folder: Path) -> str:
    return f"""
import glob, nbformat
for path in glob.glob({str(folder)!r} + "/**/*.ipynb", recursive=True):
    try:
        for cell in nbformat.read(path, 4).cells:
            if cell.cell_type == "code" and "def " in cell.source:
                exec(cell.source, globals())
    except Exception:
        pass
"""


BORROW_REFERENCE = """
from course_lib.exercises import core
for attempt in (lambda: core.get("t01_add").reference,
                lambda: core.import_specs(SPECS).ADD.reference,
                lambda: __import__("cour" + "se_lib.exercises.specs", fromlist=["x"]).EXERCISES[0].reference):
    try:
        add = attempt()
        break
    except Exception:
        pass
for attempt in (lambda: core.get("t01_scale").reference, lambda: core.import_specs(SPECS).SCALE.reference):
    try:
        scale = attempt()
        break
    except Exception:
        pass
"""

TMP_FILES = """
import os
for folder in ("/tmp", "/dev/shm", "/var/tmp", os.path.expanduser("~")):
    try:
        with open(os.path.join(folder, "MARKER-leftover"), "w") as f:
            f.write("left behind")
    except OSError:
        pass
"""

# a process that leaves the kernel's session and forks and exits every few milliseconds, so that
# no snapshot of the process tree ever holds it
OUTLIVE = '''
import subprocess, sys
subprocess.Popen([sys.executable, "-c", """
import os, time
if os.fork():
    os._exit(0)
os.setsid()
while True:
    time.sleep(0.005)
    if os.fork():
        os._exit(0)
# MARKER-outlive
"""], start_new_session=True)
'''

HUGE_IMAGE = """
from IPython.display import display
display({"image/png": "A" * (200 * 2**20)}, raw=True)
"""


def _with(nb, index: int, source: str, **replace: str):
    for key, value in replace.items():
        source = source.replace(key, value)
    return _insert(nb, index, source.strip("\n"))


def _bom() -> bytes:
    return b"\xef\xbb\xbf" + nbformat.writes(solution()).encode("utf-8")


NB3 = {"nbformat": 3, "nbformat_minor": 0, "metadata": {"name": ""},
       "worksheets": [{"cells": [{"cell_type": "code", "input": "def add(a, b):\n    return a + b",
                                  "language": "python", "outputs": [], "metadata": {}}], "metadata": {}}]}

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15"
       b"\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


def cases(tmp: Path, *, folder: Path | None = None, out: Path | None = None, marker: str = "MARKER",
          secret: str = "SECRET") -> dict[str, tuple[Callable[[], object], Expect]]:
    """name -> (builder returning a notebook, bytes or str; expected verdict). ``folder`` and
    ``out`` are the class folder and the grader's output folder (the attacks aim at them),
    ``marker`` tags what attacks leave behind, ``secret`` is in the grader's environment."""
    ok = Expect
    folder, out = folder or tmp / "class", out or tmp / "out"
    half = {"t01_add": 0.0, "t01_scale": 3.0}  # the attack failed; the honest `scale` still counts
    specs = str(HERE / "specs.py")
    return {
        # honest work
        "correct": (solution, ok("graded", FULL)),
        "blank": (exercise, ok("graded", ZERO, notes={"t01_add": "not-implemented", "t01_scale": "not-implemented"})),
        "partial": (lambda: _set(solution(), SCALE, "def scale(x, factor):\n    return x * abs(factor)"),
                    ok("graded", {"t01_add": 2.0, "t01_scale": 2.0})),
        "reordered": (_reordered, ok("graded", FULL, cell_error="NameError")),
        "defined_later": (_defined_later, ok("graded", FULL)),
        "deleted_cells": (_without_scale, ok("graded", {"t01_add": 2.0, "t01_scale": 0.0}, notes={"t01_scale": "missing-function"})),
        "retyped_solutions": (_retyped, ok("graded", ZERO, notes={"t01_add": "missing-function",
                                                                  "t01_scale": "missing-function"})),
        "checks_pass_correct": (lambda: _checks(solution(), "pass", "pass"), ok("graded", FULL)),
        # edited check cells do not matter
        "checks_edited_blank": (lambda: _checks(exercise(), "pass", 'print("✓ scale passes all 4 checks.")'),
                                ok("graded", ZERO)),
        # time
        "loop_top": (lambda: _insert(solution(), 2, "while True:\n    pass"),
                     ok("timeout", FULL, cell_error="CellTimeoutError", reason="interrupted")),
        "loop_resistant": (lambda: _insert(solution(), 2, RESISTANT_LOOP),
                           ok("timeout", ZERO, reason="in total")),
        "loop_in_function": (lambda: _unchecked_add("while True:\n    pass"),
                             ok("graded", {"t01_add": 0.0, "t01_scale": 3.0}, notes={"t01_add": "timeout"})),
        # exits and crashes
        "sys_exit": (lambda: _insert(_set(solution(), ADD, _add_body("import sys\nsys.exit(1)")), 2,
                                     "import sys\nsys.exit('bye')"),
                     ok("graded", {"t01_add": 0.0, "t01_scale": 3.0}, cell_error="SystemExit")),
        "os_exit_top": (lambda: _insert(solution(), 2, "import os\nos._exit(1)"),
                        ok("crashed", ZERO, reason="exit code 1")),
        "os_exit_in_function": (lambda: _unchecked_add("import os\nos._exit(3)"),
                                ok("crashed", ZERO, reason="calling the exercise functions")),
        "segfault": (lambda: _insert(solution(), 2, "import ctypes\nctypes.string_at(0)"),
                     ok("crashed", ZERO, reason="SIGSEGV")),
        # memory and output
        "memory_bomb_top": (lambda: _insert(solution(), 2, "hog = []\nwhile True:\n    hog.append(bytearray(50 * 2**20))"),
                            ok("graded", FULL, cell_error="MemoryError")),
        "memory_bomb_in_function": (lambda: _unchecked_add(
            "hog = [bytearray(50 * 2**20) for _ in range(10**6)]\nreturn a + b"),
            ok("graded", {"t01_add": 0.0, "t01_scale": 3.0})),
        "memory_in_children": (lambda: _insert(solution(), 2, CHILD_MEMORY),
                               ok("crashed", ZERO, reason="MB and was stopped")),
        "print_flood": (lambda: _insert(solution(), 2, "for i in range(200_000):\n    print(i)"), ok("graded", FULL)),
        # cheats: wrong answers dressed up as right ones
        "patch_checkers": (lambda: _insert(_wrong(solution(), "torch.full_like(a + b, 7.0)", "torch.full_like(x, 7.0)"),
                                           2, PATCH_CHECKERS), ok("graded", ZERO)),
        "patch_builtins": (lambda: _insert(_wrong(solution(), "a", "x"), 2, PATCH_BUILTINS), ok("graded", ZERO)),
        "always_equal": (lambda: _insert(exercise(), 8, ALWAYS_EQUAL), ok("graded", ZERO)),
        "tensor_subclass": (lambda: _insert(exercise(), 8, TENSOR_SUBCLASS), ok("graded", ZERO)),
        "fake_output": (lambda: _insert(exercise(), 2, FAKE_OUTPUT), ok("graded", ZERO)),
        "forge_results": (lambda: _insert(exercise(), 2, FORGE_RESULTS),
                          ok("graded", ZERO, notes={"t01_add": "malformed-result", "t01_scale": "malformed-result"})),
        "patch_json": (lambda: _insert(exercise(), 2, PATCH_JSON), ok("graded", ZERO)),
        "patch_codec": (lambda: _insert(_wrong(solution(), "None", "None"), 2, PATCH_CODEC), ok("graded", ZERO)),
        # not notebooks, broken notebooks, strangers
        "malformed_json": (lambda: SOLUTION.read_text()[:300], ok("invalid-notebook", None, reason="not valid JSON")),
        "nbformat3": (lambda: json.dumps(NB3), ok("invalid-notebook", None, reason="nbformat 3")),
        "invalid_schema": (lambda: json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                                               "cells": [{"cell_type": "code", "metadata": {}}]}),
                           ok("invalid-notebook", None, reason="not a valid nbformat 4 notebook")),
        "json_array": (lambda: "[1, 2, 3]", ok("invalid-notebook", None, reason="not a notebook")),
        "empty": (lambda: b"", ok("not-a-notebook", None, reason="empty")),
        "png": (lambda: PNG, ok("not-a-notebook", None, reason="PNG")),
        "homework": (solution, ok("unknown-assignment", None, path="stranger/homework.ipynb")),
        # flat file names, and a browser's "(1)" copy suffix
        "flat_with_orphan": (lambda: _insert(solution(), 2, _orphan(marker)),
                             ok("graded", FULL, path="zed_01_fixture.ipynb")),
        "copy_suffix_hostile_kernelspec": (_hostile_kernelspec, ok("graded", FULL, path="yan/01_fixture (1).ipynb")),
        "utf8_byte_order_mark": (_bom, ok("graded", FULL)),
        # issue 10: attacks from inside the kernel (the sandbox's job)
        "poison_cache": (lambda: _oracle(_poison_cache(out)), ok("graded", half)),
        "signal_the_grader": (lambda: _oracle(SIGNAL_OTHERS), ok("graded", half)),
        "forkserver_socket": (lambda: _oracle(FORKSERVER), ok("graded", half)),
        "read_secrets": (lambda: _oracle(READ_SECRETS.replace("SECRET", repr(secret))), ok("graded", half)),
        "sabotage_classmates": (lambda: _oracle(SABOTAGE), ok("graded", half)),
        "process_limit": (lambda: _oracle(PROCESS_LIMIT), ok("graded", half)),
        "backdoor_next_run": (lambda: _oracle(BACKDOOR.replace("MARKER", marker)), ok("graded", half)),
        "copy_classmate": (lambda: _insert(exercise(), 8, _copy_classmate(folder)),
                           ok("graded", ZERO, notes={"t01_add": "not-implemented"})),
        "borrow_reference": (lambda: _with(exercise(), 8, BORROW_REFERENCE, SPECS=repr(specs)),
                             ok("graded", ZERO, notes={"t01_add": "not-implemented"})),
        "files_in_tmp": (lambda: _with(solution(), 2, TMP_FILES, MARKER=marker), ok("graded", FULL)),
        "outlive_the_batch": (lambda: _with(solution(), 2, OUTLIVE, MARKER=marker), ok("graded", FULL)),
        "huge_image_output": (lambda: _with(solution(), 2, HUGE_IMAGE), ok("graded", FULL)),
        # forbidden shortcuts: `add` must not call torch.add (a tripwire in the kernel)
        "forbidden_torch_add": (lambda: _unchecked_add("return torch.add(a, b)"),
                                ok("graded", half, notes={"t01_add": "forbidden-shortcut"})),
        "forbidden_method": (lambda: _unchecked_add("return a.add(b)"),
                             ok("graded", half, notes={"t01_add": "forbidden-shortcut"})),
        "forbidden_rebound": (lambda: _insert(_unchecked_add("return torch.add(a, b)"), 2,
                                              "import torch\n_real = torch.add\ntorch.add = lambda a, b: _real(a, b)"),
                              ok("graded", half, notes={"t01_add": "forbidden-shortcut"})),
        "forbidden_tripwire_off": (lambda: _unchecked_add("import sys\nsys.setprofile(None)\nreturn torch.add(a, b)"),
                                   ok("graded", half, notes={"t01_add": "forbidden-shortcut"})),
    }


def key_of(name: str, expect: Expect) -> str:
    return expect.path or f"{name}/01_fixture.ipynb"


def build(folder: Path, tmp: Path | None = None, only: list[str] | None = None,
          **context) -> dict[str, Expect]:
    """Write the submissions under ``folder``; returns submission key -> expectation."""
    tmp = tmp or folder
    out = {}
    for name, (make, expect) in cases(tmp, folder=folder, **context).items():
        if only is not None and name not in only:
            continue
        rel = key_of(name, expect)
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        content = make()
        if isinstance(content, nbformat.NotebookNode):
            nbformat.write(content, path)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        out[rel] = expect
    return out


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "hostile_submissions")
    print(f"wrote {len(build(target))} submissions to {target}")
