"""Export: the standalone HTML page, SVG and PNG figures; hostile token text stays text."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from factories import make_analysis

from attn_widget import AttentionExplainer
from attn_widget.view import assets as widget_module
from attn_widget.view import figures, standalone
from attn_widget.view.wire import unwire

HOSTILE = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "</script><script>alert(2)//",
    "&amp; <!--",
]


def _hostile_analysis():
    words = ["The", "cat", *HOSTILE, "sat", "on", "the", "mat", "today", "."]
    return make_analysis(
        [4, 4, 4], n_layers=2, n_heads=2, seed=3, words=words, bos="<|endoftext|>", model="planted"
    )


@pytest.fixture(scope="module")
def hostile():
    if not (widget_module.STATIC / "widget.js").is_file():
        pytest.fail("the front-end bundle is missing: run `cd js && npm ci && npm run build`")
    return _hostile_analysis()


def _script(page: str, element_id: str) -> str:
    m = re.search(rf'<script[^>]*id="{element_id}"[^>]*>(.*?)</script>', page, re.S)
    assert m, element_id
    return m.group(1)


def test_html_export_keeps_hostile_tokens_as_data(hostile, tmp_path):
    page = standalone.save_html(hostile, tmp_path / "out.html").read_text(encoding="utf-8")
    for bad in HOSTILE:
        assert bad not in page
    assert "<img" not in page
    # exactly the page's own four script elements, none opened or closed by data
    assert page.count("<script") == 4
    assert page.count("</script>") == 4
    state = json.loads(_script(page, "attn-widget-state"))
    assert state["tokens"][3:7] == [" " + h for h in HOSTILE]
    np.testing.assert_array_equal(unwire(state["sweep"]["labels"]), hostile.sweep.labels)


def test_html_export_loads_nothing_from_the_network(hostile, tmp_path):
    page = standalone.to_html(hostile)
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page)
    assert "<link" not in page
    assert "default-src 'none'" in page  # the page's CSP forbids network requests
    assert "@import" not in page


def test_html_export_carries_every_grid_partition_for_the_slider(hostile):
    page = standalone.to_html(hostile)
    state = json.loads(_script(page, "attn-widget-state"))
    grid = unwire(state["sweep"]["thresholds"])
    assert grid.size == hostile.sweep.thresholds.size > 1
    assert unwire(state["sweep"]["labels"]).shape == (grid.size, len(hostile.tokens))
    traits = json.loads(_script(page, "attn-widget-traits"))
    assert "kernel" in traits["needs_kernel"]


def test_explainer_save_html_writes_the_current_partition(hostile, tmp_path):
    w = AttentionExplainer(hostile)
    w.threshold = float(hostile.sweep.thresholds[-1])
    page = w.save_html(tmp_path / "w.html").read_text(encoding="utf-8")
    state = json.loads(_script(page, "attn-widget-state"))
    assert state["threshold"] == float(hostile.sweep.thresholds[-1])


def test_html_export_without_a_bundle_says_how_to_build_it(hostile, tmp_path, monkeypatch):
    monkeypatch.setattr(widget_module, "STATIC", tmp_path)
    with pytest.raises(FileNotFoundError, match="npm run build"):
        standalone.to_html(hostile)


def test_svg_is_valid_xml_with_hostile_text_escaped(hostile, tmp_path):
    svg = figures.save_svg(hostile, tmp_path / "f.svg").read_text(encoding="utf-8")
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert not root.findall(f".//{ns}script")
    assert not root.findall(f".//{ns}image")
    texts = [t.text for t in root.iter(f"{ns}text")]
    for bad in HOSTILE:
        assert bad in texts
    big = [c for c in hostile.clusters if c.size > 1]
    legend = [t for t in texts if t and t.startswith("cluster ")]
    assert len(legend) == len(big)
    fills = {r.get("fill") for r in root.iter(f"{ns}rect")}
    assert set(figures.colours(hostile.labels).values())
    assert {c for c, _ in figures.colours(hostile.labels).values()} <= fills


def test_png_shows_the_cluster_colours(hostile, tmp_path):
    from PIL import Image as image
    path = figures.save_png(hostile, tmp_path / "f.png", scale=1)
    img = np.asarray(image.open(path).convert("RGB")).reshape(-1, 3).astype(int)
    assert img.shape[0] > 760 * 40
    first = figures.PALETTE[0]
    rgb = np.array([int(first[i : i + 2], 16) for i in (1, 3, 5)])
    assert (np.abs(img - rgb).sum(axis=1) < 8).sum() > 20  # the solid underline / swatch of cluster colour 1
    tint = np.round(255 + (rgb - 255) * figures.FILL_ALPHA)
    assert (np.abs(img - tint).sum(axis=1) < 12).sum() > 100  # the translucent fill behind words


def test_svg_works_without_pillow_and_png_says_what_to_install(hostile, tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_pillow(name, *args, **kwargs):
        if name == "PIL" or name.startswith("PIL."):
            raise ImportError("No module named 'PIL'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pillow)
    root = ET.fromstring(figures.to_svg(hostile))
    assert HOSTILE[0] in [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    with pytest.raises(ImportError, match="pip install pillow"):
        figures.save_png(hostile, tmp_path / "f.png")


def test_figures_colour_clusters_like_the_widget():
    """Ten distinct colours before a pattern repeats; clusters 8-10 take the extra colours, dashed."""
    swatches = [figures.swatch(k) for k in range(40)]
    assert len(set(swatches)) == 40
    assert len({colour for colour, _ in swatches[:10]}) == 10
    assert swatches[7] == (figures.EXTRA[0], "dashed")
    assert swatches[10] == (figures.PALETTE[0], "dashed")
