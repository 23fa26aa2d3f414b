"""From an aggregated attention map to a weighted token graph, and the threshold sweep.

Knows nothing about models. Weights are symmetrised (``(W + Wᵀ) / 2``, no
self-loops); two threshold modes prune edges (see :data:`THRESHOLDS`); the sweep
clusters at every value of a grid, scores each partition by modularity on the
*unthresholded* graph (modularity on the thresholded graph rises as the graph
falls apart, so it cannot compare thresholds) and picks the widest stable
plateau (:func:`choose`).

The sweep is fast because the graphs of one mode are nested: it clusters the
sparsest graph first and each denser one from its sparser neighbour's
partition (a coarsened warm start), skips graphs that did not change, leaves
tokens without edges out of the clustering, and scores modularity in one
vectorised pass per distinct partition.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from . import cluster as _cluster
from ._registry import Registry
from ._typing import EXCLUDED, Labels, Matrix


class Pruner(NamedTuple):
    """Thresholding of one weight matrix: ``prune(t)`` is the kept graph, ``n_edges(t)`` its size.

    Graphs of one mode are nested: the more edges ``n_edges(t)`` reports, the
    more of the same edges ``prune(t)`` keeps.
    """

    prune: Callable[[float], Matrix]
    n_edges: Callable[[float], int]


THRESHOLDS: Registry = Registry("threshold mode")
"""``absolute``: keep edges of weight >= t; ``mass``: per-row cumulative share p.

Each entry is a factory ``fn(weights, sym) -> Pruner``: the per-matrix work
(sorting) is done once and every threshold is then cheap.
"""

GRID_SIZE = 12
"""Thresholds tried by the sweep."""

FRESH_DEGREE = 4.0
"""Up to this mean degree the sweep clusters each graph from scratch; denser graphs are
clustered from the partition of the next sparser one (:func:`attn_widget.cluster.cluster_coarse`)."""


def symmetrise(weights: Matrix) -> Matrix:
    """``(W + Wᵀ) / 2`` with a zero diagonal: undirected edge weights."""
    s = (weights + weights.T) / 2.0
    np.fill_diagonal(s, 0.0)
    return s


def _edge_weights(sym: Matrix) -> np.ndarray:
    """Non-zero upper-triangle weights of ``sym``, ascending."""
    edges = sym[np.triu_indices_from(sym, k=1)]
    return np.sort(edges[edges > 0])


@THRESHOLDS.register("absolute")
def absolute(weights: Matrix, sym: Matrix) -> Pruner:
    """Keep symmetrised edges whose weight is at least ``t``."""
    sorted_edges: list[np.ndarray] = []  # sorted on first use: prune() alone does not need it

    def prune(t: float) -> Matrix:
        return np.where(sym >= t, sym, 0.0)

    def n_edges(t: float) -> int:
        if not sorted_edges:
            sorted_edges.append(_edge_weights(sym))
        edges = sorted_edges[0]
        return int(edges.size - np.searchsorted(edges, t, side="left"))

    return Pruner(prune, n_edges)


@THRESHOLDS.register("mass")
def mass(weights: Matrix, sym: Matrix) -> Pruner:
    """Keep, for every token, its strongest edges until a share ``p`` of its attention is covered.

    Shares are of each row of ``weights`` (self-attention left out). The kept
    edge set is the union over both endpoints (exBERT-style), weighted by the
    symmetrised weight. ``p=0`` keeps nothing, ``p=1`` keeps every edge.
    """
    w = np.array(weights, dtype=np.float64, copy=True)
    np.fill_diagonal(w, 0.0)
    totals = w.sum(axis=1, keepdims=True)
    share = w / np.where(totals > 0, totals, 1.0)
    order = np.argsort(-share, axis=1, kind="stable")
    sorted_share = np.take_along_axis(share, order, axis=1)
    before = np.empty_like(share)  # mass covered by a row's stronger edges
    np.put_along_axis(before, order, np.cumsum(sorted_share, axis=1) - sorted_share, axis=1)
    before[share <= 0] = np.inf
    first = np.minimum(before, before.T)  # an edge is kept once either endpoint keeps it

    def prune(p: float) -> Matrix:
        return np.where(first < p - 1e-12, sym, 0.0)

    def n_edges(p: float) -> int:
        return int(np.count_nonzero(first < p - 1e-12)) // 2

    return Pruner(prune, n_edges)


def prune(weights: Matrix, sym: Matrix, mode: str, t: float) -> Matrix:
    """Thresholded symmetric adjacency for ``mode`` at value ``t``."""
    return THRESHOLDS[mode](weights, sym).prune(float(t))


def threshold_range(sym: Matrix, mode: str) -> tuple[float, float]:
    """The slider's range for ``mode``: (0, strongest edge) or (0, 1)."""
    if mode == "mass":
        return 0.0, 1.0
    return 0.0, float(sym.max()) if sym.size else 1.0


def threshold_grid(weights: Matrix, sym: Matrix, mode: str, size: int = GRID_SIZE) -> np.ndarray:
    """Ascending grid of thresholds worth trying for ``mode``.

    ``absolute``: the weights at which the kept graph's mean degree is
    geometrically spaced from 2 (the graph has just fallen apart) to every
    edge kept, so each step changes the graph by a similar factor whatever the
    text length; ``mass``: evenly spaced shares in [0.05, 0.95].
    """
    if mode == "mass":
        return np.round(np.linspace(0.05, 0.95, size), 6)
    edges = sym[np.triu_indices_from(sym, k=1)]
    edges = edges[edges > 0]
    if edges.size == 0:
        return np.array([0.0])
    nodes = int((sym > 0).any(axis=1).sum())
    counts = np.geomspace(max(nodes, 1), edges.size, size)  # kept edges = nodes * mean degree / 2
    ranks = np.unique(edges.size - np.clip(np.round(counts).astype(int), 1, edges.size))
    return np.unique(np.partition(edges, ranks)[ranks])


def community_terms(sym: Matrix, labels: Labels) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per community: its label, internal weight ``in_c`` (each edge twice) and degree ``deg_c``.

    One pass over ``sym`` with its columns grouped by label (``np.add.reduceat``):
    ``O(T²)`` whatever the number of communities. Excluded tokens (``-1``) are left out.
    """
    labels = np.asarray(labels)
    kept = np.flatnonzero(labels != EXCLUDED)
    lab = labels[kept]
    order = np.argsort(lab, kind="stable")
    ids, starts = np.unique(lab[order], return_index=True)
    a = sym[np.ix_(kept, kept[order])]
    per_row = np.add.reduceat(a, starts, axis=1) if kept.size else np.zeros((0, 0))
    _, inv = np.unique(lab, return_inverse=True)
    inside = np.bincount(inv, weights=per_row[np.arange(kept.size), inv], minlength=ids.size)
    degree = np.bincount(inv, weights=a.sum(axis=1), minlength=ids.size)
    return ids, inside, degree


def modularity(sym: Matrix, labels: Labels) -> float:
    """Newman modularity of ``labels`` on the weighted graph ``sym`` (excluded tokens ignored).

    ``Q = Σ_c (in_c / 2m - (deg_c / 2m)²)`` with ``2m`` the total weight of ``sym``.
    """
    _, inside, degree = community_terms(sym, labels)
    two_m = float(degree.sum())
    if two_m <= 0:
        return 0.0
    return float((inside / two_m - (degree / two_m) ** 2).sum())


def community_modularity(sym: Matrix, members: Sequence[int] | np.ndarray) -> tuple[float, float]:
    """One community's modularity term and the share of its edge weight that stays inside."""
    two_m = sym.sum()
    idx = np.asarray(members)
    inside = sym[np.ix_(idx, idx)].sum()
    degree = sym[idx].sum()
    q = 0.0 if two_m <= 0 else inside / two_m - (degree / two_m) ** 2
    share = 0.0 if degree <= 0 else inside / degree
    return float(q), float(share)


def adjusted_rand(a: Labels, b: Labels) -> float:
    """Adjusted Rand index between two labelings (1 = identical partitions)."""
    _, ia = np.unique(a, return_inverse=True)
    _, ib = np.unique(b, return_inverse=True)
    table = np.zeros((ia.max() + 1, ib.max() + 1))
    np.add.at(table, (ia, ib), 1)

    def pairs(x: np.ndarray) -> float:
        return float((x * (x - 1) / 2).sum())

    n = len(a)
    total = n * (n - 1) / 2
    index = pairs(table)
    sa, sb = pairs(table.sum(axis=1)), pairs(table.sum(axis=0))
    expected = sa * sb / total if total else 0.0
    maximum = (sa + sb) / 2
    if maximum == expected:
        return 1.0
    return float((index - expected) / (maximum - expected))


def choose(thresholds: np.ndarray, scores: np.ndarray, labels: np.ndarray, tol: float = 0.9) -> int:
    """Pick the grid index of the automatic threshold.

    Neighbouring partitions with adjusted Rand index >= ``tol`` form a plateau.
    Among plateaus whose best modularity is within 10% of the global best, the
    widest (most grid steps) wins; ties go to higher modularity. Inside it, the
    value with the highest modularity is returned.
    """
    n = len(thresholds)
    if n == 1:
        return 0
    same = [adjusted_rand(labels[i], labels[i + 1]) >= tol for i in range(n - 1)]
    plateaus: list[list[int]] = [[0]]
    for i in range(1, n):
        if same[i - 1]:
            plateaus[-1].append(i)
        else:
            plateaus.append([i])
    best_q = float(scores.max())
    good = [p for p in plateaus if scores[p].max() >= best_q - 0.1 * abs(best_q)]
    winner = max(good, key=lambda p: (len(p), float(scores[p].max())))
    return int(winner[int(np.argmax(scores[winner]))])


def neighbour_stability(labels: np.ndarray) -> np.ndarray:
    """Mean ARI of each grid partition with its neighbours."""
    n = len(labels)
    ari = [adjusted_rand(labels[i], labels[i + 1]) for i in range(n - 1)]
    out = np.ones(n)
    for i in range(n):
        near = [ari[j] for j in (i - 1, i) if 0 <= j < n - 1]
        out[i] = float(np.mean(near)) if near else 1.0
    return out


def partitions(
    weights: Matrix,
    sym: Matrix,
    mode: str,
    thresholds: np.ndarray,
    method: str = "louvain",
    *,
    seed: int = 0,
    exclude: Sequence[int] = (),
) -> np.ndarray:
    """``[G, T]`` labels, one partition per threshold, sparsest graph first.

    Graphs of one mode are nested (lowering an absolute threshold or raising a
    mass share only adds edges), so the work is shared: an unchanged graph
    reuses its neighbour's partition, and a graph with mean degree above
    :data:`FRESH_DEGREE` is clustered from its sparser neighbour's partition
    (:func:`attn_widget.cluster.cluster_coarse`) when the method allows it.
    """
    pruner = THRESHOLDS[mode](weights, sym)
    n_kept = max(len(sym) - len(exclude), 1)
    counts = np.array([pruner.n_edges(t) for t in thresholds])
    labels = np.empty((len(thresholds), len(sym)), dtype=np.int32)
    prev: int | None = None
    for i in np.argsort(counts, kind="stable").tolist():
        if prev is not None and counts[i] == counts[prev]:
            labels[i] = labels[prev]
            continue
        adj = pruner.prune(thresholds[i])
        if prev is not None and method in _cluster.GRAPH_METHODS and 2 * counts[i] / n_kept > FRESH_DEGREE:
            labels[i] = _cluster.cluster_coarse(adj, labels[prev], method, seed=seed, exclude=exclude)
        else:
            labels[i] = _cluster.cluster(adj, method, seed=seed, exclude=exclude, profile=sym)
        prev = i
    return labels


def sweep(
    weights: Matrix,
    mode: str,
    method: str = "louvain",
    *,
    seed: int = 0,
    exclude: Sequence[int] = (),
    grid: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """Cluster at every grid value; return thresholds, modularity, counts, stability, labels, best.

    Parameters
    ----------
    weights
        ``[T, T]`` aggregated attention (excluded rows and columns zero).
    mode
        A key of :data:`THRESHOLDS`.
    method, seed, exclude
        Passed to :mod:`attn_widget.cluster`.
    grid
        Thresholds to try (default :func:`threshold_grid`).
    """
    sym = symmetrise(weights)
    thresholds = threshold_grid(weights, sym, mode) if grid is None else np.asarray(grid, float)
    labels = partitions(weights, sym, mode, thresholds, method, seed=seed, exclude=exclude)
    scored: dict[bytes, float] = {}  # neighbouring thresholds often give the same partition
    for lab in labels:
        if lab.tobytes() not in scored:
            scored[lab.tobytes()] = modularity(sym, lab)
    scores = np.array([scored[lab.tobytes()] for lab in labels])
    counts = np.array([_count_groups(lab) for lab in labels], dtype=np.int32)
    stability = neighbour_stability(labels)
    best = choose(thresholds, scores, labels)
    return thresholds, scores, counts, stability, labels, best


def _count_groups(labels: Labels) -> int:
    _, sizes = np.unique(labels[labels != EXCLUDED], return_counts=True)
    return int((sizes > 1).sum())
