"""Plausibility metrics against hand-computed cases: IOU F1, token F1, AUPRC."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import attn_widget
from attn_widget.evaluate import auprc, iou_f1, iou_prf, token_f1, token_prf, token_scores
from attn_widget.synthetic import planted_attention

PREDICTED = [{1, 2, 3}, {5, 6}, {8}]
HUMAN = [{1, 2}, {5, 6, 7}, {9, 10}]


def test_iou_f1_counts_groups_that_overlap_a_human_group_by_at_least_half():
    # {1,2,3}~{1,2}: 2/3; {5,6}~{5,6,7}: 2/3; {8} matches nothing; {9,10} is never found
    assert iou_prf(PREDICTED, HUMAN) == pytest.approx((2 / 3, 2 / 3, 2 / 3))
    assert iou_f1(PREDICTED, HUMAN) == pytest.approx(2 / 3)
    assert iou_f1([{1, 2}], [{1, 2, 3, 4}]) == 1.0  # IoU exactly 0.5 is a match, as in ERASER
    assert iou_f1([{1, 2}], [{1, 2, 3, 4, 5}]) == 0.0  # 0.4 is not
    assert iou_prf([{1, 2, 3}], [{1, 2, 3}, {7, 8}]) == pytest.approx((1.0, 0.5, 2 / 3))
    assert iou_f1([], HUMAN) == 0.0
    assert iou_f1(PREDICTED, HUMAN, threshold=0.7) == 0.0


def test_token_f1_compares_the_tokens_of_all_groups():
    # predicted {1,2,3,5,6,8}, human {1,2,5,6,7,9,10}: 4 shared, P 4/6, R 4/7
    assert token_prf(PREDICTED, HUMAN) == pytest.approx((4 / 6, 4 / 7, 8 / 13))
    assert token_f1(PREDICTED, HUMAN) == pytest.approx(8 / 13)
    assert token_f1([{4}], HUMAN) == 0.0


def test_auprc_is_average_precision_with_ties_ranked_together_and_nan_unranked():
    assert auprc([0.9, 0.8, 0.7, 0.6, 0.5], [{0, 2}]) == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    assert auprc([1.0, 1.0, 0.0, 0.0], [{0}]) == pytest.approx(0.5)
    assert auprc([np.nan, 0.9, 0.1], [{1}]) == 1.0
    assert auprc(np.array([0.1, 0.2, 0.3]), [{0}]) == pytest.approx(1 / 3)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 5), min_size=2, max_size=30), st.data())
def test_auprc_agrees_with_scikit_learn(values, data):
    metrics = pytest.importorskip("sklearn.metrics")
    positives = data.draw(st.sets(st.integers(0, len(values) - 1), min_size=1))
    y = np.isin(np.arange(len(values)), list(positives))
    assert auprc(values, [positives]) == pytest.approx(metrics.average_precision_score(y, values))


def test_a_partition_or_an_analysis_can_stand_for_its_groups():
    att, groups = planted_attention([5, 5, 5], layers=2, heads=2, seed=3)
    a = attn_widget.analyze_attention(att, [f"t{i}" for i in range(16)], exclude=[0])
    truth = [set(np.flatnonzero(groups == g).tolist()) for g in range(3)]
    assert iou_f1(a, truth) == 1.0
    halves = a.refine("merge", clusters=[0, 1])  # IoU 5/10 with either group: still a match
    assert iou_prf(halves, truth) == (1.0, 1.0, 1.0)
    refined = a.refine("merge", clusters=[0, 1, 2])  # IoU 1/3 with each group
    assert iou_prf(refined, truth) == (0.0, 0.0, 0.0)
    assert iou_f1(refined.partition, truth) == iou_f1(refined, truth)


def test_token_scores_rank_what_is_attended_and_leave_sinks_out():
    att, _ = planted_attention([4, 4], layers=2, heads=2, seed=1)
    a = attn_widget.analyze_attention(att, [f"t{i}" for i in range(9)], exclude=[0])
    received, nxt = token_scores(a, "received"), token_scores(a, "next")
    assert np.isnan(received[0])
    assert np.isnan(nxt[0])
    assert nxt[-1] == 0.0  # the last token itself is not a candidate
    assert nxt[5:8].sum() > nxt[1:5].sum()  # the last token reads its own group
    with pytest.raises(ValueError, match="unknown token score 'gradient'"):
        token_scores(a, "gradient")


def test_bad_groups_and_scores_are_refused_with_what_to_give():
    with pytest.raises(ValueError, match="human has no groups"):
        iou_f1(PREDICTED, [])
    with pytest.raises(ValueError, match="not token indices"):
        iou_f1([{1, -2}], HUMAN)
    with pytest.raises(ValueError, match="an empty group marks no token"):
        token_f1([set()], HUMAN)
    with pytest.raises(ValueError, match="must be a list of token-index sets"):
        token_f1("1,2", HUMAN)
    with pytest.raises(ValueError, match=r"human marks tokens \[7\], but scores has only 3 tokens"):
        auprc([0.1, 0.2, 0.3], [{7}])
    with pytest.raises(ValueError, match="AUPRC is undefined"):
        auprc([np.nan, 0.2, 0.3], [{0}])
    with pytest.raises(ValueError, match=r"must be a \[T\] array"):
        auprc([[0.1, 0.2]], [{0}])
