"""Plausibility: how well predicted token groups or scores agree with human annotations.

Groups are lists of token-index sets (a :class:`~attn_widget.core.Partition`
or an :class:`~attn_widget.core.Analysis` is read as its clusters of two or
more tokens); scores are a ``[T]`` array with NaN for tokens left out.

- :func:`iou_f1`: ERASER's partial-match F1 (DeYoung et al. 2020): a predicted
  group matches when its intersection-over-union with some human group is at
  least 0.5. Precision is the share of predicted groups that match, recall the
  share of human groups matched by some predicted group. (ERASER's code counts
  matched predictions for recall too; the two differ only when two predicted
  groups each cover exactly half of one human group. Counting human groups
  keeps recall at most 1.)
- :func:`token_f1`: ERASER's token-level F1 between the tokens in any predicted
  group and the tokens in any human group.
- :func:`auprc`: area under the precision-recall curve (average precision, ties
  ranked together) of ``scores`` against the tokens in any human group.

No model runs here; every function is pure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..core import Analysis, Partition
from ..core.registry import Registry
from ..core.types import Matrix

Groups = list[frozenset[int]]


def as_groups(groups: Any, what: str = "groups") -> Groups:
    """``groups`` as a list of non-empty token-index sets (a Partition/Analysis: its clusters of 2+)."""
    if isinstance(groups, Analysis):
        return Partition.start(groups).groups()
    if isinstance(groups, Partition):
        return groups.groups()
    if isinstance(groups, (str, bytes)) or not isinstance(groups, Iterable):
        raise ValueError(
            f"{what} must be a list of token-index sets, e.g. [{{1, 2}}, {{5, 6, 7}}], not {groups!r}"
        )
    out: Groups = []
    for g in groups:
        if isinstance(g, (str, bytes, int)) or not isinstance(g, Iterable):
            raise ValueError(f"{what}: each group must be a set of token indices, got {g!r}")
        items = list(g)
        bad = [i for i in items if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or i < 0]
        if bad:
            raise ValueError(
                f"{what}: {bad} in group {sorted(items)!r} are not token indices (whole numbers >= 0)"
            )
        if not items:
            raise ValueError(f"{what}: an empty group marks no token; leave it out")
        out.append(frozenset(int(i) for i in items))
    return out


def _f1(p: float, r: float) -> float:
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def _iou(a: frozenset[int], b: frozenset[int]) -> float:
    return len(a & b) / len(a | b)


def iou_prf(predicted: Any, human: Any, threshold: float = 0.5) -> tuple[float, float, float]:
    """``(precision, recall, f1)`` of the group match behind :func:`iou_f1`."""
    pred, gold = as_groups(predicted, "predicted"), as_groups(human, "human")
    if not gold:
        raise ValueError("human has no groups: there is nothing to compare the prediction with")
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold={threshold!r} must be in (0, 1]; ERASER uses 0.5")
    if not pred:
        return 0.0, 0.0, 0.0
    ious = np.array([[_iou(p, g) for g in gold] for p in pred])
    precision = float((ious.max(axis=1) >= threshold).mean())
    recall = float((ious.max(axis=0) >= threshold).mean())
    return precision, recall, _f1(precision, recall)


def iou_f1(predicted: Any, human: Any, threshold: float = 0.5) -> float:
    """ERASER's IOU F1: groups overlapping a human group by IoU >= ``threshold`` count as matches.

    Parameters
    ----------
    predicted, human
        Lists of token-index sets (or a Partition / Analysis: its clusters of 2+ tokens).
    threshold
        Intersection-over-union a predicted group needs to match (0.5, as in ERASER).

    Returns
    -------
    float
        F1 of precision (share of predicted groups that match a human group) and
        recall (share of human groups matched); 0 when nothing is predicted.
    """
    return iou_prf(predicted, human, threshold)[2]


def token_prf(predicted: Any, human: Any) -> tuple[float, float, float]:
    """``(precision, recall, f1)`` of the token overlap behind :func:`token_f1`."""
    pred = frozenset().union(*as_groups(predicted, "predicted"))
    gold = frozenset().union(*as_groups(human, "human"))
    if not gold:
        raise ValueError("human marks no token: there is nothing to compare the prediction with")
    hit = len(pred & gold)
    precision = hit / len(pred) if pred else 0.0
    recall = hit / len(gold)
    return precision, recall, _f1(precision, recall)


def token_f1(predicted: Any, human: Any) -> float:
    """Token-level F1 (ERASER) between the tokens of the predicted and of the human groups."""
    return token_prf(predicted, human)[2]


def auprc(scores: Any, human: Any) -> float:
    """Area under the precision-recall curve of ``scores`` against the human-marked tokens.

    Parameters
    ----------
    scores
        ``[T]`` importance per token, higher first; NaN for tokens left out (not ranked).
    human
        Groups of token indices (any token in a group is a positive).

    Returns
    -------
    float
        Average precision: ``Σ (R_k - R_{k-1}) P_k`` over distinct score values,
        tied tokens taken together (as scikit-learn's ``average_precision_score``).
    """
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 1:
        raise ValueError(f"scores must be a [T] array (one number per token), got shape {s.shape}")
    positives = frozenset().union(*as_groups(human, "human"))
    outside = sorted(i for i in positives if i >= s.size)
    if outside:
        raise ValueError(
            f"human marks tokens {outside}, but scores has only {s.size} tokens (0..{s.size - 1})"
        )
    if np.isinf(s).any():
        raise ValueError("scores contain inf; give finite numbers (NaN for tokens left out)")
    ranked = np.flatnonzero(~np.isnan(s))
    y = np.isin(ranked, list(positives))
    if not y.any():
        raise ValueError("no human-marked token has a score (all NaN or none marked): AUPRC is undefined")
    order = np.argsort(-s[ranked], kind="stable")
    values, y = s[ranked][order], y[order]
    ends = np.r_[np.flatnonzero(np.diff(values)), values.size - 1]
    tps = np.cumsum(y)[ends]
    precision = tps / (ends + 1)
    recall = tps / tps[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


# ------------------------------------------------------------------ token scores
Scorer = Callable[[Matrix, np.ndarray], np.ndarray]
SCORES: Registry[Scorer] = Registry("token score")
"""Name → ``score(weights, kept) -> [N]`` importance of the kept tokens (see :func:`token_scores`)."""


@SCORES.register("received")
def received(weights: Matrix, kept: np.ndarray) -> np.ndarray:
    """Attention each token receives from the other kept tokens (a column sum, self left out)."""
    w = np.asarray(weights, dtype=np.float64)[np.ix_(kept, kept)].copy()
    np.fill_diagonal(w, 0.0)
    return w.sum(axis=0)


@SCORES.register("next")
def next_word(weights: Matrix, kept: np.ndarray) -> np.ndarray:
    """The last kept token's attention to each token: what it reads to predict the next word."""
    row = np.asarray(weights, dtype=np.float64)[kept[-1], kept].copy()
    row[-1] = 0.0
    return row


def token_scores(analysis: Analysis, kind: str = "received") -> np.ndarray:
    """``[T]`` token importance from ``analysis``'s graph, NaN for left-out tokens.

    ``kind`` is a key of :data:`SCORES`: ``"received"`` (attention received) or
    ``"next"`` (the last token's attention, for "which words matter for the next word").
    """
    score = SCORES[kind]
    n = len(analysis.tokens)
    kept = np.array([i for i in range(n) if i not in set(analysis.excluded)], dtype=np.intp)
    out = np.full(n, np.nan)
    if kept.size:
        out[kept] = score(analysis.weights, kept)
    return out
