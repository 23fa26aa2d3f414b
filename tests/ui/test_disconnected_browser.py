"""A widget whose kernel is gone, in JupyterLab: it says so and keeps only what works without it.

After a kernel restart or shutdown the widget's Python object is gone while the
view stays on screen; a notebook opened with saved widget state draws widgets
no kernel knows. The view notices (ipywidgets' disconnected mark, the
session's kernel status; ``js/src/wire/kernel.ts``) and is drawn again with the
traits it had: one line says it is not connected, the menus that would re-run
the model are disabled, and the slider still recolours from the sweep it has.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from labdriver import (
    READY_JS,
    SMALL_WIDGET_CELLS,
    SMALL_WORDS,
    NotebookPage,
    jupyter_executable,
    offline_env,
    view_labels,
    write_notebook,
)

DISCONNECTED = (  # js/src/wire/kernel.ts
    "Not connected to a kernel: the slider recolours what was computed; re-run the cell to analyse again."
)
NEEDS_KERNEL = ("measure", "lens", "aggregation", "method", "unit", "cuttest-button")

LABELS_CHANGED_JS = (
    "old => [...document.querySelectorAll('[data-testid=token]')].map(e => e.dataset.cluster).join() !== old"
)
GONE = {
    "restart": "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart()",
    "shutdown": "() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown()",
}


@pytest.mark.parametrize("how", sorted(GONE))
def test_a_widget_whose_kernel_is_gone_says_so_and_the_slider_still_recolours(
    open_notebook: Any, artifacts: Path, how: str
) -> None:
    nb = open_notebook(f"disconnected-{how}.ipynb", SMALL_WIDGET_CELLS)
    page = nb.page
    page.get_by_test_id("attn-widget").wait_for()
    page.wait_for_function(READY_JS)
    assert page.get_by_test_id("disconnected").count() == 0  # alive: no such line
    for control in NEEDS_KERNEL:
        assert page.get_by_test_id(control).is_enabled(), control

    page.evaluate(GONE[how])
    line = page.get_by_test_id("disconnected")
    line.wait_for(timeout=30_000)
    assert line.inner_text() == DISCONNECTED
    assert page.get_by_test_id("disconnected").count() == 1
    for control in NEEDS_KERNEL:
        assert page.get_by_test_id(control).is_disabled(), control
    assert page.get_by_test_id("attn-widget").get_attribute("data-status") == "ready"

    before = view_labels(nb)
    page.get_by_test_id("slider").focus()
    page.keyboard.press("End")  # the highest threshold of the sweep the view has
    page.wait_for_function(LABELS_CHANGED_JS, arg=",".join(map(str, before)), timeout=10_000)
    assert view_labels(nb) != before
    page.get_by_test_id("token").nth(2).hover()  # hover needs no kernel either
    assert page.get_by_test_id("links").is_visible()
    page.get_by_test_id("attn-widget").screenshot(path=str(artifacts / f"disconnected-{how}.png"))


def test_a_widget_restored_from_saved_state_with_no_kernel_behind_it_says_so(
    lab: Any, browser: Any, pages: Any, artifacts: Path
) -> None:
    """A notebook executed with its widget state saved (nbclient's default), then opened in JupyterLab:
    untrusted, it shows the output's static copy; trusted, the widget is drawn from the saved state,
    while the new kernel knows nothing of it."""
    name = "disconnected-restored.ipynb"
    write_notebook(lab.root / f"source-{name}", SMALL_WIDGET_CELLS)
    subprocess.run(
        [jupyter_executable(), "nbconvert", "--to", "notebook", "--execute", f"source-{name}",
         "--output", name],
        cwd=lab.root, check=True, env=offline_env(), capture_output=True, timeout=180,
    )  # fmt: skip
    saved = json.loads((lab.root / name).read_text(encoding="utf-8"))
    assert saved["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    page, net = pages.new(browser)
    nb = NotebookPage(page, lab, name)
    nb.net = net  # type: ignore[attr-defined]
    nb.open()  # untrusted (not run here): JupyterLab shows the output's static copy, not the widget
    page.locator(".attn-widget-static").wait_for(timeout=30_000)
    assert page.get_by_test_id("attn-widget").count() == 0
    page.locator(".jp-OutputArea-output").last.screenshot(path=str(artifacts / "untrusted-static-copy.png"))
    trust = [jupyter_executable(), "trust", name]
    subprocess.run(trust, cwd=lab.root, check=True, env=offline_env(), capture_output=True, timeout=60)
    nb.open()  # trusted, not run: the widget comes from the notebook's saved state
    line = page.get_by_test_id("disconnected")
    line.wait_for(timeout=30_000)
    assert line.inner_text() == DISCONNECTED
    assert page.get_by_test_id("method").is_disabled()
    before = view_labels(nb)
    assert len(before) == len(SMALL_WORDS)  # the saved analysis, drawn
    page.get_by_test_id("slider").focus()
    page.keyboard.press("End")
    page.wait_for_function(LABELS_CHANGED_JS, arg=",".join(map(str, before)), timeout=10_000)
    page.get_by_test_id("attn-widget").screenshot(path=str(artifacts / "disconnected-restored.png"))
