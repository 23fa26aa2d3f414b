"""Read a streamed analysis's per-head strongest links (``top_index`` / ``top_weight``).

A streaming pass keeps, per head and query, the ``k`` strongest keys and their
weights (``[layer, head, T, k]``, :mod:`attn_widget.extract.hooks`). These
helpers turn them back into what a kept ``[layer, head, T, T]`` array would give
for a few tokens: the attention among them (weights outside the top ``k`` read
as 0, so rows sum to less than 1) and the mass a group keeps inside itself.
numpy only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


def has_top(head_data: Mapping[str, np.ndarray]) -> bool:
    """Whether ``head_data`` holds the strongest links of every head."""
    return "top_index" in head_data and "top_weight" in head_data


def sub_attention(
    head_data: Mapping[str, np.ndarray],
    rows: Sequence[int] | np.ndarray,
    cols: Sequence[int] | np.ndarray | None = None,
) -> np.ndarray:
    """``[layer, head, len(rows), len(cols)]`` float32: the kept links from ``rows`` to ``cols``.

    ``cols`` defaults to ``rows``.
    """
    index = np.asarray(head_data["top_index"])
    weight = np.asarray(head_data["top_weight"], dtype=np.float32)
    at = np.asarray(rows, dtype=np.int64)
    to = at if cols is None else np.asarray(cols, dtype=np.int64)
    where = np.full(index.shape[2], -1, dtype=np.int64)
    where[to] = np.arange(to.size)
    idx = index[:, :, at]  # [L, H, r, k]
    w = weight[:, :, at]
    col = where[np.clip(idx, 0, index.shape[2] - 1)]
    out = np.zeros((*index.shape[:2], at.size, to.size), dtype=np.float32)
    hit = (col >= 0) & (w > 0)
    layer, head, row, slot = np.nonzero(hit)
    np.add.at(out, (layer, head, row, col[hit]), w[layer, head, row, slot])
    return out


def inside_mass(head_data: Mapping[str, np.ndarray], members: Sequence[int] | np.ndarray) -> np.ndarray:
    """``[layer, head]``: the kept attention between different ``members`` (top links inside the group)."""
    index = np.asarray(head_data["top_index"])
    rows = np.asarray(members, dtype=np.int64)
    inside = np.zeros(index.shape[2], dtype=bool)
    inside[rows] = True
    idx = index[:, :, rows]  # [L, H, r, k]
    keep = inside[np.clip(idx, 0, index.shape[2] - 1)] & (idx != rows[:, None])
    w = np.asarray(head_data["top_weight"])[:, :, rows].astype(np.float64)
    return (w * keep).sum(axis=(-1, -2))
