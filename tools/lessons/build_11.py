"""Build notebooks/11_landscape_geometry.ipynb (run from the repository root).

    .venv/bin/python tools/lessons/build_11.py
    .venv/bin/python tools/execute_notebooks.py notebooks/11_landscape_geometry.ipynb
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tools.nbbuild import code, md, write_notebook  # noqa: E402

cells = [
    md(r"""
    # 11 · The terrain gets weird: saddles, sharp and flat minima

    The pictures of earlier lessons were bowls and ravines: one way down, one bottom. A real
    loss surface has millions of dimensions, and two features of it shape what training does.
    **Saddle points**, where the ground is flat but goes down in some directions, can hold
    gradient descent for a long time. And the minima differ: some are **sharp** (the loss rises
    steeply when the weights move a little), some are **flat**. Which kind a run ends in is
    said to depend on the batch size and to matter for generalisation. This lesson measures
    both, on a 2-D saddle and on a real network, and reports what the numbers show.

    **What you will learn**
    - Read a stationary point off the Hessian's eigenvalues; why gradient descent slows to a
      crawl near a saddle, how long it stays (predicted, then measured), and what a little
      noise does.
    - Why saddles outnumber minima in many dimensions: a random-matrix experiment.
    - Two ways to measure the sharpness of a trained network: the top Hessian eigenvalue by
      power iteration on Hessian-vector products, and the loss under random weight
      perturbations.
    - Small versus large batches on the same network: sharpness and test accuracy, with the
      confounders that make this comparison harder than it looks.
    - Sharpness-Aware Minimization (SAM) in two gradient steps, and one measured run with it.
    """),
    md(r"""
    **Prerequisites:** lessons 02 (gradient descent), 04 (momentum) and 05 (mini-batches,
    noise). Eigenvalues of a symmetric matrix: it stretches space along perpendicular
    directions, each by its eigenvalue.

    **Time:** about 35 minutes.
    """),
    code(r"""
    import math

    import matplotlib.pyplot as plt
    import numpy as np
    import torch
    import torch.nn.functional as F

    from course_lib.data import load_digits_split
    from course_lib.device import default_device, seed_everything
    from course_lib.landscapes import get_landscape
    from course_lib.models import MLP
    from course_lib.plots import course_style, plot_landscape_contour, plot_trajectory_2d

    course_style()                # the course's plot style (before the last line: no echo)
    device = default_device()
    g = seed_everything(0)
    """),
    md(r"""
    ## 1 · A saddle, read off its Hessian

    Where the gradient is zero, the second derivatives decide what kind of point it is. They
    form the **Hessian** $H_{ij} = \partial^2 L / \partial w_i \partial w_j$, a symmetric matrix.
    Its eigenvalues are the curvatures along its eigenvectors:

    - all positive: a minimum (the ground curves up in every direction);
    - all negative: a maximum;
    - mixed signs: a **saddle**: up along some directions, down along others.

    The classic saddle is $f(x, y) = x^2 - y^2$. Its gradient $(2x, -2y)$ is zero at the origin
    and its Hessian is $\operatorname{diag}(2, -2)$: curving up along $x$, down along $y$.
    """),
    code(r"""
    saddle = get_landscape("saddle")
    H = saddle.hessian((0.0, 0.0))
    print("Hessian at the origin:\n", H.numpy())
    print("eigenvalues:", torch.linalg.eigvalsh(H).numpy())
    print("gradient at the origin:", saddle.grad((0.0, 0.0)).numpy())
    """),
    md(r"""
    ### Gradient descent near the saddle

    With learning rate $\eta$, one step of gradient descent on $x^2 - y^2$ acts on each
    coordinate separately:

    $$x_{t+1} = x_t - \eta\, 2x_t = (1 - 2\eta)\, x_t, \qquad
      y_{t+1} = y_t + \eta\, 2y_t = (1 + 2\eta)\, y_t .$$

    With $\eta = 0.1$, $x$ shrinks by 0.8 per step (it is attracted to the saddle) and $y$ grows
    by 1.2 per step (it is repelled). Start at $(1, y_0)$ with a tiny $y_0$: the run slides in
    along $x$, then waits while $y$ grows from $y_0$ to something visible. Leaving a disc of
    radius $r$ around the saddle takes

    $$t_{\text{escape}} = \frac{\ln(r / |y_0|)}{\ln(1 + 2\eta)}$$

    steps, and it enters that disc when $0.8^t < r$, after $\ln r / \ln 0.8$ steps. So the time
    spent near the saddle grows with $\ln(1/|y_0|)$, and with $y_0 = 0$ exactly, the run never
    leaves: it converges *to the saddle*, where the gradient is zero and everything looks
    finished. Below: predicted against measured, with $r = 0.1$, and then the same start
    $y_0 = 0$ with a little Gaussian noise added to every gradient (the stand-in for SGD's
    mini-batch noise), over 1,000 noisy runs.
    """),
    code(r"""
    LR, RADIUS, MAX_STEPS = 0.1, 0.1, 300

    def descend_saddle(y0, noise=0.0, runs=1, seed=0):
        # gradient descent on x^2 - y^2 from (1, y0); returns the path, shape (steps + 1, runs, 2)
        gen = torch.Generator().manual_seed(seed)
        p = torch.tensor([1.0, y0], dtype=torch.float64).repeat(runs, 1)
        path = [p]
        for _ in range(MAX_STEPS):
            grad = torch.stack([2 * p[:, 0], -2 * p[:, 1]], dim=1)
            grad = grad + noise * torch.randn(p.shape, generator=gen, dtype=torch.float64)
            p = p - LR * grad
            path.append(p)
        return torch.stack(path)

    def steps_near(path):
        # how many steps each run spent within RADIUS of the saddle
        return (path.norm(dim=2) < RADIUS).sum(dim=0).double()

    enter = math.log(RADIUS) / math.log(1 - 2 * LR)
    print(f"{'start y0':>10s} {'noise':>7s} {'predicted':>10s} {'measured steps near the saddle':>32s}")
    runs = {}
    for y0 in [1e-4, 1e-8, 1e-12, 0.0]:
        path = descend_saddle(y0)
        runs[f"y0 = {y0:g}"] = path[:, 0]
        escape = math.log(RADIUS / y0) / math.log(1 + 2 * LR) if y0 else math.inf
        predicted = f"{escape - enter:.1f}" if y0 else "forever"
        print(f"{y0:10.0e} {0:7g} {predicted:>10s} {int(steps_near(path)[0]):>20d}"
              + ("  (every step after arriving: stuck)" if not y0 else ""))
    for noise in [1e-6, 1e-2]:
        path = descend_saddle(0.0, noise=noise, runs=1000)
        runs[f"y0 = 0, noise {noise:g}"] = path[:, 0]
        near = steps_near(path)
        escaped = int((path[-1].norm(dim=1) > RADIUS).sum())
        print(f"{0:10.0e} {noise:7g} {'':>10s} {near.mean().item():>20.1f}  (mean of 1,000 runs, "
              f"90% within {near.quantile(0.9).item():.0f}, max {near.max().item():.0f}; "
              f"escaped: {escaped:,} of 1,000)")
    """),
    code(r"""
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 4.2))
    plot_landscape_contour(saddle, (-1.2, 1.2), (-1.2, 1.2), ax=ax0, log_scale=False, levels=21)
    path = runs["y0 = 1e-08"][:150]
    plot_trajectory_2d(None, path, ax=ax0, label="y0 = 1e-8")
    ax0.plot(path[:, 0].numpy(), path[:, 1].numpy(), "o", markersize=3, color="C3",
             label="one dot per step")
    ax0.set_xlim(-1.2, 1.2)
    ax0.set_ylim(-1.2, 1.2)
    ax0.set_title("the steps pile up at the saddle")
    ax0.legend(loc="lower right", fontsize=8)
    for name, pts in runs.items():
        ax1.semilogy(pts.norm(dim=1).clamp_min(1e-30).numpy(), label=name)
    ax1.axhline(RADIUS, color="black", linestyle="--", linewidth=1)
    ax1.set_ylim(1e-30, 1e3)
    ax1.set_xlabel("step")
    ax1.set_ylabel("distance to the saddle")
    ax1.set_title("time spent near the saddle (dashed: r = 0.1)")
    ax1.legend(fontsize=8)
    plt.show()
    """),
    md(r"""
    The prediction matches the measurement to within a step, and the pattern is the point:
    every factor of $10^4$ closer to the stable line $y = 0$ adds about
    $\ln 10^4 / \ln 1.2 \approx 50$ steps of crawling. Starting *exactly* on it, plain gradient
    descent converges to the saddle and stays: the distance falls toward zero (right panel) and
    the gradient with it, so by every local sign the run has converged. A little noise changes
    that: it keeps putting a small $y$ back, which then grows. Even noise of $10^{-6}$ got all
    1,000 runs out, and larger noise got out sooner.

    Keep the proportions right, though. A start exactly on the stable set is an accident of
    measure zero (gradient descent from a random start escapes strict saddles with probability 1,
    a result of Lee et al., 2016). What a saddle costs in practice is **time**: long plateaus
    in the loss curve where the gradient is small and nothing seems to happen, until it does.

    ## 2 · Why many dimensions make minima rare and saddles common

    At a stationary point of a loss over $n$ weights, the Hessian has $n$ eigenvalues. For a
    minimum, *all* of them must be positive. A crude but instructive model: pretend the Hessian
    is a random symmetric matrix. The standard choice is the Gaussian Orthogonal Ensemble
    (GOE): $H = (A + A^\top)/\sqrt 2$ with independent standard normal entries $A_{ij}$. If
    the $n$ signs were independent coin flips, all positive would have probability $2^{-n}$.
    Sample and count:
    """),
    code(r"""
    SAMPLES = 200_000
    gen = torch.Generator().manual_seed(0)
    dims = list(range(1, 11))
    fraction, negatives = [], {}
    for n in dims:
        count = 0
        for _ in range(SAMPLES // 50_000):                  # chunks keep memory small
            A = torch.randn(50_000, n, n, generator=gen)
            eig = torch.linalg.eigvalsh((A + A.transpose(1, 2)) / math.sqrt(2))
            count += int((eig > 0).all(dim=1).sum())
            if n == 10:
                negatives.setdefault(10, []).append((eig < 0).sum(dim=1))
        fraction.append(count / SAMPLES)

    print(f"{'n':>3s} {'all eigenvalues > 0':>22s} {'coin flips 2^-n':>16s}")
    for n, f in zip(dims, fraction):
        shown = f"{f:.2e}" if f else f"0 of {SAMPLES:,}"
        print(f"{n:3d} {shown:>22s} {2.0 ** -n:16.2e}")
    index10 = torch.cat(negatives[10])
    middle = sum(math.comb(10, k) for k in (4, 5, 6)) / 2**10
    print(f"\nn = 10: mean number of negative eigenvalues {index10.float().mean():.2f}; "
          f"share with 4, 5 or 6 negative: {((index10 >= 4) & (index10 <= 6)).float().mean():.1%} "
          f"(coin flips: {middle:.1%})")
    """),
    code(r"""
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 3.8))
    shown = [(n, f) for n, f in zip(dims, fraction) if f > 0]
    ax0.semilogy([n for n, _ in shown], [f for _, f in shown], "o-", label="GOE, measured")
    ax0.semilogy(dims, [2.0 ** -n for n in dims], "--", label="independent signs, $2^{-n}$")
    ax0.axhline(1 / SAMPLES, color="gray", linewidth=1, label="1 / samples")
    ax0.set_xlabel("dimension n")
    ax0.set_ylabel("P(all eigenvalues > 0)")
    ax0.legend(fontsize=8)
    counts = torch.bincount(index10, minlength=11).numpy() / len(index10)
    binom = np.array([math.comb(10, k) for k in range(11)]) / 2**10
    ax1.bar(range(11), counts, label="GOE, n = 10")
    ax1.plot(range(11), binom, "k.--", label="independent signs")
    ax1.set_xlabel("number of negative eigenvalues (downhill directions)")
    ax1.set_ylabel("share of samples")
    ax1.legend(fontsize=8)
    plt.show()
    """),
    md(r"""
    The probability falls much faster than $2^{-n}$: at $n = 6$ it is a few in a million, and
    beyond that none of 200,000 samples is a minimum. Eigenvalues of a
    random matrix repel each other, so "all on one side of zero" is even rarer than independent
    coin flips would make it; for large $n$ it decays like $e^{-n^2 \ln 3 / 4}$ (Dean &
    Majumdar, 2006). The right panel shows the typical case: about half the directions go
    down, and the spread is much narrower than for coin flips. A network has millions of
    dimensions.

    How far to trust this: a real network's Hessian is not a GOE matrix. Its stationary
    points are not random either: Dauphin et al. (2014) measured that the ones with *high* loss
    have many downhill directions (they are saddles), while those with low loss have few.
    That is the useful version of the argument: a point where training stalls at a poor loss
    is far more likely a saddle or plateau than a bad local minimum, and noise plus patience
    gets out of it.

    ## 3 · Sharp and flat minima: two ways to measure

    Near a minimum $w^*$, the loss is approximately quadratic:

    $$L(w^* + \delta) \approx L(w^*) + \tfrac12\, \delta^\top H\, \delta .$$

    A **sharp** minimum has large curvature: a small $\delta$ raises the loss a lot. Two
    measurements:

    1. **The top Hessian eigenvalue** $\lambda_{\max}$: the curvature in the steepest direction.
       The Hessian of our network has $4{,}810^2$ entries, and of a large model far too many to
       form, but a **Hessian-vector product** costs only about two backward passes, by
       differentiating the gradient once more:
       $H v = \nabla_w \big( \nabla_w L \cdot v \big)$. **Power iteration** then finds the
       largest eigenvalue: $v \leftarrow Hv / \|Hv\|$, repeated, lines $v$ up with the top
       eigenvector, and $v^\top H v \to \lambda_{\max}$.
    2. **Loss under random perturbations**: the mean increase
       $\mathbb{E}_d\,[L(w + r\, d/\|d\|)] - L(w)$ over random directions $d$, at a fixed radius
       $r$. Random directions mostly miss the steepest one, so this measures the *average*
       curvature, $\approx \tfrac{r^2}{2}\operatorname{tr}(H)/n$ for small $r$.

    The network: the bundled 8x8 digits, a 64-64-10 MLP with ReLU units, cross-entropy loss.
    """),
    code(r"""
    data = load_digits_split(device=device)
    X, Y = data.X_train, data.y_train

    def full_loss(model):
        return F.cross_entropy(model(X), Y)       # the whole training set: 1,347 images

    def hvp(model, v):
        # H v = d/dw (grad L . v): the gradient of the gradient along v
        params = list(model.parameters())
        grads = torch.autograd.grad(full_loss(model), params, create_graph=True)
        dot = sum((g_ * v_).sum() for g_, v_ in zip(grads, v))
        return [h.detach() for h in torch.autograd.grad(dot, params)]

    def top_eigenvalue(model, iters=50, seed=0):
        # power iteration: v <- Hv / |Hv|; the Rayleigh quotient v.Hv tends to lambda_max
        gen = torch.Generator().manual_seed(seed)
        v = [torch.randn(p.shape, generator=gen).to(device) for p in model.parameters()]
        for _ in range(iters):
            norm = torch.sqrt(sum((v_ * v_).sum() for v_ in v))
            v = [v_ / norm for v_ in v]
            Hv = hvp(model, v)
            lam = sum((a * b).sum() for a, b in zip(Hv, v)).item()
            v = Hv
        return lam

    def perturbed_increase(model, radius, directions=10, seed=1):
        # mean loss increase at random points at distance `radius` from the weights
        gen = torch.Generator().manual_seed(seed)
        params = list(model.parameters())
        w0 = [p.detach().clone() for p in params]
        with torch.no_grad():
            base = full_loss(model).item()
            total = 0.0
            for _ in range(directions):
                d = [torch.randn(p.shape, generator=gen).to(device) for p in params]
                norm = torch.sqrt(sum((d_ * d_).sum() for d_ in d))
                for p, w, d_ in zip(params, w0, d):
                    p.copy_(w + radius * d_ / norm)
                total += full_loss(model).item() - base
            for p, w in zip(params, w0):
                p.copy_(w)                          # put the weights back
        return total / directions
    """),
    md(r"""
    Before trusting `hvp`, check it against a finite difference of gradients, which needs no
    second derivative: $Hv \approx \big(\nabla L(w + hv) - \nabla L(w - hv)\big) / 2h$. (The
    check uses a float64 copy of a fresh network, so the difference quotient is accurate.)
    """),
    code(r"""
    seed_everything(0)
    probe = MLP([64, 64, 10], device=device).double()
    X, Y = data.X_train.double(), data.y_train
    gen = torch.Generator().manual_seed(2)
    v = [torch.randn(p.shape, generator=gen, dtype=torch.float64).to(device) for p in probe.parameters()]
    v_norm = torch.sqrt(sum((v_ * v_).sum() for v_ in v))
    v = [v_ / v_norm for v_ in v]                  # a unit direction
    exact = torch.cat([h.reshape(-1) for h in hvp(probe, v)])

    def grad_at(shift):
        with torch.no_grad():
            for p, v_ in zip(probe.parameters(), v):
                p.add_(shift * v_)
        grads = torch.autograd.grad(full_loss(probe), list(probe.parameters()))
        with torch.no_grad():
            for p, v_ in zip(probe.parameters(), v):
                p.sub_(shift * v_)
        return torch.cat([gr.reshape(-1) for gr in grads])

    h = 1e-4
    fd = (grad_at(h) - grad_at(-h)) / (2 * h)
    print(f"{exact.numel():,} entries; relative difference |Hv - finite diff.| / |Hv| = "
          f"{((exact - fd).norm() / exact.norm()).item():.0e}")
    X, Y = data.X_train, data.y_train              # back to float32 for the experiments
    """),
    md(r"""
    ## 4 · Small batches, large batches: what do they find?

    The claim to test (Keskar et al., 2017): large-batch training finds sharper minima that
    generalise worse, and the noise of small batches keeps the optimizer out of narrow
    crevices. The same network, from the same initial weights, trained with SGD (momentum 0.9,
    learning rate 0.05) for the same number of epochs, with batches of 16, 128 and the whole
    training set. Same epochs means very different numbers of steps, so one more run trains
    the full-batch model ten times longer, until its training loss matches the batch-128 run:
    sharpness depends on the training loss too, and that is the fairest comparison available.
    """),
    code(r"""
    EPOCHS, LR_SGD, MOMENTUM = 60, 0.05, 0.9

    def train_mlp(batch_size, epochs=EPOCHS, sam_rho=None, seed=0):
        seed_everything(seed)                      # same initial weights for every run
        model = MLP([64, 64, 10], device=device)
        optimizer = torch.optim.SGD(model.parameters(), lr=LR_SGD, momentum=MOMENTUM)
        if sam_rho is not None:
            optimizer = SAM(optimizer, rho=sam_rho)
        gen = torch.Generator().manual_seed(seed)
        steps = 0
        for epoch in range(epochs):
            order = torch.randperm(len(X), generator=gen).to(device)
            for i in range(0, len(X), batch_size):
                idx = order[i:i + batch_size]

                def closure():
                    loss = F.cross_entropy(model(X[idx]), Y[idx])
                    loss.backward()
                    return loss

                if sam_rho is None:
                    optimizer.zero_grad(set_to_none=True)
                    closure()
                    optimizer.step()
                else:
                    optimizer.step(closure)        # SAM: two gradients per step
                steps += 1
        return model, steps

    def measure(model, steps):
        with torch.no_grad():
            train_loss = full_loss(model).item()
            correct = int((model(data.X_test).argmax(dim=1) == data.y_test).sum())
        return {"steps": steps, "train loss": train_loss,
                "lambda_max": top_eigenvalue(model),
                "dL(r=2)": perturbed_increase(model, 2.0),
                "test correct": correct, "test acc": correct / len(data.y_test)}

    results, models = {}, {}
    for name, batch, epochs in [("batch 16", 16, EPOCHS), ("batch 128", 128, EPOCHS),
                                ("full batch", len(X), EPOCHS),
                                ("full batch, 10x epochs", len(X), 10 * EPOCHS)]:
        models[name], steps = train_mlp(batch, epochs)
        results[name] = measure(models[name], steps)

    def print_table(results):
        print(f"{'run':28s} {'steps':>6s} {'train loss':>10s} {'lambda_max':>10s} "
              f"{'dL (r=2)':>9s} {'test accuracy':>19s}")
        for name, r in results.items():
            print(f"{name:28s} {r['steps']:6d} {r['train loss']:10.4f} {r['lambda_max']:10.2f} "
                  f"{r['dL(r=2)']:9.4f} {r['test acc']:8.2%} ({r['test correct']}/{len(data.y_test)})")

    print_table(results)
    p_acc = results["batch 16"]["test acc"]
    print(f"\none test image is {1 / len(data.y_test):.2%}; the binomial standard error of an "
          f"accuracy near {p_acc:.0%} on {len(data.y_test)} images is "
          f"{math.sqrt(p_acc * (1 - p_acc) / len(data.y_test)):.2%}")
    """),
    md(r"""
    What the table shows, read carefully:

    - **Same epochs.** The full-batch run took only as many steps as epochs and is nowhere near
      a minimum: its loss is high, its curvature is the highest, its accuracy the lowest. That
      is *under-training*, not a sharp minimum, and it is the most common way "large batches
      generalise worse" shows up in practice: the same epoch budget buys far fewer steps.
    - **Matched training loss.** Trained ten times longer, the full-batch model roughly reaches
      the training loss of the batch-128 run. Its $\lambda_{\max}$ is then close to the
      batch-128 value, and the test accuracies differ by a few images, inside one standard error.
    - **Batch 16** reaches a much lower training loss and by far the flattest point by both
      measures. But part of that is the loss itself: with cross-entropy, the curvature shrinks
      as the predicted probabilities approach 0 and 1, so a lower loss is flatter almost
      automatically. Sharpness compared at different losses is confounded.

    So on this small problem the "large batch, sharp minimum, worse test accuracy" story appears
    only in a weak form once the budget and the training loss are controlled for. That matches
    the state of the research: the correlation was reported on large image models (Keskar et
    al., 2017), sharpness can be changed by reparametrising a network without changing its
    function at all (Dinh et al., 2017), and it remains debated how much sharpness explains.

    ## 5 · SAM: minimise the worst loss nearby

    **Sharpness-Aware Minimization** (Foret et al., 2021) asks for weights whose whole
    neighbourhood has a low loss:

    $$\min_w \; \max_{\|\epsilon\|_2 \le \rho} L(w + \epsilon) .$$

    The inner maximum is approximated by one step to the edge of the ball, uphill, and the
    gradient is then taken *there* and applied *here*:

    $$\epsilon = \rho\, \frac{g}{\|g\|_2},\quad g = \nabla L(w); \qquad
      g_{\text{SAM}} = \nabla L(w + \epsilon); \qquad
      w \leftarrow \text{base step}(w, g_{\text{SAM}}) .$$

    Two forward and backward passes per step: about twice the cost. Written out for any base
    optimizer, then checked against `course_lib.sam.SAM` (which the training function above
    already uses when given `sam_rho`):
    """),
    code(r"""
    def sam_step(model, base_optimizer, loss_fn, rho):
        params = [p for p in model.parameters()]
        base_optimizer.zero_grad(set_to_none=True)
        loss = loss_fn()
        loss.backward()                                          # g = grad L(w)
        g_norm = torch.sqrt(sum((p.grad ** 2).sum() for p in params))
        with torch.no_grad():
            eps = [rho * p.grad / (g_norm + 1e-12) for p in params]   # epsilon = rho g / |g|
            for p, e in zip(params, eps):
                p.add_(e)                                        # w + epsilon
        base_optimizer.zero_grad(set_to_none=True)
        loss_fn().backward()                                     # g_SAM = grad L(w + epsilon)
        with torch.no_grad():
            for p, e in zip(params, eps):
                p.sub_(e)                                        # back to w
        base_optimizer.step()                                    # step from w with g_SAM
        return loss

    from course_lib.sam import SAM   # the library version, compared with sam_step here

    seed_everything(0)
    mine = MLP([64, 64, 10], device=device)
    theirs = MLP([64, 64, 10], device=device)
    theirs.load_state_dict(mine.state_dict())
    opt_mine = torch.optim.SGD(mine.parameters(), lr=LR_SGD, momentum=MOMENTUM)
    opt_theirs = SAM(torch.optim.SGD(theirs.parameters(), lr=LR_SGD, momentum=MOMENTUM), rho=0.5)
    for step in range(5):
        idx = torch.arange(step * 64, (step + 1) * 64)
        sam_step(mine, opt_mine, lambda: F.cross_entropy(mine(X[idx]), Y[idx]), rho=0.5)

        def closure():
            loss = F.cross_entropy(theirs(X[idx]), Y[idx])
            loss.backward()
            return loss

        opt_theirs.step(closure)
    diff = max((a - b).abs().max().item() for a, b in zip(mine.parameters(), theirs.parameters()))
    print(f"after 5 SAM steps, largest difference between the two: {diff:.1e} "
          "(float32 rounding: the norms are summed in a different order)")
    """),
    md(r"""
    One comparison run: the full-batch, ten-times-longer setting again, now with SAM. The
    radius $\rho$ is a hyperparameter; the paper's default of 0.05 was tuned for large image
    models, and here it barely moves anything, so this run uses $\rho = 0.5$, small next to the
    length of the weight vector:
    """),
    code(r"""
    RHO = 0.5
    w_norm = torch.sqrt(sum((p ** 2).sum() for p in models["full batch, 10x epochs"].parameters()))
    print(f"weight vector length of the full-batch model: {w_norm.item():.1f}; rho = {RHO}")

    models["full batch, 10x epochs, SAM"], steps = train_mlp(len(X), 10 * EPOCHS, sam_rho=RHO)
    results["full batch, 10x epochs, SAM"] = measure(models["full batch, 10x epochs, SAM"], steps)
    print_table({k: results[k] for k in ["batch 128", "full batch, 10x epochs",
                                         "full batch, 10x epochs, SAM"]})
    ratio = results["full batch, 10x epochs"]["lambda_max"] / results["full batch, 10x epochs, SAM"]["lambda_max"]
    print(f"\nSAM lowered lambda_max {ratio:.1f}x at a similar training loss")
    """),
    code(r"""
    radii = np.linspace(0, 6, 13)
    fig, ax = plt.subplots(figsize=(6.4, 4))
    for name, model in models.items():
        ax.plot(radii, [perturbed_increase(model, r) for r in radii], "o-", markersize=3, label=name)
    ax.set_xlabel("distance r from the trained weights (random directions)")
    ax.set_ylabel("mean training-loss increase")
    ax.set_title("How fast the loss rises around each solution")
    ax.legend(fontsize=8)
    plt.show()
    """),
    md(r"""
    SAM did what it is built to do: at about the same training loss it found a point with a
    markedly smaller top eigenvalue; by random perturbations, which measure the average
    curvature rather than the steepest direction, it is only slightly flatter (in the figure above
    the SAM curve lies on the batch-128 curve, just below the full-batch curve it started from). The
    test accuracy moved by a few images at most, within the noise of a 450-image test set. On large image models SAM's
    reported gains are consistent; on a problem this small, flatness and test accuracy were not
    tightly linked in any of our runs. Treat SAM as a tool with a known cost (twice the
    gradients per step) and a real, measurable effect on sharpness, whose effect on accuracy
    you measure on your own problem.

    ## Takeaways

    - The Hessian's eigenvalues classify a stationary point: all positive is a minimum, mixed
      signs a saddle. Near a saddle, gradient descent crawls for $\ln(r/|y_0|)/\ln(1 + 2\eta)$
      steps: the cost of a saddle is time, and a little noise bounds it.
    - In $n$ dimensions a minimum needs $n$ positive curvatures at once; for random symmetric
      matrices that becomes rare faster than $2^{-n}$. Stalls at a poor loss are much more
      likely saddles and plateaus than bad local minima.
    - Sharpness is measurable without forming the Hessian: power iteration on Hessian-vector
      products gives $\lambda_{\max}$; random perturbations give the average curvature.
    - Compare sharpness at equal training loss and equal budget. Here, "large batch" mostly
      meant "fewer steps"; controlled for that, the batch sizes found similar points.
    - SAM minimises the worst loss in a ball of radius $\rho$, at twice the cost per step. It
      lowered sharpness clearly here; its effect on accuracy is for each problem to show.

    ## Misconception: "gradient descent gets stuck in bad local minima"

    In many dimensions the stationary points that trap training at a poor loss are mostly
    saddles, and gradient descent is not trapped by them, only slowed (section 1: every run
    with $y_0 \neq 0$ or with noise escaped). The loss curve's long flat stretches are where to
    look for them.

    ## Misconception: "flatter always means better generalisation"

    Section 4 shows a counterexample to the simple version: the flattest solution was partly
    flat *because* its loss was lowest, and SAM's much flatter solution did not test measurably
    better. Sharpness also depends on how the weights are parametrised (scale one layer up and
    the next down: same function, different curvature). It is a useful signal, not a law.
    """),
    md(r"""
    ## Questions

    1. With $\eta = 0.1$, how many steps does a run from $(1, 10^{-16})$ spend within 0.1 of
       the saddle? Predict, then change `descend_saddle`'s start and measure.
    2. What happens on $x^2 - y^2$ with $\eta = 0.6$? Look at the factor $1 - 2\eta$ along $x$.
    3. Power iteration finds the eigenvalue of largest *magnitude*. At a saddle, when could it
       return a negative number, and how would you find the most negative eigenvalue instead?
    4. Why does the perturbation measure at fixed $r$ say less about the sharpest direction
       than $\lambda_{\max}$ does? (In $n$ dimensions, how much of a random unit vector lies
       along one given direction?)
    5. Re-run section 4 with `seed=1` and `seed=2`. Which conclusions survive?
    6. SAM with $\rho = 0$ is the base optimizer at twice the cost. What does a very large
       $\rho$ do?
    """),
]

if __name__ == "__main__":
    path = write_notebook(ROOT / "notebooks" / "11_landscape_geometry.ipynb", cells)
    print(f"wrote {path.relative_to(ROOT)}")
