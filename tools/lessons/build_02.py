"""Build notebooks/02_gradient_descent.ipynb (run from the repository root).

    .venv/bin/python tools/lessons/build_02.py
    .venv/bin/python tools/execute_notebooks.py notebooks/02_gradient_descent.ipynb
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tools.nbbuild import code, md, write_notebook  # noqa: E402

cells = [
    md(r"""
    # 02 · Gradient descent from zero

    Lesson 01 turned "how wrong" into a number and drew it as a landscape. Now we walk downhill on
    it. Picture standing on that landscape in thick fog: you cannot see the valley, only feel
    which way the ground tilts under your feet. Step that way, feel again, repeat. That is the
    whole of gradient descent; this lesson builds it from nothing and then takes it apart.

    **What you will learn**
    - What a gradient is (one partial derivative per parameter: "wiggle one knob") and three ways
      to compute it: by hand, by finite differences, by autograd. How well they agree, and what
      each costs, counted.
    - The update rule $\theta \leftarrow \theta - \eta \nabla L(\theta)$, run by hand.
    - Why gradient descent on raw square footage blows up, the exact learning-rate threshold, and
      how standardising the feature fixes it.
    - Batch, stochastic and mini-batch gradient descent, their paths on the same landscape, and
      the measured law of their noise: variance $\propto 1/B$.
    - When that noise helps, and the same loop written by hand, with `course_lib.optim.SGD`, and
      with `torch.optim.SGD`, giving identical numbers.
    """),
    md(r"""
    **Prerequisites:** lesson 01 (mean squared error, the loss landscape). A derivative as a slope;
    what an eigenvalue is helps in section 4 but is explained where it is used.

    **Time:** about 45 minutes.

    Checks that should agree to many digits run in float64 on the CPU (not every GPU has float64,
    and these problems are tiny); the training loop of section 8 runs on `device`.
    """),
    code(r"""
    import math

    import matplotlib.pyplot as plt
    import numpy as np
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from course_lib.data import BASE_PRICE, NOISE_STD, PRICE_PER_SQFT, make_house_prices, standardize
    from course_lib.device import default_device, seed_everything
    from course_lib.models import MLP, LinearRegression, count_parameters
    from course_lib.plots import course_style, plot_landscape_contour, plot_losses, plot_trajectory_2d

    device = default_device()
    g = seed_everything(0)
    course_style();


    def f64(t):
        # a float64 copy on the CPU, for checks that should agree to many digits
        return t.detach().to("cpu", torch.float64)
    """),
    md(r"""
    ## 1 · The gradient: wiggle one knob

    The data: 1,000 houses from the course's generator, which draws sizes at random and prices
    from a true line plus noise. Prices are in thousands of dollars (k\$) to keep the numbers
    readable. The model and loss are lesson 01's:

    $$L(w, b) = \frac{1}{N}\sum_{i=1}^{N} \left(w x_i + b - y_i\right)^2 .$$

    A **partial derivative** answers one question: if I nudge this one knob a tiny bit and hold
    the others still, how fast does the loss change? For our loss, by the chain rule,

    $$\frac{\partial L}{\partial w} = \frac{2}{N}\sum_i \left(w x_i + b - y_i\right) x_i , \qquad
    \frac{\partial L}{\partial b} = \frac{2}{N}\sum_i \left(w x_i + b - y_i\right) .$$

    The **gradient** $\nabla L = (\partial L/\partial w, \partial L/\partial b)$ bundles them into one
    vector that points uphill, steepest first. Compute it three ways at an arbitrary point:
    """),
    code(r"""
    sqft, price = make_house_prices(1000, seed=0, device=device)
    x, y = f64(sqft), f64(price) / 1000                 # sqft, k$


    def house_loss(w, b):
        return ((w * x + b - y) ** 2).mean()


    w0, b0 = 0.1, 20.0
    residual = w0 * x + b0 - y
    by_hand = [(2 * residual * x).mean().item(), (2 * residual).mean().item()]

    h = 1e-6                                             # wiggle each knob by h, the other held still
    wiggled = [(house_loss(w0 + h, b0) - house_loss(w0 - h, b0)).item() / (2 * h),
               (house_loss(w0, b0 + h) - house_loss(w0, b0 - h)).item() / (2 * h)]

    w_t = torch.tensor(w0, dtype=torch.float64, requires_grad=True)
    b_t = torch.tensor(b0, dtype=torch.float64, requires_grad=True)
    house_loss(w_t, b_t).backward()
    autograd = [w_t.grad.item(), b_t.grad.item()]

    print(f"{len(x):,} houses of {x.min().item():,.0f} to {x.max().item():,.0f} sqft, "
          f"priced {y.min().item():,.0f} to {y.max().item():,.0f} k$")
    print(f"loss at (w, b) = ({w0}, {b0}): {house_loss(w0, b0).item():,.1f} k$^2")
    for name, (gw, gb) in [("by hand", by_hand), ("wiggling", wiggled), ("autograd", autograd)]:
        print(f"{name:9s} dL/dw = {gw:14,.4f}   dL/db = {gb:10,.6f}")
    """),
    md(r"""
    All three agree. Notice the sizes: $\partial L/\partial w$ is thousands of times larger than
    $\partial L/\partial b$, because nudging the price per square foot changes every prediction by
    thousands of square feet's worth. Keep that in mind for section 4.

    ## 2 · Finite differences: how exact, and how expensive

    "Wiggling" has a name: the **finite difference**. The forward difference
    $\frac{L(\theta + h e_j) - L(\theta)}{h}$ has an error proportional to $h$; the central
    difference $\frac{L(\theta + h e_j) - L(\theta - h e_j)}{2h}$ cancels that term and is off by
    $h^2$ only. But $h$ cannot shrink forever: the two losses being subtracted agree in more and
    more leading digits, and float64's 16 digits run out (the error from rounding grows like
    $\varepsilon / h$). To see both effects we need a loss that is not a plain quadratic (on a
    quadratic the central difference is exact), so take a small neural network: an MLP with two
    hidden layers of `tanh` units, on a batch of 16 random inputs, in float64.
    """),
    code(r"""
    net = MLP([8, 48, 32, 1], activation="tanh", device="cpu").double()
    inputs = torch.randn(16, 8, generator=g, dtype=torch.float64)
    targets = torch.randn(16, 1, generator=g, dtype=torch.float64)
    params = list(net.parameters())
    n_params = count_parameters(net)


    class CountCalls:
        # wrap a function; count how many times it is called
        def __init__(self, fn):
            self.fn, self.calls = fn, 0

        def __call__(self, *args):
            self.calls += 1
            return self.fn(*args)


    net_loss = CountCalls(lambda: ((net(inputs) - targets) ** 2).mean())

    net.zero_grad()
    net_loss().backward()
    exact = torch.cat([p.grad.reshape(-1) for p in params])   # autograd: one forward, one backward
    print(f"parameters: {n_params:,}")

    # one knob, many step sizes
    knob = params[0].view(-1)
    old = knob[0].item()
    hs = np.logspace(-1, -12, 45)
    err_fwd, err_cen = [], []
    with torch.no_grad():
        base = net_loss().item()
        for step in hs:
            knob[0] = old + step
            up = net_loss().item()
            knob[0] = old - step
            down = net_loss().item()
            knob[0] = old
            err_fwd.append(abs((up - base) / step - exact[0].item()) / abs(exact[0].item()))
            err_cen.append(abs((up - down) / (2 * step) - exact[0].item()) / abs(exact[0].item()))

    best_fwd, best_cen = int(np.argmin(err_fwd)), int(np.argmin(err_cen))
    print(f"best forward difference: relative error {err_fwd[best_fwd]:.0e} at h = {hs[best_fwd]:.0e}")
    print(f"best central difference: relative error {err_cen[best_cen]:.0e} at h = {hs[best_cen]:.0e}")

    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    ax.loglog(hs, err_fwd, ".-", label="forward difference")
    ax.loglog(hs, err_cen, ".-", label="central difference")
    ax.set_xlabel("step h")
    ax.set_ylabel("relative error vs autograd")
    ax.set_title("too big: truncation; too small: rounding")
    ax.invert_xaxis()
    ax.legend()
    plt.show()
    """),
    md(r"""
    Read the plot from left to right, as $h$ shrinks: the error first falls (the slope of the
    central curve is twice the forward one's: $h^2$ against $h$), bottoms out, then climbs again
    as rounding takes over. Central differences in float64 agree with autograd to nine or ten
    digits at best, and no better. That is plenty to *check* a gradient.

    Now the cost. A finite-difference gradient needs one extra loss evaluation per parameter
    (forward: $n + 1$ in all) or two (central: $2n$). Autograd needs one forward pass and one
    backward pass, whatever $n$ is. Count them, and count the floating-point operations of the
    matrix multiplications with PyTorch's `FlopCounterMode`:
    """),
    code(r"""
    @torch.no_grad()
    def finite_difference_grad(loss_fn, params, h, central=True):
        # wiggle every parameter in turn, put it back, collect the slopes
        slopes = []
        base = None if central else loss_fn()
        for p in params:
            flat = p.view(-1)
            for j in range(flat.numel()):
                old = flat[j].item()
                flat[j] = old + h
                up = loss_fn()
                if central:
                    flat[j] = old - h
                    slopes.append(((up - loss_fn()) / (2 * h)).item())
                else:
                    slopes.append(((up - base) / h).item())
                flat[j] = old
        return torch.tensor(slopes, dtype=torch.float64)


    results = {}
    # step sizes near the bottoms of the two curves above
    for name, step, central in [("forward", 1e-7, False), ("central", 1e-5, True)]:
        net_loss.calls = 0
        fd = finite_difference_grad(net_loss, params, step, central)
        rel = ((fd - exact).norm() / exact.norm()).item()
        results[name] = net_loss.calls
        print(f"{name} differences (h = {step:g}): {net_loss.calls:,} loss evaluations, "
              f"relative error vs autograd {rel:.1e}")

    with FlopCounterMode(display=False) as counter:
        net_loss()
    forward_flops = counter.get_total_flops()
    with FlopCounterMode(display=False) as counter:
        net.zero_grad()
        net_loss().backward()
    backward_flops = counter.get_total_flops()
    print(f"\nmatmul FLOPs: one forward pass {forward_flops:,}; forward + backward {backward_flops:,} "
          f"({backward_flops / forward_flops:.1f}x a forward pass)")
    print(f"central differences cost {results['central'] * forward_flops / backward_flops:,.0f}x "
          f"as much as autograd for these {n_params:,} parameters")
    """),
    md(r"""
    That ratio grows in proportion to the number of parameters: for a model with a hundred
    million of them, finite differences would need two hundred million forward passes per step.
    Autograd (reverse-mode differentiation, "backpropagation" when applied to a network) gets
    every partial derivative for the price of about three forward passes. Keep the two ideas
    apart: **backpropagation computes the gradient; gradient descent decides what to do with it.**
    Finite differences stay useful as a test: the course checks its hand-written gradients
    against them, and so should you.

    ## 3 · Taking a step

    With the gradient in hand, the update is one line. Move every parameter a little against its
    partial derivative:

    $$\theta \leftarrow \theta - \eta \, \nabla L(\theta) ,$$

    where $\eta$, the **learning rate**, sets the step size. Every optimizer in this course is a
    variation on this line. Watch it on the simplest loss there is, $L(w) = (w - 150)^2$, whose
    slope is $L'(w) = 2(w - 150)$, starting from $w = 0$ with $\eta = 0.1$:
    """),
    code(r"""
    w, lr = 0.0, 0.1
    print(f"start:   w = {w:6.2f}   loss = {(w - 150) ** 2:8.2f}")
    for step in range(1, 9):
        grad = 2 * (w - 150)
        w = w - lr * grad
        print(f"step {step}:  w = {w:6.2f}   loss = {(w - 150) ** 2:8.2f}   "
              f"(closed form 150(1 - 0.8^t) = {150 * (1 - 0.8 ** step):6.2f})")
    """),
    md(r"""
    Each step closes 20% of the remaining gap, because
    $w - 150 \leftarrow (w - 150) - 0.1 \cdot 2(w - 150) = 0.8\,(w - 150)$: the gap is multiplied
    by $1 - 2\eta$ every step, and the loss, its square, by $0.8^2 = 0.64$. Nobody told the steps to
    shrink near the bottom; they shrink because the slope does. (If you print the loss *before*
    each update instead of after, every line shifts by one step; both are common in logs.)

    ## 4 · Fitting the house prices, and why raw square footage explodes

    Now the real model, $\hat y = w x + b$ on the 1,000 houses, starting from $w = b = 0$. A
    learning rate of 0.01 sounds cautious. Here is what it does:
    """),
    code(r"""
    def gradient_descent(x, y, lr, steps):
        # plain full-batch gradient descent on (w, b); returns [(w, b, loss)] before each step
        w = torch.zeros((), dtype=x.dtype, requires_grad=True)
        b = torch.zeros((), dtype=x.dtype, requires_grad=True)
        history = []
        for _ in range(steps):
            loss = ((w * x + b - y) ** 2).mean()
            history.append((w.item(), b.item(), loss.item()))
            gw, gb = torch.autograd.grad(loss, [w, b])
            with torch.no_grad():
                w -= lr * gw
                b -= lr * gb
        return history


    raw_run = gradient_descent(x, y, lr=0.01, steps=7)
    for t, (w_, b_, loss_) in enumerate(raw_run):
        print(f"step {t}: loss = {loss_:.3e}   w = {w_:10.3e}   b = {b_:10.3e}")
    growth = raw_run[-1][2] / raw_run[-2][2]
    print(f"the loss grows by a factor of {growth:.2e} per step")
    long_run = gradient_descent(x, y, lr=0.01, steps=60)
    first_inf = next(t for t, (_, _, loss_) in enumerate(long_run) if not math.isfinite(loss_))
    print(f"left running, the loss overflows float64 to inf at step {first_inf}")
    """),
    md(r"""
    The loss grows by a factor of about ten billion per step, and even float64 runs out of range
    within a few dozen steps. To see why, look at the curvature. For a loss that is quadratic in
    $\theta = (w, b)$ the second derivatives are constant; they form the **Hessian** matrix

    $$H = \begin{pmatrix} \partial^2 L / \partial w^2 & \partial^2 L / \partial w \partial b \\
    \partial^2 L / \partial b \partial w & \partial^2 L / \partial b^2 \end{pmatrix}
    = 2 \begin{pmatrix} \overline{x^2} & \bar x \\ \bar x & 1 \end{pmatrix} ,$$

    where the bars are means over the houses. Along each eigenvector of $H$ with eigenvalue
    $\lambda$, a gradient step multiplies the distance to the minimum by $1 - \eta\lambda$ (exactly
    as $1 - 2\eta$ did in section 3, where $\lambda = 2$). That shrinks the distance only when
    $|1 - \eta\lambda| < 1$, so every direction is stable only if

    $$\eta < \frac{2}{\lambda_{\max}} .$$

    Lesson 03 is all about this threshold. Here, compute it:
    """),
    code(r"""
    theta = torch.tensor([0.0, 0.0], dtype=torch.float64)
    H_autograd = torch.autograd.functional.hessian(lambda t: house_loss(t[0], t[1]), theta)
    H_formula = 2 * torch.tensor([[(x**2).mean(), x.mean()], [x.mean(), 1.0]], dtype=torch.float64)
    lam_min, lam_max = torch.linalg.eigvalsh(H_autograd).tolist()
    threshold = 2 / lam_max

    print(f"Hessian by autograd and by formula agree to {(H_autograd - H_formula).abs().max().item():.0e}")
    print(f"mean(sqft^2) = {(x**2).mean().item():,.0f}")
    print(f"eigenvalues: {lam_max:,.0f} and {lam_min:.3f}   "
          f"(ratio, the condition number: {lam_max / lam_min:,.0f})")
    print(f"stable only for lr < 2 / lambda_max = {threshold:.3e}")
    print(f"at lr = 0.01 the error grows by |1 - lr * lambda_max| = {abs(1 - 0.01 * lam_max):,.0f} per step, "
          f"the loss by its square, {(1 - 0.01 * lam_max) ** 2:.2e}")

    for factor in [1.05, 0.95]:
        w_, b_, loss_ = gradient_descent(x, y, lr=factor * threshold, steps=200)[-1]
        print(f"lr = {factor} x threshold, after 200 steps: loss = {loss_:.4g}   w = {w_:.4g}   b = {b_:.4g}")
    slow_steps = 1 / (0.95 * threshold * lam_min)
    print(f"steps for the slow direction to shrink by e at that lr: about {slow_steps:,.0f}")
    """),
    md(r"""
    The curvature along $w$ is about $2\,\overline{x^2}$, in the millions, because square footage is
    a number in the thousands and the loss depends on its square. So any learning rate above a
    threshold of roughly $10^{-7}$ blows up, 0.01 included. Just below the threshold, gradient
    descent is stable but useless: the learning rate that suits $w$ is tens of millions of times
    too small for the other direction, and after 200 steps $b$ has barely left zero. The problem
    is not the size of the numbers but their *ratio*, the condition number: the landscape is the
    long narrow trench of lesson 01's figure, and one step size cannot suit both its steep walls
    and its flat floor.

    The fix is one line of preprocessing: **standardise** the feature,
    $z = (x - \bar x) / \sigma_x$, so it has mean 0 and standard deviation 1. Then
    $\overline{z^2} = 1$ and $\bar z = 0$, and the Hessian becomes $2I$: the same curvature in every
    direction, a round bowl.
    """),
    code(r"""
    z, mu, sd = standardize(x)
    H_z = torch.autograd.functional.hessian(lambda t: ((t[0] * z + t[1] - y) ** 2).mean(), theta)
    print("Hessian with the standardised feature:\n", H_z.numpy().round(6))

    w_z, b_z, _ = gradient_descent(z, y, lr=0.1, steps=101)[-1]
    rmse = math.sqrt(((w_z * z + b_z - y) ** 2).mean().item())

    # undo the scaling: w_z * (x - mu) / sd + b_z  =  (w_z / sd) * x + (b_z - w_z * mu / sd)
    w_dollars = w_z / sd.item() * 1000
    b_dollars = (b_z - w_z * mu.item() / sd.item()) * 1000
    A = torch.stack([x, torch.ones_like(x)], dim=1)
    w_ls, b_ls = (torch.linalg.lstsq(A, y[:, None]).solution.ravel() * 1000).tolist()

    print(f"\nafter 100 steps with lr = 0.1, on the standardised feature: w_z = {w_z:.3f}, b_z = {b_z:.3f}")
    print(f"back in dollars:   price = {w_dollars:8.3f} $/sqft * sqft + ${b_dollars:,.0f}")
    print(f"least squares:     price = {w_ls:8.3f} $/sqft * sqft + ${b_ls:,.0f}")
    print(f"the generator:     price = {PRICE_PER_SQFT:8.3f} $/sqft * sqft + ${BASE_PRICE:,.0f} + noise")
    print(f"remaining error (RMSE) ${rmse * 1000:,.0f}; the generator's noise has std ${NOISE_STD:,.0f}")
    """),
    md(r"""
    A hundred steps at $\eta = 0.1$ land on the least-squares answer, and that answer is close to
    the line the data was generated from. It is not exactly equal: with noisy prices, 1,000 houses
    pin the slope down to within a fraction of a dollar, not to the cent. The remaining error is
    the noise itself, which no line can predict.

    Standardising did not change what the model *can* express (any line in $x$ is a line in $z$);
    it changed the shape of the landscape the optimizer walks on. It is the first thing to try when
    one learning rate cannot suit all parameters, and lesson 05's adaptive methods are, in part,
    an automatic version of it.

    ## 5 · How much data per step? Batch, stochastic, mini-batch

    The gradient of a mean is the mean of the per-example gradients. **Batch** gradient descent
    averages all $N$ of them for every step: exact, and $N$ examples of work per step. **Stochastic**
    gradient descent (SGD) uses a single random example per step: $N$ times cheaper, and noisy.
    **Mini-batch** gradient descent averages a random batch of $B$ examples, the middle ground
    everyone uses (and what most papers mean by "SGD"). Each is an unbiased estimate of the full
    gradient: right on average, wrong by a random amount each time.

    Here is the loop written out, with the per-example gradient from section 1. Each epoch shuffles
    the data and walks through it in slices of $B$, as a data loader does:
    """),
    code(r"""
    def minibatch_gd(z, y, batch_size, lr, steps, seed=0):
        gen = torch.Generator().manual_seed(seed)
        theta = torch.zeros(2, dtype=z.dtype)                    # (w, b)
        path = [theta.clone()]
        order, pos = torch.randperm(len(z), generator=gen), 0
        for _ in range(steps):
            if pos + batch_size > len(z):                        # epoch done: reshuffle
                order, pos = torch.randperm(len(z), generator=gen), 0
            idx = order[pos:pos + batch_size]
            pos += batch_size
            r = theta[0] * z[idx] + theta[1] - y[idx]             # residuals of this batch
            grad = torch.stack([2 * (r * z[idx]).mean(), 2 * r.mean()])
            theta = theta - lr * grad
            path.append(theta.clone())
        return torch.stack(path)


    theta_star = torch.tensor([w_z, b_z], dtype=torch.float64)
    lr, steps = 0.05, 150
    flavours = [(f"batch (B = {len(z):,})", len(z)), ("mini-batch (B = 16)", 16), ("stochastic (B = 1)", 1)]
    paths = {name: minibatch_gd(z, y, B, lr, steps) for name, B in flavours}
    for name, B in flavours:
        wander = (paths[name][-50:] - theta_star).norm(dim=1).mean().item()
        print(f"{name:22s} examples used: {steps * B:>7,}   mean distance from the minimum "
              f"over the last 50 steps: {wander:.2f}")


    # The loss is a quadratic in (w_z, b_z), so five averages over the houses pin it down; that
    # keeps a 200 x 200 contour grid from touching all 1,000 houses at every grid point.
    zz, zm, zy, ym, yy = [t.mean().item() for t in (z * z, z, z * y, y, y * y)]


    def loss_z(p):
        # mean of (w z + b - y)^2, expanded
        w_, b_ = p[..., 0], p[..., 1]
        return w_**2 * zz + 2 * w_ * b_ * zm + b_**2 - 2 * w_ * zy - 2 * b_ * ym + yy


    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5))
    ws, bs = w_z, b_z
    for name, path in paths.items():
        plot_trajectory_2d(loss_z, path, ax=left, label=name, xlim=(-160, 340), ylim=(-50, 450),
                           show_points=False, levels=15)
        plot_trajectory_2d(loss_z, path[-60:], ax=right, label=name, xlim=(ws - 12, ws + 12),
                           ylim=(bs - 12, bs + 12), show_points=False, levels=15)
    for ax, title in [(left, "the whole walk"), (right, "the last 60 steps, zoomed in")]:
        ax.plot([ws], [bs], "*", color="white", markeredgecolor="black", markersize=16, zorder=6)
        ax.set_xlabel("w_z (k$ per standard deviation of sqft)")
        ax.set_ylabel("b_z (k$)")
        ax.set_title(title)
        ax.set_aspect("equal")                 # equal scales: a round bowl looks round
    right.get_legend().remove()
    left.legend(loc="lower right")
    plt.show()
    """),
    md(r"""
    On the left, all three walk to the same place: in this round bowl the full gradient points
    straight at the minimum, and the noisy estimates point there *on average*. On the right, the
    difference: the batch path stops on the minimum; the mini-batch path keeps jittering around
    it; the single-example path jitters most. With a fixed learning rate, noise does not average
    away at the end: each step adds a fresh random kick of size $\eta \times$ (gradient noise).
    That is why schedules lower the learning rate late in training (lesson 07).

    The trade-off is the "examples used" column: the single-example run saw 150 houses, the batch
    run 150,000, for a comparable walk. When data is plentiful, many cheap noisy steps beat a few
    exact ones.

    ## 6 · Measuring the noise: variance $\propto 1/B$

    How noisy is a mini-batch gradient? If the $N$ per-example gradients have variance $\sigma^2$
    (the mean squared distance from their average), the average of $B$ of them drawn independently
    has variance $\sigma^2 / B$: the law that makes a poll of 1,600 people four times as precise
    as a poll of 100. A shuffled epoch draws *without* replacement, which adds an exact
    correction factor $(N - B)/(N - 1)$ (zero at $B = N$: the full batch has no noise). Measure it
    at the minimum, where the full gradient is zero and only noise remains:
    """),
    code(r"""
    r = theta_star[0] * z + theta_star[1] - y
    per_example = torch.stack([2 * r * z, 2 * r], dim=1)          # N x 2 per-example gradients
    full = per_example.mean(dim=0)
    sigma2 = ((per_example - full) ** 2).sum(dim=1).mean().item()
    N = len(z)

    batch_sizes = np.array([1, 2, 4, 8, 16, 32, 64, 128])
    measured = []
    for B in batch_sizes:
        keys = torch.rand(2000, N, generator=g)
        idx = keys.topk(int(B), dim=1).indices                     # 2000 batches, no repeats within one
        estimate = per_example[idx].mean(dim=1)
        measured.append(((estimate - full) ** 2).sum(dim=1).mean().item())
    measured = np.array(measured)
    fpc = (N - batch_sizes) / (N - 1)

    slope = np.polyfit(np.log(batch_sizes), np.log(measured), 1)[0]
    slope_corrected = np.polyfit(np.log(batch_sizes), np.log(measured / fpc), 1)[0]
    print(f"full gradient at the minimum: {full.norm().item():.1e};  "
          f"per-example variance sigma^2 = {sigma2:,.0f}")
    print(f"log-log slope of variance against B: {slope:.3f}  "
          f"(after dividing out (N-B)/(N-1): {slope_corrected:.3f})")

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.loglog(batch_sizes, measured, "o", label="measured (2,000 batches each)")
    ax.loglog(batch_sizes, sigma2 / batch_sizes, "-", label=r"$\sigma^2 / B$")
    ax.loglog(batch_sizes, sigma2 / batch_sizes * fpc, "--", label=r"$\sigma^2 / B \cdot (N-B)/(N-1)$")
    ax.set_xlabel("batch size B")
    ax.set_ylabel("variance of the mini-batch gradient")
    ax.set_title(f"slope {slope:.2f}: doubling B halves the variance")
    ax.legend()
    plt.show()
    """),
    md(r"""
    A slope of $-1$ on a log-log plot is the $1/B$ law. The practical reading is sobering:
    the noise's standard deviation falls only as $1/\sqrt{B}$, so a batch 100 times larger buys a
    gradient 10 times more precise, for 100 times the work per step. That is why batch sizes stay
    moderate, and why "use the biggest batch that fits" is a systems answer, not an optimization one.

    ## 7 · Noise is a feature (sometimes)

    Is the noise just a tax we pay for cheap steps? Not always. A toy shows the other side. Take a
    loss made of $N = 200$ per-example terms: example $i$ is a wide bowl centred at its own
    $a_i$, and all of them share a narrow, shallow dip at $x = 3$, a small local minimum on the
    slope of the big basin. Start at $x = 5$, above the dip, and run 1,000 independent runs of each
    flavour for 300 steps with the same learning rate.
    """),
    code(r"""
    n_terms, k, depth, width, dip_at = 200, 0.1, 0.15, 0.25, 3.0
    a = torch.randn(n_terms, generator=g, dtype=torch.float64)
    a = 8.0 * (a - a.mean()) / a.std(unbiased=False)       # centres: mean 0, spread 8


    def toy_loss(xs):
        # mean over examples of 0.5 k (x - a_i)^2, plus the shared dip
        bowls = 0.5 * k * ((xs[..., None] - a) ** 2).mean(dim=-1)
        return bowls - depth * torch.exp(-((xs - dip_at) ** 2) / (2 * width**2))


    def toy_grad(xs, a_mean):
        # gradient of the batch loss: the bowls only see the mean centre of the batch
        dip = depth * (xs - dip_at) / width**2 * torch.exp(-((xs - dip_at) ** 2) / (2 * width**2))
        return k * (xs - a_mean) + dip


    runs, toy_lr, toy_steps = 1000, 0.1, 300
    finals = {}
    for B in [n_terms, 16, 4, 1]:
        xs = torch.full((runs,), 5.0, dtype=torch.float64)
        for _ in range(toy_steps):
            if B == n_terms:
                a_mean = a.mean().expand(runs)
            else:
                a_mean = a[torch.randint(n_terms, (runs, B), generator=g)].mean(dim=1)
            xs = xs - toy_lr * toy_grad(xs, a_mean)
        finals[B] = xs

    grid = torch.linspace(-4, 6, 1001, dtype=torch.float64)
    f_grid = toy_loss(grid)
    inner = (f_grid[1:-1] < f_grid[:-2]) & (f_grid[1:-1] < f_grid[2:])
    for m in grid[1:-1][inner]:
        print(f"local minimum at x = {m.item():5.2f}, loss {toy_loss(m).item():.3f}")
    labels, escaped_pct = [], []
    for B, xs in finals.items():
        labels.append("full batch" if B == n_terms else f"B = {B}")
        out = xs < 1.5                                      # ended in the big basin, not the dip
        escaped_pct.append(100 * out.double().mean().item())
        spread = f"{xs[out].std().item():.2f}" if out.sum() > 1 else "-"
        print(f"{labels[-1]:10s}: {escaped_pct[-1]:5.1f}% of runs left the dip;  "
              f"spread (std) of their final x: {spread}")

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    left.plot(grid, f_grid, color="black")
    minima = grid[1:-1][inner]
    for xm, text, offset in [(5.0, "start", (0.2, -0.3)), (minima[-1].item(), "narrow dip", (0.6, 0.35)),
                             (minima[0].item(), "wide basin", (-1.5, 0.4))]:
        fx = toy_loss(torch.tensor(xm, dtype=torch.float64)).item()
        left.annotate(text, (xm, fx), xytext=(xm + offset[0], fx + offset[1]),
                      arrowprops=dict(arrowstyle="->"))
    left.set_xlabel("x")
    left.set_ylabel("full loss")
    left.set_title("a wide basin with a narrow dip")
    right.bar(labels, escaped_pct, color="#0072B2")
    right.set_ylabel("% of runs that escaped the dip")
    right.set_title("same lr, same steps: only the noise differs")
    right.set_ylim(0, 100)
    plt.show()
    """),
    md(r"""
    Full-batch gradient descent settles in the dip every time: the gradient there is exactly zero,
    and nothing disturbs it. Smaller batches mean bigger random kicks, and the kicks carry most
    single-example runs over the lip of the narrow dip into the wide basin, where the same kicks
    are too small to climb back out. Noise helps an optimizer leave *narrow, shallow* minima and
    stay in wide ones. The price is the spread printed above: the noisy runs never sit still at
    the bottom. Lesson 11 takes this further (saddle points, sharp versus flat minima, and why the
    batch size affects which minimum you end up in); lesson 07's schedules lower the learning rate
    at the end to shrink the spread.

    ## 8 · The same loop, three ways

    Everything above used a hand-written update. Here is the training loop in its usual PyTorch
    shape (zero the gradients, forward, backward, step) with a `LinearRegression` model on
    `device`, run three times from the same start on the same shuffled mini-batches: once with the
    update written by hand, once with the course's `course_lib.optim.SGD`, once with
    `torch.optim.SGD`.
    """),
    code(r"""
    from course_lib.optim import SGD

    z_dev = z.to(device, torch.float32)
    y_dev = y.to(device, torch.float32)


    def train(make_optimizer, lr=0.1, batch_size=32, epochs=3):
        model = LinearRegression(device=device)
        optimizer = make_optimizer(model.parameters(), lr) if make_optimizer else None
        gen = torch.Generator().manual_seed(1)                     # same batches for every run
        losses = []
        for _ in range(epochs):
            order = torch.randperm(len(z_dev), generator=gen).to(device)
            for start in range(0, len(z_dev), batch_size):
                idx = order[start:start + batch_size]
                loss = ((model(z_dev[idx]) - y_dev[idx]) ** 2).mean()
                losses.append(loss.item())
                if optimizer is None:                              # the update rule, by hand
                    model.zero_grad()
                    loss.backward()
                    with torch.no_grad():
                        for p in model.parameters():
                            p.add_(p.grad, alpha=-lr)              # p <- p - lr * grad
                else:
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
        return model.w.item(), model.b.item(), losses


    runs3 = {"by hand": train(None),
             "course_lib.optim.SGD": train(lambda ps, lr: SGD(ps, lr=lr)),
             "torch.optim.SGD": train(lambda ps, lr: torch.optim.SGD(ps, lr=lr))}
    reference = runs3["by hand"][2]
    for name, (w_, b_, losses) in runs3.items():
        diff = max(abs(u - v) for u, v in zip(losses, reference))
        print(f"{name:21s} w_z = {w_:.6f}   b_z = {b_:.6f}   {len(losses)} steps, "
              f"largest loss difference from 'by hand': {diff}")
    """),
    md(r"""
    Identical, to the last bit: plain SGD *is* $p \leftarrow p - \eta\, g$, and both libraries
    compute exactly that. Open `course_lib/optim/sgd.py`: the update function's last line is the
    same `p.add_(g, alpha=-lr)`; the lines above it are momentum and weight decay, which lessons 04
    and 06 build. (Why `add_` with `alpha` rather than the more readable `p -= lr * p.grad`? Same
    math, but that form rounds `lr * p.grad` to float32 before subtracting, so once in a while it
    differs from the libraries in the last bit. For an exact comparison, do what they do.)
    From here on the course writes each new rule by hand first, then uses the library version.
    """),
    md(r"""
    ## Takeaways

    - The gradient is one partial derivative per parameter: how fast the loss changes when you
      wiggle that one knob. It points uphill; gradient descent steps the other way,
      $\theta \leftarrow \theta - \eta \nabla L$.
    - Finite differences are a fine *check* (central differences in float64: nine or ten digits)
      and a hopeless *method*: $2n$ loss evaluations per gradient against one forward and one
      backward pass. Backpropagation computes gradients; gradient descent uses them.
    - Stability is set by curvature: along a direction with curvature $\lambda$ each step
      multiplies the error by $1 - \eta\lambda$, so $\eta < 2/\lambda_{\max}$. Raw square footage
      makes $\lambda_{\max}$ huge and the ratio $\lambda_{\max}/\lambda_{\min}$ huger; standardising
      the feature makes the bowl round.
    - Mini-batch gradients are unbiased but noisy, with variance $\propto 1/B$ (measured slope
      $-1$). With a fixed learning rate the noise never averages away at the end.
    - The noise has uses: it carries the iterate out of narrow, shallow minima.
    """),
    md(r"""
    ## Misconception: "a bigger learning rate always trains faster"

    Up to a point, yes; past it, no, and the point is sharp. On the standardised problem the
    Hessian is $2I$, so each step multiplies the error by $1 - 2\eta$. Compare a range of learning
    rates over 20 steps:
    """),
    code(r"""
    loss_star = ((w_z * z + b_z - y) ** 2).mean().item()
    gaps = {}
    for lr_try in [0.1, 0.3, 0.5, 0.8, 0.95, 1.0, 1.05]:
        history = gradient_descent(z, y, lr=lr_try, steps=21)
        gaps[f"lr = {lr_try}"] = [max(loss_ - loss_star, 1e-30) for _, _, loss_ in history]
        excess = max(history[-1][2] - loss_star, 0.0)
        print(f"lr = {lr_try:<4}  error factor per step |1 - 2 lr| = {abs(1 - 2 * lr_try):.2f}   "
              f"excess loss after 20 steps: {excess:.1e}")

    shown = ["lr = 0.1", "lr = 0.5", "lr = 0.95", "lr = 1.05"]
    ax = plot_losses({name: gaps[name] for name in shown}, log_y=True, ylabel="loss - minimum loss",
                     title="bigger is faster, until it is not")
    ax.set_ylim(1e-12, 1e9)
    plt.show()
    """),
    md(r"""
    Speed rises with the learning rate until $\eta\lambda = 1$ (here $\eta = 0.5$, which lands on the
    minimum in a single step), then falls again as the steps overshoot and oscillate across the
    valley: at $\eta = 0.95$ it is slower than at $\eta = 0.1$. It stalls at $\eta = 1$ (the error
    flips sign forever without shrinking) and diverges beyond. Raw square footage showed the
    same cliff at $2/\lambda_{\max} \approx 1.5 \times 10^{-7}$.
    The best learning rate sits just below a cliff, which is what makes it hard to tune: lesson 03.

    ## Misconception: "SGD's noise is just a nuisance"

    Section 6 measured the noise and section 7 put it to work: with everything else equal, the
    single-example runs escaped a narrow dip in most runs, the full-batch runs in none. Noise is a
    cost near the end of training (the spread around the minimum) and a benefit earlier (it
    shakes the iterate out of narrow, shallow places). Good training recipes keep it early and
    shrink it late.

    ## Questions

    1. Your model has 10 million parameters and a forward pass takes 10 ms. How long would one
       central-difference gradient take? How do you still use finite differences to test a
       gradient implementation at that size?
    2. Standardising made the Hessian exactly $2I$. What would it be with two features that are
       each standardised but strongly correlated with each other? Would gradient descent be happy?
    3. You double the batch size. By what factor does the gradient noise's standard deviation
       shrink? If you want the same amount of noise per step as before, what could you do to the
       learning rate? (Lesson 11 comes back to batch size.)
    4. In section 7, what happens to the escape rates if you halve the learning rate? Predict,
       then change `toy_lr` and run the cell.
    5. The generator's true slope is 150 \$/sqft, and gradient descent found a slightly different
       one. How would you get closer: more steps, a different learning rate, or more houses?
    """),
]

if __name__ == "__main__":
    out = write_notebook(ROOT / "notebooks" / "02_gradient_descent.ipynb", cells)
    print(f"wrote {out.relative_to(ROOT)} ({len(cells)} cells)")
