"""Build notebooks/04_momentum.ipynb (run from the repository root).

    .venv/bin/python tools/lessons/build_04.py
    .venv/bin/python tools/execute_notebooks.py notebooks/04_momentum.ipynb
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tools.nbbuild import code, md, write_notebook  # noqa: E402

cells = [
    md(r"""
    # 04 · Momentum and Nesterov

    Lesson 03 found that one learning rate has to serve every direction of the landscape at once,
    and that the steepest direction sets the limit. On a long, narrow valley this is painful: the
    step that is safe across the valley is tiny along it. Momentum is the oldest fix (Polyak,
    1964) and still inside almost every optimizer you will use, Adam included. This lesson builds
    it by hand, measures what it buys, and shows where it hurts.

    **What you will learn**
    - Why gradient descent zig-zags across a ravine and crawls along it, counted in steps.
    - The heavy-ball update, written by hand in PyTorch's convention, and what it does to the
      count.
    - Momentum as a low-pass filter: the exact gain it applies to a steady gradient and to one
      that flips sign every step.
    - The two conventions for the momentum buffer (PyTorch's sum and the moving average), how
      their learning rates convert, and the porting bug that hides between them.
    - Nesterov's look-ahead, and why PyTorch's formula `g + μ·b` is the same method.
    - The best momentum for a quadratic, $\mu^* = \big((\sqrt\kappa-1)/(\sqrt\kappa+1)\big)^2$,
      computed, checked, and explored with sliders.
    - That `course_lib.optim.SGD` with momentum and Nesterov matches `torch.optim.SGD`.
    """),
    md(r"""
    **Prerequisites:** lesson 02 (the update $\theta \leftarrow \theta - \eta\nabla L$) and lesson
    03 (the stability threshold $\eta < 2/L$, where $L$ is the largest curvature). The curvatures of
    a quadratic are the eigenvalues of its Hessian; that is all the linear algebra needed.

    **Time:** about 40 minutes.

    Runs on landscapes use `device`. Checks that should agree to the last digits run in float64
    on the CPU (not every GPU has float64, and these problems are tiny).
    """),
    code(r"""
    import copy
    import math

    import matplotlib
    import matplotlib.pyplot as plt
    import numpy as np
    import torch

    from course_lib.device import default_device, seed_everything
    from course_lib.landscapes import get_landscape, make_ravine, run_optimizer, steps_to_converge
    from course_lib.optim import SGD  # plain SGD is lesson 02's; momentum is written by hand below first
    from course_lib.plots import course_style, plot_losses, plot_trajectory_2d

    device = default_device()
    g = seed_everything(0)
    course_style();

    TOL = 1e-6  # "converged": the loss is within 1e-6 of the minimum (every count in this lesson)
    """),
    md(r"""
    ## 1 · The ravine: where gradient descent wastes its steps

    The course's ravine is the simplest ill-conditioned problem there is:

    $$f(x, y) = \tfrac12\left(x^2 + \kappa\, y^2\right), \qquad \kappa = 20 .$$

    Its Hessian is $\mathrm{diag}(1, \kappa)$: curvature 1 along the valley floor ($x$), curvature
    $\kappa$ across it ($y$). The ratio of the largest to the smallest curvature, $\kappa$, is the
    **condition number**. Gradient descent multiplies the error along each axis by $1 - \eta\lambda$
    per step, so no single $\eta$ suits both axes: $\eta < 2/\kappa$ to stay stable across the valley,
    which leaves the floor shrinking by only $1 - \eta$ per step. The best compromise,
    $\eta = 2/(\lambda_{\min} + \lambda_{\max})$, makes both factors equally bad:
    """),
    code(r"""
    ravine = get_landscape("ravine")
    l_min, l_max = torch.linalg.eigvalsh(ravine.hessian(ravine.minima[0], device="cpu")).tolist()
    kappa = l_max / l_min
    lr_gd = 2 / (l_min + l_max)  # the best single learning rate for gradient descent

    print(f"curvatures {l_min:g} (along the floor) and {l_max:g} (across): kappa = {kappa:g}")
    print(f"stable for lr < 2/{l_max:g} = {2 / l_max:g}; best lr = 2/({l_min:g} + {l_max:g}) = {lr_gd:.4f}")
    for name, lam in [("x (floor)", l_min), ("y (across)", l_max)]:
        print(f"  error in {name:<10} is multiplied by 1 - lr*{lam:<2g} = {1 - lr_gd * lam:+.3f} per step")

    gd = run_optimizer(ravine, lambda params: SGD(params, lr=lr_gd), steps=150, device=device)
    gd_steps = steps_to_converge(gd["losses"], ravine.f_min, TOL)
    flips = np.sign(gd["path"][: gd_steps + 1])
    flips_x, flips_y = (flips[1:] != flips[:-1]).sum(axis=0)
    print(f"\ngradient descent from {ravine.start}: loss < {TOL:g} after {gd_steps} steps")
    print(f"in those steps y changed sign {flips_y} times, x changed sign {flips_x} times")
    """),
    md(r"""
    Both errors shrink by the same factor, 0.905 per step, but in different ways: $y$ flips sign at
    every step (the zig-zag across the valley) while $x$ creeps towards 0 from one side (the crawl
    along the floor). Here is the picture:
    """),
    code(r"""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    plot_trajectory_2d(ravine, gd, ax=left, label=f"gradient descent, lr = {lr_gd:.3f}", levels=15)
    left.set_title("zig-zag across, crawl along")
    plot_losses({"gradient descent": gd["losses"]}, ax=right, log_y=True, title="loss per step")
    right.axhline(TOL, color="gray", linestyle=":", linewidth=1)
    plt.show()
    """),
    md(r"""
    ## 2 · The heavy ball

    Polyak's idea: let the iterate keep some of its previous motion, like a heavy ball rolling in
    the valley. In PyTorch's convention (the one this course follows) each parameter keeps a
    **momentum buffer** $b$, and the step goes along the buffer instead of the raw gradient:

    $$b_t = \mu\, b_{t-1} + g_t, \qquad p_t = p_{t-1} - \eta\, b_t, \qquad b_0 = 0,$$

    where $g_t$ is the gradient at $p_{t-1}$ and $\mu \in [0, 1)$ is the **momentum**. (With
    $b_0 = 0$ the first buffer is $b_1 = g_1$, which is exactly how PyTorch initialises it.) Substitute
    $\eta b_{t-1} = p_{t-2} - p_{t-1}$ and the rule reads
    $p_t = p_{t-1} - \eta g_t + \mu\,(p_{t-1} - p_{t-2})$: the ordinary gradient step plus $\mu$ times
    the last step. $\mu$ is the fraction of its velocity the ball keeps; $1 - \mu$ is the friction.

    Two lines, by hand. The function works on one point or on a whole batch of them at once (the
    settings broadcast), which section 6 uses:
    """),
    code(r"""
    curv = torch.tensor([l_min, l_max], dtype=torch.float64)


    def ravine_grad(p):
        # the gradient of f = (x^2 + kappa y^2) / 2 is (x, kappa y)
        return p * curv


    def ravine_loss(p):
        return 0.5 * (curv * p**2).sum(-1)


    def heavy_ball(grad, start, lr, mu, steps):
        # SGD with momentum in PyTorch's convention; returns the points visited, shape (steps + 1, ..., 2)
        p = torch.as_tensor(start, dtype=torch.float64)
        b = torch.zeros_like(p)          # b_0 = 0, so b_1 = g_1
        path = [p]
        for _ in range(steps):
            g = grad(p)
            b = mu * b + g               # b_t = mu * b_{t-1} + g_t
            p = p - lr * b               # p_t = p_{t-1} - lr * b_t
            path.append(p)
        return torch.stack(path)


    def first_below(losses, tol=TOL):
        # the first step whose loss is below tol, or None
        hits = torch.nonzero(losses < tol)
        return int(hits[0, 0]) if len(hits) else None


    start = torch.tensor(ravine.start, dtype=torch.float64)
    for mu in [0.0, 0.5]:
        path = heavy_ball(ravine_grad, start, lr_gd, mu, steps=150)
        print(f"lr = {lr_gd:.4f}, mu = {mu}: loss < {TOL:g} after {first_below(ravine_loss(path))} steps")
    """),
    md(r"""
    With $\mu = 0$ the buffer is just the gradient, so the hand-written loop reproduces gradient
    descent's count exactly. With $\mu = 0.5$, at the *same* learning rate, the count drops by more
    than a factor of three. The picture shows how: the zig-zag dies out within a few steps and the
    ball picks up speed along the floor.
    """),
    code(r"""
    hb = heavy_ball(ravine_grad, start, lr_gd, 0.5, steps=150)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    plot_trajectory_2d(ravine, gd["path"][:40], ax=left, label="gradient descent", levels=15)
    plot_trajectory_2d(ravine, hb[:40], ax=left, label="heavy ball, mu = 0.5")
    left.set_title(f"same lr = {lr_gd:.3f}, first 40 steps")
    plot_losses({"gradient descent": gd["losses"][:101], "heavy ball, mu = 0.5": ravine_loss(hb)[:101]},
                ax=right, log_y=True, title="loss per step")
    right.axhline(TOL, color="gray", linestyle=":", linewidth=1)
    right.set_ylim(1e-12, 1e3)
    plt.show()
    """),
    md(r"""
    ## 3 · Why it works: momentum is a low-pass filter

    Unroll the buffer and it is a weighted sum of all past gradients, the newest weighted 1, the one
    before $\mu$, then $\mu^2$, and so on:

    $$b_t = g_t + \mu\, g_{t-1} + \mu^2 g_{t-2} + \dots = \sum_{k=0}^{t-1} \mu^k\, g_{t-k} .$$

    In signal-processing terms this is a first-order IIR (infinite impulse response) low-pass
    filter: up to a constant gain, the same one TCP uses to smooth round-trip times (RFC 6298 keeps
    $\mathrm{SRTT} \leftarrow \tfrac78\,\mathrm{SRTT} + \tfrac18\, R$, that is $\mu = 7/8$). Its gain depends on how fast
    the input changes. Feed it a constant $g$ and the output settles at
    $g\,(1 + \mu + \mu^2 + \dots) = g/(1 - \mu)$. Feed it $+1, -1, +1, \dots$ and the terms alternate:
    the output settles at $\pm 1/(1 + \mu)$. In general, an input that oscillates with frequency
    $\omega$ (radians per step) is multiplied by

    $$|H(\omega)| = \frac{1}{\left|1 - \mu\, e^{-i\omega}\right|}, \qquad
    |H(0)| = \frac{1}{1-\mu}, \qquad |H(\pi)| = \frac{1}{1+\mu} .$$

    Measure it: run the two inputs through the buffer for 3,000 steps and read the final output.
    """),
    code(r"""
    def run_buffer(gradients, mu):
        b = 0.0
        for g in gradients:
            b = mu * b + g
        return b


    steps = 3000
    constant = [1.0] * steps
    alternating = [(-1.0) ** t for t in range(steps)]
    print(" mu    | constant: measured  1/(1-mu) | alternating: measured  1/(1+mu) | ratio")
    for mu in [0.5, 0.9, 0.99]:
        dc, ac = run_buffer(constant, mu), abs(run_buffer(alternating, mu))
        print(f" {mu:<5} | {dc:17.3f} {1 / (1 - mu):9.3f} | {ac:20.3f} {1 / (1 + mu):9.3f} | {dc / ac:5.0f}")
    """),
    md(r"""
    That is the whole mechanism. On the ravine the gradient along the floor keeps its sign (a
    near-constant input: amplified, up to 2 times at $\mu = 0.5$, 10 times at $\mu = 0.9$) while the
    gradient across the valley flips sign every step (section 1 counted the flips: the fastest
    input there is, damped to $1/(1+\mu)$). The ratio between the two, $(1+\mu)/(1-\mu)$, is 3 at
    $\mu = 0.5$ and 19 at $\mu = 0.9$. The left plot shows the filter's memory (the weight $\mu^k$ of a
    gradient $k$ steps old: about $1/(1-\mu)$ steps long), the right one its gain at every frequency.
    """),
    code(r"""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    k = np.arange(60)
    omega = np.linspace(0, np.pi, 400)
    for mu in [0.5, 0.9, 0.99]:
        left.plot(k, mu**k, label=f"mu = {mu}")
        right.plot(omega / np.pi, 1 / np.abs(1 - mu * np.exp(-1j * omega)), label=f"mu = {mu}")
    left.set(xlabel="age of the gradient k (steps)", ylabel="weight mu^k", title="memory: impulse response")
    left.legend()
    right.set_yscale("log")
    right.set(xlabel="frequency (fraction of pi rad/step)", ylabel="gain |H|", title="gain by frequency")
    right.set_xticks([0, 0.5, 1], ["0\nconstant", "0.5\nperiod 4 steps", "1\nflips every step"])
    right.axhline(1, color="gray", linestyle=":", linewidth=1)
    right.legend()
    plt.show()
    """),
    md(r"""
    ## 4 · Two conventions, one method

    Many papers and libraries write momentum as an exponential moving average (EMA) instead of
    PyTorch's sum:

    $$\text{PyTorch:}\quad b_t = \mu b_{t-1} + g_t,\;\; p_t = p_{t-1} - \eta\, b_t
    \qquad\qquad
    \text{EMA:}\quad m_t = \mu m_{t-1} + (1-\mu)\, g_t,\;\; p_t = p_{t-1} - \eta'\, m_t .$$

    Started from zero, $m_t = (1-\mu)\, b_t$ at every step, so the two are the same method when
    $\eta' = \eta/(1-\mu)$. With $\mu = 0.9$ that is a factor of 10, which is why a learning rate
    copied from one convention into the other is off by 10 times. One more wrinkle: some code
    starts the EMA at the first gradient ($m_1 = g_1$) rather than at zero. PyTorch does this too
    when you pass `dampening=mu` (its buffer always starts at $g_1$; dampening scales only later
    gradients). Then the first gradient gets weight $\mu^{t-1}$ instead of $(1-\mu)\mu^{t-1}$, and the
    two methods differ by a term that fades like $\mu^t$.

    Check all of it on one stream of noisy gradients (mean 1, standard deviation 1), comparing the
    steps $p_{t-1} - p_t$ each convention takes:
    """),
    code(r"""
    mu, lr, n = 0.9, 0.01, 60
    grads = 1 + torch.randn(n, dtype=torch.float64)


    def steps_taken(grads, mu, lr, ema, start_at_g1=False):
        # the step p_{t-1} - p_t of each convention, for a fixed stream of gradients
        out, buf = [], None
        for g in grads:
            if buf is None:
                buf = g.clone() if (start_at_g1 or not ema) else (1 - mu) * g
            else:
                buf = mu * buf + ((1 - mu) * g if ema else g)
            out.append(lr * buf)
        return torch.stack(out)


    torch_steps = steps_taken(grads, mu, lr, ema=False)
    ema_scaled = steps_taken(grads, mu, lr / (1 - mu), ema=True)
    ema_same_lr = steps_taken(grads, mu, lr, ema=True)
    ema_from_g1 = steps_taken(grads, mu, lr / (1 - mu), ema=True, start_at_g1=True)

    # what PyTorch's own dampening does, on a parameter whose gradient we set by hand
    p = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr / (1 - mu), momentum=mu, dampening=mu)
    torch_dampened = []
    for g in grads:
        before = p.detach().clone()
        p.grad = g.reshape(1).clone()
        opt.step()
        torch_dampened.append((before - p.detach())[0])
    torch_dampened = torch.stack(torch_dampened)

    print(f"EMA from zero with lr' = lr/(1-mu) vs PyTorch: max |difference| = "
          f"{(ema_scaled - torch_steps).abs().max().item():.1e}")
    print(f"EMA with the same lr: its steps are {(ema_same_lr / torch_steps).mean().item():.3f} x PyTorch's")
    print(f"EMA started at g_1 (by hand) vs torch.optim.SGD(dampening=mu): max |difference| = "
          f"{(ema_from_g1 - torch_dampened).abs().max().item():.1e}")
    gap = (ema_from_g1 - torch_steps).abs()
    predicted = lr * mu ** torch.arange(1, n + 1) * grads[0].abs() / (1 - mu)
    for t in [1, 10, 30, 60]:
        print(f"  step {t:>2}: EMA started at g_1 differs from PyTorch by {gap[t - 1].item():.2e}"
              f"  (lr mu^t |g_1| / (1 - mu) = {predicted[t - 1].item():.2e})")
    """),
    md(r"""
    Three facts, measured: the EMA from zero with $\eta' = \eta/(1-\mu)$ *is* PyTorch's momentum (the
    differences are rounding); the EMA with an unchanged learning rate takes steps exactly $1 - \mu$
    times as large; and the EMA started at $g_1$, which is what `dampening=mu` gives you in
    PyTorch, over-weights the first gradient, by an amount that shrinks exactly like $\mu^t$ (the
    two columns of the table agree).

    **This course follows PyTorch**: a buffer that starts at $g_1$, no dampening, and the learning
    rate applied to the sum. When you read a momentum value and a learning rate in a paper, check
    which convention they belong to before you copy them.

    ## 5 · Nesterov: look before you leap

    Heavy-ball momentum computes the gradient where the ball *is*, then adds the coasting term.
    Nesterov's method (1983; in this form Sutskever et al., 2013) computes the gradient where the
    ball is *about to be* after coasting, at the look-ahead point $p_{t-1} - \eta\mu\, b_{t-1}$:

    $$b_t = \mu\, b_{t-1} + \nabla f\!\left(p_{t-1} - \eta\mu\, b_{t-1}\right), \qquad p_t = p_{t-1} - \eta\, b_t .$$

    If the ball is about to run up the far wall of the valley, the gradient there already points
    back, and the step brakes one step earlier. That form needs a gradient at a point other than
    the parameters, which does not fit the usual loop (`loss.backward()` gives the gradient at the
    parameters). PyTorch instead stores the look-ahead point itself, $q_t = p_t - \eta\mu\, b_t$, as
    the parameter. Substituting (use $\mu b_{t-1} = b_t - g_t$) turns the update into one that needs
    only the gradient at $q_{t-1}$:

    $$b_t = \mu\, b_{t-1} + g_t, \qquad q_t = q_{t-1} - \eta\,(g_t + \mu\, b_t), \qquad g_t = \nabla f(q_{t-1}) .$$

    Same buffer as the heavy ball; the step adds a look-ahead $\mu b_t$ to the gradient. Check on a
    landscape that is not a quadratic (Rosenbrock's banana, where nothing is linear) that the
    look-ahead points of the first form are exactly PyTorch's parameters:
    """),
    code(r"""
    rosen = get_landscape("rosenbrock")
    lr, mu, n = 1e-3, 0.9, 300


    def grad_at(point):
        return rosen.grad(point, device="cpu")  # by autograd, in float64


    # 1) the look-ahead form, by hand
    p = torch.tensor(rosen.start, dtype=torch.float64)
    b = torch.zeros(2, dtype=torch.float64)
    lookahead_points = []
    for _ in range(n):
        g = grad_at(p - lr * mu * b)     # gradient at the look-ahead point
        b = mu * b + g
        p = p - lr * b
        lookahead_points.append(p - lr * mu * b)
    lookahead_points = torch.stack(lookahead_points)

    # 2) torch.optim.SGD(nesterov=True), with the usual loop
    q = torch.tensor(rosen.start, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([q], lr=lr, momentum=mu, nesterov=True)
    torch_points = []
    for _ in range(n):
        opt.zero_grad()
        rosen(q).backward()
        opt.step()
        torch_points.append(q.detach().clone())
    torch_points = torch.stack(torch_points)

    print(f"after {n} steps: look-ahead form at {lookahead_points[-1].numpy().round(6)}, "
          f"PyTorch at {torch_points[-1].numpy().round(6)}")
    print(f"max |difference| over all {n} steps: {(lookahead_points - torch_points).abs().max().item():.1e}")
    """),
    md(r"""
    The two agree to rounding error at every step: PyTorch's `g + mu * b` *is* Nesterov's look-ahead,
    written in the variable that the training loop can differentiate.

    What does the look-ahead buy? Take the common setting $\mu = 0.9$ and $\eta = 0.05$ on the
    ravine, and run both methods with the course's optimizer (the same two lines as above, in
    `course_lib.optim.SGD`):
    """),
    code(r"""
    lr, mu = 0.05, 0.9
    runs = {}
    for name, nesterov in [("heavy ball", False), ("Nesterov", True)]:
        runs[name] = run_optimizer(ravine, lambda params: SGD(params, lr=lr, momentum=mu, nesterov=nesterov),
                                   steps=200, device=device)
        print(f"{name:<10} lr = {lr}, mu = {mu}: loss < {TOL:g} after "
              f"{steps_to_converge(runs[name]['losses'], ravine.f_min, TOL)} steps")

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    for name, run in runs.items():
        plot_trajectory_2d(ravine, run["path"][:60], ax=left, label=name, levels=15)
    left.set_title(f"lr = {lr}, mu = {mu}, first 60 steps")
    plot_losses({name: run["losses"] for name, run in runs.items()}, ax=right, log_y=True,
                title="loss per step")
    right.axhline(TOL, color="gray", linestyle=":", linewidth=1)
    plt.show()
    """),
    md(r"""
    The heavy ball swings across the valley many times before it settles; Nesterov's look-ahead
    sees the far wall coming and damps the swing within a few steps. At these settings it needs
    about half the steps. (Whether Nesterov is always the better choice is the second
    misconception at the end.)

    ## 6 · How much momentum? The optimum for a quadratic

    On a quadratic every step is linear in the state $(p, b)$, so each curvature $\lambda$ has its own
    2×2 matrix, and the error shrinks per step by that matrix's spectral radius $\rho$ (its largest
    eigenvalue in absolute value):

    $$\begin{pmatrix} p_t \\ b_t\end{pmatrix} =
    \begin{pmatrix} 1 - \eta\lambda & -\eta\mu \\ \lambda & \mu\end{pmatrix}
    \begin{pmatrix} p_{t-1} \\ b_{t-1}\end{pmatrix}, \qquad
    \text{eigenvalues } z^2 - (1 + \mu - \eta\lambda)\, z + \mu = 0 .$$

    The method converges at the rate of the worst curvature, $\rho = \max_\lambda \rho_\lambda$. Polyak
    (1964) found the best pair for curvatures between $\lambda_{\min}$ and $\lambda_{\max}$:

    $$\eta^* = \frac{4}{\left(\sqrt{\lambda_{\max}} + \sqrt{\lambda_{\min}}\right)^2}, \qquad
    \mu^* = \left(\frac{\sqrt\kappa - 1}{\sqrt\kappa + 1}\right)^2, \qquad
    \rho^* = \frac{\sqrt\kappa - 1}{\sqrt\kappa + 1},$$

    against gradient descent's best $\rho = (\kappa - 1)/(\kappa + 1)$. The number of steps to shrink
    the error by a fixed factor is proportional to $1/(1-\rho)$: about $\kappa/2$ for gradient
    descent, about $\sqrt\kappa/2$ with the best momentum. Compute them for our ravine and run them:
    """),
    code(r"""
    def spectral_radius(lr, mu, lam):
        # per-step shrink factor of momentum on curvature lam (numbers or broadcasting arrays)
        lr, mu, lam = np.broadcast_arrays(lr, mu, lam)
        M = np.zeros(lr.shape + (2, 2))
        M[..., 0, 0], M[..., 0, 1] = 1 - lr * lam, -lr * mu
        M[..., 1, 0], M[..., 1, 1] = lam, mu
        return np.abs(np.linalg.eigvals(M)).max(-1)


    def polyak_optimum(l_min, l_max):
        k = l_max / l_min
        lr = 4 / (math.sqrt(l_max) + math.sqrt(l_min)) ** 2
        mu = ((math.sqrt(k) - 1) / (math.sqrt(k) + 1)) ** 2
        return lr, mu


    lr_star, mu_star = polyak_optimum(l_min, l_max)
    rho_gd = max(spectral_radius(lr_gd, 0.0, [l_min, l_max]))
    rho_star = max(spectral_radius(lr_star, mu_star, [l_min, l_max]))
    print(f"kappa = {kappa:g}: lr* = {lr_star:.4f}, mu* = {mu_star:.4f}")
    print(f"rho: gradient descent {rho_gd:.4f} (formula {(kappa - 1) / (kappa + 1):.4f}), "
          f"best momentum {rho_star:.4f} (formula {(math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1):.4f})")

    best = run_optimizer(ravine, lambda params: SGD(params, lr=lr_star, momentum=mu_star), steps=150,
                         device=device)
    print(f"\nsteps to loss < {TOL:g} from {ravine.start}: gradient descent {gd_steps}, "
          f"Polyak's momentum {steps_to_converge(best['losses'], ravine.f_min, TOL)}")

    print("\nsteps to shrink the error 10^6 times, from rho:")
    print("  kappa | gradient descent | best momentum | ratio")
    for k in [20, 100, 1000, 10000]:
        r_gd, r_hb = (k - 1) / (k + 1), (math.sqrt(k) - 1) / (math.sqrt(k) + 1)
        s_gd, s_hb = math.log(1e-6) / math.log(r_gd), math.log(1e-6) / math.log(r_hb)
        print(f"  {k:>5} | {s_gd:16.0f} | {s_hb:13.0f} | {s_gd / s_hb:5.1f}")
    """),
    md(r"""
    The gain grows like $\sqrt\kappa$: modest on our $\kappa = 20$ ravine, a hundredfold at
    $\kappa = 10^4$, and real networks are far worse conditioned than that. (Section 2's $\mu = 0.5$
    at gradient descent's learning rate happened to land a few steps under Polyak's pair from this
    particular start: the formula optimises the worst case over all starting points, one run can be
    luckier.)

    To see the whole curve, sweep $\mu$ and, for each $\mu$, give momentum its best learning rate
    from a grid of 61 values. A single start can be lucky, so each setting runs from 8 starts on
    the same contour of the loss and we count the steps until *all* of them are below the
    tolerance. The heavy-ball function from section 2 runs all
    $61 \times 39 \times 8$ settings at once, as one batch. Dashed: the count the spectral radius
    predicts. Done for our ravine and for one with $\kappa = 100$:
    """),
    code(r"""
    lrs = np.geomspace(1e-3, 1, 61)
    mus = np.round(np.arange(0, 0.96, 0.025), 3)
    angles = np.linspace(0, np.pi, 8, endpoint=False)
    max_steps = 500

    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for k, colour in [(20, "C0"), (100, "C1")]:
        lam = torch.tensor([1.0, float(k)], dtype=torch.float64)
        f0 = float(ravine_loss(torch.tensor(ravine.start, dtype=torch.float64)))  # same contour for both
        starts = torch.tensor(np.stack([np.sqrt(2 * f0) * np.cos(angles),
                                        np.sqrt(2 * f0 / k) * np.sin(angles)], -1))
        # one batch: (lr, mu, start, coordinate)
        lr_t = torch.tensor(lrs).reshape(-1, 1, 1, 1)
        mu_t = torch.tensor(mus).reshape(1, -1, 1, 1)
        p = starts.expand(len(lrs), len(mus), -1, -1).clone()
        b = torch.zeros_like(p)
        steps_needed = torch.full((len(lrs), len(mus)), max_steps + 1)
        for t in range(1, max_steps + 1):
            b = mu_t * b + p * lam           # the same two lines as heavy_ball
            p = p - lr_t * b
            worst = (0.5 * (lam * p**2).sum(-1)).nan_to_num(nan=math.inf).amax(-1)
            steps_needed[(worst < TOL) & (steps_needed > max_steps)] = t
        measured = steps_needed.amin(0).numpy()          # best lr for each mu
        rho = spectral_radius(lrs[:, None, None], mus[None, :, None], np.array([1.0, k])).max(-1).min(0)
        predicted = np.log(TOL / f0) / (2 * np.log(rho))   # the loss shrinks like rho^(2t)
        m_star = polyak_optimum(1.0, k)[1]
        i = int(np.argmin(measured))
        print(f"kappa = {k:>3}: mu* = {m_star:.3f}; fewest steps {measured[i]} at mu = {mus[i]}; "
              f"at mu = 0: {measured[0]}; at mu = 0.9: {measured[list(mus).index(0.9)]}")
        ax.plot(mus, measured, color=colour, marker=".", label=f"kappa = {k}: measured (worst of 8 starts)")
        ax.plot(mus, predicted, color=colour, linestyle="--", linewidth=1.2, label=f"kappa = {k}: predicted from rho")
        ax.axvline(m_star, color=colour, linestyle=":", linewidth=1.2)
    ax.set_yscale("log")
    ax.set_yticks([20, 50, 100, 200, 500], ["20", "50", "100", "200", "500"])
    ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set(xlabel="momentum mu (each with its best lr)", ylabel=f"steps to loss < {TOL:g}",
           title="steps vs momentum; dotted lines: mu*")
    ax.legend(fontsize=9)
    plt.show()
    """),
    md(r"""
    Measured and predicted agree, and both have their minimum at or just right of Polyak's $\mu^*$
    (the dotted lines); the bottom of the valley is flat, so being a little off costs only a few
    steps. Left of it, the steep direction still limits the learning rate; right of it, the
    iterate rings: the eigenvalues become complex with modulus exactly $\sqrt\mu$, so no learning
    rate can make it converge faster than $\sqrt\mu$ per step. Too much momentum is as costly as too little.

    Real networks are not quadratics and their curvatures are not known, which is why people use
    a fixed $\mu = 0.9$ and tune the learning rate; but the shape of this curve is the right
    intuition, and the Distill article *Why Momentum Really Works* (Goh, 2017) explores it at length.

    ## 7 · Explore: learning rate, momentum, Nesterov

    Drag the sliders. The left panel is the path on the ravine, the middle one the loss, the right
    one a map of the predicted steps to converge over (learning rate, momentum), with your setting
    starred. The readout gives the largest stable learning rate at your momentum, and at which step
    the run converged (or diverged). Things to try:

    - $\mu = 0$: plain gradient descent; find its best learning rate (near 0.095).
    - Polyak's pair from section 6 (lr ≈ 0.134, $\mu$ ≈ 0.40), then raise $\mu$ to 0.9 and watch it ring.
    - Tick *Nesterov* at lr = 0.05, $\mu = 0.9$; then at lr = 0.1. What changes, and why? (The second
      misconception at the end has the answer.)
    - Switch the landscape to Rosenbrock's banana.

    In a static copy of this notebook (GitHub, nbviewer) you see a picture of the starting setting.
    """),
    code(r"""
    from course_lib.widgets import momentum_explorer

    momentum_explorer(lr=0.05, momentum=0.9, device=device)
    """),
    md(r"""
    ## 8 · The library version, checked against PyTorch

    `course_lib.optim.SGD` is the update of section 2 (and section 5's Nesterov step) in a real
    `torch.optim.Optimizer`. Read `course_lib/optim/sgd.py`: `sgd_update_` has the same lines, with
    the same names. Train the same small network twice, once with the course's optimizer and once
    with PyTorch's, with the ordinary training loop, and compare every parameter:
    """),
    code(r"""
    X = torch.randn(64, 4, dtype=torch.float64)
    y = torch.sin(X.sum(1, keepdim=True))
    net = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1)).double()

    for settings in [dict(momentum=0.9), dict(momentum=0.9, nesterov=True),
                     dict(momentum=0.5, dampening=0.5, weight_decay=1e-3)]:
        ours, theirs = copy.deepcopy(net), copy.deepcopy(net)
        opt_ours = SGD(ours.parameters(), lr=0.05, **settings)
        opt_theirs = torch.optim.SGD(theirs.parameters(), lr=0.05, **settings)
        for model, opt in [(ours, opt_ours), (theirs, opt_theirs)]:
            for step in range(50):
                opt.zero_grad()
                loss = ((model(X) - y) ** 2).mean()
                loss.backward()
                opt.step()
        diff = max((a - b).abs().max().item() for a, b in zip(ours.parameters(), theirs.parameters()))
        print(f"{str(settings):<55} final loss {loss.item():.4f}; max |course_lib - torch| = {diff:.1e}")
    """),
    md(r"""
    Identical to the last bit: the course's SGD computes the same floating-point operations in the
    same order as PyTorch's.

    ## Takeaways

    - On an ill-conditioned valley, gradient descent's learning rate is capped by the steep
      direction and the shallow one crawls: about $\kappa/2$ steps per factor $e$ of progress.
    - Momentum keeps a buffer $b \leftarrow \mu b + g$ and steps along it. It is a low-pass filter: a
      steady gradient is amplified by $1/(1-\mu)$, one that flips sign every step is damped to
      $1/(1+\mu)$. Tuned, it needs about $\sqrt\kappa/2$ steps per factor $e$.
    - The best momentum for a quadratic is $\mu^* = ((\sqrt\kappa-1)/(\sqrt\kappa+1))^2$; above it the
      iterate rings at rate $\sqrt\mu$ whatever the learning rate.
    - PyTorch's buffer is a sum that starts at $g_1$; the EMA convention needs $\eta' = \eta/(1-\mu)$
      to match. Check the convention before copying hyperparameters.
    - Nesterov takes the gradient at the look-ahead point; PyTorch's `g + mu * b` is the same method
      in different variables.
    """),
    md(r"""
    ## Misconception: "momentum just makes it go faster"

    Momentum makes the ball *faster*; whether it gets to the bottom *sooner* depends on whether it
    can stop. Keep gradient descent's best learning rate and raise $\mu$:
    """),
    code(r"""
    curves, paths = {}, {}
    for mu in [0.0, 0.5, 0.9, 0.99]:
        paths[mu] = heavy_ball(ravine_grad, start, lr_gd, mu, steps=250)
        loss = curves[f"mu = {mu}"] = ravine_loss(paths[mu])
        done = first_below(loss)
        before = loss[: (done or len(loss) - 1) + 1]
        rises = int((before[1:] > before[:-1]).sum())
        when = f"after {done} steps" if done is not None else "not within 250 steps"
        print(f"mu = {mu:<4}: loss < {TOL:g} {when}; on the way the loss ROSE on {rises} steps")

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    for mu, path in paths.items():
        left.plot(path[:121, 0], label=f"mu = {mu}")
    left.axhline(0, color="gray", linestyle=":", linewidth=1)
    left.set(xlabel="step", ylabel="x (position along the floor)", title=f"lr = {lr_gd:.3f}: overshoot along the floor")
    left.legend(ncol=2)
    plot_losses(curves, ax=right, log_y=True, title="loss: more momentum is not always faster")
    right.axhline(TOL, color="gray", linestyle=":", linewidth=1)
    right.set_ylim(1e-9, 1e3)
    plt.show()
    """),
    md(r"""
    At $\mu = 0.9$, the default in most code, this ravine takes more steps than with no momentum at
    all, and at $\mu = 0.99$ it does not converge within 250 steps: the ball overshoots, climbs the
    other side and comes back, and the loss rises on a large share of the steps. That ringing
    decays only like $\sqrt\mu$ per step. A rising loss in the first steps of a run with momentum is not necessarily a
    bug; a loss that keeps oscillating is a sign of too much momentum for the learning rate.

    ## Misconception: "Nesterov is a free upgrade: always switch it on"

    Nesterov's brake changes the stability limit as well as the damping. On a quadratic, the
    largest stable learning rate at momentum $\mu$ is $2(1+\mu)/\lambda_{\max}$ for the heavy ball
    but $2(1+\mu)/\big((1+2\mu)\lambda_{\max}\big)$ for Nesterov, which is smaller. Take section 2's
    run ($\eta = 0.095$, $\mu = 0.5$), well inside the heavy ball's limit, and flip the switch; then
    compare the two methods, each at its own best settings:
    """),
    code(r"""
    for mu in [0.5, 0.9]:
        limit_hb = 2 * (1 + mu) / l_max
        limit_nag = 2 * (1 + mu) / ((1 + 2 * mu) * l_max)
        print(f"mu = {mu}: stable for lr < {limit_hb:.4f} (heavy ball), lr < {limit_nag:.4f} (Nesterov)")
    for nesterov in [False, True]:
        run = run_optimizer(ravine, lambda params: SGD(params, lr=lr_gd, momentum=0.5, nesterov=nesterov),
                            steps=150, device=device)
        outcome = (f"diverged at step {run['diverged_at']}" if run["diverged"] else
                   f"loss < {TOL:g} after {steps_to_converge(run['losses'], ravine.f_min, TOL)} steps")
        print(f"lr = {lr_gd:.4f}, mu = 0.5, nesterov = {nesterov!s:<5}: {outcome}")

    # each method with its own best (lr, mu) from a grid, judged by the worst-case rate rho
    lr_grid = np.geomspace(1e-3, 1, 400)[:, None]
    mu_grid = np.linspace(0, 0.99, 400)[None, :]
    lam = np.array([l_min, l_max])


    def nesterov_radius(lr, mu, lam):
        # Nesterov on curvature lam: z^2 - (1 + mu)(1 - lr lam) z + mu (1 - lr lam) = 0
        a = 1 - lr[..., None] * lam
        tr, det = (1 + mu[..., None]) * a, mu[..., None] * a
        disc = np.sqrt((tr**2 - 4 * det).astype(complex))
        return np.maximum(abs((tr + disc) / 2), abs((tr - disc) / 2)).max(-1)


    for name, rho in [("heavy ball", spectral_radius(lr_grid[..., None], mu_grid[..., None], lam).max(-1)),
                      ("Nesterov", nesterov_radius(lr_grid, mu_grid, lam))]:
        i, j = np.unravel_index(np.argmin(rho), rho.shape)
        run = run_optimizer(ravine, lambda params: SGD(params, lr=float(lr_grid[i, 0]), momentum=float(mu_grid[0, j]),
                                                       nesterov=name == "Nesterov"), steps=150, device=device)
        print(f"{name:<10} at its best: lr = {lr_grid[i, 0]:.3f}, mu = {mu_grid[0, j]:.2f}, rho = {rho[i, j]:.3f}; "
              f"loss < {TOL:g} after {steps_to_converge(run['losses'], ravine.f_min, TOL)} steps")
    """),
    md(r"""
    Switched on at a learning rate the heavy ball handles comfortably, Nesterov diverges; and with
    each method at its own best settings, the heavy ball is the faster one on a quadratic. What
    Nesterov's method does offer is a guarantee: in its original form (with a momentum that grows
    towards 1 over the steps) its error on *any* smooth convex function falls like $1/t^2$, against
    $1/t$ for gradient descent. The heavy ball has no such guarantee: with the settings that are
    optimal for quadratics it can fail to converge on some strongly convex functions that are not
    quadratics (Lessard, Recht and Packard, 2016). In deep learning the difference is usually small. It is a different method with a different safe
    learning rate, so re-tune when you switch it on.

    ## Questions

    1. The buffer's gain on a steady gradient is $1/(1-\mu)$. If you raise $\mu$ from 0.9 to 0.99 in
       the middle of training without touching the learning rate, what happens to the step size on a
       long gentle slope? What would you change to keep it the same?
    2. Section 6 says momentum can never converge faster than $\sqrt\mu$ per step once the
       eigenvalues are complex. What is that rate at $\mu = 0.9$, and how many steps does it take to
       shrink an error 1,000 times?
    3. A paper reports "momentum 0.9, learning rate 0.01" with the EMA convention. Which learning
       rate gives the same run in `torch.optim.SGD`? What if their EMA starts at the first gradient?
    4. Mini-batch gradients are noisy. Using the filter picture, what does momentum do to gradient
       noise that is independent from step to step? (Hint: such noise has equal power at every
       frequency; compare the gain at $\omega = 0$ with the average gain.)
    5. Rotate the ravine (`make_ravine(kappa=20, angle=0.5)`). Does momentum's gain depend on the
       angle? Predict, then run section 2's cells on it (the gradient function must change too).
    """),
]

if __name__ == "__main__":
    out = write_notebook(ROOT / "notebooks" / "04_momentum.ipynb", cells)
    print(f"wrote {out.relative_to(ROOT)} ({len(cells)} cells)")
