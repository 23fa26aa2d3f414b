"""Comparing two analyses: alignment by offsets or words, matched clusters, moved tokens, link changes."""

from __future__ import annotations

import re

import numpy as np
import pytest

import attn_widget
from attn_widget.core import Token
from attn_widget.graph.align import align, char_map
from attn_widget.synthetic import planted_attention, tokens_from_pieces

PIECES = ["The", " cat", " sat", " on", " the", " mat", " all", " day"]


def planted(pieces, groups=(3, 3, 2), seed=7, **kwargs):
    attention, _ = planted_attention(list(groups), layers=2, heads=2, seed=seed)
    text, tokens = tokens_from_pieces(pieces, bos="<s>")
    return attn_widget.analyze_attention(attention, tokens, text=text, model="planted", **kwargs)


def test_two_identical_inputs_compare_as_identical():
    a, b = planted(PIECES), planted(PIECES)
    c = attn_widget.compare(a, b)
    assert c.identical
    assert c.unit == "token"
    assert c.a_units.tolist() == c.b_units.tolist() == list(range(len(a.tokens)))
    assert c.matching.pairs == tuple((x.id, x.id) for x in a.clusters if x.size > 1)
    assert c.modularity_change == 0.0
    assert c.moved == ()
    assert c.changed == ()
    assert c.summary().startswith("Identical")


def test_a_changed_word_is_unaligned_and_the_rest_pairs_by_offset():
    a = planted(PIECES)
    b = planted([*PIECES[:1], " dog", *PIECES[2:]])
    c = attn_widget.compare(a, b)
    assert c.a_units[2] == -1
    assert c.b_units[2] == -1
    assert (np.delete(c.a_units, 2) >= 0).all()
    assert not c.identical  # the texts differ, even though the attention does not


def test_clusters_that_differ_are_reported_as_split_and_moved():
    a = planted(PIECES, groups=(4, 4))
    b = planted(PIECES, groups=(2, 2, 4), seed=7)
    c = attn_widget.compare(a, b)
    assert not c.identical
    assert c.matching.split  # the first group of four came apart in b
    first_group = {1, 2, 3, 4}
    assert {int(c.a_units[i]) for i in first_group} & set(c.moved)
    assert c.changed
    assert c.changed[0].change > 0
    assert c.changed == tuple(sorted(c.changed, key=lambda x: -x.change))
    lines = c.summary().splitlines()
    moved = next(line for line in lines if "changed cluster mates" in line)
    links = [line for line in lines if line.startswith("Links of ")]
    assert links
    for line in [moved, *links]:  # words as a person reads them: never a piece's leading space in quotes
        quoted = re.findall(r"'([^']*)'", line)
        assert quoted, line
        assert all(word == word.strip() for word in quoted), line
    assert all(f"'{c.unit_text[u].strip()}'" in moved for u in c.moved[:8])


def test_different_tokenizers_are_aligned_by_word():
    text = "The cat sat on the mat."
    a_tokens = [
        Token("The", 0, 3),
        Token(" cat", 3, 7),
        Token(" sat", 7, 11),
        Token(" on", 11, 14),
        Token(" the", 14, 18),
        Token(" mat", 18, 22),
        Token(".", 22, 23),
    ]
    b_tokens = [
        Token("Th", 0, 2),
        Token("e", 2, 3),
        Token(" ca", 3, 6),
        Token("t", 6, 7),
        Token(" sat", 7, 11),
        Token(" o", 11, 13),
        Token("n", 13, 14),
        Token(" the mat", 14, 22),
        Token(".", 22, 23),
    ]
    al = align(a_tokens, text, b_tokens, text, same_model=False)
    assert al.unit == "word"
    # " the mat" belongs to "the" (its first character's word), so no token of b starts "mat"
    assert al.text == ("The", "cat", "sat", "on", "the", ".")
    assert al.b_units.tolist() == [0, 0, 1, 1, 2, 3, 3, 4, 5]
    assert al.a_units.tolist() == [0, 1, 2, 3, 4, -1, 5]


def test_the_character_map_follows_an_edit():
    cmap = char_map("he said", "she said")
    assert cmap[0] == 1
    assert cmap.tolist()[2:] == [3, 4, 5, 6, 7]


def test_compare_takes_texts_with_options_but_no_options_with_two_analyses(tiny_gpt2):
    model, tok = tiny_gpt2
    c = attn_widget.compare("The cat sat.", "The dog sat.", model=model, tokenizer=tok)
    assert c.a.text == "The cat sat."
    assert c.b.text == "The dog sat."
    with pytest.raises(TypeError, match="only with texts"):
        attn_widget.compare(c.a, c.b, threshold=0.1)
    with pytest.raises(TypeError, match="two Analysis"):
        attn_widget.compare(c.a, 3)  # type: ignore[arg-type]


@pytest.mark.slow
def test_a_minimal_pair_on_smollm2_gives_different_clusters_and_a_text_against_itself_none(smollm2):
    he = attn_widget.analyze("He said that he would come home late tonight.", model="smollm2")
    she = attn_widget.analyze("She said that she would come home late tonight.", model="smollm2")
    c = attn_widget.compare(he, she)
    assert c.unit == "token"
    assert [he.tokens[i].text for i in np.flatnonzero(c.a_units < 0)] == ["He", " he"]
    assert not c.identical
    assert c.moved

    def mates(analysis, units, u):
        label = analysis.labels[np.flatnonzero(units == u)[0]]
        return {int(units[i]) for i in np.flatnonzero(analysis.labels == label) if units[i] >= 0}

    for u in c.moved:
        assert mates(he, c.a_units, u) != mates(she, c.b_units, u), c.unit_text[u]
    again = attn_widget.analyze("He said that he would come home late tonight.", model="smollm2")
    assert attn_widget.compare(he, again).identical


@pytest.mark.slow
def test_one_text_on_two_models_is_aligned_by_word(smollm2, minilm):
    text = "The cat sat on the mat because it was tired."
    causal = attn_widget.analyze(text, model="smollm2")
    encoder = attn_widget.analyze(text, model="minilm")
    c = attn_widget.compare(causal, encoder)
    assert c.unit == "word"  # SmolLM2's byte-level pieces and MiniLM's lower-cased word pieces differ
    words = [w for w in c.unit_text if w not in ("<|im_start|>", "[CLS]", "[SEP]")]
    assert words == ["The", "cat", "sat", "on", "the", "mat", "because", "it", "was", "tired", "."]
    assert all(u >= 0 for t, u in zip(causal.tokens, c.a_units, strict=True) if not t.special)
    assert c.modularity_change == pytest.approx(encoder.modularity - causal.modularity)
    assert not c.identical


def test_word_unit_analyses_compare_word_by_word():
    pieces = ["The", " c", "at", " sat", " on", " the", " m", "at", " all", " day"]
    a = planted(pieces, groups=(3, 4, 3), unit="word")
    assert a.options.unit == "word"
    words = ["<s>", "The", "cat", "sat", "on", "the", "mat", "all", "day"]
    assert [t.text.strip() for t in a.tokens] == words
    same = attn_widget.compare(a, planted(pieces, groups=(3, 4, 3), unit="word"))
    assert same.identical
    assert same.a_units.tolist() == same.b_units.tolist() == list(range(len(a.tokens)))
    # "cat" -> "dog" (now one piece) and a full stop that joins "day": those words alone are unaligned
    b = planted(["The", " dog", " sat", " on", " the", " m", "at", " all", " day", "."], groups=(3, 4, 3),
                unit="word")
    c = attn_widget.compare(a, b)
    texts = [t.text.strip() for t in a.tokens]
    assert [texts[i] for i in np.flatnonzero(c.a_units < 0)] == ["cat", "day"]
    assert [b.tokens[i].text.strip() for i in np.flatnonzero(c.b_units < 0)] == ["dog", "day."]
    assert not c.identical


def causal(attention):
    """``attention`` as a causal model's: no token attends to a later one, rows summing to 1."""
    low = np.tril(attention)
    return low / low.sum(axis=-1, keepdims=True)


def test_a_causal_pair_whose_clusters_match_says_why_and_lists_no_invisible_link_changes():
    att, _ = planted_attention([3, 3, 2], layers=2, heads=2, seed=7)
    att = causal(att)
    text_a, tokens_a = tokens_from_pieces(PIECES, bos="<s>")
    text_b, tokens_b = tokens_from_pieces([*PIECES[:-1], " long"], bos="<s>")
    a = attn_widget.analyze_attention(att, tokens_a, text=text_a, model="m", threshold=0.1)
    nudged = att.copy()
    nudged[..., -1, :] = 0.9 * att[..., -1, :] + 0.1 * np.eye(att.shape[-1])[-1]  # the last word differs
    b = attn_widget.analyze_attention(nudged, tokens_b, text=text_b, model="m", threshold=0.1)
    c = attn_widget.compare(a, b)
    assert c.matching.unchanged
    assert not c.moved
    assert "The model reads left to right, so the 8 tokens before the first difference ('day')" in c.why_same
    assert c.why_same in c.summary().splitlines()
    assert all(x.change >= 0.005 for x in c.changed)  # what would read as 0.00 is not a change
    assert attn_widget.Comparison.from_dict(c.to_dict()).why_same == c.why_same
    full = att + att.swapaxes(-1, -2)  # an encoder's: every token reads every other
    full /= full.sum(axis=-1, keepdims=True)
    both_ways = attn_widget.compare(
        attn_widget.analyze_attention(full, tokens_a, text=text_a, model="m", threshold=0.1),
        attn_widget.analyze_attention(full, tokens_b, text=text_b, model="m", threshold=0.1),
    )
    assert "did not change which tokens group together" in both_ways.why_same


def test_clusters_that_differ_give_no_reason_for_matching():
    a = planted(PIECES, groups=(4, 4))
    b = planted(PIECES, groups=(2, 2, 4), seed=7)
    assert attn_widget.compare(a, b).why_same == ""
