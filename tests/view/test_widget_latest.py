"""Latest wins: model work a knob started never puts back a choice made after it (attn_widget/view/jobs.py).

The model work (a measure's backward pass, a streamed text run again, "remove
and rerun") runs in the background on a stand-in that waits for the test to
let it finish, so the order of knob changes and finished jobs is the test's,
not the scheduler's. Its result is the real one, measured once on the tiny GPT-2.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import attn_widget
from attn_widget import AttentionExplainer
from attn_widget.view import jobs, modes
from attn_widget.view.knobs import KNOBS, trait_values
from attn_widget.view.knobs import changes as knob_changes
from attn_widget.view.worker import Worker

TEXT = "The cat sat on the mat because she was tired. Then it rained, and the mat got wet."


class Gate:
    """A stand-in for a model pass: waits until the test lets it go, then returns the real result."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.calls = 0
        self._go = threading.Semaphore(0)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        if not self._go.acquire(timeout=60):
            raise TimeoutError("the test never let this model pass finish")
        return self.real(*args, **kwargs)

    def release(self, n: int = 1) -> None:
        """Let ``n`` waiting (or future) passes finish."""
        for _ in range(n):
            self._go.release()

    def finish_one(self, w: AttentionExplainer) -> bool:
        """Let the running knob job end and apply the knobs (False when none runs)."""
        thread = w.jobs.thread
        if w.jobs.running is None or thread is None:
            return False
        self.release()
        thread.join(60)
        assert not thread.is_alive()
        return True

    def settle(self, w: AttentionExplainer) -> None:
        for _ in range(20):
            if not self.finish_one(w):
                return
        raise AssertionError("the widget kept starting model passes")


@pytest.fixture(scope="module")
def base(tiny_gpt2):
    model, tokenizer = tiny_gpt2
    return attn_widget.analyze(TEXT, model, tokenizer=tokenizer)


@pytest.fixture(scope="module")
def measured(base):
    """``base`` with every per-head measure's data (the real gradient of the tiny GPT-2)."""
    return jobs.measure_data(base, "gradient")


@pytest.fixture(scope="module")
def gate(measured):
    """``jobs.measure_data`` replaced by a gated one returning the real data (measured once)."""

    def measure(analysis, measure):
        return dataclasses.replace(analysis, head_data={**analysis.head_data, **measured.head_data})

    g = Gate(measure)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(jobs, "measure_data", g)
        yield g


def expected(measured, w):
    """The analysis a fresh recluster gives with the widget's final knobs."""
    k = {name: getattr(w, name) for name in KNOBS}
    options = {
        "threshold": k["threshold"], "threshold_mode": k["threshold_mode"], "method": k["method"],
        "aggregation": k["aggregation"], "measure": k["measure"], "unit": k["unit"],
        "lens": k["lens"] if isinstance(k["lens"], str) else [tuple(p) for p in k["lens"]],
    }  # fmt: skip
    return attn_widget.recluster(measured, **options)


def assert_shows_its_knobs(w, measured):
    """The analysis on screen is what the knobs ask for, as a fresh recluster gives it."""
    assert w.status == "ready", w.progress
    assert knob_changes(w.analysis, {n: getattr(w, n) for n in KNOBS}) == {}
    shown, knobs = trait_values(w.analysis), {n: getattr(w, n) for n in KNOBS}
    assert shown.pop("threshold") == pytest.approx(knobs.pop("threshold"), rel=1e-12)  # +- rounding
    assert shown == knobs
    fresh = expected(measured, w)
    assert fresh.options.measure == w.analysis.options.measure
    np.testing.assert_array_equal(w.analysis.labels, fresh.labels)


def test_a_lens_chosen_while_the_gradient_is_measured_is_kept(base, measured, gate):
    w = AttentionExplainer(base)
    w.measure = "gradient"
    assert w.status == "running"
    assert "backward pass" in w.progress
    w.lens = "late"  # within the second the backward pass takes
    assert w.lens == "late"
    assert "Your later choices follow" in w.progress
    gate.settle(w)
    assert (w.measure, w.lens, w.error) == ("gradient", "late", "")
    assert w.analysis.options.lens == "late"
    assert_shows_its_knobs(w, measured)


def test_twenty_changes_while_the_gradient_is_measured_run_one_backward_pass(base, measured, gate):
    w = AttentionExplainer(base)
    before = gate.calls
    w.measure = "gradient"
    for i in range(20):
        w.lens = ["middle", "all", "late", "early"][i % 4]
        w.method = ["louvain", "infomap"][i % 2]
    gate.settle(w)
    assert gate.calls - before == 1
    assert (w.lens, w.method, w.measure) == ("early", "infomap", "gradient")
    assert_shows_its_knobs(w, measured)


def test_a_measure_taken_back_while_it_is_measured_leaves_the_later_choice(base, measured, gate):
    w = AttentionExplainer(base)
    w.measure = "gradient"
    w.measure = "attention"
    w.lens = "late"  # nothing pending needs the backward pass: applied at once
    assert w.analysis.options.lens == "late"
    assert "backward pass" in w.progress  # the pass still runs, and says so
    gate.settle(w)
    assert (w.measure, w.lens) == ("attention", "late")
    assert_shows_its_knobs(w, measured)


def test_a_measure_picked_again_after_its_run_was_dropped_needs_no_second_run(base, measured, gate):
    w = AttentionExplainer(base)
    before = gate.calls
    w.measure = "gradient"
    w.measure = "attention"
    w.lens = "late"  # shown at once, so the gradient's run ends for a view no longer shown
    gate.settle(w)
    w.measure = "gradient"  # its data was kept for this text
    assert (w.status, gate.calls - before) == ("ready", 1)
    assert (w.measure, w.lens) == ("gradient", "late")
    assert_shows_its_knobs(w, measured)


def test_a_job_that_fails_for_a_choice_still_wanted_says_so_and_puts_the_knobs_back(base, monkeypatch):
    def broken(analysis, measure):
        raise RuntimeError("out of memory")

    g = Gate(broken)
    monkeypatch.setattr(jobs, "measure_data", g)
    w = AttentionExplainer(base)
    w.measure = "gradient"
    w.lens = "late"
    g.settle(w)
    assert "Could not measure 'gradient': out of memory" in w.error
    assert (w.measure, w.lens) == ("attention", "all")
    assert w.analysis is base


VALUES = {
    "measure": ["attention", "norm", "gradient"],
    "lens": ["all", "early", "late"],  # lenses that keep heads of the tiny GPT-2 under every measure
    "method": ["louvain", "infomap", "dbscan"],
    "aggregation": ["mean", "max", "rollout"],
    "unit": ["token", "word", "sentence"],
    "threshold_mode": ["absolute", "mass"],
}
ACTIONS = st.one_of(
    st.tuples(st.sampled_from(sorted(VALUES)), st.integers(0, 4)),
    st.tuples(st.just("threshold"), st.floats(0.0, 1.0)),
    st.just(("finish", 0)),
)


@pytest.mark.filterwarnings("ignore::UserWarning")  # a knob the analysis refuses warns in the cell; fine here
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions=st.lists(ACTIONS, min_size=1, max_size=12))
def test_after_any_knob_changes_and_jobs_the_widget_shows_what_the_final_knobs_ask(
    actions, base, measured, gate
):
    w = AttentionExplainer(base)
    asked: dict[str, Any] = {}
    refused = False
    for name, value in actions:
        if name == "finish":
            gate.finish_one(w)
        elif name == "threshold":
            grid = w.analysis.sweep.thresholds
            if w.threshold_mode != w.analysis.options.threshold_mode:
                continue  # a number in the other mode's units: the test does not know its range
            try:
                w.threshold = float(grid[0] + value * (grid[-1] - grid[0]))
            except Exception:  # refused on the assignment (out of range): the knobs stay
                continue
            asked["threshold"] = w.threshold
        else:
            choice = VALUES[name][value % len(VALUES[name])]
            setattr(w, name, choice)
            asked[name] = choice
            asked.pop("threshold", None)  # a graph knob after it: the threshold may go automatic
        refused = refused or bool(w.error)
    gate.settle(w)
    refused = refused or bool(w.error)
    assert_shows_its_knobs(w, measured)
    if not refused:  # every choice was taken: each knob is the last value set
        for name, value in asked.items():
            assert getattr(w, name) == value, (name, actions)


def test_a_worker_runs_only_the_latest_waiting_job_of_a_key():
    worker = Worker("test")
    started, hold, ran, dropped = threading.Event(), threading.Event(), [], []
    worker.submit(lambda: (started.set(), hold.wait()), key="map")
    assert started.wait(10)  # running: a newer job does not stop it
    for i in range(5):
        worker.submit(lambda i=i: ran.append(i), key="map", dropped=lambda i=i: dropped.append(i))
    hold.set()
    worker.join(10)
    assert ran == [4]
    assert dropped == [0, 1, 2, 3]


def test_a_rerun_asked_before_a_knob_changed_is_shown_for_the_new_view(tiny_gpt2, monkeypatch):
    model, tokenizer = tiny_gpt2
    a = attn_widget.analyze(TEXT, model, tokenizer=tokenizer)
    g = Gate(modes.ablate)
    monkeypatch.setattr(modes, "ablate", g)
    w = AttentionExplainer(a, explain_backend=None)
    sent: list[Any] = []
    monkeypatch.setattr(w, "send", lambda content, buffers=None: sent.append(content))
    w._on_custom_msg(None, {"type": "ablate", "id": 7, "tokens": [2, 3]}, [])
    while g.calls < 1:
        threading.Event().wait(0.01)
    w.method = "infomap"  # the view changes while the model runs
    g.release(2)
    w._rerun.join(60)
    assert sent[-1] == {"type": "ablate_reply", "id": 7, "error": None}
    assert w.ablation_result is not None
    assert w.ablation_result.before is w.analysis
    assert w.analysis.options.method == "infomap"
    assert g.calls == 2  # run again for the view on screen, not shown over it
    assert w.status == "ready"


def test_knobs_changed_while_a_streamed_text_runs_again_run_it_once_and_all_apply(tiny_gpt2, monkeypatch):
    model, tokenizer = tiny_gpt2
    streamed = attn_widget.analyze(TEXT, model, tokenizer=tokenizer, keep="summary")
    g = Gate(jobs.rerun)
    monkeypatch.setattr(jobs, "rerun", g)
    w = AttentionExplainer(streamed)
    w.aggregation = "max"
    assert "Running the model again for aggregation='max'" in w.progress
    w.method = "infomap"
    w.lens = "late"
    g.settle(w)
    assert g.calls == 1
    assert (w.aggregation, w.method, w.lens, w.error, w.status) == ("max", "infomap", "late", "", "ready")
    options = {"aggregation": "max", "method": "infomap", "lens": "late"}
    want = attn_widget.analyze(TEXT, model, tokenizer=tokenizer, **options)
    np.testing.assert_array_equal(w.analysis.labels, want.labels)
    assert w.analysis.threshold == pytest.approx(want.threshold)
