"""Explanations on demand: one cluster at a time, cached across thresholds, answered through the widget."""

from __future__ import annotations

import dataclasses
import re
from functools import partial

import ipywidgets
import numpy as np
import pytest
from factories import make_analysis

from attn_widget import AttentionExplainer
from attn_widget.core import Analysis
from attn_widget.explain import evidence as characterize_module
from attn_widget.explain import rationale as rationale_module
from attn_widget.view.explain_cache import NO_MODEL
from attn_widget.view.service import ExplainService, basis

TEXT = "The old cat sat on the warm mat because it was tired of 42 noisy mice ."


# three planted groups over the words of TEXT (3 layers x 2 heads); tests add analyze options
planted = partial(
    make_analysis, [5, 5, len(TEXT.split()) - 10], words_of=TEXT, n_layers=3, n_heads=2, strength=4.0, seed=1
)


def biggest(a: Analysis):
    return max(a.clusters, key=lambda c: c.size)


def count_characterize(monkeypatch) -> list[int]:
    calls: list[int] = []
    real = characterize_module.characterize

    def counting(analysis, cluster, report=None, **partition):
        calls.append(cluster.id)
        return real(analysis, cluster, report, **partition)

    monkeypatch.setattr(characterize_module, "characterize", counting)
    monkeypatch.setattr(rationale_module, "characterize", counting)  # the name explain_cluster calls
    return calls


# ----------------------------------------------------------------- the service
def test_one_cluster_is_explained_exactly_as_explain_does() -> None:
    a = planted()
    service = ExplainService()
    for c in a.clusters:
        got = service.explain(a, c.id)
        ref = next(r for r in a.explain(clusters=[c.id]).clusters if r.id == c.id)
        assert got.tokens == c.tokens
        assert got.rationale == ref.rationale
        assert got.evidence == ref.evidence
        assert got.claims == ref.claims
        assert got.scores == {"complexity": ref.evidence["complexity"]}
        for i in c.tokens[:6]:
            assert a.tokens[i].text in got.rationale


def test_a_cluster_that_reappears_at_another_threshold_comes_from_the_cache(monkeypatch) -> None:
    a = planted()
    grid = a.sweep.thresholds
    # find two grid thresholds whose partitions share a group of 2+ tokens
    groups = {}
    for g, labels in enumerate(a.sweep.labels):
        for cid in set(labels.tolist()) - {-1}:
            members = tuple(np.flatnonzero(labels == cid).tolist())
            if len(members) > 1:
                groups.setdefault(members, []).append(g)
    members, seen = next((m, gs) for m, gs in groups.items() if len(gs) > 1)
    first, second = (a.recluster(threshold=float(grid[g])) for g in seen[:2])
    c1 = next(c for c in first.clusters if c.tokens == members)
    c2 = next(c for c in second.clusters if c.tokens == members)
    service = ExplainService()
    calls = count_characterize(monkeypatch)
    one = service.explain(first, c1.id)
    two = service.explain(second, c2.id)
    assert len(calls) == 1  # the second threshold was served from the cache
    assert two.rationale == one.rationale
    assert two.id == two.evidence["cluster"] == c2.id
    assert (two.modularity, two.internal) == (c2.modularity, c2.internal)
    other = first.recluster(aggregation="max")  # different attention: explained again
    service.explain(other, other.cluster_of(members[0]).id)
    assert len(calls) == 2


def test_tokens_from_the_view_can_name_a_group_the_kernel_has_not_reached() -> None:
    a = planted()
    g = next(g for g in range(len(a.sweep.thresholds)) if not np.array_equal(a.sweep.labels[g], a.labels))
    labels = a.sweep.labels[g]
    cid = next(int(k) for k in set(labels.tolist()) - {-1} if (labels == k).sum() > 1)
    members = np.flatnonzero(labels == cid).tolist()
    got = ExplainService().explain(a, cid, members, grid=g)  # the view names the partition it shows
    at_g = a.recluster(threshold=float(a.sweep.thresholds[g]))
    ref = next(c for c in at_g.explain().clusters if list(c.tokens) == members)
    assert list(got.tokens) == members
    assert got.rationale == ref.rationale
    assert got.headline == ref.headline
    assert got.internal == pytest.approx(ref.internal)
    assert got.modularity == pytest.approx(ref.modularity)


@pytest.mark.parametrize(
    ("cluster", "tokens", "message"),
    [
        (99, None, r"cluster 99 does not exist here; the clusters are \[0, 1, 2\]"),
        ("x", None, "cluster must be a cluster id"),
        (0, [1, 200], r"token indices \[200\] are outside this text's 0\.\.17"),
        (0, [0, 1], r"tokens \[0\] are left out of the graph"),
        (0, [], "no tokens given"),
        (0, ["a"], "tokens must be a list of token indices"),
    ],
)
def test_bad_requests_say_what_was_wrong(cluster, tokens, message) -> None:
    service, sent = ExplainService(), []
    service.handle({"type": "explain", "id": 1, "cluster": cluster, "tokens": tokens}, planted(), sent.append)
    service.join(30)
    ((reply,),) = [sent]
    assert reply["info"] is None
    assert re.search(message, reply["error"]), reply["error"]


def test_scores_without_a_model_say_so_plainly() -> None:
    a = planted()
    service = ExplainService()
    assert service.scores_unavailable(a) == NO_MODEL
    with pytest.raises(ValueError, match="need the model that made the attention"):
        service.scores(a, biggest(a).id)
    named = dataclasses.replace(a, model="gpt2")  # a model, but token strings without ids
    assert "token ids" in service.scores_unavailable(named)


# ------------------------------------------------------------------ the widget
def from_view(w, content) -> None:
    """Deliver a custom message the way the front-end's comm does (ipywidgets' own dispatch)."""
    w._handle_msg({"content": {"data": {"method": "custom", "content": content}}, "buffers": []})


def replies(w, monkeypatch) -> list[dict]:
    sent: list[dict] = []
    monkeypatch.setattr(w, "send", lambda content, buffers=None: sent.append(content))
    return sent


def test_the_widget_keeps_ipywidgets_own_message_dispatch() -> None:
    assert AttentionExplainer._handle_msg is ipywidgets.Widget._handle_msg


def test_a_click_request_is_answered_with_the_rationale_of_that_cluster(monkeypatch) -> None:
    w = AttentionExplainer(planted())
    sent = replies(w, monkeypatch)
    c = biggest(w.analysis)
    from_view(w, {"type": "explain", "id": 4, "cluster": c.id})
    w.explain_service.join(30)
    ((reply,),) = [sent]
    assert reply["type"] == "explain_reply"
    assert reply["id"] == 4
    assert reply["error"] is None
    assert reply["cluster"] == c.id
    assert reply["tokens"] == list(c.tokens)
    assert reply["basis"] == [w.aggregation, w.layers, w.heads]
    assert reply["scores_unavailable"] == NO_MODEL
    info = reply["info"]
    assert info["id"] == c.id
    assert info["size"] == c.size
    assert w.analysis.tokens[c.tokens[0]].text in info["rationale"]
    assert info["claims"]
    assert info["evidence"]["tokens"]
    assert "faithfulness" not in info["scores"]


def test_a_reply_names_the_tokens_it_explains_even_after_the_slider_moved(monkeypatch) -> None:
    w = AttentionExplainer(planted())
    sent = replies(w, monkeypatch)
    before = biggest(w.analysis)
    from_view(w, {"type": "explain", "id": 1, "cluster": before.id, "tokens": list(before.tokens)})
    w.threshold = float(w.analysis.sweep.thresholds[-1])  # a new partition while the request runs
    w.explain_service.join(30)
    assert sent[-1]["tokens"] == list(before.tokens)
    names = [w.analysis.tokens[i].text for i in before.tokens]
    assert all(n in sent[-1]["info"]["rationale"] for n in names[:6])


def test_faithfulness_on_a_planted_widget_says_it_needs_a_model_and_the_widget_stays_usable(
    monkeypatch,
) -> None:
    w = AttentionExplainer(planted())
    sent = replies(w, monkeypatch)
    c = biggest(w.analysis)
    from_view(w, {"type": "scores", "id": 2, "cluster": c.id})
    w.explain_service.join(30)
    assert sent[-1]["type"] == "scores_reply"
    assert sent[-1]["error"] == NO_MODEL
    from_view(w, {"type": "explain", "id": 3, "cluster": c.id})
    w.explain_service.join(30)
    assert sent[-1]["error"] is None
    assert sent[-1]["info"]["rationale"]
    from_view(w, {"type": "explain", "id": 5, "cluster": 1234})
    w.explain_service.join(30)
    assert sent[-1]["error"].startswith("The explanation could not be made: cluster 1234 does not exist")


def test_requests_before_the_text_analysis_finished_get_an_error(monkeypatch) -> None:
    w = AttentionExplainer(planted())
    sent = replies(w, monkeypatch)
    w.analysis = None
    from_view(w, {"type": "explain", "id": 9, "cluster": 0})
    w.explain_service.join(30)
    assert "not ready yet" in sent[-1]["error"]


def test_faithfulness_from_the_view_reports_progress_then_the_badge_numbers(tiny_gpt2, monkeypatch) -> None:
    model, tok = tiny_gpt2
    w = AttentionExplainer(  # faithfulness is measured on the model's tokens (the words view says so)
        "The cat sat on the mat because it was tired, and the dog slept.", model=model, tokenizer=tok,
        unit="token",
    )
    w.wait(120)
    sent = replies(w, monkeypatch)
    c = biggest(w.analysis)
    from_view(w, {"type": "scores", "id": 11, "cluster": c.id, "tokens": list(c.tokens)})
    w.explain_service.join(120)
    progress = [m for m in sent if m["type"] == "scores_progress"]
    assert [m["done"] for m in progress] == [0, 1, 2, 3]
    assert all(m["id"] == 11 and m["total"] == 3 for m in progress)
    assert "Loading the model" in progress[0]["message"]
    reply = sent[-1]
    assert reply["type"] == "scores_reply"
    assert reply["error"] is None
    assert reply["scores_unavailable"] is None
    faith = reply["info"]["scores"]["faithfulness"]
    assert faith["n_random"] == 10
    for metric in ("knockout", "erasure", "comprehensiveness", "sufficiency"):
        assert faith[metric]["baseline"] is not None
        assert 0.0 <= faith[metric]["beats"] <= 1.0
    assert reply["info"]["rationale"]
    # clicking the cluster again shows the measured scores without measuring again
    from_view(w, {"type": "explain", "id": 12, "cluster": c.id})
    w.explain_service.join(30)
    assert sent[-1]["info"]["scores"]["faithfulness"] == faith


def test_explain_backend_polishes_clicked_clusters_and_is_off_by_default(monkeypatch) -> None:
    prompts: list[str] = []

    def backend(prompt: str) -> str:
        prompts.append(prompt)
        return "'Paris' and 'dog' form a group."  # not in the evidence: rejected, the grounded text stays

    a = planted()
    c = biggest(a)
    plain = AttentionExplainer(a)
    assert plain.explain_service.explain(a, c.id).evidence["rationale_check"]["source"] == "grounded"
    polished = AttentionExplainer(a, explain_backend=backend)
    got = polished.explain_service.explain(a, c.id)
    assert len(prompts) == 2  # the rationale and the headline, each checked
    assert got.evidence["rationale_check"]["source"] == "grounded (language-model text rejected)"
    assert got.evidence["headline_check"]["source"] == "grounded (language-model text rejected)"
    assert got.rationale == plain.explain_service.explain(a, c.id).rationale
    assert got.headline == plain.explain_service.explain(a, c.id).headline
    with pytest.raises(TypeError, match="unexpected keyword arguments \\['explain_bakend'\\]") as err:
        AttentionExplainer(a, explain_bakend=backend)
    assert "'explain_backend'" in str(err.value)  # the message lists the right spelling


def test_after_moving_the_threshold_the_python_api_still_explains_what_is_on_screen() -> None:
    w = AttentionExplainer(planted())
    w.threshold = float(w.analysis.sweep.thresholds[-2])
    explained = w.analysis.explain()
    assert all(c.rationale for c in explained.clusters)
    shown = w.explain()
    assert [c.rationale for c in shown.clusters] == [c.rationale for c in explained.clusters]
    assert [c["rationale"] for c in w.state["clusters"]] == [c.rationale for c in explained.clusters]
    assert w.analysis is shown


def test_basis_mirrors_the_widget_traits() -> None:
    w = AttentionExplainer(planted(aggregation="layers", layers=[0, 2]))
    assert basis(w.analysis) == [w.aggregation, w.layers, w.heads]
    assert w.layers == [0, 2]
    w.aggregation, w.heads = "heads", [[0, 1], [2, 0]]
    assert basis(w.analysis) == [w.aggregation, w.layers, w.heads]


def test_a_group_shown_in_several_sweep_partitions_is_explained_as_laid_out_in_the_one_on_screen() -> None:
    a = planted()
    holders: dict[tuple[int, ...], list[int]] = {}
    for g, labels in enumerate(a.sweep.labels):
        if np.array_equal(labels, a.labels):
            continue
        for k in set(labels.tolist()) - {-1}:
            members = tuple(np.flatnonzero(labels == k).tolist())
            if len(members) > 1 and members not in {c.tokens for c in a.clusters}:
                holders.setdefault(members, []).append(g)
    def share(g: int, members: tuple[int, ...]) -> float:
        at_g = a.recluster(threshold=float(a.sweep.thresholds[g])).explain()
        return next(c for c in at_g.clusters if c.tokens == members).evidence["partition"]["contiguity"]

    found = None
    for members, gs in holders.items():
        shares = {g: share(g, members) for g in gs[:4]}
        if len(set(shares.values())) > 1:
            found = members, shares
            break
    assert found, "the planted sweep has no group in two partitions laid out differently"
    members, shares = found
    service = ExplainService()
    for g, share in shares.items():
        got = service.explain(a, 0, list(members), grid=g)
        assert got.evidence["partition"]["contiguity"] == share
    sent: list[dict] = []
    bad = {"type": "explain", "id": 1, "cluster": 0, "tokens": list(members), "grid": 999}
    service.handle(bad, a, sent.append)
    service.join(30)
    ((reply,),) = [sent]
    assert reply["info"] is None
    assert "grid 999 is not a sweep partition" in reply["error"]


def test_the_words_view_says_faithfulness_is_measured_on_the_model_tokens(tiny_gpt2) -> None:
    model, tok = tiny_gpt2
    w = AttentionExplainer("The cat sat on the mat because it was tired.", model=model, tokenizer=tok)
    w.wait(120)
    reason = w.explain_service.scores_unavailable(w.analysis)
    assert reason is not None
    assert "this view shows words" in reason
    assert "'model tokens'" in reason
