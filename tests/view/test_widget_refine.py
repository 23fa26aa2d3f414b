"""The widget's token map and hand edits, kernel side: messages, undo/redo, pins, export."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

import attn_widget
from attn_widget import AttentionExplainer, analyze_attention
from attn_widget.evaluate import iou_f1
from attn_widget.synthetic import planted_attention, tokens_from_pieces
from attn_widget.view.wire import map_key


def _analysis():
    att, groups = planted_attention([5, 5, 4], layers=2, heads=2, seed=1)
    text, tokens = tokens_from_pieces([f" w{i}" for i in range(len(groups) - 1)])
    return analyze_attention(att, tokens, text=text, exclude=[0]), groups


@pytest.fixture
def widget():
    w = AttentionExplainer(_analysis()[0])
    w.sent = []
    w.send = lambda content, buffers=None: w.sent.append((content, buffers))
    return w


def say(w, **content):
    w._on_custom_msg(None, content, [])
    return w.sent[-1][0]


def test_a_merge_from_the_view_changes_the_state_the_partition_and_selects_the_merged_cluster(widget):
    before = widget.analysis
    reply = say(widget, type="refine", id=1, op="merge", clusters=[0, 1], cluster=None, tokens=None, to=None)
    assert reply == {
        "type": "refine_reply",
        "id": 1,
        "error": None,
        "text": "merged clusters 0 and 1 into one of 10 tokens",
        "delta": pytest.approx(widget.analysis.modularity - before.modularity),
    }
    assert reply["delta"] < 0
    assert widget.partition.edits[-1].op == "merge"
    assert widget.selected_cluster == 0
    assert widget.state["modularity"] == widget.analysis.modularity
    assert widget.state["partition"]["undo"] == 1
    assert widget.state["partition"]["edits"][0]["op"] == "merge"
    assert len(widget.partition.groups()) == 2


def test_undo_and_redo_walk_the_history_and_a_refusal_changes_nothing(widget):
    start = widget.analysis
    say(widget, type="refine", id=1, op="split", cluster=2, clusters=None, tokens=None, to=None)
    split = widget.analysis
    assert len(split.clusters) > len(start.clusters)
    assert say(widget, type="refine", id=2, op="undo")["error"] is None
    assert widget.analysis is start
    assert widget.state["partition"]["redo"] == 1
    say(widget, type="refine", id=3, op="redo")
    assert widget.analysis is split
    refused = say(widget, type="refine", id=4, op="merge", clusters=[0, 42])
    assert "cluster 42 does not exist" in refused["error"]
    assert widget.analysis is split
    assert "nothing to redo" in say(widget, type="refine", id=5, op="redo")["error"]
    assert "unknown edit 'fold'" in say(widget, type="refine", id=6, op="fold")["error"]


def test_moving_the_slider_after_edits_keeps_the_pins_and_one_undo_brings_the_edits_back(widget):
    a, b = widget.analysis.clusters[0].tokens[0], widget.analysis.clusters[2].tokens[0]
    widget.refine("pin", tokens=[a, b])
    edited = widget.analysis
    widget.threshold = float(edited.sweep.thresholds[1])
    assert widget.analysis.labels[a] == widget.analysis.labels[b]  # the pin survived re-clustering
    assert widget.partition.pins == ((a, b),)
    widget.undo()
    assert widget.analysis is edited
    assert widget.threshold == edited.threshold


def test_the_map_is_made_in_the_background_and_sent_as_a_buffer_with_its_graphs_key(widget):
    widget._on_custom_msg(None, {"type": "map", "id": 7, "method": "tsne", "seed": 0}, [])
    widget.map_service.join(120)
    reply, buffers = widget.sent[-1]
    assert reply["error"] is None
    assert reply["key"] == map_key(widget.analysis) == widget.state["map_key"]
    coords = np.frombuffer(buffers[0], dtype="<f4").reshape(-1, 2)
    np.testing.assert_allclose(coords, attn_widget.token_map(widget.analysis, "tsne"), rtol=1e-6)
    widget._on_custom_msg(None, {"type": "map", "id": 8, "method": "pca", "seed": 0}, [])
    widget.map_service.join(60)
    assert "unknown token map method 'pca'" in widget.sent[-1][0]["error"]
    widget._show(widget.analysis)
    assert widget.state["map"]["method"] == "tsne"  # a view drawn again gets the map with the state


def test_a_clusters_map_is_laid_out_for_the_partition_the_view_sends(widget):
    now = [int(x) for x in widget.analysis.labels]
    stops = [[int(x) for x in labels] for labels in widget.analysis.sweep.labels]
    shown = next(s for s in stops if s != now)  # a slider stop ahead of the kernel
    widget._on_custom_msg(
        None, {"type": "map", "id": 9, "method": "clusters", "seed": 0, "labels": shown}, []
    )
    widget.map_service.join(60)
    reply, buffers = widget.sent[-1]
    assert reply["error"] is None
    assert reply["method"] == "clusters"
    coords = np.frombuffer(buffers[0], dtype="<f4").reshape(-1, 2)
    want = attn_widget.token_map(widget.analysis, "clusters", labels=np.array(shown))
    np.testing.assert_allclose(coords, want, rtol=1e-5, atol=1e-5)
    assert not np.allclose(want, attn_widget.token_map(widget.analysis, "clusters"), equal_nan=True)
    widget._on_custom_msg(
        None, {"type": "map", "id": 10, "method": "clusters", "seed": 0, "labels": "0,1"}, []
    )
    widget.map_service.join(60)
    assert "labels=0,1: give one whole-number cluster id per token" in widget.sent[-1][0]["error"]


def test_the_refined_partition_is_exported_and_usable_as_the_human_grouping(widget, tmp_path):
    _, groups = _analysis()
    truth = [set(np.flatnonzero(groups == g).tolist()) for g in range(3)]
    assert iou_f1(widget.analysis, widget.partition) == 1.0
    widget.refine("merge", clusters=[0, 1])
    assert iou_f1(widget.partition, truth) == pytest.approx(iou_f1([truth[0] | truth[1], truth[2]], truth))
    page = widget.save_html(tmp_path / "w.html").read_text(encoding="utf-8")
    state = json.loads(re.search(r'id="attn-widget-state">(.*?)</script>', page).group(1))
    assert state["partition"]["edits"][0]["text"].startswith("merged clusters 0 and 1")
    saved = attn_widget.Analysis.load(widget.analysis.save(tmp_path / "w.json"))
    assert saved.partition == widget.partition


def test_after_an_edit_every_explained_group_speaks_of_the_partition_on_screen():
    from attn_widget.graph.metrics import contiguity

    start = attn_widget.explain(_analysis()[0])
    w = AttentionExplainer(start)
    first, other = start.clusters[0], start.clusters[2]
    w.refine("move", tokens=[first.tokens[-1]], to=other.id)
    now = round(contiguity(w.analysis.labels), 4)
    assert now != round(contiguity(start.labels), 4)
    for c in w.analysis.clusters:  # the untouched middle group too
        assert c.evidence["partition"] == {"contiguity": now}, c.id
    w.undo()
    assert {c.evidence["partition"]["contiguity"] for c in w.analysis.clusters} == {
        round(contiguity(w.analysis.labels), 4)
    }
