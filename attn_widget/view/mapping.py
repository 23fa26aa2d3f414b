"""The widget's token map: computed in the background when the view asks for it.

:class:`MapService` answers the view's ``map`` messages (:mod:`attn_widget.view.messages`)
on its own thread with :func:`attn_widget.token_map`, so the first view never
waits for it and a slow first UMAP (it compiles itself once per session) never
holds up a click. A ``"clusters"`` map is laid out for the partition the view
shows (the request's ``labels``), which can be ahead of the kernel's while
the slider moves. The reply carries the coordinates as a float32 ``[T, 2]``
buffer and the ``key`` of the graph they were made from; a request still
waiting when a newer one comes is answered "superseded" and never run. The last map made is
kept for :meth:`AttentionExplainer.save_html` to put in the exported page.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import Any

import numpy as np

from ..api import token_map
from ..core import Analysis
from .messages import MapReply
from .wire import map_key
from .worker import Worker

Send = Callable[..., None]


class MapService:
    """Token maps for one widget, computed on a background thread."""

    def __init__(self) -> None:
        self._worker = Worker("attn-widget-map")
        self.last: tuple[str, int, str, np.ndarray] | None = None
        """``(method, seed, key, coordinates)`` of the last map made."""

    def handle(
        self, content: Mapping[str, Any], analysis: Analysis | None, send: Send
    ) -> Future[None] | None:
        """Answer one ``map`` message in the background (``None`` for any other message)."""
        if content.get("type") != "map":
            return None
        method, seed, labels = content.get("method"), content.get("seed", 0), content.get("labels")
        reply: MapReply = {
            "type": "map_reply",
            "id": content.get("id"),
            "error": None,
            "method": None,
            "seed": None,
            "key": None,
            "seconds": None,
        }

        def run() -> None:
            started = time.perf_counter()
            try:
                if analysis is None:
                    raise ValueError("the analysis is not ready yet; wait for it to finish")
                if not isinstance(method, str):
                    raise ValueError(f"method={method!r}: give a map method name such as 'umap' or 'tsne'")
                if labels is not None and not (
                    isinstance(labels, list)
                    and all(isinstance(x, int) and not isinstance(x, bool) for x in labels)
                ):
                    raise ValueError(f"labels={str(labels)[:60]}: give one whole-number cluster id per token")
                coords = token_map(
                    analysis, method=method, seed=seed, labels=None if labels is None else np.array(labels)
                )
            except (ValueError, ImportError) as exc:  # shown next to the map; the widget stays usable
                reply["error"] = f"The map could not be made: {exc}"
                send(reply)
                return
            key = map_key(analysis)
            self.last = (method, int(seed), key, coords)
            reply["method"], reply["seed"], reply["key"] = method, int(seed), key
            reply["seconds"] = round(time.perf_counter() - started, 3)
            send(reply, [np.ascontiguousarray(coords, dtype="<f4").tobytes()])

        def dropped() -> None:  # a newer map request came before this one started: it never runs
            reply["error"] = "Superseded by a newer request."
            send(reply)

        return self._worker.submit(run, key="map", dropped=dropped)

    def coordinates(self, analysis: Analysis) -> tuple[str, int, np.ndarray] | None:
        """The last map, if it was made from ``analysis``'s graph."""
        if self.last is None or self.last[2] != map_key(analysis):
            return None
        return self.last[0], self.last[1], self.last[3]

    def join(self, timeout: float | None = None) -> None:
        """Wait until every map asked for so far has been sent."""
        self._worker.join(timeout)
