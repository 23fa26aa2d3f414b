"""Aggregate ``[layer, head, query, key]`` attention into one ``[query, key]`` map.

numpy only: this stage must not import torch. Each aggregation is a named
function in :data:`AGGREGATIONS`; add your own with
``@AGGREGATIONS.register("name")``. Every function receives the full attention
and the keyword selections it declares (``layers``, ``heads``) and returns a
``[T, T]`` float array whose rows sum to ~1;
:func:`aggregate` then drops excluded tokens (the sink) and renormalises rows.
The built-in ones run the per-layer reducers of :mod:`attn_widget.graph.reduce`
over the layers, which is also how a streaming forward pass computes them; an
aggregation you register needs the kept raw attention (``keep="attention"``).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..core.registry import Registry
from ..core.types import Attention, Matrix
from .reduce import HeadsReducer, MaxReducer, MeanReducer, RolloutReducer, Shape, feed, layers_reducer

AGGREGATIONS: Registry = Registry("aggregation")
"""Named aggregation functions: ``mean``, ``max``, ``layers``, ``heads``, ``rollout``."""


@AGGREGATIONS.register("mean")
def mean(att: Attention, *, layers: Sequence[int] | None = None, mask: np.ndarray | None = None) -> Matrix:
    """Mean over heads and layers (or over the chosen ``layers``; over the lens's heads)."""
    return feed(MeanReducer(_shape(att), layers=layers, mask=mask), att)


@AGGREGATIONS.register("layers")
def layers_mean(
    att: Attention, *, layers: Sequence[int] | None = None, mask: np.ndarray | None = None
) -> Matrix:
    """Mean over all heads (or the lens's heads) of the chosen ``layers`` (required)."""
    return feed(layers_reducer(_shape(att), layers=layers, mask=mask), att)


@AGGREGATIONS.register("max")
def maximum(att: Attention, *, layers: Sequence[int] | None = None, mask: np.ndarray | None = None) -> Matrix:
    """Element-wise maximum over heads and layers (the lens's heads); rows renormalised afterwards."""
    return feed(MaxReducer(_shape(att), layers=layers, mask=mask), att)


@AGGREGATIONS.register("heads")
def heads_mean(att: Attention, *, heads: Sequence[tuple[int, int]] | None = None) -> Matrix:
    """Mean of the chosen ``(layer, head)`` pairs."""
    return feed(HeadsReducer(_shape(att), heads=heads), att)


@AGGREGATIONS.register("rollout")
def rollout(
    att: Attention,
    *,
    layers: Sequence[int] | None = None,
    residual: float = 0.5,
    mask: np.ndarray | None = None,
) -> Matrix:
    """Attention rollout (Abnar & Zuidema 2020), residual-aware.

    Each layer's head-mean ``A`` (over the lens's heads; a layer the lens
    leaves empty passes the residual stream only) becomes
    ``residual * I + (1 - residual) * A`` (the residual stream carries the
    token itself), rows renormalised, and the layers are multiplied bottom-up:
    ``R = Â_L … Â_1``.
    """
    return feed(RolloutReducer(_shape(att), layers=layers, residual=residual, mask=mask), att)


def _shape(att: Attention) -> Shape:
    return int(att.shape[0]), int(att.shape[1]), int(att.shape[2])


def renormalise(weights: Matrix, exclude: Sequence[int] = ()) -> Matrix:
    """Zero the rows and columns of ``exclude`` and rescale other rows to sum to 1.

    A row left with no mass (all its attention went to excluded tokens) puts
    all of it on the token itself, so every kept row still sums to 1.
    """
    w = np.array(weights, dtype=np.float64, copy=True)
    idx = list(exclude)
    if idx:
        w[idx, :] = 0.0
        w[:, idx] = 0.0
    sums = w.sum(axis=1)
    kept = np.ones(len(w), dtype=bool)
    kept[idx] = False
    empty = kept & (sums <= 1e-12)
    rows = np.flatnonzero(empty)
    w[rows, rows] = 1.0
    sums[empty] = 1.0
    np.divide(w, sums[:, None], out=w, where=kept[:, None])  # in place: no copy of the kept rows
    return w


def selection(
    name: str,
    *,
    layers: Sequence[int] | None = None,
    heads: Sequence[tuple[int, int]] | None = None,
    mask: np.ndarray | None = None,
) -> dict[str, Any]:
    """The keyword arguments aggregation ``name`` takes, checked: a selection it does not use is refused."""
    fn = AGGREGATIONS[name]
    accepted = inspect.signature(fn).parameters
    chosen = {"layers": layers, "heads": heads}
    for key, value in chosen.items():
        if value is not None and key not in accepted:
            other = "'heads'" if key == "heads" else "'mean', 'max', 'layers' or 'rollout'"
            raise ValueError(
                f"aggregation={name!r} does not use {key}={value!r}; "
                f"use aggregation={other} for a {key} selection, or drop {key}"
            )
    kwargs: dict[str, Any] = {k: v for k, v in chosen.items() if k in accepted}
    if mask is not None and not np.all(mask):
        if "mask" not in accepted:
            raise ValueError(
                f"aggregation={name!r} chooses its own heads and takes no lens; use lens='all' with it, "
                "or another aggregation with the lens"
            )
        kwargs["mask"] = np.asarray(mask, dtype=bool)
    return kwargs


def aggregate(
    att: Attention,
    name: str = "mean",
    *,
    exclude: Sequence[int] = (),
    layers: Sequence[int] | None = None,
    heads: Sequence[tuple[int, int]] | None = None,
    mask: np.ndarray | None = None,
) -> Matrix:
    """Aggregate ``att`` with the named function, then drop ``exclude`` and renormalise.

    Parameters
    ----------
    att
        ``[layer, head, query, key]`` attention.
    name
        A key of :data:`AGGREGATIONS`.
    exclude
        Token indices left out of the graph (their rows and columns become 0).
    layers, heads
        Selection passed to the aggregation function.
    mask
        ``[layer, head]`` bool: the heads a lens keeps (``None``: every head).
        ``aggregation="heads"`` names its heads itself and takes no lens.

    Returns
    -------
    numpy.ndarray
        ``[T, T]`` float64; rows of kept tokens sum to 1, excluded rows are 0.
    """
    kwargs = selection(name, layers=layers, heads=heads, mask=mask)
    return renormalise(AGGREGATIONS[name](att, **kwargs), exclude)
