"""The offline BertViz drill-down page alone in headless Chromium: drawn, with zero requests."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pytest
from factories import make_analysis

from attn_widget import Analysis
from attn_widget.view.drilldown import render

HOSTILE = ["</script><script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "a & b <b>"]


@pytest.fixture(scope="module")
def a128() -> Analysis:
    """GPT-2 small's shape (12 layers x 12 heads) at 128 tokens, hostile text in cluster 0."""
    tokens = [f"tok{i}" for i in range(128)]
    for where, text in zip((3, 5, 7), HOSTILE, strict=True):
        tokens[where] = text
    return make_analysis([30, 30, 40, 27], n_layers=12, n_heads=12, seed=3, tokens=tokens)


@pytest.mark.parametrize("view", ["head", "model"])
def test_browser_draws_bertviz_offline(
    browser: Any, artifacts: Path, a128: Analysis, view: str, tmp_path: Path
) -> None:
    """Headless Chromium, the page in a sandboxed srcdoc iframe as the widget shows it;
    every request that is not file:/data:/about: is blocked and recorded."""
    d = render(a128, tokens=[3, 5, 7], view=view)
    host = tmp_path / "host.html"
    host.write_text(
        '<!DOCTYPE html><html><body><iframe id="dd" sandbox="allow-scripts" '
        f'style="width:1000px;height:1300px;border:0" srcdoc="{html.escape(d.html)}"></iframe></body></html>'
    )
    outside, failed, errors, dialogs = [], [], [], []

    def gate(route) -> None:  # type: ignore[no-untyped-def]
        url = route.request.url
        if url.startswith(("file:", "data:", "about:")):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    context = browser.new_context(viewport={"width": 1040, "height": 1300})
    try:
        page = context.new_page()
        page.route("**/*", gate)
        page.on("requestfailed", lambda r: failed.append(r.url))
        page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("dialog", lambda dlg: (dialogs.append(dlg.message), dlg.dismiss()))
        page.goto(host.as_uri())
        frame = page.frame_locator("#dd")
        frame.locator("svg").first.wait_for(timeout=20_000)
        page.wait_for_timeout(300)
        if view == "model":  # tokens appear in the detail view of a clicked thumbnail
            frame.locator("svg rect.attn_background").first.click(force=True)
            frame.locator("svg .detail").first.wait_for(timeout=5_000)
        drawn = frame.locator("svg text").all_text_contents()
        if view == "head":
            assert frame.locator("svg line").count() > 1000  # attention arcs, one per head x pair
            assert frame.locator("#layer option").all_text_contents() == [str(x) for x in d.layers]
            lefts = frame.locator("svg g#left text").evaluate_all(
                "els => els.map(e => e.getBoundingClientRect().left)"
            )
            assert min(lefts) >= 0  # long (hostile) tokens are not clipped at the left edge
        else:
            # one thumbnail per layer x head
            assert frame.locator("svg rect.attn_background").count() == len(d.layers) * len(d.heads)
        page.screenshot(path=str(artifacts / f"drilldown-alone-{view}.png"))
    finally:
        context.close()
    assert outside == []
    assert failed == []
    assert errors == []
    assert dialogs == []
    assert set(HOSTILE) <= set(drawn)  # hostile tokens are drawn as text, not run
