"""The custom messages between the view (``js/src/``) and the kernel, typed on both sides.

Each message is a ``TypedDict`` tagged by ``type``; ``js/src/wire/messages.ts``
declares the same shapes (``tests/view/test_messages.py`` compares the two), and
the view checks every message it receives against them. Requests are what the
view sends; the kernel still reads them with ``.get`` (a message is untrusted
input). Binary payloads (a drill-down page) travel as
buffers beside the JSON.

::

    view → kernel  {"type": "drilldown", "id", "view", "layers", "tokens", "display_mode"}
    kernel → view  {"type": "drilldown_reply", "id", "error", "capped", "note"}, buffers=[html]
    view → kernel  {"type": "explain" | "scores", "id", "cluster", "tokens"}
    kernel → view  {"type": "explain_reply" | "scores_reply", "id", "error", "cluster",
                    "tokens", "basis", "info", "scores_unavailable"}
    kernel → view  {"type": "scores_progress", "id", "cluster", "tokens", "done", "total", "message"}
    view → kernel  {"type": "cuttest", "id", "labels"}
    kernel → view  {"type": "cuttest_reply", "id", "error", "labels", "result"}
    kernel → view  {"type": "cuttest_progress", "id", "done", "total", "message"}
    view → kernel  {"type": "map", "id", "method", "seed", "labels"?}
    kernel → view  {"type": "map_reply", "id", "error", "method", "seed", "key", "seconds"},
                   buffers=[float32 [T, 2] coordinates, NaN for left-out tokens]
    view → kernel  {"type": "refine", "id", "op", "clusters", "cluster", "tokens", "to"}
    kernel → view  {"type": "refine_reply", "id", "error", "text", "delta"}
    view → kernel  {"type": "ablate", "id", "tokens", "heads", "position"}
    kernel → view  {"type": "ablate_reply", "id", "error"}  (the result: the ``ablation`` trait)

``key`` names the graph a map was made from (the state's ``map_key``), so the
view drops a map of a graph it has left. A refine ``op`` is an edit of
:data:`attn_widget.graph.refine.EDITS` (cluster ids as the state numbers them)
or ``"undo"`` / ``"redo"``; the new partition arrives as a new state.

``tokens`` (the token indices the view shows for the cluster) let the view ask
about a partition the kernel has not reached yet, and drop a reply for a
partition it has left; ``basis`` is ``[aggregation, layers, heads]``, the knobs
the evidence was computed under; ``info`` is a :class:`ClusterInfo`, the layout of a cluster in
:func:`attn_widget.view.wire.to_state`.
"""

from __future__ import annotations

from typing import Any, Literal

from typing_extensions import NotRequired, TypedDict  # NotRequired keys on Python 3.10


class ClusterInfo(TypedDict):
    """One cluster as the view reads it (:func:`attn_widget.view.wire.cluster_info`)."""

    id: int
    size: int
    modularity: float
    internal: float
    evidence: dict[str, Any] | None
    claims: list[dict[str, Any]] | None
    rationale: str | None
    headline: str | None
    scores: dict[str, Any] | None


class DrilldownRequest(TypedDict):
    type: Literal["drilldown"]
    id: int
    view: Literal["head", "model"]
    layers: list[int] | None
    tokens: list[int] | None
    display_mode: Literal["light", "dark"]


class DrilldownReply(TypedDict):
    type: Literal["drilldown_reply"]
    id: int | None
    error: str | None
    capped: NotRequired[bool]
    note: NotRequired[str]


class ExplainRequest(TypedDict):
    type: Literal["explain", "scores"]
    id: int
    cluster: int
    tokens: list[int] | None
    grid: int | None  # the sweep partition the view shows the group in (None: the analysis's own)


class ExplainReply(TypedDict):
    type: Literal["explain_reply", "scores_reply"]
    id: int | None
    error: str | None
    cluster: int | None
    tokens: list[int] | None
    basis: list[Any] | None
    info: ClusterInfo | None
    scores_unavailable: str | None


class ScoresProgress(TypedDict):
    type: Literal["scores_progress"]
    id: int | None
    cluster: int | None
    tokens: list[int] | None
    done: int
    total: int
    message: str


class CutTestRequest(TypedDict):
    type: Literal["cuttest"]
    id: int
    labels: list[int]


class CutTestResult(TypedDict):
    """The partition cut test (:func:`attn_widget.evaluate.cuttest.cut_test`); a ratio with nothing to
    divide by (chunks or random groups that move nothing) is ``None``."""

    divergence: float
    contiguous: float
    random: float
    ratio_contiguous: float | None
    ratio_random: float | None
    contiguity: float
    output: str
    n_random: int


class CutTestReply(TypedDict):
    type: Literal["cuttest_reply"]
    id: int | None
    error: str | None
    labels: list[int] | None
    result: CutTestResult | None


class CutTestProgress(TypedDict):
    type: Literal["cuttest_progress"]
    id: int | None
    done: int
    total: int
    message: str


class MapRequest(TypedDict):
    type: Literal["map"]
    id: int
    method: str
    seed: int
    labels: NotRequired[list[int]]  # the partition on screen (method "clusters" only)


class MapReply(TypedDict):
    type: Literal["map_reply"]
    id: int | None
    error: str | None
    method: str | None
    seed: int | None
    key: str | None
    seconds: float | None


class RefineRequest(TypedDict):
    type: Literal["refine"]
    id: int
    op: Literal["merge", "split", "move", "pin", "unpin", "undo", "redo"]
    clusters: list[int] | None
    cluster: int | None
    tokens: list[int] | None
    to: int | None


class RefineReply(TypedDict):
    type: Literal["refine_reply"]
    id: int | None
    error: str | None
    text: str
    delta: float | None


class AblateRequest(TypedDict):
    type: Literal["ablate"]
    id: int
    tokens: list[int]
    heads: list[list[int]]
    position: int | None


class AblateReply(TypedDict):
    type: Literal["ablate_reply"]
    id: int | None
    error: str | None


EXPLAIN_TYPES = ("explain", "scores")
"""Request types the explain service answers."""
