"""The widget in marimo: ``marimo run`` on a loopback port, driven in headless Chromium.

A small marimo notebook shows the explainer of :data:`labdriver.SMALL_WORDS`
(planted attention) wrapped in ``mo.ui.anywidget``, and a cell that prints the
kernel's ``w.threshold`` and re-runs whenever the view changes a trait. The
same analysis is computed here, in the test process, for the expected values.
Marimo draws widgets inside a shadow root: Playwright's locators (not
``document.querySelector``) reach into it. The example ``notebooks/marimo_explainer.py``
runs on a real model. Any request leaving the machine fails the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from textwrap import indent
from typing import Any

import pytest
from labdriver import ROOT, SMALL_WIDGET_CELLS, SMALL_WORDS, MarimoServer, shown_number
from playwright.sync_api import expect

import attn_widget


def marimo_notebook(setup: str) -> str:
    """A marimo notebook: ``setup`` (making the explainer ``w``), the widget, the kernel's threshold."""
    return f'''import marimo

app = marimo.App()


@app.cell
def _():
    import marimo as mo

{indent(setup, "    ")}
    explainer = mo.ui.anywidget(w)
    return explainer, mo, w


@app.cell
def _(explainer):
    explainer
    return


@app.cell
def _(explainer, mo, w):
    explainer.value  # makes marimo re-run this cell whenever the view changes a trait
    mo.Html(f"<p>kernel threshold: <code data-testid='kernel-threshold'>{{w.threshold!r}}</code></p>")
    return


if __name__ == "__main__":
    app.run()
'''


@pytest.fixture(scope="module")
def expected() -> dict[str, Any]:
    """The notebook's ``a`` and ``w``, computed here."""
    namespace: dict[str, Any] = {}
    exec(SMALL_WIDGET_CELLS[0], namespace)
    return namespace


def serve(source: str | Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MarimoServer]:
    """``marimo run`` on a notebook file, or on the notebook ``source`` written to a scratch folder."""
    if isinstance(source, str):
        notebook = tmp_path_factory.mktemp("marimo") / "notebook.py"
        notebook.write_text(source, encoding="utf-8")
    else:
        notebook = source
    server = MarimoServer(notebook=notebook)
    with server.running(tmp_path_factory.mktemp("marimo-state")):
        yield server


@pytest.fixture(scope="module")
def app(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MarimoServer]:
    """Depends on ``browser`` so a missing Chromium skips (or fails in CI) before a server starts."""
    yield from serve(marimo_notebook(SMALL_WIDGET_CELLS[0]), tmp_path_factory)


@pytest.fixture(scope="module")
def view(app: MarimoServer, browser: Any, pages: Any) -> Any:
    page, _ = pages.new(browser, viewport=(1280, 1000))
    page.goto(app.url)
    page.get_by_test_id("token").first.wait_for(timeout=90_000)
    expect(page.get_by_test_id("attn-widget")).to_have_attribute("data-status", "ready")
    return page


def view_labels(page: Any) -> list[int]:
    return list(page.get_by_test_id("token").evaluate_all("s => s.map(e => +e.dataset.cluster)"))


def reset(page: Any, expected: dict[str, Any]) -> None:
    """Back to the automatic threshold, through the widget's own button."""
    page.get_by_test_id("reset").click()
    auto = repr(expected["a"].threshold)
    expect(page.get_by_test_id("kernel-threshold")).to_have_text(auto, timeout=15_000)
    expect(page.get_by_test_id("attn-widget")).to_have_attribute("data-status", "ready")


def test_marimo_shows_each_token_coloured_by_its_cluster(
    view: Any, expected: dict[str, Any], artifacts: Any
) -> None:
    a = expected["a"]
    assert view.get_by_test_id("token").all_inner_texts() == SMALL_WORDS
    assert view_labels(view) == a.labels.tolist()
    big = {lab for lab in a.labels.tolist() if lab >= 0 and a.labels.tolist().count(lab) > 1}
    expect(view.get_by_test_id("cluster-count")).to_have_text(f"{len(big)} clusters")
    expect(view.get_by_test_id("kernel-threshold")).to_have_text(repr(a.threshold))
    view.screenshot(path=str(artifacts / "marimo-widget.png"), full_page=True)


def test_keyboard_on_the_slider_reclusters_the_view_and_moves_the_kernel_threshold(
    view: Any, expected: dict[str, Any]
) -> None:
    a = expected["a"]
    reset(view, expected)
    grid = a.sweep.thresholds.tolist()
    before = view_labels(view)
    slider = view.get_by_test_id("slider")
    slider.focus()
    view.keyboard.press("End")  # the strictest threshold: the graph falls apart
    expect(slider).to_have_value(str(len(grid) - 1))
    expect(view.get_by_test_id("kernel-threshold")).to_have_text(repr(grid[-1]), timeout=15_000)
    expect(view.get_by_test_id("attn-widget")).to_have_attribute("data-status", "ready")
    after = view_labels(view)
    assert after != before
    assert after == attn_widget.recluster(a, threshold=grid[-1]).labels.tolist()
    view.keyboard.press("ArrowLeft")
    view.keyboard.press("ArrowLeft")
    expect(view.get_by_test_id("kernel-threshold")).to_have_text(repr(grid[-3]), timeout=15_000)
    reset(view, expected)
    assert view_labels(view) == before


def test_clicking_a_cluster_fetches_its_rationale_from_the_marimo_kernel(
    view: Any, expected: dict[str, Any]
) -> None:
    a, w = expected["a"], expected["w"]
    reset(view, expected)
    cluster = int(a.labels[2])
    view.locator("[data-testid=token][data-index='2']").click()
    panel = view.get_by_test_id("panel")
    expect(panel.locator("h3")).to_have_text(f"Cluster {shown_number(a.clusters, cluster)}")
    want = w.explain_service.explain(a, cluster).rationale
    expect(view.get_by_test_id("panel-rationale")).to_have_text(want, timeout=30_000)


def test_bertviz_drilldown_opens_from_the_shipped_scripts_in_marimo(view: Any, artifacts: Any) -> None:
    view.get_by_test_id("drilldown-toggle").click()
    view.get_by_test_id("drilldown-button").click()
    frame = view.get_by_test_id("drilldown-frame")
    expect(frame).to_be_visible(timeout=30_000)
    expect(view.frame_locator("[data-testid=drilldown-frame]").locator("select").first).to_be_attached()
    view.get_by_test_id("attn-widget").screenshot(path=str(artifacts / "marimo-drilldown.png"))


@pytest.fixture(scope="module")
def example(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MarimoServer]:
    yield from serve(ROOT / "notebooks" / "marimo_explainer.py", tmp_path_factory)


def test_example_notebook_table_follows_the_slider(
    example: MarimoServer, browser: Any, pages: Any, artifacts: Any
) -> None:
    page, _ = pages.new(browser, viewport=(1280, 1100))
    page.goto(example.url)
    page.get_by_test_id("token").first.wait_for(timeout=180_000)  # a real model runs first
    heading = page.get_by_text("Clusters at threshold")
    before = heading.inner_text()
    page.get_by_test_id("slider").focus()
    page.keyboard.press("End")
    expect(heading).not_to_have_text(before, timeout=30_000)
    shown = float(page.get_by_test_id("threshold-value").inner_text().split()[0])
    table = float(heading.inner_text().split()[-1].rstrip(":"))
    assert table == pytest.approx(shown, rel=0.01)  # the table's cell re-ran with the slider's value
    page.screenshot(path=str(artifacts / "marimo-example.png"), full_page=True)


TEXT = "The cat sat on the mat because it was tired."


@pytest.fixture(scope="module")
def text_app(
    browser: Any, tiny_gpt2_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MarimoServer]:
    model = str(tiny_gpt2_dir)
    setup = f"from attn_widget import AttentionExplainer\nw = AttentionExplainer({TEXT!r}, model={model!r})"
    yield from serve(marimo_notebook(setup), tmp_path_factory)


def test_a_text_analysed_in_the_background_reaches_the_marimo_view_and_syncs(
    text_app: MarimoServer, tiny_gpt2_dir: Path, browser: Any, pages: Any
) -> None:
    """``AttentionExplainer(text)`` runs the model in a thread; what it sets must reach marimo's view."""
    page, _ = pages.new(browser)
    page.goto(text_app.url)
    expect(page.get_by_test_id("attn-widget")).to_have_attribute("data-status", "ready", timeout=90_000)
    a = attn_widget.analyze(TEXT, model=str(tiny_gpt2_dir), unit="word")  # the widget's default: words
    assert "".join(page.get_by_test_id("token").all_inner_texts()[1:]) == TEXT  # after the BOS
    assert view_labels(page) == a.labels.tolist()
    page.get_by_test_id("slider").focus()
    page.keyboard.press("End")
    strictest = repr(a.sweep.thresholds.tolist()[-1])
    expect(page.get_by_test_id("kernel-threshold")).to_have_text(strictest, timeout=15_000)
