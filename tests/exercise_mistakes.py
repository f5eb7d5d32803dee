"""Typical wrong implementations of every exercise, with what their feedback must name.

The catalogue the exercise battery (tests/test_exercise_specs.py) runs: each entry of
:data:`WRONG` is ``(grade_id, label, wrong_function, keyword)``; the inline check must fail it
with feedback containing ``keyword``, and the grader must fail it for every seed. Grouped by
lesson; every exercise has at least two entries.
"""

from __future__ import annotations

import collections
import math
import statistics

import numpy as np
import torch
import torch.nn.functional as F
from exercise_support import solution

__all__ = ["WRONG", "wrong_implementation"]


# ------------------------------------------------------------------ lessons 01-05


def _stable_softmax(z, dim=1):
    e = torch.exp(z - z.max(dim=dim, keepdim=True).values)
    return e / e.sum(dim=dim, keepdim=True)


def _log_softmax(z):
    m = z.max(dim=1, keepdim=True).values
    return z - m - torch.log(torch.exp(z - m).sum(dim=1, keepdim=True))


def _onehot(y, c):
    return F.one_hot(y, c).to(torch.float64)


def _diagnose_by_accuracy(logits, targets):
    accuracy = (logits.argmax(dim=1) == targets).double().mean().item()
    return "learning" if accuracy > 2 / logits.shape[1] else "chance"


def _diagnose_in_bits(logits, targets):
    ratio = F.cross_entropy(logits, targets).item() / math.log2(logits.shape[1])
    return "learning" if ratio < 0.9 else "chance" if ratio <= 1.1 else "confidently wrong"


def _central(f, x, h, denom):
    flat = x.reshape(-1)
    out = torch.zeros_like(flat)
    for i in range(flat.numel()):
        e = torch.zeros_like(flat)
        e[i] = h
        out[i] = (f((flat + e).reshape(x.shape)) - f((flat - e).reshape(x.shape))) / denom
    return out.reshape(x.shape)


def _forward_difference(f, x, h=1e-5):
    flat = x.reshape(-1)
    out = torch.zeros_like(flat)
    for i in range(flat.numel()):
        e = torch.zeros_like(flat)
        e[i] = h
        out[i] = (f((flat + e).reshape(x.shape)) - f(x)) / h
    return out.reshape(x.shape)


def _fit(sqft, price, lr, steps, *, scale=True, convert=True):
    mu, sigma = sqft.mean(), sqft.std()
    x = (sqft - mu) / sigma if scale else sqft
    w = b = torch.zeros((), dtype=sqft.dtype)
    for _ in range(steps):
        err = w * x + b - price
        w, b = w - lr * 2 * (err * x).mean(), b - lr * 2 * err.mean()
    if scale and convert:
        w, b = w / sigma, b - w * mu / sigma
    return float(w), float(b)


def _fit_b_unconverted(sqft, price, lr, steps):
    mu, sigma = sqft.mean(), sqft.std()
    x = (sqft - mu) / sigma
    w = b = torch.zeros((), dtype=sqft.dtype)
    for _ in range(steps):
        err = w * x + b - price
        w, b = w - lr * 2 * (err * x).mean(), b - lr * 2 * err.mean()
    return float(w / sigma), float(b)


def _traj_same_tensor(lr, w0, steps):
    w = torch.tensor(float(w0))
    path = [w]
    for _ in range(steps):
        w -= lr * 2 * w
        path.append(w)
    return path


def _momentum_ema(p, g, buf, lr, mu):
    buf = (1 - mu) * g if buf is None else mu * buf + (1 - mu) * g
    return p - lr * buf, buf


def _momentum_velocity(p, g, buf, lr, mu):
    v = lr * g if buf is None else mu * buf + lr * g
    return p - v, v


def _momentum_in_place(p, g, buf, lr, mu):
    buf = g.clone() if buf is None else buf.mul_(mu).add_(g)
    return p - lr * buf, buf


def _nesterov_plain(p, g, buf, lr, mu):
    buf = g.clone() if buf is None else mu * buf + g
    return p - lr * buf, buf


def _nesterov_returns_step(p, g, buf, lr, mu):
    buf = g.clone() if buf is None else mu * buf + g
    step = g + mu * buf
    return p - lr * step, step


def _nesterov_ema(p, g, buf, lr, mu):
    buf = (1 - mu) * g if buf is None else mu * buf + (1 - mu) * g
    return p - lr * (g + mu * buf), buf


def _adam(p, g, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, *, square=True, correct=True,
          swap=False, t_shift=0, eps_inside=False):
    b1, b2 = (betas[1], betas[0]) if swap else betas
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * (g * g if square else g)
    tt = t + t_shift
    m_hat, v_hat = (m / (1 - b1 ** tt), v / (1 - b2 ** tt)) if correct else (m, v)
    denom = torch.sqrt(v_hat + eps) if eps_inside else torch.sqrt(v_hat) + eps
    return p - lr * m_hat / denom, m, v


def _wrong_adam(**how):
    return lambda p, g, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8: _adam(
        p, g, m, v, t, lr, betas, eps, **how)


def _np_permutation(n, batch_size, seed):
    perm = torch.from_numpy(np.random.default_rng(seed).permutation(n))
    return list(perm.split(batch_size))


def _mlp_backward(X, labels, W1, b1, W2, b2, *, per_row=True, sign=1.0, mask=True, w2t=False,
                  bias_mean=False, transpose_dw=False):
    H = X @ W1.T + b1
    A = torch.relu(H)
    Z = A @ W2.T + b2
    G_Z = sign * (torch.softmax(Z, dim=1) - F.one_hot(labels, Z.shape[1]).to(Z.dtype))
    G_Z = G_Z / len(X) if per_row else G_Z
    G_H = G_Z @ (W2.T if w2t else W2)
    G_H = G_H * (H > 0) if mask else G_H
    bias = (lambda t: t.mean(0)) if bias_mean else (lambda t: t.sum(0))
    dW1, dW2 = G_H.T @ X, G_Z.T @ A
    if transpose_dw:
        dW1, dW2 = dW1.T, dW2.T
    return dW1, bias(G_H), dW2, bias(G_Z)


def _lam_max(z):
    z = z.double()
    hess = 2 * torch.tensor([[(z * z).mean(), z.mean()], [z.mean(), 1.0]], dtype=torch.float64)
    return torch.linalg.eigvalsh(hess)[-1].item()


WRONG = [
    # lesson 01
    ("l01_mse", "no square", lambda p, t: (p - t).mean(), "squaring"),
    ("l01_mse", "sum", lambda p, t: ((p - t) ** 2).sum(), "sum of squared errors"),
    ("l01_mse", "float", lambda p, t: ((p - t) ** 2).mean().item(), "0-dim torch.Tensor"),
    ("l01_mse", "rmse", lambda p, t: ((p - t) ** 2).mean().sqrt(), "RMSE"),
    ("l01_mse", "per row", lambda p, t: ((p - t) ** 2).mean(dim=-1), "single number"),
    ("l01_cross_entropy", "naive exp",
     lambda z, y: -torch.log(torch.exp(z) / torch.exp(z).sum(1, keepdim=True))[torch.arange(len(y)), y].mean(),
     "max logit"),
    ("l01_cross_entropy", "sum", lambda z, y: -_log_softmax(z)[torch.arange(len(y)), y].sum(), "sum over the batch"),
    ("l01_cross_entropy", "log2",
     lambda z, y: -(_log_softmax(z) / math.log(2))[torch.arange(len(y)), y].mean(), "bits"),
    ("l01_cross_entropy", "max not added back",
     lambda z, y: (torch.log(torch.exp(z - z.max(1, keepdim=True).values).sum(1))
                   - z[torch.arange(len(y)), y]).mean(), "add it back"),
    ("l01_cross_entropy", "N x N block", lambda z, y: -_log_softmax(z)[:, y].mean(), "N x N"),
    ("l01_softmax_grad", "no 1/N", lambda z, y: _stable_softmax(z) - _onehot(y, z.shape[1]).to(z.dtype), "1/N"),
    ("l01_softmax_grad", "sign",
     lambda z, y: (_onehot(y, z.shape[1]).to(z.dtype) - _stable_softmax(z)) / len(y), "sign"),
    ("l01_softmax_grad", "naive exp",
     lambda z, y: (torch.exp(z) / torch.exp(z).sum(1, keepdim=True) - _onehot(y, z.shape[1])) / len(y),
     "max logit"),
    ("l01_softmax_grad", "wrong dim",
     lambda z, y: (_stable_softmax(z, 0) - _onehot(y, z.shape[1]).to(z.dtype)) / len(y), "wrong dimension"),
    ("l01_perplexity", "2 ** loss", lambda x: 2 ** x, "bits"),
    ("l01_perplexity", "exp(-loss)", lambda x: torch.exp(-x), "exp(+loss)"),
    ("l01_diagnose_loss", "a constant answer", lambda z, y: "chance", "you said 'chance'"),
    ("l01_diagnose_loss", "by accuracy", _diagnose_by_accuracy, "wrong classes"),
    ("l01_diagnose_loss", "baseline in bits", _diagnose_in_bits, "almost uniform"),
    # lesson 02
    ("l02_finite_difference_grad", "forward", _forward_difference, "one-sided (forward)"),
    ("l02_finite_difference_grad", "divides by h", lambda f, x, h=1e-5: _central(f, x, h, h), "twice"),
    ("l02_finite_difference_grad", "flattened",
     lambda f, x, h=1e-5: _central(f, x, h, 2 * h).reshape(-1), "shape of x"),
    ("l02_fit_house_prices", "no scaling", lambda s, p, lr, n: _fit(s, p, lr, n, scale=False), "diverged"),
    ("l02_fit_house_prices", "not converted back",
     lambda s, p, lr, n: _fit(s, p, lr, n, convert=False), "standardised feature"),
    ("l02_fit_house_prices", "b not converted", _fit_b_unconverted, "w is right but b is not"),
    ("l02_minibatch_indices", "drop last",
     lambda n, bs, seed: [b for b in _np_permutation(n, bs, seed) if len(b) == bs]
     if n % bs else _np_permutation(n, bs, seed), "last, smaller batch is missing"),
    ("l02_minibatch_indices", "not shuffled", lambda n, bs, seed: list(torch.arange(n).split(bs)), "not shuffled"),
    ("l02_minibatch_indices", "with replacement",
     lambda n, bs, seed: list(torch.randint(0, n, (n,), generator=torch.Generator().manual_seed(seed)).split(bs)),
     "more than once"),
    ("l02_minibatch_indices", "numpy shuffle", _np_permutation, "order differs"),
    ("l02_mlp_backward", "no 1/N", lambda *a: _mlp_backward(*a, per_row=False), "N times too large"),
    ("l02_mlp_backward", "one-hot minus softmax", lambda *a: _mlp_backward(*a, sign=-1.0), "wrong sign"),
    ("l02_mlp_backward", "no ReLU mask", lambda *a: _mlp_backward(*a, mask=False), "ReLU"),
    ("l02_mlp_backward", "weight gradients transposed", lambda *a: _mlp_backward(*a, transpose_dw=True),
     "transposed"),
    ("l02_mlp_backward", "back through W2 transposed", lambda *a: _mlp_backward(*a, w2t=True), "W2 itself"),
    ("l02_mlp_backward", "bias gradient a mean", lambda *a: _mlp_backward(*a, bias_mean=True), "sum over the rows"),
    ("l02_choose_batch_and_lr", "a constant answer", lambda z, y, budget, target: {"batch_size": 64, "lr": 0.1},
     "lr 0.1"),
    ("l02_choose_batch_and_lr", "cheapest steps (B = 1)",
     lambda z, y, budget, target: {"batch_size": 1, "lr": 1 / _lam_max(z)}, "gradient noise"),
    ("l02_choose_batch_and_lr", "lr past the edge",
     lambda z, y, budget, target: {"batch_size": 32, "lr": 2.2 / _lam_max(z)}, "diverged"),
    # lesson 03
    ("l03_gd_trajectory", "no w0", lambda lr, w0, n: [w0 * (1 - 2 * lr) ** k for k in range(1, n + 1)],
     "start with w0"),
    ("l03_gd_trajectory", "gradient w", lambda lr, w0, n: [w0 * (1 - lr) ** k for k in range(n + 1)], "2w"),
    ("l03_gd_trajectory", "same tensor", _traj_same_tensor, "same number"),
    ("l03_gd_trajectory", "ascent", lambda lr, w0, n: [w0 * (1 + 2 * lr) ** k for k in range(n + 1)], "uphill"),
    ("l03_max_stable_lr", "1/L", lambda A: 1 / torch.linalg.eigvalsh(A)[-1].item(), "1/L"),
    ("l03_max_stable_lr", "smallest", lambda A: 2 / torch.linalg.eigvalsh(A)[0].item(), "smallest eigenvalue"),
    ("l03_max_stable_lr", "diagonal", lambda A: 2 / A.diagonal().max().item(), "diagonal"),
    ("l03_max_stable_lr", "not a number", lambda A: [2 / torch.linalg.eigvalsh(A)[-1].item()], "one number"),
    ("l03_pick_learning_rate", "a constant answer", lambda A, x0, n, target: 0.1, "lr 0.1"),
    ("l03_pick_learning_rate", "one step along the steepest direction (1/L)",
     lambda A, x0, n, target: 1 / torch.linalg.eigvalsh(A)[-1].item(), "flattest direction"),
    ("l03_pick_learning_rate", "as close to the edge as it gets",
     lambda A, x0, n, target: 1.95 / torch.linalg.eigvalsh(A)[-1].item(), "steepest direction"),
    ("l03_pick_learning_rate", "past the edge", lambda A, x0, n, target: 2.2 / torch.linalg.eigvalsh(A)[-1].item(),
     "diverged"),
    # lesson 04
    ("l04_momentum_step", "EMA", _momentum_ema, "EMA"),
    ("l04_momentum_step", "velocity", _momentum_velocity, "velocity"),
    ("l04_momentum_step", "steps along g",
     lambda p, g, buf, lr, mu: (p - lr * g, g.clone() if buf is None else mu * buf + g), "not along g"),
    ("l04_momentum_step", "in place", _momentum_in_place, "in place"),
    ("l04_momentum_step", "swapped",
     lambda p, g, buf, lr, mu: tuple(reversed(solution("l04_momentum_step")(p, g, buf, lr, mu))), "wrong order"),
    ("l04_nesterov_step", "plain momentum", _nesterov_plain, "plain momentum"),
    ("l04_nesterov_step", "step as buffer", _nesterov_returns_step, "not the Nesterov step"),
    ("l04_nesterov_step", "EMA", _nesterov_ema, "EMA"),
    ("l04_tune_momentum", "a constant answer", lambda H, x0, max_steps, target: {"lr": 0.1, "momentum": 0.9},
     "with lr 0.1 and momentum 0.9"),
    ("l04_tune_momentum", "best plain gradient descent",
     lambda H, x0, max_steps, target: {"lr": 2 / torch.linalg.eigvalsh(H).sum().item(), "momentum": 0.0},
     "not fast enough"),
    ("l04_tune_momentum", "lr past momentum's edge",
     lambda H, x0, max_steps, target: {"lr": 5 / torch.linalg.eigvalsh(H)[-1].item(), "momentum": 0.9},
     "diverged"),
    ("l04_tune_momentum", "not a dict", lambda H, x0, max_steps, target: (0.1, 0.9), "return a dict"),
    # lesson 05
    ("l05_adagrad_step", "not squared",
     lambda p, g, s, lr=1e-2, eps=1e-10: (p - lr * g / (torch.sqrt(s + g) + eps), s + g), "SQUARED"),
    ("l05_adagrad_step", "eps inside",
     lambda p, g, s, lr=1e-2, eps=1e-10: (p - lr * g / torch.sqrt(s + g * g + eps), s + g * g), "outside the square root"),
    ("l05_adagrad_step", "no sqrt",
     lambda p, g, s, lr=1e-2, eps=1e-10: (p - lr * g / (s + g * g + eps), s + g * g), "square root of the sum"),
    ("l05_adagrad_step", "old sum",
     lambda p, g, s, lr=1e-2, eps=1e-10: (p - lr * g / (torch.sqrt(s) + eps), s + g * g), "NEW sum"),
    ("l05_rmsprop_step", "not squared",
     lambda p, g, v, lr=1e-2, alpha=0.99, eps=1e-8: (
         p - lr * g / (torch.sqrt((alpha * v + (1 - alpha) * g).abs()) + eps), alpha * v + (1 - alpha) * g),
     "square the gradient"),
    ("l05_rmsprop_step", "alpha swapped",
     lambda p, g, v, lr=1e-2, alpha=0.99, eps=1e-8: (
         p - lr * g / (torch.sqrt((1 - alpha) * v + alpha * g * g) + eps), (1 - alpha) * v + alpha * g * g),
     "swapped"),
    ("l05_rmsprop_step", "eps inside",
     lambda p, g, v, lr=1e-2, alpha=0.99, eps=1e-8: (
         p - lr * g / torch.sqrt(alpha * v + (1 - alpha) * g * g + eps), alpha * v + (1 - alpha) * g * g),
     "outside the square root"),
    ("l05_adam_step", "g not squared", _wrong_adam(square=False), "did you square the gradient"),
    ("l05_adam_step", "no bias correction", _wrong_adam(correct=False), "bias correction"),
    ("l05_adam_step", "betas swapped", _wrong_adam(swap=True), "swapped"),
    ("l05_adam_step", "t - 1", _wrong_adam(t_shift=-1), "off by one"),
    ("l05_adam_step", "eps inside", _wrong_adam(eps_inside=True), "outside the square root"),
]


# ------------------------------------------------------------------ lessons 06-08


def _adamw(p, g, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, *, how=""):
    b1, b2 = betas
    if how == "l2":
        g = g + weight_decay * p
    if how not in ("l2", "none", "after"):
        p = p * (1 - (weight_decay if how == "no lr" else lr * weight_decay))
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    m_hat, v_hat = (m, v) if how == "no bias" else (m / (1 - b1 ** t), v / (1 - b2 ** t))
    p = p - lr * m_hat / (torch.sqrt(v_hat) + eps)
    if how == "after":
        p = p * (1 - lr * weight_decay)
    return p, m, v


def _wrong_adamw(how):
    return lambda p, g, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2: _adamw(
        p, g, m, v, t, lr, betas, eps, weight_decay, how=how)


def _split_by(rule):
    def split(named_shapes):
        decay = [n for n, s in named_shapes if rule(n, s)]
        return decay, [n for n, s in named_shapes if n not in decay]
    return split


def _memory(bytes_of):
    """A wrong weights_and_state_gb: bytes_of(n, b, s) bytes, divided by 1e9."""
    return lambda n_params, bytes_per_value=4, states_per_param=2: bytes_of(
        n_params, bytes_per_value, states_per_param) / 1e9


def _cosine(step, W, T, peak, floor=0.1, *, ramp=None, hold=True, span="decay", floor_on=True):
    if step < W:
        return peak * (ramp or (lambda t, w: (t + 1) / (w + 1)))(step, W)
    t = min(step, T) if hold else step
    x = (t - W) / (T - W) if span == "decay" else t / T
    c = (1 + math.cos(math.pi * x)) / 2
    return peak * (floor + (1 - floor) * c) if floor_on else peak * c


def _wrong_cosine(**how):
    return lambda step, W, T, peak, floor=0.1: _cosine(step, W, T, peak, floor, **how)


def _wsd(step, W, D, T, peak, floor=0.0, *, ramp=None, start=None, hold=True, shape=None):
    s0 = T - D if start is None else start(W, D, T)
    if step < W:
        return peak * (ramp or (lambda t, w: (t + 1) / (w + 1)))(step, W)
    if step < s0:
        return peak
    x = ((min(step, T) if hold else step) - s0) / (T - s0)
    return peak * (floor + (1 - floor) * (shape or (lambda x: 1 - x))(x))


def _wrong_wsd(**how):
    return lambda step, W, D, T, peak, floor=0.0: _wsd(step, W, D, T, peak, floor, **how)


def _clip(grads, max_norm, *, per_tensor=False, clamp=True, norm="l2", eps=1e-6, report="before"):
    def measure(gs):
        flat = torch.cat([g.reshape(-1) for g in gs])
        return {"l2": flat.pow(2).sum().sqrt(), "l1": flat.abs().sum(), "squares": flat.pow(2).sum()}[norm]

    if per_tensor:
        coefs = [max_norm / (measure([g]) + eps) for g in grads]
        total = measure(grads)
    else:
        total = measure(grads)
        coefs = [max_norm / (total + eps)] * len(grads)
    if clamp:
        coefs = [torch.clamp(c, max=1.0) for c in coefs]
    clipped = [g * c for g, c in zip(grads, coefs)]
    return clipped, (measure(clipped) if report == "after" else total)


def _wrong_global(**how):
    return lambda grads, max_norm: _clip(grads, max_norm, **how)


def _wrong_per_tensor(**how):
    return lambda grads, max_norm: _clip(grads, max_norm, **how)[0]


def _clip_in_place(grads, max_norm):
    total = torch.stack([(g * g).sum() for g in grads]).sum().sqrt()
    coef = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    for g in grads:
        g.mul_(coef)                       # what clip_grad_norm_ does to .grad
    return grads, total


def _spikes(norms, factor=10.0, window=25, *, history=None, stat=statistics.median, ge=False, start=None,
            one_based=False):
    out = []
    for i in range(window if start is None else start, len(norms)):
        values = (history or (lambda i: norms[max(0, i - window):i]))(i)
        if not values:
            continue
        level = factor * stat(values)
        if norms[i] >= level if ge else norms[i] > level:
            out.append(i + 1 if one_based else i)
    return out


def _wrong_spikes(**how):
    return lambda norms, factor=10.0, window=25: _spikes(norms, factor, window, **how)


def _spikes_including_current(norms, factor=10.0, window=25):
    return _spikes(norms, factor, window, history=lambda i: norms[i - window + 1:i + 1])


WRONG += [
    ("l05_diagnose_adam", "a constant answer", lambda grads, steps, lr, beta1, beta2: "correct",
     "is not 'correct'"),
    ("l05_diagnose_adam", "big first step means no correction",
     lambda grads, steps, lr, beta1, beta2: ("no bias correction" if abs(steps[0].item()) > 1.5 * lr else
                                             "only v corrected" if abs(steps[0].item()) < 0.5 * lr else "correct"),
     "first step was"),
    ("l05_diagnose_adam", "not a label", lambda grads, steps, lr, beta1, beta2: 2, "return one of"),
    # lesson 06
    ("l06_adamw_step", "L2 in the gradient", _wrong_adamw("l2"), "L2"),
    ("l06_adamw_step", "no decay", _wrong_adamw("none"), "decay is missing"),
    ("l06_adamw_step", "decay not times lr", _wrong_adamw("no lr"), "multiplied by the learning rate"),
    ("l06_adamw_step", "decay after the step", _wrong_adamw("after"), "OLD weights"),
    ("l06_adamw_step", "no bias correction", _wrong_adamw("no bias"), "bias correction"),
    ("l06_split_decay_groups", "decays biases", _split_by(lambda n, s: len(s) >= 2 or "bias" in n), "biases"),
    ("l06_split_decay_groups", "decays norm scales",
     _split_by(lambda n, s: len(s) >= 2 or (len(s) == 1 and "bias" not in n)), "LayerNorm"),
    ("l06_split_decay_groups", "by name 'weight'", _split_by(lambda n, s: "weight" in n), "by the name"),
    ("l06_split_decay_groups", "no 'bias' in name", _split_by(lambda n, s: "bias" not in n), "by the name"),
    ("l06_split_decay_groups", "ndim > 2", _split_by(lambda n, s: len(s) > 2), "2-D weight matrices"),
    ("l06_split_decay_groups", "nothing", lambda ns: ([], [n for n, _ in ns]), "should be decayed"),
    ("l06_split_decay_groups", "swapped",
     lambda ns: tuple(reversed(_split_by(lambda n, s: len(s) >= 2)(ns))), "swapped"),
    ("l06_split_decay_groups", "pairs", lambda ns: ([x for x in ns if len(x[1]) >= 2],
                                                    [x for x in ns if len(x[1]) < 2]), "names only"),
    ("l06_split_decay_groups", "sorted", lambda ns: tuple(sorted(part) for part in
                                                          _split_by(lambda n, s: len(s) >= 2)(ns)), "order"),
    ("l06_weights_and_state_gb", "state only", _memory(lambda n, b, s: n * b * s), "optimizer state alone"),
    ("l06_weights_and_state_gb", "weights only", _memory(lambda n, b, s: n * b), "weights alone"),
    ("l06_weights_and_state_gb", "GiB", _memory(lambda n, b, s: n * b * (1 + s) * 1e9 / 2 ** 30), "GiB"),
    ("l06_weights_and_state_gb", "bits", _memory(lambda n, b, s: n * b * 8 * (1 + s)), "bits"),
    ("l06_weights_and_state_gb", "with gradients", _memory(lambda n, b, s: n * b * (2 + s)), "gradients"),
    ("l06_weights_and_state_gb", "bytes", _memory(lambda n, b, s: n * b * (1 + s) * 1e9), "number of bytes"),
    ("l06_adamw_equilibrium", "a constant answer", lambda a, c, lr, weight_decay: 0.5, "you said 0.5"),
    ("l06_adamw_equilibrium", "L2's balance", lambda a, c, lr, weight_decay: a * c / (a + weight_decay),
     "L2 regularisation"),
    ("l06_adamw_equilibrium", "the data's minimum", lambda a, c, lr, weight_decay: c, "the decay did nothing"),
    # lesson 07
    ("l07_warmup_cosine_lr", "warmup t / W", _wrong_cosine(ramp=lambda t, w: t / w), "off by one"),
    ("l07_warmup_cosine_lr", "no floor", _wrong_cosine(floor_on=False), "floor is missing"),
    ("l07_warmup_cosine_lr", "cosine over t / T", _wrong_cosine(span="total"), "end of the warmup"),
    ("l07_warmup_cosine_lr", "not held", _wrong_cosine(hold=False), "stays at the floor"),
    ("l07_warmup_cosine_lr", "multiplier",
     lambda step, W, T, peak, floor=0.1: _cosine(step, W, T, peak, floor) / peak, "multiply it by peak_lr"),
    ("l07_wsd_lr", "warmup t / W", _wrong_wsd(ramp=lambda t, w: t / w), "off by one"),
    ("l07_wsd_lr", "decay from the warmup", _wrong_wsd(start=lambda W, D, T: W), "LAST decay_steps"),
    ("l07_wsd_lr", "decay_steps as a start", _wrong_wsd(start=lambda W, D, T: D), "length of the decay"),
    ("l07_wsd_lr", "not held", _wrong_wsd(hold=False), "stays at the floor"),
    ("l07_wsd_lr", "1-sqrt", _wrong_wsd(shape=lambda x: 1 - math.sqrt(x)), "linear"),
    ("l07_shortest_warmup", "a constant answer", lambda w0, peak_lr, steps: 30, "a warmup of 30 steps"),
    ("l07_shortest_warmup", "always the longest", lambda w0, peak_lr, steps: steps, "longer than needed"),
    ("l07_shortest_warmup", "sized by the start's curvature (too cautious)",
     lambda w0, peak_lr, steps: int(peak_lr * (3 * w0.abs().max().item() ** 2 - 1) / 2), "longer than needed"),
    # lesson 08
    ("l08_clip_global_norm", "per tensor", _wrong_global(per_tensor=True), "each tensor by its own norm"),
    ("l08_clip_global_norm", "no clamp", _wrong_global(clamp=False), "UP"),
    ("l08_clip_global_norm", "norm after clipping", _wrong_global(report="after"), "BEFORE clipping"),
    ("l08_clip_global_norm", "L1", _wrong_global(norm="l1"), "L1 norm"),
    ("l08_clip_global_norm", "no sqrt", _wrong_global(norm="squares"), "square root"),
    ("l08_clip_global_norm", "no eps", _wrong_global(eps=0.0), "1e-6"),
    ("l08_clip_global_norm", "in place", _clip_in_place, "in place"),
    ("l08_clip_global_norm", "list only", lambda grads, max_norm: _clip(grads, max_norm)[0], "only the clipped"),
    ("l08_clip_per_tensor", "global", _wrong_per_tensor(), "ONE factor"),
    ("l08_clip_per_tensor", "no clamp", _wrong_per_tensor(per_tensor=True, clamp=False), "UP"),
    ("l08_clip_per_tensor", "by value", lambda grads, max_norm: [g.clamp(-max_norm, max_norm) for g in grads],
     "clip_grad_value_"),
    ("l08_clip_per_tensor", "no sqrt", _wrong_per_tensor(per_tensor=True, norm="squares"), "square root"),
    ("l08_find_spikes", "mean", _wrong_spikes(stat=statistics.fmean), "median"),
    ("l08_find_spikes", ">=", _wrong_spikes(ge=True), "strictly greater"),
    ("l08_find_spikes", "window includes step i", _spikes_including_current, "don't include"),
    ("l08_find_spikes", "partial windows", _wrong_spikes(start=1), "full window"),
    ("l08_find_spikes", "1-based", _wrong_spikes(one_based=True), "start at 0"),
    ("l08_find_spikes", "previous norm only",
     lambda norms, factor=10.0, window=25: _spikes(norms, factor, window, history=lambda i: norms[i - 1:i]),
     "not just the previous norm"),
    ("l08_find_spikes", "values", lambda norms, factor=10.0, window=25: [norms[i] for i in _spikes(
        norms, factor, window)], "norms"),
]


# ------------------------------------------------------------------ lessons 09-12


def _sweep(how):
    def sweep(start_lr, end_lr, num_iters):
        n, s, e = num_iters, start_lr, end_lr
        if how == "linear":
            return list(np.linspace(s, e, n))
        if how == "no end":
            return [s * (e / s) ** (i / n) for i in range(n)]
        if how == "n + 1":
            return [s * (e / s) ** (i / n) for i in range(n + 1)]
        if how == "n - 1":
            return [s * (e / s) ** (i / (n - 2)) for i in range(n - 1)] if n > 2 else [s]
        if how == "logspace":
            return list(np.logspace(s, e, n))
        if how == "reversed":
            return list(np.geomspace(e, s, n))
        raise ValueError(how)
    return sweep


def _smooth(how):
    def smooth(losses, beta=0.98):
        out, avg = [], 0.0
        for i, loss in enumerate(losses, start=1):
            if how == "first" and i == 1:
                avg = loss
            elif how == "swap":
                avg = (1 - beta) * avg + beta * loss
            else:
                avg = beta * avg + (1 - beta) * loss
            if how in ("none", "first"):
                out.append(avg)
            elif how == "swap":
                out.append(avg / (1 - (1 - beta) ** i))
            elif how == "i+1":
                out.append(avg / (1 - beta ** (i + 1)))
            elif how == "compound":
                avg = avg / (1 - beta ** i)
                out.append(avg)
            else:
                out.append(avg / (1 - beta ** i))
        return out
    return smooth


def _smooth_from_zero(losses, beta=0.98):
    out, avg = [], 0.0
    for i, loss in enumerate(losses):
        avg = beta * avg + (1 - beta) * loss
        out.append(avg / (1 - beta ** i) if beta ** i != 1 else float("inf"))
    return out


def _two_loop(*, gamma="newest", rho="right", order="right", sign=1.0, gamma_at_end=False):
    def direction(g, s_list, y_list):
        m = len(s_list)
        if m == 0:
            return sign * g.clone()
        rhos = [1.0 / (y @ s) if rho == "right" else (y @ s) for s, y in zip(s_list, y_list)]
        first = list(range(m)) if order in ("wrong", "first") else list(reversed(range(m)))
        second = list(reversed(range(m))) if order in ("wrong", "second") else list(range(m))
        k = -1 if gamma != "oldest" else 0
        s, y = s_list[k], y_list[k]
        gam = {"newest": (s @ y) / (y @ y), "oldest": (s @ y) / (y @ y), "none": 1.0,
               "inverted": (y @ y) / (s @ y)}[gamma]
        alpha = [0.0] * m
        q = g.clone()
        for i in first:
            alpha[i] = rhos[i] * (s_list[i] @ q)
            q = q - alpha[i] * y_list[i]
        r = q if gamma_at_end else gam * q
        for i in second:
            beta = rhos[i] * (y_list[i] @ r)
            r = r + (alpha[i] - beta) * s_list[i]
        return sign * (gam * r if gamma_at_end else r)
    return direction


def _kind(lam, tol, *, zeros_first=False, semidefinite=False):
    if zeros_first and bool((lam.abs() <= tol).any()):
        return "degenerate"
    if bool((lam > tol).any()) and bool((lam < -tol).any()):
        return "saddle"
    if bool((lam > tol).all()) or (semidefinite and bool((lam >= -tol).all())):
        return "minimum"
    if bool((lam < -tol).all()) or (semidefinite and bool((lam <= tol).all())):
        return "maximum"
    return "degenerate"


def _classify(how):
    def classify(hessian, tol=1e-6):
        if how == "diagonal":
            return _kind(torch.diagonal(hessian), tol)
        if how == "determinant":
            det = float(torch.linalg.det(hessian))
            return "degenerate" if abs(det) <= tol else ("minimum" if det > 0 else "saddle")
        lam = torch.linalg.eigvalsh(hessian)
        if how == "no tol":
            return _kind(lam, 0.0)
        if how == "swapped":
            return {"minimum": "maximum", "maximum": "minimum"}.get(_kind(lam, tol), _kind(lam, tol))
        return _kind(lam, tol, zeros_first=how == "zeros first", semidefinite=how == "semidefinite")
    return classify


def _power(how):
    def power(matrix, v0, iters):
        if how == "exact":
            lam = torch.linalg.eigvalsh(matrix)
            return lam[lam.abs().argmax()]
        n = iters + 1 if how == "one more" else iters
        v = v0
        for k in range(n):
            if how != "no norm" and not (how == "v0 raw" and k == 0):
                v = v / torch.linalg.vector_norm(v)
            w = matrix @ v
            lam = torch.linalg.vector_norm(w) if how == "length" else v @ w
            v = w
        return lam
    return power


def _power_normalise_after(matrix, v0, iters):
    v = v0 / torch.linalg.vector_norm(v0)
    for _ in range(iters):                         # the textbook loop: iters products, then one more
        w = matrix @ v
        v = w / torch.linalg.vector_norm(w)
    return v @ (matrix @ v)


def _compression(bits=None, ppl=None, size=None):
    def numbers(mean_nll_nats, n_chars):
        b = (bits or (lambda L: L / math.log(2)))(mean_nll_nats)
        p = (ppl or (lambda L, b: math.exp(L)))(mean_nll_nats, b)
        z = (size or (lambda n, L, b: n * b / 8))(n_chars, mean_nll_nats, b)
        return b, p, z
    return numbers


def _unigram(*, add=1, denom="vocab", log=math.log2, mean=True, counted="train", scored="test"):
    def bits_per_char(train_text, test_text, vocab):
        counted_text = train_text + test_text if counted == "both" else train_text
        counts = collections.Counter(counted_text)
        v = {"vocab": len(vocab), "none": 0, "seen": len(set(train_text))}[denom]
        total = len(counted_text) + add * v
        text = train_text if scored == "train" else test_text
        bits = 0.0
        for c in text:
            p = (counts[c] + add) / total
            bits += -log(p) if p > 0 else math.inf
        return bits / len(text) if mean else bits
    return bits_per_char


WRONG += [
    # lesson 09
    ("l09_exponential_lr_schedule", "linear", _sweep("linear"), "linearly"),
    ("l09_exponential_lr_schedule", "endpoint missing", _sweep("no end"), "last lr should be end_lr"),
    ("l09_exponential_lr_schedule", "one too many", _sweep("n + 1"), "one lr too many"),
    ("l09_exponential_lr_schedule", "one too few", _sweep("n - 1"), "one lr too few"),
    ("l09_exponential_lr_schedule", "logspace", _sweep("logspace"), "exponents"),
    ("l09_exponential_lr_schedule", "reversed", _sweep("reversed"), "backwards"),
    ("l09_smooth_losses", "no bias correction", _smooth("none"), "bias correction is missing"),
    ("l09_smooth_losses", "start at the first loss", _smooth("first"), "first loss"),
    ("l09_smooth_losses", "beta swapped", _smooth("swap"), "swapped"),
    ("l09_smooth_losses", "exponent i + 1", _smooth("i+1"), "exponent is off by one"),
    ("l09_smooth_losses", "corrects the running average", _smooth("compound"), "running average itself"),
    ("l09_smooth_losses", "counts from 0", _smooth_from_zero, "count the steps from 1"),
    ("l09_smooth_losses", "last value only", lambda losses, beta=0.98: _smooth("right")(losses, beta)[-1],
     "list of"),
    # lesson 10
    ("l10_newton_step", "uphill", lambda grad, hessian: torch.linalg.solve(hessian, grad), "uphill"),
    ("l10_newton_step", "H g", lambda grad, hessian: -(hessian @ grad), "multiplied by the Hessian"),
    ("l10_newton_step", "gradient step", lambda grad, hessian: -grad, "plain gradient step"),
    ("l10_newton_step", "diagonal", lambda grad, hessian: -grad / torch.diagonal(hessian), "diagonal"),
    ("l10_two_loop_direction", "no gamma", _two_loop(gamma="none"), "H_0 = I"),
    ("l10_two_loop_direction", "gamma inverted", _two_loop(gamma="inverted"), "gamma is upside down"),
    ("l10_two_loop_direction", "gamma from the oldest pair", _two_loop(gamma="oldest"), "NEWEST pair"),
    ("l10_two_loop_direction", "rho inverted", _two_loop(rho="inverted"), "rho is inverted"),
    ("l10_two_loop_direction", "loops in the wrong order", _two_loop(order="wrong"), "wrong order"),
    ("l10_two_loop_direction", "first loop forwards", _two_loop(order="first"), "first loop"),
    ("l10_two_loop_direction", "minus H g", _two_loop(sign=-1.0), "H g"),
    ("l10_two_loop_direction", "gamma at the end", _two_loop(gamma_at_end=True), "between the two loops"),
    # lesson 11
    ("l11_classify_critical_point", "diagonal", _classify("diagonal"), "not the diagonal"),
    ("l11_classify_critical_point", "determinant", _classify("determinant"), "determinant"),
    ("l11_classify_critical_point", "no tolerance", _classify("no tol"), "within tol"),
    ("l11_classify_critical_point", "zeros before saddles", _classify("zeros first"), "before checking for zeros"),
    ("l11_classify_critical_point", "semidefinite is a minimum", _classify("semidefinite"), "undecided"),
    ("l11_classify_critical_point", "min/max swapped", _classify("swapped"), "swapped"),
    ("l11_classify_critical_point", "capitalised", lambda h, tol=1e-6: _classify("right")(h, tol).title(),
     "lower case"),
    ("l11_power_iteration", "exact eigenvalue", _power("exact"), "exact eigenvalue"),
    ("l11_power_iteration", "length of Av", _power("length"), "Rayleigh quotient"),
    ("l11_power_iteration", "one product more", _power("one more"), "one product too many"),
    ("l11_power_iteration", "normalise after the product", _power_normalise_after, "one product too many"),
    ("l11_power_iteration", "no normalisation", _power("no norm"), "normalise"),
    ("l11_power_iteration", "v0 not normalised", _power("v0 raw"), "v0 too"),
    # lesson 12
    ("l12_compression_numbers", "bits times ln 2", _compression(bits=lambda L: L * math.log(2)), "multiplied"),
    ("l12_compression_numbers", "bits = log2(L)", _compression(bits=lambda L: math.log2(L) if L > 0 else 0.0),
     "not log2(L)"),
    ("l12_compression_numbers", "2 ** nats", _compression(ppl=lambda L, b: 2 ** L), "raised 2 to the nats"),
    ("l12_compression_numbers", "e ** bits", _compression(ppl=lambda L, b: math.exp(b)), "raised e to the bits"),
    ("l12_compression_numbers", "size in bits", _compression(size=lambda n, L, b: n * b), "divide by 8"),
    ("l12_compression_numbers", "size in nats", _compression(size=lambda n, L, b: n * L / 8), "not nats"),
    ("l12_unigram_bits_per_char", "no smoothing", _unigram(add=0), "smoothing"),
    ("l12_unigram_bits_per_char", "denominator without V", _unigram(denom="none"), "sum to 1"),
    ("l12_unigram_bits_per_char", "V from the training text", _unigram(denom="seen"), "whole vocabulary"),
    ("l12_unigram_bits_per_char", "nats", _unigram(log=math.log), "nats"),
    ("l12_unigram_bits_per_char", "total bits", _unigram(mean=False), "PER character"),
    ("l12_unigram_bits_per_char", "counts the test text", _unigram(counted="both"), "TRAINING text only"),
    ("l12_unigram_bits_per_char", "scores the training text", _unigram(scored="train"), "score the TEST"),
]


# ------------------------------------------------------------------ lesson 13


def _combine(how):
    def whole_batch_gradient(rank_grads, rank_sizes):
        n_ranks = len(rank_sizes)
        out = []
        for per_rank in zip(*rank_grads):
            weighted = sum(n * g for n, g in zip(rank_sizes, per_rank))
            out.append({"plain mean": sum(per_rank) / n_ranks, "by N": weighted / n_ranks,
                        "no division": weighted, "sum": sum(per_rank),
                        "inverted": sum(g / n for n, g in zip(rank_sizes, per_rank))
                        / sum(1 / n for n in rank_sizes)}[how])
        return out
    return whole_batch_gradient


def _per_rank_lists(rank_grads, rank_sizes):
    total = sum(rank_sizes)
    mean = [sum(n * g for n, g in zip(rank_sizes, per_rank)) / total for per_rank in zip(*rank_grads)]
    return [list(mean) for _ in rank_grads]          # every rank's copy


def _sharded(how):
    def clip_sharded(shard_grads, max_norm):
        sums = [sum(((g.double() ** 2).sum() for g in shard), torch.tensor(0.0, dtype=torch.float64))
                for shard in shard_grads]
        norms = [s.sqrt() for s in sums]
        total = {"sum of norms": sum(norms), "mean of squares": torch.sqrt(sum(sums) / len(sums)),
                 "no sqrt": sum(sums)}.get(how, torch.sqrt(sum(sums)))
        if how == "local":
            coefs = [torch.clamp(max_norm / (n + 1e-6), max=1.0) for n in norms]
        else:
            c = max_norm / (total + 1e-6)
            coefs = [c if how == "no clamp" else torch.clamp(c, max=1.0)] * len(shard_grads)
        if how == "per tensor":
            clipped = [[g * torch.clamp(max_norm / (g.norm() + 1e-6), max=1.0) for g in shard]
                       for shard in shard_grads]
        else:
            clipped = [[g * c.to(g.dtype) for g in shard] for shard, c in zip(shard_grads, coefs)]
        if how == "norm after":
            total = torch.sqrt(sum(((g.double() ** 2).sum() for shard in clipped for g in shard),
                                   torch.tensor(0.0, dtype=torch.float64)))
        return clipped, total
    return clip_sharded


def _ring(how):
    def ring_allreduce_bytes(n_params, world_size, bytes_per_value=4):
        n, N, b = n_params, world_size, bytes_per_value
        return float({"reduce-scatter only": (N - 1) / N * n * b, "whole buffer per step": 2 * (N - 1) * n * b,
                      "ignores N": 2 * n * b, "bits": 2 * (N - 1) / N * n * b * 8,
                      "values": 2 * (N - 1) / N * n}[how])
    return ring_allreduce_bytes


WRONG += [
    # lesson 13
    ("l13_whole_batch_gradient", "plain mean", _combine("plain mean"), "plain mean"),
    ("l13_whole_batch_gradient", "divided by N", _combine("by N"), "not by the number of ranks"),
    ("l13_whole_batch_gradient", "not divided", _combine("no division"), "did not divide"),
    ("l13_whole_batch_gradient", "sum over ranks", _combine("sum"), "added the ranks' gradients"),
    ("l13_whole_batch_gradient", "weights inverted", _combine("inverted"), "upside down"),
    ("l13_whole_batch_gradient", "one list per rank", _per_rank_lists, "one list per rank"),
    ("l13_clip_sharded", "local norms", _sharded("local"), "OWN norm"),
    ("l13_clip_sharded", "norms added", _sharded("sum of norms"), "norms do not add"),
    ("l13_clip_sharded", "squares averaged", _sharded("mean of squares"), "averaged"),
    ("l13_clip_sharded", "no square root", _sharded("no sqrt"), "square root is missing"),
    ("l13_clip_sharded", "scales up", _sharded("no clamp"), "UP"),
    ("l13_clip_sharded", "norm after clipping", _sharded("norm after"), "BEFORE"),
    ("l13_clip_sharded", "per tensor", _sharded("per tensor"), "each tensor by its own norm"),
    ("l13_ring_allreduce_bytes", "reduce-scatter only", _ring("reduce-scatter only"), "reduce-scatter alone"),
    ("l13_ring_allreduce_bytes", "whole buffer per step", _ring("whole buffer per step"), "one chunk"),
    ("l13_ring_allreduce_bytes", "ignores N", _ring("ignores N"), "number of ranks"),
    ("l13_ring_allreduce_bytes", "bits", _ring("bits"), "bits"),
    ("l13_ring_allreduce_bytes", "values", _ring("values"), "multiply by bytes_per_value"),
]

# ------------------------------------------------------------------ experiments, lessons 10-13


def _halving_step(coeffs):
    """Armijo backtracking from t = 1 only: it can never find a good step beyond 1."""
    a = [float(c) for c in coeffs]
    t = 1.0
    while sum(c * t**k for k, c in enumerate(a)) > a[0] + 1e-4 * t * a[1]:
        t /= 2
    return t


def _gradient_only(M, u, v):
    w = torch.cat([u, v]).requires_grad_(True)
    loss = 0.5 * ((M - torch.outer(w[:len(u)], w[len(u):])) ** 2).sum()
    (g,) = torch.autograd.grad(loss, w)
    return "not a critical point" if g.norm() > 1e-6 * max(1.0, float(M.norm()) ** 2) else "minimum"


WRONG += [
    ("l10_wolfe_step", "a constant answer", lambda coeffs: 1.0, "too long"),
    ("l10_wolfe_step", "halving from t = 1", _halving_step, "too short"),
    ("l11_factorisation_point", "a constant answer", lambda M, u, v: "minimum", "goes DOWN"),
    ("l11_factorisation_point", "zero gradient means minimum", _gradient_only, "goes DOWN"),
    ("l12_fix_run", "a constant answer", lambda history, config, X, y: {"lr": 0.01, "clip_norm": 1.0},
     "with lr"),
    ("l12_fix_run", "always divide lr by 10",
     lambda history, config, X, y: {"lr": config["lr"] / 10, "clip_norm": config["clip_norm"]}, "with lr"),
    ("l13_ddp_config", "a constant answer",
     lambda batch_size, lr, world_size, reduce_op, max_per_rank:
         {"batch_per_rank": 4, "accumulation_steps": 1, "lr": 0.01}, "single"),
    ("l13_ddp_config", "linear scaling rule",
     lambda batch_size, lr, world_size, reduce_op, max_per_rank:
         {"batch_per_rank": batch_size // world_size, "accumulation_steps": 1, "lr": lr * world_size},
     "too long"),
]


def _curve_minimum_lr(X, y):
    """The lr at the lowest point of a range test's smoothed curve (not divided by 10)."""
    from course_lib.lr_finder import lr_range_test

    model = torch.nn.Linear(X.shape[1], int(y.max()) + 1)
    with torch.no_grad():
        model.weight.zero_()
        model.bias.zero_()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    gen = torch.Generator().manual_seed(1)

    def get_batch():
        idx = torch.randint(len(X), (32,), generator=gen)
        return X[idx], y[idx]

    r = lr_range_test(model, opt, get_batch, F.cross_entropy, probes=False)
    return 10 * r.suggestions["minimum_div_10"]


WRONG += [
    ("l08_rescue_threshold", "a constant answer", lambda norms, losses, meta: 1.0,
     "without bad batches"),
    ("l08_rescue_threshold", "no clipping", lambda norms, losses, meta: None, "did not recover"),
    ("l08_rescue_threshold", "half the largest norm", lambda norms, losses, meta: max(norms) / 2,
     "did not recover"),
    ("l08_rescue_threshold", "the smallest norm", lambda norms, losses, meta: min(norms),
     "hidden learning-rate cut"),
    ("l09_pick_lr", "a constant answer", lambda X, y, target: 0.1, "with lr"),
    ("l09_pick_lr", "the lr at the curve's minimum", lambda X, y, target: _curve_minimum_lr(X, y),
     "with lr"),
]


def wrong_implementation(grade_id: str, label: str):
    """The catalogued wrong implementation ``label`` of exercise ``grade_id``."""
    return next(w for g, lab, w, _ in WRONG if (g, lab) == (grade_id, label))
