"""Check that a learner's environment is ready for the course.

Used by lesson 00. Reports versions (major.minor for Python, exact for the
pinned packages) and whether each package imports; nothing machine-specific.
"""

from __future__ import annotations

import importlib
import importlib.metadata as md
import sys

__all__ = ["REQUIRED", "environment_report"]

# import name -> distribution name
REQUIRED = {
    "torch": "torch",
    "numpy": "numpy",
    "scipy": "scipy",
    "sklearn": "scikit-learn",
    "matplotlib": "matplotlib",
    "ipywidgets": "ipywidgets",
    "tqdm": "tqdm",
    "nbclient": "nbclient",
}


def environment_report() -> tuple[bool, list[str]]:
    """Return ``(ok, lines)``: one line per required package, ✓ or ✗ with the reason."""
    ok = (3, 11) <= sys.version_info[:2] <= (3, 13)
    lines = [f"{'✓' if ok else '✗'} Python {sys.version_info.major}.{sys.version_info.minor}"
             + ("" if ok else " (the course runs on Python 3.11, 3.12 or 3.13)")]
    for module, dist in REQUIRED.items():
        try:
            importlib.import_module(module)
            version = md.version(dist).split("+")[0]
            lines.append(f"✓ {dist} {version}")
        except Exception as exc:  # report, never raise: this is a diagnostic
            ok = False
            lines.append(f"✗ {dist}: {type(exc).__name__}: {exc} — run `make lab` again to reinstall")
    return ok, lines
