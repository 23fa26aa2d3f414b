"""Community detection on a thresholded token graph, behind one interface.

Each method in :data:`METHODS` takes the symmetric adjacency ``[T, T]`` of the
kept tokens (excluded ones already removed) and a seed, and returns one int
label per token. :func:`cluster` handles exclusion, splits communities that are
not connected (Louvain can return those), and numbers clusters by their first
token so the same seed always gives the same labels.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._registry import Registry
from ._typing import EXCLUDED, Labels, Matrix

METHODS: Registry = Registry("clustering method")
"""Named clustering functions: ``louvain`` (default), ``leiden``, ``agglomerative``, ``dbscan``, ``infomap``."""


def _need(module: str, extra: str) -> None:
    raise ImportError(
        f"this clustering method needs the {module!r} package; "
        f"install it with: pip install 'attn_widget[{extra}]'"
    )


def _edges(adj: Matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    src, dst = np.nonzero(np.triu(adj, k=1))
    return src, dst, adj[src, dst]


@METHODS.register("louvain")
def louvain(adj: Matrix, *, seed: int = 0, **_: object) -> Labels:
    """Louvain modularity maximisation (python-louvain), weighted."""
    import community as community_louvain
    import networkx as nx

    n = len(adj)
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    src, dst, w = _edges(adj)
    graph.add_weighted_edges_from(zip(src.tolist(), dst.tolist(), w.tolist()))
    if graph.number_of_edges() == 0:
        return np.arange(n, dtype=np.int32)
    part = community_louvain.best_partition(graph, weight="weight", random_state=seed)
    return np.array([part[i] for i in range(n)], dtype=np.int32)


def connected_split(adj: Matrix, labels: Labels) -> Labels:
    """Split every community into its connected components in ``adj``."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    out = np.empty(len(labels), dtype=np.int64)
    next_id = 0
    for lab in np.unique(labels):
        idx = np.flatnonzero(labels == lab)
        n_comp, comp = connected_components(csr_matrix(adj[np.ix_(idx, idx)] > 0), directed=False)
        out[idx] = comp + next_id
        next_id += n_comp
    return out


def canonical(labels: Sequence[int] | np.ndarray) -> Labels:
    """Renumber labels 0, 1, 2, ... in order of each cluster's first token."""
    labels = np.asarray(labels)
    out = np.full(len(labels), EXCLUDED, dtype=np.int32)
    mapping: dict[int, int] = {}
    for i, lab in enumerate(labels.tolist()):
        if lab == EXCLUDED:
            continue
        out[i] = mapping.setdefault(lab, len(mapping))
    return out


def cluster(
    adj: Matrix, method: str = "louvain", *, seed: int = 0, exclude: Sequence[int] = ()
) -> Labels:
    """Cluster the thresholded graph ``adj`` with ``method``.

    Parameters
    ----------
    adj
        ``[T, T]`` symmetric non-negative adjacency (a thresholded graph).
    method
        A key of :data:`METHODS`.
    seed
        Random seed; the same seed gives the same labels.
    exclude
        Token indices left out; they get label ``-1``.

    Returns
    -------
    numpy.ndarray
        ``[T]`` int32 labels, numbered by first token; every cluster connected in ``adj``.
    """
    fn = METHODS[method]
    n = len(adj)
    keep = np.ones(n, dtype=bool)
    keep[list(exclude)] = False
    sub = adj[np.ix_(keep, keep)]
    raw = np.asarray(fn(sub, seed=seed))
    split = connected_split(sub, raw)
    labels = np.full(n, EXCLUDED, dtype=np.int64)
    labels[keep] = split
    return canonical(labels)
