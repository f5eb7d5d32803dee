"""The course map: one source for lesson 00, the README and the tests.

``status`` is "ready" once a lesson is in notebooks/; "planned" lessons are
listed so a learner sees the whole route, and are marked as not yet available.
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
    exercises: tuple[str, ...] = ()   # functions learners write in exercises/NN_slug.ipynb

    @property
    def notebook(self) -> str:
        return f"{self.number:02d}_{self.slug}.ipynb"


LESSONS: tuple[Lesson, ...] = (
    Lesson(0, "start_here", "Start here", 10, "how the course works, sliders, checks, your machine", "ready"),
    Lesson(1, "loss_functions", "What \"wrong\" means: loss functions", 45,
           "MSE, the loss landscape, cross-entropy, perplexity, bits vs nats, compression", "ready",
           exercises=("mse", "cross_entropy_from_logits", "softmax_grad", "perplexity")),
    Lesson(2, "gradient_descent", "Gradient descent from zero", 45,
           "partial derivatives, finite differences vs autograd, feature scaling, batch vs SGD vs mini-batch", "ready",
           exercises=("finite_difference_grad", "fit_house_prices", "minibatch_indices")),
    Lesson(3, "learning_rate", "The learning rate", 35,
           "too high / too low, the 2/L stability threshold, a learning-rate explorer", "ready",
           exercises=("gd_trajectory", "max_stable_lr")),
    Lesson(4, "momentum", "Momentum and Nesterov", 40,
           "the heavy ball, EMAs as low-pass filters, two conventions, look-ahead", "ready",
           exercises=("momentum_step", "nesterov_step")),
    Lesson(5, "adaptive_methods", "Adaptive learning rates: AdaGrad, RMSprop, Adam", 50,
           "per-parameter step sizes, bias correction, an optimizer race", "ready",
           exercises=("adagrad_step", "rmsprop_step", "adam_step")),
    Lesson(6, "adamw", "AdamW: decoupled weight decay", 40,
           "L2 vs decoupled decay, param groups, beta2, optimizer-state memory", "ready",
           exercises=("adamw_step", "split_decay_groups", "weights_and_state_gb")),
    Lesson(7, "lr_schedules", "Learning-rate schedules", 40,
           "step, cosine, warmup, one-cycle, warmup-stable-decay, the GPT-3 recipe", "ready",
           exercises=("warmup_cosine_lr", "wsd_lr")),
    Lesson(8, "gradient_clipping", "Gradient clipping: the circuit breaker", 35,
           "global vs per-parameter clipping, loss spikes, fp16 vs bf16, a training doctor", "ready",
           exercises=("clip_global_norm", "clip_per_tensor", "find_spikes")),
    Lesson(9, "lr_finder", "The LR finder", 30, "the range test, its suggestions, validated against a sweep", "ready",
           exercises=("exponential_lr_schedule", "smooth_losses")),
    Lesson(10, "second_order", "Newton and L-BFGS", 40, "curvature, the two-loop recursion, line searches", "ready",
           exercises=("newton_step", "two_loop_direction")),
    Lesson(11, "landscape_geometry", "Saddles, sharp and flat minima", 40,
           "Hessian eigenvalues, saddles in high dimension, sharpness vs batch size, SAM", "ready",
           exercises=("classify_critical_point", "power_iteration")),
    Lesson(12, "full_recipe", "The full recipe", 45,
           "a character-level transformer with everything, cross-entropy as compression", "ready",
           exercises=("compression_numbers", "unigram_bits_per_char")),
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
