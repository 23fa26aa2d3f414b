"""Plausibility in a study: the participants' marked groups against the model's, per person and condition.

Marking tasks (``Task(mark="together" | "next_word")``) record the marked token
groups as a task answer (:func:`attn_widget.study.responses.marks_of`). Here
each such answer is scored against what the model shows for that task with
:mod:`attn_widget.evaluate`: :func:`~attn_widget.evaluate.iou_f1` and
:func:`~attn_widget.evaluate.token_f1` against the predicted groups, and
:func:`~attn_widget.evaluate.auprc` of the token scores (when given) against
the marked tokens. :func:`plausibility_table` averages them per participant
and condition, as the other study measures are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ..evaluate import auprc, iou_f1, token_f1
from .responses import marks_of

if TYPE_CHECKING:
    import pandas as pd

METRICS = ("iou_f1", "token_f1", "auprc")


def plausibility(
    df: pd.DataFrame, predicted: Mapping[str, Any], scores: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """One row per marking answer: participant, condition, task and the three metrics.

    Parameters
    ----------
    df
        Responses (:meth:`Study.responses` or an export).
    predicted
        Task id → the model's groups for that task (token-index sets, or an
        Analysis / Partition: its clusters of 2+ tokens, e.g. ``w.partition``).
        Marking answers of other tasks are left out.
    scores
        Task id → ``[T]`` token scores for AUPRC (e.g.
        :func:`attn_widget.evaluate.token_scores`); without it ``auprc`` is NaN.
    """
    import pandas as pd

    rows = []
    tasks = df[(df["kind"] == "task") & df["task_id"].isin(list(predicted))]
    for r in tasks.itertuples(index=False):
        try:
            human = marks_of(str(r.answer))
        except ValueError:
            continue  # a question answered in a task that is not a marking one
        score = scores.get(str(r.task_id)) if scores else None
        rows.append(
            {
                "participant_id": r.participant_id,
                "condition": r.condition,
                "task_id": r.task_id,
                "iou_f1": iou_f1(predicted[str(r.task_id)], human),
                "token_f1": token_f1(predicted[str(r.task_id)], human),
                "auprc": auprc(score, human) if score is not None else np.nan,
            }
        )
    return pd.DataFrame(rows, columns=["participant_id", "condition", "task_id", *METRICS])


def plausibility_table(per_response: pd.DataFrame) -> pd.DataFrame:
    """Mean of each metric per participant (rows) and condition (columns)."""
    table = per_response.groupby(["participant_id", "condition"])[list(METRICS)].mean()
    return table.unstack("condition")
