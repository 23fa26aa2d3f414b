"""Absolute thresholds on a :class:`~attn_widget.graph.symmetric.Symmetric` graph, no list of every pair.

The dense pruner (:func:`attn_widget.graph.threshold.absolute` on an array) lists
every edge ``i < j`` and sorts them: ``T²/2`` edges, 16 bytes each and as much
again while sorting (1 GiB at 8,192 tokens). This one answers the same questions
(:class:`~attn_widget.graph.edges.Pruner`) with the same numbers from passes
over blocks of rows:

- edge counts at a threshold and the ``c``-th strongest edge come from a
  histogram of the weights' leading bits (one pass) and, for the few bins the
  asked thresholds fall in, those bins' exact weights (a second pass);
- a thresholded graph is a :class:`BlockEdges`: its edges are read a block of
  rows at a time when clustered (:mod:`attn_widget.graph.cluster`), and listed
  whole only for a sparse graph.

numpy only; knows nothing about models.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..core.types import Matrix
from .edges import Edges, Pruner
from .symmetric import Symmetric, upper

SHIFT = 40
"""Bits of a float64 weight dropped to make its histogram bin (52-bit mantissa: bins 2⁻¹² wide)."""


def _key(values: np.ndarray | float) -> np.ndarray:
    """Histogram bin of positive float64 values (their bit patterns order as the values do)."""
    return np.asarray(values, dtype=np.float64).view(np.uint64) >> np.uint64(SHIFT)


class BlockEdges:
    """The edges ``i < j`` of ``sym`` with weight ``>= t``: ``count`` of them, read in blocks of rows."""

    def __init__(self, sym: Symmetric, t: float, count: int) -> None:
        self.n, self.sym, self.t, self.count = sym.n, sym, float(t), int(count)

    def chunks(self) -> Iterator[Edges]:
        """The edges as consecutive :class:`Edges` lists (row order), one per block of rows."""
        for src, dst, weight in self.sym.edges(self.t):
            yield Edges(self.n, src, dst, weight)

    def edges(self) -> Edges:
        """All the edges in one list (for a sparse graph)."""
        parts = list(self.chunks())
        if not parts:
            return Edges(self.n, *(np.zeros(0, dtype=d) for d in (np.int32, np.int32, np.float64)))
        return Edges(
            self.n, *(np.concatenate([getattr(p, f) for p in parts]) for f in ("src", "dst", "weight"))
        )


class _Histogram:
    """Counts of the positive upper-triangle weights of ``sym`` per bin, and exact weights of chosen bins."""

    def __init__(self, sym: Symmetric) -> None:
        self.sym = sym
        lo, counts = 0, np.zeros(0, dtype=np.int64)
        for a, s in sym.blocks():
            keys = _key(s[upper(s, a, 0.0)])
            if not keys.size:
                continue
            k0, k1 = int(keys.min()), int(keys.max())
            if not counts.size:
                lo = k0
            start, stop = min(lo, k0), max(lo + counts.size, k1 + 1)
            grown = np.zeros(stop - start, dtype=np.int64)
            grown[lo - start : lo - start + counts.size] = counts
            grown[k0 - start : k1 + 1 - start] += np.bincount((keys - np.uint64(k0)).astype(np.int64))
            lo, counts = start, grown
        self.lo, self.counts = lo, counts
        self.total = int(counts.sum())
        self.above = np.concatenate([np.cumsum(counts[::-1])[::-1][1:], [0]])  # weights in higher bins
        self.exact: dict[int, np.ndarray] = {}  # bin -> its weights, descending

    def load(self, bins: set[int]) -> None:
        """Read the exact weights of ``bins`` (one pass over the blocks)."""
        wanted = np.array(sorted(b for b in bins if b not in self.exact), dtype=np.int64)
        if not wanted.size:
            return
        got: list[np.ndarray] = []
        for a, s in self.sym.blocks():
            values = s[upper(s, a, 0.0)]
            got.append(values[np.isin(_key(values).astype(np.int64) - self.lo, wanted)])
        values = np.concatenate(got) if got else np.zeros(0)
        bins_of = _key(values).astype(np.int64) - self.lo
        for b in wanted.tolist():
            self.exact[b] = -np.sort(-values[bins_of == b], kind="stable")

    def strongest(self, counts: np.ndarray) -> np.ndarray:
        """The ``c``-th strongest weight for each ``c`` in ``counts`` (1 ≤ c ≤ total)."""
        counts = np.asarray(counts, dtype=np.int64)
        # the bin holding the c-th strongest: the highest bin with at least c weights at or above it
        at_or_above = self.above + self.counts
        bins = np.searchsorted(-at_or_above, -counts, side="right") - 1
        self.load(set(bins.tolist()))
        return np.array(
            [
                self.exact[b][c - self.above[b] - 1]
                for b, c in zip(bins.tolist(), counts.tolist(), strict=True)
            ]
        )

    def n_at_least(self, t: float) -> int:
        """Weights ``>= t`` (all positive ones for ``t <= 0``)."""
        if t <= 0 or not self.total:
            return self.total
        b = int(_key(t)) - self.lo
        if b < 0:
            return self.total
        if b >= self.counts.size:
            return 0
        if not self.counts[b]:
            return int(self.above[b])
        self.load({b})
        inside = self.exact[b]
        return int(self.above[b]) + int(np.count_nonzero(inside >= t))


def lean_absolute(weights: Matrix, sym: Symmetric) -> Pruner:
    """The pruner of :func:`attn_widget.graph.threshold.absolute` for a :class:`Symmetric` (same numbers)."""
    hist = _Histogram(sym)
    cache: dict[float, int] = {}

    def n_edges(t: float) -> int:
        t = float(t)
        if t not in cache:
            cache[t] = hist.n_at_least(t)
        return cache[t]

    def kept(t: float) -> BlockEdges:
        return BlockEdges(sym, t, n_edges(t))

    def for_edges(counts: np.ndarray) -> np.ndarray:
        if not hist.total:
            return np.zeros(len(counts))
        return hist.strongest(np.clip(counts, 1, hist.total))

    def prune(t: float) -> Matrix:
        s = sym.toarray()
        return np.where(s >= t, s, 0.0)

    return Pruner(prune, kept, n_edges, for_edges, 0, hist.total)
