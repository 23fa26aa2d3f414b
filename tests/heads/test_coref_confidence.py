"""A reference link's confidence: margin, head agreement, the second edge measure's agreement (issue 22)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from factories import words_in

import attn_widget
from attn_widget.heads import coref, coref_fit

TEXT = "The cat sat on the mat because it was tired ."


def test_the_cross_measure_features_say_whether_the_second_measure_picks_the_same_token():
    link = np.array([[-np.inf, 0.6, 0.2, 0.1], [-np.inf, 0.3, 0.3, 0.2]])
    per_head = np.array([[[0, 0.9, 0.1, 0]], [[0, 0.1, 0.9, 0]]])
    same = np.array([[-np.inf, 0.5, 0.1, 0.0], [-np.inf, 0.0, 0.1, 0.9]])
    f = coref_fit.confidence_features(link, per_head, same)
    assert f.shape == (2, 4)
    np.testing.assert_allclose(f[:, 0], [(0.6 - 0.2) / 0.6, 0.0])  # a tie has no margin
    np.testing.assert_allclose(f[:, 1], [1.0, 0.0])  # the only head agrees in the first, not the second
    np.testing.assert_allclose(f[:, 2], [1.0, 0.0])  # the norm link picks token 1, then token 3
    np.testing.assert_allclose(f[:, 3], f[:, 0] * f[:, 2])
    np.testing.assert_allclose(coref_fit.confidence_features(link, per_head), f[:, :2])


def test_calibrate_recovers_a_planted_logistic_law_on_raw_features():
    rng = np.random.default_rng(0)
    x = np.column_stack([rng.random(4000), rng.integers(0, 2, 4000) * 1.0])
    truth = (-2.0, 3.0, 1.5)
    y = rng.random(4000) < coref_fit.probability(truth, x)
    coef = coref_fit.calibrate(x, y)
    np.testing.assert_allclose(coef, truth, atol=0.35)
    with pytest.raises(ValueError, match="2 confidence features expected, got 4"):
        coref_fit.probability(coef, np.zeros((1, 4)))


def planted(norm_on: int | None) -> attn_widget.Analysis:
    """Head (0, 0) links 'it' to 'cat' (0.6) over 'mat' (0.2); the value norms are all 1, or ``norm_on`` is
    the only token with a large one, so the ``norm`` measure links 'it' there instead."""
    tokens = words_in(TEXT)
    n = len(tokens)
    att = np.broadcast_to(np.eye(n), (2, 2, n, n)).copy()
    it, cat, mat = (1 + TEXT.split().index(w) for w in ("it", "cat", "mat"))
    att[0, 0, it] = 0.0
    att[0, 0, it, cat], att[0, 0, it, mat], att[0, 0, it, it] = 0.6, 0.2, 0.2
    a = attn_widget.analyze_attention(att, tokens, text=TEXT, model="planted", exclude=[0])
    norms = np.ones((2, 2, n), dtype=np.float32)
    if norm_on is not None:
        norms[..., norm_on] = 50.0
    return dataclasses.replace(a, head_data={"value_norm": norms})


def test_a_link_the_second_measure_disputes_is_less_sure_and_without_norms_the_plain_calibration_holds():
    found = coref.CorefHeads(
        "planted", "attention", ((0, 0),), {"accuracy": np.ones((2, 2))},
        calibration=(-4.0, 10.0, 0.0), cross_measure="norm", calibration_cross=(-4.0, 10.0, 0.0, 3.0, 0.0),
    )  # fmt: skip
    it, cat, mat = (1 + TEXT.split().index(w) for w in ("it", "cat", "mat"))
    margin = (0.6 - 0.2) / 0.6
    sigmoid = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731

    (agreed,) = [link for i, link in coref.reference_links(planted(None), found) if i == it]
    assert agreed.index == cat
    assert agreed.confidence == pytest.approx(sigmoid(10 * margin - 1))  # the norm link agrees: +3

    (disputed,) = [link for i, link in coref.reference_links(planted(mat), found) if i == it]
    assert disputed.index == cat  # the arc still shows what attention links
    assert disputed.confidence == pytest.approx(sigmoid(10 * margin - 4))

    bare = dataclasses.replace(planted(None), head_data={})
    (plain,) = [link for i, link in coref.reference_links(bare, found) if i == it]
    assert plain.confidence == pytest.approx(sigmoid(10 * margin - 4))  # (margin, agreement) only


def test_batched_probe_passes_measure_each_rows_value_norms_as_its_own_pass(tiny_gpt2_dir):
    from attn_widget.extract.forward import forward_pass
    from attn_widget.extract.loading import load
    from attn_widget.extract.tokens import tokenize

    name = str(tiny_gpt2_dir)
    model, tokenizer = load(name)
    texts = ["The farmer thanked the baker because she had helped.", "It rained.", "They said it was theirs."]
    runs = [
        tokenize(t, tokenizer, name=name, causal=True, prepend_bos=None, limit=None, overlength="error")[0]
        for t in texts
    ]
    batched = coref._batched_attention(model, runs, causal=True)
    for ids, (att, norms) in zip(runs, batched, strict=True):
        own, data = forward_pass(model, ids, name=name, causal=True, value_norms=True)
        assert norms is not None
        assert norms.shape == data["value_norm"].shape
        np.testing.assert_allclose(att, own, atol=1e-5)
        np.testing.assert_allclose(norms, data["value_norm"], rtol=1e-4, atol=1e-5)
