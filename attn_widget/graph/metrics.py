"""Scores of partitions of a token graph: modularity (whole and per community), adjusted Rand index."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..core.types import EXCLUDED, Labels, Matrix


def community_terms(sym: Matrix, labels: Labels) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per community: its label, internal weight ``in_c`` (each edge twice) and degree ``deg_c``.

    One product of ``sym`` with the communities' sparse membership matrix:
    ``O(T²)`` whatever the number of communities, and no ``T × T`` copy.
    Excluded tokens (``-1``) are left out.
    """
    from scipy.sparse import csr_matrix

    labels = np.asarray(labels)
    kept = np.flatnonzero(labels != EXCLUDED)
    ids, inv = np.unique(labels[kept], return_inverse=True)
    if not kept.size:
        return ids, np.zeros(0), np.zeros(0)
    member = csr_matrix((np.ones(kept.size), (inv, kept)), shape=(ids.size, len(labels)))
    per = np.asarray(member @ np.asarray(sym))[:, kept]  # [community, kept token]: weight from the community
    inside = np.bincount(inv, weights=per[inv, np.arange(kept.size)], minlength=ids.size)
    degree = per.sum(axis=1)
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


def contiguity(labels: Labels) -> float:
    """Share of neighbouring token pairs (both in the graph) that fall in the same cluster.

    1.0 when every cluster is a run of neighbouring tokens that covers its stretch
    of text (chunks); near ``Σ (size/T)²`` for a random partition.
    """
    labels = np.asarray(labels)
    kept = np.flatnonzero(labels != EXCLUDED)
    if kept.size < 2:
        return 1.0
    lab = labels[kept]
    return float(np.mean(lab[1:] == lab[:-1]))


def contiguous_like(labels: Labels) -> Labels:
    """Runs of neighbouring tokens with the sizes of ``labels``' clusters, in order of first token."""
    labels = np.asarray(labels)
    kept = np.flatnonzero(labels != EXCLUDED)
    ids, first = np.unique(labels[kept], return_index=True)
    sizes = [int((labels == c).sum()) for c in ids[np.argsort(first)]]
    out = labels.copy()
    out[kept] = np.repeat(np.arange(len(sizes)), sizes)
    return out


def random_like(labels: Labels, n: int, seed: int = 0) -> list[Labels]:
    """``n`` random partitions with the cluster sizes of ``labels`` (left-out tokens stay left out)."""
    labels = np.asarray(labels)
    kept = np.flatnonzero(labels != EXCLUDED)
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(int(n)):
        shuffled = labels.copy()
        shuffled[kept] = rng.permutation(labels[kept])
        out.append(shuffled)
    return out
