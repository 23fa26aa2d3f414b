"""Analysis.ablate: rerun with attention knocked out, re-cluster, say how the next-token prediction moved."""

from __future__ import annotations

import numpy as np
import pytest

import attn_widget
from attn_widget.core import Ablation
from attn_widget.synthetic import planted_attention, tokens_from_pieces

TEXT = "The cat sat on the mat because it was tired, and the dog slept."


@pytest.fixture(scope="module")
def tiny_analysis(tiny_gpt2):
    model, tok = tiny_gpt2
    return attn_widget.analyze(TEXT, model=model, tokenizer=tok)


def test_knocking_out_nothing_changes_nothing_exactly(tiny_analysis):
    ab = tiny_analysis.ablate()
    assert ab.after == tiny_analysis  # same attention to the bit, same clusters, same notices
    assert ab.prediction is not None
    assert ab.prediction.probability_after == ab.prediction.probability_before
    assert ab.prediction.divergence == 0.0
    assert not ab.prediction.changed
    assert ab.comparison.identical
    assert ab.describe() == "nothing knocked out"


def test_a_rerun_measures_what_the_measure_needs_and_nothing_still_changes_nothing(tiny_gpt2):
    model, tok = tiny_gpt2
    a = attn_widget.analyze(TEXT, model=model, tokenizer=tok, measure="norm")
    assert a.ablate().after == a
    ab = a.ablate(tokens=[2])
    assert ab.after.options.measure == "norm"
    assert not np.array_equal(ab.after.head_data["value_norm"][1], a.head_data["value_norm"][1])
    g = attn_widget.analyze(TEXT, model=model, tokenizer=tok, measure="gradient")
    assert g.ablate().after == g


def test_a_knocked_out_token_receives_no_attention_from_any_other(tiny_analysis):
    ab = tiny_analysis.ablate(tokens=[3])
    att = ab.after.attentions
    others = [i for i in range(att.shape[2]) if i != 3]
    assert np.all(att[:, :, others, 3] == 0)
    assert np.all(att[:, :, 3, 3] > 0)  # it still attends to itself
    np.testing.assert_allclose(att.sum(-1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(
        att[:, :, :3, :3], tiny_analysis.attentions[:, :, :3, :3]
    )  # before it: as it was


def test_knocked_out_edges_carry_no_attention_and_future_edges_are_refused(tiny_analysis):
    ab = tiny_analysis.ablate(edges=[(5, 2), (6, 1)])
    assert np.all(ab.after.attentions[:, :, 5, 2] == 0)
    assert np.all(ab.after.attentions[:, :, 6, 1] == 0)
    assert ab.edges == ((5, 2), (6, 1))
    with pytest.raises(ValueError, match=r"edge \(2, 5\) does not exist"):
        tiny_analysis.ablate(edges=[(2, 5)])


def test_a_zeroed_head_changes_only_the_layers_after_it(tiny_analysis):
    ab = tiny_analysis.ablate(heads=[(0, 1)])
    before, after = tiny_analysis.attentions, ab.after.attentions
    np.testing.assert_array_equal(after[0], before[0])  # layer 0 attends as before; its output changed
    assert not np.allclose(after[1], before[1])
    assert ab.heads == ((0, 1),)
    assert any("Zeroed heads" in n for n in ab.notices)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tokens": [99]}, "token 99 is not a token index"),
        ({"heads": [(5, 0)]}, r"head \(5, 0\) does not exist: the model has 2 layers of 2 heads"),
        ({"edges": [(1,)]}, "give a list of pairs"),
        ({"position": -99}, "position -99 is not a token index"),
    ],
)
def test_bad_knockouts_are_refused_with_the_value(tiny_analysis, kwargs, message):
    with pytest.raises(ValueError, match=message):
        tiny_analysis.ablate(**kwargs)


def test_an_analysis_from_attention_arrays_cannot_be_rerun():
    attention, _ = planted_attention([3, 3], layers=2, heads=2)
    text, tokens = tokens_from_pieces(["a", " b", " c", " d", " e", " f"])
    with pytest.raises(ValueError, match="ablate needs the model and the token ids"):
        attn_widget.analyze_attention(attention, tokens, text=text).ablate(tokens=[1])


def test_an_ablation_saves_and_loads_back_equal(tiny_analysis, tmp_path):
    ab = tiny_analysis.ablate(tokens=[2, 4])
    assert Ablation.load(ab.save(tmp_path / "what-if.abl")) == ab
    light = Ablation.load(ab.save(tmp_path / "what-if.json"))
    assert light.prediction == ab.prediction
    assert light.after.attentions is None


@pytest.mark.slow
def test_knocking_out_every_edge_to_the_word_the_answer_needs_changes_the_prediction(smollm2):
    a = attn_widget.analyze("The capital of France is", model="smollm2")
    assert [t.text for t in a.tokens][-2:] == [" France", " is"]
    ab = a.ablate(tokens=[len(a.tokens) - 2])
    p = ab.prediction
    assert p.before[0].text == " Paris"
    assert p.probability_before > 0.5
    assert p.changed
    assert p.probability_after < 0.1
    assert p.divergence > 0.3
    assert "' Paris'" in ab.summary()
    nothing = a.ablate()
    assert nothing.after == a
    assert nothing.prediction.divergence == 0.0


@pytest.mark.slow
def test_an_encoder_reruns_and_reclusters_without_a_next_token(minilm):
    a = attn_widget.analyze("The cat sat on the mat because it was tired.", model="minilm")
    ab = a.ablate(tokens=[2])
    assert ab.prediction is None
    assert np.all(np.delete(ab.after.attentions[:, :, :, 2], 2, axis=2) == 0)
    assert a.ablate().after == a


def test_a_rerun_of_a_pinned_partition_keeps_the_pins_and_saves_with_them(tiny_analysis, tmp_path):
    a = tiny_analysis
    kept = [i for i in range(len(a.tokens)) if i not in a.excluded]
    i = kept[0]
    j = next(k for k in kept if a.labels[k] != a.labels[i])  # in another cluster before the pin
    pinned = a.refine("pin", tokens=[i, j])
    assert pinned.ablate().after == pinned  # nothing knocked out: nothing changes, the pins included
    out = next(k for k in kept if k not in (i, j))
    ab = pinned.ablate(tokens=[out])
    assert ab.after.labels[i] == ab.after.labels[j]
    assert ab.after.partition is not None
    assert ab.after.partition.pins == pinned.partition.pins
    back = Ablation.load(ab.save(tmp_path / "pinned.abl"))
    assert back.before.partition == pinned.partition
    assert back.after.partition == ab.after.partition


def test_knocking_out_a_word_knocks_out_its_pieces_and_reads_the_prediction_after_it(tiny_analysis):
    words = tiny_analysis.recluster(unit="word")
    w = next(u for u in range(words.units.n) if words.units.sizes[u] > 1 or u == words.units.n - 2)
    pieces = words.units.pieces([w]).tolist()
    by_word = words.ablate(tokens=[w], edges=[(words.units.n - 1, w)])
    last = len(tiny_analysis.tokens) - 1
    edges = [(q, k) for q in words.units.pieces([words.units.n - 1]) for k in pieces]
    by_token = tiny_analysis.ablate(tokens=pieces, edges=edges)
    assert by_word.tokens == (w,)  # said in the nodes the person picked
    assert by_word.after.options.unit == "word"
    np.testing.assert_array_equal(by_word.after.labels, by_token.after.recluster(unit="word").labels)
    assert by_word.prediction.position == by_token.prediction.position == last
    assert by_word.prediction.divergence == pytest.approx(by_token.prediction.divergence)


def test_a_zoomed_analysis_is_refused_and_told_to_ablate_the_whole_text(tiny_analysis):
    biggest = max(tiny_analysis.clusters, key=lambda c: len(c.tokens))
    zoomed = attn_widget.zoom(tiny_analysis, biggest.id, unit="token")
    with pytest.raises(ValueError, match="zoomed into part of it; ablate the analysis you zoomed from"):
        zoomed.ablate()


def test_a_knockout_reclustered_in_another_unit_names_the_same_words(tiny_analysis):
    words = tiny_analysis.recluster(unit="word")
    w = next(u for u in range(words.units.n) if words.units.sizes[u] > 1)
    last = words.units.n - 1
    by_word = words.ablate(tokens=[w], edges=[(last, w)])
    pieces = tuple(words.units.pieces([w]).tolist())
    in_tokens = by_word.recluster(unit="token")
    assert in_tokens.before.options.unit == "token"
    assert in_tokens.tokens == pieces  # the word's pieces, not token number w
    assert set(in_tokens.edges) == {(q, k) for q in words.units.pieces([last]) for k in pieces}
    back = in_tokens.recluster(unit="word")
    assert back.tokens == (w,)
    assert back.edges == ((last, w),)
    assert by_word.recluster(method="leiden").tokens == (w,)  # the same unit: the same nodes
