"""Aggregations: each named function's arithmetic, renormalisation, and its errors."""

from __future__ import annotations

import numpy as np
import pytest

from attn_widget.graph.aggregate import AGGREGATIONS, aggregate, renormalise, rollout


def softmax_attention(layers: int = 3, heads: int = 2, n: int = 6, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(layers, heads, n, n))
    att = np.exp(logits)
    return (att / att.sum(-1, keepdims=True)).astype(np.float32)


def test_mean_is_the_plain_average_over_layers_and_heads():
    att = softmax_attention()
    np.testing.assert_allclose(aggregate(att, "mean"), att.mean(axis=(0, 1)), rtol=1e-6)


def test_layers_restricts_the_mean_and_accepts_negative_indices():
    att = softmax_attention(layers=4)
    expected = att[[1, 3]].mean(axis=(0, 1))
    np.testing.assert_allclose(aggregate(att, "layers", layers=[1, -1]), expected, rtol=1e-6)
    np.testing.assert_allclose(aggregate(att, "mean", layers=[1, 3]), expected, rtol=1e-6)


def test_heads_averages_exactly_the_chosen_pairs():
    att = softmax_attention()
    expected = (att[0, 1] + att[2, 0]) / 2
    np.testing.assert_allclose(aggregate(att, "heads", heads=[(0, 1), (2, 0)]), expected, rtol=1e-6)


def test_max_takes_the_elementwise_maximum_then_renormalises_rows():
    att = softmax_attention()
    peak = att.max(axis=(0, 1)).astype(np.float64)
    np.testing.assert_allclose(aggregate(att, "max"), peak / peak.sum(1, keepdims=True), rtol=1e-6)


def test_rollout_follows_abnar_and_zuidema():
    """R = Â_L … Â_1 with Â = ½A + ½I (head mean, rows renormalised): checked by hand on 2 layers."""
    att = softmax_attention(layers=2, heads=3, n=4)
    eye = np.eye(4)
    a1 = 0.5 * att[0].mean(0) + 0.5 * eye
    a2 = 0.5 * att[1].mean(0) + 0.5 * eye
    np.testing.assert_allclose(rollout(att), a2 @ a1, rtol=1e-6)


def test_rollout_of_pure_self_attention_is_the_identity_and_residual_zero_is_the_plain_product():
    n = 5
    att = np.broadcast_to(np.eye(n, dtype=np.float32), (3, 2, n, n))
    np.testing.assert_allclose(aggregate(att, "rollout"), np.eye(n), atol=1e-12)
    att = softmax_attention(layers=2, heads=1, n=n)
    np.testing.assert_allclose(rollout(att, residual=0.0), att[1, 0] @ att[0, 0], rtol=1e-5)


def test_rollout_of_a_causal_model_stays_causal():
    att = np.tril(softmax_attention(n=7) + 0.1)
    att = (att / att.sum(-1, keepdims=True)).astype(np.float32)
    out = aggregate(att, "rollout")
    assert np.allclose(np.triu(out, k=1), 0.0)


def test_excluding_the_sink_zeroes_its_row_and_column_and_renormalises_the_rest():
    att = softmax_attention(n=6)
    out = aggregate(att, "mean", exclude=[0])
    assert np.all(out[0] == 0)
    assert np.all(out[:, 0] == 0)
    np.testing.assert_allclose(out[1:].sum(1), 1.0)
    kept = att.mean(axis=(0, 1))[1:, 1:]
    np.testing.assert_allclose(out[1:, 1:], kept / kept.sum(1, keepdims=True), rtol=1e-6)


def test_a_row_whose_attention_all_went_to_excluded_tokens_keeps_it_on_itself():
    w = np.array([[1.0, 0, 0], [1.0, 0, 0], [0.5, 0.25, 0.25]])
    out = renormalise(w, exclude=[0])
    np.testing.assert_allclose(out[1], [0, 1, 0])
    np.testing.assert_allclose(out[2], [0, 0.5, 0.5])


@pytest.mark.parametrize(
    ("name", "kwargs", "message"),
    [
        ("median", {}, r"unknown aggregation 'median'; choose one of 'mean', 'layers', 'max', 'heads'"),
        ("layers", {}, r"aggregation='layers' needs layers=\[\.\.\.\]"),
        ("mean", {"layers": [7]}, r"layers \[7\] out of range: the model has 3 layers"),
        ("mean", {"layers": []}, r"layers=\[\] selects nothing"),
        ("mean", {"layers": ["a"]}, r"layers=\['a'\] must be a list of layer indices"),
        ("heads", {}, r"aggregation='heads' needs heads=\[\(layer, head\), \.\.\.\]"),
        ("heads", {"heads": [(0, 9)]}, r"head \(0, 9\) out of range: the model has 3 layers and 2 heads"),
        ("heads", {"heads": [5]}, r"head 5 is not a \(layer, head\) pair"),
        ("mean", {"heads": [(0, 1)]}, r"aggregation='mean' does not use heads=\[\(0, 1\)\]; use .*'heads'"),
        ("heads", {"heads": [(0, 1)], "layers": [0]}, r"aggregation='heads' does not use layers=\[0\]"),
    ],
)
def test_bad_aggregation_options_name_the_value_and_the_fix(name, kwargs, message):
    with pytest.raises(ValueError, match=message):
        aggregate(softmax_attention(), name, **kwargs)


def test_rollout_rejects_a_residual_share_outside_0_1():
    with pytest.raises(ValueError, match=r"residual=1.5 must be in \[0, 1\)"):
        rollout(softmax_attention(), residual=1.5)


def test_a_registered_aggregation_is_usable_by_name():
    assert AGGREGATIONS.names() == ["mean", "layers", "max", "heads", "rollout"]
