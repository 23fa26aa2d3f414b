"""The API site's --strict build fails on what would rot silently: a stale name, a page left out, a dead link.

The site itself is built and read in a browser by ``tests/ui/test_docs_browser.py``;
this builds a copy of the sources with two faults and expects the build to stop.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SITE_SOURCES = ["mkdocs.yml", "README.md", "attn_widget", "docs", "notebooks"]


def test_strict_build_fails_on_a_stale_reference_a_guide_page_missing_from_the_nav_and_a_dead_readme_link(
    tmp_path: Path,
) -> None:
    copy = tmp_path / "project"
    copy.mkdir()
    for name in SITE_SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, copy / name, ignore=shutil.ignore_patterns("__pycache__", "static"))
        else:
            shutil.copy2(source, copy / name)
    pipeline = copy / "attn_widget" / "graph" / "pipeline.py"
    current = ":func:`attn_widget.graph.sweep.threshold_grid`"
    assert current in pipeline.read_text(encoding="utf-8")
    pipeline.write_text(  # the name the module had before the layers
        pipeline.read_text(encoding="utf-8").replace(current, ":func:`attn_widget.sweep.threshold_grid`"),
        encoding="utf-8",
    )
    (copy / "docs" / "guide" / "citing.md").write_text("# Citing\n\nA page nobody added to the nav.\n")
    with (copy / "README.md").open("a", encoding="utf-8") as readme:
        readme.write("\nSee [the old page](docs/guide/the-widget-before.md).\n")

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    build = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")]
    proc = subprocess.run(build, cwd=copy, env=env, capture_output=True, text=True, timeout=600)
    output = proc.stdout + proc.stderr

    assert proc.returncode != 0, output[-3000:]
    assert "Could not find cross-reference target 'attn_widget.sweep.threshold_grid'" in output
    assert "guide/citing.md" in output  # the new guide page is not in the nav
    assert "guide/the-widget-before.md" in output  # the README links to a page that is not there
    assert not (copy / ".cache").exists(), "the build wrote a cache into the project"


PICTURE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+\.png)\)")
TEXT_FIRST = {"setup", "models", "how-it-works", "development", "notebooks"}
"""Guide pages that open with text: install commands, the family table, the design, dev commands, a list."""


def test_each_guide_page_opens_with_a_picture_a_test_takes_and_describes_it() -> None:
    writers = [p.read_text(encoding="utf-8") for p in (ROOT / "tests").rglob("*.py")]
    writers = [text for text in writers if "screenshot(" in text or "savefig(" in text]
    for page in sorted((ROOT / "docs" / "guide").glob("*.md")):
        text = page.read_text(encoding="utf-8")
        for alt, src in PICTURE.findall(text):
            picture = (page.parent / src).resolve()
            assert picture.is_file(), (page.name, src)
            assert len(alt.split()) >= 8, f"{page.name}: the alt text of {src} says too little: {alt!r}"
            assert any(picture.name in w for w in writers), f"{src} ({page.name}) is taken by no test"
        if page.stem in TEXT_FIRST:
            continue
        lines = [line for line in text.splitlines()[1:] if line.strip() and not line.startswith("## ")]
        assert PICTURE.fullmatch(lines[0]), f"{page.name} does not open with a picture: {lines[0][:80]!r}"
