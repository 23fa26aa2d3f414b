"""The widget's hand edits of the partition: edit, undo, redo, and pins kept across re-clustering.

:class:`Refinements` answers the view's ``refine`` messages (:mod:`attn_widget.view.messages`)
with :func:`attn_widget.refine` and keeps the history as whole analyses (they
are frozen and share their arrays, so a step costs one label array). When
the analysis on screen carries rationales, the clusters an edit changed, and
those whose evidence was about the partition before it, are explained again
(through the widget's explain cache) before they are shown; otherwise the
panel explains whichever cluster is clicked, as always.
Re-clustering with the slider or a knob starts from a fresh clustering: the
pins are applied to it again, and the refined partition it replaced is one
undo away.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from ..api import refine
from ..core import Analysis, Partition
from ..explain.evidence import explain_again
from ..runs.work import repin
from .explain_cache import ExplainCache
from .messages import RefineReply

EDIT_OPS = ("merge", "split", "move", "pin", "unpin")
HISTORY_OPS = ("undo", "redo")


class Refinements:
    """Undo/redo history of one widget's analyses; see the module docstring."""

    def __init__(self, explainer: ExplainCache) -> None:
        self.explainer = explainer
        self.undo_stack: list[Analysis] = []
        self.redo_stack: list[Analysis] = []

    def depth(self) -> tuple[int, int]:
        """``(undo steps, redo steps)`` available."""
        return len(self.undo_stack), len(self.redo_stack)

    def edit(self, analysis: Analysis, op: str, **args: Any) -> Analysis:
        """``analysis`` with edit ``op`` applied (changed clusters re-explained if it was explained)."""
        explained = any(c.rationale is not None for c in analysis.clusters)
        new = refine(analysis, op, explain=False, **args)
        if explained:
            new = self.explainer.explain_some(new, explain_again(analysis, new))
        self.undo_stack.append(analysis)
        self.redo_stack.clear()
        return new

    def reclustered(self, old: Analysis, new: Analysis) -> Analysis:
        """A knob re-clustered ``old`` into ``new``: keep ``old``'s pins, make ``old`` undoable if edited.

        Pins are node indices, so they lapse when ``unit`` changed what a node is.
        """
        if old.partition is None:
            return new
        self.undo_stack.append(old)
        self.redo_stack.clear()
        return repin(old, new)

    def forget(self) -> None:
        """Drop the history (the view now shows other nodes: zoomed in or out)."""
        self.undo_stack.clear()
        self.redo_stack.clear()

    def step(self, analysis: Analysis, op: str) -> Analysis:
        """Undo or redo from ``analysis``."""
        take, put = (self.undo_stack, self.redo_stack) if op == "undo" else (self.redo_stack, self.undo_stack)
        if not take:
            raise ValueError(f"there is nothing to {op}")
        put.append(analysis)
        return take.pop()

    def handle(
        self,
        content: Mapping[str, Any],
        analysis: Analysis | None,
        show: Callable[[Analysis, int | None], None],
    ) -> RefineReply:
        """Answer one ``refine`` message: apply it, ``show`` the result, say what happened."""
        op = content.get("op")
        reply: RefineReply = {
            "type": "refine_reply",
            "id": content.get("id"),
            "error": None,
            "text": "",
            "delta": None,
        }
        try:
            if analysis is None:
                raise ValueError("the analysis is not ready yet; wait for it to finish")
            if op in HISTORY_OPS:
                new = self.step(analysis, str(op))
                reply["text"] = f"{op} done"
                show(new, None)
                return reply
            if op not in EDIT_OPS:
                raise ValueError(f"unknown edit {op!r}; the view sends one of {EDIT_OPS + HISTORY_OPS}")
            args = {
                k: content[k] for k in ("clusters", "cluster", "tokens", "to") if content.get(k) is not None
            }
            if op == "move":
                args["to"] = content.get("to")
            new = self.edit(analysis, str(op), **args)
        except (ValueError, TypeError) as exc:  # shown next to the buttons; nothing changed
            reply["error"] = str(exc)
            return reply
        edit = new.partition.edits[-1] if new.partition else None
        focus = None
        if edit is not None and edit.tokens:
            label = int(new.labels[edit.tokens[0]])
            focus = label if sum(int(x == label) for x in new.labels) > 1 else None
            reply["text"], reply["delta"] = edit.text, edit.delta
        show(new, focus)
        return reply


class RefineMethods:
    """The widget's Python side of the edits: ``w.partition``, ``w.refine``, ``w.undo``, ``w.redo``.

    Mixed into :class:`~attn_widget.view.widget.AttentionExplainer`, which provides
    ``refinements``, ``selected_cluster``, ``_lock``, ``_ready`` and ``_show``.
    """

    refinements: Refinements
    selected_cluster: int | None
    _lock: threading.RLock

    def _ready(self) -> Analysis:
        raise NotImplementedError

    def _show(self, analysis: Analysis) -> None:
        raise NotImplementedError

    def _show_edited(self, analysis: Analysis, focus: int | None) -> None:
        self.selected_cluster = focus
        self._show(analysis)

    @property
    def partition(self) -> Partition:
        """The partition on screen, with its hand edits and pins (:class:`~attn_widget.core.Partition`).

        Usable as a human grouping: ``attn_widget.evaluate.iou_f1(predicted, w.partition)``.
        """
        return Partition.start(self._ready())

    def refine(self, op: str, **args: Any) -> Analysis:
        """Edit the partition on screen as the view's buttons do (see :func:`attn_widget.refine`)."""
        with self._lock:
            new = self.refinements.edit(self._ready(), op, **args)
            self._show(new)
        return new

    def undo(self) -> Analysis:
        """Take back the last edit (or re-clustering of an edited partition); return what is shown."""
        with self._lock:
            self._show(self.refinements.step(self._ready(), "undo"))
        return self._ready()

    def redo(self) -> Analysis:
        """Make the last undone edit again; return what is shown."""
        with self._lock:
            self._show(self.refinements.step(self._ready(), "redo"))
        return self._ready()
