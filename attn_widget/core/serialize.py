"""Helpers that keep the frozen results frozen and turn them into JSON and back."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def readonly(array: np.ndarray | None) -> np.ndarray | None:
    """A read-only view (the caller's own array stays writable), so a frozen result stays frozen."""
    if array is None:
        return None
    view = np.asarray(array).view()
    view.flags.writeable = False
    return view



def jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def to_jsonable(obj: Any, skip: Sequence[str] = ()) -> dict[str, Any]:
    return {f.name: jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj) if f.name not in skip}


def values_equal(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if a is None or b is None:
            return a is b
        a, b = np.asarray(a), np.asarray(b)
        return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(values_equal(a[k], b[k]) for k in a)
    return bool(a == b)


def fields_equal(x: Any, y: Any, skip: Sequence[str] = ()) -> bool:
    return all(
        values_equal(getattr(x, f.name), getattr(y, f.name))
        for f in dataclasses.fields(x)
        if f.name not in skip
    )

