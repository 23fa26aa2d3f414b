"""What the screenshots showed (issue 3 follow-up), checked in JupyterLab + headless Chromium.

Ten planted clusters over GPT-2-style words (leading spaces): every cluster has
its own fill, readable in light and dark themes; the legend and panel show
words, not "·cat"; the plot's series names stay off the curves; a selection is
drawn in the cluster's own colour with the rest dimmed; the drill-down follows
a dark theme. Screenshots go to ``test-artifacts/ui/polish-*.png``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from labdriver import NotebookPage, open_settings
from test_widget_browser import CONTRAST_JS

STORY = (
    "The old lighthouse keeper climbed the stairs every night to light the lamp while storms "
    "battered the rocky coast and ships waited offshore for the signal that meant the harbour "
    "was safe at last"
)

CELLS = [
    f"""import attn_widget
from attn_widget.synthetic import planted_attention, tokens_from_pieces
att, groups = planted_attention([4] * 10, layers=2, heads=2, strength=3.0, seed=1)
sentence = {STORY!r}.split()
words = ["<s>"] + [(" " if i else "") + sentence[i % len(sentence)] for i in range(att.shape[-1] - 1)]
text, tokens = tokens_from_pieces(words[1:], bos=words[0])  # tokens with character offsets
a = attn_widget.analyze_attention(att, tokens, exclude=[0], text=text)
w = attn_widget.AttentionExplainer(a)
print(sum(c.size > 1 for c in a.clusters), "clusters")""",
    "w",
]

SWATCHES_JS = """items => items.map(i => getComputedStyle(i.querySelector('.aw-swatch')).backgroundColor)"""
FILLS_JS = """spans => {
  const by = {};
  for (const s of spans)
    if (s.classList.contains('aw-clustered')) by[s.dataset.cluster] = getComputedStyle(s).backgroundColor;
  return by;
}"""
OVERLAP_JS = """svg => {  // series names and axis values vs the frame the curves are drawn in
  const frame = svg.querySelector('.aw-plot-frame').getBBox();
  return [...svg.querySelectorAll('text')].filter(t => {
    const b = t.getBBox();
    return b.x < frame.x + frame.width && b.x + b.width > frame.x
        && b.y < frame.y + frame.height && b.y + b.height > frame.y;
  }).map(t => t.textContent);
}"""


@pytest.fixture(scope="module")
def nb(open_notebook: Any) -> NotebookPage:
    notebook = open_notebook("polish.ipynb", CELLS)
    notebook.page.get_by_test_id("attn-widget").wait_for()
    notebook.page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=legend-item]').length === 10"
    )
    open_settings(notebook.page)  # the knobs and the plot are folded under "Settings"
    return notebook


def _clear(nb: NotebookPage) -> None:
    nb.run_code("w.selected_cluster = None")
    nb.page.wait_for_function("() => !document.querySelector('.aw-selected')")


@pytest.mark.parametrize("theme", ["JupyterLab Light", "JupyterLab Dark"])
def test_ten_clusters_have_ten_fills_and_readable_text(nb: NotebookPage, artifacts: Path, theme: str) -> None:
    _clear(nb)
    nb.set_theme(theme)
    try:
        page = nb.page
        swatches = page.eval_on_selector_all("[data-testid=legend-item]", SWATCHES_JS)
        fills = page.eval_on_selector_all("[data-testid=token]", FILLS_JS)
        assert len(set(swatches)) == 10, swatches
        assert len(set(fills.values())) == 10, fills  # clusters 0 and 7 no longer share orange
        ratios = page.eval_on_selector_all("[data-testid=token].aw-clustered", CONTRAST_JS)
        assert min(ratios) >= 4.5, f"token text contrast {min(ratios):.2f} < 4.5 (WCAG AA) in {theme}"
        name = "dark" if "Dark" in theme else "light"
        page.get_by_test_id("attn-widget").screenshot(path=str(artifacts / f"polish-10-clusters-{name}.png"))
    finally:
        nb.set_theme("JupyterLab Light")


def test_legend_and_panel_show_words_while_the_prose_keeps_its_spaces(nb: NotebookPage) -> None:
    page = nb.page
    legend = page.get_by_test_id("legend").inner_text()
    assert "·" not in legend
    assert "The old lighthouse keeper" in legend
    page.get_by_test_id("legend-item").first.click()
    chips = page.eval_on_selector_all(
        "[data-testid=panel-tokens] .aw-chip", "cs => cs.map(c => c.textContent)"
    )
    assert chips[:4] == ["The", "old", "lighthouse", "keeper"]
    assert "The old lighthouse keeper climbed" in page.get_by_test_id("text").inner_text()
    assert nb.page.get_by_test_id("token").nth(2).inner_text() == " old"  # the original text, space and all
    _clear(nb)


def test_plot_labels_never_sit_on_the_curves(nb: NotebookPage) -> None:
    inside = nb.page.eval_on_selector("[data-testid=plot] svg", OVERLAP_JS)
    assert inside == [], f"labels drawn over the plot area: {inside}"


@pytest.mark.parametrize("theme", ["JupyterLab Light", "JupyterLab Dark"])
def test_selection_uses_the_clusters_colour_and_dims_the_rest(
    nb: NotebookPage, artifacts: Path, theme: str
) -> None:
    page = nb.page
    nb.set_theme(theme)
    page.locator("[data-testid=token][data-cluster='3']").first.click()
    page.wait_for_function("() => document.querySelectorAll('.aw-selected').length > 0")
    page.mouse.move(2, 2)  # off the text: no hover outline
    page.wait_for_function("() => !document.querySelector('.aw-hover')")
    look = page.evaluate(
        """() => {
      const sel = document.querySelector('.aw-tok.aw-selected');
      const other = document.querySelector('.aw-tok.aw-clustered:not(.aw-selected)');
      const swatch = document.querySelector('[data-testid=legend-item][data-cluster="3"] .aw-swatch');
      const s = getComputedStyle(sel), o = getComputedStyle(other);
      const root = getComputedStyle(sel.closest('.aw-root'));
      return {line: s.borderBottomColor, width: parseFloat(s.borderBottomWidth), outline: s.outlineStyle,
              own: getComputedStyle(swatch).borderBottomColor, selText: s.color, otherText: o.color,
              selFill: s.backgroundColor, otherFill: o.backgroundColor, fg: root.color};
    }"""
    )
    assert look["line"] == look["own"], look  # underline in the cluster's own colour
    assert look["width"] >= 3, look
    assert look["outline"] == "none", look  # no heavy black box
    assert look["selText"] == look["otherText"] == look["fg"], look  # text stays readable everywhere
    alpha = lambda c: float(c.rsplit(",", 1)[1].strip(" )")) if c.startswith("rgba") else 1.0  # noqa: E731
    assert alpha(look["otherFill"]) < alpha(look["selFill"]), look  # the other clusters step back
    ratios = page.eval_on_selector_all("[data-testid=token]:not(.aw-chip-tok)", CONTRAST_JS)
    assert min(ratios) >= 4.5, f"dimmed token text contrast {min(ratios):.2f} < 4.5 in {theme}"
    name = "dark" if "Dark" in theme else "light"
    page.get_by_test_id("attn-widget").screenshot(path=str(artifacts / f"polish-selection-{name}.png"))
    _clear(nb)
    nb.set_theme("JupyterLab Light")


def test_drilldown_follows_the_dark_theme(nb: NotebookPage, artifacts: Path) -> None:
    page = nb.page
    nb.set_theme("JupyterLab Dark")
    try:
        frame, inner = nb.open_drilldown()
        assert frame.get_attribute("data-display-mode") == "dark"
        inner.locator("#vis svg text").first.wait_for(timeout=30_000)
        colours = inner.locator("body").evaluate(
            "b => [getComputedStyle(b).backgroundColor,"
            " getComputedStyle(b.querySelector('#vis svg text')).fill]"
        )
        assert colours[0] == "rgb(17, 17, 17)", colours
        assert colours[1] == "rgb(221, 221, 221)", colours  # BertViz's token text light on dark
        page.get_by_test_id("attn-widget").screenshot(path=str(artifacts / "polish-drilldown-dark.png"))
        nb.set_theme("JupyterLab Light")  # switching theme redraws the open drill-down
        page.wait_for_selector("[data-testid=drilldown-frame][data-display-mode=light]", timeout=60_000)
        light = page.frame_locator("[data-testid=drilldown-frame]").locator("body")
        light.locator("#vis svg text").first.wait_for(timeout=30_000)
        assert light.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(255, 255, 255)"
    finally:
        page.get_by_test_id("drilldown-toggle").click()
        nb.set_theme("JupyterLab Light")


def test_the_drilldown_says_its_note_once_and_its_frame_fits_the_drawing(
    nb: NotebookPage, artifacts: Path
) -> None:
    page = nb.page
    try:
        _, inner = nb.open_drilldown()
        inner.locator("#vis svg text").first.wait_for(timeout=30_000)
        note = page.get_by_test_id("drilldown-note")
        assert note.is_visible()
        said = note.inner_text()
        assert said
        assert said not in inner.locator("body").inner_text()  # once, above the frame
        content = inner.locator("body").evaluate("b => Math.ceil(b.getBoundingClientRect().height) + 16")
        page.wait_for_function(
            "h => Math.abs(document.querySelector('[data-testid=drilldown-frame]')"
            ".getBoundingClientRect().height - h) <= 4",
            arg=content,
            timeout=15_000,
        )
        page.get_by_test_id("drilldown-view").scroll_into_view_if_needed()
        page.get_by_test_id("attn-widget").screenshot(path=str(artifacts / "polish-drilldown-fits.png"))
    finally:
        page.get_by_test_id("drilldown-toggle").click()
