"""From an aggregated attention map to a weighted token graph, and the threshold sweep.

Knows nothing about models. Weights are symmetrised (``(W + Wᵀ) / 2``, no
self-loops); two threshold modes prune edges (see :data:`THRESHOLDS`); the sweep
clusters at every value of a grid, scores each partition by modularity on the
*unthresholded* graph and picks the widest stable plateau.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ._registry import Registry
from ._typing import EXCLUDED, Labels, Matrix

THRESHOLDS: Registry = Registry("threshold mode")
"""``absolute``: keep edges of weight >= t; ``mass``: per-row cumulative share p."""


def symmetrise(weights: Matrix) -> Matrix:
    """``(W + Wᵀ) / 2`` with a zero diagonal: undirected edge weights."""
    s = (weights + weights.T) / 2.0
    np.fill_diagonal(s, 0.0)
    return s


@THRESHOLDS.register("absolute")
def absolute(weights: Matrix, sym: Matrix, t: float) -> Matrix:
    """Keep symmetrised edges whose weight is at least ``t``."""
    return np.where(sym >= t, sym, 0.0)


@THRESHOLDS.register("mass")
def mass(weights: Matrix, sym: Matrix, p: float) -> Matrix:
    """Keep, for every token, its strongest edges until a share ``p`` of its attention is covered.

    The kept edge set is the union over both endpoints (exBERT-style), weighted
    by the symmetrised weight. ``p=0`` keeps nothing, ``p=1`` keeps every edge.
    """
    w = weights.copy()
    np.fill_diagonal(w, 0.0)
    totals = w.sum(axis=1, keepdims=True)
    totals[totals == 0] = 1.0
    share = w / totals
    order = np.argsort(-share, axis=1, kind="stable")
    sorted_share = np.take_along_axis(share, order, axis=1)
    before = np.cumsum(sorted_share, axis=1) - sorted_share  # mass covered before this edge
    keep_sorted = (before < p - 1e-12) & (sorted_share > 0)
    keep = np.zeros_like(keep_sorted)
    np.put_along_axis(keep, order, keep_sorted, axis=1)
    keep |= keep.T
    return np.where(keep, sym, 0.0)


def prune(weights: Matrix, sym: Matrix, mode: str, t: float) -> Matrix:
    """Thresholded symmetric adjacency for ``mode`` at value ``t``."""
    return THRESHOLDS[mode](weights, sym, float(t))


def threshold_range(sym: Matrix, mode: str) -> tuple[float, float]:
    """The slider's range for ``mode``: (0, strongest edge) or (0, 1)."""
    if mode == "mass":
        return 0.0, 1.0
    return 0.0, float(sym.max()) if sym.size else 1.0


def threshold_grid(weights: Matrix, sym: Matrix, mode: str, size: int = 24) -> np.ndarray:
    """Ascending grid of thresholds worth trying for ``mode``.

    ``absolute``: log-spaced between a low quantile of the non-zero edges and
    the strongest edge; ``mass``: evenly spaced shares in (0, 1).
    """
    if mode == "mass":
        return np.round(np.linspace(0.05, 0.95, size), 6)
    edges = sym[np.triu_indices_from(sym, k=1)]
    edges = edges[edges > 0]
    if edges.size == 0:
        return np.array([0.0])
    lo = max(float(np.quantile(edges, 0.5)), 1e-6)
    hi = float(edges.max())
    if hi <= lo:
        return np.array([lo])
    return np.geomspace(lo, hi, size + 1)[:-1]


def modularity(sym: Matrix, labels: Labels) -> float:
    """Newman modularity of ``labels`` on the weighted graph ``sym`` (excluded tokens ignored)."""
    kept = labels != EXCLUDED
    a = sym[np.ix_(kept, kept)]
    lab = labels[kept]
    two_m = a.sum()
    if two_m <= 0 or lab.size == 0:
        return 0.0
    _, inv = np.unique(lab, return_inverse=True)
    onehot = np.zeros((lab.size, inv.max() + 1))
    onehot[np.arange(lab.size), inv] = 1.0
    inside = np.einsum("ic,ij,jc->c", onehot, a, onehot)
    degree = onehot.T @ a.sum(axis=1)
    return float((inside / two_m - (degree / two_m) ** 2).sum())


def community_modularity(sym: Matrix, members: Sequence[int]) -> tuple[float, float]:
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
    Among plateaus whose best modularity is within 90% of the global best, the
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


def sweep(
    weights: Matrix,
    mode: str,
    partition: Callable[[Matrix], Labels],
    grid: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """Cluster at every grid value; return thresholds, modularity, counts, stability, labels, best.

    ``partition`` maps a thresholded adjacency to labels (``cluster.cluster``
    with the method and seed bound).
    """
    sym = symmetrise(weights)
    thresholds = threshold_grid(weights, sym, mode) if grid is None else np.asarray(grid, float)
    labels = np.stack([partition(prune(weights, sym, mode, t)) for t in thresholds])
    scores = np.array([modularity(sym, lab) for lab in labels])
    counts = np.array([_count_groups(lab) for lab in labels], dtype=np.int32)
    stability = neighbour_stability(labels)
    best = choose(thresholds, scores, labels)
    return thresholds, scores, counts, stability, labels.astype(np.int32), best


def _count_groups(labels: Labels) -> int:
    ids, sizes = np.unique(labels[labels != EXCLUDED], return_counts=True)
    return int((sizes > 1).sum())
