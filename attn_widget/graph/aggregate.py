"""Aggregate ``[layer, head, query, key]`` attention into one ``[query, key]`` map.

numpy only: this stage must not import torch. Each aggregation is a named
function in :data:`AGGREGATIONS`; add your own with
``@AGGREGATIONS.register("name")``. Every function receives the full attention
and the keyword selections it declares (``layers``, ``heads``) and returns a
``[T, T]`` float array whose rows sum to ~1;
:func:`aggregate` then drops excluded tokens (the sink) and renormalises rows.
"""

from __future__ import annotations

import inspect
import operator
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..core.registry import Registry
from ..core.types import Attention, Matrix

AGGREGATIONS: Registry = Registry("aggregation")
"""Named aggregation functions: ``mean``, ``max``, ``layers``, ``heads``, ``rollout``."""


def _check_layers(att: Attention, layers: Sequence[int] | None) -> list[int]:
    n_layers = att.shape[0]
    if layers is None:
        return list(range(n_layers))
    try:
        chosen = [operator.index(x) for x in layers]
    except TypeError:
        raise ValueError(
            f"layers={layers!r} must be a list of layer indices, e.g. layers=[4, 5]"
        ) from None
    if not chosen:
        raise ValueError("layers=[] selects nothing; pass at least one layer index or None for all")
    bad = [x for x in chosen if not -n_layers <= x < n_layers]
    if bad:
        raise ValueError(f"layers {bad} out of range: the model has {n_layers} layers (0..{n_layers - 1})")
    return [x % n_layers for x in chosen]


def _check_heads(att: Attention, heads: Sequence[tuple[int, int]] | None) -> list[tuple[int, int]]:
    n_layers, n_heads = att.shape[:2]
    if not heads:
        raise ValueError(
            "aggregation='heads' needs heads=[(layer, head), ...], e.g. heads=[(5, 1), (6, 9)]"
        )
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


def _lens_heads(att: Attention, mask: np.ndarray | None, layer: int) -> np.ndarray:
    """Head indices of ``layer`` that the lens ``mask`` (``[layer, head]`` bool) keeps (all without one)."""
    if mask is None:
        return np.arange(att.shape[1])
    return np.flatnonzero(mask[layer])


def _check_mask(att: Attention, mask: np.ndarray | None, chosen: Sequence[int]) -> None:
    if mask is None:
        return
    if mask.shape != att.shape[:2]:
        raise ValueError(
            f"the lens selects heads of a {mask.shape} model, but the attention is {att.shape[:2]}"
        )
    if not mask[list(chosen)].any():
        raise ValueError("the lens keeps no head in the chosen layers; choose another lens or other layers")


@AGGREGATIONS.register("mean")
def mean(att: Attention, *, layers: Sequence[int] | None = None, mask: np.ndarray | None = None) -> Matrix:
    """Mean over heads and layers (or over the chosen ``layers``; over the lens's heads)."""
    chosen = _check_layers(att, layers)
    _check_mask(att, mask, chosen)
    total = np.zeros(att.shape[2:], dtype=np.float64)
    count = 0
    for layer in chosen:  # one layer at a time: no copy of the whole tensor
        heads = _lens_heads(att, mask, layer)
        if heads.size == att.shape[1]:
            total += att[layer].sum(axis=0)  # a float32 sum of a few heads is exact enough and 3x faster
        elif heads.size:
            total += att[layer][heads].sum(axis=0)
        count += heads.size
    return total / count


@AGGREGATIONS.register("layers")
def layers_mean(
    att: Attention, *, layers: Sequence[int] | None = None, mask: np.ndarray | None = None
) -> Matrix:
    """Mean over all heads (or the lens's heads) of the chosen ``layers`` (required)."""
    if layers is None:
        raise ValueError("aggregation='layers' needs layers=[...], e.g. layers=[4, 5]")
    return mean(att, layers=layers, mask=mask)


@AGGREGATIONS.register("max")
def maximum(att: Attention, *, layers: Sequence[int] | None = None, mask: np.ndarray | None = None) -> Matrix:
    """Element-wise maximum over heads and layers (the lens's heads); rows renormalised afterwards."""
    chosen = _check_layers(att, layers)
    _check_mask(att, mask, chosen)
    out = np.zeros(att.shape[2:], dtype=np.float64)
    for layer in chosen:
        heads = _lens_heads(att, mask, layer)
        if heads.size:
            np.maximum(out, att[layer][heads].max(axis=0), out=out)
    return out


@AGGREGATIONS.register("heads")
def heads_mean(att: Attention, *, heads: Sequence[tuple[int, int]] | None = None) -> Matrix:
    """Mean of the chosen ``(layer, head)`` pairs."""
    chosen = _check_heads(att, heads)
    total = np.zeros(att.shape[2:], dtype=np.float64)
    for layer, head in chosen:
        total += att[layer, head]
    return total / len(chosen)


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
    if not 0.0 <= residual < 1.0:
        raise ValueError(f"residual={residual} must be in [0, 1)")
    chosen = _check_layers(att, layers)
    _check_mask(att, mask, chosen)
    n = att.shape[2]
    eye = np.eye(n)
    result = eye.copy()
    for layer in sorted(chosen):
        heads = _lens_heads(att, mask, layer)
        if not heads.size:
            continue
        a = att[layer][heads].mean(axis=0, dtype=np.float64)
        row = a.sum(axis=1, keepdims=True)  # a measure's rows need not sum to 1: make them a distribution
        a = np.divide(a, row, out=np.zeros_like(a), where=row > 0)
        a = residual * eye + (1.0 - residual) * a
        a /= a.sum(axis=1, keepdims=True)
        result = a @ result
    return result


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
    w[kept] /= sums[kept, None]
    return w


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
    fn = AGGREGATIONS[name]
    accepted = inspect.signature(fn).parameters
    selection = {"layers": layers, "heads": heads}
    for key, value in selection.items():
        if value is not None and key not in accepted:
            other = "'heads'" if key == "heads" else "'mean', 'max', 'layers' or 'rollout'"
            raise ValueError(
                f"aggregation={name!r} does not use {key}={value!r}; "
                f"use aggregation={other} for a {key} selection, or drop {key}"
            )
    kwargs: dict[str, Any] = {k: v for k, v in selection.items() if k in accepted}
    if mask is not None and not np.all(mask):
        if "mask" not in accepted:
            raise ValueError(
                f"aggregation={name!r} chooses its own heads and takes no lens; use lens='all' with it, "
                "or another aggregation with the lens"
            )
        kwargs["mask"] = np.asarray(mask, dtype=bool)
    return renormalise(fn(att, **kwargs), exclude)
