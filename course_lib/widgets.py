"""The lessons' import path for the landscape explorers; they live in :mod:`course_lib.explorers`.

``from course_lib.widgets import lr_explorer, lr_result`` keeps working in lessons 03-05.
"""

from course_lib.explorers.adam import adam_explorer, adam_figure, adam_result
from course_lib.explorers.figures import figure_png
from course_lib.explorers.learning_rate import lr_explorer, lr_figure, lr_result
from course_lib.explorers.momentum import (
    momentum_explorer,
    momentum_figure,
    momentum_rate,
    momentum_result,
)
from course_lib.explorers.problems import QUADRATIC
from course_lib.explorers.results import ExplorerResult
from course_lib.explorers.shell import Explorer

__all__ = [
    "ExplorerResult",
    "Explorer",
    "QUADRATIC",
    "lr_result",
    "lr_figure",
    "lr_explorer",
    "momentum_result",
    "momentum_figure",
    "momentum_explorer",
    "momentum_rate",
    "adam_result",
    "adam_figure",
    "adam_explorer",
    "figure_png",
]
