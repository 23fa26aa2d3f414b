"""The built-in aggregations, one layer at a time: what a streaming forward pass reduces into.

Each reducer in :data:`REDUCERS` is told every layer's per-head edge weights
(:class:`LayerWeights`, in layer order) and keeps only its ``[T, T]`` running
result, so a forward pass can hand it each layer and drop the layer
(:mod:`attn_widget.extract.hooks`). The named functions of
:data:`attn_widget.graph.aggregate.AGGREGATIONS` feed the same reducers from a
kept ``[layer, head, T, T]`` array, so both paths compute the same numbers.

Heads are combined in blocks of at most :data:`CHUNK_BYTES`: a layer's heads
at once for short texts, one head at a time for long ones, so no full
``[head, T, T]`` copy of a layer is made. A streamed pass that computes the
weights a block of queries at a time (:mod:`attn_widget.extract.blocks`) tells
a reducer each block as a :class:`LayerWeights` with its first query
(``start``) and its width (keys past it are zero); a reducer adds it into its
rows, so the blocks of a layer give the numbers the whole layer gives.
``compact=True`` keeps the running sums in float32 instead of float64 (half
the memory of the ``[T, T]`` result; the streamed pass uses it). numpy only.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ..core.registry import Registry
from ..core.types import Attention, Matrix

CHUNK_BYTES = 64 * 2**20
"""Largest block of heads (``heads × T × T`` float32) combined in one numpy call."""

Shape = tuple[int, int, int]
"""``(layers, heads, T)`` of the attention being reduced."""


@dataclass(frozen=True, eq=False)
class LayerWeights:
    """One layer's per-head edge weights: ``attention[h]``, times ``scale[h]`` per key when given.

    ``attention`` is ``[head, T, T]``, or a block of it: ``[head, rows, width]`` for
    the queries from ``start`` on and the keys below ``width`` (later keys weigh 0);
    ``scale`` (``[head, T]``) weighs each key column (the ``norm`` measure's
    value-output norms). Nothing is multiplied out until a block of heads is asked for.
    """

    attention: np.ndarray
    scale: np.ndarray | None = None
    start: int = 0

    @property
    def n_heads(self) -> int:
        return int(self.attention.shape[0])

    @property
    def rows(self) -> slice:
        """The queries this holds."""
        return slice(self.start, self.start + int(self.attention.shape[1]))

    @property
    def width(self) -> int:
        """Keys this holds (``0 … width - 1``)."""
        return int(self.attention.shape[2])

    def blocks(self, heads: np.ndarray) -> Iterator[np.ndarray]:
        """``[k, rows, width]`` float32 blocks of ``heads``' weights, each at most :data:`CHUNK_BYTES`."""
        size = max(1, CHUNK_BYTES // max(4 * self.attention.shape[1] * self.width, 1))
        for start in range(0, len(heads), size):
            part = heads[start : start + size]
            if np.array_equal(part, np.arange(part[0], part[0] + len(part))):
                block = self.attention[part[0] : part[0] + len(part)]  # a run of heads: a view, no copy
            else:
                block = self.attention[part]
            if self.scale is not None:
                block = (block * self.scale[part][:, None, : self.width]).astype(np.float32, copy=False)
            yield block

    def total(self, heads: np.ndarray, dtype: Any = None) -> np.ndarray:
        """Sum over ``heads`` (float32, or ``dtype``)."""
        out: np.ndarray | None = None
        for block in self.blocks(heads):
            if out is None:
                out = block.sum(axis=0, dtype=dtype)
            elif len(block) == 1:
                out += block[0]
            else:
                out += block.sum(axis=0, dtype=dtype)
        assert out is not None
        return out

    def maximum(self, heads: np.ndarray) -> np.ndarray:
        """Element-wise maximum over ``heads``."""
        out: np.ndarray | None = None
        for block in self.blocks(heads):
            peak = block.max(axis=0)
            out = peak if out is None else np.maximum(out, peak, out=out)
        assert out is not None
        return out

    def head(self, h: int) -> np.ndarray:
        """One head's ``[rows, width]`` weights."""
        return next(self.blocks(np.array([h])))[0]


class Reducer(Protocol):
    """Told each layer's weights in order (a layer's blocks in order of their rows); :meth:`result` is the
    ``[T, T]`` aggregate (not renormalised)."""

    def layer(self, index: int, weights: LayerWeights) -> None: ...

    def result(self) -> Matrix: ...


def check_layers(shape: Shape, layers: Sequence[int] | None) -> list[int]:
    """The chosen layer indices (negative ones from the end), checked against ``shape``."""
    n_layers = shape[0]
    if layers is None:
        return list(range(n_layers))
    try:
        chosen = [operator.index(x) for x in layers]
    except TypeError:
        raise ValueError(f"layers={layers!r} must be a list of layer indices, e.g. layers=[4, 5]") from None
    if not chosen:
        raise ValueError("layers=[] selects nothing; pass at least one layer index or None for all")
    bad = [x for x in chosen if not -n_layers <= x < n_layers]
    if bad:
        raise ValueError(f"layers {bad} out of range: the model has {n_layers} layers (0..{n_layers - 1})")
    return [x % n_layers for x in chosen]


def check_heads(shape: Shape, heads: Sequence[tuple[int, int]] | None) -> list[tuple[int, int]]:
    """The chosen ``(layer, head)`` pairs, checked against ``shape``."""
    n_layers, n_heads = shape[:2]
    if not heads:
        raise ValueError("aggregation='heads' needs heads=[(layer, head), ...], e.g. heads=[(5, 1), (6, 9)]")
    out = []
    for pair in heads:
        try:
            layer, head = (int(v) for v in pair)
        except (TypeError, ValueError):
            raise ValueError(f"head {pair!r} is not a (layer, head) pair of integers") from None
        if not (0 <= layer < n_layers and 0 <= head < n_heads):
            raise ValueError(
                f"head ({layer}, {head}) out of range: the model has {n_layers} layers "
                f"and {n_heads} heads per layer"
            )
        out.append((layer, head))
    return out


def check_mask(shape: Shape, mask: np.ndarray | None, chosen: Sequence[int]) -> None:
    """A lens mask must match the model and keep a head in the chosen layers."""
    if mask is None:
        return
    if mask.shape != shape[:2]:
        raise ValueError(f"the lens selects heads of a {mask.shape} model, but the attention is {shape[:2]}")
    if not mask[list(chosen)].any():
        raise ValueError("the lens keeps no head in the chosen layers; choose another lens or other layers")


def lens_heads(shape: Shape, mask: np.ndarray | None, layer: int) -> np.ndarray:
    """Head indices of ``layer`` that the lens ``mask`` (``[layer, head]`` bool) keeps (all without one)."""
    return np.arange(shape[1]) if mask is None else np.flatnonzero(mask[layer])


def _square(shape: Shape, compact: bool, fill: float = 0.0) -> np.ndarray:
    return np.full(shape[2:] * 2, fill, dtype=np.float32 if compact else np.float64)


class _Selected:
    """A ``[T, T]`` running result over the chosen ``layers`` and the lens's heads."""

    def __init__(
        self,
        shape: Shape,
        *,
        layers: Sequence[int] | None = None,
        mask: np.ndarray | None = None,
        compact: bool = False,
    ):
        self.shape, self.mask = shape, mask
        self.chosen = set(check_layers(shape, layers))
        check_mask(shape, mask, sorted(self.chosen))
        self.total = _square(shape, compact)
        self.count = 0


class MeanReducer(_Selected):
    """Mean over heads and layers (the chosen ``layers``; the lens's heads)."""

    def layer(self, index: int, weights: LayerWeights) -> None:
        if index not in self.chosen:
            return
        heads = lens_heads(self.shape, self.mask, index)
        if heads.size:  # a float32 sum of a few heads is exact enough and 3x faster
            self.total[weights.rows, : weights.width] += weights.total(heads)
        if weights.start == 0:
            self.count += heads.size

    def result(self) -> Matrix:
        if self.total.dtype == np.float32:  # compact: divided in place, no float64 copy
            self.total /= np.float32(self.count)
            self.count = 1
            return self.total
        return self.total / self.count


class MaxReducer(_Selected):
    """Element-wise maximum over heads and layers (the lens's heads); rows renormalised afterwards."""

    def layer(self, index: int, weights: LayerWeights) -> None:
        heads = lens_heads(self.shape, self.mask, index)
        if index in self.chosen and heads.size:
            part = self.total[weights.rows, : weights.width]
            np.maximum(part, weights.maximum(heads), out=part)

    def result(self) -> Matrix:
        return self.total


class HeadsReducer:
    """Mean of the chosen ``(layer, head)`` pairs."""

    def __init__(
        self, shape: Shape, *, heads: Sequence[tuple[int, int]] | None = None, compact: bool = False
    ):
        self.pairs = check_heads(shape, heads)
        self.total = _square(shape, compact)

    def layer(self, index: int, weights: LayerWeights) -> None:
        for layer, head in self.pairs:
            if layer == index:
                self.total[weights.rows, : weights.width] += weights.head(head)

    def result(self) -> Matrix:
        return self.total / len(self.pairs)


class RolloutReducer:
    """Attention rollout (Abnar & Zuidema 2020): see :func:`attn_widget.graph.aggregate.rollout`."""

    def __init__(
        self,
        shape: Shape,
        *,
        layers: Sequence[int] | None = None,
        residual: float = 0.5,
        mask: np.ndarray | None = None,
        compact: bool = False,
    ):
        if not 0.0 <= residual < 1.0:
            raise ValueError(f"residual={residual} must be in [0, 1)")
        self.shape, self.mask, self.residual = shape, mask, residual
        self.chosen = set(check_layers(shape, layers))
        check_mask(shape, mask, sorted(self.chosen))
        self.out = np.eye(shape[2])
        self.pending: np.ndarray | None = None  # a layer's head sum while its blocks arrive

    def layer(self, index: int, weights: LayerWeights) -> None:
        heads = lens_heads(self.shape, self.mask, index)
        if index not in self.chosen or not heads.size:
            return  # a layer the lens leaves empty passes the residual stream only
        n = self.shape[2]
        if weights.start > 0 or weights.rows.stop < n or weights.width < n:  # a block: gather the layer
            if weights.start == 0:
                self.pending = np.zeros((n, n))
            assert self.pending is not None
            self.pending[weights.rows, : weights.width] = weights.total(heads, dtype=np.float64)
            if weights.rows.stop < n:
                return
            a, self.pending = self.pending / heads.size, None
        else:
            a = weights.total(heads, dtype=np.float64) / heads.size
        row = a.sum(axis=1, keepdims=True)  # a measure's rows need not sum to 1: make them a distribution
        a = np.divide(a, row, out=np.zeros_like(a), where=row > 0)
        a *= 1.0 - self.residual
        a[np.diag_indices_from(a)] += self.residual
        a /= a.sum(axis=1, keepdims=True)
        self.out = a @ self.out

    def result(self) -> Matrix:
        return self.out


REDUCERS: Registry[Callable[..., Reducer]] = Registry("streamable aggregation")
"""Aggregation name → reducer factory ``fn(shape, **selection, compact=False)``: the aggregations a pass
can stream."""

REDUCERS.register("mean")(MeanReducer)
REDUCERS.register("max")(MaxReducer)
REDUCERS.register("heads")(HeadsReducer)
REDUCERS.register("rollout")(RolloutReducer)


@REDUCERS.register("layers")
def layers_reducer(
    shape: Shape,
    *,
    layers: Sequence[int] | None = None,
    mask: np.ndarray | None = None,
    compact: bool = False,
) -> MeanReducer:
    """Mean over the heads (the lens's) of the chosen ``layers`` (required)."""
    if layers is None:
        raise ValueError("aggregation='layers' needs layers=[...], e.g. layers=[4, 5]")
    return MeanReducer(shape, layers=layers, mask=mask, compact=compact)


def feed(reducer: Reducer, att: Attention) -> Matrix:
    """Run ``reducer`` over a kept ``[layer, head, T, T]`` array, one layer at a time."""
    for layer in range(att.shape[0]):
        reducer.layer(layer, LayerWeights(att[layer]))
    return reducer.result()
