"""The symmetrised graph read a block of rows at a time: ``(W + Wᵀ) / 2`` without a ``T × T`` copy.

:class:`Symmetric` gives the numbers :func:`attn_widget.graph.threshold.symmetrise`
gives (the same additions and halving, bit for bit), a block of rows at a time, so
that the work after a long text's forward pass (the sweep, modularity, the
widget's state) holds the node weights once and a block besides. At 8,192 tokens
one float64 ``T × T`` is 512 MiB; a block is :data:`BLOCK_BYTES`. The thresholded
graph of such a matrix is read the same way (:meth:`Symmetric.edges`): the edges
``i < j`` of weight at least ``t``, one block of rows after another, in row order.
numpy only; knows nothing about models.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ..core.types import Matrix

BLOCK_BYTES = 8 * 2**20
"""Size of one block of rows of the symmetrised float64 weights."""

TILE = 64
"""Rows of ``W`` transposed at once when a block of ``Wᵀ`` is read."""


class Symmetric:
    """``(W + Wᵀ) / 2`` with a zero diagonal, for ``W`` ``[T, T]``, computed a block of rows when read.

    ``rows(a, b)`` is ``symmetrise(W)[a:b]``, equal bit for bit; ``blocks()`` walks
    all rows. ``toarray()`` builds the whole matrix (for code that needs it dense).
    """

    def __init__(self, weights: Matrix, block_bytes: int = BLOCK_BYTES) -> None:
        self.weights = weights
        self.n = len(weights)
        self.step = max(1, int(block_bytes) // (8 * max(self.n, 1)))
        self._max: float | None = None

    def __len__(self) -> int:
        return self.n

    @property
    def shape(self) -> tuple[int, int]:
        return self.n, self.n

    @property
    def size(self) -> int:
        return self.n * self.n

    def rows(self, a: int, b: int) -> np.ndarray:
        """Rows ``a … b - 1`` of the symmetrised weights (a new ``[b - a, T]`` array)."""
        w = self.weights
        s = np.empty((b - a, self.n), dtype=w.dtype)
        for j in range(
            0, self.n, TILE
        ):  # Wᵀ's rows copied in tiles: a strided read of whole columns is 5x slower
            s[:, j : j + TILE] = w[j : j + TILE, a:b].T
        s += w[a:b]  # the same sums as W + Wᵀ (addition commutes exactly)
        s /= 2.0
        s[np.arange(b - a), np.arange(a, b)] = 0.0
        return s

    def blocks(self) -> Iterator[tuple[int, np.ndarray]]:
        """``(first row, rows)`` for consecutive blocks covering every row."""
        for a in range(0, self.n, self.step):
            yield a, self.rows(a, min(a + self.step, self.n))

    def toarray(self) -> np.ndarray:
        """The whole ``[T, T]`` matrix (as ``symmetrise`` returns it)."""
        out = np.empty((self.n, self.n), dtype=self.weights.dtype)
        for a, s in self.blocks():
            out[a : a + len(s)] = s
        return out

    def max(self) -> float:
        """The strongest edge (0 for an empty graph)."""
        if self._max is None:
            self._max = max((float(s.max()) for _, s in self.blocks() if s.size), default=0.0)
        return self._max

    def linked(self) -> np.ndarray:
        """``[T]`` bool: the nodes with at least one edge of positive weight."""
        out = np.zeros(self.n, dtype=bool)
        for a, s in self.blocks():
            out[a : a + len(s)] = (s > 0).any(axis=1)
        return out

    def edges(self, t: float) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """``(src, dst, weight)`` of the edges ``src < dst`` of weight ``>= t`` and ``> 0``, by blocks.

        In row order (``src`` ascending, then ``dst``); ``src``/``dst`` int32.
        """
        for a, s in self.blocks():
            r, c = np.nonzero(upper(s, a, t))
            yield (r + a).astype(np.int32), c.astype(np.int32), s[r, c]


def upper(s: np.ndarray, a: int, t: float) -> np.ndarray:
    """``[rows, T]`` bool: entries right of the diagonal of weight ``>= t`` and ``> 0`` (rows from ``a``)."""
    keep = (s > 0) & (s >= t)
    keep[np.arange(len(s))[:, None] >= np.arange(s.shape[1])[None, :] - a] = False
    return keep


def dense(sym: Any) -> np.ndarray:
    """``sym`` as a ``[T, T]`` array (a :class:`Symmetric` is built whole)."""
    return sym.toarray() if isinstance(sym, Symmetric) else np.asarray(sym)
