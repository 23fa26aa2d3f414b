"""Encoder–decoder models through ``analyze(source, model=..., target=...)``: one graph over both texts.

Tiny random T5, BART and Marian models (:mod:`tiny_families`) with the GPT-2 tokenizer
fixture; where a behaviour needs known attention (clusters that span both texts, the
arcs' endpoints) the pass's attention is planted.
"""

from __future__ import annotations

import dataclasses
from functools import cache

import numpy as np
import pytest
from tiny_families import SEQ2SEQ, build_pair

import attn_widget
from attn_widget import api
from attn_widget.extract.seq2seq import Seq2SeqAttention, joint_attention
from attn_widget.runs import pairs

SOURCE = "The cat sat on the mat."
TARGET = "Le chat est assis."


@cache
def model(kind: str):
    return build_pair(kind)


@pytest.fixture(scope="module")
def bart_pair(gpt2_tokenizer):
    return attn_widget.analyze(SOURCE, model("bart"), tokenizer=gpt2_tokenizer, target=TARGET)


@pytest.mark.parametrize("kind", list(SEQ2SEQ))
def test_a_source_and_a_target_make_one_analysis_over_both_texts(kind, gpt2_tokenizer):
    a = attn_widget.analyze(SOURCE, model(kind), tokenizer=gpt2_tokenizer, target=TARGET)
    s = a.source_length
    assert (a.source_text, a.target_text) == (SOURCE, TARGET)
    assert "".join(t.text for t in a.tokens[:s]) == SOURCE
    assert a.tokens[s].special, "the decoder's start token sits between the texts"
    assert "".join(t.text for t in a.tokens[s + 1 :]) == TARGET
    for t in a.tokens:
        if t.start is not None:
            assert a.text[t.start : t.end] == t.text
    n = len(a.tokens)
    assert a.attentions.shape == (2, 4, n, n)
    np.testing.assert_allclose(a.attentions.sum(-1), 1.0, atol=1e-5)
    assert np.all(a.attentions[..., :s, s:] == 0), "the encoder reads no target token"
    assert np.all(np.triu(a.attentions[..., s:, s:], k=1) == 0), "the decoder reads no later target token"
    assert len(a.labels) == n


@pytest.mark.parametrize("kind", ["t5", "bart"])
def test_without_a_target_the_model_writes_its_own(kind, gpt2_tokenizer):
    a = attn_widget.analyze(SOURCE, model(kind), tokenizer=gpt2_tokenizer)
    assert a.source_text == SOURCE
    assert a.target_text is not None
    assert len(a.tokens) > a.source_length + 1, "at least one token written after the start token"
    assert any("own greedy output" in n for n in a.notices)


def planted(s: int, t: int, to: dict[int, int]) -> Seq2SeqAttention:
    """Uniform encoder and decoder attention; target token ``k`` (after the start) reads source ``to[k]``."""
    enc = np.full((2, 4, s, s), 1 / s, dtype=np.float32)
    dec = np.tril(np.ones((t + 1, t + 1), dtype=np.float32))
    dec = np.broadcast_to(dec / dec.sum(-1, keepdims=True), (2, 4, t + 1, t + 1)).copy()
    cross = np.full((2, 4, t + 1, s), 1 / s, dtype=np.float32)
    for k, j in to.items():
        cross[..., k + 1, :] = 0.02 / (s - 1)
        cross[..., k + 1, j] = 0.98
    return Seq2SeqAttention((), (), enc, dec, cross)


def test_clusters_span_both_texts_and_each_target_word_arcs_to_the_source_word_it_reads(
    monkeypatch, gpt2_tokenizer
):
    s, t = 7, 6  # The| cat| sat| on| the| mat|. → Le| chat| est| ass|is|.
    to = {0: 0, 1: 1, 2: 2, 3: 2, 4: 2, 5: 6}  # Le→The, chat→cat, est→sat, assis→sat, .→.
    found = planted(s, t, to)
    monkeypatch.setattr(pairs, "run_pair", lambda prep: (joint_attention(found), found))
    a = attn_widget.analyze(SOURCE, model("bart"), tokenizer=gpt2_tokenizer, target=TARGET, exclude=[])
    mixed = [c for c in a.clusters if min(c.tokens) < s <= max(c.tokens)]
    assert mixed, "some cluster holds source and target tokens"
    for k, j in to.items():
        assert a.labels[s + 1 + k] == a.labels[j], f"target token {k} clusters with source token {j}"
    arcs = {arc.source: arc for arc in a.arcs()}
    assert {arc.kind for arc in arcs.values()} == {"cross"}
    firsts = [s + 1 + k for k in (0, 1, 2, 3)]  # 'is' and '.' are later pieces of the word "assis."
    assert sorted(arcs) == firsts
    for i in firsts:
        assert arcs[i].target == to[i - s - 1], "a target word's arc ends on the source word it reads most"
        assert arcs[i].confident
        assert arcs[i].weight == pytest.approx(0.98, abs=1e-3)


def test_arcs_go_from_target_words_to_source_words(bart_pair):
    a = bart_pair
    s = a.source_length
    found = a.arcs()
    assert found
    assert all(arc.kind == "cross" for arc in found)
    share = pairs.cross_share(a)
    for arc in found:
        assert arc.source > s
        assert arc.target < s
        assert arc.target == int(np.argmax(share[arc.source - s]))
    assert len({arc.source for arc in found}) == len(found)


def test_links_and_explain_work_on_the_joint_graph(bart_pair):
    a = bart_pair
    token = len(a.tokens) - 2
    links = a.links(token, k=3)
    assert len(links) == 3
    explained = attn_widget.explain(a)
    assert all(c.rationale for c in explained.clusters)
    assert explained.findings is not None


@pytest.mark.parametrize("suffix", [".json", ".attn"])
def test_saving_keeps_which_tokens_are_source_and_target(bart_pair, tmp_path, suffix):
    a = bart_pair
    back = attn_widget.Analysis.load(a.save(tmp_path / f"pair{suffix}"))
    assert (back.source_length, back.source_text, back.target_text) == (a.source_length, SOURCE, TARGET)
    assert back.arcs() == a.arcs()
    words = a.recluster(unit="word")
    assert words.source_length == 6  # The cat sat on the mat.
    assert all(arc.source > words.source_length > arc.target for arc in words.arcs())


def test_clear_errors_name_the_value_and_the_fix(gpt2_tokenizer, bart_pair):
    from tiny_families import build

    gpt2 = build("gpt2")
    with pytest.raises(ValueError, match=r"target= is read by encoder–decoder models .* decoder-only"):
        attn_widget.analyze(SOURCE, gpt2, tokenizer=gpt2_tokenizer, target=TARGET)
    short = build_pair("bart", config=lambda c: setattr(c, "max_position_embeddings", 4))
    with pytest.raises(ValueError, match=r"reads at most 4 .* overlength='truncate'"):
        attn_widget.analyze(SOURCE, short, tokenizer=gpt2_tokenizer, target=TARGET)
    with pytest.raises(ValueError, match=r"target='  ' is empty"):
        attn_widget.analyze(SOURCE, model("bart"), tokenizer=gpt2_tokenizer, target="  ")
    for measure in ("norm", "gradient"):
        with pytest.raises(ValueError, match=rf"measure='{measure}' cannot be used with encoder–decoder"):
            attn_widget.analyze(
                SOURCE, model("bart"), tokenizer=gpt2_tokenizer, target=TARGET, measure=measure
            )
    with pytest.raises(ValueError, match="keep='summary' streams one stack"):
        attn_widget.analyze(SOURCE, model("bart"), tokenizer=gpt2_tokenizer, target=TARGET, keep="summary")
    with pytest.raises(ValueError, match=r"ablate\(\) runs the model again on one text"):
        attn_widget.ablate(bart_pair, tokens=[1], model=model("bart"), tokenizer=gpt2_tokenizer)


@pytest.mark.parametrize("kind", list(SEQ2SEQ))
def test_generation_steps_are_the_source_and_the_target_so_far_as_the_model_read_them(kind, gpt2_tokenizer):
    from attn_widget.extract.seq2seq import forward_seq2seq, own_target

    m = model(kind)
    gen = attn_widget.analyze_generation(SOURCE, m, tokenizer=gpt2_tokenizer, max_new_tokens=3, exclude=[])
    s = gen.steps[0].analysis.source_length
    assert 1 <= len(gen.steps) <= 3
    assert [len(step.analysis.tokens) for step in gen.steps] == [s + 2 + k for k in range(len(gen.steps))]
    source_ids = [t.id for t in gen.steps[0].analysis.tokens[:s]]
    ids = list(own_target(m, source_ids, 3))  # model.generate's greedy output (its rules: a forced end token)
    assert [step.analysis.tokens[-1].id for step in gen.steps] == ids, "the model's own target, step by step"
    for k, step in enumerate(gen.steps):
        a = step.analysis
        assert (a.source_length, a.source_text) == (s, SOURCE)
        alone = joint_attention(forward_seq2seq(m, source_ids, ids[: k + 1]))
        np.testing.assert_allclose(a.attentions, alone, atol=1e-5)  # what the model computed at step k
        assert 0 <= step.probability <= 1
        assert len(step.alternatives) == 5
    assert gen.steps[-1].analysis.arcs()


def test_generation_refuses_sampling_for_an_encoder_decoder_model(gpt2_tokenizer):
    with pytest.raises(ValueError, match="sample=True cannot be used with an encoder–decoder model"):
        attn_widget.analyze_generation(SOURCE, model("t5"), tokenizer=gpt2_tokenizer, sample=True)


def test_lenses_read_off_the_pairs_own_attention_and_coreference_is_refused(bart_pair, gpt2_tokenizer):
    late = bart_pair.recluster(lens="late")
    assert late.options.lens_heads is not None
    assert all(layer == 1 for layer, _ in late.options.lens_heads)
    assert late.source_length == bart_pair.source_length
    again = attn_widget.analyze(SOURCE, model("bart"), tokenizer=gpt2_tokenizer, target=TARGET, lens="late")
    np.testing.assert_allclose(again.weights, late.weights)
    with pytest.raises(ValueError, match="lens='coreference' finds its heads by running model"):
        bart_pair.recluster(lens="coreference")
    bart = model("bart")
    with pytest.raises(ValueError, match="lens='coreference' finds its heads by running model"):
        attn_widget.analyze(SOURCE, bart, tokenizer=gpt2_tokenizer, target=TARGET, lens="coreference")


@pytest.mark.parametrize("measure", ["norm", "gradient"])
def test_switching_a_pair_to_another_measure_is_refused_saying_why(bart_pair, measure):
    with pytest.raises(ValueError, match=f"measure='{measure}' cannot be used with encoder–decoder model"):
        bart_pair.recluster(measure=measure)
    with pytest.raises(ValueError, match=f"measure='{measure}' cannot be used with encoder–decoder model"):
        api.measure_data(bart_pair, measure)  # what the widget runs when its measure knob moves


def test_the_cut_test_and_faithfulness_refuse_a_pair_saying_why(bart_pair, gpt2_tokenizer):
    from attn_widget.evaluate.cuttest import cut_test

    bart = model("bart")
    with pytest.raises(ValueError, match="the cut test reruns the model on one text"):
        cut_test(bart_pair, bart)
    with pytest.raises(ValueError, match="faithfulness reruns the model on one text"):
        attn_widget.explain(bart_pair, model=bart, tokenizer=gpt2_tokenizer)


@pytest.mark.parametrize("kind", list(SEQ2SEQ))
def test_a_pair_model_saved_as_a_folder_loads_whole_and_writes_its_own_target(kind, gpt2_tokenizer, tmp_path):
    """What ``--model FOLDER`` and ``model="org/name"`` load: the model with the head that writes the
    target (a Marian folder loaded as a causal model was only its decoder, and refused as decoder-only)."""
    model(kind).save_pretrained(tmp_path)
    gpt2_tokenizer.save_pretrained(tmp_path)
    a = attn_widget.analyze(SOURCE, model=str(tmp_path))
    assert a.source_text == SOURCE
    assert a.target_text is not None
    assert len(a.tokens) > a.source_length + 1
    given = attn_widget.analyze(SOURCE, model=str(tmp_path), target=TARGET)
    mine = attn_widget.analyze(SOURCE, model(kind), tokenizer=gpt2_tokenizer, target=TARGET)
    np.testing.assert_allclose(given.attentions, mine.attentions, atol=1e-5)  # the same weights, all of them


def test_the_findings_of_a_pair_say_which_source_word_its_target_words_read_most(monkeypatch, gpt2_tokenizer):
    from attn_widget.core import Finding
    from attn_widget.explain.findings import make_findings, verify

    s, t = 7, 6  # The| cat| sat| on| the| mat|. → Le| chat| est| ass|is|.
    found = planted(s, t, {0: 0, 1: 1, 2: 2, 3: 2, 4: 2, 5: 6})
    monkeypatch.setattr(pairs, "run_pair", lambda prep: (joint_attention(found), found))
    a = attn_widget.analyze(SOURCE, model("bart"), tokenizer=gpt2_tokenizer, target=TARGET, exclude=[])
    arcs = a.arcs()
    said = {"'Le' reads 'The' most (98%).", "'chat' reads 'cat' most (98%).", "'est' reads 'sat' most (98%).",
            "'assis' reads 'sat' most (98%)."}  # fmt: skip
    findings = make_findings(a, arcs, None)
    cross = [f for f in findings if f.kind == "cross"]
    assert len(cross) == 2, "two of the four confident target words, not a list of all"
    assert findings[:2] == tuple(cross), "what the pair's target reads comes first"
    assert {f.text for f in cross} <= said
    for f in cross:
        arc = next(x for x in arcs if (x.target, x.source) == f.tokens)
        assert arc.kind == "cross"
        assert arc.confident
        assert f.tokens[0] < s < f.tokens[1], "it names a source word and a target word"
        assert verify(f, a, arcs, None)
    lie = Finding("cross", "'chat' reads 'mat' most (98%).", cross[0].tokens, dict(cross[0].evidence))
    assert not verify(lie, a, arcs, None)
    unsure = [dataclasses.replace(x, confident=False) for x in arcs]
    assert not [f for f in make_findings(a, unsure, None) if f.kind == "cross"], (
        "only confident arcs are said"
    )
    assert [f.text for f in attn_widget.explain(a).findings or ()][:2] == [f.text for f in cross]
