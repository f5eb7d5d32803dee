"""The grading kernel's entry point, inside the sandbox: arm the tripwire, then start ipykernel.

``python -m course_lib.grading.kernel_boot CONFIG.json -f CONNECTION.json [ipykernel options]``

CONFIG holds the forbidden shortcuts of the assignment's exercises (``Exercise.forbidden``:
dotted names of functions, classes or modules, e.g. ``torch.nn.functional.cross_entropy`` or
``torch.optim``). They are resolved here, BEFORE any learner code runs, into the code objects
and built-in functions they name, so a learner who later rebinds ``F.cross_entropy`` to a
wrapper still calls the original underneath and is seen. The grading harness then calls each
exercise's function under :func:`watch`, a ``sys.setprofile`` hook that records every call of
a forbidden target (Python frames by code object or module, C functions by identity).

This is a TRIPWIRE, not a boundary: it runs in the learner's process, which can switch the
hook off, copy torch's source, or compute the answer some other way. It catches the honest
shortcut ("I'll just call F.cross_entropy"), which is what it is for; the sandbox is the
boundary. Switching the hook off during a call is itself reported.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import threading
import time
import types

__all__ = ["watch", "resolve", "Targets"]

# taken before any learner code can replace them
_setprofile, _getprofile = sys.setprofile, sys.getprofile
_thread_setprofile = threading.setprofile
_TAMPER = {sys.setprofile, sys.settrace}
_TAMPER_CODES = {threading.setprofile.__code__, threading.settrace.__code__}
_TAMPER_NAME = "<the grader's call tracing was switched off>"


class Targets:
    """The forbidden names of one exercise, resolved to what a profile hook can match."""

    def __init__(self) -> None:
        self.codes: dict[types.CodeType, str] = {}
        self.builtins: dict[object, str] = {}
        self.methods: list[tuple[type, str, str]] = []  # (class, method name, forbidden name)
        self.modules: list[tuple[str, str]] = []  # (module prefix, forbidden name)
        self.unresolved: list[str] = []

    def add(self, name: str) -> None:
        try:
            obj = resolve(name)
        except Exception:
            self.unresolved.append(name)
            return
        if isinstance(obj, types.ModuleType):
            self.modules.append((obj.__name__, name))
        elif isinstance(obj, type):
            for value in vars(obj).values():
                for fn in (value, getattr(value, "__func__", None), getattr(value, "fget", None)):
                    self._add_function(fn, name)
        elif isinstance(obj, (types.MethodDescriptorType, types.WrapperDescriptorType)):
            self.methods.append((obj.__objclass__, obj.__name__, name))
        elif isinstance(obj, types.BuiltinFunctionType):
            self.builtins[obj] = name
        elif not self._add_function(obj, name):
            self.unresolved.append(name)

    def _add_function(self, fn, name: str) -> bool:
        found = False
        while fn is not None:
            code = getattr(fn, "__code__", None)
            if isinstance(code, types.CodeType):
                self.codes[code] = name
                found = True
            fn = getattr(fn, "__wrapped__", None)
        return found


def resolve(name: str):
    """The object a dotted name names: the longest importable module prefix, then attributes."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(name)


_RESOLVED: dict[tuple[str, ...], Targets] = {}


def targets(names) -> Targets:
    key = tuple(sorted(names))
    if key not in _RESOLVED:
        t = Targets()
        for name in key:
            t.add(name)
        _RESOLVED[key] = t
    return _RESOLVED[key]


class watch:  # noqa: N801 (used as a context manager, like a function)
    """``with watch(names) as hits: fn(...)``; ``hits`` is the set of forbidden names called."""

    def __init__(self, names) -> None:
        self.targets = targets(names)
        self.hits: set[str] = set()
        self._closing = False  # our own switching off is not tampering
        self._installed = self._hook  # one bound method: compared by identity below

    def _hook(self, frame, event, arg) -> None:
        t = self.targets
        try:
            if event == "call":
                code = frame.f_code
                if code in _TAMPER_CODES:
                    if not self._closing:
                        self.hits.add(_TAMPER_NAME)
                elif code in t.codes:
                    self.hits.add(t.codes[code])
                elif t.modules:
                    module = frame.f_globals.get("__name__") or ""
                    for prefix, name in t.modules:
                        if module == prefix or module.startswith(prefix + "."):
                            self.hits.add(name)
            elif event == "c_call":
                if arg in _TAMPER:
                    if not self._closing:
                        self.hits.add(_TAMPER_NAME)
                    return
                if arg in t.builtins:
                    self.hits.add(t.builtins[arg])
                    return
                owner = getattr(arg, "__self__", None)
                for cls, method, name in t.methods:
                    if isinstance(owner, cls) and getattr(arg, "__name__", None) == method:
                        self.hits.add(name)
        except Exception:  # a hook that raises would be removed by Python; never raise
            pass

    def __enter__(self) -> set[str]:
        if self.targets.codes or self.targets.builtins or self.targets.methods or self.targets.modules:
            _thread_setprofile(self._installed)
            _setprofile(self._installed)
        return self.hits

    def __exit__(self, *exc) -> None:
        active = self.targets.codes or self.targets.builtins or self.targets.methods or self.targets.modules
        if active and _getprofile() is not self._installed:
            self.hits.add(_TAMPER_NAME)
        self._closing = True
        _setprofile(None)
        _thread_setprofile(None)


def main(argv: list[str]) -> None:
    import json

    config_path, rest = argv[0], argv[1:]
    with open(config_path, encoding="utf-8") as f:
        config = json.load(f)
    t0 = time.monotonic()
    for names in config.get("forbidden", {}).values():
        if names:
            targets(names)  # resolve now, before the learner's code runs
    with contextlib.suppress(OSError):  # for the benchmark: imports done here, not in the notebook
        with open(os.path.join(os.path.dirname(config_path), "boot-time.json"), "w", encoding="utf-8") as f:
            json.dump({"tripwire_s": time.monotonic() - t0}, f)
    # ipykernel's parent poller (enabled by $JPY_PARENT_PID) takes a parent of pid 1 for a dead
    # parent and exits at once; in the sandbox's PID namespace the parent IS pid 1 (bwrap's init).
    # The sandbox's --die-with-parent already ends the kernel with its worker.
    os.environ.pop("JPY_PARENT_PID", None)
    from ipykernel import kernelapp

    sys.argv = [sys.argv[0], *rest]
    kernelapp.launch_new_instance()


if __name__ == "__main__":
    # run as a script (-m): make this module importable under its real name too, so the
    # harness finds the targets resolved above
    sys.modules.setdefault("course_lib.grading.kernel_boot", sys.modules[__name__])
    main(sys.argv[1:])
