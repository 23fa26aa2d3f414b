"""Links that skip over words: ranked by how far they exceed attention at their distance.

In most texts the strongest links are between neighbours, so ranking links by
weight alone draws word order. :func:`long_range` compares each link with the
*distance baseline*, the mean weight of every link at the same distance in the
same text, and ranks by the excess. Pure numpy over the graph's weights; the
arcs the view draws are assembled in :mod:`attn_widget.runs.arcs`.
"""

from __future__ import annotations

import numpy as np

from ..core.types import Matrix

MIN_DISTANCE = 3
"""Nodes apart (at least two words between) for a link to count as long-range."""
CONFIDENT_LIFT = 3.0
"""A long-range link at least this many times its distance baseline is drawn solid."""
MIN_LIFT = 1.5
"""Links weaker than this many times their baseline are never drawn."""
PER_NODE = 2
"""At most this many long-range arcs leave or reach one node (no fans)."""


def distance_baseline(weights: Matrix, kept: np.ndarray) -> np.ndarray:
    """``[T]``: entry ``d`` is the mean weight ``weights[i, i - d]`` over kept pairs (0 where none)."""
    w = np.asarray(weights, dtype=np.float64)
    n = w.shape[0]
    base = np.zeros(n)
    for d in range(1, n):
        rows = np.arange(d, n)
        ok = kept[rows] & kept[rows - d]
        if ok.any():
            base[d] = float(w[rows[ok], rows[ok] - d].mean())
    return base


def long_range(
    weights: Matrix, eligible: np.ndarray, k: int, *, kept: np.ndarray | None = None,
    positions: np.ndarray | None = None, min_distance: int = MIN_DISTANCE,
) -> list[tuple[int, int, float, float]]:
    """``(source, target, weight, baseline)`` for the ``k`` links that most exceed their distance baseline.

    ``weights[i, j]`` is the share of node ``i``'s attention on node ``j``; only
    links back (``j < i``) at least ``min_distance`` apart between ``eligible``
    nodes count, each at least :data:`MIN_LIFT` times its baseline, and at most
    :data:`PER_NODE` arcs per node. ``kept``: nodes in the graph (the baseline's
    pairs); default every node. ``positions``: each node's word number, so that
    the distance is counted in words when nodes are sub-word tokens (default:
    the node index). Strongest excess first.
    """
    w = np.asarray(weights, dtype=np.float64)
    n = w.shape[0]
    eligible = np.asarray(eligible, dtype=bool)
    kept = np.ones(n, dtype=bool) if kept is None else np.asarray(kept, dtype=bool)
    if k <= 0 or n <= min_distance:
        return []
    base = distance_baseline(w, kept)
    rows: list[np.ndarray] = []
    pos = np.arange(n) if positions is None else np.asarray(positions)
    for i in np.flatnonzero(eligible & (pos >= min_distance)):  # one row at a time: memory O(T)
        j = np.flatnonzero(eligible[:i] & (pos[:i] <= pos[i] - min_distance))
        weight, baseline = w[i, j], base[i - j]
        good = (weight > 0) & (weight >= MIN_LIFT * baseline)
        if not good.any():
            continue
        j, weight, baseline = j[good], weight[good], baseline[good]
        top = np.argsort(-(weight - baseline), kind="stable")[: PER_NODE * 2]  # a row's best few
        rows.append(np.column_stack([np.full(top.size, i), j[top], weight[top], baseline[top]]))
    if not rows:
        return []
    cand = np.concatenate(rows)
    src, dst = cand[:, 0].astype(int), cand[:, 1].astype(int)
    weight, baseline = cand[:, 2], cand[:, 3]
    order = np.lexsort((dst, src, -(weight - baseline)))  # excess first; ties in reading order
    used = np.zeros(n, dtype=int)
    out: list[tuple[int, int, float, float]] = []
    for o in order:
        a, b = int(src[o]), int(dst[o])
        if used[a] >= PER_NODE or used[b] >= PER_NODE:
            continue
        used[a] += 1
        used[b] += 1
        out.append((a, b, float(weight[o]), float(baseline[o])))
        if len(out) == k:
            break
    return out
