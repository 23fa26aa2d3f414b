"""Explanations in the widget as a person sees them: JupyterLab 4 in headless Chromium.

A widget made from planted attention (``analyze_attention``, never explained in
Python) is clicked: the panel fetches the rationale of that cluster from the
kernel; after the slider moves, the rationale follows the new partition; and
the faithfulness button says that scores need a model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from labdriver import NUMBERS, READY_JS, SMALL_WIDGET_CELLS, SMALL_WORDS, NotebookPage, kernel

WORDS = SMALL_WORDS
CELLS = SMALL_WIDGET_CELLS

RATIONALE_IS_JS = "want => document.querySelector('[data-testid=panel-rationale]')?.textContent === want"
LABELS_JS = (
    "want => [...document.querySelectorAll('[data-testid=token]')]"
    ".map(e => +e.dataset.cluster).join() === want"
)


@pytest.fixture(scope="module")
def nb(open_notebook: Any) -> NotebookPage:
    notebook = open_notebook("explain.ipynb", CELLS)
    notebook.page.wait_for_function("() => document.querySelectorAll('[data-testid=token]').length > 0")
    return notebook



def click_token(nb: NotebookPage, index: int) -> None:
    nb.page.locator(f"[data-testid=token][data-index='{index}']").click()


def expect_rationale_of(nb: NotebookPage, token: int) -> str:
    """Wait until the panel shows the kernel's rationale for the cluster holding ``token``; return it."""
    cluster = kernel(nb, f"w.analysis.cluster_of({token}).id")
    want = kernel(nb, f"w.explain_service.explain(w.analysis, {cluster}).rationale")
    nb.page.wait_for_function(RATIONALE_IS_JS, arg=want, timeout=10_000)
    number = kernel(nb, NUMBERS)[cluster]  # the view numbers clusters 1..k in reading order
    assert nb.page.get_by_test_id("panel").locator("h3").inner_text() == f"Cluster {number}"
    members = kernel(nb, f"list(w.analysis.cluster_of({token}).tokens)")
    for i in members[:6]:
        assert WORDS[i].strip() in want
    return want


def test_clicking_a_cluster_shows_its_rationale_and_it_follows_the_slider(nb: NotebookPage) -> None:
    page = nb.page
    labels = kernel(nb, "w.analysis.labels.tolist()")
    assert kernel(nb, "[c.rationale for c in w.analysis.clusters]") == [None] * len(set(labels) - {-1})
    click_token(nb, 1)
    first = expect_rationale_of(nb, 1)
    assert "'The'" in first
    assert " sat" in first  # token 3 is in the same group at the automatic threshold
    # move the slider (keyboard, as a person would) to a finer partition
    grid = kernel(nb, "a.sweep.thresholds.tolist()")
    target = 7
    page.get_by_test_id("slider").focus()
    for _ in range(target - int(page.get_by_test_id("slider").input_value())):
        page.keyboard.press("ArrowRight")
    want = ",".join(str(x) for x in kernel(nb, f"a.sweep.labels[{target}].tolist()"))
    page.wait_for_function(LABELS_JS, arg=want, timeout=10_000)
    page.wait_for_function(READY_JS)
    assert kernel(nb, "w.threshold") == pytest.approx(grid[target])
    # cluster 0 is still selected but now holds other tokens: its new rationale, never the old one
    second = expect_rationale_of(nb, 1)
    assert second != first
    assert "'sat'" not in second
    # click another cluster of the new partition
    click_token(nb, 5)
    third = expect_rationale_of(nb, 5)
    assert "because" in third
    assert third not in (first, second)


def test_the_faithfulness_button_says_scores_need_a_model(nb: NotebookPage, artifacts: Path) -> None:
    page = nb.page
    if not page.get_by_test_id("panel").is_visible():
        click_token(nb, 1)
    button = page.get_by_test_id("panel-measure")
    button.wait_for()
    assert button.inner_text() == "Measure faithfulness"
    assert button.is_disabled()
    status = page.get_by_test_id("panel-measure-status").inner_text()
    assert "need the model that made the attention" in status
    assert "AttentionExplainer(text, model=...)" in status
    assert page.get_by_test_id("error").is_hidden()  # the widget itself is fine
    page.get_by_test_id("attn-widget").screenshot(path=str(artifacts / "explain-panel.png"))


def test_measuring_faithfulness_shows_progress_then_the_badge(
    open_notebook: Any, gpt2_dir: Path, artifacts: Path
) -> None:
    cells = [
        f"""import torch, attn_widget
from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel
tok = AutoTokenizer.from_pretrained({str(gpt2_dir)!r})
torch.manual_seed(0)
model = GPT2LMHeadModel(GPT2Config(n_layer=2, n_head=2, n_embd=32, vocab_size=len(tok))).eval()
m = attn_widget.AttentionExplainer(
    "The cat sat on the mat because it was tired.", model=model, tokenizer=tok, unit="token"
)  # faithfulness knocks out the model's tokens: the token view measures it in place
a = m.wait(120)
m.threshold = float(a.sweep.thresholds[int(a.sweep.n_clusters.argmax())])  # several groups""",
        "m",
    ]
    nb = open_notebook("faithfulness.ipynb", cells)
    page = nb.page
    page.wait_for_function(READY_JS)
    labels = kernel(nb, "m.analysis.labels.tolist()")
    kept = sum(lab >= 0 for lab in labels)
    token = next(i for i, lab in enumerate(labels) if lab >= 0 and 1 < labels.count(lab) < kept)
    click_token(nb, token)
    button = page.get_by_test_id("panel-measure")
    button.wait_for()
    assert button.is_enabled()
    # record every progress line the panel shows while the kernel measures
    page.evaluate(
        """() => { window.__seen = [];
        new MutationObserver(() => { const s = document.querySelector('[data-testid=panel-measure-status]');
          if (s && s.textContent) window.__seen.push(s.textContent); })
        .observe(document.querySelector('[data-testid=panel]'),
                 {subtree: true, childList: true, characterData: true}); }"""
    )
    button.click()
    badge = page.get_by_test_id("panel-faithfulness")
    badge.wait_for(timeout=60_000)
    seen = page.evaluate("() => window.__seen")
    assert any("/3)" in s for s in seen), seen  # "cluster 1: knockout (1/3)"
    assert badge.inner_text().startswith("faithfulness: beats ")
    assert badge.inner_text().endswith("% of random sets")
    metrics = page.get_by_test_id("panel-score").all_inner_texts()
    assert any(t.startswith("knockout ") and " vs random " in t for t in metrics), metrics
    assert page.get_by_test_id("panel-measure").count() == 0  # measured: the button gives way to the badge
    page.get_by_test_id("attn-widget").screenshot(path=str(artifacts / "explain-faithfulness.png"))
