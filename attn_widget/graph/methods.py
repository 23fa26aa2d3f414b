"""The clustering methods, one registry: every entry clusters one thresholded token graph.

Every method in :data:`METHODS` is called as ``fn(adj, seed=..., profile=...)``:

- ``adj``: ``[n, n]`` symmetric non-negative adjacency of the kept tokens (the
  thresholded graph; excluded tokens already removed; a diagonal entry is a
  self-loop weight, used when clustering a coarsened graph);
- ``seed``: random seed; the same seed gives the same labels;
- ``profile``: ``[n, n]`` unthresholded symmetrised attention of the same
  tokens (each row is a token's *attention profile*), or ``None``;

and returns one integer label per token (any numbering; :mod:`attn_widget.graph.cluster`
splits disconnected communities and renumbers).

How the threshold drives each method:

- ``louvain`` (python-louvain, the default), ``leiden`` (leidenalg + igraph)
  and ``infomap`` cluster the thresholded graph itself.
- ``agglomerative`` (scikit-learn) merges tokens by average-linkage cosine
  distance between attention profiles, but only along edges of the thresholded
  graph (its connectivity constraint), and cuts the tree where modularity on
  the thresholded graph is highest.
- ``dbscan`` (scikit-learn) links two tokens when they share a thresholded edge
  *and* their profiles' cosine distance is at most :data:`DBSCAN_EPS`; tokens
  with at least :data:`DBSCAN_MIN_SAMPLES` such links (themselves included) seed
  clusters, and tokens reached by none stay on their own.

All but Louvain are optional: their packages are imported when first used,
with an error naming the ``cluster`` extra. Add a method with
``@METHODS.register("name")``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.registry import Registry
from ..core.types import Labels, Matrix

METHODS: Registry = Registry("clustering method")
"""Named clustering functions: ``louvain`` (default), ``leiden``, ``infomap``,
``agglomerative``, ``dbscan``."""

GRAPH_METHODS = frozenset({"louvain", "leiden", "infomap"})
"""Methods that only look at the graph, so they can cluster a coarsened graph
(see :func:`attn_widget.graph.cluster.cluster_coarse`)."""

DBSCAN_EPS = 0.2
"""Largest cosine distance between two tokens' attention profiles that still links them (``dbscan``)."""

DBSCAN_MIN_SAMPLES = 4
"""Links (the token itself included) a token needs to seed a ``dbscan`` cluster."""


def _optional(module: str) -> Any:
    """Import an optional dependency or say which extra installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(
            f"this clustering method needs the {module!r} package; "
            "install it with: pip install 'attn_widget[cluster]'"
        ) from None


BUILTIN_GRAPH_METHODS = frozenset({"louvain", "leiden", "infomap"})
"""The methods here that also take ``adj`` as a ``scipy.sparse`` matrix (the sweep's form on long texts)."""


def _size(adj: Any) -> int:
    return int(adj.shape[0])


def _edges(adj: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Upper-triangle edges (self-loops included) as ``src, dst, weight``, row by row."""
    if hasattr(adj, "tocoo"):  # scipy.sparse
        from scipy.sparse import triu

        upper = triu(adj, k=0).tocoo()
        keep = upper.data != 0
        src, dst, w = upper.row[keep], upper.col[keep], upper.data[keep]
        order = np.lexsort((dst, src))
        return src[order].astype(np.int64), dst[order].astype(np.int64), w[order]
    src, dst = np.nonzero(np.triu(adj))
    return src, dst, adj[src, dst]


def components(adj: Any) -> np.ndarray:
    """Connected component id of every node of ``adj`` (dense or sparse; edges are its non-zero entries)."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    return connected_components(csr_matrix(adj > 0), directed=False)[1]


@METHODS.register("louvain")
def louvain(adj: Matrix, *, seed: int = 0, **_: object) -> Labels:
    """Louvain modularity maximisation (python-louvain), weighted."""
    import community as community_louvain
    import networkx as nx

    n = _size(adj)
    src, dst, w = _edges(adj)
    if not np.any(src != dst):
        return np.arange(n, dtype=np.int32)
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_weighted_edges_from(zip(src.tolist(), dst.tolist(), w.tolist(), strict=True))
    part = community_louvain.best_partition(graph, weight="weight", random_state=seed)
    return np.array([part[i] for i in range(n)], dtype=np.int32)


@METHODS.register("leiden")
def leiden(adj: Matrix, *, seed: int = 0, **_: object) -> Labels:
    """Leiden modularity maximisation (leidenalg on igraph), weighted; communities well connected."""
    ig = _optional("igraph")
    la = _optional("leidenalg")
    n = _size(adj)
    src, dst, w = _edges(adj)
    graph = ig.Graph(n=n, edges=list(zip(src.tolist(), dst.tolist(), strict=True)))
    part = la.find_partition(graph, la.ModularityVertexPartition, weights=w.tolist(), seed=int(seed))
    return np.asarray(part.membership, dtype=np.int32)


@METHODS.register("infomap")
def infomap(adj: Matrix, *, seed: int = 0, **_: object) -> Labels:
    """Infomap (map equation), two-level, undirected and weighted."""
    im_module = _optional("infomap")
    n = _size(adj)
    src, dst, w = _edges(adj)
    off = src != dst
    if not off.any():
        return np.arange(n, dtype=np.int32)
    im = im_module.Infomap(silent=True, two_level=True, seed=int(seed) + 1, num_trials=1)
    im.add_nodes(range(n))
    # self-links carry a coarsened node's inner flow
    im.add_links(zip(src.tolist(), dst.tolist(), w.tolist(), strict=True))
    result = im.run()
    modules = result.modules() if result is not None else im.get_modules()  # infomap >= 2.15 / older
    return np.array([modules.get(i, n + i) for i in range(n)], dtype=np.int64)


def _profiles(adj: Matrix, profile: Matrix | None) -> Matrix:
    """Unit-length attention profiles (rows); the thresholded graph when none are given."""
    p = np.asarray(adj if profile is None else profile, dtype=np.float64)
    norms = np.linalg.norm(p, axis=1, keepdims=True)
    return p / np.where(norms > 0, norms, 1.0)


@METHODS.register("agglomerative")
def agglomerative(adj: Matrix, *, profile: Matrix | None = None, **_: object) -> np.ndarray:
    """Average-linkage clustering of attention profiles along thresholded edges, cut at best modularity."""
    skc = _optional("sklearn.cluster")
    n = len(adj)
    labels = np.arange(n, dtype=np.int64)
    comps = components(adj)
    feats = _profiles(adj, profile)
    two_m = float(adj.sum())
    for comp in np.unique(comps):
        idx = np.flatnonzero(comps == comp)
        if idx.size < 2:
            continue
        sub = adj[np.ix_(idx, idx)]
        model = skc.AgglomerativeClustering(
            n_clusters=1, metric="cosine", linkage="average", connectivity=sub > 0, compute_full_tree=True
        ).fit(feats[idx])
        labels[idx] = _best_cut(sub, model.children_, two_m) + idx[0] * n
    return labels


def _best_cut(adj: Matrix, children: np.ndarray, two_m: float) -> np.ndarray:
    """Labels of the dendrogram cut whose modularity (on ``adj``, total weight ``two_m``) is highest."""
    n = len(adj)
    members: list[list[int]] = [[i] for i in range(n)]
    degree = list(adj.sum(axis=1))
    best_gain, best_step, gain = 0.0, 0, 0.0
    for step, (a, b) in enumerate(children.tolist(), start=1):
        between = float(adj[np.ix_(members[a], members[b])].sum())
        gain += 2 * between / two_m - 2 * degree[a] * degree[b] / two_m**2
        members.append(members[a] + members[b])
        degree.append(degree[a] + degree[b])
        if gain > best_gain + 1e-12:
            best_gain, best_step = gain, step
    labels = np.arange(n)
    parent = list(range(n + best_step))
    for step, (a, b) in enumerate(children[:best_step].tolist()):
        parent[a] = parent[b] = n + step
    for i in range(n):
        root = i
        while parent[root] != root:
            root = parent[root]
        labels[i] = root
    return labels


@METHODS.register("dbscan")
def dbscan(adj: Matrix, *, profile: Matrix | None = None, **_: object) -> Labels:
    """DBSCAN on profile cosine distances, neighbours restricted to thresholded edges."""
    skc = _optional("sklearn.cluster")
    from scipy.sparse import csr_matrix

    n = len(adj)
    feats = _profiles(adj, profile)
    src, dst = np.nonzero(adj > 0)
    dist = np.clip(1.0 - np.einsum("ij,ij->i", feats[src], feats[dst]), 1e-9, None)  # 0 would be dropped
    sparse = csr_matrix((dist, (src, dst)), shape=(n, n))
    raw = skc.DBSCAN(eps=DBSCAN_EPS, min_samples=DBSCAN_MIN_SAMPLES, metric="precomputed").fit_predict(sparse)
    return np.where(raw >= 0, raw, n + np.arange(n))  # noise: each token on its own
