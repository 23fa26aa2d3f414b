"""The token map of a ~500-token SmolLM2 text in JupyterLab, as a person sees it (headless Chromium).

The default map ("clusters") of real prose with markup in it: every kept token a
dot, each cluster its own patch, the strongest few dots labelled with their
words without overlaps, markup shown as text (never as elements), hover marking
the dot and its word, a click outlining the cluster. The first map's time in a
fresh kernel is read from the status line (the benchmark reports figures). The
screenshot ``docs/shots/token-map-500.png`` is taken here.
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
]
READY = "() => document.querySelector('[data-testid=attn-widget]')?.dataset.status === 'ready'"
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
    page.wait_for_function(READY, timeout=600_000)
    return notebook


def test_the_long_map_shows_separate_patches_a_few_words_markup_as_text_and_the_selected_cluster(
    nb: NotebookPage, artifacts: Path, docs_shots: Path
) -> None:
    page = nb.page
    kept = kernel(nb, "[i for i in range(len(w.analysis.tokens)) if i not in set(w.analysis.excluded)]")
    assert len(kept) >= 450
    page.get_by_test_id("map-toggle").click()  # the first map of this kernel, the default method
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=map-point]').length > 0", timeout=120_000
    )
    status = page.get_by_test_id("map-status").inner_text()
    assert status.startswith("Clusters map in")
    print(f"first map in this kernel: {status}")
    dots = page.eval_on_selector_all("[data-testid=map-point]", DOTS)
    assert sorted(i for i, *_ in dots) == kept
    labels = view_labels(nb)
    assert all(labels[i] == c for i, c, _, _ in dots)
    # clusters stay separated: nearly every dot is nearer its own cluster's centre than any other's
    members: dict[int, list[tuple[float, float]]] = {}
    for _, c, x, y in dots:
        members.setdefault(c, []).append((x, y))
    centre = {c: (sum(p[0] for p in m) / len(m), sum(p[1] for p in m) / len(m)) for c, m in members.items()}
    own = sum(
        min(centre, key=lambda k: (centre[k][0] - x) ** 2 + (centre[k][1] - y) ** 2) == c
        for _, c, x, y in dots
    )
    assert own >= 0.95 * len(dots), (own, len(dots))

    # the strongest few carry their word, no two labels overlap
    boxes = page.eval_on_selector_all(
        "[data-testid=map-label]",
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
    dot = page.locator(f"[data-testid=map-point][data-index='{angle}']")
    dot.dispatch_event("mouseover")  # its neighbours may cover it at 500 dots: the event goes to it directly
    assert "aw-hover" in (dot.get_attribute("class") or "")
    assert page.get_by_test_id("map-hover-label").text_content() == tokens[angle].strip()
    token = page.locator(f"[data-testid=token][data-index='{angle}']")
    assert "aw-hover" in (token.get_attribute("class") or "")  # the token in the text too
    assert page.locator("[data-testid=map] b, [data-testid=map] script").count() == 0
    assert page.locator("[data-testid=attn-widget] script").count() == 0

    biggest = max(members, key=lambda c: len(members[c]))
    first = next(i for i, c, _, _ in dots if c == biggest)
    page.locator(f"[data-testid=map-point][data-index='{first}']").dispatch_event("click")
    wait_kernel(nb, "w.selected_cluster", biggest)
    assert page.get_by_test_id("map-outline").get_attribute("data-cluster") == str(biggest)
    page.mouse.move(0, 0)
    page.get_by_test_id("map-section").screenshot(path=str(artifacts / "token-map-500.png"))
    page.get_by_test_id("map-section").screenshot(path=str(docs_shots / "token-map-500.png"))
