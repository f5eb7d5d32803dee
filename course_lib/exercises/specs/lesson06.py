"""Lesson 06 exercises: AdamW, decoupled weight decay, and what the optimizer state costs.

``adamw_step`` does one AdamW update of one tensor exactly as ``torch.optim.AdamW`` does (the
reference is one step of torch's optimizer on a copy): the weights shrink first,
``p = p * (1 - lr * weight_decay)``, then the Adam step, and ``m`` and ``v`` see only ``g``.

``split_decay_groups`` sorts a model's parameters, given as plain ``(name, shape)`` pairs, into
the ones to decay (2 or more dimensions: weight matrices, embeddings, convolution kernels) and
the ones not to decay (biases, LayerNorm / BatchNorm scales, scalars), the rule of nanoGPT and of
:func:`course_lib.models.param_groups_for_weight_decay`. The cases are the ``named_parameters()``
of real torch modules built on the meta device (names and shapes, no memory).

``weights_and_state_gb`` is the memory arithmetic: weights plus optimizer state in GB (10^9 bytes).

``adamw_equilibrium`` is predict-then-measure: for a randomised one-weight problem
``f(w) = a (w - c)^2 / 2`` the learner returns where ``torch.optim.AdamW`` leaves the weight; the
check runs AdamW (10,000 steps from ``w = 0``) and compares.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from course_lib.exercises.protocol import Case, Exercise
from course_lib.exercises.specs._helpers import (
    F32,
    F64,
    OPTIMIZERS,
    adam_state_case_maker,
    as_float,
    describe,
    diagnose,
    diagnose_exact,
    diagnose_tuple,
)

__all__ = ["ADAMW_EQUILIBRIUM", "ADAMW_STEP", "EXERCISES", "SPLIT_DECAY_GROUPS",
           "WEIGHTS_AND_STATE_GB", "adamw_settle"]

# torch.optim.AdamW's defaults
ADAMW_DEFAULTS = {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 1e-2}


def _tol(p: torch.Tensor) -> tuple[float, float]:
    # state entries can be tiny (v ~ g^2 ~ 1e-12): float64 relies on the relative tolerance
    return (1e-4, 1e-6) if p.dtype == F32 else (1e-6, 1e-14)


# ---------------------------------------------------------------- l06_adamw_step

def _adamw_cases(rng: np.random.Generator) -> list[Case]:
    case = adam_state_case_maker(rng)

    return [
        case("first step t = 1 (m = v = 0), float32", (4,), 1, dtype=F32,
             kwargs={"lr": 0.1, "weight_decay": 0.5}, fresh=True),
        case("step t = 10 with some history", (5,), 10, kwargs={"lr": 0.01, "weight_decay": 0.1}),
        case("strong decay, weight_decay = 0.5", (5,), 4, kwargs={"lr": 0.05, "weight_decay": 0.5}),
        case("zero gradient (decay and momentum still move p)", (4,), 5,
             kwargs={"lr": 0.1, "weight_decay": 0.1}, zero_g=True),
        case("2-D parameter, float32", (3, 4), 3, dtype=F32, kwargs={"lr": 0.05, "weight_decay": 0.2}),
        case("weight_decay = 0 (plain Adam)", (5,), 6, kwargs={"lr": 0.01, "weight_decay": 0.0}),
        case("default hyperparameters", (6,), 2),
        case("betas = (0.8, 0.99)", (5,), 4, kwargs={"lr": 0.02, "betas": (0.8, 0.99), "weight_decay": 0.1}),
        case("a 0-dim parameter", (), 7, kwargs={"lr": 0.02, "weight_decay": 0.1}),
        case("tiny gradients (the decay dominates)", (5,), 7, kwargs={"lr": 0.01, "weight_decay": 0.1},
             g_scale=1e-6, hidden=True),
        case("a big 2-D parameter", (10, 10), 50, kwargs={"lr": 0.03, "weight_decay": 0.05}, hidden=True),
        case("first step, 2-D, large lr", (3, 3), 1, kwargs={"lr": 0.3, "weight_decay": 0.2}, fresh=True,
             hidden=True),
    ]


def _adamw_reference(p, g, m, v, t, lr=ADAMW_DEFAULTS["lr"], betas=ADAMW_DEFAULTS["betas"],
                     eps=ADAMW_DEFAULTS["eps"], weight_decay=ADAMW_DEFAULTS["weight_decay"]):
    """One step of ``torch.optim.AdamW`` on a copy of ``p`` from the state (m, v, step = t - 1)."""
    param = p.detach().clone()
    param.grad = g.detach().clone()
    opt = torch.optim.AdamW([param], lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                            foreach=False)
    opt.state[param].update({"step": torch.tensor(float(t - 1)), "exp_avg": m.detach().clone(),
                             "exp_avg_sq": v.detach().clone()})
    opt.step()
    state = opt.state[param]
    return param.detach(), state["exp_avg"].detach().clone(), state["exp_avg_sq"].detach().clone()


def _adamw_compare(case: Case, expected, got) -> str | None:
    p0, g0, m0, v0, t = case.args
    hp = {**ADAMW_DEFAULTS, **case.kwargs}
    lr, (b1, b2), eps, wd = hp["lr"], hp["betas"], hp["eps"], hp["weight_decay"]
    p, g, m, v = p0.double(), g0.double(), m0.double(), v0.double()
    bc1, bc2 = 1 - b1 ** t, 1 - b2 ** t

    def moments(grad):
        return b1 * m + (1 - b1) * grad, b2 * v + (1 - b2) * grad * grad

    def adam(m_new, v_new, correct=True, eps_inside=False):
        m_hat, v_hat = (m_new / bc1, v_new / bc2) if correct else (m_new, v_new)
        denom = torch.sqrt(v_hat + eps) if eps_inside else torch.sqrt(v_hat) + eps
        return lr * m_hat / denom                       # the Adam step, to subtract

    m_new, v_new = moments(g)
    step = adam(m_new, v_new)
    decayed = p * (1 - lr * wd)
    m_l2, v_l2 = moments(g + wd * p)                    # Adam's L2 form: decay inside the gradient
    right_mv = "m and v are right but p is not: "
    mistakes = [
        ("you added weight_decay * p to the gradient: that is L2 regularisation (Adam's "
         "weight_decay), which m and v then rescale. AdamW's m and v see only g, and the weights "
         "shrink directly, by the factor (1 − ηλ)", (p - adam(m_l2, v_l2), m_l2, v_l2)),
        ("m and v should see only the gradient g: the decay acts on the weights directly, not through "
         "the gradient", (None, m_l2, v_l2)),
        (right_mv + "the weight decay is missing: first shrink p by the factor (1 − ηλ), "
         "then take the Adam step", (p - step, m_new, v_new)),
        (right_mv + "the decay is multiplied by the learning rate too, (1 − ηλ), as torch does (a "
         "schedule on lr then scales the decay)", (p * (1 - wd) - step, m_new, v_new)),
        (right_mv + "decay the OLD weights: shrink p first, then subtract the Adam step (you shrank p "
         "after the step)", ((p - step) * (1 - lr * wd), m_new, v_new)),
        (right_mv + "the weights should shrink: the factor is (1 − ηλ), below 1, not (1 + ηλ)",
         (p * (1 + lr * wd) - step, m_new, v_new)),
        (right_mv + "did you forget the bias correction? m and v start at zero, so early on they are "
         "too small by the factors (1 − β₁ᵗ) and (1 − β₂ᵗ): divide each by its factor before the step",
         (decayed - adam(m_new, v_new, correct=False), m_new, v_new)),
        (right_mv + "the bias correction is off by one step: use the t you are given (t = 1 on "
         "the first step)", (decayed - lr * (m_new / (1 - b1 ** (t - 1))) / (
             torch.sqrt(v_new / (1 - b2 ** (t - 1))) + eps), m_new, v_new) if t > 1 else None),
        (right_mv + "ε goes outside the square root: √v̂ + ε",
         (decayed - adam(m_new, v_new, eps_inside=True), m_new, v_new)),
        ("m is right but v is not: did you square the gradient? v averages g ⊙ g, m averages g",
         (None, m_new, b2 * v + (1 - b2) * g)),
        ("beta1 and beta2 are swapped: m, the average of g, uses the first of betas; v, the average of "
         "g², the second", (None, b2 * m + (1 - b2) * g, b1 * v + (1 - b1) * g * g)),
        ("p moved uphill: the Adam step η·m̂ / (√v̂ + ε) is subtracted from the decayed p",
         (decayed + step, m_new, v_new)),
    ]
    rtol, atol = _tol(p0)
    return diagnose_tuple(("new_p", "new_m", "new_v"), expected, got, mistakes, rtol=rtol, atol=atol)


ADAMW_STEP = Exercise(
    grade_id="l06_adamw_step",
    function="adamw_step",
    points=3,
    make_cases=_adamw_cases,
    reference=_adamw_reference,
    compare=_adamw_compare,
    hint="AdamW = shrink the weights directly, then an ordinary Adam step that sees the gradient alone; "
         "the decay never goes into the gradient.",
    hints=(
        "In torch's order, with λ the weight decay and t the number of this step (1 on the first):\n"
        "    p ← p·(1 − ηλ)                   decay first, from the old p\n"
        "    m ← β₁·m + (1 − β₁)·g            m̂ = m / (1 − β₁ᵗ)\n"
        "    v ← β₂·v + (1 − β₂)·g ⊙ g        v̂ = v / (1 − β₂ᵗ)\n"
        "    p ← p − η · m̂ / (√v̂ + ε)\n"
        "Adding λp to the gradient instead (L2) would let v rescale the decay: weights with large "
        "gradients would hardly be decayed. Decoupling keeps the shrinkage the same for every weight.",
        "Take your adam_step from lesson 05 and put one line in front of it: the decayed p, a new tensor, "
        "the old p times one minus lr times weight_decay. Everything after that is Adam unchanged, "
        "computed from g alone (beta1 and beta2 from betas, new m and v, the corrected m_hat and v_hat, "
        "the step with torch's sqrt), and the step is subtracted from the decayed p. Return (new_p, "
        "new_m, new_v) with the uncorrected m and v. A zero gradient still moves p: the decay shrinks "
        "it and the momentum in m carries it on.",
    ),
    forbidden=OPTIMIZERS,
)


# ---------------------------------------------------------------- l06_split_decay_groups

def _named_shapes(module: nn.Module) -> list[tuple[str, tuple[int, ...]]]:
    return [(name, tuple(int(s) for s in p.shape)) for name, p in module.named_parameters()]


def _char_transformer(n_layer: int, d: int, vocab: int, block: int) -> list[tuple[str, tuple[int, ...]]]:
    """The names and shapes of ``course_lib.models.CharTransformer`` (untied), without building it."""
    out = [("token_embedding.weight", (vocab, d)), ("position_embedding.weight", (block, d))]
    for i in range(n_layer):
        b = f"blocks.{i}"
        out += [(f"{b}.ln_1.weight", (d,)), (f"{b}.ln_1.bias", (d,)),
                (f"{b}.attn.qkv.weight", (3 * d, d)), (f"{b}.attn.qkv.bias", (3 * d,)),
                (f"{b}.attn.proj.weight", (d, d)), (f"{b}.attn.proj.bias", (d,)),
                (f"{b}.ln_2.weight", (d,)), (f"{b}.ln_2.bias", (d,)),
                (f"{b}.mlp.0.weight", (4 * d, d)), (f"{b}.mlp.0.bias", (4 * d,)),
                (f"{b}.mlp.2.weight", (d, 4 * d)), (f"{b}.mlp.2.bias", (d,))]
    return out + [("ln_f.weight", (d,)), ("ln_f.bias", (d,)), ("lm_head.weight", (vocab, d))]


def _split_cases(rng: np.random.Generator) -> list[Case]:
    def n(lo, hi):
        return int(rng.integers(lo, hi))

    meta = {"device": "meta"}                      # shapes only: no memory, no random init
    linear = _named_shapes(nn.Linear(n(2, 9), n(2, 9), **meta))
    mlp = _named_shapes(nn.Sequential(nn.Linear(n(2, 9), 16, **meta), nn.ReLU(), nn.Linear(16, n(2, 5), **meta)))
    c = n(2, 6)
    cnn = _named_shapes(nn.Sequential(nn.Conv2d(3, 8, 3, **meta), nn.BatchNorm2d(8, **meta), nn.ReLU(),
                                      nn.Conv2d(8, c, 3, bias=False, **meta), nn.BatchNorm2d(c, **meta),
                                      nn.Flatten(), nn.Linear(c * 4, 10, **meta)))
    d = 4 * n(1, 5)
    encoder = _named_shapes(nn.TransformerEncoderLayer(d, 2, 2 * d, **meta))
    raw = [("logit_scale", ()), ("positional_embedding", (n(4, 17), d)), ("text_projection", (d, n(2, 9))),
           ("ln_final.weight", (d,)), ("ln_final.bias", (d,))]
    gpt = _char_transformer(n(1, 3), d, n(10, 80), n(8, 33))
    mix = gpt[:6] + cnn + raw + encoder[:4]
    mix = [mix[i] for i in rng.permutation(len(mix))]
    return [
        Case("one nn.Linear", (linear,)),
        Case("an MLP (nn.Sequential of two Linear layers)", (mlp,)),
        Case("the lesson's tiny transformer (CharTransformer)", (gpt,)),
        Case("a CNN with BatchNorm", (cnn,)),
        Case("nn.TransformerEncoderLayer (in_proj_weight, in_proj_bias)", (encoder,)),
        Case("raw nn.Parameters (a scalar temperature, a projection, a position table)", (raw,)),
        Case("a Linear layer without bias", (_named_shapes(nn.Linear(n(2, 9), n(2, 9), bias=False, **meta)),)),
        Case("no parameters (an empty list)", ([],)),
        Case("a shuffled mix of everything", (mix,), hidden=True),
        Case("a deeper transformer", (_char_transformer(n(3, 7), 8, 50, 16),), hidden=True),
    ]


def _decays(shape: tuple) -> bool:
    # the rule, in torch's words: the tensor has 2 or more dimensions
    return torch.empty(shape, device="meta").dim() >= 2


def _split_reference(named_shapes):
    decay = [name for name, shape in named_shapes if _decays(tuple(shape))]
    no_decay = [name for name, shape in named_shapes if not _decays(tuple(shape))]
    return decay, no_decay


def _split_compare(case: Case, expected, got) -> str | None:
    (named_shapes,) = case.args
    exp_decay, exp_no = (list(e) for e in expected)
    label = "(decay_names, no_decay_names)"
    if got is None:
        return f"returned None: did you forget the `return`? Return the tuple {label}"
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return f"should return a tuple {label} of two lists of names, got {describe(got)}"
    for part_name, part in zip(("decay_names", "no_decay_names"), got):
        if not isinstance(part, (list, tuple)):
            return f"{part_name} should be a list of names (strings), got {describe(part)}"
        for item in part:
            if isinstance(item, (list, tuple)):
                return f"{part_name} should hold the names only (strings), not (name, shape) pairs"
            if not isinstance(item, str):
                return f"{part_name} should hold names (strings), but one entry is {describe(item)}"
    decay, no = list(got[0]), list(got[1])
    if (decay, no) == (exp_decay, exp_no):
        return None
    if exp_decay and exp_no and (decay, no) == (exp_no, exp_decay):
        return f"the two lists are swapped: return {label}"
    names = [name for name, _ in named_shapes]
    together = decay + no
    if len(set(together)) < len(together):
        return "a name appears twice (in both lists?): every parameter goes into exactly one of the two lists"
    if set(together) - set(names):
        return "there are names that are not in named_shapes: use the names exactly as given"
    if set(names) - set(together):
        missing = len(set(names) - set(together))
        return (f"{missing} parameter name{'s are' if missing > 1 else ' is'} in neither list: every "
                "name goes into exactly one of the two")
    if set(decay) == set(exp_decay):
        return "the split is right but the order is not: keep the names in the order of named_shapes"
    ndim = {name: len(shape) for name, shape in named_shapes}

    def rule(decays) -> set:
        return {name for name, shape in named_shapes if decays(name, len(shape))}

    by_ndim = "decide by the number of dimensions: decay exactly the tensors with 2 or more dimensions"
    by_name = ("you decided by the name: LayerNorm / BatchNorm scales are 1-D and called ...weight too, "
               "yet must not be decayed, and a raw matrix (a projection, a position table) may have no "
               "'weight' in its name, yet must be; " + by_ndim)
    mistakes = [
        (by_name, rule(lambda name, k: "bias" not in name)),
        (by_name, rule(lambda name, k: "weight" in name)),
        (by_name, rule(lambda name, k: name == "weight" or name.endswith(".weight"))),
        ("biases are decayed: a bias has 1 dimension and no weight decay; " + by_ndim,
         rule(lambda name, k: k >= 2 or (k == 1 and "bias" in name))),
        ("1-D weights (LayerNorm / BatchNorm scales) are decayed: their neutral value is 1, and decay "
         "pulls them towards 0; " + by_ndim, rule(lambda name, k: k >= 2 or (k == 1 and "bias" not in name))),
        ("0-dim parameters (a learnable scalar) are decayed: only tensors with 2 or more dimensions are",
         rule(lambda name, k: k != 1)),
        ("2-D weight matrices (Linear layers, embedding tables) should be decayed too: the rule is "
         "2 or more dimensions, not more than 2", rule(lambda name, k: k > 2)),
        ("embedding / position tables are 2-D and are decayed here, as in GPT-2 and nanoGPT: " + by_ndim,
         rule(lambda name, k: k >= 2 and "emb" not in name)),
        ("every parameter is decayed: biases, norm scales and scalars (0 or 1 dimension) are not",
         set(names)),
        ("nothing is decayed: weight matrices, embeddings and convolution kernels (2 or more dimensions) "
         "are", set()),
    ]
    message = diagnose_exact(set(exp_decay), set(decay), mistakes)
    if message:
        return message
    wrong = [name for name in names if (name in decay) != (name in exp_decay)]
    text = f"{len(wrong)} name{'s are' if len(wrong) > 1 else ' is'} in the wrong list; " + by_ndim
    if not case.hidden:  # a visible case may show an example
        name = wrong[0]
        text += (f" (e.g. {name!r} has {ndim[name]} dimension{'s' if ndim[name] != 1 else ''} and "
                 f"{'is' if name in exp_decay else 'is not'} decayed)")
    return text


SPLIT_DECAY_GROUPS = Exercise(
    grade_id="l06_split_decay_groups",
    function="split_decay_groups",
    points=2,
    make_cases=_split_cases,
    reference=_split_reference,
    compare=_split_compare,
    hint="the rule looks at the shape, never the name: how many dimensions does a weight matrix have, "
         "and how many does a bias or a LayerNorm scale have?",
    hints=(
        "GPT-2's rule: decay exactly the tensors with 2 or more dimensions (Linear and convolution "
        "weights, embedding tables), and leave those with 0 or 1 dimension alone (biases, norm scales "
        "and shifts, learnable scalars). A norm scale is called ...weight, yet its neutral value is 1 "
        "and decay would pull it to 0; a raw projection matrix may have no 'weight' in its name, yet it "
        "is a matrix. The number of dimensions of a shape tuple is its length; () has 0.",
        "Two empty lists, then one pass over named_shapes in order: unpack each (name, shape) pair, and "
        "append the NAME (not the pair) to the decay list when the shape has at least two entries, to "
        "the other list otherwise. Return the two lists as a tuple, decay first. One pass keeps both "
        "lists in the order of named_shapes, and every name lands in exactly one of them.",
    ),
)


# ---------------------------------------------------------------- l06_weights_and_state_gb

_GB = 1e9


def _memory_cases(rng: np.random.Generator) -> list[Case]:
    def billions():
        return int(rng.integers(1, 500)) * 100_000_000

    return [
        Case("a 70B model in float32 with AdamW", (70_000_000_000,)),
        Case("GPT-2 small (124M parameters)", (124_439_808,)),
        Case("bfloat16 values (2 bytes each)", (7_000_000_000,), {"bytes_per_value": 2}),
        Case("SGD with momentum (one state per parameter)", (1_500_000_000,), {"states_per_param": 1}),
        Case("plain SGD (no state)", (3_000_000_000, 4, 0)),
        Case("a random model size", (billions(),)),
        Case("float64 and AdamW", (billions(), 8, 2), hidden=True),
        Case("a tiny model", (int(rng.integers(1000, 99_999)),), hidden=True),
    ]


def _memory_reference(n_params, bytes_per_value=4, states_per_param=2):
    return float(n_params) * bytes_per_value * (1 + states_per_param) / _GB


def _memory_compare(case: Case, expected, got) -> str | None:
    hp = {"bytes_per_value": 4, "states_per_param": 2}
    hp.update(zip(("bytes_per_value", "states_per_param"), case.args[1:]))
    hp.update(case.kwargs)
    n, b, s = float(case.args[0]), hp["bytes_per_value"], hp["states_per_param"]
    if got is None:
        return "returned None: did you forget the `return`?"
    value = as_float(got)
    if value is None:
        return f"should return one number (GB, a float), got {describe(got)}"
    total = n * b * (1 + s)

    def t(x: float) -> torch.Tensor:
        return torch.tensor(float(x), dtype=F64)

    mistakes = [
        ("that is the optimizer state alone: add the weights themselves (per parameter, one weight "
         "plus its states_per_param state values)", t(n * b * s / _GB)),
        ("that is the weights alone: the optimizer also keeps states_per_param values per parameter "
         "(m and v for AdamW)", t(n * b / _GB)),
        ("you counted the gradients too: this exercise counts the weights and the optimizer state "
         "only, one weight plus states_per_param values per parameter", t(n * b * (2 + s) / _GB)),
        ("GB here means 10^9 bytes, not GiB (2^30 bytes)", t(total / 2 ** 30)),
        ("bytes_per_value is already in bytes: don't multiply by 8 (that gives bits)", t(total * 8 / _GB)),
        ("that is the number of bytes: return gigabytes (10^9 bytes each)", t(total)),
        ("that is megabytes: a gigabyte is 10^9 bytes", t(total / 1e6)),
        ("use true division (/), not floor division (//): the answer need not be a whole number",
         t(total // _GB)),
    ]
    return diagnose("the memory in GB", t(expected), t(value), mistakes, rtol=1e-9, atol=1e-15)


WEIGHTS_AND_STATE_GB = Exercise(
    grade_id="l06_weights_and_state_gb",
    function="weights_and_state_gb",
    points=1,
    make_cases=_memory_cases,
    reference=_memory_reference,
    compare=_memory_compare,
    hint="count values first (each parameter's weight plus its optimizer states), then bytes, then "
         "gigabytes.",
    hints=(
        "Per parameter the memory holds the weight itself and states_per_param optimizer values (m and "
        "v for Adam and AdamW, the momentum buffer for SGD with momentum, nothing for plain SGD), each "
        "of bytes_per_value bytes:\n"
        "    GB = n · b · (1 + s) / 10⁹\n"
        "GB as GPU memory is sold: 10⁹ bytes, not 2³⁰. By hand: 70·10⁹ parameters in float32 with AdamW "
        "is 70·10⁹ · 4 · 3 / 10⁹ = 840 GB.",
        "Three quantities in a row: the number of stored values (parameters times values per "
        "parameter), the number of bytes (values times bytes_per_value), and gigabytes (bytes over "
        "1e9, with true division: the answer need not be whole). Return a Python float; gradients and "
        "activations are not counted here.",
    ),
)


# this lesson's exercises, in the order the notebook asks for them
# ---------------------------------------------------------------- l06_adamw_equilibrium

EQUILIBRIUM_STEPS = 10_000


def adamw_settle(a: float, c: float, lr: float, weight_decay: float,
                 steps: int = EQUILIBRIUM_STEPS) -> float:
    """Where ``torch.optim.AdamW(lr=lr, weight_decay=weight_decay)`` (default betas and eps) leaves
    ``w`` on ``f(w) = a (w - c)^2 / 2`` after ``steps`` steps from ``w = 0``: the mean of the last
    100 (the weight may jitter by about ``lr``)."""
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    w = m = v = 0.0
    tail = []
    for t in range(1, steps + 1):
        g = a * (w - c)
        w *= 1 - lr * weight_decay
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        w -= lr * (m / (1 - beta1**t)) / (math.sqrt(v / (1 - beta2**t)) + eps)
        if t > steps - 100:
            tail.append(w)
    return sum(tail) / len(tail)


def _equilibrium_cases(rng: np.random.Generator) -> list[Case]:
    def case(name, outside, hidden=False):
        wd = float(10 ** rng.uniform(-0.5, 0.5))           # 0.32 to 3.2
        size = rng.uniform(2.0, 4.0) / wd if outside else rng.uniform(0.15, 0.5) / wd
        c = float(size * rng.choice([-1.0, 1.0]))
        return Case(name, (), {"a": float(10 ** rng.uniform(-0.5, 1.0)), "c": c,
                               "lr": float(10 ** rng.uniform(-2.5, -1.5)), "weight_decay": wd},
                    hidden=hidden)

    return [case("a target far from zero", True), case("a target close to zero", False),
            case("another far target", True), case("another close target", False),
            case("a third target, far", True), case("a hidden far target", True, hidden=True),
            case("a hidden close target", False, hidden=True)]


def _equilibrium_reference(a, c, lr, weight_decay):
    return adamw_settle(a, c, lr, weight_decay)


def _equilibrium_compare(case: Case, expected, got) -> str | None:
    value = as_float(got)
    if value is None or not math.isfinite(value):
        return f"return one finite number (the weight), got {describe(got)}"
    k = case.kwargs
    tol = 0.02 * abs(expected) + 2 * k["lr"]
    if abs(value - expected) <= tol:
        return None
    setting = (f"a = {k['a']:.3g}, c = {k['c']:.3g}, lr = {k['lr']:.3g}, weight_decay = "
               f"{k['weight_decay']:.3g}")
    said = f"with {setting}, AdamW settled at w = {expected:.4g}; you said {value:.4g}"
    l2 = k["a"] * k["c"] / (k["a"] + k["weight_decay"])
    if abs(value - l2) <= 1e-3 * max(abs(l2), 1e-9) and abs(value - expected) > tol:
        return (f"{said}. That is where L2 regularisation (or SGD's weight decay) would balance the "
                "pull of the data: under AdamW the data's pull is divided by its own size first.")
    if abs(value - k["c"]) <= 1e-6 * max(abs(k["c"]), 1.0):
        return (f"{said}: the data's minimum, as if the decay did nothing. Here the decay wins "
                "before the weight gets there.")
    if value * expected < 0:
        return f"{said}: the sign is wrong; the weight moves from 0 towards c and stops on its side."
    return f"{said}. Measure it: run AdamW on this problem and watch where the weight stops."


ADAMW_EQUILIBRIUM = Exercise(
    grade_id="l06_adamw_equilibrium",
    function="adamw_equilibrium",
    points=2,
    make_cases=_equilibrium_cases,
    reference=_equilibrium_reference,
    compare=_equilibrium_compare,
    hint="at rest, AdamW's two pulls cancel: the decay lr·λ·w one way, the normalised gradient step "
         "the other. How large can the normalised step be?",
    hints=(
        "At a resting point w stops moving: λ·w = −m̂/(√v̂ + ε) (PyTorch's AdamW; the learning rate "
        "cancels). While the gradient keeps one sign, m̂/√v̂ has size 1. So if the data's minimum c "
        "lies beyond the largest weight the decay lets that ratio hold, the weight stops there "
        "instead; otherwise the gradient can shrink to nothing and the weight reaches c.",
        "Two regimes, decided by comparing |c| with 1/λ: beyond it, the weight ends at the boundary "
        "on c's side; inside it, at c. To measure instead of predict: a loop of 10,000 steps of "
        "torch.optim.AdamW on one weight starting at 0, with the gradient a·(w − c) set by hand, "
        "then read the weight (or the mean of the last few).",
    ),
)


EXERCISES = (ADAMW_STEP, SPLIT_DECAY_GROUPS, WEIGHTS_AND_STATE_GB, ADAMW_EQUILIBRIUM)
