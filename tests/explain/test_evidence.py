"""Cluster evidence: numbers a user can check by hand against the attention."""

from __future__ import annotations

import json
from functools import partial

import numpy as np
import pytest
from factories import make_analysis, with_carrying_head, words_in

import attn_widget
from attn_widget.core import Analysis, Token
from attn_widget.core.lexicon import lexical_classes, word_ids
from attn_widget.explain.evidence import characterize, entropy, gini

TEXT = "Alice met Bob in Paris . She gave him 42 apples , and he thanked her twice ."
# three planted groups over the words of TEXT; tests vary shuffle=, seed=, strength=
planted = partial(make_analysis, [6, 6, len(TEXT.split()) - 12], words_of=TEXT, strength=4.0)


def test_shares_and_edges_match_the_attention() -> None:
    a = planted()
    c = max(a.clusters, key=lambda c: c.size)
    ev = characterize(a, c)
    m = list(c.tokens)
    w = a.weights
    inside = w[np.ix_(m, m)].sum() - np.trace(w[np.ix_(m, m)])
    assert ev["attention"]["internal"] == pytest.approx(inside / w[m].sum(), abs=1e-4)
    shares = ev["attention"]
    assert shares["internal"] + shares["self"] + shares["external"] == pytest.approx(1.0, abs=1e-3)
    assert shares["inside"] == pytest.approx(shares["internal"] + shares["self"], abs=1e-3)
    weights = [e["weight"] for e in ev["edges"]]
    assert weights == sorted(weights, reverse=True)
    for e in ev["edges"]:
        assert e["from"] in m
        assert e["to"] in m
        assert e["from"] != e["to"]
        assert e["weight"] == pytest.approx(w[e["from"], e["to"]], abs=1e-4)
    off = w[np.ix_(m, m)] - np.diag(np.diag(w[np.ix_(m, m)]))
    assert weights[0] == pytest.approx(off.max(), abs=1e-4)
    for o in ev["outside"]:
        assert o["token"] not in m
        assert o["text"] == a.tokens[o["token"]].text


def test_the_sink_share_is_the_raw_attention_that_went_to_the_left_out_token() -> None:
    a = planted()
    raw = a.attentions.mean(axis=(0, 1), dtype=np.float64)  # the mean aggregation, before the sink is dropped
    for c in a.clusters:
        ev = characterize(a, c)
        m = list(c.tokens)
        assert ev["attention"]["sink"] == pytest.approx(raw[m, 0].sum() / raw[m].sum(), abs=1e-4)
        assert ev["excluded"] == [{"index": 0, "text": "<s>", "special": True, "position": "first"}]
    big = max(a.clusters, key=lambda c: c.size)
    with_sink = a.attentions.copy()
    with_sink[..., 1:, 0] += 3.0  # every token now parks most of its attention on token 0
    with_sink /= with_sink.sum(axis=-1, keepdims=True)
    b = attn_widget.analyze_attention(with_sink, a.tokens, text=TEXT, exclude=[0], threshold=a.threshold)
    assert np.allclose(b.weights, a.weights)  # the graph cannot see the sink: only the evidence can say it
    ev, before = characterize(b, b.cluster_of(big.tokens[0])), characterize(a, big)
    assert ev["attention"]["sink"] > 0.7 > before["attention"]["sink"]
    kept = attn_widget.analyze_attention(a.attentions, a.tokens, text=TEXT, threshold=a.threshold, exclude=[])
    assert "sink" not in characterize(kept, kept.clusters[0])["attention"]  # nothing left out, nothing to say
    assert characterize(kept, kept.clusters[0])["excluded"] == []


def test_planted_groups_give_spans_and_layout() -> None:
    a = planted()
    ev = characterize(a, a.cluster_of(1))
    assert ev["contiguous"] is True
    assert ev["positions"] == [1, 6]
    (span,) = ev["spans"]
    assert span["text"] == "Alice met Bob in Paris ."
    assert (span["start"], span["end"]) == (0, len("Alice met Bob in Paris ."))
    scattered = planted(shuffle=True, seed=3)
    c = max(scattered.clusters, key=lambda c: c.size)
    ev = characterize(scattered, c)
    assert ev["contiguous"] is False
    assert len(ev["spans"]) > 1
    assert [i for s in ev["spans"] for i in range(s["first"], s["last"] + 1)] == list(c.tokens)


def test_the_head_that_carries_a_group_is_named() -> None:
    a = planted(strength=3.0)
    b = with_carrying_head(a, a.cluster_of(1).tokens, layer=2, head=1)
    ev = characterize(b, b.cluster_of(1))
    top = ev["heads"][0]
    assert (top["layer"], top["head"]) == (2, 1)
    assert top["lift"] > 2.0
    assert top["inside"] > 0.4
    assert ev["layers"][0]["layer"] == 2


def test_lexical_classes_from_text_alone() -> None:
    tokens = words_in(TEXT)
    idx = {t.text: i for i, t in enumerate(tokens)}
    lex = lexical_classes(tokens, list(range(1, len(tokens))))
    assert {tokens[i].text for i in lex["pronoun"]} == {"She", "him", "he", "her"}
    assert [tokens[i].text for i in lex["number"]] == ["42"]
    assert {tokens[i].text for i in lex["punctuation"]} == {".", ","}
    assert {"Alice", "Bob", "Paris", "She"} <= {tokens[i].text for i in lex["capitalised"]}
    assert idx["in"] in lex["stopword"]
    assert idx["apples"] not in lex["stopword"]
    assert {tokens[i].text for i in lex["repeated"]} == {"."}


def test_subword_pieces_of_one_word_from_offsets(gpt2_dir) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(gpt2_dir)
    text = "Tokenization is antidisestablishmentarianism fun"
    enc = tok(text, return_offsets_mapping=True)
    tokens = [
        Token(text[s:e], s, e, i) for i, (s, e) in zip(enc["input_ids"], enc["offset_mapping"], strict=True)
    ]
    groups = lexical_classes(tokens, list(range(len(tokens))))["same_word"]
    joined = ["".join(tokens[i].text for i in g).strip() for g in groups]
    assert joined == ["Tokenization", "antidisestablishmentarianism"]
    assert len(set(word_ids(tokens))) == 4
    assert lexical_classes(tokens, list(range(len(tokens))))["whole_word"] == groups
    long_word = groups[1]
    some = [i for i in range(len(tokens)) if i != long_word[-1]]  # the long word's last piece elsewhere
    lex = lexical_classes(tokens, some)
    assert lex["same_word"] == [groups[0], long_word[:-1]]
    assert lex["whole_word"] == [groups[0]]  # the long word is not all in this group


def test_evidence_without_raw_attention_and_json_round_trip(tmp_path) -> None:
    a = planted()
    loaded = Analysis.from_dict(json.loads(json.dumps(a.to_dict())))
    ev = characterize(loaded, loaded.clusters[0])
    assert ev["heads"] == []
    assert ev["layers"] == []
    assert "sink" not in ev["attention"]  # the raw attention, and with it the sink's share, is gone
    assert [e["index"] for e in ev["excluded"]] == [0]
    assert ev["edges"] == characterize(a, a.clusters[0])["edges"]
    json.dumps(characterize(a, a.clusters[0]))


def test_complexity_measures() -> None:
    assert entropy(np.ones(8)) == pytest.approx(1.0)
    assert entropy([1.0, 0, 0, 0]) == 0.0
    assert gini(np.ones(8)) == pytest.approx(0.0)
    assert gini([0, 0, 0, 1.0]) == pytest.approx(0.75)
    a = planted()
    cx = characterize(a, a.clusters[0])["complexity"]
    assert set(cx) == {"token_entropy", "token_gini", "head_entropy", "head_gini"}
    assert all(0.0 <= v <= 1.0 for v in cx.values())
