"""Knobs assigned from Python: a bad value is refused on the user's line, before it reaches the view.

``w.lens = "bogus"`` raises :class:`traitlets.TraitError` where it is written (not a
warning from inside ipywidgets, not only a line in the widget), names the value and
what to use instead, keeps the previous value and analysis, and sends nothing to the
front-end (a NaN would first fail ipywidgets' JSON serialisation). Messages shown in
the widget for values only the re-clustering can refuse say each value once.
"""

from __future__ import annotations

import json
import warnings

import pytest
from factories import make_analysis
from traitlets import TraitError

from attn_widget import AttentionExplainer


@pytest.fixture
def widget():
    w = AttentionExplainer(make_analysis([5, 5, 4], n_layers=3, n_heads=2, seed=1))
    w.first_screen.join(30)  # the arcs and findings, made in the background, have been sent
    sent: list[dict] = []
    w.send_state = lambda key=None: sent.append(w.get_state(key))  # what would go over the comm
    w.sent = sent
    return w


BAD = [
    ("lens", "bogus", r"unknown lens 'bogus'; choose one of 'all', .*'content'"),
    ("unit", "para", r"unknown unit 'para'; choose one of 'token', 'word', 'sentence'"),
    ("measure", "grad", r"unknown edge measure 'grad'; choose one of 'attention', 'norm', 'gradient'"),
    ("method", "kmeans", r"unknown clustering method 'kmeans'; choose one of 'louvain'"),
    ("aggregation", "median", r"unknown aggregation 'median'; choose one of 'mean'"),
    ("threshold_mode", "share", r"unknown threshold mode 'share'; choose one of 'absolute', 'mass'"),
    ("threshold", float("nan"), r"threshold=nan is not a finite number: give a value in \[0, [0-9.]+\] "
     r"for threshold_mode='absolute' \(an edge weight\); the automatic choice is [0-9.]+"),
    ("threshold", float("inf"), r"threshold=inf is not a finite number"),
    ("threshold", 7.0, r"threshold=7\.0 is out of range: give a value in \[0, [0-9.]+\]"),
    ("lens", [[0]], r"lens=\[\[0\]\]: give a lens name or \[layer, head\] pairs"),
]


@pytest.mark.parametrize(("name", "value", "message"), BAD, ids=[f"{n}={v!r}" for n, v, _ in BAD])
def test_a_bad_value_from_python_raises_on_that_line_and_changes_nothing(widget, name, value, message):
    before, analysis = getattr(widget, name), widget.analysis
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning on the side: the error is the assignment's own
        with pytest.raises(TraitError, match=message):
            setattr(widget, name, value)
    assert getattr(widget, name) == before
    assert widget.analysis is analysis
    assert widget.error == ""
    assert widget.sent == []  # nothing reached the front-end


def test_a_nan_threshold_never_reaches_the_wire_and_a_good_one_then_does(widget):
    with pytest.raises(TraitError):
        widget.threshold = float("nan")
    assert widget.sent == []
    top = float(widget.analysis.sweep.thresholds[-1])
    widget.threshold = top
    assert widget.analysis.threshold == top
    assert widget.sent  # the new threshold and state went out, and they are valid JSON
    json.dumps([{k: v for k, v in s.items() if k != "state"} for s in widget.sent], allow_nan=False)


def test_a_mass_threshold_above_one_is_refused_and_a_share_is_applied(widget):
    widget.threshold_mode = "mass"
    with pytest.raises(TraitError, match=r"threshold=1\.5 is out of range: give a value in \[0, 1\] "
                       r"for threshold_mode='mass' \(a share of each token's attention\)"):
        widget.threshold = 1.5
    widget.threshold = 0.5
    assert widget.analysis.threshold == 0.5
    assert widget.analysis.options.threshold_mode == "mass"


def test_good_names_are_still_applied(widget):
    widget.method = "agglomerative"
    widget.lens = [[0, 1], [1, 0]]
    assert widget.analysis.options.method == "agglomerative"
    assert widget.analysis.options.lens == ((0, 1), (1, 0))
    assert widget.error == ""


def test_a_refusal_in_the_widget_says_the_value_once(widget):
    widget.layers = [99]  # a good shape the re-clustering refuses: shown in the widget
    assert widget.error.count("99") == 1, widget.error
    widget.unit = "word"  # this analysis has no text offsets to make words of
    assert widget.error.count("unit='word'") <= 1, widget.error
