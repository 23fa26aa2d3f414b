"""The first screen (issue 21) in JupyterLab and on the exported page, in headless Chromium.

One notebook: ``wp``, planted attention over words (``'it'`` looks far back to
``'cat'``; ``suitcase`` is two pieces); ``w10`` and ``w500``, SmolLM2 on a sentence
and on ~500 tokens of real prose (Debian's fortunes; ``tests/ui/data``), each a
text given to the widget, so in words by default; ``wg``, a SmolLM2 generation.
Checked: arcs drawn with the planted endpoints, the findings line, whole words
where pieces were, nothing moving (0 px) when the slider moves, the cut test
reports, a panel opens, the step changes or a word's what-if answers in its card
(at ~500 tokens), the text's top within 160 px. The
two screenshots the README shows are taken here: ``docs/first-screen-10.png``
and ``docs/first-screen-500.png``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from labdriver import NotebookPage, kernel, spoken, widget, word_span, write_notebook

ROOT = Path(__file__).resolve().parents[2]
PROSE = Path(__file__).resolve().parent / "data" / "first_screen_500.txt"
PIECES = ["The", " cat", " left", " its", " suit", "case", " on", " the", " old", " train", " because",
          " it", " was", " tired", "."]  # fmt: skip
PLANTED = f"""import numpy as np, attn_widget
from attn_widget.synthetic import tokens_from_pieces
PIECES = {PIECES!r}
text, tokens = tokens_from_pieces(PIECES, bos="<s>")
n = len(tokens)
att = np.full((2, 2, n, n), 0.02)
for i in range(1, n):
    att[:, :, i, i - 1] = 0.6
att[:, :, 1 + PIECES.index(" it"), 1 + PIECES.index(" cat")] = 0.9  # 'it' looks far back to 'cat'
att[:, :, 1 + PIECES.index("case"), 1 + PIECES.index(" suit")] = 0.9
att = np.tril(att) + np.eye(n) * 0.05
att /= att.sum(-1, keepdims=True)
planted = attn_widget.analyze_attention(att, tokens, text=text, exclude=[0], unit="word")
wp = attn_widget.AttentionExplainer(planted)
wp"""
CELLS = [
    PLANTED,
    """w10 = attn_widget.AttentionExplainer("The cat sat on the mat because it was tired.", model="smollm2")
w10""",
    f"""w10.wait(600)  # one model run at a time in this kernel
w500 = attn_widget.AttentionExplainer(open({str(PROSE)!r}).read(), model="smollm2")
w500""",
    """w500.wait(900)
g = attn_widget.analyze_generation("The capital of France is", model="smollm2", max_new_tokens=4)
wg = attn_widget.AttentionExplainer(g)
wg""",
]
READY = "i => document.querySelectorAll('[data-testid=attn-widget]')[i]?.dataset.status === 'ready'"
FOUND = (
    "i => document.querySelectorAll('[data-testid=attn-widget]')[i]?.querySelector('[data-testid=finding]')"
)
SEEN = """() => [...document.querySelectorAll('[data-testid=attn-widget]')].map(w => [w.dataset.status,
  w.querySelector('[data-testid=title]')?.textContent, w.querySelector('[data-testid=findings]')?.textContent,
  w.querySelector('[data-testid=error]')?.textContent])"""
BOXES = """(root, ids) => Object.fromEntries(ids.map(id => {  // relative to the widget: the page may scroll
  const o = root.getBoundingClientRect();
  const r = root.querySelector(`[data-testid=${id}]`).getBoundingClientRect();
  return [id, [r.x - o.x, r.y - o.y, r.width, r.height]];
}))"""


@pytest.fixture(scope="module")
def nb(lab: Any, browser: Any, pages: Any) -> NotebookPage:
    write_notebook(lab.root / "first_screen.ipynb", CELLS)
    page, net = pages.new(browser, (1400, 1900))  # tall: the 500-token widget fits whole
    notebook = NotebookPage(page, lab, "first_screen.ipynb")
    notebook.net = net  # type: ignore[attr-defined]
    notebook.open()
    notebook.run_all(timeout=900)  # SmolLM2 three times on a shared CPU
    try:
        for i in range(4):
            page.wait_for_function(READY, arg=i, timeout=300_000)
        for i in range(3):
            page.wait_for_function(FOUND, arg=i, timeout=300_000)  # the findings, made in the background
    except Exception as exc:
        seen = page.evaluate(SEEN)
        raise AssertionError(f"the widgets did not get ready: {seen}") from exc
    return notebook


def word_index(root: Any, word: str) -> int:
    return int(word_span(root, word).get_attribute("data-index"))


def test_the_planted_link_is_an_arc_from_it_to_cat_and_the_findings_line_names_it(nb: NotebookPage) -> None:
    root = widget(nb, 0)
    it, cat = word_index(root, "it"), word_index(root, "cat")
    arc = root.locator(f"[data-testid=arc][data-source='{it}'][data-target='{cat}']")
    assert arc.count() == 1
    assert arc.get_attribute("data-kind") == "long-range"
    assert arc.get_attribute("data-drawn") == "always"
    # drawn between the two words: the curve starts over 'it' and ends over 'cat'
    ends = arc.locator(".aw-arc-line").evaluate(
        "p => { const n = p.getTotalLength(), a = p.getPointAtLength(0), b = p.getPointAtLength(n);"
        " const m = p.ownerSVGElement.getBoundingClientRect();"
        " return [a.x + m.x, a.y + m.y, b.x + m.x, b.y + m.y]; }"
    )
    text = root.get_by_test_id("text")
    it_box = text.locator(f"[data-index='{it}']").bounding_box()
    cat_box = text.locator(f"[data-index='{cat}']").bounding_box()
    assert it_box["x"] <= ends[0] <= it_box["x"] + it_box["width"]
    assert cat_box["x"] <= ends[2] <= cat_box["x"] + cat_box["width"]
    assert ends[1] <= it_box["y"] + 1  # above the words, not over them
    assert ends[3] <= cat_box["y"] + 1
    findings = root.get_by_test_id("finding")
    assert "'it' reaches back to 'cat'" in findings.all_text_contents()[0]
    findings.first.hover()
    assert "aw-arc-on" in arc.get_attribute("class")
    assert "aw-arc-end" in (text.locator(f"[data-index='{cat}']").get_attribute("class") or "")
    apex = arc.locator(".aw-arc-line").evaluate(
        "p => { const q = p.getPointAtLength(p.getTotalLength() * 0.1);"
        " const m = p.ownerSVGElement.getBoundingClientRect(); return [q.x + m.x, q.y + m.y]; }"
    )
    nb.page.mouse.move(apex[0], apex[1])  # on the curve as it leaves 'it', where no other arc passes
    assert "“it” reaches back to “cat”" in root.get_by_test_id("arc-evidence").text_content()


def test_a_word_split_into_pieces_is_shown_whole_in_the_text_legend_links_and_arcs(nb: NotebookPage) -> None:
    root = widget(nb, 0)
    text = root.get_by_test_id("text")
    words = text.get_by_test_id("token").evaluate_all("s => s.map(e => e.textContent.trim())")
    assert "suitcase" in words
    assert "suit" not in words
    assert "case" not in words
    legend = root.get_by_test_id("legend").text_content()
    assert "suitcase" in legend
    assert "suit case" not in legend
    text.get_by_test_id("token").nth(words.index("suitcase")).hover()
    assert "“suitcase”" in root.get_by_test_id("links").text_content()
    labels = root.get_by_test_id("arc").evaluate_all("a => a.map(e => e.getAttribute('aria-label'))")
    assert any("suitcase" in label for label in labels)
    assert not any("“suit”" in label or "“case”" in label for label in labels)
    nb.page.mouse.move(0, 0)


@pytest.mark.parametrize(("i", "name"), [(1, "first-screen-10.png"), (2, "first-screen-500.png")])
def test_the_text_starts_within_160_px_and_the_screenshots_are_taken(
    nb: NotebookPage, artifacts: Path, i: int, name: str
) -> None:
    root = widget(nb, i)
    nb.page.mouse.move(0, 0)
    top = root.evaluate(
        "r => r.querySelector('[data-testid=text]').getBoundingClientRect().top"
        " - r.getBoundingClientRect().top"
    )
    assert top <= 160
    assert root.get_by_test_id("title").text_content().lower().startswith("smollm2")  # the model that ran
    assert root.get_by_test_id("arc").count() > 0
    assert 1 <= root.get_by_test_id("finding").count() <= 5
    root.scroll_into_view_if_needed()
    root.screenshot(path=str(ROOT / "docs" / name))
    root.screenshot(path=str(artifacts / name))


def test_nothing_moves_when_the_slider_moves_the_cut_test_reports_or_a_panel_opens(nb: NotebookPage) -> None:
    root = widget(nb, 1)
    ids = ["text", "slider", "findings"]
    before = root.evaluate(BOXES, ids)
    slider = root.get_by_test_id("slider")
    slider.focus()
    for key in ["ArrowRight", "ArrowRight", "ArrowRight", "ArrowLeft"]:
        slider.press(key)
        assert root.evaluate(BOXES, ids) == before, key
    nb.page.wait_for_function(READY, arg=1, timeout=60_000)
    assert root.evaluate(BOXES, ids) == before
    root.get_by_test_id("cuttest-button").click()
    root.get_by_test_id("cuttest-status").filter(has_text="Cutting the links").wait_for(timeout=300_000)
    assert root.evaluate(BOXES, ids) == before
    root.get_by_test_id("text").get_by_test_id("token").nth(3).click()
    root.get_by_test_id("panel").wait_for()
    assert root.evaluate(BOXES, ids) == before
    assert root.get_by_test_id("what-if").is_visible()  # "What if…" from the first screen


def test_nothing_moves_when_the_step_changes(nb: NotebookPage) -> None:
    root = widget(nb, 3)
    ids = ["text", "slider", "step-slider"]
    before = root.evaluate(BOXES, ids)
    step = root.get_by_test_id("step-slider")
    step.focus()
    for key in ["ArrowLeft", "ArrowLeft", "ArrowRight"]:
        step.press(key)
        nb.page.wait_for_timeout(150)
        assert root.evaluate(BOXES, ids) == before, key


def test_at_500_tokens_a_words_what_if_answers_in_the_card_without_moving_the_text(
    nb: NotebookPage, artifacts: Path
) -> None:
    root = widget(nb, 2)
    ids = ["text", "findings", "slider", "bar", "legend", "partition-info"]
    before = root.evaluate(BOXES, ids)
    spans = root.get_by_test_id("text").get_by_test_id("token")
    target = spans.nth(spans.count() // 2)
    target.scroll_into_view_if_needed()
    target.click(button="right")
    root.get_by_test_id("word-menu-whatif").click()
    root.get_by_test_id("whatif-prediction").wait_for(timeout=300_000)
    shown = root.get_by_test_id("whatif-prediction").text_content()
    top, p_before, p_after = kernel(
        nb,
        "[w500.ablation_result.prediction.before[0].text, "
        "round(100 * w500.ablation_result.prediction.probability_before, 1), "
        "round(100 * w500.ablation_result.prediction.probability_after, 1)]",
    )
    assert shown == f"{spoken(top)} {p_before:.1f}% → {p_after:.1f}%"  # whitespace said in words
    assert "␣" not in shown
    assert "⏎" not in shown
    assert kernel(nb, "list(w500.ablation_result.tokens)") == [int(target.get_attribute("data-index"))]
    assert root.evaluate(BOXES, ids) == before
    nb.page.mouse.move(0, 0)
    root.scroll_into_view_if_needed()
    root.screenshot(path=str(artifacts / "whatif-card-500.png"))


def test_the_exported_page_draws_the_same_arcs_and_findings(
    nb: NotebookPage, browser: Any, pages: Any
) -> None:
    out = nb.lab.root / "first_screen_page.html"
    nb.run_code(f"wp.save_html({str(out)!r})")
    page, _ = pages.new(browser, (1000, 800))
    page.goto(out.as_uri())
    page.get_by_test_id("arc").first.wait_for(state="attached")
    live = (
        widget(nb, 0)
        .get_by_test_id("arc")
        .evaluate_all("a => a.map(e => [e.dataset.source, e.dataset.target, e.dataset.kind])")
    )
    exported = page.get_by_test_id("arc").evaluate_all(
        "a => a.map(e => [e.dataset.source, e.dataset.target, e.dataset.kind])"
    )
    assert exported == live
    assert (
        page.get_by_test_id("finding").all_text_contents()
        == widget(nb, 0).get_by_test_id("finding").all_text_contents()
    )
    page.close()
