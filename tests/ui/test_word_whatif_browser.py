"""A word's "What if…" from the first screen; a fallback's loading line; generation and compare (issue 21).

One JupyterLab notebook, in headless Chromium: ``wd``, a text with no model named,
so GPT-2 (not on this machine) falls back to SmolLM2 while the view records every
progress line it shows; ``wf``, SmolLM2 on "The capital of France is" (a text:
words by default); ``wm``, MiniLM (an encoder); ``wg``, a SmolLM2
generation; ``wc``, two texts compared in words. Checked as a user does it:
right-click a word (or reach it with the keyboard and press Enter), then "What if
this word were knocked out?": the card under the knobs says "Paris 74.9% → 1.3%",
the very numbers the kernel computed by knocking out every piece of the word,
while the text, findings, slider, bar and legend stay put (0 px); the encoder's
menu says why there is no what-if; the generation says in one sentence why it
stays in model tokens; the comparison keeps working in words. Then the exported
page, where the menu says it needs a kernel. A screenshot of the card at 10 words
goes to the artifacts folder (at ~500 tokens: tests/ui/test_first_screen_browser.py).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from labdriver import NotebookPage, kernel, spoken, wait_kernel, widget, word_span, write_notebook

CELLS = [
    # wd first: its fallback model must still have to load, or "Loading model smollm2 (…)" and the next line
    # reach the page in one task and the progress line never shows the first (SmolLM2 already in memory)
    """import attn_widget
wd = attn_widget.AttentionExplainer("The cat sat on the mat because it was tired.")  # no model named
wd""",
    """wd.wait(600)
wf = attn_widget.AttentionExplainer("The capital of France is", model="smollm2")
wf""",
    """wf.wait(600)
wm = attn_widget.AttentionExplainer("The cat sat on the mat because it was tired.", model="minilm")
wm""",
    """wm.wait(600)
g = attn_widget.analyze_generation("The capital of France is", model="smollm2", max_new_tokens=3)
wg = attn_widget.AttentionExplainer(g)
wg""",
    """a = attn_widget.analyze("The cat sat on the mat.", model="smollm2", unit="word")
b = attn_widget.analyze("The dog slept on the old mat.", model="smollm2", unit="word")
wc = attn_widget.AttentionExplainer(attn_widget.compare(a, b))
wc""",
]
WD, WF, WM, WG, WC = range(5)
# every progress line each widget shows, with its status, recorded from the page's first moment
RECORD_PROGRESS = """
window.__progress = [];
new MutationObserver(() => {
  document.querySelectorAll('[data-testid=attn-widget]').forEach((w, i) => {
    const line = `${w.dataset.status}|${w.querySelector('[data-testid=progress]')?.textContent ?? ''}`;
    const seen = (window.__progress[i] = window.__progress[i] || []);
    if (seen[seen.length - 1] !== line) seen.push(line);
  });
}).observe(document, { subtree: true, childList: true, characterData: true, attributes: true,
                       attributeFilter: ['data-status'] });
"""
READY = "i => document.querySelectorAll('[data-testid=attn-widget]')[i]?.dataset.status === 'ready'"
BOXES = """(root, ids) => Object.fromEntries(ids.map(id => {  // relative to the widget: the page may scroll
  const o = root.getBoundingClientRect();
  const r = root.querySelector(`[data-testid=${id}]`).getBoundingClientRect();
  return [id, [r.x - o.x, r.y - o.y, r.width, r.height]];
}))"""
STILL = ["text", "findings", "slider", "bar", "legend", "partition-info"]
COMMAND_MODE = "() => window.jupyterapp.shell.currentWidget.content.mode"


@pytest.fixture(scope="module")
def nb(lab: Any, browser: Any, pages: Any) -> NotebookPage:
    write_notebook(lab.root / "word_whatif.ipynb", CELLS)
    page, net = pages.new(browser, (1400, 1900))
    page.add_init_script(RECORD_PROGRESS)
    notebook = NotebookPage(page, lab, "word_whatif.ipynb")
    notebook.net = net  # type: ignore[attr-defined]
    notebook.open()
    notebook.run_all(timeout=1500)  # SmolLM2 and MiniLM on a shared CPU
    for i in range(len(CELLS)):
        page.wait_for_function(READY, arg=i, timeout=300_000)
    return notebook


def card_of(nb: NotebookPage, i: int, timeout: float = 300_000) -> str:
    root = widget(nb, i)
    root.get_by_test_id("whatif-prediction").wait_for(timeout=timeout)
    return root.get_by_test_id("whatif-prediction").text_content()


def kernel_prediction(nb: NotebookPage, name: str) -> list[Any]:
    """The top word before (as the view shows it), its probability before and after (rounded as shown)."""
    top, before, after = kernel(
        nb,
        f"[{name}.ablation_result.prediction.before[0].text, "
        f"round(100 * {name}.ablation_result.prediction.probability_before, 1), "
        f"round(100 * {name}.ablation_result.prediction.probability_after, 1)]",
    )
    return [spoken(top), before, after]


def test_right_click_a_word_shows_what_if_it_were_knocked_out_in_the_card_and_nothing_moves(
    nb: NotebookPage, artifacts: Path
) -> None:
    root = widget(nb, WF)
    before = root.evaluate(BOXES, STILL)
    assert root.get_by_test_id("whatif-card").is_hidden()
    france = word_span(root, "France")
    france.click(button="right")
    menu = root.get_by_test_id("word-menu")
    assert menu.is_visible()
    assert root.get_by_test_id("word-menu-title").text_content() == "“France”"
    item = root.get_by_test_id("word-menu-whatif")
    assert item.text_content() == "What if this word were knocked out?"
    assert item.is_enabled()
    menu_box, word_box = menu.bounding_box(), france.bounding_box()
    assert menu_box["y"] >= word_box["y"] + word_box["height"] - 1  # under the word, over the text
    assert root.evaluate(BOXES, STILL) == before
    item.click()
    assert menu.is_hidden()
    assert root.get_by_test_id("whatif-title").text_content() == "What if “France” were knocked out?"
    shown = card_of(nb, WF)
    top, p_before, p_after = kernel_prediction(nb, "wf")
    assert shown == f"{top} {p_before:.1f}% → {p_after:.1f}%"
    assert top == "Paris"
    assert p_after < p_before / 5  # "Paris 74.9% → 1.3%": France is what the answer needs
    assert root.evaluate(BOXES, STILL) == before  # the card sits in the panel slot, under the knobs
    # the word's pieces, all of them: the same as knocking out each of its model tokens
    i = int(france.get_attribute("data-index"))
    assert kernel(nb, "list(wf.ablation_result.tokens)") == [i]
    same = kernel(
        nb,
        f"round(100 * wf.analysis.recluster(unit='token').ablate("
        f"tokens=wf.analysis.units.pieces([{i}]).tolist()).prediction.probability_after, 1)",
    )
    assert same == p_after
    assert not root.get_by_test_id("ablate").evaluate("d => d.open")  # the groups stay folded below
    root.screenshot(path=str(artifacts / "whatif-card-10.png"))
    root.get_by_test_id("whatif-more").click()
    assert root.get_by_test_id("ablate").evaluate("d => d.open")
    assert root.evaluate(BOXES, STILL) == before


def test_the_keyboard_reaches_a_words_what_if_and_jupyterlab_keeps_its_keys(nb: NotebookPage) -> None:
    root = widget(nb, WF)
    if root.get_by_test_id("whatif-card").is_visible():
        root.get_by_test_id("whatif-close").click()
    stops = root.locator("[data-testid=text] [tabindex='0']")
    assert stops.count() == 1  # one tab stop for the whole text
    stops.first.focus()
    nb.page.keyboard.press("Home")  # the first word: "The"
    assert nb.page.evaluate("() => document.activeElement.textContent.trim()") == "The"
    for _ in range(8):
        if nb.page.evaluate("() => document.activeElement.textContent.trim()") == "capital":
            break
        nb.page.keyboard.press("ArrowRight")
    assert nb.page.evaluate("() => document.activeElement.textContent.trim()") == "capital"
    nb.page.keyboard.press("Enter")
    assert root.get_by_test_id("word-menu").is_visible()
    assert nb.page.evaluate("() => document.activeElement.dataset.testid") == "word-menu-whatif"
    nb.page.keyboard.press("Escape")
    assert root.get_by_test_id("word-menu").is_hidden()
    assert nb.page.evaluate("() => document.activeElement.textContent.trim()") == "capital"
    nb.page.keyboard.press("Enter")
    nb.page.keyboard.press("Enter")  # on "What if this word were knocked out?"
    assert root.get_by_test_id("whatif-title").text_content() == "What if “capital” were knocked out?"
    shown = card_of(nb, WF)
    nb.page.wait_for_function("() => !document.querySelector('[data-testid=whatif-running]')")
    top, p_before, p_after = kernel_prediction(nb, "wf")
    assert shown == f"{top} {p_before:.1f}% → {p_after:.1f}%"
    assert nb.page.evaluate(COMMAND_MODE) == "command"  # Enter did not open a cell for editing


def test_while_the_fallback_loads_the_progress_line_names_the_model_that_runs(nb: NotebookPage) -> None:
    lines = nb.page.evaluate("i => window.__progress[i]", WD)
    loading = [line.split("|", 1)[1] for line in lines if line.startswith("loading|")]
    fallback = "Loading model smollm2 (gpt2 could not be had)…"
    assert fallback in loading, lines
    running = next(k for k, line in enumerate(loading) if line.startswith("Running"))
    assert loading.index(fallback) < running  # said while it loads, before the model runs
    assert not [line for line in loading[loading.index(fallback) :] if re.search(r"\bgpt2\b(?! could)", line)]
    assert widget(nb, WD).get_by_test_id("title").text_content().startswith("smollm2")


def test_an_encoder_has_no_what_if_and_its_menu_says_why(nb: NotebookPage) -> None:
    root = widget(nb, WM)
    word_span(root, "cat").click(button="right")
    assert root.get_by_test_id("word-menu-whatif").is_disabled()
    why = root.get_by_test_id("word-menu-why").text_content()
    assert "is an encoder" in why
    assert "predicts no next word" in why
    nb.page.keyboard.press("Escape")
    assert root.get_by_test_id("word-menu").is_hidden()


def test_a_generation_says_it_stays_in_model_tokens_and_its_what_if_and_steps_work(nb: NotebookPage) -> None:
    root = widget(nb, WG)
    unit = root.get_by_test_id("unit")
    assert unit.is_disabled()
    sentence = "A generation is shown in model tokens: the model writes it one token at a time."
    assert root.get_by_test_id("step-unit").text_content() == sentence
    assert unit.get_attribute("title") == sentence
    word_span(root, "France").click(button="right")
    assert root.get_by_test_id("word-menu-whatif").text_content() == "What if this token were knocked out?"
    root.get_by_test_id("word-menu-whatif").click()
    shown = card_of(nb, WG)
    top, p_before, p_after = kernel_prediction(nb, "wg")
    assert shown == f"{top} {p_before:.1f}% → {p_after:.1f}%"
    step = root.get_by_test_id("step-slider")
    step.focus()
    step.press("ArrowLeft")
    nb.page.wait_for_function(
        "i => document.querySelectorAll('[data-testid=attn-widget]')[i].querySelector('[data-testid=steps]')"
        ".dataset.step === '1'",
        arg=WG,
        timeout=60_000,
    )
    nb.page.wait_for_function(READY, arg=WG, timeout=60_000)
    assert root.get_by_test_id("whatif-card").is_hidden()  # it was about the step no longer shown
    assert root.get_by_test_id("error").is_hidden()


def test_a_comparison_in_words_keeps_working_when_the_unit_changes(nb: NotebookPage) -> None:
    root = widget(nb, WC)
    second = root.get_by_test_id("compare-text").get_by_test_id("token")
    assert "slept" in second.evaluate_all("s => s.map(e => e.textContent.trim())")
    assert root.get_by_test_id("unit").input_value() == "word"
    for unit in ["token", "word"]:
        root.get_by_test_id("unit").select_option(unit)
        nb.page.wait_for_function(
            "([i, u]) => document.querySelectorAll('[data-testid=attn-widget]')[i].dataset.status === 'ready'"
            " && " + "document.querySelectorAll('[data-testid=unit]')[i].value === u",
            arg=[WC, unit],
            timeout=120_000,
        )
        # The view shows "ready" from before the kernel has heard of the change: wait for the kernel's side.
        wait_kernel(
            nb,
            "[wc.analysis.options.unit, wc.comparison_result and wc.comparison_result.b.options.unit]",
            [unit, unit],
            120,
        )
        nb.page.wait_for_function(READY, arg=WC, timeout=120_000)
        assert root.get_by_test_id("error").is_hidden()
        assert root.get_by_test_id("compare-text").get_by_test_id("token").count() == kernel(
            nb, "len(wc.comparison_result.b.tokens)"
        )
        assert root.get_by_test_id("compare-summary").text_content()


def test_the_exported_page_offers_the_menu_and_says_what_if_needs_a_kernel(
    nb: NotebookPage, browser: Any, pages: Any
) -> None:
    out = nb.lab.root / "word_whatif_page.html"
    nb.run_code(f"wf.save_html({str(out)!r})")
    page, _ = pages.new(browser, (1000, 800))
    page.goto(out.as_uri())
    spans = page.get_by_test_id("text").get_by_test_id("token")
    spans.first.wait_for()
    texts = spans.evaluate_all("s => s.map(e => e.textContent.trim())")
    spans.nth(texts.index("France")).click(button="right")
    assert page.get_by_test_id("word-menu-whatif").is_disabled()
    assert page.get_by_test_id("word-menu-why").text_content() == "Needs a running Python kernel."
    page.close()
