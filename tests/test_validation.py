"""course_lib.validation: what each check accepts, what it refuses, and the message it gives."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch

from course_lib.validation import check_bool, check_int, check_real, describe

# --------------------------------------------------------------------------- check_real


@pytest.mark.parametrize(
    "value, expected",
    [(0, 0.0), (3, 3.0), (1e-3, 1e-3), (np.float32(0.5), 0.5), (np.float64(2.5), 2.5),
     (np.int64(7), 7.0)],
)
def test_real_accepts_numbers_and_returns_a_float(value, expected):
    got = check_real(value, "x")
    assert got == expected and type(got) is float


@pytest.mark.parametrize(
    "value, shown",
    [(True, "True (bool)"), (np.bool_(False), "np.False_ (bool)"), ("0.1", "'0.1' (str)"),
     (None, "None (NoneType)"), ([1.0], "[1.0] (list)"), (1 + 2j, "(1+2j) (complex)")],
)
def test_real_refuses_non_numbers_showing_value_and_type(value, shown):
    with pytest.raises(ValueError, match=rf"^x must be a finite number, got {re.escape(shown)}$"):
        check_real(value, "x")


@pytest.mark.parametrize("value, shown", [(math.nan, "nan"), (math.inf, "inf"), (-math.inf, "-inf")])
def test_real_refuses_nan_and_inf(value, shown):
    with pytest.raises(ValueError, match=rf"^lr must be a finite number >= 0, got {shown}$"):
        check_real(value, "lr", low=0)


def test_real_inf_only_when_allowed_and_nan_never():
    assert check_real(math.inf, "max_loss", allow_inf=True) == math.inf
    assert check_real(math.inf, "norm_type", low=1, allow_inf=True) == math.inf
    with pytest.raises(ValueError, match=r"^max_loss must be a number \(inf allowed\), got nan$"):
        check_real(math.nan, "max_loss", allow_inf=True)
    with pytest.raises(ValueError, match=r"^norm_type must be a number >= 1 \(inf allowed\), got -inf$"):
        check_real(-math.inf, "norm_type", low=1, allow_inf=True)


@pytest.mark.parametrize(
    "bounds, inside, outside, rule",
    [
        ({"low": 0}, [0, 0.0, 5], [-1e-9], ">= 0"),
        ({"low": 0, "low_open": True}, [1e-12, 3], [0, -1], "> 0"),
        ({"high": 1}, [1, -5], [1.5], "<= 1"),
        ({"high": 1, "high_open": True}, [0.999], [1, 2], "< 1"),
        ({"low": 0, "high": 1}, [0, 0.5, 1], [-0.1, 1.1], "in [0, 1]"),
        ({"low": 0, "high": 1, "high_open": True}, [0, 0.99], [1.0, -0.5], "in [0, 1)"),
        ({"low": 0, "high": 1, "low_open": True, "high_open": True}, [0.5], [0, 1], "in (0, 1)"),
        ({"low": 0, "high": 1, "low_open": True}, [1], [0], "in (0, 1]"),
    ],
)
def test_real_bounds_open_and_closed(bounds, inside, outside, rule):
    for value in inside:
        assert check_real(value, "x", **bounds) == float(value)
    for value in outside:
        with pytest.raises(ValueError, match=rf"^x must be a finite number {re.escape(rule)}, "):
            check_real(value, "x", **bounds)


def test_real_message_shows_the_value_as_given():
    with pytest.raises(ValueError, match=r"got -1$"):  # an int stays an int
        check_real(-1, "lr", low=0)
    with pytest.raises(ValueError, match=r"got -0\.001$"):
        check_real(-1e-3, "lr", low=0)
    with pytest.raises(ValueError, match=r"got -0\.5$"):  # a NumPy scalar prints as a float
        check_real(np.float64(-0.5), "lr", low=0)


def test_real_owner_and_none():
    with pytest.raises(ValueError, match=r"^Adam: lr must be a finite number >= 0, got -1\.0$"):
        check_real(-1.0, "lr", low=0, owner="Adam")
    assert check_real(None, "clip_norm", low=0, low_open=True, allow_none=True) is None
    with pytest.raises(ValueError, match=r"^clip_norm must be None or a finite number > 0, got 0$"):
        check_real(0, "clip_norm", low=0, low_open=True, allow_none=True)


def test_real_tensors_only_when_allowed():
    with pytest.raises(ValueError, match=r"^lr must be a finite number, got tensor\(0\.1000\) \(Tensor\)$"):
        check_real(torch.tensor(0.1), "lr")
    assert check_real(torch.tensor(2.0), "max_norm", allow_tensor=True) == 2.0
    assert check_real(torch.tensor([3]), "max_norm", allow_tensor=True) == 3.0  # one element
    with pytest.raises(ValueError, match=r"max_norm must be a finite number > 0, got -2\.0"):
        check_real(torch.tensor(-2.0), "max_norm", low=0, low_open=True, allow_tensor=True)
    with pytest.raises(ValueError, match=r"got nan"):
        check_real(torch.tensor(float("nan")), "max_norm", allow_tensor=True)
    with pytest.raises(ValueError, match=r"got tensor\(\[1\., 2\.\]\) \(Tensor\)"):
        check_real(torch.tensor([1.0, 2.0]), "max_norm", allow_tensor=True)  # not one number
    with pytest.raises(ValueError, match=r"got tensor\(True\)"):
        check_real(torch.tensor(True), "max_norm", allow_tensor=True)


# --------------------------------------------------------------------------- check_int


@pytest.mark.parametrize("value", [0, 5, np.int32(5), np.int64(-3)])
def test_int_accepts_integers_and_returns_an_int(value):
    got = check_int(value, "n")
    assert got == int(value) and type(got) is int


@pytest.mark.parametrize(
    "value, shown",
    [(10.0, "10.0 (float)"), (2.5, "2.5 (float)"), (True, "True (bool)"), ("3", "'3' (str)"),
     (None, "None (NoneType)"), (np.float64(4.0), "np.float64(4.0) (float64)")],
)
def test_int_refuses_non_integers_even_whole_floats(value, shown):
    with pytest.raises(ValueError, match=rf"^steps must be an integer >= 1, got {re.escape(shown)}$"):
        check_int(value, "steps", low=1)


def test_int_bounds_owner_and_none():
    assert check_int(2, "n", low=2, high=2) == 2
    with pytest.raises(ValueError, match=r"^num_iters must be an integer >= 2, got 1$"):
        check_int(1, "num_iters", low=2)
    with pytest.raises(ValueError, match=r"^k must be an integer in \[0, 3\], got 4$"):
        check_int(4, "k", low=0, high=3)
    with pytest.raises(ValueError, match=r"^k must be an integer <= 3, got 4$"):
        check_int(4, "k", high=3)
    with pytest.raises(ValueError, match=r"^LBFGS: history_size must be an integer >= 1, got 0$"):
        check_int(0, "history_size", low=1, owner="LBFGS")
    assert check_int(None, "eval_every", low=1, allow_none=True) is None
    with pytest.raises(ValueError, match=r"^eval_every must be None or an integer >= 1, got 0$"):
        check_int(0, "eval_every", low=1, allow_none=True)


# --------------------------------------------------------------------------- check_bool


def test_bool_accepts_flags_only():
    assert check_bool(True, "cycle") is True
    assert check_bool(np.bool_(False), "cycle") is False
    for value, shown in [(1, "1 (int)"), (0, "0 (int)"), (None, "None (NoneType)"), ("yes", "'yes' (str)")]:
        with pytest.raises(ValueError, match=rf"^SGD: nesterov must be True or False, got {re.escape(shown)}$"):
            check_bool(value, "nesterov", owner="SGD")


def test_describe_shows_repr_and_type():
    assert describe(0.5) == "0.5 (float)"
    assert describe("a") == "'a' (str)"
