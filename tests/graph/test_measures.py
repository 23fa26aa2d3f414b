"""Edge measures and lenses at the graph layer: per-head weights, head masks, and what they need."""

from __future__ import annotations

import numpy as np
import pytest
from factories import planted_input

import attn_widget
from attn_widget.graph.aggregate import aggregate
from attn_widget.graph.measures import MEASURES, measure_weights
from attn_widget.synthetic import planted_attention


@pytest.fixture
def planted():
    data = planted_input([6, 8, 6], n_layers=3, n_heads=4, seed=5, tokens=[f"t{i}" for i in range(21)])
    return data.attention, data.tokens


def test_the_measures_are_named_in_a_registry():
    assert MEASURES.names() == ["attention", "norm", "gradient"]
    att, _ = planted_attention([3, 3])
    with pytest.raises(ValueError, match="unknown edge measure 'weight'; choose one of 'attention', 'norm'"):
        attn_widget.analyze_attention(att, [f"t{i}" for i in range(7)], measure="weight")


def test_norm_with_equal_value_norms_is_attention_and_a_small_value_norm_silences_a_key(planted):
    att, tokens = planted
    ones = {"value_norm": np.ones(att.shape[:3], dtype=np.float32)}
    same = attn_widget.analyze_attention(att, tokens, measure="norm", head_data=ones)
    assert np.allclose(same.weights, attn_widget.analyze_attention(att, tokens).weights)
    quiet = np.ones(att.shape[:3], dtype=np.float32)
    quiet[..., 5] = 1e-3  # token 5 moves almost nothing however much it is attended
    w = measure_weights(att, "norm", {"value_norm": quiet})
    assert np.allclose(w[..., 5], att[..., 5] * 1e-3)
    agg = aggregate(w, "mean", exclude=[0])
    assert agg[:, 5].max() < 0.01 < aggregate(att, "mean", exclude=[0])[:, 5].max()


def test_a_measure_without_its_data_says_how_to_get_it(planted):
    att, tokens = planted
    needs = r"measure='norm' needs the per-head value norms .*analyze\(text, model=\.\.\., measure='norm'\)"
    with pytest.raises(ValueError, match=needs):
        attn_widget.analyze_attention(att, tokens, measure="norm")
    a = attn_widget.analyze_attention(att, tokens)
    with pytest.raises(ValueError, match="measure='gradient' needs"):
        a.recluster(measure="gradient")


def test_a_lens_of_heads_aggregates_only_those_heads(planted):
    att, tokens = planted
    noisy = att.copy()
    rng = np.random.default_rng(0)
    noise = rng.random(noisy.shape).astype(np.float32)
    noisy[:, 1:] = noise[:, 1:] / noise[:, 1:].sum(-1, keepdims=True)  # only head 0 of each layer is planted
    lens = [(layer, 0) for layer in range(3)]
    a = attn_widget.analyze_attention(noisy, tokens, lens=lens, exclude=[0])
    assert a.options.lens == a.options.lens_heads == tuple(lens)
    mean_of_lens = noisy[:, 0].mean(axis=0, dtype=np.float64)
    assert np.allclose(a.weights, aggregate(noisy[:, :1], "mean", exclude=[0]))
    assert np.allclose(a.weights[1:, 1:] / a.weights[1:, 1:].sum(1, keepdims=True),
                       mean_of_lens[1:, 1:] / mean_of_lens[1:, 1:].sum(1, keepdims=True))
    for name in ("max", "rollout"):
        lensed = attn_widget.analyze_attention(noisy, tokens, lens=lens, aggregation=name, exclude=[0])
        assert np.allclose(lensed.weights, aggregate(noisy[:, :1], name, exclude=[0]))


def test_a_lens_that_names_a_missing_head_or_no_head_is_refused(planted):
    att, tokens = planted
    with pytest.raises(ValueError, match=r"names head \(3, 0\), but the model has 3 layers of 4 heads"):
        attn_widget.analyze_attention(att, tokens, lens=[(3, 0)])
    with pytest.raises(ValueError, match=r"lens=\[\] keeps no head"):
        attn_widget.analyze_attention(att, tokens, lens=[])
    with pytest.raises(ValueError, match="aggregation='heads' chooses its own heads and takes no lens"):
        attn_widget.analyze_attention(att, tokens, lens=[(0, 0)], aggregation="heads", heads=[(1, 1)])
