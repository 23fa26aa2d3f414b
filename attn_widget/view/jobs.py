"""Work the widget does off the kernel's main thread, and the drill-down request's answer.

:func:`in_background` runs a model pass in a thread while the view shows
progress: :func:`measure_then_apply` (what a new measure needs, then the
re-clustering) and :func:`rerun_then_show` (the model again, for a knob a
streamed analysis cannot change without it). :func:`drilldown_reply` answers
the view's drill-down request. None of them computes an analysis itself: they
call the library's functions (``attn_widget.api.measure_data``, :func:`attn_widget.rerun`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from ..api import measure_data, rerun
from ..core import Analysis
from .messages import DrilldownReply


def in_background(
    widget: Any,
    analysis: Analysis,
    progress: str,
    compute: Callable[[], Any],
    then: Callable[[Any], Any],
    failed: str,
) -> threading.Thread:
    """``then(compute())`` in a started thread while ``widget`` shows ``progress``.

    An error shows ``analysis`` again with ``"{failed}: {error}"``; a result that
    arrives after another analysis was shown meanwhile is dropped.
    """
    widget.status, widget.progress = "running", progress

    def job() -> None:
        try:
            result = compute()
        except Exception as exc:  # shown in the view; the widget stays usable
            with widget._lock:
                widget._show(analysis)
                widget.error = f"{failed}: {exc}"
            return
        with widget._lock:
            if widget.analysis is analysis:  # nothing else was shown meanwhile
                then(result)

    thread = threading.Thread(target=job, name="attn-widget-model", daemon=True)
    thread.start()
    return thread


def measure_then_apply(
    widget: Any, analysis: Analysis, changes: dict[str, Any], name: str | None
) -> threading.Thread:
    """Measure what ``changes["measure"]`` needs by running the model again, then re-cluster."""
    measure = changes["measure"]
    return in_background(
        widget,
        analysis,
        "Measuring what the output depends on (one forward and one backward pass)…"
        if measure == "gradient"
        else f"Running the model again for measure={measure!r}…",
        lambda: measure_data(analysis, measure),
        lambda measured: widget._apply(measured, changes, name),
        f"Could not measure {measure!r}",
    )


def rerun_then_show(widget: Any, analysis: Analysis, changes: dict[str, Any]) -> threading.Thread:
    """Run the model again (a streamed analysis dropped what ``changes`` need), then show the result."""
    what = ", ".join(f"{k}={v!r}" for k, v in changes.items())

    def show(fresh: Analysis) -> None:
        widget.error = ""
        widget._show(fresh)

    return in_background(
        widget,
        analysis,
        f"Running the model again for {what} (this long text was streamed)…",
        lambda: rerun(analysis, **changes),
        show,
        f"Could not run the model again for {what}",
    )


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
