"""The grading harness: the only grader code that runs INSIDE a learner's kernel.

The grader never imports this module. It reads this file's text at start-up and,
after a submission's cells have run, sends it to the submission's kernel, where it
is executed in a private namespace and :func:`run` is called with the path of a
request file. The request (written by the grader only after the notebook has run)
holds a random nonce, the path to write results to, the modules that define the
whitelisted functions cases may carry, and for each exercise the function name, its
forbidden shortcuts and the case inputs as codec-encoded plain data. The kernel runs in
the grading sandbox, where the exercise specs (the reference answers) do not exist.

For each exercise ``run`` looks the learner's function up by name in the kernel's
user namespace, calls it on the decoded inputs (each call under a time limit, and under
the tripwire of :mod:`course_lib.grading.kernel_boot` that records forbidden calls) and
writes one JSON line per case: the codec-encoded return value, or what went wrong; then
one line naming the forbidden shortcuts the function called, if any.

Everything here runs next to learner code that may have replaced ``json``,
``builtins``, ``torch`` or this very function, so NOTHING it writes is trusted:
the grader parses the lines with the strict codec and compares them with the
reference answers in its own process, where no learner code ever ran. The worst
a hostile kernel can do through this channel is make its own answers wrong.
"""

from __future__ import annotations

__all__ = ["run"]


def run(request_path: str) -> None:
    import json
    import signal
    import traceback

    from IPython import get_ipython

    with open(request_path, encoding="utf-8") as f:
        request = json.load(f)
    nonce = request["nonce"]
    out = open(request["result_path"], "w", encoding="utf-8")  # noqa: SIM115 (closed below)

    def emit(record: dict) -> None:
        record["nonce"] = nonce
        try:
            line = json.dumps(record, allow_nan=False)
        except (TypeError, ValueError) as exc:
            line = json.dumps({"nonce": nonce, "grade_id": record.get("grade_id"),
                               "case": record.get("case"), "error": "unencodable",
                               "message": f"result not serialisable: {exc}"})
        out.write(line + "\n")
        out.flush()

    class CallTimeout(BaseException):
        """Raised by the timer; a BaseException so `except Exception` in learner code misses it."""

    def on_alarm(signum, frame):
        raise CallTimeout()

    def timed(seconds: float, fn, *args, **kwargs):
        previous = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            return fn(*args, **kwargs)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)

    def describe(exc: BaseException) -> str:
        # str() of a learner's exception may run learner code: bound it in time too
        try:
            text = timed(1.0, lambda: f"{type(exc).__name__}: {exc}")
            tb = traceback.extract_tb(exc.__traceback__)
            if tb:
                text += f" (line {tb[-1].lineno})"
            return text[:500]
        except BaseException:
            return "an exception that could not be printed"

    try:
        import importlib
        import sys

        from course_lib.exercises import codec

        for module in request["modules"]:
            importlib.import_module(module)  # registers the whitelisted functions cases may carry
        boot = sys.modules.get("course_lib.grading.kernel_boot") or \
            importlib.import_module("course_lib.grading.kernel_boot")
        namespace = get_ipython().user_ns
    except BaseException as exc:
        emit({"fatal": f"could not load the grading support code: {describe(exc)}"})
        out.close()
        return

    def snapshot(args, kwargs):
        return [codec.encode(a) for a in args] + [codec.encode(v) for _, v in sorted(kwargs.items())]

    for exercise in request["exercises"]:
        grade_id, name = exercise["grade_id"], exercise["function"]
        fn = namespace.get(name)
        if fn is None or not callable(fn):
            emit({"grade_id": grade_id, "missing": "not defined" if fn is None
                  else f"is a {type(fn).__name__}, not a function"})
            continue
        forbidden = exercise.get("forbidden") or []
        called: set = set()
        for index, case in enumerate(exercise["cases"]):
            record = {"grade_id": grade_id, "case": index}
            try:
                args = tuple(codec.decode(case["args"]))
                kwargs = codec.decode(case["kwargs"])
                before = snapshot(args, kwargs)
                tripwire = boot.watch(forbidden)
                try:
                    with tripwire:
                        got = timed(exercise["call_timeout"], fn, *args, **kwargs)
                finally:
                    called.update(tripwire.hits)
                value = timed(exercise["call_timeout"], codec.encode, got)
                mutated = snapshot(args, kwargs) != before
                record["value"], record["mutated"] = value, mutated
            except CallTimeout:
                record["error"] = "timeout"
            except NotImplementedError:
                record["error"] = "not-implemented"
            except codec.CodecError as exc:
                record["error"] = "unencodable"
                record["message"] = describe(exc)
            except BaseException as exc:  # SystemExit, KeyboardInterrupt, MemoryError, ...
                record["error"] = "raised"
                record["message"] = describe(exc)
            emit(record)
        if called:
            emit({"grade_id": grade_id, "forbidden": sorted(str(c)[:200] for c in called)[:20]})
    emit({"done": True})
    out.close()
