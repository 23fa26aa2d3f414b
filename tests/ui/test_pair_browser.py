"""An encoder–decoder pair on screen (issue 23 part 3), in JupyterLab and on the exported page.

``wpair``: a tiny random BART (2 layers, hidden 64; :mod:`tiny_families`) with GPT-2's
tokenizer reading a source and a given target; ``wlong``: a tiny T5 on ~500 tokens of
prose (~380 source, ~120 target). Checked: the title counts the source's and the target's
words apart; the findings line says what the target reads; the source row above the target
row, each holding its own text; every cross-attention arc the kernel lists (``Analysis.arcs``)
drawn from its target word's top to its source word's bottom, or, when the source row (a box
of five lines that scrolls alone) has that word out of view, to the box's lower edge under it;
at ~500 tokens the target row is on the first screen, and the arcs follow the source box's
scroll and the text box's; clicking an arc whose source word is out of view brings it into
view; hovering an arc names both words; the exported pages do the same; ``wgen``, a tiny T5's
generation step by step: the step slider shows the source row and the target so far.
Screenshots: ``docs/shots/pair-10.png`` and ``pair-500.png`` (the first screen; and in the test
artifacts, with ``pair-generation.png``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from labdriver import NotebookPage, write_notebook

TESTS = Path(__file__).resolve().parents[1]
PROSE = Path(__file__).resolve().parent / "data" / "first_screen_500.txt"
SOURCE = "The cat sat on the mat."
TARGET = "Le chat est assis sur le tapis."
CELLS = [
    f"""import sys
sys.path.insert(0, {str(TESTS)!r})
import attn_widget
from tiny_families import build_pair
from transformers import AutoTokenizer
tok = AutoTokenizer.from_pretrained({str(TESTS / "fixtures" / "gpt2")!r})
wpair = attn_widget.AttentionExplainer({SOURCE!r}, model=build_pair("bart"), tokenizer=tok, target={TARGET!r})
wpair""",
    f"""wpair.wait(300)
prose = open({str(PROSE)!r}).read()
ids = tok(prose)["input_ids"]
source, target = tok.decode(ids[:380]).strip(), tok.decode(ids[380:500]).strip()
wlong = attn_widget.AttentionExplainer(source, model=build_pair("t5"), tokenizer=tok, target=target)
wlong""",
    f"""wlong.wait(300)
g = attn_widget.analyze_generation({SOURCE!r}, model=build_pair("t5"), tokenizer=tok, max_new_tokens=4)
wgen = attn_widget.AttentionExplainer(g)
wgen""",
]
READY = "i => document.querySelectorAll('[data-testid=attn-widget]')[i]?.dataset.status === 'ready'"
ARCS = "i => document.querySelectorAll('[data-testid=attn-widget]')[i]?.querySelector('[data-testid=arc]')"
# Each arc's two ends, and the boxes of the words it joins (their first line), in page coordinates.
GEOMETRY = """root => [...root.querySelectorAll('[data-testid=arc]')].map(g => {
  const line = g.querySelector('.aw-arc-line');
  const svg = line.ownerSVGElement.getBoundingClientRect();
  const n = line.getTotalLength();
  const [a, b] = [line.getPointAtLength(0), line.getPointAtLength(n)];
  const box = i => {  // a word wrapped over two lines: its first line, as the arc layer reads it
    const r = root.querySelector(`[data-testid=text] [data-index="${i}"]`).getClientRects()[0];
    return [r.left, r.top, r.right, r.bottom];
  };
  const s = root.querySelector('[data-testid=source-scroll]');
  const top = s.getBoundingClientRect().top + s.clientTop;  // the source box's visible band
  return {source: +g.dataset.source, target: +g.dataset.target, kind: g.dataset.kind, drawn: g.dataset.drawn,
          start: [a.x + svg.left, a.y + svg.top], end: [b.x + svg.left, b.y + svg.top],
          from: box(g.dataset.source), to: box(g.dataset.target), off: g.dataset.offscreen || null,
          band: [top, top + s.clientHeight]};
})"""


@pytest.fixture(scope="module")
def nb(lab: Any, browser: Any, pages: Any) -> NotebookPage:
    write_notebook(lab.root / "pair.ipynb", CELLS)
    page, net = pages.new(browser, (1300, 1800))
    notebook = NotebookPage(page, lab, "pair.ipynb")
    notebook.net = net  # type: ignore[attr-defined]
    notebook.open()
    notebook.run_all(timeout=600)
    for i in range(3):
        page.wait_for_function(READY, arg=i, timeout=300_000)
        page.wait_for_function(ARCS, arg=i, timeout=300_000)  # the arcs, made on the first screen's thread
    return notebook


def widget(page: Any, i: int) -> Any:
    return page.get_by_test_id("attn-widget").nth(i)


def listed(nb: NotebookPage, name: str) -> list[list[int]]:
    code = f"import json; print(json.dumps([[a.source, a.target] for a in {name}.wait(300).arcs()]))"
    out = nb.run_code(code)
    return json.loads(out.strip().splitlines()[-1])


def check_pair(
    root: Any, source: str, target_start: str, expected: list[list[int]], split: int
) -> list[dict]:
    text = root.get_by_test_id("text")
    upper, lower = text.get_by_test_id("source-row"), text.get_by_test_id("target-row")
    assert " ".join(upper.text_content().split()) == " ".join(source.split())
    assert target_start in lower.text_content()
    above, below = upper.bounding_box(), lower.bounding_box()
    assert above["y"] + above["height"] < below["y"], "the source above the target"
    arcs = root.evaluate(GEOMETRY)
    assert sorted([a["source"], a["target"]] for a in arcs) == sorted(expected), "the arcs the kernel lists"
    assert {a["kind"] for a in arcs} == {"cross"}
    for a in arcs:
        assert a["source"] >= split > a["target"], "from a target word to a source word"
        (x1, y1), (x2, y2), fr, to = a["start"], a["end"], a["from"], a["to"]
        assert fr[0] - 1 <= x1 <= fr[2] + 1, "starts over its target word"
        assert abs(y1 - fr[1]) <= 3, "at the word's top"
        assert to[0] - 1 <= x2 <= to[2] + 1, "ends under its source word"
        top, bottom = a["band"]
        if a["off"] is None:
            assert abs(y2 - to[3]) <= 3, "at the word's bottom"
            assert top - 1 <= to[3] <= bottom + 2, "a word in view in the source box"
        else:  # its source word is scrolled out of the source box: the arc ends at the box's lower edge
            assert abs(y2 - bottom) <= 3, "at the source box's lower edge"
            assert (to[3] > bottom + 1) if a["off"] == "below" else (to[3] < top + 2), (
                "the word is out of view"
            )
    drawn = [a for a in arcs if a["drawn"] == "always"]
    assert 1 <= len(drawn) <= 12
    return arcs


def target_lines_in_view(root: Any) -> int:
    """Lines of the target row inside the text box's view (the first screen when nothing is scrolled)."""
    text = root.get_by_test_id("text")
    box = text.bounding_box()
    bottoms = text.get_by_test_id("target-row").evaluate(
        "r => [...r.querySelectorAll('[data-testid=token]')].map(s => s.getClientRects()[0]?.bottom)"
    )
    return len({round(y) for y in bottoms if y is not None and box["y"] < y <= box["y"] + box["height"]})


def kernel(nb: NotebookPage, code: str) -> Any:
    return json.loads(nb.run_code(f"import json; print(json.dumps({code}))").strip().splitlines()[-1])


def check_title_and_findings(nb: NotebookPage, root: Any, name: str) -> list[str]:
    """The title counts the two texts apart; the findings line is the kernel's."""
    a = f"{name}.wait(300)"
    unit, s = kernel(nb, f"[{a}.options.unit, {a}.source_length]")
    flags = kernel(nb, f"[t.special for t in {a}.tokens]")

    def words(n: int, what: str) -> str:
        return f"{n} {what} {unit}{'' if n == 1 else 's'}"

    count = f"{words(flags[:s].count(False), 'source')} → {words(flags[s:].count(False), 'target')}"
    title = root.get_by_test_id("title").text_content()
    assert title.endswith(f" · {count}"), title
    found = kernel(
        nb,
        "[f.text for f in __import__('attn_widget.explain.findings', fromlist=['x']).make_findings("
        f"{a}, {a}.arcs(), __import__('attn_widget.heads.roles', fromlist=['x']).analysis_report({a}))]",
    )
    shown = [f.text_content() for f in root.get_by_test_id("finding").all()]
    assert shown == found
    return shown


def test_the_widget_shows_the_source_above_the_target_with_an_arc_per_target_word(
    nb: NotebookPage, docs_shots: Path, artifacts: Path
) -> None:
    root = widget(nb.page, 0)
    expected = listed(nb, "wpair")
    assert len(expected) >= 5  # Le chat est assis sur le tapis: one arc per word, pieces and '.' joined
    source_length = int(nb.run_code("print(wpair.analysis.source_length)").strip().splitlines()[-1])
    check_pair(root, SOURCE, "Le chat est assis", expected, source_length)
    shown = check_title_and_findings(nb, root, "wpair")
    said = [f for f in shown if " reads '" in f]
    assert said, "the target's words that read one source word clearly, in words"
    kinds = [f.get_attribute("data-kind") for f in root.get_by_test_id("finding").all()]
    assert kinds[: len(said)] == ["cross"] * len(said), "first in the line"
    arc = root.get_by_test_id("arc").first
    arc.locator(".aw-arc-hit").hover(force=True)
    said = root.get_by_test_id("arc-evidence").text_content()
    assert said.startswith("target word “")
    assert "reads source word “" in said
    nb.page.mouse.move(0, 0)
    root.scroll_into_view_if_needed()
    for folder in (docs_shots, artifacts):
        root.screenshot(path=str(folder / "pair-10.png"))


def test_a_500_token_pair_keeps_its_rows_and_draws_a_dozen_arcs_the_rest_on_hover(
    nb: NotebookPage, docs_shots: Path, artifacts: Path
) -> None:
    root = widget(nb.page, 1)
    expected = listed(nb, "wlong")
    assert len(expected) > 12
    n = int(nb.run_code("print(len(wlong.analysis.model_tokens))").strip().splitlines()[-1])
    assert 480 <= n <= 520
    source = nb.run_code("print(wlong.analysis.source_text)")
    source_length = int(nb.run_code("print(wlong.analysis.source_length)").strip().splitlines()[-1])
    text = root.get_by_test_id("text")
    scroll = root.get_by_test_id("source-scroll")
    assert scroll.evaluate("s => s.scrollHeight > s.clientHeight + 100"), "the long source scrolls in its box"
    assert target_lines_in_view(root) >= 4, "the first screen shows four lines of the target or more"
    assert text.evaluate("t => t.scrollTop") == 0
    first = check_pair(root, source.strip(), "", expected, source_length)
    assert any(a["off"] for a in first), "some source words are out of the source box's view"
    check_title_and_findings(nb, root, "wlong")
    nb.page.mouse.move(0, 0)
    root.scroll_into_view_if_needed()
    for folder in (docs_shots, artifacts):
        root.screenshot(path=str(folder / "pair-500.png"))
    scroll.evaluate("s => { s.scrollTop = s.scrollHeight }")  # the source box alone: its arcs follow
    nb.page.wait_for_timeout(300)
    scrolled = check_pair(root, source.strip(), "", expected, source_length)
    assert [a["off"] for a in scrolled] != [a["off"] for a in first], (
        "arcs re-ended as the source box scrolled"
    )
    scroll.evaluate("s => { s.scrollTop = 0 }")
    nb.page.wait_for_timeout(300)
    off = next(a for a in check_pair(root, source.strip(), "", expected, source_length) if a["off"])
    root.locator(f"[data-testid=arc][data-source='{off['source']}']").evaluate(
        "g => g.dispatchEvent(new MouseEvent('click', {bubbles: true}))"
    )  # clicking an arc whose source word is out of view scrolls the source box to it
    nb.page.wait_for_timeout(300)
    after = check_pair(root, source.strip(), "", expected, source_length)
    assert next(a for a in after if a["source"] == off["source"])["off"] is None
    row = "t.querySelector('[data-testid=target-row]')"  # the whole text box scrolls too: arcs follow
    text.evaluate(f"t => {{ t.scrollTop = {row}.offsetTop - t.clientHeight / 2 }}")
    nb.page.wait_for_timeout(300)
    check_pair(root, source.strip(), "", expected, source_length)


def test_the_exported_page_shows_the_same_rows_and_arcs(nb: NotebookPage, browser: Any, pages: Any) -> None:
    out = nb.lab.root / "pair_page.html"
    nb.run_code(f"wpair.save_html({str(out)!r})")
    expected = listed(nb, "wpair")
    source_length = int(nb.run_code("print(wpair.analysis.source_length)").strip().splitlines()[-1])
    page, _ = pages.new(browser)
    page.goto(out.as_uri())
    page.wait_for_function(ARCS, arg=0)
    check_pair(widget(page, 0), SOURCE, "Le chat est assis", expected, source_length)


def test_the_exported_page_of_a_500_token_pair_shows_the_target_on_its_first_screen(
    nb: NotebookPage, browser: Any, pages: Any
) -> None:
    out = nb.lab.root / "pair_long.html"
    nb.run_code(f"wlong.save_html({str(out)!r})")
    expected = listed(nb, "wlong")
    source = nb.run_code("print(wlong.analysis.source_text)").strip()
    source_length = int(nb.run_code("print(wlong.analysis.source_length)").strip().splitlines()[-1])
    page, _ = pages.new(browser, (1300, 1800))
    page.goto(out.as_uri())
    page.wait_for_function(ARCS, arg=0)
    root = widget(page, 0)
    text = root.get_by_test_id("text")
    assert target_lines_in_view(root) >= 4, "four target lines or more on the first screen"
    assert text.evaluate("t => t.scrollTop") == 0
    first = check_pair(root, source, "", expected, source_length)
    assert any(a["off"] for a in first)
    root.get_by_test_id("source-scroll").evaluate("s => { s.scrollTop = s.scrollHeight / 2 }")
    page.wait_for_timeout(300)
    assert [a["off"] for a in check_pair(root, source, "", expected, source_length)] != [
        a["off"] for a in first
    ]


def test_a_pair_generation_shows_the_source_and_the_target_so_far_at_each_step(
    nb: NotebookPage, artifacts: Path
) -> None:
    root = widget(nb.page, 2)
    text = root.get_by_test_id("text")
    targets = json.loads(
        nb.run_code("print(json.dumps([s.analysis.target_text for s in g.steps]))").strip().splitlines()[-1]
    )
    n = len(targets)
    assert root.get_by_test_id("step-label").text_content() == f"{n} of {n}"
    assert " ".join(text.get_by_test_id("source-row").text_content().split()) == SOURCE
    assert text.get_by_test_id("target-row").text_content().endswith(targets[-1])
    root.get_by_test_id("step-slider").focus()
    nb.page.keyboard.press("Home")
    steps = root.get_by_test_id("steps")
    nb.page.wait_for_function("e => e.dataset.step === '0'", arg=steps.element_handle(), timeout=15_000)
    assert root.get_by_test_id("step-label").text_content() == f"1 of {n}"
    assert text.get_by_test_id("target-row").text_content().endswith(targets[0])
    assert " ".join(text.get_by_test_id("source-row").text_content().split()) == SOURCE
    root.screenshot(path=str(artifacts / "pair-generation.png"))
