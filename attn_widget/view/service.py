"""Answers the view's requests to explain a cluster or measure its faithfulness.

:class:`ExplainService` is an :class:`~attn_widget.view.explain_cache.ExplainCache`
that also speaks the message protocol (:mod:`attn_widget.view.messages`): each
request runs on a background thread (explanations and faithfulness on separate
ones, so a long measurement never holds up a click), and its reply, and for
``scores`` its progress, go back through the widget's ``send``. A cut test still
waiting when a newer one is asked for is answered "superseded" and never run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import Any

import numpy as np

from ..core import Analysis
from ..evaluate.cuttest import cut_test
from ..extract.errors import ModelLoadError
from .explain_cache import NO_IDS, NO_MODEL, NO_UNIT, ExplainCache, cluster_id
from .messages import (
    EXPLAIN_TYPES,
    CutTestProgress,
    CutTestReply,
    CutTestResult,
    ExplainReply,
    ScoresProgress,
)
from .wire import cluster_info
from .worker import Worker

Send = Callable[[Mapping[str, Any]], None]
MESSAGE_TYPES = EXPLAIN_TYPES
"""Custom message types :meth:`ExplainService.handle` answers."""


class ExplainService(ExplainCache):
    """An :class:`ExplainCache` that answers the view's ``explain`` and ``scores`` messages."""

    def __init__(self, backend: Any = None, **options: Any) -> None:
        super().__init__(backend, **options)
        self._fast = Worker("attn-widget-explain")
        self._slow = Worker("attn-widget-scores")

    def handle(
        self, content: Mapping[str, Any], analysis: Analysis | None, send: Send
    ) -> Future[None] | None:
        """Answer one view message (``None`` when it is not an explain/scores request)."""
        kind = content.get("type")
        if kind == "cuttest":
            return self._cut_test(content, analysis, send)
        if kind not in MESSAGE_TYPES:
            return None
        rid, cluster, tokens = content.get("id"), content.get("cluster"), content.get("tokens")
        grid = content.get("grid")
        reply: ExplainReply = {
            "type": "explain_reply" if kind == "explain" else "scores_reply",
            "id": rid,
            "error": None,
            "cluster": cluster,
            "tokens": tokens,
            "basis": None if analysis is None else basis(analysis),
            "info": None,
            "scores_unavailable": None if analysis is None else self.scores_unavailable(analysis),
        }

        def progress(done: int, total: int, message: str) -> None:
            update: ScoresProgress = {
                "type": "scores_progress",
                "id": rid,
                "cluster": cluster,
                "tokens": tokens,
                "done": done,
                "total": total,
                "message": message,
            }
            send(update)

        def run() -> None:
            try:
                if analysis is None:
                    raise RuntimeError("the analysis is not ready yet; wait for it to finish")
                cid = cluster_id(cluster)
                wanted = None if tokens is None else list(tokens)
                if kind == "explain":
                    done = self.explain(analysis, cid, wanted, grid)
                else:
                    done = self.scores(analysis, cid, wanted, progress=progress, grid=grid)
                reply["tokens"], reply["info"] = list(done.tokens), cluster_info(done)
            except Exception as exc:  # reported in the panel; the widget stays usable
                reply["error"] = plain_error(str(kind), exc)
            send(reply)

        return (self._fast if kind == "explain" else self._slow).submit(run)

    def _cut_test(self, content: Mapping[str, Any], analysis: Analysis | None, send: Send) -> Future[None]:
        """Run the partition cut test on the partition the view shows (``labels``), on the slow worker."""
        rid, labels = content.get("id"), content.get("labels")
        reply: CutTestReply = {
            "type": "cuttest_reply", "id": rid, "error": None, "labels": labels, "result": None,
        }

        def progress(done: int, total: int, message: str) -> None:
            update: CutTestProgress = {
                "type": "cuttest_progress", "id": rid, "done": done, "total": total, "message": message,
            }
            send(update)

        def run() -> None:
            try:
                if analysis is None:
                    raise RuntimeError("the analysis is not ready yet; wait for it to finish")
                shown = dataclasses.replace(analysis, labels=partition_labels(analysis, labels))
                found = cut_test(shown, progress=progress)
                self.remember_cut(analysis, shown.labels, found)  # its groups' explanations now say so
                reply["result"] = CutTestResult(
                    divergence=found["divergence"], contiguous=found["contiguous"], random=found["random"],
                    ratio_contiguous=_finite(found["ratio_contiguous"]),
                    ratio_random=_finite(found["ratio_random"]),
                    contiguity=found["contiguity"], output=found["output"], n_random=found["n_random"],
                )
            except Exception as exc:  # reported next to the button; the widget stays usable
                reply["error"] = f"The cut test could not be run: {exc}"
            send(reply)

        def dropped() -> None:  # a newer cut test came before this one started: it never runs
            reply["error"] = "Superseded by a newer request."
            send(reply)

        return self._slow.submit(run, key="cuttest", dropped=dropped)

    def join(self, timeout: float | None = None) -> None:
        """Wait until every request handed to :meth:`handle` so far has been answered."""
        self._fast.join(timeout)
        self._slow.join(timeout)


def basis(analysis: Analysis) -> list[Any]:
    """``[aggregation, layers, heads]`` as the widget's traits hold them (the view compares the two)."""
    o = analysis.options
    return [
        o.aggregation,
        None if o.layers is None else list(o.layers),
        None if o.heads is None else [list(h) for h in o.heads],
    ]


def _finite(value: float) -> float | None:
    """JSON has no NaN: a ratio with nothing to divide by travels as ``None``."""
    return float(value) if np.isfinite(value) else None


def partition_labels(analysis: Analysis, labels: Any) -> np.ndarray:
    """The view's partition as ``[T]`` labels, checked against ``analysis`` (left-out tokens stay ``-1``)."""
    n = len(analysis.tokens)
    if not isinstance(labels, list) or len(labels) != n or not all(isinstance(x, int) for x in labels):
        raise ValueError(f"labels must be a list of {n} cluster ids, one per token")
    out = np.asarray(labels, dtype=np.int32)
    if sorted(np.flatnonzero(out < 0).tolist()) != sorted(analysis.excluded):
        raise ValueError("labels must leave out exactly the tokens the analysis leaves out (label -1)")
    return out


def plain_error(kind: str, exc: Exception) -> str:
    """An exception as the panel says it."""
    if isinstance(exc, ModelLoadError):
        return f"Could not load the model to measure faithfulness: {exc}"
    if kind == "scores" and (str(exc) in (NO_MODEL, NO_IDS) or str(exc).startswith(NO_UNIT[:40])):
        return str(exc)
    what = "The explanation could not be made" if kind == "explain" else "Faithfulness could not be measured"
    return f"{what}: {exc}"
