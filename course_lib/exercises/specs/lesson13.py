"""Lesson 13 exercises: data parallelism, clipping across ranks, and what an all-reduce sends.

``whole_batch_gradient`` combines the ranks' gradients, each the mean over that rank's own
examples, into the gradient of the whole batch: the mean weighted by the ranks' batch sizes,
``sum_r n_r g_r / sum_r n_r``. With equal sizes it is the plain mean that an all-reduce followed
by a division by N (DDP) computes; with unequal sizes the plain mean is wrong, which is the
mistake the check names. (tests/test_distributed.py checks the reference against
autograd's gradient of the whole batch.)

``clip_sharded`` clips gradients that are sharded across ranks, ``shard_grads[r]`` being rank
``r``'s list of tensors, by the global norm built from the ranks' sums of squares, exactly as
``course_lib.clipping.clip_grad_norm_distributed_`` does with one all-reduce. The reference is
``torch.nn.utils.clip_grad_norm_`` on all the tensors at once, in one process.

``ring_allreduce_bytes`` is the traffic formula, ``2 (N - 1) / N * n * b`` bytes sent per rank.

``ddp_config(batch_size, lr, world_size, reduce_op, max_per_rank)`` is an experiment: the
configuration (micro-batch per rank, accumulation steps, learning rate) with which K ranks take
exactly the steps of a single-process run with batch ``batch_size``. The check simulates both
runs (:func:`simulate_ddp`) and compares the weights; world size, batch, memory per rank and the
all-reduce's operation ("sum" or "avg") are random, so no constant passes.
"""

from __future__ import annotations

import numpy as np
import torch

from course_lib.exercises.protocol import Case, Exercise
from course_lib.exercises.specs._helpers import (
    F32,
    F64,
    as_float,
    as_tensor,
    describe,
    diagnose,
    diagnose_tuple,
    tensor_list_problem,
    tolerances,
)

__all__ = ["CLIP_SHARDED", "DDP_CONFIG", "EXERCISES", "RING_ALLREDUCE_BYTES", "WHOLE_BATCH_GRADIENT",
           "simulate_ddp"]

EPS = 1e-6   # torch adds it to the norm before dividing


def _flat(tensors) -> torch.Tensor:
    return torch.cat([t.double().reshape(-1) for t in tensors]) if tensors else torch.zeros(0, dtype=F64)


def _random_grads(rng: np.random.Generator, shapes, dtype=F64, scale=1.0) -> list[torch.Tensor]:
    return [as_tensor(scale * rng.normal(size=shape), dtype) for shape in shapes]


# ---------------------------------------------------------------- l13_whole_batch_gradient

def _gradient_cases(rng: np.random.Generator) -> list[Case]:
    def ranks(sizes, shapes, dtype=F64):
        # each rank's gradient is a mean over its examples: its spread shrinks with its size
        return [_random_grads(rng, shapes, dtype, scale=1.0 / np.sqrt(n)) for n in sizes]

    mlp = [(4, 3), (4,), (2, 4), (2,)]
    uneven = [int(rng.integers(20, 60)), int(rng.integers(2, 12))]
    many = [int(n) for n in rng.integers(1, 40, size=int(rng.integers(5, 8)))]
    return [
        Case("2 ranks with 32 examples each", (ranks([32, 32], mlp), [32, 32])),
        Case("4 ranks with equal shares", (ranks([16] * 4, [(5,), (3, 2)]), [16] * 4)),
        Case("2 ranks with unequal shares", (ranks(uneven, mlp), uneven)),
        Case("3 ranks with unequal shares, float32", (ranks([30, 10, 24], [(6,), (2, 3)], F32), [30, 10, 24])),
        Case("one rank (nothing to average)", (ranks([8], [(3,)]), [8])),
        Case("a 0-dim parameter", (ranks([12, 4], [(), (3,)]), [12, 4])),
        Case("many ranks with random shares", (ranks(many, [(4, 4), (4,)]), many), hidden=True),
        Case("a rank with one example", (ranks([1, 63], mlp), [1, 63]), hidden=True),
    ]


def _gradient_reference(rank_grads, rank_sizes):
    total = sum(rank_sizes)
    return [sum(n * g[i] for n, g in zip(rank_sizes, rank_grads)) / total
            for i in range(len(rank_grads[0]))]


def _gradient_compare(case: Case, expected, got) -> str | None:
    rank_grads, sizes = case.args
    if isinstance(got, (list, tuple)) and len(got) == len(rank_grads) and len(rank_grads) > 1 and all(
            isinstance(x, (list, tuple)) for x in got):
        return ("you returned one list per rank: return ONE list of tensors, the whole-batch gradient "
                "(after the all-reduce every rank holds the same one)")
    problem = tensor_list_problem("the gradient", expected, got)
    if problem:
        return problem
    rtol, atol = tolerances(*(t for g in rank_grads for t in g))
    n_ranks = len(sizes)
    per_rank = [_flat(g) for g in rank_grads]
    weighted_sum = sum(n * g for n, g in zip(sizes, per_rank))
    plain_sum = sum(per_rank)
    mistakes = [
        ("that is the plain mean of the ranks' gradients, what an all-reduce divided by N (DDP) "
         "computes: it is the whole-batch gradient only when every rank has as many examples. Weight "
         "each rank's gradient by its number of examples: Σ n_r·g_r / Σ n_r", plain_sum / n_ranks),
        ("divide by the total number of examples, Σ n_r, not by the number of ranks",
         weighted_sum / n_ranks),
        ("you weighted the gradients by the sizes but did not divide: each g_r is a mean, so the "
         "whole-batch mean is Σ n_r·g_r / Σ n_r", weighted_sum),
        ("you added the ranks' gradients: each is already a mean over its examples, so average them, "
         "weighted by the sizes: Σ n_r·g_r / Σ n_r", plain_sum),
        ("the weights are upside down: a rank with MORE examples counts MORE, n_r·g_r, not g_r / n_r",
         sum(g / n for n, g in zip(sizes, per_rank)) / sum(1 / n for n in sizes)),
        ("that is rank 0's gradient alone: combine all the ranks' gradients", per_rank[0]),
    ]
    return diagnose("the gradient", _flat(expected), _flat(got), mistakes, rtol=rtol, atol=atol)


WHOLE_BATCH_GRADIENT = Exercise(
    grade_id="l13_whole_batch_gradient",
    function="whole_batch_gradient",
    points=2,
    make_cases=_gradient_cases,
    reference=_gradient_reference,
    compare=_gradient_compare,
    hint="each rank's gradient is a mean over ITS examples: to get the mean over all the examples, a "
         "rank with more examples must count for more.",
    hints=(
        "The whole batch's mean loss is Σ_r n_r·L_r / Σ_r n_r (each L_r a mean over n_r examples), and "
        "the gradient is linear, so\n"
        "    g = Σ_r n_r·g_r / Σ_r n_r\n"
        "for every parameter. With equal shares this is the plain mean (1/N)·Σ_r g_r, the all-reduce "
        "followed by a division by N that DDP does; with unequal shares the plain mean is wrong.",
        "The total number of examples once (sum of rank_sizes). Then one output tensor per parameter: "
        "zip over the ranks' lists, unpacked with a star, walks the parameters, giving for each the "
        "tuple of that parameter's gradients, one per rank; zip that with rank_sizes, add up size times gradient, and divide by "
        "the total. Return ONE list with one tensor per parameter, new tensors (never add_ into the "
        "ranks' gradients).",
    ),
)


# ---------------------------------------------------------------- l13_clip_sharded

def _clip_cases(rng: np.random.Generator) -> list[Case]:
    def shards(shapes_per_rank, dtype=F64, scale=1.0):
        return [_random_grads(rng, shapes, dtype, scale) for shapes in shapes_per_rank]

    def norm(s) -> float:
        return float(_flat([t for shard in s for t in shard]).norm())

    def fraction(s, f):
        return float(f"{f * norm(s):.3g}")

    two = shards([[(4, 3), (4,)], [(2, 4), (2,)]])
    three = shards([[(5,)], [(3, 3)], [(2,), ()]])
    dominant = shards([[(6, 6)], [(3,)], [(2,)], [(4,)]])
    dominant[0] = [t * 20 for t in dominant[0]]
    f32 = shards([[(4,), (2, 2)], [(3,)]], dtype=F32)
    below = shards([[(3,)], [(2, 2)]])
    unbalanced = shards([[(3,)], [(8, 8)]])
    return [
        Case("2 ranks, global norm above max_norm", (two, fraction(two, 0.5))),
        Case("3 ranks, one holding a 0-dim tensor", (three, fraction(three, 0.4))),
        Case("a rank with an empty shard", ([[]] + shards([[(4,), (3, 2)]]), 0.5)),
        Case("global norm below max_norm (nothing changes)", (below, fraction(below, 1.5))),
        Case("one rank's shard much larger than the other's", (unbalanced, fraction(unbalanced, 0.3))),
        Case("float32 shards", (f32, fraction(f32, 0.5))),
        Case("all-zero gradients", ([[torch.zeros(3, dtype=F64)], [torch.zeros(2, 2, dtype=F64)]], 1.0)),
        Case("4 ranks, one shard dominates", (dominant, fraction(dominant, 0.1)), hidden=True),
        Case("just above max_norm", (two, norm(two) * 0.999), hidden=True),
        Case("tiny gradients, max_norm = 1e-4", (shards([[(3,)], [(2,)]], scale=1e-4), 1e-4), hidden=True),
    ]


def _clip_reference(shard_grads, max_norm):
    params, owner = [], []
    for rank, shard in enumerate(shard_grads):
        for g in shard:
            p = torch.zeros_like(g, requires_grad=True)
            p.grad = g.detach().clone()
            params.append(p)
            owner.append(rank)
    norm = torch.nn.utils.clip_grad_norm_(params, max_norm, foreach=False) if params else torch.tensor(0.0)
    clipped = [[] for _ in shard_grads]
    for rank, p in zip(owner, params):
        clipped[rank].append(p.grad.detach().clone())
    return clipped, norm.detach().double()


def _coef(max_norm: float, norm: torch.Tensor, clamp: bool = True) -> torch.Tensor:
    c = max_norm / (norm + EPS)
    return torch.clamp(c, max=1.0) if clamp else c


def _clip_compare(case: Case, expected, got) -> str | None:
    shard_grads, max_norm = case.args
    exp_clipped, exp_norm = expected
    label = "(clipped_shards, total_norm)"
    if got is None:
        return f"returned None: did you forget the `return`? Return the tuple {label}"
    if not isinstance(got, (list, tuple)) or len(got) != 2:
        return f"should return a tuple {label}, got {describe(got)}"
    clipped, norm = got
    if as_float(clipped) is not None and isinstance(norm, (list, tuple)):
        return f"the parts are in the wrong order: return {label}"
    if not isinstance(clipped, (list, tuple)) or len(clipped) != len(shard_grads):
        return (f"clipped_shards should be a list with one list of tensors per rank ({len(shard_grads)} "
                f"ranks), got {describe(clipped)}")
    for rank, (exp_shard, got_shard) in enumerate(zip(exp_clipped, clipped)):
        problem = tensor_list_problem(f"clipped_shards[{rank}]", exp_shard, got_shard)
        if problem:
            return problem
    value = as_float(norm)
    if value is None:
        return f"total_norm should be one number (a 0-dim tensor), got {describe(norm)}"
    rtol, atol = tolerances(*(t for shard in shard_grads for t in shard))
    flat = [_flat(shard) for shard in shard_grads]
    sq = [(f ** 2).sum() for f in flat]                         # s_r, each rank's sum of squares
    total = torch.sqrt(sum(sq))
    g = torch.cat(flat)

    def scaled(coefs) -> torch.Tensor:
        return torch.cat([f * c for f, c in zip(flat, coefs)])

    def one(n) -> torch.Tensor:
        return scaled([_coef(max_norm, n)] * len(flat))

    local = [torch.sqrt(s) for s in sq]
    norms_sum, mean_sq = sum(local), torch.sqrt(sum(sq) / len(sq))
    largest = torch.stack(local).max()
    after = torch.sqrt(((one(total)) ** 2).sum())
    per_tensor = torch.cat([t.double().reshape(-1) * _coef(max_norm, t.double().norm())
                            for shard in shard_grads for t in shard]) if g.numel() else g
    mistakes = [
        ("each rank clipped by its OWN norm: that is the local-norm bug. Every rank must use the "
         "GLOBAL norm, √(s_1 + ... + s_N) over the ranks' sums of squares, and the same factor",
         (scaled([_coef(max_norm, n) for n in local]), None)),
        ("you added the ranks' norms: norms do not add, squared norms do. The global norm is "
         "sqrt(s_0 + s_1 + ...), with s_r the sum of squares on rank r", (one(norms_sum), norms_sum)),
        ("you averaged the ranks' sums of squares (an all-reduce with AVG): the global norm needs "
         "their SUM, sqrt(s_0 + s_1 + ...)", (one(mean_sq), mean_sq)),
        ("that is the largest rank's norm, not the global norm: sqrt(s_0 + s_1 + ...)", (one(largest), largest)),
        ("the square root is missing: the global norm is sqrt(s_0 + s_1 + ...)", (one(sum(sq)), sum(sq))),
        ("you clipped each tensor by its own norm: every rank scales all its tensors by ONE factor, "
         "min(1, max_norm / (global_norm + 1e-6))", (per_tensor, None)),
        ("you scaled small gradients UP: when the global norm is <= max_norm leave them as they are "
         "(clamp the factor at 1)", (scaled([_coef(max_norm, total, clamp=False)] * len(flat)), None)),
        ("the clipped gradients are right but total_norm is not: return the global norm BEFORE "
         "clipping", (one(total), after)),
    ]
    got_flat = torch.cat([_flat(shard) for shard in clipped])
    exp_flat = torch.cat([_flat(shard) for shard in exp_clipped])
    return diagnose_tuple(("clipped_shards", "total_norm"), (exp_flat, exp_norm.double().reshape(())),
                          (got_flat, torch.tensor(value, dtype=F64)), mistakes, rtol=rtol, atol=atol)


CLIP_SHARDED = Exercise(
    grade_id="l13_clip_sharded",
    function="clip_sharded",
    points=3,
    make_cases=_clip_cases,
    reference=_clip_reference,
    compare=_clip_compare,
    hint="squared norms add up over disjoint pieces, norms do not: each rank contributes its sum of "
         "squares, and every rank clips by the same factor from their total.",
    hints=(
        "With s_r the sum of the squared entries of all the tensors on rank r:\n"
        "    ‖g‖ = √(s_1 + ... + s_N)                   (what one all-reduce with SUM gives every rank)\n"
        "    c = min(1, max_norm / (‖g‖ + 10⁻⁶))        (the same c on every rank)\n"
        "and every tensor on every rank is multiplied by c. Clipping each shard by its own √s_r (the "
        "local-norm bug) uses norms that are all smaller than ‖g‖, so it clips too little, and "
        "differently on each rank.",
        "  1. one 0-dim sum of squares per rank (a rank's shard may be empty: its sum is 0; start the "
        "sum from a float64 zero tensor so that an empty shard still gives a tensor);\n"
        "  2. the global norm: the square root of their sum;\n"
        "  3. the factor, capped at 1 (torch.clamp with max), from the global norm + 1e-6;\n"
        "  4. the same nested structure back, one list per rank, each tensor times the factor (cast "
        "the factor to the tensor's dtype so that float32 stays float32).\n"
        "Return (clipped_shards, total_norm), the norm before clipping.",
    ),
    forbidden=("torch.nn.utils.clip_grad", "course_lib.clipping"),
)


# ---------------------------------------------------------------- l13_ring_allreduce_bytes

def _ring_cases(rng: np.random.Generator) -> list[Case]:
    n = int(rng.integers(1, 500)) * 1_000_000
    return [
        Case("a 70B model's bfloat16 gradients on 8 GPUs", (70_000_000_000, 8), {"bytes_per_value": 2}),
        Case("2 ranks (each sends its whole buffer once)", (1_000_000, 2)),
        Case("one rank (nothing to send)", (123_456, 1)),
        Case("4 ranks, float32", (n, 4)),
        Case("1,024 ranks", (n, 1024), {"bytes_per_value": 2}),
        Case("3 ranks, float64", (3_000_000, 3, 8)),
        Case("a random size on 16 ranks", (int(rng.integers(1000, 10**9)), 16), hidden=True),
        Case("a random number of ranks", (n, int(rng.integers(5, 300))), hidden=True),
    ]


def _ring_reference(n_params, world_size, bytes_per_value=4):
    return 2 * (world_size - 1) / world_size * float(n_params) * bytes_per_value


def _ring_compare(case: Case, expected, got) -> str | None:
    hp = {"bytes_per_value": 4}
    hp.update(zip(("bytes_per_value",), case.args[2:]))
    hp.update(case.kwargs)
    n, world, b = float(case.args[0]), case.args[1], hp["bytes_per_value"]
    if got is None:
        return "returned None: did you forget the `return`?"
    value = as_float(got)
    if value is None:
        return f"should return one number (bytes, a float), got {describe(got)}"
    full = 2 * (world - 1) / world * n * b

    def t(x: float) -> torch.Tensor:
        return torch.tensor(float(x), dtype=F64)

    mistakes = [
        ("that is the reduce-scatter alone: the all-gather sends as much again, 2 (N - 1) / N * n * b",
         t(full / 2)),
        ("a rank sends one chunk of n / N values per step, not its whole buffer: 2 (N - 1) steps of "
         "n / N values each", t(2 * (world - 1) * n * b)),
        ("that would be sending the whole buffer to every other rank; the ring sends 2 (N - 1) chunks "
         "of n / N values", t((world - 1) * n * b)),
        ("the traffic depends on the number of ranks: 2 (N - 1) / N * n * b (2 ranks: n * b; one "
         "rank: nothing)", t(2 * n * b)),
        ("multiply by bytes_per_value: the formula counts bytes, not values", t(full / b)),
        ("bytes_per_value is already in bytes: don't multiply by 8 (that gives bits)", t(full * 8)),
        ("return bytes, not gigabytes: don't divide by 1e9", t(full / 1e9)),
        ("each step a rank sends n / N values, and there are 2 (N - 1) steps: 2 (N - 1) / N, not 2 / N",
         t(2 / world * n * b)),
    ]
    return diagnose("the bytes sent per rank", t(expected), t(value), mistakes, rtol=1e-9, atol=1e-9)


RING_ALLREDUCE_BYTES = Exercise(
    grade_id="l13_ring_allreduce_bytes",
    function="ring_allreduce_bytes",
    points=1,
    make_cases=_ring_cases,
    reference=_ring_reference,
    compare=_ring_compare,
    hint="count the steps of the ring and what one step sends: each rank's buffer is cut into one chunk "
         "per rank.",
    hints=(
        "With n values of b bytes on N ranks, each buffer is cut into N chunks of n/N values. The "
        "reduce-scatter takes N − 1 steps, in each of which every rank sends one chunk to its "
        "neighbour; the all-gather takes N − 1 more. So each rank sends\n"
        "    2(N − 1) · (n/N) · b  bytes\n"
        "2 ranks send n·b each; one rank sends nothing; for large N it approaches 2·n·b, whatever N is.",
        "Two intermediate numbers make it readable: the size of one chunk in bytes (values per chunk "
        "times bytes per value) and the number of steps of both phases together. Their product is "
        "the answer; return it as a Python float (bytes, not bits or gigabytes).",
    ),
    forbidden=("course_lib.distributed.costs",),
)


# ---------------------------------------------------------------- l13_ddp_config

DDP_STEPS, DDP_DIM = 3, 3


def _ddp_cases(rng: np.random.Generator) -> list[Case]:
    def case(fits: bool) -> tuple:
        k = int(rng.choice([2, 4, 8]))
        a = 1 if fits else int(rng.choice([2, 3, 4]))
        b = int(rng.integers(2, 9))
        per_rank = a * b
        memory = per_rank + int(rng.integers(0, 3)) if fits else b
        lr = float(f"{10 ** rng.uniform(-2.5, -0.5):.3g}")
        return k * per_rank, lr, k, str(rng.choice(["avg", "sum"])), memory

    names = [("the batch fits on the ranks", True), ("the batch fits on the ranks", True),
             ("a rank holds only part of its share", False),
             ("a rank holds only part of its share", False), ("another setting", True),
             ("another setting", False)]
    cases = [Case(f"{name} ({i + 1})", case(fits)) for i, (name, fits) in enumerate(names)]
    cases += [Case(f"hidden setting ({i + 1})", case(bool(rng.integers(0, 2))), hidden=True)
              for i in range(2)]
    return cases


def _ddp_reference(batch_size, lr, world_size, reduce_op, max_per_rank):
    per_rank = batch_size // world_size
    accumulation = next(a for a in range(1, per_rank + 1)
                        if per_rank % a == 0 and per_rank // a <= max_per_rank)
    scale = accumulation * (world_size if reduce_op == "sum" else 1)
    return {"batch_per_rank": per_rank // accumulation, "accumulation_steps": accumulation,
            "lr": lr / scale}


def _ddp_data(batch_size: int, world_size: int):
    gen = np.random.default_rng(batch_size * 1009 + world_size)
    X = gen.standard_normal((DDP_STEPS * batch_size, DDP_DIM))
    y = X @ gen.standard_normal(DDP_DIM) + 0.3 * gen.standard_normal(len(X))
    return X, y


def _grad(X, y, w):
    return 2 * X.T @ (X @ w - y) / len(y)


def simulate_ddp(batch_size, lr, world_size, reduce_op, batch_per_rank, accumulation, lr_ranks):
    """The single-process weights and the ranks' weights after :data:`DDP_STEPS` SGD steps.

    Linear regression, w = 0 at the start. Each step the single process takes the next
    ``batch_size`` examples; the ranks split the same examples into ``world_size`` consecutive
    shards, each rank runs ``accumulation`` micro-batches of ``batch_per_rank``, adding their
    mean-loss gradients (as ``backward`` accumulates), then the gradients are all-reduced
    (``"sum"``, or ``"avg"``: the sum divided by the world size) and every rank steps with
    ``lr_ranks``.
    """
    X, y = _ddp_data(batch_size, world_size)
    w_one, w_ddp = np.zeros(DDP_DIM), np.zeros(DDP_DIM)
    for t in range(DDP_STEPS):
        Xs, ys = X[t * batch_size:(t + 1) * batch_size], y[t * batch_size:(t + 1) * batch_size]
        w_one = w_one - lr * _grad(Xs, ys, w_one)
        total, pos = np.zeros(DDP_DIM), 0
        for _rank in range(world_size):
            for _micro in range(accumulation):
                total += _grad(Xs[pos:pos + batch_per_rank], ys[pos:pos + batch_per_rank], w_ddp)
                pos += batch_per_rank
        w_ddp = w_ddp - lr_ranks * (total / world_size if reduce_op == "avg" else total)
    return w_one, w_ddp


def _ddp_compare(case: Case, expected, got) -> str | None:
    batch_size, lr, world_size, reduce_op, memory = case.args
    keys = {"batch_per_rank", "accumulation_steps", "lr"}
    if not isinstance(got, dict) or set(got) != keys:
        return (f"should return a dict with the keys {sorted(keys)}, got {describe(got)}"
                + (f" with keys {sorted(map(str, got))}" if isinstance(got, dict) else ""))
    ints = {}
    for key in ("batch_per_rank", "accumulation_steps"):
        value = got[key]
        if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.is_floating_point():
            value = int(value.item())
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            return f"{key} should be a whole number >= 1, got {value!r}"
        ints[key] = int(value)
    b, a = ints["batch_per_rank"], ints["accumulation_steps"]
    lr_ranks = as_float(got["lr"])
    if lr_ranks is None or not np.isfinite(lr_ranks) or lr_ranks <= 0:
        return f"lr should be a positive number, got {got['lr']!r}"
    if world_size * a * b != batch_size:
        return (f"{world_size} ranks x {a} micro-batch(es) x {b} examples = "
                f"{world_size * a * b} examples per step, but the single-process run takes "
                f"{batch_size}: the ranks must see exactly the same examples")
    if b > memory:
        return (f"a micro-batch of {b} examples does not fit: a rank holds at most {memory} at "
                f"once. Split its share of the single run's {batch_size} examples into more "
                f"accumulation steps")
    w_one, w_ddp = simulate_ddp(batch_size, lr, world_size, reduce_op, b, a, lr_ranks)
    if np.allclose(w_ddp, w_one, rtol=1e-9, atol=1e-12):
        return None
    ratio = float(np.linalg.norm(w_ddp) / np.linalg.norm(w_one))
    first = (f"after {DDP_STEPS} steps the ranks' weights differ from the single run's (their "
             f"length is {ratio:.3g}x)")
    if ratio > 1:
        return (f"{first}: the steps are too long. Count how many mean gradients end up added "
                f"together: {a} per rank, then the all-reduce '{reduce_op}' over {world_size} "
                f"ranks")
    return (f"{first}: the steps are too short. The examples are the same as the single run's, so "
            f"only the way the gradients are added up and the learning rate can differ")


DDP_CONFIG = Exercise(
    grade_id="l13_ddp_config",
    function="ddp_config",
    points=2,
    make_cases=_ddp_cases,
    reference=_ddp_reference,
    compare=_ddp_compare,
    hint="the ranks see the same examples as the single run; count how many mean gradients are "
         "added up before the step, and undo that with the learning rate.",
    hints=(
        "A step of the single run: w ← w − lr·G, with G the mean gradient over its B examples. On "
        "K ranks each rank takes B/K of them, possibly in a micro-batches of b (K·a·b = B). "
        "Accumulating adds a mean gradients (each over b examples): a·G on average per rank. The "
        "all-reduce 'sum' adds the K ranks' totals: K·a·G; 'avg' divides that by K: a·G. To "
        "take the same step, divide lr by whatever multiplies G. Splitting a batch is not making "
        "it larger: the linear scaling rule of section 4 does not apply.",
        "Steps:\n"
        "  1. each rank's share: the batch divided by the number of ranks (it divides exactly);\n"
        "  2. the smallest number of accumulation steps a that divides per_rank exactly and makes "
        "per_rank // a fit in max_per_rank;\n"
        "  3. the factor that multiplies the mean gradient: a, times world_size for 'sum';\n"
        "  4. return the micro-batch size, a, and lr divided by that factor.",
    ),
)


# this lesson's exercises, in the order the notebook asks for them
EXERCISES = (WHOLE_BATCH_GRADIENT, CLIP_SHARDED, RING_ALLREDUCE_BYTES, DDP_CONFIG)
