"""Imported by the workers' fork server, and only there.

The fork server is started before any learner code runs; importing this module
loads the worker code into it (every worker is forked from it, so no worker
re-reads code from disk that a learner's kernel could have rewritten) and marks
the server non-dumpable, so a kernel running as the same user cannot attach a
debugger to it or read its memory.
"""

from course_lib.grading import runner

runner.harden_grader_process()

__all__: list[str] = []
