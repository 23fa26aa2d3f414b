"""FAD curves: remove the most important tokens or edges first; N-AUC, random baseline, AUC-TP."""

from __future__ import annotations

import numpy as np
import pytest

import attn_widget
from attn_widget.evaluate import FadCurve, auc_tp, curves, fad_curve

TEXT = "The cat sat on the mat because it was tired and the dog slept by the door."


@pytest.fixture(scope="module")
def tiny_analysis(tiny_gpt2):
    model, tok = tiny_gpt2
    return attn_widget.analyze(TEXT, model=model, tokenizer=tok)


def test_the_curve_starts_at_the_full_input_and_removes_every_candidate_by_the_end(tiny_gpt2, tiny_analysis):
    model, _ = tiny_gpt2
    seen = []
    curve = fad_curve(tiny_analysis, model, steps=5, n_random=4, progress=lambda d, t, m: seen.append((d, t)))
    n = len(tiny_analysis.tokens)
    candidates = n - len(set(tiny_analysis.excluded)) - 1  # the last token is where the next word is read
    assert curve.fractions[0] == 0.0
    assert curve.fractions[-1] == 1.0
    assert curve.removed.tolist() == np.round(np.linspace(0, candidates, 6)).astype(int).tolist()
    assert curve.change[0] == pytest.approx(0.0, abs=1e-9)
    assert curve.performance[0] == pytest.approx(1.0)
    assert 0.0 <= curve.n_auc <= 1.0
    assert 0.0 <= curve.auc_tp <= 1.0
    assert curve.random_change.shape == curve.change.shape
    assert curve.change[-1] == pytest.approx(
        curve.random_change[-1]
    )  # everything removed, whatever the order
    assert seen[-1] == (6, 6)
    assert curve.output == "next-token distribution"
    assert curve.target is not None


def test_curves_are_cached_and_the_same_seed_gives_the_same_baseline(tiny_gpt2, tiny_analysis):
    model, _ = tiny_gpt2
    curves.clear_cache()
    first = fad_curve(tiny_analysis, model, steps=4, n_random=3, seed=2)
    assert fad_curve(tiny_analysis, model, steps=4, n_random=3, seed=2) is first
    again = fad_curve(tiny_analysis, model, steps=4, n_random=3, seed=2, cache=False)
    assert np.allclose(again.random_change, first.random_change)
    assert first.to_dict()["n_auc"] == first.n_auc


def test_ordering_by_a_cluster_removes_its_tokens_first(tiny_gpt2, tiny_analysis):
    model, _ = tiny_gpt2
    big = max(tiny_analysis.clusters, key=lambda c: c.size)
    ranked = curves._ranking(tiny_analysis, big.id, np.arange(1, len(tiny_analysis.tokens) - 1))[0]
    top = np.argsort(-ranked, kind="stable")[: big.size] + 1
    assert set(top.tolist()) == set(big.tokens) - {len(tiny_analysis.tokens) - 1}
    curve = fad_curve(tiny_analysis, model, order=big.id, steps=3, n_random=2)
    assert curve.order == f"cluster {big.id}"


def test_edges_are_cut_in_order_of_weight_and_every_cut_moves_nothing_at_step_zero(tiny_gpt2, tiny_analysis):
    model, _ = tiny_gpt2
    curve = fad_curve(tiny_analysis, model, unit="edges", steps=4, n_random=2)
    assert curve.unit == "edges"
    assert curve.order == "edge weight"
    assert curve.change[0] == pytest.approx(0.0, abs=1e-9)
    assert curve.change[-1] > 0.0


def test_auc_tp_averages_the_performance_curves_of_several_texts(tiny_gpt2, tiny_analysis):
    model, tok = tiny_gpt2
    a = fad_curve(tiny_analysis, model, steps=4, n_random=2)
    other = attn_widget.analyze("A bird sang in the tall old tree.", model=model, tokenizer=tok)
    b = fad_curve(other, model, steps=4, n_random=2)
    assert auc_tp(a) == pytest.approx(a.auc_tp)
    assert auc_tp([a, b]) == pytest.approx((a.auc_tp + b.auc_tp) / 2)
    c = fad_curve(other, model, steps=3, n_random=2)
    with pytest.raises(ValueError, match="different steps"):
        auc_tp([a, c])
    assert isinstance(a, FadCurve)


def test_bad_requests_are_refused_with_the_fix(tiny_gpt2, tiny_analysis):
    model, _ = tiny_gpt2
    for kwargs, message in (
        ({"unit": "heads"}, "choose 'tokens' or 'edges'"),
        ({"steps": 0}, "steps=0 must be a whole number >= 1"),
        ({"n_random": 0}, "n_random=0"),
        ({"order": 99}, "no such cluster"),
        ({"order": np.ones(3)}, r"a \[T\] array of"),
        ({"unit": "edges", "order": "next"}, "ranks edges by their weight"),
    ):
        with pytest.raises(ValueError, match=message):
            fad_curve(tiny_analysis, model, **kwargs)
    att = tiny_analysis.attentions
    bare = attn_widget.analyze_attention(att, [t.text for t in tiny_analysis.tokens])
    with pytest.raises(ValueError, match="needs token ids"):
        fad_curve(bare, model)


@pytest.mark.slow
def test_on_smollm2_the_attention_order_moves_the_prediction_sooner_than_random_orders(smollm2):
    model, tok = smollm2
    text = "Mary gave the book to John because he had asked her for it twice last week, so John"
    analysis = attn_widget.analyze(text, model=model, tokenizer=tok)
    curve = fad_curve(analysis, model, order="next", steps=8, n_random=8)
    print("n_auc", curve.n_auc, "random", curve.random_n_auc, "auc_tp", curve.auc_tp, curve.random_auc_tp)
    assert curve.n_auc > curve.random_n_auc
    assert curve.auc_tp < curve.random_auc_tp
