"""From an aggregated attention map to a weighted token graph: symmetrising and thresholds.

Knows nothing about models. Weights are symmetrised (``(W + Wᵀ) / 2``, no
self-loops); two threshold modes prune edges (see :data:`THRESHOLDS`). Scores
of partitions live in :mod:`attn_widget.graph.metrics`; the threshold sweep and
its automatic choice in :mod:`attn_widget.graph.sweep`.
"""

from __future__ import annotations

import numpy as np

from ..core.registry import Registry
from ..core.types import Matrix
from .blockwise import lean_absolute
from .edges import Edges, Pruner
from .symmetric import Symmetric, dense

__all__ = [
    "THRESHOLDS",
    "Edges",
    "Pruner",
    "absolute",
    "edge_list",
    "mass",
    "prune",
    "symmetrise",
    "threshold_range",
]


def edge_list(sym: Matrix) -> Edges:
    """The edges ``i < j`` of the symmetric ``sym`` with a positive weight, read row by row."""
    n = len(sym)
    counts = np.zeros(max(n, 1), dtype=np.int64)
    for i in range(n - 1):  # counted first, so the lists are filled in place (no second copy of T²/2 edges)
        counts[i] = np.count_nonzero(sym[i, i + 1 :] > 0)
    total = int(counts.sum())
    src = np.repeat(np.arange(counts.size, dtype=np.int32), counts)
    dst, weight = np.empty(total, dtype=np.int32), np.empty(total, dtype=np.float64)
    at = 0
    for i in range(n - 1):
        if counts[i]:
            row = sym[i, i + 1 :]
            cols = np.flatnonzero(row > 0)
            dst[at : at + cols.size] = cols + i + 1
            weight[at : at + cols.size] = row[cols]
            at += cols.size
    return Edges(n, src, dst, weight)


THRESHOLDS: Registry = Registry("threshold mode")
"""``absolute``: keep edges of weight >= t; ``mass``: per-row cumulative share p.

Each entry is a factory ``fn(weights, sym) -> Pruner``: the per-matrix work
(sorting) is done once and every threshold is then cheap.
"""


def symmetrise(weights: Matrix) -> Matrix:
    """``(W + Wᵀ) / 2`` with a zero diagonal: undirected edge weights."""
    s = weights + weights.T
    s /= 2.0  # in place: one T × T array at a time, not two
    np.fill_diagonal(s, 0.0)
    return s


@THRESHOLDS.register("absolute")
def absolute(weights: Matrix, sym: Matrix | Symmetric) -> Pruner:
    """Keep symmetrised edges whose weight is at least ``t``.

    For a :class:`~attn_widget.graph.symmetric.Symmetric` ``sym`` the same pruner is
    answered from blocks of rows (:func:`attn_widget.graph.blockwise.lean_absolute`);
    for an array, every edge is listed and sorted once.
    """
    if isinstance(sym, Symmetric):
        return lean_absolute(weights, sym)
    n, src, dst, weight = edge_list(sym)
    order = np.argsort(-weight, kind="stable")  # strongest first
    src = src[order]  # one at a time, so that each unsorted array is freed before the next is sorted
    dst = dst[order]
    weight = weight[order]
    del order  # a long text has T²/2 edges: the unsorted ones are not kept by the functions below
    strongest = Edges(n, src, dst, weight)
    edges = strongest.weight[::-1]  # ascending

    def prune(t: float) -> Matrix:
        return np.where(sym >= t, sym, 0.0)

    def n_edges(t: float) -> int:
        return int(edges.size - np.searchsorted(edges, t, side="left"))

    def kept(t: float) -> Edges:
        c = n_edges(t)
        return Edges(n, strongest.src[:c], strongest.dst[:c], strongest.weight[:c])

    def for_edges(counts: np.ndarray) -> np.ndarray:
        return edges[edges.size - np.clip(counts, 1, edges.size)]  # the count-th strongest edge

    return Pruner(prune, kept, n_edges, for_edges, 0, int(edges.size))


@THRESHOLDS.register("mass")
def mass(weights: Matrix, sym: Matrix | Symmetric) -> Pruner:
    """Keep, for every token, its strongest edges until a share ``p`` of its attention is covered.

    Shares are of each row of ``weights`` (self-attention left out). The kept
    edge set is the union over both endpoints (exBERT-style), weighted by the
    symmetrised weight. ``p=0`` keeps nothing; any ``p > 0`` keeps each token's
    strongest edge; ``p=1`` keeps every edge.
    """
    sym = dense(sym)  # this mode ranks each row's edges: it holds several T x T arrays
    w = np.array(weights, dtype=np.float64, copy=True)
    np.fill_diagonal(w, 0.0)
    totals = w.sum(axis=1, keepdims=True)
    share = w / np.where(totals > 0, totals, 1.0)
    del w
    order = np.argsort(-share, axis=1, kind="stable")
    sorted_share = np.take_along_axis(share, order, axis=1)
    before = np.empty_like(share)  # mass covered by a row's stronger edges
    np.put_along_axis(before, order, np.cumsum(sorted_share, axis=1) - sorted_share, axis=1)
    del order, sorted_share
    before[share <= 0] = np.inf
    del share
    first = np.minimum(before, before.T)  # an edge is kept once either endpoint keeps it
    del before
    first[sym <= 0] = np.inf
    np.fill_diagonal(first, np.inf)
    joins = edge_list(np.isfinite(first).astype(np.float32))  # every edge, then the share at which it joins
    joins_at = first[joins.src, joins.dst]
    rank = np.argsort(joins_at, kind="stable")
    src, dst, entry = joins.src[rank], joins.dst[rank], np.clip(joins_at[rank], 0.0, None)
    weight = sym[src, dst]

    def prune(p: float) -> Matrix:
        return np.where(first < p - 1e-12, sym, 0.0)

    def n_edges(p: float) -> int:
        return int(np.searchsorted(entry, p - 1e-12, side="left"))

    def kept(p: float) -> Edges:
        c = n_edges(p)
        return Edges(len(sym), src[:c], dst[:c], weight[:c])

    def for_edges(counts: np.ndarray) -> np.ndarray:
        c = np.clip(counts, 1, entry.size)
        nxt = np.append(entry, 1.0)[c]  # the next edge's entry share (1 after the last)
        return np.where(c >= entry.size, 1.0, (entry[c - 1] + nxt) / 2)  # halfway: robust to rounding

    return Pruner(prune, kept, n_edges, for_edges, int(np.count_nonzero(entry <= 1e-12)), int(entry.size))


def prune(weights: Matrix, sym: Matrix, mode: str, t: float) -> Matrix:
    """Thresholded symmetric adjacency for ``mode`` at value ``t``."""
    return THRESHOLDS[mode](weights, sym).prune(float(t))


def threshold_range(sym: Matrix | Symmetric, mode: str) -> tuple[float, float]:
    """The slider's range for ``mode``: (0, strongest edge) or (0, 1)."""
    if mode == "mass":
        return 0.0, 1.0
    return 0.0, float(sym.max()) if sym.size else 1.0
