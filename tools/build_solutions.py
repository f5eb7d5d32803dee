"""Write the exercise notebooks of lessons 01-12 into solutions/.

The notebooks in solutions/ are the source of truth (``make exercises`` blanks them into
exercises/). This script produced their first version and can regenerate them reproducibly:
fixed cell ids, no outputs, nbgrader metadata, points taken from the exercise registry.
Regenerating overwrites hand edits, so after editing a notebook by hand either port the edit
here or stop using the script for that notebook; ``--check`` lists notebooks that differ.

Usage::

    python tools/build_solutions.py            # write solutions/01_...12_*.ipynb
    python tools/build_solutions.py 06 07      # write only these lessons (number or prefix l06)
    python tools/build_solutions.py --check    # exit 1 if a notebook differs from this script
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from course_lib.exercises import get  # noqa: E402

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}

HOW = """\
**How the exercises work.** Write the body of each function where it says `# YOUR CODE HERE`
(delete the `raise NotImplementedError()` line), run the cell, then run the check cell under it.
The check calls your function on several inputs, compares the result with PyTorch, and tells you
what is wrong, often naming the exact mistake. Two rules hold for every exercise:

- return tensors (not Python floats) unless the task says otherwise;
- never modify the inputs in place: the check fails a function that does. `x = x - 1` makes a
  new tensor; `x -= 1` and `x.sub_(1)` change the caller's tensor."""


@dataclasses.dataclass
class Ex:
    grade_id: str
    title: str
    task: str        # markdown after the heading
    solution: str    # the code cell, with ### BEGIN/END SOLUTION


@dataclasses.dataclass
class Lesson:
    filename: str
    prefix: str
    intro: str
    setup: str
    exercises: list[Ex]
    summary: str


# ============================================================== lesson 01

L01 = Lesson(
    filename="01_loss_functions.ipynb",
    prefix="l01",
    intro="""\
# Lesson 01 exercises: loss functions

A loss turns "how wrong is the model?" into one number that gradient descent can push down.
Here you write the pieces of lesson 01 yourself.

**You will practise**
- the mean squared error of a house-price model;
- a cross-entropy from raw logits that survives logits of ±1000 (the log-sum-exp trick);
- its gradient, softmax minus one-hot, without autograd;
- perplexity, and why bits and nats give the same one.

**Time**: about 30 minutes. **Prerequisite**: lesson 01 (loss functions).

""" + HOW,
    setup="""\
import torch

from course_lib.exercises import check""",
    exercises=[
        Ex("l01_mse", "mean squared error", r"""
Write `mse(pred, target)`: the mean over **all** elements of the squared differences,

$$\text{MSE} = \frac{1}{n}\sum_{i=1}^{n} (\hat y_i - y_i)^2 .$$

- `pred`, `target`: float tensors of the same shape (any shape, also 0-dim).
- Return a **0-dim tensor**, not a Python float: a loss has to stay a tensor so that
  `loss.backward()` can reach the parameters.
- Do not modify `pred` or `target`.

*Hint*: `t.mean()` with no argument averages over every element of `t`.""", '''\
def mse(pred, target):
    """Mean squared error over all elements, as a 0-dim tensor."""
    ### BEGIN SOLUTION
    err = pred - target          # residuals, same shape as the inputs
    return (err ** 2).mean()     # average of the squared residuals
    ### END SOLUTION'''),
        Ex("l01_cross_entropy", "cross-entropy from logits", r"""
A classifier outputs one raw score (a *logit*) $z_{i,k}$ per example $i$ and class $k$.
Softmax turns each row into probabilities, and the loss is the mean negative log-probability
of the right classes $y_i$, in nats (natural log):

$$\log p_{i,k} = z_{i,k} - \log \sum_j e^{z_{i,j}}, \qquad
L = -\frac{1}{N} \sum_{i=1}^{N} \log p_{i,y_i} .$$

Write `cross_entropy_from_logits(logits, targets)`:
- `logits`: a float tensor of shape `(N, C)`; `targets`: an int64 tensor of shape `(N,)` with
  class indices in `0 … C-1`;
- return $L$ as a 0-dim tensor;
- it must stay finite for logits around ±1000, where `torch.exp` overflows to `inf` (or
  underflows to 0);
- use plain tensor operations (`exp`, `log`, `max`, `sum`, indexing): `F.cross_entropy`,
  `F.log_softmax` and `torch.logsumexp` are what you are rebuilding (the check compares with them);
- do not modify the inputs.

*Hint*: with $m_i = \max_j z_{i,j}$, exactly $\log \sum_j e^{z_{i,j}} = m_i + \log \sum_j
e^{z_{i,j} - m_i}$, and now the largest term is $e^0 = 1$.
`logits.max(dim=1, keepdim=True).values` has shape `(N, 1)`, so it broadcasts row by row;
`log_p[torch.arange(N), targets]` picks one entry per row.""", '''\
def cross_entropy_from_logits(logits, targets):
    """Mean cross-entropy (nats) of integer targets under softmax(logits); stable for large logits."""
    ### BEGIN SOLUTION
    N = logits.shape[0]
    m = logits.max(dim=1, keepdim=True).values                       # row max, shape (N, 1)
    log_Z = m + torch.log(torch.exp(logits - m).sum(dim=1, keepdim=True))  # log sum_j e^z_ij
    log_p = logits - log_Z                                           # log-softmax, shape (N, C)
    nll = -log_p[torch.arange(N), targets]                           # -log p of each target
    return nll.mean()                                                # mean over the batch
    ### END SOLUTION'''),
        Ex("l01_softmax_grad", "the gradient of the cross-entropy", r"""
For the loss of exercise 2, the gradient with respect to the logits has a famously simple form:

$$\frac{\partial L}{\partial z_{i,k}} = \frac{1}{N}\Big(\operatorname{softmax}(z_i)_k - [k = y_i]\Big).$$

Predicted probability minus one-hot target: the gradient pushes the right class up and every
other class down in proportion to the probability it took. The $1/N$ comes from the mean over
the batch.

Write `softmax_grad(logits, targets)` returning this `(N, C)` tensor, without autograd. Same
inputs as exercise 2; it must stay finite for large logits and must not modify its inputs.

*Hint*: compute the softmax from `logits - logits.max(dim=1, keepdim=True).values` (the shift
cancels in the ratio). Build the one-hot with `onehot = torch.zeros_like(p)` and
`onehot[torch.arange(N), targets] = 1`: writing into a tensor you just created is fine.""", '''\
def softmax_grad(logits, targets):
    """Gradient of the mean cross-entropy with respect to the logits: (softmax - onehot) / N."""
    ### BEGIN SOLUTION
    N = logits.shape[0]
    e = torch.exp(logits - logits.max(dim=1, keepdim=True).values)  # stable exponentials
    p = e / e.sum(dim=1, keepdim=True)                               # softmax over the classes
    onehot = torch.zeros_like(p)
    onehot[torch.arange(N), targets] = 1.0                           # 1 at each target class
    return (p - onehot) / N                                          # 1/N from the batch mean
    ### END SOLUTION'''),
        Ex("l01_perplexity", "perplexity", r"""
A language model's mean loss $L$ (nats per token) is easier to feel as a **perplexity**
$e^{L}$: the number of equally likely tokens the model is, on average, hesitating between.
A model that guesses uniformly among 50 tokens has $L = \ln 50$ and perplexity exactly 50;
a perfect model has $L = 0$ and perplexity 1.

Bits and nats measure the same thing in different units: $L_\text{bits} = L_\text{nats} / \ln 2$
and $2^{L_\text{bits}} = e^{L_\text{nats}}$, so the perplexity does not depend on the unit, as
long as the base matches the unit.

Write `perplexity(mean_nll)`: `mean_nll` is a float tensor of mean losses in nats, of any shape
(say one per model); return the tensor of perplexities, of the same shape. Do not modify the
input.""", '''\
def perplexity(mean_nll):
    """Perplexity e^L of mean losses L given in nats (element-wise)."""
    ### BEGIN SOLUTION
    return torch.exp(mean_nll)   # e^L_nats, the same number as 2 ** L_bits
    ### END SOLUTION'''),
    ],
    summary="""\
## What you practised

- MSE and cross-entropy are **means** over the batch. A sum would scale every gradient, and so
  the right learning rate, with the batch size.
- Never exponentiate raw logits: shift each row by its max first. `F.cross_entropy` does this
  inside, which is why you give it logits, not probabilities.
- The gradient softmax − one-hot has every entry between −1 and 1 (before the 1/N), whatever the
  logits: one reason why cross-entropy trains classifiers well.
- Perplexity = e^(loss in nats) = 2^(loss in bits).""",
)


# ============================================================== lesson 02

L02 = Lesson(
    filename="02_gradient_descent.ipynb",
    prefix="l02",
    intro="""\
# Lesson 02 exercises: gradient descent

**You will practise**
- checking a gradient with finite differences, the way you would test autograd or a
  hand-written backward pass;
- fitting a house-price line by gradient descent, with feature scaling, and translating the
  answer back into dollars per square foot;
- cutting an epoch into shuffled mini-batches, reproducibly.

**Time**: about 40 minutes. **Prerequisite**: lesson 02 (gradient descent).

""" + HOW,
    setup="""\
import torch

from course_lib.exercises import check""",
    exercises=[
        Ex("l02_finite_difference_grad", "gradients by finite differences", r"""
The derivative is a limit of slopes. A **central difference** estimates each partial
derivative from two evaluations of $f$, one step $h$ on either side:

$$\frac{\partial f}{\partial x_i} \approx \frac{f(x + h\,e_i) - f(x - h\,e_i)}{2h},$$

where $e_i$ is the unit vector along coordinate $i$. Its error shrinks like $h^2$; a one-sided
difference $(f(x + h e_i) - f(x))/h$ is only accurate to about $h$.

Write `finite_difference_grad(f, x, h=1e-5)`:
- `f` takes a tensor shaped like `x` and returns a 0-dim tensor; `x` is a float64 tensor of any
  shape, also 0-dim;
- return the estimated gradient as a tensor with the **same shape as `x`**;
- do not modify `x`: perturb a copy. (Adding `h` and subtracting it again does not always give
  back the same float!)

The check passes named functions as `f` (Rosenbrock, a quadratic bowl, the house-price MSE) and
compares your estimate with autograd's exact gradient.

*Hint*: loop over `i in range(x.numel())` on a flattened copy (`x.reshape(-1)`), and reshape
the result to `x.shape` at the end.""", '''\
def finite_difference_grad(f, x, h=1e-5):
    """Gradient of the scalar function f at x by central differences; same shape as x."""
    ### BEGIN SOLUTION
    x_flat = x.detach().reshape(-1)
    grad = torch.zeros_like(x_flat)
    for i in range(x_flat.numel()):
        e_i = torch.zeros_like(x_flat)
        e_i[i] = h                                            # a step along coordinate i only
        f_plus = f((x_flat + e_i).reshape(x.shape))
        f_minus = f((x_flat - e_i).reshape(x.shape))
        grad[i] = (f_plus - f_minus) / (2 * h)                # central difference
    return grad.reshape(x.shape)
    ### END SOLUTION'''),
        Ex("l02_fit_house_prices", "a house-price line, with feature scaling", r"""
Fit $\text{price} \approx w \cdot \text{sqft} + b$ by full-batch gradient descent on the mean
squared error. Square feet are in the thousands, so on the raw feature a learning rate like 0.1
diverges at once; standardise it first:

1. $\mu = \text{mean}(\text{sqft})$, $\sigma = \text{std}(\text{sqft})$,
   $x = (\text{sqft} - \mu)/\sigma$ (mean 0, standard deviation 1);
2. start from $w_s = 0,\ b_s = 0$ and repeat `steps` times:
   $$e = w_s x + b_s - \text{price}, \qquad
   w_s \leftarrow w_s - \eta \cdot 2\,\text{mean}(e\,x), \qquad
   b_s \leftarrow b_s - \eta \cdot 2\,\text{mean}(e);$$
3. convert back to original units: since $w_s (\text{sqft} - \mu)/\sigma + b_s = w\,
   \text{sqft} + b$, the answer is $w = w_s/\sigma$ and $b = b_s - w_s\,\mu/\sigma$.

Write `fit_house_prices(sqft, price, lr=0.1, steps=500)` returning `(w, b)` in original units,
as two Python floats (0-dim tensors are accepted too). `sqft` and `price` are 1-D float tensors.
The check chooses `lr` and `steps` so that gradient descent converges, and compares with the
least-squares line (so either standard deviation convention passes). Do not modify the inputs:
`x = (sqft - mu) / sigma` makes a new tensor, `sqft -= mu` would not.""", '''\
def fit_house_prices(sqft, price, lr=0.1, steps=500):
    """Gradient descent for price ~ w * sqft + b on a standardised feature; (w, b) in original units."""
    ### BEGIN SOLUTION
    mu, sigma = sqft.mean(), sqft.std()
    x = (sqft - mu) / sigma                    # standardised feature: mean 0, std 1
    w_s = torch.zeros((), dtype=x.dtype)
    b_s = torch.zeros((), dtype=x.dtype)
    for _ in range(steps):
        err = w_s * x + b_s - price            # residuals, prediction - target
        dw = 2 * (err * x).mean()              # dL/dw_s
        db = 2 * err.mean()                    # dL/db_s
        w_s = w_s - lr * dw                    # gradient step
        b_s = b_s - lr * db
    w = w_s / sigma                            # price per sqft
    b = b_s - w_s * mu / sigma                 # intercept in original units
    return w.item(), b.item()
    ### END SOLUTION'''),
        Ex("l02_minibatch_indices", "shuffled mini-batches", r"""
Full-batch gradient descent uses all $n$ examples per step, SGD uses one, **mini-batch**
gradient descent uses `batch_size` of them. An epoch shuffles the indices once and cuts them
into consecutive batches, so every example is used exactly once per epoch.

Write `minibatch_indices(n, batch_size, seed)`:
- shuffle `0, 1, …, n-1` with `g = torch.Generator().manual_seed(seed)` and
  `torch.randperm(n, generator=g)`. Use exactly this and draw nothing else from `g` before it:
  the check compares the exact order. (A private generator also keeps the shuffling from
  disturbing the global random stream that, say, initialises the model.)
- return a **list of 1-D int64 tensors**, all of length `batch_size` except possibly the last,
  which holds the leftover indices when `batch_size` does not divide `n` (no padding, nothing
  dropped).

*Hint*: `t.split(batch_size)` returns consecutive chunks of `t`, the last one possibly shorter.""", '''\
def minibatch_indices(n, batch_size, seed):
    """One epoch of shuffled mini-batch indices: a list of 1-D int64 tensors."""
    ### BEGIN SOLUTION
    g = torch.Generator().manual_seed(seed)     # private, seeded random stream
    perm = torch.randperm(n, generator=g)       # every index exactly once, shuffled
    return list(perm.split(batch_size))         # consecutive chunks; the last may be smaller
    ### END SOLUTION'''),
    ],
    summary="""\
## What you practised

- Central differences are accurate to about h², one-sided ones only to about h. In float64 with
  h = 1e-5 a central difference agrees with autograd to many digits; in float32 the same h
  loses most of them to rounding, which is why gradient checks run in float64.
- Feature scaling does not change the best line, only how fast, and whether, gradient descent
  finds it. Always report the fitted model in the units of the original data.
- Mini-batches: a fresh permutation each epoch, every example exactly once.""",
)


# ============================================================== lesson 03

L03 = Lesson(
    filename="03_learning_rate.ipynb",
    prefix="l03",
    intro="""\
# Lesson 03 exercises: the learning rate

**You will practise**
- following gradient descent on $f(w) = w^2$ as it converges, oscillates and diverges;
- computing the largest stable learning rate of a quadratic from its eigenvalues.

**Time**: about 25 minutes. **Prerequisite**: lesson 03 (the learning rate).

""" + HOW,
    setup="""\
import torch

from course_lib.exercises import check""",
    exercises=[
        Ex("l03_gd_trajectory", "a gradient-descent trajectory", r"""
On $f(w) = w^2$ the gradient is $f'(w) = 2w$, so one step of gradient descent is

$$w \leftarrow w - \eta \cdot 2w = (1 - 2\eta)\, w .$$

Each step multiplies $w$ by $1 - 2\eta$: it creeps towards 0 for small $\eta$, lands on 0 in one
step at $\eta = 0.5$, bounces between $\pm w_0$ at $\eta = 1$, and grows without bound beyond.
At $\eta = 1.1$ from $w_0 = 5$ the iterates are $5, -6, 7.2, -8.64, 10.368$.

Write `gd_trajectory(lr, w0, steps)` returning the list $[w_0, w_1, \dots, w_\text{steps}]$:
`steps + 1` Python floats, starting with `w0` itself. `lr` and `w0` are floats, `steps` an int
(possibly 0).

*Hint*: plain Python floats are enough here; if you use a tensor, append `float(w)`, not `w`.""", '''\
def gd_trajectory(lr, w0, steps):
    """Iterates of gradient descent on f(w) = w**2: [w0, w1, ..., w_steps]."""
    ### BEGIN SOLUTION
    w = float(w0)
    path = [w]
    for _ in range(steps):
        grad = 2 * w               # f'(w) for f(w) = w^2
        w = w - lr * grad          # gradient step
        path.append(w)
    return path
    ### END SOLUTION'''),
        Ex("l03_max_stable_lr", "the largest stable learning rate", r"""
For $f(x) = \tfrac12 x^\top A x$ with $A$ symmetric positive definite, the gradient is $Ax$ and
a step is $x \leftarrow x - \eta A x$. Along each eigenvector $q_i$ of $A$ (eigenvalue
$\lambda_i$, the curvature in that direction) this multiplies the component of $x$ by
$1 - \eta \lambda_i$. Gradient descent converges from every start exactly when
$|1 - \eta \lambda_i| < 1$ for all $i$, that is

$$\eta < \frac{2}{L}, \qquad L = \lambda_\text{max}(A).$$

Write `max_stable_lr(A)` returning the threshold $2/L$ as a Python float. `A` is a symmetric
positive-definite float tensor of shape `(d, d)`, not necessarily diagonal. Do not modify it.

*Hint*: `torch.linalg.eigvalsh(A)` returns the (real) eigenvalues of a symmetric matrix in
ascending order.""", '''\
def max_stable_lr(A):
    """Largest stable learning rate 2 / lambda_max(A) of gradient descent on 1/2 x^T A x."""
    ### BEGIN SOLUTION
    eigenvalues = torch.linalg.eigvalsh(A)     # real, ascending (A is symmetric)
    L = eigenvalues[-1].item()                 # the largest curvature
    return 2.0 / L                             # |1 - lr * L| < 1  <=>  lr < 2 / L
    ### END SOLUTION'''),
    ],
    summary="""\
## What you practised

- On a quadratic, each step multiplies the distance to the minimum along eigen-direction $i$ by
  $1 - \\eta\\lambda_i$: below $\\eta = 1/\\lambda_i$ it creeps in, between $1/\\lambda_i$ and
  $2/\\lambda_i$ it overshoots and oscillates inwards, above $2/\\lambda_i$ it oscillates
  outwards and grows geometrically.
- The steepest direction sets the limit $\\eta < 2/L$; the flattest direction then decides how
  slowly you converge. One learning rate for all directions is the problem that momentum
  (lesson 04) and adaptive methods (lesson 05) attack.""",
)


# ============================================================== lesson 04

L04 = Lesson(
    filename="04_momentum.ipynb",
    prefix="l04",
    intro="""\
# Lesson 04 exercises: momentum and Nesterov

**You will practise**
- one step of SGD with momentum, exactly as `torch.optim.SGD(momentum=mu)` computes it;
- the same for Nesterov momentum (`nesterov=True`).

The check runs one step of torch's own optimizer on a copy of your inputs and compares both the
new parameter and the new momentum buffer.

**Time**: about 25 minutes. **Prerequisite**: lesson 04 (momentum).

""" + HOW,
    setup="""\
import torch

from course_lib.exercises import check""",
    exercises=[
        Ex("l04_momentum_step", "a momentum step", r"""
PyTorch keeps one buffer per parameter, a decaying sum of past gradients, and steps along it:

$$b \leftarrow \begin{cases} g & \text{on the first step} \\ \mu\, b + g & \text{afterwards}
\end{cases} \qquad\qquad p \leftarrow p - \eta\, b .$$

Write `momentum_step(p, g, buf, lr, mu)` returning `(new_p, new_buf)`:
- `p`, `g`: tensors of the same shape (a parameter and its gradient); `buf`: the buffer from the
  previous step, or `None` on the first step; `lr` $=\eta$ and `mu` $=\mu$ are floats;
- on the first step the buffer starts as (a copy of) `g` itself;
- return new tensors and do not modify `p`, `g` or `buf`. (torch updates in place for speed;
  here the caller still needs the old values.)

Two other conventions are common in papers and other libraries; neither is what torch does:
the *EMA* form $b \leftarrow \mu b + (1-\mu) g$, whose steps are only $(1-\mu)$ times as large for the
same lr, and the *velocity* form $v \leftarrow \mu v + \eta g,\ p \leftarrow p - v$, which
matches torch only while the learning rate never changes.

*Hint*: `if buf is None:`""", '''\
def momentum_step(p, g, buf, lr, mu):
    """One step of SGD with momentum in torch's convention; returns (new_p, new_buf)."""
    ### BEGIN SOLUTION
    if buf is None:
        buf = g.clone()          # first step: the buffer starts at g
    else:
        buf = mu * buf + g       # decaying sum of gradients
    p = p - lr * buf             # step along the buffer
    return p, buf
    ### END SOLUTION'''),
        Ex("l04_nesterov_step", "a Nesterov step", r"""
Nesterov momentum takes the gradient where momentum is about to carry you. PyTorch uses a
rearranged form that needs only the gradient at the current point: the buffer is the same as in
exercise 1, and the step adds the look-ahead $\mu b$ (with the *new* $b$) to the gradient:

$$b \leftarrow \begin{cases} g & \text{on the first step} \\ \mu\, b + g & \text{afterwards}
\end{cases} \qquad\qquad p \leftarrow p - \eta\,(g + \mu\, b) .$$

Write `nesterov_step(p, g, buf, lr, mu)` returning `(new_p, new_buf)`, with the same inputs and
rules as exercise 1. `new_buf` is the buffer $b$, not the step $g + \mu b$.""", '''\
def nesterov_step(p, g, buf, lr, mu):
    """One step of SGD with Nesterov momentum in torch's convention; returns (new_p, new_buf)."""
    ### BEGIN SOLUTION
    if buf is None:
        buf = g.clone()          # first step: the buffer starts at g
    else:
        buf = mu * buf + g       # the same buffer as plain momentum
    step = g + mu * buf          # gradient plus the look-ahead
    p = p - lr * step
    return p, buf
    ### END SOLUTION'''),
    ],
    summary="""\
## What you practised

- torch's momentum buffer is a plain decaying sum of gradients (no $1-\\mu$), and the learning
  rate multiplies it only at the step. On a steady gradient it grows to $g/(1-\\mu)$: with
  $\\mu = 0.9$, steps up to 10 times larger than plain SGD at the same lr.
- Nesterov is the same buffer with a look-ahead $\\mu b$ added to the step.
- Conventions differ between papers and libraries (EMA, velocity); when you port
  hyperparameters, check which one the numbers were tuned for.""",
)


# ============================================================== lesson 05

L05 = Lesson(
    filename="05_adaptive_methods.ipynb",
    prefix="l05",
    intro="""\
# Lesson 05 exercises: adaptive methods

**You will practise** one step of AdaGrad, RMSprop and Adam, each exactly as `torch.optim`
computes it, with torch's names and defaults: your functions could stand in for the library's
update.

The check runs one step of torch's own optimizer on a copy of your inputs and compares the new
parameter and the new state. The default values in the signatures are torch's; one check calls
your function without them.

**Time**: about 40 minutes. **Prerequisite**: lesson 05 (adaptive methods).

""" + HOW,
    setup="""\
import torch

from course_lib.exercises import check""",
    exercises=[
        Ex("l05_adagrad_step", "an AdaGrad step", r"""
AdaGrad divides each coordinate's step by the root of the sum of all its squared gradients so
far: coordinates that have seen large gradients take small steps. Element-wise,

$$s \leftarrow s + g \odot g \qquad\qquad p \leftarrow p - \eta\, \frac{g}{\sqrt{s} + \epsilon} .$$

Write `adagrad_step(p, g, sum_sq, lr=1e-2, eps=1e-10)` returning `(new_p, new_sum_sq)`. torch
stores $s$ as `state["sum"]`, starting at 0; its defaults are `lr=1e-2` and `eps=1e-10` (and no
learning-rate decay). Do not modify the inputs.

*Hint*: `torch.sqrt`; $\epsilon$ is added after the square root.""", '''\
def adagrad_step(p, g, sum_sq, lr=1e-2, eps=1e-10):
    """One AdaGrad step in torch's convention; returns (new_p, new_sum_sq)."""
    ### BEGIN SOLUTION
    sum_sq = sum_sq + g * g                          # running sum of squared gradients
    p = p - lr * g / (torch.sqrt(sum_sq) + eps)      # per-coordinate step lr / sqrt(sum)
    return p, sum_sq
    ### END SOLUTION'''),
        Ex("l05_rmsprop_step", "an RMSprop step", r"""
AdaGrad's sum only grows, so its steps shrink forever. RMSprop replaces the sum by an
exponential moving average:

$$v \leftarrow \alpha\, v + (1-\alpha)\, g \odot g \qquad\qquad
p \leftarrow p - \eta\, \frac{g}{\sqrt{v} + \epsilon} .$$

Write `rmsprop_step(p, g, v, lr=1e-2, alpha=0.99, eps=1e-8)` returning `(new_p, new_v)`. torch
stores $v$ as `state["square_avg"]`, starting at 0, with defaults `lr=1e-2`, `alpha=0.99`,
`eps=1e-8`, and applies **no** bias correction (so its first steps, while $v$ is still near 0,
are large). Do not modify the inputs.""", '''\
def rmsprop_step(p, g, v, lr=1e-2, alpha=0.99, eps=1e-8):
    """One RMSprop step in torch's convention; returns (new_p, new_v)."""
    ### BEGIN SOLUTION
    v = alpha * v + (1 - alpha) * g * g              # moving average of squared gradients
    p = p - lr * g / (torch.sqrt(v) + eps)           # per-coordinate step lr / RMS(g)
    return p, v
    ### END SOLUTION'''),
        Ex("l05_adam_step", "an Adam step", r"""
Adam keeps both a moving average of the gradient (momentum) and one of its square (RMSprop),
and corrects both for starting at zero. With $t$ the number of this step (1 on the first):

$$\begin{aligned}
m &\leftarrow \beta_1 m + (1-\beta_1)\, g, & \hat m &= m / (1-\beta_1^t),\\
v &\leftarrow \beta_2 v + (1-\beta_2)\, g \odot g, & \hat v &= v / (1-\beta_2^t),\\
p &\leftarrow p - \eta\, \hat m / (\sqrt{\hat v} + \epsilon) .
\end{aligned}$$

Write `adam_step(p, g, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8)` returning
`(new_p, new_m, new_v)`:
- `m`, `v` are torch's `state["exp_avg"]` and `state["exp_avg_sq"]` (zeros before the first
  step); `t` is an int, the number of this update: 1 on the first step;
- $\epsilon$ is added after the square root. torch arranges the same step as
  $\frac{\eta}{1-\beta_1^t}\, m / (\sqrt{v}/\sqrt{1-\beta_2^t} + \epsilon)$, which is the same
  number up to rounding: either arrangement passes;
- do not modify the inputs.

*Hint*: on the very first step $\hat m = g$ and $\hat v = g^2$, so every coordinate moves by
almost exactly $\eta$: a handy sanity check.""", '''\
def adam_step(p, g, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    """One Adam step in torch's convention (t = 1 on the first step); returns (new_p, new_m, new_v)."""
    ### BEGIN SOLUTION
    beta1, beta2 = betas
    m = beta1 * m + (1 - beta1) * g                  # moving average of gradients
    v = beta2 * v + (1 - beta2) * g * g              # moving average of squared gradients
    m_hat = m / (1 - beta1 ** t)                     # bias corrections: m and v start at 0
    v_hat = v / (1 - beta2 ** t)
    p = p - lr * m_hat / (torch.sqrt(v_hat) + eps)   # per-coordinate step
    return p, m, v
    ### END SOLUTION'''),
    ],
    summary="""\
## What you practised

- AdaGrad: a sum of squared gradients; the steps shrink forever. Good for rare features, too
  timid for long training.
- RMSprop: a moving average instead, so the steps stay alive; torch's has no bias correction.
- Adam: momentum on top of RMSprop, both bias-corrected, so the first step is about lr per
  coordinate whatever the scale of the gradient. $\\epsilon$ sits outside the square root.""",
)

# ============================================================== lesson 06

L06 = Lesson(
    filename="06_adamw.ipynb",
    prefix="l06",
    intro="""\
# Lesson 06 exercises: AdamW

**You will practise**
- one AdamW step, exactly as `torch.optim.AdamW` computes it: decay the weights, not the
  gradient;
- splitting a model's parameters into the ones to decay and the ones to leave alone;
- what AdamW's state costs in memory, before a single activation.

**Time**: about 35 minutes. **Prerequisite**: lesson 06 (AdamW) and the Adam exercise of
lesson 05.

""" + HOW,
    setup="""\
import torch

from course_lib.exercises import check""",
    exercises=[
        Ex("l06_adamw_step", "an AdamW step", r"""
Adam with L2 regularisation adds $\lambda p$ to the gradient; $m$ and $v$ then carry it, and the
division by $\sqrt{\hat v}$ weakens the decay of exactly the weights whose gradients are large.
AdamW (Loshchilov & Hutter) **decouples** the decay: the weights shrink directly, and the Adam
step sees the gradient alone. In torch's order, with $t$ the number of this step (1 on the first):

$$\begin{aligned}
p &\leftarrow p\,(1 - \eta\lambda) && \text{decay first, from the old } p\\
m &\leftarrow \beta_1 m + (1-\beta_1)\, g, & \hat m &= m / (1-\beta_1^t)\\
v &\leftarrow \beta_2 v + (1-\beta_2)\, g \odot g, & \hat v &= v / (1-\beta_2^t)\\
p &\leftarrow p - \eta\, \hat m / (\sqrt{\hat v} + \epsilon) .
\end{aligned}$$

Write `adamw_step(p, g, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2)`
returning `(new_p, new_m, new_v)`:
- the defaults are `torch.optim.AdamW`'s (note `weight_decay=1e-2`; plain Adam's is 0);
- `m`, `v` are torch's `state["exp_avg"]` and `state["exp_avg_sq"]` (zeros before the first
  step); `t` is an int, 1 on the first step;
- the decay is multiplied by the learning rate, $p\,(1 - \eta\lambda)$, as torch does: a
  schedule on `lr` then scales the decay too;
- do not modify the inputs.

The check runs one step of `torch.optim.AdamW` on a copy of your inputs and compares all three
tensors.

*Hint*: everything after the first line is your `adam_step` from lesson 05. On a zero gradient
the weights still move: the decay shrinks them and the momentum in $m$ carries them on.""", '''\
def adamw_step(p, g, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    """One AdamW step in torch's convention (t = 1 on the first step); returns (new_p, new_m, new_v)."""
    ### BEGIN SOLUTION
    beta1, beta2 = betas
    p = p * (1 - lr * weight_decay)                  # decoupled decay: shrink the weights first
    m = beta1 * m + (1 - beta1) * g                  # the Adam step sees the gradient alone
    v = beta2 * v + (1 - beta2) * g * g
    m_hat = m / (1 - beta1 ** t)                     # bias corrections
    v_hat = v / (1 - beta2 ** t)
    p = p - lr * m_hat / (torch.sqrt(v_hat) + eps)
    return p, m, v
    ### END SOLUTION'''),
        Ex("l06_split_decay_groups", "which parameters to decay", r"""
Not every parameter should be decayed. Pulling a weight matrix towards 0 is the regularisation
we want. A bias pulled towards 0 shifts every activation, and the neutral value of a LayerNorm
scale is 1, not 0: decay would shrink the signal the normalisation just set. The rule of GPT-2
and nanoGPT (and of `course_lib.models.param_groups_for_weight_decay`):

> **decay exactly the tensors with 2 or more dimensions** (Linear and convolution weights,
> embedding tables); leave the ones with 0 or 1 dimension alone (biases, norm scales and
> shifts, learnable scalars).

Write `split_decay_groups(named_shapes)`:
- `named_shapes` is a list of `(name, shape)` pairs, as you would get from
  `[(n, tuple(p.shape)) for n, p in model.named_parameters()]`; a shape is a tuple of ints,
  `()` for a 0-dim parameter;
- return `(decay_names, no_decay_names)`: two lists of names, each in the order of
  `named_shapes`, every name in exactly one of them;
- decide by the shape, not by the name: names vary (`in_proj_weight`, `ln_1.weight`,
  `text_projection`, ...);
- do not modify `named_shapes`.

The check uses the names and shapes of real torch modules. With real parameters the two groups
go straight into the optimizer:
`AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}])`.""", '''\
def split_decay_groups(named_shapes):
    """Names of the parameters to decay (2 or more dimensions) and not to decay; returns (decay, no_decay)."""
    ### BEGIN SOLUTION
    decay, no_decay = [], []
    for name, shape in named_shapes:
        if len(shape) >= 2:                          # matrices, embeddings, conv kernels
            decay.append(name)
        else:                                        # biases, norm scales, scalars
            no_decay.append(name)
    return decay, no_decay
    ### END SOLUTION'''),
        Ex("l06_weights_and_state_gb", "the memory of weights and optimizer state", r"""
AdamW keeps two more numbers for every parameter, $m$ and $v$: in float32 that is 8 bytes of
state on top of the 4-byte weight. With $n$ parameters, $b$ bytes per value and $s$ state values
per parameter, the weights and the optimizer state take

$$\text{GB} = \frac{n \cdot b \cdot (1 + s)}{10^9} .$$

Write `weights_and_state_gb(n_params, bytes_per_value=4, states_per_param=2)` returning this
number of gigabytes (1 GB = $10^9$ bytes, as GPU memory is sold) as a Python float:
- `states_per_param` is 2 for Adam and AdamW ($m$, $v$), 1 for SGD with momentum, 0 for plain
  SGD;
- count the weights and the optimizer state only: gradients and activations come on top.

For a 70B-parameter model in float32 with AdamW this is $70 \cdot 10^9 \cdot 4 \cdot 3 / 10^9 =
840$ GB: more than ten 80 GB GPUs before a single activation is stored.""", '''\
def weights_and_state_gb(n_params, bytes_per_value=4, states_per_param=2):
    """Memory of the weights plus the optimizer state, in GB (10**9 bytes)."""
    ### BEGIN SOLUTION
    values = n_params * (1 + states_per_param)       # the weight itself + its optimizer state
    return values * bytes_per_value / 1e9
    ### END SOLUTION'''),
    ],
    summary="""\
## What you practised

- AdamW shrinks the weights by $(1 - \\eta\\lambda)$ and lets $m$ and $v$ see only the gradient.
  Adam's L2 form puts $\\lambda p$ into the gradient, where $\\sqrt{\\hat v}$ divides it away for
  exactly the weights that move the most.
- In torch the decay is multiplied by the learning rate, so a schedule on `lr` decays the decay
  too; `weight_decay=0.1` with AdamW is not the same as `weight_decay=0.1` with Adam.
- Decay matrices and embeddings, not biases and norm scales: decide by `p.ndim`, not by name.
- AdamW's state doubles the memory of the weights: 12 bytes per parameter in float32, before
  gradients and activations.""",
)


# ============================================================== lesson 07

L07 = Lesson(
    filename="07_lr_schedules.ipynb",
    prefix="l07",
    intro="""\
# Lesson 07 exercises: learning-rate schedules

**You will practise** writing two schedules as plain functions of the step, exactly as
`course_lib.schedules` defines them:
- linear warmup, then a cosine down to a floor, then hold: the GPT-3 recipe;
- warmup, a long plateau at the peak, then a short linear decay (warmup-stable-decay).

Both follow one convention: `step` counts the optimizer steps already taken, so the very first
update uses `step = 0`. A function like these goes straight into
`LambdaLR(opt, lambda step: warmup_cosine_lr(step, ...) / peak_lr)`.

**Time**: about 30 minutes. **Prerequisite**: lesson 07 (learning-rate schedules).

**How the exercises work.** Write the body of each function where it says `# YOUR CODE HERE`
(delete the `raise NotImplementedError()` line), run the cell, then run the check cell under it.
The check calls your function at many steps (the first one, the warmup, the peak, the decay, the
floor, after the end) and tells you what is wrong, often naming the exact mistake. Here the
answers are Python floats, and the inputs are plain numbers.""",
    setup="""\
import math

from course_lib.exercises import check""",
    exercises=[
        Ex("l07_warmup_cosine_lr", "warmup and cosine decay", r"""
With $t$ = `step`, $W$ = `warmup_steps`, $T$ = `total_steps`, $\eta$ = `peak_lr` and
$f$ = `floor` (a fraction of the peak):

$$\text{lr}(t) = \begin{cases}
\eta\, \dfrac{t + 1}{W + 1} & t < W \\[2ex]
\eta \left( f + (1 - f)\, \dfrac{1 + \cos(\pi x)}{2} \right),
\quad x = \dfrac{\min(t, T) - W}{T - W} & t \ge W
\end{cases}$$

- the warmup is a straight line that starts at $\eta / (W + 1)$ (the first step already
  trains) and reaches the peak exactly at step $W$;
- the cosine falls from $\eta$ at step $W$ to $f\eta$ at step $T$;
- after step $T$ the rate **stays** at $f\eta$ (torch's `CosineAnnealingLR` would climb back
  up).

Write `warmup_cosine_lr(step, warmup_steps, total_steps, peak_lr, floor=0.1)` returning the
learning rate at `step` as a Python float. The steps are ints with `step >= 0` and
`0 <= warmup_steps < total_steps`. This is `peak_lr * course_lib.schedules.warmup_cosine(W, T,
floor)(step)`: write it out yourself with `math.cos` and `math.pi`.

*Check by hand*: with $W = 10$, $T = 110$, step 0 gives $\eta/11$, step 10 gives $\eta$, step 60
gives $0.55\,\eta$, and step 110 and every later step give $0.1\,\eta$.""", '''\
def warmup_cosine_lr(step, warmup_steps, total_steps, peak_lr, floor=0.1):
    """The learning rate at `step`: linear warmup, cosine to floor * peak_lr at total_steps, then hold."""
    ### BEGIN SOLUTION
    if step < warmup_steps:
        return peak_lr * (step + 1) / (warmup_steps + 1)             # the ramp, never 0
    t = min(step, total_steps)                                       # hold after the end
    progress = (t - warmup_steps) / (total_steps - warmup_steps)     # 0 -> 1 over the decay
    cosine = (1 + math.cos(math.pi * progress)) / 2                  # 1 -> 0
    return peak_lr * (floor + (1 - floor) * cosine)
    ### END SOLUTION'''),
        Ex("l07_wsd_lr", "warmup, stable, decay", r"""
A cosine schedule fixes the length of the run in advance. **Warmup-stable-decay** (WSD) keeps
the peak for most of the run and decays only over the last `decay_steps` steps, so you can
branch a short decay off any checkpoint of the plateau. With $D$ = `decay_steps` and the rest
as before:

$$\text{lr}(t) = \begin{cases}
\eta\, \dfrac{t + 1}{W + 1} & t < W \\[2ex]
\eta & W \le t < T - D \\[1ex]
\eta \big( f + (1 - f)\,(1 - x) \big), \quad x = \dfrac{\min(t, T) - (T - D)}{D} & t \ge T - D
\end{cases}$$

The decay starts from the peak at step $T - D$ and reaches $f\eta$ exactly at step $T$; after
that the rate stays at $f\eta$.

Write `wsd_lr(step, warmup_steps, decay_steps, total_steps, peak_lr, floor=0.0)` returning the
learning rate at `step` as a Python float; `decay_steps >= 1` and
`warmup_steps + decay_steps <= total_steps`. The decay here is **linear** (the library's
`warmup_stable_decay` also offers cosine and 1-sqrt shapes; this is its `decay_shape="linear"`).

*Check by hand*: with $W = 10$, $D = 20$, $T = 100$ and floor 0: the peak from step 10 to step
80, $0.5\,\eta$ at step 90, 0 from step 100 on.""", '''\
def wsd_lr(step, warmup_steps, decay_steps, total_steps, peak_lr, floor=0.0):
    """The learning rate at `step`: linear warmup, a plateau at peak_lr, linear decay over the last decay_steps."""
    ### BEGIN SOLUTION
    decay_start = total_steps - decay_steps
    if step < warmup_steps:
        return peak_lr * (step + 1) / (warmup_steps + 1)             # the same ramp as before
    if step < decay_start:
        return peak_lr                                               # the stable plateau
    progress = (min(step, total_steps) - decay_start) / decay_steps  # 0 -> 1, held after the end
    return peak_lr * (floor + (1 - floor) * (1 - progress))
    ### END SOLUTION'''),
    ],
    summary="""\
## What you practised

- Warmup as $(t + 1)/(W + 1)$: no step is wasted at lr 0, and the peak lands exactly on step $W$.
- Off-by-one errors in a schedule are invisible in the loss curve and very visible in a
  reproduction: write the convention down (here: the first update uses step 0).
- Cosine and WSD both end low; WSD decides *when* to end late, which is why it suits runs whose
  length is not known in advance.
- Past the planned end, hold the floor. PyTorch's `CosineAnnealingLR` climbs back up instead.""",
)


# ============================================================== lesson 08

L08 = Lesson(
    filename="08_gradient_clipping.ipynb",
    prefix="l08",
    intro="""\
# Lesson 08 exercises: gradient clipping

**You will practise**
- global norm clipping, exactly as `torch.nn.utils.clip_grad_norm_` does it, but without
  touching the input;
- per-tensor clipping, and why it bends the direction of the update;
- a small training doctor: finding the gradient-norm spikes in a run's log.

**Time**: about 35 minutes. **Prerequisite**: lesson 08 (gradient clipping).

""" + HOW,
    setup="""\
import statistics

import torch

from course_lib.exercises import check""",
    exercises=[
        Ex("l08_clip_global_norm", "global norm clipping", r"""
Global clipping treats all the gradients of a model as one long vector and, if that vector is
longer than `max_norm`, scales all of it down by one factor: the direction is kept, only the
length changes. For gradient tensors $g_1, \dots, g_k$:

$$\|g\| = \sqrt{\sum_i \sum_j g_{i,j}^2}, \qquad
c = \min\!\left(1,\ \frac{\text{max\_norm}}{\|g\| + 10^{-6}}\right), \qquad
g_i \leftarrow c\, g_i .$$

Write `clip_global_norm(grads, max_norm)` returning `(clipped_grads, total_norm)`:
- `grads` is a non-empty list of float tensors of any shapes (0-dim too), all of one dtype;
- `clipped_grads` is a new list of new tensors with the same shapes;
- `total_norm` is $\|g\|$ **before** clipping, as a 0-dim tensor: what `clip_grad_norm_`
  returns, and the number you log to watch for spikes;
- the arithmetic is torch's, $10^{-6}$ included: the check compares with
  `torch.nn.utils.clip_grad_norm_` (don't call it, or `course_lib.clipping`);
- do not modify the input tensors: torch's version works in place on `.grad`, yours must not
  (`g * c`, not `g.mul_(c)`).

*Hint*: `torch.stack([(g * g).sum() for g in grads]).sum().sqrt()`; a 0-dim tensor `c`
broadcasts in `g * c`, and `torch.clamp(x, max=1.0)` caps it.""", '''\
def clip_global_norm(grads, max_norm):
    """Clip a list of gradients by their global L2 norm; returns (clipped copies, norm before clipping)."""
    ### BEGIN SOLUTION
    total_norm = torch.stack([(g * g).sum() for g in grads]).sum().sqrt()  # one long vector
    coef = torch.clamp(max_norm / (total_norm + 1e-6), max=1.0)            # never scale up
    return [g * coef for g in grads], total_norm                            # new tensors
    ### END SOLUTION'''),
        Ex("l08_clip_per_tensor", "per-tensor clipping", r"""
The same rule applied to each tensor on its own: every gradient gets its own factor

$$c_i = \min\!\left(1,\ \frac{\text{max\_norm}}{\|g_i\| + 10^{-6}}\right), \qquad
g_i \leftarrow c_i\, g_i .$$

Write `clip_per_tensor(grads, max_norm)` returning the list of clipped copies (no norms this
time); same inputs and rules as exercise 1. The reference is `clip_grad_norm_` called on each
tensor separately.

Compare the two on a gradient where one tensor dominates: global clipping shrinks everything by
the same factor, per-tensor clipping shrinks the big tensor and leaves the small ones, so the
direction of the whole update bends towards them.""", '''\
def clip_per_tensor(grads, max_norm):
    """Clip each gradient tensor to norm max_norm on its own; returns the clipped copies."""
    ### BEGIN SOLUTION
    clipped = []
    for g in grads:
        norm = (g * g).sum().sqrt()                                  # this tensor's L2 norm
        coef = torch.clamp(max_norm / (norm + 1e-6), max=1.0)
        clipped.append(g * coef)
    return clipped
    ### END SOLUTION'''),
        Ex("l08_find_spikes", "finding gradient spikes", r"""
A training doctor reads the log of gradient norms and points at the steps where something blew
up. A spike is a norm far above the recent normal level, and the median is a robust measure of
that level: one earlier spike in the window would drag a mean up and hide the next one. Step $i$
is a **spike** when

$$\text{grad\_norms}[i] > \text{factor} \cdot \operatorname{median}\big(\text{grad\_norms}[i - \text{window} : i]\big),$$

that is:
- the window is the `window` norms just **before** step $i$ (step $i$ itself is not in it);
- only steps with a full window are checked ($i \ge$ `window`): earlier steps are never spikes;
- strictly greater: a norm of exactly `factor` times the median is not a spike.

Write `find_spikes(grad_norms, factor=10.0, window=25)` returning the spike steps as a list of
ints in increasing order (an empty list if there are none). `grad_norms` is a list of floats; do
not modify it. Every check uses an odd window, so the median is the middle value of the sorted
window: `statistics.median`, `np.median` and `torch.median` all agree.""", '''\
def find_spikes(grad_norms, factor=10.0, window=25):
    """Steps whose gradient norm exceeds factor * the median of the previous `window` norms."""
    ### BEGIN SOLUTION
    spikes = []
    for i in range(window, len(grad_norms)):                         # only with a full window
        typical = statistics.median(grad_norms[i - window:i])        # the norms before step i
        if grad_norms[i] > factor * typical:
            spikes.append(i)
    return spikes
    ### END SOLUTION'''),
    ],
    summary="""\
## What you practised

- Global clipping keeps the direction of the update and caps its length; it returns the norm
  *before* clipping, the number to log and plot.
- Per-tensor clipping caps each tensor separately, which bends the update towards the tensors
  with small gradients.
- Clip the norm, never scale up: $\\min(1, \\cdot)$ leaves healthy gradients alone.
- A spike detector compares with a running median of the steps before, not with a mean and not
  with the step itself.""",
)


# ============================================================== lesson 09

L09 = Lesson(
    filename="09_lr_finder.ipynb",
    prefix="l09",
    intro="""\
# Lesson 09 exercises: the learning-rate finder

The range test trains for a few hundred steps while the learning rate grows from tiny to huge,
and reads a good learning rate off the loss curve. Here you write its two pieces.

**You will practise**
- the sweep: learning rates spaced evenly on a log scale, endpoints included;
- the smoothing that makes the noisy curve readable: an exponential moving average with Adam's
  bias correction.

**Time**: about 25 minutes. **Prerequisite**: lesson 09 (the LR finder).

""" + HOW + """

Both functions here take and return **lists of Python floats** (a 1-D tensor or NumPy array is
accepted too).""",
    setup="""\
import math

import numpy as np

from course_lib.exercises import check""",
    exercises=[
        Ex("l09_exponential_lr_schedule", "the exponential sweep", r"""
The range test multiplies the learning rate by the same factor at every step, so that every
decade gets the same number of steps: $10^{-7} \dots 10^{-6}$ is swept as carefully as $1 \dots 10$.
With $N$ steps from $\eta_\text{start}$ to $\eta_\text{end}$, both included:

$$\eta_i = \eta_\text{start} \left(\frac{\eta_\text{end}}{\eta_\text{start}}\right)^{i/(N-1)},
\qquad i = 0, 1, \dots, N-1 .$$

Write `exponential_lr_schedule(start_lr, end_lr, num_iters)`:
- `start_lr < end_lr` are positive floats, `num_iters >= 2` an int;
- return the list of `num_iters` learning rates: the first is `start_lr`, the last `end_lr`;
- the check compares with `course_lib.lr_finder.exponential_lrs` (don't call it).

*Hint*: `np.geomspace(start_lr, end_lr, num_iters)` is one line; the formula is another.
Beware `np.logspace`: it takes exponents, not learning rates.""", '''\
def exponential_lr_schedule(start_lr, end_lr, num_iters):
    """num_iters learning rates from start_lr to end_lr (both included), evenly spaced on a log scale."""
    ### BEGIN SOLUTION
    ratio = end_lr / start_lr
    return [start_lr * ratio ** (i / (num_iters - 1)) for i in range(num_iters)]  # i = 0 .. N-1
    ### END SOLUTION'''),
        Ex("l09_smooth_losses", "the bias-corrected moving average", r"""
A range test's losses are noisy: each step sees one mini-batch. The finder plots an exponential
moving average instead, started at 0 and bias-corrected exactly as Adam corrects its moments:

$$a_0 = 0, \qquad a_i = \beta\, a_{i-1} + (1-\beta)\, \ell_i, \qquad
\hat a_i = \frac{a_i}{1 - \beta^{\,i}}, \qquad i = 1, 2, \dots$$

Without the correction the first values are pulled towards 0: $a_1 = (1-\beta)\,\ell_1$ is only
2% of the first loss at $\beta = 0.98$, and $\hat a_1 = \ell_1$ puts it back.

Write `smooth_losses(losses, beta=0.98)`:
- `losses` is a list of floats, `0 <= beta < 1`;
- return the list of the corrected values $\hat a_1, \dots, \hat a_n$, one per loss;
- keep the running average $a_i$ uncorrected: only the values you return are divided;
- do not modify `losses`. The check compares with `course_lib.lr_finder.smooth_losses`.

*Hint*: count the steps from 1 (`enumerate(losses, start=1)`); with $i = 0$ the correction
would divide by zero.""", '''\
def smooth_losses(losses, beta=0.98):
    """Bias-corrected exponential moving average of the losses, one value per loss."""
    ### BEGIN SOLUTION
    out, avg = [], 0.0
    for i, loss in enumerate(losses, start=1):
        avg = beta * avg + (1 - beta) * loss     # the running average, started at 0
        out.append(avg / (1 - beta ** i))        # corrected copy; avg itself stays uncorrected
    return out
    ### END SOLUTION'''),
    ],
    summary="""\
## What you practised

- A sweep over many decades is geometric: each step multiplies the lr by
  $(\\eta_\\text{end}/\\eta_\\text{start})^{1/(N-1)}$, and the exponent $i/(N-1)$ puts both
  endpoints in.
- A moving average started at 0 is biased towards 0 for its first $\\sim 1/(1-\\beta)$ steps;
  dividing by $1 - \\beta^i$ removes the bias, exactly as in Adam.
- The running average stays uncorrected; only what you report is divided.""",
)


# ============================================================== lesson 10

L10 = Lesson(
    filename="10_second_order.ipynb",
    prefix="l10",
    intro="""\
# Lesson 10 exercises: Newton's method and L-BFGS

Gradient descent uses the slope; Newton's method also uses the curvature, and L-BFGS builds an
approximation of the inverse curvature from the last few steps.

**You will practise**
- the Newton step $-H^{-1}g$, computed the right way (a linear solve, not an inverse);
- the L-BFGS two-loop recursion, which multiplies by the inverse-Hessian approximation without
  ever forming it.

**Time**: about 40 minutes. **Prerequisite**: lesson 10 (second-order methods).

""" + HOW,
    setup="""\
import torch

from course_lib.exercises import check""",
    exercises=[
        Ex("l10_newton_step", "the Newton step", r"""
Near a point $x$, a function looks like the quadratic
$f(x + d) \approx f(x) + g^\top d + \tfrac12 d^\top H d$, with gradient $g$ and Hessian $H$.
Setting its gradient $g + H d$ to zero gives the **Newton step**

$$d = -H^{-1} g, \qquad\text{that is, the solution of}\qquad H d = -g .$$

Write `newton_step(grad, hessian)`:
- `grad`: a float tensor of shape `(n,)`; `hessian`: a symmetric invertible float tensor of shape
  `(n, n)`, of the same dtype;
- return the step $d$, a tensor of shape `(n,)` (the caller does `x = x + d`);
- do not modify the inputs.

Some checks use indefinite Hessians (a saddle, a maximum): the formula does not care, and that
is the lesson's warning. There the Newton step heads for the saddle or the top, not downhill.

*Hint*: `torch.linalg.solve(A, b)` solves $A x = b$; it is faster and more accurate than
forming `torch.linalg.inv(A)`.""", '''\
def newton_step(grad, hessian):
    """The Newton step d = -H^-1 g, the solution of H d = -g."""
    ### BEGIN SOLUTION
    return torch.linalg.solve(hessian, -grad)    # a linear solve, no explicit inverse
    ### END SOLUTION'''),
        Ex("l10_two_loop_direction", "the L-BFGS two-loop recursion", r"""
L-BFGS keeps the last $m$ steps $s_i = x_{i+1} - x_i$ and gradient changes
$y_i = g_{i+1} - g_i$ (oldest first, each with $y_i^\top s_i > 0$). They define an
inverse-Hessian approximation $H_k$: start from $H_0 = \gamma I$ and apply the BFGS update
once per pair, oldest first. The **two-loop recursion** computes $r = H_k g$ in $O(mn)$
operations, without ever forming the $n \times n$ matrix:

$$
\begin{aligned}
&\rho_i = 1 / (y_i^\top s_i), \qquad q \leftarrow g\\
&\text{for } i = m-1, \dots, 0 \text{ (newest to oldest)}:\quad
  \alpha_i \leftarrow \rho_i\, s_i^\top q, \quad q \leftarrow q - \alpha_i y_i\\
&r \leftarrow \gamma\, q, \qquad \gamma = \frac{s_{m-1}^\top y_{m-1}}{y_{m-1}^\top y_{m-1}}
  \ \text{(the newest pair)}\\
&\text{for } i = 0, \dots, m-1 \text{ (oldest to newest)}:\quad
  \beta \leftarrow \rho_i\, y_i^\top r, \quad r \leftarrow r + (\alpha_i - \beta)\, s_i
\end{aligned}
$$

Write `two_loop_direction(g, s_list, y_list)`:
- `g`: a float tensor of shape `(n,)`; `s_list`, `y_list`: lists of $m$ tensors of shape `(n,)`,
  oldest first, same dtype as `g`; $m$ may be 0, and then $\gamma = 1$ and $r = g$;
- return $r = H_k g$, a tensor of shape `(n,)`. The L-BFGS search direction is $-r$; this
  function returns $r$ itself;
- do not modify the inputs (`q = q - a * y` makes a new tensor; `q -= a * y` would change `g`
  if `q` is `g`).

The check does not use the recursion: it builds $H_k$ as an explicit matrix with the BFGS update
$H \leftarrow (I - \rho s y^\top) H (I - \rho y s^\top) + \rho s s^\top$ and multiplies.

*Hint*: store the $\alpha_i$ of the first loop in a list; the second loop needs them. `a @ b`
of two 1-D tensors is their dot product.""", '''\
def two_loop_direction(g, s_list, y_list):
    """r = H_k g for the L-BFGS inverse-Hessian approximation (the search direction is -r)."""
    ### BEGIN SOLUTION
    m = len(s_list)
    if m == 0:
        return g.clone()                                      # H_0 = I
    rho = [1.0 / (y @ s) for s, y in zip(s_list, y_list)]
    alpha = [None] * m
    q = g.clone()
    for i in reversed(range(m)):                              # newest to oldest
        alpha[i] = rho[i] * (s_list[i] @ q)
        q = q - alpha[i] * y_list[i]
    s, y = s_list[-1], y_list[-1]
    r = (s @ y) / (y @ y) * q                                 # H_0 = gamma I, newest pair
    for i in range(m):                                        # oldest to newest
        beta = rho[i] * (y_list[i] @ r)
        r = r + (alpha[i] - beta) * s_list[i]
    return r
    ### END SOLUTION'''),
    ],
    summary="""\
## What you practised

- The Newton step solves $H d = -g$: a linear solve, never an explicit inverse. It jumps to the
  stationary point of the local quadratic, which is a minimum only where $H$ is positive definite.
- The two-loop recursion multiplies by the L-BFGS inverse Hessian in $O(mn)$: backwards through
  the pairs, scale by $\\gamma = s^\\top y / y^\\top y$, forwards again.
- $\\gamma$ gives the search direction the right length, so the line search usually accepts the
  step of 1 at once.""",
)


# ============================================================== lesson 11

L11 = Lesson(
    filename="11_landscape_geometry.ipynb",
    prefix="l11",
    intro="""\
# Lesson 11 exercises: saddles, curvature and sharpness

Where the gradient is zero, the Hessian's eigenvalues say what kind of point it is; and the
largest eigenvalue, the *sharpness*, says how narrow a minimum is.

**You will practise**
- classifying a critical point by the signs of the Hessian's eigenvalues, with a tolerance;
- power iteration, the way to find the top eigenvalue of a Hessian you can only multiply by.

**Time**: about 30 minutes. **Prerequisite**: lesson 11 (landscape geometry).

""" + HOW,
    setup="""\
import torch

from course_lib.exercises import check""",
    exercises=[
        Ex("l11_classify_critical_point", "what kind of critical point?", r"""
At a point where the gradient is zero, the Hessian $H$ (symmetric) decides the shape. Its
eigenvalues $\lambda_1, \dots, \lambda_n$ are the curvatures along its eigenvectors. An
eigenvalue within `tol` of zero counts as **zero** (rounding never gives an exact 0). Then:

| eigenvalues | return |
|---|---|
| some $> $ `tol` and some $< -$`tol` | `"saddle"` (zero eigenvalues don't change that) |
| all $> $ `tol` | `"minimum"` |
| all $< -$`tol` | `"maximum"` |
| anything else (zeros, and the others of one sign) | `"degenerate"` |

"Degenerate" means the second-order test is silent: along a zero eigenvalue the third or fourth
derivatives decide.

Write `classify_critical_point(hessian, tol=1e-6)`:
- `hessian`: a symmetric float tensor of shape `(n, n)`, $n \ge 1$;
- return one of the four strings, exactly as written (lower case);
- do not modify `hessian`.

*Hint*: `torch.linalg.eigvalsh` gives the eigenvalues of a symmetric matrix. The diagonal and
the determinant are not enough: try `[[1, 2], [2, 1]]`, and a hilltop `-I` in two dimensions.""", '''\
def classify_critical_point(hessian, tol=1e-6):
    """'minimum', 'maximum', 'saddle' or 'degenerate', by the signs of the Hessian's eigenvalues."""
    ### BEGIN SOLUTION
    lam = torch.linalg.eigvalsh(hessian)
    up, down = bool((lam > tol).any()), bool((lam < -tol).any())
    if up and down:
        return "saddle"                       # a way up and a way down, zeros or not
    if bool((lam > tol).all()):
        return "minimum"
    if bool((lam < -tol).all()):
        return "maximum"
    return "degenerate"                       # some eigenvalue is (numerically) zero
    ### END SOLUTION'''),
        Ex("l11_power_iteration", "power iteration", r"""
A network's Hessian has as many rows as the network has parameters: it is never formed. What
autograd gives cheaply is a product $Hv$. **Power iteration** finds the eigenvalue of largest
size from products alone: multiplying by $A$ again and again stretches $v$ most along that
eigenvector, so $v$ turns towards it, and the Rayleigh quotient $v^\top A v$ of a unit vector
$v$ tends to the eigenvalue.

Here $A$ is an explicit symmetric matrix and the start vector is given, so the answer is exact.
Exactly as the lesson's `top_eigenvalue` does, repeat `iters` times:

1. normalise: $v \leftarrow v / \lVert v \rVert$;
2. multiply: $w = A v$ (the only use of `matrix`);
3. estimate: $\lambda = v^\top w$;
4. $v \leftarrow w$.

Write `power_iteration(matrix, v0, iters)`:
- `matrix`: a symmetric float tensor `(n, n)`; `v0`: a nonzero float tensor `(n,)` of the same
  dtype, of any length; `iters >= 1`: the number of products $Av$;
- return the last estimate $\lambda$ as a 0-dim tensor;
- do not modify the inputs.

Power iteration finds the eigenvalue largest **in size**: one check has a large negative
eigenvalue, and the Rayleigh quotient keeps its sign (the length $\lVert Av \rVert$ would not).

*Hint*: `torch.linalg.vector_norm(v)`, and `v @ w` for the dot product.""", '''\
def power_iteration(matrix, v0, iters):
    """Estimate of the eigenvalue of largest size after `iters` products matrix @ v."""
    ### BEGIN SOLUTION
    v = v0
    for _ in range(iters):
        v = v / torch.linalg.vector_norm(v)   # unit vector (a new tensor: v0 stays as it is)
        w = matrix @ v
        lam = v @ w                           # Rayleigh quotient of a unit vector
        v = w
    return lam
    ### END SOLUTION'''),
    ],
    summary="""\
## What you practised

- At a critical point the signs of the Hessian's eigenvalues decide: all up a minimum, all down
  a maximum, both a saddle; zero eigenvalues leave the test undecided. Diagonal entries and the
  determinant can mislead.
- In many dimensions "all positive" is rare, which is why saddles, not bad minima, are what
  gradient descent meets.
- Power iteration needs only products $Av$: with Hessian-vector products from autograd it
  measures the sharpness of a network with millions of weights.""",
)


# ============================================================== lesson 12

L12 = Lesson(
    filename="12_full_recipe.ipynb",
    prefix="l12",
    intro="""\
# Lesson 12 exercises: cross-entropy is compression

A character model's loss is a code length: a model that gives the next character probability
$p$ can code it in $-\\log_2 p$ bits. These exercises turn losses into bits, perplexities and
bytes, and compute the baseline that every model has to beat.

**You will practise**
- converting a mean loss in nats to bits per character, perplexity and a compressed size;
- the unigram baseline: character frequencies with add-one smoothing, scored on held-out text.

**Time**: about 25 minutes. **Prerequisite**: lesson 12 (the full recipe).

""" + HOW + """

Both functions here return **Python floats** (a 0-dim tensor is accepted too).""",
    setup="""\
import collections
import math

from course_lib.exercises import check""",
    exercises=[
        Ex("l12_compression_numbers", "bits, perplexity and bytes", r"""
`F.cross_entropy` reports the mean loss $L$ in **nats** per character (natural log). The
lesson's table shows three other forms of the same number:

$$\text{bits per char} = \frac{L}{\ln 2}, \qquad
\text{perplexity} = e^{L} = 2^{\,\text{bits per char}}, \qquad
\text{size in bytes} = \frac{n_\text{chars} \cdot \text{bits per char}}{8} .$$

The size is what an arithmetic coder driven by the model needs to store `n_chars` characters
(to within a few bytes), the number to put next to gzip's.

Write `compression_numbers(mean_nll_nats, n_chars)` returning the tuple
`(bits_per_char, perplexity, size_bytes)` of three floats: `mean_nll_nats >= 0` is a float,
`n_chars` a positive int. Don't round.""", '''\
def compression_numbers(mean_nll_nats, n_chars):
    """(bits per character, perplexity, ideal compressed size in bytes) from a mean loss in nats."""
    ### BEGIN SOLUTION
    bits_per_char = mean_nll_nats / math.log(2)      # a bit is ln 2 nats
    perplexity = math.exp(mean_nll_nats)             # = 2 ** bits_per_char
    size_bytes = n_chars * bits_per_char / 8
    return bits_per_char, perplexity, size_bytes
    ### END SOLUTION'''),
        Ex("l12_unigram_bits_per_char", "the unigram baseline", r"""
The simplest character model ignores the context: it predicts every character with its
frequency in the training text. A character the training text never contains would get
probability 0 and cost infinitely many bits, so the counts are **smoothed**: add 1 to the count
of every character of the vocabulary $V$ (add-one, or Laplace, smoothing):

$$p(c) = \frac{\text{count}_\text{train}(c) + 1}{N_\text{train} + |V|}, \qquad
\text{bits per char} = -\frac{1}{N_\text{test}} \sum_{c\ \in\ \text{test text}} \log_2 p(c) .$$

Write `unigram_bits_per_char(train_text, test_text, vocab)`:
- `train_text`, `test_text`: non-empty strings; `vocab`: a string of distinct characters that
  contains every character of both texts ($|V|$ is `len(vocab)`);
- count the **training** text only, score the **test** text: the cross-entropy, in bits per
  character, of held-out text;
- return a float.

*Hint*: `collections.Counter(train_text)[c]` is 0 for a character it has not seen.""", '''\
def unigram_bits_per_char(train_text, test_text, vocab):
    """Cross-entropy (bits/char) on test_text of add-one-smoothed character frequencies of train_text."""
    ### BEGIN SOLUTION
    counts = collections.Counter(train_text)
    total = len(train_text) + len(vocab)             # +1 for every character of the vocabulary
    bits = sum(-math.log2((counts[c] + 1) / total) for c in test_text)
    return bits / len(test_text)
    ### END SOLUTION'''),
    ],
    summary="""\
## What you practised

- Nats, bits and perplexity are one number in three units: bits $= L/\\ln 2$, perplexity
  $= e^L = 2^\\text{bits}$.
- A model's cross-entropy is a compressed size: $n \\cdot$ bits $/ 8$ bytes, comparable with gzip.
- Smoothing keeps unseen characters finite; the baseline is scored on held-out text, never on
  the text it counted.""",
)


LESSONS = [L01, L02, L03, L04, L05, L06, L07, L08, L09, L10, L11, L12]


# ============================================================== building

def _meta(grade_id: str, *, grade: bool = False, solution: bool = False, locked: bool = True,
          points: float | None = None) -> dict:
    nbg = {"schema_version": 3, "grade": grade, "solution": solution, "locked": locked,
           "grade_id": grade_id}
    if points is not None:
        nbg["points"] = points
    return {"nbgrader": nbg}


def build(lesson: Lesson) -> nbformat.NotebookNode:
    v4 = nbformat.v4
    cells = [
        v4.new_markdown_cell(lesson.intro, id=f"{lesson.prefix}_intro", metadata=_meta(f"{lesson.prefix}_intro")),
        v4.new_code_cell(lesson.setup, id=f"{lesson.prefix}_setup", metadata=_meta(f"{lesson.prefix}_setup")),
    ]
    for i, ex in enumerate(lesson.exercises, start=1):
        spec = get(ex.grade_id)
        points = spec.points
        label = f"{points:g} point{'s' if points != 1 else ''}"
        task = f"## Exercise {i}: {ex.title} ({label})\n" + ex.task
        fn_line = ex.solution.splitlines()[0]
        if not fn_line.startswith(f"def {spec.function}("):
            raise ValueError(f"{ex.grade_id}: the solution must start with `def {spec.function}(`")
        cells += [
            v4.new_markdown_cell(task, id=f"{ex.grade_id}_task", metadata=_meta(f"{ex.grade_id}_task")),
            v4.new_code_cell(ex.solution, id=ex.grade_id,
                             metadata=_meta(ex.grade_id, solution=True, locked=False)),
            v4.new_code_cell(f'check({spec.function}, "{ex.grade_id}")', id=f"{ex.grade_id}_check",
                             metadata=_meta(f"{ex.grade_id}_check", grade=True, points=points)),
        ]
    cells.append(v4.new_markdown_cell(lesson.summary, id=f"{lesson.prefix}_summary",
                                      metadata=_meta(f"{lesson.prefix}_summary")))
    nb = v4.new_notebook(cells=cells, metadata={"kernelspec": dict(KERNELSPEC),
                                                "language_info": {"name": "python"}})
    nb.nbformat, nb.nbformat_minor = 4, 5
    nbformat.validate(nb)
    return nb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report notebooks that differ")
    parser.add_argument("--out", type=Path, default=ROOT / "solutions")
    parser.add_argument("lessons", nargs="*", help="only these lessons: numbers (06) or prefixes (l06)")
    args = parser.parse_args(argv)
    wanted = {w.removeprefix("l").zfill(2) for w in args.lessons}
    unknown = wanted - {lesson.prefix.removeprefix("l") for lesson in LESSONS}
    if unknown:
        parser.error(f"no lesson {', '.join(sorted(unknown))}")
    differ = []
    for lesson in LESSONS:
        if wanted and lesson.prefix.removeprefix("l") not in wanted:
            continue
        path = args.out / lesson.filename
        text = nbformat.writes(build(lesson)) + "\n"
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                differ.append(path.name)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    if differ:
        print("differ from tools/build_solutions.py: " + ", ".join(differ))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
