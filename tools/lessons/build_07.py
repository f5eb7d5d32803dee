"""Build notebooks/07_lr_schedules.ipynb (run from the repository root).

    .venv/bin/python tools/lessons/build_07.py
    .venv/bin/python tools/execute_notebooks.py notebooks/07_lr_schedules.ipynb
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tools.nbbuild import code, md, write_notebook  # noqa: E402

cells = [
    md(r"""
    # 07 · Learning-rate schedules

    A learning rate is not one number. Early in training the weights are random and Adam's
    statistics are unreliable; late in training the model sits in a valley where a large step only
    bounces it from wall to wall. A **schedule** makes the learning rate a function of the step,
    $\eta_t = \eta_{\text{peak}} \cdot s(t)$, and the choice of $s$ changes what a run reaches, how
    stable it is, and whether you can stop it early or extend it.

    **What you will learn**
    - The common schedules side by side (step, exponential, cosine, linear warmup, warmup + cosine
      with a floor, one-cycle, warmup-stable-decay), and a check that the learning rate a real
      training loop *uses* at every step is the one plotted, and the one PyTorch's own schedulers
      give.
    - Why warmup: Adam's second-moment estimate is noisy for the first steps, measured; then a
      small transformer trained at a high peak learning rate with and without warmup.
    - Warmup-stable-decay: extending a run without re-planning it, demonstrated.
    - The GPT-3 recipe as a worked conversion from tokens to steps, and why fine-tuning uses much
      smaller learning rates.
    - A schedule designer: drag the shape, the warmup, the peak and the floor, and watch a small
      training run follow.
    """),
    md(r"""
    **Prerequisites:** lesson 05 (Adam) and lesson 06 (AdamW, $\beta_2$). One fact about PyTorch
    makes schedules work: `optimizer.param_groups[i]["lr"]` is re-read at every
    `optimizer.step()`, so whatever writes a new value there before a step changes that step.

    **Time:** about 40 minutes.
    """),
    code(r"""
    import copy
    import math

    import matplotlib.pyplot as plt
    import numpy as np
    import torch
    import torch.nn.functional as F
    from torch.optim.lr_scheduler import (
        CosineAnnealingLR,
        ExponentialLR,
        LambdaLR,
        LinearLR,
        OneCycleLR,
        SequentialLR,
        StepLR,
    )

    from course_lib.data import CharTokenizer, char_batches, corpus_splits, load_digits_split
    from course_lib.device import default_device, seed_everything
    from course_lib.models import MLP, CharTransformer, param_groups_for_weight_decay
    from course_lib.optim import AdamW
    from course_lib.plots import course_style, plot_lr_schedule
    from course_lib.schedules import (
        cosine_decay,
        exponential_decay,
        linear_warmup,
        lr_at_steps,
        one_cycle,
        step_decay,
        warmup_cosine,
        warmup_stable_decay,
    )

    course_style()
    device = default_device()
    g = seed_everything(0)
    """),
    md(r"""
    ## 1 · Seven schedules, and the learning rate a loop actually uses

    Every schedule in `course_lib.schedules` is a pure function from the number of steps taken,
    $t$, to a multiplier $s(t)$ of the peak learning rate (with $T$ the planned length, $W$ the
    warmup, $D$ the decay length):

    | schedule | $s(t)$ |
    |---|---|
    | step decay | $\gamma^{\lfloor t / k \rfloor}$: divide by $1/\gamma$ every $k$ steps |
    | exponential | $\gamma^t$ |
    | cosine | $\tfrac12\bigl(1 + \cos(\pi t / T)\bigr)$ |
    | linear warmup | $(t + 1)/(W + 1)$ for $t < W$, then 1 |
    | warmup + cosine, floor $f$ | warmup, then $f + (1 - f)\,\tfrac12\bigl(1 + \cos(\pi\,\tfrac{t - W}{T - W})\bigr)$ |
    | one-cycle | from $1/25$ up to 1 over the first 30%, then down to $1/250\,000$ (cosine-shaped) |
    | warmup-stable-decay | warmup, then 1, then in the last $D$ steps $1 - \sqrt{(t - (T - D))/D}$ |

    The plot below is **not** drawn from these formulas. It is drawn from the learning rate read
    from `optimizer.param_groups[0]["lr"]` just before each `optimizer.step()` of a real training
    loop (a small regression, AdamW), with `LambdaLR` applying the schedule. Then the recorded
    rates are compared with the formulas and with PyTorch's own schedulers. A course that plots one
    schedule and trains with another is easier to write than you would think: the classic mistakes
    are calling `scheduler.step()` once per epoch instead of once per step, or reading the rate after
    the step instead of before it.
    """),
    code(r"""
    N, PEAK, WARMUP = 300, 1e-3, 30
    schedules = {
        "step decay (÷10 every 100)": step_decay(step_size=100, gamma=0.1),
        "exponential (γ = 0.99)": exponential_decay(gamma=0.99),
        "cosine": cosine_decay(total_steps=N),
        "linear warmup": linear_warmup(warmup_steps=WARMUP),
        "warmup + cosine, 10% floor": warmup_cosine(warmup_steps=WARMUP, total_steps=N, floor=0.1),
        "one-cycle": one_cycle(total_steps=N, pct_start=0.3),
        "warmup-stable-decay": warmup_stable_decay(warmup_steps=WARMUP, decay_steps=60, total_steps=N),
    }

    gen = torch.Generator().manual_seed(0)
    X_toy = torch.randn(256, 8, generator=gen).to(device)
    y_toy = X_toy @ torch.randn(8, generator=gen).to(device)


    def lrs_used(make_scheduler, n_steps=N):
        # train a small regression; return the lr each optimizer.step() actually used
        torch.manual_seed(0)
        model = torch.nn.Linear(8, 1).to(device)
        opt = AdamW(model.parameters(), lr=PEAK)
        scheduler = make_scheduler(opt)
        used = []
        for step in range(n_steps):
            used.append(opt.param_groups[0]["lr"])          # what the next step will use
            loss = F.mse_loss(model(X_toy).squeeze(1), y_toy)
            opt.zero_grad()
            loss.backward()
            opt.step()
            scheduler.step()                                # once per optimizer step
        return np.array(used)


    used = {name: lrs_used(lambda opt, s=s: LambdaLR(opt, lr_lambda=s)) for name, s in schedules.items()}

    fig, axes = plt.subplots(2, 4, figsize=(14, 5.6), sharex=True)
    for ax, (name, lrs) in zip(axes.flat, used.items()):
        plot_lr_schedule(lrs, ax=ax, title=name, xlabel="step", ylabel="")
    axes.flat[-1].axis("off")
    for ax in axes[:, 0]:
        ax.set_ylabel("learning rate used")
    plt.show()
    """),
    code(r"""
    torch_schedulers = {
        "step decay (÷10 every 100)": ("StepLR", lambda opt: StepLR(opt, step_size=100, gamma=0.1)),
        "exponential (γ = 0.99)": ("ExponentialLR", lambda opt: ExponentialLR(opt, gamma=0.99)),
        "cosine": ("CosineAnnealingLR", lambda opt: CosineAnnealingLR(opt, T_max=N)),
        "linear warmup": ("LinearLR", lambda opt: LinearLR(opt, start_factor=1 / (WARMUP + 1),
                                                           total_iters=WARMUP)),
        "warmup + cosine, 10% floor": ("SequentialLR(LinearLR, CosineAnnealingLR)", lambda opt: SequentialLR(
            opt, [LinearLR(opt, start_factor=1 / (WARMUP + 1), total_iters=WARMUP),
                  CosineAnnealingLR(opt, T_max=N - WARMUP, eta_min=0.1 * PEAK)], milestones=[WARMUP])),
        "one-cycle": ("OneCycleLR", lambda opt: OneCycleLR(opt, max_lr=PEAK, total_steps=N, pct_start=0.3,
                                                          cycle_momentum=False)),
        "warmup-stable-decay": ("(none)", None),
    }
    print(f"{'schedule':28s} {'max |used - formula|':>21s}   {'PyTorch scheduler':42s} {'max |ours - torch|':>18s}")
    for name, lrs in used.items():
        formula = np.array(lr_at_steps(schedules[name], PEAK, N))
        torch_name, make = torch_schedulers[name]
        vs_torch = f"{np.abs(lrs - lrs_used(make)).max():.1e}" if make else "-"
        print(f"{name:28s} {np.abs(lrs - formula).max():21.1e}   {torch_name:42s} {vs_torch:>18s}")
    """),
    md(r"""
    At every step the learning rate used is exactly the formula's (a difference of 0), and
    PyTorch's schedulers agree to within about $10^{-18}$: not bit for bit, because several of them
    compute each rate from the previous one (multiply by a factor, add a difference) rather than in
    closed form, and the rounding accumulates. One convention differs from PyTorch on purpose,
    beyond the planned end: our schedules hold their final value, while `CosineAnnealingLR` climbs back
    up (it is half of a periodic cosine) and `OneCycleLR` raises an error. A run that goes on a
    little longer than planned should not suddenly speed up:
    """),
    code(r"""
    ours_long = lrs_used(lambda opt: LambdaLR(opt, cosine_decay(total_steps=N)), n_steps=2 * N)
    torch_long = lrs_used(lambda opt: CosineAnnealingLR(opt, T_max=N), n_steps=2 * N)
    for t in [N, int(1.5 * N), 2 * N - 1]:
        print(f"step {t}: ours {ours_long[t]:.2e}   CosineAnnealingLR {torch_long[t]:.2e}")
    """),
    md(r"""
    ## 2 · Why warmup: Adam's first steps

    Adam divides each coordinate's step by $\sqrt{\hat v}$, an estimate of the typical size of its
    gradient. After $t$ steps that estimate is built from $t$ squared gradients, and after one step
    from exactly one: $\hat v_1 = g_1^2$. So the first update is

    $$\Delta\theta_1 = -\eta\,\frac{\hat m_1}{\sqrt{\hat v_1}} = -\eta\,\frac{g_1}{|g_1|} = -\eta\,\operatorname{sign}(g_1) :$$

    **every** coordinate moves by the full learning rate, whether its gradient was large and
    meaningful or tiny and pure noise. Later, for a coordinate whose gradient is mostly noise, $m$
    averages the noise away while $v$ does not, and the step shrinks to a fraction of $\eta$. The
    per-coordinate learning rate $\eta/\sqrt{\hat v}$ has the same problem: with few samples in the
    denominator it is wildly spread across coordinates.

    Measured on 10,000 coordinates whose gradients are pure noise of size 1 (so the right answer
    is "do not move much"):
    """),
    code(r"""
    n_coords, T_noise = 10_000, 1000
    probe = [1, 2, 5, 10, 20, 50, 100, 1000]
    measured_at = sorted(set(np.unique(np.geomspace(1, T_noise, 40).round().astype(int))) | set(probe))
    noise_stats = {}
    for beta2 in [0.95, 0.999]:
        gen = torch.Generator().manual_seed(1)
        m, v = torch.zeros(n_coords), torch.zeros(n_coords)
        step_size, spread = {}, {}
        for t in range(1, T_noise + 1):
            grad = torch.randn(n_coords, generator=gen)
            m.lerp_(grad, 1 - 0.9)
            v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            if t in measured_at:
                m_hat, v_hat = m / (1 - 0.9**t), v / (1 - beta2**t)
                step_size[t] = (m_hat.abs() / v_hat.sqrt()).mean().item()     # |step| / lr
                per_coord_lr = 1 / v_hat.sqrt()                                 # lr / sqrt(v_hat), per lr
                q50, q99 = torch.quantile(per_coord_lr, torch.tensor([0.5, 0.99])).tolist()
                spread[t] = q99 / q50
        noise_stats[beta2] = (step_size, spread)

    print(f"{'step t':>7s}" + "".join(f"  β2={b}: |step|/lr, lr/√v̂ 99th/50th pct" for b in noise_stats))
    for t in probe:
        print(f"{t:7d}" + "".join(f"  {s[t]:17.2f} {p[t]:19.1f}" for s, p in noise_stats.values()))
    """),
    code(r"""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    for beta2, (step_size, spread) in noise_stats.items():
        axes[0].plot(list(step_size), list(step_size.values()), label=f"β₂ = {beta2}")
        axes[1].plot(list(spread), list(spread.values()), label=f"β₂ = {beta2}")
    axes[0].set(xscale="log", xlabel="step", ylabel="mean |step| / lr",
                title="how far Adam moves on pure noise")
    axes[1].set(xscale="log", yscale="log", xlabel="step", ylabel="99th / 50th percentile",
                title="spread of the per-coordinate lr  lr/√v̂")
    axes[0].legend()
    plt.show()
    """),
    md(r"""
    In the first step every coordinate moves by exactly one learning rate, several times what the
    same optimizer settles to on the same noise (left: 1.00 against 0.18). The per-coordinate
    learning rates start spread by a factor of over fifty between the median coordinate and the
    top 1% (right), because a coordinate whose single sample happened to be tiny gets a huge
    $\eta/\sqrt{\hat v}$. The step sizes settle within a few tens of steps. The spread keeps
    shrinking for $\beta_2 = 0.999$, whose $\hat v$ averages ever more samples, and levels off for
    0.95, which never averages more than about 20.

    A **warmup** multiplies exactly these steps by a small factor: while the statistics are
    unreliable, the steps are kept small, like TCP's slow start probing a link before trusting it.
    (RAdam, Liu et al. 2020, turns this argument into a correction factor instead of a schedule.)

    ## 3 · A small transformer at a high peak learning rate

    Does it matter in practice? A character-level transformer (2 layers, width 64, 4 heads, context
    32) on the course's text corpus, batches of 16 sequences, 300 steps of AdamW with GPT-style
    settings ($\beta_2 = 0.95$, weight decay 0.1 on the matrices), cosine decay to 10% of the peak,
    no gradient clipping. Two peak learning rates, each with no warmup and with a 75-step warmup.
    Everything else (initial weights, batches) is identical between the two runs of a pair.
    """),
    code(r"""
    train_text, val_text = corpus_splits()
    tok = CharTokenizer(train_text)
    train_ids, val_ids = tok.encode(train_text, device=device), tok.encode(val_text, device=device)
    STEPS, BLOCK, BATCH, TX_WARMUP = 300, 32, 16, 75
    val_gen = torch.Generator().manual_seed(123)
    val_batches = [char_batches(val_ids, BLOCK, 64, generator=val_gen, device=device) for _ in range(4)]


    def train_transformer(peak_lr, warmup_steps, seed=0):
        torch.manual_seed(seed)
        model = CharTransformer(tok.vocab_size, block_size=BLOCK, n_layer=2, n_head=4, n_embd=64, device=device)
        opt = AdamW(param_groups_for_weight_decay(model, 0.1), lr=peak_lr, betas=(0.9, 0.95))
        scheduler = LambdaLR(opt, warmup_cosine(warmup_steps, STEPS, floor=0.1))
        gen = torch.Generator().manual_seed(seed)
        losses, rel_update = [], []
        for step in range(STEPS):
            x, y = char_batches(train_ids, BLOCK, BATCH, generator=gen, device=device)
            _, loss = model(x, y)
            opt.zero_grad()
            loss.backward()
            if step < 60:                                   # measure the first updates' size
                before = torch.cat([p.detach().flatten() for p in model.parameters()])
            opt.step()
            scheduler.step()
            if step < 60:
                after = torch.cat([p.detach().flatten() for p in model.parameters()])
                rel_update.append(((after - before).norm() / before.norm()).item())
            losses.append(loss.item())
        with torch.no_grad():
            val_loss = sum(model(x, y)[1].item() for x, y in val_batches) / len(val_batches)
        return {"losses": np.array(losses), "rel_update": np.array(rel_update), "val": val_loss}


    runs = {(lr, w): train_transformer(lr, w) for lr in [3e-3, 5e-2] for w in [0, TX_WARMUP]}
    counts = torch.bincount(train_ids, minlength=tok.vocab_size).double() + 1
    unigram = -(counts / counts.sum()).log()[val_ids].mean().item()
    print(f"reference points: uniform guess over {tok.vocab_size} characters {math.log(tok.vocab_size):.2f}, "
          f"letter frequencies only (unigram) {unigram:.2f}\n")
    print(f"{'peak lr':>8s} {'warmup':>7s} {'largest loss after step 10':>27s} "
          f"{'loss at steps 90-110':>21s} {'final held-out loss':>20s}")
    for (lr, w), r in runs.items():
        print(f"{lr:8g} {w:7d} {r['losses'][10:].max():27.2f} {r['losses'][90:110].mean():21.2f} {r['val']:20.3f}")
    print()
    for (lr, w), r in runs.items():
        spike = 10 + int(r["losses"][10:].argmax())
        lr_then = lr * warmup_cosine(w, STEPS, floor=0.1)(spike)
        print(f"peak {lr:g}, warmup {w:2d}: first update moved the weights by {r['rel_update'][0]:.1%} of their norm; "
              f"largest loss at step {spike} (lr then {lr_then:.1e})")
    """),
    code(r"""
    def smooth(x, beta=0.9):
        out, avg = [], 0.0
        for i, v in enumerate(x):
            avg = beta * avg + (1 - beta) * v
            out.append(avg / (1 - beta ** (i + 1)))
        return np.array(out)


    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
    for (lr, w), r in runs.items():
        style = "-" if w else "--"
        color = "#0072B2" if lr < 1e-2 else "#D55E00"
        label = f"peak {lr:g}, {'warmup ' + str(w) if w else 'no warmup'}"
        axes[0].plot(smooth(r["losses"]), style, color=color, label=label)
        axes[1].plot(r["losses"], style, color=color, linewidth=0.8, label=label)
        axes[2].plot(np.arange(1, 61), r["rel_update"][:60], style, color=color, label=label)
    axes[0].set(xlabel="step", ylabel="training loss (smoothed)", title="training loss", ylim=(2.3, 4.8))
    axes[1].set(xlabel="step", ylabel="training loss (raw)", title="the first 100 steps, raw", xlim=(0, 100))
    axes[2].set(xlabel="step", ylabel="‖Δθ‖ / ‖θ‖", yscale="log", title="relative size of each update")
    axes[0].legend(fontsize=9)
    plt.show()
    """),
    md(r"""
    What happened, honestly (one seed per setting):

    - **At a normal peak (3e-3)** warmup changes little at this size: the two runs end at 2.589
      and 2.587, a difference one seed cannot tell from noise. This model uses pre-LayerNorm blocks,
      the layout Xiong et al. (2020) showed to train stably without warmup in many cases; the
      original post-LayerNorm transformer is the one that famously fails without it.
    - **At a high peak (5e-2)** it matters. Without warmup the very first update moves the weights
      by 89% of their norm (right): the network is in effect re-initialised at random, with larger
      weights. It then spends a long stretch near the 3.25 of a model that only knows letter
      frequencies and ends at 2.975. With a 75-step warmup the first update is 1.2% of the norm,
      and the same peak ends at 2.835, 0.14 lower.
    - **Warmup did not make the run smooth.** The warmup run at 5e-2 has the largest single spike
      of all, 9.06 at step 15, when its learning rate had climbed to 1.1e-2; it recovered at the
      next step (middle). Warmup limits how violent the *first* updates are; it does not promise a
      spike-free run, which is what gradient clipping (lesson 08) is for.
    - Nothing diverged to NaN. At this scale, leaving out warmup costs final loss rather than the
      whole run; the catastrophic version of the story belongs to larger models, post-LN layouts
      and float16, where one bad early step can push activations into overflow.

    ## 4 · Warmup-stable-decay: a run you can extend

    Cosine decay needs the length of the run up front: its learning rate at step $t$ depends on $T$.
    Decide at step 300 to train to 500 and the cosine you have been following is the wrong one:
    it has already decayed to the floor. **Warmup-stable-decay** (WSD, also called trapezoidal)
    keeps the learning rate at its peak for most of the run and decays only in a short final phase.
    Any checkpoint from the stable phase can be turned into a finished model by a short decay
    branch, and the main run continues undisturbed.

    Demonstrated on the digits MLP (Adam's peak `3e-3`, batches of 32, 20 warmup steps): one stable
    run to step 400, with decay branches of 60 steps taken from its checkpoints at steps 200 and
    400. For comparison, two cosine runs each planned for one of those final lengths (260 and 460
    steps), which is what you would have to do without WSD: train from scratch once per length.
    """),
    code(r"""
    digits = load_digits_split(device=device)
    gen = torch.Generator().manual_seed(0)
    digit_batches = [torch.randint(0, len(digits.y_train), (32,), generator=gen).to(device) for _ in range(500)]
    D_PEAK, D_WARMUP, DECAY = 3e-3, 20, 60


    def test_loss(model):
        with torch.no_grad():
            return F.cross_entropy(model(digits.X_test), digits.y_test).item()


    def train_steps(model, opt, scheduler, start, stop, curve):
        for step in range(start, stop):
            idx = digit_batches[step]
            loss = F.cross_entropy(model(digits.X_train[idx]), digits.y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            scheduler.step()
            if (step + 1) % 10 == 0:
                curve[step + 1] = test_loss(model)


    def fresh_model():
        torch.manual_seed(0)
        return MLP([64, 128, 10], device=device)


    # the stable run: warmup, then the peak for as long as we like
    model = fresh_model()
    opt = AdamW(model.parameters(), lr=D_PEAK, weight_decay=0.0)
    scheduler = LambdaLR(opt, linear_warmup(D_WARMUP))
    stable, checkpoints = {}, {}
    for A in [200, 400]:
        train_steps(model, opt, scheduler, max(stable, default=0), A, stable)
        checkpoints[A] = (copy.deepcopy(model.state_dict()), copy.deepcopy(opt.state_dict()))

    # a decay branch from each checkpoint: the WSD schedule whose decay starts at that step
    branches = {}
    for A, (model_state, opt_state) in checkpoints.items():
        branch_model = MLP([64, 128, 10], device=device)
        branch_model.load_state_dict(model_state)
        branch_opt = AdamW(branch_model.parameters(), lr=D_PEAK, weight_decay=0.0)
        branch_opt.load_state_dict(opt_state)
        wsd = warmup_stable_decay(D_WARMUP, DECAY, A + DECAY, floor=0.0)
        branch_sched = LambdaLR(branch_opt, wsd, last_epoch=A - 1)    # resume the schedule at step A
        branches[A] = {}
        train_steps(branch_model, branch_opt, branch_sched, A, A + DECAY, branches[A])

    # cosine runs planned for each final length, from scratch
    cosines = {}
    for total in [200 + DECAY, 400 + DECAY]:
        cos_model = fresh_model()
        cos_opt = AdamW(cos_model.parameters(), lr=D_PEAK, weight_decay=0.0)
        cosines[total] = {}
        train_steps(cos_model, cos_opt, LambdaLR(cos_opt, warmup_cosine(D_WARMUP, total, floor=0.0)),
                    0, total, cosines[total])

    for A in checkpoints:
        end = A + DECAY
        same_step = f" (the stable run at step {end}: {stable[end]:.3f})" if end in stable else ""
        print(f"stop at {end}: checkpoint at step {A} {stable[A]:.3f} -> after its {DECAY}-step decay "
              f"{branches[A][end]:.3f}{same_step} | cosine planned for {end} steps: {cosines[end][end]:.3f}")
    print(f"steps trained: WSD {max(stable) + DECAY * len(branches)} for both models, "
          f"cosine {sum(cosines)} (and a third length would cost a third run)")
    """),
    code(r"""
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
    wsd_lr = lambda end: [D_PEAK * warmup_stable_decay(D_WARMUP, DECAY, end)(t) for t in range(end)]
    axes[0].plot(lr_at_steps(linear_warmup(D_WARMUP), D_PEAK, 400), color="black", label="stable run")
    for A in checkpoints:
        axes[0].plot(range(A, A + DECAY), wsd_lr(A + DECAY)[A:], color="#D55E00", label=f"decay from {A}")
    for total in cosines:
        axes[0].plot([D_PEAK * warmup_cosine(D_WARMUP, total, floor=0.0)(t) for t in range(total)],
                     ":", label=f"cosine planned for {total}")
    axes[0].set(xlabel="step", ylabel="learning rate", title="schedules")
    axes[1].plot(list(stable), list(stable.values()), color="black", label="stable run")
    for A, curve in branches.items():
        axes[1].plot([A] + list(curve), [stable[A]] + list(curve.values()), color="#D55E00",
                     marker="o", markevery=[-1], label=f"decay from {A}")
    for total, curve in cosines.items():
        axes[1].plot(list(curve), list(curve.values()), ":", label=f"cosine planned for {total}")
    axes[1].set(xlabel="step", ylabel="test loss", title="held-out loss", ylim=(0.05, 0.4))
    axes[0].legend(fontsize=8)
    plt.show()
    """),
    md(r"""
    Each decay branch turned a mid-training checkpoint into a finished model, and the short decay
    is worth having: the first branch ends at 0.163, below its checkpoint and below the stable run
    at the same step, whose test loss still jumps around at the peak learning rate (right). Here
    the branches even end below the cosine runs planned for the same lengths (0.163 against 0.227,
    0.114 against 0.151): cosine spends much of a short run at a low learning rate. On long
    language-model runs the literature (e.g. Hägele et al. 2024) reports WSD with a 1-sqrt cooldown
    roughly matching cosine, so treat "better" as specific to this toy, and "as good, and
    extendable" as the general claim. And one stable run served both lengths: deciding
    to train longer costs only the extra steps, not a restart. That is why several recent LLM
    training reports use WSD (MiniCPM, Hu et al. 2024, gave it the name): the total is rarely
    known in advance.

    ## 5 · The GPT-3 recipe, worked

    Brown et al. (2020), *Language Models are Few-Shot Learners*, give the recipe in tokens, not
    steps: Adam with $\beta_1 = 0.9$, $\beta_2 = 0.95$, $\epsilon = 10^{-8}$; linear warmup over the
    first 375 million tokens; cosine decay to 10% of the peak over 260 billion tokens, then training
    continues at 10% (300 billion tokens in all); weight decay 0.1; gradient clipping at 1.0. The
    peak learning rate and the batch size (in tokens) depend on the model size (their Table 2.1).
    Converting to optimizer steps (a step is one batch):
    """),
    code(r"""
    recipe = {"beta1": 0.9, "beta2": 0.95, "eps": 1e-8, "warmup_tokens": 375e6, "decay_tokens": 260e9,
              "total_tokens": 300e9, "floor": 0.1, "weight_decay": 0.1, "clip": 1.0,
              "batch_ramp_from_tokens": 32e3, "batch_ramp_over_tokens": (4e9, 12e9)}
    models = {  # name: (peak lr, batch size in tokens), from Table 2.1
        "GPT-3 Small (125M)": (6.0e-4, 0.5e6),
        "GPT-3 XL (1.3B)": (2.0e-4, 1e6),
        "GPT-3 13B": (1.0e-4, 2e6),
        "GPT-3 175B": (0.6e-4, 3.2e6),
    }
    print(f"{'model':20s} {'peak lr':>8s} {'batch':>6s} {'warmup steps':>13s} {'decay ends':>11s} {'total steps':>12s}")
    for name, (peak, batch) in models.items():
        print(f"{name:20s} {peak:8.1e} {batch / 1e6:5.1f}M {recipe['warmup_tokens'] / batch:13,.0f} "
              f"{recipe['decay_tokens'] / batch:11,.0f} {recipe['total_tokens'] / batch:12,.0f}")

    peak, batch = models["GPT-3 Small (125M)"]
    W = round(recipe["warmup_tokens"] / batch)
    T = round(recipe["decay_tokens"] / batch)
    gpt3_small = warmup_cosine(warmup_steps=W, total_steps=T, floor=recipe["floor"])
    print(f"\nGPT-3 Small as a course_lib schedule: warmup_cosine(warmup_steps={W}, total_steps={T:,}, floor=0.1)")
    for tokens in [0, 100e6, 375e6, 10e9, 130e9, 260e9, 300e9]:
        step = round(tokens / batch)
        print(f"  after {tokens / 1e9:6.2f}B tokens (step {step:7,}): lr = {peak * gpt3_small(step):.2e}")
    print(f"warmup is {W / round(recipe['total_tokens'] / batch):.2%} of the run")
    ramp_lo, ramp_hi = recipe["batch_ramp_over_tokens"]
    print(f"(the batch itself grew from {recipe['batch_ramp_from_tokens'] / 1e3:.0f}K tokens to full size over the "
          f"first {ramp_lo / 1e9:.0f}-{ramp_hi / 1e9:.0f}B tokens, depending on the model)")
    """),
    md(r"""
    Two things stand out. The warmup is tiny: 750 steps out of 600,000 for the small model, about a
    tenth of a percent of the run (in tokens it is the same for every size, so in steps it is even
    shorter for the big models' bigger batches: 117 for 175B). And the step counts are
    approximations: GPT-3 also ramped the *batch size* up (last line above), so early on a "step" was much smaller than the full batch and there were
    more steps than this table says. Specifying the schedule in tokens makes it independent of
    that detail; a course_lib schedule counts optimizer steps, so convert at the batch size you
    actually use.

    The peak falls as the models grow (6e-4 for 125M, 0.6e-4 for 175B): larger models are trained
    with smaller learning rates and larger batches.

    **Fine-tuning** a pretrained model uses much smaller learning rates; a common rule of thumb is
    10 to 100 times below the pretraining peak, with a short warmup and a decay. The reason: the
    pretrained weights are already a good solution that the small fine-tuning set cannot rebuild,
    and large steps on a small data set move the weights far from it (forgetting what pretraining
    learned) and overfit. It is a rough rule; the original recipes were closer:
    """),
    code(r"""
    published = {  # (pretraining peak lr, fine-tuning lrs), from the papers
        "GPT (Radford et al. 2018)": (2.5e-4, [6.25e-5]),
        "BERT (Devlin et al. 2019)": (1e-4, [5e-5, 3e-5, 2e-5]),
    }
    for name, (pre, fine) in published.items():
        ratios = ", ".join(f"{pre / f:.1f}x" for f in fine)
        print(f"{name:27s} pretraining {pre:.2e}, fine-tuning {', '.join(f'{f:.2e}' for f in fine)}: {ratios} lower")
    """),
    md(r"""
    Both fine-tuned their whole network only 2 to 5 times below the pretraining rate, on small
    models and for a few epochs. Treat "one to two orders of magnitude lower" as a starting point
    for large models, and check it with a short sweep on your own validation data.

    ## 6 · Design your own schedule

    `course_lib.schedule_designer` trains a small MLP on the digits for 120 steps of Adam with the
    schedule you design, and, for comparison, with a constant learning rate equal to your peak.
    The left plot is the learning rate the run used at every step (read from the optimizer); the
    right, both training losses, with the held-out test loss in the title. Things to try: push the
    peak up until the constant run diverges and see whether a warmup saves the scheduled one;
    compare the shapes at the same peak; set the floor to 100% (no decay) and watch what is lost.
    """),
    code(r"""
    from course_lib.schedule_designer import design_result, schedule_designer

    for shape in ["cosine", "linear", "wsd", "one-cycle"]:
        print(design_result(shape, warmup=0.1, peak_lr=0.1, floor=0.0).readout, "\n")
    """),
    code(r"""
    schedule_designer(shape="cosine", warmup=0.1, peak_lr=0.1, floor=0.0)
    """),
    md(r"""
    (On GitHub or in a notebook viewer you see a picture of the designer's first state; run the
    notebook in JupyterLab to move the sliders.) At this peak of 0.1 every shape beat the constant
    learning rate's 0.165 in the readouts above, WSD most (0.097). One seed and 120 steps: the
    ranking of the shapes is not the lesson, the gap to "no schedule" is.

    ## Takeaways

    - A schedule is a pure function of the step; `LambdaLR` applies it, and the learning rate to
      trust is the one read from `optimizer.param_groups` at each step. Ours match PyTorch's
      schedulers step by step, and hold their final value past the end instead of climbing back.
    - Adam's first steps are large and noisy: the first moves every coordinate by the full learning
      rate, and $\eta/\sqrt{\hat v}$ is wildly spread until $\hat v$ has averaged enough samples.
      Warmup keeps those steps small.
    - On a small pre-LN transformer, warmup mattered little at a normal peak and clearly at a high
      one, where the first update without it nearly re-initialised the network. It does not
      prevent later spikes.
    - Warmup-stable-decay gives a finished model from any stable-phase checkpoint with a short
      decay, so a run can be extended without re-planning; cosine needs its length up front.
    - GPT-3's schedule in steps: 750 warmup steps and 520,000 decay steps for the 125M model.
      Fine-tuning uses smaller peaks, by a factor that depends on the recipe.
    """),
    md(r"""
    ## Misconception: "a schedule is a detail you can add later"

    The schedule changes which peak learning rate is best, so a learning rate tuned with a
    constant schedule is tuned for the wrong run. Sweep the peak with the designer's runs, once
    with a constant learning rate and once with cosine decay (10% warmup, decay to 0):
    """),
    code(r"""
    peaks = [3e-3, 1e-2, 3e-2, 1e-1, 3e-1]
    sweep = {p: design_result("cosine", warmup=0.1, peak_lr=p, floor=0.0) for p in peaks}
    print(f"{'peak lr':>8s} {'constant':>9s} {'cosine':>8s}   (held-out test loss)")
    for p, res in sweep.items():
        const = "diverged" if res.constant_diverged_at is not None else f"{res.constant_test_loss:.3f}"
        cos = "diverged" if res.diverged else f"{res.test_loss:.3f}"
        print(f"{p:8g} {const:>9s} {cos:>8s}")
    best_const = min(peaks, key=lambda p: sweep[p].constant_test_loss)
    best_cos = min(peaks, key=lambda p: sweep[p].test_loss)
    print(f"best peak: constant {best_const:g} (test loss {sweep[best_const].constant_test_loss:.3f}), "
          f"cosine {best_cos:g} (test loss {sweep[best_cos].test_loss:.3f})")
    """),
    md(r"""
    Tuned with a constant learning rate, the best peak here is 0.03 (test loss 0.133). Adding a
    cosine decay "later", at that peak, gives 0.156: worse than no schedule at all. Re-tuned for
    the cosine schedule, the best peak is 0.1, and the schedule wins (0.128). The best peak moved
    by a factor of three. A schedule and its peak learning rate are one decision, tuned together.

    ## Misconception: "warmup is only for transformers"

    The problem warmup addresses in section 2 belongs to the optimizer, not the architecture:
    Adam's first update moves every weight by the full learning rate, in any model. Warmup is
    also older than its fame in transformers: the ResNet paper (He et al., 2016) trained its
    110-layer CIFAR network at a tenth of the learning rate for the first few hundred steps, and
    Goyal et al. (2017) needed a gradual warmup to train ResNet-50 with SGD at large batch sizes.
    The first updates of the digits MLP, with and without warmup, at the same peak:
    """),
    code(r"""
    def first_updates(warmup_steps, peak=3e-2, n=30):
        torch.manual_seed(0)
        model = MLP([64, 128, 10], device=device)
        opt = AdamW(model.parameters(), lr=peak, weight_decay=0.0)
        scheduler = LambdaLR(opt, warmup_cosine(warmup_steps, 120, floor=0.0) if warmup_steps else cosine_decay(120))
        sizes = []
        for step in range(n):
            idx = digit_batches[step]
            loss = F.cross_entropy(model(digits.X_train[idx]), digits.y_train[idx])
            opt.zero_grad()
            loss.backward()
            before = torch.cat([p.detach().flatten() for p in model.parameters()])
            opt.step()
            scheduler.step()
            after = torch.cat([p.detach().flatten() for p in model.parameters()])
            sizes.append(((after - before).norm() / before.norm()).item())
        return sizes


    no_warm, warm = first_updates(0), first_updates(12)
    print("relative update size ‖Δθ‖/‖θ‖ of the MLP, peak lr 3e-2")
    for step in [0, 1, 4, 9, 19, 29]:
        print(f"  step {step + 1:2d}: no warmup {no_warm[step]:.3f}   12-step warmup {warm[step]:.3f}")
    print(f"\nthe designer's runs (cosine to 0), held-out test loss without / with a 10% warmup "
          f"(a uniform guess over 10 digits scores ln 10 = {math.log(10):.3f}):")
    for peak in [3e-2, 1e-1, 3e-1]:
        without, with_ = (design_result("cosine", warmup=w, peak_lr=peak, floor=0.0) for w in (0.0, 0.1))
        fmt = lambda r: "diverged" if r.diverged else f"{r.test_loss:.3f}"
        print(f"  peak {peak:g}: {fmt(without)} / {fmt(with_)}")
    """),
    md(r"""
    The same violent first steps as the transformer's: without warmup the first update changes the
    MLP's weights by 38% of their norm, with a 12-step warmup by 3%. And it costs: in the designer's
    runs the MLP without warmup ends worse at every peak tried (0.179 against 0.156 at 0.03), and at
    a peak of 0.3 it never learns at all (2.306, a uniform guess), while with warmup it reaches 0.148.
    One seed per setting, but the last gap is not noise. Warmup protects against a property of the
    optimizer, whatever the architecture, and pays most when the learning rate is pushed.

    ---

    ## Questions

    1. Section 1's table shows PyTorch's schedulers agreeing with the formulas to about $10^{-18}$
       rather than exactly. Where can a recursive update (multiplying the last
       learning rate by a factor each step) lose bits that a closed form does not?
    2. At step 1 Adam is sign descent with step $\eta$. How large is the *relative* change of a
       weight initialised with standard deviation 0.02 if $\eta = 5 \times 10^{-2}$? What
       warmup length would bring the first step below 1% of that?
    3. WSD's decay branches ended below the cosine runs here. Design an experiment (on the designer
       or the transformer) that would tell whether that is about the short runs or about the shape.
    4. GPT-3's warmup is the same in tokens for every model size, so in steps it is shorter for the
       large models. Is that what you would choose, given section 2? What would you warm up over
       instead?
    5. You fine-tune a model pretrained at a peak of 3e-4 on 2,000 examples for 3 epochs. Pick a
       schedule (shape, warmup, peak, floor) and say how you would check the choice in under an
       hour of compute.
    """),
]

if __name__ == "__main__":
    out = write_notebook(ROOT / "notebooks" / "07_lr_schedules.ipynb", cells)
    print(f"wrote {out.relative_to(ROOT)}")
