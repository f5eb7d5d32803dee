"""Plain-data encoding for crossing the boundary between learner code and the grader.

``encode`` turns Python numbers, strings, lists/tuples/dicts, ``torch.Tensor`` and
``np.ndarray`` into JSON-compatible data; ``decode`` turns it back. ``decode`` is
strict: it builds only plain Python objects and real tensors, rejects anything
else, and bounds the size, so whatever a submission sends is inert data.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

__all__ = ["encode", "decode", "CodecError", "MAX_ITEMS", "NamedFunction", "register_function"]

MAX_ITEMS = 2_000_000  # numbers in one decoded payload
_DTYPES = {"float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"}


class CodecError(ValueError):
    """The value cannot be represented as plain data (or the payload is malformed)."""


_FUNCTIONS: dict = {}


class NamedFunction:
    """A whitelisted function that can cross the boundary by name.

    Exercises whose learner function takes a function argument (e.g. a
    finite-difference gradient of ``f``) pass ``NamedFunction("rosenbrock")``;
    it travels as ``{"__fn__": "rosenbrock"}`` and is rebuilt on the other side
    from the registry, never from code in the payload.
    """

    __slots__ = ("name",)

    def __init__(self, name: str):
        if name not in _FUNCTIONS:
            raise CodecError(f"unknown function name {name!r}")
        self.name = name

    def __call__(self, *args, **kwargs):
        return _FUNCTIONS[self.name](*args, **kwargs)

    def __repr__(self) -> str:
        return f"<function {self.name}>"

    def __eq__(self, other) -> bool:
        return type(other) is NamedFunction and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)


def register_function(name: str, fn) -> NamedFunction:
    """Whitelist ``fn`` under ``name`` (module import time only) and return its handle."""
    if name in _FUNCTIONS and _FUNCTIONS[name] is not fn:
        raise ValueError(f"function name {name!r} is already registered")
    _FUNCTIONS[name] = fn
    return NamedFunction(name)


def _num(x: float) -> Any:
    if math.isnan(x):
        return {"__float__": "nan"}
    if math.isinf(x):
        return {"__float__": "inf" if x > 0 else "-inf"}
    return x


def encode(obj: Any, _depth: int = 0) -> Any:
    """Encode ``obj`` as JSON-compatible data. Raises :class:`CodecError` otherwise."""
    if _depth > 20:
        raise CodecError("nested too deeply")
    # exact types only: a subclass of float/int/list could carry behaviour
    if obj is None or type(obj) is bool or type(obj) is str:
        return obj
    if type(obj) is int:
        return obj
    if type(obj) is float:
        return _num(obj)
    if isinstance(obj, (np.floating, np.integer, np.bool_)):
        return encode(obj.item(), _depth + 1)
    if type(obj) is NamedFunction:
        return {"__fn__": obj.name}
    if isinstance(obj, torch.Tensor):
        t = torch.Tensor.detach(obj)
        t = torch.Tensor.cpu(t.as_subclass(torch.Tensor))
        dtype = str(t.dtype).removeprefix("torch.")
        if dtype not in _DTYPES:
            raise CodecError(f"unsupported tensor dtype {dtype}")
        flat = t.reshape(-1).to(torch.float64 if t.is_floating_point() else torch.int64).tolist()
        return {"__tensor__": [_num(v) if type(v) is float else v for v in flat],
                "shape": list(t.shape), "dtype": dtype}
    if isinstance(obj, np.ndarray):
        return encode(torch.from_numpy(np.ascontiguousarray(obj)), _depth + 1)
    if type(obj) in (list, tuple):
        return {"__seq__": [encode(v, _depth + 1) for v in obj], "kind": type(obj).__name__}
    if type(obj) is dict:
        if not all(type(k) is str for k in obj):
            raise CodecError("dict keys must be strings")
        return {"__dict__": {k: encode(v, _depth + 1) for k, v in obj.items()}}
    raise CodecError(f"cannot encode a value of type {type(obj).__name__}")


def decode(data: Any, _depth: int = 0, _budget: list | None = None) -> Any:
    """Inverse of :func:`encode`; strict about shape and size."""
    budget = _budget if _budget is not None else [MAX_ITEMS]
    if _depth > 22:
        raise CodecError("nested too deeply")
    if data is None or type(data) in (bool, int, str):
        budget[0] -= 1
        if budget[0] < 0:
            raise CodecError("payload too large")
        return data
    if type(data) is float:
        return data
    if type(data) is dict:
        if "__float__" in data:
            v = data["__float__"]
            if v not in ("nan", "inf", "-inf"):
                raise CodecError("bad float marker")
            return float(v)
        if "__fn__" in data:
            name = data["__fn__"]
            if type(name) is not str or name not in _FUNCTIONS:
                raise CodecError("unknown function name")
            return NamedFunction(name)
        if "__tensor__" in data:
            flat, shape, dtype = data["__tensor__"], data.get("shape"), data.get("dtype")
            if type(flat) is not list or type(shape) is not list or dtype not in _DTYPES:
                raise CodecError("malformed tensor")
            if not all(type(s) is int and s >= 0 for s in shape):
                raise CodecError("malformed tensor shape")
            budget[0] -= len(flat)
            if budget[0] < 0:
                raise CodecError("payload too large")
            if math.prod(shape) != len(flat):
                raise CodecError("tensor shape does not match its data")
            vals = [decode(v, _depth + 1, budget) for v in flat]
            if not all(type(v) in (int, float, bool) for v in vals):
                raise CodecError("tensor data must be numbers")
            tdtype = getattr(torch, dtype)
            work = torch.float64 if tdtype.is_floating_point else torch.int64
            return torch.tensor(vals, dtype=work).reshape(shape).to(tdtype)
        if "__seq__" in data:
            items = data["__seq__"]
            if type(items) is not list:
                raise CodecError("malformed sequence")
            out = [decode(v, _depth + 1, budget) for v in items]
            return tuple(out) if data.get("kind") == "tuple" else out
        if "__dict__" in data:
            d = data["__dict__"]
            if type(d) is not dict:
                raise CodecError("malformed dict")
            return {str(k): decode(v, _depth + 1, budget) for k, v in d.items()}
    raise CodecError(f"unexpected value of type {type(data).__name__}")
