"""The autograder: ``python -m course_lib.grading SUBMISSION... --out DIR``.

How the trust boundary works:

* **The grader process** (:mod:`~course_lib.grading.batch`) is trusted. It starts isolated
  (:mod:`~course_lib.grading.isolation`: no ``site``, no ``.pth`` files, a private bytecode
  cache), reads the exercise list of each assignment from the trusted ``solutions/`` copy,
  builds every case and every reference answer itself from a seed it picks, and judges
  answers with each exercise's ``compare``. No learner code ever runs in it.
* **A worker process per submission** (:mod:`~course_lib.grading.runner`, launched by
  :mod:`~course_lib.grading.jobs`), forked from a fork server loaded before any learner code
  ran, starts a fresh kernel in a bubblewrap sandbox (:mod:`~course_lib.grading.sandbox`: own
  namespaces, read-only course WITHOUT the reference implementations, private tmpfs, its own
  unprivileged user id) under time, memory and process limits
  (:mod:`~course_lib.grading.kernel`), runs the notebook, then runs the
  :mod:`~course_lib.grading.harness` in that kernel: it calls the learner's functions on the
  encoded case inputs, under the forbidden-shortcut tripwire of
  :mod:`~course_lib.grading.kernel_boot`, and writes the encoded return values to a result
  file named by a random token, each line carrying a random nonce.
* **What comes back is data, not verdicts.** The grader parses it with the strict codec (plain
  numbers, lists, dicts and tensors only) and compares in its own process. Monkeypatching
  ``torch.allclose`` or ``builtins``, returning objects whose ``__eq__`` is always true,
  printing fake results, or replacing the harness can only make the submission's own answers
  wrong or unreadable. Stored results are HMAC-signed (:mod:`~course_lib.grading.cache`) and
  trusted files are checked after every submission (:mod:`~course_lib.grading.integrity`).

Modules: :mod:`~course_lib.grading.notebooks` (finding and validating submissions),
:mod:`~course_lib.grading.scoring` (cases, parsing, judging), ``report`` (CSV, JSON,
feedback files), ``batch`` (set-up, resume, reports), ``jobs`` (the workers), ``cli`` (the
command line).
"""

__all__ = ["grade", "main", "Options"]


def __getattr__(name):
    # lazy, so that importing course_lib.grading.runner (the workers' fork server) stays light
    if name == "main":
        from course_lib.grading.cli import main
        return main
    if name in __all__:
        from course_lib.grading import batch
        return getattr(batch, name)
    raise AttributeError(name)
