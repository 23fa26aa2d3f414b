"""The API site as a reader uses it: ``mkdocs build --strict``, served on loopback, read in headless Chromium.

The site is built from this checkout into a temporary folder (a broken
reference fails the build, and so this module) and served by a small HTTP
server on 127.0.0.1. Every page is opened with the session's network guard: a
font, script or style fetched from the internet fails the test.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import tomllib
from labdriver import ROOT


def _load_hook() -> Any:
    """docs/hooks/site_pages.py, which makes the guide and API pages (its helpers say what to expect)."""
    spec = importlib.util.spec_from_file_location("site_pages", ROOT / "docs" / "hooks" / "site_pages.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


site_pages = _load_hook()


@dataclass
class Site:
    folder: Path
    base: str

    def url(self, path: str) -> str:
        return self.base + path


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("site")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    build = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(folder)]
    proc = subprocess.run(build, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{(proc.stdout + proc.stderr)[-6000:]}"
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Site(folder, f"http://127.0.0.1:{server.server_address[1]}/")
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def reader(browser: Any, pages: Any) -> Any:
    page, _ = pages.new(browser)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors  # type: ignore[attr-defined]
    return page


def visit(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")


def title(markdown: str) -> str:
    """A page's ``# `` heading as the site shows it."""
    return next(line[2:].strip() for line in markdown.splitlines() if line.startswith("# "))


def test_every_page_loads_offline_without_script_errors(site: Site, reader: Any) -> None:
    html = sorted(p.relative_to(site.folder) for p in site.folder.rglob("index.html"))
    assert len(html) >= 20, html
    for path in html:
        visit(reader, site.url(path.parent.as_posix() + "/" if path.parent.parts else ""))
        assert reader.locator("article h1").count() == 1, f"{path} has no page title"
    assert reader.errors == []


def test_every_guide_page_and_the_benchmarks_are_on_the_site_with_pictures(site: Site, reader: Any) -> None:
    pages = [*sorted((ROOT / "docs" / "guide").glob("*.md")), ROOT / "docs" / "benchmarks.md"]
    assert len(pages) >= 10
    for source in pages:
        path = source.relative_to(ROOT / "docs").with_suffix("").as_posix()
        visit(reader, site.url(f"{path}/"))
        assert reader.locator("article h1").inner_text().strip().rstrip("¶") == title(source.read_text())
        for picture in reader.locator("article img").all():
            loaded = picture.evaluate("img => img.complete && img.naturalWidth > 0")
            assert loaded, (path, picture.get_attribute("src"))


def test_the_home_page_is_the_readme_and_its_links_land_on_pages(site: Site, reader: Any) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    visit(reader, site.url(""))
    assert reader.locator("article h1").inner_text().strip().rstrip("¶") == title(readme)
    pictures = reader.locator("article img").all()
    assert len(pictures) == readme.count("](docs/") - len(re.findall(r"[^!]\[[^\]]*\]\(docs/", readme))
    for picture in pictures:
        assert picture.evaluate("img => img.complete && img.naturalWidth > 0"), picture.get_attribute("src")
    links = reader.locator("article a[href*='guide/'], article a[href*='benchmarks/']").all()
    targets = sorted({a.get_attribute("href") for a in links})
    linked = set(re.findall(r"\]\(docs/([\w/-]+)\.md\)", readme))
    assert len(targets) >= len(linked) >= 8, (targets, linked)
    home = reader.url
    for href in targets:
        visit(reader, home + href)
        assert "404" not in reader.title(), href
        assert reader.locator("article h1").count() == 1, href


def test_api_reference_documents_every_public_module_of_every_layer(site: Site, reader: Any) -> None:
    layers = sorted(p.parent.name for p in (ROOT / "attn_widget").glob("[!_]*/__init__.py"))
    contract = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    named = {
        m.strip().removeprefix("attn_widget.")
        for c in contract["contracts"]
        if c["type"] == "layers"
        for layer in c["layers"]
        for m in re.split(r"[|:]", layer)
    }  # `|` and `:` join siblings
    assert set(layers) == named - {"api", "cli"}  # every subpackage is a layer of the contract
    for layer in layers:
        visit(reader, site.url(f"api/{layer}/"))
        for module in site_pages.public_modules(ROOT / "attn_widget" / layer):
            assert reader.locator(f"[id='{module}']").count() == 1, f"{module} is not on api/{layer}/"
    visit(reader, site.url("api/"))
    facade = ("analyze", "analyze_attention", "recluster", "Analysis", "AttentionExplainer", "api.explain")
    for name in facade:
        assert reader.locator(f"[id='attn_widget.{name}']").count() == 1, name


def test_numpy_docstrings_render_as_parameter_tables_with_working_links(
    site: Site, reader: Any, artifacts: Path
) -> None:
    visit(reader, site.url("api/graph/"))
    doc = reader.locator("[id='attn_widget.graph.pipeline.analyze_attention'] ~ .doc-contents").first
    table = doc.locator("table").first
    assert table.locator("code", has_text=re.compile(r"^attentions$")).count() == 1
    assert "Parameters" not in doc.locator("p").first.inner_text()  # parsed, not shown as raw text
    link = doc.locator("a", has_text="threshold_grid")
    link.click()
    reader.wait_for_function("() => location.hash === '#attn_widget.graph.sweep.threshold_grid'")
    assert reader.locator("[id='attn_widget.graph.sweep.threshold_grid']").is_visible()
    reader.screenshot(path=str(artifacts / "docs-api-graph.png"))
    role = re.compile(r":(func|class|mod|data|meth|attr):`")
    api_pages = (site.folder / "api").rglob("*.html")
    raw_roles = [p for p in api_pages if role.search(p.read_text(encoding="utf-8"))]
    assert raw_roles == []  # every Sphinx role in a docstring became a link or code


def test_notebooks_are_rendered_with_their_code_and_never_run(site: Site, reader: Any) -> None:
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert len(notebooks) >= 4
    for notebook in notebooks:
        visit(reader, site.url(f"notebooks/{notebook.stem}/"))
        prompts = {" ".join(p.split()) for p in reader.locator(".jp-InputPrompt").all_inner_texts()} - {""}
        assert prompts == {"In [ ]:"}, f"{notebook.name}: {prompts}"  # code shown, never executed
        assert reader.locator(".jp-OutputArea-output").count() == 0
    assert "import attn_widget" in reader.locator("article").inner_text()


def test_search_finds_the_api_offline(site: Site, reader: Any) -> None:
    visit(reader, site.url(""))
    reader.locator(".md-search__input").click()
    reader.keyboard.type("recluster")  # material searches on key events, in a local web worker
    results = reader.locator(".md-search-result__item")
    results.first.wait_for(timeout=15_000)
    assert results.count() >= 1
    assert "recluster" in results.first.inner_text().lower()
