"""The widget's output bundle: the live view's mimetype, plus a static copy for exports.

A notebook read without a kernel (nbconvert, GitHub, nbviewer, a terminal) shows
``text/plain`` or ``text/html``: they must say what the analysis found (model,
clusters, each cluster's headline or its words), escape token text, and load
nothing; live notebooks keep drawing the widget from its view mimetype.
"""

from __future__ import annotations

import re

import pytest
from factories import make_analysis

from attn_widget import AttentionExplainer
from attn_widget.synthetic import planted_attention, tokens_from_pieces

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
HOSTILE = ' <script>alert("x")</script>'


@pytest.fixture(scope="module")
def explained():
    import attn_widget

    att, _ = planted_attention([4, 3, 4], layers=2, heads=2, strength=1.0, seed=1)
    words = [" The", " cat", " sat", " down", " because", HOSTILE, " was", " very", " tired", " today", "."]
    text, tokens = tokens_from_pieces(words, bos="<s>")
    return attn_widget.analyze_attention(att, tokens, exclude=[0], text=text).explain()


def test_the_bundle_keeps_the_live_view_and_adds_a_static_copy(explained):
    w = AttentionExplainer(explained)
    data, _ = w._repr_mimebundle_()
    assert data[WIDGET_VIEW]["model_id"] == w.model_id  # live notebooks are unchanged
    assert {"text/plain", "text/html", WIDGET_VIEW} <= set(data)


def test_plain_text_names_the_clusters_with_their_headlines(explained):
    plain = AttentionExplainer(explained)._repr_mimebundle_()[0]["text/plain"]
    assert "AttentionExplainer object at 0x" not in plain
    big = [c for c in explained.clusters if c.size > 1]
    assert plain.splitlines()[0].startswith(f"AttentionExplainer: 12 tokens, {len(big)} clusters of 2+")
    for c in big:
        assert c.headline
        assert c.headline in plain
        assert re.search(rf"^  cluster {c.id} \({c.size}\): ", plain, re.M)


def test_plain_text_of_an_unexplained_analysis_gives_each_clusters_words():
    a = make_analysis([5, 5, 4], n_layers=3, n_heads=2, seed=1, words=[f"w{i}" for i in range(14)])
    plain = AttentionExplainer(a)._repr_mimebundle_()[0]["text/plain"]
    lines = plain.splitlines()
    big = [c for c in a.clusters if c.size > 1]
    assert len(lines) == 1 + len(big)
    for c, line in zip(big, lines[1:], strict=True):
        assert line.startswith(f"  cluster {c.id} ({c.size}): {a.tokens[c.tokens[0]].text.strip()}")


def test_html_highlights_each_cluster_escapes_tokens_and_loads_nothing(explained):
    page = AttentionExplainer(explained)._repr_mimebundle_()[0]["text/html"]
    assert "<script" not in page.lower()  # the hostile token is text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert not re.search(r"(src|href)=|https?://|@import|url\(", page)
    for c in explained.clusters:
        if c.size > 1:
            assert f'<span data-cluster="{c.id}"' in page
            assert f'<li data-cluster="{c.id}">' in page
            assert c.headline is not None
            assert c.headline.replace("'", "&#x27;") in page


def test_a_text_still_loading_says_so_instead_of_an_object_address():
    w = AttentionExplainer(make_analysis([3, 3], n_layers=1, n_heads=1, seed=0))
    w.analysis, w.progress = None, "Loading model gpt2…"  # as while a text is being analysed
    data, _ = w._repr_mimebundle_()
    plain = data["text/plain"]
    assert "the analysis was still running when this output was made (Loading model gpt2…)" in plain
    assert "display the widget again once it has finished" in data["text/html"]
