"""House prices: the regression data of the first lessons (synthetic, seeded)."""

from __future__ import annotations

import numpy as np
import torch

from course_lib.device import resolve_device
from course_lib.validation import check_int, check_real

__all__ = [
    "PRICE_PER_SQFT",
    "BASE_PRICE",
    "NOISE_STD",
    "SQFT_RANGE",
    "make_house_prices",
    "tiny_houses",
    "standardize",
]

#: True slope of the generator, in dollars per square foot.
PRICE_PER_SQFT = 150.0
#: True intercept of the generator, in dollars (the price of a house of 0 sqft: the land).
BASE_PRICE = 50_000.0
#: Standard deviation of the Gaussian noise added to every price, in dollars.
NOISE_STD = 25_000.0
#: Sizes are drawn uniformly from this interval, in square feet.
SQFT_RANGE = (600.0, 4000.0)


def make_house_prices(
    n: int = 100,
    seed: int = 0,
    *,
    noise_std: float = NOISE_STD,
    device: str | torch.device | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""A seeded synthetic data set of house sizes and prices.

    .. math::

        \text{price} = w^\star \cdot \text{sqft} + b^\star + \varepsilon,
        \qquad \varepsilon \sim \mathcal{N}(0, \text{noise\_std}^2)

    with ``sqft`` uniform on ``SQFT_RANGE``. The true parameters are the module constants
    ``PRICE_PER_SQFT`` (150 $/sqft) and ``BASE_PRICE`` ($50,000), so a lesson can compare them
    with what gradient descent finds. The numbers come from NumPy's seeded generator, so they
    are the same on every machine and device.
    Here :math:`w^\star` = ``PRICE_PER_SQFT`` and :math:`b^\star` = ``BASE_PRICE``.

    Args:
        n: number of houses (>= 1).
        seed: seed of the generator; the same seed gives the same houses.
        noise_std: standard deviation of the price noise in dollars (0 gives an exact line).
        device: where the tensors live (``None``: ``course_lib.device.default_device()``).

    Returns:
        ``(sqft, price)``: two float32 tensors of shape ``(n,)``.

    Example:
        >>> sqft, price = make_house_prices(50, seed=0, device="cpu")
        >>> sqft.shape, price.dtype
        (torch.Size([50]), torch.float32)
    """
    n = check_int(n, "n", low=1)
    noise_std = check_real(noise_std, "noise_std", low=0)
    dev = resolve_device(device)
    rng = np.random.default_rng(seed)
    sqft = rng.uniform(*SQFT_RANGE, size=n)
    price = PRICE_PER_SQFT * sqft + BASE_PRICE + rng.normal(0.0, noise_std, size=n)
    return (
        torch.as_tensor(sqft, dtype=torch.float32, device=dev),
        torch.as_tensor(price, dtype=torch.float32, device=dev),
    )


def tiny_houses(device: str | torch.device | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The three-house toy set of lesson 01, small enough to do gradient descent by hand.

    ========  ==========
    sqft      price ($)
    ========  ==========
    1500      300,000
    2200      450,000
    1100      200,000
    ========  ==========

    Returns:
        ``(sqft, price)``: two float32 tensors of shape ``(3,)``.
    """
    dev = resolve_device(device)
    sqft = torch.tensor([1500.0, 2200.0, 1100.0], device=dev)
    price = torch.tensor([300_000.0, 450_000.0, 200_000.0], device=dev)
    return sqft, price


def standardize(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""Feature scaling: shift and scale each column to mean 0 and standard deviation 1.

    .. math::

        z = \frac{x - \text{mean}}{\text{std}}

    Statistics are taken over the first dimension (the examples), so a ``(n,)`` tensor gives
    scalar ``mean``/``std`` and a ``(n, d)`` tensor gives one per feature. ``std`` is the
    population standard deviation (divides by ``n``). A constant column would divide by zero;
    its ``std`` is reported as 1 so it maps to 0 instead.

    Undo it with ``x = z * std + mean``; apply the *training* ``mean``/``std`` to test data.

    Args:
        x: a floating-point tensor with at least one example.

    Returns:
        ``(z, mean, std)`` on ``x``'s device.
    """
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise ValueError(f"x must be a floating-point tensor, got dtype {x.dtype}")
    if x.ndim == 0 or x.shape[0] == 0:
        raise ValueError(f"x needs at least one example along dim 0, got shape {tuple(x.shape)}")
    mean = x.mean(dim=0)
    std = x.std(dim=0, unbiased=False)
    std = torch.where(std > 0, std, torch.ones_like(std))
    return (x - mean) / std, mean, std
