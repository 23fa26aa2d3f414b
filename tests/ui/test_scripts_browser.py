"""Exact highlights in every script, read from the DOM of the widget and the exported page.

22 texts (``tests/scripts.py``: emoji with ZWJ sequences and flags, astral
letters, combining marks, CJK, Korean, Thai, Arabic, Hebrew, mixed directions),
tokenized by GPT-2's real byte-level tokenizer (a tiny random GPT-2 in the
kernel), shown as 22 widgets in JupyterLab and saved as 22 standalone pages. In
both, every token's span holds exactly its characters (the pieces of one
character share one span, ``data-tokens``, holding that character), the spans
and gaps spell the text, and the legend, its titles, the panel and the hover
box read without ``\\xNN`` or U+FFFD.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from labdriver import NotebookPage, kernel
from scripts import SCRIPT_TEXTS

ROOT = Path(__file__).resolve().parents[2]

CELLS = [
    f"""import torch, attn_widget
from IPython.display import display
from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel
torch.manual_seed(0)
tok = AutoTokenizer.from_pretrained({str(ROOT / "tests" / "fixtures" / "gpt2")!r})
model = GPT2LMHeadModel(GPT2Config(n_layer=2, n_head=2, n_embd=32, n_positions=256)).eval()
texts = {list(SCRIPT_TEXTS)!r}
analyses = [attn_widget.analyze(t, model=model, tokenizer=tok, seed=0) for t in texts]
ws = [attn_widget.AttentionExplainer(a) for a in analyses]
for k, w in enumerate(ws):
    w.save_html(f"scripts-{{k}}.html")
spans = [[[t.start, t.end] for t in a.tokens] for a in analyses]""",
    "for w in ws:\n    display(w)",
]

DOM_JS = """root => {
  const host = root.querySelector('[data-testid=text]');
  const spans = [...host.querySelectorAll('[data-testid=token]')].map(s => ({
    index: +s.dataset.index,
    tokens: (s.dataset.tokens || s.dataset.index).split(' ').map(Number),
    text: s.textContent,
    chip: s.classList.contains('aw-chip-tok'),
  }));
  const prose = [...host.childNodes].filter(n => !(n.classList && n.classList.contains('aw-chip-tok')))
    .map(n => n.textContent).join('');
  const legend = root.querySelector('[data-testid=legend]');
  const titles = [...legend.querySelectorAll('[title]')].map(e => e.title).join('\\n');
  return {spans, prose, legend: legend.innerText + '\\n' + titles};
}"""


def mismatches(text: str, spans: list[list[int | None]], dom: dict[str, Any]) -> list[str]:
    """Tokens whose highlight is not exactly their characters (see the module docstring)."""
    wrong = []
    if dom["prose"] != text:
        wrong.append(f"the spans spell {dom['prose']!r}, not {text!r}")
    where = {i: s for s in dom["spans"] for i in s["tokens"]}
    for i, (start, end) in enumerate(spans):
        if start is None or end is None:
            continue
        span = where.get(i)
        if span is None:
            wrong.append(f"token {i} ({text[start:end]!r}) has no span")
            continue
        members = span["tokens"]
        lo = min(spans[m][0] for m in members)  # type: ignore[type-var]
        hi = max(spans[m][1] for m in members)  # type: ignore[type-var]
        own = set(range(start, end))
        shares = len(members) == 1 or any(own & set(range(*spans[m])) for m in members if m != i)  # type: ignore[arg-type]
        if not span["text"] or span["text"] != text[lo:hi] or not shares:
            wrong.append(f"token {i} ({text[start:end]!r}) highlights {span['text']!r} with tokens {members}")
    return wrong


def readable(label: str) -> bool:
    return "\\x" not in label and "\ufffd" not in label


@pytest.fixture(scope="module")
def nb(open_notebook: Any) -> tuple[NotebookPage, list[list[list[int | None]]]]:
    notebook = open_notebook("scripts.ipynb", CELLS, viewport=(1280, 1000))
    count = f"document.querySelectorAll('[data-testid=attn-widget]').length === {len(SCRIPT_TEXTS)}"
    notebook.page.wait_for_function(f"() => {count}", timeout=180_000)
    notebook.page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=attn-widget]')]"
        ".every(w => w.querySelectorAll('[data-testid=token]').length > 0)", timeout=120_000
    )
    return notebook, kernel(notebook, "spans")


def test_every_token_highlights_exactly_its_characters_in_the_widget(nb: Any, artifacts: Path) -> None:
    notebook, spans = nb
    page = notebook.page
    wrong: list[str] = []
    shared = 0
    for k, text in enumerate(SCRIPT_TEXTS):
        root = page.locator("[data-testid=attn-widget]").nth(k)
        dom = root.evaluate(DOM_JS)
        wrong += [f"text {k}: {m}" for m in mismatches(text, spans[k], dom)]
        shared += sum(len(s["tokens"]) > 1 for s in dom["spans"])
        assert readable(dom["legend"]), (k, dom["legend"])
    assert not wrong, "\n".join(wrong)
    assert shared > 20  # GPT-2 really split characters over pieces here
    for k, name in ((1, "emoji"), (4, "cjk"), (7, "arabic"), (9, "mixed")):
        root = page.locator("[data-testid=attn-widget]").nth(k)
        root.scroll_into_view_if_needed()
        root.screenshot(path=str(artifacts / f"scripts-{name}-widget.png"))


def test_panel_and_hover_read_whole_characters(nb: Any, artifacts: Path) -> None:
    notebook, _ = nb
    page = notebook.page
    for k in (0, 1, 7, 9):  # emoji, a ZWJ family and flags, Arabic, mixed directions
        root = page.locator("[data-testid=attn-widget]").nth(k)
        root.scroll_into_view_if_needed()
        shared = root.locator("[data-testid=token][data-tokens]").first
        shared.hover()
        links = root.get_by_test_id("links")
        links.wait_for(state="visible")
        assert readable(links.inner_text()), links.inner_text()
        assert readable(shared.get_attribute("title") or ""), shared.get_attribute("title")
        assert "pieces of one character" in (shared.get_attribute("title") or "")
        root.get_by_test_id("legend-item").first.click()
        panel = root.get_by_test_id("panel")
        panel.wait_for(state="visible")
        assert readable(panel.inner_text()), panel.inner_text()
        root.screenshot(path=str(artifacts / f"scripts-{k}-panel.png"))


def test_every_token_highlights_exactly_its_characters_on_the_exported_page(
    nb: Any, lab: Any, browser: Any, pages: Any
) -> None:
    _, spans = nb
    page, _net = pages.new(browser)
    wrong: list[str] = []
    for k, text in enumerate(SCRIPT_TEXTS):
        page.goto((lab.root / f"scripts-{k}.html").as_uri())
        page.wait_for_function("() => document.querySelectorAll('[data-testid=token]').length > 0")
        dom = page.locator("[data-testid=attn-widget]").evaluate(DOM_JS)
        wrong += [f"page {k}: {m}" for m in mismatches(text, spans[k], dom)]
        assert readable(dom["legend"]), (k, dom["legend"])
    page.close()
    assert not wrong, "\n".join(wrong)
