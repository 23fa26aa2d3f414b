"""Shares and the numbers shown for them, rounded one way everywhere.

The table, the evidence, the claims and the prose all say "61%" of the same
thing; they compute it here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .types import Matrix


def rounded(x: float) -> float:
    """A share stored in evidence: 4 decimals."""
    return round(float(x), 4)


def pct(share: float) -> int:
    """A share in [0, 1] as the whole percent shown to the reader."""
    return round(float(share) * 100)


def lift1(lift: float) -> float:
    """A head's share relative to an average head, as shown (one decimal)."""
    return round(float(lift), 1)


def score2(score: float) -> float:
    """A role score as shown to the reader (two decimals)."""
    return round(float(score), 2)


def attention_shares(weights: Matrix, members: Sequence[int] | np.ndarray) -> dict[str, float]:
    """Where ``members`` send their attention in ``weights`` (``[T, T]``, rows = senders).

    Returns
    -------
    dict
        ``internal`` (to other members), ``self`` (to the token itself),
        ``external`` (to everything else) and ``inside`` (internal + self):
        fractions of the members' total row mass, rounded to 4 decimals.
    """
    members = np.asarray(members, dtype=int)
    rows = weights[members]
    total = max(rows.sum(), 1e-12)
    own = weights[members, members].sum()
    inside = rows[:, members].sum() - own
    return {
        "internal": rounded(inside / total),
        "self": rounded(own / total),
        "external": rounded(1 - (inside + own) / total),
        "inside": rounded((inside + own) / total),
    }
