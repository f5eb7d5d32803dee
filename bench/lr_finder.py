"""Does the LR finder's suggestion land near the best constant learning rate? A validation table.

For each model/data pair and seed:

* **the sweeps** (the ground truth): constant-lr training runs on a grid of 8 learning rates per
  decade, each ``STEPS`` = 200 steps from the seed's initial weights, scored by the final
  training loss (the whole training set for the digits pairs; 4 fixed batches of text for the
  transformer). The grid is run twice, on two batch streams (two data orders, :data:`STREAMS`),
  and the best lr is the grid point with the lowest mean log-loss of the two after a 3-point
  smoothing along the grid (weights 1/4, 1/2, 1/4). One data order is not enough: for the MLP,
  seed 2, the best lr of one order is 2.4x that of the other (both are printed, as "A" and "B");
* **the range test** (``course_lib.lr_finder.lr_range_test``, default settings: 1e-7 to 10 in
  100 steps, the course's probes on) from the same initial weights on a third batch stream
  (:data:`FINDER_STREAM`), as in real use, where the training that follows a range test does not
  see the finder's batches: the course's ``suggested_lr`` and the three published rules
  (steepest, valley, minimum/10), each as a ratio to the sweeps' best lr, and the cost of
  ``suggested_lr`` as a multiple of the range test alone. (``--same-stream`` gives the finder
  stream A, which flatters the probes: their first 100 steps are then the sweep's own.)

The pairs: logistic regression and an MLP (64-64-10) on the 8x8 digits with SGD (momentum
0.9), a small CNN on the digits with Adam, and the course's character transformer (2 layers,
64 wide, context 32) with AdamW. Summary: per rule, the worst ratio and the geometric mean of
``max(r, 1/r)`` (the "average" factor away from the best) over every pair and seed.

Run: ``.venv/bin/python bench/lr_finder.py`` (about 45 minutes on a 2-core CPU, the
transformer's sweeps most of it; the sweeps are cached in ``bench/results/``, so a changed rule
is re-validated in a few minutes); ``--pairs logreg mlp --seeds 0`` for a quick look.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from course_lib.data import CharTokenizer, char_batches, corpus_splits, load_digits_split  # noqa: E402
from course_lib.lr_finder import lr_range_test  # noqa: E402
from course_lib.models import MLP, CharTransformer  # noqa: E402
from course_lib.optim import SGD, Adam, AdamW  # noqa: E402

STEPS = 200
PER_DECADE = 8
RULES = ("suggested_lr", "steepest", "valley", "minimum_div_10")
#: The sweeps' batch streams (added to the seed) and the range test's own.
STREAMS = (0, 500)
FINDER_STREAM = 1000


@dataclass
class Pair:
    """A model/data pair: how to build, train and score it."""

    name: str
    make_model: Callable[[int], nn.Module]
    make_optimizer: Callable[[list, float], torch.optim.Optimizer]
    batches: Callable[[int], Callable[[], tuple]]
    loss_fn: Callable
    score: Callable[[nn.Module], float]
    grid: tuple[float, float]  # log10 range of the constant-lr sweep


class SmallCNN(nn.Module):
    """conv 3x3 (16) -> ReLU -> conv 3x3 (32) -> ReLU -> max-pool 2 -> linear, on 8x8 images."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 16, 3, padding=1)
        self.c2 = nn.Conv2d(16, 32, 3, padding=1)
        self.fc = nn.Linear(32 * 4 * 4, 10)

    def forward(self, x):
        x = F.relu(self.c1(x))
        x = F.max_pool2d(F.relu(self.c2(x)), 2)
        return self.fc(x.flatten(1))


class CharLM(nn.Module):
    """The course's CharTransformer, called as ``model(x) -> logits``."""

    def __init__(self, vocab_size: int):
        super().__init__()
        self.net = CharTransformer(vocab_size, block_size=32, n_layer=2, n_head=4, n_embd=64,
                                   device="cpu")

    def forward(self, x):
        return self.net(x)[0]


def make_pairs() -> dict[str, Pair]:
    digits = load_digits_split(device="cpu")
    train_text, _ = corpus_splits()
    tokenizer = CharTokenizer(train_text)
    ids = tokenizer.encode(train_text)
    held = torch.Generator().manual_seed(99)
    text_eval = [char_batches(ids, 32, 32, generator=held, device="cpu") for _ in range(4)]

    def digit_batches(images: bool):
        def for_seed(seed: int):
            gen = torch.Generator().manual_seed(1000 + seed)

            def get_batch():
                idx = torch.randint(len(digits.X_train), (64,), generator=gen)
                x = digits.X_train[idx]
                return (x.view(-1, 1, 8, 8) if images else x), digits.y_train[idx]

            return get_batch
        return for_seed

    def digit_score(images: bool):
        def score(model):
            x = digits.X_train.view(-1, 1, 8, 8) if images else digits.X_train
            with torch.no_grad():
                return F.cross_entropy(model(x), digits.y_train).item()
        return score

    def text_batches(seed: int):
        gen = torch.Generator().manual_seed(2000 + seed)
        return lambda: char_batches(ids, 32, 32, generator=gen, device="cpu")

    def lm_loss(logits, y):
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))

    def text_score(model):
        with torch.no_grad():
            return sum(lm_loss(model(x), y).item() for x, y in text_eval) / len(text_eval)

    def seeded(build):
        def make(seed):
            torch.manual_seed(seed)
            return build()
        return make

    sgd = lambda p, lr: SGD(p, lr=lr, momentum=0.9)  # noqa: E731
    return {
        "logreg": Pair("logistic regression, digits, SGD m=0.9", seeded(lambda: nn.Linear(64, 10)),
                       sgd, digit_batches(False), F.cross_entropy, digit_score(False), (-2.0, 1.5)),
        "mlp": Pair("MLP 64-64-10, digits, SGD m=0.9", seeded(lambda: MLP([64, 64, 10],
                                                                         device="cpu")),
                    sgd, digit_batches(False), F.cross_entropy, digit_score(False), (-2.5, 0.75)),
        "cnn": Pair("small CNN, digits, Adam", seeded(SmallCNN), lambda p, lr: Adam(p, lr=lr),
                    digit_batches(True), F.cross_entropy, digit_score(True), (-4.0, -0.5)),
        "transformer": Pair("char transformer, AdamW (wd 0.01)",
                            seeded(lambda: CharLM(tokenizer.vocab_size)),
                            lambda p, lr: AdamW(p, lr=lr, weight_decay=0.01), text_batches,
                            lm_loss, text_score, (-4.0, -1.0)),
    }


def train_constant(pair: Pair, seed: int, lr: float, stream: int = 0) -> float:
    """``STEPS`` steps at a constant lr from the seed's initial weights on batch stream
    ``seed + stream``; the pair's score."""
    model = pair.make_model(seed)
    opt = pair.make_optimizer(list(model.parameters()), lr)
    get_batch = pair.batches(seed + stream)
    for _ in range(STEPS):
        x, y = get_batch()
        opt.zero_grad()
        loss = pair.loss_fn(model(x), y)
        if not torch.isfinite(loss):
            return math.inf
        loss.backward()
        opt.step()
    score = pair.score(model)
    return score if math.isfinite(score) else math.inf


def sweep_best(lrs: np.ndarray, *runs: list[float]) -> tuple[float, float]:
    """(best lr after 3-point smoothing of the mean log-loss of the runs along the grid, the
    raw argmin of that mean)."""
    log_loss = np.mean([np.log(np.where(np.isfinite(r), r, 1e9)) for r in runs], axis=0)
    padded = np.concatenate([[log_loss[0]], log_loss, [log_loss[-1]]])
    smoothed = np.convolve(padded, [0.25, 0.5, 0.25], mode="valid")
    return float(lrs[int(np.argmin(smoothed))]), float(lrs[int(np.argmin(log_loss))])


def loss_at(lrs: np.ndarray, losses: list[float], lr: float) -> float:
    """The sweep's loss at ``lr``, interpolated in log lr (inf past a diverged run)."""
    x = np.log(lrs)
    y = np.asarray(losses, dtype=float)
    if not lrs[0] <= lr <= lrs[-1]:
        return math.nan
    i = min(int(np.searchsorted(x, math.log(lr))), len(x) - 1)
    if i == 0:
        return float(y[0])
    t = (math.log(lr) - x[i - 1]) / (x[i] - x[i - 1])
    return float((1 - t) * y[i - 1] + t * y[i])


CACHE = Path(__file__).resolve().parent / "results" / "lr_finder_sweeps.json"


def sweep(pair_name: str, pair: Pair, seed: int, stream: int = 0) -> tuple[np.ndarray, list[float]]:
    """The constant-lr sweep for one pair, seed and batch stream, cached in ``CACHE`` (the
    ground truth does not depend on the finder, so a changed rule is re-validated without
    re-running it)."""
    lrs = 10 ** np.arange(pair.grid[0], pair.grid[1] + 1e-9, 1 / PER_DECADE)
    key = f"{pair_name}/{seed}/{STEPS}/{PER_DECADE}/{pair.grid[0]}/{pair.grid[1]}"
    key += f"/s{stream}" if stream else ""
    cache = json.loads(CACHE.read_text()) if CACHE.exists() else {}
    if key in cache:
        return lrs, [float(v) if v < 1e29 else math.inf for v in cache[key]]
    losses = [train_constant(pair, seed, float(lr), stream) for lr in lrs]
    cache = json.loads(CACHE.read_text()) if CACHE.exists() else {}
    cache[key] = [v if math.isfinite(v) else 1e30 for v in losses]
    CACHE.parent.mkdir(exist_ok=True)
    CACHE.write_text(json.dumps(cache, indent=0, sort_keys=True))
    return lrs, losses


def validate(pair_name: str, pair: Pair, seed: int) -> dict:
    runs = []
    for stream in STREAMS:
        lrs, losses = sweep(pair_name, pair, seed, stream)
        runs.append(losses)
    best, raw_best = sweep_best(lrs, *runs)
    per_stream = [sweep_best(lrs, r)[0] for r in runs]
    losses = list(np.exp(np.mean([np.log(np.where(np.isfinite(r), r, 1e9)) for r in runs], axis=0)))
    model = pair.make_model(seed)
    opt = pair.make_optimizer(list(model.parameters()), 1e-3)
    t0 = time.perf_counter()
    # the finder draws its own batches (another stream than the sweep's runs), as in real use:
    # the training that follows a range test does not see the finder's batches in its order
    stream = pair.batches(seed + FINDER_STREAM)
    result = lr_range_test(model, opt, stream, pair.loss_fn, device="cpu")
    seconds = time.perf_counter() - t0
    found = dict(result.suggestions)
    found["suggested_lr"] = result.suggested_lr if result.suggested_lr is not None else math.nan
    return {"best": best, "raw_best": raw_best, "per_stream": per_stream,
            "best_loss": min(losses), "found": found,
            "cost": result.cost, "seconds": seconds, "probes": len(result.probe_lrs),
            "loss_at_suggested": loss_at(lrs, losses, found["suggested_lr"]),
            "detail": {"pair": pair_name, "seed": seed, "sweep_lrs": [float(v) for v in lrs],
                       "sweep_losses": [v if math.isfinite(v) else None for v in losses],
                       "lrs": result.lrs, "losses": result.losses,
                       "probe_lrs": result.probe_lrs,
                       "probe_losses": [v if math.isfinite(v) else None
                                        for v in result.probe_losses],
                       "probe_run": result.probe_run}}


SAVED = Path(__file__).resolve().parents[1] / "course_lib" / "lr_finder" / "validation.py"
_SAVED_HEAD = '''"""The LR finder's validation table, as measured by ``bench/lr_finder.py --save`` (do not edit).

Each row: one model/data pair and seed; ``best`` is the best constant learning rate of
{steps}-step sweeps ({per_decade} lrs per decade) on two data orders (the grid point with the
lowest mean log-loss of the two, after a 3-point smoothing along the grid; ``best_a`` and
``best_b``: each order's own), and the suggestions of one range test (1e-7 to 10, 100 steps)
on a third data order: the course's ``suggested_lr``, the three published rules, and the cost
of ``suggested_lr`` in range tests. Lesson 09 prints it.
"""

ROWS = [
'''


def save_row(pair: Pair, name: str, seed: int, row: dict) -> None:
    """Put ``row`` into :data:`SAVED`, replacing the row of the same pair and seed."""
    rows = []
    if SAVED.exists():
        text = SAVED.read_text()
        rows = eval(text[text.index("ROWS = ") + 7:])  # noqa: S307 - our own file
    rows = [r for r in rows if (r["key"], r["seed"]) != (name, seed)]
    rows.append({"key": name, "pair": pair.name, "seed": seed, "best": row["best"],
                 "best_a": row["per_stream"][0], "best_b": row["per_stream"][-1],
                 **{rule: (float(row["found"][rule]) if math.isfinite(row["found"].get(rule, math.nan))
                           else None) for rule in RULES},
                 "cost": round(row["cost"], 3)})
    order = ["logreg", "mlp", "cnn", "transformer"]
    rows.sort(key=lambda r: (order.index(r["key"]) if r["key"] in order else 99, r["seed"]))
    body = "".join(f"    {r!r},\n" for r in rows)
    SAVED.write_text(_SAVED_HEAD.format(steps=STEPS, per_decade=PER_DECADE) + body + "]\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", nargs="+", default=None, help="logreg mlp cnn transformer")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--details", type=Path, default=None,
                        help="append each row's curve and probes to this JSON-lines file")
    parser.add_argument("--save", action="store_true",
                        help="write the rows into course_lib/lr_finder/validation.py (lesson 09 "
                             "prints the table from there), replacing rows of the same pair and "
                             "seed")
    parser.add_argument("--same-stream", action="store_true",
                        help="give the range test the sweep's own batches (the optimistic case)")
    args = parser.parse_args(argv)
    global FINDER_STREAM
    if args.same_stream:
        FINDER_STREAM = STREAMS[0]
    torch.set_num_threads(1)
    pairs = make_pairs()
    names = args.pairs or list(pairs)
    print(f"LR finder suggestions vs the best constant lr of {STEPS}-step sweeps on "
          f"{len(STREAMS)} data orders ({PER_DECADE} lrs per decade); ratio = suggested / best; "
          f"the finder on {'the first order' if FINDER_STREAM in STREAMS else 'a third order'}")
    print("| pair | seed | best lr (raw argmin) | best of order A, B | suggested_lr | ratio "
          "| loss there / best | steepest | valley | minimum/10 | cost (x range test) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    ratios: dict[str, list[float]] = {r: [] for r in RULES}
    costs = []
    for name in names:
        pair = pairs[name]
        for seed in args.seeds:
            row = validate(name, pair, seed)
            r = {rule: row["found"].get(rule, math.nan) / row["best"] for rule in RULES}
            for rule in RULES:
                ratios[rule].append(r[rule])
            costs.append(row["cost"])
            if args.save and not args.same_stream:
                save_row(pair, name, seed, row)
            if args.details is not None:
                with args.details.open("a") as f:
                    f.write(json.dumps(row["detail"]) + "\n")
            a, b = row["per_stream"][0], row["per_stream"][-1]
            print(f"| {pair.name} | {seed} | {row['best']:.3g} ({row['raw_best']:.3g}) | "
                  f"{a:.3g}, {b:.3g} | "
                  f"{row['found']['suggested_lr']:.3g} | {r['suggested_lr']:.2f} | "
                  f"{row['loss_at_suggested'] / row['best_loss']:.2f} | {r['steepest']:.2f} | "
                  f"{r['valley']:.2f} | {r['minimum_div_10']:.2f} | {row['cost']:.2f} |",
                  flush=True)
    print()
    print("| rule | worst factor away | average factor away (geometric mean of max(r, 1/r)) "
          "| within 2x |")
    print("|---|---|---|---|")
    for rule in RULES:
        away = np.array([max(v, 1 / v) if v > 0 else math.inf for v in ratios[rule]])
        away = np.where(np.isfinite(away), away, 1e9)
        print(f"| {rule} | {away.max():.2f} | {math.exp(np.log(away).mean()):.2f} | "
              f"{int((away <= 2).sum())} of {len(away)} |")
    print(f"\ncost of suggested_lr: {np.mean(costs):.2f}x one range test on average "
          f"(at most {np.max(costs):.2f}x): the sweep's steps plus the probes' "
          "(successive halving at 25, 50 and 100 steps)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
