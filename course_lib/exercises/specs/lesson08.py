"""Lesson 08 exercises: gradient clipping, global and per tensor, and finding loss spikes.

``clip_global_norm`` and ``clip_per_tensor`` take a list of gradient tensors and return clipped
copies (the inputs stay as they are). The reference is ``torch.nn.utils.clip_grad_norm_`` on
copies attached as ``.grad`` of stand-in parameters, so the arithmetic is torch's exactly:

    total = ||concat(grads)||_2,  c = min(1, max_norm / (total + 1e-6)),  g <- c * g

(per tensor: the same with each tensor's own norm). ``find_spikes`` flags the steps whose
gradient norm exceeds ``factor`` times the median of the ``window`` norms before it; lists of
plain numbers in and out, the reference written with ``statistics.median``.
"""

from __future__ import annotations

import statistics

import numpy as np
import torch

from course_lib.exercises.protocol import Case, Exercise
from course_lib.exercises.specs._helpers import (
    F32,
    F64,
    as_tensor,
    describe,
    diagnose,
    diagnose_exact,
    diagnose_tuple,
    tensor_list_problem,
    tolerances,
)

__all__ = ["CLIP_GLOBAL_NORM", "CLIP_PER_TENSOR", "EXERCISES", "FIND_SPIKES", "RESCUE_THRESHOLD"]

EPS = 1e-6   # torch adds it to the norm before dividing


def _torch_clip(grads: list[torch.Tensor], max_norm: float, per_tensor: bool) -> tuple[list, list]:
    """Clipped copies of ``grads`` and the norms before clipping, by ``clip_grad_norm_``."""
    params = []
    for g in grads:
        p = torch.zeros_like(g, requires_grad=True)
        p.grad = g.detach().clone()
        params.append(p)
    groups = [[p] for p in params] if per_tensor else [params]
    norms = [torch.nn.utils.clip_grad_norm_(group, max_norm, foreach=False) for group in groups]
    return [p.grad.detach().clone() for p in params], [n.detach().clone() for n in norms]


def _flat(tensors) -> torch.Tensor:
    return torch.cat([t.double().reshape(-1) for t in tensors])


def _norm(x: torch.Tensor) -> torch.Tensor:
    return torch.sqrt((x.double() ** 2).sum())


def _coef(max_norm: float, norm: torch.Tensor, eps: float = EPS, clamp: bool = True) -> torch.Tensor:
    c = max_norm / (norm + eps)
    return torch.clamp(c, max=1.0) if clamp else c


def _clip_cases(rng: np.random.Generator) -> list[Case]:
    def r(*shape, dtype=F64, scale=1.0):
        return as_tensor(scale * rng.normal(size=shape), dtype)

    def total(grads) -> float:
        return float(_norm(_flat(grads)))

    def scaled(grads, fraction):
        """max_norm as a round fraction of the grads' total norm."""
        return float(f"{fraction * total(grads):.3g}")

    several = [r(3, 4), r(4), r(2, 2, 3)]
    f32 = [r(5, dtype=F32), r(2, 3, dtype=F32)]
    below = [r(4), r(3, 2)]
    spike = [r(6, scale=300.0), r(4, scale=200.0)]
    dominated = [r(8, 8, scale=5.0), r(3, scale=0.02), r(2, scale=0.01)]
    tiny = [r(3, scale=1e-4), r(2, scale=1e-4)]
    many = [r(int(rng.integers(1, 6)), int(rng.integers(1, 6)), dtype=F32) for _ in range(8)]
    near = [r(5), r(5)]
    return [
        Case("one tensor above max_norm, float32", ([r(4, dtype=F32, scale=3.0)], 1.0)),
        Case("several tensors, total above max_norm", (several, scaled(several, 0.4))),
        Case("several float32 tensors with a 0-dim one", (f32 + [r(dtype=F32)], scaled(f32, 0.5))),
        Case("total below max_norm (left unchanged)", (below, scaled(below, 2.0))),
        Case("a gradient spike, max_norm = 1", (spike, 1.0)),
        Case("one big tensor dominates", (dominated, scaled(dominated, 0.1))),
        Case("all-zero gradients", ([torch.zeros(3, dtype=F64), torch.zeros(2, 2, dtype=F64)], 1.0)),
        Case("tiny max_norm = 1e-4 (the 1e-6 in the denominator matters)", (tiny, 1e-4)),
        Case("many float32 tensors", (many, scaled(many, 0.3)), hidden=True),
        Case("total just above max_norm", (near, total(near) * 0.999), hidden=True),
        Case("a big 2-D gradient and a bias", ([r(16, 16, scale=2.0), r(16)], 0.5), hidden=True),
    ]


# ---------------------------------------------------------------- l08_clip_global_norm

def _global_reference(grads, max_norm):
    clipped, (norm,) = _torch_clip(list(grads), max_norm, per_tensor=False)
    return clipped, norm


def _global_compare(case: Case, expected, got) -> str | None:
    grads, max_norm = case.args
    exp_clipped, exp_norm = expected
    label = "(clipped_grads, total_norm)"
    if got is None:
        return f"returned None: did you forget the `return`? Return the tuple {label}"
    if isinstance(got, (list, tuple)) and len(got) == len(grads) and all(
            isinstance(x, torch.Tensor) and x.shape == g.shape for x, g in zip(got, grads)):
        return f"returned only the clipped gradients: return the tuple {label}"
    if not isinstance(got, (list, tuple)) or len(got) != 2:
        return f"should return a tuple {label}, got {describe(got)}"
    clipped, norm = got
    if isinstance(clipped, torch.Tensor) and isinstance(norm, (list, tuple)):
        return f"the parts are in the wrong order: return {label}"
    problem = tensor_list_problem("clipped_grads", exp_clipped, clipped)
    if problem:
        return problem
    rtol, atol = tolerances(*grads)
    g = _flat(grads)
    total = _norm(g)
    l1, squares = g.abs().sum(), (g ** 2).sum()
    norms_sum = sum(_norm(t) for t in grads)
    rms = torch.sqrt((g ** 2).mean())
    per_tensor = _flat([t.double() * _coef(max_norm, _norm(t)) for t in grads])
    after = _norm(g * _coef(max_norm, total))
    exp_flat = _flat(exp_clipped)
    mistakes = [
        ("you clipped each tensor by its own norm: global clipping scales ALL the gradients by ONE "
         "factor, computed from the norm of all of them together, as if they were one long vector",
         (per_tensor, None)),
        ("you scaled small gradients UP: when the total norm is already at most max_norm they stay as "
         "they are (the factor is capped at 1)", (g * _coef(max_norm, total, clamp=False), None)),
        ("the clipped gradients are right but total_norm is not: return the norm BEFORE clipping "
         "(what clip_grad_norm_ returns; you log it to watch for spikes)", (exp_flat, after)),
        ("that is the L1 norm (sum of absolute values): use the L2 norm, sqrt of the sum of squares",
         (g * _coef(max_norm, l1), l1)),
        ("the square root is missing: total_norm = sqrt(sum of all squared entries)",
         (g * _coef(max_norm, squares), squares)),
        ("the global norm is sqrt of the sum of squares over ALL entries (the norm of the per-tensor "
         "norms), not the sum of the per-tensor norms", (g * _coef(max_norm, norms_sum), norms_sum)),
        ("the norm sums the squares (no mean): sqrt(sum of all squared entries)", (g * _coef(max_norm, rms), rms)),
        ("add 1e-6 to the norm before dividing, as torch does: max_norm / (‖g‖ + 10⁻⁶)",
         (g * _coef(max_norm, total, eps=0.0), None)),
        ("the factor is upside down: it is max_norm over the norm, which is below 1 when clipping",
         (g * torch.clamp((total + EPS) / max_norm, max=1.0), None)),
    ]
    return diagnose_tuple(("clipped_grads", "total_norm"), (exp_flat, exp_norm), (_flat(clipped), norm),
                          mistakes, rtol=rtol, atol=atol)


CLIP_GLOBAL_NORM = Exercise(
    grade_id="l08_clip_global_norm",
    function="clip_global_norm",
    points=3,
    make_cases=_clip_cases,
    reference=_global_reference,
    compare=_global_compare,
    hint="treat all the gradients as ONE long vector: one norm for all of them, one factor for all of "
         "them, and never a factor above 1.",
    hints=(
        "For gradient tensors g_1, ..., g_k:\n"
        "    ‖g‖ = √(Σ_i Σ_j g_ij²)                  (every entry of every tensor, squared and summed)\n"
        "    c = min(1, max_norm / (‖g‖ + 10⁻⁶))\n"
        "    g_i ← c·g_i for every i\n"
        "The direction of the whole update is kept; only its length changes, and only when it is "
        "longer than max_norm. Return the clipped copies and ‖g‖ measured BEFORE clipping (what "
        "clip_grad_norm_ returns, the number you log to watch for spikes).",
        "Three steps:\n"
        "  1. one 0-dim tensor per gradient, the sum of its squared entries; stack them (torch.stack), "
        "sum, and take the square root (sqrt): the total norm;\n"
        "  2. the factor: max_norm over (total norm + 1e-6), capped at 1 with torch.clamp (its max "
        "argument); it stays a 0-dim tensor, which broadcasts against any shape;\n"
        "  3. a new list with each gradient times the factor (out of place: never mul_ on the inputs).\n"
        "Return (that list, the total norm).",
    ),
    forbidden=("torch.nn.utils.clip_grad", "course_lib.clipping"),
)


# ---------------------------------------------------------------- l08_clip_per_tensor

def _per_tensor_reference(grads, max_norm):
    clipped, _ = _torch_clip(list(grads), max_norm, per_tensor=True)
    return clipped


def _per_tensor_compare(case: Case, expected, got) -> str | None:
    grads, max_norm = case.args
    if isinstance(got, (list, tuple)) and len(got) == 2 and len(grads) != 2 and isinstance(got[0], (list, tuple)):
        return "return only the list of clipped gradients (not a tuple with the norms)"
    problem = tensor_list_problem("the result", expected, got)
    if problem:
        return problem
    rtol, atol = tolerances(*grads)
    g = _flat(grads)

    def each(norm_of, eps=EPS, clamp=True):
        return _flat([t.double() * _coef(max_norm, norm_of(t.double()), eps, clamp) for t in grads])

    mistakes = [
        ("you used ONE factor for all tensors (global clipping): here each tensor gets its own, "
         "computed from its own norm", g * _coef(max_norm, _norm(g))),
        ("you scaled small gradients UP: a tensor whose norm is at most max_norm stays as it is (its "
         "factor is capped at 1)", each(_norm, clamp=False)),
        ("you clamped each entry to [-max_norm, max_norm] (clip_grad_value_): clip each tensor's NORM, "
         "which keeps its direction", g.clamp(-max_norm, max_norm)),
        ("that is the L1 norm: use the L2 norm of each tensor, the square root of the sum of its "
         "squared entries", each(lambda t: t.abs().sum())),
        ("the square root is missing: each tensor's norm is the square root of the sum of its squared "
         "entries", each(lambda t: (t ** 2).sum())),
        ("add 1e-6 to the norm before dividing, as torch does: max_norm / (‖g_i‖ + 10⁻⁶)", each(_norm, eps=0.0)),
    ]
    return diagnose("the clipped gradients", _flat(expected), _flat(got), mistakes, rtol=rtol, atol=atol)


CLIP_PER_TENSOR = Exercise(
    grade_id="l08_clip_per_tensor",
    function="clip_per_tensor",
    points=1,
    make_cases=_clip_cases,
    reference=_per_tensor_reference,
    compare=_per_tensor_compare,
    hint="the same rule as global clipping, applied to each tensor on its own: every tensor gets its own "
         "norm and its own factor.",
    hints=(
        "For each gradient tensor g_i separately:\n"
        "    c_i = min(1, max_norm / (‖g_i‖ + 10⁻⁶)),    g_i ← c_i·g_i\n"
        "with ‖g_i‖ the L2 norm of that tensor alone. Where one tensor dominates, global clipping "
        "shrinks everything by the same factor; per-tensor clipping shrinks the big tensor and leaves "
        "the small ones, so the direction of the whole update bends towards them.",
        "A loop over the gradients that builds a new list: for each tensor, its norm (square root of "
        "the sum of its squared entries, a 0-dim tensor), its factor (max_norm over norm + 1e-6, "
        "capped at 1 with torch.clamp), and the tensor times its factor appended to the list. Return "
        "only the list (no norms this time), and never change the inputs in place.",
    ),
    forbidden=("torch.nn.utils.clip_grad", "course_lib.clipping"),
)


# ---------------------------------------------------------------- l08_find_spikes

def _base_norms(rng: np.random.Generator, n: int) -> np.ndarray:
    """A healthy run: the gradient norm decays from about 3 to about 1, with 15% noise."""
    t = np.arange(n)
    return (1.0 + 2.0 * np.exp(-t / 30.0)) * np.exp(0.15 * rng.normal(size=n))


def _with_spikes(rng: np.random.Generator, n: int, spikes: list[int], near: list[int] = ()) -> list[float]:
    x = _base_norms(rng, n)
    for i in spikes:
        x[i] *= rng.uniform(15.0, 60.0)      # clearly above 10 x the median
    for i in near:
        x[i] *= rng.uniform(3.0, 6.0)        # large, but not a spike at factor 10
    return [round(float(v), 4) for v in x]


def _spike_cases(rng: np.random.Generator) -> list[Case]:
    def steps(lo, hi, k):
        return sorted(int(i) for i in rng.choice(np.arange(lo, hi), size=k, replace=False))

    # window 5 over a repeated pattern: median 1.0 and mean 1.04, so 10.0 is not a spike and 10.5
    # is; with step i in its own window the median of the last 5 would be 1.2
    ones = [1.0, 1.2, 1.2, 0.8, 1.0]
    threshold = ones * 3 + [10.0] + ones + [10.5] + ones
    burst = _with_spikes(rng, 40, [])
    j = int(rng.integers(12, 30))
    for k, size in ((0, 30.0), (1, 40.0), (3, 35.0)):      # spikes at j, j + 1 and j + 3: the earlier
        burst[j + k] = round(burst[j + k] * size, 4)       # ones are still in the later ones' window
    early = [0.4, 9.0, 3.5] + _with_spikes(rng, 40, [])[3:]   # large early norms: not enough history yet
    return [
        Case("one clear spike", (_with_spikes(rng, 40, [int(rng.integers(10, 40))]),), {"window": 5}),
        Case("no spikes (a smooth decay)", (_with_spikes(rng, 60, []),), {"window": 9}),
        Case("a burst of spikes", (burst,), {"window": 5}),
        Case("exactly factor x median is not a spike", (threshold,), {"window": 5}),
        Case("large norms at the start (only steps with a full window)", (early,), {"window": 7}),
        Case("factor = 3", (_with_spikes(rng, 50, steps(10, 50, 2), steps(10, 50, 3)),),
             {"factor": 3.0, "window": 5}),
        Case("default factor and window", (_with_spikes(rng, 120, steps(25, 120, 3), steps(25, 120, 4)),)),
        Case("fewer norms than a window", (_with_spikes(rng, 4, []),), {"window": 5}),
        Case("a long run with spikes and near misses",
             (_with_spikes(rng, 400, steps(25, 400, 6), steps(25, 400, 10)),), hidden=True),
        Case("a spike right at step = window and at the last step",
             (_with_spikes(rng, 30, [7, 29]),), {"window": 7}, hidden=True),
        Case("window = 1 (the previous step only)", (_with_spikes(rng, 30, steps(1, 30, 3)),),
             {"window": 1, "factor": 5.0}, hidden=True),
    ]


def _spikes(norms, factor, window, *, history=None, stat=statistics.median, strict=True,
            start=None) -> list[int]:
    """Steps ``i >= start`` whose norm exceeds ``factor * stat(history(i))``.

    With the defaults this is the definition (``history(i) = norms[i - window:i]``, from
    ``i = window``, the median, strictly greater); the arguments give the typical variants.
    """
    if history is None:
        def history(i):
            return norms[max(0, i - window):i]
    out = []
    for i in range(window if start is None else start, len(norms)):
        values = list(history(i))
        if not values:
            continue
        threshold = factor * stat(values)
        if (norms[i] > threshold) if strict else (norms[i] >= threshold):
            out.append(i)
    return out


def _spike_reference(grad_norms, factor=10.0, window=25):
    return _spikes(grad_norms, factor, window)


def _spike_compare(case: Case, expected, got) -> str | None:
    (norms,) = case.args
    factor, window = case.kwargs.get("factor", 10.0), case.kwargs.get("window", 25)
    if got is None:
        return "returned None: did you forget the `return`?"
    if isinstance(got, torch.Tensor):
        if got.dim() != 1:
            return f"should return a list of step indices, got {describe(got)}"
        if got.dtype == torch.bool:
            return "that is a mask: return the list of step indices where it is True"
        if got.is_floating_point():
            return "the step indices should be integers"
        got = got.tolist()
    if not isinstance(got, (list, tuple)):
        return f"should return a list of step indices (ints), got {describe(got)}"
    if got and all(isinstance(x, bool) for x in got):
        return "that is a mask: return the list of step indices where it is True"
    if not all(type(x) is int for x in got):
        if all(isinstance(x, float) for x in got):
            if [float(norms[i]) for i in expected] == list(got):
                return "those are the norms: return the step indices (positions in grad_norms)"
            return "the step indices should be integers (positions in grad_norms)"
        bad = next(x for x in got if type(x) is not int)
        return f"every entry should be a step index (an int), but one is {describe(bad)}"
    got = list(got)
    if got == list(expected):
        return None
    if sorted(got) == list(expected):
        return "the right steps, but return them in increasing order"
    mean = statistics.fmean
    mistakes = [
        ("step indices start at 0 (the position in grad_norms), not 1", [i + 1 for i in expected]),
        ("a spike is strictly greater than factor x the median: use >, not >=",
         _spikes(norms, factor, window, strict=False)),
        ("use the median of the window, not its mean: one spike in the window inflates the mean and "
         "hides the next spike", _spikes(norms, factor, window, stat=mean)),
        ("the window is the `window` norms just BEFORE step i: don't include step i itself",
         _spikes(norms, factor, window, history=lambda i: norms[i - window + 1:i + 1])),
        ("only steps with a full window of history are checked (i >= window): earlier steps are never "
         "spikes", _spikes(norms, factor, window, start=1)),
        ("compare with the median of the last `window` norms, not with the median of the whole run",
         _spikes(norms, factor, window, history=lambda i: norms)),
        ("compare with the median of the last `window` norms, not with the median of all earlier ones",
         _spikes(norms, factor, window, history=lambda i: norms[:i])),
        ("compare with the median of the previous `window` norms, not just the previous norm",
         _spikes(norms, factor, window, history=lambda i: norms[i - 1:i])),
        ("the window is off by one: use the `window` norms just before step i, the last one being "
         "step i − 1", _spikes(norms, factor, window, history=lambda i: norms[max(0, i - window - 1):i - 1])),
        ("the window is off by one: use exactly `window` norms, steps i − window to i − 1",
         _spikes(norms, factor, window, history=lambda i: norms[max(0, i - window + 1):i])),
    ]
    message = diagnose_exact(list(expected), got, mistakes)
    if message:
        return message
    missed, extra = sorted(set(expected) - set(got)), sorted(set(got) - set(expected))
    parts = []
    if missed:
        parts.append(f"missed {len(missed)} spike{'s' if len(missed) > 1 else ''}")
    if extra:
        parts.append(f"flagged {len(extra)} step{'s' if len(extra) > 1 else ''} that "
                     f"{'are' if len(extra) > 1 else 'is'} not a spike")
    text = " and ".join(parts) or "wrong steps"
    if not case.hidden:  # a visible case may show the steps
        text += f" (expected steps {list(expected)}, got {got[:10]}{'...' if len(got) > 10 else ''})"
    return text


FIND_SPIKES = Exercise(
    grade_id="l08_find_spikes",
    function="find_spikes",
    points=2,
    make_cases=_spike_cases,
    reference=_spike_reference,
    compare=_spike_compare,
    hint="a spike stands far above the recent normal level: compare each norm with the median of the "
         "`window` norms just before it.",
    hints=(
        "With n_i the norm at step i, step i is a spike when\n"
        "    n_i > factor · median(n_(i−window), ..., n_(i−1))       (the `window` norms before it)\n"
        "Step i is not in its own window; only steps with a full window are checked (i ≥ window), so "
        "earlier steps are never spikes; and exactly factor times the median is not a spike. The "
        "median, not the mean: one earlier spike in the window would drag a mean up and hide the next "
        "one.",
        "One loop over the step indices, from `window` up to the last index. For each i: the slice of "
        "grad_norms that ends just before i and holds `window` values, its median (the statistics "
        "module has one), and a strict comparison; append i when it holds. Return the list of indices "
        "(ints, in increasing order, empty when there is no spike), not the norms.",
    ),
)


# ---------------------------------------------------------------- l08_rescue_threshold
#
# An experiment, judged by its outcome: the learner receives the log (a History as a dict) of
# a run that was NOT clipped, with a gradient scale that differs from case to case by up to four
# orders of magnitude (the loss is multiplied by a random factor and the lr divided by it, so the
# trajectory is the same and the gradient norms are not), and returns a clipping threshold. The
# check trains the same run again, clipped at that threshold, and judges what happened.

_RESCUE_STEPS = 70
_RESCUE_LR = 0.1
_RESCUE_FINAL = 10          # the final loss is the mean of the last 10 steps
_RESCUE_TOLERANCE = 1.25    # ... at most this times the final loss of the same run without bad batches
_RESCUE_MAX_CLIPPED = 0.10  # clipping may fire on at most this share of the ordinary steps
_RESCUE_SETTLED = 20        # ... counted from this step on (the first steps' norms are larger)


def _rescue_problem(rng: np.random.Generator, spikes: int) -> dict:
    steps = sorted(int(i) for i in rng.choice(np.arange(30, 55), size=spikes, replace=False))
    return {"seed": int(rng.integers(1 << 30)), "scale": float(10 ** rng.uniform(-2.0, 2.0)),
            "bad_steps": steps, "bad_factor": float(rng.uniform(60.0, 200.0))}


def _rescue_run(problem: dict, clip_norm: float | None, *, bad: bool = True) -> dict:
    """The run of ``problem`` (softmax regression, SGD with momentum, a corrupted batch at each
    bad step, its inputs multiplied by ``bad_factor``), clipped at ``clip_norm`` (``None``: not
    clipped): a ``course_lib.train.History`` as a dict."""
    import torch.nn.functional as F

    from course_lib.clipping import clip_grad_norm_
    from course_lib.train import History

    gen = torch.Generator().manual_seed(problem["seed"])
    X = torch.randn(512, 20, generator=gen, dtype=F64)
    y = (X @ torch.randn(20, 4, generator=gen, dtype=F64)
         + 0.5 * torch.randn(512, 4, generator=gen, dtype=F64)).argmax(dim=1)
    w = torch.zeros(20, 4, dtype=F64, requires_grad=True)
    b = torch.zeros(4, dtype=F64, requires_grad=True)
    k = problem["scale"]
    lr = _RESCUE_LR / k
    opt = torch.optim.SGD([w, b], lr=lr, momentum=0.9)
    h = History(meta={"optimizer": "SGD", "clip_norm": clip_norm, "base_lr": lr,
                      "dtype": "torch.float64", "steps_requested": _RESCUE_STEPS,
                      "stop_reason": "completed"})
    for t in range(_RESCUE_STEPS):
        idx = torch.randint(512, (32,), generator=gen)
        x = X[idx] * (problem["bad_factor"] if bad and t in problem["bad_steps"] else 1.0)
        opt.zero_grad()
        loss = k * F.cross_entropy(x @ w + b, y[idx])
        loss.backward()
        if clip_norm is None:
            norm = torch.linalg.vector_norm(torch.stack([w.grad.norm(), b.grad.norm()])).item()
        else:
            norm = float(clip_grad_norm_([w, b], clip_norm))
        opt.step()
        h.step.append(t)
        h.loss.append(round(loss.item(), 9))
        h.lr.append(lr)
        h.grad_norm.append(round(norm, 9))
        h.clipped.append(clip_norm is not None and norm > clip_norm)
    return h.to_dict()


def _rescue_cases(rng: np.random.Generator) -> list[Case]:
    def case(name, spikes, hidden=False):
        problem = _rescue_problem(rng, spikes)
        history = _rescue_run(problem, None)
        meta = {**history["meta"], "case": problem}   # "case": what the check needs to run it again
        return Case(name, (history["grad_norm"], history["loss"], meta), hidden=hidden)

    return [
        case("one corrupted batch", 1),
        case("two corrupted batches", 2),
        case("one corrupted batch, another gradient scale", 1),
        case("a run without a corrupted batch", 0),
        case("two corrupted batches, another gradient scale", 2),
        case("one corrupted batch (hidden)", 1, hidden=True),
        case("two corrupted batches (hidden)", 2, hidden=True),
    ]


def _rescue_reference(grad_norms, losses, meta):
    """Measure the run's usual gradient norm (the median: the bad steps and their aftermath
    are a few steps of many) and clip at twice it: it catches a norm tens of times the usual
    and almost never touches an ordinary step."""
    from course_lib.diagnose import diagnose
    from course_lib.train import History

    n = len(losses)
    h = History(step=list(range(n)), loss=list(losses), lr=[meta["base_lr"]] * n,
                grad_norm=list(grad_norms), clipped=[False] * n, meta=dict(meta))
    flagged = set()  # the bad steps diagnose found, and the steps they stayed high
    for verdict in diagnose(h).verdicts:
        for spike in verdict.data.get("spikes", []):
            flagged.update(range(spike["step"], spike["step"] + spike["width"]))
    usual = [n for t, n in zip(h.step, h.grad_norm) if t not in flagged]
    return 2.0 * statistics.median(usual)


_CLEAN_FINALS: dict = {}


def _rescue_outcome(problem: dict, threshold: float | None) -> dict:
    run = _rescue_run(problem, threshold)
    key = (problem["seed"], problem["scale"])
    if key not in _CLEAN_FINALS:
        clean = _rescue_run(problem, None, bad=False)
        _CLEAN_FINALS[key] = (float(np.mean(clean["loss"][-_RESCUE_FINAL:])),
                              float(np.median(clean["grad_norm"])))
    clean_final, typical = _CLEAN_FINALS[key]
    ordinary = [c for t, c in zip(run["step"], run["clipped"])
                if t >= _RESCUE_SETTLED and t not in problem["bad_steps"]]
    return {"final": float(np.mean(run["loss"][-_RESCUE_FINAL:])), "clean_final": clean_final,
            "clipped": float(np.mean(ordinary)), "typical": typical,
            "bad_norms": [run["grad_norm"][t] for t in problem["bad_steps"]]}


def _rescue_compare(case: Case, expected, got) -> str | None:
    problem = case.args[2]["case"]
    if isinstance(got, torch.Tensor) and got.numel() == 1:
        got = got.item()
    if got is not None and (isinstance(got, bool) or not isinstance(got, (int, float))):
        return f"return the threshold as a number (or None for no clipping), got {describe(got)}"
    if got is not None and not (got > 0 and np.isfinite(got)):
        return f"a clipping threshold is a positive finite number, got {got!r}"
    threshold = None if got is None else float(got)
    out = _rescue_outcome(problem, threshold)
    scale = out["final"] / out["clean_final"]
    shown = "no clipping" if threshold is None else f"a threshold of {threshold:.3g}"
    if out["clipped"] > _RESCUE_MAX_CLIPPED:
        return (f"with {shown} clipping fired on {out['clipped']:.0%} of the ordinary steps after "
                f"step {_RESCUE_SETTLED}: a hidden learning-rate cut, not a safety net (at most "
                f"{_RESCUE_MAX_CLIPPED:.0%} here); the run "
                f"ended at {scale:.2f} x the loss of the same run without bad batches")
    if scale > _RESCUE_TOLERANCE:
        bad = ", ".join(f"{n:.3g}" for n in out["bad_norms"])
        return (f"with {shown} the run did not recover: its final loss is {scale:.2f} x that of the "
                f"same run without bad batches (at most {_RESCUE_TOLERANCE} x to pass); the bad "
                f"batch{'es' if len(out['bad_norms']) > 1 else ''} went in with a gradient norm of {bad}")
    return None


RESCUE_THRESHOLD = Exercise(
    grade_id="l08_rescue_threshold",
    function="choose_clip_threshold",
    points=2,
    all_or_nothing=True,  # a constant answer right on a few problems earns nothing
    make_cases=_rescue_cases,
    reference=_rescue_reference,
    compare=_rescue_compare,
    hint="read the log: what size is an ordinary step's gradient in THIS run, and how far above it "
         "are the bad batches? A threshold has to sit between the two.",
    hints=(
        "A threshold c does nothing on a step whose norm is below c and scales a step above it "
        "down to length c. So c must be above nearly every ordinary norm (or clipping becomes a "
        "smaller learning rate) and far below the corrupted batches' norms (or they still throw "
        "the weights away). The runs differ in gradient scale by up to 10,000 x: no fixed number "
        "works for all of them; measure this run's usual norm from its log.",
        "From grad_norms (the log's norms): a robust summary of the usual size (one that a few huge "
        "values do not move; course_lib.diagnose can also tell you which steps were the bad "
        "ones), then a small multiple of it, between about 1.5 and 3. Check your choice against "
        "the log: how many ordinary steps would it clip, and are the bad batches' norms far "
        "above it?",
    ),
)


# this lesson's exercises, in the order the notebook asks for them
EXERCISES = (CLIP_GLOBAL_NORM, CLIP_PER_TENSOR, FIND_SPIKES, RESCUE_THRESHOLD)
