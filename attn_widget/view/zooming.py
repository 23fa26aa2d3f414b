"""The widget's hierarchical view: the ``zoom`` trait shows one cluster from the inside.

:class:`ZoomMethods` is mixed into :class:`~attn_widget.view.widget.AttentionExplainer`
(which declares the synced ``zoom`` trait and the ``outer`` analysis): a cluster id
zooms the whole-text analysis into that cluster with :func:`attn_widget.zoom`, its
nodes one unit finer (:data:`INNER_UNIT`); ``None`` shows the whole text again.
The hand-edit history is dropped either way (its edits are of the other view's
nodes). A view stepping through a generation or comparing two texts does not
zoom (it says how to zoom into one of its analyses). This module neither draws
nor computes a zoom itself.
"""

from __future__ import annotations

import threading
from typing import Any

import traitlets as t

from ..api import zoom
from ..core import Analysis
from .refining import Refinements

INNER_UNIT = {"sentence": "word", "word": "token", "token": "token"}
"""What the nodes of a zoomed view are, by the unit of the view zoomed from."""


class ZoomMethods(t.HasTraits):
    """Reacts to the ``zoom`` trait; see the module docstring."""

    # the widget's own
    analysis: Analysis | None
    outer: Analysis | None
    refinements: Refinements
    selected_cluster: int | None
    error: Any
    _zoomed: int | None
    _lock: threading.RLock
    generation_result: Any  # view.modes: a Generation or Comparison shown beside the analysis
    comparison_result: Any

    def _show(self, analysis: Analysis) -> None:
        raise NotImplementedError

    def _put_back(self, change: dict[str, Any], error: str) -> None:
        raise NotImplementedError

    @t.observe("zoom")
    def _on_zoom(self, change: dict[str, Any]) -> None:
        with self._lock:  # not `_updating`: a view's zoom may land while another thread shows
            shown = None if self.outer is None else self._zoomed
            if self.analysis is None or change["new"] == shown:
                return
            outer = self.outer or self.analysis
            if change["new"] is None:
                self.outer, self.error = None, ""
                self.refinements.forget()  # its edits are of the other view's nodes
                self._show(outer)
                return
            held = self._beside()
            if held:
                self._put_back(change, f"Could not zoom into cluster {change['new']}: {held}")
                return
            try:
                inner = zoom(outer, change["new"], unit=INNER_UNIT[outer.options.unit])
            except (ValueError, TypeError) as exc:
                self._put_back(change, f"Could not zoom into cluster {change['new']}: {exc}")
                return
            self.outer, self.error, self._zoomed = outer, "", int(change["new"])
            self.refinements.forget()
            self.selected_cluster = None
            self._show(inner)

    def _beside(self) -> str:
        """Why the view cannot zoom while it shows a generation or a comparison ("" when it can)."""
        if self.generation_result is not None:
            return (
                "this view steps through a generation, and a zoom shows one analysis from the inside; zoom "
                "into one step: AttentionExplainer(attn_widget.zoom(generation.steps[k].analysis, cluster))"
            )
        if self.comparison_result is not None:
            return (
                "this view compares two texts cluster by cluster, and a zoom shows one analysis from the "
                "inside; zoom into one side: AttentionExplainer(attn_widget.zoom(comparison.a, cluster))"
            )
        return ""
