"""The widget in Jupyter Notebook 7 (issue 3: JupyterLab 4 *and* Notebook 7), headless Chromium.

The rest of the browser suite drives JupyterLab; this module starts its own
``jupyter notebook`` server (Notebook 7 is built on JupyterLab's components, so
``labdriver.NotebookPage`` works unchanged once the app is exposed as
``window.jupyterapp``: the notebook shell's ``currentWidget`` is the open
notebook panel). It opens one notebook with planted attention, runs it, and
checks the widget draws and colours every token and that the keyboard on the
slider reclusters the view and moves ``w.threshold`` in the kernel. The
session's ``browser``/``pages`` fixtures and the autouse network guard from
``conftest.py`` apply as for every other UI test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from labdriver import (
    SMALL_WIDGET_CELLS,
    SMALL_WORDS,
    LabServer,
    NotebookPage,
    assert_one_colour_per_cluster,
    kernel,
    view_labels,
    wait_kernel,
    write_notebook,
)

WORDS = SMALL_WORDS
CELLS = SMALL_WIDGET_CELLS


class NotebookServer(LabServer):
    """``jupyter notebook`` (Notebook 7) on a free loopback port; everything else as LabServer."""

    APP = "notebook"
    APP_CLASS = "JupyterNotebookApp"
    LABEL = "Jupyter Notebook"


class Notebook7Page(NotebookPage):
    """A notebook opened in Notebook 7's single-document page (``/notebooks/<name>``)."""

    def open(self, timeout: float = 90.0) -> Notebook7Page:
        self.page.goto(self.lab.url(f"notebooks/{self.name}"), wait_until="domcontentloaded")
        self.page.wait_for_function("() => !!window.jupyterapp", timeout=timeout * 1000)
        self.wait_idle(timeout)
        return self


@pytest.fixture(scope="module")
def nb7_server(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[NotebookServer]:
    """Depends on ``browser`` so a missing Chromium skips (or fails in CI) before a server starts."""
    server = NotebookServer(root=tmp_path_factory.mktemp("nb7-root"))
    with server.running(tmp_path_factory.mktemp("nb7-state")):
        yield server


@pytest.fixture(scope="module")
def nb7(nb7_server: NotebookServer, browser: Any, pages: Any) -> NotebookPage:
    name = "explainer-nb7.ipynb"
    write_notebook(nb7_server.root / name, CELLS)
    page, net = pages.new(browser)  # registered with the session, so the network guard sees it
    notebook = Notebook7Page(page, nb7_server, name)
    notebook.net = net  # type: ignore[attr-defined]
    notebook.open()
    assert page.evaluate("() => window.jupyterapp.name") == "Jupyter Notebook"  # not JupyterLab
    notebook.run_all()  # retries once when the first Run All is lost; waits for kernel idle
    page.get_by_test_id("attn-widget").wait_for()
    page.wait_for_function("() => document.querySelectorAll('[data-testid=token]').length > 0")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=attn-widget]').dataset.status === 'ready'"
    )
    return notebook


LABELS_CHANGED_JS = (
    "old => [...document.querySelectorAll('[data-testid=token]')].map(e => e.dataset.cluster).join() !== old"
)





def assert_stayed_local(nb: NotebookPage) -> None:
    net = nb.net  # type: ignore[attr-defined]
    assert net.count > 0, "the network log saw no requests: the recorder is not attached"
    assert not net.external, f"the browser requested URLs outside this machine: {net.external[:10]}"


def test_notebook7_draws_every_token_coloured_by_cluster(nb7: NotebookPage, artifacts: Path) -> None:
    page = nb7.page
    assert kernel(nb7, "w.status") == "ready"
    labels = kernel(nb7, "w.analysis.labels.tolist()")
    texts = page.eval_on_selector_all("[data-testid=token]", "s => s.map(e => e.textContent)")
    assert texts == WORDS
    visible = page.eval_on_selector_all(
        "[data-testid=token]",
        "s => s.map(e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; })",
    )
    assert all(visible), visible
    assert view_labels(nb7) == labels
    assert page.locator("[data-testid=token][data-index='0']").get_attribute("data-excluded") == "true"
    by_cluster = assert_one_colour_per_cluster(nb7, labels)
    assert len(by_cluster) > 1, by_cluster
    page.get_by_test_id("attn-widget").screenshot(path=str(artifacts / "notebook7-widget.png"))
    page.screenshot(path=str(artifacts / "notebook7-page.png"))
    assert_stayed_local(nb7)


def test_notebook7_end_key_on_slider_reclusters_view_and_moves_kernel_threshold(
    nb7: NotebookPage, artifacts: Path
) -> None:
    page = nb7.page
    grid = kernel(nb7, "a.sweep.thresholds.tolist()")
    before_labels = view_labels(nb7)
    before_value = page.get_by_test_id("threshold-value").inner_text()
    assert kernel(nb7, "w.threshold") != grid[-1]
    slider = page.get_by_test_id("slider")
    slider.focus()
    page.keyboard.press("End")  # the strictest threshold: the graph falls apart
    page.wait_for_function(
        "v => document.querySelector('[data-testid=threshold-value]').textContent !== v",
        arg=before_value,
        timeout=5_000,
    )
    assert int(slider.input_value()) == len(grid) - 1, "End on the focused slider did not move it"
    page.wait_for_function(
        LABELS_CHANGED_JS,
        arg=",".join(map(str, before_labels)),
        timeout=10_000,
    )
    assert view_labels(nb7) != before_labels
    wait_kernel(nb7, "w.threshold", grid[-1])
    page.wait_for_function(
        "() => document.querySelector('[data-testid=attn-widget]').dataset.status === 'ready'"
    )
    assert view_labels(nb7) == kernel(nb7, "w.analysis.labels.tolist()")
    page.get_by_test_id("attn-widget").screenshot(path=str(artifacts / "notebook7-widget-end.png"))
    assert_stayed_local(nb7)


def test_notebook7_widget_says_it_is_not_connected_after_a_kernel_restart(
    nb7: NotebookPage, artifacts: Path
) -> None:
    """Last in this module: it restarts the notebook's kernel (js/src/wire/kernel.ts)."""
    page = nb7.page
    assert page.get_by_test_id("disconnected").count() == 0
    assert page.get_by_test_id("method").is_enabled()
    page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart()")
    line = page.get_by_test_id("disconnected")
    line.wait_for(timeout=30_000)
    assert line.inner_text().startswith("Not connected to a kernel: the slider recolours what was computed")
    assert page.get_by_test_id("method").is_disabled()
    assert page.get_by_test_id("measure").is_disabled()
    before = view_labels(nb7)
    page.get_by_test_id("slider").focus()
    page.keyboard.press("Home")  # the loosest threshold of the sweep the view has
    page.wait_for_function(LABELS_CHANGED_JS, arg=",".join(map(str, before)), timeout=10_000)
    page.get_by_test_id("attn-widget").screenshot(path=str(artifacts / "notebook7-disconnected.png"))
    assert_stayed_local(nb7)
