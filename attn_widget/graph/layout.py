"""Token map layouts made from the clustering's own graph, not from feature vectors.

The graph (the symmetrised co-attention, :func:`~attn_widget.graph.threshold.symmetrise`)
is dominated by neighbours in the text: in a real paragraph a token's
strongest links are the words next to it, so any faithful drawing of the raw
graph is a snake in reading order. :func:`residual` takes away the *distance
baseline* (what a link at that distance in this text usually gets, the rule
:mod:`attn_widget.graph.arcs` ranks long-range arcs by, pooled over distances
``[4, 8)``, ``[8, 16)``, … so that the few pairs far apart are not their own baseline)
and keeps the excess.

:func:`clusters_layout` (the token map's default, ``method="clusters"``) draws a
partition: each cluster a disc with area proportional to its size, the
discs placed by classical MDS of their residual affinity (the mean excess of
the links between their members) and pushed apart until none overlap, each
cluster's members placed inside its disc by the spectral embedding of the
residual links among them. :func:`spectral_layout` (``method="spectral"``)
draws the raw graph alone (no partition): its Laplacian eigenvectors.

Pure numpy; deterministic (no seed is needed). The token map module
:mod:`attn_widget.graph.tokenmap` registers both.
"""

from __future__ import annotations

import numpy as np

from ..core.types import Matrix

GAP = 0.5
"""Empty space between two clusters' discs, as a fraction of their radii."""


def distance_bins(distance: np.ndarray) -> np.ndarray:
    """Pooled distance classes: 1, 2 and 3 alone, then ``[4, 8)``, ``[8, 16)``, … (0: a node itself)."""
    d = np.asarray(distance)
    return np.where(d < 4, d, 2 + np.floor(np.log2(np.maximum(d, 1))).astype(d.dtype))


def residual(sym: Matrix, positions: np.ndarray) -> Matrix:
    """``max(sym - baseline(distance), 0)`` over nodes at ``positions`` (their places in the text).

    ``sym`` is ``[N, N]`` over the kept nodes; the baseline of a pair is the
    mean weight of the pairs whose distance in the text falls in the same
    class of :func:`distance_bins`.
    """
    bins = distance_bins(np.abs(positions[:, None] - positions[None, :]))
    off = ~np.eye(len(sym), dtype=bool)
    total = np.bincount(bins[off], weights=np.asarray(sym)[off], minlength=int(bins.max(initial=0)) + 1)
    count = np.bincount(bins[off], minlength=len(total))
    base = np.divide(total, count, out=np.zeros(len(count)), where=count > 0)
    excess = sym - base[bins]
    np.fill_diagonal(excess, 0.0)
    return np.clip(excess, 0.0, None)


def laplacian_embedding(affinity: Matrix, dims: int = 2) -> np.ndarray:
    """``[N, dims]``: eigenvectors 1..dims of the normalised affinity (signs fixed: largest entry positive).

    A small floor joins every pair, so a graph in pieces still gets one embedding.
    """
    n = len(affinity)
    out = np.zeros((n, dims))
    if n < 3:
        out[:, 0] = np.linspace(-1.0, 1.0, n) if n == 2 else 0.0
        return out
    a = np.array(affinity, dtype=np.float64)
    a = a + 1e-3 * max(float(a.mean()), 1e-12)
    np.fill_diagonal(a, 0.0)
    inv = 1.0 / np.sqrt(a.sum(axis=1))
    _, vecs = np.linalg.eigh(inv[:, None] * a * inv[None, :])
    k = min(dims, n - 1)
    v = vecs[:, ::-1][:, 1 : k + 1] * inv[:, None]
    signs = np.sign(v[np.abs(v).argmax(axis=0), np.arange(k)])
    out[:, :k] = v * np.where(signs == 0, 1.0, signs)
    return out


def _disc(xy: np.ndarray) -> np.ndarray:
    """Points spread evenly over the unit disc, keeping their angles and the order of their radii."""
    n = len(xy)
    if n == 1:
        return np.zeros((1, 2))
    c = xy - xy.mean(axis=0)
    angle = np.arctan2(c[:, 1], c[:, 0])
    rank = np.argsort(np.argsort(np.hypot(c[:, 0], c[:, 1]), kind="stable"), kind="stable")
    r = np.sqrt((rank + 0.5) / n)
    return np.column_stack([r * np.cos(angle), r * np.sin(angle)])


def _centres(affinity: Matrix, radius: np.ndarray) -> np.ndarray:
    """Cluster centres: classical MDS of ``1 - affinity / max``, then overlaps pushed apart."""
    k = len(affinity)
    if k == 1:
        return np.zeros((1, 2))
    top = float(affinity.max())
    d = 1.0 - affinity / top if top > 0 else 1.0 - np.eye(k)
    np.fill_diagonal(d, 0.0)
    j = np.eye(k) - 1.0 / k
    vals, vecs = np.linalg.eigh(-0.5 * j @ (d**2) @ j)
    centre = vecs[:, ::-1][:, :2] * np.sqrt(vals[::-1][:2].clip(min=1e-12))
    need = (radius[:, None] + radius[None, :]) * (1.0 + GAP)
    gaps = np.hypot(*(centre[None, :, :] - centre[:, None, :]).transpose(2, 0, 1))
    # scale the MDS until the closest pair of discs just clears (at most 3x the widest need across): the map
    # stays compact and keeps the MDS's proportions; the overlaps left are pushed apart below
    ratio = np.divide(need, gaps, out=np.full_like(need, np.inf), where=gaps > 1e-12)[~np.eye(k, dtype=bool)]
    extent = max(float(gaps.max()), 1e-12)
    centre = centre * min(float(ratio.max()), 3.0 * float(need.max()) / extent)
    tie = np.column_stack(
        [np.cos(np.arange(k)), np.sin(np.arange(k))]
    )  # fixed directions for coincident centres
    for _ in range(500):  # push every overlapping pair apart along the line between them
        v = centre[None, :, :] - centre[:, None, :]
        dist = np.hypot(v[..., 0], v[..., 1])
        short = (dist < need) & ~np.eye(k, dtype=bool)
        if not short.any():
            break
        unit = np.where(
            dist[..., None] > 1e-9, v / np.maximum(dist, 1e-9)[..., None], tie[None, :, :] - tie[:, None, :]
        )
        push = np.where(short, (need - dist) / 2.0, 0.0)[..., None] * unit
        centre = centre - push.sum(axis=1) * 0.5 + push.sum(axis=0) * 0.5
    return centre


def clusters_layout(sym: Matrix, positions: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """``[N, 2]``: each cluster of ``labels`` a disc, discs placed by residual affinity.

    Parameters
    ----------
    sym
        ``[N, N]`` symmetrised weights over the kept nodes.
    positions
        ``[N]`` each node's place in the text (for the distance baseline).
    labels
        ``[N]`` cluster per node (any integers).
    """
    excess = residual(sym, positions)
    ids, member = np.unique(labels, return_inverse=True)
    onehot = np.zeros((len(labels), len(ids)))
    onehot[np.arange(len(labels)), member] = 1.0
    size = onehot.sum(axis=0)
    between = (onehot.T @ excess @ onehot) / np.outer(size, size)
    np.fill_diagonal(between, 0.0)
    radius = np.sqrt(size)
    centre = _centres(between, radius)
    out = np.zeros((len(labels), 2))
    for c in range(len(ids)):
        m = np.flatnonzero(member == c)
        inside = (
            laplacian_embedding(excess[np.ix_(m, m)])
            if m.size > 2
            else laplacian_embedding(np.ones((m.size,) * 2))
        )
        out[m] = centre[c] + radius[c] * _disc(inside)
    return out


def spectral_layout(sym: Matrix) -> np.ndarray:
    """``[N, 2]``: the graph's first two non-trivial Laplacian eigenvectors (no partition, no baseline)."""
    return laplacian_embedding(sym)
