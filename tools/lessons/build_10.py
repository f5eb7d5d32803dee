"""Build notebooks/10_second_order.ipynb (run from the repository root).

    .venv/bin/python tools/lessons/build_10.py
    .venv/bin/python tools/execute_notebooks.py notebooks/10_second_order.ipynb
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tools.nbbuild import code, md, write_notebook  # noqa: E402

cells = [
    md(r"""
    # 10 · Second-order methods: Newton and L-BFGS

    Every optimizer so far has used only the gradient: which way is downhill, and how steeply.
    It has not used how the slope *changes* as you move, the curvature. With the curvature you
    can do more than pick a direction: you can predict where the bottom is and jump there. That
    is Newton's method. It is also why nobody trains a network with it, and why its
    limited-memory cousin, L-BFGS, is the default solver for problems like logistic regression
    but not for deep learning.

    **What you will learn**
    - Newton's step $x - H^{-1}\nabla f$: exact in one step on a quadratic, quadratic convergence
      near a minimum, and where it fails (far from the minimum, and uphill where the Hessian
      is indefinite).
    - Why the Hessian is out of reach for networks, in bytes and floating-point operations.
    - L-BFGS: curvature pairs $(s, y)$, the two-loop recursion written by hand and checked
      against the matrix it stands for, and a line search that makes it robust.
    - Measured: evaluations to solve Rosenbrock for our L-BFGS, SciPy's, PyTorch's and Adam; our
      L-BFGS matching scikit-learn's logistic regression; and L-BFGS failing on mini-batches.
    """),
    md(r"""
    **Prerequisites:** lessons 02-05 (gradient descent, the learning rate, Adam); lesson 01's
    cross-entropy. Matrices: a symmetric matrix, its eigenvalues, solving $Ax = b$.

    **Time:** about 40 minutes.

    Everything here is full-batch and in float64 unless stated otherwise: second-order methods
    divide by small numbers (curvatures), and float32 rounding shows up quickly.
    """),
    code(r"""
    import matplotlib.pyplot as plt
    import numpy as np
    import scipy.optimize
    import torch
    import torch.nn.functional as F
    from sklearn.linear_model import LogisticRegression

    from course_lib.data import load_digits_split
    from course_lib.device import default_device, seed_everything
    from course_lib.landscapes import get_landscape
    from course_lib.models import MLP
    from course_lib.plots import course_style, plot_landscape_contour, plot_trajectory_2d

    course_style()
    device = default_device()
    g = seed_everything(0)
    F64 = torch.float64
    """),
    md(r"""
    ## 1 · Newton's step

    Near a point $x$, the second-order Taylor expansion models the loss as a quadratic:

    $$f(x + p) \approx f(x) + g^\top p + \tfrac12\, p^\top H p, \qquad g = \nabla f(x),\quad
      H = \nabla^2 f(x).$$

    Setting the model's gradient $g + Hp$ to zero gives its stationary point, and Newton's
    method jumps there:

    $$H p = -g, \qquad x_{new} = x + p = x - H^{-1} g .$$

    No learning rate: the curvature sets the step length, long where the valley is flat, short
    where it is steep, in every direction at once. Autograd gives both $g$ and $H$ (the Hessian
    is the gradient of each gradient entry), and `torch.linalg.solve` solves $Hp = -g$ without
    forming $H^{-1}$.
    """),
    code(r"""
    def newton(f, x):
        # one Newton step: gradient and Hessian by autograd, then solve H p = -g
        x = x.detach().clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(f(x), x, create_graph=True)
        hess = torch.stack([torch.autograd.grad(grad[i], x, retain_graph=True)[0]
                            for i in range(len(x))])
        p = torch.linalg.solve(hess.detach(), -grad.detach())  # H p = -g
        return (x + p).detach()
    """),
    md(r"""
    On a quadratic $f(x) = \tfrac12 x^\top A x - b^\top x$ the model *is* the function, so one
    step lands on the minimizer $A^{-1}b$, however stretched the bowl. Here the curvatures
    differ by a factor of 100 (condition number 100): gradient descent with its best fixed
    learning rate $2/(\lambda_{min} + \lambda_{max})$ needs many steps.
    """),
    code(r"""
    A = torch.tensor([[50.5, 49.5], [49.5, 50.5]], dtype=F64)   # eigenvalues 1 and 100
    b = torch.tensor([1.0, -2.0], dtype=F64)
    quad = lambda x: 0.5 * x @ A @ x - b @ x                      # noqa: E731
    x_star = torch.linalg.solve(A, b)
    x0 = torch.tensor([-2.0, 2.0], dtype=F64)

    x1 = newton(quad, x0)
    print("eigenvalues of A:", torch.linalg.eigvalsh(A).tolist())
    print(f"after ONE Newton step: |x - x*| = {(x1 - x_star).norm():.1e}")

    x, lr, steps = x0.clone(), 2 / (1 + 100), 0
    while (x - x_star).norm() > 1e-6:
        x = x - lr * (A @ x - b)
        steps += 1
    print(f"gradient descent at its best lr = {lr:.4f}: {steps} steps to |x - x*| < 1e-6")
    """),
    md(r"""
    ### On Rosenbrock: fast at the end, wild on the way

    Rosenbrock's banana valley is not a quadratic, so each step solves only the local model.
    Watch the loss along the iterations from the usual start $(-1.2, 1)$:
    """),
    code(r"""
    rosen = get_landscape("rosenbrock")
    x = torch.tensor([-1.2, 1.0], dtype=F64)
    newton_path = [x]
    print(" k        x          y            f        |x - x*|")
    for k in range(1, 8):
        x = newton(rosen, x)
        newton_path.append(x)
        print(f"{k:2d} {x[0]:10.6f} {x[1]:10.6f} {rosen(x):12.3e} {(x - 1).norm():11.2e}")
    f_path = [rosen(p).item() for p in newton_path]
    k_worst = int(np.argmax(f_path))
    print(f"\nf at the start: {f_path[0]:.1f}; largest f on the way: {f_path[k_worst]:.1f} "
          f"(step {k_worst}), {f_path[k_worst] / f_path[0]:.0f}x the start")
    """),
    md(r"""
    Two things show in the table. Near the minimum the error is roughly **squared** at every
    step (quadratic convergence): in the last column it goes from about $5\cdot 10^{-2}$ to
    $10^{-5}$ to $10^{-11}$, then to exactly zero. But on the way, step 2 jumped to a point
    where $f$ is dozens of times larger than at the start: the quadratic model was trusted far
    outside the region where it describes the function. Pure Newton has no brake. Practical methods
    add one: a line search (try the step, shorten it if $f$ does not drop enough) or a trust
    region.

    ### Where the Hessian is indefinite, Newton can go uphill

    Newton finds a *stationary point* of the model, and a stationary point can be a saddle or a
    maximum. Take $f(x, y) = x^2 - y^2 + y^4/4$ (minima at $(0, \pm\sqrt2)$, a saddle at the
    origin) and start at $(0.05, 0.5)$. The cell prints the Hessian's eigenvalues there: one
    is negative, the curvature along $y$.
    """),
    code(r"""
    saddle = get_landscape("saddle_bounded")
    x0 = torch.tensor([0.05, 0.5], dtype=F64)
    H0 = torch.autograd.functional.hessian(saddle, x0)
    x_newton = newton(saddle, x0)
    grad0 = torch.autograd.functional.jacobian(saddle, x0)
    x_gd = x0 - 0.1 * grad0
    print("Hessian eigenvalues at the start:", [round(v, 3) for v in torch.linalg.eigvalsh(H0).tolist()])
    print(f"f(start)              = {saddle(x0):+.4f}")
    print(f"f(after Newton step)  = {saddle(x_newton):+.4f}   at {[round(v, 3) for v in x_newton.tolist()]}")
    print(f"f(after a GD step)    = {saddle(x_gd):+.4f}")

    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    plot_landscape_contour(saddle, (-0.6, 0.6), (-0.6, 1.7), ax=ax, log_scale=False)
    ax.plot(*x0.tolist(), "ko", ms=6, label="start")
    for end, label, color in [(x_newton, "Newton step (uphill)", "C3"), (x_gd, "gradient step", "C0")]:
        ax.annotate("", xy=end.tolist(), xytext=x0.tolist(),
                    arrowprops={"arrowstyle": "->", "color": color, "lw": 2})
        ax.plot(*end.tolist(), "o", color=color, label=label)
    ax.legend(loc="lower right")
    plt.show()
    """),
    md(r"""
    The gradient step goes downhill, towards a minimum. The Newton step goes to the saddle at
    the origin and the loss goes **up**, because the model's stationary point in $y$ is a
    maximum. In a neural network the Hessian has many negative eigenvalues almost everywhere,
    so plain Newton would be attracted to saddle points: another reason it is not used there.

    ## 2 · Why not for networks: the size of the Hessian

    The Hessian has one entry per *pair* of parameters. For a modest 10-million-parameter
    model:
    """),
    code(r"""
    n = 10_000_000
    entries = n**2
    bytes_fp32 = 4 * entries
    solve_flops = 2 / 3 * n**3            # an LU / Cholesky solve of H p = -g
    print(f"Hessian entries:        {entries:.0e}")
    print(f"memory in float32:      {bytes_fp32 / 1e12:,.0f} TB")
    print(f"solve, ~(2/3) n^3:      {solve_flops:.1e} floating-point operations")
    print(f"  at 1e15 FLOP/s:       {solve_flops / 1e15 / 86400:,.0f} days, per step")
    m = 10
    print(f"L-BFGS memory, m = {m}:  2 m n floats = {2 * m * n * 4 / 1e9:.1f} GB")
    """),
    md(r"""
    400 TB just to store it, and a solve that would take days even at a petaFLOP per second, at
    every step. That is the end of exact Newton for networks. **Quasi-Newton** methods keep the
    idea (scale the step by an estimate of the inverse curvature) but build the estimate from
    gradients they have already computed.

    ## 3 · L-BFGS: curvature from gradient differences

    After a step $s_k = x_{k+1} - x_k$ the gradient changed by $y_k = g_{k+1} - g_k$. For a
    quadratic, $y_k = H s_k$ exactly, so each pair $(s_k, y_k)$ is a measurement of the
    Hessian along one direction. BFGS keeps a matrix $H_k \approx H^{-1}$ and corrects it after
    every step so that it reproduces the newest measurement ($H_{k+1} y_k = s_k$, the *secant
    equation*):

    $$H_{k+1} = (I - \rho_k s_k y_k^\top)\, H_k\, (I - \rho_k y_k s_k^\top) + \rho_k s_k s_k^\top,
      \qquad \rho_k = \frac{1}{y_k^\top s_k}.$$

    That matrix is still $n \times n$. **L-BFGS** never forms it: it keeps only the last $m$
    pairs (the *memory*, `history_size`, typically 5-20), starts every time from
    $H^0 = \gamma I$ with $\gamma = s^\top y / y^\top y$ from the newest pair, and computes the
    product $H_k g$ directly with the **two-loop recursion**, $4mn$ multiplications:

    $$\begin{aligned}
    &q \leftarrow g \\
    &\text{for } i = \text{newest} \dots \text{oldest:}\quad \alpha_i = \rho_i\, s_i^\top q,\quad q \leftarrow q - \alpha_i y_i \\
    &r \leftarrow \gamma\, q \\
    &\text{for } i = \text{oldest} \dots \text{newest:}\quad \beta = \rho_i\, y_i^\top r,\quad r \leftarrow r + (\alpha_i - \beta)\, s_i
    \end{aligned}$$

    and the search direction is $d = -r$. Written out:
    """),
    code(r"""
    def two_loop(grad, S, Y, gamma):
        # H_k @ grad from the pairs (S[i], Y[i]), oldest first, without forming H_k
        rho = [1 / (y @ s) for s, y in zip(S, Y)]
        alpha = [0.0] * len(S)
        q = grad.clone()
        for i in reversed(range(len(S))):    # newest to oldest
            alpha[i] = rho[i] * (S[i] @ q)
            q = q - alpha[i] * Y[i]
        r = gamma * q                         # H0 = gamma * I
        for i in range(len(S)):               # oldest to newest
            beta = rho[i] * (Y[i] @ r)
            r = r + (alpha[i] - beta) * S[i]
        return r
    """),
    md(r"""
    Check it against the matrix it stands for: apply the BFGS update above explicitly, pair by
    pair, on a small random problem, and compare $H_k g$ with the recursion (and with the
    library's version, `course_lib.second_order.two_loop_direction`).
    """),
    code(r"""
    from course_lib.second_order import two_loop_direction

    n_small, m = 6, 4
    M = torch.randn(n_small, n_small, dtype=F64, generator=g)
    A_small = M @ M.T + torch.eye(n_small, dtype=F64)     # a positive definite "Hessian"
    S = [torch.randn(n_small, dtype=F64, generator=g) for _ in range(m)]
    Y = [A_small @ s for s in S]                           # y = H s, as on a quadratic
    gamma = float(S[-1] @ Y[-1] / (Y[-1] @ Y[-1]))
    grad = torch.randn(n_small, dtype=F64, generator=g)

    H = gamma * torch.eye(n_small, dtype=F64)
    I = torch.eye(n_small, dtype=F64)
    for s, y in zip(S, Y):                                 # the explicit BFGS update
        rho = 1 / (y @ s)
        H = (I - rho * torch.outer(s, y)) @ H @ (I - rho * torch.outer(y, s)) + rho * torch.outer(s, s)

    print(f"two-loop vs explicit matrix: max difference {(two_loop(grad, S, Y, gamma) - H @ grad).abs().max():.1e}")
    print(f"library vs explicit matrix:  max difference {(two_loop_direction(grad, S, Y, gamma) - H @ grad).abs().max():.1e}")
    print(f"secant equation H y = s (newest pair): error {(H @ Y[-1] - S[-1]).abs().max():.1e}")
    """),
    md(r"""
    ### The line search

    A quasi-Newton direction comes with a natural step length of 1, but far from the minimum
    (as Newton showed on Rosenbrock) that can be far too long, or too short. A **line search**
    tries step lengths $t$ along $d$ until two conditions hold, the *strong Wolfe conditions*:

    $$f(x + t d) \le f(x) + c_1\, t\, \nabla f(x)^\top d \quad\text{(enough decrease)}, \qquad
      |\nabla f(x + td)^\top d| \le c_2\, |\nabla f(x)^\top d| \quad\text{(the slope flattened)},$$

    with $c_1 = 10^{-4}$, $c_2 = 0.9$. The second condition guarantees $y^\top s > 0$, so every
    pair adds positive curvature and $H_k$ stays positive definite: the direction is always
    downhill. The search (Nocedal & Wright, Algorithms 3.5 and 3.6) first brackets an
    interval that contains a good step, then shrinks it by fitting a cubic to $f$ and its
    slope at the interval's ends. On most iterations the first trial $t = 1$ already passes,
    so the search costs one evaluation.

    `course_lib.second_order.LBFGS` puts these pieces together as a `torch.optim.Optimizer`.
    Like `torch.optim.LBFGS` it takes a **closure** (a function that recomputes the loss and
    its gradient), because the line search needs to evaluate the loss several times per step,
    and it counts them in `state["func_evals"]`.

    ## 4 · Rosenbrock: how many evaluations?

    The cost of an optimizer on a problem like this is the number of function-and-gradient
    evaluations. Four contestants from $(-1.2, 1)$, each counted until the first evaluation
    with $f < 10^{-8}$ and until it stops on its own (gradient tolerance $10^{-8}$):
    """),
    code(r"""
    from course_lib.second_order import LBFGS

    START, TARGET = [-1.2, 1.0], 1e-8


    def first_below(values, target=TARGET):
        # 1-based index of the first evaluation with f < target (None if never)
        hits = np.flatnonzero(np.asarray(values) < target)
        return int(hits[0]) + 1 if len(hits) else None


    def run_closure_optimizer(make_opt):
        x = torch.tensor(START, dtype=F64, device=device, requires_grad=True)
        opt = make_opt([x])
        seen = []

        def closure():
            opt.zero_grad()
            loss = rosen(x)
            loss.backward()
            seen.append(loss.item())
            return loss

        opt.step(closure)
        return seen, opt.state[x]["n_iter"], x.detach().cpu()


    rows = {}
    seen, iters, x_end = run_closure_optimizer(lambda p: LBFGS(
        p, max_iter=1000, max_eval=5000, tolerance_grad=1e-8, tolerance_change=0))
    rows["ours: LBFGS (strong Wolfe)"] = (first_below(seen), len(seen), iters, rosen(x_end), x_end)

    seen, iters, x_end = run_closure_optimizer(lambda p: torch.optim.LBFGS(
        p, max_iter=1000, max_eval=5000, tolerance_grad=1e-8, tolerance_change=0,
        line_search_fn="strong_wolfe"))
    rows["torch.optim.LBFGS (strong_wolfe)"] = (first_below(seen), len(seen), iters, rosen(x_end), x_end)

    seen = []


    def f_and_grad(z):
        x = torch.tensor(z, dtype=F64, requires_grad=True)
        loss = rosen(x)
        loss.backward()
        seen.append(loss.item())
        return loss.item(), x.grad.numpy().copy()


    res = scipy.optimize.minimize(f_and_grad, START, jac=True, method="L-BFGS-B",
                                  options={"gtol": 1e-8, "ftol": 0.0, "maxiter": 1000})
    x_end = torch.tensor(res.x)
    rows["scipy L-BFGS-B"] = (first_below(seen), res.nfev, res.nit, rosen(x_end), x_end)
    """),
    md(r"""
    Adam gets a fair chance: a grid of learning rates, up to 5,000 steps each, one evaluation
    per step. To run the whole grid in one loop, Adam is written out (lesson 05's equations,
    PyTorch's defaults $\beta_1 = 0.9$, $\beta_2 = 0.999$, $\epsilon = 10^{-8}$) on a tensor with
    one row per learning rate; the rows never interact. The best learning rate is then re-run
    with `torch.optim.Adam` as a check.
    """),
    code(r"""
    ADAM_LRS, CAP = [0.01, 0.03, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0], 5000
    lr_col = torch.tensor(ADAM_LRS, dtype=F64, device=device)[:, None]
    P = torch.tensor([START] * len(ADAM_LRS), dtype=F64, device=device)  # one row per lr
    m, v = torch.zeros_like(P), torch.zeros_like(P)
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    adam_hit = [None] * len(ADAM_LRS)
    for t in range(1, CAP + 1):
        P.requires_grad_(True)
        f_rows = rosen(P)                                   # f for every row
        (grad,) = torch.autograd.grad(f_rows.sum(), P)
        for i, f_i in enumerate(f_rows.tolist()):
            if adam_hit[i] is None and f_i < TARGET:
                adam_hit[i] = t                             # evaluation t was below the target
        if all(h is not None for h in adam_hit):
            break
        with torch.no_grad():
            m = beta1 * m + (1 - beta1) * grad
            v = beta2 * v + (1 - beta2) * grad**2
            m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
            P = P - lr_col * m_hat / (v_hat.sqrt() + eps)

    for lr, hit in zip(ADAM_LRS, adam_hit):
        print(f"Adam lr={lr:<5}: " + (f"f < 1e-8 after {hit} evaluations" if hit
                                      else f"not below 1e-8 in {CAP} steps"))
    best_hit, best_lr = min((h, lr) for lr, h in zip(ADAM_LRS, adam_hit) if h is not None)

    # the check: torch.optim.Adam at that lr crosses the target at the same evaluation
    x = torch.tensor(START, dtype=F64, device=device, requires_grad=True)
    opt = torch.optim.Adam([x], lr=best_lr)
    for t in range(1, best_hit + 1):
        opt.zero_grad()
        loss = rosen(x)
        if loss.item() < TARGET:
            break
        loss.backward()
        opt.step()
    print(f"torch.optim.Adam at lr={best_lr}: f < 1e-8 after {t} evaluations")
    rows[f"Adam, best lr of the grid ({best_lr})"] = (best_hit, None, None, None, None)
    """),
    code(r"""
    print(f"{'method':<36} {'evals to f<1e-8':>16} {'evals in all':>13} {'iterations':>11} "
          f"{'final f':>10} {'|x - x*|':>9}")
    for name, (hit, total, iters, f_end, x_end) in rows.items():
        extra = (f"{total:>13} {iters:>11} {f_end:>10.1e} {(x_end - 1).norm():>9.1e}"
                 if total is not None else f"{'-':>13} {'-':>11} {'-':>10} {'-':>9}")
        print(f"{name:<36} {hit:>16} {extra}")

    ours_hit = rows["ours: LBFGS (strong Wolfe)"][0]
    scipy_hit = rows["scipy L-BFGS-B"][0]
    print(f"\nours / scipy, evaluations to f < 1e-8: {ours_hit / scipy_hit:.2f}")
    print(f"Adam (best lr) / ours:                  {best_hit / ours_hit:.0f}x more evaluations")
    """),
    md(r"""
    The three L-BFGS implementations need a few dozen evaluations and land on the minimum to
    about ten digits; Adam, even at the best learning rate of its grid, needs more than an
    order of magnitude more. On a smooth, deterministic, low-dimensional problem, curvature
    information is worth a lot.

    Here is where each path goes (our L-BFGS, and Newton from section 1 for comparison):
    """),
    code(r"""
    x = torch.tensor(START, dtype=F64, requires_grad=True)
    opt = LBFGS([x], max_iter=1, tolerance_grad=1e-8, tolerance_change=0)


    def closure():
        opt.zero_grad()
        loss = rosen(x)
        loss.backward()
        return loss


    lbfgs_path = [x.detach().clone()]
    for _ in range(60):                      # one iteration per step() call, to record the path
        opt.step(closure)
        lbfgs_path.append(x.detach().clone())

    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    plot_trajectory_2d(rosen, torch.stack(lbfgs_path).numpy(), ax=ax, label="L-BFGS (ours)",
                       xlim=(-2, 2), ylim=(-1, 3))
    plot_trajectory_2d(rosen, torch.stack(newton_path).numpy(), ax=ax, label="Newton",
                       color="C3", xlim=(-2, 2), ylim=(-1, 3))
    ax.set_title("Rosenbrock from (-1.2, 1)")
    plt.show()
    """),
    md(r"""
    ## 5 · Where L-BFGS shines: full-batch logistic regression

    scikit-learn's `LogisticRegression` uses L-BFGS by default. Its objective for 10 classes
    (softmax regression, weights $W \in \mathbb{R}^{10\times 64}$, intercepts $b$, L2 penalty
    on $W$ only) is

    $$C \sum_{i=1}^{n} \ell_i(W, b) + \tfrac12 \|W\|_F^2, \qquad \ell_i = \text{cross-entropy of example } i .$$

    Dividing by $Cn$ does not move the minimizer and gives the form a PyTorch loop writes
    naturally, a **mean** cross-entropy plus a weight penalty:

    $$L(W, b) = \frac1n \sum_i \ell_i + \frac{1}{2Cn} \|W\|_F^2 .$$

    (scikit-learn itself minimizes this scaled form internally.) So with the same $C$, both
    solvers minimize the same function, and their losses can be compared directly.
    """),
    code(r"""
    data = load_digits_split(device=device)
    X, y = data.X_train.to(F64), data.y_train
    n_train, C = len(X), 1.0


    def softmax_regression_loss(W, b):
        return F.cross_entropy(X @ W.T + b, y) + (W**2).sum() / (2 * C * n_train)


    sk = LogisticRegression(C=C, solver="lbfgs", tol=1e-10, max_iter=10_000)
    sk.fit(X.cpu().numpy(), y.cpu().numpy())
    W_sk = torch.tensor(sk.coef_, dtype=F64, device=device)
    b_sk = torch.tensor(sk.intercept_, dtype=F64, device=device)
    loss_sk = softmax_regression_loss(W_sk, b_sk).item()

    W = torch.zeros(10, 64, dtype=F64, device=device, requires_grad=True)
    b = torch.zeros(10, dtype=F64, device=device, requires_grad=True)
    opt = LBFGS([W, b], max_iter=2000, max_eval=5000, tolerance_grad=1e-8, tolerance_change=1e-12)


    def closure():
        opt.zero_grad()
        loss = softmax_regression_loss(W, b)
        loss.backward()
        return loss


    opt.step(closure)
    loss_ours = softmax_regression_loss(W, b).item()
    with torch.no_grad():
        p_ours = torch.softmax(X @ W.T + b, dim=1).cpu().numpy()
    p_sk = sk.predict_proba(X.cpu().numpy())

    print(f"{n_train} training images, 64 pixels, 10 classes, C = {C}")
    print(f"scikit-learn lbfgs loss: {loss_sk:.10f}")
    print(f"our LBFGS loss:          {loss_ours:.10f}   ({opt.state[W]['func_evals']} evaluations)")
    print(f"difference:              {abs(loss_ours - loss_sk):.1e}  (agree to 1e-6: {abs(loss_ours - loss_sk) < 1e-6})")
    print(f"largest difference in predicted probabilities: {np.abs(p_ours - p_sk).max():.1e}")
    """),
    md(r"""
    The same loss to many more digits than $10^{-6}$ and predicted probabilities that agree
    to the printed difference, in a few hundred evaluations, with no learning rate to tune. For a convex, smooth, full-batch
    problem of this size, this is the right tool.

    ## 6 · Where it breaks: mini-batches

    Networks are trained on mini-batches, so the gradient changes from step to step for two
    reasons: the weights moved, and the batch changed. L-BFGS reads the difference
    $y = g_{k+1} - g_k$ as curvature, and the batch noise in it gets interpreted as curvature
    too; the line search tunes the step to *this* batch's loss. Try it the way it is tempting
    to: the small MLP of earlier lessons on the digits, a new batch of 32 images for every
    `step(closure)`, L-BFGS with its default 20 iterations per step (our strong-Wolfe version,
    and the no-line-search setting that is `torch.optim.LBFGS`'s default), against Adam with
    one step per batch. Every run sees the same batches; the loss plotted is on the whole
    training set.
    """),
    code(r"""
    BATCH, N_BATCHES = 32, 30
    X32, y_all = data.X_train, data.y_train


    def minibatch_run(make_opt):
        seed_everything(0)
        model = MLP([64, 32, 10], device=device)
        opt = make_opt(model.parameters())
        batch_gen = torch.Generator().manual_seed(1)
        evals = 0

        def full_loss():
            with torch.no_grad():
                return F.cross_entropy(model(X32), y_all).item()

        curve = [full_loss()]
        for _ in range(N_BATCHES):
            idx = torch.randint(len(X32), (BATCH,), generator=batch_gen).to(device)
            xb, yb = X32[idx], y_all[idx]

            def closure():
                nonlocal evals
                evals += 1
                opt.zero_grad()
                loss = F.cross_entropy(model(xb), yb)
                loss.backward()
                return loss

            opt.step(closure)
            curve.append(full_loss())
        return curve, evals


    mb = {
        "Adam, lr 1e-2": minibatch_run(lambda p: torch.optim.Adam(p, lr=1e-2)),
        "L-BFGS, strong Wolfe": minibatch_run(lambda p: LBFGS(p, max_iter=20)),
        "L-BFGS, no line search (torch's default)": minibatch_run(
            lambda p: LBFGS(p, max_iter=20, line_search_fn=None)),
    }
    print(f"{'run':<42} {'start':>7} {'end':>12} {'worst':>12} {'evaluations':>12}")
    for name, (curve, evals) in mb.items():
        print(f"{name:<42} {curve[0]:>7.3f} {curve[-1]:>12.4g} {max(curve):>12.4g} {evals:>12}")

    fig, (ax_lin, ax_log) = plt.subplots(1, 2, figsize=(11, 4))
    for i, (name, (curve, _)) in enumerate(mb.items()):
        if i < 2:  # the two that stay finite, on a linear scale
            ax_lin.plot(range(len(curve)), curve, label=name, marker=".", color=f"C{i}")
        ax_log.plot(range(len(curve)), curve, label=name, marker=".", color=f"C{i}")
    ax_lin.axhline(mb["Adam, lr 1e-2"][0][0], color="0.6", ls=":", label="starting loss")
    ax_lin.set_title("Adam and L-BFGS with line search")
    ax_log.set_yscale("log")
    ax_log.set_title("all three, log scale")
    for ax in (ax_lin, ax_log):
        ax.set_xlabel("mini-batch")
        ax.set_ylabel("training-set loss")
        ax.legend(fontsize=8)
    plt.show()
    """),
    md(r"""
    Read the table and the plot together. Adam improves steadily with one evaluation per
    batch. L-BFGS with a line search spends far more evaluations, lurches up and down, and
    ends above the loss it started from: each step fits one batch of 32 images closely, and the curvature pairs describe the
    difference between batches as much as the loss surface. Without a line search, the same
    L-BFGS takes steps scaled by that noisy curvature estimate and the loss explodes by many
    orders of magnitude. (Research versions exist, with large batches, consistent batches for
    $y$, or damping, but none has displaced Adam for training networks.)

    ## Takeaways

    - Newton's step $x - H^{-1}g$ jumps to the stationary point of the local quadratic model:
      exact in one step on a quadratic, quadratically convergent near a minimum, but unguarded
      far from it (the loss can jump up) and drawn to saddles where $H$ is indefinite.
    - For $n$ parameters the Hessian has $n^2$ entries and the solve costs $O(n^3)$: 400 TB and
      days per step at $n = 10^7$. That rules out exact Newton for networks.
    - L-BFGS estimates $H^{-1}g$ from the last $m$ pairs $s = \Delta x$, $y = \Delta g$ with the
      two-loop recursion, $O(mn)$ time and memory; a strong-Wolfe line search keeps
      $y^\top s > 0$ and the steps safe.
    - On smooth, deterministic problems (Rosenbrock, logistic regression) it needs a few dozen
      to a few hundred evaluations and no learning rate: use it there. scikit-learn does.
    - On mini-batches its curvature estimate is noise: it lurches or blows up while Adam
      steadily improves. Use first-order methods for network training.
    """),
    md(r"""
    ## Misconceptions

    **"Second-order methods are always faster."** Per evaluation on a smooth full-batch problem,
    yes, by a wide margin (section 4). Per unit of progress on mini-batches, no: in section 6
    L-BFGS used far more evaluations than Adam and ended worse. The advantage comes from exact,
    consistent gradients; noise removes it.

    **"Newton's method always goes downhill."** It goes to a stationary point of the quadratic
    model, which is a minimum only when the Hessian is positive definite. In section 1 the step
    from $(0.05, 0.5)$ raised the loss and headed for the saddle, and on Rosenbrock an
    unguarded step took the loss far above its starting value.
    """),
    md(r"""
    ## Questions to think about

    1. The two-loop recursion costs $4mn$ multiplications and $2mn$ numbers of memory. For
       $m = 10$, how does that compare with one step of Adam (which keeps $m$ and $v$)?
    2. Why does the curvature condition of the line search guarantee $y^\top s > 0$? What goes
       wrong in the two-loop recursion if a pair with $y^\top s < 0$ is kept?
    3. In section 6, what would you change to give L-BFGS a fair chance on mini-batches
       (batch size, the same batch for both gradients of a pair, fewer iterations per batch)?
       Which of these still makes sense for a network trained on billions of examples?
    4. Newton's step does not depend on how the parameters are scaled (rescale $x$ and the step
       rescales with it); gradient descent's does. How does Adam's per-coordinate scaling sit
       between the two?
    """),
]

if __name__ == "__main__":
    path = write_notebook(ROOT / "notebooks" / "10_second_order.ipynb", cells)
    print(f"wrote {path.relative_to(ROOT)}")
