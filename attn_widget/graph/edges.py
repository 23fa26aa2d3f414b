"""An undirected graph as a list of edges, and what a threshold mode answers about one weight matrix.

:class:`Edges` and :class:`Pruner` are shared by the dense thresholds
(:mod:`attn_widget.graph.threshold`) and the block-wise ones
(:mod:`attn_widget.graph.blockwise`); numpy only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from ..core.types import Matrix

if TYPE_CHECKING:
    from .blockwise import BlockEdges


class Edges(NamedTuple):
    """An undirected graph on ``n`` nodes as its edges ``src < dst`` (each once) and their weights."""

    n: int
    src: np.ndarray
    dst: np.ndarray
    weight: np.ndarray

    def matrix(self) -> Any:
        """The symmetric ``[n, n]`` adjacency as a ``scipy.sparse.csr_matrix`` (rows sorted)."""
        from scipy.sparse import coo_matrix

        rows = np.concatenate([self.src, self.dst])
        cols = np.concatenate([self.dst, self.src])
        both = np.concatenate([self.weight, self.weight])
        out = coo_matrix((both, (rows, cols)), shape=(self.n,) * 2).tocsr()
        out.sort_indices()
        return out


class Pruner(NamedTuple):
    """Thresholding of one weight matrix.

    ``prune(t)`` is the kept graph (dense) and ``edges(t)`` the same graph as
    an :class:`Edges` list (what the sweep clusters: no dense ``T × T`` copy per
    threshold; for a :class:`~attn_widget.graph.symmetric.Symmetric` matrix a
    :class:`~attn_widget.graph.blockwise.BlockEdges`, read in blocks of rows),
    ``n_edges(t)`` its number of edges;
    ``for_edges(counts)`` gives, for each edge count, a threshold keeping that
    many edges (ties may keep a few more); ``fewest`` is the fewest edges a
    threshold inside the mode's range can keep and ``total`` the most.
    Graphs of one mode are nested: the more edges ``n_edges(t)`` reports, the
    more of the same edges ``prune(t)`` keeps.
    """

    prune: Callable[[float], Matrix]
    edges: Callable[[float], Edges | BlockEdges]
    n_edges: Callable[[float], int]
    for_edges: Callable[[np.ndarray], np.ndarray]
    fewest: int
    total: int
