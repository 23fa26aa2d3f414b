"""Pool a token graph into a graph of units (words or sentences): the pooling rule, in one place.

The attention from unit ``a`` to unit ``b`` is the mean, over ``a``'s tokens,
of the summed attention each gives to ``b``'s tokens:
``W_ab = (1 / |a|) Σ_{i∈a} Σ_{j∈b} W_ij``; rows are then renormalised (a token
left out of the graph gives and receives nothing, so a unit with such a token
averages over the others). A unit all of whose tokens are left out is left out.
How tokens group into units is :mod:`attn_widget.core.units`. numpy only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..core.types import Matrix
from ..core.units import Units
from .aggregate import renormalise


def pool(weights: Matrix, units: Units, excluded: Sequence[int] = ()) -> Matrix:
    """``[U, U]`` unit graph from the ``[T, T]`` token graph ``weights`` (rows of kept units sum to 1).

    ``excluded``: unit indices left out (their rows and columns are 0).
    """
    w = np.asarray(weights, dtype=np.float64)
    if units.kind == "token":
        return renormalise(w, excluded)
    if w.shape != (units.starts[-1],) * 2:
        raise ValueError(f"a {w.shape} token graph cannot be pooled into units of {units.starts[-1]} tokens")
    starts = units.starts[:-1]
    rows = np.add.reduceat(w, starts, axis=0) / units.sizes[:, None]  # mean over the unit's tokens
    return renormalise(np.add.reduceat(rows, starts, axis=1), excluded)  # summed over the other's tokens
