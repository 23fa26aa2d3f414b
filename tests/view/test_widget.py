"""The widget's kernel side: state and buffers, traits → recluster, messages, construction errors."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from factories import make_analysis
from ipywidgets.widgets.widget import _remove_buffers
from traitlets import TraitError

from attn_widget import AttentionExplainer
from attn_widget.graph.metrics import community_modularity
from attn_widget.graph.threshold import symmetrise
from attn_widget.view import assets
from attn_widget.view import widget as widget_module
from attn_widget.view.wire import STATE_VERSION, to_state, unwire

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def analysis():
    return make_analysis([5, 5, 4], n_layers=3, n_heads=2, seed=1, words=[f"w{i}" for i in range(14)])


def test_state_arrays_travel_as_buffers_and_decode_to_the_analysis(analysis):
    state = to_state(analysis)
    assert state["version"] == STATE_VERSION
    np.testing.assert_array_equal(unwire(state["labels"]), analysis.labels)
    np.testing.assert_array_equal(unwire(state["sweep"]["labels"]), analysis.sweep.labels)
    np.testing.assert_array_equal(unwire(state["sweep"]["thresholds"]), analysis.sweep.thresholds)
    offsets = unwire(state["offsets"])
    assert offsets[0].tolist() == [-1, -1]
    assert analysis.text[offsets[3, 0] : offsets[3, 1]] == analysis.tokens[3].text
    flags = unwire(state["flags"])
    assert flags[0] == 3
    assert (flags[1:] == 0).all()

    _, paths, buffers = _remove_buffers({"state": state})
    assert len(buffers) == 13  # 12 before state version 2 added sweep.contiguity
    assert ["state", "sweep", "labels", "data"] in paths
    assert unwire(state["links"]["out_weight"]).dtype == np.float16


def test_hover_links_are_each_tokens_strongest_neighbours(analysis):
    state = to_state(analysis)
    out_i, out_w = unwire(state["links"]["out_index"]), unwire(state["links"]["out_weight"])
    in_i = unwire(state["links"]["in_index"])
    w = analysis.weights.copy()
    np.fill_diagonal(w, 0)
    for tok in (3, 7, 12):
        assert out_i[tok, 0] == np.argmax(w[tok])
        assert out_w[tok, 0] == pytest.approx(w[tok].max(), abs=1e-3)
        assert in_i[tok, 0] == np.argmax(w[:, tok])
    assert (out_i[0] == -1).all()  # the excluded sink attends to nothing


def test_grid_facts_match_the_clusters_at_each_grid_value(analysis):
    facts = unwire(to_state(analysis)["sweep"]["facts"])
    sym = symmetrise(analysis.weights)
    g, cid, q, inside = facts[len(facts) // 2]
    members = np.flatnonzero(analysis.sweep.labels[int(g)] == int(cid))
    assert members.size > 1
    assert (q, inside) == pytest.approx(community_modularity(sym, members), abs=1e-5)


def test_setting_threshold_from_python_reclusters_and_updates_the_state(analysis):
    w = AttentionExplainer(analysis)
    assert w.threshold == pytest.approx(analysis.threshold)
    top = float(analysis.sweep.thresholds[-1])
    w.threshold = top
    assert w.analysis.threshold == top
    np.testing.assert_array_equal(unwire(w.state["labels"]), analysis.sweep.labels[-1])
    assert w.state["threshold"] == top
    assert not w.state["auto"]
    w.threshold = analysis.sweep.auto_threshold  # the slider's "reset to automatic"
    assert w.analysis.options.auto_threshold
    assert w.state["auto"]


def test_threshold_mode_and_method_traits_recluster(analysis):
    w = AttentionExplainer(analysis)
    w.threshold_mode = "mass"
    assert w.state["sweep"]["mode"] == "mass"
    assert 0 < w.threshold <= 1
    assert w.analysis.options.threshold_mode == "mass"
    w.aggregation = "max"
    assert w.analysis.options.aggregation == "max"
    assert w.state["aggregation"] == "max"
    assert w.error == ""


def test_a_bad_knob_shows_an_error_and_the_widget_stays_usable(analysis):
    w = AttentionExplainer(analysis)
    w.aggregation = "heads"  # needs heads=[...]
    assert "heads=" in w.error
    assert w.aggregation == "mean"  # put back where the analysis is
    w.layers = [99]
    assert "out of range" in w.error
    with pytest.raises(TraitError, match=r"threshold=-5\.0 is out of range"):  # on the user's line
        w.threshold = -5.0
    assert w.threshold == w.analysis.threshold
    assert w.layers is None
    w.threshold = float(analysis.sweep.thresholds[-1])
    assert w.error == ""
    assert w.analysis.threshold == float(analysis.sweep.thresholds[-1])


def test_selected_cluster_survives_a_recluster_only_if_it_still_exists(analysis):
    w = AttentionExplainer(analysis)
    big = next(c.id for c in analysis.clusters if c.size > 1)
    w.selected_cluster = big
    w.threshold = float(analysis.sweep.thresholds[1])
    assert w.selected_cluster in {c.id for c in w.analysis.clusters if c.size > 1} | {None}
    w.threshold = float(symmetrise(analysis.weights).max())  # the slider's top: one pair is left
    assert [c.size for c in w.analysis.clusters if c.size > 1] == [2]
    pair = next(c for c in w.analysis.clusters if c.size > 1)
    assert w.selected_cluster == (big if pair.id == big else None)


def test_unknown_keyword_arguments_raise_type_error(analysis):
    with pytest.raises(TypeError, match=r"unexpected keyword arguments \['colour'\]"):
        AttentionExplainer(analysis, colour="red")
    with pytest.raises(TypeError, match="prepend_bos"):
        AttentionExplainer(analysis, prepend_bos=True)  # a text option, not an analysis one
    with pytest.raises(TypeError, match=r"\['bogus'\]"):
        AttentionExplainer("some text", bogus=1)
    with pytest.raises(TypeError, match="takes text"):
        AttentionExplainer(42)


def test_options_given_with_an_analysis_are_applied(analysis):
    w = AttentionExplainer(analysis, threshold_mode="mass", method="louvain")
    assert w.threshold_mode == "mass"
    assert w.state["sweep"]["mode"] == "mass"


def test_missing_bundle_shows_a_message_in_the_cell(tmp_path):
    esm, css = assets.bundle(tmp_path)
    assert isinstance(esm, str)
    assert css == ""
    assert "npm run build" in esm
    assert "pip install" in esm
    assert "render" in esm
    real_esm, real_css = assets.bundle()
    if isinstance(real_esm, Path):
        assert real_esm.name == "widget.js"
        assert Path(real_css).name == "widget.css"


@dataclass(frozen=True)
class FakeDrilldown:
    html: str
    capped: bool
    note: str


def _sent(w, monkeypatch):
    sent = []
    monkeypatch.setattr(w, "send", lambda content, buffers=None: sent.append((content, buffers)))
    return sent


def test_drilldown_request_gets_a_reply_with_the_html_as_a_buffer(analysis, monkeypatch):
    calls = []

    def fake_render(a, *, tokens=None, layers=None, view="head", display_mode="light"):
        calls.append((a, tokens, layers, view, display_mode))
        return FakeDrilldown("<!doctype html><p>heads</p>", True, "capped to 4 layers")

    monkeypatch.setattr(widget_module, "_drilldown_renderer", lambda: fake_render)
    w = AttentionExplainer(analysis)
    sent = _sent(w, monkeypatch)
    w._on_custom_msg(
        w, {"type": "drilldown", "id": 7, "view": "model", "layers": [0, 2], "tokens": [1, 2, 3]}, []
    )
    ((content, buffers),) = sent
    assert content == {
        "type": "drilldown_reply",
        "id": 7,
        "error": None,
        "capped": True,
        "note": "capped to 4 layers",
    }
    assert bytes(buffers[0]).decode() == "<!doctype html><p>heads</p>"
    assert calls == [(w.analysis, [1, 2, 3], [0, 2], "model", "light")]  # no theme sent: light


def test_drilldown_is_drawn_in_the_theme_the_view_asks_for(analysis, monkeypatch):
    modes = []

    def fake_render(a, *, display_mode="light", **kw):
        modes.append(display_mode)
        return FakeDrilldown("<html>", False, "")

    monkeypatch.setattr(widget_module, "_drilldown_renderer", lambda: fake_render)
    w = AttentionExplainer(analysis)
    _sent(w, monkeypatch)
    for i, mode in enumerate(["dark", "light"]):
        _from_view(w, {"method": "custom", "content": {"type": "drilldown", "id": i, "display_mode": mode}})
    assert modes == ["dark", "light"]


def test_drilldown_in_dark_mode_with_the_real_renderer_is_dark(analysis, monkeypatch):
    w = AttentionExplainer(analysis)
    sent = _sent(w, monkeypatch)
    w._on_custom_msg(w, {"type": "drilldown", "id": 2, "view": "model", "display_mode": "dark"}, [])
    ((content, buffers),) = sent
    assert content["error"] is None, content["error"]
    html = bytes(buffers[0]).decode()
    assert '<body data-display-mode="dark">' in html
    assert '"display_mode": "dark"' in html  # BertViz's model view draws in its dark palette


def test_drilldown_failure_replies_with_an_error(analysis, monkeypatch):
    def broken(a, **kw):
        raise ValueError("layers [40] out of range")

    monkeypatch.setattr(widget_module, "_drilldown_renderer", lambda: broken)
    w = AttentionExplainer(analysis)
    sent = _sent(w, monkeypatch)
    w._on_custom_msg(w, {"type": "drilldown", "id": 3, "layers": [40]}, [])
    ((content, buffers),) = sent
    assert content["id"] == 3
    assert "layers [40] out of range" in content["error"]
    assert buffers is None
    w._on_custom_msg(w, {"type": "something else"}, [])
    assert len(sent) == 1  # unrelated messages are ignored


def test_drilldown_with_the_real_renderer_returns_offline_html(analysis, monkeypatch):
    w = AttentionExplainer(analysis)
    sent = _sent(w, monkeypatch)
    w._on_custom_msg(
        w, {"type": "drilldown", "id": 1, "view": "head", "layers": [0], "tokens": [1, 2, 3, 4]}, []
    )
    ((content, buffers),) = sent
    assert content["error"] is None, content["error"]
    html = bytes(buffers[0]).decode()
    assert "<html" in html.lower()
    assert not re.search(r"""<script[^>]+src=["']?https?:""", html)


def test_text_analysis_failure_lands_in_the_error_trait(tmp_path):
    w = AttentionExplainer("Some text.", model=str(tmp_path / "no-such-model"))
    with pytest.raises(RuntimeError, match="failed"):
        w.wait(timeout=120)
    assert w.status == "error"
    assert "no-such-model" in w.error
    assert w.state is None


def test_text_analysis_runs_in_the_background(gpt2_dir):
    import transformers
    tok = transformers.AutoTokenizer.from_pretrained(gpt2_dir)
    cfg = transformers.GPT2Config(n_layer=2, n_head=2, n_embd=32, vocab_size=tok.vocab_size)
    model = transformers.GPT2LMHeadModel(cfg).eval()
    w = AttentionExplainer("The cat sat on the mat.", model=model, tokenizer=tok)
    assert w.status in {"loading", "ready"}
    a = w.wait(timeout=120)
    assert w.status == "ready"
    assert w.error == ""
    assert w.state["text"] == "The cat sat on the mat."
    assert len(w.state["tokens"]) == len(a.tokens)


def test_palette_is_the_same_in_python_and_javascript():
    from attn_widget.view.figures import EXTRA, PALETTE

    colors_ts = (ROOT / "js" / "src" / "common" / "colors.ts").read_text()
    for name, python in (("PALETTE", PALETTE), ("EXTRA", EXTRA)):
        line = next(ln for ln in colors_ts.splitlines() if ln.startswith(f"export const {name} "))
        assert tuple(re.findall(r"#[0-9A-Fa-f]{6}", line)) == python


def _from_view(w, data, buffers=()):
    """Deliver a message the way the front-end's comm does (through ipywidgets' own dispatch)."""
    w._handle_msg({"content": {"data": data}, "buffers": list(buffers)})


def test_slider_and_clicks_from_the_view_reach_the_kernel(analysis):
    w = AttentionExplainer(analysis)
    top = float(analysis.sweep.thresholds[-1])
    _from_view(w, {"method": "update", "state": {"threshold": top}, "buffer_paths": []})
    assert w.threshold == top
    assert w.analysis.threshold == top
    _from_view(w, {"method": "update", "state": {"selected_cluster": 1}, "buffer_paths": []})
    assert w.selected_cluster == 1


def test_drilldown_request_from_the_view_is_answered(analysis, monkeypatch):
    monkeypatch.setattr(
        widget_module, "_drilldown_renderer", lambda: lambda a, **kw: FakeDrilldown("<html>", False, "")
    )
    w = AttentionExplainer(analysis)
    sent = _sent(w, monkeypatch)
    _from_view(
        w, {"method": "custom", "content": {"type": "drilldown", "id": 5, "tokens": None, "layers": None}}
    )
    assert [c["id"] for c, _ in sent] == [5]
    assert sent[0][0]["error"] is None


def _tiny_gpt2(gpt2_dir):
    import transformers
    tok = transformers.AutoTokenizer.from_pretrained(gpt2_dir)
    cfg = transformers.GPT2Config(n_layer=2, n_head=2, n_embd=32, vocab_size=tok.vocab_size)
    return transformers.GPT2LMHeadModel(cfg).eval(), tok


def test_loading_shows_each_stage_in_the_progress_line(gpt2_dir, tmp_path, monkeypatch):
    model, tok = _tiny_gpt2(gpt2_dir)
    folder = tmp_path / "tiny-gpt2"
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    shown = []
    real = AttentionExplainer._on_progress

    def spy(self, stage, fraction):
        real(self, stage, fraction)
        if self.progress not in shown:
            shown.append(self.progress)

    monkeypatch.setattr(AttentionExplainer, "_on_progress", spy)
    w = AttentionExplainer("The cat sat on the mat.", model=str(folder))
    a = w.wait(timeout=120)
    n = len(a.model_tokens)  # the model runs on tokens; the widget shows words
    assert shown == [
        f"Loading model {folder}…",
        f"Running the model on {n} tokens…",
        "Clustering…",
    ]
    assert w.status == "ready"
    assert w.progress == ""


def test_loading_a_model_prints_no_progress_bar_into_the_cell(gpt2_dir, tmp_path, capfd):
    from transformers.utils import logging as hf_logging

    from attn_widget.extract import loading as models

    model, tok = _tiny_gpt2(gpt2_dir)
    folder = tmp_path / "tiny-gpt2-quiet"
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    hf_logging.set_verbosity_info()  # the user's own settings, to be restored after our load
    hf_logging.enable_progress_bar()  # (the in-process CLI tests leave it off, as the CLI does)
    try:
        capfd.readouterr()
        w = AttentionExplainer("The cat sat.", model=str(folder))
        w.wait(timeout=120)
        out, err = capfd.readouterr()
        assert "Loading weights" not in out + err
        assert "%|" not in out + err  # no tqdm bar of any kind
        assert hf_logging.get_verbosity() == hf_logging.INFO
        assert hf_logging.is_progress_bar_enabled()
    finally:
        hf_logging.set_verbosity_warning()
        models._CACHE.pop(str(folder))


def test_analyze_reports_its_stages_in_order(gpt2_dir):
    from attn_widget import analyze

    model, tok = _tiny_gpt2(gpt2_dir)
    calls = []
    a = analyze(
        "The cat sat on the mat.", model=model, tokenizer=tok, progress=lambda s, f: calls.append((s, f))
    )
    n = len(a.tokens)
    assert [s for s, _ in calls] == [
        f"loading model {model.config.name_or_path or 'GPT2LMHeadModel'}…",
        f"running the model on {n} tokens…",
        "clustering…",
        "done",
    ]
    fractions = [f for _, f in calls]
    assert fractions == sorted(fractions)
    assert (fractions[0], fractions[-1]) == (0.0, 1.0)
    with pytest.raises(TypeError, match=r"progress='loud' is not callable"):
        analyze("The cat.", model=model, tokenizer=tok, progress="loud")


def test_empty_text_is_refused_at_once_with_the_value():
    with pytest.raises(ValueError, match=r"text='   ' is empty or only whitespace"):
        AttentionExplainer("   ")


def test_a_bad_knob_from_the_view_sets_the_error_without_a_kernel_warning(analysis, recwarn):
    w = AttentionExplainer(analysis)
    _from_view(w, {"method": "update", "state": {"layers": [99]}, "buffer_paths": []})
    assert "out of range" in w.error
    assert not [x for x in recwarn if "out of range" in str(x.message)]
