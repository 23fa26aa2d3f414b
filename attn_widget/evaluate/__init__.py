"""Evaluation metrics: plausibility against human groupings, and faithfulness curves.

Plausibility (pure functions of token-index sets, :mod:`.plausibility`):
:func:`iou_f1` (a group matches when its overlap is at least 0.5, as in ERASER),
:func:`token_f1`, :func:`auprc` and the token scores they rank
(:data:`SCORES`, :func:`token_scores`). Faithfulness curves (extra forward
passes, :mod:`.curves`): :func:`fad_curve` removes tokens or attention edges in
order of importance and records how the prediction changes, with its
normalised area (N-AUC) against random orders and :func:`auc_tp`.

Sits beside :mod:`attn_widget.explain` (it reads analyses and runs perturbed
passes through :mod:`attn_widget.extract.perturb`); it never touches the widget.
"""

from .curves import FadCurve, auc_tp, clear_cache, fad_curve
from .plausibility import SCORES, as_groups, auprc, iou_f1, iou_prf, token_f1, token_prf, token_scores

__all__ = [
    "SCORES",
    "FadCurve",
    "as_groups",
    "auc_tp",
    "auprc",
    "clear_cache",
    "fad_curve",
    "iou_f1",
    "iou_prf",
    "token_f1",
    "token_prf",
    "token_scores",
]
