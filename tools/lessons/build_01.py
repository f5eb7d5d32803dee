"""Build notebooks/01_loss_functions.ipynb (run from the repository root).

    .venv/bin/python tools/lessons/build_01.py
    .venv/bin/python tools/execute_notebooks.py notebooks/01_loss_functions.ipynb
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tools.nbbuild import code, md, write_notebook  # noqa: E402

cells = [
    md(r"""
    # 01 · What "wrong" means: loss functions

    A model learns by making a number smaller. Before any optimizer, any learning rate, any GPU,
    someone has to decide what that number is: the **loss**, one value that says how wrong the
    model is right now. Choose it well and "smaller" means "better"; choose it badly and the
    optimizer will faithfully minimise the wrong thing, or crawl.

    **What you will learn**
    - Mean squared error for a house-price model, and how to read its (enormous) value.
    - The loss as a *landscape* over the parameters: a surface you can plot and walk on.
    - Cross-entropy for next-token prediction: $-\log q(\text{correct})$, its uniform-guess
      baseline $\ln V$, and why PyTorch fuses `log_softmax` with the negative log-likelihood.
    - Its gradient with respect to the logits, `softmax - onehot`, checked against autograd.
    - Why mean squared error is a poor loss for classification, measured.
    - Perplexity, nats versus bits, and cross-entropy as the length of a compressed file,
      with a measured comparison against `gzip` on real text.
    """),
    md(r"""
    **Prerequisites:** lesson 00; Python and a little PyTorch (tensors, `requires_grad`);
    logarithms and exponentials. No information theory is assumed.

    **Time:** about 45 minutes.

    Exact checks in this lesson run in float64 on the CPU (not every GPU has float64, and these
    tensors are tiny); everything else runs on `device`.
    """),
    code(r"""
    import gzip
    import math
    from collections import Counter

    import matplotlib.pyplot as plt
    import numpy as np
    import torch
    import torch.nn.functional as F

    from course_lib.data import corpus_splits, tiny_houses
    from course_lib.device import default_device, seed_everything
    from course_lib.plots import course_style, plot_landscape_contour, plot_surface_3d

    device = default_device()
    g = seed_everything(0)
    course_style();


    def f64(t):
        # a float64 copy on the CPU, for checks that should agree to many digits
        return t.detach().to("cpu", torch.float64)
    """),
    md(r"""
    ## 1 · A model that is wrong, and a number for how wrong

    Our first model predicts a house's price from its floor area with two numbers, a weight $w$
    (dollars per square foot) and a bias $b$ (dollars):

    $$\hat y = w \cdot \text{sqft} + b .$$

    A freshly initialised model holds small arbitrary numbers. Say $w = 0.02$ and $b = 17$: it
    prices a 1,500 sqft house at $0.02 \cdot 1500 + 17 = \$47$. Here are the three houses of
    the course's tiny data set and what this model says about them.
    """),
    code(r"""
    sqft, price = tiny_houses(device=device)
    w, b = 0.02, 17.0
    pred = w * sqft + b
    for s, y, y_hat in zip(sqft.tolist(), price.tolist(), pred.tolist()):
        print(f"{s:5.0f} sqft   actual ${y:,.0f}   predicted ${y_hat:<3,.0f}   error -${y - y_hat:,.0f}")
    """),
    md(r"""
    Wrong, obviously. *How* wrong needs one number, so that "better" can mean "smaller". The most
    common choice for predicting a quantity is the **mean squared error**:

    $$L(w, b) = \frac{1}{N} \sum_{i=1}^{N} \left(w x_i + b - y_i\right)^2 .$$

    Squaring does three jobs: a prediction that is too high and one that is too low can no longer
    cancel out; a large error costs much more than a small one (twice the error, four times the
    cost); and the result is a smooth function of $w$ and $b$, which gradient descent (lesson 02)
    needs. The price is the unit: dollars *squared*. Take the square root (the RMSE) to read it
    back in dollars.
    """),
    code(r"""
    x64, y64 = f64(sqft), f64(price)
    mse = ((w * x64 + b - y64) ** 2).mean().item()
    print(f"MSE  = {mse:,.0f} dollars^2")
    print(f"RMSE = ${math.sqrt(mse):,.0f}   (a typical error, in dollars)")
    print(f"check with torch: {F.mse_loss(w * x64 + b, y64).item():,.0f}")
    """),
    md(r"""
    About a hundred billion dollars squared. The number is enormous, and it should be: the model
    knows nothing yet. Training means finding the $w$ and $b$ that make it as small as possible.
    For a straight line and squared error there is even a closed-form answer (least squares),
    which gives us a target to aim at; lesson 02 reaches the same point by gradient descent.
    """),
    code(r"""
    A = torch.stack([x64, torch.ones_like(x64)], dim=1)         # columns: sqft, 1
    w_best, b_best = torch.linalg.lstsq(A, y64[:, None]).solution.ravel().tolist()
    mse_best = ((w_best * x64 + b_best - y64) ** 2).mean().item()
    print(f"best line: w = {w_best:.1f} $/sqft, b = {'-' if b_best < 0 else ''}${abs(b_best):,.0f}")
    print(f"its MSE = {mse_best:,.0f} dollars^2 (RMSE ${math.sqrt(mse_best):,.0f}), "
          f"{mse / mse_best:,.0f} times smaller than at the start")
    """),
    md(r"""
    Three houses cannot sit exactly on one line, so even the best line keeps a small error. The
    least-squares answer fits these three points, not the housing market: a negative bias is
    fine for a line that only has to be right between 1,100 and 2,200 sqft.

    ## 2 · The loss is a landscape

    Every pair $(w, b)$ is a point on a map, and the loss there is the height. Training is a walk
    downhill on that terrain. With two parameters we can draw it: on the left as a surface, on the
    right as a contour map (lines of equal loss, dark is low). The bias is in thousands of dollars
    so both axes read easily.
    """),
    code(r"""
    def house_mse(p):
        # p[..., 0] = w in $/sqft, p[..., 1] = b in $1000s; returns the MSE in units of 1e10 dollars^2
        w, b = p[..., :1], p[..., 1:] * 1000
        return ((w * x64 + b - y64) ** 2).mean(dim=-1) / 1e10


    w_lim, b_lim = (-100.0, 500.0), (-400.0, 400.0)
    fig = plt.figure(figsize=(12, 4.8))
    ax3d = fig.add_subplot(1, 2, 1, projection="3d")
    plot_surface_3d(house_mse, w_lim, b_lim, ax=ax3d, resolution=60, elev=35, azim=-60,
                    title="MSE over (w, b)")
    ax3d.set_xlabel("w ($/sqft)")
    ax3d.set_ylabel("b ($1000s)")
    ax3d.set_zlabel("MSE (10¹⁰ dollars²)")

    ax = fig.add_subplot(1, 2, 2)
    plot_landscape_contour(house_mse, w_lim, b_lim, ax=ax, levels=18,
                           title="the same landscape from above")
    ax.plot([w], [b / 1000], "X", color="#D55E00", markersize=11, label="start: the $47 model")
    ax.plot([w_best], [b_best / 1000], "*", color="white", markeredgecolor="black",
            markersize=16, label="least-squares minimum")
    ax.set_xlabel("w ($/sqft)")
    ax.set_ylabel("b ($1000s)")
    ax.legend(loc="lower left")
    plt.show()
    """),
    md(r"""
    Two things to notice. The landscape is a bowl, with one lowest point: squared error of a
    linear model is a quadratic in $(w, b)$, so it has no other valleys to get lost in. And the
    bowl is a long, narrow trench running diagonally: moving $w$ by 1 \$/sqft moves every
    prediction by over a thousand dollars, while moving $b$ by \$1 moves them by one dollar.
    The loss is more than a thousand times more sensitive to one knob than to the other.
    Lesson 02 shows that this shape, not the size of the numbers, is what breaks plain gradient
    descent, and how one line of preprocessing fixes it.

    ## 3 · From prices to tokens: cross-entropy

    A language model does not predict a number; it predicts *which* token comes next, out of a
    vocabulary of $V$ tokens. Its last layer outputs one score per token, the **logits** $z$, and
    the softmax turns them into probabilities:

    $$q_j = \frac{e^{z_j}}{\sum_{k=1}^{V} e^{z_k}} .$$

    The truth is a distribution $p$ too, a one-hot one: probability 1 on the token that actually
    came next. The **cross-entropy** between them is

    $$H(p, q) = -\sum_{j} p_j \log q_j = -\log q_{\text{correct}} ,$$

    because every term but the correct token's is multiplied by zero. So the loss only asks one
    question: *how much probability did you give to what actually happened?* Natural logarithm,
    so the unit is the **nat**.
    """),
    code(r"""
    for q in [0.99, 0.9, 0.5, 0.1, 0.01, 0.001, 1e-6]:
        print(f"q(correct) = {q:<8g} loss = {-math.log(q):6.3f} nats")
    print(f"q(correct) = 0        loss = {-torch.log(torch.tensor(0.0)).item()}")
    """),
    md(r"""
    Confident and right is nearly free; a coin flip costs 0.693 nats; confident and wrong is
    expensive, and the price keeps rising with no ceiling: probability zero on what happened costs
    infinity. That asymmetry is the point. It is like an SLA whose penalty depends on how sure you
    claimed to be: hedging costs a little, a confident broken promise costs a lot.

    ## 4 · Computing it without overflow: log-sum-exp

    Softmax in exact arithmetic never outputs a zero. Floating point does. Logits like
    $[1000, 0]$ come from a very confident model or one that has diverged, and the textbook
    formula falls over on them: $e^{1000}$ overflows to `inf`, and `inf / inf` is `nan`. Going the other
    way, a probability of $e^{-1000}$ underflows to 0, and its log becomes `-inf` although the
    right answer is simply $-1000$. In float32 the trouble starts much earlier, at logits
    around 89:
    """),
    code(r"""
    def naive_softmax(z):
        e = torch.exp(z)
        return e / e.sum()


    big = torch.tensor([1000.0, 0.0])
    small = torch.tensor([0.0, -1000.0])
    print(f"float32's exp overflows above {math.log(torch.finfo(torch.float32).max):.2f}: "
          f"exp(89.0) = {torch.exp(torch.tensor(89.0)).item()}")
    print("naive softmax([1000, 0])     =", naive_softmax(big))
    print("naive log softmax([0, -1000]) =", torch.log(naive_softmax(small)))
    """),
    md(r"""
    The fix uses one identity. Subtracting a constant $m$ from every logit does not change the
    softmax (it cancels between numerator and denominator), and the log of the denominator, the
    **log-sum-exp**, can be computed with the largest logit pulled out:

    $$\log \sum_k e^{z_k} = m + \log \sum_k e^{z_k - m}, \qquad m = \max_k z_k ,$$

    $$\log q_j = z_j - \log \sum_k e^{z_k} .$$

    Now the largest exponent is $e^0 = 1$: nothing overflows, and the sum is at least 1 so its log
    is safe. And because we compute $\log q$ directly, a tiny probability is represented by its
    log ($-1000$) instead of being rounded to 0 first.
    """),
    code(r"""
    def log_softmax(z):
        m = z.max(dim=-1, keepdim=True).values
        lse = m + torch.log(torch.exp(z - m).sum(dim=-1, keepdim=True))
        return z - lse


    print("stable log softmax([1000, 0])  =", log_softmax(big))
    print("stable log softmax([0, -1000]) =", log_softmax(small))
    print("torch.log_softmax([0, -1000])  =", torch.log_softmax(small, dim=-1))
    """),
    md(r"""
    ## 5 · `log_softmax` + NLL = `F.cross_entropy`

    The negative log-likelihood (NLL) of a batch is the mean of $-\log q_{\text{correct}}$ over its
    rows. Built from our `log_softmax`, from PyTorch's two separate pieces, and from PyTorch's
    fused `F.cross_entropy` (which takes raw logits, never probabilities), it is the same number.
    """),
    code(r"""
    logits = torch.randn(4, 6, generator=g, dtype=torch.float64)   # 4 positions, vocabulary of 6
    targets = torch.tensor([2, 0, 5, 2])

    ours = -log_softmax(logits)[torch.arange(4), targets].mean()
    two_step = F.nll_loss(F.log_softmax(logits, dim=-1), targets)
    fused = F.cross_entropy(logits, targets)
    print(f"ours:                   {ours.item():.12f}")
    print(f"F.nll_loss(log_softmax): {two_step.item():.12f}")
    print(f"F.cross_entropy:        {fused.item():.12f}")
    print(f"largest difference: {max(abs(ours - fused).item(), abs(two_step - fused).item()):.1e}")
    """),
    md(r"""
    That is why PyTorch's classification loss takes logits: it can do the stable log-sum-exp
    internally. Passing `softmax` output into a loss that then takes its log throws the safety away.

    ## 6 · The uniform-guess baseline: $\ln V$

    A model that knows nothing should spread its probability evenly: $q_j = 1/V$ for every token.
    Then every prediction costs $-\ln(1/V) = \ln V$. For a vocabulary of 50,000 tokens (about
    the size of GPT-2's), that is the loss to beat. All-equal logits give exactly this; logits
    drawn at random do not.
    """),
    code(r"""
    V, n_pos = 50_000, 256
    targets = torch.randint(V, (n_pos,), generator=g).to(device)
    print(f"ln V for V = {V:,}: {math.log(V):.4f} nats")
    uniform = F.cross_entropy(torch.zeros(n_pos, V, device=device), targets).item()
    print(f"all-equal logits:        {uniform:.4f}")
    for sigma in [0.02, 0.5, 1.0]:
        z = sigma * torch.randn(n_pos, V, generator=g).to(device)
        loss = F.cross_entropy(z, targets).item()
        predicted = math.log(V) + sigma**2 / 2
        print(f"random logits, std {sigma:.2f}: {loss:.4f}   (ln V + sigma^2/2 = {predicted:.4f})")
    """),
    md(r"""
    Random logits start *worse* than the uniform guess, by about $\sigma^2/2$. Here is why: the
    loss is $\log\sum_k e^{z_k} - z_{\text{correct}}$; the correct token's random logit
    averages 0, but the sum of $V$ exponentials is about $V\,\mathbb{E}[e^{z}] = V e^{\sigma^2/2}$
    for normal logits. Random confidence is worse than honest ignorance. That is one reason output
    layers are initialised with small weights: an untrained model then starts near $\ln V$, and
    any loss *above* $\ln V$ in a log means the model is confidently wrong, not merely untrained.

    ## 7 · The gradient: softmax minus one-hot

    Differentiate $L = -z_c + \log \sum_k e^{z_k}$ (with $c$ the correct token) with respect to a
    logit $z_j$: the first term gives $-1$ when $j = c$, the second gives
    $e^{z_j} / \sum_k e^{z_k} = q_j$. So

    $$\frac{\partial L}{\partial z_j} = q_j - p_j ,$$

    "prediction minus truth", and for a loss averaged over $N$ positions, $(q - p)/N$. No factor
    shrinks it when the model is wrong: if $q_c$ is near 0, the correct logit gets a push of
    almost $-1/N$. Check it against autograd:
    """),
    code(r"""
    logits = torch.randn(4, 6, generator=g, dtype=torch.float64, requires_grad=True)
    targets = torch.tensor([2, 0, 5, 2])
    F.cross_entropy(logits, targets).backward()

    N = logits.shape[0]
    by_hand = (torch.softmax(logits, dim=-1) - F.one_hot(targets, 6)) / N
    print("autograd, first row:", logits.grad[0].numpy().round(4))
    print("by hand,  first row:", by_hand[0].detach().numpy().round(4))
    print(f"largest difference: {(logits.grad - by_hand).abs().max().item():.1e}")
    print(f"each row sums to:   {logits.grad.sum(dim=-1).abs().max().item():.1e}")
    """),
    md(r"""
    Each row of the gradient sums to zero: a step moves probability from the wrong tokens to the
    right one; it cannot create or destroy probability.

    ## 8 · Why not mean squared error on the probabilities?

    Nothing stops us from training a classifier with $\sum_j (q_j - p_j)^2$, the squared error
    between the probabilities and the one-hot truth. But its gradient reaches the logits through
    the softmax, whose slope $\partial q_j / \partial z_j = q_j(1 - q_j)$ goes to zero as $q_j$
    goes to 0 or 1. So when the model gives the correct token almost no probability, the moment it
    most needs correcting, the squared-error gradient almost vanishes. Measure it: ten classes,
    the correct one given probability $q$, the others sharing the rest.
    """),
    code(r"""
    n_cls = 10
    def push_on_correct_logit(q):
        # |dL/dz_correct| under both losses, for examples whose correct class (0) has probability q
        logits = torch.zeros(len(q), n_cls, dtype=torch.float64)
        logits[:, 0] = torch.log(q * (n_cls - 1) / (1 - q))      # so that softmax gives q to class 0
        logits.requires_grad_(True)
        onehot = F.one_hot(torch.zeros(len(q), dtype=torch.long), n_cls).double()
        ce = -torch.log_softmax(logits, dim=-1)[:, 0]
        mse_prob = ((torch.softmax(logits, dim=-1) - onehot) ** 2).sum(dim=-1)
        # each row is its own example: summing over rows gives every row its own gradient
        grad_ce, = torch.autograd.grad(ce.sum(), logits)
        grad_mse, = torch.autograd.grad(mse_prob.sum(), logits)
        return grad_ce[:, 0].abs(), grad_mse[:, 0].abs()


    q = torch.logspace(-6, math.log10(0.99), 200, dtype=torch.float64)
    push_ce, push_mse = push_on_correct_logit(q)
    for q_one in [1e-4, 0.5]:
        ce_one, mse_one = (t.item() for t in push_on_correct_logit(torch.tensor([q_one]).double()))
        print(f"q(correct) = {q_one:<6g}  |dL/dz_correct|: cross-entropy {ce_one:.4f}, "
              f"MSE on probabilities {mse_one:.2e}  (ratio {ce_one / mse_one:,.1f})")
    """),
    md(r"""
    Does a vanishing gradient matter in practice? Train the same linear classifier twice on two
    well-separated blobs of points, starting from weights that are confidently wrong about every
    point, with the same learning rate and the same number of steps; only the loss differs.
    """),
    code(r"""
    n = 200
    centers = torch.tensor([[2.0, 0.0], [-2.0, 0.0]])
    labels = torch.arange(n) % 2
    X = (centers[labels] + torch.randn(n, 2, generator=g)).to(device)
    labels = labels.to(device)


    def train_classifier(loss_name, steps=250, lr=0.5):
        W = torch.tensor([[-3.0, 3.0], [0.0, 0.0]], device=device, requires_grad=True)  # wrong way round
        bias = torch.zeros(2, device=device, requires_grad=True)
        accuracy = []
        for _ in range(steps):
            z = X @ W + bias
            if loss_name == "cross-entropy":
                loss = F.cross_entropy(z, labels)
            else:
                loss = ((torch.softmax(z, dim=-1) - F.one_hot(labels, 2)) ** 2).sum(dim=-1).mean()
            accuracy.append((z.argmax(dim=-1) == labels).float().mean().item())
            gW, gb = torch.autograd.grad(loss, [W, bias])
            with torch.no_grad():
                W -= lr * gW
                bias -= lr * gb
        return accuracy


    runs = {name: train_classifier(name) for name in ["cross-entropy", "MSE on probabilities"]}
    for name, acc in runs.items():
        first = next((t for t, a in enumerate(acc) if a >= 0.9), None)
        print(f"{name:21s} starts at {acc[0]:.0%} accuracy, first reaches 90% at step {first}")

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    left.loglog(q, push_ce, label="cross-entropy")
    left.loglog(q, push_mse, label="MSE on probabilities")
    left.set_xlabel("probability given to the correct class")
    left.set_ylabel("|dL / d(correct logit)|")
    left.set_title("the push on the correct logit")
    left.legend()
    for name, acc in runs.items():
        right.plot(acc, label=name)
    right.set_xlabel("step")
    right.set_ylabel("training accuracy")
    right.set_title("same model, same start, same lr")
    right.legend(loc="center right")
    plt.show()
    """),
    md(r"""
    On the left: the cross-entropy push on the correct logit approaches 1 as the model gets more
    wrong; the squared-error push falls in proportion to $q$. On the right, the consequence: with
    cross-entropy the classifier repairs itself almost at once, while with squared error it sits
    on a plateau for well over a hundred steps before the gradient grows big enough to matter. The
    squared-error run is not stuck forever; it is slow exactly where speed matters. Cross-entropy
    has one more property that squared error lacks: its value is a code length (section 10).
    Those two reasons are why language models train with it.

    ## 9 · Perplexity, nats and bits

    Two conversions appear in every training log.

    - **Perplexity** $= e^{L}$ (with $L$ in nats). A model with loss $\ln V$ has perplexity $V$:
      it is as unsure as a uniform choice among $V$ tokens. In general, perplexity is the size of
      the uniform choice that would be exactly as surprising, the "effective number of options".
    - **Bits** $= L / \ln 2$. Information theory and compression count in bits (logarithm base 2);
      PyTorch's losses use the natural log, so they count in nats. Same quantity, different unit,
      like miles and kilometres.
    """),
    code(r"""
    for loss in [math.log(V), 4.0, 2.0, 1.0]:
        print(f"loss {loss:7.4f} nats = {loss / math.log(2):7.4f} bits   perplexity {math.exp(loss):>9,.2f}")
    """),
    md(r"""
    A per-token loss only compares models that cut text into the same tokens. A token of a
    50,000-entry vocabulary carries several characters, a character-level model's token one; their
    losses are in different units of text. To compare across tokenisers, convert to **bits per
    character** (or per byte): total bits for a text divided by its length. Section 11 does exactly
    that.

    ## 10 · Cross-entropy is a code length

    Here is the meaning behind the formula. To store symbols compactly, give frequent symbols short
    codewords. Shannon showed that the best possible average length, for symbols drawn from a
    distribution $p$, is the **entropy** $H(p) = -\sum_x p(x) \log_2 p(x)$ bits, reached by giving
    symbol $x$ a codeword of $-\log_2 p(x)$ bits. If you design the code for a *model* $q$ instead,
    symbol $x$ costs $-\log_2 q(x)$ bits, and the average is the cross-entropy:

    $$H(p, q) = -\sum_x p(x) \log_2 q(x) = H(p) + D_{\mathrm{KL}}(p \,\|\, q), \qquad
    D_{\mathrm{KL}}(p \,\|\, q) = \sum_x p(x) \log_2 \frac{p(x)}{q(x)} \ge 0 .$$

    The KL divergence is the overpayment for believing $q$ when the data follows $p$. Minimising
    cross-entropy therefore pushes $q$ towards $p$, and a better language model is, literally, a
    better compressor. Take four symbols with $p = (\tfrac12, \tfrac14, \tfrac18, \tfrac18)$ and a
    model that thinks they are equally likely:
    """),
    code(r"""
    p = np.array([1 / 2, 1 / 4, 1 / 8, 1 / 8])
    q = np.array([1 / 4, 1 / 4, 1 / 4, 1 / 4])
    H_p = -(p * np.log2(p)).sum()
    H_pq = -(p * np.log2(q)).sum()
    KL = (p * np.log2(p / q)).sum()
    print(f"H(p) = {H_p:.4f}   H(p, q) = {H_pq:.4f}   KL(p||q) = {KL:.4f}   H(p) + KL = {H_p + KL:.4f}")

    # real prefix codes (no codeword is the start of another), lengths -log2 p and -log2 q
    code_for_p = {"a": "0", "b": "10", "c": "110", "d": "111"}
    code_for_q = {"a": "00", "b": "01", "c": "10", "d": "11"}
    rng = np.random.default_rng(0)
    message = rng.choice(list("abcd"), size=100_000, p=p)
    for name, book in [("code built for p", code_for_p), ("code built for q", code_for_q)]:
        bits = sum(len(book[s]) for s in message)
        print(f"{name}: {bits / len(message):.4f} bits per symbol, measured on {len(message):,} symbols")

    # and a pair whose logs are not whole numbers
    p2, q2 = np.array([0.7, 0.2, 0.1]), np.array([0.5, 0.3, 0.2])
    lhs = -(p2 * np.log2(q2)).sum()
    rhs = -(p2 * np.log2(p2)).sum() + (p2 * np.log2(p2 / q2)).sum()
    print(f"p2, q2: H(p, q) = {lhs:.6f}   H(p) + KL = {rhs:.6f}")
    """),
    md(r"""
    The measured lengths land on $H(p)$ and $H(p, q)$: the model's wrong belief costs exactly its
    KL divergence, a quarter of a bit per symbol here. When the ideal lengths are not whole
    numbers, arithmetic coding gets within a few bits *per file* of $H(p, q)$, so "cross-entropy in
    bits per symbol" and "compressed size" are the same thing for all practical purposes.

    ## 11 · A measured example: compressing the Jargon File

    The course ships a text corpus, the Jargon File 4.4.7 (the hacker lexicon, public domain),
    split into a training part and a held-out part. The simplest possible language model is the
    **unigram** model: count how often each character appears in the training text and predict
    those frequencies every time, ignoring all context. (Add-one smoothing keeps a character that
    is rare in training from getting probability 0, which would cost infinitely many bits.) Its
    cross-entropy on the held-out text, in bits per character, is the size an ideal coder using
    this model would compress that text to. Compare it with `gzip -9` on the same held-out text.
    """),
    code(r"""
    train_text, val_text = corpus_splits()
    chars = sorted(set(train_text) | set(val_text))
    index = {ch: i for i, ch in enumerate(chars)}
    train_ids = np.array([index[ch] for ch in train_text])
    val_ids = np.array([index[ch] for ch in val_text])
    print(f"training text {len(train_text):,} characters, held-out text {len(val_text):,}; "
          f"{len(chars)} distinct characters")

    counts = np.bincount(train_ids, minlength=len(chars)) + 1        # add-one smoothing
    q_char = counts / counts.sum()
    bpc_uniform = math.log2(len(chars))
    bpc_unigram_train = -np.log2(q_char[train_ids]).mean()
    bpc_unigram = -np.log2(q_char[val_ids]).mean()

    # one character of context: q(next | previous), counted on the training text
    pair_counts = np.ones((len(chars), len(chars)))
    np.add.at(pair_counts, (train_ids[:-1], train_ids[1:]), 1)
    q_next = pair_counts / pair_counts.sum(axis=1, keepdims=True)
    bpc_bigram = -np.log2(q_next[val_ids[:-1], val_ids[1:]]).mean()

    gz_bytes = len(gzip.compress(val_text.encode(), 9))
    bpc_gzip = 8 * gz_bytes / len(val_text)

    common = ", ".join(f"{chars[i]!r} {q_char[i]:.1%}" for i in np.argsort(-q_char)[:5])
    print(f"most common characters: {common}")

    print("\nbits per character on the held-out text:")
    rows = [("plain ASCII, one byte per character", 8.0),
            (f"uniform over {len(chars)} characters", bpc_uniform),
            ("unigram model (no context)", bpc_unigram),
            ("bigram model (one character of context)", bpc_bigram),
            (f"gzip -9 ({gz_bytes:,} bytes)", bpc_gzip)]
    for label, bpc in rows:
        print(f"  {label:42s} {bpc:.3f}")
    print(f"(the unigram model on its own training text: {bpc_unigram_train:.3f})")
    print(f"\nunigram perplexity: {2 ** bpc_unigram:.1f} (as unsure as a fair choice among that many characters)")
    """),
    md(r"""
    What each number means, honestly:

    - **Unigram.** The model knows only how common each character is: space and `e` lead, many
      characters are rare. That alone takes the text from 8 bits per character (raw ASCII) or
      $\log_2 V$ (uniform) down to about 4.7. It cannot know that `q` is followed by `u`, so it
      stops there. Its held-out and training numbers are nearly equal: a model with 96 numbers
      has nothing to overfit.
    - **Bigram.** One character of context is already worth about a bit per character. Context is
      where the information is.
    - **gzip.** It has no model of English at all. It finds strings that already appeared in the
      last 32 KB of the *same* text and replaces them with a pointer, then Huffman-codes the
      result. Hacker jargon repeats whole words and phrases, so this beats both count-based
      models. Its number is a real file, header and code tables included.
    - **The comparison is not perfectly level.** The count-based models learned from the training
      text and are assumed known to both sides (like a dictionary shipped with a decompressor);
      their bits are ideal code lengths, which an arithmetic coder reaches to within a few bytes.
      gzip learned from nothing but the held-out text itself.

    A model that uses long context the way gzip does, *and* knows the statistics of the language
    the way the count models do, should beat all of them. Lesson 12 trains a small character-level
    transformer on the same training split and measures it on the same held-out text, with these
    numbers as the bar to clear.
    """),
    md(r"""
    ## Takeaways

    - A loss turns "how wrong" into one number; training is the search for the parameters that
      make it small. Mean squared error fits quantities, and its value is in squared units.
    - The loss over the parameters is a landscape. For a line and squared error it is a single
      bowl, but a very stretched one when the inputs are large numbers like square footage.
    - Cross-entropy is $-\log q(\text{correct})$. Know its baseline: $\ln V$ for a uniform guess
      over $V$ tokens. A loss above it means confidently wrong, not just untrained.
    - Compute it from logits with log-sum-exp (`F.cross_entropy` does); its gradient with respect
      to the logits is `(softmax - onehot) / N`.
    - Squared error on probabilities has a vanishing gradient on confident mistakes; cross-entropy
      does not.
    - Perplexity $= e^{\text{loss}}$; bits $=$ nats $/ \ln 2$; cross-entropy $= H(p) + $ KL is a
      compressed size, so a better language model is a better compressor.
    """),
    md(r"""
    ## Misconception: "a good enough model reaches loss 0 on next-token prediction"

    Zero loss needs probability 1 on every next token, so the next token would have to be
    determined by what came before. Text is not like that. Look at what follows the four
    characters `the ` in the training text:
    """),
    code(r"""
    context = "the "
    followers = Counter(train_text[i + len(context)] for i in range(len(train_text) - len(context))
                        if train_text.startswith(context, i))
    total = sum(followers.values())
    probs = np.array(list(followers.values())) / total
    floor_bits = -(probs * np.log2(probs)).sum()
    top = ", ".join(f"{ch!r} {c / total:.1%}" for ch, c in followers.most_common(6))
    print(f"'{context}' occurs {total:,} times, followed by {len(followers)} different characters")
    print(f"most common: {top}")
    print(f"entropy of the next character: {floor_bits:.2f} bits")
    """),
    md(r"""
    Any model that sees only those four characters must pay at least that entropy, on average,
    at this spot: the best it can do is predict the frequencies themselves. Longer context
    narrows the choice but never removes it: the next word of a sentence is genuinely uncertain.
    The floor of a language model's loss is the entropy of the text, not zero. A model that does
    reach nearly zero on its *training* text has memorised it, and its held-out loss will say so.

    ## Misconception: "a lower MSE on probabilities means a better classifier"

    Two classifiers on the same 20 examples. A is 99% sure and right on 19 of them, and gives the
    true class of the 20th a probability of one in a million. B is right every time but only
    70% sure (three classes, the rest split evenly).
    """),
    code(r"""
    def scores(q_correct):
        # three classes; the two wrong ones share what the correct one does not get
        q_correct = np.asarray(q_correct)
        mse = (1 - q_correct) ** 2 + 2 * ((1 - q_correct) / 2) ** 2
        return mse.mean(), -np.log(q_correct).mean(), (q_correct > (1 - q_correct) / 2).mean()


    models = {"A": [0.99] * 19 + [1e-6], "B": [0.7] * 20}
    for name, qs in models.items():
        mse_p, ce, acc = scores(qs)
        print(f"classifier {name}: MSE on probabilities {mse_p:.3f}   "
              f"cross-entropy {ce:.3f} nats   accuracy {acc:.0%}")
    mistake = 1e-6
    print(f"A's one mistake costs {scores([mistake])[0]:.3f} in squared error, "
          f"{-math.log(mistake):.1f} nats = {-math.log2(mistake):.1f} bits in cross-entropy")
    """),
    md(r"""
    MSE ranks A first; cross-entropy and accuracy rank B first. Squared error caps the price of a
    confident mistake (never more than 2 per example, however sure the model was), so the one
    example that A gets catastrophically wrong barely registers, while cross-entropy charges it in
    full: as a compressor, A would spend about 20 bits on that one symbol. Which score is "right"
    depends on what a mistake costs you. But a lower MSE on probabilities does not, by itself,
    mean a better classifier, and as a training loss it is the one with the vanishing gradient.

    ## Questions

    1. The tiny data set's least-squares line has a negative bias. Is that a bug? What would you
       change to get a bias that means "the price of the land"?
    2. A training log shows a loss of 11.5 nats at step 0 for a model with a 50,000-token
       vocabulary. What does that tell you about its initialisation, and what would you check?
    3. `F.cross_entropy` takes logits. What goes wrong, numerically and in the gradient, if you
       pass it `softmax(logits)` instead?
    4. The unigram model scores nearly the same on its training text and on held-out text. Fit a
       trigram model (two characters of context) the same way and compare its two numbers, and
       its held-out number with gzip's. Why does a model with more context overfit more?
    5. gzip compresses the held-out text without having seen the training text. How would you
       measure how much it gains from seeing the training text first, given its 32 KB window?
    """),
]

if __name__ == "__main__":
    out = write_notebook(ROOT / "notebooks" / "01_loss_functions.ipynb", cells)
    print(f"wrote {out.relative_to(ROOT)} ({len(cells)} cells)")
