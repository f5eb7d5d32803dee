"""Build notebooks/06_adamw.ipynb (run from the repository root).

    .venv/bin/python tools/lessons/build_06.py
    .venv/bin/python tools/execute_notebooks.py notebooks/06_adamw.ipynb
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tools.nbbuild import code, md, write_notebook  # noqa: E402

cells = [
    md(r"""
    # 06 · AdamW: decoupled weight decay

    `torch.optim.Adam(params, weight_decay=0.01)` and `torch.optim.AdamW(params, weight_decay=0.01)`
    look like the same optimizer with the same setting. They are not. Both pull the weights towards
    zero, but Adam does it by adding a penalty to the gradient, where its per-parameter scaling then
    distorts it, and AdamW does it directly on the weights. Loshchilov and Hutter (Ilya Loshchilov
    and Frank Hutter, *Decoupled Weight Decay Regularization*, ICLR 2019) named the difference, and
    AdamW became the default for training transformers.

    **What you will learn**
    - Why weight decay and L2 regularisation are the same thing for SGD, and not for Adam: shown
      to the last digit, then measured on weights with small and large gradients.
    - A fair comparison of Adam + L2 and AdamW on a small real problem, over several seeds, and
      what it does and does not show.
    - Param groups: which tensors should not be decayed (biases, LayerNorm gains), and why.
    - $\beta_2 = 0.95$ versus $0.999$: what a long memory of gradient sizes does when the gradient
      suddenly grows.
    - How much memory an optimizer keeps, measured from its real state tensors, scaled to 7B and
      70B parameters; what ZeRO/FSDP, 8-bit states, Adafactor and Lion change. Lion is written
      here, added to `course_lib`, and tested.
    """),
    md(r"""
    **Prerequisites:** lesson 05 (Adam: the moments $m$ and $v$, bias correction); lesson 02
    (SGD). No regularisation theory is assumed.

    **Time:** about 40 minutes.

    Exact checks run in float64 on the CPU; training runs on `device`.
    """),
    code(r"""
    import math
    import statistics

    import matplotlib.pyplot as plt
    import numpy as np
    import torch
    import torch.nn.functional as F
    from torch import nn

    from course_lib.data import CharTokenizer, corpus_splits, load_digits_split
    from course_lib.device import default_device, seed_everything
    from course_lib.models import MLP, CharTransformer, count_parameters, param_groups_for_weight_decay
    from course_lib.plots import course_style

    course_style()
    device = default_device()
    g = seed_everything(0)
    """),
    md(r"""
    ## 1 · Two ways to pull weights towards zero

    Large weights are a classic sign of a model that fits its training data too eagerly. Two
    remedies sound alike:

    - **L2 regularisation** changes the *loss*: add $\tfrac{\lambda}{2}\lVert\theta\rVert^2$, so
      the gradient gains a term, $\nabla \tilde L(\theta) = g + \lambda\theta$.
    - **Weight decay** changes the *update*: every step, shrink each weight by a fixed fraction,
      $\theta \leftarrow (1 - \eta\lambda)\,\theta$, then take the usual step.

    For plain SGD they are the same update, written twice:

    $$\theta \leftarrow \theta - \eta\,(g + \lambda\theta) = (1 - \eta\lambda)\,\theta - \eta\, g .$$

    Here are both on a small least-squares problem, 200 steps each, in float64.
    `torch.optim.SGD(weight_decay=λ)` is the first kind (it adds $\lambda\theta$ to the gradient).
    """),
    code(r"""
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(64, 5, generator=gen, dtype=torch.float64)
    y = X @ torch.tensor([1.0, -2.0, 0.5, 0.0, 3.0], dtype=torch.float64)
    lr, lam = 0.05, 0.1

    w_l2 = torch.zeros(5, dtype=torch.float64, requires_grad=True)     # L2 in the loss
    w_decay = torch.zeros(5, dtype=torch.float64, requires_grad=True)  # decay on the weights
    w_torch = torch.zeros(5, dtype=torch.float64, requires_grad=True)  # torch's SGD(weight_decay)
    opt_torch = torch.optim.SGD([w_torch], lr=lr, weight_decay=lam)

    for step in range(200):
        loss = ((X @ w_l2 - y) ** 2).mean() + lam / 2 * (w_l2**2).sum()
        (grad,) = torch.autograd.grad(loss, w_l2)
        with torch.no_grad():
            w_l2 -= lr * grad

        (grad,) = torch.autograd.grad(((X @ w_decay - y) ** 2).mean(), w_decay)
        with torch.no_grad():
            w_decay.mul_(1 - lr * lam)                # shrink by the same fraction ...
            w_decay -= lr * grad                      # ... then the plain gradient step

        opt_torch.zero_grad()
        ((X @ w_torch - y) ** 2).mean().backward()
        opt_torch.step()

    print("L2 in the loss:       ", w_l2.detach().numpy().round(6))
    print("decay on the weights: ", w_decay.detach().numpy().round(6))
    print(f"largest difference: {(w_l2 - w_decay).abs().max().item():.1e}  "
          f"(torch's SGD vs L2: {(w_l2 - w_torch).abs().max().item():.1e})")
    """),
    md(r"""
    The same weights, up to rounding in the 16th digit. (Both are smaller than the true
    coefficients $[1, -2, 0.5, 0, 3]$: that is the regularisation doing its job.) So for SGD,
    "weight decay" and "L2 regularisation" really are two names for one thing. That is where the
    habit of using the words interchangeably comes from, and why libraries spell both as
    `weight_decay`.

    ## 2 · Adam divides the decay by $\sqrt{\hat v}$

    Adam rescales each coordinate of the gradient by its own running size. If the decay term is
    added to the gradient, it gets rescaled too. Written out (lesson 05's Adam, with the decay in
    each of the two places):

    | | Adam + L2 (`Adam(weight_decay=λ)`) | AdamW (`AdamW(weight_decay=λ)`) |
    |---|---|---|
    | decay | $g \leftarrow g + \lambda\theta$ | $\theta \leftarrow \theta - \eta\lambda\theta$ |
    | first moment | $m \leftarrow \beta_1 m + (1-\beta_1)\, g$ | same |
    | second moment | $v \leftarrow \beta_2 v + (1-\beta_2)\, g^2$ | same |
    | step | $\theta \leftarrow \theta - \eta\, \hat m / (\sqrt{\hat v} + \epsilon)$ | same |

    with $\hat m = m / (1-\beta_1^t)$ and $\hat v = v / (1-\beta_2^t)$. Both in code, then
    checked against `course_lib.optim` and PyTorch:
    """),
    code(r"""
    def adam_l2_step(p, g, m, v, t, lr, wd, beta1=0.9, beta2=0.999, eps=1e-8):
        g = g + wd * p                                  # L2: the decay joins the gradient ...
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2              # ... enters v ...
        m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
        return p - lr * m_hat / (v_hat.sqrt() + eps), m, v    # ... and is divided by sqrt(v_hat)


    def adamw_step(p, g, m, v, t, lr, wd, beta1=0.9, beta2=0.999, eps=1e-8):
        p = p - lr * wd * p                             # decoupled: every weight shrinks by lr*wd
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
        return p - lr * m_hat / (v_hat.sqrt() + eps), m, v
    """),
    code(r"""
    from course_lib.optim import Adam, AdamW, adam_update_, adamw_update_

    gen = torch.Generator().manual_seed(1)
    start = torch.randn(6, generator=gen, dtype=torch.float64)
    for name, by_hand, ours, theirs in [("Adam + L2", adam_l2_step, Adam, torch.optim.Adam),
                                        ("AdamW", adamw_step, AdamW, torch.optim.AdamW)]:
        p, m, v = start.clone(), torch.zeros(6, dtype=torch.float64), torch.zeros(6, dtype=torch.float64)
        p_ours, p_torch = start.clone().requires_grad_(), start.clone().requires_grad_()
        opt_ours, opt_torch = ours([p_ours], lr=0.01, weight_decay=0.1), theirs([p_torch], lr=0.01, weight_decay=0.1)
        for t in range(1, 51):
            grad = torch.randn(6, generator=gen, dtype=torch.float64)
            p, m, v = by_hand(p, grad, m, v, t, lr=0.01, wd=0.1)
            p_ours.grad, p_torch.grad = grad.clone(), grad.clone()
            opt_ours.step()
            opt_torch.step()
        print(f"{name:9s}: by hand vs course_lib {(p - p_ours).abs().max().item():.1e}, "
              f"vs torch.optim {(p - p_torch).abs().max().item():.1e}")
    """),
    md(r"""
    For a weight whose gradient has a typical size $\sigma$ much larger than $\lambda\theta$,
    $\sqrt{\hat v} \approx \sigma$, and the decay's share of each Adam + L2 step is about
    $\eta\lambda\theta / \sigma$: a fraction $\eta\lambda/\sigma$ per step. Under AdamW it is
    $\eta\lambda$, whatever $\sigma$ is. So under Adam + L2 a weight with large gradients is barely
    decayed, and a weight with tiny gradients is decayed hard.

    To see it, take five groups of 1,000 weights, all starting at $\theta = 1$. Each group gets a
    gradient of pure noise (mean zero, so the data never pulls the weights anywhere) of its own
    size $\sigma$, from $10^{-3}$ to $10$. Run Adam without decay, Adam + L2 and AdamW, with the
    same noise, $\eta = 10^{-3}$ (Adam's default) and $\lambda = 0.1$ in both, for 2,000 steps,
    and watch the mean weight of each group.
    """),
    code(r"""
    sigmas = [1e-3, 1e-2, 1e-1, 1.0, 10.0]
    n_per_group, T, lr, lam = 1000, 2000, 1e-3, 0.1
    scale = torch.tensor(sigmas, dtype=torch.float64).repeat_interleave(n_per_group)


    def noise_run(update, **settings):
        # mean weight of each group after every step, for gradients of pure noise of size sigma
        gen = torch.Generator().manual_seed(2)          # the same noise for every run
        p = torch.ones_like(scale)
        m, v = torch.zeros_like(p), torch.zeros_like(p)
        means = []
        for t in range(1, T + 1):
            grad = scale * torch.randn(len(scale), generator=gen, dtype=torch.float64)
            update(p, grad, m, v, t=t, lr=lr, **settings)
            means.append(p.view(len(sigmas), n_per_group).mean(dim=1))
        return torch.stack(means).numpy()


    no_decay = noise_run(adam_update_)
    adam_l2 = noise_run(adam_update_, weight_decay=lam)
    adamw = noise_run(adamw_update_, weight_decay=lam)
    shrink_adamw = (1 - lr * lam) ** T

    print(f"mean weight after {T} steps (all started at 1.0), and weight lost in the first 100 steps")
    print(f"{'gradient size':>14} {'no decay':>9} {'Adam + L2':>10} {'AdamW':>8}  {'exp(-lr*lam*T/sigma)':>21}"
          f"  {'lost in 100 steps: L2':>22} {'AdamW':>7}")
    for i, s in enumerate(sigmas):
        predicted = f"{math.exp(-lr * lam * T / s):.3f}" if s > lam else "(not valid)"
        lost_l2, lost_w = no_decay[99, i] - adam_l2[99, i], no_decay[99, i] - adamw[99, i]
        print(f"{s:14g} {no_decay[-1, i]:9.3f} {adam_l2[-1, i]:10.3f} {adamw[-1, i]:8.3f}  {predicted:>21}"
              f"  {lost_l2:22.4f} {lost_w:7.4f}")
    print(f"\nAdamW's prediction for every group: (1 - lr*lam)^T = {shrink_adamw:.3f}")
    """),
    code(r"""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
    steps = np.arange(1, T + 1)
    for ax, runs, title in [(axes[0], adam_l2, "Adam + L2 (weight_decay=0.1)"),
                            (axes[1], adamw, "AdamW (weight_decay=0.1)")]:
        for i, s in enumerate(sigmas):
            ax.plot(steps, runs[:, i], label=f"gradient size {s:g}")
        ax.plot(steps, (1 - lr * lam) ** steps, "k--", linewidth=1, label="(1 - lr·λ)$^t$")
        ax.set_title(title)
        ax.set_xlabel("step")
    axes[0].set_ylabel("mean weight")
    axes[1].legend(loc="lower left", fontsize=9)
    plt.show()
    """),
    md(r"""
    Under AdamW (right) the five groups sit on top of each other, on the dashed line
    $(1-\eta\lambda)^t$: decay is uniform. Under Adam + L2 (left) the same $\lambda$ means five
    different things. The groups with gradient size 1 and 10 follow
    $e^{-\eta\lambda T/\sigma}$, the fifth column of the table: 10 times larger gradients, 10 times
    less decay. For the three smaller sizes that formula does not apply (it assumed
    $\sigma \gg \lambda\theta$), and what happens instead is instructive. Once $\lambda\theta = 0.1$
    dominates the gradient, Adam normalises the decay term itself: its step is about
    $\eta\,\lambda\theta/\sqrt{\hat v} \approx \eta$, so these weights lose about $\eta$ *per step*
    at first (0.1 in the first 100 steps, the last columns: ten times AdamW's loss), and slow down
    only as $\lambda\theta$ shrinks towards the size of the noise. Weights the data hardly touches
    are the ones L2 crushes; weights with large gradients keep their size.

    Is the second behaviour bad? Not automatically: it is a *different* regulariser, whose
    strength depends on the gradient history, which is not what anyone who wrote
    `weight_decay=0.1` had in mind. The question is whether it matters on a real problem.

    ## 3 · A fair comparison on a real problem

    The model: an MLP with one hidden layer of 128 units on the 8×8 digits, trained on only 300
    images for 300 steps (60 epochs), so it overfits: exactly the situation regularisation is
    for. Held-out: the 450 test images. The data order and initial weights depend on the seed.
    """),
    code(r"""
    data = load_digits_split(device=device)
    X_train, y_train = data.X_train[:300], data.y_train[:300]
    X_test, y_test = data.X_test, data.y_test
    BATCH, STEPS, LR = 60, 300, 2e-3


    def train_digits(opt_class, weight_decay, seed, lr=LR, **opt_kwargs):
        torch.manual_seed(seed)                                  # initial weights
        model = MLP([64, 128, 10], device=device)
        groups = param_groups_for_weight_decay(model, weight_decay)   # biases are not decayed (section 4)
        opt = opt_class(groups, lr=lr, **opt_kwargs)
        gen = torch.Generator().manual_seed(seed)                # batch order
        for step in range(STEPS):
            if step % (len(y_train) // BATCH) == 0:              # a new epoch: reshuffle
                order = torch.randperm(len(y_train), generator=gen).to(device)
            idx = order[(step * BATCH) % len(y_train):][:BATCH]
            loss = F.cross_entropy(model(X_train[idx]), y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            train_loss = F.cross_entropy(model(X_train), y_train).item()
            logits = model(X_test)
            test_loss = F.cross_entropy(logits, y_test).item()
            test_acc = (logits.argmax(dim=1) == y_test).float().mean().item()
        return {"train_loss": train_loss, "test_loss": test_loss, "test_acc": test_acc,
                "model": model, "opt": opt}


    base = train_digits(Adam, 0.0, seed=0)
    weights = param_groups_for_weight_decay(base["model"], 0.0)[0]["params"]   # the two weight matrices
    t = base["opt"].state[weights[0]]["step"].item()
    root_v_hat = torch.cat([(base["opt"].state[w]["exp_avg_sq"] / (1 - 0.999**t)).sqrt().flatten()
                            for w in weights]).cpu()
    s_med = root_v_hat.median().item()
    dead = (root_v_hat == 0).sum().item()
    blank_pixels = (X_train == 0).all(dim=0).sum().item()
    silent_units = (base["opt"].state[weights[1]]["exp_avg_sq"] == 0).all(dim=0).sum().item()
    q01, q99 = torch.quantile(root_v_hat[root_v_hat > 0], torch.tensor([0.01, 0.99])).tolist()

    print(f"no decay, seed 0: train loss {base['train_loss']:.3f}, test loss {base['test_loss']:.3f}, "
          f"test accuracy {base['test_acc']:.1%}")
    print(f"sqrt(v_hat) over the {len(root_v_hat):,} weights: median {s_med:.2e}, "
          f"1st-99th percentile {q01:.1e} to {q99:.1e} ({q99 / q01:,.0f}x)")
    print(f"{dead:,} weights have had no gradient at all. A first-layer weight (hidden unit i, pixel k) only "
          f"gets one from images\nin which pixel k is not blank and unit i is active: {blank_pixels * 128} of them "
          f"read the {blank_pixels} pixels that are blank in every training image,\n{silent_units} hidden units "
          f"never switched on (ReLU output 0 on every example seen), and the rest join a pixel and a unit that "
          f"were never on together.")
    """),
    code(r"""
    fig, ax = plt.subplots(figsize=(7, 3.4))
    ax.hist(np.log10(root_v_hat[root_v_hat > 0].numpy()), bins=60, color="#0072B2")
    ax.axvline(math.log10(s_med), color="black", linestyle="--", label=f"median {s_med:.1e}")
    ax.set_xlabel(r"$\log_{10}\sqrt{\hat v}$ of a weight")
    ax.set_ylabel("weights")
    ax.set_title("per-weight gradient size after training (no decay)")
    ax.legend()
    plt.show()
    """),
    md(r"""
    The gradient sizes of one small network's weights spread over several orders of magnitude, so
    under Adam + L2 their decay rates spread just as widely. To compare the two optimizers at a
    *comparable* strength, match them at the median weight: AdamW shrinks every weight by
    $\eta\lambda_W$ per step, Adam + L2 shrinks a weight of gradient size $\sqrt{\hat v}$ by about
    $\eta\lambda_{L2}/\sqrt{\hat v}$, so

    $$\lambda_{L2} = \lambda_W \cdot \text{median}\sqrt{\hat v}$$

    gives the median weight the same decay under both. Then everything else is held equal (same
    learning rate, same steps, same initial weights and batches for a given seed) and each setting
    is run over 3 seeds, at a weaker and a stronger decay. No setting is chosen by looking at the
    test set: the table shows every run.
    """),
    code(r"""
    seeds = [0, 1, 2]


    def summarise(runs, key):
        values = [r[key] for r in runs]
        return statistics.mean(values), statistics.stdev(values)


    table = {"no decay": [train_digits(Adam, 0.0, s) for s in seeds]}
    for lam_w in [0.1, 1.0]:
        lam_l2 = lam_w * s_med
        table[f"Adam + L2, wd={lam_l2:.1e}"] = [train_digits(Adam, lam_l2, s) for s in seeds]
        table[f"AdamW,     wd={lam_w:g}"] = [train_digits(AdamW, lam_w, s) for s in seeds]

    print(f"{'':24s} {'train loss':>11s} {'test loss':>16s} {'test accuracy':>17s}   (mean ± sd, 3 seeds)")
    for name, runs in table.items():
        tr, te, acc = summarise(runs, "train_loss"), summarise(runs, "test_loss"), summarise(runs, "test_acc")
        print(f"{name:24s} {tr[0]:11.3f} {te[0]:9.3f} ± {te[1]:.3f} {acc[0]:10.1%} ± {acc[1]:.1%}")

    n_test = len(y_test)
    base_loss, base_sd = summarise(table["no decay"], "test_loss")
    base_acc = summarise(table["no decay"], "test_acc")[0]
    print(f"\nagainst no decay ({n_test} test images, so one image is {1 / n_test:.2%} of accuracy):")
    for name, runs in list(table.items())[1:]:
        te, acc = summarise(runs, "test_loss")[0], summarise(runs, "test_acc")[0]
        print(f"{name:24s} test loss {te - base_loss:+.3f} ({(te - base_loss) / base_sd:+.1f} sd of the "
              f"no-decay runs), accuracy {(acc - base_acc) * n_test:+.1f} test images")
    """),
    md(r"""
    **What the data shows.** At the weaker setting, both are indistinguishable from no decay: their
    test losses are within about one seed-to-seed standard deviation of it, and their accuracies
    within a test image or two. At the stronger setting they part: AdamW's test loss is clearly
    worse (0.261 against 0.222), while Adam + L2's is unchanged and its accuracy is the best in
    the table, 95.5% against 94.7%, that is, between three and four more test images right on
    average, over three seeds. So on this small problem, if either is ahead it is Adam + L2, by a
    margin three seeds and 450 images cannot establish, and neither clearly beats no decay. That
    is an honest result, not a failed experiment: 300 steps on 300 images is a toy, and the gains
    Loshchilov and Hutter reported came from image classifiers trained for many epochs.

    The training-loss column shows the mechanism. At the *same* median decay, AdamW raises the
    training loss far more than Adam + L2 (0.112 against 0.062 at the stronger setting). Adam + L2
    spends much of its decay on weights with tiny gradients, like those above that never saw a
    gradient, which the predictions do not depend on, and little on the weights doing the work;
    AdamW decays every weight alike, so the same median strength costs more fit. The two are
    different regularisers, and their $\lambda$s are not interchangeable.

    The property that made AdamW the default is less visible in one table: because its decay does
    not pass through $\sqrt{\hat v}$, the gradient step and the decay can be tuned separately. In
    the paper's experiments the good settings form a much more "separable" grid of learning rate
    against decay than under Adam + L2, where the two are entangled. (The paper's decay is not
    multiplied by the base learning rate; PyTorch's is, $1 - \eta\lambda$, so there it is the
    product $\eta\lambda$ that stays put when you change $\eta$.)

    ## 4 · Which tensors to decay: param groups

    The common convention decays only the tensors with two or more dimensions: weight matrices and
    embedding tables. (The first GPT paper, Radford et al. 2018, already applied its decay "on all
    non bias or gain weights"; nanoGPT and most LLM code do the same.) Biases and LayerNorm gains
    and shifts get no decay. `course_lib.models.param_groups_for_weight_decay` makes the two groups; `AdamW` takes
    them with their own `weight_decay` each. On a small character transformer:
    """),
    code(r"""
    train_text, _ = corpus_splits()
    vocab_size = CharTokenizer(train_text).vocab_size
    torch.manual_seed(0)
    tiny = CharTransformer(vocab_size, block_size=64, n_layer=2, n_embd=64, device=device)
    names = {id(p): n for n, p in tiny.named_parameters()}
    groups = param_groups_for_weight_decay(tiny, weight_decay=0.1)
    total = count_parameters(tiny)
    for grp in groups:
        n_values = sum(p.numel() for p in grp["params"])
        print(f"weight_decay={grp['weight_decay']}: {len(grp['params'])} tensors, {n_values:,} values "
              f"({n_values / total:.1%} of {total:,})")
        for p in grp["params"][:5]:
            print(f"    {names[id(p)]:28s} {tuple(p.shape)}")
        print("    ...")
    optimizer = AdamW(groups, lr=1e-3)
    print([(grp["weight_decay"], len(grp["params"])) for grp in optimizer.param_groups])
    """),
    md(r"""
    Why these two exceptions?

    - **A LayerNorm gain** $\gamma$ multiplies the normalised activations: LayerNorm first sets
      every token's features to mean 0 and spread 1, then scales them by $\gamma$. Its neutral
      value is 1, not 0. Decay pulls it towards 0, that is, it shrinks the very signal the
      normalisation was put there to fix at a known scale, and the next layer has to grow its
      own weights to compensate (which its own decay then resists). Measured below: a gain that
      receives no gradient at all, under AdamW with a typical `lr=1e-3, weight_decay=0.1`, over
      10,000 steps (LLM pretraining runs are far longer).
    - **A bias** shifts an output by a constant; it does not multiply anything. Weight decay
      regularises by keeping outputs from reacting too strongly to their inputs, and a bias has
      no input to react to: shrinking it only moves the output away from where the data put it.
      And biases and gains are a small share of the values (the table above), so excluding them
      costs nothing in regularisation.
    """),
    code(r"""
    ln = nn.LayerNorm(64).to(device)
    x = torch.randn(16, 64, generator=g).to(device)
    rms_before = ln(x).pow(2).mean().sqrt().item()
    opt_ln = AdamW([ln.weight], lr=1e-3, weight_decay=0.1)
    n_steps = 10_000
    for _ in range(n_steps):
        ln.weight.grad = torch.zeros_like(ln.weight)      # no gradient: only the decay acts
        opt_ln.step()
    with torch.no_grad():
        rms_after = ln(x).pow(2).mean().sqrt().item()
    print(f"LayerNorm gain after {n_steps:,} steps: {ln.weight.mean().item():.4f} "
          f"(predicted (1 - lr*wd)^n = {(1 - 1e-3 * 0.1) ** n_steps:.4f})")
    print(f"RMS of the LayerNorm output: {rms_before:.3f} before, {rms_after:.3f} after")
    """),
    md(r"""
    ## 5 · $\beta_2$: how long Adam remembers gradient sizes

    $v$ is an exponential moving average of $g^2$ with decay $\beta_2$, so it remembers roughly the
    last $1/(1-\beta_2)$ steps: 1,000 steps for the default $\beta_2 = 0.999$, 20 steps for 0.95.
    A long memory averages out noise. It also means that when the gradient suddenly becomes much
    larger, $\sqrt{\hat v}$ still reflects the old, small gradients for a while, and the step
    $\eta\,\hat m/\sqrt{\hat v}$ is much larger than $\eta$. GPT-3 trained with $\beta_2 = 0.95$,
    and so do many LLM recipes since; the usual explanation is this one: with a short memory, a
    sudden burst of large gradients cannot produce outsized steps for long.

    If $v$ had been near zero and the gradient jumps to a constant value, the step $k$ steps after
    the jump is $\eta$ times

    $$r(k) = \frac{1 - \beta_1^k}{\sqrt{1 - \beta_2^k}} .$$
    """),
    code(r"""
    k = np.arange(1, 3001)
    for beta2 in [0.95, 0.99, 0.999]:
        r = (1 - 0.9**k) / np.sqrt(1 - beta2**k)
        print(f"beta2 = {beta2}: memory ~{1 / (1 - beta2):5.0f} steps, largest step {r.max():.2f} x lr "
              f"(at k = {k[r.argmax()]}), steps above 2 x lr: {(r > 2).sum()}")
    """),
    md(r"""
    Now a measured version. 1,000 weights sit at the bottom of a bowl $\tfrac12(\theta - \theta^*)^2$
    with $\theta^* = 0$, receiving small noisy gradients (noise size $10^{-3}$) for 1,000 steps.
    Then the target jumps to $\theta^* = 1$: the gradient becomes about 1,000 times larger. Adam
    with `lr=0.01`, three values of $\beta_2$, the same noise. How large are the steps after the
    jump, and how far past the new target do the weights go?
    """),
    code(r"""
    def target_jump(beta2, n=1000, quiet=1000, after=300, lr=0.01, noise=1e-3):
        gen = torch.Generator().manual_seed(3)
        p = torch.zeros(n, dtype=torch.float64)
        m, v = torch.zeros_like(p), torch.zeros_like(p)
        step_sizes, positions = [], []
        for t in range(1, quiet + after + 1):
            target = 0.0 if t <= quiet else 1.0
            grad = (p - target) + noise * torch.randn(n, generator=gen, dtype=torch.float64)
            before = p.clone()
            adam_update_(p, grad, m, v, t=t, lr=lr, beta2=beta2)
            step_sizes.append(((p - before).abs() / lr).mean().item())
            positions.append(p.mean().item())
            if t == quiet:
                root_v = (v / (1 - beta2**t)).sqrt()
                spread = (root_v.std() / root_v.mean()).item()
        return np.array(step_sizes[quiet:]), np.array(positions[quiet:]), spread


    jump = {b2: target_jump(b2) for b2 in [0.95, 0.99, 0.999]}
    print(f"{'beta2':>6} {'largest step':>13} {'steps > 2 lr':>13} {'overshoot':>10} "
          f"{'steps to reach 0.99':>20} {'spread of sqrt(v_hat) before':>29}")
    for b2, (sizes, pos, spread) in jump.items():
        print(f"{b2:6g} {sizes.max():10.2f} lr {(sizes > 2).sum():13d} {pos.max() - 1:10.3f} "
              f"{np.argmax(pos >= 0.99) + 1:20d} {spread:28.0%}")
    """),
    code(r"""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    for b2, (sizes, pos, _) in jump.items():
        axes[0].plot(np.arange(1, len(sizes) + 1), sizes, label=f"β₂ = {b2}")
        axes[1].plot(np.arange(1, len(pos) + 1), pos, label=f"β₂ = {b2}")
    axes[0].axhline(1, color="black", linewidth=0.8, linestyle=":")
    axes[0].set(xlabel="steps after the jump", ylabel="mean |step| / lr", xlim=(0, 150),
                title="step size after the gradient jumps")
    axes[1].axhline(1, color="black", linewidth=0.8, linestyle=":")
    axes[1].set(xlabel="steps after the jump", ylabel="mean weight", xlim=(0, 150),
                title="the weights, new target 1")
    axes[0].legend()
    plt.show()
    """),
    md(r"""
    With $\beta_2 = 0.999$, $\sqrt{\hat v}$ remembers the quiet phase, and for dozens of steps
    Adam takes steps several times the learning rate (up to 4.94 here, a little below the 6.57 of
    $r(k)$, because the gradient shrinks as the weights approach the target). It reaches the
    target sooner, in 25 steps instead of 123, and then overshoots it by 0.116, against 0.015 for
    $\beta_2 = 0.95$, whose $\sqrt{\hat v}$ caught up within a few steps and whose steps never
    exceeded about one learning rate. In a real network, a step several times larger than the one
    your learning rate was chosen for, in exactly the coordinates whose gradient just grew, is
    how a loss spike starts.

    The price of the short memory is the last column: during the quiet phase, $\sqrt{\hat v}$ with
    $\beta_2 = 0.95$ averages only about 20 squared gradients, so it varies far more from weight
    to weight (18% against 4%), and so do the step sizes. Noisier steps in exchange for bounded
    ones: for large models, where a single spike can cost days, the trade is worth it.

    ## 6 · What the optimizer keeps: memory

    Adam keeps two tensors per parameter, $m$ and $v$, each the parameter's size. That is easy to
    say; here it is measured, by summing `numel() * element_size()` over every tensor in
    `optimizer.state` after one step, on a character transformer of a little under a million
    parameters. `torch.optim.Adafactor` (PyTorch's implementation of Shazeer and Stern, 2018) is
    included.
    """),
    code(r"""
    from course_lib.optim import SGD


    def state_bytes(optimizer):
        return sum(v.numel() * v.element_size()
                   for state in optimizer.state.values() for v in state.values() if torch.is_tensor(v))


    torch.manual_seed(0)
    model = CharTransformer(vocab_size, block_size=64, n_layer=4, n_embd=128, device=device)
    param_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    x = torch.randint(0, vocab_size, (2, 64), generator=g).to(device)

    candidates = {
        "SGD": lambda ps: SGD(ps, lr=0.1),
        "SGD + momentum": lambda ps: SGD(ps, lr=0.1, momentum=0.9),
        "AdamW": lambda ps: AdamW(ps, lr=1e-3),
        "Adafactor (torch)": lambda ps: torch.optim.Adafactor(ps, lr=1e-2),
    }
    measured = {}
    print(f"model: {count_parameters(model):,} parameters, {param_bytes / 1e6:.2f} MB in float32\n")
    print(f"{'optimizer':18s} {'state (MB)':>10s} {'x params':>9s}   state per parameter tensor")
    for name, make in candidates.items():
        opt = make(model.parameters())
        _, loss = model(x, x)
        opt.zero_grad()
        loss.backward()
        opt.step()
        measured[name] = state_bytes(opt)
        keys = sorted({k for state in opt.state.values() for k in state})
        print(f"{name:18s} {measured[name] / 1e6:10.3f} {measured[name] / param_bytes:9.3f}   {keys}")
    """),
    md(r"""
    AdamW's state is 2.000 times the parameters (the extra digits are the one-number `step`
    counters). Adafactor stores, for each weight matrix, one running mean per row and one per
    column of $g^2$ instead of a full $v$: $n + m$ numbers instead of $nm$. It keeps no first
    moment in its default form (PyTorch's has none), so its state is a small fraction of the
    parameters.

    Now scale it up. In float32 every parameter costs 4 bytes as a weight, 4 as a gradient and 8
    in Adam's $m$ and $v$. (Mixed-precision training, with 16-bit weights and gradients plus a
    float32 master copy, also comes to 16 bytes per parameter with Adam, by the ZeRO paper's
    accounting: 2 + 2 + 4 + 4 + 4.) Activations come on top and depend on the batch.
    """),
    code(r"""
    GB = 1e9
    fp32 = 4
    per_param = {"weights (fp32)": fp32, "gradients (fp32)": fp32, "Adam m + v (fp32)": 2 * fp32}
    sizes = {"7B": 7e9, "70B": 70e9}

    print(f"{'':22s}" + "".join(f"{name:>10s}" for name in sizes))
    for what, nbytes in per_param.items():
        print(f"{what:22s}" + "".join(f"{n * nbytes / GB:8,.0f} GB" for n in sizes.values()))
    total_per_param = sum(per_param.values())
    print(f"{'total':22s}" + "".join(f"{n * total_per_param / GB:8,.0f} GB" for n in sizes.values()))
    print(f"\nmixed precision with Adam: 2 + 2 + 4 + 4 + 4 = {2 + 2 + 4 + 4 + 4} bytes per parameter")
    gpu_gb = 80
    print(f"70B with Adam needs {70e9 * total_per_param / GB / gpu_gb:.0f} GPUs of {gpu_gb} GB "
          f"just to hold these, before any activations")
    """),
    md(r"""
    No single accelerator holds 1,120 GB, so the state has to be split or shrunk:

    - **ZeRO / FSDP** (Rajbhandari et al., 2020; PyTorch's Fully Sharded Data Parallel) shard
      across the $N$ data-parallel GPUs: stage 1 splits the optimizer state, stage 2 also the
      gradients, stage 3 (FSDP's full sharding) also the weights, each GPU gathering the weights
      it needs just in time. Nothing is saved in total; each GPU holds $1/N$ of it, paid for in
      communication.
    - **8-bit states** (Dettmers et al., 2022, *8-bit Optimizers via Block-wise Quantization*)
      store $m$ and $v$ in one byte each, with one float32 scale per block of 2,048 values.
    - **Adafactor**: the factored $v$ above, and no $m$.
    - **Lion** (next section): one state tensor, $m$.
    """),
    code(r"""
    n_params = 70e9
    print("70B parameters, float32, bytes per GPU with Adam (weights 4 + gradients 4 + states 8):")
    for n_gpus in [8, 64]:
        stage1 = n_params * (4 + 4 + 8 / n_gpus)
        stage2 = n_params * (4 + (4 + 8) / n_gpus)
        stage3 = n_params * 16 / n_gpus
        print(f"  N = {n_gpus:2d} GPUs: no sharding {n_params * 16 / GB:6,.0f} GB | ZeRO-1 {stage1 / GB:5,.0f} GB"
              f" | ZeRO-2 {stage2 / GB:5,.0f} GB | ZeRO-3 / FSDP {stage3 / GB:5,.1f} GB")

    block = 2048
    state_options = {
        "Adam, fp32 m and v": 8,
        "Adam, 8-bit m and v": 2 + 2 * 4 / block,
        "Lion, fp32 m": 4,
    }
    print("\noptimizer state alone for 70B parameters:")
    for what, nbytes in state_options.items():
        print(f"  {what:22s} {nbytes:6.3f} bytes/param -> {n_params * nbytes / GB:5,.0f} GB")
    rows = cols = 8192                      # one d_model x d_model matrix of a 70B-class model
    print(f"  Adafactor's v for one {rows}x{cols} matrix: {rows + cols:,} numbers instead of "
          f"{rows * cols:,} ({(rows + cols) / (rows * cols):.3%})")
    """),
    md(r"""
    ## 7 · Lion: one state tensor

    Lion (Chen et al., 2023, *Symbolic Discovery of Optimization Algorithms*; the name stands for
    EvoLved Sign Momentum) was found by a program search over update rules. It keeps only a
    momentum $m$ and steps by the **sign** of an interpolation between $m$ and the new gradient:

    $$
    \begin{aligned}
    c &= \beta_1 m + (1 - \beta_1)\, g \\
    \theta &\leftarrow \theta - \eta\,\bigl(\operatorname{sign}(c) + \lambda\theta\bigr) \\
    m &\leftarrow \beta_2 m + (1 - \beta_2)\, g
    \end{aligned}
    $$

    with the paper's defaults $\eta = 10^{-4}$, $(\beta_1, \beta_2) = (0.9, 0.99)$,
    $\lambda = 0$. The sign throws away the gradient's size, so there is nothing like $v$ to keep,
    and every coordinate moves by exactly $\eta$ each step. That is a larger step than Adam's
    typical one, which is why the authors suggest a learning rate 3-10 times smaller than AdamW's
    and a weight decay 3-10 times larger (the decay per step is $\eta\lambda$, so the product is
    what should stay put). By hand:
    """),
    code(r"""
    def lion_step(p, g, m, lr, beta1=0.9, beta2=0.99, wd=0.0):
        c = beta1 * m + (1 - beta1) * g             # interpolate momentum and gradient
        p = p - lr * (torch.sign(c) + wd * p)       # a step of exactly lr in every coordinate, plus decay
        m = beta2 * m + (1 - beta2) * g             # the momentum is updated last, with beta2
        return p, m
    """),
    md(r"""
    `course_lib.optim.Lion` is this rule as a `torch.optim.Optimizer` (param groups,
    `state_dict()`, schedulers). PyTorch has no Lion to compare with, so `tests/test_lion.py`
    compares it, over 200 steps with two param groups, a changing learning rate, skipped
    gradients and a `state_dict` round trip, against an independent out-of-place transcription
    of the paper's pseudocode; here it is checked against the function above:
    """),
    code(r"""
    from course_lib.optim import Lion, lion_update_

    gen = torch.Generator().manual_seed(4)
    p = torch.randn(100, generator=gen, dtype=torch.float64)
    m = torch.zeros(100, dtype=torch.float64)
    p_lib, m_lib = p.clone(), m.clone()
    for _ in range(100):
        grad = torch.randn(100, generator=gen, dtype=torch.float64)
        p, m = lion_step(p, grad, m, lr=1e-3, wd=0.1)
        lion_update_(p_lib, grad, m_lib, lr=1e-3, beta1=0.9, beta2=0.99, weight_decay=0.1)
    print(f"by hand vs course_lib: parameters {(p - p_lib).abs().max().item():.1e}, "
          f"momentum {(m - m_lib).abs().max().item():.1e}")

    opt = Lion(model.parameters(), lr=1e-4)
    _, loss = model(x, x)
    opt.zero_grad()
    loss.backward()
    opt.step()
    measured["Lion"] = state_bytes(opt)
    print(f"Lion's state on the transformer: {measured['Lion'] / 1e6:.3f} MB = "
          f"{measured['Lion'] / param_bytes:.3f} x params  {sorted({k for s in opt.state.values() for k in s})} "
          f"(AdamW: {measured['AdamW'] / param_bytes:.3f} x)")
    """),
    md(r"""
    Half of Adam's state, measured. Does it train? The digits task of section 3, without decay,
    3 seeds, with AdamW's learning rate divided by 4 (a ratio picked from the authors' advice
    before running, not tuned here):
    """),
    code(r"""
    lion_runs = [train_digits(Lion, 0.0, s, lr=LR / 4) for s in seeds]
    for name, runs in [("Adam(W), no decay, lr 2e-3", table["no decay"]), ("Lion, lr 5e-4", lion_runs)]:
        te, acc = summarise(runs, "test_loss"), summarise(runs, "test_acc")
        print(f"{name:28s} test loss {te[0]:.3f} ± {te[1]:.3f}, accuracy {acc[0]:.1%} ± {acc[1]:.1%}")
    """),
    md(r"""
    Lion learns, but at this untuned setting it lags Adam clearly (test loss 0.334 against 0.222).
    With every step exactly $\eta$ in size, its learning rate matters even more than Adam's, and
    one pre-chosen value on a toy task says little either way: the paper tunes the learning rate
    and decay of every optimizer it compares. Its appeal at scale is the memory, one state tensor
    instead of two.

    ## Takeaways

    - For SGD, weight decay and L2 regularisation are the same update. For Adam they are not: the
      L2 term is divided by $\sqrt{\hat v}$, so weights with large gradients are barely decayed and
      weights with tiny gradients are crushed. AdamW shrinks every weight by $1 - \eta\lambda$ per
      step.
    - On a small overfitting problem, at matched strength, the two were nearly indistinguishable
      in held-out quality and neither clearly beat no decay: measure before you believe a
      regulariser helps. Their $\lambda$s are not interchangeable.
    - Decay matrices and embeddings; leave biases and LayerNorm gains alone
      (`param_groups_for_weight_decay`).
    - $\beta_2$ sets how long Adam remembers gradient sizes. With 0.999, a sudden jump in the
      gradient gives steps several times the learning rate; 0.95 bounds them at the cost of
      noisier steps.
    - Adam's state is twice the parameters: with weights and gradients, 16 bytes per parameter,
      1,120 GB for 70B. ZeRO/FSDP split it across GPUs; 8-bit states, Adafactor and Lion shrink it.
    """),
    md(r"""
    ## Misconception: "weight decay and L2 regularisation are the same thing"

    True for SGD (section 1: the same weights to rounding). False for Adam. Back to section 2's
    runs, over their first 100 steps: the same $\lambda$, weights whose gradients differ in size
    by a factor of 10,000. AdamW takes the same amount from both; Adam + L2 does not.
    """),
    code(r"""
    k = 100
    print(f"decay over the first {k} steps of section 2 (weight lost vs the no-decay run, lambda = {lam}):")
    for name, runs in [("Adam + L2", adam_l2), ("AdamW", adamw)]:
        lost = no_decay[k - 1] - runs[k - 1]
        print(f"  {name:9s}: gradient size {sigmas[0]:g}: {lost[0]:.1e}   gradient size {sigmas[-1]:g}: "
              f"{lost[-1]:.1e}   ratio {lost[0] / lost[-1]:,.0f}")
    """),
    md(r"""
    ## Misconception: "AdamW's weight_decay=0.01 means the same as Adam's weight_decay=0.01"

    The numbers are on different scales. AdamW's shrinks every weight by $\eta\lambda$ per step.
    Adam's shrinks a weight by about $\eta\lambda/\sqrt{\hat v}$, and in the digits network of
    section 3 the median $\sqrt{\hat v}$ was measured above. Same number, both trained:
    """),
    code(r"""
    import inspect

    wd = inspect.signature(torch.optim.AdamW).parameters["weight_decay"].default
    print(f"torch.optim.AdamW's default weight_decay: {wd}")
    print(f"per-step shrink of the median weight: AdamW {LR * wd:.1e}, Adam + L2 about "
          f"{LR * wd / s_med:.1e} ({1 / s_med:,.0f} times more)")
    for name, cls in [("Adam(weight_decay=0.01)", Adam), ("AdamW(weight_decay=0.01)", AdamW)]:
        runs = [train_digits(cls, wd, s) for s in seeds]
        tr, te = summarise(runs, "train_loss"), summarise(runs, "test_loss")
        print(f"{name:25s} train loss {tr[0]:.3f}, test loss {te[0]:.3f} ± {te[1]:.3f}")
    """),
    md(r"""
    Copying `weight_decay=0.01` from an Adam recipe into AdamW (or back) changes the
    regularisation by orders of magnitude: tune $\lambda$ again whenever you switch.

    ## Questions

    1. Section 2's weights with gradient size $10^{-3}$ first lost about $\eta$ per step under
       Adam + L2, a fixed amount rather than a fraction. Derive that from Adam's update when
       $\lambda\theta \gg \sigma$. Why does the fall slow down, and roughly where should it stop?
    2. In section 3, which weights does Adam + L2 decay most? Would you expect it to help or hurt
       on data where rare but important features (a rare word, a rare pixel pattern) have small
       gradients?
    3. PyTorch's AdamW shrinks by $1 - \eta\lambda$: the decay is multiplied by the learning rate,
       schedule included. The paper multiplies it by the schedule's factor only, not by the base
       learning rate. If you double the base learning rate in PyTorch, what must happen to
       `weight_decay` to keep the same decay per step? In which convention is "the best $\lambda$
       does not depend on the learning rate" the natural statement?
    4. Lion's steps all have size $\eta$ in every coordinate. What happens to a weight whose
       gradient is pure noise? Compare with Adam's step on the same weight (section 5's quiet
       phase measured it for Adam).
    5. With ZeRO-3 over 64 GPUs a 70B model's weights, gradients and Adam state fit in under
       20 GB per GPU. What does each GPU have to send and receive every step in exchange?
    """),
]

if __name__ == "__main__":
    out = write_notebook(ROOT / "notebooks" / "06_adamw.ipynb", cells)
    print(f"wrote {out.relative_to(ROOT)}")
