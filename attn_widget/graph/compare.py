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
from ..core.comparison import VISIBLE_CHANGE
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
    """The ``top`` units whose links changed most, by :data:`VISIBLE_CHANGE` or more (none: nothing did)."""
    diff = sb - sa
    change = 0.5 * np.abs(diff).sum(axis=1)
    order = [int(u) for u in np.argsort(-change, kind="stable")[:top] if change[u] >= VISIBLE_CHANGE]
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


def is_causal(analysis: Analysis) -> bool:
    """Whether no token attends to a later one (a causal model's attention), judged from what was kept."""
    if analysis.attentions is not None:
        w = np.asarray(analysis.attentions).max(axis=(0, 1))
    else:
        w = np.asarray(analysis.token_weights if analysis.token_weights is not None else analysis.weights)
    return w.shape[0] > 1 and not np.triu(w, 1).any()


def why_same(a: Analysis, b: Analysis, a_units: np.ndarray, b_units: np.ndarray) -> str:
    """Why the clusters of ``a`` and ``b`` match (asked only when they do)."""
    if not ((a_units < 0).any() or (b_units < 0).any()):
        return "The clusters match: the two texts are the same, and so is how they are grouped."
    first = int(np.flatnonzero(a_units < 0)[0]) if (a_units < 0).any() else int(a_units.size)
    if a.model is not None and a.model == b.model and is_causal(a) and is_causal(b):
        if first <= 1:
            return ("The clusters match. The texts differ from their first word, so every token could have "
                    "regrouped; at this threshold they formed the same groups anyway.")
        word = a.tokens[first].text.strip() if first < len(a.tokens) else ""
        where = f" ({word!r})" if word else ""
        return (
            f"The clusters match. The model reads left to right, so the {first} tokens before the first "
            f"difference{where} attend exactly as before and cannot change; only the tokens from there on "
            "could regroup, and at this threshold they joined the same groups."
        )
    return (
        "The clusters match: the tokens that differ did not change which tokens group together at these "
        "thresholds (the links can still differ; see the changes listed)."
    )


def compare(a: Analysis, b: Analysis, *, top: int = TOP_CHANGED) -> Comparison:
    """Compare analyses ``a`` and ``b`` (see the module docstring)."""
    same_model = a.model is not None and a.model == b.model
    al = align(a.tokens, a.text, b.tokens, b.text, same_model=same_model)
    n = len(al.text)
    matching, ua, ub = match_labels(a.labels, b.labels, al.a_units, al.b_units, n)
    sa = unit_weights(a.weights, al.a_units, n)
    sb = unit_weights(b.weights, al.b_units, n)
    moved = moved_units(ua, ub)
    same = matching.unchanged and not moved
    return Comparison(
        a=a,
        b=b,
        unit=al.unit,
        a_units=al.a_units,
        b_units=al.b_units,
        unit_text=al.text,
        matching=matching,
        modularity_change=float(b.modularity - a.modularity),
        moved=moved,
        changed=link_changes(sa, sb, al.text, al.a_units, al.b_units, top),
        why_same=why_same(a, b, al.a_units, al.b_units) if same else "",
    )
