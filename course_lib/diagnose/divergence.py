"""NaN and inf in a run: a sudden ``overflow`` of a dtype, or a run that ``diverged``.

Also the advice for a divergence, which depends on how it began (one sudden spike or a climb).
"""

from __future__ import annotations

import math
import statistics
from typing import Any

from course_lib.diagnose.report import Verdict, _fmt
from course_lib.diagnose.spikes import _onset
from course_lib.diagnose.thresholds import CALM_FACTOR, SPIKE_MAX_WIDTH
from course_lib.train import History

__all__: list[str] = []


def _first_nonfinite(h: History) -> int | None:
    for i, (loss, norm) in enumerate(zip(h.loss, h.grad_norm)):
        if not (math.isfinite(loss) and math.isfinite(norm)):
            return i
    return None


def _divergence_advice(onset: dict[str, Any] | None) -> str:
    if onset is not None and onset["sudden"] and not onset["clipped"]:
        return (
            f"Clip the global gradient norm (e.g. clip_norm=1.0) so one bad batch cannot throw "
            f"the weights far, and look at the batch at step {onset['step']}."
        )
    if onset is not None and onset["sudden"]:
        return (
            f"Look at the batch at step {onset['step']}; lower the clip threshold toward a few "
            "times the typical norm, or the learning rate."
        )
    return (
        "Lower the learning rate (try 3-10x lower), add warmup, and clip the gradient norm "
        "(e.g. 1.0) so that one bad step cannot throw the weights far."
    )


def _onset_text(onset: dict[str, Any] | None) -> str:
    if onset is None or not onset["sudden"]:
        return ""
    return (
        f"; it began with a sudden gradient spike at step {onset['step']} (norm "
        f"{_fmt(onset['grad_norm'])}, {onset['grad_norm'] / onset['baseline_grad_norm']:.0f}x the "
        f"median before, {'clipped' if onset['clipped'] else 'not clipped'}): one bad batch set it off"
    )


def _check_nonfinite(h: History, bad: int) -> Verdict:
    """``overflow`` or ``diverged`` for a run that reached a NaN / inf at index ``bad``."""
    step, loss, norm, lr = h.step[bad], h.loss[bad], h.grad_norm[bad], h.lr[bad]
    what = f"loss {_fmt(loss)}, gradient norm {_fmt(norm)} at step {step} (lr {_fmt(lr)})"
    data: dict[str, Any] = {"step": step, "loss": loss, "grad_norm": norm, "lr": lr}
    if bad < 2:
        return Verdict(
            "diverged",
            f"non-finite from step {step}, before training could get going",
            f"{what}; there is no finite history before it to tell a blow-up from an overflow",
            "Check the first batch and the model's output for NaN / inf (data with NaNs, log(0), "
            "0/0, an uninitialised tensor) before blaming the optimizer.",
            data,
        )
    norms, losses = h.grad_norm[:bad], h.loss[:bad]
    median_norm, median_loss = statistics.median(norms), statistics.median(losses)
    recent = slice(max(0, bad - SPIKE_MAX_WIDTH), bad)
    peak_norm, peak_loss = max(norms[recent]), max(losses[recent])
    calm = peak_norm <= CALM_FACTOR * median_norm and abs(peak_loss) <= CALM_FACTOR * abs(median_loss)
    has_inf = math.isinf(loss) or math.isinf(norm)
    fp16 = "float16" in str(h.meta.get("dtype", "")) and "bfloat16" not in str(h.meta.get("dtype", ""))
    data.update(
        median_grad_norm=median_norm,
        median_loss=median_loss,
        recent_peak_grad_norm=peak_norm,
        recent_peak_loss=peak_loss,
    )
    before = (
        f"in the {bad - recent.start} steps before, the gradient norm peaked at {_fmt(peak_norm)} "
        f"(run median {_fmt(median_norm)}) and the loss at {_fmt(peak_loss)} (median {_fmt(median_loss)})"
    )
    if calm and (has_inf or fp16):
        return Verdict(
            "overflow",
            f"a sudden jump to {'inf' if has_inf else 'NaN'} at step {step}: a number overflowed",
            f"{what}; {before}, so nothing was growing: one computation left the range of its "
            f"dtype{' (float16, largest value 65504)' if fp16 else ''}",
            "Compute in bfloat16 (the range of float32) or float32 instead of float16, and keep "
            "reductions such as losses and norms in float32; inspect the batch at this step for "
            "extreme values. (torch.amp.GradScaler skips float16 steps whose gradients overflow, "
            "but it cannot rescue a forward pass that does.)",
            data,
        )
    if calm:
        return Verdict(
            "diverged",
            f"a sudden NaN at step {step}",
            f"{what}; {before}: nothing was growing, so look for a numerical bug or a bad batch",
            "Inspect the batch at this step (NaN or inf inputs?) and the loss code for log(0), "
            "0/0 or inf - inf; torch.autograd.set_detect_anomaly(True) finds the operation.",
            data,
        )
    onset = _onset(h, bad)
    data["onset_step"] = onset["step"] if onset else None
    return Verdict(
        "diverged",
        f"the run diverged: non-finite at step {step} after growing",
        f"{what}; {before}: the numbers grew until they overflowed{_onset_text(onset)}",
        _divergence_advice(onset),
        data,
    )
