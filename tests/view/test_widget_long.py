"""The widget on long texts: units, the hierarchical view (zoom) and a streamed analysis's reruns."""

from __future__ import annotations

import re

import numpy as np
import pytest

import attn_widget
from attn_widget import AttentionExplainer
from attn_widget.core import Token
from attn_widget.view.wire import to_state, unwire

TEXT = "Cats purr. Cats nap. Dogs bark. Dogs dig holes. Fish swim."
PIECES = ["Cats", " purr", ".", " Cats", " nap", ".", " Dogs", " bark", ".", " Dogs", " dig", " hol", "es",
          ".", " Fish", " swim", "."]  # fmt: skip
GROUP = [0] * 6 + [1] * 8 + [2] * 3


def planted() -> attn_widget.Analysis:
    rng = np.random.default_rng(0)
    group = np.array(GROUP)
    a = rng.random((2, 2, len(PIECES), len(PIECES))) * 0.05 + (group[:, None] == group[None, :])
    a /= a.sum(axis=-1, keepdims=True)
    toks, at = [], 0
    for p in PIECES:
        toks.append(Token(text=p, start=at, end=at + len(p)))
        at += len(p)
    return attn_widget.analyze_attention(a, toks, text=TEXT, exclude=[], threshold=0.1)


def test_the_unit_knob_regroups_the_nodes_and_the_state_carries_word_spans():
    w = AttentionExplainer(planted())
    assert w.unit == "token"
    w.unit = "word"
    assert w.analysis.options.unit == "word"
    assert w.state["unit"] == "word"
    offsets = unwire(w.state["offsets"])
    assert [TEXT[s:e] for s, e in offsets] == [t.text for t in w.analysis.tokens]
    assert " holes." in w.state["tokens"]
    w.unit = "sentence"
    assert w.state["tokens"] == ["Cats purr.", " Cats nap.", " Dogs bark.", " Dogs dig holes.", " Fish swim."]
    assert not w.error


def test_zoom_shows_the_words_inside_a_sentence_cluster_and_zoom_none_goes_back():
    w = AttentionExplainer(planted(), unit="sentence")
    whole = w.analysis
    dogs = whole.cluster_of(2).id
    w.zoom = dogs
    assert w.outer is whole
    assert w.unit == "word"
    assert w.state["zoomed"] is True
    assert w.state["tokens"] == [" Dogs", " bark.", " Dogs", " dig", " holes."]
    w.threshold = float(w.analysis.sweep.thresholds[0])  # knobs act on the zoomed view
    assert w.analysis.options.zoom == tuple(range(6, 14))
    w.zoom = None
    assert w.analysis is whole
    assert w.state["zoomed"] is False
    assert w.unit == "sentence"


def test_zooming_into_a_cluster_that_does_not_exist_says_so_and_stays_put():
    w = AttentionExplainer(planted(), unit="sentence")
    shown = w.analysis
    w.zoom = 42
    assert w.zoom is None
    assert w.analysis is shown
    assert "Could not zoom into cluster 42" in w.error


def test_a_widget_of_a_graph_loaded_from_json_refuses_another_unit_in_the_view(tmp_path):
    back = attn_widget.Analysis.load(planted().save(tmp_path / "a.json"))
    w = AttentionExplainer(back)
    w.unit = "word"
    assert w.unit == "token"
    assert "unit" in w.error


def test_a_streamed_analysis_runs_the_model_again_for_a_knob_that_needs_dropped_data(tiny_gpt2):
    model, tokenizer = tiny_gpt2
    text = "The tide came in. Boats rose with it. Later the tide went out."
    streamed = attn_widget.analyze(text, model, tokenizer=tokenizer, keep="summary")
    w = AttentionExplainer(streamed)
    w.aggregation = "max"
    assert w.status == "running"
    assert "Running the model again for aggregation='max'" in w.progress
    w._thread.join(60)
    assert w.status == "ready"
    assert not w.error
    assert w.analysis.options.aggregation == "max"
    want = attn_widget.analyze(text, model, tokenizer=tokenizer, keep="attention", aggregation="max")
    np.testing.assert_allclose(w.analysis.weights, want.weights, atol=1e-6)


def test_the_state_of_a_long_text_holds_nothing_quadratic():
    n = 1200
    rng = np.random.default_rng(3)
    att = rng.random((1, 1, n, n)) ** 8
    att /= att.sum(axis=-1, keepdims=True)
    a = attn_widget.analyze_attention(att, [f" w{i}" for i in range(n)])
    sizes = [int(np.prod(v["shape"])) for v in _arrays(to_state(a))]
    assert max(sizes) <= len(a.sweep.thresholds) * n
    assert max(sizes) < n * n / 20


def _arrays(state):
    if isinstance(state, dict):
        if "dtype" in state and "shape" in state:
            yield state
            return
        for v in state.values():
            yield from _arrays(v)
    elif isinstance(state, list):
        for v in state:
            yield from _arrays(v)


@pytest.mark.parametrize("unit", ["word", "sentence"])
def test_an_exported_page_of_a_unit_view_carries_its_unit(unit, tmp_path):
    w = AttentionExplainer(planted(), unit=unit)
    html = w.save_html(tmp_path / "p.html").read_text(encoding="utf-8")
    assert re.search(rf'"unit":\s*"{unit}"', html)


def test_zooming_drops_the_edit_history_and_a_unit_change_drops_pins():
    w = AttentionExplainer(planted(), unit="sentence")
    big = [c.id for c in w.analysis.clusters if c.size > 1]
    w.refine("merge", clusters=big[:2])
    assert w.refinements.depth() == (1, 0)
    w.zoom = w.analysis.cluster_of(0).id
    assert w.refinements.depth() == (0, 0)
    w.zoom = None
    w.refine("pin", tokens=[0, 1])
    w.unit = "word"  # node indices now mean words: the sentence pin lapses
    assert w.analysis.partition is None or not w.analysis.partition.pins
    assert not w.error
