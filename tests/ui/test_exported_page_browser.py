"""The exported page in a real browser, with no kernel and no network.

``save_html`` writes one file whose bootstrap (``js/src/standalone.ts``, bundled
and inlined) loads the widget's own bundle under a strict Content-Security-Policy:
the slider re-colours from the precomputed sweep, the kernel-only controls and
the drill-down say they need a kernel, and the browser reports no error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from factories import make_analysis

from attn_widget.view import standalone

NEEDS_KERNEL_TITLE = "Needs a running Python kernel"  # js/src/common/skeleton.ts

PIECES = ["The", " cat", " sat", " on", " the", " mat", " while", " dogs", " barked", " outside", "."]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    analysis = make_analysis([4, 4, 3], n_layers=2, n_heads=2, seed=11, pieces=PIECES, model="planted")
    return standalone.save_html(analysis, tmp_path_factory.mktemp("export") / "page.html")


def test_the_exported_page_works_offline_with_no_kernel(
    exported: Path, browser: Any, pages: Any, artifacts: Path
) -> None:
    page, net = pages.new(browser)
    requests: list[str] = []
    problems: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(exported.as_uri())
    widget = page.get_by_test_id("attn-widget")
    widget.wait_for()
    page.wait_for_function(
        f"() => document.querySelectorAll('[data-testid=token]').length === {len(PIECES) + 1}"
    )

    def clusters() -> list[str]:
        return page.eval_on_selector_all(
            "[data-testid=token]", "spans => spans.map((s) => s.dataset.cluster)"
        )

    before, value = clusters(), page.get_by_test_id("threshold-value").inner_text()
    assert "(auto)" in value
    page.get_by_test_id("slider").focus()
    page.keyboard.press("End")  # the highest threshold of the precomputed sweep
    assert page.get_by_test_id("threshold-value").inner_text() != value
    assert clusters() != before

    for control in ("mode", "aggregation", "method", "layers", "heads"):
        box = page.get_by_test_id(control)
        assert box.is_disabled()
        assert box.get_attribute("title") == NEEDS_KERNEL_TITLE

    page.get_by_test_id("drilldown-toggle").click()
    page.get_by_test_id("drilldown-button").click()
    status = page.get_by_test_id("drilldown-status")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=drilldown-status]').textContent.includes('kernel')"
    )
    assert status.inner_text() == standalone.NEEDS_KERNEL
    assert page.locator("iframe").count() == 0

    page.screenshot(path=str(artifacts / "exported-page.png"), full_page=True)
    assert not problems, problems  # no script error, no Content-Security-Policy violation
    assert not net.dialogs
    assert all(u.startswith(("file:", "data:", "blob:")) for u in requests), requests
    page.close()


def test_an_exported_refined_page_shows_its_edits_and_its_token_map_offline(
    tmp_path: Path, browser: Any, pages: Any, artifacts: Path
) -> None:
    import numpy as np

    analysis = make_analysis([4, 4, 3], n_layers=2, n_heads=2, seed=11, pieces=PIECES, model="planted")
    tokens = analysis.tokens
    edited = analysis.refine("merge", clusters=[0, 1])
    coords = np.stack([np.arange(len(tokens), dtype=float), np.arange(len(tokens)) % 4.0], axis=1)
    coords[0] = np.nan
    path = standalone.save_html(edited, tmp_path / "edited.html", token_map=("tsne", 0, coords))
    page, _ = pages.new(browser)
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(path.as_uri())
    page.get_by_test_id("attn-widget").wait_for()
    labels = page.eval_on_selector_all("[data-testid=token]", "s => s.map(e => +e.dataset.cluster)")
    assert labels == edited.labels.tolist()  # the refined partition, not the clustering
    assert page.get_by_test_id("refine-last").inner_text().startswith("(last edit −")
    assert page.get_by_test_id("refine-merge").is_disabled()
    assert page.get_by_test_id("refine-undo").get_attribute("title") == NEEDS_KERNEL_TITLE
    page.get_by_test_id("map-toggle").click()
    assert page.get_by_test_id("map-point").count() == len(tokens) - 1
    assert page.get_by_test_id("map-draw").is_disabled()
    page.screenshot(path=str(artifacts / "exported-refined-page.png"), full_page=True)
    assert not problems, problems
    page.close()
