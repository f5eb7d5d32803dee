"""Build notebooks/08_gradient_clipping.ipynb (run from the repository root).

    .venv/bin/python tools/lessons/build_08.py
    .venv/bin/python tools/execute_notebooks.py notebooks/08_gradient_clipping.ipynb
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tools.nbbuild import code, md, write_notebook  # noqa: E402

cells = [
    md(r"""
    # 08 · Gradient clipping: the circuit breaker

    A training run can be going smoothly for hours when one batch arrives that is unlike the
    others: a corrupt record, a preprocessing bug, an odd sequence. Its gradient can be hundreds
    of times longer than usual, and one plain step along it throws the weights far from where
    training had brought them. **Gradient clipping** caps the length of that step. It costs one
    norm per step, it does nothing on ordinary steps, and it is on in nearly every large
    training recipe (GPT-3, Llama and nanoGPT all clip the global norm at 1.0).

    **What you will learn**
    - Global-norm clipping written from scratch, checked against `torch.nn.utils.clip_grad_norm_`,
      and why it keeps the gradient's direction while per-parameter clipping bends it.
    - What the circuit-breaker analogy predicts, exactly: it limits the size of one step, not
      how many steps go wrong.
    - A loss spike from one corrupted batch, with and without clipping, measured.
    - The gradient-norm log as the first thing to read, and what a threshold set too low costs.
    - Why float16 overflows where bfloat16 does not, with tensors you can poke.
    - `course_lib.diagnose`, which reads a run's history and names what went wrong.
    """),
    md(r"""
    **Prerequisites:** lessons 02-05 (mini-batch SGD with momentum, reading a loss curve);
    lesson 07 helps (schedules). Norms and cosine similarity of vectors.

    **Time:** about 35 minutes.

    Every run here trains the same small network on the bundled 8x8 digits (a 64-64-10 MLP
    with leaky-ReLU units, SGD at learning rate 0.1 with momentum 0.9, batches of 64, 300
    steps), so that the runs differ only in what the section is about.
    """),
    code(r"""
    import math

    import matplotlib.pyplot as plt
    import torch
    import torch.nn.functional as F

    from course_lib.clipping import (
        clip_grad_norm_per_param_,
        cosine_similarity_of_grads,
        snapshot_grads,
    )
    from course_lib.data import load_digits_split
    from course_lib.device import default_device, seed_everything
    from course_lib.models import MLP
    from course_lib.optim import SGD
    from course_lib.plots import course_style, plot_grad_norms, plot_losses

    course_style()  # the course's plot style, for every figure below
    device = default_device()
    g = seed_everything(0)
    """),
    code(r"""
    data = load_digits_split(device=device)
    STEPS, LR, MOMENTUM = 300, 0.1, 0.9
    BAD_STEP, BAD_SCALE = 150, 1000.0


    def make_batches(bad_steps=(), seed=0, batch_size=64):
        # get_batch(step) -> (x, y): seeded random mini-batches; a corrupted one at each bad step
        gen = torch.Generator().manual_seed(seed)

        def get_batch(step):
            idx = torch.randint(len(data.X_train), (batch_size,), generator=gen).to(device)
            x, y = data.X_train[idx], data.y_train[idx]
            if step in bad_steps:
                x = x * BAD_SCALE  # a preprocessing bug: pixels 1000 times too large
            return x, y

        return get_batch


    def new_model():
        seed_everything(0)  # every run starts from the same weights
        return MLP([64, 64, 10], activation="leaky_relu", device=device)


    def test_accuracy(model):
        x = data.X_test.to(next(model.parameters()).dtype)  # float16 models need float16 inputs
        with torch.no_grad():
            return (model(x).argmax(dim=1) == data.y_test).float().mean().item()


    print(f"{len(data.X_train)} training images, {len(data.X_test)} test images, "
          f"{sum(p.numel() for p in new_model().parameters()):,} parameters")
    """),
    md(r"""
    ## 1 · The rule, written from scratch

    A model's gradient is spread over several tensors (here two weight matrices and two bias
    vectors): $g_1, \dots, g_k$. **Global-norm clipping** treats them as one long vector $g$
    and measures its length, which is also the norm of the per-tensor norms:

    $$\|g\| = \sqrt{\sum_{i=1}^{k} \|g_i\|_2^2} = \big\|\,(\|g_1\|, \dots, \|g_k\|)\,\big\|_2 .$$

    If that length exceeds the threshold $c$, it scales *every* tensor by the same factor:

    $$g_i \leftarrow g_i \cdot \min\!\left(1,\ \frac{c}{\|g\| + \epsilon}\right), \qquad \epsilon = 10^{-6} .$$

    Below the threshold the factor is 1 and nothing changes. Above it the whole vector shrinks
    to length $c$. One factor for all tensors means the direction cannot change. The function
    returns the norm **before** clipping: that is the number worth logging.
    """),
    code(r"""
    @torch.no_grad()
    def clip_global_(parameters, max_norm, eps=1e-6):
        # scale all gradients by one factor so that their global L2 norm is at most max_norm
        grads = [p.grad for p in parameters if p.grad is not None]
        per_tensor = torch.stack([torch.linalg.vector_norm(g_i) for g_i in grads])  # ||g_i||
        total_norm = torch.linalg.vector_norm(per_tensor)               # ||g|| over all tensors
        factor = torch.clamp(max_norm / (total_norm + eps), max=1.0)     # min(1, c / (||g|| + eps))
        for g_i in grads:
            g_i.mul_(factor)                                             # same factor everywhere
        return total_norm                                                # the norm BEFORE clipping
    """),
    md(r"""
    To have something worth clipping, take a fresh model and the corrupted batch (pixels 1000
    times too large), compute the gradient, and clip two copies of it: one with our function,
    one with PyTorch's.
    """),
    code(r"""
    model = new_model()
    x_bad, y_bad = make_batches(bad_steps={0})(0)
    F.cross_entropy(model(x_bad), y_bad).backward()
    params = list(model.parameters())
    g_raw = snapshot_grads(params)                  # copies of the unclipped gradient


    def set_grads(tensors):
        for p, t in zip(params, tensors):
            p.grad = t.clone()


    set_grads(g_raw)
    norm_ours = clip_global_(params, max_norm=1.0)
    g_ours = snapshot_grads(params)

    set_grads(g_raw)
    norm_torch = torch.nn.utils.clip_grad_norm_(params, max_norm=1.0)
    g_torch = snapshot_grads(params)

    diff = max((a - b).abs().max().item() for a, b in zip(g_ours, g_torch))
    print(f"norm before clipping: ours {norm_ours.item():.4f}, torch {norm_torch.item():.4f}")
    print(f"norm after clipping:  {torch.sqrt(sum((t**2).sum() for t in g_ours)).item():.4f}")
    print(f"largest difference between our clipped gradient and torch's: {diff:.1e}")
    print(f"cosine(before, after) = {cosine_similarity_of_grads(g_raw, g_ours):.6f}")
    """),
    md(r"""
    The same numbers as PyTorch, a clipped length of 1, and a cosine similarity of 1 between the
    gradient before and after: the direction is untouched, only the length changed. (A gradient
    norm near 1000 on one batch is what a corrupted batch looks like; section 5 shows that this
    network's usual norm is below 1.)

    ## 2 · Per-parameter clipping bends the direction

    A tempting variant clips each tensor on its own, $g_i \leftarrow g_i \cdot \min(1,\ c/\|g_i\|)$.
    When a few tensors dominate the gradient, as the two weight matrices do here, those are
    shrunk and the others are not, so the update points somewhere else. The table gives each
    tensor's norm, its share of the squared norm $\|g_i\|^2 / \|g\|^2$ before clipping and after
    per-parameter clipping, and its norm after each kind of clipping.
    """),
    code(r"""
    set_grads(g_raw)
    clip_grad_norm_per_param_(params, max_norm=1.0)
    g_per = snapshot_grads(params)

    names = [name for name, _ in model.named_parameters()]
    raw_sq = sum((t**2).sum().item() for t in g_raw)
    per_sq = sum((t**2).sum().item() for t in g_per)
    print(f"{'tensor':<14}{'shape':>9}{'norm':>9}{'share':>8}{'share after':>13}"
          f"{'global':>9}{'per-param':>11}")
    print(f"{'':<14}{'':>9}{'':>9}{'':>8}{'per-param':>13}{'norm':>9}{'norm':>11}")
    for name, raw, ours, per in zip(names, g_raw, g_ours, g_per):
        print(f"{name:<14}{str(tuple(raw.shape)):>9}{raw.norm().item():>9.2f}"
              f"{(raw**2).sum().item() / raw_sq:>8.1%}{(per**2).sum().item() / per_sq:>13.1%}"
              f"{ours.norm().item():>9.4f}{per.norm().item():>11.4f}")
    cos_per = cosine_similarity_of_grads(g_raw, g_per)
    norm_per = math.sqrt(per_sq)
    norm_global = math.sqrt(sum((t**2).sum().item() for t in g_ours))
    print(f"\nglobal clipping:        length {norm_global:.4f}, cosine with the true gradient "
          f"{cosine_similarity_of_grads(g_raw, g_ours):.6f}")
    print(f"per-parameter clipping: length {norm_per:.4f}, cosine with the true gradient "
          f"{cos_per:.6f} ({math.degrees(math.acos(cos_per)):.0f} degrees off)")
    """),
    md(r"""
    Global clipping multiplies every tensor by the same factor, so each tensor's share of the
    step stays what the gradient said. Per-parameter clipping cuts each weight matrix to length 1
    on its own and leaves the bias vectors alone, so the biases, which had almost no share of the
    gradient, now make up a noticeable part of the step, and the two weight matrices are made
    equal although the gradient did not weigh them equally. The result is longer than $c$ and
    points elsewhere (the cosine and angle above). Clipping each tensor separately is a different
    algorithm, not a variant of the same one.

    ## 3 · The circuit breaker, made exact

    Like a breaker on one electrical circuit, or a per-request limit in a service, clipping caps
    each event on its own. It does not ask why an event was oversized, and it does not make an
    overloaded system healthy: if every request is too large, it trips on every request. The
    analogy is exact enough to predict numbers:

    - With plain SGD, a clipped step moves the weights by exactly $\eta\,\|g_{\text{clipped}}\| \le \eta c$,
      however long the raw gradient was.
    - With momentum $\mu$, one clipped gradient keeps pushing on later steps, but its total
      push, summed over all later steps, is at most $\eta c\,(1 + \mu + \mu^2 + \dots) = \eta c / (1-\mu)$
      (PyTorch's momentum adds the gradient to the buffer, $b_t = \mu b_{t-1} + g_t$, and steps by $\eta b_t$).
    - Nothing limits **how many** steps are clipped. Clipping limits the size of each step,
      not the number of steps that go wrong.

    Check the first prediction with one plain SGD step on the corrupted batch:
    """),
    code(r"""
    def one_sgd_step(clip_norm):
        # one plain SGD step (no momentum) on the corrupted batch; returns how far the weights moved
        model = new_model()
        before = torch.cat([p.detach().flatten().clone() for p in model.parameters()])
        F.cross_entropy(model(x_bad), y_bad).backward()
        if clip_norm is not None:
            clip_global_(list(model.parameters()), clip_norm)
        torch.optim.SGD(model.parameters(), lr=LR).step()
        after = torch.cat([p.detach().flatten() for p in model.parameters()])
        return (after - before).norm().item()


    g_raw_norm = norm_ours.item()
    moved_raw, moved_clipped = one_sgd_step(None), one_sgd_step(1.0)
    print(f"raw gradient norm on the corrupted batch: {g_raw_norm:.1f}")
    print(f"weights moved without clipping: {moved_raw:.3f}   (lr x norm = {LR * g_raw_norm:.3f})")
    print(f"weights moved with clipping at 1.0: {moved_clipped:.3f}   (lr x c = {LR * 1.0:.3f})")
    print(f"bound on one clipped gradient's total push with momentum {MOMENTUM}: "
          f"lr x c / (1 - momentum) = {LR * 1.0 / (1 - MOMENTUM):.3f}")
    """),
    md(r"""
    The two predictions to test in the rest of the lesson follow from the third bullet:
    **one** corrupted batch should do little harm with clipping on (section 4), and a learning
    rate that makes **every** step too large should trip the breaker on nearly every step,
    leaving a run that does not crash and is still bad (section 6).

    ## 4 · A loss spike, with and without clipping

    Here is the whole training loop, written out once: zero the gradients, forward, backward,
    clip (keeping the norm from before clipping), step. At step 150 the corrupted batch comes in.
    """),
    code(r"""
    def train_by_hand(model, get_batch, optimizer, steps, clip_norm):
        losses, norms = [], []
        for t in range(steps):
            x, y = get_batch(t)
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x), y)          # forward
            loss.backward()                              # backward: fills p.grad
            norm = clip_global_(list(model.parameters()), clip_norm)   # clip; norm before clipping
            optimizer.step()                             # update with the clipped gradient
            losses.append(loss.item())
            norms.append(norm.item())
        return losses, norms


    model = new_model()
    losses_by_hand, norms_by_hand = train_by_hand(
        model, make_batches(bad_steps={BAD_STEP}), SGD(model.parameters(), lr=LR, momentum=MOMENTUM),
        STEPS, clip_norm=1.0)
    print(f"step {BAD_STEP}: loss {losses_by_hand[BAD_STEP]:.1f}, gradient norm {norms_by_hand[BAD_STEP]:.1f}; "
          f"step {BAD_STEP + 1}: loss {losses_by_hand[BAD_STEP + 1]:.3f}")
    """),
    md(r"""
    From here on the lessons use `course_lib.train.train`, which is this same loop in one flat
    function (plus an optional learning-rate schedule, evaluation and a clean stop on NaN), and
    which records every step in a `History`: the loss, the learning rate, the gradient norm
    before clipping and whether clipping fired. First, a check that it really is the same loop:
    """),
    code(r"""
    from course_lib.train import train


    def run(lr=LR, clip_norm=None, bad_steps=(), dtype=torch.float32):
        model = new_model().to(dtype)
        batches = make_batches(bad_steps)

        def get_batch(t):
            x, y = batches(t)
            return x.to(dtype), y

        optimizer = SGD(model.parameters(), lr=lr, momentum=MOMENTUM)
        return train(model, get_batch, optimizer, steps=STEPS, clip_norm=clip_norm,
                     eval_fn=lambda m: {"test_acc": test_accuracy(m)})


    spike_clipped = run(clip_norm=1.0, bad_steps={BAD_STEP})
    print("same losses as the hand-written loop:", spike_clipped.loss == losses_by_hand)
    print("same gradient norms:", spike_clipped.grad_norm == norms_by_hand)
    """),
    code(r"""
    from course_lib.diagnose import steps_to_recover

    spike_unclipped = run(clip_norm=None, bad_steps={BAD_STEP})
    clean = run(clip_norm=1.0)


    def recovery(history):
        k = steps_to_recover(history.loss, BAD_STEP)
        if k is None:
            return f"not within {STEPS - BAD_STEP - 1} steps"
        return f"after {k} step{'s' if k != 1 else ''}"


    print(f"{'run':<17}{'loss @150':>10}{'loss @151':>11}{'worst after':>13}{'recovered':>24}"
          f"{'final loss':>12}{'test acc':>10}")
    for name, h in [("no clipping", spike_unclipped), ("clipped at 1.0", spike_clipped),
                    ("no bad batch", clean)]:
        final = sum(h.loss[-20:]) / 20
        worst = max(h.loss[BAD_STEP + 1:])
        print(f"{name:<17}{h.loss[BAD_STEP]:>10.3g}{h.loss[BAD_STEP + 1]:>11.3g}{worst:>13.3g}"
              f"{recovery(h) if h is not clean else '-':>24}{final:>12.3f}"
              f"{h.eval_metrics['test_acc'][-1]:>10.1%}")
    """),
    md(r"""
    The loss *at* step 150 is the corrupted batch's own loss, computed before the update, so it
    is large in both runs (not identical: clipping already fired on a few early steps, so the two
    runs' weights differ slightly by then). The damage shows from step 151 on. "Recovered" counts the steps
    until the loss, averaged over 5 steps, is back to its mean over the 10 steps before the
    spike (`course_lib.diagnose.steps_to_recover`); "final loss" is the mean training loss of
    the last 20 steps.
    """),
    code(r"""
    fig, (ax_loss, ax_norm) = plt.subplots(1, 2, figsize=(12, 4))
    plot_losses({"no clipping": spike_unclipped.loss, "clipped at 1.0": spike_clipped.loss},
                ax=ax_loss, log_y=True, title="training loss (one corrupted batch at step 150)")
    ax_loss.set_ylim(1e-2, 1e4)
    plot_grad_norms(spike_unclipped.grad_norm, ax=ax_norm, log_y=True, label="no clipping")
    plot_grad_norms(spike_clipped.grad_norm, clip_threshold=1.0, clip_events=spike_clipped.clipped,
                    ax=ax_norm, log_y=True, label="clipped at 1.0",
                    title="gradient norm before clipping")
    plt.show()
    """),
    md(r"""
    Without clipping, the huge gradient goes into the momentum buffer and keeps pushing for
    several more steps; the loss climbs into the thousands and the network spends the rest of
    the run climbing back, ending worse on both training loss and test accuracy. With clipping,
    the corrupted batch's gradient entered the update with length $c$ like any other clipped
    gradient, and the next loss is in line with the clean run's. The gradient-norm panel shows
    the same spike in both runs: clipping does not hide the event, it is logged; it just is not
    allowed to do damage.

    ## 5 · The gradient-norm log is the first thing to read

    A healthy run's log: the norm before clipping at every step, the threshold as a dashed
    line, and a red dot wherever clipping fired.
    """),
    code(r"""
    norms = torch.tensor(clean.grad_norm)
    ax = plot_grad_norms(clean.grad_norm, clip_threshold=1.0, clip_events=clean.clipped,
                         title="a healthy run (clip at 1.0, no bad batch)")
    ax.figure.set_size_inches(8, 3.4)
    plt.show()
    print(f"median gradient norm {norms.median().item():.2f}; clipped on {sum(clean.clipped)} of "
          f"{STEPS} steps, at steps {clean.clip_events}")
    """),
    md(r"""
    In a healthy run the norm sits well below the threshold and clipping fires rarely, here on
    a handful of steps early in training, when the norm is largest. Three other shapes are worth knowing
    by sight: an isolated spike (section 4), a norm **pinned** at the threshold on most steps
    (section 6), and a norm that climbs step after step until it is `inf` or `nan` (divergence).

    **How low can the threshold go?** Set it below the typical norm and clipping fires on every
    step: each update then has length $\eta c$ whatever the gradient, which is a learning-rate
    cut in disguise (and a different optimizer: normalised gradient descent). A sweep:
    """),
    code(r"""
    thresholds = [0.01, 0.03, 0.1, 0.3, 1.0, None]
    sweep = {c: (clean if c == 1.0 else run(clip_norm=c)) for c in thresholds}
    print(f"median gradient norm without clipping: "
          f"{torch.tensor(sweep[None].grad_norm).median().item():.2f}\n")
    print(f"{'threshold':>10}{'clipped':>10}{'final loss':>12}{'test acc':>10}")
    for c, h in sweep.items():
        print(f"{'none' if c is None else c:>10}{h.clipped_fraction:>10.0%}"
              f"{sum(h.loss[-20:]) / 20:>12.3f}{h.eval_metrics['test_acc'][-1]:>10.1%}")
    """),
    md(r"""
    A threshold near or below the typical norm clips most or all steps and costs accuracy in a
    run of fixed length; a threshold a few times above it (1.0 here) fires on a few early steps and
    costs nothing, while still catching the corrupted batch of section 4. That is why clipping
    is a safety net and not a regulariser: set it so that it rarely fires, and read how often
    it does.

    ## 6 · Clipping does not fix a learning rate that is too high

    Now the other prediction. Raise the learning rate 100-fold, to 10, and train with and
    without clipping.
    """),
    code(r"""
    hot_unclipped = run(lr=10.0, clip_norm=None)
    hot_clipped = run(lr=10.0, clip_norm=1.0)

    last = slice(-50, None)
    print(f"lr 10, no clipping:  {hot_unclipped.meta['stop_reason']} "
          f"(loss {hot_unclipped.loss[-1]}, gradient norm {hot_unclipped.grad_norm[-1]})")
    print(f"lr 10, clip at 1.0:  {hot_clipped.meta['stop_reason']}; clipped on "
          f"{sum(hot_clipped.clipped[last])} of the last 50 steps; "
          f"loss {hot_clipped.loss[0]:.2f} at the start, {sum(hot_clipped.loss[-20:]) / 20:.2f} at the end, "
          f"test accuracy {hot_clipped.eval_metrics['test_acc'][-1]:.1%}")
    print(f"lr 0.1, clip at 1.0: final loss {sum(clean.loss[-20:]) / 20:.3f}, "
          f"test accuracy {clean.eval_metrics['test_acc'][-1]:.1%}")

    fig, (ax_loss, ax_norm) = plt.subplots(1, 2, figsize=(12, 4))
    plot_losses({"lr 0.1, clip 1.0": clean.loss, "lr 10, clip 1.0": hot_clipped.loss,
                 "lr 10, no clipping": hot_unclipped.loss}, ax=ax_loss, log_y=True,
                title="training loss (lr 10 unclipped leaves the top)")
    ax_loss.set_ylim(1e-2, 1e4)
    plot_grad_norms(hot_clipped.grad_norm, clip_threshold=1.0, clip_events=hot_clipped.clipped,
                    ax=ax_norm, log_y=True, label="lr 10, clip 1.0",
                    title="lr 10: the norm is above the threshold on most steps")
    plt.show()
    """),
    md(r"""
    Without clipping the run climbs to `inf` (`train` stops before applying that update, so
    the model keeps its last finite weights). With clipping it runs to the end, and that is the
    trap: no crash, no NaN, but the gradient norm is above the threshold on most steps, every
    gradient is cut to length $c$, the training loss ends above where it started (the network is
    confidently wrong on many examples) and the test accuracy is far below the run at lr 0.1.
    The breaker tripped on almost every step, as predicted; it hid the real problem instead of
    fixing it. A log in which clipping fires on most steps says: lower the learning rate.

    ## 7 · float16 overflows, bfloat16 does not

    Mixed-precision training computes in 16-bit numbers, and there are two kinds with very
    different trade-offs. `torch.finfo` tells their limits:
    """),
    code(r"""
    print(f"{'dtype':<10}{'largest':>11}{'smallest normal':>17}{'smallest subnormal':>20}"
          f"{'eps (gap at 1.0)':>18}")
    for dtype in (torch.float16, torch.bfloat16, torch.float32):
        info = torch.finfo(dtype)
        subnormal = info.smallest_normal * info.eps
        print(f"{str(dtype).replace('torch.', ''):<10}{info.max:>11.6g}{info.smallest_normal:>17.4g}"
              f"{subnormal:>20.4g}{info.eps:>18.4g}")

    print(f"\n65519 in float16: {torch.tensor(65519.0).to(torch.float16).item()}, "
          f"65520 in float16: {torch.tensor(65520.0).to(torch.float16).item()}")
    x = torch.tensor(70000.0)
    gap = torch.finfo(torch.bfloat16).eps * 2 ** math.floor(math.log2(70000))  # eps is the gap at 1.0
    print(f"70000 in float16:  {x.to(torch.float16).item()}")
    print(f"70000 in bfloat16: {x.to(torch.bfloat16).item():.0f}   "
          f"(bfloat16 numbers near 70000 are {gap:.0f} apart)")
    """),
    md(r"""
    float16 spends its bits on precision (10 mantissa bits) and has a tiny range: its largest
    number is 65504, and anything from 65520 up rounds to `inf`. bfloat16 keeps float32's 8
    exponent bits, so its range is float32's,
    and pays with precision: 7 mantissa bits, so 70000 is stored as the nearest representable
    number, with gaps of hundreds between neighbours at that size. Coarse, but finite.

    The norm of a gradient is a classic place to overflow, because it squares the entries
    first. Entries of 300 are unremarkable, but $300^2 = 90000$ is already past float16's range:
    """),
    code(r"""
    grad = torch.full((1000,), 300.0)                      # a gradient with 1000 entries of 300

    for dtype in (torch.float16, torch.bfloat16, torch.float32):
        g16 = grad.to(dtype)
        by_hand = torch.sqrt((g16 * g16).sum())            # squares in the 16-bit dtype
        print(f"{str(dtype).replace('torch.', ''):<9} sqrt(sum(g^2)) = {by_hand.item():.6g}")

    g16 = grad.to(torch.float16)
    print(f"\nfloat16 gradient, squares summed in float32: {torch.sqrt((g16.float() ** 2).sum()).item():.6g}"
          f"   (exact: {300 * math.sqrt(1000):.6g})")
    gap16 = torch.finfo(torch.float16).eps * 2 ** math.floor(math.log2(300 * math.sqrt(1000)))
    print(f"torch.linalg.vector_norm of the float16 gradient: {torch.linalg.vector_norm(g16).item():.6g}"
          f"   (float16 numbers near there are {gap16:.0f} apart)")
    """),
    md(r"""
    float16 squares overflow; bfloat16 gets a finite but coarse answer; summing in float32 is
    right, and that is what PyTorch's own norm does internally (it does not overflow; its answer
    is then rounded to the nearest float16). The cure for the gradients themselves is
    either bfloat16 (the range problem goes away, which is why large models train in it) or,
    with float16, **loss scaling**: multiply the loss by a large factor $S$
    before `backward()` so that small gradients do not underflow (float16 has nothing between 0
    and its smallest subnormal, and loses precision below its smallest normal), then divide the
    gradients by $S$ before using them; `torch.amp.GradScaler` picks $S$ on the fly, halving it
    and skipping the step whenever a gradient overflows. With a scaler, call
    `scaler.unscale_(optimizer)` before clipping, or the threshold is compared with $S$ times
    the real norm.

    Overflow and clipping meet in training too. Run section 4's two spike runs again, this time
    with the whole model in float16:
    """),
    code(r"""
    half_unclipped = run(clip_norm=None, bad_steps={BAD_STEP}, dtype=torch.float16)
    half_clipped = run(clip_norm=1.0, bad_steps={BAD_STEP}, dtype=torch.float16)
    print(f"float32, no clipping: completed, worst loss after the spike "
          f"{max(spike_unclipped.loss[BAD_STEP + 1:]):.4g}")
    print(f"float16, no clipping: {half_unclipped.meta['stop_reason']}, loss there "
          f"{half_unclipped.loss[-1]}")
    print(f"float16, clip at 1.0: {half_clipped.meta['stop_reason']}, "
          f"test accuracy {half_clipped.eval_metrics['test_acc'][-1]:.1%}")
    """),
    md(r"""
    In float32 the unclipped run survived its detour; in float16 the same detour crosses 65504
    and the run is dead. Clipping kept the weights, and so the activations, inside the range.
    Clipping acts on gradients only: it cannot save a forward pass that overflows on its own.

    ## 8 · A training doctor: `course_lib.diagnose`

    Everything above is a way of reading a run's log. `course_lib.diagnose.diagnose` does that
    reading for you: it takes a `History` and returns verdicts, each with the evidence (step
    numbers and values) and a suggested fix. Its thresholds are documented constants in the
    module, tuned on runs like these. Here it is on the runs of this lesson:
    """),
    code(r"""
    from course_lib.diagnose import diagnose

    for title, history in [("lr 0.1, clip 1.0", clean),
                           ("one corrupted batch, clip 1.0", spike_clipped),
                           ("one corrupted batch, no clipping", spike_unclipped),
                           ("lr 10, clip 1.0", hot_clipped),
                           ("lr 10, no clipping", hot_unclipped)]:
        print(f"--- {title}")
        print(diagnose(history), end="\n\n")
    """),
    md(r"""
    Each report names the problem of its run and points at the steps that prove it. Try it on
    your own runs: `diagnose(train(...))`, or build a `History` from your own logs with
    `History.from_dict`.

    ## Takeaways

    - Global-norm clipping computes one norm over all gradients and scales them all by
      $\min(1, c/\|g\|)$: the direction is kept, only the step's length is capped. It returns the
      norm before clipping; log it.
    - It is a circuit breaker: a clipped SGD step moves the weights by at most $\eta c$
      ($\eta c/(1-\mu)$ in total with momentum), so one corrupted batch does little harm. It limits
      the size of each step, not how many steps go wrong.
    - Read the gradient-norm log first: rare clip events are healthy; an isolated spike is a bad
      batch; a norm pinned at the threshold means the learning rate is too high; a steady climb to
      `inf` is divergence; a jump straight to `inf` from normal values is numerical overflow.
    - Set the threshold a few times above the typical norm (1.0 is the common default), so that
      it rarely fires; far below it, clipping is a hidden learning-rate cut that costs quality.
    - float16 overflows at 65504; bfloat16 has float32's range with less precision. Keep norms
      and losses in float32, and unscale before clipping when a loss scaler is used.
    """),
    md(r"""
    ## Misconceptions

    **"Clipping fixes a learning rate that is too high."** It hides it. In section 6 the run at
    lr 10 without clipping diverged to `inf`; with clipping it ran to the end without a NaN, but
    with the norm above the threshold on most steps, a training loss that ended above its
    starting value and a test accuracy far below the run at lr 0.1. Clipping turned a crash into
    a quiet failure. When most steps are clipped, lower the learning rate.

    **"Per-parameter clipping is the same as global clipping."** It is not. In section 2, on
    the same gradient, global clipping kept the direction (cosine 1) while clipping each tensor
    on its own gave a longer step pointing well away from the gradient, because the dominant
    tensor was shrunk and the others were not.
    """),
    md(r"""
    ## Questions to think about

    1. With Adam instead of SGD, the update is divided by a running root-mean-square of the
       gradient. Does clipping still cap the step at $\eta c$? What does one huge, unclipped
       gradient do to Adam's second-moment estimate $v$, and for how many steps
       (think of $\beta_2 = 0.999$)?
    2. A run clips on 30% of its steps, all in the first 200 of 10,000. Is that a problem?
       What would warmup (lesson 07) change?
    3. Two corrupted batches in a row, then ten in a row: using $\eta c/(1-\mu)$ per clipped
       gradient, how far can the weights be pushed? When does the breaker stop being enough?
    4. `diagnose` calls a jump from normal values straight to `inf` an overflow, and a climb to
       `inf` a divergence. Construct a history that would fool it. What extra information
       (the dtype, the batch, the learning rate) would settle it?
    """),
]

if __name__ == "__main__":
    path = write_notebook(ROOT / "notebooks" / "08_gradient_clipping.ipynb", cells)
    print(f"wrote {path.relative_to(ROOT)}")
