"""Classification data: scikit-learn's bundled digits and a 2-D spiral toy set."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from course_lib.device import resolve_device

__all__ = ["DigitsSplit", "load_digits_split", "make_spirals"]


@dataclass(frozen=True)
class DigitsSplit:
    """A train/test split of the 8x8 handwritten digits.

    Attributes:
        X_train: ``(n_train, 64)`` float32 pixel intensities scaled to ``[0, 1]``.
        y_train: ``(n_train,)`` int64 labels ``0..9``.
        X_test: ``(n_test, 64)`` float32, same scaling.
        y_test: ``(n_test,)`` int64.
        n_classes: 10.
        image_shape: ``(8, 8)``: ``X[i].reshape(image_shape)`` is the picture.
    """

    X_train: torch.Tensor
    y_train: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor
    n_classes: int = 10
    image_shape: tuple[int, int] = (8, 8)


def load_digits_split(
    test_fraction: float = 0.25,
    seed: int = 0,
    device: str | torch.device | None = None,
) -> DigitsSplit:
    """The digits data set (1,797 8x8 images, 10 classes), split into train and test.

    Wraps :func:`sklearn.datasets.load_digits`, whose data ship inside scikit-learn (BSD
    licence; a copy of the UCI optical digits test set), so nothing is downloaded. Pixel values
    ``0..16`` are divided by 16. The split is stratified (every digit keeps its share in both
    parts) and deterministic for a given ``seed``.

    Args:
        test_fraction: share of the examples held out for testing, strictly between 0 and 1.
        seed: seed of the shuffle before splitting.
        device: where the tensors live (``None``: the default device).

    Returns:
        A :class:`DigitsSplit` with ``X_train, y_train, X_test, y_test``.

    Example:
        >>> data = load_digits_split(device="cpu")
        >>> data.X_train.shape, data.X_test.shape
        (torch.Size([1347, 64]), torch.Size([450, 64]))
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be strictly between 0 and 1, got {test_fraction!r}")
    dev = resolve_device(device)
    # Imported here so that importing course_lib.data stays cheap.
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    X = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=test_fraction, random_state=seed, stratify=y
    )
    return DigitsSplit(
        X_train=torch.as_tensor(X_tr, device=dev),
        y_train=torch.as_tensor(y_tr, device=dev),
        X_test=torch.as_tensor(X_te, device=dev),
        y_test=torch.as_tensor(y_te, device=dev),
    )


def make_spirals(
    n_per_class: int = 100,
    n_classes: int = 3,
    *,
    noise: float = 0.2,
    seed: int = 0,
    device: str | torch.device | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Interleaved 2-D spirals, one arm per class: not linearly separable, easy to plot.

    Arm ``k`` runs from the origin to radius 1 while its angle turns by 4 radians, starting at
    ``2*pi*k/n_classes``; Gaussian noise of standard deviation ``noise`` (in radians) jitters the
    angle. Points are ordered class by class.

    Args:
        n_per_class: points on each arm (>= 2).
        n_classes: number of arms / classes (>= 2).
        noise: angular noise (>= 0).
        seed: NumPy seed; the same seed gives the same points on every machine.
        device: where the tensors live (``None``: the default device).

    Returns:
        ``(X, y)``: ``X`` float32 of shape ``(n_per_class * n_classes, 2)`` inside the unit
        disc, ``y`` int64 class labels.
    """
    if not isinstance(n_per_class, int) or n_per_class < 2:
        raise ValueError(f"n_per_class must be an int >= 2, got {n_per_class!r}")
    if not isinstance(n_classes, int) or n_classes < 2:
        raise ValueError(f"n_classes must be an int >= 2, got {n_classes!r}")
    if not noise >= 0:
        raise ValueError(f"noise must be >= 0, got {noise!r}")
    dev = resolve_device(device)
    rng = np.random.default_rng(seed)
    radius = np.linspace(0.0, 1.0, n_per_class)
    xs, ys = [], []
    for k in range(n_classes):
        theta = 2 * np.pi * k / n_classes + 4.0 * radius + rng.normal(0.0, noise, n_per_class)
        xs.append(np.stack([radius * np.cos(theta), radius * np.sin(theta)], axis=1))
        ys.append(np.full(n_per_class, k))
    X = np.concatenate(xs).astype(np.float32)
    y = np.concatenate(ys).astype(np.int64)
    return torch.as_tensor(X, device=dev), torch.as_tensor(y, device=dev)
