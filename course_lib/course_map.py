"""The course map: one source for lesson 00, the README and the tests.

A lesson's title, times and topics are written here once. Its exercises are not: they are read
from the exercise registry (``course_lib.exercises``), so adding an exercise updates the map.
``status`` is "ready" once a lesson is in notebooks/; "planned" lessons are listed so a learner
sees the whole route, and are marked as not yet available (tests/test_course_map.py checks both
against the disk). Lesson 00 displays :func:`course_map_markdown`; the README's copy is written
by cog (``make sync``) from the same function and checked by the tests.

Two times per lesson, both a learner's: ``minutes`` for reading and running the lesson (its
intro's ``**Time:**`` line says the same), and ``exercise_minutes`` for its exercise notebook
(its last cell's ``**Practise:** ..., about M min.`` line says the same; tests/test_time_estimates.py
checks both lines and the README's table against this file). The exercise estimate counts about
8 minutes for an exercise that turns the lesson's formula into code (10-12 for a longer one: a
fit, the two-loop recursion, a sharded clip; 15 for the backward pass by hand), and about 15
minutes for the lesson's experiment or debugging exercise, which runs trainings and reads their
outcome; it is rounded to 5 minutes.
"""

from __future__ import annotations

import dataclasses

__all__ = ["Lesson", "LESSONS", "course_map_markdown", "course_time_markdown"]


@dataclasses.dataclass(frozen=True)
class Lesson:
    number: int
    slug: str
    title: str
    minutes: int          # a learner's time: reading, running, sliders (exercises separate)
    topics: str
    status: str = "planned"
    exercise_minutes: int = 0  # a learner's time for the exercise notebook (0: none)

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
           "MSE, the loss landscape, cross-entropy, perplexity, bits vs nats, compression", "ready",
           exercise_minutes=45),
    Lesson(2, "gradient_descent", "Gradient descent from zero", 45,
           "partial derivatives, finite differences vs autograd, feature scaling, batch vs SGD vs mini-batch", "ready",
           exercise_minutes=60),
    Lesson(3, "learning_rate", "The learning rate", 35,
           "too high / too low, the 2/L stability threshold, a learning-rate explorer", "ready",
           exercise_minutes=30),
    Lesson(4, "momentum", "Momentum and Nesterov", 40,
           "the heavy ball, EMAs as low-pass filters, two conventions, look-ahead", "ready",
           exercise_minutes=30),
    Lesson(5, "adaptive_methods", "Adaptive learning rates: AdaGrad, RMSprop, Adam", 50,
           "per-parameter step sizes, bias correction, an optimizer race", "ready",
           exercise_minutes=40),
    Lesson(6, "adamw", "AdamW: decoupled weight decay", 40,
           "L2 vs decoupled decay, param groups, beta2, optimizer-state memory", "ready",
           exercise_minutes=40),
    Lesson(7, "lr_schedules", "Learning-rate schedules", 40,
           "step, cosine, warmup, one-cycle, warmup-stable-decay, the GPT-3 recipe", "ready",
           exercise_minutes=30),
    Lesson(8, "gradient_clipping", "Gradient clipping: the circuit breaker", 35,
           "global vs per-parameter clipping, loss spikes, fp16 vs bf16, a training doctor", "ready",
           exercise_minutes=45),
    Lesson(9, "lr_finder", "The LR finder", 30, "the range test, its suggestions, validated against a sweep", "ready",
           exercise_minutes=35),
    Lesson(10, "second_order", "Newton and L-BFGS", 40, "curvature, the two-loop recursion, line searches", "ready",
           exercise_minutes=45),
    Lesson(11, "landscape_geometry", "Saddles, sharp and flat minima", 35,
           "Hessian eigenvalues, saddles in high dimension, sharpness vs batch size, SAM", "ready",
           exercise_minutes=40),
    Lesson(12, "full_recipe", "The full recipe", 30,
           "a character-level transformer with everything, cross-entropy as compression", "ready",
           exercise_minutes=40),
    Lesson(13, "beyond_one_machine", "Beyond one machine", 45,
           "data parallelism as a bigger batch, DDP, ZeRO and FSDP, clipping across ranks, "
           "the linear scaling rule, ring all-reduce traffic", "ready", exercise_minutes=45),
)


def course_map_markdown(*, with_status: bool = True) -> str:
    """The course map as a Markdown table (the README and lesson 00 show it)."""
    head = "| # | Lesson | Time | Topics | Exercises | Practice |" + \
        (" Status |" if with_status else "")
    sep = "|---|---|---|---|---|---|" + ("---|" if with_status else "")
    rows = [head, sep]
    for lesson in LESSONS:
        ex = ", ".join(f"`{name}`" for name in lesson.exercises) or "—"
        practice = f"{lesson.exercise_minutes} min" if lesson.exercise_minutes else "—"
        row = (f"| {lesson.number:02d} | {lesson.title} | {lesson.minutes} min | {lesson.topics} "
               f"| {ex} | {practice} |")
        if with_status:
            row += " ready |" if lesson.status == "ready" else " planned |"
        rows.append(row)
    return "\n".join(rows)


def _hours(minutes: int) -> str:
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def course_time_markdown() -> str:
    """One sentence: the lessons' time, the exercises' time, and both together."""
    ready = [lesson for lesson in LESSONS if lesson.status == "ready"]
    reading = sum(lesson.minutes for lesson in ready)
    practice = sum(lesson.exercise_minutes for lesson in ready)
    return (f"**Time, in all:** about {_hours(reading)} for the {len(ready)} lessons (Time) and "
            f"{_hours(practice)} for their exercises (Practice), {_hours(reading + practice)} "
            "together.")
