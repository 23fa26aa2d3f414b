"""Headlines: one plain sentence per cluster, from verified claims only, worded after the evidence."""

from __future__ import annotations

import copy
import re

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from test_claims import WORDS as TEXT_WORDS  # the verifier's tests' evidence factory (same folder)
from test_claims import evidences

import attn_widget
from attn_widget.core import Analysis, Token
from attn_widget.core.analysis import FORMAT_VERSION
from attn_widget.explain import claim_makers, headline, rationale
from attn_widget.explain.claim_makers import make_claims
from attn_widget.explain.claims import verify
from attn_widget.explain.plain import (
    JARGON,
    MAX_NUMBERS,
    MAX_WORDS,
    SHARE_PHRASE,
    WORDS,
    fits,
    numbers,
    share_range,
    share_words,
    words,
)
from attn_widget.explain.readability import grade
from attn_widget.explain.textcheck import check_text, input_words
from attn_widget.explain.wording import PLAIN_ROLES
from attn_widget.graph.metrics import contiguity
from attn_widget.synthetic import planted_attention

TEXT = "Mary told John that she had lost her keys near the old red bridge before the rain"


def planted(sizes=(4, 5, 6), shuffle=False, seed=0, **options) -> Analysis:
    att, _ = planted_attention(list(sizes), shuffle=shuffle, seed=seed)
    n = att.shape[-1]
    words_ = (TEXT.split() * 3)[: n - 1]
    text = " ".join(words_)
    tokens, pos = [Token("<s>", special=True)], 0
    for w in words_:
        start = text.index(w, pos)
        tokens.append(Token(w if not tokens[1:] else " " + w, max(start - 1, 0) if tokens[1:] else start,
                            start + len(w)))
        pos = start + len(w)
    return attn_widget.analyze_attention(att, tokens, text=text, exclude=[0], **options)


def said_words(text: str) -> list[str]:
    """The words of a headline outside its quotes."""
    return re.findall(r"[A-Za-z][A-Za-z'-]*", re.sub(r"(?<!\w)'[^']*'(?!\w)|\"[^\"]*\"", " ", text).lower())


def shape(text: str) -> str:
    return re.sub(r"\d+(?:\.\d+)?", "N", re.sub(r"(?<!\w)'[^']*'(?!\w)|\"[^\"]*\"", "Q", text))


def assert_plain_and_true(a: Analysis) -> None:
    vocab = input_words(a.tokens)
    roles = {w for v in PLAIN_ROLES.values() for w in v.split()}
    for c in a.clusters:
        line = c.headline
        assert line
        assert fits(line), line
        assert words(line) <= MAX_WORDS
        assert numbers(line) <= MAX_NUMBERS
        assert not set(said_words(line)) & JARGON, line
        assert set(said_words(line)) <= WORDS | roles, (line, set(said_words(line)) - WORDS - roles)
        said = [x for x in c.claims if x.get("headline")]
        _kept, dropped = verify(said, c.evidence)
        assert dropped == [], dropped
        assert check_text(line, c.evidence, vocab) == [], line


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 1000),
    sizes=st.lists(st.integers(1, 9), min_size=2, max_size=5),
    shuffle=st.booleans(),
)
@example(seed=0, sizes=[1, 2, 2], shuffle=False)  # a link in a listed group: the list is no second link
@example(seed=0, sizes=[2, 1, 2, 1], shuffle=False)  # a lone token's share to a word outside
@example(seed=0, sizes=[1, 4, 2], shuffle=False)  # a lone token that gives nothing to other words
def test_every_headline_is_one_short_plain_sentence_whose_claims_all_hold(seed, sizes, shuffle) -> None:
    assert_plain_and_true(planted(sizes, shuffle, seed).explain())


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 1000), shuffle=st.booleans(), lens=st.sampled_from(["early", "late", "custom"]))
def test_a_headline_under_a_lens_says_so_and_stays_within_its_limits(seed, shuffle, lens) -> None:
    chosen: object = [(0, 0), (1, 1), (2, 2)] if lens == "custom" else lens
    a = planted((4, 5, 6), shuffle, seed, lens=chosen).explain()
    assert_plain_and_true(a)
    opening = {"early": "In the model's early layers, ", "late": "In the model's late layers, ",
               "custom": "Through the chosen patterns, "}[lens]
    lines = [c.headline for c in a.clusters if c.size > 1]
    assert all(x.startswith(opening) for x in lines), lines


def test_a_headline_is_made_of_claims_the_rationale_also_makes() -> None:
    a = planted().explain()
    for c in a.clusters:
        said = [x for x in c.claims if x.get("headline")]
        assert said, c.headline
        for claim in said:
            assert claim["type"] in {x["type"] for x in make_claims(c.evidence)}
        check = c.evidence["headline_check"]
        assert check == {"source": "grounded", "reason": check["reason"]}
        assert check["reason"] in headline.REASONS


def test_a_run_of_words_in_a_chunky_partition_is_plainly_called_one() -> None:
    a = planted((4, 5, 6)).explain()
    assert a.clusters[0].evidence["partition"]["contiguity"] >= 0.8
    for c in a.clusters:
        assert c.evidence["headline_check"]["reason"] == "chunk", c.headline
        assert re.search(r"run of (neighbouring )?words|side by side|such run", c.headline), c.headline


def test_the_cut_test_decides_when_it_was_measured() -> None:
    base = planted((4, 5, 6))
    no_better = base.explain(cut={"ratio_contiguous": 1.04, "ratio_random": 0.9, "output": "x"})
    for c in no_better.clusters:
        assert "hurts the model no more than cutting plain chunks" in c.headline or words(c.headline) > 18
        assert c.evidence["headline_check"]["reason"] == "chunk"
        assert any(x["type"] == "cut" and x["verdict"] == "no better" for x in c.claims)
        assert "tell no more than word order" in c.rationale
    better = base.explain(cut={"ratio_contiguous": 0.6, "ratio_random": 0.3, "output": "x"})
    for c in better.clusters:  # the groups beat chunks: a run of words is not the reason given
        assert c.evidence["headline_check"]["reason"] != "chunk", c.headline
        assert "tell more than word order" in c.rationale


def test_a_scattered_group_is_explained_by_its_strongest_link() -> None:
    a = planted((4, 5, 6), shuffle=True, seed=3).explain()
    assert a.clusters[0].evidence["partition"]["contiguity"] < 0.8
    reasons = {c.evidence["headline_check"]["reason"] for c in a.clusters}
    assert reasons & {"far", "link", "pronoun", "role"}, [c.headline for c in a.clusters]
    for c in a.clusters:
        e = c.evidence["edges"][0]
        if c.evidence["headline_check"]["reason"] in ("far", "link"):
            assert f"{share_words(round(e['weight'] * 100))} of its attention" in c.headline


def _with_lie(evidence: dict, kind: str) -> list[dict]:
    claims = make_claims(evidence)
    for c in claims:
        if c["type"] == kind and "percent" in c:
            c["percent"] += 17
            return claims
        if c["type"] == kind == "partition":
            c["chunky"] = not c["chunky"]
            return claims
    raise AssertionError(f"no {kind} claim to lie in")


@pytest.mark.parametrize("kind", ["partition", "edge", "share"])
def test_a_lie_in_a_headline_claim_is_dropped_and_the_headline_falls_back_honestly(kind) -> None:
    for ev in evidences((4, 5, 6), shuffle=kind != "partition", seed=2):
        honest = headline.compose(verify(make_claims(ev), ev)[0], ev["size"], ev["cluster"])
        lying = _with_lie(copy.deepcopy(ev), kind)
        kept, dropped = verify(lying, ev)
        assert [d["type"] for d in dropped] == [kind]
        fallback = headline.compose(kept, ev["size"], ev["cluster"])
        liar = next(c for c in lying if c["type"] == kind)
        if "percent" in liar:
            assert f"{liar['percent']}%" not in fallback.text
        assert all(c is not liar for c in fallback.claims)
        assert fits(fallback.text)
        assert check_text(fallback.text, ev, input_words(Token(w) for w in TEXT_WORDS)) == [], fallback.text
        if any(c["type"] == kind for c in honest.claims):
            assert fallback.reason != honest.reason or fallback.text != honest.text


def test_an_injected_lie_never_reaches_the_explained_headline(monkeypatch, caplog) -> None:
    def lying(evidence):
        claims = make_claims(evidence)
        for c in claims:
            if c["type"] in ("edge", "partition", "share") and "percent" in c:
                c["percent"] = 99 if c["percent"] != 99 else 98
        return claims

    monkeypatch.setattr(rationale, "make_claims", lying)
    a = planted((4, 5, 6), shuffle=True, seed=2).explain()
    for c in a.clusters:
        assert "99%" not in c.headline, c.headline
        assert "98%" not in c.headline, c.headline
        assert c.evidence["rationale_check"]["dropped_claims"]
        assert fits(c.headline)


def test_with_every_claim_dropped_the_headline_says_only_what_is_sure() -> None:
    assert headline.compose([], 5).text == "These words form a group."
    assert headline.compose([], 1).text == "This group has one word."
    ev = evidences()[0]
    members = [c for c in verify(make_claims(ev), ev)[0] if c["type"] == "member"]
    line = headline.compose(members, ev["size"]).text
    assert line.endswith("form a group.")
    assert "more" in line


def test_ten_headlines_on_one_screen_do_not_read_alike() -> None:
    a = planted((3, 4, 3, 5, 4, 3, 4, 3, 5, 4), shuffle=False, seed=1).explain()
    lines = [c.headline for c in a.clusters if c.size > 1]
    assert len(lines) >= 10
    assert len({shape(x) for x in lines}) >= 3, lines  # one evidence (chunks), still three wordings
    scattered = planted((3, 4, 3, 5, 4, 3, 4), shuffle=True, seed=4).explain()
    more = [c.headline for c in scattered.clusters if c.size > 1]
    assert len({shape(x) for x in more}) >= 4, more
    assert len({x.split()[0] for x in lines + more}) >= 4  # not one opening word for all


def test_the_wording_follows_the_evidence_not_one_template() -> None:
    f = {"type": "lexical", "class": "pronoun", "tokens": [4], "texts": [" she"]}
    edge = {"type": "edge", "from": 4, "to": 1, "from_text": " she", "to_text": "Mary", "percent": 41}
    plain = headline.compose([f, edge], 4, variant=0)
    assert plain.text == (
        "The pronoun 'she' gives over a third of its attention to 'Mary', its strongest tie here."
    )
    basis = {"type": "basis", "lens": "coreference", "lens_heads": 3, "measure": "attention"}
    coref = headline.compose([f, edge, basis], 4, variant=0)
    assert coref.text == (
        "Through the pronoun patterns, 'she' looks back to 'Mary' with over a third of its attention."
    )
    assert coref.claims[0] is basis  # the lens is a claim the headline says, checked like the rest
    far = headline.compose([{**edge, "from_text": " it"}], 4, variant=0)
    assert far.reason == "far"
    assert "back" in far.text
    ahead = headline.compose([{**edge, "from": 1, "to": 4, "from_text": "Mary", "to_text": " she"}], 4)
    assert "ahead" in ahead.text
    near = headline.compose([{**edge, "to": 3, "to_text": " that", "from_text": " x"}], 4)
    assert near.reason == "link"
    assert "the word just before" in near.text


def test_a_token_with_an_apostrophe_is_quoted_so_it_reads_back() -> None:
    assert headline.quote(" neighbour's") == '"neighbour\'s"'
    assert headline.quote(" cat") == "'cat'"


def test_headlines_round_trip_and_older_files_load_without_them(tmp_path) -> None:
    a = planted().explain()
    back = Analysis.load(a.save(tmp_path / "a.json"))
    assert [c.headline for c in back.clusters] == [c.headline for c in a.clusters]
    assert back == Analysis.from_dict(a.to_dict())
    assert a.to_dict()["format_version"] == FORMAT_VERSION
    for version in (2, 3):  # 3: a refined partition, no headline yet
        old = a.refine("pin", tokens=list(a.clusters[0].tokens[:2])).to_dict()
        old["format_version"] = version
        for c in old["clusters"]:
            del c["headline"]
        if version == 2:
            del old["partition"]
        back = Analysis.from_dict(old)
        assert all(c.headline is None for c in back.clusters)
        assert [c.rationale for c in back.clusters] == [c["rationale"] for c in old["clusters"]]


def test_the_table_shows_each_headline_under_its_row() -> None:
    a = planted().explain()
    lines = a.table().splitlines()
    for c in a.clusters:
        row = next(k for k, line in enumerate(lines) if line.split()[:2] == [str(c.id), str(c.size)])
        assert lines[row + 1] == "      " + c.headline
    assert all(c.headline not in a.table(headlines=False) for c in a.clusters)


def test_headlines_read_at_a_low_school_grade_and_the_full_text_stays_longer() -> None:
    lines, full = [], []
    for seed in range(3):
        for shuffle in (False, True):
            a = planted((4, 5, 6, 3), shuffle, seed).explain()
            lines += [c.headline for c in a.clusters]
            full += [c.rationale for c in a.clusters]
    assert np.median([grade(x) for x in lines]) <= 8
    assert np.median([words(x) for x in lines]) <= 20
    assert np.median([words(x) for x in full]) > 2 * np.median([words(x) for x in lines])


def test_the_claim_makers_put_a_whole_word_in_pieces_in_one_claim() -> None:
    ev = copy.deepcopy(evidences((4, 5, 6))[0])
    members = [t["index"] for t in ev["tokens"]]
    none = {"pronoun": [], "number": []}
    ev["lexical"] = {**ev["lexical"], **none, "same_word": [members], "whole_word": [members]}
    lex = next(c for c in make_claims(ev) if c["type"] == "lexical")
    assert lex["class"] == "same_word"
    assert lex["tokens"] == members
    assert lex["one_word"] is True
    assert len(lex["texts"]) == min(len(members), claim_makers.MAX_LEXICAL)
    assert verify([lex], ev)[1] == []
    line = headline.compose(verify(make_claims(ev), ev)[0], ev["size"])
    assert line.reason == "word"
    assert "is one word that the model reads" in line.text


def test_a_word_with_a_piece_in_another_group_is_never_called_one_word() -> None:
    ev = copy.deepcopy(evidences((4, 5, 6))[0])
    members = [t["index"] for t in ev["tokens"]]
    ev["lexical"] = {**ev["lexical"], "pronoun": [], "number": [], "same_word": [members], "whole_word": []}
    lex = next(c for c in make_claims(ev) if c["type"] == "lexical")
    assert lex["class"] == "same_word"
    assert "one_word" not in lex
    reason = verify([{**lex, "one_word": True}], ev)[1][0]["reason"]
    assert reason == "the tokens are not all the pieces of one word"
    line = headline.compose(verify(make_claims(ev), ev)[0], ev["size"])
    assert line.reason != "word"
    assert "one word that the model reads" not in line.text
    assert "all the pieces" not in line.text


def test_two_words_in_pieces_are_never_called_one_word() -> None:
    ev = copy.deepcopy(max(evidences((4, 5, 6)), key=lambda e: e["size"]))
    m = [t["index"] for t in ev["tokens"]]
    none = {"pronoun": [], "number": [], "capitalised": [], "punctuation": []}
    ev["lexical"] = {**ev["lexical"], **none, "same_word": [m[:2], m[2:4]], "whole_word": [m[:2], m[2:4]]}
    lex = next(c for c in make_claims(ev) if c["type"] == "lexical")
    assert lex["class"] == "same_word"
    assert lex["tokens"] == m[:2]  # one word's pieces, never a mix of two words
    assert verify([lex], ev)[1] == []
    mixed = {**lex, "tokens": [m[0], m[2]], "texts": [ev["tokens"][0]["text"], ev["tokens"][2]["text"]]}
    assert verify([mixed], ev)[1][0]["reason"] == "the tokens are not pieces of one word"
    both = {**lex, "tokens": m[:4], "texts": [t["text"] for t in ev["tokens"][:4]], "one_word": True}
    assert verify([both], ev)[1][0]["reason"] == "the tokens are not pieces of one word"
    line = headline.compose(verify(make_claims(ev), ev)[0], ev["size"])
    assert "one word that the model reads" not in line.text
    ev["lexical"]["same_word"] = ev["lexical"]["whole_word"] = [m[:3], m[3:]]  # two words make the group
    line = headline.compose(verify(make_claims(ev), ev)[0], ev["size"])
    assert "one word that the model reads" not in line.text


def test_a_listed_group_is_named_by_its_words_not_its_punctuation() -> None:
    member = {"type": "member", "tokens": [3, 4, 5, 6], "texts": [",", " flour", ",", " eggs"]}
    assert headline.compose([member], 9).text == "'flour', 'eggs' and 7 more form a group."
    few = {"type": "member", "tokens": [3, 4, 5], "texts": [",", " flour", " eggs"]}
    assert headline.compose([few], 3).text == "',', 'flour' and 'eggs' form a group."  # all three are named


def test_a_word_in_pieces_among_other_words_says_how_many_others() -> None:
    pieces = {"type": "lexical", "class": "same_word", "tokens": [4, 5], "texts": [" Photos", "ynthesis"]}
    some = headline.compose([pieces], 10)
    assert some.reason == "pieces"
    assert some.text == "This group holds pieces of one word, 'Photos' and 'ynthesis', and 8 other words."
    whole = headline.compose([{**pieces, "one_word": True}], 3)
    assert whole.text.startswith("This group holds all the pieces of one word, 'Photos' and 'ynthesis'")
    assert whole.text.endswith(", and 1 other word.")


def test_a_hand_edit_explains_every_group_against_the_partition_it_now_sits_in() -> None:
    """Untouched groups are explained again too: their evidence (and "like most groups here") is
    about the whole partition, whose contiguity the edit changed and whose cut test was of the old one."""
    cut = {"ratio_contiguous": 1.0, "ratio_random": 0.5, "output": "next-token distributions (JS divergence)"}
    a = attn_widget.explain(planted((4, 5, 6)), cut=cut)
    assert all("cut" in c.evidence["partition"] for c in a.clusters)
    before = {c.tokens for c in a.clusters}
    ids = sorted(c.id for c in a.clusters if c.size > 1)[:2]
    edited = a.refine("merge", clusters=ids)
    assert contiguity(edited.labels) != contiguity(a.labels)
    untouched = [c for c in edited.clusters if c.tokens in before]
    assert untouched
    fresh = {c.tokens: c for c in attn_widget.explain(edited).clusters}  # every group from scratch
    for c in edited.clusters:
        assert c.evidence["partition"] == {"contiguity": round(contiguity(edited.labels), 4)}
        assert (c.rationale, c.headline) == (fresh[c.tokens].rationale, fresh[c.tokens].headline)
    assert_plain_and_true(edited)


def test_an_edit_that_leaves_the_labels_as_they_were_keeps_every_explanation() -> None:
    a = planted((4, 5, 6)).explain()
    together = list(a.clusters[1].tokens[:2])
    pinned = a.refine("pin", tokens=together)  # already one group: the labels do not change
    np.testing.assert_array_equal(pinned.labels, a.labels)
    for old, new in zip(a.clusters, pinned.clusters, strict=True):
        assert new.rationale is old.rationale
        assert new.evidence == old.evidence


@pytest.mark.parametrize("percent", range(101))
def test_a_share_in_words_reads_back_as_a_range_that_holds_it(percent: int) -> None:
    said = share_words(percent)
    m = SHARE_PHRASE.search(f"gives {said} of its attention")
    assert m is not None
    assert m.group(0).strip() == said
    low, high = share_range(m.group(1), m.group(2))
    assert low <= percent <= high, (said, low, high)
    assert high - low <= 25 or said.startswith("under")  # "over a quarter" never stands for 60%


def test_the_text_check_catches_a_share_in_words_that_the_evidence_does_not_hold() -> None:
    a = planted((4, 5, 6), shuffle=True, seed=3).explain()
    vocab = input_words(a.tokens)
    checked = 0
    for c in a.clusters:
        m = SHARE_PHRASE.search(c.headline.lower())
        if m is None:
            continue
        _low, high = share_range(m.group(1), m.group(2))
        assert check_text(c.headline, c.evidence, vocab) == [], c.headline
        wrong = "nearly all" if high < 90 else "under a tenth"
        lie = c.headline[: m.start()] + wrong + " " + c.headline[m.end() :]
        problems = check_text(lie, c.evidence, vocab)
        assert any(wrong in p for p in problems), (lie, problems)
        for rewording in ("more than", "almost", "roughly"):  # a rewording's hedges are read too
            hedged = c.headline[: m.start()] + f"{rewording} {m.group(2)} " + c.headline[m.end() :]
            truth = share_range(rewording, m.group(2))
            share = next(x["percent"] for x in c.claims if x.get("headline") and "percent" in x)
            assert (check_text(hedged, c.evidence, vocab) == []) == (truth[0] <= share <= truth[1]), hedged
        checked += 1
    assert checked >= 2


def test_only_a_share_of_attention_is_read_as_a_share() -> None:
    said = [m.group(0).strip() for m in SHARE_PHRASE.finditer(
        "all of these words form a group; over a third of its attention goes to 'x', about half of the "
        "group's attention stays inside, nearly all of the attention of 'y' goes back, and over two thirds "
        "of words here share a group with the next word; half of them are nouns."
    )]
    assert said == ["over a third", "about half", "nearly all", "over two thirds"]
