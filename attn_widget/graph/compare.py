"""Compare two analyses: align their tokens, match their clusters, find the links that changed most.

Two texts on one model (a minimal pair) or one text on two models. The tokens
are aligned into units (:mod:`attn_widget.graph.align`); each side's
partition is read over the units (a word's cluster is its tokens' most common
one) and matched (:mod:`attn_widget.graph.matching`). A unit *moved* when its
cluster mates among the aligned units differ between the sides, or it is left
out on one side only. A unit's *link change* is half the summed absolute
difference of its symmetrised links to the other aligned units (each side's
token weights summed per unit, averaged over the unit's tokens). numpy only.
"""

from __future__ import annotations

import numpy as np

from ..core import Analysis, Comparison, LinkChange
from ..core.types import Matrix
from .align import align
from .matching import match_labels
from .threshold import symmetrise

TOP_CHANGED = 10
"""Units listed in :attr:`Comparison.changed`."""


def unit_weights(weights: Matrix, units: np.ndarray, n_units: int) -> Matrix:
    """``[U, U]`` symmetrised link weights between units (see the module docstring)."""
    kept = units >= 0
    member = np.zeros((units.size, n_units))
    member[np.flatnonzero(kept), units[kept]] = 1.0
    counts = np.maximum(member.sum(axis=0), 1.0)
    per_unit = member.T @ np.asarray(weights, dtype=np.float64) @ member / counts[:, None]
    return symmetrise(per_unit)


def moved_units(ua: np.ndarray, ub: np.ndarray) -> tuple[int, ...]:
    """Units whose cluster mates differ between the sides, or that are left out on one side only."""
    same_a = (ua[:, None] == ua[None, :]) & (ua[:, None] >= 0)
    same_b = (ub[:, None] == ub[None, :]) & (ub[:, None] >= 0)
    status = (ua < 0) != (ub < 0)
    return tuple(int(u) for u in np.flatnonzero((same_a != same_b).any(axis=1) | status))


def link_changes(
    sa: Matrix, sb: Matrix, texts: tuple[str, ...], a_units: np.ndarray, b_units: np.ndarray, top: int
) -> tuple[LinkChange, ...]:
    """The ``top`` units whose links changed most (none when nothing changed)."""
    diff = sb - sa
    change = 0.5 * np.abs(diff).sum(axis=1)
    order = [int(u) for u in np.argsort(-change, kind="stable")[:top] if change[u] > 0]
    out = []
    for u in order:
        gain, loss = int(np.argmax(diff[u])), int(np.argmin(diff[u]))
        out.append(
            LinkChange(
                unit=u,
                a_token=int(np.flatnonzero(a_units == u)[0]),
                b_token=int(np.flatnonzero(b_units == u)[0]),
                text=texts[u],
                change=float(change[u]),
                gained=texts[gain] if diff[u, gain] > 0 else None,
                lost=texts[loss] if diff[u, loss] < 0 else None,
            )
        )
    return tuple(out)


def compare(a: Analysis, b: Analysis, *, top: int = TOP_CHANGED) -> Comparison:
    """Compare analyses ``a`` and ``b`` (see the module docstring)."""
    same_model = a.model is not None and a.model == b.model
    al = align(a.tokens, a.text, b.tokens, b.text, same_model=same_model)
    n = len(al.text)
    matching, ua, ub = match_labels(a.labels, b.labels, al.a_units, al.b_units, n)
    sa = unit_weights(a.weights, al.a_units, n)
    sb = unit_weights(b.weights, al.b_units, n)
    return Comparison(
        a=a,
        b=b,
        unit=al.unit,
        a_units=al.a_units,
        b_units=al.b_units,
        unit_text=al.text,
        matching=matching,
        modularity_change=float(b.modularity - a.modularity),
        moved=moved_units(ua, ub),
        changed=link_changes(sa, sb, al.text, al.a_units, al.b_units, top),
    )
