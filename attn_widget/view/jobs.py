"""Work the widget does off the kernel's main thread, and the drill-down request's answer.

:class:`KnobJobs` runs the model work a knob needs (a measure's per-head data,
:func:`attn_widget.api.measure_data`; a streamed text run again,
:func:`attn_widget.rerun`) in a thread while the view shows progress. Latest
wins: at most one such job runs; knobs changed meanwhile start nothing, and
when the job ends it applies the knobs as they are *then* (its result is the
base when nothing else was shown meanwhile, and is dropped otherwise), so a
finished job never puts back a choice made after it started. :class:`Activity`
says what runs, for the status line. :func:`drilldown_reply` answers the view's
drill-down request. None of them computes an analysis itself.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Hashable, Mapping
from typing import Any

from ..api import measure_data, rerun
from ..core import Analysis
from ..graph.measures import NEEDS
from .knobs import KNOBS
from .knobs import changes as knob_changes
from .messages import DrilldownReply


class Activity:
    """What runs in the background, by kind, for the status line (the latest started is said)."""

    def __init__(self) -> None:
        self._running: dict[str, str] = {}

    def begin(self, kind: str, words: str) -> None:
        self._running.pop(kind, None)
        self._running[kind] = words

    def end(self, kind: str) -> None:
        self._running.pop(kind, None)

    def status(self) -> tuple[str, str]:
        """``("running", words)`` while something runs, else ``("ready", "")``."""
        if not self._running:
            return "ready", ""
        return "running", list(self._running.values())[-1]


def job_words(kind: str, changes: Mapping[str, Any]) -> str:
    """What a knob job does, in words."""
    if kind == "measure":
        measure = changes["measure"]
        if measure == "gradient":
            return "Measuring what the output depends on (one forward and one backward pass)…"
        return f"Running the model again for measure={measure!r}…"
    what = ", ".join(f"{k}={v!r}" for k, v in changes.items())
    return f"Running the model again for {what} (this long text was streamed)…"


LATER = " Your later choices follow when it ends."
"""Said after a running job's words when knobs changed while it ran."""


class KnobJobs:
    """The model work knobs need for one widget: one job at a time, then the latest knobs (module docstring).

    ``widget`` provides ``analysis``, ``error``, ``_lock``, ``_knob_values()``,
    ``_apply(analysis, changes, name)``, ``_show(analysis)`` and ``activity``.
    """

    def __init__(self, widget: Any) -> None:
        self.widget = widget
        self.thread: threading.Thread | None = None
        self.running: tuple[str, Analysis, dict[str, Any]] | None = None
        """``(kind, base, changes)`` of the job running (None when none)."""
        self.threshold: float | None = None  # the threshold trait when the job started
        self.name: str | None = None
        self.measured: tuple[Hashable, dict[str, Any]] | None = None
        """The per-head data the last measure job made, by the run it is of (kept when its result was not)."""

    def start(self, kind: str, base: Analysis, changes: dict[str, Any], name: str | None) -> None:
        """Run ``kind`` ("measure" or "rerun") for ``changes`` on ``base``; while one runs, wait for it.

        Called with the widget's lock held.
        """
        w = self.widget
        self.name = name
        data = self.measured[1] if self.measured and self.measured[0] == _run(base) else {}
        if kind == "measure" and NEEDS[changes["measure"]] in data:  # measured before: no model pass
            w._apply(dataclasses.replace(base, head_data={**base.head_data, **data}), changes, name)
            return
        if self.running is not None:  # coalesced: the job's end applies the knobs as they are then
            w.activity.begin("knob", job_words(self.running[0], self.running[2]) + LATER)
            w.status, w.progress = w.activity.status()
            return
        self.running, self.threshold = (kind, base, dict(changes)), w.threshold
        w.activity.begin("knob", job_words(kind, changes))
        w.status, w.progress = w.activity.status()
        self.thread = threading.Thread(target=self._job, name="attn-widget-model", daemon=True)
        w._thread = self.thread
        self.thread.start()

    def _job(self) -> None:
        assert self.running is not None
        kind, base, changes = self.running
        result: Analysis | None = None
        failure: Exception | None = None
        try:
            result = (
                measure_data(base, changes["measure"])
                if kind == "measure"
                else rerun(base, max_memory=self.widget._max_memory, **changes)
            )
        except Exception as exc:  # shown in the view (when still wanted); the widget stays usable
            failure = exc
        with self.widget._lock:
            if kind == "measure" and result is not None:  # kept for the same run, even if dropped below
                key, new = _run(base), {k: v for k, v in result.head_data.items() if k not in base.head_data}
                old = self.measured[1] if self.measured and self.measured[0] == key else {}
                self.measured = (key, {**old, **new})
            self.running = None
            self.widget.activity.end("knob")
            self._finish(kind, base, changes, result, failure)

    def _finish(
        self,
        kind: str,
        base: Analysis,
        changes: dict[str, Any],
        result: Analysis | None,
        failure: Exception | None,
    ) -> None:
        """Apply the knobs as they are now: on ``result`` if nothing else was shown meanwhile."""
        w = self.widget
        current = w.analysis
        kept = current is base and result is not None  # else the result is for a state no longer shown
        on = result if kept and result is not None else current
        if on is None:
            return
        only = None
        if kept and kind == "rerun" and w.threshold == self.threshold:
            only = set(KNOBS) - {"threshold"}  # the fresh analysis's threshold is the one asked for
        wanted = knob_changes(on, w._knob_values(), only=only)
        if failure is not None and current is base and _asks(wanted, kind, changes):
            w._show(base)  # the knobs go back where the analysis is
            w.error = f"{_failed(kind, changes)}: {failure}"
            return
        if wanted:
            w._apply(on, wanted, self.name)
        elif kept and kind == "rerun":  # the fresh analysis is exactly what the knobs ask for
            w.error = ""
            w._show(on)
        else:
            w.status, w.progress = w.activity.status()

    def settle(self, timeout: float | None = None) -> None:
        """Wait until no knob job runs (a job's end may start the next one the latest knobs need)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while (thread := self.thread) is not None and thread.is_alive():
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                raise TimeoutError(f"the model is still running for a knob after {timeout} s")


def _run(analysis: Analysis) -> Hashable:
    """What per-head data depends on: the model, the token ids it read, the part of the text shown."""
    return analysis.model, tuple(t.id for t in analysis.model_tokens), analysis.options.zoom


def _asks(wanted: Mapping[str, Any], kind: str, changes: Mapping[str, Any]) -> bool:
    """Whether the knobs still ask for what the job was started for."""
    if kind == "measure":
        return wanted.get("measure") == changes["measure"]
    return all(wanted.get(k) == v for k, v in changes.items() if k != "threshold")


def _failed(kind: str, changes: Mapping[str, Any]) -> str:
    if kind == "measure":
        return f"Could not measure {changes['measure']!r}"
    return "Could not run the model again for " + ", ".join(f"{k}={v!r}" for k, v in changes.items())


def drilldown_reply(
    analysis: Analysis | None, content: Mapping[str, Any], render: Callable[..., Any]
) -> tuple[DrilldownReply, list[bytes]]:
    """The reply to a drill-down request and its page (``[]`` with an error)."""
    reply: DrilldownReply = {"type": "drilldown_reply", "id": content.get("id"), "error": None}
    try:
        if analysis is None:
            raise RuntimeError("the analysis is not ready yet; wait for it to finish")
        result = render(
            analysis,
            tokens=content.get("tokens") or None,
            layers=content.get("layers") or None,
            view=content.get("view") or "head",
            display_mode=content.get("display_mode") or "light",
        )
    except Exception as exc:  # reported in the view, next to the button
        reply["error"] = f"The drill-down could not be drawn: {exc}"
        return reply, []
    reply["capped"], reply["note"] = bool(result.capped), str(result.note or "")
    return reply, [result.html.encode("utf-8")]
