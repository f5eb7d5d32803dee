"""Build notebooks/12_full_recipe.ipynb (run from the repository root).

    .venv/bin/python tools/lessons/build_12.py
    .venv/bin/python tools/execute_notebooks.py notebooks/12_full_recipe.ipynb
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tools.nbbuild import code, md, write_notebook  # noqa: E402

cells = [
    md(r"""
    # 12 · The full recipe: training a small language model with everything on

    Every earlier lesson took one piece of a training run apart: the loss, the gradient step, the
    learning rate, momentum, adaptive rates, decoupled weight decay, schedules, clipping. This
    lesson puts all of them back together in one loop and trains a small character-level
    transformer on the course's bundled text, the Jargon File. Then it asks the model what it
    learned, in a unit you can compare with tools you already use: **bits per character**, the
    same number `gzip` is judged by.

    **What you will learn**
    - The modern recipe in one readable loop: AdamW with parameter groups (no decay on biases
      and norms), linear warmup then cosine decay, global-norm clipping at 1.0, bfloat16
      autocast on a GPU. Every line is in the notebook; nothing hides in a callback.
    - Why backpropagation, not gradient descent, is what makes this affordable: the cost of one
      gradient by backprop versus by finite differences, counted in floating-point operations
      on this very model.
    - Recording a run (loss, learning rate, gradient norm, clip events) and letting
      `course_lib.diagnose` read it.
    - Held-out loss in nats, bits per character and perplexity, and how the model compares
      with gzip, bz2 and xz (lzma) on the same held-out text.
    """),
    md(r"""
    **Prerequisites:** lessons 01 (cross-entropy, bits, the unigram and gzip baselines), 06
    (AdamW and parameter groups), 07 (warmup + cosine) and 08 (clipping, `diagnose`). You do not
    need to know how a transformer works inside: here it is a function from 64 characters to 64
    next-character predictions with about a hundred thousand knobs.

    **Time:** about 30 minutes. The training cell runs for under a minute on a laptop CPU and a
    few seconds on a GPU; the same notebook runs on either without changes.
    """),
    code(r"""
    import bz2
    import copy
    import gzip
    import lzma
    import math
    import sys

    import matplotlib.pyplot as plt
    import numpy as np
    import torch
    from torch.optim.lr_scheduler import LambdaLR
    from torch.utils.flop_counter import FlopCounterMode
    from tqdm import tqdm

    from course_lib.clipping import clip_grad_norm_
    from course_lib.data import CharTokenizer, char_batches, corpus_splits
    from course_lib.device import default_device, seed_everything
    from course_lib.diagnose import diagnose
    from course_lib.models import CharTransformer, count_parameters, param_groups_for_weight_decay
    from course_lib.optim import AdamW
    from course_lib.plots import course_style, plot_grad_norms, plot_losses, plot_lr_schedule
    from course_lib.schedules import warmup_cosine
    from course_lib.train import History

    course_style()                # the course's plot style (before the last line: no echo)
    device = default_device()
    g = seed_everything(0)
    """),
    md(r"""
    ## 1 · The data: characters in, the next character out

    The corpus is split once, contiguously: the first 90% is for training, the last 10% is
    held out and never trained on. The tokenizer gives each distinct character of the training
    text an integer id. A training example is a window of 64 characters `x` and the same window
    shifted by one, `y`: at every position the model must predict the character that comes next.
    """),
    code(r"""
    train_text, val_text = corpus_splits()
    tok = CharTokenizer(train_text)
    train_ids = tok.encode(train_text, device=device)
    val_ids = tok.encode(val_text, device=device)
    print(f"training text {len(train_text):,} characters, held-out text {len(val_text):,}; "
          f"vocabulary {tok.vocab_size} characters")

    BLOCK, BATCH = 64, 32                       # context length, windows per batch
    x, y = char_batches(train_ids, BLOCK, BATCH, generator=g, device=device)
    print(f"one batch: x {tuple(x.shape)}, y {tuple(y.shape)}")
    print(f"x[0][:40] = {tok.decode(x[0][:40])!r}")
    print(f"y[0][:40] = {tok.decode(y[0][:40])!r}")
    """),
    md(r"""
    ## 2 · The model, and the first number to check

    `CharTransformer` is a two-layer, four-head decoder with a 64-wide residual stream, built
    like GPT-2 at a miniature scale. Its initial weights are small, so its first predictions are
    close to uniform over the vocabulary, and the loss of a uniform guess over $V$ characters is

    $$L_0 = -\ln \tfrac{1}{V} = \ln V .$$

    If the first loss of a run is far from this, something is wrong before training has begun
    (a bad initialisation, labels misaligned with inputs). Check it every time.
    """),
    code(r"""
    model = CharTransformer(tok.vocab_size, block_size=BLOCK, n_layer=2, n_head=4, n_embd=64,
                            device=device)
    n_params = count_parameters(model)
    with torch.no_grad():
        _, loss0 = model(x, y)
    print(f"{n_params:,} parameters")
    print(f"loss at initialisation {loss0.item():.3f} nats;  ln(V) = ln({tok.vocab_size}) = "
          f"{math.log(tok.vocab_size):.3f}")
    """),
    md(r"""
    ## 3 · Where the gradient comes from: backprop versus finite differences

    Gradient descent needs $\nabla L(\theta)$, one partial derivative per parameter. Gradient
    descent says what to *do* with it; **backpropagation** is how it is *computed*. They are
    different things, and the second is what makes the first affordable.

    Without backprop you could still estimate each partial derivative by nudging one parameter
    at a time, the **central finite difference**:

    $$\frac{\partial L}{\partial \theta_i} \approx
      \frac{L(\theta + h\,e_i) - L(\theta - h\,e_i)}{2h},$$

    where $e_i$ is the unit vector of parameter $i$. First, check that the two methods agree on a
    few parameters. In float64 with $h = 10^{-6}$ the difference quotient is accurate to many
    digits (in float32 the rounding error of $L$ would swamp it).
    """),
    code(r"""
    probe = copy.deepcopy(model).double()       # a float64 copy, so finite differences are exact enough
    _, loss = probe(x, y)
    loss.backward()

    h = 1e-6
    print(f"{'parameter':34s} {'backprop':>14s} {'finite diff.':>14s}")
    for name, index in [("lm_head.weight", (5, 7)), ("blocks.0.mlp.0.bias", (3,)),
                        ("ln_f.weight", (10,))]:
        p = probe.get_parameter(name)
        with torch.no_grad():
            p[index] += h
            up = probe(x, y)[1].item()
            p[index] -= 2 * h
            down = probe(x, y)[1].item()
            p[index] += h                        # put it back
        fd = (up - down) / (2 * h)
        print(f"{name + str(list(index)):34s} {p.grad[index].item():14.8f} {fd:14.8f}")
    """),
    md(r"""
    Same numbers. Now the cost. Central differences need two forward passes **per parameter**,
    $2n$ in all. Backprop gets all $n$ partial derivatives from one forward and one backward
    pass. Timings wobble from run to run, so count the work instead: PyTorch's `FlopCounterMode`
    counts the floating-point operations of the matrix multiplications and of attention (the
    bulk of the work; element-wise operations are left out of its count).
    """),
    code(r"""
    with FlopCounterMode(display=False) as counter:
        with torch.no_grad():
            model(x, y)
    flops_forward = counter.get_total_flops()

    with FlopCounterMode(display=False) as counter:
        _, loss = model(x, y)
        loss.backward()
    flops_backprop = counter.get_total_flops()
    model.zero_grad(set_to_none=True)

    flops_fd = 2 * n_params * flops_forward
    print(f"one forward pass (batch of {BATCH}x{BLOCK}):  {flops_forward / 1e6:10,.1f} MFLOP")
    print(f"forward + backward (backprop):      {flops_backprop / 1e6:10,.1f} MFLOP "
          f"({flops_backprop / flops_forward:.1f}x a forward pass)")
    print(f"central differences, 2n forwards:   {flops_fd / 1e6:10,.0f} MFLOP")
    print(f"finite differences cost {flops_fd / flops_backprop:,.0f}x as much as backprop "
          f"for one gradient of {n_params:,} parameters")
    """),
    md(r"""
    Backprop costs about three forward passes (the backward pass does roughly twice the work of
    the forward: for each matrix product it needs a gradient with respect to both factors),
    *whatever* the number of parameters. Finite differences cost $2n$ forward passes, so the
    ratio grows linearly with the model: tens of thousands here, hundreds of millions for a
    model with a billion parameters. Every gradient step in the loop below would take the
    finite-difference route days instead of milliseconds. That is the sense in which backprop,
    an application of the chain rule, makes training neural networks feasible at all.

    ## 4 · The optimizer: AdamW with two parameter groups

    Weight decay pulls weights toward zero. That is useful regularisation for the big matrices
    (linear layers, embedding tables), and harmful for biases and LayerNorm scales, whose
    neutral values are 0 and 1 and which hold little capacity anyway (lesson 06).
    `param_groups_for_weight_decay` sorts tensors by dimension: 2-D and up decay, 1-D do not.

    The settings follow GPT-3's published recipe, scaled down: $\beta_2 = 0.95$ rather than the
    default 0.999 (the second-moment average forgets faster, so it reacts sooner when gradients
    change scale), weight decay 0.1, global-norm clipping at 1.0, a linear warmup, then a cosine
    decay to 10% of the peak. The peak learning rate, $10^{-2}$, is high by large-model
    standards; a model this small tolerates it, and lesson 09's range test is how you would pick
    it for your own model.
    """),
    code(r"""
    STEPS, WARMUP = 600, 30
    PEAK_LR, WEIGHT_DECAY, BETAS, CLIP = 1e-2, 0.1, (0.9, 0.95), 1.0

    groups = param_groups_for_weight_decay(model, WEIGHT_DECAY)
    names = {id(p): n for n, p in model.named_parameters()}
    for grp in groups:
        members = [names[id(p)] for p in grp["params"]]
        print(f"weight_decay={grp['weight_decay']}: {len(members)} tensors, "
              f"{sum(p.numel() for p in grp['params']):,} parameters, e.g. {members[:3]}")

    optimizer = AdamW(groups, lr=PEAK_LR, betas=BETAS, weight_decay=WEIGHT_DECAY)
    schedule = warmup_cosine(warmup_steps=WARMUP, total_steps=STEPS, floor=0.1)
    scheduler = LambdaLR(optimizer, lr_lambda=schedule)   # lr of step t = PEAK_LR * schedule(t)
    print(f"lr at steps 0, {WARMUP}, {STEPS // 2}, {STEPS - 1}: "
          + ", ".join(f"{PEAK_LR * schedule(t):.2e}" for t in (0, WARMUP, STEPS // 2, STEPS - 1)))
    """),
    md(r"""
    ## 5 · The loop

    Six lines do the work, in this order, every step:

    1. `optimizer.zero_grad()`: forget the previous step's gradients (they would add up).
    2. forward pass, under **autocast**: on a CUDA GPU the matrix products run in bfloat16,
       which has float32's exponent range (so no overflow, no loss scaling, lesson 08) and is
       much faster on GPU hardware; the weights and the optimizer state stay in float32. On a CPU
       autocast is switched off and everything is float32.
    3. `loss.backward()`: backprop fills `p.grad` for every parameter.
    4. clip the global gradient norm at 1.0, keeping the norm *before* clipping for the record.
    5. `optimizer.step()`: the AdamW update with the current learning rate.
    6. `scheduler.step()`: move the learning rate along warmup + cosine.

    Around them, the bookkeeping: a fresh random batch each step, and a
    `course_lib.train.History` that records the loss, learning rate, gradient norm and whether
    clipping fired. The progress bar shows the step count and the last loss (no timings, so the
    stored output stays the same from run to run).
    """),
    code(r"""
    history = History(meta={"clip_norm": CLIP, "base_lr": PEAK_LR, "optimizer": "AdamW",
                            "steps_requested": STEPS})
    model.train()
    bar = tqdm(range(STEPS), file=sys.stdout, ascii=True, disable=False, desc="training",
               miniters=25, mininterval=0,                  # redraw every 25 steps
               bar_format="{desc} |{bar:30}| {n_fmt}/{total_fmt}")  # no rates or times
    for step in bar:
        lr = optimizer.param_groups[0]["lr"]              # the rate this step's update will use
        x, y = char_batches(train_ids, BLOCK, BATCH, generator=g, device=device)

        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16,
                            enabled=device.type == "cuda"):
            _, loss = model(x, y)
        loss.backward()
        grad_norm = clip_grad_norm_(model.parameters(), CLIP)   # returns the norm before clipping
        optimizer.step()
        scheduler.step()

        history.step.append(step)
        history.loss.append(loss.item())
        history.lr.append(lr)
        history.grad_norm.append(grad_norm.item())
        history.clipped.append(grad_norm.item() > CLIP)
        if step % 25 == 0 or step == STEPS - 1:
            bar.set_description(f"training, loss {loss.item():.3f}", refresh=False)
    bar.close()

    chars_seen = STEPS * BATCH * BLOCK
    print(f"{STEPS} steps x {BATCH} windows x {BLOCK} characters = {chars_seen:,} characters "
          f"predicted ({chars_seen / len(train_text):.2f} passes over the training text)")
    """),
    md(r"""
    ## 6 · Reading the run

    Three curves from the history: the training loss (noisy, because each step sees a different
    batch; the thick line is a 25-step moving average), the learning rate the optimizer actually
    used, and the gradient norm with the clipping threshold. Then `diagnose` reads the same
    record and says what it sees.
    """),
    code(r"""
    losses = np.array(history.loss)
    smooth = np.convolve(losses, np.ones(25) / 25, mode="valid")

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    plot_losses({"loss per step": losses}, ax=axes[0], ylabel="training loss (nats)")
    axes[0].plot(np.arange(24, STEPS), smooth, linewidth=2.5, label="25-step average")
    axes[0].legend()
    plot_lr_schedule(history.lr, ax=axes[1], title="learning rate used")
    plot_grad_norms(history.grad_norm, clip_threshold=CLIP, clip_events=history.clip_events,
                    ax=axes[2], log_y=True, title="gradient norm before clipping")
    plt.show()

    norms = np.array(history.grad_norm)
    spike = int(np.argmax(norms))
    before = losses[spike - 3:spike].mean()
    back = next(t for t in range(spike + 1, STEPS) if losses[t] < before)
    print(f"largest gradient norm {norms[spike]:.1f} at step {spike} (lr {history.lr[spike]:.1e}, "
          f"warmup ends at step {WARMUP}); highest loss {losses.max():.2f} at step "
          f"{int(np.argmax(losses))}; back below the pre-spike level {before:.2f} at step {back}")
    for lo, hi in [(0, 50), (50, 400), (400, STEPS)]:
        late = norms[lo:hi]
        clipped = late[late > CLIP]
        trim = f", median norm of those {np.median(clipped):.2f}" if len(clipped) else ""
        print(f"steps {lo:3d}-{hi - 1:3d}: median gradient norm {np.median(late):.2f}, "
              f"clipped on {len(clipped):3d} of {hi - lo} steps{trim}")
    print()
    print(diagnose(history))
    """),
    md(r"""
    Three phases, each visible in the printout:

    - **Warmup.** As the learning rate climbs toward its peak, one step overshoots: the
      gradient norm jumps far above the threshold and the loss spikes. Clipping caps that
      update at norm 1.0, and the loss is back below its pre-spike level within a few steps.
      Without the cap, the update would have been as many times larger as the norm is above 1.
    - **The middle.** The norm sits well below 1.0 and clipping rarely acts.
    - **The end.** While the learning rate decays, the gradient norm drifts back up to around
      the threshold and clipping trims many steps, though only by a small factor (the median
      clipped norm is not far above 1). A gradient norm that rises late in a run is common in
      real runs too; here it is harmless, because the loss keeps falling through it.

    `diagnose` compares each norm with the steps just before it and looks at the trend of the
    loss, and finds nothing wrong. The learning-rate panel is the optimizer's own record, so it
    cannot disagree with the run.

    ## 7 · Held-out loss: nats, bits per character, perplexity

    The training loss is measured on batches the model is being fitted to. The honest number is
    the loss on the held-out text. To make it deterministic, cut the held-out ids into
    consecutive, non-overlapping windows of 64 characters and score every character of every
    window. (Each window starts from scratch, so its first characters are predicted with little
    context: this slightly *overstates* the loss compared with sliding the window one character
    at a time.)

    `F.cross_entropy` uses the natural logarithm, so the loss is in **nats**. The same quantity
    in **bits** divides by $\ln 2$, and **perplexity** undoes the logarithm:

    $$\text{bits per character} = \frac{L_{\text{nats}}}{\ln 2}, \qquad
      \text{perplexity} = e^{L_{\text{nats}}} = 2^{\text{bits per character}} .$$

    Perplexity reads as "the model is as unsure as a fair choice among this many characters".
    """),
    code(r"""
    @torch.no_grad()
    def held_out_loss(model, ids, block=BLOCK, batch=256):
        # mean cross-entropy (nats) over every character of consecutive, non-overlapping windows
        model.eval()
        n_windows = (len(ids) - 1) // block
        starts = torch.arange(n_windows, device=ids.device) * block
        offsets = torch.arange(block, device=ids.device)
        total = 0.0
        for i in range(0, n_windows, batch):
            s = starts[i:i + batch, None] + offsets
            _, loss = model(ids[s], ids[s + 1])
            total += loss.item() * s.numel()
        model.train()
        return total / (n_windows * block), n_windows

    val_nats, n_windows = held_out_loss(model, val_ids)
    val_bpc = val_nats / math.log(2)
    train_nats_end = float(np.mean(history.loss[-50:]))
    print(f"held-out: {n_windows:,} windows x {BLOCK} = {n_windows * BLOCK:,} characters scored")
    print(f"held-out loss      {val_nats:.3f} nats per character")
    print(f"                   {val_bpc:.3f} bits per character")
    print(f"perplexity         {math.exp(val_nats):.2f}  (= 2 ** {val_bpc:.3f} = "
          f"{2 ** val_bpc:.2f})")
    print(f"training loss, mean of the last 50 steps: {train_nats_end:.3f} nats")
    """),
    md(r"""
    The held-out loss is close to the training loss: at one pass over the data a model this
    small has not begun to memorise its training text. It is still learning.

    ## 8 · Cross-entropy is compression: the model against gzip, bz2 and xz

    Lesson 01 showed that a model's cross-entropy in bits per character is the size an ideal
    coder driven by that model (arithmetic coding) would compress the text to, within a few bits
    per file. So a language model *is* a compressor, and the held-out bits per character can be
    set next to real compressors run on exactly the characters the model was scored on. Two
    count-based models from lesson 01 give the floor: the unigram model (character frequencies
    of the training text, no context) and the bigram model (one character of context), both
    with add-one smoothing.
    """),
    code(r"""
    scored = val_text[1:n_windows * BLOCK + 1]          # exactly the characters the model predicted
    raw = scored.encode("ascii")
    V = tok.vocab_size
    tr = tok.encode(train_text, device="cpu").numpy()
    sc = tok.encode(val_text[:n_windows * BLOCK + 1], device="cpu").numpy()

    q_char = (np.bincount(tr, minlength=V) + 1) / (len(tr) + V)          # unigram, add-one
    pairs = np.ones((V, V))
    np.add.at(pairs, (tr[:-1], tr[1:]), 1)
    q_next = pairs / pairs.sum(axis=1, keepdims=True)                    # bigram, add-one

    compressed = {
        "gzip -9": len(gzip.compress(raw, 9)),
        "bz2 -9": len(bz2.compress(raw, 9)),
        "xz -9e (lzma)": len(lzma.compress(raw, preset=9 | lzma.PRESET_EXTREME)),
    }
    table = {"plain ASCII (one byte each)": 8.0,
             "unigram model (no context)": -np.log2(q_char[sc[1:]]).mean(),
             "bigram model (1 character of context)": -np.log2(q_next[sc[:-1], sc[1:]]).mean()}
    table.update({name: 8 * size / len(raw) for name, size in compressed.items()})
    table[f"transformer, {STEPS} steps (this lesson)"] = val_bpc

    print(f"bits per character on the same {len(raw):,} held-out characters:")
    for name, bpc in sorted(table.items(), key=lambda kv: -kv[1]):
        print(f"  {name:42s} {bpc:6.3f}")
    beaten = [n for n in compressed if table[n] > val_bpc]
    not_beaten = [n for n in compressed if table[n] <= val_bpc]
    print(f"\nthe transformer beats: {beaten or 'none of the compressors'}")
    print(f"not (yet) beaten:      {not_beaten or 'none'}")
    """),
    md(r"""
    Read the table honestly, with the budget in mind: this is a model of about a hundred
    thousand parameters that has seen each training character about once, in 600 steps (under a
    minute of CPU time). It is far better than any model without context, it beats gzip, and it
    is still behind xz and bz2. Those two find long repeated strings anywhere in the text (the
    Jargon File repeats its headwords and stock phrases a lot), while the model sees at most 64
    characters back and has had one pass of training. Train longer or wider and the transformer
    pulls ahead (question 5); that is the premise of language modelling at scale.

    Two caveats make the comparison fair in both directions:

    - The compressors learned everything from the held-out text itself; the model learned from
      a million characters of *training* text. A compressor that could prime itself on the
      training text would do better too.
    - To decompress, the receiver needs the model. Its weights are a fixed cost that the bits
      per character leave out:
    """),
    code(r"""
    model_bytes = 4 * n_params                                   # float32 weights
    model_coded_bytes = val_bpc * len(raw) / 8
    print(f"model weights: {model_bytes:,} bytes (float32)")
    print(f"held-out text: {len(raw):,} bytes raw, {model_coded_bytes:,.0f} bytes when coded "
          f"with the model, {compressed['bz2 -9']:,} bytes with bz2")
    """),
    md(r"""
    The weights are larger than the text they compress. For a small file a model-based
    compressor loses once its decoder is counted; the trade only pays when one model codes far
    more text than its own size, which is exactly the situation of a large language model.

    ## 9 · What it learned: a sample

    `generate` feeds the model its own output one character at a time, sampling each next
    character from the predicted distribution. A seeded generator makes the sample repeatable
    (on the same device). A temperature below 1 sharpens the distribution a little.
    """),
    code(r"""
    sampler = torch.Generator().manual_seed(0)
    prompt = tok.encode("hacker", device=device)
    out = model.generate(prompt, max_new_tokens=300, temperature=0.8, generator=sampler)
    print(tok.decode(out))
    """),
    md(r"""
    Short real words, spacing, quotes, parentheses and sentence-like rhythm, from a model that
    started out not knowing that spaces exist; most longer words are invented and the meaning is
    missing. The recipe is the same one that
    trains models a million times larger (GPT-3 has 175 billion parameters); what changes is the
    number of steps, the data and the width, not the loop.

    ## Takeaways

    - The full recipe is short: AdamW with parameter groups, warmup then cosine decay, clipping
      at 1.0, bfloat16 autocast on a GPU, and the six-line loop `zero_grad`, forward, `backward`,
      clip, `step`, schedule `step`. Every piece has a job you have measured in an earlier lesson.
    - Check the first loss against $\ln V$; record the loss, learning rate, gradient norm and
      clip events every step, and read them (or let `diagnose` read them) before tuning.
    - Backpropagation computes the gradient, gradient descent uses it. Backprop's cost is about
      three forward passes whatever the model size; finite differences cost $2n$. On this model
      that is a ratio of tens of thousands, measured in FLOPs above.
    - Report held-out loss, not training loss. Nats divided by $\ln 2$ are bits; bits per
      character are directly comparable with a compressor's output size, and perplexity is
      $2^{\text{bits}}$.

    ## Misconception: "backpropagation is the learning algorithm"

    Backprop is a way to compute derivatives; it learns nothing. In section 3 it and finite
    differences returned the same numbers, at wildly different costs. What *learns* is the
    update rule that consumes the gradient (here AdamW, with its schedule and its clipping); you
    can swap it for SGD or Lion without touching backprop, and backprop is used for things that
    are not training at all (saliency maps, adversarial examples, the Hessian-vector products of
    lesson 11).

    ## Misconception: "a loss of 2 means 2 bits"

    PyTorch's cross-entropy is in nats. The held-out loss above reads as nats; divided by
    $\ln 2$ it is a larger number of bits, and only the bits can be set next to a compressor's
    size. Also, a loss is only comparable between models that predict the same units: a
    per-token loss of a model with a 50,000-token vocabulary and a per-character loss are
    different quantities; convert both to bits per character (or per byte) before comparing.
    """),
    md(r"""
    ## Questions

    1. The first loss should be close to $\ln V$. What would a first loss far *below* $\ln V$
       suggest? (Hint: what if `y` were equal to `x`?)
    2. The finite-difference cost grows with $n$ and backprop's does not. Where does backprop pay
       instead? (Think about what it must keep in memory between the forward and the backward
       pass.)
    3. Clipping fired on about a fifth of the steps, most of them near the end. Would you lower
       the learning rate because of it? What in the history tells you whether clipping was
       rescuing the run or crippling it?
    4. The held-out windows each restart from empty context. How would scoring with a sliding
       window change the bits per character, and which way?
    5. Double `STEPS` (the run then takes twice as long). Predict the new held-out bits per
       character relative to bz2 and xz before you run it. Then do.
    6. On a GPU the loop runs the forward pass in bfloat16. Why is float16 riskier in the same
       place, and what would the loop need to use it safely?
    """),
]

if __name__ == "__main__":
    path = write_notebook(ROOT / "notebooks" / "12_full_recipe.ipynb", cells)
    print(f"wrote {path.relative_to(ROOT)}")
