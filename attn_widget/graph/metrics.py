"""Scores of partitions of a token graph: modularity (whole and per community), adjusted Rand index."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..core.types import EXCLUDED, Labels, Matrix
from .symmetric import Symmetric


def community_terms(sym: Matrix | Symmetric, labels: Labels) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per community: its label, internal weight ``in_c`` (each edge twice) and degree ``deg_c``.

    One product of ``sym`` with the communities' sparse membership matrix:
    ``O(T²)`` whatever the number of communities, and no ``T × T`` copy.
    Excluded tokens (``-1``) are left out. A :class:`Symmetric` is read a block of
    rows at a time (:func:`community_terms_many`).
    """
    from scipy.sparse import csr_matrix

    if isinstance(sym, Symmetric):
        return community_terms_many(sym, [labels])[0]
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


def community_terms_many(
    sym: Symmetric, partitions: Sequence[Labels] | np.ndarray
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """:func:`community_terms` of each partition, in one pass over ``sym``'s blocks of rows.

    Each block of rows is a block of columns too (``sym`` is symmetric), so the weight
    from each community to those columns is the array form's product, column for
    column, and each sum runs over the columns in the same order: the same numbers, bit
    for bit, with a ``[community, block]`` table at a time instead of ``[community, token]``.
    """
    from scipy.sparse import csr_matrix

    parts = []
    for labels in partitions:
        labels = np.asarray(labels)
        kept = np.flatnonzero(labels != EXCLUDED)
        ids, inv = np.unique(labels[kept], return_inverse=True)
        member = csr_matrix((np.ones(kept.size), (inv, kept)), shape=(ids.size, len(labels)))
        position = np.full(len(labels), -1, dtype=np.int64)  # each token's column among the kept
        position[kept] = np.arange(kept.size)
        # one community: numpy sums its one-row table pairwise, so the row is kept whole (T floats)
        whole = np.zeros(kept.size) if ids.size == 1 else None
        parts.append((ids, inv, member, position, np.zeros(kept.size), np.zeros(ids.size), whole))
    for a, s in sym.blocks():
        columns = np.ascontiguousarray(s.T)  # sym[:, a:b]
        for _, inv, member, position, inside, degree, whole in parts:
            cols = np.flatnonzero(position[a : a + len(s)] >= 0)
            at = position[a + cols]
            per = np.asarray(member @ columns)[:, cols]  # [community, these kept tokens]
            inside[at] = per[inv[at], np.arange(cols.size)]
            if whole is not None:
                whole[at] = per[0]
                continue
            running = np.empty((degree.size, 1 + cols.size), order="F")  # summed column after column,
            running[:, 0] = degree  # as numpy sums the array form's (column-major) table
            running[:, 1:] = per
            degree[:] = running.sum(axis=1)
    return [
        (
            ids,
            np.bincount(inv, weights=inside, minlength=ids.size),
            degree if whole is None else whole[None, :].sum(axis=1),
        )
        for ids, inv, _, _, inside, degree, whole in parts
    ]


def modularity(sym: Matrix | Symmetric, labels: Labels) -> float:
    """Newman modularity of ``labels`` on the weighted graph ``sym`` (excluded tokens ignored).

    ``Q = Σ_c (in_c / 2m - (deg_c / 2m)²)`` with ``2m`` the total weight of ``sym``.
    """
    return _modularity(*community_terms(sym, labels)[1:])


def modularities(sym: Matrix | Symmetric, partitions: Sequence[Labels] | np.ndarray) -> list[float]:
    """:func:`modularity` of each partition (one pass over a :class:`Symmetric`'s blocks)."""
    if isinstance(sym, Symmetric):
        return [_modularity(inside, degree) for _, inside, degree in community_terms_many(sym, partitions)]
    return [modularity(sym, labels) for labels in partitions]


def _modularity(inside: np.ndarray, degree: np.ndarray) -> float:
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
    """Adjusted Rand index between two labelings (1 = identical partitions); memory ``O(T)``."""
    _, ia = np.unique(a, return_inverse=True)
    _, ib = np.unique(b, return_inverse=True)
    ia, ib = ia.ravel().astype(np.int64), ib.ravel().astype(np.int64)
    # the contingency table's non-empty cells only: for two partitions of 8,192 tokens into
    # thousands of groups the whole table would take hundreds of MB
    _, cells = np.unique(ia * (int(ib.max()) + 1) + ib, return_counts=True)

    def pairs(x: np.ndarray) -> float:
        x = x.astype(np.float64)
        return float((x * (x - 1) / 2).sum())

    n = len(a)
    total = n * (n - 1) / 2
    index = pairs(cells)
    sa, sb = pairs(np.bincount(ia)), pairs(np.bincount(ib))
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
