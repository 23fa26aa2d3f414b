"""The threshold sweep: cluster at every value of a grid and choose one automatically.

The grid (:func:`threshold_grid`) spans the whole useful range: from every
edge kept (everything connected) to so few edges that almost every token stands
alone (the groups have fallen apart), with the kept edge count geometrically
spaced, so each step changes the graph by a similar factor whatever the text
length. Every partition is scored by modularity on the *unthresholded* graph
(modularity on the thresholded graph rises as the graph falls apart, so it
cannot compare thresholds), and :func:`choose` takes the centre of the widest
stable plateau among good partitions, so a small move of the slider either way
keeps the partition.

The sweep is fast because the graphs of one mode are nested: it clusters the
sparsest graph first and each denser one from its sparser neighbour's
partition (a coarsened warm start), skips graphs that did not change, leaves
tokens without edges out of the clustering, and scores modularity once per
distinct partition.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..core.types import EXCLUDED, Labels, Matrix
from . import cluster as _cluster
from .edges import Pruner
from .metrics import adjusted_rand, modularities
from .symmetric import Symmetric
from .threshold import THRESHOLDS, symmetrise

GRID_SIZE = 20
"""Thresholds tried by the sweep (fewer on tiny graphs, where fewer distinct graphs exist)."""

APART_EDGES = 0.1
"""The sparsest grid graph keeps about this many edges per token (at least 80% of tokens alone)."""

FRESH_DEGREE = 4.0
"""Up to this mean degree the sweep clusters each graph from scratch; denser graphs are
clustered from the partition of the next sparser one (:func:`attn_widget.graph.cluster.cluster_coarse`)."""

STABLE_ARI = 0.9
"""Neighbouring partitions at least this similar (adjusted Rand index) belong to one plateau."""

GOOD_SHARE = 0.1
"""A plateau competes when its best modularity is within this share of the sweep's best."""


def threshold_grid(
    weights: Matrix,
    sym: Matrix | Symmetric,
    mode: str,
    size: int | None = None,
    pruner: Pruner | None = None,
) -> np.ndarray:
    """Ascending grid of thresholds worth trying for ``mode``.

    The kept edge count runs geometrically from the sparsest useful graph to
    every edge: ``absolute`` from about ``APART_EDGES`` edges per token (at
    least 80% of tokens alone) to the weakest edge; ``mass`` from a share just
    above 0 (each token keeps only its strongest edge, the sparsest graph this
    mode makes) to 1. ``size`` defaults to :data:`GRID_SIZE`.
    """
    size = GRID_SIZE if size is None else size
    pruner = THRESHOLDS[mode](weights, sym) if pruner is None else pruner
    if pruner.total == 0:
        return np.array([1.0 if mode == "mass" else 0.0])
    nodes = int((sym.linked() if isinstance(sym, Symmetric) else (sym > 0).any(axis=1)).sum())
    lo = max(pruner.fewest, int(np.ceil(APART_EDGES * nodes)), 1)
    counts = np.round(np.geomspace(min(lo, pruner.total), pruner.total, size)).astype(int)
    return np.unique(pruner.for_edges(np.unique(counts)))


def plateaus(labels: np.ndarray, tol: float | None = None) -> list[list[int]]:
    """Runs of neighbouring grid indices whose partitions barely change (ARI >= ``tol``).

    ``tol`` defaults to :data:`STABLE_ARI`.
    """
    tol = STABLE_ARI if tol is None else tol
    runs: list[list[int]] = [[0]]
    for i in range(1, len(labels)):
        if adjusted_rand(labels[i - 1], labels[i]) >= tol:
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


def choose(thresholds: np.ndarray, scores: np.ndarray, labels: np.ndarray, tol: float | None = None) -> int:
    """Pick the grid index of the automatic threshold.

    Neighbouring partitions with adjusted Rand index >= ``tol`` (default
    :data:`STABLE_ARI`) form a plateau. Among plateaus whose best modularity is
    within :data:`GOOD_SHARE` of the global best, the widest (most grid steps)
    wins; ties go to higher modularity. Inside it, the grid values whose
    modularity is within :data:`GOOD_SHARE` of the plateau's best are kept, and
    the centre of their longest run is returned (the higher-modularity one of
    two centres), so a small move of the slider either way keeps the partition.
    """
    if len(thresholds) == 1:
        return 0
    best_q = float(scores.max())
    margin = GOOD_SHARE * abs(best_q)
    good = [p for p in plateaus(labels, tol) if scores[p].max() >= best_q - margin]
    winner = max(good, key=lambda p: (len(p), float(scores[p].max())))
    top = float(scores[winner].max())
    runs: list[list[int]] = []
    for i in winner:
        if scores[i] >= top - GOOD_SHARE * abs(top):
            if runs and runs[-1][-1] == i - 1:
                runs[-1].append(i)
            else:
                runs.append([i])
    run = max(runs, key=len)
    centres = {run[(len(run) - 1) // 2], run[len(run) // 2]}
    return int(max(sorted(centres), key=lambda i: float(scores[i])))


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
    sym: Matrix | Symmetric,
    mode: str,
    thresholds: np.ndarray,
    method: str = "louvain",
    *,
    seed: int = 0,
    exclude: Sequence[int] = (),
    pruner: Pruner | None = None,
) -> np.ndarray:
    """``[G, T]`` labels, one partition per threshold, sparsest graph first.

    Graphs of one mode are nested (lowering an absolute threshold or raising a
    mass share only adds edges), so the work is shared: an unchanged graph
    reuses its neighbour's partition, and a graph with mean degree above
    :data:`FRESH_DEGREE` is clustered from its sparser neighbour's partition
    (:func:`attn_widget.graph.cluster.cluster_coarse`) when the method allows it.
    """
    pruner = THRESHOLDS[mode](weights, sym) if pruner is None else pruner
    n_kept = max(len(sym) - len(exclude), 1)
    counts = np.array([pruner.n_edges(t) for t in thresholds])
    labels = np.empty((len(thresholds), len(sym)), dtype=np.int32)
    prev: int | None = None
    for i in np.argsort(counts, kind="stable").tolist():
        if prev is not None and counts[i] == counts[prev]:
            labels[i] = labels[prev]
            continue
        adj = pruner.edges(thresholds[i])  # an edge list: no dense T x T copy per threshold
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
    sym: Matrix | Symmetric | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """Cluster at every grid value; return thresholds, modularity, counts, stability, labels, best.

    Parameters
    ----------
    weights
        ``[T, T]`` aggregated attention (excluded rows and columns zero).
    mode
        A key of :data:`attn_widget.graph.threshold.THRESHOLDS`.
    method, seed, exclude
        Passed to :mod:`attn_widget.graph.cluster`.
    grid
        Thresholds to try (default :func:`threshold_grid`).
    sym
        ``symmetrise(weights)`` when the caller has it (not computed a second time), or a
        :class:`~attn_widget.graph.symmetric.Symmetric` of ``weights``: then nothing ``T × T``
        is built besides a block of rows (the same thresholds and partitions).

    Returns
    -------
    tuple
        The fields of :class:`attn_widget.Sweep` after ``mode``, in order.
    """
    sym = symmetrise(weights) if sym is None else sym
    pruner = THRESHOLDS[mode](weights, sym)  # sorts the edges once for the grid and every partition
    if grid is None:
        thresholds = threshold_grid(weights, sym, mode, pruner=pruner)
    else:
        thresholds = np.asarray(grid, float)
    labels = partitions(weights, sym, mode, thresholds, method, seed=seed, exclude=exclude, pruner=pruner)
    distinct = {lab.tobytes(): lab for lab in labels}  # neighbouring thresholds often give the same partition
    scored = dict(zip(distinct, modularities(sym, list(distinct.values())), strict=True))
    scores = np.array([scored[lab.tobytes()] for lab in labels])
    counts = np.array([_count_groups(lab) for lab in labels], dtype=np.int32)
    stability = neighbour_stability(labels)
    best = choose(thresholds, scores, labels)
    return thresholds, scores, counts, stability, labels, best


def _count_groups(labels: Labels) -> int:
    _, sizes = np.unique(labels[labels != EXCLUDED], return_counts=True)
    return int((sizes > 1).sum())
