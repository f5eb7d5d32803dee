"""Build notebooks/05_adaptive_methods.ipynb (run from the repository root).

    .venv/bin/python tools/lessons/build_05.py
    .venv/bin/python tools/execute_notebooks.py notebooks/05_adaptive_methods.ipynb
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tools.nbbuild import code, md, write_notebook  # noqa: E402

cells = [
    md(r"""
    # 05 · Adaptive learning rates: AdaGrad, RMSprop, Adam

    Momentum (lesson 04) fixes a valley by remembering the direction of travel. It still uses one
    learning rate for every parameter. This lesson is about the other fix: give each parameter
    its own step size, computed from the gradients it has seen. That idea, in three generations
    (AdaGrad 2011, RMSprop 2012, Adam 2015), is behind the optimizer most networks are trained
    with today.

    **What you will learn**
    - Why parameters need different step sizes: a feature seen in every example and one seen in
      1% of them, and what plain SGD does to the rare one.
    - AdaGrad, written by hand, and its learning rate that only ever shrinks.
    - RMSprop's fix (forget old gradients), its decay rate (0.99 in PyTorch, 0.9 in Hinton's
      lecture), and its oversized first steps.
    - Adam = momentum + RMSprop + bias correction, with the bias measured at steps 1 to 10.
    - A fair race on Rosenbrock, Beale and a saddle, with every optimizer at its own tuned
      learning rate.
    - That `course_lib.optim`'s Adagrad, RMSprop and Adam match `torch.optim`.
    """),
    md(r"""
    **Prerequisites:** lesson 04 (momentum as a moving average; the ravine and its condition
    number). Lessons 02 and 03 for the training loop and the learning rate.

    **Time:** about 50 minutes.

    Runs on landscapes use `device`. Checks that should agree to the last digits run in float64
    on the CPU (not every GPU has float64, and these problems are tiny). All squares, roots and
    divisions in the update rules below are per coordinate.
    """),
    code(r"""
    import copy
    import math

    import matplotlib.pyplot as plt
    import numpy as np
    import torch

    from course_lib.device import default_device, seed_everything
    from course_lib.landscapes import get_landscape, steps_to_converge
    from course_lib.plots import course_style, plot_losses, plot_trajectory_2d

    device = default_device()
    g = seed_everything(0)
    course_style();

    TOL = 1e-6  # "converged": the loss is within 1e-6 of the minimum (every count in this lesson)
    """),
    md(r"""
    ## 1 · One learning rate cannot fit every parameter

    A linear model with two features. Feature 0 is present in every example (think of a bias
    input, or the word "the" in a bag-of-words model); feature 1 is present in 1% of the examples
    (a rare word). The targets come from the weights $w^* = (2, -3)$ plus a little noise, and we fit
    them with mini-batches of 50 and the loss $\tfrac12\,\mathrm{mean}\big((x\cdot w - y)^2\big)$:
    """),
    code(r"""
    n = 1000
    X = torch.zeros(n, 2, dtype=torch.float64)
    X[:, 0] = 1.0                                   # frequent: in every example
    X[torch.randperm(n)[: n // 100], 1] = 1.0       # rare: in 1% of the examples
    w_true = torch.tensor([2.0, -3.0], dtype=torch.float64)
    y = X @ w_true + 0.1 * torch.randn(n, dtype=torch.float64)

    hessian = X.T @ X / n
    print(f"examples with the rare feature: {int(X[:, 1].sum())} of {n}")
    print(f"curvatures (Hessian eigenvalues): {torch.linalg.eigvalsh(hessian).numpy().round(4)}")
    """),
    md(r"""
    The loss is a quadratic whose curvature along the rare weight is about 100 times smaller than
    along the frequent one: lesson 04's ravine again, this time lined up with the axes. A rare
    feature contributes to the mean gradient only in the few examples where it is present, so its
    gradient is small and its weight moves slowly.

    Write the training loop once, with the update as a function we can swap. Plain SGD is lesson 02's
    rule. AdaGrad (Duchi, Hazan and Singer, 2011) keeps, per coordinate, the running **sum** of
    squared gradients $s$, and divides each step by its root:

    $$s_t = s_{t-1} + g_t^2, \qquad p_t = p_{t-1} - \frac{\eta}{\sqrt{s_t} + \epsilon}\, g_t .$$

    The factor $\eta/(\sqrt{s_t}+\epsilon)$ is each coordinate's **effective learning rate**. A
    coordinate that has seen large or frequent gradients has a large $s$ and takes small steps; a
    rarely-touched one keeps a large step size. ($\epsilon$, $10^{-10}$ in PyTorch, only prevents
    a division by zero.)
    """),
    code(r"""
    def sgd_update(p, g, state, lr):
        p -= lr * g


    def adagrad_update(p, g, state, lr, eps=1e-10):
        s = state.setdefault("s", torch.zeros_like(p))
        s += g * g                           # s_t = s_{t-1} + g_t^2
        p -= lr * g / (s.sqrt() + eps)       # p_t = p_{t-1} - lr g_t / (sqrt(s_t) + eps)
        state.setdefault("effective_lr", []).append(lr / (s.sqrt() + eps))


    def train_linear(update, lr, epochs=10, batch_size=50):
        # mini-batch training of the linear model; returns the weights after every step, and the state
        w = torch.zeros(2, dtype=torch.float64, requires_grad=True)
        state, history = {}, [w.detach().clone()]
        shuffle = torch.Generator().manual_seed(1)    # the same batches for every optimizer
        for epoch in range(epochs):
            order = torch.randperm(n, generator=shuffle)
            for i in range(0, n, batch_size):
                batch = order[i : i + batch_size]
                loss = 0.5 * ((X[batch] @ w - y[batch]) ** 2).mean()
                w.grad = None
                loss.backward()
                with torch.no_grad():
                    update(w, w.grad, state, lr)
                history.append(w.detach().clone())
        return torch.stack(history), state


    runs = {}
    for name, update, lr in [("SGD, lr = 1", sgd_update, 1.0), ("SGD, lr = 1.9", sgd_update, 1.9),
                             ("SGD, lr = 2.1", sgd_update, 2.1), ("AdaGrad, lr = 1", adagrad_update, 1.0)]:
        runs[name] = train_linear(update, lr)
        w = runs[name][0]
        if not (w[-1].abs().max() < 100):
            print(f"{name:<16} blew up: |w| reached {w.abs().max().item():.0e}")
        else:
            print(f"{name:<16} after 1 epoch: w = {w[20].numpy().round(3)}   after 10 epochs: w = {w[-1].numpy().round(3)}")
    """),
    md(r"""
    SGD at $\eta = 1$ gets the frequent weight right within an epoch but after one epoch has moved the
    rare weight only about a sixth of the way to $-3$. Its learning rate cannot simply be raised: the
    frequent weight's curvature, about 1, caps it below $2$ (lesson 03), and at 2.1 the run blows
    up. AdaGrad, at the same $\eta = 1$, has both weights right after one epoch. The right-hand plot
    shows why: each weight's effective learning rate. The frequent weight gets a large gradient in
    every one of the first batches, so its $s$ grows at once and its rate drops below 1. The rare
    weight's gradient is small (one example in a batch of 50 contributes to it) and arrives in only
    a few batches, so its $s$ stays small and its rate stays large, dozens of times the frequent
    one's.
    """),
    code(r"""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    for name in ["SGD, lr = 1", "SGD, lr = 1.9", "AdaGrad, lr = 1"]:
        left.plot(runs[name][0][:, 1], label=name)
    left.axhline(w_true[1], color="gray", linestyle=":", linewidth=1, label="true value")
    left.set(xlabel="step (20 per epoch)", ylabel="rare weight w[1]", title="the rare weight")
    left.legend()
    eff = torch.stack(runs["AdaGrad, lr = 1"][1]["effective_lr"])
    right.plot(np.arange(1, len(eff) + 1), eff[:, 0], label="frequent weight")
    right.plot(np.arange(1, len(eff) + 1), eff[:, 1], label="rare weight")
    right.set_yscale("log")
    right.set(xlabel="step", ylabel="lr / (sqrt(s) + eps)", title="AdaGrad's effective learning rate")
    right.legend()
    plt.show()
    print(f"after the last step: effective lr {eff[-1, 0].item():.3f} (frequent) vs {eff[-1, 1].item():.3f} (rare), "
          f"{(eff[-1, 1] / eff[-1, 0]).item():.0f} times larger")
    """),
    md(r"""
    This is the whole case for adaptive methods: a per-coordinate step size undoes a bad scaling of
    the coordinates, without knowing it in advance. It fixes only *axis-aligned* differences,
    though: for a valley that runs diagonally, the coordinates share the bad direction and a
    per-coordinate rescaling cannot separate them. (Momentum, which does not care about the axes,
    still helps there, and so do lesson 10's second-order methods.)

    ## 2 · AdaGrad's learning rate only shrinks

    AdaGrad behaves like a per-client rate limiter that only ever tightens: every gradient a
    coordinate receives is added to $s$ for good, so its effective learning rate can never go back
    up. With a steady gradient of size $|g|$, $s_t = t\,g^2$ and the effective rate is
    $\eta/(|g|\sqrt t)$. Worse, it remembers the *scale* of old gradients. Feed one coordinate a
    gradient of size 1 for 500 steps and then of size 0.01 for 1,500 more (training moves into a
    flatter region, say) and watch the step $|p_t - p_{t-1}|$:
    """),
    code(r"""
    stream = torch.cat([torch.ones(500), 0.01 * torch.ones(1500)]).double()


    def adagrad_steps(stream, lr=0.1, eps=1e-10):
        # AdaGrad on one coordinate fed a fixed stream of gradients: its steps and effective lrs
        s, steps, rates = 0.0, [], []
        for g in stream:
            s = s + g * g
            rates.append(lr / (s.sqrt() + eps))
            steps.append(rates[-1] * g)
        return torch.stack(steps), torch.stack(rates)


    ada, ada_rate = adagrad_steps(stream)
    for t in [1, 100, 500, 501, 2000]:
        print(f"step {t:>4}: |g| = {stream[t - 1].item():<5g} effective lr = {ada_rate[t - 1].item() / 0.1:.4f} x lr, "
              f"step = {ada[t - 1].item() / 0.1:.4f} x lr")
    print(f"distance travelled in the first 500 steps: {ada[:500].sum().item() / 0.1:.1f} x lr "
          f"(plain steps of size lr would cover 500 x lr)")
    """),
    md(r"""
    The effective learning rate, and with it the step, shrinks like $1/\sqrt t$: after 100 steps it is
    a tenth of the first. After the switch the gradient is 100 times smaller and the effective
    learning rate hardly changes, so the step is 100 times smaller, for good: AdaGrad's sum is
    dominated by the first 500 steps forever. For convex problems with sparse features (its original
    setting: online learning of linear models) a shrinking step is exactly right, and AdaGrad
    comes with a convergence guarantee there. For the long, non-convex, ever-changing training of
    a deep network it stops too early.

    ## 3 · RMSprop: forget old gradients

    RMSprop (Hinton, lecture 6e of his 2012 Coursera course; never published as a paper) changes
    one line: replace the sum by an exponential moving average, the same low-pass filter as lesson
    04's momentum, now on $g^2$:

    $$v_t = \alpha\, v_{t-1} + (1-\alpha)\, g_t^2, \qquad p_t = p_{t-1} - \frac{\eta}{\sqrt{v_t} + \epsilon}\, g_t .$$

    $\sqrt{v_t}$ is a running root mean square of recent gradients, with a memory of about
    $1/(1-\alpha)$ steps. With a steady gradient, $v_t \to g^2$ and every step tends to $\eta$ in size,
    whatever the gradient's scale: the effective learning rate stays alive.

    **The decay rate.** Hinton's lecture suggested $\alpha = 0.9$ (a memory of about 10 steps).
    PyTorch's `RMSprop` defaults to $\alpha = 0.99$ (about 100 steps), and that is what this course
    uses, because `course_lib.optim.RMSprop` is built to give the same numbers as `torch.optim.RMSprop`.
    The longer memory gives a smoother estimate of $v$ from noisy mini-batch gradients and reacts
    more slowly to a change. (0.999 is Adam's default $\beta_2$, not RMSprop's.) Note that
    PyTorch's RMSprop starts $v$ at 0 and does *not* correct for it, so the first step is large:
    $v_1 = (1-\alpha)\, g_1^2$ and the step is $\eta/\sqrt{1-\alpha}$. Measure both decay rates on the same
    stream:
    """),
    code(r"""
    def rmsprop_steps(stream, lr=0.1, alpha=0.99, eps=1e-8):
        # RMSprop on one coordinate fed a fixed stream of gradients: its steps and effective lrs
        v, steps, rates = 0.0, [], []
        for g in stream:
            v = alpha * v + (1 - alpha) * g * g          # v_t = alpha v_{t-1} + (1 - alpha) g_t^2
            rates.append(lr / (v.sqrt() + eps))
            steps.append(rates[-1] * g)                  # p_t = p_{t-1} - lr g_t / (sqrt(v_t) + eps)
        return torch.stack(steps), torch.stack(rates)


    rms = {alpha: rmsprop_steps(stream, alpha=alpha) for alpha in [0.9, 0.99]}
    for alpha, (steps, rates) in rms.items():
        print(f"RMSprop alpha = {alpha}: first step {steps[0].item() / 0.1:.2f} x lr "
              f"(1/sqrt(1 - alpha) = {1 / math.sqrt(1 - alpha):.2f}); step 500: {steps[499].item() / 0.1:.3f} x lr")
        print("    after the switch: " + ", ".join(f"{k} steps: {steps[499 + k].item() / 0.1:.3f} x lr"
                                               for k in [10, 100, 500, 1000, 1500]))
    print(f"AdaGrad 1500 steps after the switch: {ada[-1].item() / 0.1:.4f} x lr")

    t = np.arange(1, 2001)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    left.plot(t, ada_rate / 0.1, label="AdaGrad")
    right.plot(t, ada / 0.1, label="AdaGrad")
    for alpha, (steps, rates) in rms.items():
        left.plot(t, rates / 0.1, label=f"RMSprop, alpha = {alpha}")
        right.plot(t, steps / 0.1, label=f"RMSprop, alpha = {alpha}")
    for ax in (left, right):
        ax.axvline(500.5, color="gray", linestyle=":", linewidth=1)
        ax.set_yscale("log")
    left.text(540, 0.15, "gradient drops\n100 times", fontsize=9, color="gray")
    left.set(xlabel="step", ylabel="effective lr / lr", title="effective learning rate lr / (sqrt(s or v) + eps)")
    right.set(xlabel="step", ylabel="|step| / lr", title="step size")
    right.legend()
    plt.show()
    """),
    md(r"""
    When the gradient shrinks, RMSprop's effective learning rate *rises* (left), and its step size
    recovers once it has forgotten the old gradients (right): with $\alpha = 0.9$ within
    about a hundred steps, with $\alpha = 0.99$ only after about a thousand (it must forget a $g^2$ ten
    thousand times larger, which takes many memory lengths). AdaGrad never recovers. The price of
    forgetting is RMSprop's first steps: 10 times the learning rate at $\alpha = 0.99$, because $v$
    starts at zero and has not yet averaged anything. Adam fixes exactly that.

    ## 4 · Adam: momentum + RMSprop + bias correction

    Adam (Kingma and Ba, ICLR 2015) keeps two moving averages per coordinate: $m$ of the gradient
    (momentum, in the EMA convention of lesson 04) and $v$ of its square (RMSprop). Both start at
    zero, so both are too small at first; Adam divides each by the total weight its average has
    accumulated so far, $1-\beta^t$:

    $$\begin{aligned}
    m_t &= \beta_1 m_{t-1} + (1-\beta_1)\, g_t, & \hat m_t &= \frac{m_t}{1-\beta_1^t},\\
    v_t &= \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2, & \hat v_t &= \frac{v_t}{1-\beta_2^t},\\
    p_t &= p_{t-1} - \eta\, \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon} .
    \end{aligned}$$

    The defaults of the paper, also PyTorch's, are $\eta = 10^{-3}$, $\beta_1 = 0.9$, $\beta_2 = 0.999$,
    $\epsilon = 10^{-8}$. (You will also meet $3 \times 10^{-4}$ as "the" Adam learning rate; that is a
    folk default from practice, not the paper's.)

    Why the correction? With a constant gradient $g$, the averages are exactly
    $m_t = (1-\beta_1^t)\, g$ and $v_t = (1-\beta_2^t)\, g^2$: biased towards zero by the factors
    $1-\beta^t$, which the correction divides out. Compute the bias for steps 1 to 10, and the step
    Adam would take without correcting (relative to the learning rate):
    """),
    code(r"""
    beta1, beta2, grad = 0.9, 0.999, 0.5
    m = v = 0.0
    print(" t | m_t/g  | v_t/g^2 | uncorrected step/lr | corrected step/lr")
    for t in range(1, 11):
        m = beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * grad**2
        m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
        print(f"{t:>2} | {m / grad:.4f} | {v / grad**2:.5f} | {m / math.sqrt(v):19.3f} | {m_hat / math.sqrt(v_hat):.3f}")

    t = np.arange(1, 5001)
    ratio = (1 - beta1**t) / np.sqrt(1 - beta2**t)
    print(f"\nwithout correction the step peaks at {ratio.max():.2f} x lr at step {t[ratio.argmax()]}, "
          f"is still {ratio[999]:.2f} x lr at step 1000")
    print(f"correcting m but not v: first step = {1 / math.sqrt(1 - beta2):.1f} x lr")
    """),
    md(r"""
    Both averages start far too small, and $v$ far more than $m$: at step 1, $m$ is 10% of the
    gradient but $v$ only 0.1% of its square. Since the step divides $m$ by $\sqrt v$, the uncorrected step
    is not too small but too *large*: over 3 times the learning rate at step 1, more than 6 times
    around step 12, and still more than 1.2 times at step 1000. With the correction the step is
    exactly $\eta$ on a steady gradient, whatever the gradient's size. This is the most useful
    property of Adam to remember: **the learning rate is roughly the largest distance a coordinate
    moves per step**, in the units of the parameter.

    The update by hand, run on Beale's function and compared with `torch.optim.Adam` on the same
    problem:
    """),
    code(r"""
    def adam_path(landscape, start, lr, steps, beta1=0.9, beta2=0.999, eps=1e-8, bias_correction=True):
        # Adam by hand on a 2-D landscape (float64, CPU); returns the points visited
        p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
        m, v = torch.zeros(2, dtype=torch.float64), torch.zeros(2, dtype=torch.float64)
        path = [p.detach().clone()]
        for t in range(1, steps + 1):
            (g,) = torch.autograd.grad(landscape(p), p)
            m = beta1 * m + (1 - beta1) * g                  # m_t = b1 m_{t-1} + (1 - b1) g_t
            v = beta2 * v + (1 - beta2) * g * g              # v_t = b2 v_{t-1} + (1 - b2) g_t^2
            if bias_correction:
                m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
            else:
                m_hat, v_hat = m, v
            with torch.no_grad():
                p -= lr * m_hat / (v_hat.sqrt() + eps)       # p_t = p_{t-1} - lr m_hat / (sqrt(v_hat) + eps)
            path.append(p.detach().clone())
        return torch.stack(path)


    beale = get_landscape("beale")
    ours = adam_path(beale, beale.start, lr=0.1, steps=300)

    q = torch.tensor(beale.start, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([q], lr=0.1)
    theirs = [q.detach().clone()]
    for _ in range(300):
        opt.zero_grad()
        beale(q).backward()
        opt.step()
        theirs.append(q.detach().clone())
    theirs = torch.stack(theirs)
    print(f"after 300 steps: by hand {ours[-1].numpy().round(6)}, torch.optim.Adam {theirs[-1].numpy().round(6)}")
    print(f"max |difference| over the path: {(ours - theirs).abs().max().item():.1e}")
    print(f"largest move of a coordinate in one step: {(ours[1:] - ours[:-1]).abs().max().item():.6f} (lr = 0.1)")
    """),
    md(r"""
    Same path to rounding error (PyTorch arranges the arithmetic slightly differently, so the last
    bits can differ), and no coordinate moved more than the learning rate in any step.

    ## 5 · A fair race

    Now the library versions: `course_lib.optim` has each of these update rules, line for line, in
    a real `torch.optim.Optimizer` (section 7 checks them against PyTorch's). Six optimizers run on
    three landscapes:

    - **Rosenbrock's banana** from $(-1.2, 1)$: a curved valley, minimum 0 at $(1, 1)$.
    - **Beale's function** from $(1, 1.5)$: flat plateaus and steep walls, gradients spanning orders of
      magnitude; minimum 0 at $(3, 0.5)$.
    - **A saddle with a floor**, $x^2 - y^2 + y^4/4$, from $(-1.5, 0.001)$: the start is almost exactly
      on the line $y = 0$ that leads into the saddle point at the origin; the minima $(0, \pm\sqrt2)$
      have value $-1$.

    A race in which everyone uses the same learning rate measures the learning rate, not the
    optimizer. So each optimizer gets its **own** learning rate, the best of the same 7-value grid,
    on each landscape: fewest steps to reach the tolerance, or, if none of its runs gets there,
    the lowest final loss. Momentum is 0.9 for both momentum methods; everything else is PyTorch's
    default. To keep this fast, all 42 runs on a landscape move in lockstep, sharing one backward
    pass per step (each optimizer has one parameter group per learning rate), and a run stops when
    it converges or blows up.
    """),
    code(r"""
    from course_lib.optim import SGD, Adagrad, Adam, RMSprop

    OPTIMIZERS = {
        "SGD": lambda groups: SGD(groups),
        "momentum": lambda groups: SGD(groups, momentum=0.9),
        "Nesterov": lambda groups: SGD(groups, momentum=0.9, nesterov=True),
        "AdaGrad": lambda groups: Adagrad(groups),
        "RMSprop": lambda groups: RMSprop(groups),
        "Adam": lambda groups: Adam(groups),
    }
    LRS = [1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0]
    BUDGET = {"rosenbrock": 800, "beale": 800, "saddle_bounded": 200}


    def race(landscape, steps):
        # every optimizer at every learning rate on one landscape, in lockstep (one backward pass per
        # step; one param group per lr). Returns {optimizer: (paths, losses)}, shapes (steps+1, len(LRS), 2)
        # and (steps+1, len(LRS)). A run stops when it converges (it stays put) or diverges (NaN after).
        optimizers, points = [], []
        for make in OPTIMIZERS.values():
            ps = [torch.tensor(landscape.start, device=device, requires_grad=True) for _ in LRS]
            optimizers.append(make([{"params": [p], "lr": lr} for p, lr in zip(ps, LRS)]))
            points += ps
        running = torch.ones(len(points), dtype=torch.bool)
        diverged = torch.zeros(len(points), dtype=torch.bool)
        path = [torch.stack(points).detach().cpu()]
        for step in range(steps):
            if not running.any():
                break
            for opt in optimizers:
                opt.zero_grad()
            live = torch.stack([p for p, r in zip(points, running) if r])
            landscape(live).sum().backward()      # each point gets the gradient of its own loss
            for opt in optimizers:
                opt.step()                        # stopped runs have no gradient: skipped
            now = torch.stack(points).detach().cpu()
            loss_now = landscape(now.double())
            diverged |= ~torch.isfinite(loss_now) | (now.abs().amax(1) > 1e6)
            running &= ~diverged & (loss_now - landscape.f_min > TOL)
            now[diverged] = math.nan
            path.append(now)
        path = torch.stack(path).double()
        losses = landscape(path)
        n = len(LRS)
        return {name: (path[:, k * n : (k + 1) * n].numpy(), losses[:, k * n : (k + 1) * n].numpy())
                for k, name in enumerate(OPTIMIZERS)}


    def pick_best(losses, f_min, budget):
        # (steps to converge or None, index of the best lr): the fewest steps, else the lowest final loss
        def score(j):
            s = steps_to_converge(losses[:, j], f_min, TOL)
            final = losses[-1, j] - f_min
            return (s if s is not None else budget + 1, final if np.isfinite(final) else math.inf)
        j = min(range(losses.shape[1]), key=score)
        return steps_to_converge(losses[:, j], f_min, TOL), j


    sweeps, best = {}, {}
    for land_name, budget in BUDGET.items():
        land = get_landscape(land_name)
        for opt_name, (paths, losses) in race(land, budget).items():
            sweeps[land_name, opt_name] = (paths, losses)
            best[land_name, opt_name] = pick_best(losses, land.f_min, budget)

    print(f"steps to reach loss - min < {TOL:g}, each optimizer at its best lr from {LRS}")
    print("(in brackets: loss - min at the end of the budget)\n")
    print(f"{'':<9}" + "".join(f"| {name + f' (budget {b} steps)':<33}" for name, b in BUDGET.items()))
    for opt_name in OPTIMIZERS:
        row = f"{opt_name:<9}"
        for land_name, budget in BUDGET.items():
            steps, j = best[land_name, opt_name]
            gap = sweeps[land_name, opt_name][1][-1, j] - get_landscape(land_name).f_min
            result = f"{steps} steps" if steps is not None else f"did not converge ({gap:.0e})"
            row += f"| lr {LRS[j]:<5g} {result:<24} "
        print(row)
    """),
    md(r"""
    Read the table row by row, and then see the paths. A few things stand out, and they are the
    lessons of this section:

    - **Nobody wins everywhere.** Momentum is fastest on Rosenbrock, Adam on Beale, AdaGrad and RMSprop
      get out of the saddle first. The best optimizer depends on the problem; that is why people
      argue about it.
    - **The best learning rates differ by orders of magnitude**, between optimizers and, for the same
      optimizer, between landscapes. A fixed "good" learning rate does not exist, for Adam either.
    - **Per-coordinate scaling leaves the saddle at once.** At the start the gradient in $y$ is tiny
      (the point sits on the line into the saddle); dividing by $\sqrt{v}$ blows it up to a full-size
      step, and AdaGrad and RMSprop are in a minimum within a few steps. Plain SGD must wait for the
      tiny $y$ to grow, by a factor $1 + 2\eta$ per step, which only a large $\eta$ makes quick. Adam
      leaves the line at once too, but its steps are about $\eta$ long and its momentum overshoots,
      so it takes longer to settle.
    - **Adaptive methods without momentum struggle in a curved valley.** RMSprop's steps stay about
      $\eta$ long, so it cannot settle closer than about $\eta$: on Rosenbrock a large $\eta$ rattles
      across the narrow valley and a small one crawls along it. AdaGrad's steps have shrunk so far
      that it crawls. Adam's momentum averages the rattling out. (Lesson 07's schedules, which
      shrink $\eta$ over time, are the usual fix.)
    """),
    code(r"""
    windows = {"rosenbrock": None, "beale": ((-0.5, 4.0), (-2.5, 2.0)), "saddle_bounded": None}
    fig, axes = plt.subplots(1, 3, figsize=(13.5, 4.4), dpi=80)
    for ax, land_name in zip(axes, BUDGET):
        land = get_landscape(land_name)
        xlim, ylim = windows[land_name] or (land.xlim, land.ylim)
        for i, opt_name in enumerate(OPTIMIZERS):
            steps, j = best[land_name, opt_name]
            path = sweeps[land_name, opt_name][0][:, j]
            path = path[np.isfinite(path).all(1)]
            plot_trajectory_2d(land, path, ax=ax, label=opt_name, color=f"C{i}",
                               xlim=xlim, ylim=ylim, show_points=False, levels=12)
        ax.set_title(land.description)
        ax.get_legend().remove()
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=6)
    plt.show()
    """),
    md(r"""
    ## 6 · Explore Adam's betas

    The explorer runs `adam_update_` from `course_lib.optim` with your settings. The right panel
    shows the size of each coordinate's step against the learning rate, the quantity of section 4.
    Things to try:

    - $\beta_2 = 0.9$ or 0.5: $v$ follows the latest gradients, and Adam moves like sign descent,
      every step close to $\eta$.
    - $\beta_1 = 0$: no momentum, which is RMSprop with bias correction. Then $\beta_1 = 0.99$: a heavy ball.
    - The learning rate on Rosenbrock: the race found its best near 0.3 and the default $10^{-3}$ far too
      small. Switch to Beale and compare.

    In a static copy of this notebook you see a picture of the starting setting.
    """),
    code(r"""
    from course_lib.widgets import adam_explorer

    adam_explorer(lr=0.1, beta1=0.9, beta2=0.999, device=device)
    """),
    md(r"""
    ## 7 · The library versions, checked against PyTorch

    `course_lib/optim/adagrad.py`, `rmsprop.py` and `adam.py` hold the update rules of sections 1, 3
    and 4, each in a pure function (`adagrad_update_`, `rmsprop_update_`, `adam_update_`) with the
    same lines and names, inside a real `torch.optim.Optimizer`. Train the same small network with
    each pair, using the ordinary loop, and compare every parameter:
    """),
    code(r"""
    X_net = torch.randn(64, 4, dtype=torch.float64)
    y_net = torch.sin(X_net.sum(1, keepdim=True))
    net = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1)).double()

    pairs = [
        ("Adagrad", Adagrad, torch.optim.Adagrad, dict(lr=0.05)),
        ("RMSprop", RMSprop, torch.optim.RMSprop, dict(lr=1e-3)),
        ("RMSprop, alpha=0.9, momentum=0.9", RMSprop, torch.optim.RMSprop, dict(lr=1e-3, alpha=0.9, momentum=0.9)),
        ("Adam", Adam, torch.optim.Adam, dict(lr=1e-2)),
        ("Adam, betas=(0.8, 0.99)", Adam, torch.optim.Adam, dict(lr=1e-2, betas=(0.8, 0.99))),
    ]
    for label, ours_cls, torch_cls, settings in pairs:
        ours, theirs = copy.deepcopy(net), copy.deepcopy(net)
        for model, opt in [(ours, ours_cls(ours.parameters(), **settings)),
                           (theirs, torch_cls(theirs.parameters(), **settings))]:
            for step in range(50):
                opt.zero_grad()
                loss = ((model(X_net) - y_net) ** 2).mean()
                loss.backward()
                opt.step()
        diff = max((a - b).abs().max().item() for a, b in zip(ours.parameters(), theirs.parameters()))
        print(f"{label:<34} final loss {loss.item():.4f}; max |course_lib - torch| = {diff:.1e}")
    """),
    md(r"""
    Zero difference: the course's optimizers perform the same floating-point operations as
    PyTorch's, in the same order.

    ## Takeaways

    - Per-coordinate step sizes fix a bad scaling of the coordinates (a rare feature, a parameter
      with tiny gradients) without knowing it in advance. They cannot fix a valley that runs
      diagonally to the axes.
    - AdaGrad divides by the root of the *sum* of squared gradients: good for sparse convex
      problems, but its step sizes only shrink, and it remembers the scale of old gradients forever.
    - RMSprop divides by the root of a *moving average* of squared gradients, so step sizes
      track the recent scale. PyTorch's (and this course's) decay is $\alpha = 0.99$; Hinton's
      lecture used 0.9. PyTorch's RMSprop has no bias correction: its first step is
      $1/\sqrt{1-\alpha}$ times the learning rate.
    - Adam = momentum on $g$ + RMSprop on $g^2$ + bias correction. Corrected, a steady gradient moves
      each coordinate by exactly $\eta$ per step: the learning rate is a distance.
    - A fair comparison tunes each optimizer's learning rate. No optimizer wins on every problem.
    """),
    md(r"""
    ## Misconception: "Adam doesn't need learning-rate tuning"

    Adam is *less sensitive* to the learning rate than SGD: because the step is about $\eta$
    whatever the gradient's scale, no setting makes it explode the way SGD does. But it still has
    a best learning rate, which depends on the problem. From the race's sweeps:
    """),
    code(r"""
    fig, ax = plt.subplots(figsize=(7.5, 4))
    for i, land_name in enumerate(BUDGET):
        land = get_landscape(land_name)
        losses = sweeps[land_name, "Adam"][1]
        gap = np.maximum(losses[-1] - land.f_min, 1e-16)
        ax.plot(LRS, gap, marker="o", color=f"C{i}", label=land_name)
        j = best[land_name, "Adam"][1]
        print(f"{land_name:<15} loss - min: {losses[0, 0] - land.f_min:5.1f} at the start; after {BUDGET[land_name]} "
              f"steps {gap[0]:.2g} at lr = 1e-3 (the default), {gap[j]:.1g} at lr = {LRS[j]:g}")
    ax.axhline(TOL, color="gray", linestyle=":", linewidth=1)
    ax.set(xscale="log", yscale="log", xlabel="learning rate", ylabel="final loss - minimum",
           title="Adam: loss after the budget, by learning rate (runs stop at 1e-6)")
    ax.legend()
    plt.show()
    """),
    md(r"""
    The default $10^{-3}$ is a fine start for many networks, but here, with a budget of a few hundred
    steps, it ends nowhere near the minimum on any of the three landscapes: Adam's steps are about
    $\eta$ long, and $10^{-3}$ per step does not cover the distance. The best values are 100 to 300
    times larger, differ between the landscapes, and too large hurts as well (Rosenbrock at 1).
    Treat $10^{-3}$ as a starting point and sweep a few values around it (lesson 09's LR finder is a
    quick way to start).

    ## Misconception: "bias correction is a minor detail"

    Section 4 computed how far the uncorrected step is from $\eta$. Here is what it does to a run:
    Adam by hand on Beale's function at $\eta = 0.3$, once corrected, once without correction, and
    once correcting only $m$ (a real bug: forgetting the correction of $v$):
    """),
    code(r"""
    variants = {"corrected (Adam)": dict(), "no correction": dict(bias_correction=False)}
    results = {name: adam_path(beale, beale.start, lr=0.3, steps=400, **kw) for name, kw in variants.items()}


    def adam_m_only(landscape, start, lr, steps, beta1=0.9, beta2=0.999, eps=1e-8):
        # the bug: m is corrected, v is not
        p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
        m, v = torch.zeros(2, dtype=torch.float64), torch.zeros(2, dtype=torch.float64)
        path = [p.detach().clone()]
        for t in range(1, steps + 1):
            (g,) = torch.autograd.grad(landscape(p), p)
            m = beta1 * m + (1 - beta1) * g
            v = beta2 * v + (1 - beta2) * g * g
            with torch.no_grad():
                p -= lr * (m / (1 - beta1**t)) / (v.sqrt() + eps)
            path.append(p.detach().clone())
        return torch.stack(path)


    results["m corrected, v not"] = adam_m_only(beale, beale.start, lr=0.3, steps=400)
    for name, path in results.items():
        losses = beale(path).detach().numpy()
        largest = (path[1:] - path[:-1]).abs().max().item()
        s = steps_to_converge(losses, beale.f_min, TOL)
        print(f"{name:<20} largest move {largest / 0.3:5.2f} x lr; "
              + (f"loss < {TOL:g} after {s} steps" if s is not None else f"not converged in 400 steps (loss {losses[-1]:.2g})"))

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), dpi=80)
    for i, (name, path) in enumerate(results.items()):
        plot_trajectory_2d(beale, path.numpy(), ax=left, label=name, color=f"C{i}", show_points=False,
                           xlim=(-4.5, 4.5), ylim=(-4.5, 4.5), levels=12)
    left.legend(fontsize=8, loc="lower left")
    plot_losses({name: beale(path).detach() for name, path in results.items()}, ax=right, log_y=True,
                title="loss on Beale, lr = 0.3")
    right.set_ylim(1e-12, 1e8)
    plt.show()
    """),
    md(r"""
    Without the correction, the early steps are several times the learning rate and carry the run
    far out onto Beale's plateaus; correcting only $m$ makes the first steps about 30 times too large.
    The correction is what makes $\eta$ mean "about this far per step" from the very first step, so
    you can reason about it and tune it; without it, the real early step size depends on $\beta_2$
    and on the step number, and the learning rate you tuned is not the one you get.

    ## Questions

    1. A coordinate's gradient is exactly zero for 1,000 steps and then 1. What is AdaGrad's first
       step? RMSprop's ($\alpha = 0.99$)? Adam's? (Hint: all three state variables are still 0.)
    2. Multiply the loss by 100. What happens to the steps of SGD, AdaGrad, RMSprop and Adam (ignoring
       $\epsilon$)? What does this tell you about where each optimizer's learning rate has its units?
    3. Adam's $\epsilon = 10^{-8}$ is added to $\sqrt{\hat v}$. For which gradient sizes does it matter? What
       happens to Adam's step for a parameter whose gradient is always about $10^{-9}$?
    4. Rotate lesson 04's ravine by 45° (`make_ravine(kappa=20, angle=math.pi / 4)`). Predict whether
       AdaGrad still beats SGD on it, then try it with `race`.
    5. In the race, AdaGrad and RMSprop did not settle on Rosenbrock. Which single change to their
       setup would you try first, and what would you expect to see?
    """),
]

if __name__ == "__main__":
    out = write_notebook(ROOT / "notebooks" / "05_adaptive_methods.ipynb", cells)
    print(f"wrote {out.relative_to(ROOT)} ({len(cells)} cells)")
