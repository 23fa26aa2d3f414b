"""The widget's generation steps, comparison and "what if" rerun: traits, and what the kernel does with them.

:class:`ModesMixin` is mixed into :class:`~attn_widget.view.widget.AttentionExplainer`.
It adds four synced traits (``step``, ``generation``, ``comparison``,
``ablation``; payloads from :mod:`attn_widget.view.modes_wire`) and three
hooks the widget calls: :meth:`ModesMixin._recluster` (a knob changed: every
step, both sides of a comparison, or the rerun beside the analysis are
re-clustered with it), :meth:`ModesMixin._show_modes` (in the same sync as the
state) and :meth:`ModesMixin._on_mode_msg` (the view's ``ablate`` requests, run
on a background thread). A generation step's hand edits (the refine bar,
undo, redo) stay with their step while the step slider moves; a knob
re-clusters every step afresh (the step on screen keeps its pins). The
computing is :func:`attn_widget.recluster` and :func:`attn_widget.ablate`;
nothing here makes an analysis.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import traitlets as t

from ..api import ablate, recluster
from ..core import Ablation, Analysis, Comparison, Generation
from .messages import AblateReply
from .modes_wire import ablation_payload, comparison_payload, generation_payload, step_slots
from .worker import Worker

RERUNS = 3
"""How often a "remove and rerun" request runs again when the view changed while it ran."""


def why_no_what_if(analysis: Analysis, encoders: dict[str, bool] | None = None) -> str:
    """Why a word's "What if…" (knock it out, see the prediction move) does not apply; ``""`` if it does.

    An encoder is told from its attention: some node attends to a later one.
    ``encoders`` remembers the answer per model name (one scan of ``[T, T]``
    per model, not per slider move).
    """
    if analysis.model is None or any(tok.id is None for tok in analysis.model_tokens):
        return "What if… reruns the model, and this analysis was made from attention arrays (no model)."
    if analysis.options.zoom is not None:
        return "What if… reruns the whole text: go back to the whole text first."
    seen = {} if encoders is None else encoders
    if analysis.model not in seen:
        seen[analysis.model] = bool(np.triu(np.asarray(analysis.weights), 1).any())
    if seen[analysis.model]:
        return (
            f"What if… shows how the next-word prediction moves, and {analysis.model} is an encoder: "
            "it predicts no next word."
        )
    return ""


class ModesMixin(t.HasTraits):
    """Steps of a :class:`Generation`; a :class:`Comparison` or an :class:`Ablation` beside the text."""

    step = t.Int(None, allow_none=True).tag(sync=True)
    """int | None: the generation step shown (from 0); moves with the step slider both ways."""
    generation: t.Dict[str, Any] | None = t.Dict(allow_none=True, default_value=None).tag(sync=True)
    """dict | None: the generation's steps as the view shows them (``modes_wire.generation_payload``)."""
    comparison: t.Dict[str, Any] | None = t.Dict(allow_none=True, default_value=None).tag(sync=True)
    """dict | None: the second text and how its clusters match (``modes_wire.comparison_payload``)."""
    ablation: t.Dict[str, Any] | None = t.Dict(allow_none=True, default_value=None).tag(sync=True)
    """dict | None: the last "remove and rerun" (``modes_wire.ablation_payload``); None until one ran."""
    what_if = t.Unicode("").tag(sync=True)
    """str: ``""`` when a word's "What if this word were knocked out?" applies to the analysis shown,
    else one plain sentence saying why not (an encoder predicts no next word; no model to rerun)."""

    # the widget's own
    analysis: Analysis | None
    status: Any
    progress: Any
    _lock: Any
    _updating: bool
    activity: Any  # view.jobs.Activity: what runs, for the status line

    def _init_modes(self, result: Any) -> Analysis | None:
        """Hold ``result`` (an Analysis, Generation or Comparison) and return the analysis to show first.

        ``None`` for text (its analysis comes later)."""
        self.generation_result: Generation | None = None
        """The :class:`Generation` shown step by step (None without one)."""
        self.comparison_result: Comparison | None = None
        """The :class:`Comparison` shown (None without one)."""
        self.ablation_result: Ablation | None = None
        """The last :class:`Ablation` (None until "remove and rerun")."""
        self._ablation_request: int | None = None
        self._edited_steps: dict[int, Analysis] = {}
        """Hand-edited analyses of generation steps (refine, undo, redo), by step: kept while stepping."""
        self._rerun = Worker("attn-widget-ablate")
        self._encoders: dict[str, bool] = {}  # model name -> an encoder? (what_if)
        if isinstance(result, Generation):
            self.generation_result = result
            return result.steps[-1].analysis
        if isinstance(result, Comparison):
            self.comparison_result = result
            return result.a
        return result if isinstance(result, Analysis) else None

    def _recluster(self, analysis: Analysis, changes: Mapping[str, Any]) -> Analysis:
        """``analysis`` re-clustered with ``changes``, and whatever is shown beside it with it."""
        if self.generation_result is not None:
            self._edited_steps.clear()  # every step starts again from a fresh clustering
            self.generation_result = recluster(self.generation_result, **changes)
            new = self.generation_result.steps[self._step_index()].analysis
        elif self.comparison_result is not None:
            self.comparison_result = recluster(self.comparison_result, **changes)
            new = self.comparison_result.a
        else:
            new = recluster(analysis, **changes)
        ab = self.ablation_result
        if ab is not None and ab.before is analysis:  # the rerun beside it follows the same options
            again = recluster(ab, **changes)
            self.ablation_result = dataclasses.replace(again, before=new)
        return new

    def _show_modes(self, analysis: Analysis) -> None:
        """Set the mode traits for ``analysis`` (called inside the widget's ``hold_sync``)."""
        g, c, ab = self.generation_result, self.comparison_result, self.ablation_result
        if g is not None:
            self.generation = generation_payload(g)
            index = len(analysis.tokens) - g.prompt_length - 1  # step k shows prompt + k + 1 tokens
            if not 0 <= index < len(g.steps):
                index = self._step_index()
            if analysis is g.steps[index].analysis:
                self._edited_steps.pop(index, None)
            else:  # a hand edit of the step (or its undo/redo): it stays with the step
                self._edited_steps[index] = analysis
            self.step = index
        self.comparison = None if c is None else comparison_payload(c)
        if ab is not None and ab.before is not analysis:
            self.ablation_result = ab = None  # it was about another analysis (another step)
        slots = self._slots(analysis)
        self.ablation = None if ab is None else ablation_payload(ab, self._ablation_request, slots)
        self.what_if = why_no_what_if(analysis, self._encoders)

    def _slots(self, analysis: Analysis) -> dict[int, int] | None:
        """The colours of ``analysis`` on screen when they are not by rank (a generation step's)."""
        g = self.generation_result
        step = None if g is None else next((s.index for s in g.steps if s.analysis is analysis), None)
        return None if g is None or step is None else step_slots(g, step)

    def _step_index(self) -> int:
        g = self.generation_result
        assert g is not None
        return len(g.steps) - 1 if self.step is None else min(max(int(self.step), 0), len(g.steps) - 1)

    @t.observe("step")
    def _on_step(self, change: dict[str, Any]) -> None:
        g = self.generation_result
        if g is None or self._updating:
            return
        with self._lock:
            index = self._step_index()
            wanted = self._edited_steps.get(index, g.steps[index].analysis)
            if wanted is not self.analysis:
                self._show(wanted)  # type: ignore[attr-defined]

    # ------------------------------------------------------------- what if
    def ablate(
        self,
        tokens: Sequence[int] = (),
        heads: Sequence[tuple[int, int]] = (),
        edges: Sequence[Any] = (),
        position: int | None = None,
    ) -> Ablation:
        """Rerun the model on the analysis shown with attention knocked out; show and return the result.

        As :meth:`Analysis.ablate <attn_widget.core.Analysis.ablate>`; the view shows the
        prediction change and the new clusters beside the old.
        """
        return self._ablate_shown(tokens, heads, edges, position)[0]

    def _ablate_shown(
        self,
        tokens: Sequence[int],
        heads: Sequence[tuple[int, int]],
        edges: Sequence[Any],
        position: int | None,
    ) -> tuple[Ablation, bool]:
        """Rerun the analysis shown; show the result if that analysis is still shown (and say whether)."""
        analysis: Analysis = self._ready()  # type: ignore[attr-defined]
        result = ablate(analysis, tokens, heads, edges, position=position)
        with self._lock:
            if self.analysis is not analysis:  # a newer choice is on screen: never shown over it
                return result, False
            self.ablation_result = result
            self.ablation = ablation_payload(result, self._ablation_request, self._slots(analysis))
        return result, True

    def _on_mode_msg(self, content: Mapping[str, Any]) -> bool:
        """Answer an ``ablate`` request on a background thread; False for any other message."""
        if content.get("type") != "ablate":
            return False
        rid = content.get("id")
        rid = rid if isinstance(rid, int) else None
        reply: AblateReply = {"type": "ablate_reply", "id": rid, "error": None}

        def run() -> None:
            self._busy(True)
            try:
                self._ablation_request = reply["id"]
                heads = [tuple(h) for h in content.get("heads") or []]
                self._ablate_latest(list(content.get("tokens") or []), heads, content.get("position"))
            except Exception as exc:  # shown beside the button; the widget stays usable
                reply["error"] = f"The rerun failed: {exc}"
            finally:
                self._busy(False)
            self.send(reply)  # type: ignore[attr-defined]

        def dropped() -> None:  # a newer request came before this one started: it never runs
            gone: AblateReply = {"type": "ablate_reply", "id": rid, "error": "Superseded by a newer request."}
            self.send(gone)  # type: ignore[attr-defined]

        self._rerun.submit(run, key="ablate", dropped=dropped)
        return True

    def _ablate_latest(self, tokens: list[int], heads: list[Any], position: int | None) -> None:
        """Rerun what is shown; when a knob changed the view meanwhile, rerun the new view (same tokens)."""
        for _ in range(RERUNS):
            before = self._ready()  # type: ignore[attr-defined]
            if self._ablate_shown(tokens, heads, (), position)[1]:
                return
            now = self.analysis
            if now is None or [t.text for t in now.tokens] != [t.text for t in before.tokens]:
                raise ValueError("the text on screen changed while the model ran; pick the tokens again")
        raise ValueError(f"the view changed {RERUNS} times while the model ran; ask again")

    def _busy(self, running: bool) -> None:
        """Say in the status line that the model reruns (or no longer does)."""
        with self._lock:
            if running:
                self.activity.begin("ablate", "Rerunning the model with attention knocked out…")
            else:
                self.activity.end("ablate")
            self.status, self.progress = self.activity.status()
