"""How fast is a course_lib optimizer step, next to torch.optim's?

Times ``optimizer.step()`` alone (gradients are filled with random values once) for SGD with
momentum 0.9, Adam and AdamW on two MLP-shaped sets of float32 parameters (~1M and ~10M values,
10 tensors each), for course_lib and for torch.optim with ``foreach=False`` (its per-tensor
loop), ``foreach=True`` (its multi-tensor kernels) and ``fused=True`` where it runs on this
device. The implementations take turns step by step, so a noisy neighbour slows them alike;
each row is the median over the repeats, and the ratio is to torch ``foreach=True``.

Run: ``.venv/bin/python bench/optim_step.py`` (about a minute on a 2-core CPU).
"""

from __future__ import annotations

import statistics
import time

import torch

from course_lib.optim import SGD, Adam, AdamW

THREADS = 2
MODELS = {"~1M params": 448, "~10M params": 1414}  # 5 square Linear layers of this width
REPEATS = {"~1M params": 60, "~10M params": 20}
WARMUP = 3

FAMILIES = {
    "SGD(momentum=0.9)": (SGD, torch.optim.SGD, {"lr": 1e-3, "momentum": 0.9}),
    "Adam": (Adam, torch.optim.Adam, {"lr": 1e-3}),
    "AdamW": (AdamW, torch.optim.AdamW, {"lr": 1e-3}),
}


def make_params(width: int, seed: int = 0) -> list[torch.Tensor]:
    """The parameters of 5 Linear(width, width) layers (weight + bias), with random grads."""
    gen = torch.Generator().manual_seed(seed)
    params = []
    for _ in range(5):
        for shape in ((width, width), (width,)):
            p = (torch.randn(shape, generator=gen) * 0.02).requires_grad_(True)
            p.grad = torch.randn(shape, generator=gen)
            params.append(p)
    return params


def implementations(ours_cls, torch_cls, kwargs):
    """(label, factory) for every implementation that runs here."""
    impls = [
        ("course_lib", lambda ps: ours_cls(ps, **kwargs)),
        ("torch foreach=False", lambda ps: torch_cls(ps, foreach=False, **kwargs)),
        ("torch foreach=True", lambda ps: torch_cls(ps, foreach=True, **kwargs)),
    ]
    try:  # fused kernels exist on CPU for some optimizers in some versions: try it
        probe = [torch.zeros(2, requires_grad=True)]
        probe[0].grad = torch.ones(2)
        torch_cls(probe, fused=True, **kwargs).step()
        impls.append(("torch fused=True", lambda ps: torch_cls(ps, fused=True, **kwargs)))
    except (RuntimeError, ValueError, TypeError):
        pass
    return impls


def time_family(width: int, repeats: int, ours_cls, torch_cls, kwargs) -> dict[str, float]:
    """Median step time in ms per implementation, the implementations taking turns."""
    runs = []
    for label, factory in implementations(ours_cls, torch_cls, kwargs):
        params = make_params(width)
        runs.append((label, factory(params), []))
    for i in range(WARMUP + repeats):
        for _, opt, times in runs:
            start = time.perf_counter()
            opt.step()
            elapsed = time.perf_counter() - start
            if i >= WARMUP:
                times.append(elapsed * 1e3)
    return {label: statistics.median(times) for label, _, times in runs}


def main() -> None:
    torch.set_num_threads(THREADS)
    print(f"optimizer.step() time, float32, {torch.get_num_threads()} threads, torch {torch.__version__}")
    print("ratio = median step time / torch foreach=True median (lower is faster)\n")
    header = f"{'model':<12} {'optimizer':<18} {'implementation':<20} {'median ms':>10} {'ratio':>6}"
    print(header)
    print("-" * len(header))
    for model, width in MODELS.items():
        n = sum(p.numel() for p in make_params(width))
        for family, (ours_cls, torch_cls, kwargs) in FAMILIES.items():
            medians = time_family(width, REPEATS[model], ours_cls, torch_cls, kwargs)
            ref = medians["torch foreach=True"]
            for label, ms in medians.items():
                print(f"{model:<12} {family:<18} {label:<20} {ms:>10.2f} {ms / ref:>6.2f}")
        print(f"{'':<12} ({n:,} parameters in 10 tensors)")
    print()


if __name__ == "__main__":
    main()
