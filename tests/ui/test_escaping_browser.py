"""Token text is user data: HTML in it is shown as text and never runs.

Two widgets (tokens laid over the original text, and bare token strings shown
as chips) and the standalone page ``save_html`` writes, each checked in the
real browser: the characters are on screen, no ``<img>`` was injected, no
dialog fired, in the prose, the legend, the cluster panel and the hover links.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from labdriver import NotebookPage
from playwright.sync_api import TimeoutError as PlaywrightTimeout

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
WORDS = ["<s>", "Hello", " " + SCRIPT, " world", " " + IMG, " end", " of", " text", "."]

CELLS = [
    f"""import attn_widget
from attn_widget.synthetic import planted_attention, tokens_from_pieces
att, _ = planted_attention([4, 4], layers=2, heads=2, seed=3)
words = {WORDS!r}
text, tokens = tokens_from_pieces(words[1:], bos=words[0])  # tokens with character offsets
a = attn_widget.analyze_attention(att, tokens, exclude=[0], text=text)
w = attn_widget.AttentionExplainer(a)
bare = attn_widget.AttentionExplainer(attn_widget.analyze_attention(att, words, exclude=[0]))
w.save_html("escaping.html")
print("saved")""",
    "w",
    "bare",
]

NO_IMG_JS = (
    "() => document.querySelectorAll('img[onerror], img[src=x], [data-testid=attn-widget] img').length"
)


@pytest.fixture(scope="module")
def nb(open_notebook: Any) -> NotebookPage:
    notebook = open_notebook("escaping.ipynb", CELLS)
    notebook.page.wait_for_function("() => document.querySelectorAll('[data-testid=attn-widget]').length > 1")
    notebook.page.wait_for_function("() => document.querySelectorAll('[data-testid=token]').length >= 18")
    return notebook


def check_page(page: Any, root: str) -> None:
    widget = page.locator(root)
    tokens = widget.locator("[data-testid=token]").all_inner_texts()
    assert any(SCRIPT in t for t in tokens), tokens
    assert any(IMG.strip() in t for t in tokens), tokens
    assert page.evaluate(NO_IMG_JS) == 0, "an <img> element was injected from token text"
    assert widget.locator("script").count() == 0
    legend = widget.get_by_test_id("legend").inner_text()
    assert "<script>" in legend or "<img" in legend, legend
    evil = widget.locator("[data-testid=token]", has_text="<img").first
    links = widget.get_by_test_id("links")
    for _ in range(5):  # a notebook still laying out can move the token from under the pointer: hover again
        evil.hover()
        try:
            links.wait_for(state="visible", timeout=5000)
            break
        except PlaywrightTimeout:
            page.mouse.move(0, 0)
    links.wait_for(state="visible")
    evil.click()
    panel = widget.get_by_test_id("panel")
    panel.wait_for(state="visible")
    assert "<img" in panel.inner_text()
    assert page.evaluate(NO_IMG_JS) == 0


def test_html_in_tokens_shows_as_text_in_the_widget(nb: NotebookPage, artifacts: Path) -> None:
    page = nb.page
    check_page(page, "[data-testid=attn-widget] >> nth=0")
    check_page(page, "[data-testid=attn-widget] >> nth=1")
    page.locator("[data-testid=attn-widget] >> nth=0").screenshot(path=str(artifacts / "escaping-widget.png"))
    assert not nb.net.dialogs  # type: ignore[attr-defined]


def test_html_in_tokens_shows_as_text_in_the_exported_page(
    nb: NotebookPage, lab: Any, browser: Any, pages: Any, artifacts: Path
) -> None:
    exported = lab.root / "escaping.html"
    assert exported.is_file()
    assert SCRIPT not in exported.read_text(encoding="utf-8")  # not even inert in the markup
    page, net = pages.new(browser)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(exported.as_uri())
    page.get_by_test_id("attn-widget").wait_for()
    page.wait_for_function("() => document.querySelectorAll('[data-testid=token]').length >= 9")
    check_page(page, "[data-testid=attn-widget]")
    before = page.get_by_test_id("threshold-value").inner_text()
    page.get_by_test_id("slider").focus()
    page.keyboard.press("End")  # the slider works with no kernel, over the precomputed sweep
    assert page.get_by_test_id("threshold-value").inner_text() != before
    page.screenshot(path=str(artifacts / "escaping-exported.png"), full_page=True)
    assert not net.dialogs
    assert all(u.startswith(("file:", "data:", "blob:")) for u in requests), requests
    page.close()
