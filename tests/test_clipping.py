"""course_lib.clipping: the same numbers as torch.nn.utils, and what clipping does to direction."""

from __future__ import annotations

import math

import pytest
import torch

from course_lib.clipping import (
    clip_grad_norm_,
    clip_grad_norm_per_param_,
    clip_grad_value_,
    cosine_similarity_of_grads,
    global_grad_norm,
    snapshot_grads,
)

SHAPES = [(3,), (4, 5), (2, 3, 4), (), (1,), (7, 1), (6,)]
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _make_params(seed, dtype=torch.float32, scale=1.0, mixed_dtypes=False, device="cpu"):
    """Parameters of several shapes; every third one has grad None."""
    gen = torch.Generator().manual_seed(seed)
    params = []
    for i, shape in enumerate(SHAPES):
        dt = (torch.float32 if i % 2 else torch.float64) if mixed_dtypes else dtype
        p = torch.nn.Parameter(torch.randn(shape, generator=gen, dtype=dt).to(device))
        if i % 3 != 2:
            p.grad = (torch.randn(shape, generator=gen, dtype=dt) * scale).to(device)
        params.append(p)
    return params


def _clone(params):
    out = []
    for p in params:
        q = torch.nn.Parameter(p.detach().clone())
        q.grad = None if p.grad is None else p.grad.clone()
        out.append(q)
    return out


def _assert_grads_equal(ours, theirs, rtol=0.0, atol=0.0):
    for p, q in zip(ours, theirs):
        if p.grad is None:
            assert q.grad is None
            continue
        assert p.grad.dtype == q.grad.dtype
        torch.testing.assert_close(p.grad, q.grad, rtol=rtol, atol=atol, equal_nan=True)


# --------------------------------------------------------------------------- vs torch


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf, 3.0, "inf"])
@pytest.mark.parametrize("scale", [1e-3, 0.1, 100.0])  # norms below, near and above max_norm
def test_clip_grad_norm_matches_torch(device, dtype, norm_type, scale):
    max_norm = 1.0
    for seed in range(3):
        ours = _make_params(seed, dtype, scale, device=device)
        theirs = _clone(ours)
        before = global_grad_norm(ours, norm_type)
        norm = clip_grad_norm_(ours, max_norm, norm_type)
        expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
        assert norm.dtype == expected.dtype and norm.device == expected.device
        assert torch.equal(norm, before)  # the norm *before* clipping
        if device == "cpu":  # bit for bit
            assert torch.equal(norm, expected), (norm, expected)
            _assert_grads_equal(ours, theirs)
        else:  # on a GPU torch sums with its fused _foreach_norm kernel: equal to rounding
            rtol = 1e-6 if dtype == torch.float32 else 1e-12
            torch.testing.assert_close(norm, expected, rtol=rtol, atol=0.0)
            _assert_grads_equal(ours, theirs, rtol=rtol, atol=0.0)
        after = global_grad_norm(ours, norm_type)
        if norm > max_norm:
            assert after == pytest.approx(max_norm, rel=1e-5)
        else:
            assert torch.equal(after, norm)


def test_clip_grad_norm_matches_torch_with_mixed_dtypes():
    # torch groups float32 and float64 grads before summing, so the order of the
    # per-tensor norms differs from ours: equal to rounding, not bit for bit.
    for norm_type in (2.0, 1.0, math.inf):
        ours = _make_params(0, scale=10.0, mixed_dtypes=True)
        theirs = _clone(ours)
        norm = clip_grad_norm_(ours, 0.5, norm_type)
        expected = torch.nn.utils.clip_grad_norm_(theirs, 0.5, norm_type)
        assert norm.dtype == expected.dtype == torch.float64
        torch.testing.assert_close(norm, expected, rtol=1e-7, atol=0.0)
        _assert_grads_equal(ours, theirs, rtol=1e-7, atol=0.0)


def test_clip_grad_norm_accepts_a_tensor_a_generator_and_nothing():
    p = torch.nn.Parameter(torch.zeros(4))
    p.grad = torch.tensor([3.0, 4.0, 0.0, 0.0])
    assert clip_grad_norm_(p, 1.0).item() == 5.0  # a single tensor
    torch.testing.assert_close(p.grad, torch.tensor([0.6, 0.8, 0.0, 0.0]))

    model = torch.nn.Linear(3, 2)
    model(torch.ones(5, 3)).sum().backward()
    twin = _clone(list(model.parameters()))
    norm = clip_grad_norm_(model.parameters(), 0.1)  # a generator
    assert torch.equal(norm, torch.nn.utils.clip_grad_norm_(twin, 0.1))
    _assert_grads_equal(list(model.parameters()), twin)

    no_grads = [torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.ones(3))]
    assert torch.equal(clip_grad_norm_(no_grads, 1.0), torch.tensor(0.0))
    assert torch.equal(clip_grad_norm_([], 1.0), torch.nn.utils.clip_grad_norm_([], 1.0))
    assert all(p.grad is None for p in no_grads)


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan])
def test_non_finite_grads_raise_like_torch_when_asked(bad):
    ours = _make_params(1, torch.float32, 1.0)
    ours[0].grad[1] = bad
    theirs = _clone(ours)
    with pytest.raises(RuntimeError, match="non-finite"):
        torch.nn.utils.clip_grad_norm_(theirs, 1.0, error_if_nonfinite=True)
    snapshot = snapshot_grads(ours)
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)
    # nothing was scaled before raising
    for g, s in zip(snapshot_grads(ours), snapshot):
        torch.testing.assert_close(g, s, rtol=0, atol=0, equal_nan=True)
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_per_param_(ours, 1.0, error_if_nonfinite=True)


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan])
@pytest.mark.parametrize("norm_type", [2.0, math.inf])
def test_non_finite_grads_scale_like_torch_otherwise(bad, norm_type):
    ours = _make_params(2, torch.float32, 1.0)
    ours[0].grad[1] = bad
    theirs = _clone(ours)
    norm = clip_grad_norm_(ours, 1.0, norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, 1.0, norm_type)
    torch.testing.assert_close(norm, expected, rtol=0, atol=0, equal_nan=True)
    assert not torch.isfinite(norm)
    # inf norm: finite entries -> 0, inf -> nan; nan norm: all nan
    _assert_grads_equal(ours, theirs)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("clip_value", [0.01, 0.5, 3.0])
def test_clip_grad_value_matches_torch(dtype, clip_value):
    ours = _make_params(3, dtype, scale=2.0)
    ours[1].grad[0, 0] = math.nan
    ours[0].grad[0] = -math.inf
    theirs = _clone(ours)
    assert clip_grad_value_(ours, clip_value) is None
    torch.nn.utils.clip_grad_value_(theirs, clip_value)
    _assert_grads_equal(ours, theirs)
    for p in ours:
        if p.grad is not None:
            finite = p.grad[~p.grad.isnan()]
            assert finite.abs().max() <= clip_value


def test_clip_grad_value_accepts_a_single_tensor():
    p = torch.nn.Parameter(torch.zeros(3))
    p.grad = torch.tensor([-5.0, 0.25, 3.0])
    clip_grad_value_(p, 1.0)
    assert p.grad.tolist() == [-1.0, 0.25, 1.0]


@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf])
def test_global_grad_norm_matches_torch_and_leaves_grads_alone(norm_type):
    params = _make_params(4, torch.float64, scale=5.0)
    snapshot = snapshot_grads(params)
    grads = [p.grad for p in params if p.grad is not None]
    assert torch.equal(
        global_grad_norm(params, norm_type), torch.nn.utils.get_total_norm(grads, norm_type)
    )
    assert all(torch.equal(a, b) for a, b in zip(snapshot_grads(params), snapshot))
    assert torch.equal(global_grad_norm([]), torch.tensor(0.0))


# --------------------------------------------------------------------------- per parameter


@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf])
def test_per_param_clipping_is_torch_applied_to_each_tensor(norm_type):
    ours = _make_params(5, torch.float32, scale=3.0)
    theirs = _clone(ours)
    norms = clip_grad_norm_per_param_(ours, 1.0, norm_type)
    expected = [
        torch.nn.utils.clip_grad_norm_(q, 1.0, norm_type) for q in theirs if q.grad is not None
    ]
    assert len(norms) == len(expected) == sum(p.grad is not None for p in ours)
    assert all(torch.equal(a, b) for a, b in zip(norms, expected))
    _assert_grads_equal(ours, theirs)
    for p in ours:
        if p.grad is not None:
            assert torch.linalg.vector_norm(p.grad, norm_type) <= 1.0 + 1e-6


# --------------------------------------------------------------------------- direction


def _dominated_params():
    """One tensor with a huge gradient, one with a small one: the case per-param clipping bends."""
    gen = torch.Generator().manual_seed(6)
    big = torch.nn.Parameter(torch.zeros(50, dtype=torch.float64))
    small = torch.nn.Parameter(torch.zeros(30, dtype=torch.float64))
    big.grad = torch.randn(50, generator=gen, dtype=torch.float64) * 100.0
    small.grad = torch.randn(30, generator=gen, dtype=torch.float64) * 0.1
    return [big, small]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_global_clipping_keeps_the_direction(dtype):
    params = _make_params(7, dtype, scale=50.0)
    before = snapshot_grads(params)
    norm = clip_grad_norm_(params, 1.0)
    assert norm > 1.0  # it really clipped
    assert cosine_similarity_of_grads(before, snapshot_grads(params)) == pytest.approx(
        1.0, abs=1e-12
    )


def test_per_param_clipping_bends_the_direction_when_one_tensor_dominates():
    params = _dominated_params()
    twin = _clone(params)
    before = snapshot_grads(params)

    clip_grad_norm_(twin, 1.0)
    global_cos = cosine_similarity_of_grads(before, snapshot_grads(twin))
    clip_grad_norm_per_param_(params, 1.0)
    per_param_cos = cosine_similarity_of_grads(before, snapshot_grads(params))

    assert global_cos == pytest.approx(1.0, abs=1e-12)
    # Per tensor: big (norm B ~ 700) is scaled to norm ~1, small (norm s ~ 0.55 < 1)
    # is left alone, so cos = (B + s^2) / (sqrt(B^2 + s^2) * sqrt(1 + s^2)) ~ 0.90:
    # the update turned by about 25 degrees toward the small tensor.
    B = torch.linalg.vector_norm(before[0]).item()
    s = torch.linalg.vector_norm(before[1]).item()
    c = 1.0 / (B + 1e-6)
    predicted = (c * B**2 + s**2) / (math.sqrt(B**2 + s**2) * math.sqrt(c**2 * B**2 + s**2))
    assert per_param_cos == pytest.approx(predicted, abs=1e-12)
    assert per_param_cos < 0.95


def test_value_clipping_bends_the_direction_too():
    params = _dominated_params()
    before = snapshot_grads(params)
    clip_grad_value_(params, 1.0)
    assert cosine_similarity_of_grads(before, snapshot_grads(params)) < 0.99


def test_cosine_similarity_basics():
    u = [torch.tensor([1.0, 0.0]), torch.tensor([[0.0]])]
    assert cosine_similarity_of_grads(u, u) == 1.0
    assert cosine_similarity_of_grads(u, [torch.tensor([0.0, 1.0]), torch.tensor([[0.0]])]) == 0.0
    assert cosine_similarity_of_grads(u, [-t for t in u]) == -1.0


# --------------------------------------------------------------------------- bad arguments


def _one_param():
    p = torch.nn.Parameter(torch.zeros(2))
    p.grad = torch.ones(2)
    return [p]


@pytest.mark.parametrize("max_norm", [0.0, -1.0, math.nan, math.inf, "1.0", True, None])
def test_bad_max_norm_raises(max_norm):
    with pytest.raises(ValueError, match="max_norm"):
        clip_grad_norm_(_one_param(), max_norm)
    with pytest.raises(ValueError, match="max_norm"):
        clip_grad_norm_per_param_(_one_param(), max_norm)


@pytest.mark.parametrize("norm_type", [0.0, 0.5, -1.0, -math.inf, math.nan, "two", True, None])
def test_bad_norm_type_raises(norm_type):
    with pytest.raises(ValueError, match="norm_type"):
        clip_grad_norm_(_one_param(), 1.0, norm_type)
    with pytest.raises(ValueError, match="norm_type"):
        global_grad_norm(_one_param(), norm_type)
    with pytest.raises(ValueError, match="norm_type"):
        clip_grad_norm_per_param_(_one_param(), 1.0, norm_type)


@pytest.mark.parametrize("clip_value", [-1.0, 0.0, math.nan, math.inf, "1"])
def test_bad_clip_value_raises(clip_value):
    with pytest.raises(ValueError, match="clip_value"):
        clip_grad_value_(_one_param(), clip_value)


def test_bad_cosine_inputs_raise():
    a = [torch.ones(3)]
    with pytest.raises(ValueError, match="same length"):
        cosine_similarity_of_grads(a, a + a)
    with pytest.raises(ValueError, match="same length"):
        cosine_similarity_of_grads([], [])
    with pytest.raises(ValueError, match="shape"):
        cosine_similarity_of_grads(a, [torch.ones(4)])
    with pytest.raises(ValueError, match="all zeros"):
        cosine_similarity_of_grads(a, [torch.zeros(3)])


def test_max_norm_may_be_a_tensor_or_an_int():
    ours, theirs = _make_params(8, scale=10.0), None
    theirs = _clone(ours)
    clip_grad_norm_(ours, torch.tensor(2.0))
    torch.nn.utils.clip_grad_norm_(theirs, 2)
    _assert_grads_equal(ours, theirs)
