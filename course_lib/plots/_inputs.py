"""What every plot does with its inputs: find the Axes to draw on, and make data float arrays."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes

__all__: list[str] = []


def _new_ax(ax: Axes | None, figsize: tuple[float, float] | None = None) -> Axes:
    if ax is not None:
        return ax
    _, new = plt.subplots(figsize=figsize)
    return new


def _as_float_array(values: Any) -> np.ndarray:
    """A float64 NumPy copy of ``values`` (tensor on any device, array, list); inf -> NaN."""
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().double().numpy()
    arr = np.array(values, dtype=np.float64)
    arr[~np.isfinite(arr)] = np.nan
    return arr
