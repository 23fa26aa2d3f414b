"""Hands-on refinement and the token map in JupyterLab, as a person uses them (headless Chromium).

A sentence with three planted groups; each test drives the edit bar, shift-click
picks and the map through their ``data-testid`` hooks (``js/src/widget.ts``) and
checks that the view, the kernel's partition and the modularity shown agree. The refine
guide's picture ``docs/shots/refine.png`` (one merge done) is taken here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from labdriver import READY_JS, NotebookPage, kernel, shoot_widget, view_labels, wait_kernel

WORDS = [
    "<s>",
    "The",
    " old",
    " dog",
    " barked",
    " while",
    " the",
    " young",
    " cat",
    " slept",
    " all",
    " day",
    ".",
]
CELLS = [
    f"""import attn_widget
from attn_widget.synthetic import planted_attention, tokens_from_pieces
att, groups = planted_attention([4, 4, 4], layers=2, heads=2, strength=3.0, seed=2)
words = {WORDS!r}
text, tokens = tokens_from_pieces(words[1:], bos=words[0])
a = attn_widget.analyze_attention(att, tokens, exclude=[0], text=text)
w = attn_widget.AttentionExplainer(a)""",
    "w",
]
SETTLED_JS = "id => document.querySelector('[data-testid=refine-status]').textContent !== 'Applying…'"


@pytest.fixture(scope="module")
def nb(open_notebook: Any) -> NotebookPage:
    notebook = open_notebook("refine.ipynb", CELLS)
    notebook.page.wait_for_function("() => document.querySelectorAll('[data-testid=token]').length > 0")
    return notebook


def fresh(nb: NotebookPage) -> None:
    """The original clustering on screen, nothing selected or picked, no history."""
    nb.run_code("w.selected_cluster = None\nw.refinements.undo_stack.clear()\nw._show(a)")
    nb.page.wait_for_function(READY_JS)
    nb.page.wait_for_function("() => document.querySelector('[data-testid=refine-undo]').disabled")
    if nb.page.get_by_test_id("refine").get_attribute("open") is None:
        nb.page.get_by_test_id("refine-toggle").click()  # the edit bar is folded at first
    if nb.page.get_by_test_id("refine-clear").is_enabled():
        nb.page.get_by_test_id("refine-clear").click()


def token(nb: NotebookPage, i: int) -> Any:
    return nb.page.locator(f"[data-testid=token][data-index='{i}']")


def edit(nb: NotebookPage, button: str) -> str:
    nb.page.get_by_test_id(button).click()
    nb.page.wait_for_function(SETTLED_JS, timeout=30_000)
    nb.page.wait_for_function(READY_JS)
    return nb.page.get_by_test_id("refine-status").inner_text()


def assert_view_is_kernel(nb: NotebookPage) -> None:
    labels = kernel(nb, "w.analysis.labels.tolist()")
    nb.page.wait_for_function(
        "want => [...document.querySelectorAll('[data-testid=token]')]"
        ".map(e => +e.dataset.cluster).join() === want",
        arg=",".join(map(str, labels)),
    )
    q = kernel(nb, "round(w.analysis.modularity, 3)")
    assert nb.page.get_by_test_id("refine-modularity").inner_text() == f"modularity {q:.3f}"


def test_merge_then_split_change_the_view_the_kernels_partition_and_the_modularity_shown(
    nb: NotebookPage, artifacts: Path, docs_shots: Path
) -> None:
    fresh(nb)
    page = nb.page
    before = view_labels(nb)
    q0 = kernel(nb, "w.analysis.modularity")
    token(nb, 1).click()  # selects cluster 0
    page.get_by_test_id("refine-merge-target").select_option("1")
    status = edit(nb, "refine-merge")
    assert status.startswith("merged clusters 0 and 1 into one of 8 tokens: modularity −")
    assert_view_is_kernel(nb)
    merged = view_labels(nb)
    assert merged != before
    assert merged[1] == merged[5]
    assert kernel(nb, "[e.op for e in w.partition.edits]") == ["merge"]
    assert kernel(nb, "w.analysis.modularity") < q0
    assert page.get_by_test_id("legend-item").count() == 2
    page.get_by_test_id("attn-widget").screenshot(path=str(artifacts / "refine-merged.png"))

    assert kernel(nb, "w.selected_cluster") == 0  # the merged cluster stays selected
    # the refine guide's picture: the text, the legend and the section after the merge, the panel closed
    page.get_by_test_id("panel-close").click()
    page.get_by_test_id("panel").wait_for(state="hidden")
    wait_kernel(nb, "w.selected_cluster", None)
    assert page.get_by_test_id("refine-status").inner_text() == status
    page.mouse.move(0, 0)
    shoot_widget(page.get_by_test_id("attn-widget"), "refine", docs_shots / "refine.png")
    token(nb, 1).click()  # select the merged cluster again
    wait_kernel(nb, "w.selected_cluster", 0)
    status = edit(nb, "refine-split")
    assert status.startswith("split cluster 0 into 2 clusters of 4, 4 tokens: modularity +")
    assert_view_is_kernel(nb)
    assert view_labels(nb) == before
    assert kernel(nb, "[e.op for e in w.partition.edits]") == ["merge", "split"]
    assert kernel(nb, "abs(w.analysis.modularity - a.modularity) < 1e-9") is True
    page.get_by_test_id("refine-history").locator("xpath=..").locator("summary").click()
    assert page.get_by_test_id("refine-history").locator("li").count() == 2


def test_picked_tokens_split_off_move_and_pin_and_undo_takes_each_back(
    nb: NotebookPage, artifacts: Path
) -> None:
    fresh(nb)
    page = nb.page
    before = view_labels(nb)
    cluster = int(token(nb, 7).get_attribute("data-cluster") or -1)  # the cluster of " young"
    token(nb, 7).click()  # select it
    token(nb, 7).click(modifiers=["Shift"])
    token(nb, 8).click(modifiers=["Shift"])
    assert page.get_by_test_id("refine-picked").inner_text() == "young, cat"
    status = edit(nb, "refine-split-off")
    assert status.startswith(f"split 'young', 'cat' off cluster {cluster}")
    assert_view_is_kernel(nb)
    labels = view_labels(nb)
    assert labels[7] == labels[8] != labels[5]

    token(nb, 2).click(modifiers=["Shift"])
    token(nb, 10).click(modifiers=["Shift"])
    status = edit(nb, "refine-pin")
    assert status.startswith("pinned 'old', 'all' together")
    assert_view_is_kernel(nb)
    assert kernel(nb, "w.partition.pins") == ((2, 10),)
    # shift-clicks stay with the widget: JupyterLab selected no cells (its "run cell" would run them all)
    assert page.locator(".jp-Notebook .jp-Cell.jp-mod-selected").count() <= 1
    page.get_by_test_id("attn-widget").screenshot(path=str(artifacts / "refine-pinned.png"))

    edit(nb, "refine-undo")
    edit(nb, "refine-undo")
    assert_view_is_kernel(nb)
    assert view_labels(nb) == before
    assert page.get_by_test_id("refine-undo").is_disabled()
    edit(nb, "refine-redo")
    assert view_labels(nb)[7] == view_labels(nb)[8]


def test_the_token_map_draws_every_kept_token_and_links_hover_and_selection_with_the_text(
    nb: NotebookPage, artifacts: Path
) -> None:
    fresh(nb)
    page = nb.page
    page.get_by_test_id("map-toggle").click()  # the default map: the clusters as patches
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=map-point]').length > 0", timeout=120_000
    )
    assert page.get_by_test_id("map-point").count() == len(WORDS) - 1  # the sink has no place
    assert page.get_by_test_id("map-status").inner_text().startswith("Clusters map in")
    dots = page.eval_on_selector_all(
        "[data-testid=map-point]",
        "s => s.map(e => [+e.dataset.index, +e.dataset.cluster, +e.getAttribute('cx'), +e.getAttribute('cy')])",  # noqa: E501
    )
    labels = view_labels(nb)
    assert all(labels[i] == c for i, c, _, _ in dots)
    # each planted group its own patch: every dot nearer its own cluster's centre than any other's
    centre = {
        c: [sum(d[k] for d in dots if d[1] == c) / sum(d[1] == c for d in dots) for k in (2, 3)]
        for c in {d[1] for d in dots}
    }
    for _, c, x, y in dots:
        near = min(centre, key=lambda k: (centre[k][0] - x) ** 2 + (centre[k][1] - y) ** 2)
        assert near == c
    words = page.eval_on_selector_all(
        "[data-testid=map-label]", "s => s.map(e => [+e.dataset.index, e.textContent])"
    )
    assert words == [[i, WORDS[i].strip()] for i in range(1, len(WORDS))]  # 12 dots: every one has its word
    dot = page.locator("[data-testid=map-point][data-index='6']")
    dot.hover()
    assert "aw-hover" in (token(nb, 6).get_attribute("class") or "")
    assert "aw-hover" in (dot.get_attribute("class") or "")  # the dot itself is marked
    assert page.get_by_test_id("map-hover-label").text_content() == WORDS[6].strip()
    token(nb, 3).hover()
    page.wait_for_function(
        "() => document.querySelector(\"[data-testid=map-point][data-index='3']\")"
        ".classList.contains('aw-hover')"
    )
    assert page.get_by_test_id("map-hover-label").text_content() == WORDS[3].strip()
    dot.click()
    wait_kernel(nb, "w.selected_cluster", labels[6])  # the view's selection reaches the kernel by comm
    outline = page.get_by_test_id("map-outline")
    assert outline.get_attribute("data-cluster") == str(labels[6])
    box = outline.bounding_box()
    for i, c, _, _ in dots:  # the outline encloses its cluster's dots
        if c == labels[6]:
            d = page.locator(f"[data-testid=map-point][data-index='{i}']").bounding_box()
            assert box["x"] <= d["x"]
            assert d["x"] + d["width"] <= box["x"] + box["width"] + 1
    page.mouse.move(0, 0)
    page.get_by_test_id("map-section").screenshot(path=str(artifacts / "token-map.png"))
    # the threshold moved to another partition: the map is laid out again for it
    first = page.eval_on_selector_all(
        "[data-testid=map-point]", "s => s.map(e => e.getAttribute('cx')).join()"
    )
    nb.run_code(
        "w.threshold = float(next(t for t, l in zip(a.sweep.thresholds, a.sweep.labels)"
        " if list(l) != list(w.analysis.labels)))"
    )
    page.wait_for_function(
        "want => [...document.querySelectorAll('[data-testid=map-point]')]"
        ".map(e => e.getAttribute('cx')).join() !== want",
        arg=first,
        timeout=30_000,
    )
    shown = view_labels(nb)
    drawn = page.eval_on_selector_all(
        "[data-testid=map-point]", "s => s.map(e => [+e.dataset.index, +e.dataset.cluster])"
    )
    assert all(shown[i] == c for i, c in drawn)
