"""Arcs over the text (``Analysis.arcs``) and the findings above it (``explained.findings``).

The reference arcs read the model's coreference heads; here the coreference
graph is planted (``weights_under`` stands in for the lens), so the tests say
exactly which word each pronoun must point to and how sure the arc must be.
"""

from __future__ import annotations

import numpy as np
import pytest
from factories import words_in

import attn_widget
from attn_widget import Analysis
from attn_widget.core import Finding, Token
from attn_widget.explain.findings import make_findings, verify
from attn_widget.graph.arcs import CONFIDENT_LIFT, long_range
from attn_widget.heads import coref
from attn_widget.runs.arcs import carriers

TEXT = "The cat sat on the mat because it was tired ."


def chain(n: int, far: tuple[int, int, float] | None = None) -> np.ndarray:
    """Each node looks at its left neighbour (0.8) and itself; ``far = (i, j, w)`` plants one long link."""
    w = np.zeros((n, n))
    for i in range(n):
        w[i, i] = 0.2
        w[i, max(i - 1, 0)] += 0.8
    if far is not None:
        i, j, share = far
        w[i] *= 1 - share
        w[i, j] += share
    return w


def test_a_planted_far_link_outranks_every_neighbour_link():
    found = long_range(chain(12, far=(9, 2, 0.3)), np.ones(12, bool), k=3)
    assert found[0][:2] == (9, 2)
    assert found[0][2] == pytest.approx(0.3)
    assert found[0][2] >= CONFIDENT_LIFT * found[0][3]  # far above what distance 7 usually gets
    assert all(i - j >= 3 for i, j, _, _ in found), "neighbours and near words are word order, not arcs"


def test_distance_is_counted_in_words_when_nodes_are_pieces():
    positions = np.array([0, 1, 1, 1, 2, 3, 4, 5])  # nodes 1-3 are pieces of one word
    found = long_range(chain(8, far=(7, 1, 0.5)), np.ones(8, bool), k=1, positions=positions)
    assert [(i, j) for i, j, _, _ in found] == [(7, 1)]  # words 5 and 1: three words between
    near = long_range(chain(8, far=(4, 1, 0.5)), np.ones(8, bool), k=3, positions=positions)
    assert (4, 1) not in [(i, j) for i, j, _, _ in near]  # 3 nodes apart, but the next word but one


def test_no_node_gets_a_fan_of_arcs():
    w = chain(20)
    for j in (1, 3, 5, 7):
        w[19, j] += 0.2
    w[19] /= w[19].sum()
    found = long_range(w, np.ones(20, bool), k=10)
    assert sum(1 for i, _, _, _ in found if i == 19) <= 2


def planted(text: str = TEXT, tokens: list[Token] | None = None, rows: dict | None = None) -> Analysis:
    """Neighbour attention in every head but (0, 0), the coreference head: each token on itself,
    and ``rows`` = {pronoun index: {key index: share}} planted there."""
    tokens = words_in(text) if tokens is None else tokens
    n = len(tokens)
    att = np.broadcast_to(chain(n), (2, 2, n, n)).copy()
    att[0, 0] = np.eye(n)
    for i, row in (rows or {}).items():
        att[0, 0, i] = 0.0
        for j, share in row.items():
            att[0, 0, i, j] = share
        att[0, 0, i, i] = 1.0 - sum(row.values())
    return attn_widget.analyze_attention(att, tokens, text=text, model="planted", exclude=[0])


@pytest.fixture
def head_00(monkeypatch):
    """The planted model's coreference head is (0, 0); confidence = sigmoid(10 margin - 4)."""

    def found(name, measure="attention"):
        accuracy = {"accuracy": np.ones((2, 2))}
        return coref.CorefHeads(name, measure, ((0, 0),), accuracy, calibration=(-4.0, 10.0, 0.0))

    monkeypatch.setattr(coref, "coreference_heads", found)


def at(text: str, word: str) -> int:
    return 1 + text.split().index(word)  # after the BOS


def test_the_pronoun_points_to_the_word_the_coreference_heads_link_it_to(head_00):
    it, cat, mat = at(TEXT, "it"), at(TEXT, "cat"), at(TEXT, "mat")
    a = planted(rows={it: {cat: 0.6, mat: 0.2}})
    ref = [x for x in a.arcs() if x.kind == "reference"]
    assert [(x.source, x.target, x.source_text, x.target_text) for x in ref] == [(it, cat, "it", "cat")]
    assert ref[0].confident
    assert ref[0].confidence >= coref.CONFIDENT


def test_an_arc_names_the_heads_that_carry_it(head_00):
    it, cat = at(TEXT, "it"), at(TEXT, "cat")
    a = planted(rows={it: {cat: 0.6}})
    (ref,) = [x for x in a.arcs() if x.kind == "reference"]
    assert ref.heads == ((0, 0, 0.6),)  # the coreference heads only: the planted one, its share
    far = planted(rows={at(TEXT, "tired"): {cat: 0.7}})
    wide = [x for x in far.arcs(k=3) if x.kind == "long-range" and x.heads]
    assert wide, "long-range arcs carry their heads"
    for arc in wide:
        assert len(arc.heads) <= 3
        assert [h[2] for h in arc.heads] == sorted((h[2] for h in arc.heads), reverse=True)
        layer, head, share = arc.heads[0]
        assert share == pytest.approx(float(far.attentions[layer, head, arc.source, arc.target]), abs=1e-4)


def test_the_heads_behind_an_arc_are_weighed_under_the_analysis_measure():
    n = len(TEXT.split()) + 1
    tired, cat = at(TEXT, "tired"), at(TEXT, "cat")
    att = np.broadcast_to(chain(n), (2, 2, n, n)).copy()
    att[1, 1, tired] = 0.0
    att[1, 1, tired, [cat, tired]] = 0.5
    norms = np.ones((2, 2, n))
    norms[1, 1, cat] = 3.0  # head 1.1's value at 'cat' weighs three times as much
    data = {"value_norm": norms}
    a = attn_widget.analyze_attention(
        att, words_in(TEXT), text=TEXT, model="planted", exclude=[0], measure="norm", head_data=data
    )
    layer, head, share = carriers(a, tired, cat, None)[0]
    assert (layer, head) == (1, 1)
    assert share == pytest.approx(0.75)  # 0.5 * 3 of 0.5 * 3 + 0.5 * 1, not the attention's 0.5


def test_a_wrong_link_is_drawn_as_the_model_makes_it_and_a_close_call_is_unsure(head_00):
    it, cat, mat = at(TEXT, "it"), at(TEXT, "cat"), at(TEXT, "mat")
    (ref,) = [x for x in planted(rows={it: {cat: 0.30, mat: 0.32}}).arcs() if x.kind == "reference"]
    assert ref.target_text == "mat"  # what the model links, not what a grammar book says
    assert not ref.confident
    assert ref.confidence < coref.CONFIDENT


def test_arcs_name_whole_words_never_pieces(head_00):
    text = "The trophy did not fit in the suitcase because it was big ."
    tokens = words_in(text)
    where = at(text, "suitcase")
    s = tokens[where].start
    tokens[where : where + 1] = [Token("suit", s, s + 4), Token("case", s + 4, s + 8)]
    it = at(text, "it") + 1
    a = planted(text, tokens, rows={it: {where + 1: 0.5, 2: 0.1}})
    (ref,) = [x for x in a.arcs() if x.kind == "reference"]
    assert (ref.target, ref.target_text) == (where + 1, "suitcase")  # the piece "case", named as its word


def test_without_coreference_heads_there_are_only_long_range_arcs():
    a = planted()  # made from arrays: no model to find the heads with
    assert all(x.kind == "long-range" for x in a.arcs())


def test_findings_say_what_stands_out_and_each_holds(head_00):
    it, cat = at(TEXT, "it"), at(TEXT, "cat")
    a = planted(rows={it: {cat: 0.9}})
    explained = a.explain()
    texts = [f.text for f in explained.findings]
    assert texts[0] == "'it' looks back to 'cat'."
    assert explained.findings[0].tokens == (cat, it)
    assert any(f.kind == "groups" for f in explained.findings)
    assert 1 <= len(texts) <= 5
    arcs = a.arcs()
    assert all(verify(f, explained, arcs, None) or f.kind == "head" for f in explained.findings)
    lie = Finding("reference", "'it' looks back to 'mat'.", (cat, it), dict(explained.findings[0].evidence))
    assert not verify(lie, explained, arcs, None)
    assert "'it' looks back to 'mat'." not in [f.text for f in make_findings(explained, arcs, None)]


def test_a_pronoun_to_a_name_comes_before_a_pronoun_to_an_earlier_pronoun(head_00):
    text = "They said they knew Mary and she was late ."
    they, again, she, mary = 1, 3, at(text, "she"), at(text, "Mary")
    explained = planted(text, rows={again: {they: 0.9}, she: {mary: 0.9}}).explain()
    refs = [f.text for f in explained.findings if f.kind == "reference"]
    assert refs == ["'she' looks back to 'Mary'.", "'they' looks back to an earlier 'They'."]
    arcs = explained.arcs()
    assert all(verify(f, explained, arcs, None) for f in explained.findings if f.kind == "reference")


def test_findings_survive_save_and_load(head_00, tmp_path):
    explained = planted(rows={at(TEXT, "it"): {at(TEXT, "cat"): 0.9}}).explain()
    back = Analysis.load(explained.save(tmp_path / "a.json"))
    assert back.findings == explained.findings


def test_a_pronoun_whose_strongest_link_is_a_later_word_gets_no_reference_arc(head_00):
    it, was = at(TEXT, "it"), at(TEXT, "was")
    n = len(TEXT.split()) + 1
    att = np.broadcast_to(chain(n), (2, 2, n, n)).copy()
    att[0, 0] = np.eye(n)
    att[0, 0, was] = 0.0
    att[0, 0, was, it] = 1.0  # "was" looks at "it": the pronoun's strongest link is a later word
    att[0, 0, it] = 0.0
    att[0, 0, it, it - 1] = 0.1
    att[0, 0, it, it] = 0.9
    b = attn_widget.analyze_attention(att, words_in(TEXT), text=TEXT, model="planted", exclude=[0])
    assert not [x for x in b.arcs() if x.kind == "reference"]
    assert all(x.source > x.target for x in b.arcs()), "every arc looks back"
    text = "The cat sat on the mat, because it was tired ."
    c = planted(text, rows={at(text, "it"): {at(text, "mat,"): 0.9}})
    (ref,) = [x for x in c.arcs() if x.kind == "reference"]
    assert ref.target_text == "mat"  # the comma it carries is not part of the label


def test_the_head_finding_names_a_role_a_student_learns_from_before_a_sink():
    from attn_widget.heads.roles import HeadReport

    labels = {(0, 0): (("first-token sink", 0.95),), (1, 1): (("previous-token", 0.6),)}
    report = HeadReport(scores={}, chance={}, z={}, labels=labels)
    a = planted()
    heads = [f for f in make_findings(a, (), report) if f.kind == "head"]
    assert [f.text for f in heads] == ["Head 1.1 looks at the word just before."]
    assert verify(heads[0], a, (), report)


def test_a_long_range_arc_counts_the_whole_words_it_skips_and_its_finding_says_so():
    text = "The cat , a big stray from the suitcase shop , was tired ."
    tokens = words_in(text)
    where = at(text, "suitcase")
    s = tokens[where].start
    tokens[where : where + 1] = [Token("suit", s, s + 4), Token("case", s + 4, s + 8)]  # one word, two pieces
    n = len(tokens)
    cat, tired = at(text, "cat"), n - 2
    att = np.broadcast_to(chain(n, far=(tired, cat, 0.6)), (2, 2, n, n)).copy()
    for unit in ("token", "word"):
        a = attn_widget.analyze_attention(att, tokens, text=text, model="planted", exclude=[0], unit=unit)
        (arc,) = [x for x in a.arcs() if (x.source_text, x.target_text) == ("tired", "cat")]
        # a big stray from the suitcase shop was: 8 words; the two commas are not words, "suit"+"case" is one
        assert arc.words_between == 8, unit
        far = [f for f in make_findings(a, a.arcs(), None) if f.kind == "long-range"]
        assert far[0].text == "'tired' reaches back to 'cat' past 8 words.", unit
        wrong = Finding("long-range", far[0].text, far[0].tokens, {**far[0].evidence, "words_between": 7})
        assert not verify(wrong, a, a.arcs(), None)


@pytest.mark.parametrize(("threshold", "solid"), [(0.93, True), (0.94, False), (float("nan"), False)])
def test_the_models_own_threshold_not_the_default_decides_solid_or_faint(monkeypatch, threshold, solid):
    """The same link (confidence sigmoid(10 * 2/3 - 4) = 0.935) under two models' thresholds."""

    def found(name, measure="attention"):
        accuracy = {"accuracy": np.ones((2, 2))}
        return coref.CorefHeads(
            name, measure, ((0, 0),), accuracy, calibration=(-4.0, 10.0, 0.0), threshold=threshold
        )

    monkeypatch.setattr(coref, "coreference_heads", found)
    it, cat, mat = at(TEXT, "it"), at(TEXT, "cat"), at(TEXT, "mat")
    a = planted(rows={it: {cat: 0.6, mat: 0.2}})
    (ref,) = [x for x in a.arcs() if x.kind == "reference"]
    assert ref.confidence == pytest.approx(1 / (1 + np.exp(-(10 * (0.6 - 0.2) / 0.6 - 4))))
    assert ref.confidence > coref.CONFIDENT  # sure under the shared default, whatever the model's says
    assert ref.confident is solid
    (link,) = [link for i, link in coref.reference_links(a) if i == it]
    assert link.confident is solid
