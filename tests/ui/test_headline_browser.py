"""Headlines in the widget as a person sees them: JupyterLab 4 in headless Chromium.

A real SmolLM2 analysis explained in Python: clicking a word shows its cluster's
headline first, the full rationale stays hidden until "Details" is clicked, and
the legend shows the headline on hover. A planted analysis never explained in
Python gets its headline from the kernel on demand, like the rationale. The explanations
guide's picture ``docs/shots/explanation.png`` (the panel, details open) is taken here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from labdriver import NUMBERS, READY_JS, SMALL_WIDGET_CELLS, NotebookPage, kernel

TEXT = "The old fisherman told his grandson that the sea had taken his boat, but he would build another."
HEADLINE_IS_JS = "want => document.querySelector('[data-testid=panel-headline]')?.textContent === want"


@pytest.fixture(scope="module")
def real(open_notebook: Any) -> NotebookPage:
    cells = [
        f"""import attn_widget
a = attn_widget.analyze({TEXT!r}, model="smollm2", unit="word").explain()  # words, as the widget shows a text
w = attn_widget.AttentionExplainer(a)""",
        "w",
    ]
    notebook = open_notebook("headline.ipynb", cells, viewport=(1280, 1000))
    notebook.page.wait_for_function(READY_JS, timeout=180_000)
    return notebook


def biggest_cluster(nb: NotebookPage) -> tuple[int, int]:
    """``(cluster id, its first token)`` of the largest cluster."""
    found = kernel(nb, "(lambda c: (c.id, c.tokens[0]))(max(w.analysis.clusters, key=lambda c: c.size))")
    return found[0], found[1]


def test_the_panel_shows_the_headline_first_and_the_full_rationale_on_click(
    real: NotebookPage, artifacts: Path, docs_shots: Path
) -> None:
    page = real.page
    cluster, token = biggest_cluster(real)
    want = kernel(real, f"next(c for c in w.analysis.clusters if c.id == {cluster}).headline")
    full = kernel(real, f"next(c for c in w.analysis.clusters if c.id == {cluster}).rationale")
    assert want
    assert len(want.split()) <= 25
    page.locator(f"[data-testid=token][data-index='{token}']").click()
    page.wait_for_function(HEADLINE_IS_JS, arg=want, timeout=10_000)
    headline = page.get_by_test_id("panel-headline")
    assert headline.is_visible()
    assert "checked against the evidence" in (headline.get_attribute("title") or "")
    rationale = page.get_by_test_id("panel-rationale")
    assert rationale.is_hidden()  # one click away, not in the way
    page.get_by_test_id("attn-widget").screenshot(path=str(artifacts / "headline-panel.png"))
    page.get_by_test_id("panel-details-toggle").click()
    rationale.wait_for(state="visible")
    assert rationale.inner_text() == full
    assert page.get_by_test_id("panel-claims").count() == 1
    # the panel's box comes before the details: the headline is read first
    top_headline = headline.bounding_box()["y"]
    assert top_headline < rationale.bounding_box()["y"]
    page.get_by_test_id("attn-widget").screenshot(path=str(artifacts / "headline-panel-details.png"))
    # the explanations guide's picture: the panel of the clicked word's cluster, headline and rationale shown
    panel = page.get_by_test_id("panel")
    assert want in panel.inner_text()
    assert full in panel.inner_text()
    page.mouse.move(0, 0)
    panel.screenshot(path=str(docs_shots / "explanation.png"))


def test_the_legend_shows_each_headline_on_hover(real: NotebookPage) -> None:
    items = real.page.get_by_test_id("legend-item")
    titles = [items.nth(i).get_attribute("title") for i in range(items.count())]
    headlines = kernel(real, "{c.id: c.headline for c in w.analysis.clusters if c.size > 1}")
    numbers = kernel(real, NUMBERS)  # the legend numbers clusters 1..k in reading order
    assert titles, "no legend"
    for item_id, title in zip(
        [int(items.nth(i).get_attribute("data-cluster")) for i in range(items.count())], titles, strict=True
    ):
        assert title == f"Cluster {numbers[item_id]}: {headlines[item_id]}"


def test_a_widget_never_explained_in_python_gets_the_headline_from_the_kernel(open_notebook: Any) -> None:
    nb = open_notebook("headline-planted.ipynb", SMALL_WIDGET_CELLS)
    page = nb.page
    page.wait_for_function(READY_JS)
    assert kernel(nb, "{c.headline for c in w.analysis.clusters}") == {None}  # nothing explained in Python
    page.locator("[data-testid=token][data-index='1']").click()
    cluster = kernel(nb, "w.analysis.cluster_of(1).id")
    want = kernel(nb, f"w.explain_service.explain(w.analysis, {cluster}).headline")
    full = kernel(nb, f"w.explain_service.explain(w.analysis, {cluster}).rationale")
    page.wait_for_function(HEADLINE_IS_JS, arg=want, timeout=10_000)
    rationale = page.get_by_test_id("panel-rationale")
    assert rationale.is_hidden()
    page.get_by_test_id("panel-details-toggle").click()
    rationale.wait_for(state="visible")
    assert rationale.inner_text() == full
