"""unit='word' / 'sentence': how tokens group into units, and the pooling rule checked by hand."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import attn_widget
from attn_widget.core import Token
from attn_widget.core.units import segment

TEXT = 'Dr. Smith didn\'t pay $3.50. "Well-known," she said! Then\n\nA new one.'
PIECES = ["Dr", ".", " Smith", " didn", "'t", " pay", " $", "3", ".", "50", ".", ' "', "Well", "-", "known",
          ',"', " she", " said", "!", " Then", "\n\n", "A", " new", " one", "."]  # fmt: skip


def tokens_of(text: str, pieces: list[str]) -> tuple[Token, ...]:
    out, at = [], 0
    for p in pieces:
        assert text[at : at + len(p)] == p
        out.append(Token(text=p, start=at, end=at + len(p)))
        at += len(p)
    assert at == len(text)
    return tuple(out)


def groups(kind: str) -> list[str]:
    units = segment(TEXT, tokens_of(TEXT, PIECES), kind)
    return ["".join(PIECES[units.starts[u] : units.starts[u + 1]]) for u in range(units.n)]


def test_words_keep_numbers_contractions_and_hyphenated_words_whole():
    assert groups("word") == ["Dr.", " Smith", " didn't", " pay", " $3.50.", ' "Well-known,"', " she",
                              " said!", " Then\n\n", "A", " new", " one."]  # fmt: skip


def test_punctuation_joins_the_word_it_touches_so_no_group_starts_with_a_comma():
    from attn_widget.core.units import word_spans

    text = "The mat, offered to help (see above) now. 1998. Done"
    assert [text[a:b] for a, b in word_spans(text)] == [
        "The", "mat,", "offered", "to", "help", "(see", "above)", "now.", "1998.", "Done",
    ]  # fmt: skip
    dash = "a - b"
    assert [dash[a:b] for a, b in word_spans(dash)] == ["a", "-", "b"]  # a dash between spaces stands alone


def test_sentences_end_at_full_stops_exclamations_and_blank_lines_but_not_after_abbreviations():
    assert groups("sentence") == ["Dr. Smith didn't pay $3.50.", ' "Well-known," she said!', " Then\n\n",
                                  "A new one."]  # fmt: skip


def test_unknown_unit_names_the_choices():
    with pytest.raises(ValueError, match=r"unit='paragraph'.*'token', 'word', 'sentence'"):
        attn_widget.analyze_attention(np.full((1, 1, 2, 2), 0.5), ["a", "b"], unit="paragraph")


def hand_pooled(w: np.ndarray, units: list[list[int]], exclude: list[int]) -> np.ndarray:
    """The documented rule, written out: rows renormalised over kept tokens, then
    W_ab = mean over a's kept tokens of the summed attention to b's tokens, rows renormalised."""
    t = w.copy()
    t[exclude, :] = 0
    t[:, exclude] = 0
    t = t / t.sum(axis=1, keepdims=True).clip(1e-300)
    u = np.zeros((len(units), len(units)))
    for a, ua in enumerate(units):
        kept = [i for i in ua if i not in exclude]
        for b, ub in enumerate(units):
            u[a, b] = sum(t[i, j] for i in kept for j in ub) / max(len(kept), 1)
    sums = u.sum(axis=1, keepdims=True)
    return np.divide(u, sums, out=np.zeros_like(u), where=sums > 0)


TEXT2 = "Big cats purr. Dogs bark loudly."
PIECES2 = ["Big", " c", "ats", " pur", "r", ".", " Dogs", " bark", " loud", "ly", "."]
WORDS2 = [[0], [1, 2], [3, 4, 5], [6], [7], [8, 9, 10]]
SENTENCES2 = [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10]]


def attention(seed: int, layers: int = 2, heads: int = 2, n: int = len(PIECES2)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = rng.random((layers, heads, n, n)) ** 3
    return a / a.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize(("unit", "groups_"), [("word", WORDS2), ("sentence", SENTENCES2)])
@pytest.mark.parametrize("exclude", [[], [2], [0, 9]])
def test_unit_graph_is_the_documented_pooling_of_the_token_graph(unit, groups_, exclude):
    att = attention(1)
    a = attn_widget.analyze_attention(att, tokens_of(TEXT2, PIECES2), text=TEXT2, unit=unit, exclude=exclude)
    assert [list(range(a.units.starts[u], a.units.starts[u + 1])) for u in range(a.units.n)] == groups_
    np.testing.assert_allclose(a.weights, hand_pooled(att.mean(axis=(0, 1)), groups_, exclude), atol=1e-12)


def test_the_nodes_of_a_unit_analysis_are_word_spans_of_the_text_and_cover_its_tokens():
    a = attn_widget.analyze_attention(attention(2), tokens_of(TEXT2, PIECES2), text=TEXT2, unit="word")
    assert [t.text for t in a.tokens] == ["Big", " cats", " purr.", " Dogs", " bark", " loudly."]
    assert all(TEXT2[t.start : t.end] == t.text for t in a.tokens)
    assert len(a.labels) == len(a.tokens) == 6
    assert a.model_tokens[1].text == " c"
    assert sorted(i for c in a.clusters for i in c.tokens) == list(range(6))


def test_a_unit_wholly_left_out_is_excluded_and_a_partly_left_out_one_is_not():
    a = attn_widget.analyze_attention(attention(3), tokens_of(TEXT2, PIECES2), text=TEXT2, unit="word",
                                      exclude=[0, 1])  # fmt: skip
    assert a.excluded == (0,)  # "Big" is all left out; " cats" keeps its piece "ats"
    assert a.labels[0] == -1
    assert a.labels[1] != -1


def test_reclustering_to_another_unit_equals_analysing_with_it():
    att, toks = attention(4), tokens_of(TEXT2, PIECES2)
    words = attn_widget.analyze_attention(att, toks, text=TEXT2, unit="word", exclude=[])
    sentences = attn_widget.analyze_attention(att, toks, text=TEXT2, unit="sentence", exclude=[])
    np.testing.assert_allclose(words.recluster(unit="sentence").weights, sentences.weights, atol=1e-12)
    np.testing.assert_allclose(sentences.recluster(unit="token").weights, att.mean(axis=(0, 1)), atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10**6), st.sampled_from(["word", "sentence"]))
def test_pooled_rows_sum_to_one_and_units_partition_the_tokens(seed, unit):
    a = attn_widget.analyze_attention(attention(seed), tokens_of(TEXT2, PIECES2), text=TEXT2, unit=unit,
                                      exclude=[])  # fmt: skip
    np.testing.assert_allclose(a.weights.sum(axis=1), 1.0, atol=1e-9)
    assert a.units.starts[0] == 0
    assert a.units.starts[-1] == len(PIECES2)
    assert np.all(np.diff(a.units.starts) > 0)


def test_a_unit_analysis_saves_and_loads_with_its_pieces(tmp_path):
    a = attn_widget.analyze_attention(attention(5), tokens_of(TEXT2, PIECES2), text=TEXT2, unit="sentence")
    back = attn_widget.Analysis.load(a.save(tmp_path / "s.json"))
    assert back.units.starts.tolist() == a.units.starts.tolist()
    assert [t.text for t in back.model_tokens] == PIECES2


def test_the_token_maps_head_features_of_a_unit_analysis_pool_each_head_by_the_same_rule():
    from attn_widget.graph.tokenmap import head_features

    att = attention(3)
    words = attn_widget.analyze_attention(att, tokens_of(TEXT2, PIECES2), text=TEXT2, unit="word")
    pooled = np.stack([[hand_pooled(head, WORDS2, []) for head in layer] for layer in att])
    by_hand = attn_widget.analyze_attention(pooled, words.tokens, text=TEXT2, exclude=[])
    kept = np.arange(len(words.tokens))
    # the analysis keeps its attention as float32: agreement to float32 precision
    np.testing.assert_allclose(head_features(words, kept), head_features(by_hand, kept), rtol=1e-5, atol=1e-6)
