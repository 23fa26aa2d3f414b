"""The widget as a person uses it: JupyterLab 4 in headless Chromium.

One notebook (planted attention over a short sentence, first token an excluded
sink) is opened once for the module; each test drives the real DOM (keyboard,
mouse, clicks) through the ``data-testid`` hooks documented at the top of
``js/src/widget.ts`` and checks the kernel side by running cells.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from labdriver import (
    READY_JS,
    SMALL_WIDGET_CELLS,
    SMALL_WORDS,
    CellError,
    NotebookPage,
    assert_one_colour_per_cluster,
    kernel,
    view_labels,
    wait_kernel,
)

WORDS = SMALL_WORDS
CELLS = SMALL_WIDGET_CELLS


@pytest.fixture(scope="module")
def nb(open_notebook: Any) -> NotebookPage:
    notebook = open_notebook("explainer.ipynb", CELLS)
    notebook.page.get_by_test_id("attn-widget").wait_for()
    notebook.page.wait_for_function("() => document.querySelectorAll('[data-testid=token]').length > 0")
    return notebook


VALUE_CHANGED_JS = "v => document.querySelector('[data-testid=threshold-value]').textContent !== v"
LABELS_JS = (
    "want => [...document.querySelectorAll('[data-testid=token]')]"
    ".map(e => +e.dataset.cluster).join() === want"
)
AUTO_JS = "() => document.querySelector('[data-testid=threshold-value]').textContent.includes('(auto)')"


def wait_ready(page: Any) -> None:
    page.wait_for_function(READY_JS)





def reset_threshold(nb: NotebookPage) -> None:
    """Back to the automatic threshold, no error, no selection, drill-down folded."""
    nb.run_code("w.error = ''\nw.selected_cluster = None\nw.threshold = a.sweep.auto_threshold")
    wait_ready(nb.page)
    nb.page.evaluate(
        "() => document.querySelectorAll('[data-testid=attn-widget] details').forEach(d => d.open = false)"
    )


def test_widget_shows_each_token_coloured_by_its_cluster(nb: NotebookPage, artifacts: Path) -> None:
    reset_threshold(nb)
    page = nb.page
    assert kernel(nb, "w.status") == "ready"
    labels = kernel(nb, "w.analysis.labels.tolist()")
    texts = page.eval_on_selector_all("[data-testid=token]", "s => s.map(e => e.textContent)")
    assert texts == WORDS
    assert view_labels(nb) == labels
    big = {lab for lab in labels if lab >= 0 and labels.count(lab) > 1}
    assert page.get_by_test_id("cluster-count").inner_text() == f"{len(big)} clusters"
    assert page.get_by_test_id("legend-item").count() == len(big)
    sink = page.locator("[data-testid=token][data-index='0']")
    assert sink.get_attribute("data-excluded") == "true"
    assert_one_colour_per_cluster(nb, labels)
    page.get_by_test_id("attn-widget").screenshot(path=str(artifacts / "widget-10-tokens.png"))


def test_keyboard_on_the_slider_reclusters_the_view_and_moves_python_threshold(nb: NotebookPage) -> None:
    reset_threshold(nb)
    page = nb.page
    before_labels, before_value = view_labels(nb), page.get_by_test_id("threshold-value").inner_text()
    grid = kernel(nb, "a.sweep.thresholds.tolist()")
    slider = page.get_by_test_id("slider")
    slider.focus()
    page.keyboard.press("End")  # the strictest threshold: the graph falls apart
    page.wait_for_function(VALUE_CHANGED_JS, arg=before_value, timeout=5_000)
    assert int(slider.input_value()) == len(grid) - 1
    assert view_labels(nb) != before_labels
    wait_kernel(nb, "w.threshold", grid[-1])
    wait_ready(page)
    assert view_labels(nb) == kernel(nb, "w.analysis.labels.tolist()")


def test_arrow_keys_move_the_slider_inside_jupyterlab(nb: NotebookPage) -> None:
    """JupyterLab binds arrow keys in command mode; the widget must keep them for its slider."""
    reset_threshold(nb)
    page = nb.page
    slider = page.get_by_test_id("slider")
    start = int(slider.input_value())
    slider.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert int(slider.input_value()) == start + 2, "ArrowRight on the focused slider did not move it"
    grid = kernel(nb, "a.sweep.thresholds.tolist()")
    wait_kernel(nb, "w.threshold", grid[start + 2])


def test_dragging_the_slider_moves_python_threshold(nb: NotebookPage) -> None:
    reset_threshold(nb)
    page = nb.page
    grid = kernel(nb, "a.sweep.thresholds.tolist()")
    page.get_by_test_id("slider").scroll_into_view_if_needed()
    box = page.get_by_test_id("slider").bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + 4, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.55, y, steps=8)
    page.mouse.up()
    index = int(page.get_by_test_id("slider").input_value())
    assert 0 < index < len(grid) - 1
    wait_kernel(nb, "w.threshold", grid[index])
    shown = page.eval_on_selector("[data-testid=plot-current]", "e => e.getAttribute('x1')")
    auto = page.eval_on_selector("[data-testid=plot-auto]", "e => e.getAttribute('x1')")
    assert shown != auto  # the plot marks where the user is, apart from the automatic choice


def test_setting_threshold_from_python_redraws_the_view(nb: NotebookPage) -> None:
    reset_threshold(nb)
    page = nb.page
    grid = kernel(nb, "a.sweep.thresholds.tolist()")
    target = len(grid) - 2
    nb.run_code(f"w.threshold = a.sweep.thresholds[{target}].item()")
    page.wait_for_function(
        "i => document.querySelector('[data-testid=slider]').value === String(i)", arg=target, timeout=10_000
    )
    expected = kernel(nb, "w.analysis.labels.tolist()")
    page.wait_for_function(
        LABELS_JS,
        arg=",".join(map(str, expected)),
        timeout=10_000,
    )
    assert "(auto)" not in page.get_by_test_id("threshold-value").inner_text()
    page.get_by_test_id("reset").click()
    wait_kernel(nb, "w.threshold", grid[kernel(nb, "a.sweep.best")])
    page.wait_for_function(AUTO_JS)


def test_clicking_a_token_opens_its_cluster_panel(nb: NotebookPage, artifacts: Path) -> None:
    reset_threshold(nb)
    page = nb.page
    labels = kernel(nb, "w.analysis.labels.tolist()")
    target = labels[2]  # " cat"
    page.locator("[data-testid=token][data-index='2']").click()
    panel = page.get_by_test_id("panel")
    panel.wait_for(state="visible")
    wait_kernel(nb, "w.selected_cluster", target)
    members = [WORDS[i].strip() for i, lab in enumerate(labels) if lab == target]
    shown = panel.get_by_test_id("panel-tokens").inner_text()
    for word in members:
        assert word in shown
    assert panel.get_by_test_id("panel-facts").is_visible()
    selected = page.eval_on_selector_all(".aw-selected", "s => s.map(e => +e.dataset.index)")
    assert selected == [i for i, lab in enumerate(labels) if lab == target]
    page.get_by_test_id("attn-widget").screenshot(path=str(artifacts / "widget-panel.png"))
    page.get_by_test_id("panel-close").click()
    panel.wait_for(state="hidden")
    wait_kernel(nb, "w.selected_cluster", None)


def test_hovering_a_token_lists_its_strongest_links(nb: NotebookPage) -> None:
    reset_threshold(nb)
    page = nb.page
    page.locator("[data-testid=token][data-index='6']").hover()
    links = page.get_by_test_id("links")
    links.wait_for(state="visible")
    text = links.inner_text()
    for part in ("it", "attends to", "attended by"):
        assert part in text
    assert any(ch.isdigit() for ch in text)  # weights are shown


def test_drilldown_draws_bertviz_offline_inside_its_iframe(nb: NotebookPage, artifacts: Path) -> None:
    reset_threshold(nb)
    failed_before = len(nb.net.failed)  # type: ignore[attr-defined]
    frame_el, frame = nb.open_drilldown()
    assert frame_el.get_attribute("sandbox") == "allow-scripts"
    frame.locator("svg").first.wait_for(timeout=30_000)
    drawn = frame.locator("svg text, svg rect, svg line").count()
    assert drawn > len(WORDS), "BertViz's SVG has no tokens or attention lines drawn"
    frame_el.screenshot(path=str(artifacts / "drilldown-bertviz.png"))
    new_failures = nb.net.failed[failed_before:]  # type: ignore[attr-defined]
    assert not new_failures, new_failures


def test_a_bad_option_shows_a_plain_error_and_the_widget_stays_usable(
    nb: NotebookPage, artifacts: Path
) -> None:
    reset_threshold(nb)
    page = nb.page
    # a bad name is refused on the line that sets it, naming what to use instead
    refused = r"TraitError: unknown clustering method 'no-such-method'; choose one of 'louvain'"
    with pytest.raises(CellError, match=refused):
        nb.run_code("w.method = 'no-such-method'")
    assert kernel(nb, "w.method") == "louvain"  # never set
    error = page.get_by_test_id("error")
    assert error.is_hidden()  # it never reached the view
    nb.run_code("w.layers = [99]")  # a good shape that only re-clustering refuses: said in the view
    error.wait_for(state="visible")
    message = error.inner_text()
    assert "[99]" in message, message
    assert "layers" in message, message
    page.get_by_test_id("attn-widget").screenshot(path=str(artifacts / "widget-error.png"))
    assert nb.run_code("print(6 * 7)").strip() == "42"  # the kernel survived
    assert kernel(nb, "w.layers") is None  # the knob went back to what is on screen
    page.get_by_test_id("error-dismiss").click()
    error.wait_for(state="hidden")
    before = page.get_by_test_id("threshold-value").inner_text()
    page.get_by_test_id("slider").focus()
    page.keyboard.press("End")
    page.wait_for_function(VALUE_CHANGED_JS, arg=before, timeout=5_000)


@pytest.mark.parametrize("theme", ["JupyterLab Light", "JupyterLab Dark"])
def test_token_text_is_readable_in_light_and_dark_themes(
    nb: NotebookPage, artifacts: Path, theme: str
) -> None:
    reset_threshold(nb)
    nb.set_theme(theme)
    try:
        ratios = nb.page.eval_on_selector_all("[data-testid=token]", CONTRAST_JS)
        name = "dark" if "Dark" in theme else "light"
        nb.page.get_by_test_id("attn-widget").screenshot(path=str(artifacts / f"widget-10-tokens-{name}.png"))
    finally:
        nb.set_theme("JupyterLab Light")
    worst = min(ratios)
    assert worst >= 4.5, f"token text contrast {worst:.2f} < 4.5 (WCAG AA) in {theme}: {ratios}"


CONTRAST_JS = """spans => {  // WCAG contrast of each token's text over its composited background
  const rgba = s => {
    const m = s.match(/[\\d.]+/g).map(Number);
    return [m[0], m[1], m[2], m.length > 3 ? m[3] : 1];
  };
  const over = (top, bottom) => top.slice(0, 3).map((c, i) => c * top[3] + bottom[i] * (1 - top[3]));
  const lum = c => {
    const l = c.map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * l[0] + 0.7152 * l[1] + 0.0722 * l[2];
  };
  const backdrop = el => { const layers = [];
    for (let n = el; n; n = n.parentElement) {
      const c = rgba(getComputedStyle(n).backgroundColor);
      if (c[3] > 0) layers.push(c);
      if (c[3] >= 1) break;
    }
    let base = [255, 255, 255];
    for (const l of layers.reverse()) base = over(l, base);
    return base; };
  return spans.map(s => { const bg = backdrop(s); const fg = over(rgba(getComputedStyle(s).color), bg);
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x); return (a + 0.05) / (b + 0.05); });
}"""
