"""Real-browser fixtures: one JupyterLab server and one headless Chromium per test session.

``open_notebook(name, cells)`` writes a notebook into the server's root,
opens it in a fresh browser context, runs all cells and returns a
:class:`labdriver.NotebookPage`. Every request the browser makes is recorded; any
that leaves the machine (not loopback, data:, blob:) fails the test that made
it. Screenshots go to ``test-artifacts/ui/``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from labdriver import (
    CHROMIUM,
    CHROMIUM_ARGS,
    ROOT,
    LabServer,
    NetworkLog,
    NotebookPage,
    watch_dialogs,
    write_notebook,
)

ARTIFACTS = ROOT / "test-artifacts" / "ui"
DOCS_SHOTS = ROOT / "docs" / "shots"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).parent == here:
            item.add_marker(pytest.mark.ui)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def _require_chromium() -> None:
    if not CHROMIUM.exists():  # a skip fails in CI (tests/conftest.py)
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (`make system-deps`)")


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """A JupyterLab server on a free loopback port; shut down at the end of the session."""
    _require_chromium()
    root = tmp_path_factory.mktemp("lab-root")
    state = tmp_path_factory.mktemp("lab-state")
    server = LabServer(root=root)
    with server.running(state):
        yield server


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright (never a downloaded browser)."""
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def docs_shots() -> Path:
    """``docs/shots/``: the guide's pictures, taken by the tests that check what they show (never stale)."""
    DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
    return DOCS_SHOTS


class Pages:
    """Browser pages opened during the session, with their network logs."""

    def __init__(self) -> None:
        self.opened: list[tuple[Any, NetworkLog]] = []
        self.external_seen = 0

    def new(self, browser: Any, viewport: tuple[int, int] = (1280, 900)) -> tuple[Any, NetworkLog]:
        context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
        net = NetworkLog()
        net.attach(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        watch_dialogs(page, net)
        self.opened.append((page, net))
        return page, net

    def external(self) -> list[str]:
        return [url for _, net in self.opened for url in net.external]

    def dialogs(self) -> list[str]:
        return [d for _, net in self.opened for d in net.dialogs]


@pytest.fixture(scope="session")
def pages(browser: Any) -> Iterator[Pages]:
    registry = Pages()
    yield registry
    for page, _ in registry.opened:
        page.context.close()


@pytest.fixture(scope="session")
def open_notebook(lab: LabServer, browser: Any, pages: Pages) -> Callable[..., NotebookPage]:
    """``open_notebook(name, cells, viewport=(w, h))``: write, open and Run All a notebook."""

    def _open(name: str, cells: list[str], viewport: tuple[int, int] = (1280, 900)) -> NotebookPage:
        write_notebook(lab.root / name, cells)
        page, net = pages.new(browser, viewport)
        nb = NotebookPage(page, lab, name)
        nb.net = net  # type: ignore[attr-defined]
        nb.open()
        nb.run_all()
        return nb

    return _open


@pytest.fixture(autouse=True)
def _network_guard(request: pytest.FixtureRequest, pages: Pages, artifacts: Path) -> Iterator[None]:
    """Fail any test during which the browser asked for something outside this machine."""
    before, dialogs_before = len(pages.external()), len(pages.dialogs())
    yield
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        for i, (page, _) in enumerate(pages.opened):
            if not page.is_closed():
                page.screenshot(path=str(artifacts / f"FAILED-{stem}-{i}.png"), full_page=True)
    new = pages.external()[before:]
    assert not new, f"the browser requested {len(new)} URL(s) outside this machine: {new[:10]}"
    dialogs = pages.dialogs()[dialogs_before:]
    assert not dialogs, f"a page opened JavaScript dialogs (alert/confirm/prompt): {dialogs}"
