"""A long text (~500 tokens) in the real browser: every token drawn, the slider still re-clusters.

Also saves what a user sees, in JupyterLab's light and dark themes, to
``test-artifacts/ui/widget-500-tokens-{light,dark}.png``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from labdriver import NotebookPage

CELLS = [
    """import attn_widget
from attn_widget.synthetic import planted_attention, tokens_from_pieces
att, groups = planted_attention([62] * 8, layers=2, heads=2, strength=2.0, seed=0)
sentence = "The committee that reviewed the proposal said it would decide after the summer break. ".split(" ")
words = ["<s>"] + [" " + sentence[i % len(sentence)] if i else sentence[0] for i in range(att.shape[-1] - 1)]
text, tokens = tokens_from_pieces(words[1:], bos=words[0])  # tokens with character offsets
a = attn_widget.analyze_attention(att, tokens, exclude=[0], text=text)
w = attn_widget.AttentionExplainer(a)
print(len(tokens), "tokens")""",
    "w",
]


@pytest.fixture(scope="module")
def nb(open_notebook: Any) -> NotebookPage:
    notebook = open_notebook("long.ipynb", CELLS, viewport=(1280, 1100))
    notebook.page.wait_for_function("() => document.querySelectorAll('[data-testid=token]').length === 497")
    return notebook


def test_every_token_of_a_long_text_is_drawn_and_coloured(nb: NotebookPage, artifacts: Path) -> None:
    page = nb.page
    clusters = page.eval_on_selector_all("[data-testid=token]", "s => s.map(e => +e.dataset.cluster)")
    assert len(clusters) == 497
    assert clusters[0] == -1
    assert len(set(clusters[1:])) >= 8  # the eight planted groups are visible
    count = int(page.get_by_test_id("cluster-count").inner_text().split()[0])
    assert count == page.get_by_test_id("legend-item").count()
    for theme, name in (("JupyterLab Light", "light"), ("JupyterLab Dark", "dark")):
        nb.set_theme(theme)
        page.get_by_test_id("attn-widget").scroll_into_view_if_needed()
        page.get_by_test_id("attn-widget").screenshot(path=str(artifacts / f"widget-500-tokens-{name}.png"))
    nb.set_theme("JupyterLab Light")


def test_the_slider_reclusters_a_long_text(nb: NotebookPage) -> None:
    page = nb.page
    before = page.eval_on_selector_all("[data-testid=token]", "s => s.map(e => e.dataset.cluster).join()")
    count_before = page.get_by_test_id("cluster-count").inner_text()
    page.get_by_test_id("slider").focus()
    page.keyboard.press("End")
    after = page.eval_on_selector_all("[data-testid=token]", "s => s.map(e => e.dataset.cluster).join()")
    assert after != before
    # the count shown is the new partition's (clusters of 2+ tokens), whether or not it moved
    labels = [int(x) for x in after.split(",") if int(x) >= 0]
    groups = sum(1 for k in set(labels) if labels.count(k) > 1)
    assert page.get_by_test_id("cluster-count").inner_text() == f"{groups} clusters"
    assert count_before.endswith("clusters")
