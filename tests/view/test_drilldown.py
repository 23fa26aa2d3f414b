"""The offline BertViz drill-down: capped, escaped, self-contained, and drawn by a real browser."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from factories import make_analysis
from hypothesis import given, settings
from hypothesis import strategies as st

from attn_widget import Analysis, analyze_attention
from attn_widget.synthetic import planted_attention
from attn_widget.view import bertviz_page
from attn_widget.view.bertviz_page import VENDOR
from attn_widget.view.drilldown import render

HOSTILE = ["</script><script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "a & b <b>"]


def _names(n: int, hostile_at: tuple[int, ...] = ()) -> list[str]:
    tokens = [f"tok{i}" for i in range(n)]
    for where, text in zip(hostile_at, HOSTILE, strict=False):
        tokens[where] = text
    return tokens


@pytest.fixture(scope="module")
def a128() -> Analysis:
    """GPT-2 small's shape (12 layers x 12 heads) at 128 tokens, hostile text in cluster 0."""
    return make_analysis([30, 30, 40, 27], n_layers=12, n_heads=12, seed=3, tokens=_names(128, (3, 5, 7)))


@pytest.fixture(scope="module")
def a512() -> Analysis:
    return make_analysis([64] * 7 + [63], n_layers=12, n_heads=12, seed=3, tokens=_names(512))


@pytest.fixture(scope="module")
def small() -> Analysis:
    """41 tokens, 3 layers x 4 heads."""
    return make_analysis([10, 10, 20], n_layers=3, n_heads=4, seed=5)


def _params(page: str) -> dict:
    """The JSON BertViz draws from (``const params = {...};``)."""
    start = page.index(bertviz_page._PARAMS) + len(bertviz_page._PARAMS)
    return json.loads(page[start : page.index(";\n", start)])


def _without_vendor(page: str) -> str:
    for code in bertviz_page.vendor(bertviz_page.VENDOR_DIR):
        page = page.replace(code, "")
    return page


@pytest.mark.parametrize("view", ["head", "model"])
def test_page_fetches_nothing_from_the_network(a128: Analysis, view: str) -> None:
    page = render(a128, view=view).html
    assert page.startswith("<!DOCTYPE html>")
    assert page.rstrip().endswith("</html>")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.IGNORECASE)
    assert "cdnjs" not in page
    assert "require.config" not in _without_vendor(page)  # BertViz's CDN paths are gone
    # outside the inlined libraries (whose only URLs are XML namespaces and comments), no URL at all
    assert not re.search("https?://", _without_vendor(page))
    assert "default-src 'none'" in page  # and the browser is told to refuse any fetch


def test_page_inlines_the_three_vendor_scripts(a128: Analysis) -> None:
    page = render(a128).html
    folder = bertviz_page.VENDOR_DIR
    versions = json.loads((folder / "versions.json").read_text())
    for name, (version, file) in VENDOR.items():
        assert versions[name]["version"] == version
        code = (folder / file).read_text().replace("//# sourceMappingURL=jquery.min.map", "")
        assert code.strip()[:2000] in page, f"{file} is not inlined"
    assert "define('d3'" in page
    assert "define('jquery'" in page


@pytest.mark.parametrize("which", ["a128", "a512"])
def test_default_page_stays_under_the_byte_cap(which: str, request: pytest.FixtureRequest) -> None:
    analysis = request.getfixturevalue(which)
    n = len(analysis.tokens)
    for view in ("head", "model"):
        d = render(analysis, view=view)
        assert d.nbytes == len(d.html.encode("utf-8")) <= 4 * 2**20
        assert d.capped
        assert len(d.tokens) == 48
        assert len(d.layers) == 4
        assert f"48 of {n} tokens" in d.note
        assert "sum to less than 1" in d.note
        # the attention JSON is embedded once (BertViz pastes it twice), rounded, for the shown part only
        params = _params(d.html)
        att = params["attention"][0]["attn"]
        assert d.html.count('"attn": [[[[') == 1
        assert len(att) == 4
        assert len(att[0][0]) == 48
        assert len(att[0][0][0]) == 48
        assert len(att[0]) == (12 if view == "head" else len(d.heads))


def test_tighter_byte_cap_cuts_more_and_says_so(a512: Analysis) -> None:
    d = render(a512, max_bytes=700_000)
    assert d.nbytes <= 700_000
    assert len(d.layers) < 4 or len(d.tokens) < 48
    assert "cut to stay under 0.7 MiB" in d.note
    with pytest.raises(ValueError, match=r"max_bytes=1000 is too small.*raise max_bytes"):
        render(a512, max_bytes=1000)


def test_cluster_subset_keeps_the_cluster_and_its_strongest_neighbours(a128: Analysis) -> None:
    cluster = max(a128.clusters, key=lambda c: c.size)
    assert 20 < cluster.size <= 40
    d = render(a128, tokens=cluster, max_tokens=cluster.size + 3)
    assert set(cluster.tokens) <= set(d.tokens)
    assert list(d.tokens) == sorted(d.tokens)
    assert len(d.tokens) == cluster.size + 3
    # every token leans on the first-token sink, so it is the cluster's strongest neighbour
    assert 0 in d.tokens
    texts = _params(d.html)["attention"][0]["left_text"]
    assert texts == [a128.tokens[i].text for i in d.tokens]  # in sequence order
    assert f"cluster {cluster.id} and its strongest neighbours" in d.note


def test_a_cluster_larger_than_the_cap_shows_its_most_connected_tokens(a512: Analysis) -> None:
    cluster = next(c for c in a512.clusters if c.size > 48)
    d = render(a512, tokens=cluster.tokens)
    assert set(d.tokens) <= set(cluster.tokens)
    assert len(d.tokens) == 48
    assert f"48 of the {cluster.size} in your selection" in d.note


def test_default_layers_are_where_the_tokens_attend_to_each_other() -> None:
    flat, groups = planted_attention([10, 10], layers=6, heads=2, strength=0.0, seed=1)
    sharp, _ = planted_attention([10, 10], layers=1, heads=2, strength=6.0, seed=1)
    att = flat.copy()
    att[4] = sharp[0]
    a = analyze_attention(att, [f"w{i}" for i in range(21)], exclude=[0])
    d = render(a, tokens=np.flatnonzero(groups == 1).tolist(), max_layers=1)
    assert d.layers == (4,)
    assert "layer 4 of 6" in d.note


def test_small_input_is_shown_whole_and_not_capped() -> None:
    a = make_analysis([6, 6], n_layers=2, n_heads=3)
    d = render(a)
    assert not d.capped
    assert d.tokens == tuple(range(13))
    assert d.layers == (0, 1)
    assert d.note.startswith("All 13 tokens; layers 0, 1 of 2")


@settings(max_examples=20, deadline=None)
@given(
    chosen=st.sets(st.integers(0, 40), min_size=1, max_size=30),
    max_tokens=st.integers(2, 30),
    max_layers=st.integers(1, 5),
)
def test_any_selection_is_capped_and_in_sequence_order(
    small: Analysis, chosen: set[int], max_tokens: int, max_layers: int
) -> None:
    d = render(small, tokens=sorted(chosen), max_tokens=max_tokens, max_layers=max_layers, max_bytes=2**20)
    assert list(d.tokens) == sorted(set(d.tokens))
    assert len(d.tokens) == max_tokens
    assert len(d.layers) == min(max_layers, 3)
    assert d.nbytes <= 2**20
    # the selection comes first: all of it when it fits, else only its members
    assert set(d.tokens) >= chosen if len(chosen) <= max_tokens else set(d.tokens) <= chosen
    assert _params(d.html)["attention"][0]["left_text"] == [small.tokens[i].text for i in d.tokens]


def test_hostile_token_text_cannot_break_out(a128: Analysis) -> None:
    for view in ("head", "model"):
        page = render(a128, tokens=[3, 5, 7], view=view).html
        body = _without_vendor(page)
        assert "<img" not in body
        assert "alert(1)</script>" not in body
        assert body.lower().count("<script") == body.lower().count("</script>")
        assert "\\u003c/script\\u003e\\u003cscript\\u003ealert(1)" in page
        left = _params(page)["attention"][0]["left_text"]
        assert set(HOSTILE) <= set(left)  # the JSON still decodes to the exact text


def test_whitespace_tokens_are_drawn_visibly() -> None:
    a = make_analysis([3, 3], n_layers=1, n_heads=1, tokens=["<s>", " the", "\n", " ", "cat", "\t", ""])
    drawn = _params(render(a).html)["attention"][0]["left_text"]
    assert drawn == ["<s>", " the", "\\n", "\u2423", "cat", "\\t", "\u2205"]


@pytest.mark.parametrize("view", ["head", "model"])
def test_dark_display_mode_gives_a_dark_page(small: Analysis, view: str) -> None:
    dark, light = render(small, view=view, display_mode="dark"), render(small, view=view)
    assert (dark.display_mode, light.display_mode) == ("dark", "light")
    assert '<body data-display-mode="dark">' in dark.html
    assert "body{background:#111;color:#ddd}" in dark.html
    assert "body{background:#fff;color:#111}" in light.html
    if view == "model":  # BertViz's own dark palette for the thumbnails
        assert (_params(dark.html)["display_mode"], _params(light.html)["display_mode"]) == ("dark", "light")


def test_model_view_draws_only_the_chosen_heads(a128: Analysis) -> None:
    d = render(a128, view="model", heads=[1, 3], layers=[2, 5, 8])
    params = _params(d.html)
    assert params["include_heads"] == [1, 3]
    assert params["include_layers"] == [2, 5, 8]
    assert d.heads == (1, 3)
    assert d.layers == (2, 5, 8)
    assert "heads 1, 3 of 12" in d.note


def test_analysis_without_raw_attention_is_refused(a128: Analysis, tmp_path: Path) -> None:
    loaded = Analysis.load(a128.save(tmp_path / "a.json"))
    with pytest.raises(ValueError, match=r"no raw attention.*saved as .json.*x.attn"):
        render(loaded)


def test_missing_or_wrong_vendor_scripts_name_the_build(a128: Analysis, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    real = bertviz_page.VENDOR_DIR
    monkeypatch.setattr(bertviz_page, "VENDOR_DIR", tmp_path)
    with pytest.raises(FileNotFoundError, match="npm run build"):
        render(a128)
    for child in real.iterdir():
        shutil.copy(child, tmp_path / child.name)
    versions = json.loads((tmp_path / "versions.json").read_text())
    versions["jquery"]["version"] = "3.7.1"
    (tmp_path / "versions.json").write_text(json.dumps(versions))
    bertviz_page.vendor.cache.clear()
    with pytest.raises(FileNotFoundError, match=r"jquery 2\.1\.0.*npm run build"):
        render(a128)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"view": "matrix"}, "unknown drill-down view 'matrix'; choose one of 'head', 'model'"),
        ({"layers": [12]}, r"layers=\[12\]: give indices in 0..11"),
        ({"heads": [-1]}, r"heads=\[-1\]: give indices in 0..11"),
        ({"tokens": []}, r"tokens=\[\]: give indices in 0..127"),
        ({"max_tokens": 1}, "need max_tokens >= 2"),
        ({"display_mode": "night"}, r"display_mode='night': choose one of \['dark', 'light'\]"),
    ],
)
def test_bad_arguments_are_named(a128: Analysis, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        render(a128, **kwargs)


def test_the_note_is_said_once_beside_the_page_and_in_a_saved_file(small: Analysis, tmp_path: Path) -> None:
    d = render(small)
    assert '<p class="attn-note">' not in d.html  # the widget shows the note above the frame, not inside
    assert bertviz_page.HEIGHT_MESSAGE in d.html  # the page reports its height so the frame fits it
    saved = d.save(tmp_path / "heads.html").read_text(encoding="utf-8")
    assert saved.count(bertviz_page._html.escape(d.note)) == 1
    assert saved.index('<p class="attn-note">') < saved.index("<script>")
