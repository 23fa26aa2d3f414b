"""4,096 tokens in the real browser: the text wraps, the slider re-clusters from the sweep,
hover and the panel work, nothing T x T reaches the browser; sentences, then the words of one.

Saves what a user sees to ``test-artifacts/ui/widget-4096-tokens.png`` and
``widget-4096-zoomed.png``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from labdriver import READY_JS, NotebookPage, kernel, wait_kernel

N = 4097  # 4,096 words and a BOS

CELLS = [
    """import attn_widget
import numpy as np
from ipywidgets.widgets.widget import _remove_buffers
from attn_widget.synthetic import tokens_from_pieces
base = ("The committee that reviewed the proposal said it would decide after the summer break. "
        "Then the members went home.").split(" ")
words = [base[i % len(base)] if i == 0 else " " + base[i % len(base)] for i in range(4096)]
text, tokens = tokens_from_pieces(words, bos="<s>")
# four topics, each a pair of sentences that comes back every fourth pair: groups apart in the text
topic = np.concatenate([[0], (np.arange(4096) // len(base)) % 4])
rng = np.random.default_rng(0)
att = (rng.random((1, 1, 4097, 4097), dtype=np.float32) * 0.02 + (topic[:, None] == topic[None, :]))
att[..., 0] += 1.0  # a first-token sink
att /= att.sum(axis=-1, keepdims=True)
a = attn_widget.analyze_attention(att, tokens, exclude=[0], text=text)
del att
w = attn_widget.AttentionExplainer(a)
_, _, buffers = _remove_buffers({"state": w.state})
state_bytes = sum(memoryview(b).nbytes for b in buffers)
print(len(tokens), "tokens,", state_bytes, "bytes of arrays in the state")""",
    "w",
]


@pytest.fixture(scope="module")
def nb(open_notebook: Any) -> NotebookPage:
    notebook = open_notebook("long4096.ipynb", CELLS, viewport=(1280, 1100))
    notebook.page.wait_for_function(f"() => document.querySelectorAll('[data-testid=token]').length === {N}",
                                    timeout=120_000)  # fmt: skip
    return notebook


def test_nothing_quadratic_is_sent_to_the_browser(nb: NotebookPage) -> None:
    state_bytes = kernel(nb, "state_bytes")
    grid = kernel(nb, "len(a.sweep.thresholds)")
    assert state_bytes < (grid + 40) * N * 4  # the sweep's labels and per-token arrays, no N x N
    assert state_bytes < N * N  # a float16 N x N alone would be 2 N^2 bytes


def test_the_text_wraps_and_scrolls_inside_the_widget(nb: NotebookPage, artifacts: Path) -> None:
    page = nb.page
    box = page.get_by_test_id("text")
    widths = box.evaluate("e => [e.scrollWidth, e.clientWidth, e.scrollHeight, e.clientHeight]")
    assert widths[0] <= widths[1] + 1  # no horizontal overflow: the prose wraps
    assert widths[2] > widths[3]  # long: it scrolls inside its box, the page does not grow by 4,096 tokens
    page.get_by_test_id("attn-widget").screenshot(path=str(artifacts / "widget-4096-tokens.png"))


def test_the_slider_reclusters_4096_tokens_at_once_from_the_sweep(nb: NotebookPage) -> None:
    page = nb.page
    before = page.eval_on_selector_all("[data-testid=token]", "s => s.map(e => e.dataset.cluster).join()")
    page.get_by_test_id("slider").focus()
    t0 = time.monotonic()
    page.keyboard.press("End")
    after = page.eval_on_selector_all("[data-testid=token]", "s => s.map(e => e.dataset.cluster).join()")
    assert after != before  # recoloured in the browser, before any kernel round trip
    assert time.monotonic() - t0 < 10
    page.keyboard.press("Home")
    wait_kernel(nb, "round(w.threshold, 6)", kernel(nb, "round(float(a.sweep.thresholds[0]), 6)"), timeout=60)


def test_hover_shows_links_and_a_click_opens_the_panel(nb: NotebookPage) -> None:
    page = nb.page
    page.get_by_test_id("reset").click()
    wait_kernel(nb, "w.analysis.options.auto_threshold", True, timeout=60)
    page.wait_for_function(READY_JS, timeout=60_000)
    token = page.get_by_test_id("token").nth(2000)
    token.scroll_into_view_if_needed()
    token.hover()
    links = page.get_by_test_id("links")
    links.wait_for(state="visible")
    assert "attends to" in links.inner_text()
    assert "(token 2000)" in links.inner_text()
    token.click()
    panel = page.get_by_test_id("panel")
    panel.wait_for(state="visible")
    assert "tokens" in page.get_by_test_id("panel-facts").inner_text()  # "size  N tokens"
    page.get_by_test_id("panel-close").click()


def test_sentences_first_then_the_words_of_one_sentence_cluster(nb: NotebookPage, artifacts: Path) -> None:
    page = nb.page
    page.get_by_test_id("unit").select_option("sentence")
    sentences = kernel(nb, "len(a.recluster(unit='sentence').tokens)")
    page.wait_for_function(f"() => document.querySelectorAll('[data-testid=token]').length === {sentences}",
                           timeout=120_000)  # fmt: skip
    page.wait_for_function(READY_JS, timeout=60_000)
    first = page.locator("[data-testid=token]:not([data-excluded])").first
    assert first.inner_text().startswith("The committee that reviewed the proposal")
    first.click()
    zoom = page.get_by_test_id("zoom-in")
    zoom.wait_for(state="visible")
    assert zoom.inner_text().endswith(": its words")
    cluster = int(first.get_attribute("data-cluster") or "-1")
    assert "sentences" in page.get_by_test_id("panel-facts").inner_text()
    zoom.click()
    wait_kernel(nb, "w.zoom", cluster, timeout=60)
    # applied once the kernel is free (an explanation of the clicked cluster may still be running)
    wait_kernel(nb, "w.outer is not None and w.analysis.options.zoom is not None", True, timeout=180)
    inside = kernel(nb, "len(w.analysis.tokens)")
    page.wait_for_function(f"() => document.querySelectorAll('[data-testid=token]').length === {inside}",
                           timeout=60_000)  # fmt: skip
    assert inside > 2
    ends = "[0] + [x for t in w.analysis.tokens for x in (t.start, t.end)] + [len(w.analysis.text)]"
    gaps = kernel(nb, f"(lambda e: sum(e[i + 1] - e[i] > 24 for i in range(0, len(e), 2)))({ends})")
    assert gaps >= 1  # the cluster's sentences are apart in the text…
    assert page.get_by_test_id("elided").count() == gaps  # …and the text between them is elided
    assert page.get_by_test_id("unit").input_value() == "word"
    page.get_by_test_id("attn-widget").screenshot(path=str(artifacts / "widget-4096-zoomed.png"))
    page.get_by_test_id("zoom-out").click()
    page.wait_for_function(f"() => document.querySelectorAll('[data-testid=token]').length === {sentences}",
                           timeout=60_000)  # fmt: skip
    assert kernel(nb, "w.zoom") is None
    assert page.get_by_test_id("elided").count() == 0
