"""Lens, measure and links-lens controls, contiguity and the cut test, as a person uses them in JupyterLab.

A reference arc hovered on SmolLM2 shows its evidence: the lenses guide's picture
``docs/shots/arc-evidence.png`` is taken here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from labdriver import (
    READY_JS,
    SMALL_WIDGET_CELLS,
    NotebookPage,
    kernel,
    open_settings,
    shoot_widget,
    wait_kernel,
    widget,
)


@pytest.fixture(scope="module")
def nb(open_notebook: Any) -> NotebookPage:
    notebook = open_notebook("lenses.ipynb", SMALL_WIDGET_CELLS)
    notebook.page.wait_for_function("() => document.querySelectorAll('[data-testid=token]').length > 0")
    open_settings(notebook.page)  # the knobs and the plot are folded under "Settings"
    return notebook


def test_choosing_a_lens_in_the_view_reclusters_in_the_kernel(nb: NotebookPage, artifacts: Path) -> None:
    page = nb.page
    page.wait_for_function(READY_JS)
    options = page.eval_on_selector("[data-testid=lens]", "s => [...s.options].map(o => o.value)")
    assert {"all", "early", "content", "coreference"} <= set(options)
    assert (
        page.get_by_test_id("contiguity")
        .inner_text()
        .endswith(("share a cluster", "runs of neighbouring words"))
    )
    page.get_by_test_id("lens").select_option("late")
    wait_kernel(nb, "w.analysis.options.lens", "late")
    page.wait_for_function(READY_JS)
    assert kernel(nb, "w.lens") == "late"
    assert kernel(nb, "[list(h) for h in w.analysis.options.lens_heads]") == [[1, 0], [1, 1]]
    page.get_by_test_id("attn-widget").screenshot(path=str(artifacts / "lens-late.png"))
    page.get_by_test_id("lens").select_option("all")
    wait_kernel(nb, "w.analysis.options.lens_heads", None)


def test_a_measure_the_analysis_cannot_give_is_explained_in_the_view(nb: NotebookPage) -> None:
    page = nb.page
    page.get_by_test_id("measure").select_option("norm")
    page.get_by_test_id("error").wait_for()
    assert "measure='norm' needs the per-head value norms" in page.get_by_test_id("error").inner_text()
    wait_kernel(nb, "w.measure", "attention")
    page.wait_for_function("() => document.querySelector('[data-testid=measure]').value === 'attention'")
    page.get_by_test_id("error-dismiss").click()


def test_the_links_lens_changes_what_hover_shows_but_not_the_clusters(nb: NotebookPage) -> None:
    page = nb.page
    labels = kernel(nb, "w.analysis.labels.tolist()")

    def hover_links(index: int) -> str:
        page.hover(f"[data-testid=token][data-index='{index}']")
        page.get_by_test_id("links").wait_for()
        return page.get_by_test_id("links").inner_text()

    before = hover_links(6)
    page.get_by_test_id("links-lens").select_option("early")
    wait_kernel(nb, "w.links_lens", "early")
    page.wait_for_function("() => document.querySelector('[data-testid=links-lens]').value === 'early'")
    page.mouse.move(0, 0)
    after = hover_links(6)
    assert after != before
    assert kernel(nb, "w.analysis.labels.tolist()") == labels
    expected = kernel(nb, "[l.text.strip() for l in w.analysis.links(6, k=2, lens='early')]")
    assert all(word in after for word in expected)
    page.get_by_test_id("links-lens").select_option("")
    wait_kernel(nb, "w.links_lens", "")


def test_the_cut_test_without_a_model_says_what_it_needs(nb: NotebookPage) -> None:
    page = nb.page
    page.get_by_test_id("cuttest-button").click()
    status = page.get_by_test_id("cuttest-status")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=cuttest-status]').textContent.includes('token ids')"
    )
    assert "The cut test could not be run" in status.inner_text()
    assert page.get_by_test_id("cuttest-button").is_enabled()


def test_the_cut_test_on_a_model_compares_with_chunks_and_random_groups(
    open_notebook: Any, gpt2_dir: Path, artifacts: Path
) -> None:
    cells = [
        f"""import torch, attn_widget
from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel
tok = AutoTokenizer.from_pretrained({str(gpt2_dir)!r})
torch.manual_seed(0)
model = GPT2LMHeadModel(GPT2Config(n_layer=2, n_head=2, n_embd=32, vocab_size=len(tok))).eval()
m = attn_widget.AttentionExplainer("The cat sat on the mat because it was tired, and the dog slept.",
                                   model=model, tokenizer=tok)
a = m.wait(120)""",
        "m",
    ]
    nb = open_notebook("cuttest.ipynb", cells)
    page = nb.page
    page.wait_for_function(READY_JS)
    page.get_by_test_id("cuttest-button").click()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=cuttest-status]')"
        ".textContent.includes('cutting between random groups')",
        timeout=120_000,
    )
    text = page.get_by_test_id("cuttest-text").inner_text()
    assert text.startswith("Cutting the links between these groups changes the model's predictions")
    assert "divergence" not in text  # plain words; the exact measure is folded under them
    ratio = kernel(
        nb,
        "round(__import__('attn_widget.evaluate.cuttest', fromlist=['x']).cut_test(m.analysis)"
        "['ratio_contiguous'], 2)",
    )
    assert f"{ratio:.2f} times as much as cutting between runs of neighbouring words" in text
    measure = page.get_by_test_id("cuttest-measure")
    assert not measure.locator("span").is_visible()
    measure.locator("summary").click()
    assert "Jensen-Shannon divergence of the next-token distributions" in measure.inner_text()
    page.get_by_test_id("attn-widget").screenshot(path=str(artifacts / "cuttest.png"))


TROPHY = "The trophy did not fit in the suitcase because it was too big."
REFERENCES = (
    "[(a.source, a.target, a.source_text, a.target_text, 'sure' if a.confident else 'unsure',"
    " f'{a.weight * 100:.0f}', f'{a.confidence:.2f}', a.lens)"
    " for a in w.analysis.arcs() if a.kind == 'reference']"
)


def test_hovering_a_reference_arc_shows_its_evidence_and_the_guide_picture_is_taken(
    open_notebook: Any, artifacts: Path, docs_shots: Path
) -> None:
    cells = [f"import attn_widget\nw = attn_widget.AttentionExplainer({TROPHY!r}, model='smollm2')", "w"]
    nb = open_notebook("arc-evidence.ipynb", cells)
    page = nb.page
    page.wait_for_function(READY_JS, timeout=300_000)
    root = widget(nb, 0)
    refs = kernel(nb, REFERENCES)
    assert [r[2:4] for r in refs] == [("it", "trophy")]  # SmolLM2 links the pronoun to the right word
    source, target, it, trophy, sure, share, confidence, lens = refs[0]
    arc = root.locator(f"[data-testid=arc][data-source='{source}'][data-target='{target}']")
    assert arc.get_attribute("data-kind") == "reference"
    root.scroll_into_view_if_needed()
    leaving = arc.locator(".aw-arc-line").evaluate(
        "p => { const q = p.getPointAtLength(p.getTotalLength() * 0.1);"
        " const m = p.ownerSVGElement.getBoundingClientRect(); return [q.x + m.x, q.y + m.y]; }"
    )
    page.mouse.move(leaving[0], leaving[1])  # on the curve as it leaves 'it'
    page.wait_for_function("() => document.querySelector('[data-testid=arc-evidence]')")
    said = root.get_by_test_id("arc-evidence").text_content()
    assert said.startswith(f"“{it}” looks back to “{trophy}” ({sure})")
    assert f"{share}% of its attention, confidence {confidence}" in said
    assert f"heads: {lens}" in said
    assert "aw-arc-on" in (arc.get_attribute("class") or "")
    shoot_widget(root, "links", artifacts / "arc-evidence.png")
    shoot_widget(root, "links", docs_shots / "arc-evidence.png")
