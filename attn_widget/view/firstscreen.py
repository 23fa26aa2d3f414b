"""What the first screen shows above and over the text: the arcs and the findings.

:class:`FirstScreen` gives the widget, for the analysis on screen, its arcs
(:meth:`Analysis.arcs <attn_widget.core.Analysis.arcs>`) and its findings
(:func:`attn_widget.explain.findings.make_findings`) as the small dicts the
state carries (:func:`attn_widget.view.wire.to_state`). Both need work the
slider must never wait for: the reference arcs find the model's coreference
heads, the findings need the head report
(:func:`attn_widget.heads.roles.analysis_report`) and, for a causal model, the
next word and the earlier word it rests on (a pass and one knockout per candidate word:
:func:`attn_widget.runs.depends.prediction_evidence`), which comes last, on a
thread of its own, once the knobs have been still for :data:`QUIET` seconds (its
passes would take the cores a slider's re-clustering needs). That work runs on its own
thread (:class:`attn_widget.view.worker.Worker`); until it is done the state
says ``None`` (the view keeps the slots and says they are coming) and, when it
is, ``ready(analysis)`` is called so the widget sends the state again. Arcs are
kept per graph, by value (a threshold move reuses them), the head report per run of the
model; the findings themselves (one template each) are re-made per partition.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Hashable, Iterator
from typing import Any

from ..core import Analysis, Arc, Finding
from ..core.cache import LRU
from ..explain.findings import make_findings
from ..heads.roles import HeadReport, analysis_report
from ..runs.explaining import next_word
from .wire import map_key
from .worker import Worker

Wired = list[dict[str, Any]]
QUIET = 1.0
"""Seconds without a new view asked for (a slider move, a knob) before the next-word pass starts."""


def arc_info(arc: Arc) -> dict[str, Any]:
    """One arc as the view reads it (the layout of ``state["arcs"]`` items)."""
    return {
        "source": int(arc.source), "target": int(arc.target), "weight": float(arc.weight),
        "kind": arc.kind, "confident": bool(arc.confident), "lens": arc.lens, "measure": arc.measure,
        "confidence": None if arc.confidence is None else float(arc.confidence),
        "baseline": None if arc.baseline is None else float(arc.baseline),
        "source_text": arc.source_text, "target_text": arc.target_text,
        "heads": [[int(la), int(h), float(w)] for la, h, w in arc.heads],
    }  # fmt: skip


def finding_info(finding: Finding) -> dict[str, Any]:
    """One finding as the view reads it (``state["findings"]`` items): its sentence and what it names."""
    return {"kind": finding.kind, "text": finding.text, "tokens": [int(i) for i in finding.tokens]}


def first_screen(analysis: Analysis) -> tuple[Wired, Wired]:
    """Arcs and findings computed here and now (an exported page: nothing waits on a slider)."""
    arcs = analysis.arcs()
    found = analysis.findings
    if found is None:
        found = make_findings(analysis, arcs, analysis_report(analysis), next_word(analysis))
    return [arc_info(a) for a in arcs], [finding_info(f) for f in found]


def _graph_key(a: Analysis) -> Hashable:
    """The graph the arcs are read from (its weights and the nodes left out, by value), and what a node is."""
    o = a.options
    return map_key(a), o.unit, o.measure, o.lens if isinstance(o.lens, str) else None


def _run_key(a: Analysis) -> Hashable:
    """The run of the model the head report is of: the model, the tokens it read, their shape."""
    shape = None if a.attentions is None else tuple(a.attentions.shape)
    return a.model, tuple((t.id, t.text) for t in a.model_tokens), a.options.zoom, shape


class FirstScreen:
    """Arcs and findings for one widget; the slow parts on a background thread (module docstring)."""

    def __init__(self, ready: Callable[[Analysis], None], quiet: float | None = None) -> None:
        self._ready = ready
        self._worker = Worker("attn-widget-first-screen")
        self._later = Worker("attn-widget-next-word")  # its own thread: never holds up new arcs
        self._arcs: LRU[Hashable, tuple[Any, tuple[Arc, ...]]] = LRU(4)
        self._reports: LRU[Hashable, tuple[Any, HeadReport | None]] = LRU(2)
        self._next: LRU[Hashable, tuple[Any, dict[str, Any] | None]] = LRU(4)
        self._quiet = QUIET if quiet is None else quiet
        self._asked = time.monotonic()  # when a view was last asked for (a slider move asks again)

    def wired(self, analysis: Analysis) -> tuple[Wired | None, Wired | None]:
        """``(arcs, findings)`` for the state; ``None`` for what is still being computed (started here).

        The next-word finding comes last (model passes, once the knobs are still): the findings
        are sent without it first, and again with it when it is ready.
        """
        self._asked = time.monotonic()
        arcs = self._cached_arcs(analysis)
        report = self._cached_report(analysis)
        said = self._next.get(_graph_key(analysis))
        if arcs is None or report is _MISSING:
            self._worker.submit(lambda: self._compute(analysis), key="first-screen")
        elif said is None:
            self._later.submit(lambda: self._next_word(analysis), key="next-word")
        if arcs is None or report is _MISSING:
            return (None if arcs is None else [arc_info(a) for a in arcs]), None
        assert not isinstance(report, _Missing)
        found = make_findings(analysis, arcs, report, None if said is None else said[1])
        return [arc_info(a) for a in arcs], [finding_info(f) for f in found]

    def join(self, timeout: float | None = None) -> None:
        """Wait until the arcs and findings asked for so far are computed (the next word too)."""
        self._worker.join(timeout)
        self._later.join(timeout)

    def _cached_arcs(self, a: Analysis) -> tuple[Arc, ...] | None:
        hit = self._arcs.get(_graph_key(a))
        return None if hit is None else hit[1]

    def _cached_report(self, a: Analysis) -> HeadReport | _Missing | None:
        if a.attentions is None:
            return analysis_report(a)  # read off what a streamed analysis kept: quick
        hit = self._reports.get(_run_key(a))
        return _MISSING if hit is None else hit[1]

    def _compute(self, a: Analysis) -> None:
        if self._cached_arcs(a) is None:
            try:
                arcs = a.arcs()
            except Exception:
                arcs = ()
            self._arcs.put(_graph_key(a), (None, arcs))
        if self._cached_report(a) is _MISSING:
            try:
                report = analysis_report(a)
            except Exception:
                report = None
            self._reports.put(_run_key(a), (None, report))
        self._ready(a)  # the state sent again asks for the next word (``wired``)

    def _next_word(self, a: Analysis) -> None:
        """The next-word evidence, once nobody has moved a knob for :data:`QUIET` seconds: its model
        passes would otherwise take the cores a slider's re-clustering needs."""
        while (wait := self._quiet - (time.monotonic() - self._asked)) > 0:
            time.sleep(min(wait, 0.1))
        if self._next.get(_graph_key(a)) is None:
            with _one_core():
                said = next_word(a)
            self._next.put(_graph_key(a), (None, said))
            self._ready(a)


@contextlib.contextmanager
def _one_core() -> Iterator[None]:
    """torch on one thread for a background pass: the other cores stay with the slider's re-clustering."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class FirstScreenMixin:
    """The widget's side: the state carries the arcs and findings; their arrival sends it again."""

    analysis: Analysis | None
    state: Any
    _lock: Any

    def _state(self, analysis: Analysis) -> dict[str, Any]:
        raise NotImplementedError

    def _first_screen_ready(self, analysis: Analysis) -> None:
        """Arcs or findings for ``analysis`` are ready: send the state again if it is still the one shown."""
        with self._lock:
            shown = self.analysis
            if shown is not None and (shown is analysis or map_key(shown) == map_key(analysis)):
                self.state = self._state(shown)


class _Missing:
    pass


_MISSING = _Missing()
