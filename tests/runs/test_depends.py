"""The next-word finding: what comes next, and the earlier word whose knockout moves it most."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import attn_widget
from attn_widget.core import Finding
from attn_widget.core.units import word_label
from attn_widget.explain.findings import make_findings, verify
from attn_widget.extract import ablation
from attn_widget.extract.ablation import next_token_probs
from attn_widget.runs import depends
from attn_widget.runs.depends import prediction_evidence

TEXT = "The cat sat on the mat because it was tired, and the dog slept on"


@pytest.fixture(scope="module")
def tiny(tiny_gpt2):
    model, tok = tiny_gpt2
    return attn_widget.analyze(TEXT, model=model, tokenizer=tok, unit="word"), model, tok


def test_one_batched_pass_gives_what_each_rerun_gives(tiny):
    a, model, tok = tiny
    words = [3, 9]
    knockouts = [a.units.pieces([w]).tolist() for w in words]
    ids = [t.id for t in a.model_tokens]
    probs = next_token_probs(model, ids, knockouts)
    assert probs.shape == (3, model.config.vocab_size)
    for row, w in zip(probs[1:], words, strict=True):
        ab = a.ablate(tokens=[w], model=model, tokenizer=tok)
        token = ab.prediction.token.id
        assert int(np.argmax(probs[0])) == token
        assert probs[0][token] == pytest.approx(ab.prediction.probability_before, rel=1e-4)
        assert row[token] == pytest.approx(ab.prediction.probability_after, rel=1e-4)
    assert not np.allclose(probs[1], probs[2])  # two knockouts, two answers


def test_each_knockout_reruns_only_the_positions_from_its_first_token(tiny, monkeypatch):
    a, model, _ = tiny
    ids = [t.id for t in a.model_tokens]
    knockouts = [a.units.pieces([w]).tolist() for w in (3, 9)]
    lengths: list[int] = []
    handle = model.base_model.register_forward_pre_hook(
        lambda _m, _args, kwargs: lengths.append(kwargs["input_ids"].shape[1]), with_kwargs=True
    )
    try:
        cached = next_token_probs(model, ids, knockouts)
    finally:
        handle.remove()
    assert lengths == [len(ids), len(ids) - knockouts[0][0], len(ids) - knockouts[1][0]]

    def no_cache(*_args, **_kwargs):
        raise AttributeError("no cache")

    monkeypatch.setattr(ablation, "_from_cache", no_cache)
    whole = next_token_probs(model, ids, knockouts)  # one batched pass over the whole text
    np.testing.assert_allclose(cached, whole, rtol=1e-4, atol=1e-7)


def test_the_word_named_is_the_knockout_that_lowers_the_prediction_most(tiny):
    a, model, tok = tiny
    e = prediction_evidence(a, model, tok)
    tried = e["candidates"]
    assert len(tried) == len(depends.candidates(a, 99))  # a short text: every earlier word is tried
    assert e["after"] == min(c["after"] for c in tried)
    assert word_label(a.tokens[e["node"]].text) == e["text"]
    assert e["last"] == len(a.tokens) - 1
    assert all(c["node"] < e["last"] and not a.tokens[c["node"]].special for c in tried)
    f = make_findings(a, (), None, e)
    (said,) = [x for x in f if x.kind == "prediction"]
    assert said.tokens == (e["node"], e["last"])
    assert said.text.startswith("Next comes ")
    assert f"'{e['text']}'" in said.text


@pytest.mark.parametrize(
    ("before", "after", "said"),
    [
        (0.749, 0.013, "Next comes 'Paris' (74.9%); without 'cat' it falls to 1.3%."),
        (0.30, 0.28, "Next comes 'Paris' (30.0%); knocking out 'cat' barely moves it (28.0%)."),
        (0.30, 0.35, "Next comes 'Paris' (30.0%); knocking out 'cat' does not lower it (35.0%)."),
    ],
)
def test_the_sentence_says_how_far_the_prediction_falls(tiny, before, after, said):
    a = tiny[0]
    e = _evidence(a, before, after)
    (f,) = [x for x in make_findings(a, (), None, e) if x.kind == "prediction"]
    assert f.text == said
    assert verify(f, a, (), None)


@pytest.mark.parametrize("predicted", [" ", "\n\n", ".", ","])
def test_a_prediction_that_is_not_a_word_gets_no_finding(tiny, monkeypatch, predicted):
    a, model, tok = tiny
    monkeypatch.setattr(depends, "piece_texts", lambda _tok: lambda ids: [predicted] * len(ids))
    assert prediction_evidence(a, model, tok) is None


def test_a_finding_whose_facts_do_not_hold_is_dropped(tiny):
    a = tiny[0]
    e = _evidence(a, 0.749, 0.013)
    f = next(x for x in make_findings(a, (), None, e) if x.kind == "prediction")
    worse = {**e, "node": e["candidates"][1]["node"], "text": e["candidates"][1]["text"], "after": 0.5}
    assert not verify(dataclasses.replace(f, evidence=worse), a, (), None)  # not the largest fall
    renamed = {
        **e,
        "candidates": [{**e["candidates"][0], "text": "dog"}, *e["candidates"][1:]],
        "text": "dog",
    }
    assert not verify(Finding("prediction", f.text.replace("'cat'", "'dog'"), f.tokens, renamed), a, (), None)
    other = attn_widget.analyze("Another text", model=tiny[1], tokenizer=tiny[2], unit="word")
    assert not verify(f, other, (), None)  # about another text


def test_no_next_word_for_an_encoder_arrays_or_a_text_too_long(tiny, monkeypatch):
    a, model, tok = tiny
    att = np.full((1, 1, 4, 4), 0.25)
    arrays = attn_widget.analyze_attention(att, ["a", "b", "c", "d"])
    assert prediction_evidence(arrays) is None
    monkeypatch.setattr(depends, "MAX_TOKENS", len(a.model_tokens) - 1)
    assert prediction_evidence(a, model, tok) is None


def test_explain_says_what_comes_next_and_keeps_it_through_save(tiny, tmp_path):
    a = tiny[0]
    explained = attn_widget.explain(a)  # the analysis's own model object
    kinds = [f.kind for f in explained.findings]
    assert "prediction" in kinds
    assert 3 <= len(kinds) <= 5
    back = attn_widget.Analysis.load(explained.save(tmp_path / "a.json"))
    assert back.findings == explained.findings


@pytest.mark.slow
def test_smollm2_says_paris_comes_next_and_the_what_if_card_agrees(smollm2):
    a = attn_widget.analyze("The capital of France is", model="smollm2", unit="word")
    e = prediction_evidence(a)
    assert e["token"].strip() == "Paris"
    ab = a.ablate(tokens=[e["node"]])  # what a word's "What if…" card shows
    assert ab.prediction.probability_before == pytest.approx(e["probability"], abs=1e-4)
    assert ab.prediction.probability_after == pytest.approx(e["after"], abs=1e-4)
    assert e["after"] < e["probability"] / 5
    assert e["text"] in {"capital", "France"}


def _evidence(a, before: float, after: float) -> dict:
    """Evidence for ``a`` with planted numbers: knocking out 'cat' (node 2) takes it to ``after``."""
    tried = [
        {"node": n, "text": word_label(a.tokens[n].text), "after": p, "instead": " a"}
        for n, p in [(2, after), (3, max(after, before) + 0.01)]
    ]
    e = {
        "token": " Paris",
        "probability": before,
        "position": 0,
        "last": len(a.tokens) - 1,
        "candidates": tried,
    }
    return {**e, "node": 2, "text": tried[0]["text"], "after": after}
