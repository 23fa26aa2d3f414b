"""The token map of a ~500-token SmolLM2 text in JupyterLab, as a person sees it (headless Chromium).

The default map ("clusters") of real prose with markup in it, and of a ten-word sentence: every kept token a
dot, each cluster its own patch, the strongest few dots labelled with their
words without overlaps, markup shown as text (never as elements), hover marking
the dot and its word, a click outlining the cluster. The first map's time in a
fresh kernel is read from the status line (the benchmark reports figures). The
screenshots ``docs/shots/token-map-500.png`` and ``docs/shots/token-map-10.png`` are taken here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from labdriver import NotebookPage, kernel, view_labels, wait_kernel

PROSE = Path(__file__).resolve().parent / "data" / "first_screen_500.txt"
MARKUP = " She wrote <b>bold</b> & <script>alert(1)</script> on the card."
CELLS = [
    f"""import attn_widget
text = open({str(PROSE)!r}).read().strip() + {MARKUP!r}
w = attn_widget.AttentionExplainer(text, model="smollm2", unit="token")
w""",
    """w.wait(900)  # one model run at a time in this kernel
w10 = attn_widget.AttentionExplainer("The cat sat on the mat because it was tired.", model="smollm2")
w10""",
]
READY = "i => document.querySelectorAll('[data-testid=attn-widget]')[i]?.dataset.status === 'ready'"
DOTS = "s => s.map(e => [+e.dataset.index, +e.dataset.cluster, +e.getAttribute('cx'), +e.getAttribute('cy')])"


@pytest.fixture(scope="module")
def nb(lab: Any, browser: Any, pages: Any) -> NotebookPage:
    from labdriver import write_notebook

    write_notebook(lab.root / "token_map_long.ipynb", CELLS)
    page, net = pages.new(browser, (1280, 1400))
    notebook = NotebookPage(page, lab, "token_map_long.ipynb")
    notebook.net = net  # type: ignore[attr-defined]
    notebook.open()
    notebook.run_all(timeout=900)
    for i in range(2):
        page.wait_for_function(READY, arg=i, timeout=600_000)
    return notebook


def separated(dots: list[list[float]]) -> int:
    """How many dots are nearer their own cluster's centre than any other cluster's."""
    members: dict[int, list[tuple[float, float]]] = {}
    for _, c, x, y in dots:
        members.setdefault(c, []).append((x, y))
    centre = {c: (sum(p[0] for p in m) / len(m), sum(p[1] for p in m) / len(m)) for c, m in members.items()}
    return sum(
        min(centre, key=lambda k: (centre[k][0] - x) ** 2 + (centre[k][1] - y) ** 2) == c
        for _, c, x, y in dots
    )


def test_the_long_map_shows_separate_patches_a_few_words_markup_as_text_and_the_selected_cluster(
    nb: NotebookPage, artifacts: Path, docs_shots: Path
) -> None:
    page = nb.page
    root = page.get_by_test_id("attn-widget").nth(0)
    kept = kernel(nb, "[i for i in range(len(w.analysis.tokens)) if i not in set(w.analysis.excluded)]")
    assert len(kept) >= 450
    root.get_by_test_id("map-toggle").click()  # the first map of this kernel, the default method
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=map-point]').length > 0", timeout=120_000
    )
    status = root.get_by_test_id("map-status").inner_text()
    assert status.startswith("Clusters map in")
    print(f"first map in this kernel: {status}")
    dots = root.locator("[data-testid=map-point]").evaluate_all(DOTS)
    assert sorted(i for i, *_ in dots) == kept
    labels = view_labels(nb)
    assert all(labels[i] == c for i, c, _, _ in dots)
    # clusters stay separated: nearly every dot is nearer its own cluster's centre than any other's
    own = separated(dots)
    assert own >= 0.95 * len(dots), (own, len(dots))
    members: dict[int, list[int]] = {}
    for i, c, _, _ in dots:
        members.setdefault(c, []).append(i)

    # the strongest few carry their word, no two labels overlap
    boxes = root.locator("[data-testid=map-label]").evaluate_all(
        "s => s.map(e => { const r = e.getBBox(); return [r.x, r.y, r.width, r.height] })",
    )
    assert 10 <= len(boxes) <= 24
    for a in range(len(boxes)):
        for b in range(a + 1, len(boxes)):
            (x0, y0, w0, h0), (x1, y1, w1, h1) = boxes[a], boxes[b]
            assert not (
                x0 < x1 + w1 - 0.5 and x1 < x0 + w0 - 0.5 and y0 < y1 + h1 - 0.5 and y1 < y0 + h0 - 0.5
            )

    # markup in the text is shown as text: the hovered '<' token's word, no element made from it
    tokens = kernel(nb, "[t.text for t in w.analysis.tokens]")
    angle = next(i for i in kept if "<" in tokens[i])
    dot = root.locator(f"[data-testid=map-point][data-index='{angle}']")
    dot.dispatch_event("mouseover")  # its neighbours may cover it at 500 dots: the event goes to it directly
    assert "aw-hover" in (dot.get_attribute("class") or "")
    assert root.get_by_test_id("map-hover-label").text_content() == tokens[angle].strip()
    token = root.locator(f"[data-testid=token][data-index='{angle}']")
    assert "aw-hover" in (token.get_attribute("class") or "")  # the token in the text too
    assert root.locator("[data-testid=map] b, [data-testid=map] script").count() == 0
    assert page.locator("[data-testid=attn-widget] script").count() == 0

    biggest = max(members, key=lambda c: len(members[c]))
    first = members[biggest][0]
    root.locator(f"[data-testid=map-point][data-index='{first}']").dispatch_event("click")
    wait_kernel(nb, "w.selected_cluster", biggest)
    assert root.get_by_test_id("map-outline").get_attribute("data-cluster") == str(biggest)
    page.mouse.move(0, 0)
    root.get_by_test_id("map-section").screenshot(path=str(artifacts / "token-map-500.png"))
    root.get_by_test_id("map-section").screenshot(path=str(docs_shots / "token-map-500.png"))


def test_a_ten_word_sentence_has_every_dot_named_and_its_clusters_apart(
    nb: NotebookPage, artifacts: Path, docs_shots: Path
) -> None:
    page = nb.page
    root = page.get_by_test_id("attn-widget").nth(1)
    root.get_by_test_id("map-toggle").click()
    root.locator("[data-testid=map-point]").first.wait_for(timeout=120_000)
    assert root.get_by_test_id("map-status").inner_text().startswith("Clusters map in")
    kept = kernel(nb, "[i for i in range(len(w10.analysis.tokens)) if i not in set(w10.analysis.excluded)]")
    words = kernel(nb, "[t.text.strip() for t in w10.analysis.tokens]")
    dots = root.locator("[data-testid=map-point]").evaluate_all(DOTS)
    assert sorted(i for i, *_ in dots) == kept
    assert separated(dots) == len(dots)
    named = root.locator("[data-testid=map-label]").evaluate_all(
        "s => s.map(e => [+e.dataset.index, e.textContent])"
    )
    assert named == [[i, words[i]] for i in kept]  # every dot carries its word
    page.mouse.move(0, 0)
    root.get_by_test_id("map-section").screenshot(path=str(artifacts / "token-map-10-words.png"))
    root.get_by_test_id("map-section").screenshot(path=str(docs_shots / "token-map-10.png"))
