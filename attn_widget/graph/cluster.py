"""Community detection on a thresholded token graph, behind one interface.

The methods themselves live in :mod:`attn_widget.graph.methods` (the registry
:data:`METHODS`, re-exported here). :func:`cluster` wraps any of them: it drops
excluded tokens, leaves tokens without edges on their own, splits communities
that are not connected in the thresholded graph (Louvain can return those) and
numbers clusters by their first token. :func:`cluster_coarse` reuses a finer
partition (the sweep's warm start).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..core.types import EXCLUDED, Labels, Matrix
from .blockwise import BlockEdges
from .edges import Edges
from .methods import (
    BUILTIN_GRAPH_METHODS,
    DBSCAN_EPS,
    DBSCAN_MIN_SAMPLES,
    GRAPH_METHODS,
    METHODS,
    agglomerative,
    components,
    dbscan,
    infomap,
    leiden,
    louvain,
)
from .symmetric import Symmetric, dense

__all__ = [
    "DBSCAN_EPS",
    "DBSCAN_MIN_SAMPLES",
    "GRAPH_METHODS",
    "METHODS",
    "agglomerative",
    "canonical",
    "cluster",
    "cluster_coarse",
    "components",
    "connected_split",
    "dbscan",
    "infomap",
    "leiden",
    "louvain",
]


def _run(method: str, adj: Matrix, seed: int, profile: Matrix | None) -> np.ndarray:
    """Call ``method`` on the tokens that have at least one edge; the others stay on their own.

    A token without neighbours cannot join a community, and leaving it out
    spares every method a pass over it (most tokens, on sparse graphs).
    """
    off = adj.copy()
    np.fill_diagonal(off, 0.0)
    linked = np.flatnonzero(off.any(axis=1))
    labels = len(adj) + np.arange(len(adj), dtype=np.int64)
    if linked.size:
        sub = adj[np.ix_(linked, linked)]
        prof = None if profile is None else profile[np.ix_(linked, linked)]
        labels[linked] = np.asarray(METHODS[method](sub, seed=seed, profile=prof))
    return labels


def connected_split(adj: Matrix, labels: Labels) -> Labels:
    """Split every community into its connected components in ``adj``.

    Two tokens stay together only if they share a label *and* a path of kept
    edges inside that label: drop edges between communities, then take
    connected components once (no loop over communities).
    """
    labels = np.asarray(labels)
    inside = (adj > 0) & (labels[:, None] == labels[None, :])
    return components(inside)


def canonical(labels: Sequence[int] | np.ndarray) -> Labels:
    """Renumber labels 0, 1, 2, ... in order of each cluster's first token (``-1`` stays ``-1``)."""
    labels = np.asarray(labels)
    out = np.full(len(labels), EXCLUDED, dtype=np.int32)
    kept = labels != EXCLUDED
    if kept.any():
        _, first, inverse = np.unique(labels[kept], return_index=True, return_inverse=True)
        rank = np.empty(first.size, dtype=np.int32)
        rank[np.argsort(first, kind="stable")] = np.arange(first.size, dtype=np.int32)
        out[kept] = rank[inverse]
    return out


def _keep_mask(n: int, exclude: Sequence[int]) -> np.ndarray:
    keep = np.ones(n, dtype=bool)
    keep[list(exclude)] = False
    return keep


def _finish(sub: Matrix, raw: np.ndarray, keep: np.ndarray) -> Labels:
    labels = np.full(len(keep), EXCLUDED, dtype=np.int64)
    labels[keep] = connected_split(sub, raw)
    return canonical(labels)


def cluster(
    adj: Matrix | Edges | BlockEdges,
    method: str = "louvain",
    *,
    seed: int = 0,
    exclude: Sequence[int] = (),
    profile: Matrix | Symmetric | None = None,
) -> Labels:
    """Cluster the thresholded graph ``adj`` with ``method``.

    Parameters
    ----------
    adj
        ``[T, T]`` symmetric non-negative adjacency (a thresholded graph), zero
        diagonal; or the same graph as an :class:`~attn_widget.graph.edges.Edges`
        list (the sweep's form on long texts: nothing ``T × T`` is built), or a
        :class:`~attn_widget.graph.blockwise.BlockEdges` (listed whole here: a sparse graph).
    method
        A key of :data:`METHODS`.
    seed
        Random seed; the same seed gives the same labels.
    exclude
        Token indices left out; they get label ``-1``.
    profile
        ``[T, T]`` unthresholded symmetrised attention (attention profiles, an array or
        a :class:`~attn_widget.graph.symmetric.Symmetric`), used by ``agglomerative``,
        ``dbscan`` and methods you registered; the built-in graph methods do not read it.

    Returns
    -------
    numpy.ndarray
        ``[T]`` int32 labels, numbered by first token; every cluster connected in ``adj``.
    """
    METHODS[method]  # unknown names fail here, with the choices
    if isinstance(adj, BlockEdges):
        adj = adj.edges()
    if isinstance(adj, Edges):
        keep = _keep_mask(adj.n, exclude)
        sub = _kept_edges(adj, keep)
        return _finish_edges(sub, _run_edges(method, sub, seed, _profile(profile, keep, method)), keep)
    keep = _keep_mask(len(adj), exclude)
    sub = adj[np.ix_(keep, keep)]
    return _finish(sub, _run(method, sub, seed, _profile(profile, keep, method)), keep)


def _profile(profile: Matrix | Symmetric | None, keep: np.ndarray, method: str) -> Matrix | None:
    """The kept tokens' profiles for a method that reads them (not a copy of ``T²`` floats for Louvain)."""
    if profile is None or method in BUILTIN_GRAPH_METHODS:
        return None
    return dense(profile)[np.ix_(keep, keep)]


def cluster_coarse(
    adj: Matrix | Edges | BlockEdges,
    finer: Labels,
    method: str = "louvain",
    *,
    seed: int = 0,
    exclude: Sequence[int] = (),
) -> Labels:
    """Cluster ``adj`` starting from ``finer``, a partition of a sparser graph (a warm start).

    Each community of ``finer`` becomes one node of a coarsened graph (edge
    weights summed, internal weight as a self-loop), exactly as the second level
    of Louvain would see it; ``method`` clusters that small graph and the result
    is mapped back to tokens and split into connected pieces. Communities can
    merge but not split, which is what lowering a threshold (adding edges) does
    to a good partition. Only for :data:`GRAPH_METHODS`. A
    :class:`~attn_widget.graph.blockwise.BlockEdges` graph is read once, a block of rows at a
    time, never listed whole; its connected pieces are found on the coarsened graph, which
    needs ``finer``'s groups connected in ``adj`` (the sweep's case: they are the connected
    clusters of a sparser graph of the same mode, and its graphs are nested).
    """
    if method not in GRAPH_METHODS:
        raise ValueError(f"method {method!r} cannot warm-start; use cluster() instead")
    n = adj.n if isinstance(adj, (Edges, BlockEdges)) else len(adj)
    keep = _keep_mask(n, exclude)
    _, group = np.unique(np.asarray(finer)[keep], return_inverse=True)
    size = int(group.max()) + 1
    if isinstance(adj, BlockEdges):
        coarse = _coarse_blocks(adj, keep, group, size)
        return _finish_groups(coarse, _run(method, coarse, seed, None), group, keep)
    if isinstance(adj, Edges):
        sub = _kept_edges(adj, keep)
        from scipy.sparse import coo_matrix

        ga, gb = group[sub.src], group[sub.dst]
        same = ga == gb
        between = ~same
        coarse = coo_matrix((sub.weight[between], (ga[between], gb[between])), shape=(size, size)).toarray()
        coarse += coarse.T  # each edge between two groups, both ways
        coarse[np.diag_indices_from(coarse)] = np.bincount(ga[same], weights=sub.weight[same], minlength=size)
        return _finish_edges(sub, _run(method, coarse, seed, None)[group], keep)
    kept = adj[np.ix_(keep, keep)]
    src, dst = np.nonzero(kept)
    pair = group[src] * size + group[dst]
    flat = np.zeros(size * size)
    np.add.at(flat, pair, kept[src, dst])
    coarse = flat.reshape(size, size)
    coarse[np.diag_indices_from(coarse)] /= 2.0  # each internal edge once, as a self-loop
    raw = _run(method, coarse, seed, None)[group]
    return _finish(kept, raw, keep)


def _coarse_blocks(adj: BlockEdges, keep: np.ndarray, group: np.ndarray, size: int) -> np.ndarray:
    """The coarsened graph of :func:`cluster_coarse`, summed from ``adj``'s weights in blocks of rows."""
    from scipy.sparse import csr_matrix

    tokens = np.flatnonzero(keep)
    member = csr_matrix((np.ones(tokens.size), (tokens, group)), shape=(len(keep), size))
    of = np.full(len(keep), -1, dtype=np.int64)
    of[tokens] = group
    coarse = np.zeros((size, size))
    for a, s in adj.sym.blocks():
        rows = np.flatnonzero(keep[a : a + len(s)])
        kept = s[rows]
        kept[kept < adj.t] = 0.0  # edges below the threshold; left-out tokens have no column in member
        np.add.at(coarse, of[a + rows], np.asarray(kept @ member))  # each row's weight to each group
    inner = np.diagonal(coarse) / 2.0  # an internal edge was counted from both its ends
    for r in range(0, size, 256):  # the lower triangle from the upper, in place: exactly symmetric
        coarse[r : r + 256, :r] = coarse[:r, r : r + 256].T
        block = coarse[r : r + 256, r : r + 256]
        low = np.tril_indices(len(block), -1)
        block[low] = block.T[low]
    coarse[np.diag_indices_from(coarse)] = inner
    return coarse


def _finish_groups(coarse: np.ndarray, raw: np.ndarray, group: np.ndarray, keep: np.ndarray) -> Labels:
    """:func:`_finish` for a coarsened graph whose groups are connected: pieces joined by group edges.

    Two groups of one community are in one piece when a path of edges between groups of
    that community joins them; each group is connected already (the sweep's finer
    partition was split into connected pieces of a sparser graph, whose edges this
    graph keeps).
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    linked = (coarse > 0) & (raw[:, None] == raw[None, :])
    np.fill_diagonal(linked, False)
    piece = connected_components(csr_matrix(linked), directed=False)[1]
    labels = np.full(len(keep), EXCLUDED, dtype=np.int64)
    labels[keep] = piece[group]
    return canonical(labels)


def _kept_edges(adj: Edges, keep: np.ndarray) -> Edges:
    """The edges between kept nodes, renumbered among the kept nodes."""
    if keep.all():
        return adj
    new = (np.cumsum(keep) - 1).astype(np.int32)
    ok = keep[adj.src] & keep[adj.dst]
    return Edges(int(keep.sum()), new[adj.src[ok]], new[adj.dst[ok]], adj.weight[ok])


def _run_edges(method: str, graph: Edges, seed: int, profile: Matrix | None) -> np.ndarray:
    """:func:`_run` for an edge list: the graph methods get a sparse matrix, the others a dense one."""
    labels = graph.n + np.arange(graph.n, dtype=np.int64)
    linked = np.flatnonzero(np.bincount(np.concatenate([graph.src, graph.dst]), minlength=graph.n) > 0)
    if not linked.size:
        return labels
    new = np.full(graph.n, -1, dtype=np.int32)
    new[linked] = np.arange(linked.size, dtype=np.int32)
    sub = Edges(linked.size, new[graph.src], new[graph.dst], graph.weight).matrix()
    prof = None if profile is None else profile[np.ix_(linked, linked)]
    if method not in BUILTIN_GRAPH_METHODS:  # profile methods and methods users registered take dense arrays
        sub = sub.toarray()
    labels[linked] = np.asarray(METHODS[method](sub, seed=seed, profile=prof))
    return labels


def _finish_edges(graph: Edges, raw: np.ndarray, keep: np.ndarray) -> Labels:
    """Split ``raw`` communities into connected pieces of ``graph`` and number them (:func:`_finish`)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    same = raw[graph.src] == raw[graph.dst]
    inside = coo_matrix((np.ones(int(same.sum())), (graph.src[same], graph.dst[same])), shape=(graph.n,) * 2)
    labels = np.full(len(keep), EXCLUDED, dtype=np.int64)
    labels[keep] = connected_components(inside.tocsr(), directed=False)[1]
    return canonical(labels)
