"""Watching SmolLM2 write, comparing two texts, and "what if", in JupyterLab in headless Chromium.

One notebook holds four widgets, in order: ``wg`` (a generation, step slider and
play button), ``wc`` (a minimal pair compared), ``wa`` (an analysis whose
tokens are knocked out with "remove and rerun") and ``wt`` (a minimal pair whose
clusters match). Each test drives the real DOM
through the ``data-testid`` hooks documented in ``js/src/widget.ts`` and checks
the kernel by running cells. Screenshots go to ``test-artifacts/ui/``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from labdriver import NotebookPage, kernel, wait_kernel, widget, write_notebook

PROMPT = "The capital of France is"
CELLS = [
    f"""import attn_widget
g = attn_widget.analyze_generation({PROMPT!r}, model="smollm2", max_new_tokens=6)
wg = attn_widget.AttentionExplainer(g)
wg""",
    """he = attn_widget.analyze("He said that he would come home late tonight.", model="smollm2")
she = attn_widget.analyze("She said that she would come home late tonight.", model="smollm2")
wc = attn_widget.AttentionExplainer(attn_widget.compare(he, she))
wc""",
    f"""a = attn_widget.analyze({PROMPT!r}, model="smollm2")
wa = attn_widget.AttentionExplainer(a)
wa""",
    """pair = ["The trophy did not fit in the suitcase because it was too " + w for w in ("big.", "small.")]
big, small = (attn_widget.analyze(t, model="smollm2") for t in pair)
wt = attn_widget.AttentionExplainer(attn_widget.compare(big, small))
wt""",
]
READY = "i => document.querySelectorAll('[data-testid=attn-widget]')[i]?.dataset.status === 'ready'"


@pytest.fixture(scope="module")
def nb(lab: Any, browser: Any, pages: Any) -> NotebookPage:
    write_notebook(lab.root / "generation.ipynb", CELLS)
    page, net = pages.new(browser, (1280, 1000))
    notebook = NotebookPage(page, lab, "generation.ipynb")
    notebook.net = net  # type: ignore[attr-defined]
    notebook.open()
    notebook.run_all(timeout=900)  # SmolLM2 on a shared CPU: loading and six steps take a while
    for i in range(len(CELLS)):
        page.wait_for_function(READY, arg=i, timeout=60_000)
    page.get_by_test_id("attn-widget").first.scroll_into_view_if_needed()  # the last cell ran in view
    return notebook


def tokens(root: Any, testid: str = "text") -> list[str]:
    return root.get_by_test_id(testid).get_by_test_id("token").evaluate_all("s => s.map(e => e.textContent)")


def test_the_step_slider_changes_the_view_and_the_kernels_step(nb: NotebookPage, artifacts: Path) -> None:
    page, root = nb.page, widget(nb, 0)
    n, p = kernel(nb, "len(g.steps)"), kernel(nb, "g.prompt_length")
    assert root.get_by_test_id("steps").is_visible()
    # textContent: running a cell scrolled the widget out of view, where nothing has innerText
    assert root.get_by_test_id("step-label").text_content() == f"{n} of {n}"
    slider = root.get_by_test_id("step-slider")
    slider.focus()
    page.keyboard.press("Home")
    wait_kernel(nb, "wg.step", 0)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=steps]').dataset.step === '0'", timeout=15_000
    )
    shown = [t for t in tokens(root)]
    assert len(shown) == p + 1  # the prompt and the first generated token
    first = kernel(nb, "g.steps[0].token.text")
    new = root.locator("[data-testid=text] [data-new-token=true]")
    assert new.count() == 1
    assert new.text_content() == first
    assert root.get_by_test_id("step-new-token").text_content().replace("·", " ") == first
    assert root.get_by_test_id("step-alternative").count() == 5
    assert root.get_by_test_id("step-links").text_content().startswith("attends most to, in the prompt:")
    assert kernel(nb, "len(wg.analysis.tokens)") == p + 1
    slider.focus()  # running a cell took the focus
    page.keyboard.press("ArrowRight")
    wait_kernel(nb, "wg.step", 1)
    page.wait_for_function(
        "n => document.querySelector('[data-testid=attn-widget]')"
        ".querySelectorAll('[data-testid=text] [data-testid=token]').length === n",
        arg=p + 2,
        timeout=15_000,
    )
    assert root.get_by_test_id("step-label").text_content() == f"2 of {n}"
    root.screenshot(path=str(artifacts / "generation-step-2.png"))


def test_play_walks_to_the_last_step_and_colours_follow_the_clusters(
    nb: NotebookPage, artifacts: Path
) -> None:
    page, root = nb.page, widget(nb, 0)
    n = kernel(nb, "len(g.steps)")
    nb.run_code("wg.step = 0")
    page.wait_for_function("() => document.querySelector('[data-testid=steps]').dataset.step === '0'")
    root.get_by_test_id("step-play").click()
    wait_kernel(nb, "wg.step", n - 1, timeout=60)
    page.wait_for_function(
        "n => document.querySelector('[data-testid=steps]').dataset.step === String(n - 1)",
        arg=n,
        timeout=15_000,
    )
    assert root.get_by_test_id("step-play").inner_text() == "▶ play"  # stopped at the end
    # a cluster that goes on from one step to the next keeps its colour
    track_slot = kernel(nb, "[[g.tracks[t].slot for t in s.tracks if t >= 0] for s in g.steps]")
    fills = root.locator("[data-testid=text] .aw-clustered").evaluate_all(
        "s => s.map(e => e.className.match(/aw-k\\d+/)[0])"
    )
    slots = {int(f.removeprefix("aw-k")) for f in fills}
    assert slots == {s % 10 for s in track_slot[-1]}
    root.screenshot(path=str(artifacts / "generation-last-step.png"))


STEP_JS = "k => document.querySelector('[data-testid=steps]').dataset.step === String(k)"


def test_every_step_keeps_the_one_automatic_threshold_and_its_events_name_legend_clusters(
    nb: NotebookPage, artifacts: Path, docs_shots: Path
) -> None:
    page, root = nb.page, widget(nb, 0)
    n = kernel(nb, "len(g.steps)")
    values, seen = set(), 0
    for k in range(n):
        nb.run_code(f"wg.step = {k}")
        page.wait_for_function(STEP_JS, arg=k, timeout=15_000)
        values.add(root.get_by_test_id("threshold-value").text_content())
        items = root.get_by_test_id("legend-item").all_text_contents()
        legend = {t.split(":")[0] for t in items}  # "N: words (size)"
        for line in root.get_by_test_id("step-events").locator("li").all_text_contents():
            named = set(re.findall(r"cluster (\d+)", line))
            assert named <= legend, (k, line, legend)
            seen += 1
    assert len(values) == 1  # one ruler for the whole generation
    assert values.pop().endswith("(auto)")
    assert seen == kernel(nb, "sum(len(s['events']) for s in wg.generation['steps'])")
    root.screenshot(path=str(artifacts / "generation-one-ruler.png"))
    root.screenshot(path=str(docs_shots / "generation.png"))


SETTLED_JS = "() => document.querySelector('[data-testid=refine-status]').textContent !== 'Applying…'"


def test_tokens_pinned_at_a_step_stay_pinned_with_it_while_the_slider_moves(
    nb: NotebookPage, artifacts: Path
) -> None:
    page, root = nb.page, widget(nb, 0)
    nb.run_code("wg.step = 1")
    page.wait_for_function(STEP_JS, arg=1, timeout=15_000)
    root.get_by_test_id("refine-toggle").click()  # the edit bar is folded at first
    shown = root.locator("[data-testid=text] [data-testid=token]")
    clusters = dict(shown.evaluate_all("s => s.map(e => [+e.dataset.index, +e.dataset.cluster])"))
    i = next(k for k, c in clusters.items() if c >= 0)
    j = next(k for k, c in clusters.items() if c >= 0 and c != clusters[i])  # not together before
    root.locator(f"[data-testid=text] [data-testid=token][data-index='{i}']").click(modifiers=["Shift"])
    root.locator(f"[data-testid=text] [data-testid=token][data-index='{j}']").click(modifiers=["Shift"])
    root.get_by_test_id("refine-pin").click()
    page.wait_for_function(SETTLED_JS, timeout=30_000)
    wait_kernel(nb, "wg.partition.pins", ((i, j),))
    assert kernel(nb, "wg.step") == 1
    nb.run_code("wg.step = 0")
    page.wait_for_function(STEP_JS, arg=0, timeout=15_000)
    assert kernel(nb, "wg.analysis is g.steps[0].analysis")
    nb.run_code("wg.step = 1")
    page.wait_for_function(STEP_JS, arg=1, timeout=15_000)
    assert kernel(nb, "wg.partition.pins") == ((i, j),)  # the edit came back with its step
    page.wait_for_function(
        "ij => { const t = document.querySelectorAll('[data-testid=attn-widget]')[0]"
        ".querySelectorAll('[data-testid=text] [data-testid=token]'); "
        "return t.length === ij[2] && t[ij[0]].dataset.cluster === t[ij[1]].dataset.cluster; }",
        arg=[i, j, kernel(nb, "len(g.steps[1].analysis.tokens)")],
        timeout=15_000,
    )
    root.screenshot(path=str(artifacts / "generation-step-pinned.png"))


def test_the_compare_view_shows_both_texts_with_the_differences_marked(
    nb: NotebookPage, artifacts: Path
) -> None:
    root = widget(nb, 1)
    assert "".join(tokens(root)[1:]) == "He said that he would come home late tonight."
    assert "".join(tokens(root, "compare-text")[1:]) == "She said that she would come home late tonight."
    differ = root.locator("[data-testid=compare-text] [data-diff=text]").evaluate_all(
        "s => s.map(e => e.textContent)"
    )
    assert differ == ["She", " she"]
    moved = kernel(nb, "len(wc.comparison_result.moved)")
    assert root.locator("[data-testid=compare-text] [data-diff=moved]").count() == moved > 0
    # textContent: a cell scrolled out of view (cells run below it) is not laid out, so it has no innerText
    summary = root.get_by_test_id("compare-summary").locator("li").all_text_contents()
    assert summary == kernel(nb, "wc.comparison['summary'][2:]")  # the title says the first two
    assert summary[0].startswith(f"{moved} aligned tokens changed cluster mates")
    root.screenshot(path=str(artifacts / "compare-he-she.png"))


def test_both_compared_texts_are_labelled_and_the_second_answers_hover_and_click(
    nb: NotebookPage, artifacts: Path, docs_shots: Path
) -> None:
    root = widget(nb, 1)
    assert root.get_by_test_id("compare-label-a").text_content().startswith("text a · the first text")
    title = root.get_by_test_id("compare-title").text_content()
    assert title.startswith("text b · compared with text a above")
    key = root.get_by_test_id("compare-key").locator(".aw-legend-note").all_text_contents()
    assert key == ["text differs", "grouped differently"]  # both occur in he / she
    second = root.get_by_test_id("compare-text")
    token = second.locator("[data-testid=token]:not([data-cluster='-1'])").nth(2)
    token.scroll_into_view_if_needed()
    token.hover()
    links = root.get_by_test_id("compare-links")
    links.get_by_text("attends to").wait_for(timeout=15_000)
    assert token.text_content().strip() in links.text_content()
    token.click()
    panel = root.get_by_test_id("compare-panel")
    assert panel.is_visible()
    assert re.match(r"Cluster \d+ of text b \(\d+ tokens?\)", panel.text_content())
    matched = re.search(r"cluster (\d+) of text a", root.get_by_test_id("compare-panel-match").text_content())
    legend = {t.split(":")[0] for t in root.get_by_test_id("legend-item").all_text_contents()}
    assert matched is None or matched.group(1) in legend  # named as the first text's legend numbers it
    assert second.locator(".aw-selected").count() >= 2
    root.get_by_test_id("compare").screenshot(path=str(artifacts / "compare-alive.png"))
    root.get_by_test_id("compare").screenshot(path=str(docs_shots / "compare.png"))


def test_a_pair_whose_clusters_match_says_why_and_shows_no_empty_key(
    nb: NotebookPage, artifacts: Path
) -> None:
    root = widget(nb, 3)
    assert kernel(nb, "wt.comparison_result.matching.unchanged and not wt.comparison_result.moved")
    key = root.get_by_test_id("compare-key").locator(".aw-legend-note").all_text_contents()
    assert key == ["text differs"]  # nothing is grouped differently, so the key does not offer it
    summary = root.get_by_test_id("compare-summary").locator("li").all_text_contents()
    assert any(line.startswith("The clusters match. The model reads left to right") for line in summary)
    assert not any("changed by 0.00" in line for line in summary)
    root.screenshot(path=str(artifacts / "compare-trophy.png"))


def test_remove_and_rerun_shows_the_prediction_before_and_after(
    nb: NotebookPage, artifacts: Path, docs_shots: Path
) -> None:
    page, root = nb.page, widget(nb, 2)
    root.get_by_test_id("ablate-toggle").click()
    root.get_by_test_id("ablate-pick").click()
    root.locator("[data-testid=text] [data-testid=token]", has_text="France").click()
    assert root.get_by_test_id("ablate-picked").inner_text() == "picked: France"
    assert kernel(nb, "wa.selected_cluster") is None  # picking a token does not select its cluster
    root.get_by_test_id("ablate-run").click()
    root.get_by_test_id("ablate-change").wait_for(timeout=120_000)
    assert kernel(nb, "wa.ablation_result.tokens") == (4,)
    change = root.get_by_test_id("ablate-change").inner_text()
    assert "Paris" in change
    assert "now" in change
    before = root.get_by_test_id("ablate-before").locator("li").all_inner_texts()
    assert before[0].startswith("·Paris")
    assert root.get_by_test_id("ablate-after-text").get_by_test_id("token").count() == 6
    page.wait_for_function(READY, arg=2)
    root.screenshot(path=str(artifacts / "ablate-france.png"))
    root.screenshot(path=str(docs_shots / "what-if.png"))


def test_heads_typed_in_the_drill_down_are_zeroed_and_rerun(nb: NotebookPage) -> None:
    root = widget(nb, 2)
    root.get_by_test_id("drilldown-toggle").click()
    root.get_by_test_id("drilldown-ablate-heads").fill("0.1 3.2")
    root.get_by_test_id("drilldown-ablate-run").click()
    nb.page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=ablate-what]')]"
        ".some(e => e.textContent.includes('heads'))",
        timeout=120_000,
    )
    assert kernel(nb, "wa.ablation_result.heads") == ((0, 1), (3, 2))
    assert root.get_by_test_id("ablate-what").inner_text() == "Knocked out heads 0.1 3.2."
