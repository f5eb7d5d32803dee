"""The course map: one source for lesson 00, the README and the tests.

A lesson's title, time and topics are written here once. Its exercises are not: they are read
from the exercise registry (``course_lib.exercises``), so adding an exercise updates the map.
``status`` is "ready" once a lesson is in notebooks/; "planned" lessons are listed so a learner
sees the whole route, and are marked as not yet available (tests/test_course_map.py checks both
against the disk). Lesson 00 displays :func:`course_map_markdown`; the README's copy is written
by cog (``make sync``) from the same function and checked by the tests.
"""

from __future__ import annotations

import dataclasses

__all__ = ["Lesson", "LESSONS", "course_map_markdown"]


@dataclasses.dataclass(frozen=True)
class Lesson:
    number: int
    slug: str
    title: str
    minutes: int          # a learner's time: reading, running, sliders (exercises separate)
    topics: str
    status: str = "planned"

    @property
    def notebook(self) -> str:
        return f"{self.number:02d}_{self.slug}.ipynb"

    @property
    def exercises(self) -> tuple[str, ...]:
        """The functions learners write in ``exercises/NN_slug.ipynb``, in notebook order."""
        from course_lib.exercises import all_exercises

        prefix = f"l{self.number:02d}_"
        return tuple(ex.function for grade_id, ex in all_exercises().items()
                     if grade_id.startswith(prefix))


LESSONS: tuple[Lesson, ...] = (
    Lesson(0, "start_here", "Start here", 10, "how the course works, sliders, checks, your machine", "ready"),
    Lesson(1, "loss_functions", "What \"wrong\" means: loss functions", 45,
           "MSE, the loss landscape, cross-entropy, perplexity, bits vs nats, compression", "ready"),
    Lesson(2, "gradient_descent", "Gradient descent from zero", 45,
           "partial derivatives, finite differences vs autograd, feature scaling, batch vs SGD vs mini-batch", "ready"),
    Lesson(3, "learning_rate", "The learning rate", 35,
           "too high / too low, the 2/L stability threshold, a learning-rate explorer", "ready"),
    Lesson(4, "momentum", "Momentum and Nesterov", 40,
           "the heavy ball, EMAs as low-pass filters, two conventions, look-ahead", "ready"),
    Lesson(5, "adaptive_methods", "Adaptive learning rates: AdaGrad, RMSprop, Adam", 50,
           "per-parameter step sizes, bias correction, an optimizer race", "ready"),
    Lesson(6, "adamw", "AdamW: decoupled weight decay", 40,
           "L2 vs decoupled decay, param groups, beta2, optimizer-state memory", "ready"),
    Lesson(7, "lr_schedules", "Learning-rate schedules", 40,
           "step, cosine, warmup, one-cycle, warmup-stable-decay, the GPT-3 recipe", "ready"),
    Lesson(8, "gradient_clipping", "Gradient clipping: the circuit breaker", 35,
           "global vs per-parameter clipping, loss spikes, fp16 vs bf16, a training doctor", "ready"),
    Lesson(9, "lr_finder", "The LR finder", 30, "the range test, its suggestions, validated against a sweep", "ready"),
    Lesson(10, "second_order", "Newton and L-BFGS", 40, "curvature, the two-loop recursion, line searches", "ready"),
    Lesson(11, "landscape_geometry", "Saddles, sharp and flat minima", 40,
           "Hessian eigenvalues, saddles in high dimension, sharpness vs batch size, SAM", "ready"),
    Lesson(12, "full_recipe", "The full recipe", 45,
           "a character-level transformer with everything, cross-entropy as compression", "ready"),
    Lesson(13, "beyond_one_machine", "Beyond one machine", 45,
           "data parallelism as a bigger batch, DDP, ZeRO and FSDP, clipping across ranks, "
           "the linear scaling rule, ring all-reduce traffic", "ready"),
)


def course_map_markdown(*, with_status: bool = True) -> str:
    """The course map as a Markdown table (the README and lesson 00 show it)."""
    head = "| # | Lesson | Time | Topics | Exercises |" + (" Status |" if with_status else "")
    sep = "|---|---|---|---|---|" + ("---|" if with_status else "")
    rows = [head, sep]
    for lesson in LESSONS:
        ex = ", ".join(f"`{name}`" for name in lesson.exercises) or "—"
        row = (f"| {lesson.number:02d} | {lesson.title} | {lesson.minutes} min | {lesson.topics} "
               f"| {ex} |")
        if with_status:
            row += " ready |" if lesson.status == "ready" else " planned |"
        rows.append(row)
    return "\n".join(rows)
