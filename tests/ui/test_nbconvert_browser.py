"""A notebook run and saved in JupyterLab, converted with ``jupyter nbconvert --to html``, read offline.

JupyterLab saves a notebook without widget state by default, so nbconvert draws
each output from its richest static mimetype: the widget's ``text/html`` copy
(:mod:`attn_widget.view.static`). Opened in Chromium with every non-file request
aborted (nbconvert's page still asks cdnjs for require.js), it shows the text
with each cluster highlighted and every cluster's headline, with no kernel and
no network.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

from labdriver import jupyter_executable, offline_env

WORDS = ["The", " cat", " sat", " down", " because", " it", " was", " very", " tired", " today", "."]
CELLS = [
    f"""import attn_widget
from attn_widget.synthetic import planted_attention, tokens_from_pieces
att, groups = planted_attention([4, 3, 4], layers=2, heads=2, strength=1.0, seed=1)
text, tokens = tokens_from_pieces({WORDS!r}, bos="<s>")
a = attn_widget.analyze_attention(att, tokens, exclude=[0], text=text).explain()
headlines = {{c.id: c.headline for c in a.clusters if c.size > 1}}
w = attn_widget.AttentionExplainer(a)""",
    "w",
]


def _saved_outputs(path: Path) -> list[Any]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    return [c.get("outputs", []) for c in nb["cells"] if c["cell_type"] == "code"]


def test_an_exported_notebook_shows_the_clusters_and_headlines_offline(
    open_notebook: Any, browser: Any, tmp_path: Path, artifacts: Path
) -> None:
    nb = open_notebook("export-offline.ipynb", CELLS)
    nb.page.get_by_test_id("attn-widget").wait_for()
    headlines = json.loads(nb.run_code("import json; print(json.dumps(headlines))"))
    assert len(headlines) >= 2
    assert all(headlines.values())
    nb.page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    saved = nb.lab.root / "export-offline.ipynb"
    deadline = time.monotonic() + 30
    while not any(out for out in _saved_outputs(saved)[1]) and time.monotonic() < deadline:
        time.sleep(0.3)
    shown = _saved_outputs(saved)[1]
    assert shown
    assert "text/html" in shown[0]["data"], shown
    assert "widgets" not in json.loads(saved.read_text(encoding="utf-8"))["metadata"]  # Lab's default

    subprocess.run(
        [jupyter_executable(), "nbconvert", "--to", "html", str(saved), "--output-dir", str(tmp_path)],
        check=True, env=offline_env(), capture_output=True, timeout=120,
    )  # fmt: skip
    html_file = tmp_path / "export-offline.html"
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    blocked: list[str] = []

    def only_files(route: Any) -> None:
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    try:
        context.route("**/*", only_files)
        page = context.new_page()
        page.goto(html_file.as_uri(), wait_until="load")
        copy = page.locator(".attn-widget-static")
        copy.wait_for(timeout=15_000)
        copy.screenshot(path=str(artifacts / "nbconvert-offline.png"))
        text = copy.inner_text()
        for word in WORDS:
            assert word.strip() in text
        for cid, headline in headlines.items():
            span = page.locator(f'.attn-widget-static span[data-cluster="{cid}"]').first
            assert span.is_visible()
            fill = span.evaluate("e => getComputedStyle(e).backgroundColor")
            assert fill not in ("rgba(0, 0, 0, 0)", "transparent"), fill  # highlighted
            entry = page.locator(f'.attn-widget-static li[data-cluster="{cid}"]')
            assert entry.inner_text().endswith(headline)
        assert all(not url.startswith("file:") for url in blocked)
    finally:
        context.close()
