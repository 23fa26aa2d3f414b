"""The first screen's arcs and findings on the wire: made off the main thread, then sent; kept per graph."""

from __future__ import annotations

import json
import re

import numpy as np

import attn_widget
from attn_widget import AttentionExplainer
from attn_widget.explain.findings import make_findings
from attn_widget.heads.roles import analysis_report
from attn_widget.synthetic import tokens_from_pieces
from attn_widget.view.firstscreen import arc_info
from attn_widget.view.standalone import to_html

IT, CAT = 7, 1
PIECES = ["The", " cat", " sat", " on", " the", " mat", " because", " it", " was", " tired", "."]


def planted() -> attn_widget.Analysis:
    """Causal attention mostly on the word before, and 'it' (7) looking far back to 'cat' (1)."""
    text, tokens = tokens_from_pieces(PIECES)
    n, shift = len(tokens), len(tokens) - len(PIECES)  # a first special token, when one is added
    att = np.full((2, 2, n, n), 0.02)
    for i in range(1, n):
        att[:, :, i, i - 1] = 0.6
    att[:, :, IT + shift, CAT + shift] = 0.9
    att = np.tril(att, k=0) + np.eye(n) * 0.05
    att /= att.sum(-1, keepdims=True)
    return attn_widget.analyze_attention(att, tokens, text=text, model="planted")


def test_the_state_carries_the_analysis_arcs_and_its_findings_once_they_are_made():
    a = planted()
    w = AttentionExplainer(a)
    w.first_screen.join(30)
    arcs = a.arcs()
    shift = len(a.tokens) - len(PIECES)
    assert [(x.source_text, x.target_text) for x in arcs][:1] == [("it", "cat")]  # the planted link
    assert (arcs[0].source, arcs[0].target) == (IT + shift, CAT + shift)
    assert w.state["arcs"] == [arc_info(x) for x in arcs]
    expected = [f.text for f in make_findings(a, arcs, analysis_report(a))]
    assert [f["text"] for f in w.state["findings"]] == expected
    assert all(set(f) == {"kind", "text", "tokens"} for f in w.state["findings"])


def test_a_threshold_move_sends_the_arcs_at_once_and_the_findings_for_the_new_groups():
    a = planted()
    w = AttentionExplainer(a)
    w.first_screen.join(30)
    before = w.state["arcs"]
    w.threshold = float(a.sweep.thresholds[-1])  # the last grid value: everything apart
    assert w.state["arcs"] == before  # same graph: no waiting, nothing recomputed
    assert w.state["findings"] is not None
    shown = w.analysis
    assert [f["text"] for f in w.state["findings"]] == [
        f.text for f in make_findings(shown, shown.arcs(), analysis_report(shown))
    ]


def test_the_exported_page_carries_arcs_and_findings():
    a = planted()
    page = to_html(a)
    state = json.loads(re.search(r'id="attn-widget-state">(.*?)</script>', page, re.S).group(1))
    assert state["arcs"] == [arc_info(x) for x in a.arcs()]
    assert state["findings"]
    assert all(f["text"] for f in state["findings"])


def test_the_next_word_waits_until_the_knobs_are_still_and_then_joins_the_findings(monkeypatch):
    import time

    from attn_widget.view import firstscreen

    started: list[float] = []
    evidence = {"token": " home", "probability": 0.5, "position": 0, "candidates": [], "after": 0.1}

    threads: list[int] = []

    def next_word(a):
        import torch

        started.append(time.monotonic())
        threads.append(torch.get_num_threads())
        last = len(a.tokens) - 1
        cat = CAT + len(a.tokens) - len(PIECES)
        tried = [{"node": cat, "text": "cat", "after": 0.1, "instead": " a"}]
        return {**evidence, "last": last, "candidates": tried, "node": cat, "text": "cat"}

    monkeypatch.setattr(firstscreen, "next_word", next_word)
    monkeypatch.setattr(firstscreen, "QUIET", 0.5)
    a = planted()
    w = AttentionExplainer(a)
    w.first_screen.join(30)  # the arcs, the report, then the next word once nothing is asked for 0.5 s
    assert threads == [1]  # on one core: the slider keeps the others
    assert any(f["kind"] == "prediction" for f in w.state["findings"])
    said = [f["text"] for f in w.state["findings"]]
    assert "Next comes 'home' (50.0%); without 'cat' it falls to 10.0%." in said
    w2 = AttentionExplainer(a)
    moves = float(a.sweep.thresholds[0]), float(a.sweep.thresholds[-1])
    end = time.monotonic() + 1.2
    k = 0
    while time.monotonic() < end:  # a slider dragged for 1.2 s: no next-word pass meanwhile
        w2.threshold = moves[k % 2]
        k += 1
        time.sleep(0.05)
    w2.first_screen.join(30)
    assert len(started) == 2
    assert started[1] >= end + 0.4  # it started after the last move, once the knobs were still
