"""Grounded rationales: short, deterministic, every statement backed by a verified claim."""

from __future__ import annotations

import logging
import re
from functools import partial

import pytest
from factories import make_analysis, with_carrying_head

import attn_widget
from attn_widget.core import Analysis
from attn_widget.core.shares import pct
from attn_widget.explain import claim_makers, rationale
from attn_widget.explain.textcheck import check_text, input_words
from attn_widget.graph.threshold import symmetrise

TEXT = "The old cat sat on the warm mat because it was tired of 42 noisy mice ."


# three planted groups over the words of TEXT; tests vary shuffle=, seed=, strength=
analysis = partial(make_analysis, [5, 5, len(TEXT.split()) - 10], words_of=TEXT, strength=4.0)


def sentences(text: str) -> list[str]:
    """The rationale cut into sentences the way the widget's panel cuts it (js/src/panel/panel.ts)."""
    return re.split(r"(?<=[.!?])\s+(?=[A-Z'\"“‘(])", text)


def said_in(claim: dict, sentence: str) -> bool:
    """Whether ``sentence`` visibly says what ``claim`` asserts (its number, token or head)."""
    if claim["type"] in ("head", "role"):
        return f"{claim['layer']}.{claim['head']}" in sentence
    if "percent" in claim:
        return f"{claim['percent']}%" in sentence
    if claim["type"] == "layout":
        return f"{claim['first']}–{claim['last']}" in sentence or f"token {claim['first']}" in sentence
    if "texts" in claim and claim["type"] != "sink":
        return all(t.strip() in sentence for t in claim["texts"])
    return claim["type"] in ("sink", "spread")


def test_every_cluster_gets_a_short_rationale_backed_by_its_evidence() -> None:
    a = analysis().explain()
    for c in a.clusters:
        assert c.rationale
        assert c.evidence
        assert c.claims
        said = sentences(c.rationale)
        assert len(said) <= len(claim_makers.SENTENCES), c.rationale
        unquoted = [re.sub(r"'[^']*'", "", s) for s in said]
        assert all(len(s.split()) <= 30 for s in unquoted), said  # short sentences, not one long one
        assert f"{pct(c.evidence['attention']['internal'])}%" in c.rationale
        for t in c.evidence["tokens"][: claim_makers.MAX_LISTED]:
            assert t["text"].strip() in c.rationale
        assert check_text(c.rationale, c.evidence, input_words(a.tokens)) == [], c.rationale
        assert c.scores["complexity"] == c.evidence["complexity"]
        assert c.evidence["rationale_check"] == {"source": "grounded", "dropped_claims": []}
        for claim in c.claims:
            assert claim["field"].split(".")[0] in c.evidence
            assert claim["text"]
            # the widget highlights sentence k with the claims whose "sentence" is k
            assert said_in(claim, said[claim["sentence"]]), (claim, said)


def test_jargon_comes_with_a_gloss() -> None:
    from attn_widget.heads.roles import GLOSSES

    a = analysis().explain()
    said_head = False
    for c in a.clusters:
        if " head" in c.rationale.lower():
            said_head = True
            assert "a head is one of the model's parallel attention patterns, named layer.head" in c.rationale
        for role, gloss in GLOSSES.items():
            if f"{role} head" in c.rationale:
                assert gloss in c.rationale
    assert said_head


def test_scattered_cluster_is_described_as_scattered() -> None:
    a = analysis(shuffle=True, seed=2).explain()
    c = next(c for c in a.clusters if not c.evidence["contiguous"])
    assert "scattered" in c.rationale
    assert "The words" not in c.rationale


def test_rationales_are_deterministic_and_survive_save_and_load(tmp_path) -> None:
    a = analysis()
    first, second = a.explain(), a.explain()
    assert [c.rationale for c in first.clusters] == [c.rationale for c in second.clusters]
    for path in (tmp_path / "a.json", tmp_path / "a.zip"):
        first.save(path)
        assert Analysis.load(path).clusters == first.clusters


def test_a_claim_that_fails_is_not_said_and_is_logged(monkeypatch, caplog) -> None:
    make = rationale.make_claims

    def with_a_lie(evidence):
        claims = make(evidence)
        for c in claims:
            if c["type"] == "edge":
                c["percent"] += 7  # a wrong number
            if c["type"] == "member":
                c["texts"][0] = "dog"  # a wrong token
        return claims

    monkeypatch.setattr(rationale, "make_claims", with_a_lie)
    with caplog.at_level(logging.WARNING, logger="attn_widget.claims"):
        a = analysis().explain()
    for c in a.clusters:
        assert "dog" not in c.rationale
        assert "strongest link" not in c.rationale
        assert {cl["type"] for cl in c.claims}.isdisjoint({"edge", "member"})
        assert len(c.evidence["rationale_check"]["dropped_claims"]) == 2
        assert c.rationale.endswith(".")
        assert "form" not in c.rationale
    assert sum("dropped claim" in r.getMessage() for r in caplog.records) == 2 * len(a.clusters)


def test_only_chosen_clusters_are_explained_and_bad_ids_are_named() -> None:
    a = analysis()
    b = a.explain(clusters=[a.clusters[1].id])
    assert [c.rationale is not None for c in b.clusters] == [False, True, False]
    with pytest.raises(ValueError, match=r"clusters \[99\] do not exist"):
        a.explain(clusters=[99])
    with pytest.raises(TypeError, match="no model="):
        a.explain(n_random=3)


def test_singletons_read_as_standing_alone() -> None:
    a = analysis()
    strongest = float(symmetrise(a.weights).max())
    b = a.recluster(threshold=strongest * 0.999).explain()  # almost every edge pruned
    singles = [c for c in b.clusters if c.size == 1]
    assert singles
    for c in singles:
        assert "stands on its own" in c.rationale
        assert (
            f"{pct(c.evidence['attention']['external'])}% of its attention goes to other tokens"
            in c.rationale
        )


def test_an_analysis_loaded_from_json_is_explained_without_heads(tmp_path) -> None:
    path = analysis().save(tmp_path / "a.json")  # JSON keeps no raw attention
    b = Analysis.load(path).explain()
    for c in b.clusters:
        assert c.evidence["heads"] == []
        assert "head" not in c.rationale
        assert "strongest link" in c.rationale


def test_the_share_parked_on_the_left_out_first_token_is_said_and_checked(monkeypatch) -> None:
    a = analysis()
    att = a.attentions.copy()
    att[..., 1:, 0] += 2.0  # every token parks most of its attention on the first token
    att /= att.sum(axis=-1, keepdims=True)
    sunk = attn_widget.analyze_attention(att, a.tokens, text=TEXT, exclude=[0]).explain()
    for c in sunk.clusters:
        share = pct(c.evidence["attention"]["sink"])
        assert share > 60
        whose = "its" if c.size == 1 else "the group's"
        said = f"All shares here leave out the first token, which draws {share}% of {whose} attention"
        assert said in c.rationale
        (claim,) = [cl for cl in c.claims if cl["type"] == "sink"]
        assert sentences(c.rationale)[claim["sentence"]].startswith("All shares here leave out")
    kept = attn_widget.analyze_attention(att, a.tokens, text=TEXT, exclude=[]).explain()  # nothing left out
    assert all("leave out" not in c.rationale for c in kept.clusters)

    make = rationale.make_claims

    def wrong_sink(evidence):
        claims = make(evidence)
        for c in claims:
            if c["type"] == "sink":
                c["percent"] -= 40  # hides most of what the first token takes
        return claims

    monkeypatch.setattr(rationale, "make_claims", wrong_sink)
    lied = attn_widget.analyze_attention(att, a.tokens, text=TEXT, exclude=[0]).explain()
    for c in lied.clusters:
        assert "leave out" not in c.rationale
        assert any("left-out tokens draw" in r for r in c.evidence["rationale_check"]["dropped_claims"])


def test_without_raw_attention_the_left_out_token_is_still_named(tmp_path) -> None:
    b = Analysis.load(analysis().save(tmp_path / "a.json")).explain()
    for c in b.clusters:
        assert "All shares here leave out the first token (models park spare attention there)." in c.rationale


def test_heads_are_named_only_when_they_carry_clearly_more_than_average() -> None:
    plain = analysis().explain()
    assert all("spread over many heads" in c.rationale for c in plain.clusters)  # no head stands out
    a = analysis(strength=2.0)
    b = with_carrying_head(a, a.cluster_of(1).tokens, layer=2, head=1).explain()
    c = b.cluster_of(1)
    top = c.evidence["heads"][0]
    assert (top["layer"], top["head"]) == (2, 1)
    assert top["lift"] >= claim_makers.HEAD_LIFT
    named = [h for h in c.evidence["heads"] if h["lift"] >= claim_makers.HEAD_LIFT]
    lifts = " and ".join(dict.fromkeys(f"{h['lift']:.1f}" for h in named))
    verb = "carries" if len(named) == 1 else "carry"
    assert f"{verb} it most: {lifts} times the share of an average head" in c.rationale
    for h in c.evidence["heads"]:
        if h["lift"] < claim_makers.HEAD_LIFT:  # an ordinary head is not named
            assert f"{h['layer']}.{h['head']}" not in c.rationale
    assert "spread over many heads" not in c.rationale


def test_the_table_and_the_rationale_give_the_same_inside_share() -> None:
    a = analysis(shuffle=True, seed=2).explain()
    rows = {int(line.split()[0]): line.split()[3] for line in a.table(headlines=False).splitlines()[1:]}
    for c in a.clusters:
        inside = pct(c.evidence["attention"]["inside"])
        assert rows[c.id] == f"{inside}%"
        if c.size > 1:
            assert f"{inside}% of their attention stays inside it" in c.rationale
