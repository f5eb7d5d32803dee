"""Build notebooks/03_learning_rate.ipynb (run from the repository root).

    .venv/bin/python tools/lessons/build_03.py
    .venv/bin/python tools/execute_notebooks.py notebooks/03_learning_rate.ipynb
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tools.nbbuild import code, md, write_notebook  # noqa: E402

cells = [
    md(r"""
    # 03 · The learning rate

    Lesson 02 ran into a cliff: gradient descent on raw square footage blew up at any learning
    rate above a tiny threshold, and crawled just below it. This lesson maps that cliff. Of all
    the settings of a training run, the learning rate is the one most likely to decide on its own
    whether the run works at all; it is also one you can reason about exactly: on a quadratic, one
    line of algebra says which learning rates converge, which oscillate and which explode, and
    how fast each one goes.

    **What you will learn**
    - What "too high", "too low" and "about right" look like, step by step, on $f(w) = w^2$.
    - Why every step multiplies the distance to the minimum by $1 - \eta L$, and so why
      $\eta < 2/L$ is the exact stability threshold ($L$ = the curvature).
    - How sharp that threshold is, by a sweep across it.
    - In two dimensions: the steepest direction sets the limit, the flattest sets the speed, and
      their ratio, the condition number, counts the steps.
    - How to explore all of this with a log-scale learning-rate slider.
    - Where the default learning rates you will meet come from, and what they are not.
    """),
    md(r"""
    **Prerequisites:** lesson 02 (the update $w \leftarrow w - \eta\, \nabla f(w)$, and the Hessian
    whose eigenvalues are the curvatures of a quadratic).

    **Time:** about 35 minutes, sliders included.
    """),
    code(r"""
    import inspect
    import math

    import matplotlib.pyplot as plt
    import numpy as np
    import torch

    from course_lib.device import default_device, seed_everything
    from course_lib.landscapes import get_landscape, make_ravine, run_optimizer, steps_to_converge
    from course_lib.optim import SGD
    from course_lib.plots import course_style, plot_losses, plot_trajectory_2d

    course_style()
    device = default_device()
    g = seed_everything(0)
    """),
    md(r"""
    ## 1 · One knob, three behaviours

    The smallest problem that shows everything: $f(w) = w^2$, minimum at $w = 0$, slope
    $f'(w) = 2w$. Gradient descent from $w_0 = 5$ repeats one line,

    $$w_{t+1} = w_t - \eta\, f'(w_t) = w_t - \eta \cdot 2 w_t ,$$

    where $\eta$ (`lr`) is the learning rate. Here it is as code, run for five steps at three
    learning rates:
    """),
    code(r"""
    def gradient_descent_1d(lr, w0=5.0, steps=5):
        # the iterates w_0, w_1, ..., w_steps of gradient descent on f(w) = w^2
        ws = [w0]
        w = w0
        for _ in range(steps):
            grad = 2 * w         # f'(w)
            w = w - lr * grad    # the update rule
            ws.append(w)
        return ws


    for lr in (1.1, 0.001, 0.3):
        print(f"lr = {lr:<6} w: " + ", ".join(f"{w:.4g}" for w in gradient_descent_1d(lr)))
    """),
    md(r"""
    Three different stories from one line of code:

    - **lr = 1.1, too high.** The first step jumps clean over the minimum to $-6$, farther from 0
      than where it started; the next lands at $7.2$, then $-8.64$, $10.37$. Every step
      overcorrects by more than the last. In a real run this is the loss that climbs, then prints
      `inf`, then `nan`.
    - **lr = 0.001, too low.** After five steps $w$ has moved from 5 to 4.95. Nothing is wrong
      and nothing is happening: the loss goes down, so a log looks healthy, but at this pace the
      run will take a very long time (section 2 counts how long).
    - **lr = 0.3, about right.** $5 \to 2 \to 0.8 \to 0.32$: the distance to the minimum shrinks by
      the same factor every step.

    The same three runs over more steps, on a log scale for the loss:
    """),
    code(r"""
    lrs = (1.1, 0.001, 0.3)
    fig, (ax_w, ax_loss) = plt.subplots(1, 2, figsize=(9, 3.5))
    for lr in lrs:
        ax_w.plot(gradient_descent_1d(lr, steps=10), marker="o", markersize=4, label=f"lr = {lr}")
    ax_w.axhline(0, color="black", linewidth=0.8)
    ax_w.set(xlabel="step", ylabel="w", title="the iterates")
    ax_w.legend()
    losses = {f"lr = {lr}": [w**2 for w in gradient_descent_1d(lr, steps=40)] for lr in lrs}
    plot_losses(losses, ax=ax_loss, log_y=True, title="the loss f(w) = w²")
    plt.show()
    """),
    md(r"""
    ## 2 · Why the edge is at exactly $2/L$

    Take any one-dimensional quadratic, $f(w) = \frac{L}{2} w^2$. Its curvature (second
    derivative) is $L$ everywhere, and its slope is $f'(w) = L w$. One step of gradient descent is

    $$w_{t+1} = w_t - \eta L w_t = (1 - \eta L)\, w_t , \qquad\text{so}\qquad
    w_t = (1 - \eta L)^t \, w_0 .$$

    Everything about the run is in the one number $1 - \eta L$. The distance to the minimum
    shrinks exactly when $|1 - \eta L| < 1$, that is when

    $$0 < \eta < \frac{2}{L} .$$

    Inside that window there are three regimes: for $\eta L < 1$ the factor is positive and $w$
    creeps towards 0 from one side; at $\eta L = 1$ it is zero and one step lands on the minimum;
    for $1 < \eta L < 2$ it is negative, so $w$ flips sign every step but still shrinks. At
    $\eta L = 2$ it bounces forever; above, every bounce is bigger than the last.

    A systems analogy that is exact here: a proportional controller that corrects a fraction $K$
    of its error each tick has error$_{t+1} = (1 - K)\,$error$_t$. Below $K = 1$ it is sluggish,
    between 1 and 2 it overshoots and rings down, above 2 it rings *up*: too much gain. Gradient
    descent on a quadratic is that loop with gain $K = \eta L$.

    For $f(w) = w^2$ the curvature is $L = 2$. Compute the factor, and what it predicts, for a few
    learning rates (the number of steps to shrink the distance a million-fold is
    $\log 10^{-6} / \log|1 - \eta L|$):
    """),
    code(r"""
    L = 2.0  # f''(w) for f(w) = w^2
    print(f"threshold 2/L = {2 / L:g}\n")
    for lr in (0.001, 0.3, 0.5, 0.9, 1.0, 1.1):
        factor = 1 - lr * L
        if factor == 0:
            fate = "lands on the minimum in one step"
        elif abs(factor) < 1:
            fate = f"distance shrinks a million-fold in {math.ceil(math.log(1e-6) / math.log(abs(factor)))} steps"
        elif abs(factor) == 1:
            fate = "bounces between +5 and -5 forever"
        else:
            fate = f"distance grows a million-fold in {math.ceil(math.log(1e6) / math.log(abs(factor)))} steps"
        print(f"lr = {lr:<6} 1 - lr*L = {factor:+.3f}   {fate}")

    # the prediction is exact: compare the measured ratio w[t+1] / w[t] at lr = 1.1
    ws = gradient_descent_1d(1.1)
    print("\nmeasured w[t+1] / w[t] at lr = 1.1:", [round(b / a, 12) for a, b in zip(ws, ws[1:])])
    """),
    md(r"""
    The factor explains section 1 completely: $-1.2$ at lr = 1.1 (flip sign and grow by 20% per
    step, exactly what the measured ratios show), $0.998$ at lr = 0.001 (6,901 steps to get
    anywhere), $0.4$ at lr = 0.3 (16 steps). The fastest learning rate is not the largest stable
    one: $\eta = 1/L = 0.5$ finishes in a single step, and $\eta = 0.9$, closer to the edge, needs
    62 because it oscillates.

    ## 3 · How sharp is the edge?

    Run 100 steps at 201 learning rates between 0.9 and 1.1 and record the loss at the end:
    """),
    code(r"""
    sweep = np.linspace(0.9, 1.1, 201)
    final_loss = np.array([gradient_descent_1d(lr, steps=100)[-1] ** 2 for lr in sweep])
    start_loss = 5.0**2
    shrank, grew = sweep[final_loss < start_loss], sweep[final_loss > start_loss]
    print(f"largest lr whose loss went down: {shrank.max():.3f}")
    print(f"smallest lr whose loss went up:  {grew.min():.3f}")
    print(f"loss after 100 steps at lr = {sweep[0]:.2f}: {final_loss[0]:.1g}, "
          f"at lr = {sweep[-1]:.2f}: {final_loss[-1]:.1g}")

    fig, ax = plt.subplots(figsize=(9, 3.5))
    ax.semilogy(sweep, final_loss, marker=".", markersize=3, linewidth=1)
    ax.axvline(2 / L, color="#D55E00", linestyle="--", label="2/L")
    ax.axhline(start_loss, color="gray", linestyle=":", label="starting loss")
    ax.set(xlabel="learning rate", ylabel="loss after 100 steps",
           title="f(w) = w²: a sweep across the threshold")
    ax.legend()
    plt.show()
    """),
    md(r"""
    The switch is as sharp as the sweep can resolve: the loss went down at every learning rate up
    to 0.999 and up at every one from 1.001. Across this narrow window, 0.9 to 1.1, the loss after
    100 steps spans from about $10^{-18}$ to $10^{17}$. And just below the edge nothing looks
    alarming: the loss still goes down, only more slowly. That is why people tune learning rates
    on a log scale and then back off from the largest one that works.

    ## 4 · Two dimensions: the steepest direction sets the limit

    Real losses have many directions, each with its own curvature. The course's ravine is

    $$f(x, y) = \tfrac12 \left(x^2 + \kappa\, y^2\right),$$

    a long valley along $x$ (curvature 1) with steep walls across it (curvature $\kappa$). The
    gradient is $(x, \kappa y)$, so one step updates the two coordinates separately,
    $x \leftarrow (1 - \eta)\,x$ and $y \leftarrow (1 - \eta\kappa)\,y$: two copies of section 2,
    with $L = 1$ and $L = \kappa$. Both must be stable, so the **largest** curvature sets the
    limit, $\eta < 2/\lambda_{\max}$. In general the curvatures are the eigenvalues of the Hessian,
    which autograd computes for us:
    """),
    code(r"""
    ravine = get_landscape("ravine")
    lam_min, lam_max = torch.linalg.eigvalsh(ravine.hessian((0.0, 0.0))).tolist()
    print(f"curvatures (Hessian eigenvalues): {lam_min:g} and {lam_max:g}")
    print(f"condition number kappa = lam_max / lam_min = {lam_max / lam_min:g}")
    print(f"largest stable learning rate 2 / lam_max = {2 / lam_max:g}")
    """),
    md(r"""
    From here on the loop is the library's: `course_lib.optim.SGD` is the same update, inside a
    real `torch.optim.Optimizer`. A quick check that it produces our numbers on $w^2$:
    """),
    code(r"""
    w = torch.tensor(5.0, dtype=torch.float64, requires_grad=True)
    opt = SGD([w], lr=1.1)
    library = [w.item()]
    for _ in range(5):
        opt.zero_grad()
        loss = w**2
        loss.backward()
        opt.step()
        library.append(w.item())

    print("course_lib.optim.SGD:", ", ".join(f"{v:.4g}" for v in library))
    print("our loop:            ", ", ".join(f"{v:.4g}" for v in gradient_descent_1d(1.1)))
    print("equal to 12 digits:", np.allclose(library, gradient_descent_1d(1.1), rtol=1e-12, atol=0))
    """),
    md(r"""
    Now run it on the ravine 10% below and 10% above the limit, from the ravine's usual start:
    """),
    code(r"""
    runs = {}
    for lr in (0.09, 0.11):
        runs[lr] = run_optimizer(ravine, lambda params, lr=lr: SGD(params, lr=lr), steps=100,
                                 device=device)
        r = runs[lr]
        if r["diverged"]:
            print(f"lr = {lr}: diverged at step {r['diverged_at']} (a coordinate passed 1e6)")
        else:
            print(f"lr = {lr}: loss after {r['steps_run']} steps: {r['losses'][-1]:.2g}")

    fig, axes = plt.subplots(1, 3, figsize=(10, 3.4))
    for ax, lr, color in zip(axes, runs, ("C0", "C1")):
        plot_trajectory_2d(ravine, runs[lr], ax=ax, color=color, resolution=120)
        ax.set_title(f"lr = {lr}" + (" (diverged)" if runs[lr]["diverged"] else ""))
    plot_losses({f"lr = {lr}": r["losses"] for lr, r in runs.items()}, ax=axes[2], log_y=True,
                title="loss")
    plt.show()
    """),
    md(r"""
    Below the limit the path zig-zags across the valley (the $y$ factor is $1 - 0.09 \cdot 20$,
    negative) while it slides along it; above, the zig-zag grows until the run is stopped as
    diverged at step 74. Along the floor of the valley nothing went wrong in either run: the
    steep direction alone decided.

    ## 5 · ...and the flattest direction sets the speed

    Once the steep direction has capped $\eta$, the flat direction is stuck with it: its factor
    $1 - \eta\lambda_{\min}$ is close to 1 whenever $\eta \lambda_{\max} < 2$ and
    $\lambda_{\min} \ll \lambda_{\max}$. The best a single learning rate can do is balance the two
    ends, $\eta^* = 2/(\lambda_{\min} + \lambda_{\max})$, where both factors have size
    $(\kappa - 1)/(\kappa + 1)$. The loss, a square, shrinks by the square of that per step.
    Measure the steps to reach a loss below $10^{-6}$ at that best rate, for ravines of growing
    condition number $\kappa$, and compare with the prediction:
    """),
    code(r"""
    print(" kappa   best lr   steps (measured)   steps (predicted)")
    measured = {}
    for kappa in (4, 16, 64, 256):
        valley = make_ravine(kappa=kappa)
        best_lr = 2 / (1 + kappa)
        rate = (kappa - 1) / (kappa + 1)
        start_loss = valley(torch.tensor(valley.start)).item()
        predicted = math.log(1e-6 / start_loss) / (2 * math.log(rate))
        run = run_optimizer(valley, lambda params, lr=best_lr: SGD(params, lr=lr),
                            steps=math.ceil(1.2 * predicted) + 5, device=device)
        measured[kappa] = steps_to_converge(run["losses"], valley.f_min, tol=1e-6)
        print(f"{kappa:6d}   {best_lr:7.4f}   {measured[kappa]:16d}   {predicted:17.1f}")
    print(f"\nsteps(256) / steps(64) = {measured[256] / measured[64]:.2f}")
    """),
    md(r"""
    The prediction is right to the step, and the count grows in proportion to $\kappa$:
    quadrupling the condition number from 64 to 256 multiplied the steps by 4.28. This is the
    whole problem that the rest of the course's optimizers attack. Momentum (lesson 04) makes the
    count grow like $\sqrt\kappa$ instead of $\kappa$; adaptive methods (lesson 05) give each
    coordinate its own step size, which helps most when, as here, the valley lines up with the
    axes.

    ## 6 · Explore it yourself

    The explorer below runs plain gradient descent at the learning rate on its slider, on
    $f(w) = w^2$ or on a 2-D landscape. Build it, and look at the slider's range and step, and at
    the curvatures of the one landscape in its menu that is not a quadratic, Rosenbrock's banana
    valley:
    """),
    code(r"""
    from course_lib.widgets import lr_explorer, lr_result

    explorer = lr_explorer(lr=0.1, landscape="quadratic", device=device)
    slider = explorer.controls["lr"]
    print(f"learning-rate slider: {slider.base ** slider.min:g} to {slider.base ** slider.max:g}, "
          f"log scale; one arrow-key press multiplies lr by {slider.base ** slider.step:.2f}")

    rosenbrock = get_landscape("rosenbrock")
    low, high = torch.linalg.eigvalsh(rosenbrock.hessian(rosenbrock.minima[0])).tolist()
    print(f"Rosenbrock at its minimum: curvatures {low:.3g} and {high:.4g} "
          f"(ratio {high / low:,.0f}), so 2/L = {2 / high:.2g}")
    """),
    md(r"""
    The left panel is the path, the middle one the loss on a log axis (dotted lines mark
    "converged" and "diverged"), the right one the per-step factor $|1 - \eta\lambda|$ of each
    curvature against the learning rate, with your setting as a dot and $2/L$ as the red line.
    The readout above the picture names the setting and says what happened. Things to try:

    - On $f(w) = w^2$: find the one-step learning rate; then go to 0.9, 1.0 and 1.12 and watch
      the path on the parabola.
    - Switch to the ravine: the red line moves to $2/\lambda_{\max}$. Find the learning rate that
      converges in the fewest steps, and compare it with $\eta^*$ from section 5.
    - Switch to Rosenbrock: its curvatures at the minimum differ by a factor of about 2,500, so only
      learning rates below about 0.002 survive near the minimum, and those crawl along the valley.

    In a static copy of this notebook (GitHub, nbviewer) you see a picture of the starting setting.
    """),
    code(r"""
    explorer
    """),
    md(r"""
    Every picture of the explorer comes from a plain function you can call yourself:
    `lr_result(lr, landscape)` returns the path, the losses and what happened, in numbers. At the
    ravine's limit and on either side of it:
    """),
    code(r"""
    for lr in (0.09, 0.1, 0.11):
        print(lr_result(lr, "ravine", device=device).readout, end="\n\n")
    """),
    md(r"""
    Exactly at $\eta = 2/\lambda_{\max}$ the run neither converges nor diverges: the steep
    coordinate flips sign forever at full size, like $w$ at lr = 1 on $w^2$.

    Notice that lr = 0.11 "diverged at step 39" here but at step 74 in section 4. Same run, two
    circuit breakers: `run_optimizer` trips when a coordinate passes $10^6$, the explorer as soon
    as the loss passes a million times its starting value. "Diverged at step $k$" always depends on
    such a rule; the growth factor per step, $|1 - \eta\lambda_{\max}|$, does not.

    ## 7 · Real networks, and the defaults you will meet

    In a network the curvature is not known in advance. The largest eigenvalue of the loss's
    Hessian (often called the *sharpness*) depends on the architecture, the data, the loss's
    scale, and it changes during training. So the learning rate is found by trying, on a log
    scale: $10^{-4}, 3\cdot10^{-4}, 10^{-3}, \dots$ The slider above is logarithmic for the same
    reason: what matters is the ratio $\eta / (2/L)$, not the difference.

    Two starting points come up constantly, and they are often confused:
    """),
    code(r"""
    adam_default = inspect.signature(torch.optim.Adam).parameters["lr"].default
    sgd_default = inspect.signature(torch.optim.SGD).parameters["lr"].default
    folk_default = 3e-4
    print(f"torch.optim.Adam default lr: {adam_default:g}")
    print(f"torch.optim.SGD default lr:  {sgd_default:g}")
    print(f"the folk default 3e-4 is {adam_default / folk_default:.2f} times smaller than Adam's")
    """),
    md(r"""
    - **1e-3 is Adam's published default.** Kingma and Ba's paper (ICLR 2015) proposes
      $\alpha = 0.001$ as a good default step size, and PyTorch's `Adam` uses it, as printed above.
    - **3e-4 is a folk default, not Adam's.** It was popularised by a 2016 tweet from Andrej
      Karpathy and stuck because it is a reasonable first guess for Adam on many networks. It is
      3.33 times smaller than the published default; neither is derived from your problem.

    Treat both as the first point of a sweep, never as the answer. Adam changes the picture of
    this lesson in one important way (its step size is roughly the learning rate per
    coordinate, whatever the gradient's scale; lesson 05), which is part of why one default
    travels between problems better for Adam than for plain SGD.

    Searching by hand is slow. **Lesson 09** automates it with the LR range test: raise the learning
    rate exponentially during one short run and watch where the loss stops falling and starts to
    blow up. That blow-up is the edge you met here, found empirically on a network whose $L$
    nobody knows.

    ## Misconception 1: "a smaller learning rate is always the safe choice"

    Smaller is stable, but stability is not the goal: a finished model is. With a fixed budget of
    steps, a learning rate that is too small loses just as surely as one that is too large; it
    only fails more quietly, because its loss curve keeps going down.
    """),
    code(r"""
    budget = 100
    for lr in (1e-3, 1e-2, 0.09):
        run = run_optimizer(ravine, lambda params, lr=lr: SGD(params, lr=lr), steps=budget, device=device)
        drop = run["losses"][0] / run["losses"][-1]
        falling = bool(run["losses"][-1] < run["losses"][-2])
        print(f"lr = {lr:<6} loss after {budget} steps: {run['losses'][-1]:8.3g}   "
              f"down by a factor of {drop:.2g}; still falling: {falling}")
    """),
    md(r"""
    All three runs are stable and all three losses are still falling at the end. In the same 100
    steps the smallest learning rate cut the loss by a factor of 4, the largest by a factor of
    about $6 \times 10^8$. A slowly falling loss is not a sign of health; compare it against a larger
    learning rate before you wait a week for it.

    ## Misconception 2: "a good learning rate belongs to the optimizer"

    "3e-4 for Adam, 0.1 for SGD" sounds like a property of the algorithm. For gradient descent it
    is a property of the loss: the threshold is $2/L$, and $L$ scales with the loss. A common way
    to rescale a loss without noticing is to sum over a batch instead of averaging: the gradient,
    and the curvature, grow by the batch size. The same fit of a linear model to 64 examples, with
    `reduction="mean"` and `reduction="sum"`, at the same learning rate:
    """),
    code(r"""
    X = torch.randn(64, 3, generator=g, dtype=torch.float64)
    y = X @ torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    sharpness = {}
    for reduction in ("mean", "sum"):
        w = torch.zeros(3, dtype=torch.float64, requires_grad=True)
        hessian = torch.autograd.functional.hessian(
            lambda v: torch.nn.functional.mse_loss(X @ v, y, reduction=reduction), w.detach())
        L_red = sharpness[reduction] = torch.linalg.eigvalsh(hessian)[-1].item()
        opt = SGD([w], lr=0.1)
        for _ in range(30):
            opt.zero_grad()
            loss = torch.nn.functional.mse_loss(X @ w, y, reduction=reduction)
            loss.backward()
            opt.step()
        mse = torch.nn.functional.mse_loss(X @ w, y).item()
        print(f"reduction={reduction!r:7} L = {L_red:7.2f}  2/L = {2 / L_red:.4f}   "
              f"lr = 0.1 -> mean squared error after 30 steps: {mse:.3g}")
    print(f"L(sum) / L(mean) = {sharpness['sum'] / sharpness['mean']:g}")
    """),
    md(r"""
    Summing made $L$ 64 times larger, so the same learning rate of 0.1 went from comfortably
    below the threshold to far above it: one run fits the data, the other explodes. When you copy a
    learning rate from a paper or a colleague, you also copy their loss scale, batch size and
    reduction; change any of them and the number means something else.

    ## Takeaways

    - On a quadratic, gradient descent multiplies the distance to the minimum by $1 - \eta\lambda$
      along each curvature direction $\lambda$ per step. That one factor gives creeping
      ($\eta\lambda < 1$), one-step ($=1$), ringing ($1$ to $2$) and diverging ($> 2$) runs.
    - The stability threshold is $\eta < 2/L$ with $L$ the **largest** curvature, and it is a cliff,
      not a slope: nothing warns you on the way up to it.
    - The **smallest** curvature then sets the speed. The number of steps grows in proportion to
      the condition number $\kappa = \lambda_{\max}/\lambda_{\min}$, the motivation for momentum
      and adaptive methods.
    - Search learning rates on a log scale. 1e-3 is Adam's published default (and PyTorch's);
      3e-4 is a folk default; both are starting points. The LR finder (lesson 09) automates the
      search.
    - A learning rate is tied to the loss's scale: sum instead of mean, or a larger batch with a
      summed loss, and the same number diverges.

    ## Questions to think about

    1. You switch a loss from a mean over a batch of 32 to a sum. By what factor must the learning
       rate of plain SGD change to behave exactly as before? Would Adam need the change? (Hint:
       what happens to $m/\sqrt{v}$ when every gradient is multiplied by 32?)
    2. On the ravine, the fastest single learning rate is $2/(\lambda_{\min} + \lambda_{\max})$,
       not $2/\lambda_{\max}$. Why does going closer to the edge make things slower?
    3. Cohen et al. (2021) observed that during full-batch training of neural networks the
       sharpness often rises until it hovers near $2/\eta$, the "edge of stability". From this
       lesson, what would you expect the loss to do at that point, step by step?
    4. Rosenbrock's function is not a quadratic: the explorer's red line comes from its curvature
       at the minimum, and on the way there from the standard start the curvature is different.
       Predict whether a learning rate just below the line survives the trip, and one just above
       it; then try both with the slider.
    5. The slider moves in steps that multiply the learning rate by 1.12. Why is a step of
       constant *ratio*, rather than a constant difference, the right way to move it?

    **Next:** the exercises for this lesson (`exercises/03_learning_rate.ipynb`) ask you to write
    the trajectory function and the threshold $2/\lambda_{\max}$ of any quadratic. Lesson 04
    fixes the crawl along the valley with momentum.
    """),
]

if __name__ == "__main__":
    write_notebook(ROOT / "notebooks" / "03_learning_rate.ipynb", cells)
    print("wrote notebooks/03_learning_rate.ipynb")
