"""The widget's lens, measure and links-lens knobs, and the cut test asked from the view."""

from __future__ import annotations

import numpy as np
import pytest
from factories import make_analysis

from attn_widget import AttentionExplainer
from attn_widget.api import weights_under
from attn_widget.view.wire import to_state, unwire

WORDS = ["The", " cat", " sat", " on", " the", " mat", " because", " it", " was", " tired", "."]


@pytest.fixture
def planted():
    return make_analysis([4, 4, 3], n_layers=3, n_heads=4, seed=2, pieces=WORDS, exclude="auto")


def test_lens_and_measure_traits_reflect_the_analysis_and_are_offered(planted):
    w = AttentionExplainer(planted)
    assert (w.measure, w.lens, w.links_lens) == ("attention", "all", "")
    assert w.measures == ["attention", "norm", "gradient"]
    assert {"all", "content", "coreference", "early"} <= set(w.lenses)
    state = w.state
    shown = (state["measure"], state["lens"], state["lens_heads"], state["links_lens"])
    assert shown == ("attention", "all", None, "")
    assert unwire(state["sweep"]["contiguity"]).shape == planted.sweep.thresholds.shape


def test_setting_a_lens_of_heads_reclusters_through_those_heads_only(planted):
    w = AttentionExplainer(planted)
    w.lens = [[0, 0], [1, 1]]
    assert w.error == ""
    assert w.analysis.options.lens_heads == ((0, 0), (1, 1))
    assert w.state["lens"] == "2 heads"
    assert w.state["lens_heads"] == 2
    assert w.lens == [[0, 0], [1, 1]]
    w.lens = "all"
    assert w.analysis.options.lens_heads is None


def test_a_measure_without_its_data_and_no_model_says_why_and_keeps_the_view(planted):
    w = AttentionExplainer(planted)
    before = w.analysis
    w.measure = "norm"
    assert "measure='norm' needs the per-head value norms" in w.error
    assert w.analysis is before
    assert w.measure == "attention"  # the knob is put back where the analysis is


def test_the_links_lens_changes_the_hover_links_not_the_clusters(planted):
    w = AttentionExplainer(planted)
    labels = w.analysis.labels.copy()
    plain = unwire(w.state["links"]["out_index"]).copy()
    w.links_lens = "early"
    assert w.error == ""
    assert w.state["links_lens"] == "early"
    np.testing.assert_array_equal(w.analysis.labels, labels)
    expected = to_state(w.analysis, link_weights=weights_under(w.analysis, lens="early"), links_lens="early")
    shown = unwire(w.state["links"]["out_index"])
    np.testing.assert_array_equal(shown, unwire(expected["links"]["out_index"]))
    assert not np.array_equal(unwire(w.state["links"]["out_index"]), plain)
    w.links_lens = ""
    np.testing.assert_array_equal(unwire(w.state["links"]["out_index"]), plain)


def test_a_links_lens_that_needs_a_model_is_refused_in_plain_words(planted):
    w = AttentionExplainer(planted)
    w.links_lens = "coreference"
    assert "lens='coreference'" in w.error
    assert "names no model" in w.error
    assert w.links_lens == ""


def test_the_cut_test_from_the_view_needs_a_model_and_says_so(planted):
    w = AttentionExplainer(planted)
    sent: list[dict] = []
    future = w.explain_service.handle(
        {"type": "cuttest", "id": 7, "labels": w.analysis.labels.tolist()}, w.analysis, sent.append
    )
    future.result(timeout=30)
    (reply,) = [m for m in sent if m["type"] == "cuttest_reply"]
    assert reply["id"] == 7
    assert reply["result"] is None
    assert "token ids" in reply["error"]


def test_a_cut_test_for_a_partition_that_does_not_fit_the_text_is_refused(planted):
    w = AttentionExplainer(planted)
    sent: list[dict] = []
    asked = {"type": "cuttest", "id": 1, "labels": [0, 1]}
    w.explain_service.handle(asked, w.analysis, sent.append).result(30)
    assert "labels must be a list of 12 cluster ids" in sent[-1]["error"]
