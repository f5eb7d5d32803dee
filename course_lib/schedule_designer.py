"""The lessons' import path for the schedule designer; it lives in :mod:`course_lib.explorers`.

``from course_lib.schedule_designer import design_result, schedule_designer`` keeps working in
lesson 07. The widget is the one explorer shell, :class:`~course_lib.explorers.shell.Explorer`
(``ScheduleDesigner`` names it here for old imports).
"""

from course_lib.explorers.schedule import (
    PEAK_LR_RANGE,
    WARMUP_RANGE,
    DesignResult,
    design_figure,
    design_result,
    schedule_designer,
)
from course_lib.explorers.schedule_training import SHAPES, design_schedule
from course_lib.explorers.shell import Explorer as ScheduleDesigner

__all__ = [
    "SHAPES",
    "PEAK_LR_RANGE",
    "WARMUP_RANGE",
    "DesignResult",
    "design_schedule",
    "design_result",
    "design_figure",
    "ScheduleDesigner",
    "schedule_designer",
]
