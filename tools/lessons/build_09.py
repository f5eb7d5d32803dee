"""Build notebooks/09_lr_finder.ipynb (run from the repository root).

    .venv/bin/python tools/lessons/build_09.py
    .venv/bin/python tools/execute_notebooks.py notebooks/09_lr_finder.ipynb
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tools.nbbuild import code, md, write_notebook  # noqa: E402

cells = [
    md(r"""
    # 09 · The LR finder: a range test in one short run

    Lesson 03 showed that the learning rate matters more than any other setting, and that a
    grid of full trainings is the honest way to choose it. That grid is expensive. The
    **learning-rate range test** (Leslie Smith, 2015; popularized as fastai's "LR finder") gets
    a rough answer from a single short run: train for about a hundred mini-batches while
    raising the learning rate exponentially from tiny to huge, and watch where the loss starts
    to fall and where it blows up.

    **What you will learn**
    - How the range test works: an exponential sweep, a bias-corrected moving average, and a
      stopping rule at 4x the best loss, written out in a cell, then `course_lib.lr_finder`.
    - The three common ways to read a learning rate off the curve (steepest, valley,
      minimum/10), what each one aims at, and where they land on a real curve.
    - Whether to trust them: each suggestion checked against a grid of short trainings.
    - The classic bug (training on from the weights the sweep left behind) and how the
      library prevents it; what happens with a NaN and with too little data.
    """),
    md(r"""
    **Prerequisites:** lesson 03 (the learning rate), lesson 04 (momentum), lesson 05 (moving
    averages and bias correction in Adam). Logarithms.

    **Time:** about 30 minutes.

    The model throughout is a small MLP (64-64-10, ReLU) on the bundled 8x8 digits, trained
    with SGD with momentum 0.9 on mini-batches of 64.
    """),
    code(r"""
    import copy
    import math

    import matplotlib.pyplot as plt
    import numpy as np
    import torch
    import torch.nn.functional as F

    from course_lib.data import load_digits_split
    from course_lib.device import default_device, seed_everything
    from course_lib.models import MLP
    from course_lib.plots import course_style

    course_style()
    device = default_device()
    g = seed_everything(0)
    """),
    code(r"""
    data = load_digits_split(device=device)
    BATCH = 64


    def make_batches(seed=0):
        # get_batch() -> (x, y): a seeded stream of random mini-batches
        gen = torch.Generator().manual_seed(seed)

        def get_batch():
            idx = torch.randint(len(data.X_train), (BATCH,), generator=gen).to(device)
            return data.X_train[idx], data.y_train[idx]

        return get_batch


    def new_model():
        seed_everything(0)  # every model starts from the same weights
        return MLP([64, 64, 10], device=device)


    def new_optimizer(model, lr=0.01):
        return torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)


    def train_loss(model):
        with torch.no_grad():
            return F.cross_entropy(model(data.X_train), data.y_train).item()


    print(f"{len(data.X_train)} training images; loss of the untrained model: {train_loss(new_model()):.3f}")
    """),
    md(r"""
    ## 1 · How the range test works

    **The sweep.** Step $i$ of $N$ uses the learning rate

    $$\eta_i = \eta_{start} \left(\frac{\eta_{end}}{\eta_{start}}\right)^{i/(N-1)}, \qquad i = 0, \dots, N-1,$$

    so each step multiplies the lr by the same factor and every decade gets the same number of
    steps. The usual settings are $\eta_{start} = 10^{-7}$, $\eta_{end} = 10$ and $N = 100$.

    **The smoothing.** A mini-batch loss is noisy, so the curve read by the rules is an
    exponential moving average with bias correction, exactly like Adam's moments:

    $$a_i = \beta a_{i-1} + (1 - \beta)\,\ell_i, \quad a_0 = 0, \qquad \hat a_i = \frac{a_i}{1 - \beta^{i}}, \qquad \beta = 0.98.$$

    **The stop.** Once the lr is too large the loss explodes, and every further step is wasted
    (and may produce NaN). The sweep stops when the smoothed loss exceeds 4 times the best
    smoothed loss so far.

    Written out, without any bookkeeping:
    """),
    code(r"""
    def simple_range_test(model, optimizer, get_batch, start_lr=1e-7, end_lr=10.0, num_iters=100,
                          beta=0.98, stop_factor=4.0):
        lrs, smoothed = [], []
        avg, best = 0.0, math.inf
        for i in range(num_iters):
            lr = start_lr * (end_lr / start_lr) ** (i / (num_iters - 1))   # exponential sweep
            for group in optimizer.param_groups:
                group["lr"] = lr
            x, y = get_batch()
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            avg = beta * avg + (1 - beta) * loss.item()                    # moving average
            avg_hat = avg / (1 - beta ** (i + 1))                          # bias correction
            lrs.append(lr)
            smoothed.append(avg_hat)
            best = min(best, avg_hat)
            if avg_hat > stop_factor * best:                               # exploded: stop
                break
        return lrs, smoothed


    model = new_model()
    optimizer = new_optimizer(model)
    lrs_simple, smoothed_simple = simple_range_test(model, optimizer, make_batches(seed=0))
    print(f"steps per decade: {99 / math.log10(10.0 / 1e-7):.1f}")
    print(f"stopped after {len(lrs_simple)} of 100 steps, at lr = {lrs_simple[-1]:.3g}")
    print(f"lowest smoothed loss {min(smoothed_simple):.3f} at lr = {lrs_simple[int(np.argmin(smoothed_simple))]:.3g}")
    """),
    md(r"""
    That loop has a flaw that is easy to miss: it **trains the model**. After it, `model` holds
    the weights of the last, exploding steps, and the optimizer holds the last learning rate
    and a momentum buffer full of huge gradients. Continue training from there and the run is
    ruined:
    """),
    code(r"""
    print(f"learning rate left in the optimizer: {optimizer.param_groups[0]['lr']:.3g}")
    print(f"training loss of the model the sweep left behind: {train_loss(model):.3g} "
          f"(a fresh model: {train_loss(new_model()):.3f})")
    """),
    md(r"""
    `course_lib.lr_finder.lr_range_test` does the same sweep, then puts the model and the
    optimizer back **exactly** as they were (deep copies of both `state_dict`s taken before
    the sweep, restored afterwards even if the sweep raises). It also stops on a NaN or
    infinite loss, handles losses that are negative (a plain "4x the best" test breaks for
    those), checks its data, and computes the suggestions of the next section. On the same
    model and batches it records the same curve as our loop:
    """),
    code(r"""
    from course_lib.lr_finder import lr_range_test, plot_lr_finder

    model = new_model()
    optimizer = new_optimizer(model)
    weights_before = copy.deepcopy(model.state_dict())
    result = lr_range_test(model, optimizer, make_batches(seed=0), F.cross_entropy, device=device)

    same = np.allclose(result.lrs, lrs_simple) and np.allclose(result.smoothed_losses, smoothed_simple)
    print(f"same lrs and smoothed losses as simple_range_test: {same}")
    print(f"why it stopped: {result.stopped_early}")
    """),
    md(r"""
    ## 2 · Reading a learning rate off the curve

    Three rules are in common use; each is a guess about where "fast but stable" lies:

    - **steepest**: the lr where the smoothed loss falls fastest per decade, the most negative
      $d\hat a / d\log\eta$ (Smith's suggestion; torch-lr-finder's default; fastai's `steep`).
      Learning is fastest there, and it is left of the minimum, so not yet unstable.
    - **valley** (fastai's default): find the longest descending stretch of the curve and take
      a point partway down it (half-way through its middle third).
    - **minimum_div_10**: the lr at the lowest smoothed loss, divided by 10. At the minimum the
      loss is about to explode *while the lr keeps rising*; a tenth of it is the safe side of
      that edge.

    The first tenth of the points and the last five are ignored by the first two rules: the
    start is flat noise and the end is the explosion.
    """),
    code(r"""
    for name, lr in result.suggestions.items():
        print(f"{name:>15}: lr = {lr:.3g}")

    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    plot_lr_finder(result, ax=ax)
    ax.set_title("LR range test: MLP on digits, SGD with momentum 0.9")
    plt.show()
    """),
    md(r"""
    ## 3 · Are the suggestions any good? A grid of short trainings

    The range test is a shortcut for the real question: *which constant learning rate trains
    this model best?* Answer that directly for comparison: 11 learning rates spaced evenly in
    log scale, each a short training run (200 steps) from the same initial weights on the same
    batches, scored by the final loss on the whole training set. Then train the same way at
    each suggested lr.
    """),
    code(r"""
    STEPS = 200


    def short_run(lr, steps=STEPS):
        model = new_model()
        opt = new_optimizer(model, lr=lr)
        get_batch = make_batches(seed=1)
        for _ in range(steps):
            x, y = get_batch()
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            if not torch.isfinite(loss):
                return math.inf                  # diverged
            loss.backward()
            opt.step()
        final = train_loss(model)
        return final if math.isfinite(final) else math.inf


    grid_lrs = np.logspace(-3, 0.5, 11)
    grid_losses = [short_run(lr) for lr in grid_lrs]
    best_i = int(np.argmin(grid_losses))
    best_lr = grid_lrs[best_i]
    for lr, loss in zip(grid_lrs, grid_losses):
        mark = "   <- best" if lr == best_lr else ""
        print(f"lr = {lr:7.4f}: final training loss {loss:.4f}{mark}" if math.isfinite(loss)
              else f"lr = {lr:7.4f}: diverged")
    """),
    code(r"""
    print(f"{'suggestion':<16} {'lr':>8} {'lr / best grid lr':>18} {'final loss at that lr':>22}")
    suggestion_losses = {}
    for name, lr in result.suggestions.items():
        suggestion_losses[name] = short_run(lr)
        print(f"{name:<16} {lr:>8.3g} {lr / best_lr:>18.2f} {suggestion_losses[name]:>22.4f}")
    print(f"{'best grid lr':<16} {best_lr:>8.3g} {1.0:>18.2f} {grid_losses[best_i]:>22.4f}")
    spread = max(result.suggestions.values()) / min(result.suggestions.values())
    print(f"largest / smallest suggestion: {spread:.0f}x")

    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    finite = [(lr, loss) for lr, loss in zip(grid_lrs, grid_losses) if math.isfinite(loss)]
    ax.plot(*zip(*finite), "o-", color="C0", label=f"grid: final loss after {STEPS} steps")
    markers = {"steepest": ("o", "C1"), "valley": ("s", "C2"), "minimum_div_10": ("^", "C3")}
    for name, lr in result.suggestions.items():
        marker, color = markers[name]
        ax.plot([lr], [suggestion_losses[name]], marker, color=color, ms=10, ls="none",
                label=f"{name} ({lr:.2g})")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("training loss after the short run")
    ax.legend()
    plt.show()
    """),
    md(r"""
    Read the table as the answer to "how far from the best lr of the grid does each rule
    land, and what does that cost?". A ratio of 0.5 or 2 means a factor of two away; the loss
    column says whether that factor matters. On this run:

    - **minimum_div_10** landed within about a factor of two *below* the best grid lr; its
      loss is what the grid shows at that lr: good, though not the best.
    - **steepest** landed *above* the best grid lr, where the grid's losses start to climb
      towards the cliff, and its short run ended with a clearly worse loss.
    - **valley** landed more than ten times *below*: perfectly safe, but after the same number
      of steps its loss is far from the best. A small lr is not dangerous, just slow.

    The three rules disagree by a factor of about 40 on one and the same curve. That is why a
    suggestion is a **starting point**, to be checked with a few short runs around it, as
    above.

    Why did the steepest-slope rule land high? The moving average with $\beta = 0.98$ remembers
    about $1/(1-\beta) = 50$ steps, about four decades of the sweep, so the smoothed curve
    *lags* the real one: it is still falling steeply when the raw loss has already turned. The
    rule can be recomputed on the recorded raw losses with less smoothing, without a new sweep:
    """),
    code(r"""
    from course_lib.lr_finder import smooth_losses, suggest_steepest

    print(f"memory of the average: 1/(1 - 0.98) = {1 / (1 - 0.98):.0f} steps "
          f"= {(1 / (1 - 0.98)) / (99 / math.log10(10.0 / 1e-7)):.1f} decades of the sweep")
    for beta in (0.98, 0.9, 0.6):
        lr = suggest_steepest(result.lrs, smooth_losses(result.losses, beta))
        print(f"smoothing beta = {beta:<4}: steepest = {lr:.3g}   ({lr / best_lr:.2f} x the best grid lr)")
    """),
    md(r"""
    Less smoothing moves the steepest point left, towards the best grid lr, at the price of a
    noisier curve: a reminder that the rules inherit every choice made in the sweep.

    ## 4 · Restoration, checked

    After `lr_range_test` the model has exactly the weights it had before (bit for bit, not
    approximately), and the optimizer has its learning rate and (empty) state back:
    """),
    code(r"""
    identical = all(torch.equal(weights_before[k], v) for k, v in model.state_dict().items())
    print(f"weights bit-for-bit identical after the range test: {identical}")
    print(f"optimizer lr after the range test: {optimizer.param_groups[0]['lr']}")
    print(f"optimizer state entries: {len(optimizer.state)}")
    """),
    md(r"""
    ## 5 · When things go wrong: NaN, and too little data

    **A NaN.** A loss that has become NaN or infinite carries no information, and one step on
    it turns every weight into NaN. The range test stops *before* stepping on it and says
    where it happened. To provoke one, use a hand-written cross-entropy that computes the
    softmax naively (once a logit is large enough, `exp` overflows float32, the threshold is
    printed below, and the ratio becomes inf/inf = NaN; `F.cross_entropy` avoids this with
    the log-sum-exp trick), switch off the 4x rule with a huge `diverge_factor`, and sweep to an absurd learning rate:
    """),
    code(r"""
    def naive_cross_entropy(logits, y):
        p = torch.exp(logits) / torch.exp(logits).sum(dim=1, keepdim=True)   # overflows
        return -torch.log(p[torch.arange(len(y), device=y.device), y]).mean()


    model = new_model()
    optimizer = new_optimizer(model)
    wild = lr_range_test(model, optimizer, make_batches(seed=0), naive_cross_entropy,
                         end_lr=1e3, diverge_factor=1e30, device=device)
    print(f"exp overflows float32 above {math.log(torch.finfo(torch.float32).max):.1f}")
    print(f"recorded {len(wild.lrs)} steps; {wild.stopped_early}")
    print(f"every recorded loss is finite: {all(math.isfinite(v) for v in wild.losses)}")
    print(f"model still finite afterwards: {all(torch.isfinite(p).all().item() for p in model.parameters())}")
    """),
    md(r"""
    **Too little data.** A sweep of 100 steps needs 100 batches. Given a list (or a
    `DataLoader`) with fewer, the range test refuses with a message that says what to do,
    instead of silently running a shorter sweep than asked for:
    """),
    code(r"""
    get_batch = make_batches(seed=0)
    twenty_batches = [get_batch() for _ in range(20)]
    try:
        lr_range_test(model, optimizer, twenty_batches, F.cross_entropy, device=device)
    except ValueError as err:
        print(f"ValueError: {err}")

    cycled = lr_range_test(model, optimizer, twenty_batches, F.cross_entropy, cycle=True,
                           device=device)
    print(f"with cycle=True: {len(cycled.lrs)} steps recorded, the 20 batches reused in turn")
    """),
    md(r"""
    ## Takeaways

    - The range test sweeps the learning rate exponentially over about a hundred steps,
      smooths the loss with a bias-corrected moving average, and stops when the smoothed loss
      passes 4x its best: one short run instead of a grid.
    - Read a learning rate off the curve with a rule: **steepest** descent, fastai's
      **valley**, or the **minimum / 10**. The rules can disagree by large factors on the same
      curve; treat each as a starting point and check it with a few short runs.
    - A range test trains the model. Restore the weights, the optimizer state and the
      learning rate afterwards (`lr_range_test` does, bit for bit), or the real training starts
      from the wreckage of the sweep.
    - Stop on NaN before stepping on it, and do not let a short data source silently shorten
      the sweep.
    """),
    md(r"""
    ## Misconceptions

    **"The LR finder finds the best learning rate."** It finds where the loss falls fastest
    *during a sweep in which the lr keeps rising*, a different experiment from training at a
    constant lr. In section 3, the suggestions landed at different distances from the best lr
    of a real grid; the grid, not the finder, says which one was good.

    **"The lr at the lowest point of the curve is the one to use."** At the minimum the loss
    is about to explode; it is the edge, not the target. That is why one rule divides it by 10.
    The sweep also reached that point after many steps at smaller lrs, so the curve there
    reflects a partly trained model.
    """),
    md(r"""
    ## Questions to think about

    1. The suggested lr was found with SGD and momentum 0.9. Would you reuse it for Adam, or
       for SGD without momentum? Why does momentum change the effective step size?
    2. The sweep takes 100 steps at ever larger lrs. How would warmup (lesson 07) and a decay
       schedule change which constant lr the grid prefers, and should the finder's suggestion
       be used as the peak of a schedule?
    3. Section 3 recomputed the steepest point with less smoothing. Why not sweep with
       `smooth=0` and no averaging at all? What would the 4x stopping rule do on the raw,
       noisy losses?
    4. The grid scored each lr after 200 steps. Would the best lr of the grid change for 2,000
       steps? In which direction, and why?
    """),
]

if __name__ == "__main__":
    path = write_notebook(ROOT / "notebooks" / "09_lr_finder.ipynb", cells)
    print(f"wrote {path.relative_to(ROOT)}")
