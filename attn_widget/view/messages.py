"""The custom messages between the view (``js/src/``) and the kernel, typed on both sides.

Each message is a ``TypedDict`` tagged by ``type``; ``js/src/messages.ts``
declares the same shapes. Binary payloads (a drill-down page) travel as
buffers beside the JSON.

::

    view → kernel  {"type": "drilldown", "id", "view", "layers", "tokens", "display_mode"}
    kernel → view  {"type": "drilldown_reply", "id", "error", "capped", "note"}, buffers=[html]
    view → kernel  {"type": "explain" | "scores", "id", "cluster", "tokens"}
    kernel → view  {"type": "explain_reply" | "scores_reply", "id", "error", "cluster",
                    "tokens", "basis", "info", "scores_unavailable"}
    kernel → view  {"type": "scores_progress", "id", "cluster", "tokens", "done", "total", "message"}

``tokens`` (the token indices the view shows for the cluster) let the view ask
about a partition the kernel has not reached yet, and drop a reply for a
partition it has left; ``basis`` is ``[aggregation, layers, heads]``, the knobs
the evidence was computed under; ``info`` has the layout of a cluster in
:func:`attn_widget.view.wire.to_state`.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict


class DrilldownRequest(TypedDict, total=False):
    type: Literal["drilldown"]
    id: int
    view: Literal["head", "model"]
    layers: list[int] | None
    tokens: list[int] | None
    display_mode: Literal["light", "dark"]


class DrilldownReply(TypedDict, total=False):
    type: Literal["drilldown_reply"]
    id: int | None
    error: str | None
    capped: bool
    note: str


class ExplainRequest(TypedDict, total=False):
    type: Literal["explain", "scores"]
    id: int
    cluster: int
    tokens: list[int] | None


class ExplainReply(TypedDict):
    type: Literal["explain_reply", "scores_reply"]
    id: int | None
    error: str | None
    cluster: int | None
    tokens: list[int] | None
    basis: list[Any] | None
    info: dict[str, Any] | None
    scores_unavailable: str | None


class ScoresProgress(TypedDict):
    type: Literal["scores_progress"]
    id: int | None
    cluster: int | None
    tokens: list[int] | None
    done: int
    total: int
    message: str


EXPLAIN_TYPES = ("explain", "scores")
"""Request types the explain service answers."""
