"""What :func:`course_lib.diagnose.diagnose` returns: :class:`Verdict` s in a :class:`Diagnosis`.

Also how the reports write numbers (3 significant digits) and lists of step numbers.
"""

from __future__ import annotations

import dataclasses
import math
import textwrap
from collections.abc import Sequence
from typing import Any

__all__ = ["Verdict", "Diagnosis"]


@dataclasses.dataclass
class Verdict:
    """One finding about a run.

    Attributes:
        name: a short identifier (``"lr_too_high"``, ``"spike_rescued"``, ...; see the module docs).
        headline: one line saying what was found, in words.
        evidence: the numbers it rests on, as text (step numbers, values).
        suggestion: what to try.
        data: the same evidence as numbers (``{"steps": [...], "grad_norm": ..., ...}``).
    """

    name: str
    headline: str
    evidence: str
    suggestion: str
    data: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __str__(self) -> str:
        wrap = textwrap.TextWrapper(width=100, subsequent_indent="    ")
        return "\n".join(
            [
                f"{self.name}: {self.headline}",
                wrap.fill(f"  evidence: {self.evidence}"),
                wrap.fill(f"  suggestion: {self.suggestion}"),
            ]
        )


@dataclasses.dataclass
class Diagnosis:
    """The verdicts on one run, the most serious first."""

    verdicts: list[Verdict]
    n_steps: int = 0

    @property
    def names(self) -> list[str]:
        """The verdicts' names, in order."""
        return [v.name for v in self.verdicts]

    @property
    def healthy(self) -> bool:
        """True when nothing was found wrong (and the run was long enough to judge)."""
        return self.names == ["healthy"]

    def __getitem__(self, name: str) -> Verdict:
        """The verdict called ``name`` (``KeyError`` if there is none)."""
        for v in self.verdicts:
            if v.name == name:
                return v
        raise KeyError(f"no verdict {name!r}; the verdicts are {self.names}")

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def __str__(self) -> str:
        lines = [f"Diagnosis of a run of {self.n_steps} step{'' if self.n_steps == 1 else 's'}:"]
        for i, v in enumerate(self.verdicts, 1):
            lines.append(f"{i}. {v}")
        return "\n".join(lines)


# --------------------------------------------------------------------------- how numbers are written


def _fmt(x: float) -> str:
    """A number for a report: 3 significant digits, nan / inf as such."""
    if not math.isfinite(x):
        return str(x)
    return f"{x:.3g}"


def _steps_list(steps: Sequence[int], limit: int = 8) -> str:
    """``"3, 17, 40"`` or, past ``limit``, ``"3, 17, 40 and 5 more"``."""
    steps = list(steps)
    shown = ", ".join(str(s) for s in steps[:limit])
    return shown + (f" and {len(steps) - limit} more" if len(steps) > limit else "")
